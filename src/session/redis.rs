//! The Redis session store, shared by every Lanyard instance pointing at one Redis.
//!
//! One multiplexed connection through `redis::aio::ConnectionManager`, created lazily so
//! Lanyard starts while Redis is down and reconnects when it comes back. Every operation
//! runs under a deadline, so an outage answers [`StoreError::Unavailable`] within a few
//! seconds instead of hanging a request. TTLs are in milliseconds (`PX`, `PEXPIRE`);
//! compound operations run in `MULTI`/`EXEC` so they are atomic. Needs Redis 7.0 or later
//! (`PEXPIRE … NX`).
//!
//! Single-use items are taken (`take`, `take_leaving`, and the compare-and-delete
//! `take_if_equal`) by Lua scripts that carry a deadline on Redis's own clock, so a take Lanyard gave up waiting for (and answered "try again")
//! changes nothing when a stalled Redis runs it later:
//!
//! 1. Lanyard reads Redis's clock (`TIME`, an idempotent read): `r0`, answered at local
//!    instant `t1`. Since `r0` was read no later than `t1`, at any later local instant `t`
//!    Redis's clock shows at least `r0 + (t - t1)` (both clocks tick at the same rate
//!    over a few seconds; no offset between them is ever needed).
//! 2. It sends the script with the deadline `D = r0 + response/2` and waits for the answer
//!    until `t1 + response`, then gives up.
//! 3. The script reads `TIME` itself and does nothing (answers "late") when past `D`. A
//!    script that does run therefore runs before local `t1 + response/2`, and its answer
//!    has the other half of the response timeout to arrive before Lanyard gives up.
//!
//! If `TIME` itself stalls, the script is never sent. Idempotent reads (`GET`,
//! `SMEMBERS`, `PING`, `TIME`) that fail because the connection broke (Redis restarted)
//! are retried once on the new connection; writes never are.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, RedisError};

use super::{
    Answer, AttemptLimit, Op, Reservation, Reserved, SessionStore, StoreError, ttl_millis,
};

/// [`SessionStore::reserve_attempt`] as one script, so Redis runs it atomically.
/// KEYS: counter and lock of each limit, in turn. ARGV: the lock token, then per limit
/// allowed, window, lockout and longest lockout (milliseconds). Answers `{-i}` when the
/// lock of limit `i` (1-based) holds, else the count and lock (ms, 0 for none) of each.
const RESERVE_SCRIPT: &str = r"
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i + 1]) == 1 then
    return {-((i + 1) / 2)}
  end
end
for i = 1, #KEYS, 2 do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'none' and t ~= 'string' then
    return redis.error_reply('WRONGTYPE counter')
  end
end
local out = {}
for i = 1, #KEYS, 2 do
  local a = 2 + (i - 1) * 2
  local allowed = tonumber(ARGV[a])
  local n = redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[a + 1], 'NX')
  local ms = 0
  if n >= allowed then
    local over = math.min(n - allowed, 31)
    ms = math.max(1, math.floor(math.min(tonumber(ARGV[a + 2]) * 2 ^ over, tonumber(ARGV[a + 3]))))
    redis.call('SET', KEYS[i + 1], ARGV[1], 'PX', ms)
  end
  out[#out + 1] = n
  out[#out + 1] = ms
end
return out
";

/// [`SessionStore::take_if_equal`], with the deadline of the module documentation.
/// KEYS: the key. ARGV: the deadline in microseconds of Redis's clock, the expected value.
/// Answers 1 (taken), 0 (absent or different) or `-1` when past the deadline, having
/// changed nothing.
static TAKE_IF_EQUAL_SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
if tonumber(t[1]) * 1000000 + tonumber(t[2]) > tonumber(ARGV[1]) then
  return -1
end
if redis.call('GET', KEYS[1]) == ARGV[2] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// [`SessionStore::release_attempt`]. KEYS: counter, lock. ARGV: lock token, reset (0/1).
const RELEASE_SCRIPT: &str = r"
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1])
elseif tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  redis.call('DECR', KEYS[1])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return 1
";

/// How long the Redis store waits before calling Redis unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisTimeouts {
    /// How long one attempt to open a connection may take.
    pub connect: Duration,
    /// How long Redis may take to answer one command (or one pipeline).
    pub response: Duration,
}

