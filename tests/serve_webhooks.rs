//! Twilio's webhooks and stream authentication, checked against the PyPI `twilio` package's
//! `RequestValidator` (an independent implementation of `X-Twilio-Signature`), and the drain on shutdown.

// The engine lock serialises whole tests (each owns its runtime and its server), so holding it across
// awaits is the point, not a hazard.
#![allow(clippy::await_holding_lock)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::live::{cancel_after_greeting, metric_value, mulaw_call, Part, Server};
use switchboard::loadtest::peer::{play_twilio, Peer};

const TOKEN: &str = "12345678901234567890123456789012";
const BASE: &str = "https://agent.example.com";
const CALL: &str = "CA11111111111111111111111111111111";

/// The signature the `twilio` package computes for a request.
fn twilio_signature(url: &str, params: &[(&str, &str)]) -> String {
    let script = "import json, sys\n\
                  from twilio.request_validator import RequestValidator\n\
                  url, params = sys.argv[1], json.loads(sys.argv[2])\n\
                  print(RequestValidator(sys.argv[3]).compute_signature(url, params))";
    let params: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    let out = Command::new(common::peers_python())
        .args([
            "-c",
            script,
            url,
            &serde_json::Value::Object(params).to_string(),
            TOKEN,
        ])
        .output()
        .expect("run python");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn post(
    server: &Server,
    path: &str,
    params: &[(&str, &str)],
    signature: Option<&str>,
) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            params
                .iter()
                .map(|(k, v)| format!("{k}={}", v.replace('+', "%2B")))
                .collect::<Vec<_>>()
                .join("&"),
        );
    if let Some(s) = signature {
        request = request.header("X-Twilio-Signature", s);
    }
    let response = request.send().await.expect("POST");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn config() -> String {
    let mut c = common::agent_toml("decide");
    c.push_str(&format!(
        "\n[server]\npublic_url = \"{BASE}\"\n\n[providers.twilio]\nauth_token = \"{TOKEN}\"\nstream_token = \"stream-secret\"\n"
    ));
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn twilio_webhooks_are_signed_and_streams_need_their_token() {
    let _engines = common::engine_lock();
    let server = Server::start(&config());
    let params = [
        ("CallSid", CALL),
        ("From", "+15550142000"),
        ("To", "+15550100000"),
        ("AccountSid", "AC11111111111111111111111111111111"),
    ];

    // Unsigned and wrongly signed requests are refused and counted.
    assert_eq!(post(&server, "/twilio/voice", &params, None).await.0, 403);
    let wrong = twilio_signature(&format!("{BASE}/twilio/other"), &params);
    assert_eq!(
        post(&server, "/twilio/voice", &params, Some(&wrong))
            .await
            .0,
        403
    );
    let metrics = server.metrics().await;
    for reason in ["unsigned", "bad_signature"] {
        let series = format!(
            "switchboard_refused_requests_total{{route=\"twilio_voice\",reason=\"{reason}\"}}"
        );
        assert_eq!(metric_value(&metrics, &series), 1.0, "{series}");
    }

    // Signed by the twilio package: answered with <Connect><Stream> to our route, ids as parameters.
    let signature = twilio_signature(&format!("{BASE}/twilio/voice"), &params);
    let (status, twiml) = post(&server, "/twilio/voice", &params, Some(&signature)).await;
    assert_eq!(status, 200, "{twiml}");
    assert!(
        twiml.contains(&format!("<Connect action=\"{BASE}/twilio/after-stream\">")),
        "{twiml}"
    );
    assert!(
        twiml.contains("<Stream url=\"wss://agent.example.com/twilio/stream\">"),
        "{twiml}"
    );
    assert!(
        twiml.contains(&format!("<Parameter name=\"call_sid\" value=\"{CALL}\"/>")),
        "{twiml}"
    );
    assert!(
        twiml.contains("<Parameter name=\"from\" value=\"+15550142000\"/>"),
        "{twiml}"
    );
    assert!(
        twiml.contains("<Parameter name=\"token\" value=\"stream-secret\"/>"),
        "{twiml}"
    );

    // Streams: a wrong token is refused at the handshake; no token at all ends the stream at its start.
    let refused = tokio_tungstenite::connect_async(server.ws("/twilio/stream?token=guess")).await;
    assert!(refused.is_err(), "a wrong stream token must be refused");
    let (audio, _) = mulaw_call(&[Part::Silence(500)]);
    let anonymous = play_twilio(
        &server.ws("/twilio/stream"),
        Peer::new("CA-anonymous", audio),
    )
    .await;
    assert_eq!(anonymous.close.map(|c| c.0), Some(1008));
    assert_eq!(
        anonymous.media_bytes, 0,
        "nothing is said to an unauthenticated stream"
    );

    // With the token Twilio got from our TwiML, a call escalates; Twilio then asks what follows the stream
    // and is told to dial, with the summary spoken to the person who answers.
    let audio = cancel_after_greeting();
    let mut peer = Peer::new(CALL, audio);
    peer.parameters = vec![("token".into(), "stream-secret".into())];
    peer.linger = Duration::from_secs(10);
    let report = play_twilio(&server.ws("/twilio/stream"), peer).await;
    assert_eq!(
        report.close,
        Some((1000, "transferred".into())),
        "{report:?}"
    );

    let after = [("CallSid", CALL), ("CallStatus", "in-progress")];
    let signature = twilio_signature(&format!("{BASE}/twilio/after-stream"), &after);
    let (status, dial) = post(&server, "/twilio/after-stream", &after, Some(&signature)).await;
    assert_eq!(status, 200, "{dial}");
    assert!(
        dial.contains(&format!(
            "<Dial callerId=\"+15550100000\" timeout=\"20\" action=\"{BASE}/twilio/dial-result/{CALL}?attempt=1\">\
             <Number url=\"{BASE}/twilio/whisper/{CALL}\">+15550100001</Number></Dial>"
        )),
        "{dial}"
    );
    let whisper_url = format!("{BASE}/twilio/whisper/{CALL}");
    let signature = twilio_signature(&whisper_url, &[]);
    let whisper = reqwest::Client::new()
        .get(server.url(&format!("/twilio/whisper/{CALL}")))
        .header("X-Twilio-Signature", signature)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        whisper
            .contains("<Say>Caller ending in 00 calls about contract cancellation request: &quot;"),
        "{whisper}"
    );

    // Any other call that ends is hung up.
    let other = [("CallSid", "CA22222222222222222222222222222222")];
    let signature = twilio_signature(&format!("{BASE}/twilio/after-stream"), &other);
    let (_, hangup) = post(&server, "/twilio/after-stream", &other, Some(&signature)).await;
    assert!(hangup.contains("<Hangup/>"), "{hangup}");
}

