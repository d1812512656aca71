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
//! The reading of step 1 may be shared: the argument holds for any reading taken before
//! the script is sent, so long as `t1` is the instant *that* reading's answer arrived, and
//! the script is given up on at `t1 + response`. A standalone store keeps its latest
//! reading and reuses it for [`CLOCK_REUSE`] (a tenth of a second at most): under load
//! most takes then cost one round trip instead of two, and a take sent with a reading
//! `a` old still has `response/2 - a` for its script to run. Any error forgets the
//! reading (a reconnection may have reached another server, whose clock is another's).
//! Sentinel and Cluster stores read the clock for every take, as the master may change.
//!
//! If `TIME` itself stalls, the script is never sent. Idempotent reads (`GET`,
//! `SMEMBERS`, `PING`, `TIME`) that fail because the connection broke (Redis restarted)
//! are retried once on the new connection; writes never are.
//!
//! # Topologies ([`RedisTopology`])
//!
//! - **Standalone**: the connection manager above, on one URL (`redis://` or `rediss://`).
//! - **Sentinel**: the sentinels name the master (`SENTINEL MASTERS`, its `ROLE` checked);
//!   one multiplexed connection to it is kept until an error says it may no longer be the
//!   master (connection refused or dropped, a timeout, `READONLY`, or too few replica
//!   acknowledgements), then the next operation asks the sentinels again. The take
//!   scripts' deadline holds as above, except across a failover that lands between the
//!   `TIME` read and the script: then the two clocks are two servers' (NTP-close).
//! - **Cluster**: `redis::cluster_async`, which follows `MOVED`/`ASK` and refreshes the
//!   slot map itself. Every key of one `MULTI`/`EXEC` or script shares a hash tag (see the
//!   [keyspace](super::keyspace)), checked here before sending; the deadline scripts read
//!   `TIME` from the master of their key's slot, so both readings are one server's clock.
//!   A reservation against limits in different slots is one script per limit, in order;
//!   when a later limit is locked, the reservations already made are given back (counter
//!   down, lock deleted if it still holds this token). Each limit alone stays exact (at
//!   most `allowed` attempts pass before its lock), and between the steps a concurrent
//!   attempt can only see *more* counted, never less: a failure midway errs on the side
//!   of refusing.
//!
//! # Acknowledged writes and failover
//!
//! Redis replicates asynchronously: a master that dies right after answering a write may
//! take it with it, and the promoted replica never saw it (a signed-in person is signed
//! out, or, worse, a taken code is usable again). With `replica_acks` set (the default in
//! Sentinel mode), every write is followed, in the same pipeline on the same connection,
//! by `WAIT replica_acks <half the response timeout>`, and is reported done only when that
//! many replicas have it; otherwise the operation fails with
//! [`StoreError::Unavailable`] (the write may or may not survive: the caller answers "try
//! again"). A take whose replication is not confirmed is thus refused although it removed
//! the item on the master: single use errs on the side of "used". Scripts are then sent
//! with `EVAL` (their source) rather than `EVALSHA`, so that the pipeline needs no
//! second round trip for a script cache miss. `WAIT` holds the one shared connection
//! until the replica answers, so writes then cost a replica round trip each (measured on
//! loopback: roughly a sixth to a third of the writes per second without it; reads are
//! unaffected).

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Cmd, FromRedisValue, RedisConnectionInfo, RedisError, RedisFuture,
    TlsCertificates, Value,
};

use super::keyspace::slot;
use super::{
    Answer, AttemptLimit, CappedCounter, Op, Reservation, Reserved, ScanPage, SessionStore, Step,
    StoreError, ttl_millis,
};
use crate::secret::Secret;

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
static TAKE_IF_EQUAL_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(TAKE_IF_EQUAL_SOURCE));

/// The source of [`TAKE_IF_EQUAL_SCRIPT`].
const TAKE_IF_EQUAL_SOURCE: &str = r"
local t = redis.call('TIME')
if tonumber(t[1]) * 1000000 + tonumber(t[2]) > tonumber(ARGV[1]) then
  return -1
end
if redis.call('GET', KEYS[1]) == ARGV[2] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// [`SessionStore::hash_swap`], with the deadline of the module documentation. KEYS: the
/// hash. ARGV: the deadline in microseconds of Redis's clock, the field, its new value,
/// and the value it must hold (none: any). Answers what the field held (nil when absent)
/// or `-1` when past the deadline, having changed nothing.
static HASH_SWAP_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(HASH_SWAP_SOURCE));

/// The source of [`HASH_SWAP_SCRIPT`].
const HASH_SWAP_SOURCE: &str = r"
local t = redis.call('TIME')
if tonumber(t[1]) * 1000000 + tonumber(t[2]) > tonumber(ARGV[1]) then
  return -1
end
local v = redis.call('HGET', KEYS[1], ARGV[2])
if v and (ARGV[4] == nil or v == ARGV[4]) then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
end
return v
";

/// [`SessionStore::count_within`] as one script. KEYS: the counters, in order. ARGV: per
/// counter its cap and the lifetime of a new counter (milliseconds). Counts each as `INCR`
/// and `PEXPIRE … NX` would, stopping after the first above its cap; answers how many were
/// counted within their caps.
const COUNT_WITHIN_SOURCE: &str = r"
for i = 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[2 * i], 'NX')
  if n > tonumber(ARGV[2 * i - 1]) then
    return i - 1
  end
end
return #KEYS
";

/// [`COUNT_WITHIN_SOURCE`], its digest computed once.
static COUNT_WITHIN: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(COUNT_WITHIN_SOURCE));

/// [`RESERVE_SCRIPT`], its digest computed once.
static RESERVE: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(RESERVE_SCRIPT));

/// [`RELEASE_SCRIPT`], its digest computed once.
static RELEASE: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(RELEASE_SCRIPT));

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

