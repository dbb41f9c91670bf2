//! One full callback over the live Twilio route, audio both ways: `switchboard serve` (Piper voice) and
//! the independent Twilio Media Streams peer of `../shared/peers/twilio_peer.py`, which plays the caller in
//! real time, echoes marks, and answers each question once the agent has finished asking it, by voice
//! (espeak-ng over mu-law) or by keypad. The resulting ticket is read from the server's SQLite store.

// The engine lock is held across awaits on purpose: it serialises whole calls, not a critical section.
#![allow(clippy::await_holding_lock)]

mod common;

use std::path::Path;
use std::process::Command;

use common::live::{mulaw_call, Part, Server};
use switchboard::audio::g711::Law;
use switchboard::audio::wav::encode_g711_wav;
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::FieldStatus;

/// Writes a caller's audio as a mu-law WAV the peer can play.
fn wav(dir: &Path, name: &str, parts: &[Part]) -> String {
    let (codes, _) = mulaw_call(parts);
    let mut samples = Vec::with_capacity(codes.len());
    Law::MuLaw.decode_into(&codes, &mut samples);
    let path = dir.join(format!("{name}.wav"));
    std::fs::write(&path, encode_g711_wav(Law::MuLaw, 8_000, &samples)).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_over_twilio_asks_understands_confirms_and_files() {
    let _engines = common::engine_lock();
    let server = Server::start(&common::agent_toml("flag"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The greeting plays first (about 4 s); then the caller complains.
    let opening = wav(
        d,
        "opening",
        &[
            Part::Silence(5_500),
            Part::Say("I want to make a formal complaint about your service."),
            Part::Silence(300),
        ],
    );
    let reason = wav(
        d,
        "reason",
        &[Part::Say("My internet connection keeps dropping.")],
    );
    let time = wav(d, "time", &[Part::Say("Tomorrow after three p.m.")]);
    let yes = wav(d, "yes", &[Part::Say("Yes.")]);
    let peer = common::shared().join("peers/twilio_peer.py");
    let out = tokio::task::spawn_blocking({
        let url = server.ws("/twilio/stream");
        move || {
            Command::new(common::peers_python())
                .arg(peer)
                .arg(url)
                .arg(opening)
                .args(["--tail", "10", "--from", "+15550188888", "--answers"])
                .arg(format!("wav:{reason}"))
                .arg(format!("wav:{time}"))
                .arg(format!("wav:{yes}"))
                .arg("dtmf:4158673921#")
                .arg("dtmf:1")
                .output()
                .expect("run the Twilio peer")
        }
    })
    .await
    .unwrap();
    let report: serde_json::Value = serde_json::from_slice(
        out.stdout
            .split(|b| *b == b'\n')
            .rfind(|l| l.starts_with(b"{"))
            .unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("peer output: {e}: {out:?}"));
    let call_id = "CA".to_string() + &"b".repeat(32);
    let lines = server.events(&call_id).await;
    let said: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "say")
        .filter_map(|l| l["text"].as_str())
        .collect();
    let heard: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "transcript")
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert_eq!(
        report["answers_played"], 5,
        "{report}\nsaid {said:#?}\nheard {heard:#?}"
    );
    // The peer notices the close in its reader or, mid-send, as an error carrying our close frame.
    let closed = report["closed_by_server"] == true
        || report["error"]
            .as_str()
            .is_some_and(|e| e.contains("reason='completed'"));
    assert!(
        closed,
        "the agent ends the call after its goodbye: {report}"
    );
    assert!(report["marks_echoed"].as_u64().unwrap() >= 8, "{report}");
    let end = lines.iter().rfind(|l| l["type"] == "stream_end").unwrap();
    assert_eq!(end["reason"], "completed", "{end}");

    let store = TicketStore::open(&server.database()).await.unwrap();
    let tickets = store.list().await.unwrap();
    assert_eq!(tickets.len(), 1, "said {said:#?}\nheard {heard:#?}");
    let t = &tickets[0].draft;
    let f = &t.fields;
    assert_eq!(f[0].status, FieldStatus::Answered, "{f:#?}");
    assert!(
        f[0].value
            .as_deref()
            .unwrap()
            .to_lowercase()
            .contains("internet"),
        "{f:#?}"
    );
    assert_eq!(
        f[1].spoken.as_deref(),
        Some("tomorrow after 3 pm"),
        "{f:#?}"
    );
    assert!(
        f[1].value.as_deref().unwrap().contains("T15:00:00"),
        "{f:#?}"
    );
    assert!(f[1].confirmed);
    assert_eq!(f[2].value.as_deref(), Some("+14158673921"), "{f:#?}");
    assert_eq!(f[2].raw.as_deref(), Some("keys 4158673921"));
    assert!(f[2].confirmed);
    assert_eq!(
        t.promise.as_deref(),
        Some("Thank you. Your request is recorded and we will call you back tomorrow after 3 pm.")
    );
    assert!(server.log().contains("speech: piper"), "{}", server.log());
}
