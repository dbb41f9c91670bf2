//! The mandatory topic lists of `[escalation]` and `[callback]`: each topic's id, text, examples,
//! threshold, and the category and priority of its tickets. Ids are unique across both lists. Matching
//! them against speech is `crate::topics`'s.

use std::collections::{BTreeMap, HashMap};

use toml::Spanned;

use super::Findings;
use crate::tickets::{Category, Priority, Triage};
use crate::topics::{MandatoryTopic, TopicKind};

/// What the topic lists read so far hold: the ids taken (with where, for the duplicate message) and each
/// topic's triage. One is shared by both lists, so an id cannot be both an escalation and a callback topic.
#[derive(Default)]
pub(super) struct TopicLists {
    seen: HashMap<String, (String, usize, usize)>,
    /// Category and priority of each topic's tickets, by topic id.
    pub(super) triage: BTreeMap<String, Triage>,
}

impl TopicLists {
    /// Checks the list at `list` (`escalation.mandatory_topics`, ...), whose topics are of `kind`.
    pub(super) fn read(
        &mut self,
        f: &mut Findings<'_>,
        list: &str,
        raw: Vec<Spanned<toml::Value>>,
        kind: TopicKind,
    ) -> Vec<MandatoryTopic> {
        let Self { seen, triage } = self;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_text() {
        assert_eq!(
            topic_id_from_text("Customer dissatisfied with the service"),
            "customer_dissatisfied_with_the_service"
        );
        assert_eq!(topic_id_from_text("Formal complaint!"), "formal_complaint");
    }
}
