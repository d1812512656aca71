//! LDAP and Active Directory (`kind = "ldap"`): search the person with the service account,
//! bind as the person with the given password (RFC 4513 §5.1.3 simple bind), read their
//! groups, and turn the entry into an [`ExternalIdentity`] whose subject is the entry's DN.
//!
//! Security properties:
//! - the connection is TLS (`ldaps://`, or StartTLS on `ldap://`, RFC 4511 §4.14) with the
//!   certificate verified against the system roots or `ca_file`; clear text only with
//!   `insecure_no_tls` on a loopback host;
//! - an empty password is refused before anything is sent: an unauthenticated simple bind
//!   (RFC 4513 §5.1.2) succeeds on many servers and must never count as a sign-in;
//! - usernames with control characters (NUL included) are refused, and the username and
//!   the DN are escaped into the filters (RFC 4515 §3), so `*` or `)(uid=*` match literally;
//! - the search must find exactly one entry; none, several, a wrong password or any refusal
//!   by the directory give the same [`LdapError::InvalidCredentials`], and an unknown user
//!   is answered after about as long as a real bind takes.
//!
//! A small pool keeps connections bound as the service account. A connection that fails is
//! dropped, never reused; a new one is opened on demand, so the pool recovers by itself once
//! the directory is back. A stale pooled connection gets one retry on a fresh one.
//!
//! May import: `identity`, `secret`, `clock` (the `UnixTime` type).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::CallTimer;
use crate::clock::UnixTime;
use crate::connectors::settings::{LdapScope, LdapSettings, LdapTransport};
use crate::identity::{ClaimValue, ExternalIdentity, ProviderId, ProviderKind};
use crate::secret::Secret;

/// The longest username accepted (before anything is sent to the directory).
pub const MAX_USERNAME_BYTES: usize = 256;
/// The longest password accepted.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// At most this many groups are read for one person.
const MAX_GROUPS: i32 = 1000;
/// LDAP result code `invalidCredentials` (RFC 4511 Appendix A.1).
const RC_INVALID_CREDENTIALS: u32 = 49;

/// Why an LDAP sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    /// Unknown user, wrong or empty password, ambiguous user, or refused by the directory:
    /// deliberately one variant.
    #[error("the username or password is incorrect")]
    InvalidCredentials {
        /// Why, for the log only (never shown to the person).
        reason: &'static str,
    },
    /// The directory cannot be reached, is too slow, or refused the service account.
    #[error("the directory is unavailable: {0}")]
    Unavailable(String),
    /// The TLS settings cannot be used (bad `ca_file`), found at start-up.
    #[error("provider {provider}: {message}")]
    Setup {
        /// The provider.
        provider: String,
        /// What is wrong.
        message: String,
    },
}

fn refused(reason: &'static str) -> LdapError {
    LdapError::InvalidCredentials { reason }
}

/// One step failed: either the directory answered "no", or the transport failed.
enum StepError {
    Refused(&'static str),
    Transport(String),
}

impl From<ldap3::LdapError> for StepError {
    fn from(e: ldap3::LdapError) -> Self {
        StepError::Transport(e.to_string())
    }
}

struct Conn {
    ldap: Ldap,
    /// Bound as the service account (or anonymous when none is configured), as opposed to
    /// bound as the last person who signed in.
    as_service: bool,
}

/// An LDAP directory, ready to sign people in.
pub struct LdapDirectory {
    id: ProviderId,
    config: LdapSettings,
    tls: Option<Arc<rustls::ClientConfig>>,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    /// Running average of how long a real bind with a password takes, in microseconds (0
    /// until the first one is measured): an unknown user waits this long where a known one
    /// would bind, so both are answered after the same time from the very first request.
    bind_micros: AtomicU64,
    /// Running average of a whole failed sign-in (search and bind), in microseconds (0
    /// until measured): how long a locked account waits.
    typical_micros: AtomicU64,
    /// Times every directory operation for the metrics.
    timer: CallTimer,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("id", &self.id)
            .field("url", &self.config.url.as_str())
            .finish_non_exhaustive()
    }
}

