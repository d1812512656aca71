//! The audit trail: one typed [`AuditEvent`] per security-relevant thing Lanyard does
//! (credentials issued or refused at every door, sign-ins, sign-outs, revocations,
//! refresh-token reuse, config reloads, key rotations), written to every configured sink.
//!
//! Events that gate an answer (credentials issued) are recorded with [`Audit::record`]
//! *before* the answer leaves: when a sink fails and the policy is
//! [`OnFailure::Refuse`], the caller gets an error and must not hand out what it audited.
//!
//! Sinks: the log (always), JSON lines to a file or stdout ([`JsonLinesSink`]) and the
//! database ([`DatabaseSink`], SQLite or PostgreSQL), as `[audit]` says ([`AuditSettings`]).
//!
//! A change the trail's own database holds (an admin write to the catalog) keeps its event
//! in its own transaction instead: the writer inserts the [`event_row`] there, so the change
//! and its event commit together or not at all, and then hands the event to
//! [`Audit::note_committed`] for the other sinks (the log, the file), which cannot share
//! that transaction and get it after the commit.
//!
//! May import: `db`, `clock`, `identity`.

mod database;
mod export;
mod file;
mod limit;
mod recorded;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::db::{Database, Location};
use crate::identity::{ClientId, RoleName, RoleSessionId};
use limit::Limiter;

pub use database::{
    AuditQuery, DatabaseSink, MAX_BATCH, QUEUE_CAPACITY, RETENTION_INTERVAL, event_row, prune,
    query,
};
pub use export::{CSV_COLUMNS, csv};
pub use file::{AuditFile, JsonLinesSink};
pub use limit::{FULL_EVENTS, MAX_SOURCES, WINDOW_MS};
pub use recorded::{RECORDED_PER_PROVIDER, RecordClaims, SignInRecorder};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A role session and its credentials were issued.
    #[serde(rename = "credentials.issued")]
    CredentialsIssued,
    /// Credentials were asked for and refused (trust policy, client allow-list, bounds).
    #[serde(rename = "credentials.refused")]
    CredentialsRefused,
    /// A person signed in.
    #[serde(rename = "signin.succeeded")]
    SignInSucceeded,
    /// A sign-in failed.
    #[serde(rename = "signin.failed")]
    SignInFailed,
    /// An account or address was locked after failed sign-ins.
    #[serde(rename = "signin.locked")]
    SignInLocked,
    /// A person signed out.
    #[serde(rename = "signout")]
    SignOut,
    /// A used refresh token came back: its family was revoked.
    #[serde(rename = "refresh.reuse")]
    RefreshReuse,
    /// Credentials or sessions were revoked.
    #[serde(rename = "revocation")]
    Revocation,
    /// The configuration was reloaded.
    #[serde(rename = "config.reloaded")]
    ConfigReloaded,
    /// A new configuration was refused; the old one stays.
    #[serde(rename = "config.reload_failed")]
    ConfigReloadFailed,
    /// A signing key was generated or rotated.
    #[serde(rename = "key.rotated")]
    KeyRotated,
    /// Events of one source held back in a window (failures anyone can cause), counted.
    #[serde(rename = "audit.summary")]
    AuditSummary,
    /// An admin created, replaced or deleted an entity through the admin API; `detail`
    /// holds the entity before and after.
    #[serde(rename = "admin.changed")]
    AdminChanged,
    /// An admin operation (API or console) that the caller's role does not allow: the
    /// action, the resource and the policy engine's reason.
    #[serde(rename = "admin.refused")]
    AdminRefused,
    /// A person asked for a role that needs approval (`detail.break_glass` when they
    /// approved it themself).
    #[serde(rename = "access.requested")]
    AccessRequested,
    /// A person approved an access request (`detail.window_opened` when theirs was the
    /// last approval needed).
    #[serde(rename = "access.approved")]
    AccessApproved,
    /// A person denied an access request.
    #[serde(rename = "access.denied")]
    AccessDenied,
    /// An access request was revoked (or withdrawn by its requester).
    #[serde(rename = "access.revoked")]
    AccessRevoked,
    /// An access request expired: undecided in time, or its approved window ended.
    #[serde(rename = "access.expired")]
    AccessExpired,
}

