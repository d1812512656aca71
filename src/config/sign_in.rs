//! `[sign_in]`: brute-force protection of password sign-ins (local directory and LDAP);
//! `[limits]`: bounds on what anonymous clients can make Lanyard hold or compute
//! (connections, header timeout, pending sign-ins and authorization requests, client
//! secret checks).

use std::time::Duration;

use super::Cx;
use super::raw::{RawLimits, RawSignIn};
use crate::signin::SignInLimits;

impl Cx<'_> {
    pub(super) fn sign_in(&mut self, value: Option<toml::Value>) -> SignInLimits {
        let d = SignInLimits::default();
        let Some(value) = value else { return d };
        let Some(raw) = self.shape::<RawSignIn>("sign_in", value) else {
            return d;
        };
        let count = |cx: &mut Self, key: &str, v: Option<u32>, default: u32| match v {
            Some(0) => {
                cx.error(
                    format!("sign_in.{key}"),
                    "must be at least 1 (brute-force protection cannot be turned off)",
                );
                default
            }
            Some(n) => n,
            None => default,
        };
        let max_account_failures = count(
            self,
            "max_account_failures",
            raw.max_account_failures,
            d.max_account_failures,
        );
        let max_ip_failures = count(
            self,
            "max_ip_failures",
            raw.max_ip_failures,
            d.max_ip_failures,
        );
        let lockout = self.duration("sign_in.lockout", raw.lockout.as_deref(), d.lockout);
        let max_lockout = self.duration(
            "sign_in.max_lockout",
            raw.max_lockout.as_deref(),
            d.max_lockout,
        );
        let failure_window = self.duration(
            "sign_in.failure_window",
            raw.failure_window.as_deref(),
            d.failure_window,
        );
        if max_lockout < lockout {
            self.error("sign_in.max_lockout", "must not be shorter than lockout");
        }
        SignInLimits {
            max_account_failures,
            max_ip_failures,
            lockout,
            max_lockout,
            failure_window,
        }
    }
}

/// `[limits]`: what one client, or all anonymous clients together, can make Lanyard hold
/// open, store or compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open waiting for the next request.
    pub header_read_timeout: Duration,
    /// Open client connections at most; beyond it new connections are closed at once.
    /// Kept below the process's open-file limit, with headroom for Redis, the database,
    /// upstream calls and files.
    pub max_connections: u32,
    /// Login transactions one client address (an IPv6 /64) may start within their
    /// lifetime (10 minutes).
    pub max_pending_logins_per_address: u32,
    /// Login transactions all clients together may start within 10 minutes.
    pub max_pending_logins: u32,
    /// Authorization requests one client address may park within 10 minutes.
    pub max_pending_authorizations_per_address: u32,
    /// Authorization requests all clients together may park within 10 minutes.
    pub max_pending_authorizations: u32,
    /// argon2id client-secret verifications running at once (by default half the CPU
    /// cores, at least one, so that a flood of guesses leaves room for everything else).
    pub client_secret_checks: u32,
    /// Client-secret verifications waiting for a turn; beyond it the token, introspection
    /// and revocation endpoints answer 503 `temporarily_unavailable`.
    pub client_secret_queue: u32,
    /// argon2id checks (passwords of local directories, client secrets, and the decoys
    /// for unknown names) running at once in the whole process. Each holds the hash's
    /// working memory while it runs, and the allocator keeps that memory for the next, so
    /// this also bounds what a burst of sign-ins leaves resident.
    pub password_hashes: u32,
    /// On SIGTERM or Ctrl-C, how long `/readyz` answers 503 while the listener still
    /// accepts, so that a load balancer takes the instance out before it stops accepting.
    /// Zero stops accepting at once.
    pub shutdown_delay: Duration,
}

/// Half the CPU cores this process may use, at least one.
fn half_the_cores() -> u32 {
    std::thread::available_parallelism()
        .map_or(1, |n| u32::try_from(n.get() / 2).unwrap_or(u32::MAX))
        .max(1)
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_pending_logins_per_address: 300,
            max_pending_logins: 100_000,
            max_pending_authorizations_per_address: 300,
            max_pending_authorizations: 100_000,
            client_secret_checks: half_the_cores(),
            client_secret_queue: 64,
            password_hashes: 1,
            shutdown_delay: Duration::from_secs(5),
        }
    }
}

impl Cx<'_> {
    pub(super) fn limits(&mut self, value: Option<toml::Value>) -> LimitsConfig {
        let d = LimitsConfig::default();
        let Some(value) = value else { return d };
        let Some(raw) = self.shape::<RawLimits>("limits", value) else {
            return d;
        };
        let count = |cx: &mut Self, key: &str, v: Option<u32>, default: u32| match v {
            Some(0) => {
                cx.error(format!("limits.{key}"), "must be at least 1");
                default
            }
            Some(n) => n,
            None => default,
        };
        LimitsConfig {
            header_read_timeout: self.duration(
                "limits.header_read_timeout",
                raw.header_read_timeout.as_deref(),
                d.header_read_timeout,
            ),
            max_connections: count(
                self,
                "max_connections",
                raw.max_connections,
                d.max_connections,
            ),
            max_pending_logins_per_address: count(
                self,
                "max_pending_logins_per_address",
                raw.max_pending_logins_per_address,
                d.max_pending_logins_per_address,
            ),
            max_pending_logins: count(
                self,
                "max_pending_logins",
                raw.max_pending_logins,
                d.max_pending_logins,
            ),
            max_pending_authorizations_per_address: count(
                self,
                "max_pending_authorizations_per_address",
                raw.max_pending_authorizations_per_address,
                d.max_pending_authorizations_per_address,
            ),
            max_pending_authorizations: count(
                self,
                "max_pending_authorizations",
                raw.max_pending_authorizations,
                d.max_pending_authorizations,
            ),
            client_secret_checks: count(
                self,
                "client_secret_checks",
                raw.client_secret_checks,
                d.client_secret_checks,
            ),
            client_secret_queue: count(
                self,
                "client_secret_queue",
                raw.client_secret_queue,
                d.client_secret_queue,
            ),
            password_hashes: count(
                self,
                "password_hashes",
                raw.password_hashes,
                d.password_hashes,
            ),
            shutdown_delay: match raw.shutdown_delay.as_deref() {
                // Zero is allowed here (tests, or no load balancer in front).
                Some(t) if humantime::parse_duration(t).is_ok_and(|d| d.is_zero()) => {
                    Duration::ZERO
                }
                t => self.duration("limits.shutdown_delay", t, d.shutdown_delay),
            },
        }
    }
}
