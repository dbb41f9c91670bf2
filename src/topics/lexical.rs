//! The lexical matcher: the share of a topic phrase's terms (its text or one of its examples) that the
//! caller said, after stemming and mapping synonyms to concepts. Cheap, deterministic and explainable;
//! the semantic matcher builds on it.

use super::text::{Normaliser, Term};
use super::{MandatoryTopic, TopicError, TopicMatcher, TopicScore};
use crate::language::Lexicon;

/// Default share of a phrase's terms that must be heard.
pub const DEFAULT_THRESHOLD: f32 = 0.6;

struct CompiledTopic {
    topic: MandatoryTopic,
    /// (phrase, its terms) for the text and each example.
    phrases: Vec<(String, Vec<Term>)>,
}

pub struct LexicalMatcher {
    normaliser: Normaliser,
    topics: Vec<CompiledTopic>,
}

impl LexicalMatcher {
    pub fn new(lexicon: &Lexicon, topics: &[MandatoryTopic]) -> Self {
        let normaliser = Normaliser::new(lexicon);
        let topics = topics
            .iter()
            .map(|t| CompiledTopic {
                topic: t.clone(),
                phrases: std::iter::once(&t.text)
                    .chain(&t.examples)
                    .map(|p| (p.clone(), normaliser.terms(p)))
                    .filter(|(_, terms)| !terms.is_empty())
                    .collect(),
            })
            .collect();
        Self { normaliser, topics }
    }
}

/// The lexical matcher's verdict on one topic.
#[derive(Debug, Clone, PartialEq)]
pub struct LexicalScore {
    /// Share of the best phrase's terms that were heard.
    pub score: f32,
    /// The caller's words that matched them.
    pub matched: Vec<String>,
    /// That phrase.
    pub phrase: String,
}

impl LexicalMatcher {
    /// One score per topic, in configuration order.
    pub fn score_all(&self, utterance: &str) -> Vec<LexicalScore> {
        let heard = self.normaliser.terms(utterance);
        self.topics
            .iter()
            .map(|c| {
                let mut best = LexicalScore {
                    score: 0.0,
                    matched: Vec::new(),
                    phrase: String::new(),
                };
                for (phrase, terms) in &c.phrases {
                    let matched: Vec<String> = terms
                        .iter()
                        .filter_map(|t| heard.iter().find(|h| h.key == t.key))
                        .map(|h| h.surface.clone())
                        .collect();
                    let score = matched.len() as f32 / terms.len() as f32;
                    if score > best.score {
                        best = LexicalScore {
                            score,
                            matched,
                            phrase: phrase.clone(),
                        };
                    }
                }
                best
            })
            .collect()
    }
}

impl TopicMatcher for LexicalMatcher {
    /// The lexical matcher keeps no context: a partial scores like any utterance.
    fn partial_scores(&mut self, partial: &str) -> Result<Vec<TopicScore>, TopicError> {
        self.scores(partial)
    }

    fn scores(&mut self, utterance: &str) -> Result<Vec<TopicScore>, TopicError> {
        Ok(self
            .score_all(utterance)
            .into_iter()
            .zip(&self.topics)
            .map(|(lex, c)| TopicScore {
                topic: c.topic.id.clone(),
                kind: c.topic.kind,
                score: lex.score,
                threshold: c.topic.threshold.unwrap_or(DEFAULT_THRESHOLD),
                matched: lex.matched,
                phrase: lex.phrase,
                heard: utterance.to_string(),
                features: Default::default(),
                negated: false,
                inquiry: false,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::Language;
    use crate::topics::TopicKind;

    fn matcher() -> LexicalMatcher {
        let en = Language::load("en").unwrap();
        let topics = vec![
            MandatoryTopic {
                id: "cancellation".into(),
                text: "Contract cancellation request".into(),
                examples: vec!["I don't want this plan anymore".into()],
                threshold: None,
                kind: TopicKind::Escalation,
            },
            MandatoryTopic {
                id: "complaint".into(),
                text: "Customer dissatisfied with the service".into(),
                examples: vec![],
                threshold: None,
                kind: TopicKind::Callback,
            },
        ];
        LexicalMatcher::new(&en.lexicon, &topics)
    }

    #[test]
    fn direct_and_reworded_requests_hit() {
        let mut m = matcher();
        let hits = m.hits("Hi, I want to cancel my contract please").unwrap();
        assert_eq!(hits[0].topic, "cancellation");
        let hits = m.hits("I'd like to terminate my subscription").unwrap();
        assert_eq!(hits[0].topic, "cancellation");
        let hits = m.hits("I'm really unhappy with your service").unwrap();
        assert_eq!(hits[0].topic, "complaint");
    }

    #[test]
    fn neutral_requests_do_not_hit() {
        let mut m = matcher();
        for line in [
            "What are your opening hours?",
            "I'd like to check the status of my delivery",
            "Can you tell me my balance",
        ] {
            assert!(m.hits(line).unwrap().is_empty(), "{line}");
        }
    }
}
