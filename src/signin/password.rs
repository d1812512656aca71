//! Password sign-in (local directory and LDAP) as one service: brute-force protection,
//! the connector's check and one-time-code replay protection.
//!
//! Brute-force protection counts failures per account (provider + username) and per
//! source address in the [`SessionStore`], so every instance behind a load balancer shares
//! them. Past `[sign_in] max_account_failures` (or `max_ip_failures`) failures within
//! `failure_window`, each further failure locks the account (or address) for
//! `lockout · 2^(n − max)`, at most `max_lockout`. A locked attempt is refused without
//! checking the password, after the same work a wrong password costs (a dummy argon2
//! verification, or the directory's typical answer time), and with the same message.
//!
//! Every refusal says why and which locks it set, so that the sign-in service can write
//! the audit events (`signin.failed`, `signin.locked`) and count the outcome.
//!
//! May import: `connectors`, `session`, `identity`, `clock`, `secret`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::SharedClock;
use crate::connectors::Connector;
use crate::connectors::ldap::LdapError;
use crate::connectors::local::LocalError;
use crate::connectors::totp::{SKEW_STEPS, STEP_SECS};
use crate::identity::{ExternalIdentity, ProviderId};
use crate::secret::Secret;
use crate::session::{AttemptLimit, Reservation, SessionStore, StoreError, keyspace};
use crate::signin::SignInLimits;

/// Why a password sign-in did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Wrong username, password or code, or a locked account or address: one answer for
    /// all, so that none can be told from the others (the [`Refusal`] is for the audit
    /// trail only).
    #[error("the username or password is incorrect")]
    Refused(Refusal),
    /// The directory cannot be reached or is too slow.
    #[error("the directory is unavailable: {0}")]
    DirectoryUnavailable(String),
    /// The session store failed (the counters cannot be read, so nothing is checked).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else (a bug, a failed hashing task).
    #[error("{0}")]
    Internal(String),
}

/// One sign-in attempt as submitted.
pub struct Attempt<'a> {
    /// The provider chosen.
    pub provider: &'a ProviderId,
    /// Its connector.
    pub connector: &'a Connector,
    /// The username, trimmed.
    pub username: &'a str,
    /// The password.
    pub password: &'a Secret,
    /// The one-time code, when the form had one.
    pub otp: Option<&'a str>,
    /// The client's address.
    pub source_ip: Option<IpAddr>,
    /// A step-up of a person already signed in (issue 17): the one-time code alone is
    /// checked (`password` is ignored), with the same limits and replay protection.
    pub code_only: bool,
}

/// What failed, for the audit trail; never shown to the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Whether the attempt was refused unchecked because of an earlier lock.
    pub locked: bool,
    /// Why, in plain words.
    pub reason: &'static str,
    /// The locks this failure set.
    pub locks: Vec<Lock>,
}

/// A lock set by a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// `account`, or the address key (an IPv6 client by its /64).
    pub locked: String,
    /// The failures counted, this one included.
    pub failures: i64,
    /// How long the lock lasts.
    pub duration: Duration,
}

impl Refusal {
    fn new(reason: &'static str) -> Self {
        Self {
            locked: false,
            reason,
            locks: Vec::new(),
        }
    }
}

/// The password sign-in service.
#[derive(Clone)]
pub struct PasswordSignIn {
    store: Arc<dyn SessionStore>,
    clock: SharedClock,
    limits: SignInLimits,
}

fn digest(text: &str) -> String {
    crate::session::digest(text)
}

/// The store key part of an account: hashed, so no typed text ends up in a key.
fn account_id(provider: &ProviderId, username: &str) -> String {
    keyspace::account(&account_hash(provider, username))
}

/// An account (provider and username, case-insensitive) by its hash: how the audit trail
/// names the account of a failed sign-in without keeping what was typed.
pub fn account_hash(provider: &ProviderId, username: &str) -> String {
    digest(&format!("{provider}\n{}", username.to_lowercase()))
}

impl PasswordSignIn {
    /// The service over a store, with the configured limits.
    pub fn new(store: Arc<dyn SessionStore>, clock: SharedClock, limits: SignInLimits) -> Self {
        Self {
            store,
            clock,
            limits,
        }
    }

