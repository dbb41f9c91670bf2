//! The agent configuration (TOML), as a business sets up an AI phone agent, and its validation.
//!
//! Validation collects every mistake at once and names each by its field and its line:column in the file,
//! because a config that loads but would lose calls (a transfer to the agent's own number, a routing
//! category with nobody in it, two topics with one id) is worse than one that fails loudly.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub mod hours;
mod routing;
mod support;

pub use routing::{Notifications, SmtpSecurity, SmtpSettings};
pub use support::{Role, SupportToken};

use crate::asr::AsrSettings;
use crate::audio::segmenter::VadSettings;
use crate::tickets::database::Database;
use crate::tickets::{Category, Priority, Triage};
use crate::topics::{MandatoryTopic, TopicKind};

/// How the agent hands a caller over to people (`agent.support`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SupportMode {
    /// Mandatory escalation topics transfer the call.
    Escalate,
    /// Mandatory callback topics flag the call: the agent asks the extra fields and files a callback ticket.
    Flag,
    /// Both lists apply, and a caller who explicitly asks for a person is transferred.
    Decide,
    /// The agent never hands over; topics are still reported.
    Off,
}

impl SupportMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SupportMode::Escalate => "escalate",
            SupportMode::Flag => "flag",
            SupportMode::Decide => "decide",
            SupportMode::Off => "off",
        }
    }
}

/// The type of a callback field, which decides how its answer is understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Datetime,
    Phone,
    Email,
    Number,
    YesNo,
    /// One of the field's `options`.
    Choice,
}

impl FieldType {
    const ALL: [(&'static str, FieldType); 7] = [
        ("text", FieldType::Text),
        ("datetime", FieldType::Datetime),
        ("phone", FieldType::Phone),
        ("email", FieldType::Email),
        ("number", FieldType::Number),
        ("yes_no", FieldType::YesNo),
        ("choice", FieldType::Choice),
    ];

    /// Whether an answer of this type is read back for a yes by default: values a mishearing silently
    /// corrupts (a digit, an hour, a letter) are; free text, yes/no and a picked option are not.
    pub fn confirms_by_default(self) -> bool {
        matches!(
            self,
            FieldType::Datetime | FieldType::Phone | FieldType::Email | FieldType::Number
        )
    }

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("text", |(name, _)| name)
    }
}

/// One extra field the business wants for a callback (`callback.extra_fields`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CallbackField {
    pub name: String,
    pub ask: String,
    pub kind: FieldType,
    pub required: bool,
    /// The options of a `choice` field (key 1 picks the first).
    pub options: Vec<String>,
    /// Read the answer back and wait for a yes (default: by type, see [`FieldType::confirms_by_default`]).
    pub confirm: bool,
}

/// How the callback dialog waits and retries (`[callback]` keys).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DialogSettings {
    /// Further tries after an answer that cannot be understood, before the raw answer is kept as is.
    pub retries: u32,
    /// Silence after a question (once it has played) before it is asked again, then left.
    pub silence_ms: u64,
    /// A pause in keypad entry this long ends it (as does `#`).
    pub keypad_timeout_ms: u64,
}

impl Default for DialogSettings {
    fn default() -> Self {
        Self {
            retries: 2,
            silence_ms: 6000,
            keypad_timeout_ms: 4000,
        }
    }
}

/// Which engine speaks the agent's sentences (`[speech]`).
#[derive(Debug, Clone, PartialEq)]
pub enum SpeechSettings {
    /// The local Piper voice (the default; falls back to espeak-ng only if told to).
    Piper,
    /// espeak-ng: robotic, tiny, always available.
    Espeak,
    /// An OpenAI-compatible `POST {url}/v1/audio/speech`.
    Http(HttpVoice),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpVoice {
    /// Base URL (`https://api.openai.com`); `/v1/audio/speech` is appended.
    pub url: String,
    pub model: String,
    pub voice: String,
    /// Sent as `Authorization: Bearer`; may be written `env:NAME`.
    pub api_key: Option<String>,
    /// How long one sentence may take.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub name: String,
    pub phone_number: String,
    pub language: String,
    pub support: SupportMode,
    /// The business's time zone: "tomorrow after 3" is read in it.
    pub timezone: chrono_tz::Tz,
    /// A directory with the business's own `prompts.toml` and `fields.toml` (else the built-in language).
    pub prompts: Option<PathBuf>,
}

impl crate::language::Language {
    /// The agent's language, speaking the business's own prompts when `agent.prompts` names them. Written
    /// here rather than in `language`, which takes plain values so that it never imports `config`.
    pub fn for_agent(agent: &Agent) -> Result<Self, crate::language::PromptError> {
        Self::configured(&agent.language, agent.prompts.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    /// The first place escalated calls go (the first target without topics).
    pub transfer_number: Option<String>,
    /// Every place escalated calls may go, in the order they are tried (`transfer_number` first).
    pub targets: Vec<TransferTarget>,
    pub contextual_summary: bool,
    pub mandatory_topics: Vec<MandatoryTopic>,
    /// How long each target rings before the next is tried.
    pub ring_seconds: u32,
    /// Whether a topic's targets ring one after the other or all at once.
    pub ring: RingOrder,
    /// When people take transfers (`[escalation.hours]`, in `agent.timezone`); `None`: always.
    pub hours: Option<hours::BusinessHours>,
}

/// How the targets of an escalation ring (`[escalation] ring`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingOrder {
    /// One after the other: the next rings when the one before is busy or does not answer.
    #[default]
    InOrder,
    /// All together: the first to answer takes the call (Twilio; the other providers' transfer takes one
    /// number, so they ring in order).
    AllAtOnce,
}

/// One place an escalated call may be transferred to.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferTarget {
    pub number: String,
    /// Who answers there ("Billing desk"), for logs and tickets.
    pub name: Option<String>,
    /// Escalation topic ids this target takes first; empty: any topic, after the topic's own targets.
    pub topics: Vec<String>,
}

/// The numbers to try for `topic`, in order: the targets that name it, then the general ones.
pub fn transfer_targets(targets: &[TransferTarget], topic: &str) -> Vec<String> {
    let own = targets
        .iter()
        .filter(|t| t.topics.iter().any(|x| x == topic));
    let general = targets.iter().filter(|t| t.topics.is_empty());
    let mut numbers: Vec<String> = Vec::new();
    for t in own.chain(general) {
        if !numbers.contains(&t.number) {
            numbers.push(t.number.clone());
        }
    }
    numbers
}

/// `[summary]`: who writes the contextual summary spoken to the person who takes a transfer.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SummarySettings {
    /// From the transcript, the topic and its evidence, the answers and the caller's mood, by template.
    #[default]
    Template,
    /// An OpenAI-compatible chat endpoint, within `timeout_ms`; the template's summary otherwise.
    Llm(LlmSummary),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LlmSummary {
    /// Base URL (`https://api.openai.com`): `/v1/chat/completions` is appended.
    pub url: String,
    pub model: String,
    pub api_key: Option<String>,
    /// The whole budget: past it, the template's summary is used.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    pub extra_fields: Vec<CallbackField>,
    pub mandatory_topics: Vec<MandatoryTopic>,
    pub dialog: DialogSettings,
}

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
    pub fn provider(&self, provider: &str) -> ProviderSettings {
        self.providers.get(provider).cloned().unwrap_or_default()
    }
}

