//! The embedded session store: a map behind a `std` mutex, expiring entries by the
//! injected clock. For a single instance; sessions do not survive a restart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use super::{
    Answer, AttemptLimit, Op, Reservation, Reserved, ScanPage, SessionStore, Step, StoreError,
    ttl_millis,
};
use crate::clock::{SharedClock, UnixTime};

/// Writes between two full sweeps of expired entries, at the least. After a sweep the
/// next one waits for as many writes as entries were left, so a sweep costs O(1) per
/// write, amortised, and the map never holds more than about twice the entries that
/// were live at the last sweep (plus this many).
const MIN_WRITES_BETWEEN_SWEEPS: usize = 256;

/// The in-process [`SessionStore`]. Cheap operations under a `std` mutex that is never
/// held across an `.await`; time comes from the injected clock, in whole seconds.
pub struct MemoryStore {
    prefix: String,
    clock: SharedClock,
    inner: Mutex<Inner>,
}

struct Inner {
    entries: HashMap<String, Entry>,
    writes_since_sweep: usize,
    /// Writes after which the next sweep runs.
    sweep_after: usize,
}

struct Entry {
    value: Value,
    /// When the entry is gone.
    expires_at: UnixTime,
}

enum Value {
    Bytes(Vec<u8>),
    Counter(i64),
    Set(BTreeSet<String>),
    Hash(BTreeMap<String, String>),
}

impl MemoryStore {
    /// An empty store whose keys all start with `prefix`, expiring entries by `clock`.
    pub fn new(prefix: &str, clock: SharedClock) -> Self {
        Self {
            prefix: prefix.to_owned(),
            clock,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                writes_since_sweep: 0,
                sweep_after: MIN_WRITES_BETWEEN_SWEEPS,
            }),
        }
    }

    /// The number of entries held, expired ones not yet purged included.
    pub fn len(&self) -> usize {
        self.lock().map(|inner| inner.entries.len()).unwrap_or(0)
    }

    /// Whether the store holds no entry at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn expiry(&self, now: UnixTime, ttl: Duration) -> UnixTime {
        now + Duration::from_secs(ttl_millis(ttl).div_ceil(1000))
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        // A poisoned lock means a thread panicked mid-operation; every operation leaves
        // the map consistent, but report it rather than guess.
        self.inner
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".to_owned()))
    }

    /// Runs `f` on the live (non-expired) entry under `key`, after dropping it if expired.
    fn with_write<R>(
        &self,
        key: &str,
        f: impl FnOnce(&mut HashMap<String, Entry>, String, UnixTime) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let now = self.clock.now();
        let key = self.key(key);
        let mut inner = self.lock()?;
        inner.note_write(now);
        if inner.entries.get(&key).is_some_and(|e| e.expires_at <= now) {
            inner.entries.remove(&key);
        }
        f(&mut inner.entries, key, now)
    }
}

impl MemoryStore {
    /// A page of [`SessionStore::scan`]: the next `count` live keys under `prefix` in key
    /// order after `cursor` (the last key of the page before). Sorting every page is fine
    /// for the store of one process; Redis walks its own way.
    fn scan_page(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        count: u32,
    ) -> Result<ScanPage, StoreError> {
        let now = self.clock.now();
        let full = self.key(prefix);
        let after = cursor.map(|c| self.key(c));
        let inner = self.lock()?;
        let mut keys: Vec<&String> = inner
            .entries
            .iter()
            .filter(|(k, e)| {
                e.expires_at > now
                    && k.starts_with(&full)
                    && after.as_ref().is_none_or(|after| *k > after)
            })
            .map(|(k, _)| k)
            .collect();
        keys.sort_unstable();
        let count = usize::try_from(count.max(1)).unwrap_or(usize::MAX);
        let more = keys.len() > count;
        keys.truncate(count);
        let keys: Vec<String> = keys
            .into_iter()
            .map(|k| k.strip_prefix(&self.prefix).unwrap_or(k).to_owned())
            .collect();
        let next = if more { keys.last().cloned() } else { None };
        Ok(ScanPage { keys, next })
    }
}

