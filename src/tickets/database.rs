//! Where tickets live: a SQLite file (the embedded default, one node) or a PostgreSQL server that several
//! switchboard nodes share. Both are reached through sqlx's `Any` driver with the same SQL (numbered
//! `$1` parameters, `RETURNING`, `ON CONFLICT`); what differs (full-text search, row locking) is said
//! here, and each has its own migrations.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{AnyPool, ConnectOptions, Connection};

use super::store::StoreError;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("src/tickets/migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("src/tickets/migrations/postgres");

/// A ticket database as the config or `--db` names it: a file path, or a `postgres://` URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Database {
    /// `postgres://…` and `postgresql://…` are servers; anything else is a SQLite file path.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Database::Postgres(text.to_string())
        } else {
            Database::Sqlite(PathBuf::from(text))
        }
    }

    /// As written in `[tickets] database` or `--db` (with the password: for passing on, not for showing).
    pub fn location(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => url.clone(),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Database::Sqlite(_) => Dialect::Sqlite,
            Database::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Connects, creating a SQLite file if needed, and brings the schema up to date.
    pub(super) async fn connect(&self) -> Result<AnyPool, StoreError> {
        sqlx::any::install_default_drivers();
        let shown = self.to_string();
        let open = |source| StoreError::Open {
            path: shown.clone(),
            source,
        };
        let migrate = |source| StoreError::Migrate {
            path: shown.clone(),
            source,
        };
        match self {
            Database::Sqlite(path) => {
                // WAL is a property of the file: set once here, every later connection reads in it, so
                // the Support section reads while calls write.
                let mut first = SqliteConnectOptions::from_str("sqlite://")
                    .map_err(open)?
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .connect()
                    .await
                    .map_err(open)?;
                SQLITE.run(&mut first).await.map_err(migrate)?;
                first.close().await.map_err(open)?;
                let url = format!("sqlite://{}", url_path(path));
                let options = AnyConnectOptions::from_str(&url).map_err(open)?;
                AnyPoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .map_err(open)
            }
            Database::Postgres(url) => {
                let options = AnyConnectOptions::from_str(url).map_err(open)?;
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(std::time::Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(open)?;
                POSTGRES.run(&pool).await.map_err(migrate)?;
                Ok(pool)
            }
        }
    }
}

impl FromStr for Database {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Database::parse(text))
    }
}

/// Shown without a password, for messages and logs.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => match url.split_once("://") {
                Some((scheme, rest)) => match rest.rsplit_once('@') {
                    Some((credentials, host)) => {
                        let user = credentials.split(':').next().unwrap_or("");
                        write!(f, "{scheme}://{user}@{host}")
                    }
                    None => write!(f, "{url}"),
                },
                None => write!(f, "{url}"),
            },
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Database({self})")
    }
}

/// A file path as the path part of a `sqlite://` URL: sqlx percent-decodes it, so `%`, `?` and `#` are
/// encoded.
fn url_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// What the two databases spell differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A condition true of tickets (`tickets.id`) holding every word bound at `$n`, and the value to bind
    /// for the words of `query` (none: nothing to search for).
    pub fn text_match(self, n: usize, query: &str) -> Option<(String, String)> {
        let words: Vec<&str> = query
            .split(|c: char| !c.is_alphanumeric() && c != '+')
            .filter(|w| !w.is_empty())
            .take(20)
            .collect();
        if words.is_empty() {
            return None;
        }
        Some(match self {
            // Each word quoted, so whatever a user types is words and never FTS5 syntax.
            Dialect::Sqlite => (
                format!("tickets.id IN (SELECT rowid FROM ticket_search WHERE ticket_search MATCH ${n})"),
                words
                    .iter()
                    .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Dialect::Postgres => (
                format!("tickets.search @@ plainto_tsquery('simple', ${n})"),
                words.join(" "),
            ),
        })
    }

    /// Appended to a `SELECT` that claims rows: with several nodes on one Postgres, a row one node holds
    /// is skipped by the others instead of sent twice. SQLite has one writer at a time anyway.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_servers_and_the_rest_are_files() {
        assert_eq!(
            Database::parse("switchboard.db"),
            Database::Sqlite("switchboard.db".into())
        );
        let pg = Database::parse("postgres://sb:secret@127.0.0.1:5432/sb");
        assert_eq!(pg.dialect(), Dialect::Postgres);
        assert_eq!(pg.to_string(), "postgres://sb@127.0.0.1:5432/sb");
        assert_eq!(
            url_path(Path::new("/tmp/a?b#c%d.db")),
            "/tmp/a%3Fb%23c%25d.db"
        );
    }

    #[test]
    fn search_words_are_never_syntax() {
        let (_, words) = Dialect::Sqlite.text_match(1, "cancel\" OR x*").unwrap();
        assert_eq!(words, "\"cancel\" \"OR\" \"x\"");
        assert!(Dialect::Postgres.text_match(1, " ... ").is_none());
    }
}
