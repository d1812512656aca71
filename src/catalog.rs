//! One catalog of providers, managed policies and roles: those of `lanyard.toml` and those
//! admins keep in the database, validated into the one set the running broker uses
//! (connectors, trust evaluation, the role picker, STS, `/v1/authorize`).
//!
//! The database's entities are read as [`Stored`] (the catalog version and the rows); each
//! time a state is assembled they are validated against the file's config by the code
//! `check-config` runs for a `[[providers]]`, `[[policies]]` or `[[roles]]` entry
//! ([`crate::config::provider_from_document`], [`crate::config::policy_from_document`],
//! [`crate::config::role_from_document`]). A role of the database may name the file's
//! policies and the database's. An id or name the file defines is the file's: a database
//! row of that id or name is left out (the API refuses to write one, but the file may gain
//! it later), and so is a row that no longer validates (say, a role naming a policy that
//! is gone); both are logged.
//!
//! [`Refresh`] is how a write through the admin API asks this instance to take the
//! catalog up at once, and waits until it has (read-your-writes). Clients kept in the
//! database are merged into the file's the same way ([`clients`]).
//!
//! A SAML provider of the database has its SP key pair in the database too
//! ([`Stored::ensure_sp_keys`]), so that every instance is the same SP towards its IdP.
//!
//! May import: `config`, `connectors`, `db`, `roles`, `op` (the clients' settings type),
//! `clock`, `identity`, `secret`.

pub mod clients;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lanyard_policy::Policy;

use crate::config::{Config, policy_from_document, provider_from_document, role_from_document};
use crate::connectors::Provider;
use crate::connectors::settings::{ProviderSettings, SpKeySource};
use crate::db::{Database, DbError, EntityKind, EntityRow, SpKeyRow};
use crate::identity::ProviderId;
use crate::roles::Role;
use crate::secret::Secret;

/// What the database held at one catalog version.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// The catalog version read (`None`: never read, or no database).
    pub version: Option<i64>,
    /// The provider rows, by id.
    pub providers: Arc<[EntityRow]>,
    /// The managed policy rows, by name.
    pub policies: Arc<[EntityRow]>,
    /// The role rows, by name.
    pub roles: Arc<[EntityRow]>,
    /// The client rows, by id.
    pub clients: Arc<[EntityRow]>,
    /// The SP key pairs of SAML providers, by provider id.
    pub sp_keys: Arc<BTreeMap<String, SpKeyRow>>,
}

impl Stored {
    /// Reads the catalog version and every provider, policy, role and client row. The
    /// version is the one read first: the rows are at least as new as it, and a write in
    /// between is read again by the next poll, whose version differs.
    pub async fn load(db: &Database) -> Result<Stored, DbError> {
        let (version, providers) = db.entities(EntityKind::Provider).await?;
        let (_, policies) = db.entities(EntityKind::Policy).await?;
        let (_, roles) = db.entities(EntityKind::Role).await?;
        let (_, clients) = db.entities(EntityKind::Client).await?;
        let sp_keys = db
            .sp_keys()
            .await?
            .into_iter()
            .map(|k| (k.provider.clone(), k))
            .collect::<BTreeMap<_, _>>();
        Ok(Stored {
            version: Some(version),
            providers: providers.into(),
            policies: policies.into(),
            roles: roles.into(),
            clients: clients.into(),
            sp_keys: Arc::new(sp_keys),
        })
    }

    /// Generates and stores the SP key pair of every SAML provider row that has none yet
    /// (off the async threads: RSA-3072), keeping whichever pair an instance stored first.
    /// A provider whose pair cannot be made or stored stays without one, and is left out
    /// of the catalog until a later read has it.
    pub async fn ensure_sp_keys(&mut self, db: &Database, now_ms: i64) {
        let missing: Vec<String> = self
            .providers
            .iter()
            .filter(|row| !self.sp_keys.contains_key(&row.name))
            .filter(|row| {
                document(row).is_ok_and(|d| d.get("kind").and_then(|k| k.as_str()) == Some("saml"))
            })
            .map(|row| row.name.clone())
            .collect();
        if missing.is_empty() {
            return;
        }
        let mut keys = (*self.sp_keys).clone();
        for provider in missing {
            match keep_sp_key(db, &provider, now_ms).await {
                Ok(kept) => {
                    keys.insert(provider, kept);
                }
                Err(e) => {
                    tracing::error!(%provider, "a SAML provider of the database has no SP key pair: {e}");
                }
            }
        }
        self.sp_keys = Arc::new(keys);
    }
}

