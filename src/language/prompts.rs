//! Every sentence the agent speaks and every template it writes (`prompts/<lang>/prompts.toml`), the checks
//! an edited copy must pass, and [`fill`], which puts a call's values into a template.
//!
//! Data and string templating only: when a sentence is said is the call core's business (`call`), how a
//! callback time is worked out is `call::extract::when`'s.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromptError {
    #[error("no prompts for language {0:?} (available: en)")]
    Language(String),
    /// A language whose dialog ships (`es`) but whose topic matching does not: calls cannot run in it.
    #[error(
        "language {0:?} has dialog prompts but no topic matching (lexicon, semantic packs and tiny.en \
         recognition are English only)"
    )]
    DialogOnly(String),
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("prompts/{language}/{file} is invalid: {reason}")]
    Invalid {
        language: String,
        file: &'static str,
        reason: String,
    },
    #[error("template {template:?} uses {{{placeholder}}} but no value was given for it")]
    Placeholder {
        template: String,
        placeholder: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPrompts {
    pub announce: String,
    pub summary: String,
    pub summary_earlier: String,
    /// `{facts}`: what the caller already told the agent.
    pub summary_facts: String,
    /// The summary's `{mood}` when the caller sounds unhappy.
    pub upset: String,
    /// Words and phrases that make a caller sound unhappy.
    pub upset_words: Vec<String>,
    /// Said when nobody took the transfer, before the callback questions.
    pub failed: String,
    /// Said outside business hours instead of transferring: `{when}`.
    pub after_hours: String,
    /// Said to whoever answers a transfer that needs a key press to bridge (Plivo).
    pub accept: String,
    /// Callback ticket note of a failed transfer: `{outcome}`, `{ticket}`.
    pub failed_note: String,
    /// Callback ticket note of an escalation outside business hours: `{when}`.
    pub after_hours_note: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackPrompts {
    pub intro: String,
    pub promise: String,
    /// The promise when the caller gave a callback time: `{time}`.
    pub promise_time: String,
    pub not_heard: String,
    pub hung_up: String,
    /// Written on an escalation ticket when the caller was transferred during the callback questions.
    pub transferred: String,
}

/// What the agent says while collecting the callback fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogPrompts {
    /// A choice question: `{ask}`, `{options}`.
    pub options: String,
    /// Joins the last option to the others ("billing, technical or other").
    pub or: String,
    /// A question the keypad can answer: `{ask}`.
    pub keypad: String,
    /// Reads an answer back: `{value}`.
    pub confirm: String,
    /// After a confirmed or accepted answer, before the next question.
    pub thanks: String,
    /// The answer could not be understood: `{ask}`.
    pub not_caught: String,
    /// A required field was declined: `{ask}`.
    pub required: String,
    /// An optional field was declined.
    pub declined: String,
    /// Silence after a question: `{ask}`.
    pub still_there: String,
    /// Retries are used up: the raw answer is kept for staff.
    pub gave_up: String,
    /// Silence again: the field is left for staff.
    pub no_answer: String,
    /// The previous answer was corrected: `{value}`.
    pub corrected: String,
    /// How a yes/no answer is read back.
    pub yes: String,
    pub no: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerPrompts {
    pub unknown: String,
    pub known: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallPrompts {
    /// Said when a live call connects.
    pub greeting: String,
    /// Said before the agent ends the call.
    pub goodbye: String,
}

/// `[time]` of `prompts/<lang>/prompts.toml`: how a callback time is said back.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimePrompts {
    pub today: String,
    pub tomorrow: String,
    /// `{weekday}`.
    pub weekday: String,
    /// Monday first.
    pub weekdays: Vec<String>,
    /// `{clock}`.
    pub at: String,
    pub after: String,
    pub before: String,
    /// `{start}`, `{end}`.
    pub between: String,
    pub now: String,
    pub any: String,
    /// `{hour}`, `{minutes}` (empty on the hour, else `minutes`), `{meridiem}`.
    pub clock: String,
    /// `{mm}`.
    pub minutes: String,
    pub am: String,
    pub pm: String,
    pub noon: String,
    pub midnight: String,
}

/// How the language is voiced by the local speech engines.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoicePrompts {
    /// The espeak-ng voice (`espeak-ng --voices` lists them).
    pub espeak: String,
}

/// The agent's sentences in one language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    pub call: CallPrompts,
    pub voice: VoicePrompts,
    pub escalation: EscalationPrompts,
    pub callback: CallbackPrompts,
    pub dialog: DialogPrompts,
    pub time: TimePrompts,
    pub caller: CallerPrompts,
}

