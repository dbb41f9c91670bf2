//! The semantic topic matcher over the real MiniLM model: what phone callers say, including negations,
//! questions about a topic, ASR slips and requests spread over two sentences.

mod common;

use std::sync::{Arc, Mutex};

use switchboard::config::MatchingSettings;
use switchboard::language::Language;
use switchboard::topics::embedder::SentenceEmbedder;
use switchboard::topics::semantic::{SemanticMatcher, SharedEmbedder, TopicIndex};
use switchboard::topics::{MandatoryTopic, TopicKind, TopicMatcher};

fn embedder() -> SharedEmbedder {
    Arc::new(Mutex::new(
        SentenceEmbedder::load(&common::models(), 1).expect("MiniLM loads"),
    ))
}

fn topic(id: &str, kind: TopicKind, text: &str, examples: &[&str]) -> MandatoryTopic {
    MandatoryTopic {
        id: id.into(),
        text: text.into(),
        examples: examples.iter().map(|e| e.to_string()).collect(),
        threshold: None,
        kind,
    }
}

/// The four topics of a typical business, with a few examples each (or none).
fn topics(with_examples: bool) -> Vec<MandatoryTopic> {
    let ex = |e: &'static [&'static str]| if with_examples { e } else { &[] };
    vec![
        topic(
            "human_agent",
            TopicKind::Escalation,
            "Caller asks to speak with a human agent, a person or a manager",
            ex(&[
                "can I talk to a real person",
                "put me through to a manager please",
            ]),
        ),
        topic(
            "cancellation",
            TopicKind::Escalation,
            "Customer wants to cancel an order, a plan, an account or a contract",
            ex(&[
                "I want to cancel my contract",
                "I'd like to terminate my subscription",
            ]),
        ),
        topic(
            "complaint",
            TopicKind::Callback,
            "Customer complains or is dissatisfied with the service",
            ex(&[
                "this is the worst service I have ever had",
                "your staff was rude to me",
            ]),
        ),
        topic(
            "payment_problem",
            TopicKind::Callback,
            "Problem with a payment, a charge or a bill",
            ex(&["my card payment was declined", "you charged me twice"]),
        ),
    ]
}

fn index(topics: &[MandatoryTopic], embedder: &SharedEmbedder) -> Arc<TopicIndex> {
    let en = Language::load("en").unwrap();
    Arc::new(TopicIndex::build(topics, &en, &MatchingSettings::default(), embedder).unwrap())
}

/// The topics that fire on `utterance` alone.
fn fired(index: &Arc<TopicIndex>, embedder: &SharedEmbedder, utterance: &str) -> Vec<String> {
    let mut m = SemanticMatcher::new(index.clone(), embedder.clone());
    m.hits(utterance)
        .unwrap()
        .into_iter()
        .map(|h| h.topic)
        .collect()
}

#[test]
fn paraphrases_fire_their_topic_and_ordinary_requests_fire_nothing() {
    let e = embedder();
    let idx = index(&topics(true), &e);
    for (utterance, expect) in [
        (
            "yeah hi, I'd like to get out of my contract with you guys",
            "cancellation",
        ),
        ("could I speak to somebody real please", "human_agent"),
        (
            "there's a charge on my statement I don't recognise",
            "payment_problem",
        ),
        ("I'm not happy at all with the service I got", "complaint"),
        ("I don't want this plan anymore", "cancellation"),
    ] {
        assert_eq!(fired(&idx, &e, utterance), vec![expect], "{utterance}");
    }
    for utterance in [
        "where is my order",
        "I need to update my email address",
        "I'd like to book an appointment for Tuesday",
        "do you sell gift cards",
    ] {
        assert!(fired(&idx, &e, utterance).is_empty(), "{utterance}");
    }
}

#[test]
fn a_negated_topic_does_not_fire() {
    let e = embedder();
    let idx = index(&topics(true), &e);
    for utterance in [
        "I do not want to cancel my contract, I just want to change my address",
        "no no, I don't want to cancel anything",
        "I don't need to speak to a manager, you can help me",
        "there is no problem with my payment, I'd like to know when my order ships",
    ] {
        assert!(fired(&idx, &e, utterance).is_empty(), "{utterance}");
    }
    // Not knowing how is not refusing.
    assert_eq!(
        fired(&idx, &e, "I don't know how to cancel my contract"),
        vec!["cancellation"]
    );
}

#[test]
fn questions_about_a_topic_are_not_requests() {
    let e = embedder();
    let idx = index(&topics(true), &e);
    for utterance in [
        "how much does it cost to cancel?",
        "what is your cancellation policy",
        "is there a fee if I close my account?",
        "what payment methods do you take",
        "how long does a refund usually take",
    ] {
        assert!(fired(&idx, &e, utterance).is_empty(), "{utterance}");
    }
    // A request that also asks a question is still a request.
    assert_eq!(
        fired(&idx, &e, "I want to cancel my contract, what is the fee?"),
        vec!["cancellation"]
    );
}

#[test]
fn asr_slips_still_fire() {
    let e = embedder();
    let idx = index(&topics(true), &e);
    for (utterance, expect) in [
        ("I want to council my contract", "cancellation"),
        ("can I talk to a real purse in", "human_agent"),
        ("I'm very inside with my service", "complaint"),
    ] {
        assert_eq!(fired(&idx, &e, utterance), vec![expect], "{utterance}");
    }
}

#[test]
fn topics_given_as_text_only_still_fire() {
    let e = embedder();
    let idx = index(&topics(false), &e);
    for (utterance, expect) in [
        ("I want to cancel my contract", "cancellation"),
        ("please put me through to a manager", "human_agent"),
        ("I was charged twice for the same thing", "payment_problem"),
    ] {
        assert_eq!(fired(&idx, &e, utterance), vec![expect], "{utterance}");
    }
    let reworded = vec![topic(
        "cancellation",
        TopicKind::Escalation,
        "Contract cancellation request",
        &[],
    )];
    let idx = index(&reworded, &e);
    assert_eq!(
        fired(&idx, &e, "hi, I'd like to cancel my contract please"),
        vec!["cancellation"]
    );
    assert!(fired(&idx, &e, "what time do you open on Saturday").is_empty());
}

#[test]
fn a_request_spread_over_two_sentences_is_caught_once() {
    let e = embedder();
    let idx = index(&topics(true), &e);
    let mut m = SemanticMatcher::new(idx.clone(), e.clone());
    assert!(m
        .hits("I have a contract with you for my phone line.")
        .unwrap()
        .is_empty());
    let hits = m.hits("I want to end it today.").unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].topic, "cancellation");
    assert!(
        hits[0].evidence.contains("contract"),
        "the evidence is the window: {hits:?}"
    );
}

#[test]
fn scoring_is_deterministic_and_batching_does_not_change_it() {
    let e = embedder();
    let idx = index(&topics(true), &e);
    let lines = [
        "I want to cancel my contract",
        "where is my order",
        "you charged me twice",
    ];
    let batched = idx.score_texts(&e, &lines).unwrap();
    let again = idx.score_texts(&e, &lines).unwrap();
    assert_eq!(batched, again);
    for (line, scores) in lines.iter().zip(&batched) {
        let alone = idx.score_texts(&e, &[line]).unwrap().remove(0);
        for (a, b) in alone.iter().zip(scores) {
            assert!((a.score - b.score).abs() < 1e-4, "{line}: {a:?} vs {b:?}");
        }
    }
}
