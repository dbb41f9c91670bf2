//! The ticket store: SQLite through sqlx, schema from migrations run at open.
//!
//! WAL mode so the Support section can read while calls write; a ticket is committed before the call is
//! told it exists (see the call core), so an acknowledged ticket survives a crash.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

use super::{FieldStatus, FieldValue, Ticket, TicketDraft, TicketKind};

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
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/tickets/migrations");

/// A handle on the ticket database (cheap to clone).
#[derive(Clone)]
pub struct TicketStore {
    pool: SqlitePool,
}

impl TicketStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|source| StoreError::Open {
                path: shown.clone(),
                source,
            })?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: shown.clone(),
                source,
            })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: shown,
                source,
            })?;
        Ok(Self { pool })
    }

    /// Writes a ticket; returns its id once it is committed.
    pub async fn file(&self, draft: &TicketDraft) -> Result<i64, StoreError> {
        let fields = serde_json::to_string(&draft.fields).map_err(|e| StoreError::Corrupt {
            id: 0,
            reason: e.to_string(),
        })?;
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let row = sqlx::query(
            "INSERT INTO tickets (created, kind, topic, summary, transcript, fields, caller, call_id, note, promise)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(created)
        .bind(draft.kind.as_str())
        .bind(&draft.topic)
        .bind(&draft.summary)
        .bind(&draft.transcript)
        .bind(fields)
        .bind(&draft.caller)
        .bind(&draft.call_id)
        .bind(&draft.note)
        .bind(&draft.promise)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// All tickets, newest first.
    pub async fn list(&self) -> Result<Vec<Ticket>, StoreError> {
        let rows = sqlx::query("SELECT * FROM tickets ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// One ticket.
    pub async fn get(&self, id: i64) -> Result<Ticket, StoreError> {
        let row = sqlx::query("SELECT * FROM tickets WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(id))?;
        ticket_from_row(&row)
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

fn ticket_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Ticket, StoreError> {
    let id: i64 = row.try_get("id")?;
    let kind: String = row.try_get("kind")?;
    let fields: String = row.try_get("fields")?;
    let mut fields: Vec<FieldValue> =
        serde_json::from_str(&fields).map_err(|e| StoreError::Corrupt {
            id,
            reason: format!("fields: {e}"),
        })?;
    // Tickets filed before fields had a status: a value means it was answered.
    for f in &mut fields {
        if f.value.is_some() && f.status == FieldStatus::Missing {
            f.status = FieldStatus::Answered;
        }
    }
    Ok(Ticket {
        id,
        created: row.try_get("created")?,
        status: row.try_get("status")?,
        draft: TicketDraft {
            kind: TicketKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                id,
                reason: format!("unknown kind {kind:?}"),
            })?,
            topic: row.try_get("topic")?,
            summary: row.try_get("summary")?,
            transcript: row.try_get("transcript")?,
            fields,
            caller: row.try_get("caller")?,
            call_id: row.try_get("call_id")?,
            note: row.try_get("note")?,
            promise: row.try_get("promise")?,
        },
    })
}
