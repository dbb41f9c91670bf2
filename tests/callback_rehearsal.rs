//! The callback dialog end to end in simulated time, without sockets: a scripted caller whose answers are
//! espeak-ng speech over 8 kHz mu-law, heard through the real VAD, whisper tiny.en, matcher and call core,
//! with tickets written to a real SQLite store. The call starts on Monday 23 November 2026 at 10:20 in
//! New York, so "tomorrow after 3 pm" has one right answer.

// The engine lock is held across awaits on purpose: it serialises whole calls, not a critical section.
#![allow(clippy::await_holding_lock)]

mod common;

use chrono::TimeZone;
use switchboard::config;
use switchboard::engines::Engines;
use switchboard::rehearsal::{caller_voice, rehearse, Rehearsal, Turn};
use switchboard::speech::{espeak::Espeak, PromptCache};
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::{FieldStatus, Ticket};

const COMPLAINT: &str = "I want to make a formal complaint about your service.";

async fn run(turns: &[Turn]) -> (Rehearsal, Option<Ticket>) {
    let _engines = common::engine_lock();
    let cfg = config::parse(&common::agent_toml("flag"), "agent.toml")
        .unwrap()
        .config;
    let engines = Engines::new(cfg, common::models()).expect("engines load");
    let dir = tempfile::tempdir().unwrap();
    let store = TicketStore::open(&switchboard::tickets::database::Database::Sqlite(
        dir.path().join("tickets.db"),
    ))
    .await
    .unwrap();
    let agent = PromptCache::new(std::sync::Arc::new(Espeak::new("en-us")));
    let caller = caller_voice("en-us");
    let started = chrono::Utc
        .with_ymd_and_hms(2026, 11, 23, 15, 20, 0)
        .unwrap();
    let outcome = rehearse(&engines, &agent, caller.as_ref(), turns, &store, started)
        .await
        .expect("the call runs");
    let ticket = match outcome.tickets.first() {
        Some(id) => Some(store.get(*id).await.unwrap()),
        None => None,
    };
    (outcome, ticket)
}

fn say(s: &str) -> Turn {
    Turn::Say(s.into())
}

fn heard(r: &Rehearsal) -> Vec<String> {
    r.lines
        .iter()
        .filter_map(|l| match &l.event {
            switchboard::events::CallEvent::Transcript { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn happy_path_by_voice() {
    let (r, ticket) = run(&[
        say(COMPLAINT),
        say("My internet connection keeps dropping."),
        say("Tomorrow after three p.m."),
        say("Yes."),
        say("Four one five, eight six seven, three nine two one."),
        say("Yes, that's right."),
    ])
    .await;
    let t = ticket.unwrap_or_else(|| panic!("no ticket; heard {:?}; said {:?}", heard(&r), r.said));
    let f = &t.draft.fields;
    assert_eq!(f[0].status, FieldStatus::Answered, "{f:?}");
    assert!(
        f[0].value
            .as_deref()
            .unwrap()
            .to_lowercase()
            .contains("internet"),
        "{f:?}"
    );
    assert_eq!(
        f[1].value.as_deref(),
        Some("2026-11-24T15:00:00-05:00/2026-11-24T18:00:00-05:00"),
        "heard {:?}",
        heard(&r)
    );
    assert!(f[1].confirmed);
    assert_eq!(
        f[2].value.as_deref(),
        Some("+14158673921"),
        "heard {:?}",
        heard(&r)
    );
    assert!(f[2].confirmed);
    assert_eq!(
        t.draft.promise.as_deref(),
        Some("Thank you. Your request is recorded and we will call you back tomorrow after 3 pm.")
    );
    assert!(r.agent_hung_up, "the agent says goodbye and ends the call");
    assert_eq!(r.said.last().unwrap(), "Thank you for calling. Goodbye.");
}

#[tokio::test]
async fn corrections_keypad_and_an_unparseable_time() {
    let (r, ticket) = run(&[
        say(COMPLAINT),
        say("I was charged twice."),
        say("Purple elephants."),
        say("Monday morning."),
        say("No, it's Wednesday morning."),
        say("Yes."),
        Turn::Keys("6502230456#".into()),
        Turn::Keys("1".into()),
    ])
    .await;
    let said = r.said.join(" | ");
    assert!(
        said.contains("Sorry, I did not catch that. When would you like us to call you back?"),
        "{said}"
    );
    assert!(
        said.contains("I have on Wednesday morning. Is that right?"),
        "{said}; heard {:?}",
        heard(&r)
    );
    let t = ticket.expect("ticket");
    let f = &t.draft.fields;
    assert_eq!(
        f[1].value.as_deref(),
        Some("2026-11-25T09:00:00-05:00/2026-11-25T12:00:00-05:00")
    );
    assert!(f[1].confirmed);
    assert_eq!(f[2].value.as_deref(), Some("+16502230456"));
    assert_eq!(f[2].raw.as_deref(), Some("keys 6502230456"));
}

#[tokio::test]
async fn silence_then_hang_up_mid_dialog() {
    let (r, ticket) = run(&[
        say(COMPLAINT),
        say("The engineer never came."),
        // Silent after the time question: asked again once...
        Turn::Silent(7_000),
        // ...and the caller hangs up instead of answering.
        Turn::HangUp,
    ])
    .await;
    assert!(
        r.said
            .iter()
            .any(|s| s == "Are you still there? When would you like us to call you back?"),
        "{:?}",
        r.said
    );
    assert!(!r.agent_hung_up);
    let t = ticket.expect("the ticket is filed although the caller hung up");
    let f = &t.draft.fields;
    assert_eq!(f[0].status, FieldStatus::Answered);
    assert_eq!(f[1].status, FieldStatus::Missing);
    assert_eq!(f[2].status, FieldStatus::Missing);
    assert!(t.draft.note.as_deref().unwrap().contains("hung up"));
}

#[test]
fn the_rehearse_command_explains_a_bad_turn() {
    let out = common::bin()
        .args([
            "rehearse",
            "--config",
            "examples/agent.toml",
            "say:hello",
            "shout:HELLO",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("say:WORDS, keys:DIGITS (0-9 * #), silent:MS or hangup"),
        "{err}"
    );
}
