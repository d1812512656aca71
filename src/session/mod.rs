//! The session store: one [`SessionStore`] trait and its two implementations,
//! [`MemoryStore`] (the embedded default) and [`RedisStore`] (production, shared by every
//! Lanyard instance).
//!
//! It owns everything kept between requests: SSO sessions, role sessions, login
//! transactions, OIDC codes, SAML request ids and assertion ids for replay detection, and
//! rate-limit counters, each kind declared once in the typed [`keyspace`]. Everything has a
//! TTL. Single-use items are taken atomically
//! ([`SessionStore::take`], a Redis script around `GETDEL`), so a replay loses the race
//! every time; a take that Lanyard gave up waiting for changes nothing when a stalled Redis
//! runs it later (see `redis.rs`), so "try again" always leaves the item usable. Every
//! key gets the store's prefix (`sessions.key_prefix`, `lanyard:` by default).
//!
//! Both implementations pass one test suite (`tests.rs`), the Redis one against a real
//! server.
//!
//! It also counts what anonymous clients make Lanyard park ([`ParkingCap`]) and reserves
//! rate-limited attempts atomically ([`SessionStore::reserve_attempt`]).
//!
//! May import: `crate::clock`, `crate::secret`; nothing else of ours, and no HTTP types.

pub mod keyspace;
mod memory;
mod observed;
mod redis;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::secret::Secret;

pub use self::memory::MemoryStore;
pub use self::observed::{ObservedStore, StoreObserver};
pub use self::redis::{CLOCK_REUSE, RedisOptions, RedisStore, RedisTimeouts, RedisTopology};

/// The key prefix used when the configuration names none.
pub const DEFAULT_KEY_PREFIX: &str = "lanyard:";

/// Why a session-store operation failed. Messages never carry stored values, keys'
/// secret parts or credentials: they are safe to log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached (connection refused, timeout, connection dropped).
    /// Callers answer 503.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// The store answered with an error (wrong type of value, bad configuration…).
    #[error("session store error: {0}")]
    Backend(String),
    /// A value could not be encoded to, or decoded from, JSON.
    #[error("session store value could not be (de)serialized: {0}")]
    Codec(String),
}

