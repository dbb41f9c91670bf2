//! Spanish: a complete dialog (`prompts/es/prompts.toml`, `fields.toml`). It has no topic matcher packs
//! (lexicon, semantic packs and tiny.en recognition are English only), so [`super::Language`] refuses to
//! run calls in it ([`super::PromptError::DialogOnly`]); its phrasebook can still be spoken by an English
//! agent through `agent.prompts`.

use super::{Phrasebook, PromptError};

const PROMPTS: &str = include_str!("../../prompts/es/prompts.toml");
const FIELDS: &str = include_str!("../../prompts/es/fields.toml");

/// The built-in Spanish phrasebook.
pub(super) fn phrasebook() -> Result<Phrasebook, PromptError> {
    Phrasebook::parse("es", PROMPTS, FIELDS)
}
