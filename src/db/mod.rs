//! The database: SQLite (the embedded default, one file under `data/`) or PostgreSQL
//! (several instances sharing one trail and one admin catalog), through sqlx with runtime
//! queries (no database needed to build), and the schema migrations embedded in the binary.
//!
//! Every operation is bounded: a pooled connection is waited for at most
//! [`ACQUIRE_TIMEOUT`], and a whole operation, waiting included, takes at most
//! [`OPERATION_TIMEOUT`]. A stalled or stopped database turns into a [`DbError`], never a
//! request that hangs.
//!
//! May import: `secret`.

mod entities;
mod events;
mod recorded;
mod requests;
mod sp_keys;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::OnceCell;

use crate::secret::Secret;

pub use entities::{
    BatchError, BatchWrite, EntityKind, EntityRow, Precondition, WriteError, Written,
};
pub use events::{EventFilter, EventRow, EventWriter};
pub use recorded::RecordedRow;
pub use requests::{DecideError, DecisionRow, NewRequest, RequestFilter, RequestRow};
pub use sp_keys::SpKeyRow;

/// How long an operation waits for a pooled connection (or a new one to be made).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest one operation may take, connection included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections to PostgreSQL at most, per instance.
const POSTGRES_CONNECTIONS: u32 = 8;
/// Connections to the SQLite file at most (writes take turns anyway).
const SQLITE_CONNECTIONS: u32 = 4;

/// The schema, oldest first; the SQL is the same for both backends.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "audit events",
        include_str!("migrations/0001_audit_events.sql"),
    ),
    (
        2,
        "admin entities",
        include_str!("migrations/0002_admin_entities.sql"),
    ),
    (
        3,
        "recorded sign-ins",
        include_str!("migrations/0003_recorded_sign_ins.sql"),
    ),
    (
        4,
        "access requests",
        include_str!("migrations/0004_access_requests.sql"),
    ),
    (5, "SP keys", include_str!("migrations/0005_sp_keys.sql")),
];

/// Where the database is.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (created, with its directory, when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://user:password@host/db`); it may hold a password.
    Postgres(Secret),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Location::Postgres(_) => f.write_str("Postgres(<redacted>)"),
        }
    }
}

impl Location {
    /// Parses `sqlite:PATH` (also `sqlite://PATH`) or `postgres://…` / `postgresql://…`.
    /// A relative SQLite path is returned as written, for the caller to resolve. The
    /// error never repeats the URL (it may hold a password).
    pub fn parse(text: &str) -> Result<Location, String> {
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() || path.starts_with(':') || path.contains('?') {
                return Err("a SQLite location is sqlite:PATH to a file, such as \
                            \"sqlite:data/lanyard.db\""
                    .to_owned());
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return match PgConnectOptions::from_str(text) {
                Ok(_) => Ok(Location::Postgres(Secret::new(text))),
                Err(_) => Err("is not a valid PostgreSQL URL \
                               (postgres://user:password@host:port/database)"
                    .to_owned()),
            };
        }
        Err("must be \"sqlite:PATH\", \"postgres://…\" or \"none\"".to_owned())
    }
}

/// A database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be opened (bad options, or the SQLite directory).
    #[error("cannot open the database: {0}")]
    Open(String),
    /// The schema could not be brought up to date.
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
    /// A statement failed (connection refused or lost, constraint, I/O).
    #[error("database: {0}")]
    Query(#[from] sqlx::Error),
    /// The database did not answer in time.
    #[error("the database did not answer within {} s", OPERATION_TIMEOUT.as_secs())]
    Timeout,
}