/// Where the Redis store's data lives.
pub enum RedisTopology {
    /// One server (or a managed endpoint), `redis://…` or `rediss://…`.
    Standalone {
        /// The URL; may carry a password.
        url: Secret,
    },
    /// A master and its replicas watched by Redis Sentinel.
    Sentinel {
        /// The sentinels' URLs (`redis://[:password@]host:port`, a sentinel's own password).
        sentinels: Vec<Secret>,
        /// The name the sentinels monitor the master under.
        master: String,
        /// The password of the master and replicas, if they ask for one.
        password: Option<Secret>,
    },
    /// A Redis Cluster.
    Cluster {
        /// Some of its nodes' URLs (`redis://` or `rediss://`); the rest is discovered.
        nodes: Vec<Secret>,
        /// The nodes' password, if they ask for one.
        password: Option<Secret>,
    },
}

impl fmt::Debug for RedisTopology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // URLs may carry passwords: only the shape is shown.
        match self {
            RedisTopology::Standalone { .. } => f.write_str("Standalone"),
            RedisTopology::Sentinel {
                sentinels, master, ..
            } => f
                .debug_struct("Sentinel")
                .field("sentinels", &sentinels.len())
                .field("master", master)
                .finish_non_exhaustive(),
            RedisTopology::Cluster { nodes, .. } => f
                .debug_struct("Cluster")
                .field("nodes", &nodes.len())
                .finish_non_exhaustive(),
        }
    }
}

/// How the Redis store talks to its servers, besides where they are.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// Connect and answer timeouts.
    pub timeouts: RedisTimeouts,
    /// A PEM file of CA certificates trusted for `rediss://`, besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Replicas that must hold a write before it counts as done (`WAIT`); 0 for none.
    /// See the module documentation.
    pub replica_acks: u32,
}

/// The Redis-backed [`SessionStore`]. Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct RedisStore {
    backend: Backend,
    prefix: String,
    timeouts: RedisTimeouts,
    replica_acks: u32,
    /// The latest reading of Redis's clock, shared by takes (standalone only; see the
    /// module documentation).
    last_reading: Arc<Mutex<Option<ClockReading>>>,
}

/// How long a reading of Redis's clock is reused by later takes: a tenth of a second, or an
/// eighth of the response timeout when that is shorter.
fn clock_reuse(response: Duration) -> Duration {
    CLOCK_REUSE.min(response / 8)
}

/// The longest a standalone store reuses a reading of Redis's clock (see
/// [`clock_reuse`]).
pub const CLOCK_REUSE: Duration = Duration::from_millis(100);

/// A reading of Redis's clock: what `TIME` answered, in microseconds, and the local instant
/// the answer arrived (`r0` and `t1` of the module documentation).
#[derive(Debug, Clone, Copy)]
struct ClockReading {
    micros: u64,
    at: tokio::time::Instant,
}

/// The connection (or the means to get one) of each topology.
#[derive(Clone)]
enum Backend {
    Standalone(ConnectionManager),
    Sentinel(Arc<SentinelMaster>),
    Cluster(Arc<LazyCluster>),
}

