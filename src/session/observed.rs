//! A [`SessionStore`] decorator that tells an observer (the broker's metrics) how long each
//! operation took and whether it failed, and otherwise passes every call through unchanged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{AttemptLimit, Reservation, SessionStore, StoreError};

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

    async fn timed<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        self.observer.observe(op, started.elapsed(), result.is_ok());
        result
    }
}

#[async_trait]
impl SessionStore for ObservedStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.timed("put", self.inner.put(key, value, ttl)).await
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.timed("put_if_absent", self.inner.put_if_absent(key, value, ttl))
            .await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.timed("get", self.inner.get(key)).await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.timed("take", self.inner.take(key)).await
    }

    async fn take_leaving(
        &self,
        key: &str,
        tombstone: &str,
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.timed("take_leaving", self.inner.take_leaving(key, tombstone, ttl))
            .await
    }

    async fn take_if_equal(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
        self.timed("take_if_equal", self.inner.take_if_equal(key, expected))
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.timed("delete", self.inner.delete(key)).await
    }

    async fn touch(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.timed("touch", self.inner.touch(key, ttl)).await
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        self.timed("incr", self.inner.incr(key, ttl)).await
    }

    async fn reserve_attempt(
        &self,
        limits: &[AttemptLimit],
        lock_token: &str,
    ) -> Result<Reservation, StoreError> {
        self.timed(
            "reserve_attempt",
            self.inner.reserve_attempt(limits, lock_token),
        )
        .await
    }

    async fn release_attempt(
        &self,
        limit: &AttemptLimit,
        lock_token: &str,
        reset: bool,
    ) -> Result<(), StoreError> {
        self.timed(
            "release_attempt",
            self.inner.release_attempt(limit, lock_token, reset),
        )
        .await
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> Result<(), StoreError> {
        self.timed("set_add", self.inner.set_add(key, member, ttl))
            .await
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        self.timed("set_members", self.inner.set_members(key)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", self.inner.ping()).await
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}
