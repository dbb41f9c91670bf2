//! How the topic matchers read a language (`prompts/<lang>/matcher.toml`): how topic descriptions become a
//! caller's phrases, which words negate and what they govern, which questions are inquiries rather than
//! requests, the ordinary requests that are not topics, and the calibration of the confidence.
//!
//! Word data and fitted weights only. The matchers (`topics::phrasing`, `topics::calibration`,
//! `topics::semantic`) implement their behaviour on these types where they live, so this module never
//! imports `topics`.

use serde::{Deserialize, Serialize};

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

/// `[describe]`: rewriting descriptions ("Customer wants to cancel an order or a plan") into caller phrases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Describe {
    pub subjects: Vec<String>,
    pub first_person: Vec<(String, String)>,
    pub determiners: Vec<String>,
    pub separators: Vec<String>,
}

/// `[negation]`: turning negations positive and finding the clauses they govern.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Negation {
    pub positive_forms: Vec<(String, String)>,
    /// Words after a negation that it governs.
    pub scope_words: usize,
    /// Negative-looking phrases that do not negate a request ("I don't know how to cancel").
    pub not_negating: Vec<String>,
    pub clause_breaks: Vec<String>,
}

/// `[inquiry]`: questions about a topic ("what is your cancellation policy?") that are not requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inquiry {
    /// How a question opens.
    pub openers: Vec<String>,
    /// What such a question asks about: a property of the topic, not the topic itself.
    pub attributes: Vec<String>,
    /// Words that make it a request after all ("I want to cancel, what is the fee?").
    pub requests: Vec<String>,
    /// What an inquiry's confidence is multiplied by.
    pub factor: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdinaryRequests {
    pub requests: Vec<String>,
}

/// `[calibration]` in `prompts/<lang>/matcher.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    pub bias: f32,
    pub semantic: f32,
    pub ordinary: f32,
    pub rival: f32,
    pub lexical: f32,
    /// Default confidence a topic needs to fire.
    pub threshold: f32,
}