/// One connection of any topology, for one operation.
#[derive(Clone)]
enum Conn {
    Manager(ConnectionManager),
    Master(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Manager(c) => c.req_packed_command(cmd),
            Conn::Master(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Manager(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Master(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Manager(c) => c.get_db(),
            Conn::Master(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// The master a set of sentinels names, and the connection to it while it answers.
struct SentinelMaster {
    sentinel: tokio::sync::Mutex<SentinelClient>,
    current: Mutex<Option<MultiplexedConnection>>,
    config: AsyncConnectionConfig,
}

impl SentinelMaster {
    /// The connection to the master, asking the sentinels which server that is when no
    /// connection is kept.
    async fn connection(&self) -> Result<MultiplexedConnection, RedisError> {
        if let Some(conn) = self.kept() {
            return Ok(conn);
        }
        let mut sentinel = self.sentinel.lock().await;
        if let Some(conn) = self.kept() {
            return Ok(conn);
        }
        let client = sentinel.async_get_client().await?;
        let conn = client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await?;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(conn.clone());
        Ok(conn)
    }

    fn kept(&self) -> Option<MultiplexedConnection> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Drops the kept connection: the next operation asks the sentinels again.
    fn forget(&self) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// A cluster connection, opened on first use (so Lanyard starts while the cluster is
/// down) and then kept: it reconnects to nodes and refreshes its slot map by itself.
struct LazyCluster {
    client: redis::cluster::ClusterClient,
    conn: tokio::sync::OnceCell<ClusterConnection>,
}

impl LazyCluster {
    async fn connection(&self) -> Result<ClusterConnection, RedisError> {
        self.conn
            .get_or_try_init(|| self.client.get_async_connection())
            .await
            .cloned()
    }
}

impl RedisStore {
    /// A store for the Redis at `url` (`redis://[user:password@]host:port[/db]`, or
    /// `rediss://…`), whose keys all start with `prefix`: [`RedisStore::open`] with a
    /// standalone topology and no replica acknowledgements.
    ///
    /// Does not connect: the connection is opened on first use and reopened after a
    /// failure, so this succeeds while Redis is down. Must be called inside a Tokio
    /// runtime. Fails only on a URL that cannot be parsed (the message never repeats the
    /// URL, which may hold a password) or outside a runtime.
    pub fn connect(url: &str, prefix: &str, timeouts: RedisTimeouts) -> Result<Self, StoreError> {
        let options = RedisOptions {
            timeouts,
            ..RedisOptions::default()
        };
        let url = Secret::new(url);
        Self::open(&RedisTopology::Standalone { url }, prefix, &options)
    }

    /// A store on `topology`, whose keys all start with `prefix`.
    ///
    /// Connects to nothing yet (see [`RedisStore::connect`]); fails on settings that
    /// cannot work (a URL that does not parse, an unreadable CA file), with a message that
    /// never repeats a URL or password.
    pub fn open(
        topology: &RedisTopology,
        prefix: &str,
        options: &RedisOptions,
    ) -> Result<Self, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Backend(
                "the Redis store must be created inside a Tokio runtime".to_owned(),
            ));
        }
        let timeouts = options.timeouts;
        let certificates = options.ca_file.as_ref().map(trusted_roots).transpose()?;
        let backend = match topology {
            RedisTopology::Standalone { url } => {
                let url = url.expose_secret();
                let client = match certificates {
                    Some(certs) => redis::Client::build_with_tls(url, certs),
                    None => redis::Client::open(url),
                }
                .map_err(|_| StoreError::Backend("the Redis URL is not valid".to_owned()))?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeouts.connect))
                    .set_response_timeout(Some(timeouts.response))
                    // One quick retry per connection attempt; later failures reconnect on use.
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(500));
                Backend::Standalone(
                    ConnectionManager::new_lazy_with_config(client, config)
                        .map_err(|e| map_error(&e))?,
                )
            }
            RedisTopology::Sentinel {
                sentinels,
                master,
                password,
            } => {
                let mut data = RedisConnectionInfo::default();
                if let Some(password) = password {
                    data = data.set_password(password.expose_secret());
                }
                let node = SentinelNodeConnectionInfo::default().set_redis_connection_info(data);
                let urls: Vec<&str> = sentinels.iter().map(Secret::expose_secret).collect();
                let client =
                    SentinelClient::build(urls, master, Some(node), SentinelServerType::Master)
                        .map_err(|_| {
                            StoreError::Backend("a sentinel URL is not valid".to_owned())
                        })?;
                Backend::Sentinel(Arc::new(SentinelMaster {
                    sentinel: tokio::sync::Mutex::new(client),
                    current: Mutex::new(None),
                    config: AsyncConnectionConfig::new()
                        .set_connection_timeout(Some(timeouts.connect))
                        .set_response_timeout(Some(timeouts.response)),
                }))
            }
            RedisTopology::Cluster { nodes, password } => {
                let urls: Vec<&str> = nodes.iter().map(Secret::expose_secret).collect();
                let mut builder = ClusterClientBuilder::new(urls)
                    .connection_timeout(timeouts.connect)
                    .response_timeout(timeouts.response);
                if let Some(password) = password {
                    builder = builder.password(password.expose_secret());
                }
                if let Some(certs) = certificates {
                    builder = builder.certs(certs);
                }
                let client = builder.build().map_err(|_| {
                    StoreError::Backend("a Redis Cluster node URL is not valid".to_owned())
                })?;
                Backend::Cluster(Arc::new(LazyCluster {
                    client,
                    conn: tokio::sync::OnceCell::new(),
                }))
            }
        };
        Ok(Self {
            backend,
            prefix: prefix.to_owned(),
            timeouts,
            replica_acks: options.replica_acks,
            last_reading: Arc::new(Mutex::new(None)),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// A connection for one operation.
    async fn conn(&self) -> Result<Conn, RedisError> {
        match &self.backend {
            Backend::Standalone(c) => Ok(Conn::Manager(c.clone())),
            Backend::Sentinel(m) => m.connection().await.map(Conn::Master),
            Backend::Cluster(c) => c.connection().await.map(Conn::Cluster),
        }
    }

    /// Maps `e` to a [`StoreError`]; in Sentinel mode, first drops the connection when
    /// `e` says its server may no longer be the master.
    ///
    /// In Sentinel and Cluster mode the answers of a failover in progress (no master
    /// named yet, `READONLY` from a demoted master, `MASTERDOWN`, `CLUSTERDOWN`,
    /// `TRYAGAIN`) mean "unavailable for now", like a refused connection.
    fn failed(&self, e: &RedisError) -> StoreError {
        self.forget_reading();
        if matches!(self.backend, Backend::Standalone(_)) {
            return map_error(e);
        }
        if let Backend::Sentinel(m) = &self.backend {
            if is_broken_connection(e) || e.is_timeout() || e.code() == Some("READONLY") {
                m.forget();
            }
        }
        let failing_over = matches!(e.kind(), redis::ErrorKind::MasterNameNotFoundBySentinel)
            || matches!(
                e.code(),
                Some("READONLY" | "MASTERDOWN" | "CLUSTERDOWN" | "TRYAGAIN")
            );
        if failing_over {
            return StoreError::Unavailable(format!("Redis {} (failover)", e.category()));
        }
        map_error(e)
    }

    /// Runs one command under the operation deadline.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        self.deadline(async move {
            let mut conn = self.conn().await?;
            cmd.query_async(&mut conn).await
        })
        .await
    }

    /// Runs one write under the operation deadline, followed by `WAIT` when replica
    /// acknowledgements are asked (module documentation).
    async fn write<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        if self.replica_acks == 0 {
            return self.query(cmd).await;
        }
        let mut pipe = redis::pipe();
        pipe.add_command(cmd.clone());
        self.wait(&mut pipe);
        let (answer, acks): (T, i64) = self.pipeline(&pipe).await?;
        self.acknowledged(acks)?;
        Ok(answer)
    }

    /// Appends `WAIT` for the configured replicas, half a response timeout at most.
    fn wait(&self, pipe: &mut redis::Pipeline) {
        let ms = u64::try_from((self.timeouts.response / 2).as_millis()).unwrap_or(u64::MAX);
        pipe.cmd("WAIT").arg(self.replica_acks).arg(ms.max(1));
    }

    /// Whether `acks` replicas are enough; if not, the write is not reported done (and in
    /// Sentinel mode the master is asked for again: one without its replicas may be a
    /// demoted or cut-off one).
    fn acknowledged(&self, acks: i64) -> Result<(), StoreError> {
        if acks >= i64::from(self.replica_acks) {
            return Ok(());
        }
        if let Backend::Sentinel(m) = &self.backend {
            m.forget();
        }
        Err(StoreError::Unavailable(format!(
            "the write reached {acks} of the {} Redis replicas asked for",
            self.replica_acks
        )))
    }

    /// Runs a (non-transactional) pipeline under the operation deadline.
    async fn pipeline<T: FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T, StoreError> {
        self.deadline(async move {
            let mut conn = self.conn().await?;
            pipe.query_async(&mut conn).await
        })
        .await
    }

    /// Runs a pipeline of idempotent reads as [`RedisStore::read`] runs one: under the
    /// operation deadline, once more if the connection was found broken.
    async fn read_pipeline<T: FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, StoreError> {
        self.deadline(async move {
            let mut conn = self.conn().await?;
            match pipe.query_async(&mut conn).await {
                Err(e) if is_broken_connection(&e) => {
                    if let Backend::Sentinel(m) = &self.backend {
                        m.forget();
                    }
                    let mut conn = self.conn().await?;
                    pipe.query_async(&mut conn).await
                }
                other => other,
            }
        })
        .await
    }

