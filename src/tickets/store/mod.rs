//! The ticket store: SQLite or PostgreSQL through sqlx's `Any` driver, schema from migrations run at open
//! (see [`Database`]).
//!
//! A ticket is committed before the call is told it exists (see the call core), so an acknowledged ticket
//! survives a crash; its history and its notifications are written in the same transaction.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::database::{Database, Dialect};
use super::outbox::{OutboxItem, Routing, TicketNotice};
use super::query::TicketQuery;
use super::report::{CountRow, Report};
use super::status::{Status, StatusError};
use super::triage::{Category, Priority};
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

    /// Completes when a ticket filed through this handle has queued notifications.
    pub async fn notifications_queued(&self) {
        self.queued.notified().await
    }

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
        if let Some(routing) = &self.routing {
            let notice = TicketNotice::filed(id, &created, draft);
            let payload = json(&notice)?;
            for recipient in routing.recipients(draft.category) {
                sqlx::query(
                    "INSERT INTO outbox (ticket_id, created, channel, recipient, event, payload, idempotency,
                         next_attempt)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(&created)
                .bind(recipient.channel())
                .bind(recipient.address())
                .bind(&notice.event)
                .bind(&payload)
                .bind(idempotency_key(id, &notice.event, recipient.address()))
                .bind(&created)
                .execute(&mut *tx)
                .await?;
            }
        }
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

    /// Records that `target` is about to be rung (before the provider is asked); returns the attempt's id.
    pub async fn attempt_started(
        &self,
        ticket: i64,
        attempt: u32,
        target: &str,
        provider: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO transfer_attempts (ticket_id, attempt, target, provider, started)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(ticket)
        .bind(i64::from(attempt))
        .bind(target)
        .bind(provider)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE tickets SET transfer_status = 'dialing' WHERE id = $1")
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
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "UPDATE transfer_attempts SET ended = $1, outcome = $2, detail = $3, talk_seconds = $4
             WHERE id = $5 RETURNING ticket_id",
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
        sqlx::query("UPDATE tickets SET transfer_status = $1 WHERE id = $2")
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
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query(
            "UPDATE tickets SET transfer_status = 'interrupted',
                 note = CASE WHEN note IS NULL THEN CAST($1 AS TEXT) ELSE note || ' ' || CAST($2 AS TEXT) END
             WHERE transfer_status IN ('pending', 'dialing') RETURNING id",
        )
        .bind(note)
        .bind(note)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE transfer_attempts SET ended = $1, outcome = 'interrupted' WHERE outcome IS NULL",
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
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (call_id) DO UPDATE SET agent_ms = call_usage.agent_ms + excluded.agent_ms,
                 transfer_ms = call_usage.transfer_ms + excluded.transfer_ms,
                 outcome = COALESCE(excluded.outcome, call_usage.outcome)",
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
        Ok(
            sqlx::query_as("SELECT * FROM call_usage WHERE call_id = $1")
                .bind(call_id)
                .fetch_optional(&self.pool)
                .await?,
        )
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

    /// Takes up to `limit` notifications that are due and not held by another node, for `lease`: until
    /// then no other worker (on this node or another sharing the database) takes them. A node that dies
    /// while holding some lets them go when the lease ends.
    pub async fn claim_notifications(
        &self,
        node: &str,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let now_at = chrono::Utc::now();
        let until =
            now_at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::hours(1));
        let sql = format!(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2
             WHERE id IN (SELECT id FROM outbox
                          WHERE state = 'pending' AND next_attempt <= $3
                            AND (claimed_until IS NULL OR claimed_until < $3)
                          ORDER BY id LIMIT $4{})
             RETURNING {OUTBOX_COLUMNS}",
            self.dialect.skip_locked()
        );
        let mut items: Vec<OutboxItem> = sqlx::query_as(&sql)
            .bind(node)
            .bind(stamp(until))
            .bind(stamp(now_at))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    /// Records one delivery try by `node`: sent, or failed with `error` and due again at `retry_at`.
    /// Only the node holding the notification may record it, so a node whose lease ran out while it was
    /// sending cannot undo what the next holder did.
    pub async fn notification_tried(
        &self,
        id: i64,
        node: &str,
        outcome: Result<&str, (&str, chrono::DateTime<chrono::Utc>)>,
    ) -> Result<(), StoreError> {
        let at = now();
        let mut tx = self.write_tx().await?;
        let (ok, detail) = match outcome {
            Ok(detail) => {
                sqlx::query(
                    "UPDATE outbox SET state = 'sent', sent = $1, attempts = attempts + 1, last_error = NULL,
                         claimed_by = NULL, claimed_until = NULL
                     WHERE id = $2 AND claimed_by = $3",
                )
                .bind(&at)
                .bind(id)
                .bind(node)
                .execute(&mut *tx)
                .await?;
                (1_i64, detail)
            }
            Err((error, retry_at)) => {
                sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt = $2,
                         claimed_by = NULL, claimed_until = NULL
                     WHERE id = $3 AND claimed_by = $4",
                )
                .bind(error)
                .bind(stamp(retry_at))
                .bind(id)
                .bind(node)
                .execute(&mut *tx)
                .await?;
                (0_i64, error)
            }
        };
        sqlx::query(
            "INSERT INTO outbox_attempts (outbox_id, at, node, ok, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&at)
        .bind(node)
        .bind(ok)
        .bind(detail)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A ticket's notifications (or all of them, `None`), oldest first.
    pub async fn notifications(&self, ticket: Option<i64>) -> Result<Vec<OutboxItem>, StoreError> {
        let sql = match ticket {
            Some(_) => {
                format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ticket_id = $1 ORDER BY id")
            }
            None => format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id"),
        };
        let mut q = sqlx::query_as(&sql);
        if let Some(t) = ticket {
            q = q.bind(t);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    /// Puts a notification this node holds back to `at` without counting a try: its recipient is known
    /// to be down this moment (another notification to it just failed).
    pub async fn postpone_notification(
        &self,
        id: i64,
        node: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET next_attempt = $1, claimed_by = NULL, claimed_until = NULL
             WHERE id = $2 AND claimed_by = $3",
        )
        .bind(stamp(at))
        .bind(id)
        .bind(node)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A recipient answered again: everything waiting for it (e-mail: the mail server; a webhook: its
    /// URL) is due now, not when its backoff would have tried it.
    pub async fn recipient_recovered(
        &self,
        channel: &str,
        recipient: Option<&str>,
    ) -> Result<u64, StoreError> {
        let at = now();
        let done = match recipient {
            None => {
                sqlx::query(
                    "UPDATE outbox SET next_attempt = $1
                 WHERE state = 'pending' AND channel = $2 AND next_attempt > $1",
                )
                .bind(&at)
                .bind(channel)
                .execute(&self.pool)
                .await?
            }
            Some(r) => {
                sqlx::query(
                    "UPDATE outbox SET next_attempt = $1
                 WHERE state = 'pending' AND channel = $2 AND recipient = $3 AND next_attempt > $1",
                )
                .bind(&at)
                .bind(channel)
                .bind(r)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(done.rows_affected())
    }

    /// The earliest moment a pending notification is due (the worker sleeps until then).
    pub async fn next_notification_due(&self) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT MIN(next_attempt) AS due FROM outbox WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get("due")?)
    }

    /// Tickets filed since `since` (stored form; `None`: all), grouped for [`Report`].
    pub async fn report(&self, since: Option<&str>) -> Result<Report, StoreError> {
        let from = since.unwrap_or("");
        let counts: Vec<CountRow> = sqlx::query_as(
            "SELECT COALESCE(topic, '') AS topic, kind, category, COALESCE(transfer_status, '') AS outcome,
                 COUNT(*) AS n
             FROM tickets WHERE created >= $1
             GROUP BY topic, kind, category, transfer_status",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await?;
        let talk: Vec<(String, i64)> = sqlx::query(
            "SELECT COALESCE(tickets.topic, '') AS topic,
                 CAST(COALESCE(SUM(transfer_attempts.talk_seconds), 0) AS BIGINT) AS talk
             FROM transfer_attempts JOIN tickets ON tickets.id = transfer_attempts.ticket_id
             WHERE tickets.created >= $1 GROUP BY tickets.topic",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("topic")?, r.try_get("talk")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let transfer_ms: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(transfer_ms), 0) AS BIGINT) AS ms FROM call_usage WHERE started >= $1",
        )
        .bind(from)
        .fetch_one(&self.pool)
        .await?
        .try_get("ms")?;
        Ok(Report::build(
            since.map(str::to_string),
            &counts,
            &talk,
            transfer_ms,
        ))
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// The columns a [`Ticket`] is read from (never `*`: Postgres keeps a search vector beside them that the
/// `Any` driver cannot decode).
const TICKET_COLUMNS: &str = "tickets.id, tickets.created, tickets.kind, tickets.status, tickets.topic,
    tickets.summary, tickets.transcript, tickets.fields, tickets.caller, tickets.call_id, tickets.note,
    tickets.promise, tickets.transfer_status, tickets.updated, tickets.assignee, tickets.category,
    tickets.priority, tickets.topics";

const OUTBOX_COLUMNS: &str =
    "id, ticket_id, created, channel, recipient, event, payload, idempotency,
    state, attempts, next_attempt, sent, last_error";

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

fn now() -> String {
    stamp(chrono::Utc::now())
}

/// A moment as stored: RFC 3339 UTC with milliseconds, which sorts as it compares.
fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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

/// JSON for a column.
fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
        id: 0,
        reason: e.to_string(),
    })
}

/// The same notification of the same ticket to the same recipient has the same key, however often it is
/// tried.
fn idempotency_key(ticket: i64, event: &str, recipient: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{ticket}\n{event}\n{recipient}").as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("sb-{ticket}-{hex}")
}