impl Default for RedisTimeouts {
    /// 2 s to connect, 2 s for an answer.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(2),
            response: Duration::from_secs(2),
        }
    }
}

impl RedisTimeouts {
    /// The deadline of one whole store operation: connecting (with one retry) and the
    /// answer. An operation that misses it fails with [`StoreError::Unavailable`].
    pub fn operation(&self) -> Duration {
        self.connect
            .saturating_mul(2)
            .saturating_add(self.response)
            .saturating_add(Duration::from_millis(100))
    }
}

/// The Redis-backed [`SessionStore`]. Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    timeouts: RedisTimeouts,
}

impl RedisStore {
    /// A store for the Redis at `url` (`redis://[user:password@]host:port[/db]`, or
    /// `rediss://`… when the build has TLS), whose keys all start with `prefix`.
    ///
    /// Does not connect: the connection is opened on first use and reopened after a
    /// failure, so this succeeds while Redis is down. Must be called inside a Tokio
    /// runtime. Fails only on a URL that cannot be parsed (the message never repeats the
    /// URL, which may hold a password) or outside a runtime.
    pub fn connect(url: &str, prefix: &str, timeouts: RedisTimeouts) -> Result<Self, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Backend(
                "the Redis store must be created inside a Tokio runtime".to_owned(),
            ));
        }
        let client = redis::Client::open(url)
            .map_err(|_| StoreError::Backend("the Redis URL is not valid".to_owned()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeouts.connect))
            .set_response_timeout(Some(timeouts.response))
            // One quick retry per connection attempt; later failures reconnect on use.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| map_error(&e))?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            timeouts,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Runs one command under the operation deadline.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        self.deadline(async move { cmd.query_async(&mut conn).await })
            .await
    }

    /// Runs one idempotent read under the operation deadline, once more if the connection
    /// was found broken (a restarted Redis): the connection manager reconnects on that
    /// failure, so the second attempt goes over a fresh connection.
    async fn read<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        self.deadline(async move {
            match cmd.query_async(&mut conn).await {
                Err(e) if is_broken_connection(&e) => cmd.query_async(&mut conn).await,
                other => other,
            }
        })
        .await
    }

    /// Takes `key` (and leaves a copy under `tombstone`) with the deadline script; see the
    /// module documentation.
    async fn take_before_deadline(
        &self,
        key: &str,
        tombstone: Option<(&str, Duration)>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut keys = vec![self.key(key)];
        let ttl = match tombstone {
            Some((tombstone, ttl)) => {
                keys.push(self.key(tombstone));
                ttl_millis(ttl)
            }
            None => 0,
        };
        let answer = self
            .before_deadline(&TAKE_SCRIPT, &keys, &ttl.to_string().into_bytes())
            .await?;
        match answer {
            redis::Value::Nil => Ok(None),
            redis::Value::BulkString(bytes) => Ok(Some(bytes)),
            _ => Err(StoreError::Backend(
                "unexpected answer from the take script".to_owned(),
            )),
        }
    }

    /// Runs a single-use script under the deadline protocol of the module documentation:
    /// reads Redis's clock, passes the deadline (that reading plus half the response
    /// timeout, in microseconds) as the script's first argument and `arg` as its second,
    /// and gives up a response timeout after the reading. A script that answers
    /// [`LATE`] ran past its deadline and changed nothing: that, like giving up, is
    /// [`StoreError::Unavailable`], and the item stays usable.
    async fn before_deadline(
        &self,
        script: &redis::Script,
        keys: &[String],
        arg: &[u8],
    ) -> Result<redis::Value, StoreError> {
        let (secs, micros): (u64, u64) = self.read(&redis::cmd("TIME")).await?;
        let read_at = tokio::time::Instant::now();
        let budget = self.timeouts.response;
        let deadline = secs
            .saturating_mul(1_000_000)
            .saturating_add(micros)
            .saturating_add(u64::try_from((budget / 2).as_micros()).unwrap_or(u64::MAX));
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        invocation.arg(deadline).arg(arg);
        let mut conn = self.conn.clone();
        let answer =
            tokio::time::timeout_at(read_at + budget, invocation.invoke_async(&mut conn)).await;
        let late = || {
            StoreError::Unavailable(format!(
                "Redis did not take the item within {} ms",
                budget.as_millis()
            ))
        };
        match answer {
            Err(_) => Err(late()),
            Ok(Err(e)) => Err(map_error(&e)),
            Ok(Ok(redis::Value::Int(LATE))) => Err(late()),
            Ok(Ok(value)) => Ok(value),
        }
    }

    /// Runs a `MULTI`/`EXEC` transaction under the operation deadline.
    async fn transaction<T: FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        self.deadline(async move { pipe.query_async(&mut conn).await })
            .await
    }

    async fn deadline<T>(
        &self,
        fut: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeouts.operation(), fut).await {
            Ok(result) => result.map_err(|e| map_error(&e)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer from Redis within {} ms",
                self.timeouts.operation().as_millis()
            ))),
        }
    }

    /// Deletes every key under this store's prefix (`SCAN` + `DEL`): for tests.
    #[cfg(test)]
    pub(crate) async fn purge_prefix(&self) -> Result<(), StoreError> {
        let pattern = format!("{}*", self.prefix);
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000),
                )
                .await?;
            if !keys.is_empty() {
                self.query::<()>(redis::cmd("DEL").arg(&keys)).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: never shown.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

/// What the take script answers when it runs after its deadline.
const LATE: i64 = -1;

/// `KEYS[1]`: the item; `KEYS[2]` (optional): where to leave a copy of it. `ARGV[1]`: the
/// deadline in microseconds of Redis's clock; `ARGV[2]`: the copy's TTL in milliseconds.
/// Answers the item (nil when absent) or `-1` when past the deadline, having changed
/// nothing. Lua numbers are doubles: microseconds since the epoch fit exactly (< 2^53).
static TAKE_SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
if tonumber(t[1]) * 1000000 + tonumber(t[2]) > tonumber(ARGV[1]) then
  return -1
end
local v = redis.call('GETDEL', KEYS[1])
if v and KEYS[2] then
  redis.call('SET', KEYS[2], v, 'PX', ARGV[2])
end
return v
",
    )
});

