-- Tickets filed by calls: escalations (transferred) and callbacks (someone must call back).
CREATE TABLE tickets (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created    TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('escalation', 'callback')),
    status     TEXT    NOT NULL DEFAULT 'open',
    topic      TEXT,
    summary    TEXT    NOT NULL,
    transcript TEXT    NOT NULL,
    fields     TEXT    NOT NULL DEFAULT '[]',  -- JSON: [{name, ask, value}]
    caller     TEXT,
    call_id    TEXT    NOT NULL,
    note       TEXT
);
CREATE INDEX tickets_created ON tickets (created);
CREATE INDEX tickets_call ON tickets (call_id);