impl EventKind {
    /// Every kind, for parsing and listing.
    pub const ALL: [EventKind; 19] = [
        EventKind::CredentialsIssued,
        EventKind::CredentialsRefused,
        EventKind::SignInSucceeded,
        EventKind::SignInFailed,
        EventKind::SignInLocked,
        EventKind::SignOut,
        EventKind::RefreshReuse,
        EventKind::Revocation,
        EventKind::ConfigReloaded,
        EventKind::ConfigReloadFailed,
        EventKind::KeyRotated,
        EventKind::AuditSummary,
        EventKind::AdminChanged,
        EventKind::AdminRefused,
        EventKind::AccessRequested,
        EventKind::AccessApproved,
        EventKind::AccessDenied,
        EventKind::AccessRevoked,
        EventKind::AccessExpired,
    ];

    /// The stable name, as stored and queried (`credentials.issued`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CredentialsIssued => "credentials.issued",
            EventKind::CredentialsRefused => "credentials.refused",
            EventKind::SignInSucceeded => "signin.succeeded",
            EventKind::SignInFailed => "signin.failed",
            EventKind::SignInLocked => "signin.locked",
            EventKind::SignOut => "signout",
            EventKind::RefreshReuse => "refresh.reuse",
            EventKind::Revocation => "revocation",
            EventKind::ConfigReloaded => "config.reloaded",
            EventKind::ConfigReloadFailed => "config.reload_failed",
            EventKind::KeyRotated => "key.rotated",
            EventKind::AuditSummary => "audit.summary",
            EventKind::AdminChanged => "admin.changed",
            EventKind::AdminRefused => "admin.refused",
            EventKind::AccessRequested => "access.requested",
            EventKind::AccessApproved => "access.approved",
            EventKind::AccessDenied => "access.denied",
            EventKind::AccessRevoked => "access.revoked",
            EventKind::AccessExpired => "access.expired",
        }
    }

    /// The kind of a stable name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Which door credentials went through (or were refused at). The names are the
/// `door` label of `lanyard_credentials_issued_total` and the `door` field of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Door {
    /// The browser role picker (`POST /roles`, or a single fitting role).
    Browser,
    /// `authorization_code` at the token endpoint.
    OidcCode,
    /// `refresh_token` at the token endpoint.
    OidcRefresh,
    /// `client_credentials` at the token endpoint.
    ClientCredentials,
    /// The device authorization grant (RFC 8628).
    Device,
    /// `POST /sts/assume-role-with-web-identity`.
    StsWebIdentity,
    /// `POST /sts/assume-role-with-saml`.
    StsSaml,
    /// RFC 8693 token exchange at the token endpoint.
    TokenExchange,
}

impl Door {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Door::Browser => "browser",
            Door::OidcCode => "oidc_code",
            Door::OidcRefresh => "oidc_refresh",
            Door::ClientCredentials => "client_credentials",
            Door::Device => "device",
            Door::StsWebIdentity => "sts_web_identity",
            Door::StsSaml => "sts_saml",
            Door::TokenExchange => "token_exchange",
        }
    }
}

/// One audit event. Fields that do not apply are `None` or empty; nothing in it is a
/// secret (tokens are never recorded, only role-session ids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// A unique id (UUID v4).
    pub id: String,
    /// When, in milliseconds since the epoch.
    pub time_ms: i64,
    /// What happened.
    pub event: EventKind,
    /// The door, for credential events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<Door>,
    /// The upstream identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The subject at that provider (or `client/{id}` for a machine client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The role (for a refusal, the name asked for, which may name no role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleName>,
    /// The role session's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// The role session's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_session: Option<RoleSessionId>,
    /// The granted duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    /// The OAuth client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// The trust-policy statements that decided (`Sid`s, or their positions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<String>,
    /// Why, in plain words (refusals, failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// The client's `User-Agent` (truncated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Anything else worth keeping, as a JSON object.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

