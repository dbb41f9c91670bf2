//! `switchboard eval`: how well the topic matcher does on labelled lines, and which thresholds to choose.
//!
//! Text lines are scored as single utterances in batches; audio lines go through the same listening
//! pipeline as a replay (resample, VAD, whisper, matcher) and also say how long after the decisive
//! utterance a topic fired. Scoring stops cleanly between lines when asked to, so an interrupted run
//! still reports what it scored.

pub mod dataset;
pub mod metrics;
pub mod plot;
pub mod render;
pub mod sweep;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dataset::{Sample, SampleInput};
use metrics::{Cost, LineOutcome, TopicOutcome};

use crate::audio::wav::{read_wav, ChannelChoice, WavError};
use crate::call::Event;
use crate::engines::{Engines, EnginesError};
use crate::topics::calibration::{Calibration, Features};
use crate::topics::semantic::TopicIndex;
use crate::topics::{MandatoryTopic, TopicError, TopicMatcher, TopicScore};

/// Text lines scored per embedding batch (and between checks for an interruption).
const TEXT_BATCH: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Topics(#[from] TopicError),
    #[error(transparent)]
    Engines(#[from] EnginesError),
    #[error("line {line} ({id}): {source}")]
    Audio {
        line: usize,
        id: String,
        source: WavError,
    },
    #[error("line {line} ({id}): {source}")]
    Listen {
        line: usize,
        id: String,
        source: EnginesError,
    },
    #[error("fitting needs text lines; line {0} is audio")]
    FitNeedsText(usize),
}

/// The topic ids an evaluation scores, in the index's order.
pub fn topic_ids(engines: &Engines) -> Vec<String> {
    engines.index().topics().map(|t| t.id.clone()).collect()
}

/// Each topic's threshold under the config.
pub fn thresholds(engines: &Engines) -> Vec<f32> {
    let default = engines.index().calibration().threshold;
    engines
        .index()
        .topics()
        .map(|t| t.threshold.unwrap_or(default))
        .collect()
}

/// Scores `samples` in order until done or `stop` is set; `progress` hears how many lines are done.
pub fn run(
    engines: &Engines,
    samples: &[Sample],
    stop: &AtomicBool,
    progress: &mut dyn FnMut(usize),
) -> Result<(Vec<LineOutcome>, Cost), EvalError> {
    let thresholds = thresholds(engines);
    let mut outcomes = Vec::with_capacity(samples.len());
    let mut scoring = Duration::ZERO;
    let mut utterances = 0;
    let mut at = 0;
    while at < samples.len() && !stop.load(Ordering::Relaxed) {
        match &samples[at].input {
            SampleInput::Text(_) => {
                let batch: Vec<&str> = samples[at..]
                    .iter()
                    .take(TEXT_BATCH)
                    .map_while(|s| match &s.input {
                        SampleInput::Text(t) => Some(t.as_str()),
                        SampleInput::Audio(_) => None,
                    })
                    .collect();
                let started = Instant::now();
                let scored = engines.index().score_texts(engines.embedder(), &batch)?;
                scoring += started.elapsed();
                utterances += batch.len();
                for (i, scores) in scored.into_iter().enumerate() {
                    outcomes.push(LineOutcome {
                        sample: at + i,
                        topics: scores.into_iter().map(outcome_of).collect(),
                        utterances: 1,
                    });
                }
                at += batch.len();
            }
            SampleInput::Audio(path) => {
                let sample = &samples[at];
                let (outcome, spent) = score_audio(engines, sample, at, path, &thresholds)?;
                scoring += spent;
                utterances += outcome.utterances;
                outcomes.push(outcome);
                at += 1;
            }
        }
        progress(at);
    }
    let cost = Cost {
        utterances,
        per_utterance_ms: if utterances == 0 {
            0.0
        } else {
            scoring.as_secs_f64() * 1000.0 / utterances as f64
        },
    };
    Ok((outcomes, cost))
}

fn outcome_of(s: TopicScore) -> TopicOutcome {
    TopicOutcome {
        score: s.score,
        evidence: s.heard,
        features: s.features,
        negated: s.negated,
        inquiry: s.inquiry,
        delay_ms: None,
    }
}

/// A matcher that keeps every score it hands out (and the time it took), for the evaluator to read.
struct Recorded {
    inner: Box<dyn TopicMatcher>,
    log: Arc<Mutex<(Vec<Vec<TopicScore>>, Duration)>>,
}

impl TopicMatcher for Recorded {
    fn partial_scores(&mut self, partial: &str) -> Result<Vec<TopicScore>, TopicError> {
        self.inner.partial_scores(partial)
    }

    fn scores(&mut self, utterance: &str) -> Result<Vec<TopicScore>, TopicError> {
        let started = Instant::now();
        let scores = self.inner.scores(utterance)?;
        if let Ok(mut log) = self.log.lock() {
            log.0.push(scores.clone());
            log.1 += started.elapsed();
        }
        Ok(scores)
    }
}

/// Runs a recording through the listening pipeline; each topic keeps its best score over the utterances
/// and, for the first utterance that reached the threshold, the delay from its end to the decision.
fn score_audio(
    engines: &Engines,
    sample: &Sample,
    index: usize,
    path: &std::path::Path,
    thresholds: &[f32],
) -> Result<(LineOutcome, Duration), EvalError> {
    let audio_error = |source| EvalError::Audio {
        line: sample.line,
        id: sample.id.clone(),
        source,
    };
    let listen_error = |source: EnginesError| EvalError::Listen {
        line: sample.line,
        id: sample.id.clone(),
        source,
    };
    let recording = read_wav(path).map_err(audio_error)?;
    let audio = recording
        .caller_audio(ChannelChoice::default())
        .map_err(audio_error)?;
    let log = Arc::new(Mutex::new((Vec::new(), Duration::ZERO)));
    let matcher = Recorded {
        inner: Box::new(engines.matcher()),
        log: log.clone(),
    };
    let mut listener = engines
        .listener(recording.sample_rate, Box::new(matcher))
        .map_err(listen_error)?;
    let mut topics: Vec<TopicOutcome> = thresholds
        .iter()
        .map(|_| TopicOutcome {
            score: 0.0,
            evidence: String::new(),
            features: Features::default(),
            negated: false,
            inquiry: false,
            delay_ms: None,
        })
        .collect();
    let mut scored = 0;
    let mut events = Vec::new();
    let piece = (recording.sample_rate as usize / 50).max(1);
    let mut take = |events: &mut Vec<Event>, listener: &crate::listen::Listener| {
        let processing = listener
            .last_end_detected()
            .map_or(0, |t| t.elapsed().as_millis() as u64);
        for event in events.drain(..) {
            let Event::Heard {
                t_ms, transcript, ..
            } = event
            else {
                continue;
            };
            if transcript.text.is_empty() {
                continue;
            }
            let Some(scores) = log.lock().ok().and_then(|l| l.0.get(scored).cloned()) else {
                continue;
            };
            scored += 1;
            for ((topic, s), threshold) in topics.iter_mut().zip(scores).zip(thresholds) {
                if s.score >= *threshold && topic.score < *threshold {
                    topic.delay_ms = Some(t_ms.saturating_sub(transcript.end_ms) + processing);
                }
                if s.score > topic.score || topic.evidence.is_empty() {
                    let delay = topic.delay_ms;
                    *topic = outcome_of(s);
                    topic.delay_ms = delay;
                }
            }
        }
    };
    for chunk in audio.chunks(piece) {
        listener
            .push(chunk, &mut events)
            .map_err(|e| listen_error(e.into()))?;
        take(&mut events, &listener);
    }
    listener
        .finish(&mut events)
        .map_err(|e| listen_error(e.into()))?;
    take(&mut events, &listener);
    let spent = log.lock().map(|l| l.1).unwrap_or_default();
    Ok((
        LineOutcome {
            sample: index,
            topics,
            utterances: scored,
        },
        spent,
    ))
}

/// Fits the calibration to text lines: every topic's evidence on every line, once with the topics as
/// configured and once with their examples removed, so the fitted default also works for topics given
/// as text only.
pub fn fit(
    engines: &Engines,
    samples: &[Sample],
    stop: &AtomicBool,
    progress: &mut dyn FnMut(usize),
) -> Result<Calibration, EvalError> {
    let texts: Vec<&str> = samples
        .iter()
        .map(|s| match &s.input {
            SampleInput::Text(t) => Ok(t.as_str()),
            SampleInput::Audio(_) => Err(EvalError::FitNeedsText(s.line)),
        })
        .collect::<Result<_, _>>()?;
    let topics: Vec<MandatoryTopic> = engines.index().topics().cloned().collect();
    let bare: Vec<MandatoryTopic> = topics
        .iter()
        .map(|t| MandatoryTopic {
            examples: Vec::new(),
            ..t.clone()
        })
        .collect();
    let text_only = TopicIndex::build(
        &bare,
        engines.language(),
        &engines.config().matching,
        engines.embedder(),
    )?;
    let mut rows = Vec::new();
    let mut topic_of = Vec::new();
    let mut done = 0;
    for index in [engines.index().as_ref(), &text_only] {
        for (chunk_at, chunk) in texts.chunks(TEXT_BATCH).enumerate() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let scored = index.score_texts(engines.embedder(), chunk)?;
            for (i, scores) in scored.into_iter().enumerate() {
                let sample = &samples[chunk_at * TEXT_BATCH + i];
                for (k, s) in scores.into_iter().enumerate() {
                    // Negations and inquiries are decided by rule, not by the model: leave them out.
                    if !s.negated && !s.inquiry {
                        rows.push((s.features, sample.expect.contains(&s.topic)));
                        topic_of.push(k);
                    }
                }
            }
            done += chunk.len();
            progress(done);
        }
    }
    Ok(Calibration::fit(&rows, &topic_of))
}