/// A key-value store with TTLs, shared by every Lanyard instance that points at it.
///
/// Keys passed in are relative: the store adds its prefix. Build them with the
/// [`keyspace`]. TTLs shorter than the store's resolution are rounded up (to 1 ms in Redis,
/// to whole seconds of the injected clock in memory); a zero TTL counts as the smallest one.
///
/// An implementation carries out one [`Op`] at a time ([`SessionStore::run`]); the other
/// methods are the typed ways to ask for each, provided once here, so a decorator (such as
/// [`ObservedStore`]) wraps `run` alone and never misses an operation.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Carries out `op`, answering with the [`Answer`] variant its documentation names.
    async fn run(&self, op: Op<'_>) -> Result<Answer, StoreError>;

    /// `"memory"` or `"redis"`.
    fn kind(&self) -> &'static str;

    /// Stores `value` under `key` for `ttl`, replacing any previous value.
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let if_absent = false;
        let op = Op::Put {
            key,
            value,
            ttl,
            if_absent,
        };
        self.run(op).await?.stored().map(drop)
    }

    /// Stores `value` under `key` for `ttl` only if `key` holds nothing (Redis `SET NX`).
    /// Returns whether it was stored. Used to detect replayed assertion ids.
    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let if_absent = true;
        self.run(Op::Put {
            key,
            value,
            ttl,
            if_absent,
        })
        .await?
        .stored()
    }

    /// The value under `key`, if any and not expired.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(Op::Get { key }).await?.value()
    }

    /// Atomically reads and deletes the value under `key` (Redis `GETDEL`): of any number
    /// of concurrent takers exactly one gets `Some`. For single-use items.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(Op::Take {
            key,
            tombstone: None,
            head: None,
        })
        .await?
        .value()
    }

    /// [`SessionStore::take`] that, in the same atomic step, leaves a copy of the taken
    /// value under `tombstone` for `ttl` (nothing is written when `key` held nothing).
    ///
    /// For single-use items whose reuse must be recognised (codes, refresh tokens): a
    /// concurrent second user either takes the value or finds the tombstone, never
    /// neither, so reuse detection works under races exactly as it does in sequence.
    async fn take_leaving(
        &self,
        key: &str,
        tombstone: &str,
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let tombstone = Some((tombstone, ttl));
        let head = None;
        self.run(Op::Take {
            key,
            tombstone,
            head,
        })
        .await?
        .value()
    }

    /// [`SessionStore::take_leaving`] that leaves only the first `head` bytes of the taken
    /// value under `tombstone` (all of it when shorter): for single-use items whose reuse
    /// needs only a little of what they held, written first (a code's tombstone names
    /// its SSO session, not the whole code).
    async fn take_leaving_head(
        &self,
        key: &str,
        tombstone: &str,
        head: usize,
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let tombstone = Some((tombstone, ttl));
        let head = Some(head);
        self.run(Op::Take {
            key,
            tombstone,
            head,
        })
        .await?
        .value()
    }

    /// Stores `value` under `key` like [`SessionStore::put`], except that a key with more
    /// than `ttl` left keeps its longer TTL: for records that something else may need to
    /// outlive their own lifetime ([`SessionStore::extend`]).
    async fn replace(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.run(Op::Replace { key, value, ttl })
            .await?
            .stored()
            .map(drop)
    }

    /// Makes `key` live at least `ttl` from now (a longer TTL it has stays). Returns
    /// `false` when `key` is absent.
    async fn extend(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.run(Op::Extend { key, ttl }).await?.stored()
    }

    /// Atomically deletes `key` only if it still holds exactly `expected` (compare and
    /// delete); returns whether it did. For single-use items that are read and checked
    /// first and taken only if the check passed and nobody took or replaced them since.
    async fn take_if_equal(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
        self.run(Op::TakeIfEqual { key, expected }).await?.stored()
    }

    /// Deletes `key`, whatever it holds; deleting an absent key is not an error.
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.run(Op::Delete { key }).await?.stored().map(drop)
    }

    /// Resets the TTL of `key` to `ttl`. Returns `false` when `key` is absent.
    async fn touch(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.run(Op::Touch { key, ttl }).await?.stored()
    }

    /// Adds one to the counter under `key` and returns the new value. A counter that did
    /// not exist starts at 1 and gets `ttl`; an existing one keeps its TTL (a fixed
    /// rate-limit window).
    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        match self.run(Op::Incr { key, ttl }).await? {
            Answer::Count(n) => Ok(n),
            other => Err(other.unexpected()),
        }
    }

    /// Counts one more on each of `counters` in turn, as [`SessionStore::incr`] would (a
    /// new counter gets its `ttl`, an existing one keeps its window), stopping after the
    /// first whose count goes above its `cap`: the counters after it are not counted.
    /// Answers how many were counted within their caps (all of them: none refused). One
    /// round trip to Redis (a script) where the keys share a slot, as outside a cluster;
    /// each counter's step is atomic, the steps together need not be.
    async fn count_within(&self, counters: &[CappedCounter]) -> Result<usize, StoreError> {
        match self.run(Op::CountWithin { counters }).await? {
            Answer::Count(n) => usize::try_from(n).map_err(|_| Answer::Count(n).unexpected()),
            other => Err(other.unexpected()),
        }
    }

    /// Reserves one attempt against every limit in `limits`, atomically (one Redis script,
    /// one critical section in memory): when any limit's lock is held, nothing is counted
    /// and the answer is [`Reservation::Locked`] with that limit's index; otherwise every
    /// counter is raised (starting its window when new) and every limit whose count
    /// reaches its allowance gets its lock, holding `lock_token`, for
    /// [`AttemptLimit::lock_after`]. So of any number of concurrent attempts at most
    /// `allowed` pass before the lock, however they interleave.
    async fn reserve_attempt(
        &self,
        limits: &[AttemptLimit],
        lock_token: &str,
    ) -> Result<Reservation, StoreError> {
        match self.run(Op::ReserveAttempt { limits, lock_token }).await? {
            Answer::Reservation(r) => Ok(r),
            other => Err(other.unexpected()),
        }
    }

    /// Gives back an attempt reserved with `lock_token` that did not fail (a success, or
    /// one never checked): the counter goes down by one (or is deleted when `reset`), and
    /// the lock is deleted only if it still holds `lock_token`, i.e. this reservation set it
    /// and nothing has replaced it since. Atomic like [`SessionStore::reserve_attempt`].
    async fn release_attempt(
        &self,
        limit: &AttemptLimit,
        lock_token: &str,
        reset: bool,
    ) -> Result<(), StoreError> {
        let op = Op::ReleaseAttempt {
            limit,
            lock_token,
            reset,
        };
        self.run(op).await?.stored().map(drop)
    }

    /// Adds `member` to the set under `key` and resets the set's TTL to `ttl`.
    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> Result<(), StoreError> {
        self.run(Op::SetAdd { key, member, ttl })
            .await?
            .stored()
            .map(drop)
    }

    /// The members of the set under `key`, sorted; empty when absent.
    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        match self.run(Op::SetMembers { key }).await? {
            Answer::Members(m) => Ok(m),
            other => Err(other.unexpected()),
        }
    }

    /// Sets `field` of the hash under `key` to `value`, and makes the hash live at least
    /// `ttl` from now (a longer TTL it has stays: a field written later never shortens
    /// the life of one written before).
    async fn hash_set(
        &self,
        key: &str,
        field: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.run(Op::HashSet {
            key,
            field,
            value,
            ttl,
        })
        .await?
        .stored()
        .map(drop)
    }

    /// Replaces `field` of the hash under `key` with `value` only if it is there and
    /// holds `expected` (any value when `expected` is `None`), atomically (compare and
    /// set); answers what the field held, so the swap took place exactly when that is
    /// `expected`. The hash's TTL is left as it is. For a single-use item kept as a field
    /// (a family's current refresh token): like [`SessionStore::take`], a swap Lanyard gave
    /// up waiting for changes nothing when a stalled Redis runs it later.
    async fn hash_swap(
        &self,
        key: &str,
        field: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<Option<String>, StoreError> {
        let op = Op::HashSwap {
            key,
            field,
            expected,
            value,
        };
        let held = self.run(op).await?.value()?;
        held.map(|v| {
            String::from_utf8(v)
                .map_err(|_| StoreError::Codec("a hash field is not UTF-8".to_owned()))
        })
        .transpose()
    }

    /// The fields of the hash under `key` with their values, sorted by field; empty when
    /// absent.
    async fn hash_fields(&self, key: &str) -> Result<Vec<(String, String)>, StoreError> {
        match self.run(Op::HashFields { key }).await? {
            Answer::Fields(f) => Ok(f),
            other => Err(other.unexpected()),
        }
    }

    /// The value under `key` and the fields of the hash `hash`, read together (one round
    /// trip): a record and the marks that may refuse it (see `keyspace::REVOKED_BEFORE`).
    async fn get_with_fields(
        &self,
        key: &str,
        hash: &str,
    ) -> Result<(Option<Vec<u8>>, Vec<(String, String)>), StoreError> {
        match self.run(Op::GetWithFields { key, hash }).await? {
            Answer::ValueAndFields(value, fields) => Ok((value, fields)),
            other => Err(other.unexpected()),
        }
    }

    /// One page of a walk over the keys that start with `prefix` (without the store's own
    /// prefix), for listing records no index leads to (the admin API's sessions). Start
    /// with `cursor` `None` and pass each page's [`ScanPage::next`] back until it is `None`;
    /// a page looks at about `count` keys (Redis `SCAN`'s hint: it may give fewer or
    /// more, and some pages none). Keys present for the whole walk are seen at least
    /// once; keys written or expiring during it may or may not be. In a Redis Cluster the
    /// walk visits every master in turn.
    async fn scan(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        count: u32,
    ) -> Result<ScanPage, StoreError> {
        match self
            .run(Op::Scan {
                prefix,
                cursor,
                count,
            })
            .await?
        {
            Answer::Page(page) => Ok(page),
            other => Err(other.unexpected()),
        }
    }

    /// Carries out `steps` in order, each as its typed method would (a [`Step::Put`] as
    /// [`SessionStore::put`], …), in one round trip: for the records one request writes
    /// together (a parked request and its login transaction; a role session, its SSO
    /// session's longer life and its entry in what that session issued). Answers one entry
    /// per step: what a [`Step::Get`] read, `None` for the others.
    ///
    /// In Redis the steps are one `MULTI`/`EXEC` transaction, so no other client's command
    /// runs between them, where their keys share a slot (always, outside a cluster); in a
    /// cluster with keys in different slots they run one at a time, in order, as separate
    /// calls would. Either way a later step sees what the earlier ones wrote; a step that
    /// fails (a key holding another kind of value) fails the batch without undoing the
    /// steps before it, as separate calls would.
    async fn batch(&self, steps: &[Step<'_>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        match self.run(Op::Batch { steps }).await? {
            Answer::Values(values) if values.len() == steps.len() => Ok(values),
            other => Err(other.unexpected()),
        }
    }

    /// Checks that the store answers (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(Op::Ping).await?.stored().map(drop)
    }
}