    /// Runs one idempotent read under the operation deadline, once more if the connection
    /// was found broken (a restarted Redis): the connection manager reconnects on that
    /// failure (in Sentinel mode the master is looked up again), so the second attempt
    /// goes over a fresh connection.
    async fn read<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        self.deadline(async move {
            let mut conn = self.conn().await?;
            match cmd.query_async(&mut conn).await {
                Err(e) if is_broken_connection(&e) => {
                    if let Backend::Sentinel(m) = &self.backend {
                        m.forget();
                    }
                    let mut conn = self.conn().await?;
                    cmd.query_async(&mut conn).await
                }
                other => other,
            }
        })
        .await
    }

    /// Runs a script with `keys` and `args` under the operation deadline (followed by
    /// `WAIT` when replica acknowledgements are asked). In a cluster, `keys` must share a
    /// slot.
    async fn script<T: FromRedisValue>(
        &self,
        script: &redis::Script,
        source: &str,
        keys: &[String],
        args: &[Vec<u8>],
    ) -> Result<T, StoreError> {
        self.one_slot(keys)?;
        if self.replica_acks > 0 {
            let mut pipe = redis::pipe();
            pipe.add_command(eval(source, keys, args));
            self.wait(&mut pipe);
            let (answer, acks): (T, i64) = self.pipeline(&pipe).await?;
            self.acknowledged(acks)?;
            return Ok(answer);
        }
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(arg.as_slice());
        }
        self.deadline(async move {
            let mut conn = self.conn().await?;
            invocation.invoke_async(&mut conn).await
        })
        .await
    }

    /// In a cluster, refuses an operation whose keys are in different slots (Redis would
    /// answer `CROSSSLOT`; the keyspace's hash tags are meant to make this impossible).
    fn one_slot(&self, keys: &[String]) -> Result<(), StoreError> {
        if !matches!(self.backend, Backend::Cluster(_)) {
            return Ok(());
        }
        let mut slots = keys.iter().map(|k| slot(k));
        match slots.next() {
            Some(first) if slots.any(|s| s != first) => Err(StoreError::Backend(
                "the keys of one operation are in different Redis Cluster slots".to_owned(),
            )),
            _ => Ok(()),
        }
    }

    /// Takes `key` (and leaves a copy, or its `head` first bytes, under `tombstone`) with
    /// the deadline script; see the module documentation.
    async fn take_before_deadline(
        &self,
        key: &str,
        tombstone: Option<(&str, Duration)>,
        head: Option<usize>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut keys = vec![self.key(key)];
        let ttl = match tombstone {
            Some((tombstone, ttl)) => {
                keys.push(self.key(tombstone));
                ttl_millis(ttl)
            }
            None => 0,
        };
        let ttl = ttl.to_string().into_bytes();
        let head = head.map(|h| h.to_string().into_bytes());
        let mut args: Vec<&[u8]> = vec![&ttl];
        if let Some(head) = &head {
            args.push(head);
        }
        let answer = self
            .before_deadline(&TAKE_SCRIPT, TAKE_SOURCE, &keys, &args)
            .await?;
        match answer {
            redis::Value::Nil => Ok(None),
            redis::Value::BulkString(bytes) => Ok(Some(bytes)),
            _ => Err(StoreError::Backend(
                "unexpected answer from the take script".to_owned(),
            )),
        }
    }

    /// Reads Redis's clock: in a cluster, the clock of the master of `key`'s slot, the
    /// server that will run the script on `key`.
    async fn clock(&self, key: &str) -> Result<(u64, u64), StoreError> {
        let Backend::Cluster(cluster) = &self.backend else {
            return self.read(&redis::cmd("TIME")).await;
        };
        let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::new(
            slot(key),
            SlotAddr::Master,
        )));
        self.deadline(async move {
            let mut conn = cluster.connection().await?;
            let value = conn.route_command(redis::cmd("TIME"), route).await?;
            redis::from_redis_value(value).map_err(RedisError::from)
        })
        .await
    }

    /// A reading of Redis's clock for a take on `key`: a standalone store's latest one if
    /// it is at most [`clock_reuse`] old, else a fresh one (kept for the next takes).
    async fn reading(&self, key: &str) -> Result<ClockReading, StoreError> {
        let standalone = matches!(self.backend, Backend::Standalone(_));
        let reuse = clock_reuse(self.timeouts.response);
        if standalone {
            let kept = *self
                .last_reading
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(kept) = kept.filter(|r| r.at.elapsed() <= reuse) {
                return Ok(kept);
            }
        }
        let (secs, micros) = self.clock(key).await?;
        let reading = ClockReading {
            micros: secs.saturating_mul(1_000_000).saturating_add(micros),
            at: tokio::time::Instant::now(),
        };
        if standalone {
            let mut kept = self
                .last_reading
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Keep the newest reading: one answered later leaves more time to use it.
            if kept.is_none_or(|k| k.at < reading.at) {
                *kept = Some(reading);
            }
        }
        Ok(reading)
    }

    /// Forgets the kept reading of Redis's clock (after any error: the next take reads the
    /// clock again).
    fn forget_reading(&self) {
        *self
            .last_reading
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Runs a single-use script under the deadline protocol of the module documentation:
    /// reads Redis's clock, passes the deadline (that reading plus half the response
    /// timeout, in microseconds) as the script's first argument and `args` after it,
    /// and gives up a response timeout after the reading. A script that answers
    /// [`LATE`] ran past its deadline and changed nothing: that, like giving up, is
    /// [`StoreError::Unavailable`], and the item stays usable.
    async fn before_deadline(
        &self,
        script: &redis::Script,
        source: &str,
        keys: &[String],
        args: &[&[u8]],
    ) -> Result<redis::Value, StoreError> {
        self.one_slot(keys)?;
        let first = keys.first().map(String::as_str).unwrap_or_default();
        let reading = self.reading(first).await?;
        let read_at = reading.at;
        let budget = self.timeouts.response;
        let deadline = reading
            .micros
            .saturating_add(u64::try_from((budget / 2).as_micros()).unwrap_or(u64::MAX));
        let late = || {
            // A stalled Redis: the next take reads the clock again.
            self.forget_reading();
            StoreError::Unavailable(format!(
                "Redis did not take the item within {} ms",
                budget.as_millis()
            ))
        };
        let answer = if self.replica_acks > 0 {
            let mut all = vec![deadline.to_string().into_bytes()];
            all.extend(args.iter().map(|a| a.to_vec()));
            let mut pipe = redis::pipe();
            pipe.add_command(eval(source, keys, &all));
            self.wait(&mut pipe);
            let sent = async {
                let mut conn = self.conn().await?;
                pipe.query_async::<(Value, i64)>(&mut conn).await
            };
            match tokio::time::timeout_at(read_at + budget, sent).await {
                Err(_) => return Err(late()),
                Ok(Err(e)) => return Err(self.failed(&e)),
                Ok(Ok((Value::Int(LATE), _))) => return Err(late()),
                Ok(Ok((value, acks))) => {
                    self.acknowledged(acks)?;
                    value
                }
            }
        } else {
            let mut invocation = script.prepare_invoke();
            for key in keys {
                invocation.key(key);
            }
            invocation.arg(deadline);
            for arg in args {
                invocation.arg(*arg);
            }
            let sent = async {
                let mut conn = self.conn().await?;
                invocation.invoke_async(&mut conn).await
            };
            match tokio::time::timeout_at(read_at + budget, sent).await {
                Err(_) => return Err(late()),
                Ok(Err(e)) => return Err(self.failed(&e)),
                Ok(Ok(redis::Value::Int(LATE))) => return Err(late()),
                Ok(Ok(value)) => value,
            }
        };
        Ok(answer)
    }

    /// Runs `cmds` in one `MULTI`/`EXEC` transaction under the operation deadline
    /// (followed by `WAIT` when replica acknowledgements are asked), answering `EXEC`'s
    /// replies.
    async fn transaction(&self, cmds: Vec<Cmd>) -> Result<Vec<Value>, StoreError> {
        let mut pipe = redis::pipe();
        if self.replica_acks == 0 {
            pipe.atomic();
            for cmd in cmds {
                pipe.add_command(cmd);
            }
            return self.pipeline(&pipe).await;
        }
        pipe.cmd("MULTI").ignore();
        for cmd in cmds {
            pipe.add_command(cmd).ignore();
        }
        pipe.cmd("EXEC");
        self.wait(&mut pipe);
        let (replies, acks): (Vec<Value>, i64) = self.pipeline(&pipe).await?;
        self.acknowledged(acks)?;
        Ok(replies)
    }

    async fn deadline<T>(
        &self,
        fut: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeouts.operation(), fut).await {
            Ok(result) => result.map_err(|e| self.failed(&e)),
            Err(_) => {
                if let Backend::Sentinel(m) = &self.backend {
                    m.forget();
                }
                Err(StoreError::Unavailable(format!(
                    "no answer from Redis within {} ms",
                    self.timeouts.operation().as_millis()
                )))
            }
        }
    }

    /// [`SessionStore::get_with_fields`]: `GET` and `HGETALL` in one pipeline; in a cluster
    /// (where the two keys may live on different masters) both at once.
    async fn get_with_fields_at(
        &self,
        key: &str,
        hash: &str,
    ) -> Result<(Option<Vec<u8>>, Vec<(String, String)>), StoreError> {
        let mut get = redis::cmd("GET");
        get.arg(self.key(key));
        let mut all = redis::cmd("HGETALL");
        all.arg(self.key(hash));
        let (value, fields): (Option<Vec<u8>>, std::collections::BTreeMap<String, String>) =
            if matches!(self.backend, Backend::Cluster(_)) {
                tokio::try_join!(self.read(&get), self.read(&all))?
            } else {
                let mut pipe = redis::pipe();
                pipe.add_command(get).add_command(all);
                self.read_pipeline(&pipe).await?
            };
        Ok((value, fields.into_iter().collect()))
    }

    /// A page of [`SessionStore::scan`]: one `SCAN … MATCH {prefix}* COUNT count`. In a
    /// cluster the cursor is `{shard}:{cursor}`: the walk scans the master of each slot
    /// range in turn (ordered by their first slot, read with `CLUSTER SLOTS` each page),
    /// moving to the next master when one's `SCAN` ends.
    async fn scan_page(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        count: u32,
    ) -> Result<ScanPage, StoreError> {
        let bad_cursor = || StoreError::Backend("the scan cursor is not one of ours".to_owned());
        let pattern = format!("{}*", glob_escape(&self.key(prefix)));
        let scan = |at: u64| {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(at)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(count.max(1));
            cmd
        };
        let strip = |keys: Vec<String>| -> Vec<String> {
            keys.into_iter()
                .filter_map(|k| k.strip_prefix(&self.prefix).map(str::to_owned))
                .collect()
        };
        let Backend::Cluster(cluster) = &self.backend else {
            let at = match cursor {
                None => 0,
                Some(c) => c.parse::<u64>().map_err(|_| bad_cursor())?,
            };
            let (next, keys): (u64, Vec<String>) = self.read(&scan(at)).await?;
            return Ok(ScanPage {
                keys: strip(keys),
                next: (next != 0).then(|| next.to_string()),
            });
        };
        let (shard, at) = match cursor {
            None => (0, 0),
            Some(c) => {
                let (shard, at) = c.split_once(':').ok_or_else(bad_cursor)?;
                (
                    shard.parse::<usize>().map_err(|_| bad_cursor())?,
                    at.parse::<u64>().map_err(|_| bad_cursor())?,
                )
            }
        };
        let masters = self
            .deadline(async move {
                let mut conn = cluster.connection().await?;
                let value = conn
                    .route_command(
                        redis::cmd("CLUSTER").arg("SLOTS").clone(),
                        RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
                    )
                    .await?;
                redis::from_redis_value::<Vec<Vec<Value>>>(value).map_err(RedisError::from)
            })
            .await?;
        let firsts = master_first_slots(masters);
        let Some(&slot) = firsts.get(shard) else {
            return Ok(ScanPage::default());
        };
        let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::new(
            slot,
            SlotAddr::Master,
        )));
        let cmd = scan(at);
        let (next, keys): (u64, Vec<String>) = self
            .deadline(async move {
                let mut conn = cluster.connection().await?;
                let value = conn.route_command(cmd, route).await?;
                redis::from_redis_value(value).map_err(RedisError::from)
            })
            .await?;
        let next = if next != 0 {
            Some(format!("{shard}:{next}"))
        } else if shard + 1 < firsts.len() {
            Some(format!("{}:0", shard + 1))
        } else {
            None
        };
        Ok(ScanPage {
            keys: strip(keys),
            next,
        })
    }

    /// The kept reading of Redis's clock (its value in µs, and when it arrived): for tests.
    #[cfg(test)]
    pub(crate) fn kept_reading(&self) -> Option<(u64, tokio::time::Instant)> {
        self.last_reading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|r| (r.micros, r.at))
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

