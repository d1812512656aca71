//! The database sink (one row per event, `Ok` once committed), reading events back for
//! `lanyard audit query`, and retention.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::SharedClock;
use crate::db::{Database, DbError, EventFilter, EventRow};

use super::{AuditError, AuditEvent, AuditSink, EventKind};

/// How often the retention task deletes old events.
pub const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);

/// Events as rows of the `audit_events` table.
#[derive(Debug)]
pub struct DatabaseSink {
    db: Arc<Database>,
}

impl DatabaseSink {
    /// A sink writing into `db`.
    pub fn new(db: Arc<Database>) -> Self {
        Self { db }
    }
}

fn db_error(e: DbError) -> AuditError {
    AuditError {
        sink: "database",
        message: e.to_string(),
    }
}

#[async_trait::async_trait]
impl AuditSink for DatabaseSink {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        let record = serde_json::to_string(event).map_err(|e| AuditError {
            sink: "database",
            message: e.to_string(),
        })?;
        let row = EventRow {
            id: event.id.clone(),
            time_ms: event.time_ms,
            event: event.event.as_str().to_owned(),
            door: event.door.map(|d| d.as_str().to_owned()),
            provider: event.provider.clone(),
            subject: event.subject.clone(),
            role: event.role.clone(),
            session_name: event.session_name.clone(),
            role_session: event.role_session.clone(),
            client_id: event.client_id.clone(),
            source_ip: event.source_ip.clone(),
            record,
        };
        self.db.insert_event(&row).await.map_err(db_error)
    }
}

/// Which events to read back; every given field must match exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// The subject.
    pub subject: Option<String>,
    /// The role.
    pub role: Option<String>,
    /// The upstream identity provider.
    pub provider: Option<String>,
    /// What happened.
    pub event: Option<EventKind>,
    /// The role session's id.
    pub role_session: Option<String>,
    /// Only events at or after this time (milliseconds since the epoch).
    pub since_ms: Option<i64>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// The events `query` matches, newest first.
pub async fn query(db: &Database, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditError> {
    let filter = EventFilter {
        subject: query.subject.clone(),
        role: query.role.clone(),
        provider: query.provider.clone(),
        event: query.event.map(|k| k.as_str().to_owned()),
        role_session: query.role_session.clone(),
        since_ms: query.since_ms,
        limit: query.limit,
    };
    let records = db.events(&filter).await.map_err(db_error)?;
    records
        .iter()
        .map(|r| {
            serde_json::from_str(r).map_err(|e| AuditError {
                sink: "database",
                message: format!("a stored event cannot be read: {e}"),
            })
        })
        .collect()
}

/// Deletes the events older than `retention` before `now_ms`; returns how many went.
pub async fn prune(db: &Database, retention: Duration, now_ms: i64) -> Result<u64, AuditError> {
    let keep_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    db.delete_events_before(now_ms.saturating_sub(keep_ms))
        .await
        .map_err(db_error)
}

/// Prunes now and then every [`RETENTION_INTERVAL`], for as long as the process runs.
pub fn spawn_retention(
    db: Arc<Database>,
    retention: Duration,
    clock: SharedClock,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match prune(&db, retention, clock.now().saturating_mul(1000)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(target: "audit", deleted = n, "old audit events deleted"),
                Err(e) => tracing::warn!(target: "audit", error = %e, "audit retention failed"),
            }
            tokio::time::sleep(RETENTION_INTERVAL).await;
        }
    })
}