/// One operation of a [`SessionStore`], as [`SessionStore::run`] takes it. Each variant
/// documents its meaning at the typed method of the same name and the [`Answer`] it gets.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum Op<'a> {
    /// [`SessionStore::put`] (answer [`Answer::Stored`]`(true)`), or
    /// [`SessionStore::put_if_absent`] when `if_absent` (whether it was stored).
    Put {
        /// The key.
        key: &'a str,
        /// The value.
        value: &'a [u8],
        /// Its lifetime.
        ttl: Duration,
        /// Store only if the key holds nothing.
        if_absent: bool,
    },
    /// [`SessionStore::get`]: [`Answer::Value`].
    Get {
        /// The key.
        key: &'a str,
    },
    /// [`SessionStore::take`], or [`SessionStore::take_leaving`] with a tombstone key and
    /// its TTL: [`Answer::Value`].
    Take {
        /// The key.
        key: &'a str,
        /// Where to leave a copy of the taken value, and for how long.
        tombstone: Option<(&'a str, Duration)>,
        /// How much of the value to leave under the tombstone, from its start, instead of
        /// all of it ([`SessionStore::take_leaving_head`]).
        head: Option<usize>,
    },
    /// [`SessionStore::replace`]: [`Answer::Stored`]`(true)`.
    Replace {
        /// The key.
        key: &'a str,
        /// The value.
        value: &'a [u8],
        /// Its lifetime, unless the key has longer left.
        ttl: Duration,
    },
    /// [`SessionStore::extend`]: [`Answer::Stored`] (whether the key was there).
    Extend {
        /// The key.
        key: &'a str,
        /// The shortest lifetime it is left with.
        ttl: Duration,
    },
    /// [`SessionStore::take_if_equal`]: [`Answer::Stored`] (whether it was taken).
    TakeIfEqual {
        /// The key.
        key: &'a str,
        /// The value it must still hold.
        expected: &'a [u8],
    },
    /// [`SessionStore::delete`]: [`Answer::Stored`]`(true)`.
    Delete {
        /// The key.
        key: &'a str,
    },
    /// [`SessionStore::touch`]: [`Answer::Stored`] (whether the key was there).
    Touch {
        /// The key.
        key: &'a str,
        /// The new lifetime.
        ttl: Duration,
    },
    /// [`SessionStore::incr`]: [`Answer::Count`].
    Incr {
        /// The key.
        key: &'a str,
        /// The lifetime of a new counter.
        ttl: Duration,
    },
    /// [`SessionStore::count_within`]: [`Answer::Count`] (how many were counted within
    /// their caps).
    CountWithin {
        /// The counters, in order.
        counters: &'a [CappedCounter],
    },
    /// [`SessionStore::reserve_attempt`]: [`Answer::Reservation`].
    ReserveAttempt {
        /// The limits, in order.
        limits: &'a [AttemptLimit],
        /// What a lock set by this reservation holds.
        lock_token: &'a str,
    },
    /// [`SessionStore::release_attempt`]: [`Answer::Stored`]`(true)`.
    ReleaseAttempt {
        /// The limit.
        limit: &'a AttemptLimit,
        /// The token of the reservation given back.
        lock_token: &'a str,
        /// Delete the counter instead of counting down.
        reset: bool,
    },
    /// [`SessionStore::set_add`]: [`Answer::Stored`]`(true)`.
    SetAdd {
        /// The key.
        key: &'a str,
        /// The member.
        member: &'a str,
        /// The set's new lifetime.
        ttl: Duration,
    },
    /// [`SessionStore::set_members`]: [`Answer::Members`].
    SetMembers {
        /// The key.
        key: &'a str,
    },
    /// [`SessionStore::hash_set`]: [`Answer::Stored`]`(true)`.
    HashSet {
        /// The key.
        key: &'a str,
        /// The field.
        field: &'a str,
        /// Its value.
        value: &'a str,
        /// The shortest lifetime the hash is left with.
        ttl: Duration,
    },
    /// [`SessionStore::hash_swap`]: [`Answer::Value`] (what the field held).
    HashSwap {
        /// The key.
        key: &'a str,
        /// The field.
        field: &'a str,
        /// What the field must hold for the swap (`None`: anything, but it must be there).
        expected: Option<&'a str>,
        /// Its new value.
        value: &'a str,
    },
    /// [`SessionStore::hash_fields`]: [`Answer::Fields`].
    HashFields {
        /// The key.
        key: &'a str,
    },
    /// [`SessionStore::get_with_fields`]: [`Answer::ValueAndFields`].
    GetWithFields {
        /// The key of the value.
        key: &'a str,
        /// The key of the hash.
        hash: &'a str,
    },
    /// [`SessionStore::scan`]: [`Answer::Page`].
    Scan {
        /// What the keys start with (without the store's prefix).
        prefix: &'a str,
        /// Where the walk stands (`None`: at its start).
        cursor: Option<&'a str>,
        /// About how many keys to look at.
        count: u32,
    },
    /// [`SessionStore::batch`]: [`Answer::Values`], one per step.
    Batch {
        /// The steps, in order.
        steps: &'a [Step<'a>],
    },
    /// [`SessionStore::ping`]: [`Answer::Stored`]`(true)`.
    Ping,
}

