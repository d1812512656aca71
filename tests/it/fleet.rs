//! Several `lanyard serve` processes as one service: three instances behind a real HAProxy
//! (Debian's `/usr/sbin/haproxy`, on loopback), round robin with no stickiness, sharing the
//! real Redis (a key prefix of the test's own), one PostgreSQL audit trail (a database of
//! the test's own) and one set of signing keys.
//!
//! - Complete browser sign-ins run under load while instance 1 is killed (SIGKILL) and
//!   instance 2 is stopped gracefully (SIGTERM: `/readyz` 503, drain, exit 0) and started
//!   again on its port. Every sign-in completes, except those with a request in flight on
//!   the killed instance when it died; HAProxy names the instance that answered each
//!   request in a response header, so each failure is attributed, not guessed.
//! - A sign-out on one instance is refused at once by another (no sleep in between).

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::audit::PgDatabase;
use crate::harness::{cheap_hash, config_text, csrf_of, token_of};

const HAPROXY: &str = "/usr/sbin/haproxy";
const REDIS: &str = "redis://127.0.0.1:6379";
/// Browsers signing in at once, each one sign-in after the other.
const CLIENTS: usize = 8;
/// How long a loaded two-core machine may take for anything the test waits on.
const PATIENCE: Duration = Duration::from_secs(60);
/// The response headers HAProxy adds (see [`haproxy_config`]): which instance answered,
/// and how many times HAProxy retried the request (`+` when it went to another one).
const BACKEND: &str = "x-lanyard-backend";
const RETRIES: &str = "x-lanyard-retries";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---- the fleet ------------------------------------------------------------------------

