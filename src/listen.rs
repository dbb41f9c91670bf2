//! The listening half of a call: caller audio in, [`Event`]s for the call core out.
//!
//! [`Ears`] resamples to 16 kHz, runs the VAD frame by frame and cuts utterances with the segmenter: cheap
//! work that every call does on its own. Recognising an utterance is the expensive part: [`Listener`] does it
//! inline (replay, eval), the live server hands it to a bounded pool shared by all calls.

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

/// What the ears noticed: the live call's own type, since it is what the live call listens to.
pub use crate::call::live::Heard;

/// Per-call front end: resampling, VAD and segmentation, with recent audio kept for recognition.
pub struct Ears {
    resampler: StreamResampler,
    vad: SileroVad,
    segmenter: Segmenter,
    barge_in_ms: u64,
    /// The current run of voice was already reported as [`Heard::Voice`].
    voice_reported: bool,
    resampled: Vec<f32>,
    /// 16 kHz samples not yet run through the VAD.
    pending: Vec<f32>,
    /// Recent 16 kHz audio; `history[0]` is sample `history_start` of the call.
    history: Vec<f32>,
    history_start: u64,
    /// Samples the VAD has consumed.
    processed: u64,
}

impl Ears {
    pub fn new(
        input_rate: u32,
        vad: SileroVad,
        settings: VadSettings,
    ) -> Result<Self, ListenError> {
        Ok(Self {
            resampler: StreamResampler::to_speech_rate(input_rate)?,
            vad,
            segmenter: Segmenter::new(settings),
            barge_in_ms: u64::from(settings.barge_in_ms),
            voice_reported: false,
            resampled: Vec::new(),
            pending: Vec::new(),
            history: Vec::new(),
            history_start: 0,
            processed: 0,
        })
    }

    /// Starts this call's clock at `t_ms`: a call that comes back on a new stream (a transfer nobody
    /// took) goes on at the call time it had, so its events never go backwards.
    pub fn start_at(&mut self, t_ms: u64) {
        self.processed = t_ms * SAMPLES_PER_MS;
        self.history.clear();
        self.history_start = self.processed;
    }

    /// Call time of everything the VAD has seen, in ms.
    pub fn heard_ms(&self) -> u64 {
        self.processed / SAMPLES_PER_MS
    }

    /// The open utterance so far: its start and its 16 kHz audio (for a partial transcript).
    pub fn open_utterance(&self) -> Option<(u64, &[f32])> {
        let start_ms = self.segmenter.open_since()?;
        let from = (start_ms * SAMPLES_PER_MS).saturating_sub(self.history_start) as usize;
        Some((start_ms, &self.history[from.min(self.history.len())..]))
    }

