//! The ticket store on a real SQLite file: written tickets survive reopening, in order, intact.

use switchboard::tickets::store::{StoreError, TicketStore};
use switchboard::tickets::{FieldStatus, FieldValue, TicketDraft, TicketKind};

fn draft(kind: TicketKind, call: &str) -> TicketDraft {
    TicketDraft {
        kind,
        topic: Some("complaint".into()),
        summary: "A caller calls about complaint: \"it's broken\"".into(),
        transcript: "[00:01] it's broken\n[00:05] again".into(),
        fields: vec![
            FieldValue {
                name: "reason".into(),
                ask: "What is the reason for your call?".into(),
                kind: Some("text".into()),
                value: Some("broken router, it's the 3rd time".into()),
                spoken: None,
                raw: Some("broken router, it's the 3rd time".into()),
                confirmed: false,
                status: FieldStatus::Answered,
            },
            FieldValue {
                name: "callback_time".into(),
                ask: "When would you like us to call you back?".into(),
                kind: Some("datetime".into()),
                value: Some("2026-11-24T15:00:00-05:00/2026-11-24T18:00:00-05:00".into()),
                spoken: Some("tomorrow after 3 pm".into()),
                raw: Some("Tomorrow after three.".into()),
                confirmed: true,
                status: FieldStatus::Answered,
            },
            FieldValue::missing("alt_phone", "Another number?", "phone"),
        ],
        caller: Some("+15550123456".into()),
        call_id: call.into(),
        note: None,
        promise: Some("We will call you back tomorrow after 3 pm.".into()),
        awaiting_transfer: false,
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

#[tokio::test]
async fn tickets_from_before_the_dialog_still_read() {
    // A row written by the first schema: fields without status, raw or confirmed, no promise column value.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let store = TicketStore::open(&path).await.unwrap();
    let id = store
        .file(&draft(TicketKind::Callback, "CA-old"))
        .await
        .unwrap();
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE tickets SET fields = ?, promise = NULL WHERE id = ?")
        .bind(r#"[{"name":"reason","ask":"Why?","value":"it broke"},{"name":"when","ask":"When?","value":null}]"#)
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let store = TicketStore::open(&path).await.unwrap();
    let t = store.get(id).await.unwrap();
    assert_eq!(t.draft.fields[0].status, FieldStatus::Answered);
    assert_eq!(t.draft.fields[0].value.as_deref(), Some("it broke"));
    assert_eq!(t.draft.fields[1].status, FieldStatus::Missing);
    assert_eq!(t.draft.promise, None);
}
