//! Replay of a recorded call: the recording is the event source, the call core and the engines are the
//! same as on a live call, and the store files real tickets.
//!
//! The recording is fed in 20 ms pieces as a provider would stream it; call time comes from the audio, so
//! a replay is deterministic in everything but `wall_ms`, which measures our own processing.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::asr::whisper::WhisperModel;
use crate::audio::vad::SileroVad;
use crate::audio::wav::{read_wav, ChannelChoice, WavError};
use crate::call::{Action, Call, CallError, CallSetup, Event, Hearing};
use crate::config::{AgentConfig, SupportMode};
use crate::events::{CallEvent, Decision, EventLine};
use crate::language::{Language, PromptError};
use crate::listen::{ListenError, Listener};
use crate::models::{ModelDir, SILERO_VAD};
use crate::onnx::OnnxError;
use crate::tickets::store::{StoreError, TicketStore};
use crate::topics::embedder::{EmbedError, SentenceEmbedder};
use crate::topics::semantic::{SemanticMatcher, SharedEmbedder, TopicIndex};
use crate::topics::{MandatoryTopic, TopicError, TopicKind, TopicMatcher};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: {source}")]
    Recording { path: String, source: WavError },
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Prompts(#[from] PromptError),
    #[error(transparent)]
    Asr(#[from] crate::asr::AsrError),
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error("sentence embedder: {0}")]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Topics(#[from] TopicError),
}

/// Per-replay choices.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    pub channel: ChannelChoice,
    /// The caller's number, if known (it appears in summaries and tickets).
    pub caller: Option<String>,
    /// Defaults to `replay-<file stem>`.
    pub call_id: Option<String>,
    /// When the call took place (default: now): business hours and "tomorrow" are read from it, so a
    /// replay decides as the live agent would have at that moment.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a replay ended with.
#[derive(Debug, Clone, Default)]
pub struct ReplayOutcome {
    pub lines: Vec<EventLine>,
    pub duration_ms: u64,
    /// Call time the agent listened to (less than `duration_ms` when the call was transferred early).
    pub heard_ms: u64,
    pub tickets: Vec<i64>,
}

impl ReplayOutcome {
    /// The decisions other than `continue`.
    pub fn decisions(&self) -> Vec<(Decision, Option<String>)> {
        self.lines
            .iter()
            .filter_map(|l| match &l.event {
                CallEvent::Decision {
                    decision, topic, ..
                } if *decision != Decision::Continue => Some((*decision, topic.clone())),
                _ => None,
            })
            .collect()
    }
}

/// The topics a call listens for under `config`: both lists, plus the built-in "asks for a person" topic
/// in decide mode (unless the business defined a topic with that id itself).
pub fn call_topics(config: &AgentConfig, language: &Language) -> Vec<MandatoryTopic> {
    let mut topics: Vec<MandatoryTopic> = config.topics().cloned().collect();
    if config.agent.support == SupportMode::Decide
        && !topics.iter().any(|t| t.id == language.person_request.id)
    {
        topics.push(language.person_request.clone().into());
    }
    topics
}

/// The index of the topics a call listens for. The built-in "asks for a person" topic of decide mode is
/// left out when the business's own escalation topics already recognise most of its examples: two topics
/// for one request would only compete with each other.
pub fn topic_index(
    config: &AgentConfig,
    language: &Language,
    embedder: &SharedEmbedder,
) -> Result<TopicIndex, TopicError> {
    let topics = call_topics(config, language);
    let own: Vec<MandatoryTopic> = config.topics().cloned().collect();
    if topics.len() == own.len() {
        return TopicIndex::build(&topics, language, &config.matching, embedder);
    }
    let index = TopicIndex::build(&own, language, &config.matching, embedder)?;
    let examples = &language.person_request.examples;
    let covered = index
        .score_texts(embedder, examples)?
        .into_iter()
        .filter(|scores| {
            scores
                .iter()
                .any(|s| s.kind == TopicKind::Escalation && s.score >= s.threshold)
        })
        .count();
    if covered * 2 >= examples.len() {
        Ok(index)
    } else {
        TopicIndex::build(&topics, language, &config.matching, embedder)
    }
}

/// Threads of the shared sentence embedder.
const EMBEDDER_THREADS: usize = 2;

/// Loads the engines once and replays any number of recordings against one config.
pub struct Replayer {
    config: AgentConfig,
    language: Language,
    models: ModelDir,
    whisper: WhisperModel,
    embedder: SharedEmbedder,
    index: Arc<TopicIndex>,
}

impl Replayer {
    pub fn new(config: AgentConfig, models: ModelDir) -> Result<Self, ReplayError> {
        let language = Language::for_agent(&config.agent)?;
        let whisper = WhisperModel::load(&models, config.asr)?;
        // Fail on a missing VAD model or ONNX Runtime before any audio is read (sessions are per call).
        models.file(SILERO_VAD).map_err(OnnxError::from)?;
        crate::onnx::environment(&models)?;
        let embedder = Arc::new(Mutex::new(SentenceEmbedder::load(
            &models,
            EMBEDDER_THREADS,
        )?));
        let index = Arc::new(topic_index(&config, &language, &embedder)?);
        Ok(Self {
            config,
            language,
            models,
            whisper,
            embedder,
            index,
        })
    }

    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// The topics of this config, embedded.
    pub fn index(&self) -> &Arc<TopicIndex> {
        &self.index
    }

    pub fn models(&self) -> &ModelDir {
        &self.models
    }

    pub fn whisper(&self) -> &WhisperModel {
        &self.whisper
    }

    pub fn language(&self) -> &Language {
        &self.language
    }

    pub fn embedder(&self) -> &SharedEmbedder {
        &self.embedder
    }

    /// A fresh per-call topic matcher.
    pub fn matcher(&self) -> SemanticMatcher {
        SemanticMatcher::new(self.index.clone(), self.embedder.clone())
    }

    /// A per-call listening pipeline for audio at `sample_rate` that scores with `matcher`.
    pub fn listener(
        &self,
        sample_rate: u32,
        matcher: Box<dyn TopicMatcher>,
    ) -> Result<Listener, ReplayError> {
        Ok(Listener::new(
            sample_rate,
            SileroVad::load(&self.models)?,
            self.config.vad,
            Box::new(self.whisper.transcriber()?),
            matcher,
        )?)
    }

    /// Replays one recording; every log line is also handed to `sink` as it happens.
    pub async fn replay(
        &self,
        wav: &Path,
        options: &ReplayOptions,
        store: &TicketStore,
        sink: &mut dyn FnMut(&EventLine),
    ) -> Result<ReplayOutcome, ReplayError> {
        let recording = read_wav(wav).map_err(|source| ReplayError::Recording {
            path: wav.display().to_string(),
            source,
        })?;
        let audio =
            recording
                .caller_audio(options.channel)
                .map_err(|source| ReplayError::Recording {
                    path: wav.display().to_string(),
                    source,
                })?;
        let call_id = options.call_id.clone().unwrap_or_else(|| {
            format!(
                "replay-{}",
                wav.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
        });
        let topics: Vec<MandatoryTopic> = self.index.topics().cloned().collect();
        let mut listener = self.listener(recording.sample_rate, Box::new(self.matcher()))?;
        let mut call = Call::new(CallSetup::for_agent(
            call_id,
            options.caller.clone(),
            &self.config,
            &self.language,
            topics,
            Hearing::Recording,
            options.at.unwrap_or_else(chrono::Utc::now),
        ));

        let mut outcome = ReplayOutcome {
            duration_ms: recording.duration_ms(),
            ..Default::default()
        };
        let piece = (recording.sample_rate as usize / 50).max(1);
        let mut events = Vec::new();
        for chunk in audio.chunks(piece) {
            listener.push(chunk, &mut events)?;
            drive(&mut call, &listener, &mut events, store, &mut outcome, sink).await?;
            if call.is_finished() {
                break;
            }
        }
        if !call.is_finished() {
            listener.finish(&mut events)?;
            drive(&mut call, &listener, &mut events, store, &mut outcome, sink).await?;
        }
        outcome.heard_ms = listener.heard_ms().min(outcome.duration_ms);
        if !call.is_finished() {
            events.push(Event::HungUp {
                t_ms: outcome.duration_ms.max(listener.heard_ms()),
            });
            drive(&mut call, &listener, &mut events, store, &mut outcome, sink).await?;
        }
        Ok(outcome)
    }
}

/// Feeds events to the call and carries out its actions until both run dry.
async fn drive(
    call: &mut Call,
    listener: &Listener,
    events: &mut Vec<Event>,
    store: &TicketStore,
    outcome: &mut ReplayOutcome,
    sink: &mut dyn FnMut(&EventLine),
) -> Result<(), ReplayError> {
    for event in events.drain(..) {
        call.handle(event)?;
        while let Some(action) = call.poll_action() {
            match action {
                Action::Log(mut line) => {
                    if line.wants_wall_time() {
                        line.wall_ms = listener
                            .last_end_detected()
                            .map(|t| t.elapsed().as_millis() as u64);
                    }
                    sink(&line);
                    outcome.lines.push(line);
                }
                Action::FileTicket(draft) => {
                    let id = store.file(&draft).await?;
                    outcome.tickets.push(id);
                    call.handle(Event::TicketFiled {
                        t_ms: listener.heard_ms(),
                        id,
                    })?;
                }
                // A recording cannot be spoken to or transferred: the log lines say what would happen.
                Action::Say { .. }
                | Action::Transfer { .. }
                | Action::StopSpeaking
                | Action::HangUp => {}
            }
        }
    }
    Ok(())
}