impl Op<'_> {
    /// The name of the typed method this operation is (for metrics and logs).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Put {
                if_absent: false, ..
            } => "put",
            Op::Put {
                if_absent: true, ..
            } => "put_if_absent",
            Op::Get { .. } => "get",
            Op::Take {
                tombstone: None, ..
            } => "take",
            Op::Take {
                tombstone: Some(_),
                head: None,
                ..
            } => "take_leaving",
            Op::Take {
                tombstone: Some(_),
                head: Some(_),
                ..
            } => "take_leaving_head",
            Op::Replace { .. } => "replace",
            Op::Extend { .. } => "extend",
            Op::HashSet { .. } => "hash_set",
            Op::HashSwap { .. } => "hash_swap",
            Op::HashFields { .. } => "hash_fields",
            Op::TakeIfEqual { .. } => "take_if_equal",
            Op::Delete { .. } => "delete",
            Op::Touch { .. } => "touch",
            Op::Incr { .. } => "incr",
            Op::CountWithin { .. } => "count_within",
            Op::ReserveAttempt { .. } => "reserve_attempt",
            Op::ReleaseAttempt { .. } => "release_attempt",
            Op::SetAdd { .. } => "set_add",
            Op::SetMembers { .. } => "set_members",
            Op::Scan { .. } => "scan",
            Op::GetWithFields { .. } => "get_with_fields",
            Op::Batch { .. } => "batch",
            Op::Ping => "ping",
        }
    }
}

