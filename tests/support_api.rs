//! The Support API over real HTTP on loopback, served by `switchboard support` over a real database
//! (SQLite and PostgreSQL): bearer tokens with two roles, filters and paging, a ticket with its notes and
//! history, notes, status moves and assignment recorded under the token holder's name, and every mistake
//! answered with a JSON error that says what is wrong.

mod common;

use common::staff::{self, SupportNode, ADMIN_TOKEN, AGENT_TOKEN};
use serde_json::{json, Value};
use switchboard::tickets::database::Database;
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::{Category, TicketDraft, TicketKind};

fn draft(kind: TicketKind, category: Category, topic: &str, transcript: &str) -> TicketDraft {
    TicketDraft {
        kind,
        topic: Some(topic.into()),
        summary: format!("Caller ending in 56 calls about {topic}"),
        transcript: transcript.into(),
        fields: Vec::new(),
        caller: Some("+15550123456".into()),
        call_id: format!("CA-{topic}"),
        note: None,
        promise: None,
        awaiting_transfer: false,
        category,
        priority: Default::default(),
        topics: Vec::new(),
    }
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {status} {text:?}"));
    (status, value)
}

on_both_databases!(
    staff_work_tickets_through_the_api_sqlite,
    staff_work_tickets_through_the_api_postgres,
    staff_work_tickets_through_the_api
);

