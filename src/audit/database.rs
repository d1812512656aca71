//! The database sink, reading events back for `lanyard audit query`, and retention.
//!
//! Group commit: a single writer task per sink takes every event waiting in its bounded
//! queue (at most [`MAX_BATCH`]) and inserts them in one transaction, so that callers
//! waiting together share one commit (one sync to disk) instead of taking turns for one
//! each. A caller's [`AuditSink::write`] returns once the transaction holding its event has
//! committed, or with that transaction's error (every waiter of a failed batch gets it).
//! The writer never waits for more events: a lone event is committed at once, and a batch
//! forms only from events that arrived while the previous one was being committed. A full
//! queue makes callers wait (at most [`OPERATION_TIMEOUT`]), never grows memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::clock::SharedClock;
use crate::db::{Database, DbError, EventFilter, EventRow, EventWriter, OPERATION_TIMEOUT};

use super::{AuditError, AuditEvent, AuditSink, EventKind};

/// How often the retention task deletes old events.
pub const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);

/// The most events one transaction holds.
pub const MAX_BATCH: usize = 128;

/// The most events waiting for the writer; beyond, callers wait for room.
pub const QUEUE_CAPACITY: usize = 1024;

/// One event waiting for its transaction, and where its outcome goes.
struct Pending {
    row: EventRow,
    done: oneshot::Sender<Result<(), String>>,
}

/// Events as rows of the `audit_events` table, written by one group-committing task.
pub struct DatabaseSink {
    db: Arc<Database>,
    /// The writer's queue, started by the first write (inside the runtime).
    queue: OnceLock<mpsc::Sender<Pending>>,
    /// Transactions committed so far.
    commits: Arc<AtomicU64>,
}

impl std::fmt::Debug for DatabaseSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSink")
            .field("db", &self.db)
            .field("commits", &self.commits())
            .finish_non_exhaustive()
    }
}

impl DatabaseSink {
    /// A sink writing into `db`.
    pub fn new(db: Arc<Database>) -> Self {
        Self {
            db,
            queue: OnceLock::new(),
            commits: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many transactions the writer has committed (each holds one or more events).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// The writer's queue; the first call starts the writer, which ends with the sink.
    fn queue(&self) -> &mpsc::Sender<Pending> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
            tokio::spawn(write_batches(
                Arc::clone(&self.db),
                rx,
                Arc::clone(&self.commits),
            ));
            tx
        })
    }
}

/// The writer: one transaction per batch of waiting events, each waiter told the outcome.
async fn write_batches(
    db: Arc<Database>,
    mut queue: mpsc::Receiver<Pending>,
    commits: Arc<AtomicU64>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut rows = Vec::with_capacity(MAX_BATCH);
    // The writer's own connection, kept between batches (see `insert_events_with`).
    let mut writer = EventWriter::new();
    while next_batch(&mut queue, &mut batch).await {
        rows.clear();
        rows.extend(batch.iter_mut().map(|p| std::mem::take(&mut p.row)));
        let result = db
            .insert_events_with(&mut writer, &rows)
            .await
            .map_err(|e| e.to_string());
        if result.is_ok() {
            commits.fetch_add(1, Ordering::Relaxed);
        } else {
            tracing::warn!(target: "audit", events = rows.len(), "an audit transaction failed");
        }
        for pending in batch.drain(..) {
            // A caller that went away no longer needs the outcome.
            let _ = pending.done.send(result.clone());
        }
    }
}

/// Waits for one event, then takes the ones already waiting behind it, up to
/// [`MAX_BATCH`] (no waiting for more). `false` once the sink is gone.
async fn next_batch(queue: &mut mpsc::Receiver<Pending>, batch: &mut Vec<Pending>) -> bool {
    batch.clear();
    queue.recv_many(batch, MAX_BATCH).await > 0
}

fn db_error(e: DbError) -> AuditError {
    AuditError {
        sink: "database",
        message: e.to_string(),
    }
}

fn sink_error(message: impl Into<String>) -> AuditError {
    AuditError {
        sink: "database",
        message: message.into(),
    }
}

#[async_trait::async_trait]
impl AuditSink for DatabaseSink {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        let row = row(event)?;
        let (done, committed) = oneshot::channel();
        let queued =
            tokio::time::timeout(OPERATION_TIMEOUT, self.queue().send(Pending { row, done }));
        match queued.await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(sink_error("the audit writer stopped")),
            Err(_) => return Err(sink_error("the audit queue stayed full")),
        }
        match committed.await {
            Ok(result) => result.map_err(sink_error),
            Err(_) => Err(sink_error("the audit writer stopped")),
        }
    }
}