    /// Feeds caller audio at the input rate; appends what was noticed to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<Heard>) -> Result<(), ListenError> {
        self.resampled.clear();
        self.resampler.push(samples, &mut self.resampled)?;
        self.pending.extend_from_slice(&self.resampled);
        self.run_frames(out)
    }

    /// The audio ended: flushes the resampler and closes an open utterance.
    pub fn finish(&mut self, out: &mut Vec<Heard>) -> Result<(), ListenError> {
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
            out.push(self.ended(u, t_ms));
        }
        Ok(())
    }

    fn run_frames(&mut self, out: &mut Vec<Heard>) -> Result<(), ListenError> {
        let mut used = 0;
        while self.pending.len() - used >= FRAME {
            let frame = &self.pending[used..used + FRAME];
            let prob = self.vad.speech_probability(frame)?;
            self.history.extend_from_slice(frame);
            used += FRAME;
            let t_ms = self.processed / SAMPLES_PER_MS;
            self.processed += FRAME as u64;
            match self.segmenter.push(t_ms, FRAME_MS, prob) {
                Some(SegmentEvent::Started { start_ms }) => out.push(Heard::Started { start_ms }),
                Some(SegmentEvent::Ended(u)) => out.push(self.ended(u, t_ms + FRAME_MS)),
                None => {}
            }
            match self.segmenter.voice_since() {
                None => self.voice_reported = false,
                Some(since)
                    if !self.voice_reported && t_ms + FRAME_MS - since >= self.barge_in_ms =>
                {
                    self.voice_reported = true;
                    out.push(Heard::Voice {
                        t_ms: t_ms + FRAME_MS,
                    });
                }
                Some(_) => {}
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

    fn ended(&self, u: Utterance, detected_ms: u64) -> Heard {
        let from = (u.start_ms * SAMPLES_PER_MS).saturating_sub(self.history_start) as usize;
        let to = ((u.end_ms * SAMPLES_PER_MS).saturating_sub(self.history_start) as usize)
            .min(self.history.len());
        Heard::Ended {
            utterance: Utterance {
                start_ms: u.start_ms,
                end_ms: u.end_ms.min(self.heard_ms()),
            },
            detected_ms,
            audio: if from < to {
                self.history[from..to].to_vec()
            } else {
                Vec::new()
            },
        }
    }
}

/// Per-call listening pipeline that recognises each utterance inline: replay and eval.
pub struct Listener {
    ears: Ears,
    asr: Box<dyn Transcriber>,
    matcher: Box<dyn TopicMatcher>,
    heard: Vec<Heard>,
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
            ears: Ears::new(input_rate, vad, settings)?,
            asr,
            matcher,
            heard: Vec::new(),
            last_end_detected: None,
        })
    }

    /// Call time of everything the VAD has seen, in ms.
    pub fn heard_ms(&self) -> u64 {
        self.ears.heard_ms()
    }

    /// When the end of the last utterance was detected (wall clock).
    pub fn last_end_detected(&self) -> Option<Instant> {
        self.last_end_detected
    }

    /// Feeds caller audio at the input rate; appends the resulting events to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<Event>) -> Result<(), ListenError> {
        self.ears.push(samples, &mut self.heard)?;
        self.recognise(out)
    }

    /// The audio ended: flushes the resampler and closes an open utterance.
    pub fn finish(&mut self, out: &mut Vec<Event>) -> Result<(), ListenError> {
        self.ears.finish(&mut self.heard)?;
        self.recognise(out)
    }

    fn recognise(&mut self, out: &mut Vec<Event>) -> Result<(), ListenError> {
        for heard in std::mem::take(&mut self.heard) {
            match heard {
                Heard::Voice { t_ms } => out.push(Event::VoiceOnset { t_ms }),
                Heard::Started { start_ms } => out.push(Event::SpeechStarted { t_ms: start_ms }),
                Heard::Ended {
                    utterance,
                    detected_ms,
                    audio,
                } => {
                    self.last_end_detected = Some(Instant::now());
                    out.push(Event::SpeechEnded { t_ms: detected_ms });
                    let text = if audio.is_empty() {
                        String::new()
                    } else {
                        self.asr.transcribe(&audio)?
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
                            start_ms: utterance.start_ms,
                            end_ms: utterance.end_ms,
                            is_final: true,
                        },
                        hits,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Recognises a live call's jobs inline, on the calling thread (replay and rehearsal; the live server uses
/// its pool). Partials hear the last [`PARTIAL_WINDOW_MS`](crate::call::live::listening::PARTIAL_WINDOW_MS)
/// of the open utterance and count only topics at `confidence`, as on the pool.
pub struct InlineRecogniser {
    asr: Box<dyn Transcriber>,
    matcher: Box<dyn TopicMatcher>,
    confidence: f32,
}

impl InlineRecogniser {
    pub fn new(asr: Box<dyn Transcriber>, matcher: Box<dyn TopicMatcher>, confidence: f32) -> Self {
        Self {
            asr,
            matcher,
            confidence,
        }
    }

    /// Runs `job` (a partial takes its audio from `ears`); returns the text and hits, and how long it took.
    pub fn recognise(
        &mut self,
        job: &crate::call::live::Recognise,
        ears: &Ears,
    ) -> (
        Result<(String, Vec<crate::topics::TopicHit>), ListenError>,
        std::time::Duration,
    ) {
        use crate::call::live::listening::PARTIAL_WINDOW_MS;
        use crate::call::live::Recognise;
        let started = Instant::now();
        let result = match job {
            Recognise::Final { audio, .. } => self.transcribe(audio, None),
            Recognise::Partial { start_ms, .. } => match ears.open_utterance() {
                Some((start, audio)) if start == *start_ms => {
                    let window = (PARTIAL_WINDOW_MS * SAMPLES_PER_MS) as usize;
                    let from = audio.len().saturating_sub(window);
                    let audio = audio[from..].to_vec();
                    self.transcribe(&audio, Some(self.confidence))
                }
                // The utterance ended meanwhile: its final speaks for it.
                _ => Ok((String::new(), Vec::new())),
            },
        };
        (result, started.elapsed())
    }

    fn transcribe(
        &mut self,
        audio: &[f32],
        partial: Option<f32>,
    ) -> Result<(String, Vec<crate::topics::TopicHit>), ListenError> {
        if audio.is_empty() {
            return Ok((String::new(), Vec::new()));
        }
        let text = self.asr.transcribe(audio)?;
        if text.is_empty() {
            return Ok((text, Vec::new()));
        }
        let hits = match partial {
            None => self.matcher.hits(&text)?,
            Some(confidence) => self.matcher.partial_hits(&text, confidence)?,
        };
        Ok((text, hits))
    }
}