/// `[server]`: how the live server is reached and what it accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    /// How providers reach us (`https://agent.example.com`, no trailing slash): every URL we hand out
    /// (TwiML stream URLs, callbacks) is built on it. Required to answer calls, not to replay them.
    pub public_url: Option<String>,
    /// Address the server listens on (`--listen` overrides it).
    pub listen: std::net::SocketAddr,
    /// The largest WebSocket message a provider may send; a larger one ends that stream.
    pub max_message_bytes: usize,
    /// Where each call's JSON lines are written.
    pub events_dir: PathBuf,
    /// On shutdown, how long calls in progress may go on before the server ends them.
    pub drain_seconds: u64,
}

/// `[providers.<name>]`: secrets that prove a request or stream comes from the provider. Values may name an
/// environment variable as `env:NAME`, so secrets stay out of the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderSettings {
    /// Twilio's auth token: `X-Twilio-Signature` on webhooks is checked with it (`TWILIO_AUTH_TOKEN` when
    /// unset).
    pub auth_token: Option<String>,
    /// When set, a media stream must present it (`?token=`, `Authorization: Bearer`, or a `token` custom
    /// parameter in its start message) or it is refused.
    pub stream_token: Option<String>,
    /// The account whose calls we control through the provider's REST API (Twilio: `AC…`).
    pub account_sid: Option<String>,
    /// The provider's REST API base URL (default: the provider's own), for tests and staging.
    pub api_base: Option<String>,
    /// Telnyx: the API key (Bearer). Vonage: a JWT for the application (Bearer).
    pub api_key: Option<String>,
    /// Plivo: the auth ID (HTTP Basic with `auth_token`).
    pub auth_id: Option<String>,
    /// Telnyx: the account's Ed25519 public key (base64) that webhook signatures are checked with.
    pub public_key: Option<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            listen: std::net::SocketAddr::from(([0, 0, 0, 0], 8080)),
            max_message_bytes: 64 * 1024,
            events_dir: PathBuf::from("calls"),
            drain_seconds: 30,
        }
    }
}

impl ServerSettings {
    /// The WebSocket URL of a provider's stream route (`wss://host/twilio/stream`).
    pub fn stream_url(&self, provider: &str) -> Option<String> {
        let base = self.public_url.as_deref()?;
        let ws = match base.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}"),
            Some((_, rest)) => format!("ws://{rest}"),
            None => return None,
        };
        Some(format!("{ws}/{provider}/stream"))
    }
}

/// Limits of `[server] max_message_bytes`: a 20 ms frame is far below the floor, a ceiling keeps a peer
/// from making us buffer without bound.
const MESSAGE_LIMITS: std::ops::RangeInclusive<i64> = 1024..=16 * 1024 * 1024;
/// `[matching]`: the business's own tuning of the topic matcher.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchingSettings {
    /// Ordinary requests of this business that must not fire a topic (added to the language's own list).
    pub ordinary: Vec<String>,
    /// Confidence a topic needs when it sets no `threshold` of its own (default: the calibrated one).
    pub threshold: Option<f32>,
    /// Confidence a topic needs to act on a partial transcript, while the caller is still speaking (never
    /// below the topic's own threshold). High, because the rest of the sentence may still say "not".
    pub partial_confidence: f32,
}