/// The row of `event` as the database sink writes it, for a write that inserts its own
/// record in its transaction ([`crate::db::Database::put_entity`]).
pub fn event_row(event: &AuditEvent) -> EventRow {
    // An event is strings, numbers and a JSON value: it always serializes.
    let record = serde_json::to_string(event).unwrap_or_default();
    row_fields(event, record)
}

/// The row of `event`.
fn row(event: &AuditEvent) -> Result<EventRow, AuditError> {
    let record = serde_json::to_string(event).map_err(|e| sink_error(e.to_string()))?;
    Ok(row_fields(event, record))
}

/// The row of `event` with `record` as its whole.
fn row_fields(event: &AuditEvent, record: String) -> EventRow {
    EventRow {
        id: event.id.clone(),
        time_ms: event.time_ms,
        event: event.event.as_str().to_owned(),
        door: event.door.map(|d| d.as_str().to_owned()),
        provider: event.provider.clone(),
        subject: event.subject.clone(),
        role: event.role.as_ref().map(ToString::to_string),
        session_name: event.session_name.clone(),
        role_session: event.role_session.as_ref().map(ToString::to_string),
        client_id: event.client_id.as_ref().map(ToString::to_string),
        source_ip: event.source_ip.clone(),
        record,
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
    /// Only events before this time (milliseconds since the epoch).
    pub until_ms: Option<i64>,
    /// Only events after this one, newest first: the time and id of the last event of the
    /// page before (see [`AuditQuery::cursor_of`]).
    pub after: Option<(i64, String)>,
    /// At most this many, newest first.
    pub limit: u32,
}

impl AuditQuery {
    /// The cursor of the page after `last`, the last event of a page: `{time_ms}.{id}`.
    pub fn cursor_of(last: &AuditEvent) -> String {
        format!("{}.{}", last.time_ms, last.id)
    }

    /// Reads a cursor made by [`AuditQuery::cursor_of`]; `None` if it is not one.
    pub fn parse_cursor(cursor: &str) -> Option<(i64, String)> {
        let (time, id) = cursor.split_once('.')?;
        let time = time.parse().ok()?;
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        id_ok.then(|| (time, id.to_owned()))
    }
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
        until_ms: query.until_ms,
        after: query.after.clone(),
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
            match prune(&db, retention, clock.now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(target: "audit", deleted = n, "old audit events deleted"),
                Err(e) => tracing::warn!(target: "audit", error = %e, "audit retention failed"),
            }
            tokio::time::sleep(RETENTION_INTERVAL).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Location;

    fn sqlite(dir: &tempfile::TempDir) -> Arc<Database> {
        Arc::new(Database::open(&Location::Sqlite(dir.path().join("audit.db"))).unwrap())
    }

    /// Every stored event.
    async fn stored(db: &Database) -> Vec<AuditEvent> {
        let all = AuditQuery {
            limit: 10_000,
            ..AuditQuery::default()
        };
        query(db, &all).await.unwrap()
    }

    fn pending(event: &AuditEvent) -> (Pending, oneshot::Receiver<Result<(), String>>) {
        let (done, committed) = oneshot::channel();
        let row = row(event).unwrap();
        (Pending { row, done }, committed)
    }

    /// Whether `next_batch` finishes on its first poll (it never waits for company).
    async fn at_once(rx: &mut mpsc::Receiver<Pending>, batch: &mut Vec<Pending>) -> bool {
        // `timeout` polls the future before its (already elapsed) deadline.
        tokio::time::timeout(Duration::ZERO, next_batch(rx, batch))
            .await
            .unwrap_or(false)
    }

    #[tokio::test]
    async fn a_lone_event_is_taken_at_once_and_a_batch_is_bounded() {
        let (tx, mut rx) = mpsc::channel(QUEUE_CAPACITY);
        let mut batch = Vec::new();
        assert!(!at_once(&mut rx, &mut batch).await, "nothing to take yet");
        let (one, _keep) = pending(&AuditEvent::new(EventKind::SignOut, 1));
        tx.send(one).await.unwrap();
        assert!(at_once(&mut rx, &mut batch).await);
        assert_eq!(batch.len(), 1);

        let mut receivers = Vec::new();
        for i in 0..MAX_BATCH + 5 {
            let (p, r) = pending(&AuditEvent::new(EventKind::SignOut, i as i64));
            tx.send(p).await.unwrap();
            receivers.push(r);
        }
        assert!(at_once(&mut rx, &mut batch).await);
        assert_eq!(batch.len(), MAX_BATCH);
        assert!(at_once(&mut rx, &mut batch).await);
        assert_eq!(batch.len(), 5);
        drop(tx);
        assert!(!next_batch(&mut rx, &mut batch).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_commits_and_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir);
        let sink = Arc::new(DatabaseSink::new(Arc::clone(&db)));
        let writes: Vec<_> = (0..300)
            .map(|i| {
                let sink = Arc::clone(&sink);
                tokio::spawn(async move {
                    let mut e = AuditEvent::new(EventKind::CredentialsIssued, 1_000 + i);
                    e.subject = Some(format!("user{i}"));
                    sink.write(&e).await.map(|()| e.id)
                })
            })
            .collect();
        let mut ids = std::collections::HashSet::new();
        for w in writes {
            ids.insert(w.await.unwrap().unwrap());
        }
        let kept = stored(&db).await;
        let kept: std::collections::HashSet<String> = kept.into_iter().map(|e| e.id).collect();
        assert_eq!(kept, ids);
        // Events that waited together shared a transaction.
        let commits = sink.commits();
        assert!(
            (1..300).contains(&commits),
            "{commits} commits for 300 events"
        );
    }

    #[tokio::test]
    async fn a_failed_batch_reaches_every_waiter_and_keeps_none() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir);
        let taken = AuditEvent::new(EventKind::SignOut, 1);
        db.insert_event(&row(&taken).unwrap()).await.unwrap();
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let mut receivers = Vec::new();
        for i in 0..10 {
            // The fifth reuses a stored id: the primary key refuses the whole transaction.
            let event = if i == 4 {
                taken.clone()
            } else {
                AuditEvent::new(EventKind::SignOut, 2 + i)
            };
            let (p, r) = pending(&event);
            tx.send(p).await.unwrap();
            receivers.push(r);
        }
        drop(tx);
        let commits = Arc::new(AtomicU64::new(0));
        write_batches(Arc::clone(&db), rx, Arc::clone(&commits)).await;
        for r in receivers {
            let outcome = r.await.unwrap();
            assert!(outcome.is_err(), "{outcome:?}");
        }
        assert_eq!(commits.load(Ordering::Relaxed), 0);
        let kept = stored(&db).await;
        assert_eq!(kept.len(), 1, "{kept:?}");
    }

    #[tokio::test]
    async fn after_a_failed_batch_the_writer_commits_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir);
        let taken = AuditEvent::new(EventKind::SignOut, 1);
        db.insert_event(&row(&taken).unwrap()).await.unwrap();
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let commits = Arc::new(AtomicU64::new(0));
        let writer = tokio::spawn(write_batches(Arc::clone(&db), rx, Arc::clone(&commits)));
        // One batch at a time: each waits for its outcome before the next is queued.
        let (p, r) = pending(&AuditEvent::new(EventKind::SignOut, 2));
        tx.send(p).await.unwrap();
        r.await.unwrap().unwrap();
        let (p, r) = pending(&taken);
        tx.send(p).await.unwrap();
        assert!(r.await.unwrap().is_err(), "a stored id is refused");
        let next = AuditEvent::new(EventKind::SignOut, 3);
        let (p, r) = pending(&next);
        tx.send(p).await.unwrap();
        r.await.unwrap().unwrap();
        drop(tx);
        writer.await.unwrap();
        assert_eq!(commits.load(Ordering::Relaxed), 2);
        let kept: Vec<i64> = stored(&db).await.iter().map(|e| e.time_ms).collect();
        assert_eq!(kept, [3, 2, 1]);
    }

    #[tokio::test]
    async fn an_answered_write_is_committed_for_every_other_connection() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DatabaseSink::new(sqlite(&dir));
        let event = AuditEvent::new(EventKind::CredentialsIssued, 5);
        sink.write(&event).await.unwrap();
        // A pool of its own on the same file (as `lanyard audit query` would open it)
        // reads the event at once: the writer's connection holds no open transaction.
        let reader = sqlite(&dir);
        assert_eq!(stored(&reader).await, [event]);
    }

    #[tokio::test]
    async fn a_batch_longer_than_one_statement_keeps_every_event() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir);
        let rows: Vec<EventRow> = (0..1100)
            .map(|i| {
                let mut e = AuditEvent::new(EventKind::CredentialsIssued, i);
                e.subject = Some(format!("user{i}"));
                e.role = (i % 2 == 0).then(|| "dev".into());
                row(&e).unwrap()
            })
            .collect();
        db.insert_events(&rows).await.unwrap();
        let kept = stored(&db).await;
        assert_eq!(kept.len(), rows.len());
        let newest = &kept[0];
        assert_eq!(newest.subject.as_deref(), Some("user1099"));
        assert_eq!(newest.role, None);
        assert_eq!(
            kept.iter()
                .filter(|e| e.role.as_deref() == Some("dev"))
                .count(),
            550
        );
    }

    #[tokio::test]
    async fn a_lone_write_commits_alone() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DatabaseSink::new(sqlite(&dir));
        for i in 0..3 {
            sink.write(&AuditEvent::new(EventKind::SignOut, i))
                .await
                .unwrap();
            assert_eq!(sink.commits(), u64::try_from(i + 1).unwrap());
        }
    }
}