impl AuditEvent {
    /// A new event of `kind` at `time_ms`, every other field empty.
    pub fn new(kind: EventKind, time_ms: i64) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            time_ms,
            event: kind,
            door: None,
            provider: None,
            subject: None,
            role: None,
            session_name: None,
            role_session: None,
            duration_secs: None,
            client_id: None,
            statements: Vec::new(),
            reason: None,
            source_ip: None,
            user_agent: None,
            detail: serde_json::Value::Null,
        }
    }
}

/// A sink could not keep an event.
#[derive(Debug, thiserror::Error)]
#[error("audit sink {sink}: {message}")]
pub struct AuditError {
    /// Which sink.
    pub sink: &'static str,
    /// What went wrong.
    pub message: String,
}

/// Where events go.
#[async_trait::async_trait]
pub trait AuditSink: Send + Sync {
    /// The sink's name, for errors and logs.
    fn name(&self) -> &'static str;
    /// Keeps one event; `Ok` only once it is durable as far as this sink goes.
    async fn write(&self, event: &AuditEvent) -> Result<(), AuditError>;
}

/// What a failed sink means for the answer that waits on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Refuse the request: nothing is handed out that the trail does not hold.
    #[default]
    Refuse,
    /// Log the failure and answer anyway.
    Log,
}

/// Events as JSON in the log (tracing target `audit`): always on, never fails.
#[derive(Debug, Default)]
pub struct TracingSink;

#[async_trait::async_trait]
impl AuditSink for TracingSink {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        // Serialized only when the log keeps `audit` lines at INFO: the line is all this
        // sink writes.
        if !tracing::enabled!(target: "audit", tracing::Level::INFO) {
            return Ok(());
        }
        match serde_json::to_string(event) {
            Ok(json) => {
                tracing::info!(target: "audit", event = event.event.as_str(), record = %json)
            }
            Err(e) => tracing::warn!(target: "audit", error = %e, "audit event not serializable"),
        }
        Ok(())
    }
}

/// Events kept in memory, for tests: every write is kept (in order) until taken, or
/// refused while [`MemorySink::set_failing`] is on. Clones share the same events.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    inner: Arc<MemoryEvents>,
}

#[derive(Debug, Default)]
struct MemoryEvents {
    events: Mutex<Vec<AuditEvent>>,
    failing: AtomicBool,
}

impl MemorySink {
    /// An empty sink that keeps every event.
    pub fn new() -> Self {
        Self::default()
    }

    /// An audit trail writing only to this sink, with `on_failure`.
    pub fn audit(&self, on_failure: OnFailure) -> Audit {
        Audit::new(vec![Arc::new(self.clone())], on_failure)
    }

    /// The events written so far, oldest first (they stay).
    pub fn events(&self) -> Vec<AuditEvent> {
        self.lock().clone()
    }

