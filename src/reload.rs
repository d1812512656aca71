//! Live reload of `lanyard.toml`: on SIGHUP (see [`crate::server::run`]) or when the file
//! changes (a debounced watch of its directory), the file is read and validated by the code
//! `check-config` runs ([`Config::load_with_text`]). A valid config is switched to at once:
//! a new application state and router are built on the broker's lasting parts
//! ([`Shared`]: store, keys, clock, metrics, audit trail, draining flag), so sessions and
//! signing keys survive, and the router is swapped atomically ([`LiveRouter`]); requests in
//! flight finish on the router they started on. An invalid config changes nothing: every
//! error is logged with its location, written to the audit trail
//! (`config.reload_failed`) and counted (`lanyard_config_reloads_total{outcome}`).
//!
//! Settings that size or identify the running process ([`RESTART_ONLY`], and the whole
//! `[audit]` section: the running trail stays) keep their running value; a reload that
//! changes one applies the rest, logs a warning naming it, and counts as
//! `outcome="restart_needed"`. A provider whose entry in the file and whose converted settings are
//! unchanged keeps its connector, and with it its discovery, JWKS and metadata caches.
//!
//! The admin catalog (providers, policies and roles kept in the database,
//! [`crate::catalog`]) is swapped the same way: every instance polls the catalog version
//! ([`Reloader::watch_catalog`]) and, when it changed, assembles a state of the running
//! file config and the database's entities. A database provider keeps its connector while
//! its stored document and settings are unchanged, as a file provider does; one whose
//! connector cannot be set up is left out and logged (the file's providers and the other
//! database providers still serve).
//!
//! May import: `config`, `catalog`, `db`, `connectors`, `server`, `web`, `audit`,
//! `telemetry`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::audit::{AuditEvent, EventKind};
use crate::catalog::{Stored, database_providers};
use crate::config::{Config, ConfigErrors, StoreKind};
use crate::connectors::{Connector, ConnectorError, Connectors};
use crate::identity::ProviderId;
use crate::server::{Shared, StartError, assemble};
use crate::telemetry::metrics::ReloadOutcome;
use crate::web::{AppState, LiveRouter, app};

/// The settings a reload cannot change (the listener, the store, the keys, the issuer, and
/// the whole `[audit]` section: the running trail stays).
pub const RESTART_ONLY: &[&str] = &[
    "server.bind",
    "server.public_url",
    "sessions.store",
    "sessions.redis_url",
    "sessions.key_prefix",
    "tokens.keys_dir",
    "tokens.algorithm",
    "limits.max_connections",
    "limits.header_read_timeout",
    "limits.shutdown_delay",
    "limits.password_hashes",
    "[audit]",
];

/// How long the file watch waits for a burst of writes to settle before reloading.
pub const WATCH_DEBOUNCE: Duration = Duration::from_millis(300);

/// Why a reload was refused (the running config stays).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file is not a valid config.
    #[error("{0}")]
    Config(ConfigErrors),
    /// The config is valid but a provider could not be set up from it.
    #[error("{0}")]
    Connector(ConnectorError),
}

impl ReloadError {
    /// Every problem, each with its location (`line 12: roles[0].trust_policy…: …`).
    pub fn problems(&self) -> Vec<String> {
        match self {
            ReloadError::Config(e) => e.errors.iter().map(ToString::to_string).collect(),
            ReloadError::Connector(e) => vec![format!("providers: {e}")],
        }
    }
}

/// A reload that took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// Restart-only settings that the file changed, kept at their running values.
    pub restart_needed: Vec<&'static str>,
    /// Providers whose connectors (and caches) were kept.
    pub kept_connectors: Vec<ProviderId>,
}

/// What identifies a provider's settings: its entry as written (in the file: secrets as
/// written, `${VAR}` or a `*_file` path; in the database: its document, secrets included)
/// and its converted settings (secrets redacted).
#[derive(PartialEq)]
struct Fingerprint {
    entry: Entry,
    settings: String,
}

