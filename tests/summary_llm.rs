//! The LLM summary against a fake OpenAI-compatible server on loopback: the request carries the ticket's
//! facts and the key; a good answer is used; a slow, failing, empty or rambling answer is an error, so the
//! template's summary (already on the ticket) stands.

mod common;

use std::time::{Duration, Instant};

use common::fakes::{self, Answer};
use common::sample::ticket;
use switchboard::config::LlmSummary;
use switchboard::summary_llm::{LlmSummarizer, SummaryError};

fn summarizer(url: &str, timeout_ms: u64) -> LlmSummarizer {
    LlmSummarizer::new(LlmSummary {
        url: url.into(),
        model: "fake-model".into(),
        api_key: Some("sk-test".into()),
        timeout_ms,
    })
    .unwrap()
}

#[tokio::test]
async fn a_good_answer_is_the_summary() {
    let said = "Caller ending 42 wants to cancel; upset about a double charge in March.";
    let fake = fakes::llm(Answer::Ok, said).await;
    let summary = summarizer(&fake.url, 1_000)
        .summarize(&ticket())
        .await
        .unwrap();
    assert_eq!(summary, said);
    let sent = &fake.received()[0];
    assert_eq!(sent.authorization.as_deref(), Some("Bearer sk-test"));
    let body = sent.json.as_ref().unwrap();
    assert_eq!(body["model"], "fake-model");
    let prompt = body["messages"][0]["content"].as_str().unwrap();
    for fact in [
        "cancellation",
        "you charged me twice",
        "reason: double charge in March",
        "+15550123442",
    ] {
        assert!(prompt.contains(fact), "{fact} missing from {prompt}");
    }
}

#[tokio::test]
async fn slow_failing_or_unusable_answers_leave_the_template() {
    // Slower than the budget: given up at the budget, not when the server answers.
    let slow = fakes::llm(Answer::Slow(Duration::from_secs(3)), "late").await;
    let started = Instant::now();
    let err = summarizer(&slow.url, 300)
        .summarize(&ticket())
        .await
        .unwrap_err();
    assert!(matches!(err, SummaryError::Timeout(300)), "{err}");
    assert!(started.elapsed() < Duration::from_millis(1_500));

    let down = fakes::llm(Answer::Down, "").await;
    let err = summarizer(&down.url, 1_000)
        .summarize(&ticket())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SummaryError::Status { status: 503, .. }),
        "{err}"
    );

    let empty = fakes::llm(Answer::Ok, "   ").await;
    assert!(matches!(
        summarizer(&empty.url, 1_000).summarize(&ticket()).await,
        Err(SummaryError::Answer(_))
    ));

    let rambling = fakes::llm(Answer::Ok, &"and then ".repeat(40)).await;
    let err = summarizer(&rambling.url, 1_000)
        .summarize(&ticket())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("too long"), "{err}");

    let nobody = summarizer("http://127.0.0.1:9", 1_000)
        .summarize(&ticket())
        .await
        .unwrap_err();
    assert!(matches!(nobody, SummaryError::Http(_)), "{nobody}");
}
