//! Whole recorded calls through the real pipeline (espeak-ng voice -> 8 kHz mu-law -> VAD -> whisper ->
//! topics -> call core -> SQLite tickets), through the library and through the command line.

// The engine lock is held across awaits on purpose: it serialises whole calls, not a critical section.
#![allow(clippy::await_holding_lock)]

mod common;

use std::path::Path;

use switchboard::config;
use switchboard::engines::Engines;
use switchboard::events::{CallEvent, Decision, EventLine};
use switchboard::replay::{ReplayOptions, ReplayOutcome};
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::TicketKind;

async fn replay(support: &str, utterances: &[&str], dir: &Path) -> (ReplayOutcome, TicketStore) {
    let _engines = common::engine_lock();
    let cfg = config::parse(&common::agent_toml(support), "agent.toml")
        .unwrap()
        .config;
    let engines = Engines::new(cfg, common::models()).expect("engines load");
    let wav = common::write_call(dir, "call", utterances);
    let store = TicketStore::open(&switchboard::tickets::database::Database::Sqlite(
        dir.join("tickets.db"),
    ))
    .await
    .unwrap();
    let outcome = switchboard::replay::replay(
        &engines,
        &wav,
        &ReplayOptions::default(),
        &store,
        &mut |_| {},
    )
    .await
    .expect("replay");
    (outcome, store)
}

/// The call's escalate/flag decisions must be exactly `expected` (topic ids); shows what was heard if not.
fn assert_decisions(outcome: &ReplayOutcome, expected: &[(Decision, &str)]) {
    let expected: Vec<_> = expected
        .iter()
        .map(|(d, t)| (*d, Some(t.to_string())))
        .collect();
    assert_eq!(
        outcome.decisions(),
        expected,
        "heard: {:?}",
        transcripts(outcome)
    );
}