impl std::fmt::Debug for Op<'_> {
    /// The operation's name only: values and keys may carry what they protect.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Op").field(&self.name()).finish()
    }
}

/// What a [`SessionStore::run`] answers; which variant depends on the [`Op`].
#[non_exhaustive]
pub enum Answer {
    /// Whether the operation took effect (`true` for one that always does).
    Stored(bool),
    /// A value read (or taken), if there was one.
    Value(Option<Vec<u8>>),
    /// A counter's new value.
    Count(i64),
    /// The outcome of a reservation.
    Reservation(Reservation),
    /// A set's members, sorted.
    Members(Vec<String>),
    /// A hash's fields and values, sorted by field.
    Fields(Vec<(String, String)>),
    /// A page of a key walk.
    Page(ScanPage),
    /// A value (if any) and a hash's fields, sorted by field.
    ValueAndFields(Option<Vec<u8>>, Vec<(String, String)>),
    /// One entry per step of a batch: the value a read step found, `None` for the others.
    Values(Vec<Option<Vec<u8>>>),
}

/// One page of [`SessionStore::scan`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanPage {
    /// The keys found, without the store's prefix.
    pub keys: Vec<String>,
    /// Where the walk goes on (an opaque string), or `None` when it is over.
    pub next: Option<String>,
}

