//! Recorded sign-ins (`[admin] record_claims`), kept beside the audit trail in its
//! database: the normalized identity and raw claims of the most recent sign-ins, per
//! provider, kept in the database for the admin API's trust
//! simulator and change impact. At most [`RECORDED_PER_PROVIDER`] subjects per provider
//! (a subject's newest sign-in replaces its previous one), each deleted after
//! `record_claims_days`.
//!
//! Recording never slows or fails a sign-in: the write runs on its own task after the
//! sign-in is finished, and a write that fails is logged. At most [`MAX_IN_FLIGHT`]
//! writes wait at once; beyond that (a sign-in storm on a slow database) a sign-in is
//! not recorded, and that is logged, rather than tasks piling up.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::db::{Database, RecordedRow};
use crate::identity::ExternalIdentity;

/// How many distinct subjects are kept per provider, the newest.
pub const RECORDED_PER_PROVIDER: u32 = 50;

/// Recording writes in progress at most.
pub const MAX_IN_FLIGHT: usize = 64;

/// `[admin] record_claims` and `record_claims_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordClaims {
    /// Whether sign-ins are recorded (off by default: claims are personal data).
    pub enabled: bool,
    /// How many days a recorded sign-in is kept.
    pub days: u32,
}

impl Default for RecordClaims {
    fn default() -> Self {
        Self {
            enabled: false,
            days: 7,
        }
    }
}

impl RecordClaims {
    /// The oldest time (milliseconds since the epoch) a recorded sign-in may have at
    /// `now_ms` to be kept.
    pub fn oldest_kept_ms(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(i64::from(self.days).saturating_mul(86_400_000))
    }
}

/// Records finished sign-ins, when `[admin] record_claims` is on and a database is
/// configured.
#[derive(Debug, Clone)]
pub struct SignInRecorder {
    db: Option<Arc<Database>>,
    settings: RecordClaims,
    in_flight: Arc<AtomicUsize>,
}

impl SignInRecorder {
    /// A recorder writing to `db` (none: records nothing) as `settings` say.
    pub fn new(db: Option<Arc<Database>>, settings: RecordClaims) -> Self {
        Self {
            db,
            settings,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> RecordClaims {
        self.settings
    }

    /// Records `identity`, signed in at `now_ms`, on a task of its own; returns at once.
    pub fn record(&self, identity: &ExternalIdentity, now_ms: i64) {
        if !self.settings.enabled {
            return;
        }
        let Some(db) = self.db.clone() else { return };
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!(provider = %identity.provider, "sign-in not recorded: {MAX_IN_FLIGHT} recordings are still being written");
            return;
        }
        let in_flight = Arc::clone(&self.in_flight);
        let json = match serde_json::to_string(identity) {
            Ok(json) => json,
            Err(e) => {
                in_flight.fetch_sub(1, Ordering::AcqRel);
                tracing::warn!(error = %e, "cannot record a sign-in: the identity does not serialize");
                return;
            }
        };
        let row = RecordedRow {
            id: uuid::Uuid::new_v4().to_string(),
            provider: identity.provider.to_string(),
            subject: identity.subject.clone(),
            time_ms: now_ms,
            identity: json,
        };
        let expire_before = self.settings.oldest_kept_ms(now_ms);
        tokio::spawn(async move {
            if let Err(e) = db
                .record_sign_in(&row, RECORDED_PER_PROVIDER, expire_before)
                .await
            {
                tracing::warn!(provider = %row.provider, error = %e, "cannot record a sign-in for the trust simulator");
            }
            in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::db::Location;
    use crate::roles::tests::identity;

    #[tokio::test]
    async fn records_only_when_turned_on_and_off_the_callers_path() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Database::open(&Location::Sqlite(dir.path().join("r.db"))).unwrap());
        let off = SignInRecorder::new(Some(Arc::clone(&db)), RecordClaims::default());
        off.record(&identity(&["eng"]), 1_000);
        let on = SignInRecorder::new(
            Some(Arc::clone(&db)),
            RecordClaims {
                enabled: true,
                days: 1,
            },
        );
        on.record(&identity(&["eng"]), 2_000);
        let mut rows = Vec::new();
        for _ in 0..100 {
            rows = db.recorded_sign_ins(Some("corp"), 0).await.unwrap();
            if !rows.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(rows.len(), 1, "only the recorder that is on wrote");
        assert_eq!(rows[0].time_ms, 2_000);
        let back: ExternalIdentity = serde_json::from_str(&rows[0].identity).unwrap();
        assert_eq!(back, identity(&["eng"]));
        assert_eq!(
            RecordClaims::default().oldest_kept_ms(8 * 86_400_000),
            86_400_000
        );
        // Without a database, nothing happens (and nothing panics).
        SignInRecorder::new(None, on.settings()).record(&identity(&[]), 3_000);
    }
}
