//! The Support section and its notifications, measured. Reported, not asserted; compare within one run
//! (shared, noisy machines). Needs PostgreSQL (`scripts/postgres.sh`, started if needed) and aiosmtpd
//! (`scripts/peers.sh`).
//!
//! 1. Tickets written per second through the store (each its own transaction with its history row and
//!    notifications), one writer and 8 concurrent writers, on SQLite and PostgreSQL.
//! 2. API latency at 100k tickets: a real `switchboard support` process on loopback, 200 sequential
//!    requests per query (first page, filters, a deep page, text search), p50 and p95.
//! 3. Notification lag after an SMTP outage ends: 50 mails queued while the mail server is down for
//!    `SWITCHBOARD_OUTAGE_SECONDS` (default 20), then aiosmtpd starts; time from its start to the first
//!    and the last mail delivered.

use std::time::{Duration, Instant};

use switchboard::loadtest::percentile;
use switchboard::tickets::database::Database;
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::{Category, TicketDraft, TicketKind};

#[path = "../tests/common/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "../tests/common/receivers.rs"]
#[allow(dead_code)]
mod receivers;

fn draft(i: usize) -> TicketDraft {
    TicketDraft {
        kind: if i.is_multiple_of(3) {
            TicketKind::Escalation
        } else {
            TicketKind::Callback
        },
        topic: Some(["billing", "cancellation", "complaint"][i % 3].into()),
        summary: format!("Caller ending in {:02} calls about a problem", i % 100),
        transcript: format!("[00:03] my router keeps rebooting, ticket {i}"),
        fields: Vec::new(),
        caller: Some(format!("+1555{:07}", i)),
        call_id: format!("CA-bench-{i}"),
        note: None,
        promise: None,
        awaiting_transfer: false,
        category: [Category::Service, Category::Accounting, Category::Other][i % 3],
        priority: Default::default(),
        topics: Vec::new(),
    }
}