/// The first slot each master serves, in order, from a `CLUSTER SLOTS` answer (one entry
/// per slot range: first slot, last slot, master `[host, port, id, …]`, replicas…): a
/// master serving several ranges is named by its lowest.
fn master_first_slots(ranges: Vec<Vec<Value>>) -> Vec<u16> {
    let mut firsts: std::collections::BTreeMap<String, u16> = std::collections::BTreeMap::new();
    for range in ranges {
        let mut fields = range.into_iter();
        let (Some(first), Some(_last), Some(master)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Ok(first) = redis::from_redis_value::<u16>(first) else {
            continue;
        };
        let Ok(master) = redis::from_redis_value::<Vec<Value>>(master) else {
            continue;
        };
        let mut node = master.into_iter();
        let (Some(host), Some(port)) = (node.next(), node.next()) else {
            continue;
        };
        let (Ok(host), Ok(port)) = (
            redis::from_redis_value::<String>(host),
            redis::from_redis_value::<u16>(port),
        ) else {
            continue;
        };
        let slot = firsts.entry(format!("{host}:{port}")).or_insert(first);
        *slot = (*slot).min(first);
    }
    let mut out: Vec<u16> = firsts.into_values().collect();
    out.sort_unstable();
    out
}

/// `text` with Redis glob's special characters (`*`, `?`, `[`, `]`, `\`) escaped.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `EVAL source numkeys keys… args…`.
fn eval(source: &str, keys: &[String], args: &[Vec<u8>]) -> Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(source).arg(keys.len()).arg(keys);
    for arg in args {
        cmd.arg(arg.as_slice());
    }
    cmd
}

