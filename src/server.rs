//! Assembling and running the broker: the session store, keys, connectors and roles of a
//! validated config, put together into the web layer's state.
//!
//! May import: everything below `web`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::access::{CredentialIssuer, Issuer};
use crate::admin::Admin;
use crate::audit::{Audit, AuditError, AuditEvent, EventKind, OnFailure};
use crate::catalog::Stored;
use crate::clock::SharedClock;
use crate::config::{Config, SessionsConfig, StoreKind};
use crate::connectors::{Connector, ConnectorError, Connectors, UpstreamObserver};
use crate::db::Database;
use crate::identity::ProviderId;
use crate::op::{Clients, OidcProvider};
use crate::reload::Reloader;
use crate::roles::RoleCatalog;
use crate::secret::hashing::PasswordHashing;
use crate::session::{
    MemoryStore, ObservedStore, ParkingCap, RedisOptions, RedisStore, RedisTimeouts, RedisTopology,
    SessionStore, StoreError, StoreObserver,
};
use crate::sso::Sso;
use crate::sts::Sts;
use crate::telemetry::Draining;
use crate::telemetry::metrics::Metrics;
use crate::tokens::{KeySet, TokenError};
use crate::web::{AppState, Services};

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Signing keys.
    #[error("signing keys: {0}")]
    Keys(#[from] TokenError),
    /// Session store.
    #[error("session store: {0}")]
    Store(#[from] StoreError),
    /// A connector.
    #[error("identity provider: {0}")]
    Connector(#[from] ConnectorError),
    /// Listening socket.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server: {0}")]
    Serve(std::io::Error),
    /// The audit trail (its file or database).
    #[error("audit trail: {0}")]
    Audit(#[from] AuditError),
}

/// Builds the session store the config names.
pub async fn session_store(
    config: &Config,
    clock: SharedClock,
) -> Result<Arc<dyn SessionStore>, StartError> {
    Ok(match &config.sessions.store {
        StoreKind::Memory => Arc::new(MemoryStore::new(&config.sessions.key_prefix, clock)),
        StoreKind::Redis { url } => redis_store(
            RedisTopology::Standalone { url: url.clone() },
            &config.sessions,
        )?,
        StoreKind::RedisSentinel {
            sentinels,
            master,
            password,
        } => redis_store(
            RedisTopology::Sentinel {
                sentinels: sentinels.clone(),
                master: master.clone(),
                password: password.clone(),
            },
            &config.sessions,
        )?,
        StoreKind::RedisCluster { nodes, password } => redis_store(
            RedisTopology::Cluster {
                nodes: nodes.clone(),
                password: password.clone(),
            },
            &config.sessions,
        )?,
    })
}

/// The Redis store on `topology` with the `[sessions]` settings.
fn redis_store(
    topology: RedisTopology,
    sessions: &SessionsConfig,
) -> Result<Arc<dyn SessionStore>, StartError> {
    let options = RedisOptions {
        timeouts: RedisTimeouts::default(),
        ca_file: sessions.redis_ca_file.clone(),
        replica_acks: sessions.redis_replica_acks,
    };
    Ok(Arc::new(RedisStore::open(
        &topology,
        &sessions.key_prefix,
        &options,
    )?))
}

/// What a running broker keeps across config reloads: the session store (timed by the
/// metrics), the signing keys, the clock, the metrics recorder, the draining flag and the
/// audit trail. Parking caps count in the store, so they carry over with it.
#[derive(Clone)]
pub struct Shared {
    /// The session store, observed by [`Shared::metrics`].
    pub store: Arc<dyn SessionStore>,
    /// The clock.
    pub clock: SharedClock,
    /// The signing keys.
    pub keys: Arc<KeySet>,
    /// The Prometheus recorder.
    pub metrics: Arc<Metrics>,
    /// Set at shutdown.
    pub draining: Draining,
    /// The audit trail.
    pub audit: Audit,
    /// The bound on argon2id checks (`[limits] password_hashes`, read at start).
    pub hashing: PasswordHashing,
    /// The database of admin-managed entities: the audit trail's (`[audit] database`),
    /// `None` when it is turned off.
    pub database: Option<Arc<Database>>,
    /// Woken by a write through the admin API, so that this instance reloads its catalog
    /// at once instead of at the next poll (and the write answers once it has).
    pub catalog_changed: Arc<crate::catalog::Refresh>,
}

impl Shared {
    /// The lasting parts of a broker for `config` around `store`: the signing keys loaded
    /// (or generated), and a new metrics recorder that also times every store operation.
    pub fn new(
        config: &Config,
        store: Arc<dyn SessionStore>,
        clock: SharedClock,
    ) -> Result<Self, StartError> {
        let keys = Arc::new(KeySet::load_or_generate(
            &config.tokens.keys_dir,
            config.tokens.algorithm,
            clock.now(),
        )?);
        let metrics = Arc::new(Metrics::new());
        let observer = Arc::new(StoreMetrics(Arc::clone(&metrics)));
        let audit = Audit::from_settings(&config.audit)?;
        Ok(Self {
            store: Arc::new(ObservedStore::new(store, observer)),
            clock,
            keys,
            metrics,
            draining: Draining::default(),
            database: audit.database().cloned(),
            audit,
            hashing: PasswordHashing::new(config.limits.password_hashes),
            catalog_changed: Arc::new(crate::catalog::Refresh::default()),
        })
    }
}

impl Shared {
    /// The connectors of `config`'s providers, reporting their upstream calls to the
    /// metrics; `reuse` offers connectors to keep (see [`Connectors::rebuild`]).
    pub fn connectors(
        &self,
        config: &Config,
        reuse: impl Fn(&crate::connectors::Provider) -> Option<Arc<Connector>>,
    ) -> Result<Connectors, ConnectorError> {
        self.connectors_of(config, &config.providers, reuse)
    }

    /// [`Shared::connectors`] of `providers` (the file's and the database's).
    pub fn connectors_of(
        &self,
        config: &Config,
        providers: &[crate::connectors::Provider],
        reuse: impl Fn(&crate::connectors::Provider) -> Option<Arc<Connector>>,
    ) -> Result<Connectors, ConnectorError> {
        let observer = Arc::new(UpstreamMetrics(Arc::clone(&self.metrics)));
        Connectors::rebuild(
            providers,
            &config.server.issuer(),
            &self.hashing,
            Some(observer),
            reuse,
        )
    }
}

/// Reports upstream calls to the metrics.
struct UpstreamMetrics(Arc<Metrics>);

impl UpstreamObserver for UpstreamMetrics {
    fn observe(
        &self,
        provider: &ProviderId,
        operation: &'static str,
        elapsed: std::time::Duration,
        ok: bool,
    ) {
        self.0
            .upstream_call(provider.as_str(), operation, elapsed, ok);
    }
}

/// Reports store operations to the metrics.
struct StoreMetrics(Arc<Metrics>);

impl StoreObserver for StoreMetrics {
    fn observe(&self, op: &'static str, elapsed: std::time::Duration, ok: bool) {
        self.0.store_operation(op, elapsed, ok);
    }
}

/// Builds the application state of a validated config around an existing store, with
/// the audit trail of its `[audit]` section. Call inside a tokio runtime.
pub fn build_state(
    config: Config,
    store: Arc<dyn SessionStore>,
    clock: SharedClock,
) -> Result<AppState, StartError> {
    let shared = Shared::new(&config, store, clock)?;
    let connectors = Arc::new(shared.connectors(&config, |_| None)?);
    Ok(assemble(
        Arc::new(config),
        &Stored::default(),
        &shared,
        connectors,
    ))
}

/// [`build_state`] with a given audit trail (its sinks and failure policy) in place of
/// the configured one.
pub fn build_state_with_audit(
    config: Config,
    store: Arc<dyn SessionStore>,
    clock: SharedClock,
    audit: Audit,
) -> Result<AppState, StartError> {
    let mut shared = Shared::new(&config, store, clock)?;
    shared.audit = audit;
    let connectors = Arc::new(shared.connectors(&config, |_| None)?);
    Ok(assemble(
        Arc::new(config),
        &Stored::default(),
        &shared,
        connectors,
    ))
}

/// The application state of a validated config and the database's entities on a broker's
/// lasting parts, with these connectors (new ones, or those a reload kept).
pub fn assemble(
    config: Arc<Config>,
    stored: &Stored,
    shared: &Shared,
    connectors: Arc<Connectors>,
) -> AppState {
    let clock = Arc::clone(&shared.clock);
    let issuer = config.server.issuer();
    let audience = if config.tokens.audience.is_empty() {
        issuer.clone()
    } else {
        config.tokens.audience.clone()
    };
    let sso = Sso::new(
        Arc::clone(&shared.store),
        Arc::clone(&clock),
        config.sessions.idle_timeout,
        config.sessions.absolute_timeout,
    );
    let roles = crate::catalog::roles(&config, stored);
    let clients = crate::catalog::clients::clients(&config, &stored.clients, &roles);
    let roles = Arc::new(RoleCatalog::new(roles));
    let issuer = CredentialIssuer::new(
        Arc::clone(&shared.keys),
        issuer,
        audience,
        Arc::clone(&clock),
    );
    let access = Issuer::new(
        issuer,
        sso.clone(),
        shared.audit.clone(),
        (*shared.metrics).clone(),
        Arc::clone(&clock),
    );
    // Every door that grants a role asks the one trust rule, approval roles included.
    let elevation = elevation(&config, shared, &sso);
    let oidc = OidcProvider::new(
        Arc::new(Clients::new(
            &clients,
            shared.hashing.clone(),
            config.limits.client_secret_checks,
            config.limits.client_secret_queue,
        )),
        sso.clone(),
        access.clone(),
        Arc::clone(&roles),
        Arc::clone(&clock),
        config.tokens.default_duration,
    )
    .with_elevation(elevation.clone());
    let sts = Sts::new(
        Arc::clone(&connectors),
        Arc::clone(&roles),
        access.clone(),
        config.tokens.default_duration,
    )
    .with_elevation(elevation.clone());
    let limits = &config.limits;
    let login_cap = ParkingCap {
        kind: "login",
        per_address: limits.max_pending_logins_per_address,
        total: limits.max_pending_logins,
        window: crate::sso::LOGIN_TRANSACTION_TTL,
    };
    let authorization_cap = ParkingCap {
        kind: "authz",
        per_address: limits.max_pending_authorizations_per_address,
        total: limits.max_pending_authorizations,
        window: crate::sso::LOGIN_TRANSACTION_TTL,
    };
    AppState::new(Services {
        login_cap,
        authorization_cap,
        access,
        oidc,
        sts,
        draining: shared.draining.clone(),
        metrics: Arc::clone(&shared.metrics),
        audit: shared.audit.clone(),
        admin: Admin::new(
            shared.database.clone(),
            shared.audit.clone(),
            Arc::clone(&shared.catalog_changed),
        ),
        recorder: crate::audit::SignInRecorder::new(shared.database.clone(), config.admin),
        elevation,
        config,
        clock,
        sso,
        connectors,
        roles,
    })
}

/// The elevation service of `config` on the shared database, notifying its
/// `[access_requests] webhooks` and ending revoked requests' role sessions in `sso`;
/// `None` without a database.
fn elevation(
    config: &Config,
    shared: &Shared,
    sso: &Sso,
) -> Option<Arc<crate::elevation::Elevation>> {
    let db = shared.database.clone()?;
    let notifier = crate::elevation::webhooks::Notifier::new(
        config.access_webhooks.clone(),
        config.server.public_url.clone(),
    )
    .map_err(|e| tracing::error!("access requests are unavailable: {e}"))
    .ok()?;
    Some(Arc::new(crate::elevation::Elevation::new(
        db,
        shared.audit.clone(),
        notifier,
        Arc::clone(&shared.clock),
        sso.clone(),
    )))
}

/// Raises the soft limit on open files to the hard limit (each client connection holds
/// one), and returns the soft limit then in force. A failure is logged, not fatal: the
/// connection limit follows whatever limit holds.
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "cannot raise the open-file limit to the hard limit");
        }
    }
    crate::web::open_file_limit()
}

