//! The agent configuration (TOML), as a business sets up an AI phone agent, and its validation.
//!
//! Validation collects every mistake at once and names each by its field and its line:column in the file,
//! because a config that loads but would lose calls (a transfer to the agent's own number, a routing
//! category with nobody in it, two topics with one id) is worse than one that fails loudly.
//!
//! This file only orchestrates: it reads the whole file, hands each section to its own module (its types,
//! its raw TOML form and its checks: `agent.rs`, `escalation.rs`, `callback.rs`, `routing.rs`, ...), and
//! gathers the result. A section's rules belong in its module, not here; the order the sections are checked
//! in is the order their findings are reported in.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

mod agent;
mod callback;
mod checks;
mod env;
mod escalation;
mod findings;
pub mod hours;
mod matching;
mod providers;
mod routing;
mod server;
mod speech;
mod summary;
mod support;
mod tickets;
mod topics;
mod vad;

pub use agent::{Agent, SupportMode};
pub use callback::{Callback, CallbackField, DialogSettings, FieldType};
pub use checks::is_e164;
pub use escalation::{transfer_targets, Escalation, RingOrder, TransferTarget};
pub use matching::MatchingSettings;
pub use providers::ProviderSettings;
pub use routing::{Notifications, SmtpSecurity, SmtpSettings};
pub use server::ServerSettings;
pub use speech::{HttpVoice, SpeechSettings};
pub use summary::{LlmSummary, SummarySettings};
pub use support::{Role, SupportToken};
pub use topics::topic_id_from_text;

use crate::asr::AsrSettings;
use crate::audio::segmenter::VadSettings;
use crate::tickets::database::Database;
use crate::tickets::Triage;
use crate::topics::MandatoryTopic;
use env::secret;
use findings::Findings;
use topics::TopicLists;

/// A validated agent configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    pub agent: Agent,
    pub escalation: Escalation,
    pub callback: Callback,
    /// Who hears about tickets (`[routing]`); `None`: nobody is notified.
    pub routing: Option<Notifications>,
    /// People allowed into the Support API and page (`[support] tokens`).
    pub support_tokens: Vec<SupportToken>,
    /// The ticket store (`[tickets] database`): a SQLite file relative to the working directory, or a
    /// `postgres://` URL.
    pub tickets_database: Database,
    /// Category and priority of each topic's tickets, by topic id.
    pub triage: BTreeMap<String, Triage>,
    pub vad: VadSettings,
    pub asr: AsrSettings,
    pub matching: MatchingSettings,
    pub server: ServerSettings,
    pub summary: SummarySettings,
    /// Per provider name (`twilio`, `telnyx`, ...).
    pub providers: BTreeMap<String, ProviderSettings>,
    pub speech: SpeechSettings,
}

impl AgentConfig {
    /// The settings of `provider` (empty when the config has none).
    pub fn provider(&self, provider: crate::providers::Provider) -> ProviderSettings {
        self.providers
            .get(provider.as_str())
            .cloned()
            .unwrap_or_default()
    }
}

impl AgentConfig {
    /// Every mandatory topic of both lists.
    pub fn topics(&self) -> impl Iterator<Item = &MandatoryTopic> {
        self.escalation
            .mandatory_topics
            .iter()
            .chain(&self.callback.mandatory_topics)
    }
}

/// One finding of validation, placed in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted path of the field, e.g. `escalation.transfer_number`.
    pub field: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.field, self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    #[error("{path}: {} mistake(s):\n{}", issues.len(), render(path, issues))]
    Invalid {
        path: String,
        issues: Vec<ConfigIssue>,
    },
}

fn render(path: &str, issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  {path}:{i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A loaded config plus the warnings that do not stop it (things that would silently never act).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: AgentConfig,
    pub warnings: Vec<ConfigIssue>,
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, &path.display().to_string())
}

// ------------------------------------------------------------------------------------------ raw shape

/// The whole file as TOML gives it; each section's raw form is its module's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    agent: agent::RawAgent,
    #[serde(default)]
    escalation: Option<Spanned<escalation::RawEscalation>>,
    #[serde(default)]
    callback: Option<callback::RawCallback>,
    #[serde(default)]
    routing: Option<Spanned<routing::RawRouting>>,
    #[serde(default)]
    support: Option<Spanned<support::RawSupport>>,
    #[serde(default)]
    tickets: Option<tickets::RawTickets>,
    #[serde(default)]
    vad: Option<Spanned<VadSettings>>,
    #[serde(default)]
    asr: Option<AsrSettings>,
    #[serde(default)]
    matching: Option<Spanned<MatchingSettings>>,
    #[serde(default)]
    server: Option<server::RawServer>,
    #[serde(default)]
    providers: Option<Spanned<BTreeMap<String, providers::RawProvider>>>,
    #[serde(default)]
    speech: Option<Spanned<speech::RawSpeech>>,
    #[serde(default)]
    summary: Option<Spanned<summary::RawSummary>>,
}

/// serde's default for the flags that are on unless the file turns them off.
fn yes() -> bool {
    true
}

// ------------------------------------------------------------------------------------------ validation

/// Parses and validates config text; `origin` names it in messages.
pub fn parse(text: &str, origin: &str) -> Result<Loaded, ConfigError> {
    let raw: Raw = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: origin.to_string(),
        // toml's message already carries the line, column and the offending source line.
        message: e.to_string().trim_end().to_string(),
    })?;
    let mut f = Findings::new(text);

    let (agent, support_span) = agent::agent(&mut f, raw.agent);
    let mut topics = TopicLists::default();
    let escalation =
        escalation::escalation(&mut f, raw.escalation, &agent, &support_span, &mut topics);
    let callback = callback::callback(&mut f, raw.callback, &mut topics);
    let routing = routing::routing(&mut f, raw.routing);
    let support_tokens = support::support(&mut f, raw.support);
    let speech = speech::speech_settings(&mut f, raw.speech);
    let summary = summary::summary_settings(&mut f, raw.summary);
    let tickets_database = tickets::database(&mut f, raw.tickets);
    let vad = vad::vad(&mut f, raw.vad);
    let matching = matching::matching(&mut f, raw.matching);
    let server = server::server_settings(raw.server, &mut f);
    let providers = providers::provider_settings(raw.providers, &mut f);
    agent::support_warnings(
        &mut f,
        agent.support,
        &support_span,
        &escalation.mandatory_topics,
        &callback.mandatory_topics,
    );

    if !f.errors.is_empty() {
        return Err(ConfigError::Invalid {
            path: origin.to_string(),
            issues: f.errors,
        });
    }
    Ok(Loaded {
        config: AgentConfig {
            agent,
            escalation,
            callback,
            routing,
            support_tokens,
            tickets_database,
            triage: topics.triage,
            vad,
            asr: raw.asr.unwrap_or_default(),
            matching,
            server,
            providers,
            speech,
            summary,
        },
        warnings: f.warnings,
    })
}

impl crate::language::Language {
    /// The agent's language, speaking the business's own prompts when `agent.prompts` names them. Written
    /// here rather than in `language`, which takes plain values so that it never imports `config`.
    pub fn for_agent(agent: &Agent) -> Result<Self, crate::language::PromptError> {
        Self::configured(&agent.language, agent.prompts.as_deref())
    }
}
