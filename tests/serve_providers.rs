//! Telnyx, Vonage, Plivo and Exotel over their own routes, four calls at once on one server: each caller is
//! greeted in the provider's own format and frame sizes, asks to cancel, and is escalated with a ticket,
//! exactly as on Twilio.

// The engine lock serialises whole tests (each owns its runtime and its server), so holding it across
// awaits is the point, not a hazard.
#![allow(clippy::await_holding_lock)]

mod common;

use common::dialects::{play, Dialect};
use common::live::{cancel_after_greeting, Server};
use serde_json::Value;
use switchboard::audio::g711::mulaw_decode;

#[tokio::test(flavor = "multi_thread")]
async fn every_provider_route_carries_a_whole_call() {
    let _engines = common::engine_lock();
    let server = Server::start(&common::agent_toml("decide"));
    let mulaw = cancel_after_greeting();
    let at_8k: Vec<f32> = mulaw
        .iter()
        .map(|&c| f32::from(mulaw_decode(c)) / 32_768.0)
        .collect();
    let at_16k = switchboard::audio::resample::resample(8_000, 16_000, &at_8k).unwrap();
    let calls = [
        (Dialect::Telnyx, "v3:telnyx-call"),
        (Dialect::Vonage, "vonage-call"),
        (Dialect::Plivo, "plivo-call"),
        (Dialect::Exotel, "exotel-call"),
    ];
    let mut running = Vec::new();
    for (dialect, call) in calls {
        let audio = if dialect.rate() == 16_000 {
            at_16k.clone()
        } else {
            at_8k.clone()
        };
        running.push(tokio::spawn(play(
            server.ws(dialect.route()),
            dialect,
            call,
            audio,
        )));
    }
    for ((dialect, call), task) in calls.into_iter().zip(running) {
        let outcome = task.await.unwrap();
        let route = dialect.route();
        // The greeting (about 3.5 s) and the announcement came back as audio.
        let seconds = outcome.audio_bytes as f64
            / (dialect.rate() as f64
                * if matches!(dialect, Dialect::Telnyx | Dialect::Plivo) {
                    1.0
                } else {
                    2.0
                });
        assert!(seconds > 3.0, "{route}: {seconds:.1} s of agent audio");
        assert_eq!(
            outcome.close,
            Some(1000),
            "{route}: closed after the transfer"
        );
        let lines = server.events(&call.replace(':', "_")).await;
        let decided: Vec<&Value> = lines
            .iter()
            .filter(|l| l["type"] == "decision" && l["decision"] != "continue")
            .collect();
        assert_eq!(decided.len(), 1, "{route}: {lines:#?}");
        assert_eq!(decided[0]["decision"], "escalate", "{route}");
        assert!(lines.iter().any(|l| l["type"] == "ticket"), "{route}");
        assert!(
            lines
                .iter()
                .any(|l| l["type"] == "stream_end" && l["reason"] == "transferred"),
            "{route}: {lines:#?}"
        );
    }
    assert!(!server.log().contains("panicked"));
}
