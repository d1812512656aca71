//! The `admin_entities` table and the `admin_catalog` version row: entities admins manage
//! through the API, each kept as JSON text with a version, and one catalog version bumped
//! in the transaction of every write (the row every instance polls).
//!
//! Writes are compare-and-set on the entity's version (optimistic concurrency): a write
//! whose precondition no longer holds changes nothing and says what the version is now.
//! The catalog row is updated first in each write transaction, so writers take turns on
//! it (a row lock in PostgreSQL, the write lock in SQLite) and never deadlock.
//!
//! Every write takes the audit events that record it (`admin.changed`), made by the caller
//! from what the write found (the entity before, the new version) once its precondition
//! holds, and inserts them into `audit_events` in the same transaction: the change and its
//! record commit together or not at all (a failed insert rolls the write back), so a crash
//! between the two cannot lose the record.

use super::events::insert_event;
use super::{Database, DbError, EventRow, Pool, bounded, on_pool};

/// What kind of entity a row holds (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// A role (`[[roles]]`).
    Role,
    /// An OpenID client (`[[clients]]`), with the hashes of its generated secrets.
    Client,
    /// An upstream identity provider (`[[providers]]`).
    Provider,
    /// A managed policy (`[[policies]]`).
    Policy,
}

impl EntityKind {
    /// The stable name stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Role => "role",
            EntityKind::Client => "client",
            EntityKind::Provider => "provider",
            EntityKind::Policy => "policy",
        }
    }
}

/// One entity as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRow {
    /// Its name, unique within its kind.
    pub name: String,
    /// The entity as JSON text.
    pub body: String,
    /// The catalog version of the write that made this state (its `ETag`).
    pub version: i64,
    /// When it was written, in milliseconds since the epoch.
    pub updated_at_ms: i64,
    /// Who wrote it (the caller's subject).
    pub updated_by: String,
}

/// What a write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// No entity of that name (`If-None-Match: *`).
    Absent,
    /// The entity at exactly this version (`If-Match`).
    Version(i64),
}

/// A write that was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The entity before the write (`None` for a create).
    pub before: Option<EntityRow>,
    /// The new catalog version, which is also the written entity's version.
    pub version: i64,
}

/// Why a write changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The precondition does not hold: the entity's version now (`None`: there is none).
    #[error("the entity changed (its version is now {current:?})")]
    Stale {
        /// The entity's version now.
        current: Option<i64>,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A row as selected: name, body, version, updated_at_ms, updated_by.
type Selected = (String, String, i64, i64, String);

fn row((name, body, version, updated_at_ms, updated_by): Selected) -> EntityRow {
    EntityRow {
        name,
        body,
        version,
        updated_at_ms,
        updated_by,
    }
}

const SELECT_VERSION: &str = "SELECT version FROM admin_catalog WHERE id = 1";
const BUMP_VERSION: &str =
    "UPDATE admin_catalog SET version = version + 1 WHERE id = 1 RETURNING version";
const SELECT_ALL: &str = "SELECT name, body, version, updated_at_ms, updated_by \
                          FROM admin_entities WHERE kind = $1 ORDER BY name";
const SELECT_ONE: &str = "SELECT name, body, version, updated_at_ms, updated_by \
                          FROM admin_entities WHERE kind = $1 AND name = $2";
const INSERT: &str = "INSERT INTO admin_entities \
                      (kind, name, body, version, updated_at_ms, updated_by) \
                      VALUES ($1, $2, $3, $4, $5, $6)";
const UPDATE: &str = "UPDATE admin_entities SET body = $3, version = $4, updated_at_ms = $5, \
                      updated_by = $6 WHERE kind = $1 AND name = $2";
const DELETE: &str = "DELETE FROM admin_entities WHERE kind = $1 AND name = $2";

/// A write to make once the precondition holds.
enum Change<'a> {
    Put {
        body: &'a str,
        updated_by: &'a str,
        now_ms: i64,
    },
    Delete,
}

impl Database {
    /// The catalog version: it changes with every committed write.
    pub async fn catalog_version(&self) -> Result<i64, DbError> {
        self.ready().await?;
        on_pool!(self, p => bounded(sqlx::query_scalar::<_, i64>(SELECT_VERSION).fetch_one(p)).await)
    }

    /// The catalog version and every entity of `kind`, by name. The version is read
    /// first: the rows are at least as new as it (a write in between is seen again by the
    /// next poll, whose version differs).
    pub async fn entities(&self, kind: EntityKind) -> Result<(i64, Vec<EntityRow>), DbError> {
        self.ready().await?;
        on_pool!(self, p => bounded(async {
            let version = sqlx::query_scalar::<_, i64>(SELECT_VERSION).fetch_one(p).await?;
            let rows = sqlx::query_as::<_, Selected>(SELECT_ALL)
                .bind(kind.as_str())
                .fetch_all(p)
                .await?;
            Ok((version, rows.into_iter().map(row).collect()))
        })
        .await)
    }