/// The CA certificates trusted for `rediss://`: the system's roots and those of `file`
/// (PEM), as one PEM bundle for the redis crate.
fn trusted_roots(file: &PathBuf) -> Result<TlsCertificates, StoreError> {
    let mut pem = std::fs::read(file).map_err(|e| {
        StoreError::Backend(format!(
            "cannot read the Redis CA file {}: {e}",
            file.display()
        ))
    })?;
    if !pem.ends_with(b"\n") {
        pem.push(b'\n');
    }
    for cert in rustls_native_certs::load_native_certs().certs {
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    Ok(TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    })
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
/// deadline in microseconds of Redis's clock; `ARGV[2]`: the copy's TTL in milliseconds;
/// `ARGV[3]` (optional): how many bytes of it, from the start, to leave instead.
/// Answers the item (nil when absent) or `-1` when past the deadline, having changed
/// nothing. Lua numbers are doubles: microseconds since the epoch fit exactly (< 2^53).
static TAKE_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(TAKE_SOURCE));

/// The source of [`TAKE_SCRIPT`].
const TAKE_SOURCE: &str = r"
local t = redis.call('TIME')
if tonumber(t[1]) * 1000000 + tonumber(t[2]) > tonumber(ARGV[1]) then
  return -1
end
local v = redis.call('GETDEL', KEYS[1])
if v and KEYS[2] then
  local copy = v
  if ARGV[3] then
    copy = string.sub(v, 1, tonumber(ARGV[3]))
  end
  redis.call('SET', KEYS[2], copy, 'PX', ARGV[2])
end
return v
";

/// [`REPLACE_SCRIPT`], its digest computed once.
static REPLACE: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(REPLACE_SCRIPT));

/// [`SessionStore::replace`]: `KEYS[1]` gets `ARGV[1]` for `ARGV[2]` milliseconds, or for
/// the TTL it has left when that is longer (a key without a TTL keeps none).
const REPLACE_SCRIPT: &str = r"
local left = redis.call('PTTL', KEYS[1])
if left == -1 then
  redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
  return 1
end
local ttl = tonumber(ARGV[2])
if left > ttl then
  ttl = left
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 1
";

/// [`EXTEND_SCRIPT`], its digest computed once.
static EXTEND: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(EXTEND_SCRIPT));

/// [`SessionStore::extend`]: `KEYS[1]` lives at least `ARGV[1]` milliseconds more; answers
/// 0 when it is absent. (`PEXPIRE … GT` alone would leave a key without a TTL alone too,
/// but this says whether the key was there in the same step.)
const EXTEND_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'GT')
return 1
";

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

/// The future of one [`SessionStore::run`], as `async_trait` writes it.
type RunFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Answer, StoreError>> + Send + 'a>>;

/// Written out rather than through `async_trait` so that the commonest operations (`GET`,
/// `GET` + `HGETALL`, `SET`) each box a future of their own size: the one future of the
/// whole `match` ([`RedisStore::run_any`]) is as large as its largest arm (the scripts,
/// the cluster joins), and boxing it copied ~14,000 instructions' worth of bytes per
/// operation (callgrind, `scripts/callgrind-per-request.sh`). Every other operation goes
/// through that `match` as before.
impl SessionStore for RedisStore {
    fn run<'life0, 'life1, 'async_trait>(&'life0 self, op: Op<'life1>) -> RunFuture<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        match op {
            Op::Get { key } => Box::pin(async move {
                self.read(redis::cmd("GET").arg(self.key(key)))
                    .await
                    .map(Answer::Value)
            }),
            Op::GetWithFields { key, hash } => Box::pin(async move {
                self.get_with_fields_at(key, hash)
                    .await
                    .map(|(v, f)| Answer::ValueAndFields(v, f))
            }),
            Op::Put {
                key,
                value,
                ttl,
                if_absent,
            } => Box::pin(async move { self.put_at(key, value, ttl, if_absent).await }),
            other => Box::pin(self.run_any(other)),
        }
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

