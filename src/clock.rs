//! Time, injected. `SystemTime::now` is called in this file only (clippy's
//! `disallowed-methods` keeps it that way), so tests set the clock instead of sleeping.
//! Points in time are [`UnixTime`]s; spans of time are [`std::time::Duration`]s.
//!
//! May import: nothing of ours.

use std::ops::{Add, Sub};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time: whole seconds since 1970-01-01T00:00:00Z, ignoring leap seconds (a
/// JWT NumericDate, RFC 7519 section 2).
///
/// Serializes as the bare number of seconds, so records, claims and JSON bodies holding
/// one look exactly as they did when they held an `i64`. Arithmetic with a [`Duration`]
/// saturates instead of overflowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(i64);

impl UnixTime {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: UnixTime = UnixTime(0);

    /// The instant `secs` seconds after the epoch (before it, if negative).
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub const fn secs(self) -> i64 {
        self.0
    }

    /// Milliseconds since the epoch (saturating).
    pub const fn millis(self) -> i64 {
        self.0.saturating_mul(1000)
    }

    /// The time from `self` until `later`: zero if `later` is not after `self`. With
    /// `now.until(expires_at)`, the time left.
    pub const fn until(self, later: UnixTime) -> Duration {
        match later.0.checked_sub(self.0) {
            Some(d) if d > 0 => Duration::from_secs(d.unsigned_abs()),
            Some(_) => Duration::ZERO,
            // Only when the two are more than `i64::MAX` apart.
            None if later.0 > self.0 => Duration::from_secs(later.0.abs_diff(self.0)),
            None => Duration::ZERO,
        }
    }

    /// The time from `earlier` until `self`: zero if `earlier` is not before `self`. With
    /// `now.since(last_seen)`, the time elapsed.
    pub const fn since(self, earlier: UnixTime) -> Duration {
        earlier.until(self)
    }
}

/// Whole seconds of `d`, as an `i64` (saturating; sub-second parts are dropped).
fn whole_secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Default for UnixTime {
    /// The epoch, as the zero an `i64` field of an older record defaulted to.
    fn default() -> Self {
        Self::EPOCH
    }
}

impl Add<Duration> for UnixTime {
    type Output = UnixTime;

    /// `self` moved `rhs` (whole seconds) later, saturating.
    fn add(self, rhs: Duration) -> UnixTime {
        UnixTime(self.0.saturating_add(whole_secs(rhs)))
    }
}

impl Sub<Duration> for UnixTime {
    type Output = UnixTime;

    /// `self` moved `rhs` (whole seconds) earlier, saturating.
    fn sub(self, rhs: Duration) -> UnixTime {
        UnixTime(self.0.saturating_sub(whole_secs(rhs)))
    }
}

/// A source of wall-clock time.
pub trait Clock: Send + Sync + 'static {
    /// The current time, in whole seconds.
    fn now(&self) -> UnixTime;

    /// The current time in milliseconds since the epoch (audit event times). By default
    /// [`Clock::now`] in milliseconds; the system clock gives the real fraction.
    fn now_ms(&self) -> i64 {
        self.now().millis()
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// Time since the epoch (zero if the system clock is set before it).
    #[allow(clippy::disallowed_methods)]
    fn since_epoch() -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::EPOCH + Self::since_epoch()
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(Self::since_epoch().as_millis()).unwrap_or(i64::MAX)
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: UnixTime) -> Self {
        Self {
            now: Arc::new(AtomicI64::new(now.secs())),
        }
    }

    /// Moves the clock forward by `by` (whole seconds).
    pub fn advance(&self, by: Duration) {
        self.now.fetch_add(whole_secs(by), Ordering::SeqCst);
    }

    /// Sets the clock to `now`.
    pub fn set(&self, now: UnixTime) {
        self.now.store(now.secs(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.now.load(Ordering::SeqCst))
    }
}

/// A shared clock handle, as kept in application state.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Record {
        created_at: UnixTime,
        expires_at: Option<UnixTime>,
    }

    #[test]
    fn serializes_as_a_bare_number_of_seconds() {
        let r = Record {
            created_at: UnixTime::from_secs(1_800_000_000),
            expires_at: Some(UnixTime::from_secs(-5)),
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"created_at":1800000000,"expires_at":-5}"#);
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), r);
    }

    #[test]
    fn reads_what_an_i64_wrote() {
        #[derive(Serialize)]
        struct Old {
            created_at: i64,
            expires_at: Option<i64>,
        }
        let old = serde_json::to_string(&Old {
            created_at: 1_800_000_000,
            expires_at: None,
        })
        .unwrap();
        let new: Record = serde_json::from_str(&old).unwrap();
        assert_eq!(new.created_at.secs(), 1_800_000_000);
        assert_eq!(serde_json::to_string(&new).unwrap(), old);
    }

    #[test]
    fn arithmetic_saturates() {
        let t = UnixTime::from_secs(100);
        assert_eq!((t + Duration::from_secs(20)).secs(), 120);
        assert_eq!((t - Duration::from_millis(20_999)).secs(), 80);
        assert_eq!((t + Duration::MAX).secs(), i64::MAX);
        assert_eq!((t - Duration::MAX).secs(), i64::MIN + 101);
        assert_eq!(UnixTime::from_secs(i64::MAX).millis(), i64::MAX);
        assert_eq!(UnixTime::from_secs(-2).millis(), -2000);
    }

    #[test]
    fn until_and_since_never_go_negative() {
        let a = UnixTime::from_secs(100);
        let b = UnixTime::from_secs(160);
        assert_eq!(a.until(b), Duration::from_secs(60));
        assert_eq!(b.until(a), Duration::ZERO);
        assert_eq!(b.since(a), Duration::from_secs(60));
        assert_eq!(a.since(b), Duration::ZERO);
        let (min, max) = (UnixTime::from_secs(i64::MIN), UnixTime::from_secs(i64::MAX));
        assert_eq!(min.until(max), Duration::from_secs(u64::MAX));
        assert_eq!(max.until(min), Duration::ZERO);
    }

    #[test]
    fn manual_clock_moves_when_told() {
        let clock = ManualClock::new(UnixTime::from_secs(1_000));
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), UnixTime::from_secs(1_005));
        assert_eq!(clock.now_ms(), 1_005_000);
        clock.set(UnixTime::EPOCH);
        assert_eq!(clock.now().secs(), 0);
    }

    #[test]
    fn system_milliseconds_agree_with_its_seconds() {
        let secs = SystemClock.now().secs();
        let ms = SystemClock.now_ms();
        assert!(
            (secs..=secs + 1).contains(&(ms / 1000)),
            "{secs} s, {ms} ms"
        );
    }
}