    /// One entity, if there is one of that kind and name.
    pub async fn entity(&self, kind: EntityKind, name: &str) -> Result<Option<EntityRow>, DbError> {
        self.ready().await?;
        on_pool!(self, p => bounded(
            sqlx::query_as::<_, Selected>(SELECT_ONE)
                .bind(kind.as_str())
                .bind(name)
                .fetch_optional(p),
        )
        .await
        .map(|r| r.map(row)))
    }

    /// Creates or replaces an entity when `expect` holds, bumping the catalog version and
    /// inserting the audit rows `events` makes of the write in the same transaction;
    /// otherwise changes nothing (and `events` is not called).
    pub async fn put_entity(
        &self,
        (kind, name): (EntityKind, &str),
        body: &str,
        (updated_by, now_ms): (&str, i64),
        expect: Precondition,
        events: impl FnOnce(&Written) -> Vec<EventRow> + Send,
    ) -> Result<Written, WriteError> {
        let change = Change::Put {
            body,
            updated_by,
            now_ms,
        };
        self.write(kind, name, expect, change, events).await
    }

    /// Deletes an entity when it is at version `expect`, bumping the catalog version and
    /// inserting the audit rows `events` makes of the delete in the same transaction;
    /// otherwise changes nothing (and `events` is not called).
    pub async fn delete_entity(
        &self,
        (kind, name): (EntityKind, &str),
        expect: i64,
        events: impl FnOnce(&Written) -> Vec<EventRow> + Send,
    ) -> Result<Written, WriteError> {
        let expect = Precondition::Version(expect);
        self.write(kind, name, expect, Change::Delete, events).await
    }

    async fn write(
        &self,
        kind: EntityKind,
        name: &str,
        expect: Precondition,
        change: Change<'_>,
        events: impl FnOnce(&Written) -> Vec<EventRow> + Send,
    ) -> Result<Written, WriteError> {
        self.ready().await?;
        let outcome = on_pool!(self, p => bounded(async {
            let mut tx = p.begin().await?;
            // First the catalog row: writers take turns from here on.
            let version = sqlx::query_scalar::<_, i64>(BUMP_VERSION)
                .fetch_one(&mut *tx)
                .await?;
            let before = sqlx::query_as::<_, Selected>(SELECT_ONE)
                .bind(kind.as_str())
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .map(row);
            let current = before.as_ref().map(|b| b.version);
            let holds = match expect {
                Precondition::Absent => current.is_none(),
                Precondition::Version(v) => current == Some(v),
            };
            if !holds {
                // Dropping the transaction rolls the version bump back.
                return Ok(Err(current));
            }
            let statement = match (&change, &before) {
                (Change::Put { .. }, None) => INSERT,
                (Change::Put { .. }, Some(_)) => UPDATE,
                (Change::Delete, _) => DELETE,
            };
            let mut query = sqlx::query(statement).bind(kind.as_str()).bind(name);
            if let Change::Put { body, updated_by, now_ms } = &change {
                query = query.bind(*body).bind(version).bind(*now_ms).bind(*updated_by);
            }
            query.execute(&mut *tx).await?;
            let written = Written { before, version };
            // The record of the change, in its transaction: a failed insert rolls it back.
            for event in events(&written) {
                insert_event!(&event).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Ok(written))
        })
        .await)?;
        outcome.map_err(|current| WriteError::Stale { current })
    }
}

/// One write of a batch ([`Database::write_all`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWrite<'a> {
    /// The entity's kind.
    pub kind: EntityKind,
    /// Its name.
    pub name: &'a str,
    /// What the write expects to find.
    pub expect: Precondition,
    /// The new body; `None` deletes the entity.
    pub body: Option<&'a str>,
}

