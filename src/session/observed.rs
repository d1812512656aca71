//! A [`SessionStore`] decorator that tells an observer (the broker's metrics) how long each
//! operation took and whether it failed, and otherwise passes every call through unchanged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Answer, Op, SessionStore, StoreError};

/// Told of every operation of an [`ObservedStore`].
pub trait StoreObserver: Send + Sync + 'static {
    /// `op` (the trait method's name) took `elapsed`; `ok` is false when it failed.
    fn observe(&self, op: &'static str, elapsed: Duration, ok: bool);
}

/// A store whose operations are timed and reported to a [`StoreObserver`].
pub struct ObservedStore {
    inner: Arc<dyn SessionStore>,
    observer: Arc<dyn StoreObserver>,
}

impl ObservedStore {
    /// `inner`, observed by `observer`.
    pub fn new(inner: Arc<dyn SessionStore>, observer: Arc<dyn StoreObserver>) -> Self {
        Self { inner, observer }
    }
}

#[async_trait]
impl SessionStore for ObservedStore {
    async fn run(&self, op: Op<'_>) -> Result<Answer, StoreError> {
        let name = op.name();
        let started = Instant::now();
        let result = self.inner.run(op).await;
        self.observer
            .observe(name, started.elapsed(), result.is_ok());
        result
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::clock::{ManualClock, UnixTime};
    use crate::session::{AttemptLimit, MemoryStore};

    #[derive(Default)]
    struct Seen(Mutex<Vec<(&'static str, bool)>>);

    impl StoreObserver for Seen {
        fn observe(&self, op: &'static str, _elapsed: Duration, ok: bool) {
            self.0.lock().unwrap().push((op, ok));
        }
    }

    /// Every typed method reaches the observer under its own name (the metrics' labels).
    #[tokio::test]
    async fn every_operation_is_observed_under_its_name() {
        let seen = Arc::new(Seen::default());
        let inner = Arc::new(MemoryStore::new(
            "t:",
            Arc::new(ManualClock::new(UnixTime::EPOCH)),
        ));
        let store = ObservedStore::new(inner, seen.clone());
        let ttl = Duration::from_secs(60);
        store.put("a", b"1", ttl).await.unwrap();
        assert!(!store.put_if_absent("a", b"2", ttl).await.unwrap());
        assert_eq!(store.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
        store.take_leaving("a", "a-used", ttl).await.unwrap();
        assert_eq!(
            store.take("a-used").await.unwrap().as_deref(),
            Some(&b"1"[..])
        );
        assert!(!store.take_if_equal("a", b"1").await.unwrap());
        store.delete("a").await.unwrap();
        assert!(!store.touch("a", ttl).await.unwrap());
        assert_eq!(store.incr("n", ttl).await.unwrap(), 1);
        store.set_add("s", "m", ttl).await.unwrap();
        assert_eq!(store.set_members("s").await.unwrap(), vec!["m".to_owned()]);
        store.put("b", b"1", ttl).await.unwrap();
        store
            .take_leaving_head("b", "b-used", 1, ttl)
            .await
            .unwrap();
        store.replace("b", b"2", ttl).await.unwrap();
        assert!(store.extend("b", ttl).await.unwrap());
        store.hash_set("h", "f", "v", ttl).await.unwrap();
        store.hash_swap("h", "f", Some("v"), "w").await.unwrap();
        assert_eq!(store.hash_fields("h").await.unwrap().len(), 1);
        // A wrong kind of value fails, and is observed as a failure.
        assert!(store.get("s").await.is_err());
        store.ping().await.unwrap();
        let limit = AttemptLimit {
            counter: "c".into(),
            lock: "l".into(),
            allowed: 3,
            window: ttl,
            lockout: ttl,
            max_lockout: ttl,
        };
        store
            .reserve_attempt(std::slice::from_ref(&limit), "tok")
            .await
            .unwrap();
        store.release_attempt(&limit, "tok", false).await.unwrap();
        let seen = seen.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                ("put", true),
                ("put_if_absent", true),
                ("get", true),
                ("take_leaving", true),
                ("take", true),
                ("take_if_equal", true),
                ("delete", true),
                ("touch", true),
                ("incr", true),
                ("set_add", true),
                ("set_members", true),
                ("put", true),
                ("take_leaving_head", true),
                ("replace", true),
                ("extend", true),
                ("hash_set", true),
                ("hash_swap", true),
                ("hash_fields", true),
                ("get", false),
                ("ping", true),
                ("reserve_attempt", true),
                ("release_attempt", true),
            ]
        );
    }
}
