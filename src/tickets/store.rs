//! The ticket store: SQLite through sqlx, schema from migrations run at open.
//!
//! WAL mode so the Support section can read while calls write; a ticket is committed before the call is
//! told it exists (see the call core), so an acknowledged ticket survives a crash.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

use super::status::{Status, StatusError};
use super::{CallUsage, Change, FieldStatus, FieldValue, Note, Ticket, TicketDraft, TicketKind};

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
        let created = now();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO tickets (created, kind, topic, summary, transcript, fields, caller, call_id, note, promise,
                 transfer_status)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
        .bind(draft.awaiting_transfer.then_some("pending"))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let detail = match &draft.topic {
            Some(topic) => format!(
                "{} for topic {topic} on call {}",
                draft.kind.as_str(),
                draft.call_id
            ),
            None => format!("{} on call {}", draft.kind.as_str(), draft.call_id),
        };
        record(&mut tx, id, FILED_BY, "filed", Some(&detail)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Moves a ticket to `to` if the rules allow it (see [`Status`]), recording who did.
    pub async fn set_status(&self, id: i64, to: Status, actor: &str) -> Result<Status, StoreError> {
        let actor = checked_name(actor, "actor")?;
        let mut tx = self.pool.begin().await?;
        let current: String = sqlx::query("SELECT status FROM tickets WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound(id))?
            .try_get("status")?;
        let from = Status::parse(&current).map_err(|e| StoreError::Corrupt {
            id,
            reason: e.to_string(),
        })?;
        from.to(to)?;
        sqlx::query("UPDATE tickets SET status = ?, updated = ? WHERE id = ?")
            .bind(to.as_str())
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let detail = format!("{} -> {}", from.as_str(), to.as_str());
        record(&mut tx, id, &actor, "status", Some(&detail)).await?;
        tx.commit().await?;
        Ok(to)
    }

    /// Adds an internal note.
    pub async fn add_note(&self, id: i64, author: &str, text: &str) -> Result<Note, StoreError> {
        let author = checked_name(author, "author")?;
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_NOTE_CHARS {
            return Err(StoreError::Invalid(format!(
                "a note has 1 to {MAX_NOTE_CHARS} characters, not {}",
                text.chars().count()
            )));
        }
        let mut tx = self.pool.begin().await?;
        self.exists(&mut tx, id).await?;
        let created = now();
        let row = sqlx::query(
            "INSERT INTO ticket_notes (ticket_id, created, author, text) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(id)
        .bind(&created)
        .bind(&author)
        .bind(text)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE tickets SET updated = ? WHERE id = ?")
            .bind(&created)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let preview: String = text.chars().take(80).collect();
        record(&mut tx, id, &author, "note", Some(&preview)).await?;
        tx.commit().await?;
        Ok(Note {
            id: row.try_get("id")?,
            created,
            author,
            text: text.to_string(),
        })
    }

    /// Gives the ticket to `assignee` (`None`: to nobody).
    pub async fn assign(
        &self,
        id: i64,
        assignee: Option<&str>,
        actor: &str,
    ) -> Result<(), StoreError> {
        let actor = checked_name(actor, "actor")?;
        let assignee = assignee.map(|a| checked_name(a, "assignee")).transpose()?;
        let mut tx = self.pool.begin().await?;
        self.exists(&mut tx, id).await?;
        sqlx::query("UPDATE tickets SET assignee = ?, updated = ? WHERE id = ?")
            .bind(&assignee)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let detail = assignee.as_deref().unwrap_or("nobody");
        record(&mut tx, id, &actor, "assign", Some(detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A ticket's notes, oldest first.
    pub async fn notes(&self, id: i64) -> Result<Vec<Note>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM ticket_notes WHERE ticket_id = ? ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Everything that happened to a ticket, oldest first.
    pub async fn history(&self, id: i64) -> Result<Vec<Change>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM ticket_history WHERE ticket_id = ? ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Tickets whose summary, transcript, caller or notes hold every word of `query`, best match first.
    /// The words are matched as words (any case, any position), never as search syntax, so whatever a
    /// user types is a search and not an error.
    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<Ticket>, StoreError> {
        let Some(expression) = match_expression(query) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT tickets.* FROM ticket_search JOIN tickets ON tickets.id = ticket_search.rowid
             WHERE ticket_search MATCH ? ORDER BY ticket_search.rank, tickets.id DESC LIMIT ?",
        )
        .bind(expression)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ticket_from_row).collect()
    }

    async fn exists(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT id FROM tickets WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|_| ())
            .ok_or(StoreError::NotFound(id))
    }

    /// All tickets, newest first.
    pub async fn list(&self) -> Result<Vec<Ticket>, StoreError> {
        let rows = sqlx::query("SELECT * FROM tickets ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// One ticket, with its transfer attempts.
    pub async fn get(&self, id: i64) -> Result<Ticket, StoreError> {
        let row = sqlx::query("SELECT * FROM tickets WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(id))?;
        let mut ticket = ticket_from_row(&row)?;
        ticket.attempts =
            sqlx::query_as("SELECT * FROM transfer_attempts WHERE ticket_id = ? ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        Ok(ticket)
    }

    /// Replaces a ticket's summary (the LLM wrote a better one before the transfer was dialed).
    pub async fn set_summary(&self, id: i64, summary: &str) -> Result<(), StoreError> {
        self.update_one(
            sqlx::query("UPDATE tickets SET summary = ? WHERE id = ?")
                .bind(summary)
                .bind(id),
            id,
        )
        .await
    }

    /// Records that `target` is about to be rung (before the provider is asked); returns the attempt's id.
    pub async fn attempt_started(
        &self,
        ticket: i64,
        attempt: u32,
        target: &str,
        provider: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO transfer_attempts (ticket_id, attempt, target, provider, started)
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(ticket)
        .bind(attempt)
        .bind(target)
        .bind(provider)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE tickets SET transfer_status = 'dialing' WHERE id = ?")
            .bind(ticket)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.try_get("id")?)
    }

    /// Records how an attempt ended; the ticket's transfer status follows (`bridged` or `failed`).
    pub async fn attempt_ended(
        &self,
        attempt_id: i64,
        outcome: &str,
        detail: Option<&str>,
        talk_seconds: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE transfer_attempts SET ended = ?, outcome = ?, detail = ?, talk_seconds = ?
             WHERE id = ? RETURNING ticket_id",
        )
        .bind(now())
        .bind(outcome)
        .bind(detail)
        .bind(talk_seconds)
        .bind(attempt_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound(attempt_id))?;
        let ticket: i64 = row.try_get("ticket_id")?;
        let status = match outcome {
            "bridged" => "bridged",
            // The provider's own flow took the call (a stream closed with no call control of ours).
            "handed-over" => "handed-over",
            _ => "failed",
        };
        sqlx::query("UPDATE tickets SET transfer_status = ? WHERE id = ?")
            .bind(status)
            .bind(ticket)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// After a restart: transfers that were pending or ringing when the server stopped can no longer be
    /// followed. They are marked `interrupted` (with a note), so staff see them. Returns the tickets marked.
    pub async fn interrupt_unfinished_transfers(&self, note: &str) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "UPDATE tickets SET transfer_status = 'interrupted',
                 note = CASE WHEN note IS NULL THEN ? ELSE note || ' ' || ? END
             WHERE transfer_status IN ('pending', 'dialing') RETURNING id",
        )
        .bind(note)
        .bind(note)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE transfer_attempts SET ended = ?, outcome = 'interrupted' WHERE outcome IS NULL",
        )
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| r.try_get("id").map_err(StoreError::from))
            .collect()
    }

    /// Adds to a call's usage (a call may come back to the agent after a failed transfer).
    pub async fn add_usage(
        &self,
        call_id: &str,
        provider: &str,
        agent_ms: u64,
        transfer_ms: u64,
        outcome: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO call_usage (call_id, provider, started, agent_ms, transfer_ms, outcome)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (call_id) DO UPDATE SET agent_ms = agent_ms + excluded.agent_ms,
                 transfer_ms = transfer_ms + excluded.transfer_ms,
                 outcome = COALESCE(excluded.outcome, outcome)",
        )
        .bind(call_id)
        .bind(provider)
        .bind(now())
        .bind(agent_ms as i64)
        .bind(transfer_ms as i64)
        .bind(outcome)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What a call consumed, if it was metered.
    pub async fn usage(&self, call_id: &str) -> Result<Option<CallUsage>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM call_usage WHERE call_id = ?")
            .bind(call_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn update_one<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
        id: i64,
    ) -> Result<(), StoreError> {
        if query.execute(&self.pool).await?.rows_affected() == 0 {
            return Err(StoreError::NotFound(id));
        }
        Ok(())
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// Who files tickets in the history: the agent itself.
const FILED_BY: &str = "switchboard";
/// A note longer than this is refused: notes are for people to read.
const MAX_NOTE_CHARS: usize = 10_000;

/// Appends one change to a ticket's history, in the transaction that makes it.
async fn record(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
    actor: &str,
    change: &str,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ticket_history (ticket_id, at, actor, change, detail) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(now())
    .bind(actor)
    .bind(change)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A person's name as recorded: trimmed, 1 to 100 characters, no control characters.
fn checked_name(name: &str, what: &str) -> Result<String, StoreError> {
    let name = name.trim();
    let fine =
        !name.is_empty() && name.chars().count() <= 100 && !name.chars().any(char::is_control);
    if fine {
        Ok(name.to_string())
    } else {
        Err(StoreError::Invalid(format!(
            "the {what} must be 1 to 100 printable characters, not {name:?}"
        )))
    }
}

/// An FTS5 expression matching every word of `query` as a plain token (each quoted, quotes doubled).
fn match_expression(query: &str) -> Option<String> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric() && c != '+')
        .filter(|w| !w.is_empty())
        .take(20)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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
            awaiting_transfer: false,
        },
        transfer_status: row.try_get("transfer_status")?,
        attempts: Vec::new(),
        updated: row.try_get("updated")?,
        assignee: row.try_get("assignee")?,
    })
}