/// Why a batch changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The precondition of write `index` does not hold: the entity's version now.
    #[error("write {index} found the entity changed (its version is now {current:?})")]
    Stale {
        /// Which write of the batch.
        index: usize,
        /// The entity's version now.
        current: Option<i64>,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Database {
    /// Makes every write of `writes` if all their preconditions hold, in one transaction
    /// under one new catalog version (the version of every entity written), with the
    /// audit rows `events` makes of that version and the entities before; otherwise none
    /// (and `events` is not called). Answers that version and each entity as it was before
    /// its write. An empty batch changes nothing and answers the current version.
    pub async fn write_all(
        &self,
        writes: &[BatchWrite<'_>],
        (updated_by, now_ms): (&str, i64),
        events: impl FnOnce(i64, &[Option<EntityRow>]) -> Vec<EventRow> + Send,
    ) -> Result<(i64, Vec<Option<EntityRow>>), BatchError> {
        if writes.is_empty() {
            return Ok((self.catalog_version().await?, Vec::new()));
        }
        self.ready().await?;
        let outcome = on_pool!(self, p => bounded(async {
            let mut tx = p.begin().await?;
            let version = sqlx::query_scalar::<_, i64>(BUMP_VERSION)
                .fetch_one(&mut *tx)
                .await?;
            let mut befores = Vec::with_capacity(writes.len());
            for (index, w) in writes.iter().enumerate() {
                let before = sqlx::query_as::<_, Selected>(SELECT_ONE)
                    .bind(w.kind.as_str())
                    .bind(w.name)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(row);
                let current = before.as_ref().map(|b| b.version);
                let holds = match w.expect {
                    Precondition::Absent => current.is_none(),
                    Precondition::Version(v) => current == Some(v),
                };
                if !holds {
                    // Dropping the transaction rolls every write back.
                    return Ok(Err((index, current)));
                }
                let statement = match (w.body, &before) {
                    (Some(_), None) => INSERT,
                    (Some(_), Some(_)) => UPDATE,
                    (None, _) => DELETE,
                };
                let mut query = sqlx::query(statement).bind(w.kind.as_str()).bind(w.name);
                if let Some(body) = w.body {
                    query = query.bind(body).bind(version).bind(now_ms).bind(updated_by);
                }
                query.execute(&mut *tx).await?;
                befores.push(before);
            }
            for event in events(version, &befores) {
                insert_event!(&event).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Ok((version, befores)))
        })
        .await)?;
        outcome.map_err(|(index, current)| BatchError::Stale { index, current })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Location;

    #[tokio::test]
    async fn writes_are_compare_and_set_and_bump_the_catalog_version() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&Location::Sqlite(dir.path().join("a.db"))).unwrap();
        let role = EntityKind::Role;
        assert_eq!(db.catalog_version().await.unwrap(), 0);
        let put = |body: &'static str, expect| {
            let db = &db;
            async move {
                db.put_entity((role, "eng"), body, ("corp:alice", 7), expect, |_| vec![])
                    .await
            }
        };
        let created = put("{\"a\":1}", Precondition::Absent).await.unwrap();
        assert_eq!((created.before, created.version), (None, 1));
        let again = put("{}", Precondition::Absent).await;
        assert!(matches!(again, Err(WriteError::Stale { current: Some(1) })));
        let stale = put("{}", Precondition::Version(9)).await;
        assert!(matches!(stale, Err(WriteError::Stale { current: Some(1) })));
        assert_eq!(
            db.catalog_version().await.unwrap(),
            1,
            "refused writes bump nothing"
        );
        let replaced = put("{\"a\":2}", Precondition::Version(1)).await.unwrap();
        assert_eq!(replaced.version, 2);
        assert_eq!(replaced.before.unwrap().body, "{\"a\":1}");
        let (version, rows) = db.entities(role).await.unwrap();
        assert_eq!((version, rows.len()), (2, 1));
        assert_eq!(rows[0].body, "{\"a\":2}");
        assert_eq!(rows[0].updated_by, "corp:alice");
        let delete = |expect| db.delete_entity((role, "eng"), expect, |_| vec![]);
        assert!(matches!(
            delete(1).await,
            Err(WriteError::Stale { current: Some(2) })
        ));
        let deleted = delete(2).await.unwrap();
        assert_eq!(deleted.version, 3);
        assert_eq!(db.entity(role, "eng").await.unwrap(), None);
        assert!(matches!(
            delete(2).await,
            Err(WriteError::Stale { current: None })
        ));
        // A new entity of the same name never takes an old version (ETag) again.
        let recreated = put("{}", Precondition::Absent).await.unwrap();
        assert_eq!(recreated.version, 4);
    }

    #[tokio::test]
    async fn a_batch_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&Location::Sqlite(dir.path().join("a.db"))).unwrap();
        let role = EntityKind::Role;
        let put = |name, expect, body| BatchWrite {
            kind: role,
            name,
            expect,
            body: Some(body),
        };
        let (version, befores) = db
            .write_all(
                &[
                    put("a", Precondition::Absent, "{\"a\":1}"),
                    put("b", Precondition::Absent, "{\"b\":1}"),
                ],
                ("cli", 5),
                |_, _| vec![],
            )
            .await
            .unwrap();
        assert_eq!((version, befores), (1, vec![None, None]));
        // One stale write: nothing of the batch is written, the version stays.
        let refused = db
            .write_all(
                &[
                    put("a", Precondition::Version(1), "{\"a\":2}"),
                    put("b", Precondition::Absent, "{}"),
                ],
                ("cli", 6),
                |_, _| vec![],
            )
            .await;
        assert!(matches!(
            refused,
            Err(BatchError::Stale {
                index: 1,
                current: Some(1)
            })
        ));
        assert_eq!(db.catalog_version().await.unwrap(), 1);
        assert_eq!(
            db.entity(role, "a").await.unwrap().unwrap().body,
            "{\"a\":1}"
        );
        let delete = BatchWrite {
            kind: role,
            name: "b",
            expect: Precondition::Version(1),
            body: None,
        };
        let (version, befores) = db
            .write_all(
                &[put("a", Precondition::Version(1), "{}"), delete],
                ("cli", 7),
                |_, _| vec![],
            )
            .await
            .unwrap();
        assert_eq!(version, 2);
        assert_eq!(befores[1].as_ref().unwrap().body, "{\"b\":1}");
        assert_eq!(db.entity(role, "b").await.unwrap(), None);
        let none = db.write_all(&[], ("cli", 8), |_, _| vec![]).await;
        assert_eq!(none.unwrap(), (2, vec![]));
    }

    /// An audit row with `id` recording a change of `name`.
    fn event(id: &str, name: &str) -> EventRow {
        EventRow {
            id: id.to_owned(),
            time_ms: 9,
            event: "admin.changed".to_owned(),
            door: None,
            provider: Some("corp".to_owned()),
            subject: Some("alice".to_owned()),
            role: Some(name.to_owned()),
            session_name: None,
            role_session: None,
            client_id: None,
            source_ip: None,
            record: format!("{{\"name\":\"{name}\"}}"),
        }
    }

    /// Every stored audit record.
    async fn records(db: &Database) -> Vec<String> {
        let filter = super::super::EventFilter {
            limit: 100,
            ..Default::default()
        };
        db.events(&filter).await.unwrap()
    }

    #[tokio::test]
    async fn a_write_and_its_audit_rows_commit_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&Location::Sqlite(dir.path().join("a.db"))).unwrap();
        let role = EntityKind::Role;
        // The rows are made of what the write found: the version it made, no row before.
        let written = db
            .put_entity(
                (role, "a"),
                "{}",
                ("corp:alice", 7),
                Precondition::Absent,
                |w| {
                    assert_eq!((w.version, w.before.is_none()), (1, true));
                    vec![event("e-1", "a")]
                },
            )
            .await
            .unwrap();
        assert_eq!(written.version, 1);
        assert_eq!(records(&db).await, vec!["{\"name\":\"a\"}".to_owned()]);

        // An audit row the database refuses (its id is taken): the write is rolled back.
        let refused = db
            .put_entity(
                (role, "b"),
                "{}",
                ("corp:alice", 8),
                Precondition::Absent,
                |_| vec![event("e-1", "b")],
            )
            .await;
        assert!(matches!(refused, Err(WriteError::Db(_))), "{refused:?}");
        assert_eq!(db.entity(role, "b").await.unwrap(), None);
        assert_eq!(db.catalog_version().await.unwrap(), 1);
        let refused = db.delete_entity((role, "a"), 1, |_| vec![event("e-1", "a")]);
        assert!(matches!(refused.await, Err(WriteError::Db(_))));
        assert!(db.entity(role, "a").await.unwrap().is_some());

        let put = |name| BatchWrite {
            kind: role,
            name,
            expect: Precondition::Absent,
            body: Some("{}"),
        };
        let refused = db
            .write_all(&[put("c"), put("d")], ("cli", 9), |version, befores| {
                assert_eq!((version, befores.len()), (2, 2));
                vec![event("e-2", "c"), event("e-1", "d")]
            })
            .await;
        assert!(matches!(refused, Err(BatchError::Db(_))), "{refused:?}");
        assert_eq!(db.entity(role, "c").await.unwrap(), None);
        assert_eq!(records(&db).await.len(), 1, "no row of the batch is kept");
        assert_eq!(db.catalog_version().await.unwrap(), 1);

        // A stale precondition: nothing written, and no rows asked for.
        let stale = db
            .put_entity((role, "a"), "{}", ("x", 10), Precondition::Absent, |_| {
                panic!("no rows for a write that does not happen")
            })
            .await;
        assert!(matches!(stale, Err(WriteError::Stale { current: Some(1) })));
    }
}
