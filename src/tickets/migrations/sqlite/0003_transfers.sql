-- How each escalation's transfer went. The ticket says where it stands (pending before anything is dialed,
-- dialing, bridged, failed, or interrupted when the server died in between); each target rung is a row.
ALTER TABLE tickets ADD COLUMN transfer_status TEXT;
CREATE TABLE transfer_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id    INTEGER NOT NULL REFERENCES tickets (id),
    attempt      INTEGER NOT NULL,
    target       TEXT    NOT NULL,
    provider     TEXT    NOT NULL,
    started      TEXT    NOT NULL,
    ended        TEXT,
    outcome      TEXT,    -- bridged | busy | no-answer | failed | canceled | unavailable | interrupted
    detail       TEXT,
    talk_seconds INTEGER
);
CREATE INDEX transfer_attempts_ticket ON transfer_attempts (ticket_id);
-- What each call consumed: seconds with the agent, seconds transferred (the call keeps consuming), outcome.
CREATE TABLE call_usage (
    call_id     TEXT PRIMARY KEY,
    provider    TEXT    NOT NULL,
    started     TEXT    NOT NULL,
    agent_ms    INTEGER NOT NULL DEFAULT 0,
    transfer_ms INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT
);
