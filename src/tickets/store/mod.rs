//! The ticket store: SQLite or PostgreSQL through sqlx's `Any` driver, schema from migrations run at open
//! (see [`Database`]).
//!
//! A ticket is committed before the call is told it exists (see the call core), so an acknowledged ticket
//! survives a crash; its history and its notifications are written in the same transaction.
//!
//! This module owns the handle ([`TicketStore`]), opening it, the write transaction every change goes
//! through and the error type; the SQL lives beside it, one concern per file: `tickets` (filing,
//! reading, searching and working a ticket), `attempts` (the targets an escalation rang), `usage` (what
//! calls consumed), `report` (the grouped reads behind `switchboard report`) and `outbox` (the
//! notifications the worker in `crate::notify` claims and records). Nothing here decides what a ticket
//! means: the domain types, the status rules and the notices are the parent module's.

mod attempts;
mod outbox;
mod report;
mod tickets;
mod usage;

use sqlx::AnyPool;

use super::database::{Database, Dialect};
use super::outbox::Routing;
use super::status::StatusError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the ticket database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot migrate the ticket database {path}: {source}")]
    Migrate {
        path: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("ticket database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("ticket #{0} does not exist")]
    NotFound(i64),
    #[error("ticket #{id} is corrupt: {reason}")]
    Corrupt { id: i64, reason: String },
    #[error(transparent)]
    Status(#[from] StatusError),
    #[error("{0}")]
    Invalid(String),
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

/// A handle on the ticket database (cheap to clone).
#[derive(Clone)]
pub struct TicketStore {
    pool: AnyPool,
    dialect: Dialect,
    /// Who hears about new tickets; `None`: nobody is notified (replays, tests).
    routing: Option<std::sync::Arc<Routing>>,
    /// Woken when a ticket queues notifications, so the worker sends them at once.
    queued: std::sync::Arc<tokio::sync::Notify>,
}

impl TicketStore {
    /// Opens (creating a SQLite file if needed) the database and brings its schema up to date.
    pub async fn open(database: &Database) -> Result<Self, StoreError> {
        Ok(Self {
            pool: database.connect().await?,
            dialect: database.dialect(),
            routing: None,
            queued: Default::default(),
        })
    }

    /// From now on every ticket filed also queues a notification to its category's recipients.
    pub fn with_routing(mut self, routing: Routing) -> Self {
        self.routing = Some(std::sync::Arc::new(routing));
        self
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A transaction that writes. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// transaction that read first and wrote later would fail at once ("database is locked") if another
    /// process wrote in between, where waiting for the lock is what is wanted.
    async fn write_tx(&self) -> Result<Tx<'static>, StoreError> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

fn now() -> String {
    stamp(chrono::Utc::now())
}

/// A moment as stored: RFC 3339 UTC with milliseconds, which sorts as it compares.
fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// JSON for a column.
fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
        id: 0,
        reason: e.to_string(),
    })
}
