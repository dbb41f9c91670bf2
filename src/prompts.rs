//! Every sentence the agent speaks and every template it writes, loaded from `prompts/<language>/`.
//!
//! The English files are compiled in so the binary works from anywhere; the text stays data, editable in
//! `prompts/`, never string literals in the code.

use std::collections::HashMap;

use serde::Deserialize;

use crate::topics::calibration::Calibration;
use crate::topics::phrasing::{Describe, Inquiry, Negation};
use crate::topics::{MandatoryTopic, TopicKind};

const EN_PROMPTS: &str = include_str!("../prompts/en/prompts.toml");
const EN_LEXICON: &str = include_str!("../prompts/en/lexicon.toml");
const EN_TOPICS: &str = include_str!("../prompts/en/topics.toml");
const EN_MATCHER: &str = include_str!("../prompts/en/matcher.toml");
const EN_FIELDS: &str = include_str!("../prompts/en/fields.toml");

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("no prompts for language {0:?} (available: en)")]
    Language(String),
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackPrompts {
    pub intro: String,
    pub promise: String,
    pub not_heard: String,
    pub hung_up: String,
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
    pub caller: CallerPrompts,
}

/// Vocabulary of the lexical matcher (`prompts/<lang>/lexicon.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lexicon {
    pub concepts: HashMap<String, Vec<String>>,
    pub filler: Vec<String>,
    pub stop: Vec<String>,
    pub positive: Vec<String>,
    pub negation: Vec<String>,
}

/// `prompts/<lang>/matcher.toml`: how the semantic matcher reads the language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatcherPack {
    pub describe: Describe,
    pub negation: Negation,
    pub inquiry: Inquiry,
    pub ordinary: OrdinaryRequests,
    pub calibration: Calibration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdinaryRequests {
    pub requests: Vec<String>,
}

#[derive(Deserialize)]
struct BuiltinTopics {
    topic: Vec<BuiltinTopic>,
}

#[derive(Deserialize)]
struct BuiltinTopic {
    id: String,
    text: String,
    examples: Vec<String>,
}

/// `prompts/<lang>/fields.toml`: how callers say the values the callback dialog collects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldWords {
    pub numbers: crate::call::extract::phone::NumberWords,
}

/// Everything language-specific the core needs.
#[derive(Debug, Clone)]
pub struct Language {
    pub prompts: Prompts,
    pub lexicon: Lexicon,
    pub matcher: MatcherPack,
    pub fields: FieldWords,
    /// The built-in "caller asks for a person" topic used by `support = "decide"`.
    pub person_request: MandatoryTopic,
}

impl Language {
    pub fn load(code: &str) -> Result<Self, PromptError> {
        if code != "en" {
            return Err(PromptError::Language(code.to_string()));
        }
        let invalid = |file, e: toml::de::Error| PromptError::Invalid {
            language: code.to_string(),
            file,
            reason: e.to_string(),
        };
        let prompts: Prompts =
            toml::from_str(EN_PROMPTS).map_err(|e| invalid("prompts.toml", e))?;
        let lexicon: Lexicon =
            toml::from_str(EN_LEXICON).map_err(|e| invalid("lexicon.toml", e))?;
        let matcher: MatcherPack =
            toml::from_str(EN_MATCHER).map_err(|e| invalid("matcher.toml", e))?;
        let fields: FieldWords =
            toml::from_str(EN_FIELDS).map_err(|e| invalid("fields.toml", e))?;
        let topics: BuiltinTopics =
            toml::from_str(EN_TOPICS).map_err(|e| invalid("topics.toml", e))?;
        let person = topics
            .topic
            .into_iter()
            .find(|t| t.id == "person_request")
            .ok_or_else(|| PromptError::Invalid {
                language: code.to_string(),
                file: "topics.toml",
                reason: "no `person_request` topic".into(),
            })?;
        Ok(Self {
            prompts,
            lexicon,
            matcher,
            fields,
            person_request: MandatoryTopic {
                id: person.id,
                text: person.text,
                examples: person.examples,
                threshold: None,
                kind: TopicKind::Escalation,
            },
        })
    }
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
    fn english_loads() {
        let en = Language::load("en").expect("english prompts");
        assert!(en.prompts.escalation.summary.contains("{topic}"));
        assert!(!en.person_request.examples.is_empty());
    }

    #[test]
    fn placeholders_fill_or_fail() {
        assert_eq!(fill("Hi {name}!", &[("name", "Jo")]).unwrap(), "Hi Jo!");
        assert!(fill("Hi {name}", &[]).is_err());
    }
}
