//! Filing a ticket and everything staff do with it afterwards: read one, list, filter and page, search
//! its words, move its status, write notes, assign it, and the history each change leaves. The outbox
//! rows of a new ticket are written by `outbox` in the same transaction; the transfer attempts `get`
//! reads back are written by `attempts`.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{json, now, StoreError, TicketStore, Tx};
use crate::tickets::database::Dialect;
use crate::tickets::query::TicketQuery;
use crate::tickets::status::Status;
use crate::tickets::triage::{Category, Priority};
use crate::tickets::{Change, FieldStatus, FieldValue, Note, Ticket, TicketDraft, TicketKind};

impl TicketStore {
    /// Writes a ticket, its first history entry and its notifications; returns its id once committed.
    pub async fn file(&self, draft: &TicketDraft) -> Result<i64, StoreError> {
        let fields = json(&draft.fields)?;
        let topics = json(&draft.topics)?;
        let created = now();
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO tickets (created, kind, topic, summary, transcript, fields, caller, call_id, note, promise,
                 transfer_status, category, priority, topics)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(&created)
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
        .bind(draft.category.as_str())
        .bind(draft.priority.as_str())
        .bind(topics)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let mut detail = match &draft.topic {
            Some(topic) => format!(
                "{} for topic {topic} on call {}",
                draft.kind.as_str(),
                draft.call_id
            ),
            None => format!("{} on call {}", draft.kind.as_str(), draft.call_id),
        };
        detail.push_str(&format!(
            ", {} priority, category {}",
            draft.priority.as_str(),
            draft.category.as_str()
        ));
        record(&mut tx, id, FILED_BY, "filed", Some(&detail)).await?;
        self.queue_filed(&mut tx, id, &created, draft).await?;
        tx.commit().await?;
        if self.routing.is_some() {
            self.queued.notify_one();
        }
        Ok(id)
    }

