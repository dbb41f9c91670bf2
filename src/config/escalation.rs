//! `[escalation]`: where escalated calls are transferred (targets in order, per topic, ring order and
//! time), when people take them (`[escalation.hours]`), and the escalation topic list. The agent's own
//! number and support mode come from `[agent]`; the topics are read by `topics.rs`.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::agent::{Agent, SupportMode};
use super::checks::is_e164;
use super::topics::TopicLists;
use super::Findings;
use crate::topics::{MandatoryTopic, TopicKind};

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
    pub hours: Option<super::hours::BusinessHours>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEscalation {
    #[serde(default)]
    transfer_number: Option<Spanned<String>>,
    #[serde(default = "super::yes")]
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

/// How long a transfer target rings before the next is tried, unless `ring_seconds` says otherwise.
const DEFAULT_RING_SECONDS: u32 = 20;

/// `[escalation.hours]`: one window list per weekday and the closed dates.
fn business_hours(f: &mut Findings<'_>, raw: Spanned<RawHours>) -> super::hours::BusinessHours {
    use super::hours::{parse_windows, BusinessHours, DAYS};
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

/// Checks `[escalation]`: each number (E.164, not the agent's own), that an escalating agent has somewhere
/// to send callers, the ring time and hours, the topics, and that targets name only known topics.
pub(super) fn escalation(
    f: &mut Findings<'_>,
    raw: Option<Spanned<RawEscalation>>,
    agent: &Agent,
    support_span: &Range<usize>,
    topics: &mut TopicLists,
) -> Escalation {
    let phone = agent.phone_number.as_str();
    let support = agent.support;
    let (mut escalation_raw, esc_span) = match raw {
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
        transfer_number.map(|t| transfer_number_checked(f, "escalation.transfer_number", &t));
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
        let number = transfer_number_checked(f, &format!("{field}.number"), &t.number);
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
    let hours = hours_raw.map(|h| business_hours(f, h));
    let escalation_topics = topics.read(
        f,
        "escalation.mandatory_topics",
        esc_topics_raw,
        TopicKind::Escalation,
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
    Escalation {
        transfer_number,
        targets,
        contextual_summary,
        mandatory_topics: escalation_topics,
        ring_seconds,
        ring,
        hours,
    }
}