impl Inner {
    fn note_write(&mut self, now: UnixTime) {
        self.writes_since_sweep += 1;
        if self.writes_since_sweep >= self.sweep_after {
            self.entries.retain(|_, e| e.expires_at > now);
            self.writes_since_sweep = 0;
            self.sweep_after = MIN_WRITES_BETWEEN_SWEEPS.max(self.entries.len());
        }
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("prefix", &self.prefix)
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

fn wrong_type() -> StoreError {
    StoreError::Backend("operation against a key holding the wrong kind of value".to_owned())
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn run(&self, op: Op<'_>) -> Result<Answer, StoreError> {
        match op {
            Op::Get { key } => self.read(key).map(Answer::Value),
            Op::Take {
                key,
                tombstone,
                head,
            } => self.take_value(key, tombstone, head).map(Answer::Value),
            Op::Replace { key, value, ttl } => self.with_write(key, |entries, key, now| {
                let mut expires_at = self.expiry(now, ttl);
                if let Some(old) = entries.get(&key) {
                    expires_at = expires_at.max(old.expires_at);
                }
                let value = Value::Bytes(value.to_vec());
                entries.insert(key, Entry { value, expires_at });
                Ok(Answer::Stored(true))
            }),
            Op::Extend { key, ttl } => {
                self.with_write(key, |entries, key, now| match entries.get_mut(&key) {
                    None => Ok(Answer::Stored(false)),
                    Some(entry) => {
                        entry.expires_at = entry.expires_at.max(self.expiry(now, ttl));
                        Ok(Answer::Stored(true))
                    }
                })
            }
            Op::HashSet {
                key,
                field,
                value,
                ttl,
            } => self.set_field(key, field, value, ttl).map(Answer::Stored),
            Op::HashSwap {
                key,
                field,
                expected,
                value,
            } => self
                .swap_field(key, field, expected, value)
                .map(|held| Answer::Value(held.map(String::into_bytes))),
            Op::HashFields { key } => self.fields(key).map(Answer::Fields),
            Op::Put {
                key,
                value,
                ttl,
                if_absent,
            } => self.with_write(key, |entries, key, now| {
                if if_absent && entries.contains_key(&key) {
                    return Ok(Answer::Stored(false));
                }
                let expires_at = self.expiry(now, ttl);
                let value = Value::Bytes(value.to_vec());
                entries.insert(key, Entry { value, expires_at });
                Ok(Answer::Stored(true))
            }),
            Op::TakeIfEqual { key, expected } => self.with_write(key, |entries, key, _| {
                let same = matches!(
                    entries.get(&key),
                    Some(Entry { value: Value::Bytes(b), .. }) if b.as_slice() == expected
                );
                if same {
                    entries.remove(&key);
                }
                Ok(Answer::Stored(same))
            }),
            Op::Delete { key } => self.with_write(key, |entries, key, _| {
                entries.remove(&key);
                Ok(Answer::Stored(true))
            }),
            Op::Touch { key, ttl } => {
                self.with_write(key, |entries, key, now| match entries.get_mut(&key) {
                    None => Ok(Answer::Stored(false)),
                    Some(entry) => {
                        entry.expires_at = self.expiry(now, ttl);
                        Ok(Answer::Stored(true))
                    }
                })
            }
            Op::Incr { key, ttl } => self.count(key, ttl).map(Answer::Count),
            Op::CountWithin { counters } => {
                let mut within = 0;
                for counter in counters {
                    if self.count(&counter.key, counter.ttl)? > counter.cap {
                        break;
                    }
                    within += 1;
                }
                Ok(Answer::Count(within))
            }
            Op::ReleaseAttempt {
                limit,
                lock_token,
                reset,
            } => self.release(limit, lock_token, reset).map(Answer::Stored),
            Op::ReserveAttempt { limits, lock_token } => {
                self.reserve(limits, lock_token).map(Answer::Reservation)
            }
            Op::SetAdd { key, member, ttl } => {
                self.add_member(key, member, ttl).map(Answer::Stored)
            }
            Op::SetMembers { key } => self.members(key).map(Answer::Members),
            Op::Batch { steps } => {
                // In order; each step is as atomic as its own operation here.
                let mut values = Vec::with_capacity(steps.len());
                for step in steps {
                    let answer = self.run(step.op()).await?;
                    values.push(match step {
                        Step::Get { .. } => answer.value()?,
                        _ => None,
                    });
                }
                Ok(Answer::Values(values))
            }
            Op::GetWithFields { key, hash } => {
                let value = self.run(Op::Get { key }).await?.value()?;
                let fields = self.fields(hash)?;
                Ok(Answer::ValueAndFields(value, fields))
            }
            Op::Scan {
                prefix,
                cursor,
                count,
            } => self.scan_page(prefix, cursor, count).map(Answer::Page),
            Op::Ping => self.lock().map(|_| Answer::Stored(true)),
        }
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

impl MemoryStore {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        let key = self.key(key);
        let mut inner = self.lock()?;
        match inner.entries.get(&key) {
            None => Ok(None),
            Some(e) if e.expires_at <= now => {
                inner.entries.remove(&key);
                Ok(None)
            }
            Some(e) => bytes_of(&e.value).map(Some),
        }
    }

    /// Takes the value under `key`, leaving a copy (or its `head` first bytes) under the
    /// tombstone if one is given.
    fn take_value(
        &self,
        key: &str,
        tomb: Option<(&str, Duration)>,
        head: Option<usize>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        let key = self.key(key);
        // One lock for both: no other operation sees the value gone and no tombstone.
        let mut inner = self.lock()?;
        inner.note_write(now);
        let value = match inner.entries.get(&key) {
            None => return Ok(None),
            Some(e) if e.expires_at <= now => {
                inner.entries.remove(&key);
                return Ok(None);
            }
            // Like Redis GETDEL: a set is left alone and the call fails.
            Some(e) => bytes_of(&e.value)?,
        };
        inner.entries.remove(&key);
        if let Some((tombstone, ttl)) = tomb {
            let entry = Entry {
                value: Value::Bytes(value[..head.unwrap_or(value.len()).min(value.len())].to_vec()),
                expires_at: self.expiry(now, ttl),
            };
            inner.entries.insert(self.key(tombstone), entry);
        }
        Ok(Some(value))
    }

    fn count(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        self.with_write(key, |entries, key, now| {
            let Some(entry) = entries.get_mut(&key) else {
                let entry = Entry {
                    value: Value::Counter(1),
                    expires_at: self.expiry(now, ttl),
                };
                entries.insert(key, entry);
                return Ok(1);
            };
            let current = match &entry.value {
                Value::Counter(n) => *n,
                Value::Bytes(b) => std::str::from_utf8(b)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                    .ok_or_else(|| {
                        StoreError::Backend("value is not an integer or out of range".to_owned())
                    })?,
                Value::Set(_) | Value::Hash(_) => return Err(wrong_type()),
            };
            let next = current.checked_add(1).ok_or_else(|| {
                StoreError::Backend("increment or decrement would overflow".to_owned())
            })?;
            entry.value = Value::Counter(next);
            Ok(next)
        })
    }

    fn reserve(&self, limits: &[AttemptLimit], token: &str) -> Result<Reservation, StoreError> {
        let now = self.clock.now();
        let mut inner = self.lock()?;
        inner.note_write(now);
        for (i, limit) in limits.iter().enumerate() {
            if live(&inner.entries, &self.key(&limit.lock), now).is_some() {
                return Ok(Reservation::Locked(i));
            }
        }
        // Check every counter before changing any, so a failure leaves nothing half done.
        let mut counts = Vec::with_capacity(limits.len());
        for limit in limits {
            let count = match live(&inner.entries, &self.key(&limit.counter), now) {
                None => 0,
                Some(Value::Counter(n)) => *n,
                Some(Value::Bytes(_) | Value::Set(_) | Value::Hash(_)) => {
                    return Err(wrong_type());
                }
            };
            counts.push(count.checked_add(1).ok_or_else(|| {
                StoreError::Backend("increment or decrement would overflow".to_owned())
            })?);
        }
        let mut reserved = Vec::with_capacity(limits.len());
        for (limit, count) in limits.iter().zip(counts) {
            let counter = self.key(&limit.counter);
            let expires_at = match inner.entries.get(&counter) {
                Some(e) if e.expires_at > now => e.expires_at,
                _ => self.expiry(now, limit.window),
            };
            inner.entries.insert(
                counter,
                Entry {
                    value: Value::Counter(count),
                    expires_at,
                },
            );
            let lock = limit.lock_after(count);
            if let Some(lock) = lock {
                inner.entries.insert(
                    self.key(&limit.lock),
                    Entry {
                        value: Value::Bytes(token.as_bytes().to_vec()),
                        expires_at: self.expiry(now, lock),
                    },
                );
            }
            reserved.push(Reserved { count, lock });
        }
        Ok(Reservation::Granted(reserved))
    }

    fn release(&self, limit: &AttemptLimit, token: &str, reset: bool) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut inner = self.lock()?;
        inner.note_write(now);
        let counter = self.key(&limit.counter);
        if reset {
            inner.entries.remove(&counter);
        } else if let Some(Entry {
            value: Value::Counter(n),
            expires_at,
        }) = inner.entries.get_mut(&counter)
            && *expires_at > now
            && *n > 0
        {
            *n -= 1;
        }
        let lock = self.key(&limit.lock);
        let ours = inner.entries.get(&lock).is_some_and(|e| {
            e.expires_at > now
                && matches!(&e.value, Value::Bytes(b) if b.as_slice() == token.as_bytes())
        });
        if ours {
            inner.entries.remove(&lock);
        }
        Ok(true)
    }

    fn add_member(&self, key: &str, member: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.with_write(key, |entries, key, now| {
            let expires_at = self.expiry(now, ttl);
            match entries.get_mut(&key) {
                None => {
                    let set = BTreeSet::from([member.to_owned()]);
                    entries.insert(
                        key,
                        Entry {
                            value: Value::Set(set),
                            expires_at,
                        },
                    );
                    Ok(true)
                }
                Some(Entry {
                    value: Value::Set(set),
                    expires_at: at,
                }) => {
                    set.insert(member.to_owned());
                    *at = expires_at;
                    Ok(true)
                }
                Some(_) => Err(wrong_type()),
            }
        })
    }

    fn members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let now = self.clock.now();
        let key = self.key(key);
        let inner = self.lock()?;
        match live(&inner.entries, &key, now) {
            None => Ok(Vec::new()),
            Some(Value::Set(set)) => Ok(set.iter().cloned().collect()),
            Some(Value::Bytes(_) | Value::Counter(_) | Value::Hash(_)) => Err(wrong_type()),
        }
    }

    fn set_field(
        &self,
        key: &str,
        field: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.with_write(key, |entries, key, now| {
            let expires_at = self.expiry(now, ttl);
            match entries.get_mut(&key) {
                None => {
                    let hash = BTreeMap::from([(field.to_owned(), value.to_owned())]);
                    entries.insert(
                        key,
                        Entry {
                            value: Value::Hash(hash),
                            expires_at,
                        },
                    );
                    Ok(true)
                }
                Some(Entry {
                    value: Value::Hash(hash),
                    expires_at: at,
                }) => {
                    hash.insert(field.to_owned(), value.to_owned());
                    *at = (*at).max(expires_at);
                    Ok(true)
                }
                Some(_) => Err(wrong_type()),
            }
        })
    }

    fn swap_field(
        &self,
        key: &str,
        field: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<Option<String>, StoreError> {
        self.with_write(key, |entries, key, _| match entries.get_mut(&key) {
            None => Ok(None),
            Some(Entry {
                value: Value::Hash(hash),
                ..
            }) => {
                let Some(held) = hash.get_mut(field) else {
                    return Ok(None);
                };
                let before = held.clone();
                if expected.is_none_or(|e| e == before) {
                    value.clone_into(held);
                }
                Ok(Some(before))
            }
            Some(_) => Err(wrong_type()),
        })
    }

    fn fields(&self, key: &str) -> Result<Vec<(String, String)>, StoreError> {
        let now = self.clock.now();
        let key = self.key(key);
        let inner = self.lock()?;
        match live(&inner.entries, &key, now) {
            None => Ok(Vec::new()),
            Some(Value::Hash(hash)) => {
                Ok(hash.iter().map(|(f, v)| (f.clone(), v.clone())).collect())
            }
            Some(Value::Bytes(_) | Value::Counter(_) | Value::Set(_)) => Err(wrong_type()),
        }
    }
}

/// The bytes of a value as Redis `GET` answers them: a counter as its decimal string.
fn bytes_of(value: &Value) -> Result<Vec<u8>, StoreError> {
    match value {
        Value::Bytes(b) => Ok(b.clone()),
        Value::Counter(n) => Ok(n.to_string().into_bytes()),
        Value::Set(_) | Value::Hash(_) => Err(wrong_type()),
    }
}

/// The value under `key` (already prefixed) unless it has expired at `now`.
fn live<'a>(entries: &'a HashMap<String, Entry>, key: &str, now: UnixTime) -> Option<&'a Value> {
    entries
        .get(key)
        .filter(|e| e.expires_at > now)
        .map(|e| &e.value)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::{ManualClock, UnixTime};

    #[tokio::test]
    async fn expired_entries_are_purged_so_memory_stays_bounded() {
        let clock = ManualClock::new(UnixTime::from_secs(1_000));
        let store = MemoryStore::new("t:", Arc::new(clock.clone()));
        for round in 0..20 {
            for i in 0..1_000 {
                store
                    .put(&format!("{round}:{i}"), b"v", Duration::from_secs(10))
                    .await
                    .unwrap();
            }
            clock.advance(Duration::from_secs(11));
        }
        // Without purging this would hold 20 000 entries.
        assert!(
            store.len() <= 2_000 + MIN_WRITES_BETWEEN_SWEEPS,
            "{}",
            store.len()
        );
    }

    #[test]
    fn debug_shows_no_values() {
        let store = MemoryStore::new("t:", Arc::new(ManualClock::new(UnixTime::EPOCH)));
        let shown = format!("{store:?}");
        assert!(shown.contains("MemoryStore"));
        assert!(shown.contains("entries"));
    }
}
