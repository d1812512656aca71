-- One row per audit event (the same SQL for SQLite and PostgreSQL: SQLite reads BIGINT as
-- INTEGER); `record` holds the whole event as JSON text, kept byte for byte as written.
CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY NOT NULL,
    time_ms      BIGINT NOT NULL,
    event        TEXT NOT NULL,
    door         TEXT,
    provider     TEXT,
    subject      TEXT,
    role         TEXT,
    session_name TEXT,
    role_session TEXT,
    client_id    TEXT,
    source_ip    TEXT,
    record       TEXT NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (time_ms);
CREATE INDEX audit_events_subject ON audit_events (subject, time_ms);
CREATE INDEX audit_events_role ON audit_events (role, time_ms);
CREATE INDEX audit_events_role_session ON audit_events (role_session);