/// A provider's entry as written.
#[derive(PartialEq)]
enum Entry {
    /// Its `[[providers]]` entry in the file.
    File(Option<toml::Value>),
    /// Its document in the database.
    Database(String),
}

/// The connectors of a state, and what identifies each provider's settings.
struct Built {
    connectors: Arc<Connectors>,
    providers: BTreeMap<ProviderId, Fingerprint>,
    kept: Vec<ProviderId>,
}

/// The connectors of the file's providers (`config`, whose text is `text`) and of the
/// database's (`stored`), keeping each of `old` whose fingerprint is unchanged. A file
/// provider that cannot be set up refuses the whole; a database provider that cannot is
/// left out and logged.
fn build_connectors(
    shared: &Shared,
    config: &Config,
    text: &str,
    stored: &Stored,
    old: Option<(&Connectors, &BTreeMap<ProviderId, Fingerprint>)>,
) -> Result<Built, ConnectorError> {
    let mut prints = fingerprints(config, text);
    let same = |id: &ProviderId, print: &Fingerprint| {
        old.is_some_and(|(_, prints)| prints.get(id) == Some(print))
    };
    let kept_of = |id: &ProviderId, print: &Fingerprint| {
        old.filter(|_| same(id, print))
            .and_then(|(connectors, _)| connectors.instance(id))
    };
    let mut providers = config.providers.clone();
    let mut ready: BTreeMap<ProviderId, Arc<Connector>> = BTreeMap::new();
    for (provider, row) in database_providers(config, stored) {
        let print = Fingerprint {
            entry: Entry::Database(row.body.clone()),
            settings: format!("{provider:?}"),
        };
        let connector = match kept_of(&provider.id, &print) {
            Some(kept) => kept,
            None => {
                let one = shared.connectors_of(config, std::slice::from_ref(&provider), |_| None);
                match one.map(|c| c.instance(&provider.id)) {
                    Ok(Some(c)) => c,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::error!(provider = %provider.id, "a provider of the database is left out: its connector cannot be set up: {e}");
                        continue;
                    }
                }
            }
        };
        ready.insert(provider.id.clone(), connector);
        prints.insert(provider.id.clone(), print);
        providers.push(provider);
    }
    let connectors = shared.connectors_of(config, &providers, |p| {
        ready
            .get(&p.id)
            .cloned()
            .or_else(|| prints.get(&p.id).and_then(|print| kept_of(&p.id, print)))
    })?;
    let kept = providers
        .iter()
        .map(|p| p.id.clone())
        .filter(|id| prints.get(id).is_some_and(|print| same(id, print)))
        .collect();
    Ok(Built {
        connectors: Arc::new(connectors),
        providers: prints,
        kept,
    })
}

/// The config the broker runs on now.
struct Running {
    state: AppState,
    text: String,
    providers: BTreeMap<ProviderId, Fingerprint>,
    /// The database's entities the state was assembled with.
    stored: Stored,
}

/// Reloads one broker's config file and swaps its router.
pub struct Reloader {
    path: PathBuf,
    shared: Shared,
    live: LiveRouter,
    running: tokio::sync::Mutex<Running>,
}

impl Reloader {
    /// The broker of `config` (read from `path`, whose text it was) on `shared` parts.
    pub fn new(
        path: PathBuf,
        config: Config,
        text: &str,
        shared: Shared,
    ) -> Result<Self, StartError> {
        let stored = Stored::default();
        let built = build_connectors(&shared, &config, text, &stored, None)?;
        let providers = built.providers;
        let state = assemble(Arc::new(config), &stored, &shared, built.connectors);
        shared.metrics.config_reload(None, shared.clock.now());
        Ok(Self {
            path,
            live: LiveRouter::new(app(state.clone())),
            shared,
            running: tokio::sync::Mutex::new(Running {
                state,
                text: text.to_owned(),
                providers,
                stored,
            }),
        })
    }

    /// The router slot to serve from ([`crate::web::serve_live`]).
    pub fn router(&self) -> LiveRouter {
        self.live.clone()
    }

    /// The catalog version the serving state was assembled with (`None`: not read yet).
    pub async fn catalog_version(&self) -> Option<i64> {
        self.running.lock().await.stored.version
    }

