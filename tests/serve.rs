//! The live server over real sockets: `switchboard serve` on loopback, driven by a Twilio Media Streams peer
//! that plays espeak-generated mu-law calls in real time.

// The engine lock serialises whole tests (each owns its runtime and its server), so holding it across
// awaits is the point, not a hazard.
#![allow(clippy::await_holding_lock)]

mod common;

use std::time::Duration;

use common::live::{mulaw_call, Part, Server};
use serde_json::Value;
use switchboard::loadtest::peer::{play_twilio, Peer};
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::TicketKind;

fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

fn decisions(lines: &[Value]) -> Vec<(String, Option<String>)> {
    of_type(lines, "decision")
        .into_iter()
        .filter(|l| l["decision"] != "continue")
        .map(|l| {
            (
                l["decision"].as_str().unwrap_or_default().to_string(),
                l["topic"].as_str().map(str::to_string),
            )
        })
        .collect()
}

async fn tickets(server: &Server) -> Vec<switchboard::tickets::Ticket> {
    let store = TicketStore::open(&server.database()).await.expect("store");
    let list = store.list().await.expect("tickets");
    store.close().await;
    list
}

/// A caller who listens to the greeting, asks to cancel: greeted with audio, marks echoed, escalated with a
/// ticket and a transfer, the stream closed by the server once the announcement played; the JSONL has the
/// replay contract's lines, and the same audio replayed decides the same.
#[tokio::test(flavor = "multi_thread")]
async fn a_twilio_call_is_greeted_escalated_and_handed_over() {
    let _engines = common::engine_lock();
    let server = Server::start(&common::agent_toml("decide"));
    let (audio, _) = mulaw_call(&[
        Part::Silence(4_500),
        Part::Say("Hello. I would like to cancel my contract, please."),
        Part::Silence(1_000),
    ]);
    let mut peer = Peer::new("CA00000000000000000000000000000001", audio.clone());
    peer.linger = Duration::from_secs(12);
    let report = play_twilio(&server.ws("/twilio/stream"), peer).await;

    // The greeting arrived at once, as audio, and its mark came back.
    let first = report.first_media.expect("the agent spoke");
    assert!(first < Duration::from_secs(2), "greeting after {first:?}");
    assert!(report.media_bytes > 8_000, "{report:?}");
    assert!(
        report.marks_echoed.len() >= 2,
        "greeting and announcement marks echoed: {report:?}"
    );
    assert!(report.clears.is_empty(), "nobody talked over the agent");
    // Our part ended with the transfer: the server closed the stream.
    assert!(report.closed_by_server, "{report:?}");
    assert_eq!(report.close, Some((1000, "transferred".into())));

    let lines = server.events("CA00000000000000000000000000000001").await;
    let says: Vec<&str> = of_type(&lines, "say")
        .iter()
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert!(
        says[0].starts_with("Hello, thank you for calling"),
        "{says:?}"
    );
    let played = of_type(&lines, "played");
    assert_eq!(
        played.len(),
        2,
        "greeting and announcement heard: {lines:#?}"
    );
    assert_eq!(
        decisions(&lines),
        vec![("escalate".to_string(), Some("cancellation".to_string()))]
    );
    let transfer = of_type(&lines, "transfer");
    assert_eq!(transfer[0]["to"], "+15550100001");
    assert!(transfer[0]["summary"]
        .as_str()
        .unwrap_or_default()
        .contains("Caller ending in 00"));
    assert_eq!(
        of_type(&lines, "stream_end")[0]["reason"],
        "transferred",
        "{lines:#?}"
    );
    // Call times never go backwards between decisions and what follows.
    let ticket_line = of_type(&lines, "ticket")[0];
    let tickets = tickets(&server).await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(ticket_line["id"], tickets[0].id);
    assert_eq!(tickets[0].draft.kind, TicketKind::Escalation);
    assert_eq!(
        tickets[0].draft.call_id,
        "CA00000000000000000000000000000001"
    );

    // Operations saw it.
    let metrics = server.metrics().await;
    let value = |s: &str| common::live::metric_value(&metrics, s);
    assert_eq!(
        value("switchboard_decisions_total{decision=\"escalate\"}"),
        1.0
    );
    assert_eq!(
        value("switchboard_calls_total{provider=\"twilio\",reason=\"transferred\"}"),
        1.0
    );
    assert_eq!(value("switchboard_tickets_filed_total"), 1.0);
    assert_eq!(value("switchboard_active_calls"), 0.0);
    let health: Value = reqwest::get(server.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    // The Support section is served beside the calls.
    let login = reqwest::get(server.url("/support")).await.unwrap();
    assert_eq!(login.status(), 200);
    assert!(login.text().await.unwrap().contains("Your support token"));
    let api = reqwest::get(server.url("/api/tickets")).await.unwrap();
    assert_eq!(api.status(), 401);

    // Replay of the same audio decides the same.
    let wav = server.dir.path().join("same-call.wav");
    std::fs::write(
        &wav,
        switchboard::audio::wav::encode_g711_wav(
            switchboard::audio::g711::Law::MuLaw,
            8_000,
            &audio
                .iter()
                .map(|&c| f32::from(switchboard::audio::g711::mulaw_decode(c)) / 32_768.0)
                .collect::<Vec<_>>(),
        ),
    )
    .unwrap();
    let config = server.dir.path().join("agent.toml");
    let out = common::bin()
        .args(["replay", "--json", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(server.dir.path().join("replay.db"))
        .arg(&wav)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let replayed: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(decisions(&replayed), decisions(&lines));
}

/// A caller who talks over the greeting: the server clears playback while the caller is still speaking,
/// the log says what was cut, and the complaint is flagged; hanging up during the questions still files the
/// callback ticket with what was collected.
#[tokio::test(flavor = "multi_thread")]
async fn barge_in_clears_the_greeting_and_a_flagged_call_keeps_its_ticket() {
    let _engines = common::engine_lock();
    let server = Server::start(&common::agent_toml("decide"));
    let (audio, spans) = mulaw_call(&[
        Part::Silence(1_000),
        Part::Say("I want to make a formal complaint about your service."),
        Part::Silence(700),
    ]);
    let mut peer = Peer::new("CA00000000000000000000000000000002", audio);
    peer.linger = Duration::from_secs(4);
    let report = play_twilio(&server.ws("/twilio/stream"), peer).await;

    let (onset, speech_end) = spans[0];
    let clear = report.clears.first().expect("playback was cleared");
    let clear_ms = clear.as_millis() as u64;
    assert!(
        clear_ms > onset && clear_ms < speech_end,
        "clear at {clear_ms} ms, caller spoke {onset}..{speech_end} ms"
    );
    assert_eq!(report.close, Some((1000, "stopped".into())), "{report:?}");

    let lines = server.events("CA00000000000000000000000000000002").await;
    let barge = of_type(&lines, "barge_in");
    assert_eq!(barge.len(), 1, "{lines:#?}");
    assert!(barge[0]["text"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Hello, thank you for calling"));
    let heard_ms = barge[0]["heard_ms"].as_u64().expect("heard_ms");
    assert!(heard_ms < 2_000, "{heard_ms}");
    assert_eq!(
        decisions(&lines),
        vec![("flag".to_string(), Some("complaint".to_string()))]
    );
    // The caller hung up while being asked: the ticket is filed with the rest missing.
    let tickets = tickets(&server).await;
    assert_eq!(tickets.len(), 1, "{lines:#?}");
    let ticket = &tickets[0];
    assert_eq!(ticket.draft.kind, TicketKind::Callback);
    assert!(ticket
        .draft
        .note
        .as_deref()
        .unwrap_or_default()
        .contains("hung up"));
    assert_eq!(
        common::live::metric_value(&server.metrics().await, "switchboard_barge_ins_total"),
        1.0
    );
}
