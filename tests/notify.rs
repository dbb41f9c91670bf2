//! Notifications leave through the outbox: a real SMTP server (aiosmtpd) and a webhook receiver on
//! loopback, delivered by `switchboard support` processes. Nothing is dropped while a recipient is down,
//! delivery resumes when it recovers and after the node is killed and restarted, webhooks are signed and
//! keep their idempotency key across retries, and two nodes sharing PostgreSQL send each notification
//! once.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::receivers::{SmtpServer, WebhookReceiver};
use common::staff::{self, SupportNode};
use hmac::{Hmac, KeyInit, Mac};
use switchboard::tickets::database::Database;
use switchboard::tickets::outbox::OutboxItem;
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::{Category, TicketDraft, TicketKind};

const SECRET: &str = "whsec-0123456789abcdef";

fn draft(category: Category, call: &str) -> TicketDraft {
    TicketDraft {
        kind: TicketKind::Escalation,
        topic: Some("cancellation".into()),
        summary: "Caller ending in 56 wants to cancel, sounding upset".into(),
        transcript: "[00:03] I want to cancel my contract".into(),
        fields: Vec::new(),
        caller: Some("+15550123456".into()),
        call_id: call.into(),
        note: None,
        promise: None,
        awaiting_transfer: true,
        category,
        priority: switchboard::tickets::Priority::Urgent,
        topics: Vec::new(),
    }
}

fn routing(smtp_port: u16, webhook: &str) -> String {
    format!(
        "[routing]\nservice = [\"support@example.com\", \"{webhook}\"]\ndefault = [\"manager@example.com\"]\nwebhook_secret = \"{SECRET}\"\n\n[routing.smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\nfrom = \"switchboard@example.com\"\n"
    )
}

/// The store a call server would file through: same config, same routing.
async fn filing_store(config: &str) -> TicketStore {
    let c = switchboard::config::parse(config, "agent.toml")
        .unwrap()
        .config;
    TicketStore::open(&c.tickets_database)
        .await
        .unwrap()
        .with_routing(c.routing.unwrap().routing)
}