/// One step of [`SessionStore::batch`]: what the typed method of the same name does.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum Step<'a> {
    /// [`SessionStore::put`].
    Put {
        /// The key.
        key: &'a str,
        /// The value.
        value: &'a [u8],
        /// Its lifetime.
        ttl: Duration,
    },
    /// [`SessionStore::extend`] (without saying whether the key was there).
    Extend {
        /// The key.
        key: &'a str,
        /// The shortest lifetime it is left with.
        ttl: Duration,
    },
    /// [`SessionStore::hash_set`].
    HashSet {
        /// The key.
        key: &'a str,
        /// The field.
        field: &'a str,
        /// Its value.
        value: &'a str,
        /// The shortest lifetime the hash is left with.
        ttl: Duration,
    },
    /// [`SessionStore::get`]: its value is the step's entry in the answer.
    Get {
        /// The key.
        key: &'a str,
    },
}

impl<'a> Step<'a> {
    /// The key the step is about.
    pub fn key(&self) -> &'a str {
        match *self {
            Step::Put { key, .. }
            | Step::Extend { key, .. }
            | Step::HashSet { key, .. }
            | Step::Get { key } => key,
        }
    }

    /// The step as an operation of its own (what a store without batches runs).
    pub fn op(&self) -> Op<'a> {
        match *self {
            Step::Put { key, value, ttl } => Op::Put {
                key,
                value,
                ttl,
                if_absent: false,
            },
            Step::Extend { key, ttl } => Op::Extend { key, ttl },
            Step::HashSet {
                key,
                field,
                value,
                ttl,
            } => Op::HashSet {
                key,
                field,
                value,
                ttl,
            },
            Step::Get { key } => Op::Get { key },
        }
    }
}

impl std::fmt::Debug for Step<'_> {
    /// The step's name only: values and keys may carry what they protect.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Step").field(&self.op().name()).finish()
    }
}

/// A record made by one layer and stored by another, together with its own records in one
/// [`SessionStore::batch`] (a parked authorization request, stored with the login
/// transaction of the sign-in it waits for). No `Debug` of its value: it may be a secret.
#[derive(Clone)]
pub struct PendingPut {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Vec<u8>,
    /// Its lifetime.
    pub ttl: Duration,
}

impl PendingPut {
    /// The record as JSON under `key` for `ttl`.
    pub fn json<T: Serialize + ?Sized>(
        key: String,
        value: &T,
        ttl: Duration,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            key,
            value: encode(value)?,
            ttl,
        })
    }

    /// The step that stores it.
    pub fn step(&self) -> Step<'_> {
        Step::Put {
            key: &self.key,
            value: &self.value,
            ttl: self.ttl,
        }
    }
}

impl std::fmt::Debug for PendingPut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingPut")
            .field("bytes", &self.value.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Answer {
    /// Never a value: stored values may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Stored(done) => f.debug_tuple("Stored").field(done).finish(),
            Answer::Value(v) => f
                .debug_tuple("Value")
                .field(&v.as_ref().map(Vec::len))
                .finish(),
            Answer::Count(n) => f.debug_tuple("Count").field(n).finish(),
            Answer::Reservation(r) => f.debug_tuple("Reservation").field(r).finish(),
            Answer::Members(m) => f.debug_tuple("Members").field(&m.len()).finish(),
            Answer::Fields(m) => f.debug_tuple("Fields").field(&m.len()).finish(),
            Answer::Page(p) => f.debug_tuple("Page").field(&p.keys.len()).finish(),
            Answer::ValueAndFields(v, m) => f
                .debug_tuple("ValueAndFields")
                .field(&v.as_ref().map(Vec::len))
                .field(&m.len())
                .finish(),
            Answer::Values(v) => f.debug_tuple("Values").field(&v.len()).finish(),
        }
    }
}