impl RedisStore {
    /// `SET key value PX ttl [NX]` ([`SessionStore::put`], [`SessionStore::put_if_absent`]).
    async fn put_at(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
        if_absent: bool,
    ) -> Result<Answer, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_millis(ttl));
        if if_absent {
            cmd.arg("NX");
        }
        let stored: Option<String> = self.write(&cmd).await?;
        Ok(Answer::Stored(stored.is_some()))
    }

    /// Any operation ([`SessionStore::run`] sends the commonest ones elsewhere).
    async fn run_any(&self, op: Op<'_>) -> Result<Answer, StoreError> {
        match op {
            Op::Put {
                key,
                value,
                ttl,
                if_absent,
            } => self.put_at(key, value, ttl, if_absent).await,
            Op::Get { key } => self
                .read(redis::cmd("GET").arg(self.key(key)))
                .await
                .map(Answer::Value),
            Op::Take {
                key,
                tombstone,
                head,
            } => self
                .take_before_deadline(key, tombstone, head)
                .await
                .map(Answer::Value),
            Op::Replace { key, value, ttl } => {
                let keys = [self.key(key)];
                let args = [value.to_vec(), ttl_millis(ttl).to_string().into_bytes()];
                self.script::<i64>(&REPLACE, REPLACE_SCRIPT, &keys, &args)
                    .await
                    .map(|_| Answer::Stored(true))
            }
            Op::Extend { key, ttl } => {
                let keys = [self.key(key)];
                let args = [ttl_millis(ttl).to_string().into_bytes()];
                self.script::<i64>(&EXTEND, EXTEND_SCRIPT, &keys, &args)
                    .await
                    .map(|found| Answer::Stored(found == 1))
            }
            Op::HashSet {
                key,
                field,
                value,
                ttl,
            } => {
                let key = self.key(key);
                let mut set = redis::cmd("HSET");
                set.arg(&key).arg(field).arg(value);
                // A new hash gets the TTL (NX); one with less left gets it too (GT).
                let mut start = redis::cmd("PEXPIRE");
                start.arg(&key).arg(ttl_millis(ttl)).arg("NX");
                let mut lengthen = redis::cmd("PEXPIRE");
                lengthen.arg(&key).arg(ttl_millis(ttl)).arg("GT");
                self.transaction(vec![set, start, lengthen])
                    .await
                    .map(|_| Answer::Stored(true))
            }
            Op::HashSwap {
                key,
                field,
                expected,
                value,
            } => {
                let mut args = vec![field.as_bytes(), value.as_bytes()];
                args.extend(expected.map(str::as_bytes));
                let answer = self
                    .before_deadline(&HASH_SWAP_SCRIPT, HASH_SWAP_SOURCE, &[self.key(key)], &args)
                    .await?;
                match answer {
                    redis::Value::Nil => Ok(Answer::Value(None)),
                    redis::Value::BulkString(bytes) => Ok(Answer::Value(Some(bytes))),
                    _ => Err(StoreError::Backend(
                        "unexpected answer from the swap script".to_owned(),
                    )),
                }
            }
            Op::HashFields { key } => {
                let fields: std::collections::BTreeMap<String, String> =
                    self.read(redis::cmd("HGETALL").arg(self.key(key))).await?;
                Ok(Answer::Fields(fields.into_iter().collect()))
            }
            Op::TakeIfEqual { key, expected } => match self
                .before_deadline(
                    &TAKE_IF_EQUAL_SCRIPT,
                    TAKE_IF_EQUAL_SOURCE,
                    &[self.key(key)],
                    &[expected],
                )
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
                self.write::<()>(&cmd).await?;
                Ok(Answer::Stored(true))
            }
            Op::Touch { key, ttl } => {
                let mut cmd = redis::cmd("PEXPIRE");
                cmd.arg(self.key(key)).arg(ttl_millis(ttl));
                let set: i64 = self.write(&cmd).await?;
                Ok(Answer::Stored(set == 1))
            }
            Op::Incr { key, ttl } => self.count(key, ttl).await.map(Answer::Count),
            Op::CountWithin { counters } => {
                self.count_within_caps(counters).await.map(Answer::Count)
            }
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
            Op::Batch { steps } => self.batch_steps(steps).await.map(Answer::Values),
            Op::GetWithFields { key, hash } => self
                .get_with_fields_at(key, hash)
                .await
                .map(|(v, f)| Answer::ValueAndFields(v, f)),
            Op::Scan {
                prefix,
                cursor,
                count,
            } => self
                .scan_page(prefix, cursor, count)
                .await
                .map(Answer::Page),
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
}

impl RedisStore {
    async fn count(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        let key = self.key(key);
        let mut incr = redis::cmd("INCR");
        incr.arg(&key);
        let mut expire = redis::cmd("PEXPIRE");
        expire.arg(&key).arg(ttl_millis(ttl)).arg("NX");
        let replies = self.transaction(vec![incr, expire]).await?;
        match replies.into_iter().next() {
            Some(count) => redis::from_redis_value(count)
                .map_err(|_| StoreError::Backend("unexpected answer to INCR".to_owned())),
            None => Err(StoreError::Backend("unexpected answer to INCR".to_owned())),
        }
    }

    /// [`SessionStore::count_within`]: one script over every counter, or, in a cluster
    /// where they are in different slots, one counter at a time.
    async fn count_within_caps(&self, counters: &[CappedCounter]) -> Result<i64, StoreError> {
        let keys: Vec<String> = counters.iter().map(|c| self.key(&c.key)).collect();
        if matches!(self.backend, Backend::Cluster(_)) && self.one_slot(&keys).is_err() {
            let mut within = 0;
            for counter in counters {
                if self.count(&counter.key, counter.ttl).await? > counter.cap {
                    break;
                }
                within += 1;
            }
            return Ok(within);
        }
        let args: Vec<Vec<u8>> = counters
            .iter()
            .flat_map(|c| {
                [
                    c.cap.to_string().into_bytes(),
                    ttl_millis(c.ttl).to_string().into_bytes(),
                ]
            })
            .collect();
        self.script(&COUNT_WITHIN, COUNT_WITHIN_SOURCE, &keys, &args)
            .await
    }

