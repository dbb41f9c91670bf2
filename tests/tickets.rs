//! The ticket store on a real SQLite file and on a real PostgreSQL server (the same tests on both):
//! written tickets survive reopening, in order, intact; staff move, note, assign, filter and search them,
//! from the store and from `switchboard tickets`.

mod common;

use switchboard::tickets::database::Database;
use switchboard::tickets::query::TicketQuery;
use switchboard::tickets::store::{StoreError, TicketStore};
use switchboard::tickets::{
    Category, FieldStatus, FieldValue, Priority, TicketDraft, TicketKind, TopicEvidence,
};
use switchboard::topics::TopicKind;

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
        category: Category::Service,
        priority: Priority::High,
        topics: vec![TopicEvidence {
            topic: "complaint".into(),
            kind: TopicKind::Callback,
            score: 0.81,
            evidence: "it's broken".into(),
        }],
    }
}

on_both_databases!(
    tickets_survive_reopening_newest_first_sqlite,
    tickets_survive_reopening_newest_first_postgres,
    tickets_survive_reopening_newest_first
);

async fn tickets_survive_reopening_newest_first(path: Database) {
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
    let err = TicketStore::open(&Database::Sqlite(dir.path().join("no/such/dir/t.db")))
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
    let store = TicketStore::open(&Database::Sqlite(path.clone()))
        .await
        .unwrap();
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
    let store = TicketStore::open(&Database::Sqlite(path)).await.unwrap();
    let t = store.get(id).await.unwrap();
    assert_eq!(t.draft.fields[0].status, FieldStatus::Answered);
    assert_eq!(t.draft.fields[0].value.as_deref(), Some("it broke"));
    assert_eq!(t.draft.fields[1].status, FieldStatus::Missing);
    assert_eq!(t.draft.promise, None);
}

// Staff work a ticket: the status moves only as the rules allow (and says what is allowed), notes and
// assignments are kept, every change is in the history with who made it, and full-text search finds
// tickets by the summary, the transcript, the caller and the notes, whatever the user types.
on_both_databases!(
    staff_move_note_assign_and_find_tickets_sqlite,
    staff_move_note_assign_and_find_tickets_postgres,
    staff_move_note_assign_and_find_tickets
);

async fn staff_move_note_assign_and_find_tickets(db: Database) {
    use switchboard::tickets::status::Status;
    let store = TicketStore::open(&db).await.unwrap();
    let mut escalation = draft(TicketKind::Escalation, "CA-esc");
    escalation.transcript = "[00:04] I want to cancel my contract, you charged me twice".into();
    escalation.caller = Some("+15550142000".into());
    let a = store.file(&escalation).await.unwrap();
    let b = store
        .file(&draft(TicketKind::Callback, "CA-cb"))
        .await
        .unwrap();

    assert_eq!(
        store
            .set_status(a, Status::InProgress, "maria")
            .await
            .unwrap(),
        Status::InProgress
    );
    let refused = store
        .set_status(b, Status::Closed, "maria")
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "a ticket cannot go from open to closed; from open it can go to in_progress or resolved"
    );
    store.assign(a, Some("Maria Lopez"), "lead").await.unwrap();
    let note = store
        .add_note(
            a,
            "maria",
            "Offered a refund for the double charge in March.",
        )
        .await
        .unwrap();
    assert_eq!(note.author, "maria");
    store
        .set_status(a, Status::Resolved, "maria")
        .await
        .unwrap();
    store.set_status(a, Status::Closed, "maria").await.unwrap();
    store.set_status(a, Status::Open, "lead").await.unwrap();

    let t = store.get(a).await.unwrap();
    assert_eq!(t.status, "open");
    assert_eq!(t.assignee.as_deref(), Some("Maria Lopez"));
    assert!(t.updated.is_some());
    let history: Vec<(String, String, Option<String>)> = store
        .history(a)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.actor, c.change, c.detail))
        .collect();
    let expected = [
        (
            "switchboard",
            "filed",
            "escalation for topic complaint on call CA-esc, high priority, category service",
        ),
        ("maria", "status", "open -> in_progress"),
        ("lead", "assign", "Maria Lopez"),
        (
            "maria",
            "note",
            "Offered a refund for the double charge in March.",
        ),
        ("maria", "status", "in_progress -> resolved"),
        ("maria", "status", "resolved -> closed"),
        ("lead", "status", "closed -> open"),
    ];
    assert_eq!(history.len(), expected.len(), "{history:#?}");
    for (got, want) in history.iter().zip(expected) {
        assert_eq!(
            (got.0.as_str(), got.1.as_str(), got.2.as_deref()),
            (want.0, want.1, Some(want.2))
        );
    }
    assert_eq!(store.notes(a).await.unwrap(), [note]);

    let found =
        |ids: Vec<switchboard::tickets::Ticket>| ids.iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(found(store.search("charged twice", 10).await.unwrap()), [a]);
    assert_eq!(
        found(store.search("REFUND march", 10).await.unwrap()),
        [a],
        "notes are searched"
    );
    assert_eq!(
        found(store.search("+15550142000", 10).await.unwrap()),
        [a],
        "the caller"
    );
    assert_eq!(found(store.search("broken again", 10).await.unwrap()), [b]);
    assert!(store
        .search("charged unicorn", 10)
        .await
        .unwrap()
        .is_empty());
    // Search syntax from a user is just words.
    for odd in ["\"unbalanced", "cancel* OR NEAR(", "a:b", "   ", "-+-"] {
        assert!(store.search(odd, 10).await.is_ok(), "{odd}");
    }

    assert!(matches!(
        store.add_note(a, "maria", "   ").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.add_note(999, "maria", "hello").await,
        Err(StoreError::NotFound(999))
    ));
    assert!(store.assign(a, Some("bad\u{7}name"), "lead").await.is_err());
}

