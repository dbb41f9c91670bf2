//! Understanding the caller's answers: each field type's extractor, driven by the words of the call's
//! language (`prompts/<lang>/fields.toml`), so adding a language adds data, not code.

pub mod answers;
pub mod email;
pub mod phone;
pub mod when;
pub mod words;