impl LdapDirectory {
    /// Prepares the connector (TLS settings); connects lazily, on the first sign-in.
    /// Its binds, searches and connects are timed by `timer`.
    pub fn new(id: ProviderId, config: &LdapSettings, timer: CallTimer) -> Result<Self, LdapError> {
        let tls = match config.transport {
            LdapTransport::InsecurePlain => {
                tracing::warn!(
                    provider = %id,
                    url = %config.url,
                    "INSECURE: insecure_no_tls is set, so passwords go to the directory in \
                     clear; allowed for loopback tests only"
                );
                None
            }
            LdapTransport::Ldaps | LdapTransport::StartTls => {
                Some(Arc::new(tls_config(&id, config)?))
            }
        };
        Ok(Self {
            id,
            config: config.clone(),
            tls,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(config.pool_size)),
            bind_micros: AtomicU64::new(0),
            typical_micros: AtomicU64::new(0),
            timer,
        })
    }

    /// Checks a username and password against the directory; on success, the person's
    /// identity (subject: the entry's DN).
    pub async fn authenticate(
        &self,
        username: &str,
        password: &Secret,
        now: UnixTime,
    ) -> Result<ExternalIdentity, LdapError> {
        if username.is_empty()
            || username.len() > MAX_USERNAME_BYTES
            || username.chars().any(char::is_control)
        {
            return Err(refused(
                "username empty, too long or with control characters",
            ));
        }
        if password.is_empty() || password.expose_secret().len() > MAX_PASSWORD_BYTES {
            return Err(refused("password empty or too long"));
        }
        let started = Instant::now();
        // Everything, waiting for a pooled connection included, within one deadline.
        let deadline = self.config.connect_timeout + self.config.timeout * 4;
        let result = tokio::time::timeout(deadline, self.with_retry(username, password, now))
            .await
            .unwrap_or_else(|_| {
                Err(LdapError::Unavailable(format!(
                    "no answer within {}",
                    humantime::format_duration(deadline)
                )))
            });
        if let Err(LdapError::InvalidCredentials { .. }) = &result {
            record(&self.typical_micros, started.elapsed());
        }
        result
    }

    /// Waits about as long as a failed sign-in takes, without asking the directory: the
    /// answer to a locked account.
    pub async fn decoy(&self) {
        self.pad(Instant::now()).await;
    }

    async fn pad(&self, started: Instant) {
        let typical = Duration::from_micros(self.typical_micros.load(Ordering::Relaxed));
        if let Some(rest) = typical.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }

    async fn with_retry(
        &self,
        username: &str,
        password: &Secret,
        now: UnixTime,
    ) -> Result<ExternalIdentity, LdapError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| LdapError::Unavailable("the connection pool is closed".into()))?;
        for attempt in 0..2 {
            let (mut conn, reused) = self.checkout(&permit).await?;
            match self.sign_in(&mut conn, username, password, now).await {
                Ok(identity) => {
                    self.checkin(conn);
                    return Ok(identity);
                }
                Err(StepError::Refused(reason)) => {
                    self.checkin(conn);
                    return Err(refused(reason));
                }
                Err(StepError::Transport(e)) if reused && attempt == 0 => {
                    tracing::debug!(provider = %self.id, error = %e, "pooled LDAP connection failed; retrying on a new one");
                }
                Err(StepError::Transport(e)) => return Err(LdapError::Unavailable(e)),
            }
        }
        Err(LdapError::Unavailable("no working connection".into()))
    }

    /// A connection bound as the service account: a pooled one if any is open, else a new one.
    async fn checkout(&self, _permit: &OwnedSemaphorePermit) -> Result<(Conn, bool), LdapError> {
        let pooled = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            let mut found = None;
            while let Some(mut c) = idle.pop() {
                if !c.ldap.is_closed() {
                    found = Some(c);
                    break;
                }
            }
            found
        };
        if let Some(c) = pooled {
            return Ok((c, true));
        }
        let ldap = self.connect().await.map_err(LdapError::Unavailable)?;
        Ok((
            Conn {
                ldap,
                as_service: false,
            },
            false,
        ))
    }

    fn checkin(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.config.pool_size {
            idle.push(conn);
        }
    }

    async fn connect(&self) -> Result<Ldap, String> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(self.config.connect_timeout);
        if self.config.transport == LdapTransport::StartTls {
            settings = settings.set_starttls(true);
        }
        if let Some(tls) = &self.tls {
            settings = settings.set_config(Arc::clone(tls));
        }
        let connect = LdapConnAsync::with_settings(settings, self.config.url.as_str());
        let connect = async {
            tokio::time::timeout(self.config.connect_timeout, connect)
                .await
                .map_err(|_| "connection timed out".to_owned())?
                .map_err(|e| format!("cannot connect: {e}"))
        };
        let (conn, ldap) = self.timer.time("connect", connect).await?;
        let provider = self.id.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(%provider, error = %e, "LDAP connection closed");
            }
        });
        Ok(ldap)
    }

    async fn bind_service(&self, conn: &mut Conn) -> Result<(), StepError> {
        let (dn, pw) = match (&self.config.bind_dn, &self.config.bind_password) {
            (Some(dn), Some(pw)) => (dn.as_str(), pw.expose_secret()),
            // Back to anonymous (RFC 4513 §5.1.1).
            _ => ("", ""),
        };
        let started = Instant::now();
        let bind = conn
            .ldap
            .with_timeout(self.config.timeout)
            .simple_bind(dn, pw);
        let result = self.timer.time("bind", bind).await?;
        // A bind with a password costs what a person's bind costs (the directory checks a
        // hash): it calibrates the wait for unknown users from the first sign-in on. An
        // anonymous bind only does so until a real one has been measured.
        if !dn.is_empty() || self.bind_micros.load(Ordering::Relaxed) == 0 {
            record(&self.bind_micros, started.elapsed());
        }
        if result.rc != 0 {
            return Err(StepError::Transport(format!(
                "the directory refused the service account (result code {})",
                result.rc
            )));
        }
        conn.as_service = true;
        Ok(())
    }

    async fn sign_in(
        &self,
        conn: &mut Conn,
        username: &str,
        password: &Secret,
        now: UnixTime,
    ) -> Result<ExternalIdentity, StepError> {
        if !conn.as_service {
            self.bind_service(conn).await?;
        }
        let entry = match self.find_user(conn, username).await {
            Ok(entry) if entry.dn.trim().is_empty() => {
                Err(StepError::Refused("the directory returned an empty DN"))
            }
            found => found,
        };
        let entry = match entry {
            Ok(entry) => entry,
            Err(StepError::Refused(reason)) => {
                // Refused before the bind (no such user, several entries…): wait as long
                // as the bind would have taken, and leave the connection as a bind would
                // (needing the service account's bind again), so that nothing in this
                // answer or the next one tells an unknown user from a wrong password.
                let bind = Duration::from_micros(self.bind_micros.load(Ordering::Relaxed));
                tokio::time::sleep(bind).await;
                conn.as_service = false;
                return Err(StepError::Refused(reason));
            }
            Err(e) => return Err(e),
        };
        conn.as_service = false;
        let started = Instant::now();
        let bind = conn
            .ldap
            .with_timeout(self.config.timeout)
            .simple_bind(&entry.dn, password.expose_secret());
        let bind = self.timer.time("bind", bind).await?;
        record(&self.bind_micros, started.elapsed());
        match bind.rc {
            0 => {}
            RC_INVALID_CREDENTIALS => return Err(StepError::Refused(REASON_BIND)),
            _ => return Err(StepError::Refused("the directory refused the bind")),
        }
        self.bind_service(conn).await?;
        let groups = self.groups(conn, username, &entry).await?;
        Ok(self.identity(username, entry, groups, now))
    }

    async fn find_user(&self, conn: &mut Conn, username: &str) -> Result<SearchEntry, StepError> {
        let us = &self.config.user_search;
        let filter = us.filter.render(username, "");
        let mut attrs = vec![
            us.username_attribute.as_str(),
            us.email_attribute.as_str(),
            us.display_name_attribute.as_str(),
        ];
        if let Some(a) = &us.groups_attribute {
            attrs.push(a);
        }
        attrs.extend(self.config.principal_tags.values().map(String::as_str));
        let result = conn
            .ldap
            .with_search_options(SearchOptions::new().sizelimit(2))
            .with_timeout(self.config.timeout)
            .search(&us.base_dn, scope(us.scope), &filter, attrs);
        let result = self.timer.time("search", result).await?;
        match result.1.rc {
            0 => {}
            // sizeLimitExceeded: more than one entry.
            4 => return Err(StepError::Refused("the username matches several entries")),
            // noSuchObject: the base DN does not exist (a configuration problem).
            32 => {
                tracing::warn!(provider = %self.id, base_dn = %us.base_dn, "user_search.base_dn does not exist in the directory");
                return Err(StepError::Refused("user_search.base_dn does not exist"));
            }
            rc => {
                return Err(StepError::Transport(format!(
                    "the user search failed (result code {rc})"
                )));
            }
        }
        // Referrals (and intermediate messages) are not entries; they are not followed.
        let mut entries = result
            .0
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate());
        match (entries.next(), entries.next()) {
            (Some(e), None) => Ok(SearchEntry::construct(e)),
            (None, _) => Err(StepError::Refused("no such user")),
            (Some(_), Some(_)) => Err(StepError::Refused("the username matches several entries")),
        }
    }

    async fn groups(
        &self,
        conn: &mut Conn,
        username: &str,
        entry: &SearchEntry,
    ) -> Result<Vec<String>, StepError> {
        let mut groups: Vec<String> = Vec::new();
        if let Some(attr) = &self.config.user_search.groups_attribute {
            for dn in values(entry, attr) {
                if let Some(name) = first_rdn_value(dn) {
                    groups.push(name);
                }
            }
        }
        if let Some(gs) = &self.config.group_search {
            let filter = gs.filter.render(username, &entry.dn);
            let result = conn
                .ldap
                .with_search_options(SearchOptions::new().sizelimit(MAX_GROUPS))
                .with_timeout(self.config.timeout)
                .search(
                    &gs.base_dn,
                    scope(gs.scope),
                    &filter,
                    vec![gs.name_attribute.as_str()],
                );
            let result = self.timer.time("search", result).await?;
            match result.1.rc {
                0 => {}
                4 => {
                    tracing::warn!(provider = %self.id, dn = %entry.dn, "more than {MAX_GROUPS} groups; the rest are ignored")
                }
                32 => {
                    tracing::warn!(provider = %self.id, base_dn = %gs.base_dn, "group_search.base_dn does not exist in the directory")
                }
                rc => {
                    return Err(StepError::Transport(format!(
                        "the group search failed (result code {rc})"
                    )));
                }
            }
            for g in result.0 {
                if g.is_ref() || g.is_intermediate() {
                    continue;
                }
                let g = SearchEntry::construct(g);
                match values(&g, &gs.name_attribute).next() {
                    Some(name) => groups.push(name.to_owned()),
                    None => {
                        if let Some(name) = first_rdn_value(&g.dn) {
                            groups.push(name);
                        }
                    }
                }
            }
        }
        groups.sort();
        groups.dedup();
        Ok(groups)
    }

    fn identity(
        &self,
        typed: &str,
        entry: SearchEntry,
        groups: Vec<String>,
        now: UnixTime,
    ) -> ExternalIdentity {
        let us = &self.config.user_search;
        let first = |attr: &str| values(&entry, attr).next().map(str::to_owned);
        let username = first(&us.username_attribute).unwrap_or_else(|| typed.to_owned());
        let email = first(&us.email_attribute);
        let display_name = first(&us.display_name_attribute);
        let tags: BTreeMap<String, String> = self
            .config
            .principal_tags
            .iter()
            .filter_map(|(tag, attr)| first(attr).map(|v| (tag.clone(), v)))
            .collect();
        let mut claims = BTreeMap::new();
        claims.insert("dn".to_owned(), ClaimValue::One(entry.dn.clone()));
        claims.insert("username".to_owned(), ClaimValue::One(username.clone()));
        if let Some(e) = &email {
            claims.insert("email".to_owned(), ClaimValue::One(e.clone()));
        }
        claims.insert("groups".to_owned(), ClaimValue::Many(groups.clone()));
        ExternalIdentity {
            provider: self.id.clone(),
            provider_kind: ProviderKind::Ldap,
            subject: entry.dn.clone(),
            username,
            email_verified: email.is_some() && us.email_verified,
            email,
            display_name,
            groups,
            amr: vec!["pwd".to_owned()],
            mfa: false,
            auth_time: now,
            tags,
            claims,
        }
    }
}

