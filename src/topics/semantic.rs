//! The semantic matcher: MiniLM sentence embeddings of what the caller said against every topic's phrases,
//! combined with the lexical matcher and calibrated into one confidence per topic.
//!
//! A [`TopicIndex`] is built once per configuration (every topic phrase and ordinary request embedded in
//! batches) and shared by all calls; a [`SemanticMatcher`] is one call's view of it, which also remembers the
//! previous utterance so that a request spread over two sentences ("I have a contract with you." "I want out
//! of it.") is scored as a whole.

use std::sync::{Arc, Mutex};

use super::calibration::{Calibration, Features};
use super::embedder::{cosine, EmbedError, Embedding, SentenceEmbedder};
use super::lexical::LexicalMatcher;
use super::phrasing::{Inquiry, Negation};
use super::{MandatoryTopic, TopicError, TopicMatcher, TopicScore};
use crate::config::MatchingSettings;
use crate::language::Language;

/// How much closer to a topic the positive form of a negated clause must be before what the negation
/// governs is set aside (cosine units): below it the negation is not about the topic.
const NEGATION_MARGIN: f32 = 0.01;
/// Sentences per embedding batch when indexing or scoring many texts.
const BATCH: usize = 32;

/// The embedder as calls share it: one model, one run at a time.
pub type SharedEmbedder = Arc<Mutex<SentenceEmbedder>>;

struct IndexedTopic {
    topic: MandatoryTopic,
    phrases: Vec<String>,
    embeddings: Vec<Embedding>,
}

/// Everything the matcher knows before a call starts.
pub struct TopicIndex {
    topics: Vec<IndexedTopic>,
    ordinary: Vec<Embedding>,
    lexical: LexicalMatcher,
    negation: Negation,
    inquiry: Inquiry,
    calibration: Calibration,
}

/// Where a text's embeddings sit in a scoring batch.
struct Plan {
    text: usize,
    negation: Option<NegationPlan>,
}

struct NegationPlan {
    /// (negated clause, its positive form)
    clauses: Vec<(usize, usize)>,
    remainder_at: usize,
    remainder: String,
}

/// One text's similarity to every topic and to the nearest ordinary request.
struct Similarities {
    topics: Vec<(f32, usize)>,
    ordinary: f32,
}

impl TopicIndex {
    /// Embeds the topics' texts (as written and as a caller would say them), their examples and the
    /// ordinary requests of the language plus the business's own (`[matching]` in the agent config).
    pub fn build(
        topics: &[MandatoryTopic],
        language: &Language,
        matching: &MatchingSettings,
        embedder: &SharedEmbedder,
    ) -> Result<Self, TopicError> {
        let pack = &language.matcher;
        let mut indexed = Vec::with_capacity(topics.len());
        // The lexical matcher reads the same phrases: "I complain" is a phrase of its own there too.
        let mut described = Vec::with_capacity(topics.len());
        for topic in topics {
            let mut phrases = pack.describe.phrases(&topic.text);
            phrases.extend(topic.examples.iter().cloned());
            described.push(MandatoryTopic {
                examples: phrases[1..].to_vec(),
                ..topic.clone()
            });
            let embeddings = embed_all(embedder, &phrases)?;
            indexed.push(IndexedTopic {
                topic: topic.clone(),
                phrases,
                embeddings,
            });
        }
        let ordinary: Vec<String> = pack
            .ordinary
            .requests
            .iter()
            .chain(&matching.ordinary)
            .cloned()
            .collect();
        let mut calibration = pack.calibration;
        if let Some(threshold) = matching.threshold {
            calibration.threshold = threshold;
        }
        Ok(Self {
            topics: indexed,
            ordinary: embed_all(embedder, &ordinary)?,
            lexical: LexicalMatcher::new(&language.lexicon, &described),
            negation: pack.negation.clone(),
            inquiry: pack.inquiry.clone(),
            calibration,
        })
    }

    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    pub fn topics(&self) -> impl Iterator<Item = &MandatoryTopic> {
        self.topics.iter().map(|t| &t.topic)
    }

    /// Scores independent texts (each as a whole utterance), embedding them in batches.
    pub fn score_texts<S: AsRef<str>>(
        &self,
        embedder: &SharedEmbedder,
        texts: &[S],
    ) -> Result<Vec<Vec<TopicScore>>, TopicError> {
        let mut sentences: Vec<String> = Vec::with_capacity(texts.len());
        let plans: Vec<Plan> = texts
            .iter()
            .map(|t| self.plan(t.as_ref(), &mut sentences))
            .collect();
        let embeddings = embed_all(embedder, &sentences)?;
        Ok(texts
            .iter()
            .zip(plans)
            .map(|(text, plan)| {
                let text = text.as_ref();
                let plain = self.similarities(&embeddings[plan.text]);
                let mut scores = self.scores_from(text, &plain);
                if let Some(negation) = plan.negation {
                    self.set_aside_negated(text, &negation, &embeddings, &mut scores);
                }
                scores
            })
            .collect())
    }

    /// Queues what `text` needs embedded: the text and, when it holds a negation, each negated clause, its
    /// positive form and the text without what the negations govern.
    fn plan(&self, text: &str, sentences: &mut Vec<String>) -> Plan {
        let mut queue = |s: String| {
            sentences.push(s);
            sentences.len() - 1
        };
        let at = queue(text.to_string());
        let negation = self.negation.read(text).map(|reading| NegationPlan {
            clauses: reading
                .clauses
                .into_iter()
                .map(|(clause, positive)| (queue(clause), queue(positive)))
                .collect(),
            remainder_at: queue(reading.remainder.clone()),
            remainder: reading.remainder,
        });
        Plan { text: at, negation }
    }

