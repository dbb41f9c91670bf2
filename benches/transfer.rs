//! Escalations that land, measured. Reported, not asserted; compare within one run (shared, noisy machines).
//!
//! 1. Summary generation (criterion): the template's summary, and the LLM summary against an
//!    OpenAI-compatible fake on loopback (the HTTP round trip and JSON, not a model).
//! 2. Twilio `UpdateCall` against a fake Twilio on loopback: building, sending and reading one request.
//! 3. Whole calls (`SWITCHBOARD_TRANSFER_LEVELS`, default `1,8`): N simultaneous escalating Twilio calls
//!    against a spawned `switchboard serve` whose Twilio API is a fake on loopback; from each call's
//!    `dial` line: decision -> dial request sent (includes the announcement the caller hears first), and
//!    end of the announcement -> dial request sent (our own overhead).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use switchboard::call::summary::{contextual_summary, Brief};
use switchboard::config::LlmSummary;
use switchboard::language::Language;
use switchboard::loadtest::{anchor_call, percentile, Target};
use switchboard::providers::twilio::control::{CallUpdate, TwilioCalls};
use switchboard::providers::Patience;
use switchboard::summary_llm::LlmSummarizer;

#[path = "../tests/common/sample.rs"]
mod sample;
use sample::ticket;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

/// A loopback server answering every request with `body` (JSON), counting them.
async fn fake(body: &'static str) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            ([("content-type", "application/json")], body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

fn summaries(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let en = Language::load("en").expect("prompts/en");
    let t = ticket();
    let brief = Brief {
        caller: t.draft.caller.as_deref(),
        topic_text: "Contract cancellation request",
        evidence:
            "this is ridiculous, you charged me twice, I want to cancel my contract right now",
        earlier: Some("I have been a customer for ten years"),
        fields: &t.draft.fields,
        transcript:
            "this is ridiculous, you charged me twice, I want to cancel my contract right now",
    };
    c.bench_function("summary/template", |b| {
        b.iter(|| contextual_summary(&en.prompts, &brief).unwrap())
    });
    let (url, _) = rt.block_on(fake(
        r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Caller ending 42 wants to cancel; upset about a double charge."}}]}"#,
    ));
    let llm = LlmSummarizer::new(LlmSummary {
        url,
        model: "fake".into(),
        api_key: None,
        timeout_ms: 1_500,
    })
    .unwrap();
    c.bench_function("summary/llm_fake_loopback", |b| {
        b.iter(|| rt.block_on(llm.summarize(&t)).unwrap())
    });
    let (url, _) = rt.block_on(fake(
        r#"{"sid":"CAfedcba9876543210fedcba9876543210","status":"in-progress"}"#,
    ));
    let calls = TwilioCalls::new(&url, ACCOUNT, "token", Patience::default()).unwrap();
    let dial = CallUpdate::Twiml(switchboard::providers::twilio::twiml::dial_with_outcome(
        "+15550100001",
        Some("https://agent.example.com/twilio/whisper/CA1"),
        "https://agent.example.com/twilio/dial-result/CA1",
        "+15550100000",
        20,
    ));
    c.bench_function("dial/twilio_update_call_loopback", |b| {
        b.iter(|| {
            rt.block_on(calls.update("CAfedcba9876543210fedcba9876543210", &dial))
                .unwrap()
        })
    });
}

/// N escalating calls at once; the `dial` lines of their event files.
fn level(rt: &tokio::runtime::Runtime, root: &Path, n: usize, twilio: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut config = std::fs::read_to_string(root.join("examples/agent.toml")).unwrap();
    config.push_str(&format!(
        "\n[server]\npublic_url = \"https://agent.example.com\"\n\n[providers.twilio]\n\
         auth_token = \"bench-token\"\naccount_sid = \"{ACCOUNT}\"\napi_base = \"{twilio}\"\n"
    ));
    let path = dir.path().join("agent.toml");
    std::fs::write(&path, config).unwrap();
    let target = Target::spawn(
        Path::new(env!("CARGO_BIN_EXE_switchboard")),
        &path,
        Some(&root.join("models")),
    )
    .expect("start the server");
    let audio = anchor_call().expect("espeak-ng voices the anchor call");
    rt.block_on(switchboard::loadtest::run_level(
        &target,
        n,
        &audio,
        Duration::from_secs(10),
    ))
    .expect("calls");
    let events = target.events_dir().unwrap();
    let (mut decided, mut overhead) = (Vec::new(), Vec::new());
    for entry in std::fs::read_dir(&events).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            if v["type"] == "dial" {
                decided.extend(v["wall_ms"].as_f64());
                overhead.extend(v["after_prompt_ms"].as_f64());
            }
        }
    }
    let ms = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.0}"));
    format!(
        "{n:>5} {:>7} {:>14} {:>14} {:>16} {:>16}",
        decided.len(),
        ms(percentile(decided.clone(), 50.0)),
        ms(percentile(decided, 95.0)),
        ms(percentile(overhead.clone(), 50.0)),
        ms(percentile(overhead, 95.0)),
    )
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut c = Criterion::default().without_plots().configure_from_args();
    summaries(&mut c, &rt);
    c.final_summary();

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let levels: Vec<usize> = std::env::var("SWITCHBOARD_TRANSFER_LEVELS")
        .unwrap_or_else(|_| "1,8".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let (twilio, hits) = rt.block_on(fake(
        r#"{"sid":"CAfedcba9876543210fedcba9876543210","status":"in-progress"}"#,
    ));
    println!(
        "{:>5} {:>7} {:>14} {:>14} {:>16} {:>16}",
        "calls", "dialed", "decide->dial50", "decide->dial95", "prompt->dial50", "prompt->dial95"
    );
    for n in levels {
        println!("{}", level(&rt, root, n, &twilio));
    }
    println!(
        "(ms; fake Twilio received {} UpdateCall requests)",
        hits.load(Ordering::SeqCst)
    );
}
