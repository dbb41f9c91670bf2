-- The whole ticket schema on PostgreSQL, shared by several switchboard nodes. Search uses the 'simple'
-- configuration (words lower-cased, no stemming), as SQLite's FTS5 does, so a search finds the same tickets on both. Times are RFC 3339 UTC text
-- with milliseconds (as on SQLite), so they sort and compare the same on both.
CREATE TABLE tickets (
    id              BIGSERIAL PRIMARY KEY,
    created         TEXT   NOT NULL,
    kind            TEXT   NOT NULL CHECK (kind IN ('escalation', 'callback')),
    status          TEXT   NOT NULL DEFAULT 'open',
    topic           TEXT,
    summary         TEXT   NOT NULL,
    transcript      TEXT   NOT NULL,
    fields          TEXT   NOT NULL DEFAULT '[]',
    caller          TEXT,
    call_id         TEXT   NOT NULL,
    note            TEXT,
    promise         TEXT,
    transfer_status TEXT,
    updated         TEXT,
    assignee        TEXT,
    category        TEXT   NOT NULL DEFAULT 'other',
    priority        TEXT   NOT NULL DEFAULT 'normal',
    topics          TEXT   NOT NULL DEFAULT '[]',
    -- Every note's text, appended by a trigger, so one index covers summary, transcript, caller and notes.
    notes_text      TEXT   NOT NULL DEFAULT '',
    search          TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple',
                        summary || ' ' || transcript || ' ' || COALESCE(caller, '') || ' ' || notes_text)) STORED
);
CREATE INDEX tickets_created ON tickets (created);
CREATE INDEX tickets_call ON tickets (call_id);
CREATE INDEX tickets_status ON tickets (status);
CREATE INDEX tickets_category ON tickets (category);
CREATE INDEX tickets_search ON tickets USING GIN (search);

CREATE TABLE transfer_attempts (
    id           BIGSERIAL PRIMARY KEY,
    ticket_id    BIGINT NOT NULL REFERENCES tickets (id),
    attempt      BIGINT NOT NULL,
    target       TEXT   NOT NULL,
    provider     TEXT   NOT NULL,
    started      TEXT   NOT NULL,
    ended        TEXT,
    outcome      TEXT,
    detail       TEXT,
    talk_seconds BIGINT
);
CREATE INDEX transfer_attempts_ticket ON transfer_attempts (ticket_id);

CREATE TABLE call_usage (
    call_id     TEXT PRIMARY KEY,
    provider    TEXT   NOT NULL,
    started     TEXT   NOT NULL,
    agent_ms    BIGINT NOT NULL DEFAULT 0,
    transfer_ms BIGINT NOT NULL DEFAULT 0,
    outcome     TEXT
);

CREATE TABLE ticket_notes (
    id        BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    created   TEXT   NOT NULL,
    author    TEXT   NOT NULL,
    text      TEXT   NOT NULL
);
CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id);

CREATE FUNCTION ticket_noted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET notes_text = notes_text || ' ' || NEW.text WHERE id = NEW.ticket_id;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ticket_search_noted AFTER INSERT ON ticket_notes FOR EACH ROW EXECUTE FUNCTION ticket_noted();

CREATE TABLE ticket_history (
    id        BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    at        TEXT   NOT NULL,
    actor     TEXT   NOT NULL,
    change    TEXT   NOT NULL,
    detail    TEXT
);
CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id);

CREATE TABLE outbox (
    id            BIGSERIAL PRIMARY KEY,
    ticket_id     BIGINT NOT NULL REFERENCES tickets (id),
    created       TEXT   NOT NULL,
    channel       TEXT   NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient     TEXT   NOT NULL,
    event         TEXT   NOT NULL,
    payload       TEXT   NOT NULL,
    idempotency   TEXT   NOT NULL UNIQUE,
    state         TEXT   NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_attempt  TEXT   NOT NULL,
    claimed_until TEXT,
    claimed_by    TEXT,
    sent          TEXT,
    last_error    TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt);
CREATE TABLE outbox_attempts (
    id        BIGSERIAL PRIMARY KEY,
    outbox_id BIGINT NOT NULL REFERENCES outbox (id),
    at        TEXT   NOT NULL,
    node      TEXT   NOT NULL,
    ok        BIGINT NOT NULL,
    detail    TEXT
);
CREATE INDEX outbox_attempts_outbox ON outbox_attempts (outbox_id);
