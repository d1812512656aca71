//! `[sign_in]` as the password sign-in enforces it: how many failures an account or a source
//! address is allowed, and how long the locks that follow last. Built by `config`.
//!
//! May import: nothing of ours.

use std::time::Duration;

/// Limits on failed password sign-ins. Failures are counted per account and per source
/// address in the session store (so every instance shares them); past the allowance, each
/// further failure locks for twice as long as the one before, from `lockout` up to
/// `max_lockout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInLimits {
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

impl Default for SignInLimits {
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