    /// Reads, validates and applies the config file (the entry point of SIGHUP and the file
    /// watch). On `Err` the running config is unchanged. Reloads run one at a time.
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        let mut running = self.running.lock().await;
        let result = self.apply(&mut running);
        match &result {
            Ok(done) => self.succeeded(done).await,
            Err(e) => self.failed(e).await,
        }
        result
    }

    /// [`Reloader::reload`] when the file's text differs from the running config's (the
    /// file watch: a touch, or an event caused by reading the file, changes nothing).
    pub async fn reload_if_changed(&self) -> Option<Result<Reloaded, ReloadError>> {
        let running = self.running.lock().await.text.clone();
        if std::fs::read_to_string(&self.path).is_ok_and(|t| t == running) {
            return None;
        }
        Some(self.reload().await)
    }

    fn apply(&self, running: &mut Running) -> Result<Reloaded, ReloadError> {
        let (mut config, text) = Config::load_with_text(&self.path).map_err(ReloadError::Config)?;
        let restart_needed = keep_restart_only(&running.state.config, &mut config);
        let stored = running.stored.clone();
        let old = (&*running.state.connectors, &running.providers);
        let built = build_connectors(&self.shared, &config, &text, &stored, Some(old))
            .map_err(ReloadError::Connector)?;
        let (providers, kept_connectors) = (built.providers, built.kept);
        let state = assemble(Arc::new(config), &stored, &self.shared, built.connectors);
        self.live.store(app(state.clone()));
        *running = Running {
            state,
            text,
            providers,
            stored,
        };
        Ok(Reloaded {
            restart_needed,
            kept_connectors,
        })
    }

    async fn succeeded(&self, done: &Reloaded) {
        let now = self.shared.clock.now();
        let outcome = if done.restart_needed.is_empty() {
            ReloadOutcome::Success
        } else {
            ReloadOutcome::RestartNeeded
        };
        self.shared.metrics.config_reload(Some(outcome), now);
        for key in &done.restart_needed {
            tracing::warn!(file = %self.path.display(), setting = key, "config reloaded, but a change of {key} needs a restart; the running value stays");
        }
        tracing::info!(file = %self.path.display(), kept_connectors = done.kept_connectors.len(), "config reloaded");
        let mut event = AuditEvent::new(EventKind::ConfigReloaded, self.shared.clock.now_ms());
        event.detail = serde_json::json!({
            "file": self.path.display().to_string(),
            "restart_needed": done.restart_needed,
        });
        self.shared.audit.note(event).await;
    }

    async fn failed(&self, error: &ReloadError) {
        let now = self.shared.clock.now();
        self.shared
            .metrics
            .config_reload(Some(ReloadOutcome::Failure), now);
        let problems = error.problems();
        for problem in &problems {
            tracing::error!(file = %self.path.display(), "config reload refused, the running config stays: {problem}");
        }
        let mut event = AuditEvent::new(EventKind::ConfigReloadFailed, self.shared.clock.now_ms());
        event.reason = problems.first().cloned();
        event.detail = serde_json::json!({
            "file": self.path.display().to_string(),
            "errors": problems,
        });
        self.shared.audit.note(event).await;
    }

    /// Watches the config file's directory (editors replace a file by renaming a new one
    /// over it) and reloads, debounced by [`WATCH_DEBOUNCE`], when the file's text changed.
    /// The watch lasts as long as the returned guard.
    pub fn watch(self: &Arc<Self>) -> Result<FileWatch, notify_debouncer_mini::notify::Error> {
        use notify_debouncer_mini::notify;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let name = self.path.file_name().map(ToOwned::to_owned);
        let mut debouncer = notify_debouncer_mini::new_debouncer(
            WATCH_DEBOUNCE,
            move |events: notify_debouncer_mini::DebounceEventResult| {
                let ours = events.is_ok_and(|events| {
                    events.iter().any(|e| e.path.file_name() == name.as_deref())
                });
                if ours {
                    let _ = tx.send(());
                }
            },
        )?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        debouncer
            .watcher()
            .watch(&dir, notify::RecursiveMode::NonRecursive)?;
        let me = Arc::clone(self);
        let task = tokio::spawn(async move {
            while rx.recv().await.is_some() {
                // The outcome is logged, audited and counted by the reload itself.
                let _ = me.reload_if_changed().await;
            }
        });
        Ok(FileWatch {
            _debouncer: debouncer,
            task,
        })
    }
}

