//! Assembling and running the broker: the session store, keys, connectors and roles of a
//! validated config, put together into the web layer's state.
//!
//! May import: everything below `web`.

use std::sync::Arc;
use std::time::Instant;

use crate::audit::{Audit, AuditError, AuditEvent, EventKind, OnFailure};
use crate::clock::SharedClock;
use crate::config::{Config, StoreKind};
use crate::connectors::{ConnectorError, Connectors};
use crate::credentials::CredentialIssuer;
use crate::provider::{Clients, OidcProvider};
use crate::roles::RoleCatalog;
use crate::session::{
    MemoryStore, ParkingCap, RedisStore, RedisTimeouts, SessionStore, StoreError,
};
use crate::sso::Sso;
use crate::sts::Sts;
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
        StoreKind::Redis { url } => Arc::new(RedisStore::connect(
            url.expose_secret(),
            &config.sessions.key_prefix,
            RedisTimeouts::default(),
        )?),
    })
}

/// Builds the application state of a validated config around an existing store.
pub fn build_state(
    config: Config,
    store: Arc<dyn SessionStore>,
    clock: SharedClock,
) -> Result<AppState, StartError> {
    let keys = Arc::new(KeySet::load_or_generate(
        &config.tokens.keys_dir,
        config.tokens.algorithm,
        clock.now(),
    )?);
    let issuer = config.server.issuer();
    let audience = if config.tokens.audience.is_empty() {
        issuer.clone()
    } else {
        config.tokens.audience.clone()
    };
    let connectors = Arc::new(Connectors::from_config(&config)?);
    let audit = Audit::from_settings(&config.audit)?;
    let sso = Sso::new(
        store,
        Arc::clone(&clock),
        config.sessions.idle_timeout,
        config.sessions.absolute_timeout,
    );
    let roles = Arc::new(RoleCatalog::new(config.roles.clone()));
    let issuer = CredentialIssuer::new(keys, issuer, audience, Arc::clone(&clock));
    let oidc = OidcProvider::new(
        Arc::new(Clients::new(
            &config.clients,
            config.limits.client_secret_checks,
            config.limits.client_secret_queue,
        )),
        sso.clone(),
        issuer.clone(),
        Arc::clone(&roles),
        Arc::clone(&clock),
        config.tokens.default_duration,
    );
    let sts = Sts::new(
        Arc::clone(&connectors),
        Arc::clone(&roles),
        issuer.clone(),
        sso.clone(),
        Arc::clone(&clock),
        config.tokens.default_duration,
    )
    .with_audit(audit.clone());
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
    Ok(AppState::new(Services {
        login_cap,
        authorization_cap,
        issuer,
        oidc,
        sts,
        draining: crate::telemetry::Draining::default(),
        metrics: crate::telemetry::metrics::Metrics::new(),
        audit,
        config: Arc::new(config),
        clock,
        sso,
        connectors,
        roles,
    }))
}

/// The process's soft limit on open files, `None` when unlimited.
pub fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
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
    open_file_limit()
}

/// Runs the broker until SIGINT or SIGTERM.
pub async fn run(config: Config, clock: SharedClock) -> Result<(), StartError> {
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
    let store = session_store(&config, Arc::clone(&clock)).await?;
    let had_key = KeySet::load(
        &config.tokens.keys_dir,
        config.tokens.algorithm,
        clock.now(),
    )
    .is_ok();
    let state = build_state(config, store, Arc::clone(&clock))?;
    start_audit(&state, had_key, clock).await?;
    if !demo.is_empty() {
        tracing::warn!(
            "DEMO DIRECTORY: users with insecure_demo_password are configured; never use this \
             configuration in production"
        );
        eprintln!("\n  ** DEMO users (insecure_demo_password; for trying Lanyard out only) **");
        for (provider, user, password) in &demo {
            eprintln!("     provider {provider:<10} user {user:<10} password {password}");
        }
        eprintln!();
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|source| StartError::Bind { addr: bind, source })?;
    tracing::info!(
        %bind,
        public_url = %public_url,
        store = state.sso.store().kind(),
        kid = %state.issuer.keys().active_kid(),
        startup_ms = started.elapsed().as_millis() as u64,
        "Lanyard is listening; sign in at {public_url}/signin"
    );
    let draining = state.draining.clone();
    let delay = state.config.limits.shutdown_delay;
    let shutdown = async move {
        shutdown_signal().await;
        // `/readyz` turns 503 at once; the listener keeps accepting for `delay`, so that a
        // load balancer sees the 503 and stops sending before connections are refused.
        draining.start();
        tracing::info!(
            delay_secs = delay.as_secs(),
            "shutting down: readiness withdrawn, draining"
        );
        tokio::time::sleep(delay).await;
    };
    crate::web::serve(listener, state, shutdown)
        .await
        .map_err(StartError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}

/// Connects the audit trail (refusing to start when it cannot keep events and the policy
/// is to refuse), starts retention, and records a signing key generated at this start.
async fn start_audit(
    state: &AppState,
    had_key: bool,
    clock: SharedClock,
) -> Result<(), StartError> {
    match (state.audit.prepare().await, state.audit.on_failure()) {
        (Ok(()), _) => {}
        (Err(e), OnFailure::Refuse) => return Err(e.into()),
        (Err(e), OnFailure::Log) => {
            tracing::warn!(target: "audit", error = %e, "audit database unavailable; answering anyway (on_failure = \"log\")");
        }
    }
    if let Some(db) = state.audit.database() {
        tracing::info!(target: "audit", backend = db.backend(), "audit database ready");
    }
    let _retention = state.audit.spawn_retention(Arc::clone(&clock));
    if !had_key {
        let keys = state.issuer.keys();
        let mut event = AuditEvent::new(EventKind::KeyRotated, clock.now().saturating_mul(1000));
        event.reason = Some("no signing key in force: a new key was generated".to_owned());
        event.detail = serde_json::json!({
            "kid": keys.active_kid(),
            "alg": keys.algorithm().to_string(),
        });
        state.audit.record(event).await?;
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
