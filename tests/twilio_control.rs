//! Twilio call control: the requests we build are checked against Twilio's own OpenAPI description
//! (`../shared/data/twilio_api_v2010.json`, operation `UpdateCall`), and sent to a fake Twilio on loopback
//! that answers like the real one: success, 5xx then success, a 404 with Twilio's error body, and silence.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchboard::providers::twilio::control::{CallUpdate, TwilioCalls, API_BASE};
use switchboard::providers::twilio::twiml;
use switchboard::providers::{ControlError, Patience, Provider};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const CALL: &str = "CAfedcba9876543210fedcba9876543210";
const TOKEN: &str = "test-auth-token";

fn matches_pattern(value: &str, pattern: &str) -> bool {
    // The spec's SID patterns are `^XX[0-9a-fA-F]{32}$`.
    let prefix = &pattern[1..3];
    assert!(pattern.ends_with("[0-9a-fA-F]{32}$"), "{pattern}");
    switchboard::providers::twilio::control::is_sid(value, prefix)
}

#[test]
fn update_call_requests_follow_twilios_openapi_description() {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(common::shared().join("data/twilio_api_v2010.json")).unwrap(),
    )
    .unwrap();
    let template = "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json";
    let op = &spec["paths"][template]["post"];
    assert_eq!(op["operationId"], "UpdateCall");
    assert_eq!(spec["servers"][0]["url"], API_BASE);
    let body = &op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
    let properties = body["properties"].as_object().unwrap();
    let statuses: Vec<&str> = spec["components"]["schemas"]["call_enum_update_status"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();

    let calls = TwilioCalls::new(API_BASE, ACCOUNT, TOKEN, Patience::default()).unwrap();
    let dial = twiml::dial_with_outcome(
        "+15550100001",
        Some("https://agent.example.com/twilio/whisper/CA1"),
        "https://agent.example.com/twilio/dial-result/CA1",
        "+15550100000",
        20,
    );
    for update in [CallUpdate::Twiml(dial), CallUpdate::Complete] {
        let request = calls.request(CALL, &update).unwrap();
        // The path is the template with each parameter matching its schema.
        let mut path = template.to_string();
        for p in op["parameters"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let value = match name {
                "AccountSid" => ACCOUNT,
                "Sid" => CALL,
                other => panic!("unexpected path parameter {other}"),
            };
            assert!(matches_pattern(
                value,
                p["schema"]["pattern"].as_str().unwrap()
            ));
            path = path.replace(&format!("{{{name}}}"), value);
        }
        assert_eq!(request.path, path);
        for (key, value) in &request.form {
            assert!(
                properties.contains_key(*key),
                "{key} is not an UpdateCall parameter"
            );
            if *key == "Status" {
                assert!(statuses.contains(&value.as_str()), "{value}");
            }
        }
        let keys: Vec<_> = request.form.iter().map(|(k, _)| *k).collect();
        assert!(
            !(keys.contains(&"Twiml") && keys.contains(&"Url")),
            "Twiml and Url are mutually exclusive"
        );
    }
    // Every DialCallStatus our action route understands is one of Twilio's call statuses.
    let call_statuses: Vec<&str> = spec["components"]["schemas"]["call_enum_status"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for status in switchboard::providers::twilio::control::DIAL_CALL_STATUSES {
        assert!(call_statuses.contains(&status), "{status}");
    }
    assert!(switchboard::providers::twilio::control::dial_bridged(
        "completed"
    ));
    assert!(!switchboard::providers::twilio::control::dial_bridged(
        "no-answer"
    ));
    // What the spec would refuse, we refuse before sending.
    assert!(matches!(
        calls.request("CA123", &CallUpdate::Complete),
        Err(ControlError::Invalid { .. })
    ));
    assert!(TwilioCalls::new(API_BASE, "AC-nope", TOKEN, Patience::default()).is_err());
}

/// A fake Twilio: checks the credentials and the path, then answers by the script, one entry per request.
async fn fake_twilio(script: Vec<(u16, &'static str, u64)>) -> (String, Arc<AtomicUsize>) {
    use axum::extract::{Form, Path};
    use axum::http::{HeaderMap, StatusCode};
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let script = Arc::new(script);
    let app = axum::Router::new().route(
        "/2010-04-01/Accounts/{account}/Calls/{call}",
        axum::routing::post(
            move |Path((account, call)): Path<(String, String)>,
                  headers: HeaderMap,
                  Form(form): Form<Vec<(String, String)>>| {
                let script = script.clone();
                let seen = seen.clone();
                async move {
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    use base64::Engine;
                    let expected = format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD
                            .encode(format!("{ACCOUNT}:{TOKEN}"))
                    );
                    if headers.get("authorization").and_then(|v| v.to_str().ok())
                        != Some(expected.as_str())
                    {
                        return (
                            StatusCode::UNAUTHORIZED,
                            r#"{"code":20003,"message":"Authenticate","status":401}"#.to_string(),
                        );
                    }
                    assert_eq!(account, ACCOUNT);
                    assert_eq!(call, format!("{CALL}.json"));
                    assert!(!form.is_empty());
                    let (status, body, delay_ms) = script[n.min(script.len() - 1)];
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    (StatusCode::from_u16(status).unwrap(), body.to_string())
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

const OK: &str = r#"{"sid":"CAfedcba9876543210fedcba9876543210","status":"in-progress","account_sid":"AC0123456789abcdef0123456789abcdef"}"#;

fn patience() -> Patience {
    Patience {
        attempts: 3,
        backoff: Duration::from_millis(20),
        timeout: Duration::from_millis(300),
    }
}

#[tokio::test]
async fn updates_are_retried_on_5xx_and_timeouts_but_not_on_refusals() {
    // 503, then success: one retry.
    let (url, hits) = fake_twilio(vec![(503, "busy", 0), (200, OK, 0)]).await;
    let calls = TwilioCalls::new(&url, ACCOUNT, TOKEN, patience()).unwrap();
    let call = calls.update(CALL, &CallUpdate::Complete).await.unwrap();
    assert_eq!(call.sid, CALL);
    assert_eq!(call.status, "in-progress");
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // A refusal is final and says what Twilio said.
    let (url, hits) = fake_twilio(vec![(
        404,
        r#"{"code":20404,"message":"The requested resource was not found","status":404}"#,
        0,
    )])
    .await;
    let calls = TwilioCalls::new(&url, ACCOUNT, TOKEN, patience()).unwrap();
    let err = calls
        .update(CALL, &CallUpdate::Twiml(twiml::hangup()))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ControlError::Refused {
            provider: Provider::Twilio,
            status: 404,
            code: Some(20404),
            message: "The requested resource was not found".into()
        }
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // Wrong credentials are a refusal too.
    let calls = TwilioCalls::new(&url, ACCOUNT, "wrong", patience()).unwrap();
    let err = calls.update(CALL, &CallUpdate::Complete).await.unwrap_err();
    assert!(
        err.to_string().contains("401") && err.to_string().contains("20003"),
        "{err}"
    );

    // Too slow every time: given up after the attempts, saying why.
    let (url, hits) = fake_twilio(vec![(200, OK, 2_000)]).await;
    let calls = TwilioCalls::new(&url, ACCOUNT, TOKEN, patience()).unwrap();
    let err = calls.update(CALL, &CallUpdate::Complete).await.unwrap_err();
    assert!(
        matches!(&err, ControlError::Unavailable { attempts: 3, last, .. } if last.contains("no answer within 300 ms")),
        "{err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    // Nobody listening.
    let calls = TwilioCalls::new("http://127.0.0.1:9", ACCOUNT, TOKEN, patience()).unwrap();
    let err = calls.update(CALL, &CallUpdate::Complete).await.unwrap_err();
    assert!(err.to_string().contains("cannot connect"), "{err}");
}
