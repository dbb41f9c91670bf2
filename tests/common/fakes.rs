//! Providers' HTTP APIs on loopback, answering like the real ones: Twilio's Calls resource, Telnyx's call
//! commands, and an OpenAI-compatible chat endpoint. Each records what it was sent and answers by script:
//! success, 5xx, or too slowly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

/// How a fake answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    Ok,
    /// 503 to every request.
    Down,
    /// Answers, but only after this long.
    Slow(Duration),
}

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub form: Vec<(String, String)>,
    pub json: Option<serde_json::Value>,
}

impl Received {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
struct Fake {
    answer: Answer,
    body: String,
    seen: Arc<Mutex<Vec<Received>>>,
}

/// A running fake: its base URL and what it has received.
pub struct FakeApi {
    pub url: String,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl FakeApi {
    pub fn received(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn answer(fake: &Fake) -> (StatusCode, String) {
    match fake.answer {
        Answer::Ok => (StatusCode::OK, fake.body.clone()),
        Answer::Down => (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"code":20500,"message":"Service Unavailable","status":503}"#.into(),
        ),
        Answer::Slow(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, fake.body.clone())
        }
    }
}

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Twilio's `UpdateCall`: `POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json`, form-encoded.
pub async fn twilio(answer_with: Answer) -> FakeApi {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fake = Fake {
        answer: answer_with,
        body: String::new(),
        seen: seen.clone(),
    };
    let app = Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Calls/{call}",
            post(
                |State(fake): State<Fake>,
                 Path((account, call)): Path<(String, String)>,
                 headers: HeaderMap,
                 Form(form): Form<Vec<(String, String)>>| async move {
                    fake.seen.lock().unwrap().push(Received {
                        path: format!("/2010-04-01/Accounts/{account}/Calls/{call}"),
                        authorization: authorization(&headers),
                        form,
                        json: None,
                    });
                    let sid = call.trim_end_matches(".json");
                    let fake = Fake {
                        body: format!(
                            r#"{{"sid":"{sid}","status":"in-progress","account_sid":"{account}"}}"#
                        ),
                        ..fake
                    };
                    answer(&fake).await
                },
            ),
        )
        .with_state(fake);
    FakeApi {
        url: serve(app).await,
        seen,
    }
}

/// A JSON API answering every path and method (Telnyx's call commands, Vonage's and Plivo's calls):
/// records the method and path, answers `ok_body` when it is up.
pub async fn json_api(answer_with: Answer, ok_body: &str) -> FakeApi {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fake = Fake {
        answer: answer_with,
        body: ok_body.into(),
        seen: seen.clone(),
    };
    let app = Router::new()
        .fallback(
            |State(fake): State<Fake>,
             method: axum::http::Method,
             uri: axum::http::Uri,
             headers: HeaderMap,
             body: axum::body::Bytes| async move {
                fake.seen.lock().unwrap().push(Received {
                    path: format!("{method} {}", uri.path()),
                    authorization: authorization(&headers),
                    form: Vec::new(),
                    json: serde_json::from_slice(&body).ok(),
                });
                answer(&fake).await
            },
        )
        .with_state(fake);
    FakeApi {
        url: serve(app).await,
        seen,
    }
}

/// An OpenAI-compatible `POST /v1/chat/completions` that answers `content`.
pub async fn llm(answer_with: Answer, content: &str) -> FakeApi {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let body = serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "fake",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
    })
    .to_string();
    let fake = Fake {
        answer: answer_with,
        body,
        seen: seen.clone(),
    };
    let app = Router::new()
        .route(
            "/v1/chat/completions",
            post(
                |State(fake): State<Fake>,
                 headers: HeaderMap,
                 axum::Json(json): axum::Json<serde_json::Value>| async move {
                    fake.seen.lock().unwrap().push(Received {
                        path: "/v1/chat/completions".into(),
                        authorization: authorization(&headers),
                        form: Vec::new(),
                        json: Some(json),
                    });
                    answer(&fake).await
                },
            ),
        )
        .with_state(fake);
    FakeApi {
        url: serve(app).await,
        seen,
    }
}