    /// For each topic a negated clause turns away from (its positive form is closer to the topic), scores
    /// only what the negations do not govern.
    fn set_aside_negated(
        &self,
        text: &str,
        plan: &NegationPlan,
        embeddings: &[Embedding],
        scores: &mut [TopicScore],
    ) {
        let clauses: Vec<(Similarities, Similarities)> = plan
            .clauses
            .iter()
            .map(|&(c, p)| {
                (
                    self.similarities(&embeddings[c]),
                    self.similarities(&embeddings[p]),
                )
            })
            .collect();
        let rest = self.similarities(&embeddings[plan.remainder_at]);
        let rest_scores = self.scores_from(&plan.remainder, &rest);
        for (k, score) in scores.iter_mut().enumerate() {
            let negates_topic = clauses.iter().any(|(negated, positive)| {
                positive.topics[k].0 > negated.topics[k].0 + NEGATION_MARGIN
            });
            if !negates_topic {
                continue;
            }
            let mut kept = if plan.remainder.trim().is_empty() {
                TopicScore {
                    score: 0.0,
                    matched: Vec::new(),
                    features: Features::default(),
                    ..score.clone()
                }
            } else {
                rest_scores[k].clone()
            };
            kept.heard = text.to_string();
            kept.negated = true;
            *score = kept;
        }
    }

    fn similarities(&self, e: &Embedding) -> Similarities {
        Similarities {
            topics: self
                .topics
                .iter()
                .map(|t| {
                    t.embeddings
                        .iter()
                        .enumerate()
                        .map(|(i, p)| (cosine(e, p), i))
                        .fold((f32::MIN, 0), |best, s| if s.0 > best.0 { s } else { best })
                })
                .collect(),
            ordinary: self
                .ordinary
                .iter()
                .map(|o| cosine(e, o))
                .fold(f32::MIN, f32::max),
        }
    }

    fn scores_from(&self, text: &str, sims: &Similarities) -> Vec<TopicScore> {
        let lexical = self.lexical.score_all(text);
        let ordinary = if self.ordinary.is_empty() {
            0.0
        } else {
            sims.ordinary
        };
        let inquiry = self.inquiry.is_inquiry(text);
        let factor = if inquiry { self.inquiry.factor } else { 1.0 };
        self.topics
            .iter()
            .zip(lexical)
            .enumerate()
            .map(|(k, (t, lex))| {
                let (semantic, phrase) = sims.topics[k];
                let semantic = semantic.max(0.0);
                let best_other = sims
                    .topics
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != k)
                    .map(|(_, s)| s.0)
                    .fold(ordinary, f32::max);
                let features = Features {
                    semantic,
                    ordinary: semantic - ordinary,
                    rival: semantic - best_other,
                    lexical: lex.score,
                };
                TopicScore {
                    topic: t.topic.id.clone(),
                    kind: t.topic.kind,
                    score: self.calibration.confidence(&features) * factor,
                    threshold: t.topic.threshold.unwrap_or(self.calibration.threshold),
                    matched: lex.matched,
                    phrase: t.phrases.get(phrase).cloned().unwrap_or_default(),
                    heard: text.to_string(),
                    features,
                    negated: false,
                    inquiry,
                }
            })
            .collect()
    }
}

fn embed_all(
    embedder: &SharedEmbedder,
    sentences: &[String],
) -> Result<Vec<Embedding>, TopicError> {
    let mut engine = embedder
        .lock()
        .map_err(|_| TopicError::Engine("the sentence embedder failed earlier".into()))?;
    let mut out = Vec::with_capacity(sentences.len());
    for chunk in sentences.chunks(BATCH) {
        out.extend(
            engine
                .embed(chunk)
                .map_err(|e: EmbedError| TopicError::Engine(e.to_string()))?,
        );
    }
    Ok(out)
}

/// One call's matcher over a shared [`TopicIndex`].
pub struct SemanticMatcher {
    index: Arc<TopicIndex>,
    embedder: SharedEmbedder,
    /// The previous final utterance and which topics it fired on its own.
    previous: Option<(String, Vec<bool>)>,
}

impl SemanticMatcher {
    pub fn new(index: Arc<TopicIndex>, embedder: SharedEmbedder) -> Self {
        Self {
            index,
            embedder,
            previous: None,
        }
    }

    /// Scores a partial transcript: the utterance alone, without touching the window of finals.
    pub fn score_partial(&self, partial: &str) -> Result<Vec<TopicScore>, TopicError> {
        Ok(self
            .index
            .score_texts(&self.embedder, &[partial])?
            .pop()
            .unwrap_or_default())
    }
}

impl TopicMatcher for SemanticMatcher {
    fn partial_scores(&mut self, partial: &str) -> Result<Vec<TopicScore>, TopicError> {
        self.score_partial(partial)
    }

    fn scores(&mut self, utterance: &str) -> Result<Vec<TopicScore>, TopicError> {
        let window = self
            .previous
            .as_ref()
            .map(|(prev, _)| format!("{prev} {utterance}"));
        let texts: Vec<&str> = std::iter::once(utterance)
            .chain(window.as_deref())
            .collect();
        let mut scored = self.index.score_texts(&self.embedder, &texts)?.into_iter();
        let mut alone = scored.next().unwrap_or_default();
        let fired: Vec<bool> = alone.iter().map(|s| s.score >= s.threshold).collect();
        if let (Some(together), Some((_, prev_fired))) = (scored.next(), &self.previous) {
            for ((score, joined), prev) in alone.iter_mut().zip(together).zip(prev_fired) {
                // The window counts only for what neither sentence said alone.
                if !prev && joined.score > score.score {
                    *score = joined;
                }
            }
        }
        self.previous = Some((utterance.to_string(), fired));
        Ok(alone)
    }
}