/// Runs the broker on the config loaded from `path` (`text` is the text it was loaded
/// from) until SIGINT or SIGTERM; SIGHUP and edits of the file reload it
/// ([`crate::reload`]).
pub async fn run(
    path: &Path,
    config: Config,
    text: &str,
    clock: SharedClock,
) -> Result<(), StartError> {
    let started = Instant::now();
    let open_files = raise_open_file_limit();
    tracing::info!(
        open_files = open_files.map_or_else(|| "unlimited".to_owned(), |n| n.to_string()),
        max_connections = crate::web::connection_limit(config.limits.max_connections, open_files),
        header_read_timeout_secs = config.limits.header_read_timeout.as_secs(),
        "connection limits"
    );
    let demo = crate::config::demo_users(&config);
    let bind = config.server.bind;
    let public_url = config.server.issuer();
    if !config.server.secure_cookies {
        tracing::warn!(
            "insecure local development mode: public_url is plain http on loopback, so cookies \
             are sent without Secure and without the __Host- prefix"
        );
    }
    let limits = config.limits.clone();
    let store = session_store(&config, Arc::clone(&clock)).await?;
    let had_key = KeySet::load(
        &config.tokens.keys_dir,
        config.tokens.algorithm,
        clock.now(),
    )
    .is_ok();
    let shared = Shared::new(&config, store, clock)?;
    let reloader = Arc::new(Reloader::new(
        path.to_owned(),
        config,
        text,
        shared.clone(),
    )?);
    start_audit(&shared, had_key).await?;
    // The database's roles before the first request; the poll keeps them current.
    if let Err(e) = reloader.refresh_catalog().await {
        tracing::warn!(error = %e, "admin catalog: cannot read the database; serving the file's roles until it answers");
    }
    let _catalog = reloader.watch_catalog();
    let _sweep = reloader.sweep_requests();
    print_demo_users(&demo);
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|source| StartError::Bind { addr: bind, source })?;
    let _watch = reloader
        .watch()
        .map_err(
            |e| tracing::warn!(error = %e, "cannot watch the config file; SIGHUP still reloads it"),
        )
        .ok();
    reload_on_hangup(Arc::clone(&reloader));
    tracing::info!(
        %bind,
        public_url = %public_url,
        store = shared.store.kind(),
        kid = %shared.keys.active_kid(),
        startup_ms = started.elapsed().as_millis() as u64,
        "Lanyard is listening; sign in at {public_url}/signin"
    );
    let shutdown = drain_on_signal(shared.draining.clone(), limits.shutdown_delay);
    crate::web::serve_live(listener, reloader.router(), limits, shutdown)
        .await
        .map_err(StartError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}

