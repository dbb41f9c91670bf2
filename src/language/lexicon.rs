//! The lexical topic matcher's vocabulary (`prompts/<lang>/lexicon.toml`): concepts (words that mean the
//! same thing for matching), fillers and stop words to ignore, and the negations that turn a positive word
//! ("not happy") into the `unhappy` concept.
//!
//! Word data only; `topics::text` compiles it into a normaliser. This module never imports `topics`.

use std::collections::HashMap;

use serde::Deserialize;

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