impl Prompts {
    /// Every template with the placeholders it may use and those it must use, so a typo in an edited
    /// prompt (`{valeu}`) or a dropped placeholder fails at start instead of mid-call.
    fn templates(
        &self,
    ) -> Vec<(
        &'static str,
        &str,
        &'static [&'static str],
        &'static [&'static str],
    )> {
        let p = self;
        let none: &[&str] = &[];
        vec![
            ("call.greeting", &p.call.greeting, none, none),
            ("call.goodbye", &p.call.goodbye, none, none),
            ("escalation.announce", &p.escalation.announce, none, none),
            (
                "escalation.summary",
                &p.escalation.summary,
                &["caller", "topic", "evidence", "mood"],
                &["topic"],
            ),
            (
                "escalation.summary_facts",
                &p.escalation.summary_facts,
                &["facts"],
                &["facts"],
            ),
            ("escalation.upset", &p.escalation.upset, none, none),
            ("escalation.failed", &p.escalation.failed, none, none),
            ("escalation.accept", &p.escalation.accept, none, none),
            (
                "escalation.after_hours",
                &p.escalation.after_hours,
                &["when"],
                &["when"],
            ),
            (
                "escalation.failed_note",
                &p.escalation.failed_note,
                &["outcome", "ticket"],
                none,
            ),
            (
                "escalation.after_hours_note",
                &p.escalation.after_hours_note,
                &["when"],
                none,
            ),
            (
                "escalation.summary_earlier",
                &p.escalation.summary_earlier,
                &["earlier"],
                &["earlier"],
            ),
            ("callback.intro", &p.callback.intro, none, none),
            ("callback.promise", &p.callback.promise, none, none),
            (
                "callback.promise_time",
                &p.callback.promise_time,
                &["time"],
                &["time"],
            ),
            ("callback.not_heard", &p.callback.not_heard, none, none),
            ("callback.hung_up", &p.callback.hung_up, none, none),
            ("callback.transferred", &p.callback.transferred, none, none),
            (
                "dialog.options",
                &p.dialog.options,
                &["ask", "options"],
                &["ask", "options"],
            ),
            ("dialog.or", &p.dialog.or, none, none),
            ("dialog.keypad", &p.dialog.keypad, &["ask"], &["ask"]),
            ("dialog.confirm", &p.dialog.confirm, &["value"], &["value"]),
            ("dialog.thanks", &p.dialog.thanks, none, none),
            (
                "dialog.not_caught",
                &p.dialog.not_caught,
                &["ask"],
                &["ask"],
            ),
            ("dialog.required", &p.dialog.required, &["ask"], &["ask"]),
            ("dialog.declined", &p.dialog.declined, none, none),
            (
                "dialog.still_there",
                &p.dialog.still_there,
                &["ask"],
                &["ask"],
            ),
            ("dialog.gave_up", &p.dialog.gave_up, none, none),
            ("dialog.no_answer", &p.dialog.no_answer, none, none),
            (
                "dialog.corrected",
                &p.dialog.corrected,
                &["value"],
                &["value"],
            ),
            ("dialog.yes", &p.dialog.yes, none, none),
            ("dialog.no", &p.dialog.no, none, none),
            ("time.today", &p.time.today, none, none),
            ("time.tomorrow", &p.time.tomorrow, none, none),
            ("time.weekday", &p.time.weekday, &["weekday"], &["weekday"]),
            ("time.at", &p.time.at, &["clock"], &["clock"]),
            ("time.after", &p.time.after, &["clock"], &["clock"]),
            ("time.before", &p.time.before, &["clock"], &["clock"]),
            (
                "time.between",
                &p.time.between,
                &["start", "end"],
                &["start", "end"],
            ),
            ("time.now", &p.time.now, none, none),
            ("time.any", &p.time.any, none, none),
            (
                "time.clock",
                &p.time.clock,
                &["hour", "minutes", "meridiem"],
                &["hour"],
            ),
            ("time.minutes", &p.time.minutes, &["mm"], &["mm"]),
            ("time.am", &p.time.am, none, none),
            ("time.pm", &p.time.pm, none, none),
            ("time.noon", &p.time.noon, none, none),
            ("time.midnight", &p.time.midnight, none, none),
            ("caller.unknown", &p.caller.unknown, none, none),
            (
                "caller.known",
                &p.caller.known,
                &["number", "last_digits"],
                none,
            ),
        ]
    }

    /// Checks every template: none empty (a spoken sentence must say something), placeholders known and
    /// present.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for (name, text, allowed, required) in self.templates() {
            let used = placeholders(text);
            let spoken_empty = text.trim().is_empty() && !matches!(name, "time.minutes");
            if spoken_empty {
                problems.push(format!("{name} is empty"));
            }
            for u in &used {
                if !allowed.contains(&u.as_str()) {
                    problems.push(format!(
                        "{name} uses {{{u}}}, which is not one of {}",
                        if allowed.is_empty() {
                            "(no placeholders here)".to_string()
                        } else {
                            allowed
                                .iter()
                                .map(|a| format!("{{{a}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ));
                }
            }
            for r in required {
                if !used.iter().any(|u| u == r) {
                    problems.push(format!("{name} must contain {{{r}}}"));
                }
            }
        }
        if self.time.weekdays.len() != 7 {
            problems.push(format!(
                "time.weekdays has {} names, not 7",
                self.time.weekdays.len()
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Every sentence the agent may say verbatim (no placeholders), to render ahead of calls.
    pub fn fixed_sentences(&self) -> Vec<String> {
        [
            &self.call.greeting,
            &self.call.goodbye,
            &self.escalation.announce,
            &self.escalation.failed,
            &self.callback.intro,
            &self.callback.promise,
            &self.dialog.thanks,
            &self.dialog.declined,
            &self.dialog.gave_up,
            &self.dialog.no_answer,
        ]
        .into_iter()
        .cloned()
        .collect()
    }
}

/// The `{name}`s a template uses.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        out.push(after[..close].to_string());
        rest = &after[close + 1..];
    }
    out
}

/// Fills `{name}` placeholders; every placeholder in the template must have a value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> Result<String, PromptError> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return Ok(out);
        };
        let key = &after[..close];
        let value =
            values
                .iter()
                .find(|(k, _)| *k == key)
                .ok_or_else(|| PromptError::Placeholder {
                    template: template.to_string(),
                    placeholder: key.to_string(),
                })?;
        out.push_str(value.1);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_or_fail() {
        assert_eq!(fill("Hi {name}!", &[("name", "Jo")]).unwrap(), "Hi Jo!");
        assert!(fill("Hi {name}", &[]).is_err());
    }
}