    /// The events written so far, oldest first; the sink forgets them.
    pub fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.lock())
    }

    /// While `on`, every write fails (as a database that is down would).
    pub fn set_failing(&self, on: bool) {
        self.inner.failing.store(on, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AuditEvent>> {
        // A test that panicked while holding the lock left whole events behind.
        self.inner
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl AuditSink for MemorySink {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        if self.inner.failing.load(Ordering::SeqCst) {
            return Err(AuditError {
                sink: "memory",
                message: "the sink is set to fail".to_owned(),
            });
        }
        self.lock().push(event.clone());
        Ok(())
    }
}

/// `[audit]`: where events go, what a failed write means, how long the database keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// The database (`None`: `database = "none"`).
    pub database: Option<Location>,
    /// JSON lines to a file or stdout.
    pub file: Option<AuditFile>,
    /// What a failed write means for the answer waiting on it.
    pub on_failure: OnFailure,
    /// Events older than this are deleted from the database (`None`: kept).
    pub retention: Option<Duration>,
}

/// The audit trail: every sink, and what a failure means.
#[derive(Clone)]
pub struct Audit {
    sinks: Arc<[Arc<dyn AuditSink>]>,
    /// Every sink but the database's: where an event goes that the database already holds
    /// (written in the transaction of the change it records).
    beside_database: Arc<[Arc<dyn AuditSink>]>,
    on_failure: OnFailure,
    database: Option<Arc<Database>>,
    retention: Option<Duration>,
    limiter: Arc<Limiter>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.sinks.iter().map(|s| s.name()).collect();
        f.debug_struct("Audit")
            .field("sinks", &names)
            .field("on_failure", &self.on_failure)
            .finish()
    }
}

impl Audit {
    /// An audit trail over `sinks`.
    pub fn new(sinks: Vec<Arc<dyn AuditSink>>, on_failure: OnFailure) -> Self {
        Self {
            beside_database: sinks.clone().into(),
            sinks: sinks.into(),
            on_failure,
            database: None,
            retention: None,
            limiter: Arc::new(Limiter::default()),
        }
    }

    /// The trail `[audit]` describes: the log, then the file, then the database. Opening
    /// does not connect: the database is reached (and migrated) on first use, or by
    /// [`Audit::prepare`].
    pub fn from_settings(settings: &AuditSettings) -> Result<Self, AuditError> {
        let mut sinks: Vec<Arc<dyn AuditSink>> = vec![Arc::new(TracingSink)];
        if let Some(file) = &settings.file {
            sinks.push(Arc::new(JsonLinesSink::open(file)?));
        }
        let database = match &settings.database {
            Some(location) => Some(Arc::new(Database::open(location).map_err(|e| {
                AuditError {
                    sink: "database",
                    message: e.to_string(),
                }
            })?)),
            None => None,
        };
        let beside_database = sinks.clone();
        if let Some(db) = &database {
            sinks.push(Arc::new(DatabaseSink::new(Arc::clone(db))));
        }
        let mut audit = Self::new(sinks, settings.on_failure);
        audit.beside_database = beside_database.into();
        audit.database = database;
        audit.retention = settings.retention;
        Ok(audit)
    }

    /// The audit database, if one is configured.
    pub fn database(&self) -> Option<&Arc<Database>> {
        self.database.as_ref()
    }

    /// Whether this trail keeps its events in `db` (its database is `db`): a write to
    /// `db` then inserts its own record in its transaction ([`event_row`]) and hands the
    /// event to [`Audit::note_committed`] for the other sinks.
    pub fn keeps_events_in(&self, db: &Database) -> bool {
        self.database
            .as_deref()
            .is_some_and(|own| std::ptr::eq(own, db))
    }

    /// Writes `event`, which the trail's database already holds (inserted in the
    /// transaction of the change it records, now committed), to every other sink: the
    /// log and the file. A failed sink is logged: the change it records is made.
    pub async fn note_committed(&self, event: AuditEvent) {
        for sink in self.beside_database.iter() {
            if let Err(e) = sink.write(&event).await {
                tracing::error!(target: "audit", sink = e.sink, error = %e.message, event = event.event.as_str(), id = %event.id, "audit event not kept");
            }
        }
    }

    /// What a failed write means.
    pub fn on_failure(&self) -> OnFailure {
        self.on_failure
    }