    /// [`SessionStore::reserve_attempt`]: one script over every limit, or, in a cluster
    /// where the limits are in different slots, one script per limit with the earlier
    /// reservations given back when a later limit is locked (module documentation).
    async fn reserve(
        &self,
        limits: &[AttemptLimit],
        token: &str,
    ) -> Result<Reservation, StoreError> {
        if limits.is_empty() {
            return Ok(Reservation::Granted(Vec::new()));
        }
        let keys: Vec<String> = limits
            .iter()
            .flat_map(|l| [self.key(&l.counter), self.key(&l.lock)])
            .collect();
        if matches!(self.backend, Backend::Cluster(_)) && self.one_slot(&keys).is_err() {
            let mut granted = Vec::with_capacity(limits.len());
            for (i, limit) in limits.iter().enumerate() {
                match self
                    .reserve_in_one_slot(std::slice::from_ref(limit), token)
                    .await
                {
                    Ok(Reservation::Granted(mut one)) => granted.append(&mut one),
                    other => {
                        for earlier in &limits[..i] {
                            self.release(earlier, token, false).await?;
                        }
                        return match other {
                            Ok(Reservation::Locked(_)) => Ok(Reservation::Locked(i)),
                            Ok(Reservation::Granted(_)) => Err(StoreError::Backend(
                                "unexpected answer to a reservation".into(),
                            )),
                            Err(e) => Err(e),
                        };
                    }
                }
            }
            return Ok(Reservation::Granted(granted));
        }
        self.reserve_in_one_slot(limits, token).await
    }

    async fn reserve_in_one_slot(
        &self,
        limits: &[AttemptLimit],
        token: &str,
    ) -> Result<Reservation, StoreError> {
        let mut keys = Vec::with_capacity(2 * limits.len());
        let mut args = vec![token.as_bytes().to_vec()];
        for limit in limits {
            keys.push(self.key(&limit.counter));
            keys.push(self.key(&limit.lock));
            for n in [
                u64::from(limit.allowed),
                ttl_millis(limit.window),
                ttl_millis(limit.lockout),
                ttl_millis(limit.max_lockout),
            ] {
                args.push(n.to_string().into_bytes());
            }
        }
        let answer: Vec<i64> = self.script(&RESERVE, RESERVE_SCRIPT, &keys, &args).await?;
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
        let keys = [self.key(&limit.counter), self.key(&limit.lock)];
        let args = [
            token.as_bytes().to_vec(),
            if reset { b"1".to_vec() } else { b"0".to_vec() },
        ];
        self.script::<i64>(&RELEASE, RELEASE_SCRIPT, &keys, &args)
            .await
            .map(|_| ())
    }

    /// [`SessionStore::batch`]: one `MULTI`/`EXEC` of every step's commands, or, in a
    /// cluster where the keys are in different slots, one step at a time, in order.
    async fn batch_steps(&self, steps: &[Step<'_>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = steps.iter().map(|s| self.key(s.key())).collect();
        if matches!(self.backend, Backend::Cluster(_)) && self.one_slot(&keys).is_err() {
            let mut values = Vec::with_capacity(steps.len());
            for step in steps {
                let answer = self.run(step.op()).await?;
                values.push(match step {
                    Step::Get { .. } => answer.value()?,
                    _ => None,
                });
            }
            return Ok(values);
        }
        let mut cmds = Vec::with_capacity(steps.len() + 2);
        // How many commands each step is, to find its replies.
        let mut sizes = Vec::with_capacity(steps.len());
        for (step, key) in steps.iter().zip(&keys) {
            let before = cmds.len();
            match *step {
                Step::Put { value, ttl, .. } => {
                    let mut set = redis::cmd("SET");
                    set.arg(key).arg(value).arg("PX").arg(ttl_millis(ttl));
                    cmds.push(set);
                }
                // As the extend script, without its answer: a longer TTL (or none) stays.
                Step::Extend { ttl, .. } => {
                    let mut lengthen = redis::cmd("PEXPIRE");
                    lengthen.arg(key).arg(ttl_millis(ttl)).arg("GT");
                    cmds.push(lengthen);
                }
                // As `hash_set`: a new hash gets the TTL (NX), one with less left too (GT).
                Step::HashSet {
                    field, value, ttl, ..
                } => {
                    let mut set = redis::cmd("HSET");
                    set.arg(key).arg(field).arg(value);
                    let mut start = redis::cmd("PEXPIRE");
                    start.arg(key).arg(ttl_millis(ttl)).arg("NX");
                    let mut lengthen = redis::cmd("PEXPIRE");
                    lengthen.arg(key).arg(ttl_millis(ttl)).arg("GT");
                    cmds.extend([set, start, lengthen]);
                }
                Step::Get { .. } => {
                    let mut get = redis::cmd("GET");
                    get.arg(key);
                    cmds.push(get);
                }
            }
            sizes.push(cmds.len() - before);
        }
        let replies = self.transaction(cmds).await?;
        if replies.len() != sizes.iter().sum::<usize>() {
            return Err(StoreError::Backend(
                "unexpected answer to a batch".to_owned(),
            ));
        }
        let mut replies = replies.into_iter();
        let mut values = Vec::with_capacity(steps.len());
        for (step, size) in steps.iter().zip(sizes) {
            let mine: Vec<Value> = replies.by_ref().take(size).collect();
            values.push(match (step, mine.into_iter().next()) {
                (Step::Get { .. }, Some(reply)) => {
                    redis::from_redis_value(reply).map_err(|_| {
                        StoreError::Backend("unexpected answer to GET in a batch".to_owned())
                    })?
                }
                _ => None,
            });
        }
        Ok(values)
    }

    async fn add_member(&self, key: &str, member: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = self.key(key);
        let mut add = redis::cmd("SADD");
        add.arg(&key).arg(member);
        let mut expire = redis::cmd("PEXPIRE");
        expire.arg(&key).arg(ttl_millis(ttl));
        self.transaction(vec![add, expire]).await.map(drop)
    }
}
