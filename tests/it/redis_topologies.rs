//! The Redis store on the other topologies, each started by the test on free loopback
//! ports in a temporary directory: a Redis Cluster of three masters (every store
//! operation, single use under concurrency, attempt limits across slots), a Sentinel
//! set (1 master, 1 replica, 3 sentinels, quorum 2) whose master is killed during
//! traffic without losing an acknowledged write, and `rediss://` with a private CA.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lanyard::secret::Secret;
use lanyard::session::keyspace::{self, slot};
use lanyard::session::{
    AttemptLimit, RedisOptions, RedisStore, RedisTimeouts, RedisTopology, Reservation,
    SessionStore, Step, StoreError,
};

use crate::private_redis::{Node, free_port};

fn prefix() -> String {
    format!(
        "lanyard-topo:{}:",
        lanyard::session::random_id().expose_secret()
    )
}

fn quick() -> RedisTimeouts {
    RedisTimeouts {
        connect: Duration::from_millis(500),
        response: Duration::from_millis(1000),
    }
}

async fn until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// --- Redis Cluster -------------------------------------------------------------------------

/// Three masters, slots assigned with `redis-cli --cluster create`.
struct Cluster {
    _dir: tempfile::TempDir,
    nodes: Vec<Node>,
}

impl Cluster {
    async fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        for i in 0..3 {
            let sub = dir.path().join(format!("n{i}"));
            std::fs::create_dir(&sub).unwrap();
            let port = free_port();
            let args: Vec<String> = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            nodes.push(Node::spawn(&sub, &args));
        }
        for n in &nodes {
            n.wait_ready().await;
        }
        let mut create = std::process::Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for n in &nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let out = create
            .arg("--cluster-yes")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        for n in &nodes {
            until("cluster_state:ok", Duration::from_secs(15), || async {
                let Ok(mut c) = n.raw().await else {
                    return false;
                };
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query_async(&mut c)
                    .await
                    .unwrap_or_default();
                info.contains("cluster_state:ok")
            })
            .await;
        }
        Cluster { _dir: dir, nodes }
    }

    fn store(&self, prefix: &str) -> RedisStore {
        let nodes = self.nodes.iter().map(|n| Secret::new(n.url())).collect();
        let options = RedisOptions {
            timeouts: quick(),
            ..RedisOptions::default()
        };
        RedisStore::open(
            &RedisTopology::Cluster {
                nodes,
                password: None,
            },
            prefix,
            &options,
        )
        .unwrap()
    }
}

fn limit(counter: String, lock: String, allowed: u32) -> AttemptLimit {
    AttemptLimit {
        counter,
        lock,
        allowed,
        window: Duration::from_secs(60),
        lockout: Duration::from_secs(60),
        max_lockout: Duration::from_secs(600),
    }
}