async fn writes(name: &str, database: &Database) {
    let store = TicketStore::open(database).await.unwrap();
    let n = 1000;
    let started = Instant::now();
    for i in 0..n {
        store.file(&draft(i)).await.unwrap();
    }
    let one = n as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..n / 8 {
                store.file(&draft(n + w * n + i)).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let eight = n as f64 / started.elapsed().as_secs_f64();
    println!("| {name} | {one:.0} | {eight:.0} |");
    store.close().await;
}

/// 100k tickets written in one statement (the FTS5 trigger and the tsvector column index each).
async fn seed(database: &Database) {
    let store = TicketStore::open(database).await.unwrap();
    store.close().await;
    // The same rows on both; only the row numbers and the date formatting are spelled differently.
    let (rows, created, source) = match database {
        Database::Sqlite(_) => (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) ",
            "printf('2026-%02d-%02dT%02d:00:00.000Z', 1 + i % 11, 1 + i % 28, i % 24)",
            "n",
        ),
        Database::Postgres(_) => (
            "",
            "'2026-' || lpad((1 + i % 11)::text, 2, '0') || '-' || lpad((1 + i % 28)::text, 2, '0') || 'T' || lpad((i % 24)::text, 2, '0') || ':00:00.000Z'",
            "generate_series(1, 100000) AS i",
        ),
    };
    let sql = format!(
        "{rows}INSERT INTO tickets (created, kind, topic, summary, transcript, fields, caller, call_id, category, priority, topics, status)
         SELECT {created},
                CASE WHEN i % 3 = 0 THEN 'escalation' ELSE 'callback' END,
                CASE i % 3 WHEN 0 THEN 'cancellation' WHEN 1 THEN 'billing' ELSE 'complaint' END,
                'Caller ending in ' || (i % 100) || ' calls about a problem',
                CASE WHEN i % 50 = 0 THEN '[00:03] my router keeps rebooting' ELSE '[00:03] a question about invoice ' || i END,
                '[]', '+1555' || i, 'CA-' || i,
                CASE i % 3 WHEN 0 THEN 'service' WHEN 1 THEN 'accounting' ELSE 'other' END,
                'normal', '[]',
                CASE WHEN i % 4 = 0 THEN 'resolved' ELSE 'open' END
         FROM {source}"
    );
    sqlx::any::install_default_drivers();
    let url = match database {
        Database::Sqlite(p) => format!("sqlite://{}", p.display()),
        Database::Postgres(u) => u.clone(),
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query(&sql).execute(&pool).await.unwrap();
    if matches!(database, Database::Postgres(_)) {
        sqlx::query("ANALYZE tickets").execute(&pool).await.unwrap();
    }
    pool.close().await;
}

struct Node(std::process::Child, String);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn support_node(dir: &std::path::Path, database: &Database) -> Node {
    use std::io::BufRead;
    let db = database.location();
    let base = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/agent.toml"))
        .unwrap();
    let (before, _) = base.split_once("[tickets]").unwrap();
    let config = format!(
        "{before}[support]\ntokens = [{{ name = \"Bench\", token = \"bench-token-0123456789\", role = \"agent\" }}]\n\n[tickets]\ndatabase = \"{db}\"\n"
    )
    .replace("[routing]\n", "[routing]\n# bench\n");
    let path = dir.join("agent.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["support", "--config"])
        .arg(&path)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    Node(child, format!("http://{addr}"))
}

async fn api(name: &str, database: &Database) {
    seed(database).await;
    let dir = tempfile::tempdir().unwrap();
    let node = support_node(dir.path(), database);
    let client = reqwest::Client::new();
    for (label, query) in [
        ("first page", "/api/tickets"),
        (
            "filtered",
            "/api/tickets?category=accounting&status=open&kind=callback",
        ),
        ("page 1000", "/api/tickets?page=1000"),
        ("search, 2% match", "/api/tickets?q=router%20rebooting"),
        ("search, 1 match", "/api/tickets?q=invoice%2077777"),
    ] {
        let mut ms = Vec::new();
        for _ in 0..200 {
            let started = Instant::now();
            let r = client
                .get(format!("{}{query}", node.1))
                .bearer_auth("bench-token-0123456789")
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{query}: {}", r.status());
            r.bytes().await.unwrap();
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "| {name} | {label} | {:.1} ms | {:.1} ms |",
            percentile(ms.clone(), 50.0).unwrap_or(f64::NAN),
            percentile(ms.clone(), 95.0).unwrap_or(f64::NAN)
        );
    }
}

async fn lag() {
    let outage: u64 = std::env::var("SWITCHBOARD_OUTAGE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    let mut smtp = receivers::SmtpServer::reserved(&maildir);
    let routing = switchboard::tickets::outbox::Routing {
        categories: Default::default(),
        default: vec![switchboard::tickets::outbox::Recipient::Email(
            "support@example.com".into(),
        )],
    };
    let store = TicketStore::open(&Database::Sqlite(dir.path().join("t.db")))
        .await
        .unwrap()
        .with_routing(routing);
    let settings = switchboard::config::SmtpSettings {
        host: "127.0.0.1".into(),
        port: smtp.port,
        from: "switchboard@example.com".into(),
        username: None,
        password: None,
        security: switchboard::config::SmtpSecurity::None,
    };
    let notifier =
        switchboard::notify::Notifier::new(store.clone(), "bench".into(), Some(&settings), None)
            .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(notifier.run(async {
        let _ = stopped.await;
    }));
    for i in 0..50 {
        store.file(&draft(i)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(outage)).await;
    smtp.start();
    let back = Instant::now();
    let mut first = None;
    loop {
        let items = store.notifications(None).await.unwrap();
        let sent = items.iter().filter(|i| i.state == "sent").count();
        if sent > 0 && first.is_none() {
            first = Some(back.elapsed());
        }
        if sent == items.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last = back.elapsed();
    let attempts: i64 = store
        .notifications(None)
        .await
        .unwrap()
        .iter()
        .map(|i| i.attempts)
        .sum();
    println!(
        "| {outage} s | 50 | {:.2} s | {:.2} s | {attempts} |",
        first.unwrap_or(last).as_secs_f64(),
        last.as_secs_f64()
    );
    let _ = stop.send(());
    worker.await.unwrap();
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        println!("\n## Tickets written per second\n\n| database | 1 writer | 8 writers |\n|---|---|---|");
        let dir = tempfile::tempdir().unwrap();
        writes("SQLite (WAL)", &db::sqlite(dir.path())).await;
        writes("PostgreSQL 15 (loopback)", &db::postgres().await).await;

        println!("\n## Support API at 100k tickets (200 sequential requests each)\n\n| database | query | p50 | p95 |\n|---|---|---|---|");
        let dir = tempfile::tempdir().unwrap();
        api("SQLite", &db::sqlite(dir.path())).await;
        api("PostgreSQL", &db::postgres().await).await;

        println!("\n## Notification lag after an SMTP outage ends\n\n| outage | mails | first delivered | last delivered | tries in all |\n|---|---|---|---|---|");
        lag().await;
    });
}