fn print_demo_users(demo: &[(String, String, String)]) {
    if demo.is_empty() {
        return;
    }
    tracing::warn!(
        "DEMO DIRECTORY: users with insecure_demo_password are configured; never use this \
         configuration in production"
    );
    eprintln!("\n  ** DEMO users (insecure_demo_password; for trying Lanyard out only) **");
    for (provider, user, password) in demo {
        eprintln!("     provider {provider:<10} user {user:<10} password {password}");
    }
    eprintln!();
}

/// Completes once SIGINT or SIGTERM came and the drain delay has passed.
async fn drain_on_signal(draining: Draining, delay: std::time::Duration) {
    shutdown_signal().await;
    // `/readyz` turns 503 at once; the listener keeps accepting for `delay`, so that a
    // load balancer sees the 503 and stops sending before connections are refused.
    draining.start();
    tracing::info!(
        delay_secs = delay.as_secs(),
        "shutting down: readiness withdrawn, draining"
    );
    tokio::time::sleep(delay).await;
}

/// Reloads the config on every SIGHUP. The handler is installed before this returns, so
/// a SIGHUP from then on never takes the default action (ending the process).
fn reload_on_hangup(reloader: Arc<Reloader>) {
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangups) => {
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    tracing::info!("SIGHUP: reloading the config");
                    // The outcome is logged, audited and counted by the reload itself.
                    let _ = reloader.reload().await;
                }
            });
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot handle SIGHUP; config reload by signal is off")
        }
    }
    #[cfg(not(unix))]
    drop(reloader);
}

