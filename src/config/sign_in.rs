//! `[sign_in]`: brute-force protection of password sign-ins (local directory and LDAP).

use std::time::Duration;

use super::Cx;
use super::raw::RawSignIn;

/// Limits on failed password sign-ins. Failures are counted per account and per source
/// address in the session store (so every instance shares them); past the allowance, each
/// further failure locks for twice as long as the one before, from `lockout` up to
/// `max_lockout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInConfig {
    /// Failures of one account allowed within `failure_window` before it is locked.
    pub max_account_failures: u32,
    /// Failures from one source address allowed within `failure_window` before it is locked.
    pub max_ip_failures: u32,
    /// The first lock.
    pub lockout: Duration,
    /// The longest lock.
    pub max_lockout: Duration,
    /// How long failures are remembered, counted from the first one.
    pub failure_window: Duration,
}

impl Default for SignInConfig {
    fn default() -> Self {
        Self {
            max_account_failures: 5,
            max_ip_failures: 50,
            lockout: Duration::from_secs(30),
            max_lockout: Duration::from_secs(15 * 60),
            failure_window: Duration::from_secs(3600),
        }
    }
}

impl Cx<'_> {
    pub(super) fn sign_in(&mut self, value: Option<toml::Value>) -> SignInConfig {
        let d = SignInConfig::default();
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
        SignInConfig {
            max_account_failures,
            max_ip_failures,
            lockout,
            max_lockout,
            failure_window,
        }
    }
}
