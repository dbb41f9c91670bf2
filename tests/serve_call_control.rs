//! Call control on Telnyx, Vonage and Plivo, three calls at once on one server, each provider's REST API
//! faked on loopback: every escalation is dialed through its provider's API with the whisper URL it
//! needs, the whispers are served (Telnyx: a WAV in our voice; Vonage: a `talk` NCCO; Plivo: `<Dial>` XML
//! and a `<Speak>` confirm sound) only to who holds the transfer's key, and on Telnyx a transfer nobody
//! takes (a signed `call.hangup`) streams the caller back, where the same call offers a callback.

// The engine lock serialises whole calls (each owns its server): held across awaits on purpose.
#![allow(clippy::await_holding_lock)]

mod common;

use base64::Engine;
use common::dialects::{play, play_for, Dialect};
use common::fakes::{self, Answer};
use common::live::{cancel_after_greeting, Server};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};
use switchboard::audio::g711::mulaw_decode;
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::TicketKind;

const BASE: &str = "https://agent.example.com";
const TELNYX_CALL: &str = "v3:telnyx-call";
const VONAGE_CALL: &str = "63f61863-4a51-4f6b-86e1-46edebcf9356";
const PLIVO_CALL: &str = "d8a4c5f0-1e2b-4c3d-9e8f-000000000001";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn caller() -> Vec<f32> {
    cancel_after_greeting()
        .iter()
        .map(|&c| f32::from(mulaw_decode(c)) / 32_768.0)
        .collect()
}

/// A Telnyx webhook as Telnyx sends it: Ed25519 over `"{timestamp}|{body}"`.
async fn telnyx_event(server: &Server, event: &Value, signed: bool) -> u16 {
    let body = event.to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let mut request = reqwest::Client::new()
        .post(server.url("/telnyx/events"))
        .header("content-type", "application/json")
        .body(body.clone());
    if signed {
        let sig = key().sign(format!("{ts}|{body}").as_bytes());
        request = request
            .header("telnyx-timestamp", &ts)
            .header("telnyx-signature-ed25519", B64.encode(sig.to_bytes()));
    }
    request.send().await.unwrap().status().as_u16()
}