/// One `lanyard serve` process on a port of its own, kept across restarts.
struct Instance {
    name: String,
    port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Instance {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url())
    }

    /// Starts the process; its log is appended to its log file.
    fn spawn(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_lanyard"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env_remove("LANYARD_CONFIG")
            .env("LANYARD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Waits until `/readyz` answers 200.
    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Ok(r) = client.get(self.at("/readyz")).send().await
                && r.status() == 200
            {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!(
                    "{} exited ({status}) at start:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} did not become ready:\n{}", self.name, self.log_text());
    }

    fn pid(&self) -> rustix::process::Pid {
        rustix::process::Pid::from_child(self.child.as_ref().unwrap())
    }

    /// Waits for the process to exit on its own.
    async fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit after SIGTERM:\n{}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Instances of one config (the same file but for `bind`), started at once.
struct Fleet {
    instances: Vec<Instance>,
    prefix: String,
    db: PgDatabase,
    dir: tempfile::TempDir,
}

impl Fleet {
    /// `n` instances on free ports, the service's public URL being `public_url` (the load
    /// balancer's), or the first instance's when `None`.
    async fn start(n: usize, public_url: Option<String>) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let db = PgDatabase::create().await;
        let prefix = format!(
            "lanyard-it:fleet:{}:",
            lanyard::session::random_id().expose_secret()
        );
        // One signing key for all, made before any instance starts (else each would
        // generate its own, and a token of one would not verify on another).
        let keys = dir.path().join("keys");
        let out = Command::new(env!("CARGO_BIN_EXE_lanyard"))
            .args(["keys", "generate", "--alg", "ES256", "--dir"])
            .arg(&keys)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Policy documents are found beside the config, as in `examples/`.
        let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policies");
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        for entry in std::fs::read_dir(policies).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(
                &path,
                dir.path().join("policies").join(path.file_name().unwrap()),
            )
            .unwrap();
        }
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let public_url = public_url.unwrap_or_else(|| format!("http://127.0.0.1:{}", ports[0]));
        // Every request comes from 127.0.0.1 (HAProxy, or the test) and signs alice in,
        // eight at a time: the per-address cap on pending logins and the sign-in limits
        // (which reserve each attempt against the account and the address before the
        // password is checked) are raised. A drain of 2 s is ten health checks.
        let shared = format!(
            "[sessions]\nstore = \"redis\"\nredis_url = \"{REDIS}\"\nkey_prefix = \"{prefix}\"\n\
             [sign_in]\nmax_account_failures = 1000000\nmax_ip_failures = 1000000\n\
             [limits]\nshutdown_delay = \"2s\"\nmax_pending_logins_per_address = 1000000\n\
             [audit]\ndatabase = \"{}\"\n",
            db.url()
        );
        let mut text = config_text(&shared, &keys).replace("http://127.0.0.1:8080", &public_url);
        text.push_str(&format!(
            "\n[[clients]]\nid = \"api\"\nsecret_hash = \"{}\"\ngrant_types = []\nintrospect = \"any\"\n",
            cheap_hash("api-secret")
        ));
        let mut instances = Vec::new();
        for (i, port) in ports.into_iter().enumerate() {
            let name = format!("l{}", i + 1);
            let config = dir.path().join(format!("{name}.toml"));
            let own = text.replace(
                "bind = \"127.0.0.1:0\"",
                &format!("bind = \"127.0.0.1:{port}\""),
            );
            std::fs::write(&config, own).unwrap();
            let mut instance = Instance {
                log: dir.path().join(format!("{name}.log")),
                name,
                port,
                config,
                child: None,
            };
            instance.spawn();
            instances.push(instance);
        }
        for instance in &mut instances {
            instance.wait_ready().await;
        }
        Fleet {
            instances,
            prefix,
            db,
            dir,
        }
    }

    /// Credentials issued according to the shared audit trail.
    async fn credentials_issued(&self) -> i64 {
        let pool = sqlx::PgPool::connect(&self.db.url()).await.unwrap();
        let (n,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM audit_events WHERE event = 'credentials.issued'")
                .fetch_one(&pool)
                .await
                .unwrap();
        pool.close().await;
        n
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // The instances stop first; the run's sessions and counters go with them.
        self.instances.clear();
        if let Ok(mut conn) = redis::Client::open(REDIS).and_then(|c| c.get_connection()) {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{}*", self.prefix))
                .query(&mut conn)
                .unwrap_or_default();
            for chunk in keys.chunks(1000) {
                let _: redis::RedisResult<()> = redis::cmd("UNLINK").arg(chunk).query(&mut conn);
            }
        }
    }
}

// ---- the load balancer ----------------------------------------------------------------

/// HAProxy's configuration for the fleet.
fn haproxy_config(port: u16, backends: &[(&str, u16)]) -> String {
    let servers: String = backends
        .iter()
        .map(|(name, port)| format!("    server {name} 127.0.0.1:{port} check\n"))
        .collect();
    format!(
        r#"global
    log stderr format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 30s
    timeout server 20s
    timeout check 2s

frontend fleet
    bind 127.0.0.1:{port}
    default_backend lanyard
    # On every answer, HAProxy's own errors (502, 503) included: which instance it went
    # to, and how many retries it took ("+" when redispatched to another instance).
    http-after-response set-header X-Lanyard-Backend %s
    http-after-response set-header X-Lanyard-Retries %rc
    log-format "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta }} %ST %B %tsc %ac/%fc/%bc/%sc/%rc %{{+Q}}r"

backend lanyard
    balance roundrobin
    # Readiness: an instance leaves the rotation at its first 503 (SIGTERM, or the session
    # store unreachable) or refused check, and comes back after two good ones.
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 200ms fall 1 rise 2
    # A request that could not be sent (connection refused: the instance is gone, and
    # the check has not noticed yet) is sent again, to another instance each time.
    retries 3
    option redispatch 1
    # A request that reached an instance and got no answer is sent again only when it is
    # a GET or HEAD. Lanyard's POSTs spend single-use items and count attempts: the
    # password form takes its login transaction and reserves a sign-in attempt against
    # the account and the address, the role picker issues a role session and a
    # credential. The takes are atomic in the store, so a replay can never spend an item
    # twice; but it would fail (transaction already taken), count a second attempt, or
    # issue a second credential nobody receives. So a POST that was in flight on a
    # crashed instance is not retried: the client gets a 502 and tries again, and the
    # test counts it.
    retry-on conn-failure empty-response response-timeout
    http-request disable-l7-retry unless METH_GET
{servers}"#
    )
}

/// A running HAProxy in front of the fleet.
struct Haproxy {
    url: String,
    log: PathBuf,
    child: Child,
}

impl Haproxy {
    fn start(dir: &Path, port: u16, backends: &[(&str, u16)]) -> Haproxy {
        let config = dir.join("haproxy.cfg");
        std::fs::write(&config, haproxy_config(port, backends)).unwrap();
        let check = Command::new(HAPROXY)
            .arg("-c")
            .arg("-f")
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "haproxy -c: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let log = dir.join("haproxy.log");
        let child = Command::new(HAPROXY)
            .arg("-f")
            .arg(&config)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Haproxy {
            url: format!("http://127.0.0.1:{port}"),
            log,
            child,
        }
    }

    /// Waits until HAProxy has sent requests to each of `names`.
    async fn wait_for_backends(&self, names: &[&str]) {
        let client = reqwest::Client::new();
        let mut seen = std::collections::BTreeSet::new();
        let deadline = Instant::now() + PATIENCE;
        while names.iter().any(|n| !seen.contains(*n)) {
            assert!(
                Instant::now() < deadline,
                "HAProxy sent nothing to some of {names:?} (seen {seen:?}):\n{}",
                self.log_text()
            );
            if let Ok(r) = client.get(format!("{}/readyz", self.url)).send().await
                && r.status() == 200
                && let Some(b) = r.headers().get(BACKEND)
            {
                seen.insert(b.to_str().unwrap().to_owned());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- sign-ins -------------------------------------------------------------------------

/// One HTTP request of a sign-in: when it was sent and answered (since the run began),
/// who answered, and the status or the transport error.
#[derive(Debug, Clone)]
struct Hop {
    step: &'static str,
    sent: Duration,
    done: Duration,
    backend: String,
    retries: String,
    outcome: Result<u16, String>,
}

/// What the browsers share: the base URL, the run's clock, and live counts.
struct Load {
    base: String,
    t0: Instant,
    stop: AtomicBool,
    signed_in: AtomicU64,
    /// Requests answered after HAProxy retried them (the first try found no instance, or,
    /// for a GET, one that died under it).
    retried: AtomicU64,
    /// Answers per instance name.
    answers: Mutex<BTreeMap<String, u64>>,
}

impl Load {
    fn new(base: String) -> Self {
        Load {
            base,
            t0: Instant::now(),
            stop: AtomicBool::new(false),
            signed_in: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            answers: Mutex::new(BTreeMap::new()),
        }
    }

    fn now(&self) -> Duration {
        self.t0.elapsed()
    }

    fn answers(&self, backend: &str) -> u64 {
        self.answers
            .lock()
            .unwrap()
            .get(backend)
            .copied()
            .unwrap_or(0)
    }

    /// Waits until `done`, with the run's patience.
    async fn wait(&self, what: &str, done: impl Fn(&Load) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends one request of a sign-in, records it in `hops`, and returns the body when
    /// the status is `expect`.
    async fn hop(
        &self,
        hops: &mut Vec<Hop>,
        step: &'static str,
        request: reqwest::RequestBuilder,
        expect: u16,
    ) -> Option<String> {
        let sent = self.now();
        let answer = request.send().await;
        let (backend, retries, outcome, body) = match answer {
            Err(e) => (String::new(), String::new(), Err(format!("{e:?}")), None),
            Ok(r) => {
                let header = |name: &str| {
                    r.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let (backend, retries) = (header(BACKEND), header(RETRIES));
                let status = r.status().as_u16();
                match r.text().await {
                    Ok(body) if status == expect => (backend, retries, Ok(status), Some(body)),
                    Ok(body) => {
                        let excerpt: String = body.chars().take(300).collect();
                        (
                            backend,
                            retries,
                            Err(format!("status {status}: {excerpt}")),
                            None,
                        )
                    }
                    Err(e) => (backend, retries, Err(format!("body: {e:?}")), None),
                }
            }
        };
        if body.is_some() {
            if !retries.is_empty() && retries != "0" {
                self.retried.fetch_add(1, Ordering::Relaxed);
            }
            *self
                .answers
                .lock()
                .unwrap()
                .entry(backend.clone())
                .or_default() += 1;
        }
        hops.push(Hop {
            step,
            sent,
            done: self.now(),
            backend,
            retries,
            outcome,
        });
        body
    }

    /// One complete sign-in of browser `b` at `base`: the password form, the role
    /// picker, the choice of a role, the credentials page. Returns its requests, and the
    /// token and credentials page when every one succeeded.
    async fn sign_in(
        &self,
        b: &reqwest::Client,
        base: &str,
    ) -> (Vec<Hop>, Option<(String, String)>) {
        let mut hops = Vec::new();
        let done = async {
            let form = self
                .hop(
                    &mut hops,
                    "GET /auth/corp",
                    b.get(format!("{base}/auth/corp")),
                    200,
                )
                .await?;
            let csrf = csrf_of(&form);
            let signin = b.post(format!("{base}/auth/corp")).form(&[
                ("username", "alice"),
                ("password", "alice-pw"),
                ("csrf", csrf.as_str()),
            ]);
            self.hop(&mut hops, "POST /auth/corp", signin, 303).await?;
            let picker = self
                .hop(&mut hops, "GET /roles", b.get(format!("{base}/roles")), 200)
                .await?;
            let csrf = csrf_of(&picker);
            let choose = b.post(format!("{base}/roles")).form(&[
                ("role", "engineer"),
                ("duration", "900"),
                ("csrf", csrf.as_str()),
            ]);
            self.hop(&mut hops, "POST /roles", choose, 303).await?;
            let page = self
                .hop(
                    &mut hops,
                    "GET /credentials",
                    b.get(format!("{base}/credentials")),
                    200,
                )
                .await?;
            Some((token_of(&page), page))
        }
        .await;
        (hops, done)
    }

    /// Signs in again and again until told to stop; returns the requests of each failed
    /// sign-in (the last one failed) and the number of those that completed.
    async fn browse(self: Arc<Self>) -> (u64, Vec<Vec<Hop>>) {
        let (mut completed, mut failed) = (0, Vec::new());
        while !self.stop.load(Ordering::Relaxed) {
            let (hops, done) = self.sign_in(&browser(), &self.base).await;
            if done.is_some() {
                completed += 1;
                self.signed_in.fetch_add(1, Ordering::Relaxed);
            } else {
                failed.push(hops);
            }
        }
        (completed, failed)
    }
}

/// A browser: a cookie jar of its own, redirects not followed (each hop is checked), and
/// a new connection for every request. On a kept-alive client connection, HAProxy answers
/// a request whose instance died under it by closing the connection without a word (the
/// client is expected to retry, as browsers do for idempotent requests), which leaves
/// nothing to attribute; on a fresh one it answers 502 with the instance's name.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

// ---- the tests ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_survive_a_killed_and_a_restarted_instance_behind_haproxy() {
    let started = Instant::now();
    let lb_port = free_port();
    let mut fleet = Fleet::start(3, Some(format!("http://127.0.0.1:{lb_port}"))).await;
    let backends: Vec<(&str, u16)> = fleet
        .instances
        .iter()
        .map(|i| (i.name.as_str(), i.port))
        .collect();
    let lb = Haproxy::start(fleet.dir.path(), lb_port, &backends);
    lb.wait_for_backends(&["l1", "l2", "l3"]).await;
    let setup = started.elapsed();

    let load = Arc::new(Load::new(lb.url.clone()));
    let browsers: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(Arc::clone(&load).browse()))
        .collect();
    let after = |n: u64| move |l: &Load| l.signed_in.load(Ordering::Relaxed) >= n;
    let warm = 2 * CLIENTS as u64;
    load.wait("sign-ins through all three", after(warm)).await;

    // SIGKILL instance 1 under load. It dies between the signal and its reaping (its
    // sockets close as the process exits; until then the kernel still completes
    // connections on its listener): a request sent to it in that span was in flight on
    // it when it was killed.
    let killed_at = load.now();
    fleet.instances[0].child.as_mut().unwrap().kill().unwrap();
    let _ = fleet.instances[0].child.take().unwrap().wait();
    let dead_at = load.now();
    let n = load.signed_in.load(Ordering::Relaxed) + warm;
    load.wait("sign-ins after the kill", after(n)).await;

    // SIGTERM instance 2: readiness withdrawn at once, still answering during the drain.
    let termed_at = load.now();
    rustix::process::kill_process(fleet.instances[1].pid(), rustix::process::Signal::TERM).unwrap();
    let probe = reqwest::Client::new();
    let deadline = Instant::now() + PATIENCE;
    let draining = loop {
        assert!(
            Instant::now() < deadline,
            "no 503 from /readyz after SIGTERM"
        );
        let r = probe
            .get(fleet.instances[1].at("/readyz"))
            .send()
            .await
            .expect("l2 keeps accepting connections while it drains");
        if r.status() == 503 {
            break r.text().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(draining.contains("shutting down"), "{draining}");
    let status = fleet.instances[1].wait_exit().await;
    let exited_at = load.now();
    assert_eq!(
        status.code(),
        Some(0),
        "{status}: {}",
        fleet.instances[1].log_text()
    );

    // Started again on the same port: back in the rotation after two good checks.
    fleet.instances[1].spawn();
    fleet.instances[1].wait_ready().await;
    let restarted_at = load.now();
    let before = load.answers("l2");
    load.wait("answers from the restarted l2", |l| {
        l.answers("l2") >= before + 2 * CLIENTS as u64
    })
    .await;
    let n = load.signed_in.load(Ordering::Relaxed) + CLIENTS as u64;
    load.wait("sign-ins after the restart", after(n)).await;
    load.stop.store(true, Ordering::Relaxed);
    let ended_at = load.now();

    let (mut completed, mut failed) = (0, Vec::new());
    for b in browsers {
        let (c, f) = b.await.unwrap();
        completed += c;
        failed.extend(f);
    }
    // Each failed sign-in ends with the request that failed; only one in flight on l1
    // when it was killed may fail.
    let mut causes: BTreeMap<String, u64> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for hops in &failed {
        let last = hops.last().unwrap();
        let cause = format!(
            "{} on {:?} after {:?} retries ({})",
            last.step,
            last.backend,
            last.retries,
            last.outcome
                .as_ref()
                .err()
                .map_or("?", |e| e.split(':').next().unwrap_or(e))
        );
        *causes.entry(cause).or_default() += 1;
        let in_flight_on_killed =
            last.backend == "l1" && last.sent <= dead_at && last.done >= killed_at;
        if !in_flight_on_killed {
            unexpected.push(last.clone());
        }
    }
    let answers = load.answers.lock().unwrap().clone();
    eprintln!(
        "fleet: setup {setup:?}; load {:.1} s: {completed} sign-ins completed, {} failed \
         {causes:?}; answers per instance {answers:?}, {} after retries; killed l1 at {killed_at:?} (dead at \
         {dead_at:?}), SIGTERM \
         l2 at {termed_at:?}, exited {exited_at:?}, back {restarted_at:?}, end {ended_at:?}",
        ended_at.as_secs_f64(),
        failed.len(),
        load.retried.load(Ordering::Relaxed),
    );
    assert!(
        unexpected.is_empty(),
        "sign-ins failed other than in flight on the killed instance (killed at \
         {killed_at:?}, dead at {dead_at:?}): {unexpected:#?}\nHAProxy:\n{}",
        lb.log_text()
            .lines()
            .filter(|l| !l.contains("} 200 ") && !l.contains("} 303 "))
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        failed.len() <= CLIENTS,
        "at most one request per browser was in flight"
    );
    assert!(answers.get("l2").copied().unwrap_or(0) > 0);
    // The shared audit trail kept an event for every credential handed out (and for any
    // whose answer died with l1).
    let issued = fleet.credentials_issued().await;
    assert!(
        issued >= completed as i64,
        "{issued} events for {completed} credentials"
    );
    eprintln!("fleet: test took {:?}", started.elapsed());
}

/// `POST /v1/authorize` on `base` for an engineer's action with `token`.
async fn may_deploy(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v1/authorize"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "action": "deploy:GetService",
            "resource": "arn:lanyard:deploy:::service/platform/api"
        }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Whether `token` is active according to introspection at `base`.
async fn active(base: &str, token: &str) -> bool {
    let r: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/oauth2/introspect"))
        .basic_auth("api", Some("api-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["active"].as_bool().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_on_one_instance_is_refused_at_once_by_another() {
    let fleet = Fleet::start(3, None).await;
    let (a, b, c) = (
        fleet.instances[0].url(),
        fleet.instances[1].url(),
        fleet.instances[2].url(),
    );
    // Signed in through A.
    let browser = browser();
    let (hops, done) = Load::new(a.clone()).sign_in(&browser, &a).await;
    let (token, page) = done.unwrap_or_else(|| panic!("sign-in on A: {hops:#?}"));
    // Valid everywhere, C included.
    assert_eq!(may_deploy(&c, &token).await, 200);
    assert!(active(&c, &token).await);
    assert_eq!(may_deploy(&b, &token).await, 200);

    // Signed out on B, refused on C at once.
    let r = browser
        .post(format!("{b}/signout"))
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(may_deploy(&c, &token).await, 401);
    assert!(!active(&c, &token).await);
    assert_eq!(may_deploy(&a, &token).await, 401);
}
