-- Which team a ticket goes to, how soon, and every topic heard with its evidence (JSON).
ALTER TABLE tickets ADD COLUMN category TEXT NOT NULL DEFAULT 'other';
ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE tickets ADD COLUMN topics TEXT NOT NULL DEFAULT '[]';
CREATE INDEX tickets_status ON tickets (status);
CREATE INDEX tickets_category ON tickets (category);
-- Notifications to the category's recipients, written in the ticket's own transaction: a worker delivers
-- them (e-mail, signed webhook) and records each try, so none is lost while a recipient is down.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id     INTEGER NOT NULL REFERENCES tickets (id),
    created       TEXT    NOT NULL,
    channel       TEXT    NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient     TEXT    NOT NULL,
    event         TEXT    NOT NULL,   -- ticket.filed
    payload       TEXT    NOT NULL,   -- JSON, exactly what is signed and sent
    idempotency   TEXT    NOT NULL UNIQUE,
    state         TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TEXT    NOT NULL,
    claimed_until TEXT,
    claimed_by    TEXT,
    sent          TEXT,
    last_error    TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt);
CREATE TABLE outbox_attempts (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    at        TEXT    NOT NULL,
    node      TEXT    NOT NULL,
    ok        INTEGER NOT NULL,
    detail    TEXT
);
CREATE INDEX outbox_attempts_outbox ON outbox_attempts (outbox_id);