    /// Moves a ticket to `to` if the rules allow it (see [`Status`]), recording who did.
    pub async fn set_status(&self, id: i64, to: Status, actor: &str) -> Result<Status, StoreError> {
        let actor = checked_name(actor, "actor")?;
        let mut tx = self.write_tx().await?;
        let current: String = sqlx::query("SELECT status FROM tickets WHERE id = $1")
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
        sqlx::query("UPDATE tickets SET status = $1, updated = $2 WHERE id = $3")
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
        let mut tx = self.write_tx().await?;
        self.exists(&mut tx, id).await?;
        let created = now();
        let row = sqlx::query(
            "INSERT INTO ticket_notes (ticket_id, created, author, text) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(id)
        .bind(&created)
        .bind(&author)
        .bind(text)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE tickets SET updated = $1 WHERE id = $2")
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
        let mut tx = self.write_tx().await?;
        self.exists(&mut tx, id).await?;
        sqlx::query("UPDATE tickets SET assignee = $1, updated = $2 WHERE id = $3")
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
            sqlx::query_as("SELECT * FROM ticket_notes WHERE ticket_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Everything that happened to a ticket, oldest first.
    pub async fn history(&self, id: i64) -> Result<Vec<Change>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM ticket_history WHERE ticket_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Tickets whose summary, transcript, caller or notes hold every word of `query`, best match first.
    /// The words are matched as words (any case, any position), never as search syntax, so whatever a
    /// user types is a search and not an error.
    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<Ticket>, StoreError> {
        let Some((condition, words)) = self.dialect.text_match(1, query) else {
            return Ok(Vec::new());
        };
        let sql = match self.dialect {
            Dialect::Sqlite => format!(
                "SELECT {TICKET_COLUMNS} FROM ticket_search JOIN tickets ON tickets.id = ticket_search.rowid
                 WHERE ticket_search MATCH $1 ORDER BY ticket_search.rank, tickets.id DESC LIMIT $2"
            ),
            Dialect::Postgres => format!(
                "SELECT {TICKET_COLUMNS} FROM tickets WHERE {condition}
                 ORDER BY ts_rank(search, plainto_tsquery('simple', $1)) DESC, id DESC LIMIT $2"
            ),
        };
        let rows = sqlx::query(&sql)
            .bind(words)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// The tickets `query` selects, newest first, and how many it selects in all (for paging).
    pub async fn query(&self, query: &TicketQuery) -> Result<(Vec<Ticket>, i64), StoreError> {
        let mut conditions: Vec<String> = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let mut bind = |conditions: &mut Vec<String>, column: &str, value: &str| {
            binds.push(value.to_string());
            conditions.push(format!("{column} ${}", binds.len()));
        };
        if let Some(status) = query.status {
            bind(&mut conditions, "status =", status.as_str());
        }
        if let Some(kind) = query.kind {
            bind(&mut conditions, "kind =", kind.as_str());
        }
        if let Some(category) = query.category {
            bind(&mut conditions, "category =", category.as_str());
        }
        if let Some(topic) = &query.topic {
            bind(&mut conditions, "topic =", topic);
        }
        if let Some(since) = &query.since {
            bind(&mut conditions, "created >=", since);
        }
        if let Some(text) = &query.text {
            match self.dialect.text_match(binds.len() + 1, text) {
                Some((condition, words)) => {
                    binds.push(words);
                    conditions.push(condition);
                }
                // Nothing searchable (only punctuation): nothing matches.
                None => return Ok((Vec::new(), 0)),
            }
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) AS n FROM tickets{filter}");
        let mut count = sqlx::query(&count_sql);
        for b in &binds {
            count = count.bind(b);
        }
        let total: i64 = count.fetch_one(&self.pool).await?.try_get("n")?;
        let page_sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets{filter} ORDER BY id DESC LIMIT ${} OFFSET ${}",
            binds.len() + 1,
            binds.len() + 2
        );
        let mut page = sqlx::query(&page_sql);
        for b in &binds {
            page = page.bind(b);
        }
        let rows = page
            .bind(i64::from(query.limit))
            .bind(i64::from(query.offset))
            .fetch_all(&self.pool)
            .await?;
        let tickets = rows.iter().map(ticket_from_row).collect::<Result<_, _>>()?;
        Ok((tickets, total))
    }

    async fn exists(&self, tx: &mut Tx<'_>, id: i64) -> Result<(), StoreError> {
        sqlx::query("SELECT id FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|_| ())
            .ok_or(StoreError::NotFound(id))
    }

    /// All tickets, newest first.
    pub async fn list(&self) -> Result<Vec<Ticket>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets ORDER BY id DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// One ticket, with its transfer attempts.
    pub async fn get(&self, id: i64) -> Result<Ticket, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound(id))?;
        let mut ticket = ticket_from_row(&row)?;
        ticket.attempts =
            sqlx::query_as("SELECT * FROM transfer_attempts WHERE ticket_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        Ok(ticket)
    }

    /// Replaces a ticket's summary (the LLM wrote a better one before the transfer was dialed).
    pub async fn set_summary(&self, id: i64, summary: &str) -> Result<(), StoreError> {
        self.update_one(
            sqlx::query("UPDATE tickets SET summary = $1 WHERE id = $2")
                .bind(summary)
                .bind(id),
            id,
        )
        .await
    }

    async fn update_one<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        id: i64,
    ) -> Result<(), StoreError> {
        if query.execute(&self.pool).await?.rows_affected() == 0 {
            return Err(StoreError::NotFound(id));
        }
        Ok(())
    }
}

/// The columns a [`Ticket`] is read from (never `*`: Postgres keeps a search vector beside them that the
/// `Any` driver cannot decode).
const TICKET_COLUMNS: &str = "tickets.id, tickets.created, tickets.kind, tickets.status, tickets.topic,
    tickets.summary, tickets.transcript, tickets.fields, tickets.caller, tickets.call_id, tickets.note,
    tickets.promise, tickets.transfer_status, tickets.updated, tickets.assignee, tickets.category,
    tickets.priority, tickets.topics";

/// Who files tickets in the history: the agent itself.
const FILED_BY: &str = "switchboard";
/// A note longer than this is refused: notes are for people to read.
const MAX_NOTE_CHARS: usize = 10_000;

/// Appends one change to a ticket's history, in the transaction that makes it.
async fn record(
    tx: &mut Tx<'_>,
    id: i64,
    actor: &str,
    change: &str,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ticket_history (ticket_id, at, actor, change, detail) VALUES ($1, $2, $3, $4, $5)",
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

fn ticket_from_row(row: &AnyRow) -> Result<Ticket, StoreError> {
    let id: i64 = row.try_get("id")?;
    let kind: String = row.try_get("kind")?;
    let fields: String = row.try_get("fields")?;
    let category: String = row.try_get("category")?;
    let priority: String = row.try_get("priority")?;
    let topics: String = row.try_get("topics")?;
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
            category: Category::parse(&category).ok_or_else(|| StoreError::Corrupt {
                id,
                reason: format!("unknown category {category:?}"),
            })?,
            priority: Priority::parse(&priority).ok_or_else(|| StoreError::Corrupt {
                id,
                reason: format!("unknown priority {priority:?}"),
            })?,
            topics: serde_json::from_str(&topics).map_err(|e| StoreError::Corrupt {
                id,
                reason: format!("topics: {e}"),
            })?,
        },
        transfer_status: row.try_get("transfer_status")?,
        attempts: Vec::new(),
        updated: row.try_get("updated")?,
        assignee: row.try_get("assignee")?,
    })
}