impl Default for MatchingSettings {
    fn default() -> Self {
        Self {
            ordinary: Vec::new(),
            threshold: None,
            partial_confidence: 0.85,
        }
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    agent: RawAgent,
    #[serde(default)]
    escalation: Option<Spanned<RawEscalation>>,
    #[serde(default)]
    callback: Option<RawCallback>,
    #[serde(default)]
    routing: Option<Spanned<routing::RawRouting>>,
    #[serde(default)]
    support: Option<Spanned<support::RawSupport>>,
    #[serde(default)]
    tickets: Option<RawTickets>,
    #[serde(default)]
    vad: Option<Spanned<VadSettings>>,
    #[serde(default)]
    asr: Option<AsrSettings>,
    #[serde(default)]
    matching: Option<Spanned<MatchingSettings>>,
    #[serde(default)]
    server: Option<RawServer>,
    #[serde(default)]
    providers: Option<Spanned<BTreeMap<String, RawProvider>>>,
    #[serde(default)]
    speech: Option<Spanned<RawSpeech>>,
    #[serde(default)]
    summary: Option<Spanned<RawSummary>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSummary {
    #[serde(default)]
    engine: Option<Spanned<String>>,
    #[serde(default)]
    url: Option<Spanned<String>>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    api_key: Option<Spanned<String>>,
    #[serde(default)]
    timeout_ms: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    number: Spanned<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    topics: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    #[serde(default)]
    mon: Option<Spanned<String>>,
    #[serde(default)]
    tue: Option<Spanned<String>>,
    #[serde(default)]
    wed: Option<Spanned<String>>,
    #[serde(default)]
    thu: Option<Spanned<String>>,
    #[serde(default)]
    fri: Option<Spanned<String>>,
    #[serde(default)]
    sat: Option<Spanned<String>>,
    #[serde(default)]
    sun: Option<Spanned<String>>,
    #[serde(default)]
    closed: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpeech {
    #[serde(default)]
    engine: Option<Spanned<String>>,
    #[serde(default)]
    url: Option<Spanned<String>>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    voice: Option<String>,
    #[serde(default)]
    api_key: Option<Spanned<String>>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    #[serde(default)]
    auth_token: Option<Spanned<String>>,
    #[serde(default)]
    stream_token: Option<Spanned<String>>,
    #[serde(default)]
    account_sid: Option<Spanned<String>>,
    #[serde(default)]
    api_base: Option<Spanned<String>>,
    #[serde(default)]
    api_key: Option<Spanned<String>>,
    #[serde(default)]
    auth_id: Option<Spanned<String>>,
    #[serde(default)]
    public_key: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default)]
    public_url: Option<Spanned<String>>,
    #[serde(default)]
    listen: Option<Spanned<String>>,
    #[serde(default)]
    max_message_bytes: Option<Spanned<i64>>,
    #[serde(default)]
    events_dir: Option<Spanned<String>>,
    #[serde(default)]
    drain_seconds: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    name: Spanned<String>,
    phone_number: Spanned<String>,
    #[serde(default)]
    language: Option<Spanned<String>>,
    support: Spanned<SupportMode>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    prompts: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEscalation {
    #[serde(default)]
    transfer_number: Option<Spanned<String>>,
    #[serde(default = "yes")]
    contextual_summary: bool,
    #[serde(default)]
    mandatory_topics: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    targets: Vec<Spanned<RawTarget>>,
    #[serde(default)]
    ring_seconds: Option<Spanned<i64>>,
    #[serde(default)]
    ring: Option<RingOrder>,
    #[serde(default)]
    hours: Option<Spanned<RawHours>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCallback {
    #[serde(default)]
    extra_fields: Vec<Spanned<RawField>>,
    #[serde(default)]
    mandatory_topics: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    retries: Option<Spanned<i64>>,
    #[serde(default)]
    silence_ms: Option<Spanned<i64>>,
    #[serde(default)]
    keypad_timeout_ms: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: Spanned<String>,
    ask: Spanned<String>,
    #[serde(rename = "type", default)]
    kind: Option<Spanned<String>>,
    #[serde(default = "yes")]
    required: bool,
    #[serde(default)]
    options: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    confirm: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTickets {
    database: Spanned<String>,
}

// ------------------------------------------------------------------------------------------ validation

/// How long a transfer target rings before the next is tried, unless `ring_seconds` says otherwise.
const DEFAULT_RING_SECONDS: u32 = 20;

/// `[escalation.hours]`: one window list per weekday and the closed dates.
fn business_hours(f: &mut Findings<'_>, raw: Spanned<RawHours>) -> hours::BusinessHours {
    use hours::{parse_windows, BusinessHours, DAYS};
    let span = raw.span();
    let raw = raw.into_inner();
    let mut hours = BusinessHours::default();
    let days = [
        raw.mon, raw.tue, raw.wed, raw.thu, raw.fri, raw.sat, raw.sun,
    ];
    for (i, day) in days.into_iter().enumerate() {
        let Some(day) = day else { continue };
        match parse_windows(day.get_ref()) {
            Ok(w) => hours.week[i] = w,
            Err(e) => f.error(&format!("escalation.hours.{}", DAYS[i]), day.span(), e),
        }
    }
    for date in raw.closed {
        match chrono::NaiveDate::parse_from_str(date.get_ref().trim(), "%Y-%m-%d") {
            Ok(d) => hours.closed.push(d),
            Err(_) => f.error(
                "escalation.hours.closed",
                date.span(),
                format!("{:?} is not a date such as \"2026-12-25\"", date.get_ref()),
            ),
        }
    }
    if hours.week.iter().all(Vec::is_empty) {
        f.error(
            "escalation.hours",
            span,
            "no day has opening hours: every escalation would become a callback; remove [escalation.hours] if transfers are always taken",
        );
    }
    hours
}

/// An http(s) base URL without its trailing slash; `missing` is the complaint when there is none.
fn base_url(
    f: &mut Findings<'_>,
    field: &str,
    url: Option<&Spanned<String>>,
    section: &Range<usize>,
    missing: &str,
) -> Option<String> {
    let Some(u) = url else {
        f.error(field, section.clone(), missing);
        return None;
    };
    let t = u.get_ref().trim().trim_end_matches('/');
    if t.starts_with("http://") || t.starts_with("https://") {
        Some(t.to_string())
    } else {
        f.error(
            field,
            u.span(),
            format!("{:?} is not an http(s) URL", u.get_ref()),
        );
        None
    }
}

/// Checks `[summary]`.
fn summary_settings(f: &mut Findings<'_>, raw: Option<Spanned<RawSummary>>) -> SummarySettings {
    let Some(raw) = raw else {
        return SummarySettings::Template;
    };
    let span = raw.span();
    let raw = raw.into_inner();
    let engine = raw
        .engine
        .as_ref()
        .map_or("template".to_string(), |e| e.get_ref().trim().to_string());
    match engine.as_str() {
        "template" => SummarySettings::Template,
        "llm" => {
            let Some(base) = base_url(
                f,
                "summary.url",
                raw.url.as_ref(),
                &span,
                "engine = \"llm\" needs the url of an OpenAI-compatible endpoint",
            ) else {
                return SummarySettings::Template;
            };
            let timeout_ms = match raw.timeout_ms {
                None => 1_500,
                Some(t) => match u64::try_from(*t.get_ref()) {
                    Ok(ms) if (100..=10_000).contains(&ms) => ms,
                    _ => {
                        f.error(
                            "summary.timeout_ms",
                            t.span(),
                            format!(
                                "{} is out of range 100..=10000: the caller waits for it",
                                t.get_ref()
                            ),
                        );
                        1_500
                    }
                },
            };
            SummarySettings::Llm(LlmSummary {
                url: base,
                model: raw.model.unwrap_or_else(|| "gpt-4o-mini".into()),
                api_key: secret(f, "summary.api_key", raw.api_key),
                timeout_ms,
            })
        }
        other => {
            let place = raw.engine.map_or(span, |e| e.span());
            f.error(
                "summary.engine",
                place,
                format!("unknown summary engine {other:?}; known: template, llm"),
            );
            SummarySettings::Template
        }
    }
}

/// Checks `[server]`; anything wrong is an error at its place, and the default stands in for it.
fn server_settings(raw: Option<RawServer>, f: &mut Findings<'_>) -> ServerSettings {
    let mut server = ServerSettings::default();
    let Some(raw) = raw else {
        return server;
    };
    if let Some(url) = raw.public_url {
        let span = url.span();
        let url = url.into_inner();
        let trimmed = url.trim().trim_end_matches('/');
        match trimmed.split_once("://") {
            Some(("http" | "https", rest))
                if !rest.is_empty()
                    && !rest.contains(['?', '#', ' '])
                    && !rest.starts_with('/') =>
            {
                server.public_url = Some(trimmed.to_string());
            }
            _ => f.error(
                "server.public_url",
                span,
                format!("{url:?} is not an http(s) URL such as \"https://agent.example.com\""),
            ),
        }
    }
    if let Some(listen) = raw.listen {
        let span = listen.span();
        match listen.get_ref().parse() {
            Ok(addr) => server.listen = addr,
            Err(_) => f.error(
                "server.listen",
                span,
                format!(
                    "{:?} is not an address such as \"0.0.0.0:8080\"",
                    listen.get_ref()
                ),
            ),
        }
    }
    if let Some(limit) = raw.max_message_bytes {
        let span = limit.span();
        let limit = limit.into_inner();
        if MESSAGE_LIMITS.contains(&limit) {
            server.max_message_bytes = limit as usize;
        } else {
            f.error(
                "server.max_message_bytes",
                span,
                format!(
                    "{limit} is outside {}..={} bytes",
                    MESSAGE_LIMITS.start(),
                    MESSAGE_LIMITS.end()
                ),
            );
        }
    }
    if let Some(drain) = raw.drain_seconds {
        let span = drain.span();
        match u64::try_from(drain.into_inner()) {
            Ok(secs) if secs <= 3600 => server.drain_seconds = secs,
            _ => f.error(
                "server.drain_seconds",
                span,
                "drain_seconds must be in 0..=3600",
            ),
        }
    }
    if let Some(dir) = raw.events_dir {
        let span = dir.span();
        if dir.get_ref().trim().is_empty() {
            f.error("server.events_dir", span, "the events directory is empty");
        } else {
            server.events_dir = PathBuf::from(dir.into_inner());
        }
    }
    server
}

/// Resolves `env:NAME` to the variable's value.
fn secret(f: &mut Findings<'_>, field: &str, value: Option<Spanned<String>>) -> Option<String> {
    let value = value?;
    let span = value.span();
    let text = value.into_inner();
    let resolved = match text.strip_prefix("env:") {
        Some(name) => match std::env::var(name.trim()) {
            Ok(v) => v,
            Err(_) => {
                f.error(
                    field,
                    span,
                    format!("the environment variable {} is not set", name.trim()),
                );
                return None;
            }
        },
        None => text,
    };
    if resolved.trim().is_empty() {
        f.error(field, span, "the secret is empty");
        return None;
    }
    Some(resolved)
}

fn provider_settings(
    raw: Option<Spanned<BTreeMap<String, RawProvider>>>,
    f: &mut Findings<'_>,
) -> BTreeMap<String, ProviderSettings> {
    let mut out = BTreeMap::new();
    let Some(raw) = raw else {
        return out;
    };
    let span = raw.span();
    for (name, p) in raw.into_inner() {
        if !crate::telephony::PROVIDERS.contains(&name.as_str()) {
            f.error(
                &format!("providers.{name}"),
                span.clone(),
                format!(
                    "unknown provider; known: {}",
                    crate::telephony::PROVIDERS.join(", ")
                ),
            );
            continue;
        }
        let auth_token = secret(f, &format!("providers.{name}.auth_token"), p.auth_token);
        let stream_token = secret(f, &format!("providers.{name}.stream_token"), p.stream_token);
        let sid_span = p.account_sid.as_ref().map(|s| s.span());
        let account_sid = secret(f, &format!("providers.{name}.account_sid"), p.account_sid);
        if let (Some(sid), Some(span)) = (&account_sid, sid_span) {
            if name == "twilio" && !crate::dialing::twilio::is_sid(sid, "AC") {
                f.error(
                    "providers.twilio.account_sid",
                    span,
                    "a Twilio account SID is AC followed by 32 hex digits",
                );
            }
        }
        let api_base = p.api_base.and_then(|b| {
            let url = b.get_ref().trim().trim_end_matches('/').to_string();
            if url.starts_with("http://") || url.starts_with("https://") {
                Some(url)
            } else {
                f.error(
                    &format!("providers.{name}.api_base"),
                    b.span(),
                    format!("{:?} is not an http(s) URL", b.get_ref()),
                );
                None
            }
        });
        let api_key = secret(f, &format!("providers.{name}.api_key"), p.api_key);
        let auth_id = secret(f, &format!("providers.{name}.auth_id"), p.auth_id);
        let key_span = p.public_key.as_ref().map(|k| k.span());
        let public_key = secret(f, &format!("providers.{name}.public_key"), p.public_key);
        if let (Some(key), Some(span)) = (&public_key, key_span) {
            if !crate::telephony::signing::is_ed25519_public_key(key) {
                f.error(
                    &format!("providers.{name}.public_key"),
                    span,
                    "not an Ed25519 public key (32 bytes, base64) as the Telnyx portal shows it",
                );
            }
        }
        out.insert(
            name,
            ProviderSettings {
                auth_token,
                stream_token,
                account_sid,
                api_base,
                api_key,
                auth_id,
                public_key,
            },
        );
    }
    out
}

/// Collects issues with positions resolved against the source text.
struct Findings<'a> {
    text: &'a str,
    errors: Vec<ConfigIssue>,
    warnings: Vec<ConfigIssue>,
}

impl Findings<'_> {
    fn place(&self, span: Range<usize>) -> (usize, usize) {
        let upto = &self.text[..span.start.min(self.text.len())];
        let line = upto.matches('\n').count() + 1;
        let column = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    fn issue(&self, field: &str, span: Range<usize>, message: String) -> ConfigIssue {
        let (line, column) = self.place(span);
        ConfigIssue {
            field: field.to_string(),
            line,
            column,
            message,
        }
    }

    fn error(&mut self, field: &str, span: Range<usize>, message: impl Into<String>) {
        let issue = self.issue(field, span, message.into());
        self.errors.push(issue);
    }

    fn warn(&mut self, field: &str, span: Range<usize>, message: impl Into<String>) {
        let issue = self.issue(field, span, message.into());
        self.warnings.push(issue);
    }
}

/// True for an E.164 number: `+`, a non-zero first digit, 7 to 15 digits in all.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The id a topic gets from its text when none is given: lower-case words joined by `_`.
pub fn topic_id_from_text(text: &str) -> String {
    let mut id = String::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !id.is_empty() {
            id.push('_');
        }
        id.extend(word.chars().flat_map(char::to_lowercase));
        if id.len() >= 48 {
            break;
        }
    }
    id
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn is_recipient(r: &str) -> bool {
    if let Some(rest) = r
        .strip_prefix("https://")
        .or_else(|| r.strip_prefix("http://"))
    {
        return !rest.is_empty() && !rest.contains(char::is_whitespace);
    }
    match r.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !r.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// Parses and validates config text; `origin` names it in messages.
pub fn parse(text: &str, origin: &str) -> Result<Loaded, ConfigError> {
    let raw: Raw = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: origin.to_string(),
        // toml's message already carries the line, column and the offending source line.
        message: e.to_string().trim_end().to_string(),
    })?;
    let mut f = Findings {
        text,
        errors: Vec::new(),
        warnings: Vec::new(),
    };

    // [agent]
    let name = raw.agent.name.get_ref().trim().to_string();
    if name.is_empty() {
        f.error(
            "agent.name",
            raw.agent.name.span(),
            "the agent needs a name",
        );
    }
    let phone = raw.agent.phone_number.get_ref().trim().to_string();
    if !is_e164(&phone) {
        f.error(
            "agent.phone_number",
            raw.agent.phone_number.span(),
            format!("{phone:?} is not an E.164 number (+, country code, number: 7 to 15 digits)"),
        );
    }
    let language = match &raw.agent.language {
        Some(l) if l.get_ref() != "en" => {
            let why = if crate::language::DIALOG_LANGUAGES.contains(&l.get_ref().as_str()) {
                "speech recognition (tiny.en) and topic matching are English only; its dialog prompts \
                 exist (prompts/{l}) and can be used through agent.prompts"
            } else {
                "no prompts for it"
            };
            f.error(
                "agent.language",
                l.span(),
                format!(
                    "{:?} cannot run calls yet: {}; supported: \"en\"",
                    l.get_ref(),
                    why.replace("{l}", l.get_ref())
                ),
            );
            l.get_ref().clone()
        }
        _ => "en".to_string(),
    };
    let timezone = match &raw.agent.timezone {
        None => {
            f.warn(
                "agent.timezone",
                raw.agent.name.span(),
                "no timezone: callback times (\"tomorrow after 3 pm\") are read in UTC",
            );
            chrono_tz::UTC
        }
        Some(tz) => match tz.get_ref().trim().parse::<chrono_tz::Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                f.error(
                    "agent.timezone",
                    tz.span(),
                    format!(
                        "{:?} is not an IANA time zone such as \"America/New_York\"",
                        tz.get_ref()
                    ),
                );
                chrono_tz::UTC
            }
        },
    };
    let prompts_dir = raw.agent.prompts.as_ref().and_then(|p| {
        let dir = PathBuf::from(p.get_ref().trim());
        match crate::language::Phrasebook::from_dir(&dir) {
            Ok(_) => Some(dir),
            Err(e) => {
                f.error("agent.prompts", p.span(), e.to_string());
                None
            }
        }
    });
    let support = *raw.agent.support.get_ref();
    let support_span = raw.agent.support.span();