/// SIGTERM drains: new streams and health checks are refused at once, the call in progress is given
/// `drain_seconds`, then ended (close 1001) with the ticket it was owed filed, and the process exits cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn shutdown_drains_calls_then_ends_them_with_their_tickets() {
    let _engines = common::engine_lock();
    let mut config = common::agent_toml("decide");
    config.push_str("\n[server]\npublic_url = \"https://agent.example.com\"\ndrain_seconds = 3\n");
    let mut server = Server::start(&config);
    // A complaint, then silence while the agent asks its questions.
    let (audio, _) = mulaw_call(&[
        Part::Silence(4_500),
        Part::Say("I want to make a formal complaint about your service."),
        Part::Silence(1_000),
    ]);
    let mut peer = Peer::new("CA-draining", audio);
    peer.linger = Duration::from_secs(30);
    let url = server.ws("/twilio/stream");
    let call = tokio::spawn(async move { play_twilio(&url, peer).await });
    // Wait until the call is flagged and the agent is asking.
    let events = server.dir.path().join("calls/CA-draining.jsonl");
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    while !std::fs::read_to_string(&events)
        .unwrap_or_default()
        .contains("\"decision\":\"flag\"")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the call was never flagged"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health = server.url("/healthz");
    let stream = server.ws("/twilio/stream");
    let addr = server.addr;
    let terminate = tokio::task::spawn_blocking(move || {
        server
            .terminate(Duration::from_secs(20))
            .map(|s| (s, server))
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let draining = reqwest::get(&health)
        .await
        .expect("still serving while draining");
    assert_eq!(draining.status().as_u16(), 503);
    assert!(
        tokio_tungstenite::connect_async(&stream).await.is_err(),
        "new streams are refused while draining"
    );

    let report = call.await.unwrap();
    assert_eq!(report.close.as_ref().map(|c| c.0), Some(1001), "{report:?}");
    let (status, server) = terminate
        .await
        .unwrap()
        .expect("the server exits after the drain");
    assert!(status.success(), "{status:?}\n{}", server.log());
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "nothing listens any more"
    );
    let lines = std::fs::read_to_string(&events).unwrap();
    assert!(lines.contains("\"type\":\"ticket\""), "{lines}");
    assert!(lines.contains("\"reason\":\"shutdown\""), "{lines}");
}