fn says(outcome: &ReplayOutcome) -> Vec<String> {
    outcome
        .lines
        .iter()
        .filter_map(|l| match &l.event {
            CallEvent::Say { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn transcripts(outcome: &ReplayOutcome) -> Vec<String> {
    outcome
        .lines
        .iter()
        .filter_map(|l| match &l.event {
            CallEvent::Transcript { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_asking_to_cancel_a_contract_is_escalated() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, store) = replay(
        "escalate",
        &[
            "Hello, I have a question about my account.",
            "I want to cancel my contract, please.",
        ],
        dir.path(),
    )
    .await;
    assert_decisions(&outcome, &[(Decision::Escalate, "cancellation")]);
    // The ticket is filed before the transfer is announced, and the transfer carries the summary.
    let order: Vec<&str> = outcome
        .lines
        .iter()
        .filter_map(|l| match &l.event {
            CallEvent::Ticket { .. } => Some("ticket"),
            CallEvent::Say { .. } => Some("say"),
            CallEvent::Transfer { .. } => Some("transfer"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["ticket", "say", "transfer"]);
    let transfer = outcome
        .lines
        .iter()
        .find_map(|l| match &l.event {
            CallEvent::Transfer { to, summary, .. } => Some((to.clone(), summary.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(transfer.0, "+15550100001");
    let summary = transfer.1.expect("contextual summary");
    assert!(
        summary.contains("contract cancellation request"),
        "{summary}"
    );
    assert!(
        summary.to_lowercase().contains("cancel my contract"),
        "{summary}"
    );
    let tickets = store.list().await.unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].draft.kind, TicketKind::Escalation);
    assert_eq!(tickets[0].draft.topic.as_deref(), Some("cancellation"));
    assert!(tickets[0]
        .draft
        .transcript
        .to_lowercase()
        .contains("cancel"));
    // The topic heard, with the caller's words that carried it; an escalation is high priority.
    let heard = &tickets[0].draft.topics;
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert_eq!(heard[0].topic, "cancellation");
    assert!(heard[0]
        .evidence
        .to_lowercase()
        .contains("cancel my contract"));
    assert_eq!(
        tickets[0].draft.priority,
        switchboard::tickets::Priority::High
    );
    assert_eq!(
        tickets[0].draft.category,
        switchboard::tickets::Category::Service,
        "from the topic's category in the config"
    );
    // Every transcript and decision line carries its processing time.
    assert!(outcome
        .lines
        .iter()
        .filter(|l| l.wants_wall_time())
        .all(|l| l.wall_ms.is_some()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_complaint_in_flag_mode_files_a_callback_ticket_with_the_questions() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, store) = replay(
        "flag",
        &["I am really unhappy with the service I got last week."],
        dir.path(),
    )
    .await;
    assert_decisions(&outcome, &[(Decision::Flag, "complaint")]);
    let said = says(&outcome);
    for question in [
        "What is the reason for your call?",
        "When would you like us to call you back?",
        "Is there another number we can reach you on?",
    ] {
        assert!(
            // Phone questions also offer the keypad.
            said.iter().any(|s| s.starts_with(question)),
            "{question} not asked: {said:?}"
        );
    }
    assert!(!outcome
        .lines
        .iter()
        .any(|l| matches!(l.event, CallEvent::Transfer { .. })));
    let tickets = store.list().await.unwrap();
    assert_eq!(tickets.len(), 1);
    let t = &tickets[0];
    assert_eq!(t.draft.kind, TicketKind::Callback);
    assert_eq!(t.status, "open");
    let names: Vec<_> = t.draft.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["reason", "callback_time", "alt_phone"]);
    assert!(t.draft.fields.iter().all(|f| f.value.is_none()));
    assert!(t
        .draft
        .note
        .as_deref()
        .unwrap_or("")
        .contains("could not hear"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_neutral_call_only_continues() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, store) = replay(
        "decide",
        &[
            "Hi, what time are you open on Saturday?",
            "And do you have parking near the shop?",
        ],
        dir.path(),
    )
    .await;
    let decisions: Vec<_> = outcome
        .lines
        .iter()
        .filter_map(|l| match &l.event {
            CallEvent::Decision { decision, .. } => Some(*decision),
            _ => None,
        })
        .collect();
    assert_eq!(
        decisions,
        [Decision::Continue, Decision::Continue],
        "{:?}",
        transcripts(&outcome)
    );
    assert!(store.list().await.unwrap().is_empty());
    assert!(matches!(
        outcome.lines.last().map(|l| &l.event),
        Some(CallEvent::Hangup)
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reworded_request_still_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, _store) = replay(
        "decide",
        &["Yeah so basically I would like to end my subscription with you guys."],
        dir.path(),
    )
    .await;
    assert_decisions(&outcome, &[(Decision::Escalate, "cancellation")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn asking_for_a_person_escalates_in_decide_mode_only() {
    let dir = tempfile::tempdir().unwrap();
    let words = ["Can I please talk to a real person?"];
    let (outcome, _) = replay("decide", &words, dir.path()).await;
    assert_decisions(&outcome, &[(Decision::Escalate, "person_request")]);
    let dir = tempfile::tempdir().unwrap();
    let (outcome, _) = replay("flag", &words, dir.path()).await;
    assert_decisions(&outcome, &[]);
}

#[test]
fn the_command_line_prints_the_json_contract_and_lists_the_ticket() {
    let _engines = common::engine_lock();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("agent.toml");
    std::fs::write(&cfg, common::agent_toml("decide")).unwrap();
    let wav = common::write_call(dir.path(), "cancel", &["I want to cancel my contract."]);
    let db = dir.path().join("t.db");
    let out = common::bin()
        .args(["replay", "--json", "--caller", "+15550199999", "--config"])
        .arg(&cfg)
        .arg("--db")
        .arg(&db)
        .arg(&wav)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<EventLine> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let types: Vec<String> = lines
        .iter()
        .map(|l| {
            serde_json::to_value(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for t in [
        "speech_start",
        "speech_end",
        "transcript",
        "topic",
        "decision",
        "ticket",
        "say",
        "transfer",
    ] {
        assert!(types.iter().any(|x| x == t), "no {t} line in {types:?}");
    }
    assert!(
        lines.windows(2).all(|w| w[0].t_ms <= w[1].t_ms),
        "t_ms must not go back"
    );

    let out = common::bin()
        .args(["tickets", "list", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let tickets: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tickets.as_array().unwrap().len(), 1);
    assert_eq!(tickets[0]["kind"], "escalation");
    assert_eq!(tickets[0]["caller"], "+15550199999");
    let id = tickets[0]["id"].as_i64().unwrap();
    let out = common::bin()
        .args(["tickets", "show", &id.to_string(), "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("+15550199999") && shown.contains("cancellation"),
        "{shown}"
    );
}

/// `replay --at` replays a call as if it came in then: on a Saturday, outside the business's hours, the
/// escalation becomes a callback with the opening said; on the Monday morning it is transferred.
#[test]
fn a_replay_at_a_moment_outside_business_hours_files_a_callback() {
    let _engines = common::engine_lock();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("agent.toml");
    let hours = "[escalation.hours]\nmon = \"09:00-17:00\"\nfri = \"09:00-17:00\"\n\n[callback]";
    std::fs::write(
        &cfg,
        common::agent_toml("decide").replacen("[callback]", hours, 1),
    )
    .unwrap();
    let wav = common::write_call(dir.path(), "cancel", &["I want to cancel my contract."]);
    let replay_at = |at: &str| {
        let out = common::bin()
            .args(["replay", "--json", "--at", at, "--config"])
            .arg(&cfg)
            .arg("--db")
            .arg(dir.path().join("t.db"))
            .arg(&wav)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let saturday = replay_at("2026-12-05T10:00:00-05:00");
    assert!(
        saturday.contains("They are back on Monday at 9 am"),
        "{saturday}"
    );
    assert!(saturday.contains(r#""kind":"callback""#), "{saturday}");
    assert!(!saturday.contains(r#""type":"transfer""#), "{saturday}");
    let monday = replay_at("2026-12-07T10:00:00-05:00");
    assert!(monday.contains(r#""type":"transfer""#), "{monday}");
    let bad = common::bin()
        .args(["replay", "--at", "next tuesday", "--config"])
        .arg(&cfg)
        .arg(&wav)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));
}