impl Answer {
    fn stored(self) -> Result<bool, StoreError> {
        match self {
            Answer::Stored(done) => Ok(done),
            other => Err(other.unexpected()),
        }
    }

    fn value(self) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Answer::Value(v) => Ok(v),
            other => Err(other.unexpected()),
        }
    }

    /// The error for an answer of the wrong kind (a store implementation's bug).
    fn unexpected(&self) -> StoreError {
        StoreError::Backend(format!("the store answered {self:?} to another operation"))
    }
}

/// One limit an attempt counts against (see [`SessionStore::reserve_attempt`]): a counter
/// with a fixed window, and a lock that holds once the count reaches `allowed`, for
/// `lockout` doubling with each further attempt up to `max_lockout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLimit {
    /// The counter's key.
    pub counter: String,
    /// The lock's key.
    pub lock: String,
    /// Attempts within `window` that reach the lock.
    pub allowed: u32,
    /// How long the counter lives, from its first attempt.
    pub window: Duration,
    /// The first lock.
    pub lockout: Duration,
    /// The longest lock.
    pub max_lockout: Duration,
}

impl AttemptLimit {
    /// The lock set by the `n`th attempt: none before the `allowed`th, then `lockout`,
    /// doubling with each further attempt, up to `max_lockout`.
    pub fn lock_after(&self, n: i64) -> Option<Duration> {
        let over = n - i64::from(self.allowed);
        if over < 0 {
            return None;
        }
        let factor = 1u32
            .checked_shl(u32::try_from(over.min(31)).unwrap_or(31))
            .unwrap_or(u32::MAX);
        Some(
            self.lockout
                .checked_mul(factor)
                .unwrap_or(self.max_lockout)
                .min(self.max_lockout),
        )
    }
}

/// The answer to [`SessionStore::reserve_attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// No lock held: the attempt may be checked. One entry per limit, in order.
    Granted(Vec<Reserved>),
    /// The lock of the limit at this index holds; nothing was counted.
    Locked(usize),
}

/// One limit's state after a granted reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    /// The count, this attempt included.
    pub count: i64,
    /// The lock this attempt set, if its count reached the allowance.
    pub lock: Option<Duration>,
}

/// The part of a counter's key naming a client address: an IPv4 address itself, an IPv6
/// address by its /64, the smallest network a site is usually given (so one client cannot
/// walk its 2^64 addresses to escape a per-address limit).
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let net = ipnet::Ipv6Net::new(v6, 64).map_or(v6, |n| n.network());
            format!("{net}/64")
        }
    }
}

/// One counter of [`SessionStore::count_within`]: its key, the count above which it
/// refuses, and the lifetime it starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CappedCounter {
    /// The counter's key.
    pub key: String,
    /// The highest count it admits.
    pub cap: i64,
    /// The lifetime of a new counter (its window).
    pub ttl: Duration,
}

/// A cap on records anonymous clients can make Lanyard park (login transactions,
/// authorization requests): so many per client address, and so many in all, started
/// within `window` (the records' lifetime, so at most twice the cap are ever alive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkingCap {
    /// What is counted, in the counters' keys (`login`, `authz`).
    pub kind: &'static str,
    /// Records one client address may start within `window`.
    pub per_address: u32,
    /// Records all clients together may start within `window`.
    pub total: u32,
    /// The window: the records' lifetime.
    pub window: Duration,
}

impl ParkingCap {
    /// Counts one more record for `address` and in total; `false` (nothing parked, the
    /// caller answers 429) when either cap is reached. A request without a known address
    /// counts against the total only.
    pub async fn admit(
        &self,
        store: &dyn SessionStore,
        address: Option<IpAddr>,
    ) -> Result<bool, StoreError> {
        Ok(ParkingCap::admit_all(&[self], store, address)
            .await?
            .is_none())
    }