    /// Connects to the database and brings its schema up to date (at start, so that a
    /// wrong URL shows at once rather than at the first credential).
    pub async fn prepare(&self) -> Result<(), AuditError> {
        match &self.database {
            Some(db) => db.ready().await.map_err(|e| AuditError {
                sink: "database",
                message: e.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Starts deleting events past the retention period, when both a database and a
    /// retention are configured.
    pub fn spawn_retention(&self, clock: SharedClock) -> Option<tokio::task::JoinHandle<()>> {
        let (db, retention) = (self.database.as_ref()?, self.retention?);
        Some(database::spawn_retention(Arc::clone(db), retention, clock))
    }

    /// The log only (tests, tools, and the default when no sink is configured).
    pub fn log_only() -> Self {
        Self::new(vec![Arc::new(TracingSink)], OnFailure::Log)
    }

    /// Writes `event` to every sink. `Err` only when a sink failed and the policy is
    /// [`OnFailure::Refuse`]; the caller must then not hand out what the event describes.
    ///
    /// Failures anyone can cause (`signin.failed`, `signin.locked`, `credentials.refused`)
    /// are held to a budget per source (see [`WINDOW_MS`]): beyond it they are counted into
    /// an `audit.summary` event instead of written one by one.
    pub async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        let admission = self.limiter.admit(&event);
        for summary in admission.summaries {
            // `write` has already logged a failure with the event's id.
            let _ = self.write(&summary).await;
        }
        if !admission.write {
            return Ok(());
        }
        self.write(&event).await
    }

    /// Writes the summaries of the windows that ended by `now_ms` (sources that went
    /// quiet; a source that keeps sending gets its summary with its next event).
    pub async fn close_windows(&self, now_ms: i64) {
        for summary in self.limiter.close_ended(now_ms) {
            let _ = self.write(&summary).await;
        }
    }

    /// Writes the summaries of quiet sources every [`WINDOW_MS`], for as long as the
    /// process runs.
    pub fn spawn_summaries(&self, clock: SharedClock) -> tokio::task::JoinHandle<()> {
        let audit = self.clone();
        tokio::spawn(async move {
            let period = Duration::from_millis(WINDOW_MS.unsigned_abs());
            loop {
                tokio::time::sleep(period).await;
                audit.close_windows(clock.now_ms()).await;
            }
        })
    }

    async fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        let mut first = None;
        for sink in self.sinks.iter() {
            if let Err(e) = sink.write(event).await {
                tracing::error!(target: "audit", sink = e.sink, error = %e.message, event = event.event.as_str(), id = %event.id, "audit event not kept");
                first.get_or_insert(e);
            }
        }
        match (first, self.on_failure) {
            (Some(e), OnFailure::Refuse) => Err(e),
            _ => Ok(()),
        }
    }

    /// Writes an event nothing waits on (sign-outs, failures): a failed sink is logged.
    pub async fn note(&self, event: AuditEvent) {
        // `record` has already logged the failure with the event's id.
        let _ = self.record(event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken;

    #[async_trait::async_trait]
    impl AuditSink for Broken {
        fn name(&self) -> &'static str {
            "broken"
        }
        async fn write(&self, _: &AuditEvent) -> Result<(), AuditError> {
            Err(AuditError {
                sink: "broken",
                message: "down".into(),
            })
        }
    }

    #[test]
    fn kinds_round_trip_by_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert_eq!(EventKind::parse("nope"), None);
    }

    #[tokio::test]
    async fn a_failed_sink_refuses_only_under_refuse() {
        let e = AuditEvent::new(EventKind::CredentialsIssued, 0);
        let refuse = Audit::new(
            vec![Arc::new(TracingSink), Arc::new(Broken)],
            OnFailure::Refuse,
        );
        assert!(refuse.record(e.clone()).await.is_err());
        let log = Audit::new(vec![Arc::new(Broken)], OnFailure::Log);
        assert!(log.record(e).await.is_ok());
    }

    #[tokio::test]
    async fn a_flood_from_one_address_writes_a_bounded_number_of_rows() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Database::open(&Location::Sqlite(dir.path().join("a.db"))).unwrap());
        let audit = Audit::new(
            vec![Arc::new(DatabaseSink::new(Arc::clone(&db)))],
            OnFailure::Refuse,
        );
        let failed = |ip: &str, time_ms: i64| {
            let mut e = AuditEvent::new(EventKind::SignInFailed, time_ms);
            e.source_ip = Some(ip.to_owned());
            e.detail = serde_json::json!({ "outcome": "failure" });
            e
        };
        for i in 0..500 {
            audit
                .record(failed("203.0.113.9", 1_000 + i))
                .await
                .unwrap();
        }
        for i in 0..5 {
            audit
                .record(failed("198.51.100.1", 1_500 + i))
                .await
                .unwrap();
        }
        // Issuance from the flooding address is never held back.
        for i in 0..50 {
            let mut issued = AuditEvent::new(EventKind::CredentialsIssued, 1_600 + i);
            issued.source_ip = Some("203.0.113.9".into());
            audit.record(issued).await.unwrap();
        }
        let all = |event| AuditQuery {
            event: Some(event),
            limit: 10_000,
            ..AuditQuery::default()
        };
        let rows = query(&db, &all(EventKind::SignInFailed)).await.unwrap();
        let from = |ip: &str| {
            rows.iter()
                .filter(|e| e.source_ip.as_deref() == Some(ip))
                .count()
        };
        assert_eq!(from("203.0.113.9"), FULL_EVENTS as usize);
        assert_eq!(from("198.51.100.1"), 5);
        let issued = query(&db, &all(EventKind::CredentialsIssued))
            .await
            .unwrap();
        assert_eq!(issued.len(), 50);

        audit.close_windows(1_000 + WINDOW_MS).await;
        let summaries = query(&db, &all(EventKind::AuditSummary)).await.unwrap();
        assert_eq!(summaries.len(), 1, "{summaries:?}");
        assert_eq!(summaries[0].source_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(summaries[0].detail["count"], 500 - u64::from(FULL_EVENTS));
        assert_eq!(summaries[0].detail["event"], "signin.failed");
    }

    #[tokio::test]
    async fn an_event_its_database_holds_goes_to_the_other_sinks_only() {
        let dir = tempfile::tempdir().unwrap();
        let settings = AuditSettings {
            database: Some(Location::Sqlite(dir.path().join("a.db"))),
            file: Some(AuditFile::Path(dir.path().join("audit.jsonl"))),
            on_failure: OnFailure::Refuse,
            retention: None,
        };
        let audit = Audit::from_settings(&settings).unwrap();
        let db = Arc::clone(audit.database().unwrap());
        let other = Database::open(&Location::Sqlite(dir.path().join("b.db"))).unwrap();
        assert!(audit.keeps_events_in(&db));
        assert!(!audit.keeps_events_in(&other));
        assert!(!MemorySink::new().audit(OnFailure::Log).keeps_events_in(&db));

        let event = AuditEvent::new(EventKind::AdminChanged, 7);
        audit.note_committed(event.clone()).await;
        let lines = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
        assert!(lines.contains(&event.id), "{lines}");
        let all = AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        };
        assert!(query(&db, &all).await.unwrap().is_empty(), "not twice");
        // The row the write inserts is the one the database sink would have written.
        db.insert_event(&event_row(&event)).await.unwrap();
        assert_eq!(query(&db, &all).await.unwrap(), [event]);
    }

    #[tokio::test]
    async fn the_memory_sink_keeps_takes_and_fails_on_demand() {
        let sink = MemorySink::new();
        let audit = sink.audit(OnFailure::Refuse);
        let e = AuditEvent::new(EventKind::SignOut, 1);
        audit.record(e.clone()).await.unwrap();
        assert_eq!(sink.events(), std::slice::from_ref(&e));
        sink.set_failing(true);
        assert!(audit.record(e.clone()).await.is_err());
        sink.set_failing(false);
        assert_eq!(sink.take(), [e]);
        assert!(sink.events().is_empty());
    }
}
