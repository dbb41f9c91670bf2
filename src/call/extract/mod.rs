//! Understanding the caller's answers: each field type's extractor, driven by the words of the call's
//! language ([`crate::language::fields`], from `prompts/<lang>/fields.toml`), so adding a language adds
//! data, not code. The word types are declared there; their reading methods are implemented here.

pub mod answers;
pub mod email;
pub mod phone;
pub mod when;
pub mod words;