/// Waits until every notification is sent; returns them.
async fn all_sent(store: &TicketStore, limit: Duration) -> Vec<OutboxItem> {
    let started = Instant::now();
    loop {
        let items = store.notifications(None).await.unwrap();
        if !items.is_empty() && items.iter().all(|i| i.state == "sent") {
            return items;
        }
        assert!(
            started.elapsed() < limit,
            "not all sent within {limit:?}: {items:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn check_signature(hook: &common::receivers::Hook) {
    let header = hook.headers["x-switchboard-signature"].to_str().unwrap();
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .expect("t=...,v1=...");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", hook.body).as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, want, "signature over t.body");
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap();
    assert!((0..120).contains(&age), "a fresh timestamp: {age}");
}

#[tokio::test]
async fn notifications_survive_outages_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::Sqlite(dir.path().join("tickets.db"));
    let maildir = dir.path().join("mail");
    let mut smtp = SmtpServer::reserved(&maildir); // down from the start
    let hooks = WebhookReceiver::start(2).await; // 503, 503, then 200
    let config = staff::config(&db, &routing(smtp.port, &hooks.url));
    let store = filing_store(&config).await;

    let node = SupportNode::start(&config);
    let service = store
        .file(&draft(Category::Service, "CA-svc"))
        .await
        .unwrap();
    let other = store
        .file(&draft(Category::Other, "CA-other"))
        .await
        .unwrap();
    let queued = store.notifications(None).await.unwrap();
    let recipients: Vec<(i64, &str)> = queued
        .iter()
        .map(|i| (i.ticket_id, i.recipient.as_str()))
        .collect();
    assert_eq!(
        recipients,
        [
            (service, "support@example.com"),
            (service, hooks.url.as_str()),
            (other, "manager@example.com"),
        ],
        "the category's recipients, the default for a category with none"
    );

    // The webhook is retried until it answers, with the same key, signed each time.
    assert!(
        common::receivers::eventually(Duration::from_secs(30), || hooks.received().len() >= 3)
            .await,
        "webhook retried: {}",
        node.log()
    );
    let got = hooks.received();
    let keys: HashSet<&str> = got
        .iter()
        .map(|h| h.headers["idempotency-key"].to_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 1, "one key across retries");
    for h in &got {
        check_signature(h);
        assert_eq!(h.headers["x-switchboard-event"], "ticket.filed");
    }
    let notice: serde_json::Value = serde_json::from_str(&got[2].body).unwrap();
    assert_eq!(notice["ticket_id"], service);
    assert_eq!(notice["category"], "service");
    assert_eq!(notice["priority"], "urgent");
    // Retries wait longer each time: 1 s, then 2 s.
    assert!(got[2].at - got[1].at > got[1].at - got[0].at);

    // The mail server is still down: the mails wait, each try recorded.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let waiting: Vec<OutboxItem> = store
        .notifications(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.channel == "email")
        .collect();
    // While the server is down one mail tries per wait and the others wait with it.
    assert!(waiting.iter().all(|i| i.state == "pending"), "{waiting:#?}");
    let tried: Vec<&OutboxItem> = waiting.iter().filter(|i| i.attempts >= 1).collect();
    assert!(!tried.is_empty(), "{waiting:#?}");
    assert!(
        tried[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("e-mail"),
        "{waiting:#?}"
    );

    // The node dies with mail owed; the mail server comes back; a new node delivers it.
    let dir_kept = node.kill();
    smtp.start();
    let recovered = Instant::now();
    let node = SupportNode::start_in(dir_kept);
    let sent = all_sent(&store, Duration::from_secs(60)).await;
    eprintln!(
        "mail delivered {:.1} s after the SMTP server came back (restarted node)",
        recovered.elapsed().as_secs_f64()
    );
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "each mail once: {mails:#?}");
    let to_support = mails
        .iter()
        .find(|m| m.contains("To: support@example.com"))
        .expect("the service mail");
    assert!(
        to_support.contains(&format!(
            "Subject: [service urgent] escalation #{service}: cancellation"
        )),
        "{to_support}"
    );
    assert!(to_support.contains("wants to cancel"), "{to_support}");
    let key = &sent
        .iter()
        .find(|i| i.recipient == "support@example.com")
        .unwrap()
        .idempotency;
    assert!(
        to_support.contains(&format!("<{key}@switchboard>")),
        "Message-ID from the key"
    );
    assert!(mails.iter().any(|m| m.contains("To: manager@example.com")));
    assert_eq!(
        hooks.received().len(),
        3,
        "nothing sent twice after the restart"
    );
    assert!(!node.log().contains("panicked"));
}

/// Two nodes on one PostgreSQL database: each notification is claimed by one of them and sent once.
#[tokio::test]
async fn two_nodes_on_postgres_send_each_notification_once() {
    let db = common::db::postgres().await;
    let maildir = tempfile::tempdir().unwrap();
    let mut smtp = SmtpServer::reserved(maildir.path());
    smtp.start();
    let hooks = WebhookReceiver::start(0).await;
    let config = staff::config(&db, &routing(smtp.port, &hooks.url));
    let store = filing_store(&config).await;
    let a = SupportNode::start(&config);
    let b = SupportNode::start(&config);
    let mut tickets = Vec::new();
    for i in 0..25 {
        tickets.push(
            store
                .file(&draft(Category::Service, &format!("CA-{i}")))
                .await
                .unwrap(),
        );
    }
    let sent = all_sent(&store, Duration::from_secs(90)).await;
    assert_eq!(sent.len(), 50);
    let got = hooks.received();
    let keys: HashSet<String> = got
        .iter()
        .map(|h| h.headers["idempotency-key"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(got.len(), 25, "each webhook once");
    assert_eq!(keys.len(), 25);
    assert_eq!(smtp.mails().len(), 25, "each mail once");
    assert!(sent.iter().all(|i| i.attempts == 1), "{sent:#?}");
    assert!(!a.log().contains("panicked") && !b.log().contains("panicked"));
}
