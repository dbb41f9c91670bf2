//! Topic selection: which topics a call under a given config listens for, and the index built from them.
//!
//! The business's own escalation and callback lists come first; decide mode adds the language's built-in
//! "asks for a person" topic unless the business's topics already cover it. This module chooses topics
//! only: scoring them is [`super::semantic`]'s, acting on a hit is the call core's.

use crate::config::{AgentConfig, SupportMode};
use crate::language::Language;

use super::semantic::{SharedEmbedder, TopicIndex};
use super::{MandatoryTopic, TopicError, TopicKind};

/// The topics a call listens for under `config`: both lists, plus the built-in "asks for a person" topic
/// in decide mode (unless the business defined a topic with that id itself).
pub fn call_topics(config: &AgentConfig, language: &Language) -> Vec<MandatoryTopic> {
    let mut topics: Vec<MandatoryTopic> = config.topics().cloned().collect();
    if config.agent.support == SupportMode::Decide
        && !topics.iter().any(|t| t.id == language.person_request.id)
    {
        topics.push(language.person_request.clone().into());
    }
    topics
}

/// The index of the topics a call listens for. The built-in "asks for a person" topic of decide mode is
/// left out when the business's own escalation topics already recognise most of its examples: two topics
/// for one request would only compete with each other.
pub fn topic_index(
    config: &AgentConfig,
    language: &Language,
    embedder: &SharedEmbedder,
) -> Result<TopicIndex, TopicError> {
    let topics = call_topics(config, language);
    let own: Vec<MandatoryTopic> = config.topics().cloned().collect();
    if topics.len() == own.len() {
        return TopicIndex::build(&topics, language, &config.matching, embedder);
    }
    let index = TopicIndex::build(&own, language, &config.matching, embedder)?;
    let examples = &language.person_request.examples;
    let covered = index
        .score_texts(embedder, examples)?
        .into_iter()
        .filter(|scores| {
            scores
                .iter()
                .any(|s| s.kind == TopicKind::Escalation && s.score >= s.threshold)
        })
        .count();
    if covered * 2 >= examples.len() {
        Ok(index)
    } else {
        TopicIndex::build(&topics, language, &config.matching, embedder)
    }
}
