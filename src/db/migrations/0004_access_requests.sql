-- Access requests (elevation with approval), the same SQL for SQLite and PostgreSQL.
-- `state` is pending, approved, used, denied, expired or revoked; a request is open while
-- pending, approved or used, and a person has at most one open request per role (the
-- partial unique index, which makes two racing requests end as one). Times are
-- milliseconds since the epoch. `version` is bumped by every change, which also makes
-- concurrent deciders take turns on the row.
CREATE TABLE access_requests (
    id               TEXT PRIMARY KEY NOT NULL,
    role             TEXT NOT NULL,
    provider         TEXT NOT NULL,
    subject          TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    reason           TEXT NOT NULL,
    ticket           TEXT NOT NULL,
    duration_secs    BIGINT NOT NULL,
    approvals_needed BIGINT NOT NULL,
    break_glass      BIGINT NOT NULL,
    state            TEXT NOT NULL,
    created_ms       BIGINT NOT NULL,
    decide_by_ms     BIGINT NOT NULL,
    starts_ms        BIGINT,
    ends_ms          BIGINT,
    used_ms          BIGINT,
    closed_ms        BIGINT,
    closed_by        TEXT,
    close_reason     TEXT,
    version          BIGINT NOT NULL
);
CREATE UNIQUE INDEX access_requests_open ON access_requests (provider, subject, role)
    WHERE state IN ('pending', 'approved', 'used');
CREATE INDEX access_requests_created ON access_requests (created_ms);
CREATE INDEX access_requests_state ON access_requests (state, created_ms);
-- Each person's decision on a request: one per person (the primary key), so that two
-- approvals are two different people.
CREATE TABLE access_request_decisions (
    request_id   TEXT NOT NULL,
    provider     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    display_name TEXT NOT NULL,
    decision     TEXT NOT NULL,
    comment      TEXT NOT NULL,
    time_ms      BIGINT NOT NULL,
    PRIMARY KEY (request_id, provider, subject)
);
