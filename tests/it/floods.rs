//! Slow clients and floods against a running Lanyard (loopback only, each test stops by
//! itself within seconds): slowloris connections that send half a request head and then
//! nothing, the connection limit, graceful shutdown with idle keep-alive connections, and
//! a flood of wrong client secrets at the token endpoint (`/healthz` latency and RSS of a
//! real `lanyard serve` process).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Lanyard, T0, config_text, memory_store, start_with};
use lanyard::clock::UnixTime;

/// `/healthz` answer times over `n` probes, each on a new connection, sorted; a probe
/// that gets no answer within 5 s counts as 5 s and fails the test afterwards.
async fn probe_healthz(url: &str, n: usize, pause: Duration) -> Vec<Duration> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let r = client.get(format!("{url}/healthz")).send().await;
        let took = started.elapsed();
        let ok = r.map(|r| r.status().as_u16()).ok() == Some(200);
        times.push(if ok { took } else { Duration::from_secs(5) });
        tokio::time::sleep(pause).await;
    }
    times.sort_unstable();
    times
}

/// The `p`th percentile (0–100) of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let i = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted[i.min(sorted.len() - 1)]
}

async fn start(limits: &str) -> (Lanyard, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let text = config_text(
        &format!("[sessions]\nstore = \"memory\"\n[limits]\n{limits}"),
        keys.path(),
    );
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    (start_with(&text, memory_store(&clock), clock).await, keys)
}

/// Opens a connection that sends half a request head, then nothing.
async fn slow_connection(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: lanyard\r\nX-Slow: ")
        .await
        .unwrap();
    s
}