#[tokio::test]
async fn cluster_runs_every_operation_and_keeps_single_use_atomic() {
    let cluster = Cluster::start().await;
    let p = prefix();
    let store = Arc::new(cluster.store(&p));
    let ttl = Duration::from_secs(60);

    // Plain values, spread over the slots (and so the masters).
    let mut slots = BTreeSet::new();
    for i in 0..30 {
        let key = keyspace::SSO_SESSION.key([&format!("ref-{i}")]);
        slots.insert(slot(&format!("{p}{key}")) / 5462);
        store
            .put(&key, format!("v{i}").as_bytes(), ttl)
            .await
            .unwrap();
        assert_eq!(
            store.get(&key).await.unwrap().unwrap(),
            format!("v{i}").as_bytes()
        );
    }
    assert_eq!(slots.len(), 3, "keys on every master");
    // A walk over them visits every master (a few keys a page: several pages each).
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .scan(keyspace::SSO_SESSION.prefix, cursor.as_deref(), 4)
            .await
            .unwrap();
        seen.extend(page.keys);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let wanted: BTreeSet<String> = (0..30)
        .map(|i| keyspace::SSO_SESSION.key([&format!("ref-{i}")]))
        .collect();
    assert_eq!(seen, wanted);
    // A record and the revocation marks, in different slots, read together.
    let marks = keyspace::REVOKED_BEFORE.key([]);
    store.hash_set(&marks, "role:x", "1", ttl).await.unwrap();
    let first = keyspace::SSO_SESSION.key(["ref-0"]);
    assert_eq!(
        store.get_with_fields(&first, &marks).await.unwrap(),
        (
            Some(b"v0".to_vec()),
            vec![("role:x".to_owned(), "1".to_owned())]
        )
    );
    assert!(store.put_if_absent("x", b"1", ttl).await.unwrap());
    assert!(!store.put_if_absent("x", b"2", ttl).await.unwrap());
    assert!(store.touch("x", ttl).await.unwrap());
    assert!(!store.touch("absent", ttl).await.unwrap());
    store.delete("x").await.unwrap();
    assert_eq!(store.get("x").await.unwrap(), None);
    assert_eq!(store.incr("n", ttl).await.unwrap(), 1);
    assert_eq!(store.incr("n", ttl).await.unwrap(), 2);
    let roles = keyspace::SSO_ROLE_SESSIONS.key(["ref-1"]);
    store.set_add(&roles, "b", ttl).await.unwrap();
    store.set_add(&roles, "a", ttl).await.unwrap();
    assert_eq!(store.set_members(&roles).await.unwrap(), ["a", "b"]);
    store.ping().await.unwrap();

    // Takes: plain, with a tombstone in the same slot, compare-and-delete.
    store.put("t", b"once", ttl).await.unwrap();
    assert_eq!(store.take("t").await.unwrap().unwrap(), b"once");
    assert_eq!(store.take("t").await.unwrap(), None);
    let code = keyspace::CODE.key(["H1"]);
    let used = keyspace::CODE_USED.key(["H1"]);
    store.put(&code, b"record", ttl).await.unwrap();
    assert_eq!(
        store
            .take_leaving(&code, &used, ttl)
            .await
            .unwrap()
            .unwrap(),
        b"record"
    );
    assert_eq!(store.take_leaving(&code, &used, ttl).await.unwrap(), None);
    assert_eq!(store.get(&used).await.unwrap().unwrap(), b"record");
    store.put("cmp", b"v1", ttl).await.unwrap();
    assert!(!store.take_if_equal("cmp", b"v2").await.unwrap());
    assert!(store.take_if_equal("cmp", b"v1").await.unwrap());
    assert!(!store.take_if_equal("cmp", b"v1").await.unwrap());
    // A hash's field, compared and set (a family's current refresh token).
    let issued = keyspace::SSO_ISSUED.key(["ref-1"]);
    store.hash_set(&issued, "rt:f", "d1", ttl).await.unwrap();
    let swapped = store.hash_swap(&issued, "rt:f", Some("d1"), "d2").await;
    assert_eq!(swapped.unwrap().as_deref(), Some("d1"));
    let refused = store.hash_swap(&issued, "rt:f", Some("d1"), "d3").await;
    assert_eq!(refused.unwrap().as_deref(), Some("d2"));
    assert_eq!(
        store.hash_fields(&issued).await.unwrap(),
        [("rt:f".to_owned(), "d2".to_owned())]
    );

    // A batch: in one slot (an SSO session and what it issued) one transaction; across
    // slots (with a role session) one step at a time, in order; either way the same.
    let person = keyspace::SSO_SESSION.key(["ref-2"]);
    let issued = keyspace::SSO_ISSUED.key(["ref-2"]);
    store.put(&person, b"p", ttl).await.unwrap();
    let role_session = keyspace::ROLE_SESSION.key(["rs-2"]);
    assert_ne!(
        slot(&format!("{p}{person}")),
        slot(&format!("{p}{role_session}"))
    );
    for steps in [
        vec![
            Step::Extend {
                key: &person,
                ttl: ttl * 2,
            },
            Step::HashSet {
                key: &issued,
                field: "rs-2",
                value: "fam",
                ttl,
            },
            Step::Get { key: &person },
        ],
        vec![
            Step::Extend {
                key: &person,
                ttl: ttl * 2,
            },
            Step::Put {
                key: &role_session,
                value: b"rs",
                ttl,
            },
            Step::HashSet {
                key: &issued,
                field: "rs-2",
                value: "fam",
                ttl,
            },
            Step::Get { key: &role_session },
        ],
    ] {
        let answers = store.batch(&steps).await.unwrap();
        assert_eq!(answers.len(), steps.len());
        assert!(answers[..steps.len() - 1].iter().all(Option::is_none));
        assert!(answers[steps.len() - 1].is_some());
    }
    assert_eq!(
        store.hash_fields(&issued).await.unwrap(),
        [("rs-2".to_owned(), "fam".to_owned())]
    );

    // Keys of one operation in different slots are refused before reaching Redis.
    store.put("a-key", b"1", ttl).await.unwrap();
    let err = store.take_leaving("a-key", "another-key", ttl).await;
    assert!(
        matches!(err, Err(StoreError::Backend(ref m)) if m.contains("slots")),
        "{err:?}"
    );

    // 50 concurrent takes of one code (with its tombstone): exactly one wins, the others
    // find nothing.
    let code = keyspace::CODE.key(["race"]);
    let used = keyspace::CODE_USED.key(["race"]);
    store.put(&code, b"the code", ttl).await.unwrap();
    let takers: Vec<_> = (0..50)
        .map(|_| {
            let (store, code, used) = (store.clone(), code.clone(), used.clone());
            tokio::spawn(async move { store.take_leaving(&code, &used, ttl).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for t in takers {
        if t.await.unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);

    // Attempt limits: an account and an address are in different slots, reserved one
    // script each; at most `allowed` pass before the lock, however they interleave.
    let account = keyspace::account("acct-hash");
    let address = keyspace::address("192.0.2.7".parse().unwrap());
    let acct = limit(
        keyspace::ATTEMPTS.key([&account]),
        keyspace::ATTEMPTS_LOCK.key([&account]),
        5,
    );
    let ip = limit(
        keyspace::ATTEMPTS.key([&address]),
        keyspace::ATTEMPTS_LOCK.key([&address]),
        100,
    );
    assert_ne!(
        slot(&format!("{p}{}", acct.counter)),
        slot(&format!("{p}{}", ip.counter))
    );
    let limits = Arc::new(vec![acct.clone(), ip.clone()]);
    let attempts: Vec<_> = (0..30)
        .map(|i| {
            let (store, limits) = (store.clone(), limits.clone());
            tokio::spawn(async move {
                store
                    .reserve_attempt(&limits, &format!("token-{i}"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut granted = 0;
    for a in attempts {
        match a.await.unwrap() {
            Reservation::Granted(r) => {
                granted += 1;
                assert_eq!(r.len(), 2);
            }
            Reservation::Locked(i) => assert_eq!(i, 0, "only the account locks"),
        }
    }
    assert_eq!(granted, 5, "exactly the account's allowance passes");
    // A refused attempt counted nothing against the address (given back).
    let counted: i64 = String::from_utf8(store.get(&ip.counter).await.unwrap().unwrap())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(counted, 5);

    // A later limit locked: the earlier one's reservation is given back.
    let other = keyspace::account("other-account");
    let fresh = limit(
        keyspace::ATTEMPTS.key([&other]),
        keyspace::ATTEMPTS_LOCK.key([&other]),
        5,
    );
    let locked_ip = limit(
        keyspace::ATTEMPTS.key([&address]),
        keyspace::ATTEMPTS_LOCK.key([&address]),
        1,
    );
    store.put(&locked_ip.lock, b"someone", ttl).await.unwrap();
    assert_eq!(
        store
            .reserve_attempt(&[fresh.clone(), locked_ip.clone()], "t")
            .await
            .unwrap(),
        Reservation::Locked(1)
    );
    assert_eq!(store.get(&fresh.counter).await.unwrap().unwrap(), b"0");
    // Release: counter down, the lock deleted only with its own token.
    store
        .release_attempt(&locked_ip, "not-mine", false)
        .await
        .unwrap();
    assert!(store.get(&locked_ip.lock).await.unwrap().is_some());
    store
        .release_attempt(&locked_ip, "someone", true)
        .await
        .unwrap();
    assert_eq!(store.get(&locked_ip.lock).await.unwrap(), None);
    assert_eq!(store.get(&locked_ip.counter).await.unwrap(), None);
}

// --- Redis Sentinel ----------------------------------------------------------------------------

const MASTER_NAME: &str = "lanyard";

/// A master, one replica and three sentinels (quorum 2), failing over quickly.
struct SentinelSet {
    _dir: tempfile::TempDir,
    master: Node,
    _replica: Node,
    sentinels: Vec<Node>,
}

impl SentinelSet {
    async fn start() -> SentinelSet {
        let dir = tempfile::tempdir().unwrap();
        let data = |port: u16, extra: &[String]| -> Vec<String> {
            let mut args: Vec<String> = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dbfilename",
                &format!("dump-{port}.rdb"),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            args.extend_from_slice(extra);
            args
        };
        let master_port = free_port();
        let master = Node::spawn(dir.path(), &data(master_port, &[]));
        master.wait_ready().await;
        let replica_port = free_port();
        let replica = Node::spawn(
            dir.path(),
            &data(
                replica_port,
                &[
                    "--replicaof".to_owned(),
                    "127.0.0.1".to_owned(),
                    master_port.to_string(),
                ],
            ),
        );
        replica.wait_ready().await;
        // The replica is linked before the sentinels first ask the master (INFO, then
        // only every 10 s), so that they know it from the start.
        until(
            "the replica to be linked",
            Duration::from_secs(10),
            || async {
                let Ok(mut c) = replica.raw().await else {
                    return false;
                };
                let info: String = redis::cmd("INFO")
                    .arg("replication")
                    .query_async(&mut c)
                    .await
                    .unwrap_or_default();
                info.contains("master_link_status:up")
            },
        )
        .await;
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let conf = dir.path().join(format!("sentinel-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\n\
                     sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                     sentinel failover-timeout {MASTER_NAME} 2000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n"
                ),
            )
            .unwrap();
            let args = vec![
                conf.to_str().unwrap().to_owned(),
                "--sentinel".to_owned(),
                "--port".to_owned(),
                port.to_string(),
            ];
            sentinels.push(Node::spawn(dir.path(), &args));
        }
        for s in &sentinels {
            s.wait_ready().await;
        }
        // Every sentinel knows the replica and the two other sentinels (hello messages
        // every 2 s), so that a failover can be agreed on.
        for s in &sentinels {
            until(
                "the sentinels to know each other",
                Duration::from_secs(20),
                || async {
                    let Ok(mut c) = s.raw().await else {
                        return false;
                    };
                    let peers: Vec<redis::Value> = redis::cmd("SENTINEL")
                        .arg("SENTINELS")
                        .arg(MASTER_NAME)
                        .query_async(&mut c)
                        .await
                        .unwrap_or_default();
                    let replicas: Vec<redis::Value> = redis::cmd("SENTINEL")
                        .arg("REPLICAS")
                        .arg(MASTER_NAME)
                        .query_async(&mut c)
                        .await
                        .unwrap_or_default();
                    peers.len() == 2 && replicas.len() == 1
                },
            )
            .await;
        }
        SentinelSet {
            _dir: dir,
            master,
            _replica: replica,
            sentinels,
        }
    }

    fn store(&self, prefix: &str, replica_acks: u32) -> RedisStore {
        let sentinels = self
            .sentinels
            .iter()
            .map(|s| Secret::new(s.url()))
            .collect();
        let options = RedisOptions {
            timeouts: quick(),
            ca_file: None,
            replica_acks,
        };
        RedisStore::open(
            &RedisTopology::Sentinel {
                sentinels,
                master: MASTER_NAME.to_owned(),
                password: None,
            },
            prefix,
            &options,
        )
        .unwrap()
    }

    /// The master port the sentinels name now.
    async fn master_port(&self) -> Option<u16> {
        let mut c = self.sentinels[0].raw().await.ok()?;
        let addr: Vec<String> = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(MASTER_NAME)
            .query_async(&mut c)
            .await
            .ok()?;
        addr.get(1)?.parse().ok()
    }
}

#[tokio::test]
async fn sentinel_failover_during_traffic_loses_no_acknowledged_session() {
    let mut set = SentinelSet::start().await;
    let p = prefix();
    let store = Arc::new(set.store(&p, 1));
    let ttl = Duration::from_secs(600);
    store.ping().await.unwrap();
    let old_master = set.master.port;

    // Sign-ins: an SSO session and its role-session set per iteration, from four writers,
    // each keeping what was acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (store, stop, acks) = (store.clone(), stop.clone(), acks.clone());
            tokio::spawn(async move {
                let (mut acked, mut failed) = (Vec::new(), 0u32);
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let r = format!("w{w}-{i}");
                    let key = keyspace::SSO_SESSION.key([&r]);
                    match store.put(&key, r.as_bytes(), ttl).await {
                        Ok(()) => {
                            acked.push(r);
                            acks.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(StoreError::Unavailable(_)) => {
                            failed += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(e) => panic!("unexpected store error: {e}"),
                    }
                    i += 1;
                }
                (acked, failed)
            })
        })
        .collect();

    until(
        "traffic on the first master",
        Duration::from_secs(20),
        || async { acks.load(Ordering::Relaxed) >= 200 },
    )
    .await;
    set.master.kill();
    let killed_at = Instant::now();
    until(
        "a replica to be promoted",
        Duration::from_secs(20),
        || async { matches!(set.master_port().await, Some(port) if port != old_master) },
    )
    .await;
    let promoted_after = killed_at.elapsed();
    // With one replica asked for and the only replica promoted, writes wait for a replica:
    // the old master's machine comes back, empty, as a replica of the new master. It is
    // never to be promoted while it has not caught up (priority 0): on a loaded machine
    // a second, spurious failover could otherwise pick it mid-sync and lose everything,
    // whatever Lanyard does (seen here with a 500 ms down-after).
    let new_master = set.master_port().await.unwrap();
    set.master.respawn_with(&[
        "--replicaof".to_owned(),
        "127.0.0.1".to_owned(),
        new_master.to_string(),
        "--replica-priority".to_owned(),
        "0".to_owned(),
    ]);
    // Traffic goes on against the new master, then stops.
    until(
        "writes to succeed again",
        Duration::from_secs(20),
        || async { store.put("probe", b"1", ttl).await.is_ok() },
    )
    .await;
    let before = acks.load(Ordering::Relaxed);
    until(
        "traffic on the new master",
        Duration::from_secs(20),
        || async { acks.load(Ordering::Relaxed) >= before + 100 },
    )
    .await;
    stop.store(true, Ordering::Relaxed);

    let (mut acked, mut failed) = (Vec::new(), 0);
    for w in writers {
        let (a, f) = w.await.unwrap();
        acked.extend(a);
        failed += f;
    }
    eprintln!(
        "sentinel failover: {} writes acknowledged, {failed} refused, promoted after {} ms",
        acked.len(),
        promoted_after.as_millis()
    );
    let mut lost = Vec::new();
    for r in &acked {
        let key = keyspace::SSO_SESSION.key([r]);
        if store.get(&key).await.unwrap().as_deref() != Some(r.as_bytes()) {
            lost.push(r.clone());
        }
    }
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    // The single-use take works on the new master, with its acknowledgement.
    store.put("code", b"c", ttl).await.unwrap();
    assert_eq!(store.take("code").await.unwrap().unwrap(), b"c");
    assert_eq!(store.take("code").await.unwrap(), None);
}

// --- rediss:// ------------------------------------------------------------------------------

/// A CA and a server certificate for 127.0.0.1 and localhost, written into `dir`.
fn make_tls(dir: &std::path::Path) -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Lanyard Redis test CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    std::fs::write(path("ca.pem"), ca.pem()).unwrap();
    std::fs::write(path("server.pem"), cert.pem()).unwrap();
    std::fs::write(path("server.key"), key.serialize_pem()).unwrap();
    (path("ca.pem"), path("server.pem"), path("server.key"))
}

#[tokio::test]
async fn rediss_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_tls(dir.path());
    let tls_port = free_port();
    let args: Vec<String> = [
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        "no",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _server = Node::spawn(dir.path(), &args);
    let url = Secret::new(format!("rediss://127.0.0.1:{tls_port}"));
    let open = |ca_file: Option<std::path::PathBuf>| {
        RedisStore::open(
            &RedisTopology::Standalone { url: url.clone() },
            &prefix(),
            &RedisOptions {
                timeouts: quick(),
                ca_file,
                replica_acks: 0,
            },
        )
        .unwrap()
    };
    let trusted = open(Some(ca.clone().into()));
    until("the TLS server", Duration::from_secs(10), || async {
        trusted.ping().await.is_ok()
    })
    .await;
    let ttl = Duration::from_secs(60);
    trusted.put("k", b"over TLS", ttl).await.unwrap();
    assert_eq!(trusted.get("k").await.unwrap().unwrap(), b"over TLS");
    assert_eq!(trusted.take("k").await.unwrap().unwrap(), b"over TLS");
    assert_eq!(trusted.take("k").await.unwrap(), None);

    // Without the CA the server's certificate is not trusted: no connection, and the
    // error says the store is unavailable rather than going on in clear text.
    let untrusted = open(None);
    assert!(matches!(
        untrusted.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    // A plain redis:// client to the TLS port gets nowhere either.
    let plain =
        RedisStore::connect(&format!("redis://127.0.0.1:{tls_port}"), "p:", quick()).unwrap();
    assert!(plain.ping().await.is_err());
}

// --- Throughput (run by hand: `cargo test --test it measure_topologies -- --ignored --nocapture`)

/// put, get and take per second through the store, 16 tasks at once, on each topology.
async fn throughput(name: &str, store: Arc<RedisStore>) {
    const TASKS: usize = 16;
    const EACH: usize = 250;
    let ttl = Duration::from_secs(60);
    for op in ["put", "get", "take"] {
        let started = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..EACH {
                        let key = keyspace::CODE.key([&format!("{t}-{i}")]);
                        match op {
                            "put" => store.put(&key, b"0123456789abcdef", ttl).await.unwrap(),
                            "get" => assert!(store.get(&key).await.unwrap().is_some()),
                            _ => assert!(store.take(&key).await.unwrap().is_some()),
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let rate = (TASKS * EACH) as f64 / started.elapsed().as_secs_f64();
        eprintln!("{name:<24} {op:<5} {rate:>8.0}/s");
    }
}

#[tokio::test]
#[ignore = "a measurement, not a test"]
async fn measure_topologies() {
    let options = RedisOptions {
        timeouts: quick(),
        ..RedisOptions::default()
    };
    let single = crate::private_redis::PrivateRedis::start().await;
    let url = Secret::new(single.url());
    let store = RedisStore::open(&RedisTopology::Standalone { url }, &prefix(), &options);
    throughput("standalone", Arc::new(store.unwrap())).await;
    let cluster = Cluster::start().await;
    throughput("cluster (3 masters)", Arc::new(cluster.store(&prefix()))).await;
    let set = SentinelSet::start().await;
    throughput("sentinel, no WAIT", Arc::new(set.store(&prefix(), 0))).await;
    throughput("sentinel, WAIT 1", Arc::new(set.store(&prefix(), 1))).await;
}