/// Connects the audit trail (refusing to start when it cannot keep events and the policy
/// is to refuse), starts retention, and records a signing key generated at this start.
async fn start_audit(shared: &Shared, had_key: bool) -> Result<(), StartError> {
    let clock = Arc::clone(&shared.clock);
    match (shared.audit.prepare().await, shared.audit.on_failure()) {
        (Ok(()), _) => {}
        (Err(e), OnFailure::Refuse) => return Err(e.into()),
        (Err(e), OnFailure::Log) => {
            tracing::warn!(target: "audit", error = %e, "audit database unavailable; answering anyway (on_failure = \"log\")");
        }
    }
    if let Some(db) = shared.audit.database() {
        tracing::info!(target: "audit", backend = db.backend(), "audit database ready");
    }
    let _retention = shared.audit.spawn_retention(Arc::clone(&clock));
    let _summaries = shared.audit.spawn_summaries(Arc::clone(&clock));
    if !had_key {
        let keys = &shared.keys;
        let mut event = AuditEvent::new(EventKind::KeyRotated, clock.now_ms());
        event.reason = Some("no signing key in force: a new key was generated".to_owned());
        event.detail = serde_json::json!({
            "kid": keys.active_kid(),
            "alg": keys.algorithm().to_string(),
        });
        shared.audit.record(event).await?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
