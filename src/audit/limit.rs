//! Bounded audit writes for failures anyone can cause without credentials (failed
//! sign-ins, lockouts, refused credentials): each would otherwise be one durable write,
//! an amplifier for whoever sends them. Events are counted per source (client address,
//! event kind and outcome) in a window of [`WINDOW_MS`]: the first [`FULL_EVENTS`] are
//! written in full, the rest only counted, and when the window ends one `audit.summary`
//! event carries the count. The map of sources is capped at [`MAX_SOURCES`]: when it is
//! full, a new address shares one "other addresses" bucket per kind and outcome. Events of
//! other kinds (credentials issued above all) are never held back.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{AuditEvent, EventKind};

/// How long a source's window lasts, in milliseconds.
pub const WINDOW_MS: i64 = 60_000;
/// Events of one source written in full per window.
pub const FULL_EVENTS: u32 = 20;
/// Sources tracked at most; beyond, new addresses share one bucket.
pub const MAX_SOURCES: usize = 10_000;

/// The source shown for the shared bucket of addresses beyond [`MAX_SOURCES`].
const OTHER_SOURCES: &str = "*";

/// Whether events of `kind` are held to the per-source budget.
fn limited(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::SignInFailed
            | EventKind::SignInLocked
            | EventKind::CredentialsRefused
            | EventKind::AdminRefused
    )
}

/// Who caused an event, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Source {
    address: Option<String>,
    kind: EventKind,
    outcome: String,
}

impl Source {
    fn of(event: &AuditEvent) -> Self {
        // Sign-in failures say how they ended; a refusal is told apart by its door.
        let outcome = event
            .detail
            .get("outcome")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .or_else(|| event.door.map(|d| d.as_str().to_owned()))
            .unwrap_or_default();
        Source {
            address: event.source_ip.clone(),
            kind: event.event,
            outcome,
        }
    }
}

/// One source's window.
#[derive(Debug)]
struct Window {
    start_ms: i64,
    written: u32,
    held: u64,
}

impl Window {
    fn ended(&self, now_ms: i64) -> bool {
        now_ms.saturating_sub(self.start_ms) >= WINDOW_MS
    }
}

/// What to write for one event.
#[derive(Debug, Default)]
pub(super) struct Admission {
    /// Whether the event itself is written.
    pub write: bool,
    /// Summaries of windows that ended, to write first.
    pub summaries: Vec<AuditEvent>,
}

/// The per-source budgets.
#[derive(Debug, Default)]
pub(super) struct Limiter {
    windows: Mutex<HashMap<Source, Window>>,
}

impl Limiter {
    /// Decides whether `event` is written in full, and hands out the summaries of the
    /// windows that ended by its time.
    pub fn admit(&self, event: &AuditEvent) -> Admission {
        if !limited(event.event) {
            return Admission {
                write: true,
                summaries: Vec::new(),
            };
        }
        let now_ms = event.time_ms;
        let mut windows = self.lock();
        let mut summaries = Vec::new();
        let mut source = Source::of(event);
        if !windows.contains_key(&source) && windows.len() >= MAX_SOURCES {
            summaries.extend(close_ended(&mut windows, now_ms));
            if windows.len() >= MAX_SOURCES {
                source.address = Some(OTHER_SOURCES.to_owned());
            }
        }
        if windows.get(&source).is_some_and(|w| w.ended(now_ms)) {
            if let Some(w) = windows.remove(&source) {
                summaries.extend(summary(&source, &w));
            }
        }
        let window = windows.entry(source).or_insert(Window {
            start_ms: now_ms,
            written: 0,
            held: 0,
        });
        let write = window.written < FULL_EVENTS;
        if write {
            window.written += 1;
        } else {
            window.held += 1;
        }
        Admission { write, summaries }
    }

