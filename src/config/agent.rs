//! `[agent]`: who the agent is (its name and number, language, time zone, prompts) and how it hands callers
//! over to people (`support`). The support mode is read by the other sections (escalation needs a target
//! when it transfers), and it warns about topic lists it would never act on; this file does not read those
//! lists' own sections.

use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::checks::is_e164;
use super::Findings;
use crate::topics::MandatoryTopic;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgent {
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

/// Checks `[agent]`; also gives the place of `support`, which the messages about what it decides point at.
pub(super) fn agent(f: &mut Findings<'_>, raw: RawAgent) -> (Agent, Range<usize>) {
    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        f.error("agent.name", raw.name.span(), "the agent needs a name");
    }
    let phone = raw.phone_number.get_ref().trim().to_string();
    if !is_e164(&phone) {
        f.error(
            "agent.phone_number",
            raw.phone_number.span(),
            format!("{phone:?} is not an E.164 number (+, country code, number: 7 to 15 digits)"),
        );
    }
    let language = match &raw.language {
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
    let timezone = match &raw.timezone {
        None => {
            f.warn(
                "agent.timezone",
                raw.name.span(),
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
    let prompts_dir = raw.prompts.as_ref().and_then(|p| {
        let dir = PathBuf::from(p.get_ref().trim());
        match crate::language::Phrasebook::from_dir(&dir) {
            Ok(_) => Some(dir),
            Err(e) => {
                f.error("agent.prompts", p.span(), e.to_string());
                None
            }
        }
    });
    let support = *raw.support.get_ref();
    let support_span = raw.support.span();
    (
        Agent {
            name,
            phone_number: phone,
            language,
            support,
            timezone,
            prompts: prompts_dir,
        },
        support_span,
    )
}

/// Warns about configuration that loads but would never act: topic lists the support mode ignores, or a
/// mode with nothing to act on.
pub(super) fn support_warnings(
    f: &mut Findings<'_>,
    support: SupportMode,
    support_span: &Range<usize>,
    escalation_topics: &[MandatoryTopic],
    callback_topics: &[MandatoryTopic],
) {
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
}