/// Adds one measurement to a running average in microseconds (the first one sets it;
/// later ones count for an eighth). Races between requests may lose a sample, which only
/// slows the average's movement.
fn record(average: &AtomicU64, took: Duration) {
    let took = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
    let old = average.load(Ordering::Relaxed);
    let new = if old == 0 {
        took
    } else {
        old - old / 8 + took / 8
    };
    average.store(new, Ordering::Relaxed);
}

/// The reason recorded for a wrong password.
const REASON_BIND: &str = "wrong password";

fn scope(s: LdapScope) -> Scope {
    match s {
        LdapScope::Base => Scope::Base,
        LdapScope::One => Scope::OneLevel,
        LdapScope::Sub => Scope::Subtree,
    }
}

/// The values of an attribute, matched case-insensitively as LDAP attribute names are.
fn values<'a>(entry: &'a SearchEntry, attr: &str) -> impl Iterator<Item = &'a str> {
    entry
        .attrs
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(attr))
        .flat_map(|(_, v)| v.iter().map(String::as_str))
}

/// The value of the first RDN of a DN (`CN=Domain Admins,OU=…` → `Domain Admins`), with
/// RFC 4514 escapes undone.
pub fn first_rdn_value(dn: &str) -> Option<String> {
    let mut bytes = Vec::new();
    let mut in_value = false;
    let mut chars = dn.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let hi = chars.next()?;
                let lo = chars.peek().copied();
                match (hi.to_digit(16), lo.and_then(|l| l.to_digit(16))) {
                    (Some(h), Some(l)) => {
                        chars.next();
                        if in_value {
                            bytes.push(u8::try_from(h * 16 + l).ok()?);
                        }
                    }
                    _ => {
                        if in_value {
                            let mut buf = [0u8; 4];
                            bytes.extend_from_slice(hi.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
            }
            '=' if !in_value => in_value = true,
            ',' | '+' if in_value => break,
            _ if in_value => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => {}
        }
    }
    let value = String::from_utf8(bytes).ok()?;
    let value = value.trim().to_owned();
    (in_value && !value.is_empty()).then_some(value)
}

/// The rustls client settings: the system's roots, or only the CAs of `ca_file`.
fn tls_config(id: &ProviderId, config: &LdapSettings) -> Result<rustls::ClientConfig, LdapError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let setup = |message: String| LdapError::Setup {
        provider: id.to_string(),
        message,
    };
    let mut roots = rustls::RootCertStore::empty();
    match &config.ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| setup(format!("cannot read ca_file {}: {e}", path.display())))?;
            for cert in certs {
                let cert = cert.map_err(|e| setup(format!("ca_file {}: {e}", path.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| setup(format!("ca_file {}: {e}", path.display())))?;
            }
            if roots.is_empty() {
                return Err(setup(format!(
                    "ca_file {} holds no certificate",
                    path.display()
                )));
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(setup(
                    "no system CA certificates found; set ca_file".to_owned(),
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_come_from_the_first_rdn() {
        assert_eq!(
            first_rdn_value("CN=Domain Admins,OU=Groups,DC=corp,DC=example").as_deref(),
            Some("Domain Admins")
        );
        assert_eq!(
            first_rdn_value("cn=R\\2cD\\, Lab,ou=groups,dc=example").as_deref(),
            Some("R,D, Lab")
        );
        assert_eq!(first_rdn_value("cn=a+uid=b,dc=x").as_deref(), Some("a"));
        assert_eq!(first_rdn_value("").as_deref(), None);
        assert_eq!(first_rdn_value("cn=,dc=x").as_deref(), None);
    }
}