/// Whether a command failed because the connection broke (worth one retry of a read).
fn is_broken_connection(e: &RedisError) -> bool {
    (e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal()) && !e.is_timeout()
}

/// Maps a Redis error to a [`StoreError`] without copying any text that could quote a
/// stored value: only the error's category and server code are kept.
fn map_error(e: &RedisError) -> StoreError {
    if e.is_io_error() || e.is_timeout() || e.is_connection_refusal() || e.is_connection_dropped() {
        let what = if e.is_connection_refusal() {
            "connection refused"
        } else if e.is_timeout() {
            "timed out"
        } else {
            "connection failed"
        };
        return StoreError::Unavailable(format!("Redis {what}"));
    }
    match e.code() {
        Some(code) => StoreError::Backend(format!("Redis {} ({code})", e.category())),
        None => StoreError::Backend(format!("Redis {}", e.category())),
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn run(&self, op: Op<'_>) -> Result<Answer, StoreError> {
        match op {
            Op::Put {
                key,
                value,
                ttl,
                if_absent,
            } => {
                let mut cmd = redis::cmd("SET");
                cmd.arg(self.key(key))
                    .arg(value)
                    .arg("PX")
                    .arg(ttl_millis(ttl));
                if if_absent {
                    cmd.arg("NX");
                }
                let stored: Option<String> = self.query(&cmd).await?;
                Ok(Answer::Stored(stored.is_some()))
            }
            Op::Get { key } => self
                .read(redis::cmd("GET").arg(self.key(key)))
                .await
                .map(Answer::Value),
            Op::Take { key, tombstone } => self
                .take_before_deadline(key, tombstone)
                .await
                .map(Answer::Value),
            Op::TakeIfEqual { key, expected } => match self
                .before_deadline(&TAKE_IF_EQUAL_SCRIPT, &[self.key(key)], expected)
                .await?
            {
                redis::Value::Int(deleted) => Ok(Answer::Stored(deleted == 1)),
                _ => Err(StoreError::Backend(
                    "unexpected answer from the take script".to_owned(),
                )),
            },
            Op::Delete { key } => {
                let mut cmd = redis::cmd("DEL");
                cmd.arg(self.key(key));
                self.query::<()>(&cmd).await?;
                Ok(Answer::Stored(true))
            }
            Op::Touch { key, ttl } => {
                let mut cmd = redis::cmd("PEXPIRE");
                cmd.arg(self.key(key)).arg(ttl_millis(ttl));
                let set: i64 = self.query(&cmd).await?;
                Ok(Answer::Stored(set == 1))
            }
            Op::Incr { key, ttl } => self.count(key, ttl).await.map(Answer::Count),
            Op::ReserveAttempt { limits, lock_token } => self
                .reserve(limits, lock_token)
                .await
                .map(Answer::Reservation),
            Op::ReleaseAttempt {
                limit,
                lock_token,
                reset,
            } => self
                .release(limit, lock_token, reset)
                .await
                .map(|()| Answer::Stored(true)),
            Op::SetAdd { key, member, ttl } => self
                .add_member(key, member, ttl)
                .await
                .map(|()| Answer::Stored(true)),
            Op::SetMembers { key } => {
                let mut members: Vec<String> =
                    self.read(redis::cmd("SMEMBERS").arg(self.key(key))).await?;
                members.sort_unstable();
                Ok(Answer::Members(members))
            }
            Op::Ping => {
                let answer: String = self.read(&redis::cmd("PING")).await?;
                if answer == "PONG" {
                    Ok(Answer::Stored(true))
                } else {
                    Err(StoreError::Backend("unexpected answer to PING".to_owned()))
                }
            }
        }
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

impl RedisStore {
    async fn count(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        let key = self.key(key);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("INCR")
            .arg(&key)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl_millis(ttl))
            .arg("NX")
            .ignore();
        let (count,): (i64,) = self.transaction(&pipe).await?;
        Ok(count)
    }

    async fn reserve(
        &self,
        limits: &[AttemptLimit],
        token: &str,
    ) -> Result<Reservation, StoreError> {
        if limits.is_empty() {
            return Ok(Reservation::Granted(Vec::new()));
        }
        let script = redis::Script::new(RESERVE_SCRIPT);
        let mut invocation = script.prepare_invoke();
        invocation.arg(token);
        for limit in limits {
            invocation
                .key(self.key(&limit.counter))
                .key(self.key(&limit.lock))
                .arg(limit.allowed)
                .arg(ttl_millis(limit.window))
                .arg(ttl_millis(limit.lockout))
                .arg(ttl_millis(limit.max_lockout));
        }
        let mut conn = self.conn.clone();
        let answer: Vec<i64> = self
            .deadline(async move { invocation.invoke_async(&mut conn).await })
            .await?;
        match answer.as_slice() {
            [locked] if *locked < 0 => usize::try_from(-locked - 1)
                .map(Reservation::Locked)
                .map_err(|_| StoreError::Backend("unexpected answer to a reservation".into())),
            pairs if pairs.len() == 2 * limits.len() => Ok(Reservation::Granted(
                pairs
                    .chunks_exact(2)
                    .map(|pair| Reserved {
                        count: pair[0],
                        lock: (pair[1] > 0).then(|| Duration::from_millis(pair[1].unsigned_abs())),
                    })
                    .collect(),
            )),
            _ => Err(StoreError::Backend(
                "unexpected answer to a reservation".into(),
            )),
        }
    }

    async fn release(
        &self,
        limit: &AttemptLimit,
        token: &str,
        reset: bool,
    ) -> Result<(), StoreError> {
        let script = redis::Script::new(RELEASE_SCRIPT);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.key(&limit.counter))
            .key(self.key(&limit.lock))
            .arg(token)
            .arg(if reset { "1" } else { "0" });
        let mut conn = self.conn.clone();
        self.deadline(async move { invocation.invoke_async::<i64>(&mut conn).await })
            .await
            .map(|_| ())
    }

    async fn add_member(&self, key: &str, member: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = self.key(key);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SADD")
            .arg(&key)
            .arg(member)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl_millis(ttl))
            .ignore();
        self.transaction::<()>(&pipe).await
    }
}