    /// Checks one attempt; on success, the person's identity.
    ///
    /// The attempt is reserved against the account's and the address's limits in one
    /// atomic store operation *before* anything is checked, so that however many attempts
    /// arrive at once, at most the allowance of each is ever checked before the lock. An
    /// attempt that does not fail gives its reservation back (a success resets the
    /// account's count; the address's count only ever counts failures).
    pub async fn sign_in(&self, a: Attempt<'_>) -> Result<ExternalIdentity, PasswordError> {
        let account_who = account_id(a.provider, a.username);
        let account = self.limit(&account_who, false);
        let ip_who = a.source_ip.map(keyspace::address);
        let ip = ip_who.as_deref().map(|who| self.limit(who, true));
        let limits: Vec<AttemptLimit> =
            std::iter::once(account.clone()).chain(ip.clone()).collect();
        let token = crate::session::random_id();
        let reserved = match self
            .store
            .reserve_attempt(&limits, token.expose_secret())
            .await?
        {
            Reservation::Granted(reserved) => reserved,
            Reservation::Locked(i) => {
                decoy(a.connector).await;
                let mut refusal = Refusal::new(if i == 0 {
                    "account locked after repeated failures"
                } else {
                    "source address locked after repeated failures"
                });
                refusal.locked = true;
                return Err(PasswordError::Refused(refusal));
            }
        };
        let give_back = |reset_account: bool| {
            let (account, ip, token) = (&account, &ip, &token);
            async move {
                self.store
                    .release_attempt(account, token.expose_secret(), reset_account)
                    .await?;
                if let Some(ip) = ip {
                    self.store
                        .release_attempt(ip, token.expose_secret(), false)
                        .await?;
                }
                Ok::<(), StoreError>(())
            }
        };
        let now = self.clock.now();
        let checked = match a.connector {
            Connector::Local(dir) if a.code_only => {
                match dir.second_factor(a.username, a.otp, now) {
                    Ok(s) => Ok((s.identity, s.totp_step)),
                    Err(_) => Err(Refusal::new("wrong one-time code")),
                }
            }
            Connector::Ldap(_) if a.code_only => {
                give_back(false).await?;
                return Err(PasswordError::Internal(
                    "an LDAP directory has no one-time codes".to_owned(),
                ));
            }
            Connector::Local(dir) => {
                match dir.authenticate(a.username, a.password, a.otp, now).await {
                    Ok(s) => Ok((s.identity, s.totp_step)),
                    Err(LocalError::InvalidCredentials) => {
                        Err(Refusal::new("wrong username, password or one-time code"))
                    }
                    Err(e) => {
                        give_back(false).await?;
                        return Err(PasswordError::Internal(e.to_string()));
                    }
                }
            }
            Connector::Oidc(_) | Connector::Github(_) | Connector::Saml(_) => {
                give_back(false).await?;
                return Err(PasswordError::Internal(
                    "a redirect provider has no password sign-in".to_owned(),
                ));
            }
            Connector::Ldap(dir) => match dir.authenticate(a.username, a.password, now).await {
                Ok(identity) => Ok((identity, None)),
                Err(LdapError::InvalidCredentials { reason }) => Err(Refusal::new(reason)),
                Err(e) => {
                    tracing::error!(provider = %a.provider, error = %e, "directory unavailable");
                    give_back(false).await?;
                    return Err(PasswordError::DirectoryUnavailable(e.to_string()));
                }
            },
        };
        let mut refusal = match checked {
            Ok((identity, step)) => match step {
                Some(step) if !self.first_use(&account_who, step).await? => {
                    Refusal::new("one-time code already used")
                }
                _ => {
                    give_back(true).await?;
                    return Ok(identity);
                }
            },
            Err(refusal) => refusal,
        };
        for (limit, r) in limits.iter().zip(&reserved) {
            if let Some(duration) = r.lock {
                // An account is named by its hash only (in the failure's event).
                let locked = match &ip_who {
                    Some(who) if Some(limit) == ip.as_ref() => who.as_str(),
                    _ => "account",
                };
                refusal.locks.push(Lock {
                    locked: locked.to_owned(),
                    failures: r.count,
                    duration,
                });
            }
        }
        Err(PasswordError::Refused(refusal))
    }

    /// The limit on attempts of `who` (an account or an address).
    fn limit(&self, who: &str, address: bool) -> AttemptLimit {
        AttemptLimit {
            counter: keyspace::ATTEMPTS.key([who]),
            lock: keyspace::ATTEMPTS_LOCK.key([who]),
            allowed: if address {
                self.limits.max_ip_failures
            } else {
                self.limits.max_account_failures
            },
            window: self.limits.failure_window,
            lockout: self.limits.lockout,
            max_lockout: self.limits.max_lockout,
        }
    }

    /// Records that the code of `step` was used by `account` (its attempt-limit "who");
    /// `false` when it had been already.
    async fn first_use(&self, account: &str, step: u64) -> Result<bool, StoreError> {
        // A code is accepted while its step is within the skew window: keep the record
        // until then, and one step more for good measure.
        let ttl = Duration::from_secs(STEP_SECS * (2 * u64::from(SKEW_STEPS) + 2));
        self.store
            .put_if_absent(
                &keyspace::TOTP_USED.key([account, &step.to_string()]),
                b"1",
                ttl,
            )
            .await
    }
}

async fn decoy(connector: &Connector) {
    match connector {
        Connector::Local(dir) => dir.decoy().await,
        Connector::Ldap(dir) => dir.decoy().await,
        Connector::Oidc(_) | Connector::Github(_) | Connector::Saml(_) => {}
    }
}