async fn staff_work_tickets_through_the_api(db: Database) {
    let store = TicketStore::open(&db).await.unwrap();
    let billing = store
        .file(&draft(
            TicketKind::Callback,
            Category::Accounting,
            "billing",
            "[00:02] you charged me twice for March",
        ))
        .await
        .unwrap();
    let cancel = store
        .file(&draft(
            TicketKind::Escalation,
            Category::Service,
            "cancellation",
            "[00:03] I want to cancel my contract",
        ))
        .await
        .unwrap();
    store.close().await;

    let node = SupportNode::start(&staff::config(
        &db,
        "[routing]\ndefault = [\"https://hooks.example.invalid/sb\"]\nwebhook_secret = \"0123456789abcdef\"",
    ));
    let c = reqwest::Client::new();
    let get = |path: &str, token: Option<&'static str>| {
        let (c, url) = (c.clone(), node.url(path));
        async move { call(&c, reqwest::Method::GET, url, token, None).await }
    };
    let post = |path: &str, token: Option<&'static str>, body: &'static str| {
        let (c, url) = (c.clone(), node.url(path));
        async move { call(&c, reqwest::Method::POST, url, token, Some(body)).await }
    };

    // Who may come in.
    let (status, body) = get("/api/tickets", None).await;
    assert_eq!(status, 401);
    assert!(body["error"].as_str().unwrap().contains("Bearer"), "{body}");
    assert_eq!(
        get("/api/tickets", Some("not-a-token-at-all-xx")).await.0,
        401
    );
    assert_eq!(
        get("/api/me", Some(AGENT_TOKEN)).await.1,
        json!({"name": "Maria", "role": "agent"})
    );

    // Lists, filters, paging.
    let (status, all) = get("/api/tickets", Some(AGENT_TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(all["total"], 2);
    assert_eq!(all["tickets"][0]["id"], cancel);
    let (_, found) = get("/api/tickets?category=accounting", Some(AGENT_TOKEN)).await;
    assert_eq!(found["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(found["tickets"][0]["id"], billing);
    let (_, found) = get(
        "/api/tickets?q=charged%20twice&kind=callback",
        Some(AGENT_TOKEN),
    )
    .await;
    assert_eq!(found["tickets"][0]["id"], billing);
    let (_, found) = get(
        "/api/tickets?topic=cancellation&status=open",
        Some(AGENT_TOKEN),
    )
    .await;
    assert_eq!(found["tickets"][0]["id"], cancel);
    let (_, found) = get("/api/tickets?limit=1&page=2", Some(AGENT_TOKEN)).await;
    assert_eq!(
        (found["tickets"][0]["id"].clone(), found["total"].clone()),
        (json!(billing), json!(2))
    );
    let (status, body) = get("/api/tickets?category=sales", Some(AGENT_TOKEN)).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("category"),
        "{body}"
    );
    assert_eq!(get("/api/tickets?limit=0", Some(AGENT_TOKEN)).await.0, 400);
    assert_eq!(
        get("/api/tickets?since=yesterday", Some(AGENT_TOKEN))
            .await
            .0,
        400
    );

    // Work on one.
    let t = format!("/api/tickets/{billing}");
    let (status, note) = post(
        &format!("{t}/notes"),
        Some(AGENT_TOKEN),
        r#"{"text":"Refund issued for the double charge."}"#,
    )
    .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["author"], "Maria");
    let (status, moved) = post(
        &format!("{t}/status"),
        Some(AGENT_TOKEN),
        r#"{"status":"in_progress"}"#,
    )
    .await;
    assert_eq!(
        (status, moved["status"].clone()),
        (200, json!("in_progress"))
    );
    let (status, refused) = post(
        &format!("{t}/status"),
        Some(AGENT_TOKEN),
        r#"{"status":"closed"}"#,
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("from in_progress it can go to open or resolved"),
        "{refused}"
    );
    assert_eq!(
        post(
            &format!("{t}/assign"),
            Some(ADMIN_TOKEN),
            r#"{"assignee":"Maria"}"#
        )
        .await
        .0,
        200
    );
    let (status, full) = get(&t, Some(AGENT_TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(full["status"], "in_progress");
    assert_eq!(full["assignee"], "Maria");
    assert_eq!(full["category"], "accounting");
    assert_eq!(
        full["notes"][0]["text"],
        "Refund issued for the double charge."
    );
    let history: Vec<(String, String)> = full["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["actor"].as_str().unwrap().to_string(),
                c["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("switchboard", "filed"),
            ("Maria", "note"),
            ("Maria", "status"),
            ("Lead", "assign")
        ]
        .map(|(a, c)| (a.to_string(), c.to_string()))
    );
    let (_, noted) = get("/api/tickets?q=refund", Some(AGENT_TOKEN)).await;
    assert_eq!(noted["tickets"][0]["id"], billing, "notes are searched");

    // Mistakes, each a JSON error.
    for (path, body, want) in [
        (format!("{t}/notes"), "{\"text\": \"\"}", 400),
        (format!("{t}/notes"), "not json", 400),
        (format!("{t}/notes"), "{\"txt\": \"typo\"}", 400),
        (format!("{t}/status"), "{\"status\": \"done\"}", 400),
        (
            "/api/tickets/999999/notes".to_string(),
            "{\"text\": \"hello\"}",
            404,
        ),
        (
            "/api/tickets/abc/status".to_string(),
            "{\"status\": \"open\"}",
            400,
        ),
        (
            format!("{t}/assign"),
            "{\"assignee\": \"bad\\u0007name\"}",
            400,
        ),
    ] {
        let (status, body) = call(
            &c,
            reqwest::Method::POST,
            node.url(&path),
            Some(AGENT_TOKEN),
            Some(body),
        )
        .await;
        assert_eq!(status, want, "{path} {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }
    assert_eq!(get("/api/tickets/999999", Some(AGENT_TOKEN)).await.0, 404);

    // The configuration is for admins, and never shows a token or a password.
    let (status, body) = get("/api/config", Some(AGENT_TOKEN)).await;
    assert_eq!(status, 403, "{body}");
    let (status, view) = get("/api/config", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(
        view["support"][0],
        json!({"name": "Maria", "role": "agent"})
    );
    assert_eq!(
        view["routing"]["categories"]["service"][0]["to"],
        "https://hooks.example.invalid/sb"
    );
    let text = view.to_string();
    assert!(
        !text.contains(AGENT_TOKEN) && !text.contains("0123456789abcdef"),
        "{text}"
    );
    assert!(!node.log().contains("panicked"));
}
