//! English, the one language a call runs in end to end: its dialog (`prompts.toml`, `fields.toml`) and the
//! topic matcher's packs (`lexicon.toml`, `matcher.toml`, `topics.toml`), all from `prompts/en/`.
//!
//! The files are compiled in so the binary works from anywhere; the text stays data, editable in
//! `prompts/en/`, never string literals in the code.

use super::{BuiltinTopic, Language, Lexicon, MatcherPack, Phrasebook, PromptError};

pub(super) const PROMPTS: &str = include_str!("../../prompts/en/prompts.toml");
pub(super) const FIELDS: &str = include_str!("../../prompts/en/fields.toml");
const LEXICON: &str = include_str!("../../prompts/en/lexicon.toml");
const MATCHER: &str = include_str!("../../prompts/en/matcher.toml");
const TOPICS: &str = include_str!("../../prompts/en/topics.toml");
/// The instructions the optional LLM summary is sent with (`prompts/en/summary.md`).
pub const SUMMARY_INSTRUCTIONS: &str = include_str!("../../prompts/en/summary.md");

/// `topics.toml`: the topics the language ships with.
#[derive(serde::Deserialize)]
struct BuiltinTopics {
    topic: Vec<BuiltinTopic>,
}

/// The built-in English phrasebook.
pub(super) fn phrasebook() -> Result<Phrasebook, PromptError> {
    Phrasebook::parse("en", PROMPTS, FIELDS)
}

/// English speaking `book` (the built-in phrasebook or a business's edited copy), with the matcher's packs.
pub(super) fn language(book: Phrasebook) -> Result<Language, PromptError> {
    let invalid = |file, e: toml::de::Error| PromptError::Invalid {
        language: "en".to_string(),
        file,
        reason: e.to_string(),
    };
    let Phrasebook { prompts, fields } = book;
    let lexicon: Lexicon = toml::from_str(LEXICON).map_err(|e| invalid("lexicon.toml", e))?;
    let matcher: MatcherPack = toml::from_str(MATCHER).map_err(|e| invalid("matcher.toml", e))?;
    let topics: BuiltinTopics = toml::from_str(TOPICS).map_err(|e| invalid("topics.toml", e))?;
    let person_request = topics
        .topic
        .into_iter()
        .find(|t| t.id == "person_request")
        .ok_or_else(|| PromptError::Invalid {
            language: "en".to_string(),
            file: "topics.toml",
            reason: "no `person_request` topic".into(),
        })?;
    Ok(Language {
        prompts,
        lexicon,
        matcher,
        fields,
        person_request,
    })
}