/// The document of a row (JSON text written by the admin API).
fn document(row: &EntityRow) -> Result<serde_json::Value, Vec<String>> {
    serde_json::from_str(&row.body)
        .map_err(|e| vec![format!("the stored document is not JSON: {e}")])
}

/// Logs why a row of `kind` is left out of the catalog.
fn left_out(kind: EntityKind, row: &EntityRow, problems: &[String]) {
    for problem in problems {
        tracing::error!(kind = kind.as_str(), name = %row.name, "an entity of the database is left out: {problem}");
    }
}

fn shadowed(kind: EntityKind, row: &EntityRow) {
    tracing::warn!(
        kind = kind.as_str(),
        name = %row.name,
        "an entity of the database has the name of one in lanyard.toml; the file's is used"
    );
}

/// Every database provider that validates and whose id the file does not define, with the
/// row it was read from (its body identifies its settings, secrets included).
pub fn database_providers<'a>(
    config: &Config,
    stored: &'a Stored,
) -> Vec<(Provider, &'a EntityRow)> {
    let mut out = Vec::new();
    for row in stored.providers.iter() {
        if config.providers.iter().any(|p| p.id.as_str() == row.name) {
            shadowed(EntityKind::Provider, row);
            continue;
        }
        match database_provider(config, row).and_then(|p| with_sp_keys(p, stored)) {
            Ok(provider) => out.push((provider, row)),
            Err(problems) => left_out(EntityKind::Provider, row, &problems),
        }
    }
    out
}