impl Reloader {
    /// Reads the catalog version from the database and, when it differs from the one the
    /// running state was assembled with, reads the entities and swaps in a state of the
    /// running file config and them (the same swap as a file reload; connectors and their
    /// caches are kept). `Ok(false)` when nothing changed or there is no database.
    pub async fn refresh_catalog(&self) -> Result<bool, crate::db::DbError> {
        let Some(db) = self.shared.database.as_deref() else {
            return Ok(false);
        };
        let version = db.catalog_version().await?;
        if self.running.lock().await.stored.version == Some(version) {
            self.shared.catalog_changed.applied(version);
            return Ok(false);
        }
        // Read, and key, outside the lock: a new SAML provider's SP key pair is RSA-3072,
        // seconds of work, and a reload of the file must not wait for it (nor for the
        // database's reads).
        let mut stored = Stored::load(db).await?;
        stored.ensure_sp_keys(db, self.shared.clock.now_ms()).await;
        let mut running = self.running.lock().await;
        if running.stored.version >= stored.version {
            // Another refresh applied this version, or a newer one, meanwhile.
            if let Some(version) = running.stored.version {
                self.shared.catalog_changed.applied(version);
            }
            return Ok(false);
        }
        let old = (&*running.state.connectors, &running.providers);
        let config = &running.state.config;
        let built = match build_connectors(&self.shared, config, &running.text, &stored, Some(old))
        {
            Ok(built) => built,
            Err(e) => {
                // Only a file provider refuses the whole, and those are kept as running.
                tracing::error!(error = %e, "admin catalog not reloaded: a provider cannot be set up");
                return Ok(false);
            }
        };
        let state = assemble(Arc::clone(config), &stored, &self.shared, built.connectors);
        self.live.store(app(state.clone()));
        tracing::info!(
            catalog_version = stored.version,
            database_providers = stored.providers.len(),
            database_policies = stored.policies.len(),
            database_roles = stored.roles.len(),
            database_clients = stored.clients.len(),
            "admin catalog reloaded"
        );
        running.state = state;
        running.providers = built.providers;
        let applied = stored.version;
        running.stored = stored;
        if let Some(version) = applied {
            self.shared.catalog_changed.applied(version);
        }
        Ok(true)
    }

    /// Polls the catalog version every [`CATALOG_POLL`] (and at once when a write through
    /// this instance's API wakes it) and reloads the catalog when it changed, so that a
    /// change made on any instance takes effect on every instance within two polls. A
    /// database error is logged when it starts and when it ends, and the running catalog
    /// stays meanwhile. `None` without a database. The poll lasts as long as the guard.
    pub fn watch_catalog(self: &Arc<Self>) -> Option<CatalogWatch> {
        self.shared.database.as_ref()?;
        self.shared.catalog_changed.polled();
        let me = Arc::clone(self);
        let task = tokio::spawn(async move {
            let mut failing = false;
            loop {
                match me.refresh_catalog().await {
                    Ok(_) if failing => {
                        failing = false;
                        tracing::info!("admin catalog: the database answers again");
                    }
                    Ok(_) => {}
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "admin catalog: cannot read the database; the running catalog stays");
                    }
                    Err(_) => {}
                }
                tokio::select! {
                    () = tokio::time::sleep(CATALOG_POLL) => {}
                    () = me.shared.catalog_changed.requested() => {}
                }
            }
        });
        Some(CatalogWatch { task })
    }

    /// Closes access requests whose time is up (undecided past their decision expiry,
    /// approved past their window) every [`EXPIRY_SWEEP`], with the running config's
    /// webhooks; `None` without a database. Every instance sweeps: closing is one
    /// conditional update per request, so two instances never both record it.
    pub fn sweep_requests(self: &Arc<Self>) -> Option<CatalogWatch> {
        self.shared.database.as_ref()?;
        let me = Arc::clone(self);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(EXPIRY_SWEEP).await;
                let elevation = me.running.lock().await.state.elevation.clone();
                if let Some(elevation) = elevation
                    && let Err(e) = elevation.expire_due().await
                {
                    tracing::warn!(error = %e, "access requests: cannot close the expired ones; retrying");
                }
            }
        });
        Some(CatalogWatch { task })
    }
}