    /// Closes every window that ended by `now_ms`; returns their summaries.
    pub fn close_ended(&self, now_ms: i64) -> Vec<AuditEvent> {
        close_ended(&mut self.lock(), now_ms)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Source, Window>> {
        // The map stays consistent between statements: a panic elsewhere cannot tear it.
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn close_ended(windows: &mut HashMap<Source, Window>, now_ms: i64) -> Vec<AuditEvent> {
    let mut summaries = Vec::new();
    windows.retain(|source, w| {
        if !w.ended(now_ms) {
            return true;
        }
        summaries.extend(summary(source, w));
        false
    });
    summaries
}

/// The `audit.summary` event of a window that held events back (none if it held none).
fn summary(source: &Source, window: &Window) -> Option<AuditEvent> {
    if window.held == 0 {
        return None;
    }
    let end_ms = window.start_ms.saturating_add(WINDOW_MS);
    let mut event = AuditEvent::new(EventKind::AuditSummary, end_ms);
    event.source_ip.clone_from(&source.address);
    event.reason = Some(format!(
        "{} more {} events from this source within {} s were counted, not written",
        window.held,
        source.kind.as_str(),
        WINDOW_MS / 1000
    ));
    event.detail = serde_json::json!({
        "event": source.kind.as_str(),
        "outcome": source.outcome,
        "count": window.held,
        "written": window.written,
        "window_start_ms": window.start_ms,
        "window_end_ms": end_ms,
    });
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Door;

    fn failed(ip: &str, time_ms: i64) -> AuditEvent {
        let mut e = AuditEvent::new(EventKind::SignInFailed, time_ms);
        e.source_ip = Some(ip.to_owned());
        e.detail = serde_json::json!({ "outcome": "failure" });
        e
    }

    #[test]
    fn a_source_gets_its_first_events_then_one_summary_with_the_count() {
        let limiter = Limiter::default();
        let written = (0..100)
            .filter(|i| limiter.admit(&failed("10.0.0.1", 1_000 + i)).write)
            .count();
        assert_eq!(written, FULL_EVENTS as usize);
        // Another address and another outcome have budgets of their own.
        assert!(limiter.admit(&failed("10.0.0.2", 2_000)).write);
        let mut locked = failed("10.0.0.1", 2_000);
        locked.event = EventKind::SignInLocked;
        assert!(limiter.admit(&locked).write);
        assert!(limiter.close_ended(1_000 + WINDOW_MS - 1).is_empty());

        // The next event after the window brings the summary and is written itself.
        let next = limiter.admit(&failed("10.0.0.1", 1_000 + WINDOW_MS));
        assert!(next.write);
        assert_eq!(next.summaries.len(), 1);
        let s = &next.summaries[0];
        assert_eq!(s.event, EventKind::AuditSummary);
        assert_eq!(s.source_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(s.detail["count"], 100 - u64::from(FULL_EVENTS));
        assert_eq!(s.detail["event"], "signin.failed");
        assert_eq!(s.detail["outcome"], "failure");
        assert_eq!(s.time_ms, 1_000 + WINDOW_MS);
        // Windows that held nothing back end without a summary.
        assert!(limiter.close_ended(1_000 + 3 * WINDOW_MS).is_empty());
    }

    #[test]
    fn quiet_sources_are_summarised_by_the_sweep() {
        let limiter = Limiter::default();
        let refused = (0..30).map(|i| {
            let mut e = AuditEvent::new(EventKind::CredentialsRefused, i);
            e.door = Some(Door::StsWebIdentity);
            e
        });
        for mut e in refused {
            e.source_ip = Some("192.0.2.7".into());
            let _ = limiter.admit(&e);
        }
        let summaries = limiter.close_ended(WINDOW_MS);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].detail["count"], 30 - u64::from(FULL_EVENTS));
        assert_eq!(summaries[0].detail["outcome"], "sts_web_identity");
        assert!(limiter.lock().is_empty());
    }

    #[test]
    fn issuance_is_never_held_back() {
        let limiter = Limiter::default();
        let mut e = AuditEvent::new(EventKind::CredentialsIssued, 0);
        e.source_ip = Some("10.0.0.1".into());
        for i in 0..1_000 {
            e.time_ms = i;
            assert!(limiter.admit(&e).write);
        }
        assert!(limiter.lock().is_empty());
    }

    #[test]
    fn the_map_is_capped_and_later_addresses_share_a_bucket() {
        let limiter = Limiter::default();
        for i in 0..MAX_SOURCES {
            let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            assert!(limiter.admit(&failed(&ip, 0)).write);
        }
        let written = (0..100)
            .filter(|i| limiter.admit(&failed(&format!("172.16.0.{i}"), 1)).write)
            .count();
        assert_eq!(written, FULL_EVENTS as usize);
        assert_eq!(limiter.lock().len(), MAX_SOURCES + 1);
        // Once windows end, the space is reused by the next new address.
        let later = limiter.admit(&failed("192.0.2.1", WINDOW_MS + 1));
        assert!(later.write);
        let shared: Vec<_> = later
            .summaries
            .iter()
            .filter(|s| s.source_ip.as_deref() == Some(OTHER_SOURCES))
            .collect();
        assert_eq!(shared.len(), 1);
        assert_eq!(shared[0].detail["count"], 100 - u64::from(FULL_EVENTS));
        assert_eq!(limiter.lock().len(), 1);
    }
}
