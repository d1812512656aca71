-- The most recent sign-ins per provider, kept when `[admin] record_claims` is on, for the
-- trust simulator and change impact (the same SQL for SQLite and PostgreSQL). One row per
-- provider and subject: a new sign-in of the same person replaces the row (and its id).
-- `identity` is the normalized identity with its raw claims, as JSON text.
CREATE TABLE recorded_sign_ins (
    id       TEXT PRIMARY KEY NOT NULL,
    provider TEXT NOT NULL,
    subject  TEXT NOT NULL,
    time_ms  BIGINT NOT NULL,
    identity TEXT NOT NULL,
    UNIQUE (provider, subject)
);
CREATE INDEX recorded_sign_ins_provider_time ON recorded_sign_ins (provider, time_ms);
CREATE INDEX recorded_sign_ins_time ON recorded_sign_ins (time_ms);
