//! Mandatory topics and the matchers that recognise them in what a caller says.
//!
//! A matcher scores an utterance against every topic; a score at or above the topic's threshold is a
//! [`TopicHit`], with the caller's words that made it (evidence) so a person can see why it fired.

pub mod calibration;
pub mod embedder;
pub mod lexical;
pub mod phrasing;
pub mod selection;
pub mod semantic;
pub mod text;

use serde::{Deserialize, Serialize};

use calibration::Features;

pub use selection::{call_topics, topic_index};

/// Which list a topic came from: it decides what a hit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TopicKind {
    Escalation,
    Callback,
}

impl TopicKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TopicKind::Escalation => "escalation",
            TopicKind::Callback => "callback",
        }
    }
}

/// A topic the business requires the agent to act on.
#[derive(Debug, Clone, PartialEq)]
pub struct MandatoryTopic {
    pub id: String,
    pub text: String,
    pub examples: Vec<String>,
    /// Overrides the matcher's default threshold.
    pub threshold: Option<f32>,
    pub kind: TopicKind,
}

/// A language's built-in topic (the caller asks for a person) is an escalation at the default threshold.
impl From<crate::language::BuiltinTopic> for MandatoryTopic {
    fn from(t: crate::language::BuiltinTopic) -> Self {
        MandatoryTopic {
            id: t.id,
            text: t.text,
            examples: t.examples,
            threshold: None,
            kind: TopicKind::Escalation,
        }
    }
}

/// How well one utterance matches one topic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicScore {
    pub topic: String,
    pub kind: TopicKind,
    pub score: f32,
    pub threshold: f32,
    /// The caller's words that matched.
    pub matched: Vec<String>,
    /// The topic phrase (text or example) that matched best.
    pub phrase: String,
    /// What was scored: the utterance, or it together with the one before when that scored higher.
    pub heard: String,
    /// The evidence behind `score` (zero for the lexical matcher alone).
    pub features: Features,
    /// The caller negated the topic; only the clauses without a negation were scored.
    pub negated: bool,
    /// The utterance asks about a property of the topic (its policy, fee, ...) rather than for it.
    pub inquiry: bool,
}

/// A topic recognised in an utterance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicHit {
    pub topic: String,
    pub kind: TopicKind,
    pub score: f32,
    /// The caller's utterance that carried the topic.
    pub evidence: String,
    /// The words in it that matched.
    pub matched: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("topic matcher failed: {0}")]
    Engine(String),
}

/// Scores caller utterances against the mandatory topics.
pub trait TopicMatcher: Send {
    /// A score for every topic, in configuration order.
    fn scores(&mut self, utterance: &str) -> Result<Vec<TopicScore>, TopicError>;

    /// The topics at or above their threshold, best first.
    fn hits(&mut self, utterance: &str) -> Result<Vec<TopicHit>, TopicError> {
        hits_from(self.scores(utterance)?)
    }

    /// Scores of an utterance still going on (a partial transcript): alone, leaving whatever context the
    /// matcher keeps of finished utterances untouched.
    fn partial_scores(&mut self, partial: &str) -> Result<Vec<TopicScore>, TopicError>;

    /// The topics a partial transcript settles: at their threshold and at `confidence` at least.
    fn partial_hits(
        &mut self,
        partial: &str,
        confidence: f32,
    ) -> Result<Vec<TopicHit>, TopicError> {
        hits_from(
            self.partial_scores(partial)?
                .into_iter()
                .filter(|s| s.score >= confidence.max(s.threshold))
                .collect(),
        )
    }
}

/// The scores at or above their threshold as hits, best first.
pub fn hits_from(scores: Vec<TopicScore>) -> Result<Vec<TopicHit>, TopicError> {
    let mut hits: Vec<TopicHit> = scores
        .into_iter()
        .filter(|s| s.score >= s.threshold && s.score > 0.0)
        .map(|s| TopicHit {
            topic: s.topic,
            kind: s.kind,
            score: s.score,
            evidence: s.heard,
            matched: s.matched,
        })
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(hits)
}
