//! Ticket databases for the tests: a SQLite file in a temporary directory, or a fresh database on the
//! real PostgreSQL server `scripts/postgres.sh` starts on loopback. Store tests run on both.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use sqlx::Connection;
use switchboard::tickets::database::Database;

pub fn sqlite(dir: &Path) -> Database {
    Database::Sqlite(dir.join("tickets.db"))
}

/// The server's admin URL (`SWITCHBOARD_TEST_POSTGRES`, else the one `scripts/postgres.sh` starts).
pub fn postgres_server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("SWITCHBOARD_TEST_POSTGRES") {
            return url;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run scripts/postgres.sh");
        assert!(
            out.status.success(),
            "scripts/postgres.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    })
}

/// A new, empty database on the test server, for one test.
pub async fn postgres() -> Database {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let admin = postgres_server();
    let name = format!(
        "sb_{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_millis()
    );
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("connect to the test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    let base = admin.rsplit_once('/').expect("a URL with a database").0;
    Database::Postgres(format!("{base}/{name}"))
}

/// Runs the async store test `$body(db: Database)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($sqlite:ident, $postgres:ident, $body:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            let dir = tempfile::tempdir().unwrap();
            $body(common::db::sqlite(dir.path())).await;
        }

        #[tokio::test]
        async fn $postgres() {
            $body(common::db::postgres().await).await;
        }
    };
}
