//! `[admin]`: what the admin API keeps for its tools — the recorded sign-ins of the trust
//! simulator and change impact (`record_claims`, `record_claims_days`). Reloadable: a
//! reload builds the new state with the new settings, and the next sign-in follows them.

use serde::Deserialize;

use super::Cx;
use crate::audit::RecordClaims;

/// `[admin]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    record_claims: Option<bool>,
    record_claims_days: Option<u32>,
}

/// The longest `record_claims_days` accepted (a year).
const MAX_RECORD_DAYS: u32 = 366;

impl Cx<'_> {
    /// `[admin]`; off by default.
    pub(super) fn admin(&mut self, value: Option<toml::Value>) -> RecordClaims {
        let defaults = RecordClaims::default();
        let Some(value) = value else { return defaults };
        let Some(raw) = self.shape::<RawAdmin>("admin", value) else {
            return defaults;
        };
        let days = match raw.record_claims_days {
            None => defaults.days,
            Some(d) if (1..=MAX_RECORD_DAYS).contains(&d) => d,
            Some(_) => {
                self.error(
                    "admin.record_claims_days",
                    format!("must be between 1 and {MAX_RECORD_DAYS}"),
                );
                defaults.days
            }
        };
        RecordClaims {
            enabled: raw.record_claims.unwrap_or(defaults.enabled),
            days,
        }
    }
}