/// The lock after the `n`th failure when `allowed` are allowed: none before, then
/// `lockout`, doubling with each further failure, up to `max_lockout`.
pub fn lock_duration(limits: &SignInLimits, n: i64, allowed: u32) -> Option<Duration> {
    AttemptLimit {
        counter: String::new(),
        lock: String::new(),
        allowed,
        window: limits.failure_window,
        lockout: limits.lockout,
        max_lockout: limits.max_lockout,
    }
    .lock_after(n)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::clock::{ManualClock, UnixTime};
    use crate::connectors::local::{LocalDirectory, hash_password};
    use crate::connectors::settings::{LocalDirectorySettings, LocalUser, PasswordCredential};
    use crate::secret::hashing::PasswordHashing;
    use crate::session::MemoryStore;

    fn attempt<'a>(
        provider: &'a ProviderId,
        connector: &'a Connector,
        password: &'a Secret,
    ) -> Attempt<'a> {
        Attempt {
            provider,
            connector,
            username: "alice",
            password,
            otp: None,
            source_ip: Some("192.0.2.7".parse().unwrap()),
            code_only: false,
        }
    }

    /// A local directory with one user, alice, whose password is `right`.
    pub(crate) fn alice_directory() -> Connector {
        Connector::Local(
            LocalDirectory::new(
                ProviderId::new("corp"),
                &LocalDirectorySettings {
                    users: vec![LocalUser {
                        username: "alice".into(),
                        password: PasswordCredential::Hash(
                            hash_password(&Secret::new("right")).unwrap(),
                        ),
                        email: None,
                        display_name: None,
                        groups: vec![],
                        tags: Default::default(),
                        totp: None,
                    }],
                },
                PasswordHashing::default(),
            )
            .unwrap(),
        )
    }

    #[tokio::test(flavor = "current_thread")]
    async fn failures_say_why_and_which_locks_they_set() {
        let clock = ManualClock::new(UnixTime::from_secs(1_000_000));
        let shared: SharedClock = Arc::new(clock.clone());
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new("t:", Arc::clone(&shared)));
        let limits = SignInLimits {
            max_account_failures: 2,
            ..SignInLimits::default()
        };
        let service = PasswordSignIn::new(store, shared, limits);
        let dir = alice_directory();
        let provider = ProviderId::new("corp");
        let (wrong, right) = (Secret::new("wrong"), Secret::new("right"));
        let attempt = |password| attempt(&provider, &dir, password);
        let refusal = |r: Result<ExternalIdentity, PasswordError>| match r {
            Err(PasswordError::Refused(refusal)) => refusal,
            other => panic!("not refused: {other:?}"),
        };
        let first = refusal(service.sign_in(attempt(&wrong)).await);
        assert!(!first.locked && first.locks.is_empty());
        assert_eq!(first.reason, "wrong username, password or one-time code");
        let second = refusal(service.sign_in(attempt(&wrong)).await);
        assert_eq!(
            second.locks,
            vec![Lock {
                locked: "account".into(),
                failures: 2,
                duration: Duration::from_secs(30),
            }]
        );
        // Locked: the right password is refused the same way, unchecked.
        let locked = refusal(service.sign_in(attempt(&right)).await);
        assert!(locked.locked);
        assert_eq!(locked.reason, "account locked after repeated failures");
        clock.advance(Duration::from_secs(31));
        assert!(service.sign_in(attempt(&right)).await.is_ok());
    }

    #[test]
    fn back_off_doubles_up_to_the_maximum() {
        let limits = SignInLimits::default();
        let secs = |n| lock_duration(&limits, n, 5).map(|d| d.as_secs());
        assert_eq!(secs(4), None);
        assert_eq!(secs(5), Some(30));
        assert_eq!(secs(6), Some(60));
        assert_eq!(secs(7), Some(120));
        assert_eq!(secs(10), Some(900));
        assert_eq!(secs(1000), Some(900));
    }

    #[test]
    fn ipv6_addresses_share_a_limit_per_64() {
        let a = keyspace::address("2001:db8:1:2:aaaa::1".parse().unwrap());
        assert_eq!(
            a,
            keyspace::address("2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap())
        );
        assert_eq!(a, "ip:2001:db8:1:2::/64");
        assert_ne!(a, keyspace::address("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(
            keyspace::address("192.0.2.7".parse().unwrap()),
            "ip:192.0.2.7"
        );
        assert_ne!(
            keyspace::address("192.0.2.7".parse().unwrap()),
            keyspace::address("192.0.2.8".parse().unwrap())
        );
    }

    #[test]
    fn account_keys_hide_the_username() {
        let p = ProviderId::new("corp");
        let k = account_id(&p, "Alice");
        assert_eq!(k, account_id(&p, "alice"));
        assert!(!k.contains("lice"));
        assert_ne!(k, account_id(&ProviderId::new("other"), "alice"));
    }
}