on_both_databases!(
    the_support_list_filters_and_pages_sqlite,
    the_support_list_filters_and_pages_postgres,
    the_support_list_filters_and_pages
);

/// The Support section's list: every filter narrows it, paging walks it newest first, and text search
/// combines with the filters.
async fn the_support_list_filters_and_pages(db: Database) {
    use switchboard::tickets::status::Status;
    let store = TicketStore::open(&db).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut d = draft(
            if i % 2 == 0 {
                TicketKind::Callback
            } else {
                TicketKind::Escalation
            },
            &format!("CA-{i}"),
        );
        d.category = [Category::Service, Category::Accounting, Category::Other][i % 3];
        d.topic = Some(if i < 4 { "billing" } else { "cancellation" }.into());
        if i == 5 {
            d.transcript = "[00:03] the router keeps rebooting".into();
        }
        ids.push(store.file(&d).await.unwrap());
    }
    store
        .set_status(ids[1], Status::InProgress, "maria")
        .await
        .unwrap();
    let pick = |pairs: &[(&str, &str)]| TicketQuery::from_pairs(pairs.iter().copied()).unwrap();
    let got = |r: (Vec<switchboard::tickets::Ticket>, i64)| {
        (r.0.iter().map(|t| t.id).collect::<Vec<_>>(), r.1)
    };
    let all = got(store.query(&TicketQuery::all()).await.unwrap());
    assert_eq!(all.1, 7);
    assert_eq!(all.0, ids.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(
        got(store
            .query(&pick(&[("category", "accounting")]))
            .await
            .unwrap()),
        (vec![ids[4], ids[1]], 2)
    );
    assert_eq!(
        got(store
            .query(&pick(&[("kind", "escalation"), ("topic", "billing")]))
            .await
            .unwrap()),
        (vec![ids[3], ids[1]], 2)
    );
    assert_eq!(
        got(store
            .query(&pick(&[("status", "in_progress")]))
            .await
            .unwrap()),
        (vec![ids[1]], 1)
    );
    assert_eq!(
        got(store
            .query(&pick(&[("q", "router rebooting"), ("kind", "escalation")]))
            .await
            .unwrap()),
        (vec![ids[5]], 1)
    );
    assert_eq!(
        got(store
            .query(&pick(&[("limit", "3"), ("page", "2")]))
            .await
            .unwrap()),
        (vec![ids[3], ids[2], ids[1]], 7)
    );
    assert_eq!(
        got(store
            .query(&pick(&[("since", "2999-01-01")]))
            .await
            .unwrap()),
        (vec![], 0)
    );
    assert_eq!(
        got(store.query(&pick(&[("q", "!!!")])).await.unwrap()),
        (vec![], 0)
    );
    let t = store.get(ids[4]).await.unwrap();
    assert_eq!(t.draft.category, Category::Accounting);
    assert_eq!(t.draft.priority, Priority::High);
    assert_eq!(t.draft.topics[0].evidence, "it's broken");
}

/// `switchboard tickets note|status|assign|search|show` over the same store.
#[tokio::test]
async fn the_command_line_works_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let store = TicketStore::open(&Database::Sqlite(db.clone()))
        .await
        .unwrap();
    let id = store
        .file(&draft(TicketKind::Callback, "CA-cli"))
        .await
        .unwrap()
        .to_string();
    store.close().await;
    let run = |args: &[&str]| {
        let out = common::bin()
            .arg("tickets")
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, _) = run(&["note", &id, "Called back, no answer.", "--author", "sam"]);
    assert!(ok && out.contains("added to ticket"), "{out}");
    let (ok, out, _) = run(&["status", &id, "in_progress", "--by", "sam"]);
    assert!(ok && out.contains("is in_progress"), "{out}");
    let (ok, _, err) = run(&["status", &id, "closed"]);
    assert!(
        !ok && err.contains("cannot go from in_progress to closed"),
        "{err}"
    );
    let (ok, _, err) = run(&["status", &id, "done"]);
    assert!(!ok && err.contains("unknown status"), "{err}");
    let (ok, out, _) = run(&["assign", &id, "Sam Reyes", "--by", "lead"]);
    assert!(ok, "{out}");
    let (ok, out, _) = run(&["search", "no answer"]);
    assert!(ok && out.contains("callback"), "{out}");
    let (ok, out, _) = run(&["show", &id, "--json"]);
    assert!(ok, "{out}");
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["status"], "in_progress");
    assert_eq!(shown["assignee"], "Sam Reyes");
    assert_eq!(shown["notes"][0]["text"], "Called back, no answer.");
    let changes: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["change"].as_str())
        .collect();
    assert_eq!(changes, ["filed", "note", "status", "assign"]);
    let (ok, out, _) = run(&["show", &id]);
    assert!(
        ok && out.contains("assignee Sam Reyes") && out.contains("history"),
        "{out}"
    );
}
