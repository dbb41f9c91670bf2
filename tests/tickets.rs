//! The ticket store on a real SQLite file: written tickets survive reopening, in order, intact.

use switchboard::tickets::store::{StoreError, TicketStore};
use switchboard::tickets::{FieldValue, TicketDraft, TicketKind};

fn draft(kind: TicketKind, call: &str) -> TicketDraft {
    TicketDraft {
        kind,
        topic: Some("complaint".into()),
        summary: "A caller is calling about: complaint. They said: \"it's broken\"".into(),
        transcript: "[00:01] it's broken\n[00:05] again".into(),
        fields: vec![FieldValue {
            name: "reason".into(),
            ask: "What is the reason for your call?".into(),
            value: Some("broken router, it's the 3rd time".into()),
        }],
        caller: Some("+15550123456".into()),
        call_id: call.into(),
        note: None,
    }
}

#[tokio::test]
async fn tickets_survive_reopening_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested-ok.db");
    let store = TicketStore::open(&path).await.unwrap();
    let a = store
        .file(&draft(TicketKind::Callback, "CA1"))
        .await
        .unwrap();
    let b = store
        .file(&draft(TicketKind::Escalation, "CA2"))
        .await
        .unwrap();
    assert!(b > a);
    store.close().await;

    let store = TicketStore::open(&path).await.unwrap();
    let all = store.list().await.unwrap();
    assert_eq!(all.iter().map(|t| t.id).collect::<Vec<_>>(), [b, a]);
    let t = store.get(a).await.unwrap();
    assert_eq!(t.draft, draft(TicketKind::Callback, "CA1"));
    assert_eq!(t.status, "open");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&t.created).is_ok(),
        "{}",
        t.created
    );
    assert!(matches!(
        store.get(999).await,
        Err(StoreError::NotFound(999))
    ));
}

#[tokio::test]
async fn an_unwritable_location_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = TicketStore::open(&dir.path().join("no/such/dir/t.db"))
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("cannot open the ticket database"),
        "{err}"
    );
}