    // [escalation]
    let (mut escalation_raw, esc_span) = match raw.escalation {
        Some(e) => {
            let span = e.span();
            (Some(e.into_inner()), span)
        }
        None => (None, 0..0),
    };
    let ring = escalation_raw
        .as_mut()
        .and_then(|e| e.ring.take())
        .unwrap_or_default();
    let (transfer_number, contextual_summary, esc_topics_raw, targets_raw, ring_raw, hours_raw) =
        match escalation_raw {
            Some(e) => (
                e.transfer_number,
                e.contextual_summary,
                e.mandatory_topics,
                e.targets,
                e.ring_seconds,
                e.hours,
            ),
            None => (None, true, Vec::new(), Vec::new(), None, None),
        };
    let transfer_number_checked = |f: &mut Findings<'_>, field: &str, t: &Spanned<String>| {
        let number = t.get_ref().trim().to_string();
        if !is_e164(&number) {
            f.error(
                field,
                t.span(),
                format!(
                    "{number:?} is not an E.164 number (+, country code, number: 7 to 15 digits)"
                ),
            );
        } else if number == phone {
            f.error(
                field,
                t.span(),
                format!("{number} is the agent's own number (agent.phone_number): a transfer would ring the agent and the caller would be lost"),
            );
        }
        number
    };
    let transfer_number =
        transfer_number.map(|t| transfer_number_checked(&mut f, "escalation.transfer_number", &t));
    let mut targets: Vec<TransferTarget> = transfer_number
        .iter()
        .map(|n| TransferTarget {
            number: n.clone(),
            name: None,
            topics: Vec::new(),
        })
        .collect();
    let mut target_topics = Vec::new();
    for (i, t) in targets_raw.into_iter().enumerate() {
        let t = t.into_inner();
        let field = format!("escalation.targets[{i}]");
        let number = transfer_number_checked(&mut f, &format!("{field}.number"), &t.number);
        for topic in &t.topics {
            target_topics.push((format!("{field}.topics"), topic.clone()));
        }
        targets.push(TransferTarget {
            number,
            name: t.name.filter(|n| !n.trim().is_empty()),
            topics: t.topics.into_iter().map(|t| t.into_inner()).collect(),
        });
    }
    if targets.is_empty() && matches!(support, SupportMode::Escalate | SupportMode::Decide) {
        let span = if esc_span.is_empty() {
            support_span.clone()
        } else {
            esc_span.clone()
        };
        f.error(
            "escalation.transfer_number",
            span,
            format!(
                "support = \"{}\" escalates calls but no transfer_number (or targets) is set: escalated callers would have nowhere to go",
                support.as_str()
            ),
        );
    }
    let transfer_number = transfer_number.or_else(|| {
        targets
            .iter()
            .find(|t| t.topics.is_empty())
            .or(targets.first())
            .map(|t| t.number.clone())
    });
    let ring_seconds = match ring_raw {
        None => DEFAULT_RING_SECONDS,
        Some(r) => match u32::try_from(*r.get_ref()) {
            Ok(secs) if (5..=120).contains(&secs) => secs,
            _ => {
                f.error(
                    "escalation.ring_seconds",
                    r.span(),
                    format!("{} is out of range 5..=120", r.get_ref()),
                );
                DEFAULT_RING_SECONDS
            }
        },
    };
    let hours = hours_raw.map(|h| business_hours(&mut f, h));

    let mut seen_ids: HashMap<String, (String, usize, usize)> = HashMap::new();
    let mut triage = BTreeMap::new();
    let escalation_topics = topics(
        &mut f,
        &mut seen_ids,
        "escalation.mandatory_topics",
        esc_topics_raw,
        TopicKind::Escalation,
        &mut triage,
    );

    for (field, topic) in target_topics {
        if !escalation_topics.iter().any(|t| &t.id == topic.get_ref()) {
            f.error(
                &field,
                topic.span(),
                format!(
                    "{:?} is not an escalation topic id; known: {}",
                    topic.get_ref(),
                    escalation_topics
                        .iter()
                        .map(|t| t.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }

    // [callback]
    let mut dialog = DialogSettings::default();
    let (fields_raw, cb_topics_raw) = match raw.callback {
        Some(c) => {
            let mut bounded =
                |name: &str, value: Option<Spanned<i64>>, range: std::ops::RangeInclusive<i64>| {
                    let v = value?;
                    if range.contains(v.get_ref()) {
                        Some(*v.get_ref() as u64)
                    } else {
                        f.error(
                            &format!("callback.{name}"),
                            v.span(),
                            format!(
                                "{} is out of range {}..={}",
                                v.get_ref(),
                                range.start(),
                                range.end()
                            ),
                        );
                        None
                    }
                };
            if let Some(r) = bounded("retries", c.retries, 0..=5) {
                dialog.retries = r as u32;
            }
            if let Some(ms) = bounded("silence_ms", c.silence_ms, 1000..=60_000) {
                dialog.silence_ms = ms;
            }
            if let Some(ms) = bounded("keypad_timeout_ms", c.keypad_timeout_ms, 500..=30_000) {
                dialog.keypad_timeout_ms = ms;
            }
            (c.extra_fields, c.mandatory_topics)
        }
        None => (Vec::new(), Vec::new()),
    };
    let callback_topics = topics(
        &mut f,
        &mut seen_ids,
        "callback.mandatory_topics",
        cb_topics_raw,
        TopicKind::Callback,
        &mut triage,
    );
    let extra_fields = fields(&mut f, fields_raw);

    let routing = routing::routing(&mut f, raw.routing);
    let support_tokens = support::support(&mut f, raw.support);

    let speech = speech_settings(&mut f, raw.speech);
    let summary = summary_settings(&mut f, raw.summary);

    let tickets_database = match raw.tickets {
        Some(t) => {
            let span = t.database.span();
            match secret(&mut f, "tickets.database", Some(t.database)) {
                Some(text) => {
                    let db = Database::parse(&text);
                    if let Database::Postgres(url) = &db {
                        if url::Url::parse(url).map_or(true, |u| u.host_str().is_none()) {
                            f.error(
                                "tickets.database",
                                span,
                                "not a PostgreSQL URL: postgres://user:password@host:5432/database",
                            );
                        }
                    }
                    db
                }
                None => Database::Sqlite(PathBuf::new()),
            }
        }
        None => Database::Sqlite(PathBuf::from("switchboard.db")),
    };

    let vad = match raw.vad {
        Some(v) => {
            let span = v.span();
            let v = v.into_inner();
            if !(0.0..=1.0).contains(&v.threshold) || !(0.0..=1.0).contains(&v.neg_threshold) {
                f.error("vad", span.clone(), "thresholds are probabilities in 0..1");
            } else if v.neg_threshold > v.threshold {
                f.error(
                    "vad.neg_threshold",
                    span.clone(),
                    "neg_threshold must not exceed threshold",
                );
            }
            if v.min_silence_ms == 0 || v.max_speech_ms < 1000 {
                f.error(
                    "vad",
                    span.clone(),
                    "min_silence_ms must be > 0 and max_speech_ms at least 1000",
                );
            }
            if v.barge_in_ms == 0 || v.barge_in_ms > 2000 {
                f.error(
                    "vad.barge_in_ms",
                    span,
                    "barge_in_ms must be in 1..=2000 (ms of caller voice that stop the agent)",
                );
            }
            v
        }
        None => VadSettings::default(),
    };

    let matching = match raw.matching {
        Some(m) => {
            let span = m.span();
            let m = m.into_inner();
            if m.threshold.is_some_and(|t| !(t > 0.0 && t <= 1.0)) {
                f.error(
                    "matching.threshold",
                    span.clone(),
                    "threshold is a confidence in (0, 1]",
                );
            }
            if !(m.partial_confidence > 0.0 && m.partial_confidence <= 1.0) {
                f.error(
                    "matching.partial_confidence",
                    span.clone(),
                    "partial_confidence is a confidence in (0, 1]",
                );
            }
            if m.ordinary.iter().any(|o| o.trim().is_empty()) {
                f.error("matching.ordinary", span, "an ordinary request is empty");
            }
            m
        }
        None => MatchingSettings::default(),
    };

    let server = server_settings(raw.server, &mut f);
    let providers = provider_settings(raw.providers, &mut f);

    // Warnings: configuration that loads but would never act.
    match support {
        SupportMode::Escalate if !callback_topics.is_empty() => f.warn(
            "callback.mandatory_topics",
            support_span.clone(),
            "support = \"escalate\": callback topics are reported but never flag a call (use \"decide\" to act on both lists)",
        ),
        SupportMode::Flag if !escalation_topics.is_empty() => f.warn(
            "escalation.mandatory_topics",
            support_span.clone(),
            "support = \"flag\": escalation topics are reported but never transfer a call (use \"decide\" to act on both lists)",
        ),
        SupportMode::Off => f.warn(
            "agent.support",
            support_span.clone(),
            "support = \"off\": the agent only continues; no topic will escalate or flag",
        ),
        _ => {}
    }
    if support == SupportMode::Escalate && escalation_topics.is_empty() {
        f.warn(
            "escalation.mandatory_topics",
            support_span.clone(),
            "support = \"escalate\" but there are no mandatory escalation topics: nothing will escalate",
        );
    }
    if support == SupportMode::Flag && callback_topics.is_empty() {
        f.warn(
            "callback.mandatory_topics",
            support_span.clone(),
            "support = \"flag\" but there are no mandatory callback topics: nothing will be flagged",
        );
    }

    if !f.errors.is_empty() {
        return Err(ConfigError::Invalid {
            path: origin.to_string(),
            issues: f.errors,
        });
    }
    Ok(Loaded {
        config: AgentConfig {
            agent: Agent {
                name,
                phone_number: phone,
                language,
                support,
                timezone,
                prompts: prompts_dir,
            },
            escalation: Escalation {
                transfer_number,
                targets,
                contextual_summary,
                mandatory_topics: escalation_topics,
                ring_seconds,
                ring,
                hours,
            },
            callback: Callback {
                extra_fields,
                mandatory_topics: callback_topics,
                dialog,
            },
            routing,
            support_tokens,
            tickets_database,
            triage,
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

fn topics(
    f: &mut Findings,
    seen: &mut HashMap<String, (String, usize, usize)>,
    list: &str,
    raw: Vec<Spanned<toml::Value>>,
    kind: TopicKind,
    triage: &mut BTreeMap<String, Triage>,
) -> Vec<MandatoryTopic> {
    let mut out = Vec::new();
    for (i, entry) in raw.into_iter().enumerate() {
        let field = format!("{list}[{i}]");
        let span = entry.span();
        let mut own = Triage::default();
        let topic = match entry.into_inner() {
            toml::Value::String(text) => Some((None, text, Vec::new(), None)),
            toml::Value::Table(mut table) => {
                let mut take_str = |key: &str| match table.remove(key) {
                    Some(toml::Value::String(s)) => Ok(Some(s)),
                    Some(other) => Err(format!(
                        "`{key}` must be a string, not {}",
                        other.type_str()
                    )),
                    None => Ok(None),
                };
                let id = take_str("id");
                let text = take_str("text");
                let examples = match table.remove("examples") {
                    None => Ok(Vec::new()),
                    Some(toml::Value::Array(items)) => items
                        .into_iter()
                        .map(|v| match v {
                            toml::Value::String(s) if !s.trim().is_empty() => Ok(s),
                            toml::Value::String(_) => Err("an example is empty".to_string()),
                            other => Err(format!(
                                "examples must be strings, found {}",
                                other.type_str()
                            )),
                        })
                        .collect(),
                    Some(other) => Err(format!(
                        "`examples` must be a list of strings, not {}",
                        other.type_str()
                    )),
                };
                let threshold = match table.remove("threshold") {
                    None => Ok(None),
                    Some(toml::Value::Float(x)) if x > 0.0 && x <= 1.0 => Ok(Some(x as f32)),
                    Some(toml::Value::Integer(1)) => Ok(Some(1.0)),
                    Some(other) => Err(format!(
                        "`threshold` must be a number in (0, 1], found {other}"
                    )),
                };
                match table.remove("category") {
                    None => {}
                    Some(toml::Value::String(c)) if Category::parse(&c).is_some() => {
                        own.category = Category::parse(&c)
                    }
                    Some(other) => f.error(
                        &format!("{field}.category"),
                        span.clone(),
                        format!("`category` is one of service, accounting, other, not {other}"),
                    ),
                }
                match table.remove("priority") {
                    None => {}
                    Some(toml::Value::String(p)) if Priority::parse(&p).is_some() => {
                        own.priority = Priority::parse(&p)
                    }
                    Some(other) => f.error(
                        &format!("{field}.priority"),
                        span.clone(),
                        format!("`priority` is one of low, normal, high, urgent, not {other}"),
                    ),
                }
                let unknown: Vec<String> = table.keys().cloned().collect();
                match (id, text, examples, threshold) {
                    _ if !unknown.is_empty() => {
                        f.error(
                            &field,
                            span.clone(),
                            format!(
                                "unknown key(s) {}; a topic has id, text, examples, threshold, category, priority",
                                unknown.join(", ")
                            ),
                        );
                        None
                    }
                    (Ok(id), Ok(Some(text)), Ok(examples), Ok(threshold)) => {
                        Some((id, text, examples, threshold))
                    }
                    (Ok(_), Ok(None), _, _) => {
                        f.error(&field, span.clone(), "a topic table needs `text`");
                        None
                    }
                    (id, text, examples, threshold) => {
                        for e in [id.err(), text.err(), examples.err(), threshold.err()]
                            .into_iter()
                            .flatten()
                        {
                            f.error(&field, span.clone(), e);
                        }
                        None
                    }
                }
            }
            other => {
                f.error(
                    &field,
                    span.clone(),
                    format!(
                        "a topic is a string or a table {{ id, text, examples, threshold }}, not {}",
                        other.type_str()
                    ),
                );
                None
            }
        };
        let Some((id, text, examples, threshold)) = topic else {
            continue;
        };
        let text = text.trim().to_string();
        if text.is_empty() {
            f.error(&field, span.clone(), "the topic text is empty");
            continue;
        }
        let id = id.unwrap_or_else(|| topic_id_from_text(&text));
        if !valid_id(&id) {
            f.error(
                &format!("{field}.id"),
                span.clone(),
                format!("topic id {id:?} may only hold a-z, 0-9, _ and -"),
            );
            continue;
        }
        let (line, column) = f.place(span.clone());
        if let Some((other, l, c)) = seen.get(&id) {
            f.error(
                &format!("{field}.id"),
                span.clone(),
                format!(
                    "duplicate topic id {id:?}: {other} (line {l}, column {c}) has it too; hits could not be told apart"
                ),
            );
            continue;
        }
        seen.insert(id.clone(), (field.clone(), line, column));
        triage.insert(id.clone(), own);
        out.push(MandatoryTopic {
            id,
            text,
            examples,
            threshold,
            kind,
        });
    }
    out
}

fn fields(f: &mut Findings, raw: Vec<Spanned<RawField>>) -> Vec<CallbackField> {
    let mut out: Vec<CallbackField> = Vec::new();
    for (i, entry) in raw.into_iter().enumerate() {
        let field = format!("callback.extra_fields[{i}]");
        let r = entry.into_inner();
        let name = r.name.get_ref().trim().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            f.error(
                &format!("{field}.name"),
                r.name.span(),
                format!("field name {name:?} must be non-empty lower-case a-z, 0-9 or _"),
            );
            continue;
        }
        if out.iter().any(|o| o.name == name) {
            f.error(
                &format!("{field}.name"),
                r.name.span(),
                format!("duplicate field name {name:?}"),
            );
            continue;
        }
        if r.ask.get_ref().trim().is_empty() {
            f.error(
                &format!("{field}.ask"),
                r.ask.span(),
                "the question to ask is empty",
            );
            continue;
        }
        let kind = match &r.kind {
            None => FieldType::Text,
            Some(k) => match FieldType::ALL.iter().find(|(n, _)| n == k.get_ref()) {
                Some((_, t)) => *t,
                None => {
                    let allowed: Vec<_> = FieldType::ALL.iter().map(|(n, _)| *n).collect();
                    f.error(
                        &format!("{field}.type"),
                        k.span(),
                        format!(
                            "unknown field type {:?}; one of {}",
                            k.get_ref(),
                            allowed.join(", ")
                        ),
                    );
                    continue;
                }
            },
        };
        let options: Vec<String> = r
            .options
            .as_ref()
            .map(|o| o.get_ref().iter().map(|s| s.trim().to_string()).collect())
            .unwrap_or_default();
        match (&r.options, kind) {
            (None, FieldType::Choice) => {
                f.error(
                    &format!("{field}.options"),
                    r.name.span(),
                    "a choice field needs `options`, e.g. options = [\"billing\", \"technical\"]",
                );
                continue;
            }
            (Some(o), FieldType::Choice)
                if options.len() < 2
                    || options.len() > 9
                    || options.iter().any(String::is_empty) =>
            {
                f.error(
                    &format!("{field}.options"),
                    o.span(),
                    "a choice needs 2 to 9 non-empty options (keys 1 to 9 pick them)",
                );
                continue;
            }
            (Some(o), t) if t != FieldType::Choice => {
                f.error(
                    &format!("{field}.options"),
                    o.span(),
                    "only a `choice` field has options",
                );
                continue;
            }
            _ => {}
        }
        out.push(CallbackField {
            name,
            ask: r.ask.into_inner().trim().to_string(),
            kind,
            required: r.required,
            options,
            confirm: r.confirm.unwrap_or(kind.confirms_by_default()),
        });
    }
    out
}

/// Checks `[speech]`: the engine and, for `http`, where and how to reach it.
fn speech_settings(f: &mut Findings<'_>, raw: Option<Spanned<RawSpeech>>) -> SpeechSettings {
    let Some(raw) = raw else {
        return SpeechSettings::Piper;
    };
    let section = raw.span();
    let raw = raw.into_inner();
    let engine = raw
        .engine
        .as_ref()
        .map_or_else(|| "piper".to_string(), |e| e.get_ref().clone());
    let http_only = [
        ("url", raw.url.is_some()),
        ("model", raw.model.is_some()),
        ("voice", raw.voice.is_some()),
        ("api_key", raw.api_key.is_some()),
        ("timeout_ms", raw.timeout_ms.is_some()),
    ];
    match engine.as_str() {
        "piper" | "espeak" => {
            for (key, set) in http_only {
                if set {
                    f.error(
                        &format!("speech.{key}"),
                        section.clone(),
                        format!("`{key}` only applies to engine = \"http\""),
                    );
                }
            }
            if engine == "piper" {
                SpeechSettings::Piper
            } else {
                SpeechSettings::Espeak
            }
        }
        "http" => {
            let url = base_url(
                f,
                "speech.url",
                raw.url.as_ref(),
                &section,
                "engine = \"http\" needs the server's base URL, e.g. url = \"https://api.openai.com\"",
            )
            .unwrap_or_default();
            SpeechSettings::Http(HttpVoice {
                url,
                model: raw.model.unwrap_or_else(|| "tts-1".into()),
                voice: raw.voice.unwrap_or_else(|| "alloy".into()),
                api_key: secret(f, "speech.api_key", raw.api_key),
                timeout_ms: raw.timeout_ms.unwrap_or(10_000),
            })
        }
        other => {
            let span = raw.engine.map_or(section, |e| e.span());
            f.error(
                "speech.engine",
                span,
                format!("unknown speech engine {other:?}; one of piper, espeak, http"),
            );
            SpeechSettings::Piper
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164() {
        assert!(is_e164("+15550100000"));
        assert!(is_e164("+34600000000"));
        assert!(!is_e164("15550100000"));
        assert!(!is_e164("+0555010000"));
        assert!(!is_e164("+1555"));
        assert!(!is_e164("+1 555 010 0000"));
        assert!(!is_e164("+1234567890123456"));
    }

    #[test]
    fn ids_from_text() {
        assert_eq!(
            topic_id_from_text("Customer dissatisfied with the service"),
            "customer_dissatisfied_with_the_service"
        );
        assert_eq!(topic_id_from_text("Formal complaint!"), "formal_complaint");
    }
}