    /// [`ParkingCap::admit`] for each of `caps` in turn, in one round trip to the store
    /// where it can: `None` when every cap admitted the record, else the first cap that
    /// refused (nothing after it is counted).
    pub async fn admit_all<'c>(
        caps: &[&'c ParkingCap],
        store: &dyn SessionStore,
        address: Option<IpAddr>,
    ) -> Result<Option<&'c ParkingCap>, StoreError> {
        let address = address.map(address_key);
        let mut counters = Vec::with_capacity(2 * caps.len());
        let mut owners = Vec::with_capacity(2 * caps.len());
        for &cap in caps {
            if let Some(address) = &address {
                counters.push(CappedCounter {
                    key: keyspace::PARKING_CAP.key([cap.kind, address]),
                    cap: i64::from(cap.per_address),
                    ttl: cap.window,
                });
                owners.push(cap);
            }
            counters.push(CappedCounter {
                key: keyspace::PARKING_CAP.key([cap.kind, "all"]),
                cap: i64::from(cap.total),
                ttl: cap.window,
            });
            owners.push(cap);
        }
        let within = store.count_within(&counters).await?;
        Ok(owners.get(within).copied())
    }
}

/// A fresh 256-bit random identifier from the operating system's CSPRNG (through
/// aws-lc-rs), base64url without padding (43 characters): for session ids, `state`,
/// `nonce` and CSRF tokens.
///
/// If the CSPRNG ever fails the process aborts, as AWS-LC itself does: an identifier
/// that might be guessable must never be handed out.
pub fn random_id() -> Secret {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    if aws_lc_rs::rand::fill(bytes.as_mut_slice()).is_err() {
        tracing::error!("the system random number generator failed; aborting");
        std::process::abort();
    }
    Secret::new(URL_SAFE_NO_PAD.encode(bytes.as_slice()))
}

/// SHA-256 of `value`, base64url without padding: the store key of anything whose value is
/// a bearer secret (cookies, codes, refresh tokens), so a copy of the store yields none of
/// them; also the PKCE S256 transform (RFC 7636 §4.2).
pub fn digest(value: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

/// Stores `value` as JSON under `key` for `ttl` (see [`SessionStore::put`]).
pub async fn put_json<S, T>(
    store: &S,
    key: &str,
    value: &T,
    ttl: Duration,
) -> Result<(), StoreError>
where
    S: SessionStore + ?Sized,
    T: Serialize + ?Sized,
{
    let bytes = encode(value)?;
    store.put(key, &bytes, ttl).await
}

/// Stores `value` as JSON under `key` for `ttl` unless `key` holds something (see
/// [`SessionStore::put_if_absent`]).
pub async fn put_json_if_absent<S, T>(
    store: &S,
    key: &str,
    value: &T,
    ttl: Duration,
) -> Result<bool, StoreError>
where
    S: SessionStore + ?Sized,
    T: Serialize + ?Sized,
{
    let bytes = encode(value)?;
    store.put_if_absent(key, &bytes, ttl).await
}

/// Reads the JSON value under `key` (see [`SessionStore::get`]).
pub async fn get_json<S, T>(store: &S, key: &str) -> Result<Option<T>, StoreError>
where
    S: SessionStore + ?Sized,
    T: DeserializeOwned,
{
    store.get(key).await?.as_deref().map(decode).transpose()
}

/// Atomically reads and deletes the JSON value under `key` (see [`SessionStore::take`]).
pub async fn take_json<S, T>(store: &S, key: &str) -> Result<Option<T>, StoreError>
where
    S: SessionStore + ?Sized,
    T: DeserializeOwned,
{
    store.take(key).await?.as_deref().map(decode).transpose()
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, StoreError> {
    // serde_json's encoding errors name the failing type, never the value.
    serde_json::to_vec(value).map_err(|e| StoreError::Codec(e.to_string()))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    // serde_json's decoding messages can quote the offending input, so only the error's
    // category and position are kept.
    serde_json::from_slice(bytes).map_err(|e| {
        StoreError::Codec(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

/// A TTL in whole milliseconds, at least 1.
fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
