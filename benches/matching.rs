//! Cost of topic matching with 20 topics configured (reported, never asserted): one utterance at a time
//! as a live call scores its finals (latency), and batches of 32 as `switchboard eval` scores text lines
//! (throughput, utterances per second).
//!
//! `cargo bench --bench matching`. Needs the models (`switchboard models fetch`).

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::sync::{Arc, Mutex};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use switchboard::config::MatchingSettings;
use switchboard::language::Language;
use switchboard::topics::embedder::SentenceEmbedder;
use switchboard::topics::semantic::{SemanticMatcher, TopicIndex};
use switchboard::topics::{MandatoryTopic, TopicKind, TopicMatcher};

/// Twenty topics of the kind a business lists, three examples each.
const TOPICS: [(&str, &str); 20] = [
    (
        "cancellation",
        "Customer wants to cancel an order, a plan, an account or a contract",
    ),
    (
        "human_agent",
        "Caller asks to speak with a human agent, a person or a manager",
    ),
    (
        "complaint",
        "Customer complains or is dissatisfied with the service",
    ),
    (
        "payment_problem",
        "Problem with a payment, a charge or a bill",
    ),
    (
        "legal_threat",
        "Caller threatens legal action or mentions a lawyer",
    ),
    (
        "data_breach",
        "Caller reports that their personal data was leaked or their account was hacked",
    ),
    ("medical_emergency", "Caller describes a medical emergency"),
    (
        "fraud",
        "Caller reports fraud or an unauthorised transaction",
    ),
    ("outage", "Service outage: internet, phone or power is down"),
    ("refund_request", "Customer asks for their money back"),
    ("damaged_delivery", "Package arrived damaged or broken"),
    ("missing_delivery", "Order never arrived or was lost"),
    ("price_match", "Customer asks to match a competitor's price"),
    (
        "accessibility",
        "Caller needs accessibility help or an interpreter",
    ),
    (
        "bereavement",
        "Caller reports that the account holder has died",
    ),
    ("safety_issue", "Product is dangerous or caused an injury"),
    (
        "press_inquiry",
        "Journalist or press asking for a statement",
    ),
    ("partnership", "Business partnership or sales proposal"),
    (
        "contract_renewal",
        "Customer wants to renew or extend a contract",
    ),
    (
        "privacy_request",
        "Caller asks to delete or export their personal data",
    ),
];

const UTTERANCES: [&str; 8] = [
    "Hi, yeah, I'd like to cancel my contract please",
    "my internet has been down since yesterday morning",
    "can I just talk to a real person",
    "I was charged twice for the same order",
    "where is my package, it should have been here on Monday",
    "I do not want to cancel, I just want to change my plan",
    "how much does it cost to cancel",
    "my lawyer will be in touch about this",
];

fn matching(c: &mut Criterion) {
    let en = Language::load("en").unwrap();
    let topics: Vec<MandatoryTopic> = TOPICS
        .iter()
        .map(|(id, text)| MandatoryTopic {
            id: id.to_string(),
            text: text.to_string(),
            examples: vec![
                format!("I'm calling because of this: {text}"),
                text.to_lowercase(),
                format!("it's about {}", id.replace('_', " ")),
            ],
            threshold: None,
            kind: TopicKind::Escalation,
        })
        .collect();
    let embedder = Arc::new(Mutex::new(
        SentenceEmbedder::load(&common::models(), 1).unwrap(),
    ));
    let index =
        Arc::new(TopicIndex::build(&topics, &en, &MatchingSettings::default(), &embedder).unwrap());

    let mut g = c.benchmark_group("topic_matching_20_topics");
    g.throughput(Throughput::Elements(1));
    g.bench_function("one_final_utterance_with_window", |b| {
        let mut matcher = SemanticMatcher::new(index.clone(), embedder.clone());
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % UTTERANCES.len();
            black_box(matcher.scores(UTTERANCES[i]).unwrap())
        })
    });
    g.bench_function("one_partial_utterance", |b| {
        let matcher = SemanticMatcher::new(index.clone(), embedder.clone());
        b.iter(|| black_box(matcher.score_partial(UTTERANCES[0]).unwrap()))
    });
    let batch: Vec<&str> = UTTERANCES.iter().cycle().take(32).copied().collect();
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("batch_of_32_lines", |b| {
        b.iter(|| black_box(index.score_texts(&embedder, &batch).unwrap()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // Criterion's charts would need a font registered for plotters' ab_glyph (see benches/pipeline.rs).
    config = Criterion::default().sample_size(20).without_plots();
    targets = matching
}
criterion_main!(benches);