/// Why a SAML provider of the database has no SP key pair.
#[derive(Debug, thiserror::Error)]
pub enum SpKeyError {
    /// The database failed or did not answer.
    #[error(transparent)]
    Database(#[from] DbError),
    /// The key pair could not be generated.
    #[error("cannot generate the SP key pair: {0}")]
    Generate(String),
}

/// The SP key pair of the SAML provider `provider` of the database: the stored one, or
/// one generated now (off the async threads: RSA-3072) and stored, unless another
/// instance stored one first, which is then the answer.
pub async fn keep_sp_key(
    db: &Database,
    provider: &str,
    now_ms: i64,
) -> Result<SpKeyRow, SpKeyError> {
    if let Some(found) = db.sp_key(provider).await? {
        return Ok(found);
    }
    let cn = crate::connectors::saml::sp_common_name(&ProviderId::new(provider));
    let (key_pem, cert_pem) =
        tokio::task::spawn_blocking(move || crate::connectors::saml::generate_pem(&cn))
            .await
            .map_err(|e| SpKeyError::Generate(e.to_string()))?
            .map_err(|e| SpKeyError::Generate(e.to_string()))?;
    let pair = SpKeyRow {
        provider: provider.to_owned(),
        key_pem: Secret::new(key_pem.as_str()),
        cert_pem,
    };
    let kept = db.keep_sp_key(&pair, now_ms).await?;
    tracing::info!(%provider, "the SP key pair of a SAML provider is in the database");
    Ok(kept)
}

/// A SAML provider of the database with its SP key pair from the database (none stored
/// yet: a problem, the provider waits for [`Stored::ensure_sp_keys`]); any other as it is.
fn with_sp_keys(mut provider: Provider, stored: &Stored) -> Result<Provider, Vec<String>> {
    if let ProviderSettings::Saml(settings) = &mut provider.settings {
        let Some(pair) = stored.sp_keys.get(provider.id.as_str()) else {
            return Err(vec![
                "its SP key pair is not in the database yet; it is generated at the next read"
                    .to_owned(),
            ]);
        };
        settings.sp_keys = SpKeySource::Stored {
            key_pem: pair.key_pem.clone(),
            cert_pem: pair.cert_pem.clone(),
        };
    }
    Ok(provider)
}

/// One database row as a provider, validated; the problems, each with its path, otherwise.
pub fn database_provider(config: &Config, row: &EntityRow) -> Result<Provider, Vec<String>> {
    provider_from_document(&row.name, document(row)?, &config.server.public_url)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

/// The file's policies, then every database policy that validates and whose name the file
/// does not define: the policies roles of the database may name.
pub fn policies(config: &Config, stored: &Stored) -> BTreeMap<String, Arc<Policy>> {
    let mut out = config.policies.clone();
    for row in stored.policies.iter() {
        if config.policies.contains_key(&row.name) {
            shadowed(EntityKind::Policy, row);
            continue;
        }
        let policy = document(row).and_then(|d| {
            policy_from_document(&row.name, d)
                .map_err(|errors| errors.iter().map(ToString::to_string).collect())
        });
        match policy {
            Ok(policy) => {
                out.insert(row.name.clone(), policy);
            }
            Err(problems) => left_out(EntityKind::Policy, row, &problems),
        }
    }
    out
}

/// The file's roles, then every database role that validates (against [`policies`]) and
/// whose name the file does not define.
pub fn roles(config: &Config, stored: &Stored) -> Vec<Role> {
    let policies = policies(config, stored);
    let mut roles = config.roles.clone();
    for row in stored.roles.iter() {
        if config.roles.iter().any(|r| r.name.as_str() == row.name) {
            shadowed(EntityKind::Role, row);
            continue;
        }
        match database_role(&policies, row) {
            Ok(role) => roles.push(role),
            Err(problems) => left_out(EntityKind::Role, row, &problems),
        }
    }
    roles
}

/// One database row as a role, validated against `policies`; the problems, each with its
/// path, otherwise.
pub fn database_role(
    policies: &BTreeMap<String, Arc<Policy>>,
    row: &EntityRow,
) -> Result<Role, Vec<String>> {
    role_from_document(&row.name, document(row)?, policies)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

/// How a write through the admin API gets this instance's catalog refreshed before it
/// answers: the writer wakes the catalog poll ([`Refresh::request`]) and waits until a
/// catalog at least as new as its write is serving ([`Refresh::until_applied`]); the poll
/// says which version it applied ([`Refresh::applied`]).
#[derive(Debug)]
pub struct Refresh {
    wake: tokio::sync::Notify,
    applied: tokio::sync::watch::Sender<i64>,
    polled: std::sync::atomic::AtomicBool,
}

impl Default for Refresh {
    fn default() -> Self {
        Self {
            wake: tokio::sync::Notify::new(),
            applied: tokio::sync::watch::Sender::new(0),
            polled: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl Refresh {
    /// A catalog poll runs from now on (until then, writers do not wait for one).
    pub fn polled(&self) {
        self.polled
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Wakes the catalog poll.
    pub fn request(&self) {
        self.wake.notify_one();
    }

    /// Returns when [`Refresh::request`] was called (at once if it was since the last time).
    pub async fn requested(&self) {
        self.wake.notified().await;
    }

    /// The catalog of `version` is serving.
    pub fn applied(&self, version: i64) {
        self.applied.send_if_modified(|v| {
            let newer = version > *v;
            if newer {
                *v = version;
            }
            newer
        });
    }

    /// Waits at most `within` until a catalog of `version` or newer is serving; `false`
    /// when it was not in time (the database is slow). Without a poll there is nothing to
    /// wait for: `true` at once.
    pub async fn until_applied(&self, version: i64, within: Duration) -> bool {
        if !self.polled.load(std::sync::atomic::Ordering::Acquire) {
            return true;
        }
        let mut rx = self.applied.subscribe();
        matches!(
            tokio::time::timeout(within, rx.wait_for(|v| *v >= version)).await,
            Ok(Ok(_))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_writer_waits_for_the_poll_to_apply_its_version_only_while_one_runs() {
        let refresh = Arc::new(Refresh::default());
        let short = Duration::from_millis(50);
        assert!(
            refresh.until_applied(5, short).await,
            "no poll: nothing to wait for"
        );
        refresh.polled();
        assert!(!refresh.until_applied(5, short).await, "not applied yet");
        let poll = {
            let refresh = Arc::clone(&refresh);
            tokio::spawn(async move {
                refresh.requested().await;
                refresh.applied(4);
                refresh.applied(6);
            })
        };
        refresh.request();
        assert!(refresh.until_applied(5, Duration::from_secs(5)).await);
        poll.await.unwrap();
        refresh.applied(3);
        assert!(refresh.until_applied(6, short).await, "versions only go up");
    }
}