/// What a provider fetches from one of our URLs.
async fn fetch(server: &Server, url: &str, post: bool) -> reqwest::Response {
    let path = url.strip_prefix(BASE).expect("our public URL");
    let client = reqwest::Client::new();
    let request = if post {
        client.post(server.url(path))
    } else {
        client.get(server.url(path))
    };
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn telnyx_vonage_and_plivo_transfers_go_through_their_call_control() {
    let _engines = common::engine_lock();
    let telnyx = fakes::json_api(Answer::Ok, r#"{"data":{"result":"ok"}}"#).await;
    let vonage = fakes::json_api(Answer::Ok, r#"{"message":"Received"}"#).await;
    let plivo = fakes::json_api(Answer::Ok, r#"{"message":"call transferred"}"#).await;
    let public_key = B64.encode(key().verifying_key().to_bytes());
    let mut config = common::agent_toml("decide");
    config.push_str(&format!(
        "\n[server]\npublic_url = \"{BASE}\"\n\n\
         [providers.telnyx]\napi_key = \"KEYtest\"\napi_base = \"{}\"\npublic_key = \"{public_key}\"\n\n\
         [providers.vonage]\napi_key = \"eyJ.test.jwt\"\napi_base = \"{}\"\n\n\
         [providers.plivo]\nauth_id = \"MAXXXXXXXXXXXXXXXXXX\"\nauth_token = \"plivo-token\"\napi_base = \"{}\"\n",
        telnyx.url, vonage.url, plivo.url
    ));
    let server = Server::start(&config);
    let run = |dialect: Dialect, call: &'static str| {
        let url = server.ws(dialect.route());
        let audio = caller();
        let audio = if matches!(dialect, Dialect::Vonage) {
            switchboard::audio::resample::resample(8_000, 16_000, &audio).unwrap()
        } else {
            audio
        };
        tokio::spawn(play(url, dialect, call, audio))
    };
    let calls = [
        run(Dialect::Telnyx, TELNYX_CALL),
        run(Dialect::Vonage, VONAGE_CALL),
        run(Dialect::Plivo, PLIVO_CALL),
    ];
    for c in calls {
        let outcome = c.await.unwrap();
        assert_eq!(outcome.close, Some(1000), "our part ends with the transfer");
    }

    // Telnyx: the transfer names the target, the whisper audio and where to report.
    let sent = telnyx.received();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].path,
        format!("POST /v2/calls/{TELNYX_CALL}/actions/transfer")
    );
    assert_eq!(sent[0].authorization.as_deref(), Some("Bearer KEYtest"));
    let body = sent[0].json.clone().unwrap();
    assert_eq!(body["to"], "+15550100001");
    assert_eq!(body["from"], "+15550100000");
    assert_eq!(body["webhook_url"], format!("{BASE}/telnyx/events"));
    let audio_url = body["audio_url"].as_str().unwrap().to_string();
    assert!(audio_url.starts_with(&format!("{BASE}/telnyx/whisper/{TELNYX_CALL}.wav?key=")));
    let wav = fetch(&server, &audio_url, false).await;
    assert_eq!(wav.status(), 200);
    let wav = wav.bytes().await.unwrap();
    assert!(
        wav.starts_with(b"RIFF") && wav.len() > 16_000,
        "{} bytes",
        wav.len()
    );
    let guessed = audio_url.split("?key=").next().unwrap().to_string() + "?key=guess";
    assert_eq!(fetch(&server, &guessed, false).await.status(), 404);

    // Vonage: the call is transferred to an NCCO that connects the number, whisper on answer.
    let sent = vonage.received();
    assert_eq!(sent[0].path, format!("PUT /v1/calls/{VONAGE_CALL}"));
    assert_eq!(
        sent[0].authorization.as_deref(),
        Some("Bearer eyJ.test.jwt")
    );
    let connect = &sent[0].json.as_ref().unwrap()["destination"]["ncco"][0];
    assert_eq!(connect["endpoint"][0]["number"], "15550100001");
    let on_answer = connect["endpoint"][0]["onAnswer"]["url"].as_str().unwrap();
    let ncco: Value = fetch(&server, on_answer, false).await.json().await.unwrap();
    assert_eq!(ncco[0]["action"], "talk");
    assert!(
        ncco[0]["text"]
            .as_str()
            .unwrap()
            .contains("calls about contract cancellation request"),
        "{ncco}"
    );

    // Plivo: the caller's leg is sent to our Dial XML, whose confirm sound is the summary.
    let sent = plivo.received();
    assert_eq!(
        sent[0].path,
        format!("POST /v1/Account/MAXXXXXXXXXXXXXXXXXX/Call/{PLIVO_CALL}/")
    );
    assert!(sent[0]
        .authorization
        .as_deref()
        .unwrap()
        .starts_with("Basic "));
    let aleg = sent[0].json.as_ref().unwrap()["aleg_url"]
        .as_str()
        .unwrap()
        .to_string();
    let dial = fetch(&server, &aleg, true).await.text().await.unwrap();
    assert!(dial.contains("<Number>15550100001</Number>"), "{dial}");
    let confirm = dial
        .split("confirmSound=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let speak = fetch(&server, &confirm, true).await.text().await.unwrap();
    assert!(
        speak.contains("calls about contract cancellation request")
            && speak.contains("<Speak>Press 1 to take the call.</Speak>"),
        "{speak}"
    );

    // Telnyx reports, signed, that the target was busy: unsigned reports are refused.
    let hangup = json!({"data": {"event_type": "call.hangup", "payload": {
        "call_control_id": "v3:leg-b", "client_state": B64.encode(TELNYX_CALL),
        "hangup_cause": "user_busy"}}});
    assert_eq!(telnyx_event(&server, &hangup, false).await, 403);
    assert_eq!(telnyx_event(&server, &hangup, true).await, 200);
    // The caller's leg is streamed back to us...
    let sent = telnyx.received();
    assert_eq!(
        sent.last().unwrap().path,
        format!("POST /v2/calls/{TELNYX_CALL}/actions/streaming_start")
    );
    assert_eq!(
        sent.last().unwrap().json.as_ref().unwrap()["stream_url"],
        "wss://agent.example.com/telnyx/stream"
    );
    // ... where the same call goes on: the agent offers a callback, the caller hangs up.
    let silence = vec![0.0f32; 8_000 * 12];
    let back = play_for(
        server.ws("/telnyx/stream"),
        Dialect::Telnyx,
        TELNYX_CALL,
        silence,
        0,
    )
    .await;
    assert!(back.audio_bytes > 16_000, "the agent spoke again");
    let lines = server.events_of_streams(TELNYX_CALL, 2).await;
    assert!(
        lines.iter().any(|l| l["type"] == "say"
            && l["text"] == "I'm sorry, nobody could take your call right now."),
        "{lines:#?}"
    );

    let store = TicketStore::open(&server.database()).await.unwrap();
    let mut by_call = std::collections::BTreeMap::new();
    for t in store.list().await.unwrap() {
        let t = store.get(t.id).await.unwrap();
        by_call
            .entry(t.draft.call_id.clone())
            .or_insert_with(Vec::new)
            .push(t);
    }
    let telnyx_tickets = &by_call[TELNYX_CALL];
    let kinds: Vec<_> = telnyx_tickets.iter().map(|t| t.draft.kind).collect();
    assert_eq!(kinds, [TicketKind::Callback, TicketKind::Escalation]);
    let escalation = &telnyx_tickets[1];
    assert_eq!(escalation.attempts[0].outcome.as_deref(), Some("busy"));
    assert!(telnyx_tickets[0]
        .draft
        .note
        .as_deref()
        .unwrap()
        .contains("(busy)"));
    for call in [VONAGE_CALL, PLIVO_CALL] {
        let t = &by_call[call];
        assert_eq!(t.len(), 1, "{t:#?}");
        assert_eq!(t[0].transfer_status.as_deref(), Some("handed-over"));
    }
}