/// Whether the server closed the connection (EOF or reset) within `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // An answer (such as 408) before the close: keep reading.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_connections_are_cut_off_and_healthz_stays_fast() {
    lanyard::server::raise_open_file_limit();
    let (l, _keys) = start("header_read_timeout = \"3s\"\n").await;
    let addr = l.url.trim_start_matches("http://").to_owned();
    let opened = Instant::now();
    let mut slow = Vec::with_capacity(2000);
    for _ in 0..2000 {
        slow.push(slow_connection(&addr).await);
    }
    let connected = opened.elapsed();
    let times = probe_healthz(&l.url, 50, Duration::from_millis(2)).await;
    let (p50, p99) = (percentile(&times, 50), percentile(&times, 99));
    eprintln!("2000 slow connections opened in {connected:?}; healthz p50 {p50:?}, p99 {p99:?}");
    assert!(
        opened.elapsed() < Duration::from_secs(3),
        "the probes ran while every slow connection was open"
    );
    assert!(p99 < Duration::from_millis(100), "healthz p99 {p99:?}");
    // After the header timeout every slow connection has been closed by the server.
    let deadline = opened + Duration::from_secs(5);
    let mut still_open = 0;
    for s in &mut slow {
        let left = deadline.saturating_duration_since(Instant::now());
        if !closed_within(s, left.max(Duration::from_millis(1))).await {
            still_open += 1;
        }
    }
    assert_eq!(
        still_open, 0,
        "slow connections left open after the timeout"
    );
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_at_once() {
    let (l, _keys) = start("max_connections = 20\nheader_read_timeout = \"1s\"\n").await;
    let addr = l.url.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..20 {
        slow.push(slow_connection(&addr).await);
    }
    // Let the server take them all before the extra one arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: lanyard\r\n\r\n")
        .await;
    assert!(
        closed_within(&mut extra, Duration::from_millis(500)).await,
        "a connection beyond the limit is closed at once"
    );
    // The slow ones are cut off after the header timeout; then there is room again.
    for s in &mut slow {
        assert!(closed_within(s, Duration::from_secs(3)).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let times = probe_healthz(&l.url, 5, Duration::ZERO).await;
    assert_eq!(times.len(), 5);
}

#[tokio::test]
async fn graceful_shutdown_ends_with_idle_keep_alive_connections_open() {
    let keys = tempfile::tempdir().unwrap();
    let text = config_text(
        "[sessions]\nstore = \"memory\"\n[limits]\nheader_read_timeout = \"1s\"\n",
        keys.path(),
    );
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let config = lanyard::config::Config::from_toml(&text, &examples, &|_| None).unwrap();
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let state = lanyard::server::build_state(
        config,
        memory_store(&clock),
        Arc::new(clock.clone()) as lanyard::clock::SharedClock,
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lanyard::web::serve(listener, state, async {
        let _ = rx.await;
    }));
    // A keep-alive connection left idle in the client's pool, and one still sending its
    // headers: the first is closed at once, the second by the header timeout.
    let client = reqwest::Client::new();
    let r = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let _ = r.text().await;
    let half = slow_connection(url.trim_start_matches("http://")).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    tx.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(
        matches!(ended, Ok(Ok(Ok(())))),
        "serve returned after shutdown: {ended:?}"
    );
    drop(half);
}

/// The resident set of process `pid`, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A `lanyard serve` process, killed when dropped.
pub(crate) struct Served {
    pub(crate) child: std::process::Child,
    pub(crate) url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the real binary with `text` (its `bind` set to a free port) and waits until it
/// answers.
pub(crate) async fn serve_binary(text: &str, dir: &std::path::Path) -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = text.replace(
        "bind = \"127.0.0.1:0\"",
        &format!("bind = \"127.0.0.1:{port}\""),
    );
    // Policy documents are found next to the config file, as in `examples/`.
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policies");
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join("policies").join(path.file_name().unwrap())).unwrap();
    }
    let config = dir.join("lanyard.toml");
    // The default audit database sits beside the keys folder; when that folder is `dir`
    // itself, the database would land in the shared temporary directory: give it one here.
    let keys_in_dir = text.contains(&format!("keys_dir = \"{}\"", dir.display()));
    let text = if keys_in_dir && !text.contains("[audit]") {
        let db = dir.join("audit.db");
        format!("{text}\n[audit]\ndatabase = \"sqlite:{}\"\n", db.display())
    } else {
        text.to_owned()
    };
    std::fs::write(&config, text).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let served = Served {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{}/healthz", served.url)).send().await
            && r.status() == 200
        {
            return served;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("lanyard serve did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_wrong_client_secrets_keeps_healthz_fast_and_memory_bounded() {
    use argon2::password_hash::PasswordHasher;
    let dir = tempfile::tempdir().unwrap();
    // A person-chosen secret, hashed at argon2id's default cost as `hash-password` does.
    let hash = argon2::Argon2::default()
        .hash_password(b"a secret somebody chose")
        .unwrap()
        .to_string();
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", &dir.path().join("keys"));
    text.push_str(&format!(
        "\n[[clients]]\nid = \"deployer\"\nsecret_hash = \"{hash}\"\n\
         grant_types = [\"client_credentials\"]\nmachine_role = \"engineer\"\n"
    ));
    let served = serve_binary(&text, dir.path()).await;
    let pid = served.child.id();
    let baseline = rss_kib(pid).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // 256 connections guessing the secret, each sending its next guess when answered.
    let flood = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let mut guessers = tokio::task::JoinSet::new();
    for i in 0..256 {
        let (flood, stop, url) = (flood.clone(), Arc::clone(&stop), served.url.clone());
        guessers.spawn(async move {
            let mut answered = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let guess = format!("guess-{i}-{answered}");
                let r = flood
                    .post(format!("{url}/oauth2/token"))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", "deployer"),
                        ("client_secret", guess.as_str()),
                    ])
                    .send()
                    .await;
                if let Ok(r) = r {
                    assert!(matches!(r.status().as_u16(), 401 | 503), "{}", r.status());
                    let _ = r.bytes().await;
                    answered += 1;
                }
            }
            answered
        });
    }
    // RSS sampled all along.
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampler = {
        let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    // Let the flood build up, then probe.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let times = probe_healthz(&served.url, 50, Duration::from_millis(20)).await;
    stop.store(true, Ordering::Relaxed);
    let mut answered = 0;
    while let Some(n) = guessers.join_next().await {
        answered += n.unwrap();
    }
    sampler.await.unwrap();
    let peak_mib = peak.load(Ordering::Relaxed) / 1024;
    let (p50, p99) = (percentile(&times, 50), percentile(&times, 99));
    eprintln!(
        "flood of 256 wrong-secret connections: {answered} answers; healthz p50 {p50:?}, \
         p99 {p99:?}; RSS {} MiB before, peak {peak_mib} MiB",
        baseline / 1024
    );
    assert!(p99 < Duration::from_millis(100), "healthz p99 {p99:?}");
    assert!(peak_mib < 150, "RSS peaked at {peak_mib} MiB");
}

#[tokio::test]
async fn generated_client_secrets_use_a_fast_hash_and_must_be_long() {
    use lanyard::op::clients::{fast_hash, generate_secret};
    use lanyard::secret::Secret;
    let keys = tempfile::tempdir().unwrap();
    let (secret, hash) = generate_secret();
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    let client = |id: &str, hash: &str| {
        format!(
            "\n[[clients]]\nid = \"{id}\"\nsecret_hash = \"{hash}\"\n\
             grant_types = [\"client_credentials\"]\nmachine_role = \"machine\"\n"
        )
    };
    // The role whose trust policy names both clients.
    text.push_str(
        "\n[[roles]]\nname = \"machine\"\ntrust_policy = { Version = \"2012-10-17\", Statement = [\
         { Effect = \"Allow\", Action = \"sts:AssumeRole\", Principal = { AWS = [\
         \"arn:lanyard:iam:::client/generated\", \"arn:lanyard:iam:::client/short\"] } }] }\n",
    );
    text.push_str(&client("generated", &hash));
    // A short secret given a sha256: hash by hand is refused even when it matches.
    text.push_str(&client("short", &fast_hash(&Secret::new("short-secret"))));
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let l = start_with(&text, memory_store(&clock), clock).await;
    let token = |id: &'static str, secret: String| {
        let url = l.at("/oauth2/token");
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", id),
                    ("client_secret", secret.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        token("generated", secret.expose_secret().to_owned()).await,
        200
    );
    let mut wrong = secret.expose_secret().to_owned();
    wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
    assert_eq!(token("generated", wrong).await, 401);
    assert_eq!(token("short", "short-secret".to_owned()).await, 401);
}

#[test]
fn client_secret_prints_a_secret_and_its_hash() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .arg("client-secret")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0].len(), 43);
    let expected = lanyard::op::clients::fast_hash(&lanyard::secret::Secret::new(lines[0]));
    assert_eq!(lines[1], expected);
}
