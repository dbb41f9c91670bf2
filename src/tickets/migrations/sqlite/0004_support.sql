-- The Support section: who works on a ticket, what they noted, every change in order, and full-text search.
ALTER TABLE tickets ADD COLUMN updated TEXT;
ALTER TABLE tickets ADD COLUMN assignee TEXT;
CREATE TABLE ticket_notes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    created   TEXT    NOT NULL,
    author    TEXT    NOT NULL,
    text      TEXT    NOT NULL
);
CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id);
CREATE TABLE ticket_history (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    at        TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    change    TEXT    NOT NULL,  -- filed | status | note | assign
    detail    TEXT
);
CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id);
CREATE VIRTUAL TABLE ticket_search USING fts5 (summary, transcript, caller, notes);
INSERT INTO ticket_search (rowid, summary, transcript, caller, notes)
    SELECT id, summary, transcript, COALESCE(caller, ''), '' FROM tickets;
INSERT INTO ticket_history (ticket_id, at, actor, change, detail)
    SELECT id, created, 'switchboard', 'filed', kind FROM tickets;
-- The search index follows the tickets and their notes, whoever writes them.
CREATE TRIGGER ticket_search_filed AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_search (rowid, summary, transcript, caller, notes)
        VALUES (new.id, new.summary, new.transcript, COALESCE(new.caller, ''), '');
END;
CREATE TRIGGER ticket_search_changed AFTER UPDATE OF summary, transcript, caller ON tickets BEGIN
    UPDATE ticket_search SET summary = new.summary, transcript = new.transcript,
        caller = COALESCE(new.caller, '') WHERE rowid = new.id;
END;
CREATE TRIGGER ticket_search_noted AFTER INSERT ON ticket_notes BEGIN
    UPDATE ticket_search SET notes = notes || ' ' || new.text WHERE rowid = new.ticket_id;
END;