/// The pool of one backend.
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the pool of whichever backend is configured. The
/// body is written once and compiled for each backend's types.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match &$db.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// An open database: a bounded pool, connected lazily, migrated once before first use.
pub struct Database {
    pool: Pool,
    migrated: OnceCell<()>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens the pool without connecting yet (so that opening never blocks); the first
    /// operation connects and brings the schema up to date. Creates a SQLite file's
    /// directory when missing. Must be called inside a tokio runtime (an error otherwise).
    pub fn open(location: &Location) -> Result<Database, DbError> {
        // The pool starts its maintenance task at once: without a runtime that would panic.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(DbError::Open(
                "the database must be opened inside the async runtime".to_owned(),
            ));
        }
        let pool = match location {
            Location::Sqlite(path) => Pool::Sqlite(sqlite_pool(path)?),
            Location::Postgres(url) => {
                let options = PgConnectOptions::from_str(url.expose_secret())
                    .map_err(|_| DbError::Open("not a valid PostgreSQL URL".to_owned()))?
                    .options([("statement_timeout", "5s"), ("lock_timeout", "5s")]);
                Pool::Postgres(
                    PgPoolOptions::new()
                        .max_connections(POSTGRES_CONNECTIONS)
                        .acquire_timeout(ACQUIRE_TIMEOUT)
                        .idle_timeout(Duration::from_secs(300))
                        .connect_lazy_with(options),
                )
            }
        };
        Ok(Database {
            pool,
            migrated: OnceCell::new(),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Brings the schema up to date, once per process (a failure is tried again by the
    /// next operation).
    pub async fn ready(&self) -> Result<(), DbError> {
        self.migrated
            .get_or_try_init(|| async {
                let migrator = Migrator::new(Embedded)
                    .await
                    .map_err(|e| DbError::Migrate(e.to_string()))?;
                let run = on_pool!(self, p => bounded_migrate(migrator.run(p)).await);
                run.map_err(|e| DbError::Migrate(e.to_string()))
            })
            .await
            .map(|_| ())
    }

    /// Closes every connection (waiting for the ones in use).
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await);
    }
}

fn sqlite_pool(path: &Path) -> Result<SqlitePool, DbError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbError::Open(format!("cannot create {}: {e}", dir.display())))?;
    }
    // WAL lets readers (`lanyard audit query`) run beside the broker's writes; FULL makes
    // a commit survive a power cut, not just a crash of the process.
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(ACQUIRE_TIMEOUT);
    // A connection to a local file cannot go stale: pinging it before each use would only
    // add a round trip to its worker thread.
    Ok(SqlitePoolOptions::new()
        .max_connections(SQLITE_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .connect_lazy_with(options))
}

async fn bounded_migrate(
    run: impl Future<Output = Result<(), sqlx::migrate::MigrateError>>,
) -> Result<(), String> {
    match tokio::time::timeout(OPERATION_TIMEOUT, run).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(DbError::Timeout.to_string()),
    }
}

/// Awaits a statement for at most [`OPERATION_TIMEOUT`].
async fn bounded<T>(statement: impl Future<Output = Result<T, sqlx::Error>>) -> Result<T, DbError> {
    match tokio::time::timeout(OPERATION_TIMEOUT, statement).await {
        Ok(r) => r.map_err(DbError::Query),
        Err(_) => Err(DbError::Timeout),
    }
}

/// The migrations compiled into the binary.
#[derive(Debug)]
struct Embedded;

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> std::pin::Pin<
        Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send + 's>,
    > {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            Location::parse("sqlite:data/lanyard.db"),
            Ok(Location::Sqlite(PathBuf::from("data/lanyard.db")))
        );
        assert_eq!(
            Location::parse("sqlite:///var/lib/lanyard/audit.db"),
            Ok(Location::Sqlite(PathBuf::from("/var/lib/lanyard/audit.db")))
        );
        assert!(matches!(
            Location::parse("postgres://lanyard:pw@db.internal:5432/lanyard"),
            Ok(Location::Postgres(_))
        ));
        for bad in [
            "sqlite:",
            "sqlite::memory:",
            "mysql://x/y",
            "lanyard.db",
            "",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
        let err = Location::parse("postgres://u:hunter2@[::1/db").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        let debug = format!("{:?}", Location::parse("postgres://u:hunter2@h/db"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn opening_outside_a_runtime_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let opened = Database::open(&Location::Sqlite(dir.path().join("a.db")));
        assert!(matches!(opened, Err(DbError::Open(_))), "{opened:?}");
    }
}
