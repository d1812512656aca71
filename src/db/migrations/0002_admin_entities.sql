-- Entities admins manage through the API (roles first; providers, policies and clients
-- later), the same SQL for SQLite and PostgreSQL. `body` is the entity as JSON text, in the
-- shape of its `lanyard.toml` entry. `version` is the catalog version of the write that
-- made this state, so an entity's version (its ETag) never repeats, even after a delete
-- and a new create of the same name.
CREATE TABLE admin_entities (
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    body          TEXT NOT NULL,
    version       BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    updated_by    TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
-- One row: the catalog's version, bumped in the transaction of every write. Every instance
-- polls it and reloads its catalog when it changed.
CREATE TABLE admin_catalog (
    id      INTEGER PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL
);
INSERT INTO admin_catalog (id, version) VALUES (1, 0);
