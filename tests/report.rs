//! `switchboard report` over a real database (SQLite and PostgreSQL): escalations and callbacks per
//! topic, category and transfer outcome, and staff talk time, as text, JSON and a picture.

mod common;

use switchboard::tickets::database::Database;
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::{Category, TicketDraft, TicketKind};

fn draft(kind: TicketKind, topic: &str, category: Category) -> TicketDraft {
    TicketDraft {
        kind,
        topic: Some(topic.into()),
        summary: format!("about {topic}"),
        transcript: String::new(),
        fields: Vec::new(),
        caller: None,
        call_id: format!("CA-{topic}"),
        note: None,
        promise: None,
        awaiting_transfer: kind == TicketKind::Escalation,
        category,
        priority: Default::default(),
        topics: Vec::new(),
    }
}

on_both_databases!(
    the_report_shows_which_topics_load_people_sqlite,
    the_report_shows_which_topics_load_people_postgres,
    the_report_shows_which_topics_load_people
);

async fn the_report_shows_which_topics_load_people(db: Database) {
    let store = TicketStore::open(&db).await.unwrap();
    for _ in 0..3 {
        store
            .file(&draft(
                TicketKind::Callback,
                "billing",
                Category::Accounting,
            ))
            .await
            .unwrap();
    }
    let bridged = store
        .file(&draft(
            TicketKind::Escalation,
            "cancellation",
            Category::Service,
        ))
        .await
        .unwrap();
    let first = store
        .attempt_started(bridged, 1, "+15550100001", "twilio")
        .await
        .unwrap();
    store
        .attempt_ended(first, "no-answer", None, None)
        .await
        .unwrap();
    let second = store
        .attempt_started(bridged, 2, "+15550100002", "twilio")
        .await
        .unwrap();
    store
        .attempt_ended(second, "bridged", None, Some(185))
        .await
        .unwrap();
    store
        .add_usage(
            "CA-cancellation",
            "twilio",
            30_000,
            200_000,
            Some("bridged"),
        )
        .await
        .unwrap();
    let failed = store
        .file(&draft(
            TicketKind::Escalation,
            "cancellation",
            Category::Service,
        ))
        .await
        .unwrap();
    let a = store
        .attempt_started(failed, 1, "+15550100001", "twilio")
        .await
        .unwrap();
    store.attempt_ended(a, "busy", None, None).await.unwrap();

    let report = store.report(None).await.unwrap();
    assert_eq!((report.escalations, report.callbacks), (2, 3));
    assert_eq!(
        report.topics[0].topic, "cancellation",
        "escalations weigh most"
    );
    assert_eq!(report.topics[0].talk_seconds, 185);
    assert_eq!(report.outcomes["bridged"], 1);
    assert_eq!(report.outcomes["failed"], 1);
    assert_eq!(report.categories["accounting"], (0, 3));
    assert_eq!(report.transfer_seconds, 200);
    let later = store
        .report(Some("2999-01-01T00:00:00.000Z"))
        .await
        .unwrap();
    assert_eq!((later.escalations, later.callbacks), (0, 0));
    store.close().await;

    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("load.png");
    let out = common::bin()
        .arg("report")
        .arg("--db")
        .arg(db.location())
        .args(["--since", "2020-01-01", "--plot"])
        .arg(&picture)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("2 escalation(s), 3 callback(s)"), "{text}");
    assert!(text.contains("staff talked 3m05s"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("cancellation"))
        .unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        ["cancellation", "2", "0", "3m05s"]
    );
    let png = std::fs::read(&picture).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 10_000, "a drawn picture, {} bytes", png.len());
    let artifacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(artifacts.join("report.png"), &png).unwrap();

    let bad = common::bin()
        .args(["report", "--since", "last tuesday", "--db"])
        .arg(dir.path().join("x.db"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("since"));
}
