//! The listening half of a call: caller audio in, [`Event`]s for the call core out.
//!
//! Resamples to 16 kHz, runs the VAD frame by frame, cuts utterances with the segmenter, transcribes each
//! finished utterance and scores it against the mandatory topics. The engines are compute, not I/O; the
//! live server runs a [`Listener`] per call the same way replay does.

use std::time::Instant;

use crate::asr::{AsrError, Transcriber};
use crate::audio::resample::{ResampleError, StreamResampler, TARGET_RATE};
use crate::audio::segmenter::{SegmentEvent, Segmenter, Utterance, VadSettings};
use crate::audio::vad::{SileroVad, FRAME};
use crate::call::{Event, Transcript};
use crate::onnx::OnnxError;
use crate::topics::{TopicError, TopicMatcher};

/// Audio kept before a possible utterance start while nobody speaks (covers onset + padding).
const LOOKBACK_SAMPLES: usize = TARGET_RATE as usize;
const SAMPLES_PER_MS: u64 = TARGET_RATE as u64 / 1000;
const FRAME_MS: u64 = FRAME as u64 / SAMPLES_PER_MS;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(transparent)]
    Resample(#[from] ResampleError),
    #[error("voice activity detection failed: {0}")]
    Vad(#[from] OnnxError),
    #[error("speech recognition failed: {0}")]
    Asr(#[from] AsrError),
    #[error(transparent)]
    Topics(#[from] TopicError),
}

/// Per-call listening pipeline.
pub struct Listener {
    resampler: StreamResampler,
    vad: SileroVad,
    segmenter: Segmenter,
    asr: Box<dyn Transcriber>,
    matcher: Box<dyn TopicMatcher>,
    resampled: Vec<f32>,
    /// 16 kHz samples not yet run through the VAD.
    pending: Vec<f32>,
    /// Recent 16 kHz audio; `history[0]` is sample `history_start` of the call.
    history: Vec<f32>,
    history_start: u64,
    /// Samples the VAD has consumed.
    processed: u64,
    /// Wall-clock moment the last utterance end was detected: the origin of `wall_ms`.
    last_end_detected: Option<Instant>,
}

impl Listener {
    pub fn new(
        input_rate: u32,
        vad: SileroVad,
        settings: VadSettings,
        asr: Box<dyn Transcriber>,
        matcher: Box<dyn TopicMatcher>,
    ) -> Result<Self, ListenError> {
        Ok(Self {
            resampler: StreamResampler::to_speech_rate(input_rate)?,
            vad,
            segmenter: Segmenter::new(settings),
            asr,
            matcher,
            resampled: Vec::new(),
            pending: Vec::new(),
            history: Vec::new(),
            history_start: 0,
            processed: 0,
            last_end_detected: None,
        })
    }

    /// Call time of everything the VAD has seen, in ms.
    pub fn heard_ms(&self) -> u64 {
        self.processed / SAMPLES_PER_MS
    }

    /// When the end of the last utterance was detected (wall clock).
    pub fn last_end_detected(&self) -> Option<Instant> {
        self.last_end_detected
    }

    /// Feeds caller audio at the input rate; appends the resulting events to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<Event>) -> Result<(), ListenError> {
        self.resampled.clear();
        self.resampler.push(samples, &mut self.resampled)?;
        self.pending.extend_from_slice(&self.resampled);
        self.run_frames(out)
    }

    /// The audio ended: flushes the resampler and closes an open utterance.
    pub fn finish(&mut self, out: &mut Vec<Event>) -> Result<(), ListenError> {
        self.resampled.clear();
        self.resampler.finish(&mut self.resampled)?;
        self.pending.extend_from_slice(&self.resampled);
        // The last partial frame is padded with silence rather than dropped: its words count too.
        if !self.pending.is_empty() {
            let whole = self.pending.len().div_ceil(FRAME) * FRAME;
            self.pending.resize(whole, 0.0);
        }
        self.run_frames(out)?;
        let t_ms = self.heard_ms();
        if let Some(SegmentEvent::Ended(u)) = self.segmenter.finish(t_ms) {
            self.utterance_ended(u, t_ms, out)?;
        }
        Ok(())
    }

    fn run_frames(&mut self, out: &mut Vec<Event>) -> Result<(), ListenError> {
        let mut used = 0;
        while self.pending.len() - used >= FRAME {
            let frame = &self.pending[used..used + FRAME];
            let prob = self.vad.speech_probability(frame)?;
            self.history.extend_from_slice(frame);
            used += FRAME;
            let t_ms = self.processed / SAMPLES_PER_MS;
            self.processed += FRAME as u64;
            match self.segmenter.push(t_ms, FRAME_MS, prob) {
                Some(SegmentEvent::Started { start_ms }) => {
                    out.push(Event::SpeechStarted { t_ms: start_ms });
                }
                Some(SegmentEvent::Ended(u)) => {
                    self.utterance_ended(u, t_ms + FRAME_MS, out)?;
                }
                None => {}
            }
            if !self.segmenter.in_speech() && self.history.len() > 2 * LOOKBACK_SAMPLES {
                let drop = self.history.len() - LOOKBACK_SAMPLES;
                self.history.drain(..drop);
                self.history_start += drop as u64;
            }
        }
        self.pending.drain(..used);
        Ok(())
    }

    /// Transcribes a finished utterance and scores it. `detected_ms` is when the end became known.
    fn utterance_ended(
        &mut self,
        u: Utterance,
        detected_ms: u64,
        out: &mut Vec<Event>,
    ) -> Result<(), ListenError> {
        self.last_end_detected = Some(Instant::now());
        out.push(Event::SpeechEnded { t_ms: detected_ms });
        let from = (u.start_ms * SAMPLES_PER_MS).saturating_sub(self.history_start) as usize;
        let to = ((u.end_ms * SAMPLES_PER_MS).saturating_sub(self.history_start) as usize)
            .min(self.history.len());
        let text = if from < to {
            self.asr.transcribe(&self.history[from..to])?
        } else {
            String::new()
        };
        let hits = if text.is_empty() {
            Vec::new()
        } else {
            self.matcher.hits(&text)?
        };
        out.push(Event::Heard {
            t_ms: detected_ms,
            transcript: Transcript {
                text,
                start_ms: u.start_ms,
                end_ms: u.end_ms.min(self.heard_ms()),
                is_final: true,
            },
            hits,
        });
        Ok(())
    }
}
