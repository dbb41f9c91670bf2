//! Everything language-specific, loaded from `prompts/<lang>/` by one loader per language ([`en`], `es`):
//! what the agent says ([`prompts`]), the words callers' answers are made of ([`fields`]), the lexical
//! matcher's vocabulary ([`lexicon`]) and how the semantic matcher reads the language ([`matching`]).
//!
//! Data only. The code that reads answers (`call::extract`) and matches topics (`topics`) implements its
//! behaviour on these types where it lives. This module sits below `call`, `config` and `topics`, which all
//! read it: it must not import any of them (the agent's configured language is resolved by
//! `Language::for_agent` in `config`, from the plain values [`Language::configured`] takes).

pub mod en;
mod es;
pub mod fields;
pub mod lexicon;
pub mod matching;
pub mod prompts;

use std::path::Path;

use serde::Deserialize;

pub use fields::FieldWords;
pub use lexicon::Lexicon;
pub use matching::{MatcherPack, OrdinaryRequests};
pub use prompts::{fill, placeholders, PromptError, Prompts};

/// Languages whose dialog (what the agent says and how answers are understood) ships with the binary.
pub const DIALOG_LANGUAGES: [&str; 2] = ["en", "es"];

/// What the agent says and how it understands answers, in one language: `prompts.toml` and `fields.toml`.
#[derive(Debug, Clone)]
pub struct Phrasebook {
    pub prompts: Prompts,
    pub fields: FieldWords,
}

impl Phrasebook {
    fn parse(language: &str, prompts: &str, fields: &str) -> Result<Self, PromptError> {
        let invalid = |file, reason: String| PromptError::Invalid {
            language: language.to_string(),
            file,
            reason,
        };
        let prompts: Prompts =
            toml::from_str(prompts).map_err(|e| invalid("prompts.toml", e.to_string()))?;
        prompts
            .validate()
            .map_err(|reason| invalid("prompts.toml", reason))?;
        let fields: FieldWords =
            toml::from_str(fields).map_err(|e| invalid("fields.toml", e.to_string()))?;
        fields
            .check()
            .map_err(|reason| invalid("fields.toml", reason))?;
        Ok(Self { prompts, fields })
    }

    /// The built-in phrasebook of `code` (`en`, `es`).
    pub fn builtin(code: &str) -> Result<Self, PromptError> {
        match code {
            "en" => en::phrasebook(),
            "es" => es::phrasebook(),
            other => Err(PromptError::Language(other.to_string())),
        }
    }

    /// A business's own edited copy: `dir/prompts.toml` and `dir/fields.toml`, each complete.
    pub fn from_dir(dir: &Path) -> Result<Self, PromptError> {
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path).map_err(|e| PromptError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        };
        let language = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Self::parse(&language, &read("prompts.toml")?, &read("fields.toml")?)
    }
}

/// A topic a language ships with (`prompts/<lang>/topics.toml`). `topics` turns it into an escalation
/// topic; it is plain data here so that this module need not know what a topic is.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BuiltinTopic {
    pub id: String,
    pub text: String,
    pub examples: Vec<String>,
}

/// Everything language-specific the core needs.
#[derive(Debug, Clone)]
pub struct Language {
    pub prompts: Prompts,
    pub lexicon: Lexicon,
    pub matcher: MatcherPack,
    pub fields: FieldWords,
    /// The built-in "caller asks for a person" topic used by `support = "decide"`.
    pub person_request: BuiltinTopic,
}

impl Language {
    /// The built-in language `code`: its phrasebook and the packs of the topic matcher.
    pub fn load(code: &str) -> Result<Self, PromptError> {
        let book = Phrasebook::builtin(code)?;
        Self::with_phrasebook(code, book)
    }

    /// The language `code`, speaking the business's own prompts from `prompts` when given (else the
    /// built-in phrasebook).
    pub fn configured(code: &str, prompts: Option<&Path>) -> Result<Self, PromptError> {
        match prompts {
            Some(dir) => Self::with_phrasebook(code, Phrasebook::from_dir(dir)?),
            None => Self::load(code),
        }
    }

    /// The language `code` speaking `book` (a business's edited prompts). Only English has the topic
    /// matcher's packs: a dialog-only language is refused, as is one with no data at all.
    pub fn with_phrasebook(code: &str, book: Phrasebook) -> Result<Self, PromptError> {
        match code {
            "en" => en::language(book),
            dialog_only if DIALOG_LANGUAGES.contains(&dialog_only) => {
                Err(PromptError::DialogOnly(dialog_only.to_string()))
            }
            other => Err(PromptError::Language(other.to_string())),
        }
    }
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
    fn every_dialog_language_loads_and_validates() {
        for code in DIALOG_LANGUAGES {
            let book = Phrasebook::builtin(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert!(!book.prompts.fixed_sentences().is_empty());
        }
    }

    #[test]
    fn only_english_runs_calls() {
        assert_eq!(
            Language::load("es").unwrap_err(),
            PromptError::DialogOnly("es".into())
        );
        assert_eq!(
            Language::load("fr").unwrap_err(),
            PromptError::Language("fr".into())
        );
    }

    #[test]
    fn edited_prompts_are_checked() {
        let mut p = Phrasebook::builtin("en").unwrap().prompts;
        p.dialog.confirm = "I have {valeu}. Right?".into();
        let err = p.validate().unwrap_err();
        assert!(err.contains("dialog.confirm uses {valeu}"), "{err}");
        assert!(err.contains("dialog.confirm must contain {value}"), "{err}");
        let missing = en::PROMPTS.replace("goodbye =", "# goodbye =");
        let err = Phrasebook::parse("en", &missing, en::FIELDS).unwrap_err();
        assert!(err.to_string().contains("goodbye"), "{err}");
    }
}
