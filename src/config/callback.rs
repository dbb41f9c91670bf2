//! `[callback]`: the extra fields the agent asks before filing a callback ticket, the callback topic list,
//! and how the callback dialog waits and retries. The topics themselves are read by `topics.rs`; the
//! dialog that asks the fields lives in the call core, not here.

use serde::Deserialize;
use toml::Spanned;

use super::topics::TopicLists;
use super::Findings;
use crate::topics::{MandatoryTopic, TopicKind};

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

#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    pub extra_fields: Vec<CallbackField>,
    pub mandatory_topics: Vec<MandatoryTopic>,
    pub dialog: DialogSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCallback {
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
    #[serde(default = "super::yes")]
    required: bool,
    #[serde(default)]
    options: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    confirm: Option<bool>,
}

/// Checks `[callback]`: the dialog's bounds, then its topics (ids shared with the escalation list), then its
/// fields.
pub(super) fn callback(
    f: &mut Findings<'_>,
    raw: Option<RawCallback>,
    topics: &mut TopicLists,
) -> Callback {
    let mut dialog = DialogSettings::default();
    let (fields_raw, cb_topics_raw) = match raw {
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
    let callback_topics = topics.read(
        f,
        "callback.mandatory_topics",
        cb_topics_raw,
        TopicKind::Callback,
    );
    let extra_fields = fields(f, fields_raw);
    Callback {
        extra_fields,
        mandatory_topics: callback_topics,
        dialog,
    }
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