/// How often access requests past their time are closed (and `access.expired` recorded).
/// A role session never outlives its approved window whatever the sweep's timing: the
/// window caps the session when it is minted.
pub const EXPIRY_SWEEP: Duration = Duration::from_secs(30);

/// How often every instance reads the catalog version.
pub const CATALOG_POLL: Duration = Duration::from_secs(1);

/// A running poll of the admin catalog; dropping it ends the poll.
pub struct CatalogWatch {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CatalogWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A running watch of the config file; dropping it ends the watch.
pub struct FileWatch {
    _debouncer: notify_debouncer_mini::Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FileWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Puts the running value back into `new` for every restart-only setting the file
/// changed, and names those settings.
fn keep_restart_only(old: &Config, new: &mut Config) -> Vec<&'static str> {
    fn keep<T: PartialEq + Clone>(
        name: &'static str,
        old: &T,
        new: &mut T,
        kept: &mut Vec<&'static str>,
    ) {
        if old != new {
            new.clone_from(old);
            kept.push(name);
        }
    }
    let mut kept = Vec::new();
    keep(
        "server.bind",
        &old.server.bind,
        &mut new.server.bind,
        &mut kept,
    );
    keep(
        "server.public_url",
        &old.server.public_url,
        &mut new.server.public_url,
        &mut kept,
    );
    new.server.secure_cookies = old.server.secure_cookies;
    let same_store = match (&old.sessions.store, &new.sessions.store) {
        (StoreKind::Memory, StoreKind::Memory) => true,
        (StoreKind::Redis { url: a }, StoreKind::Redis { url: b }) => a == b,
        (
            StoreKind::RedisSentinel {
                sentinels: a,
                master: m,
                password: p,
            },
            StoreKind::RedisSentinel {
                sentinels: b,
                master: n,
                password: q,
            },
        ) => a == b && m == n && p == q,
        (
            StoreKind::RedisCluster {
                nodes: a,
                password: p,
            },
            StoreKind::RedisCluster {
                nodes: b,
                password: q,
            },
        ) => a == b && p == q,
        _ => false,
    };
    if !same_store {
        new.sessions.store = old.sessions.store.clone();
        kept.push("sessions.store");
    }
    keep(
        "sessions.key_prefix",
        &old.sessions.key_prefix,
        &mut new.sessions.key_prefix,
        &mut kept,
    );
    keep(
        "sessions.redis_ca_file",
        &old.sessions.redis_ca_file,
        &mut new.sessions.redis_ca_file,
        &mut kept,
    );
    keep(
        "sessions.redis_replica_acks",
        &old.sessions.redis_replica_acks,
        &mut new.sessions.redis_replica_acks,
        &mut kept,
    );
    keep(
        "tokens.keys_dir",
        &old.tokens.keys_dir,
        &mut new.tokens.keys_dir,
        &mut kept,
    );
    keep(
        "tokens.algorithm",
        &old.tokens.algorithm,
        &mut new.tokens.algorithm,
        &mut kept,
    );
    let (o, n) = (&old.limits, &mut new.limits);
    keep(
        "limits.max_connections",
        &o.max_connections,
        &mut n.max_connections,
        &mut kept,
    );
    keep(
        "limits.header_read_timeout",
        &o.header_read_timeout,
        &mut n.header_read_timeout,
        &mut kept,
    );
    keep(
        "limits.shutdown_delay",
        &o.shutdown_delay,
        &mut n.shutdown_delay,
        &mut kept,
    );
    keep(
        "limits.password_hashes",
        &o.password_hashes,
        &mut n.password_hashes,
        &mut kept,
    );
    // The trail (database, file, failure policy, retention) was opened at start.
    keep("[audit]", &old.audit, &mut new.audit, &mut kept);
    kept
}

/// Each provider's fingerprint: its `[[providers]]` entry in `text` and its settings.
fn fingerprints(config: &Config, text: &str) -> BTreeMap<ProviderId, Fingerprint> {
    let entries: Vec<toml::Value> = toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|mut t| t.remove("providers"))
        .and_then(|v| match v {
            toml::Value::Array(a) => Some(a),
            _ => None,
        })
        .unwrap_or_default();
    config
        .providers
        .iter()
        .map(|p| {
            let entry = entries
                .iter()
                .find(|e| e.get("id").and_then(toml::Value::as_str) == Some(p.id.as_str()))
                .cloned();
            let settings = format!("{p:?}");
            let entry = Entry::File(entry);
            (p.id.clone(), Fingerprint { entry, settings })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use argon2::password_hash::PasswordHasher;

    use super::*;

    fn hash(password: &str) -> String {
        let params = argon2::Params::new(256, 1, 1, None).unwrap();
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(password.as_bytes())
            .unwrap()
            .to_string()
    }

    fn text(bind: &str, prefix: &str, password: &str) -> String {
        format!(
            "[server]\nbind = \"{bind}\"\npublic_url = \"http://127.0.0.1:8080\"\n\
             [sessions]\nkey_prefix = \"{prefix}\"\n\
             [tokens]\nkeys_dir = \"/nonexistent/keys\"\n\
             [[providers]]\nid = \"corp\"\nkind = \"local\"\ndisplay_name = \"Corp\"\n\
             [[providers.users]]\nusername = \"alice\"\npassword_hash = \"{}\"\n",
            hash(password)
        )
    }

    fn config(text: &str) -> Config {
        Config::from_toml(text, Path::new("."), &|_| None).unwrap()
    }

    #[test]
    fn restart_only_settings_keep_their_running_values_and_are_named() {
        let old = config(&text("127.0.0.1:8080", "lanyard:", "pw"));
        let mut new = config(&text("127.0.0.1:9090", "other:", "pw"));
        let kept = keep_restart_only(&old, &mut new);
        assert_eq!(kept, ["server.bind", "sessions.key_prefix"]);
        assert!(kept.iter().all(|k| RESTART_ONLY.contains(k)));
        assert_eq!(new.server.bind, old.server.bind);
        assert_eq!(new.sessions.key_prefix, "lanyard:");
        let mut same = config(&text("127.0.0.1:8080", "lanyard:", "pw"));
        assert!(keep_restart_only(&old, &mut same).is_empty());
    }

    #[test]
    fn a_changed_audit_section_keeps_the_running_settings_and_is_named() {
        let base = text("127.0.0.1:8080", "lanyard:", "pw");
        let old = config(&base);
        let mut new = config(&format!(
            "{base}[audit]\ndatabase = \"none\"\non_failure = \"log\"\n"
        ));
        assert_ne!(new.audit, old.audit);
        assert_eq!(keep_restart_only(&old, &mut new), ["[audit]"]);
        assert!(RESTART_ONLY.contains(&"[audit]"));
        assert_eq!(new.audit, old.audit);
    }

    #[test]
    fn a_changed_secret_changes_the_fingerprint_though_debug_redacts_it() {
        let (a, b) = (
            text("127.0.0.1:8080", "l:", "one"),
            text("127.0.0.1:8080", "l:", "two"),
        );
        let (ca, cb) = (config(&a), config(&b));
        let id = ProviderId::new("corp");
        assert_eq!(
            format!("{:?}", ca.providers[0]),
            format!("{:?}", cb.providers[0])
        );
        assert!(fingerprints(&ca, &a)[&id] != fingerprints(&cb, &b)[&id]);
        assert!(fingerprints(&ca, &a)[&id] == fingerprints(&ca, &a)[&id]);
    }
}
