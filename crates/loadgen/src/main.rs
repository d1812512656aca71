//! `lanyard-loadgen`: a load tool for Lanyard. It starts Lanyard on 127.0.0.1 (Redis
//! sessions on the local Redis, a generated config), drives it over HTTP with keep-alive
//! clients, and reports requests per second with p50/p99 latencies. In the same run it
//! measures the machine's limits the scenarios are judged against: raw RS256 verification
//! and ES256 signing per second, and a bare axum handler doing one Redis GET.
//!
//! Traffic goes only to 127.0.0.1; every scenario stops after `--seconds`.
//!
//! ```text
//! cargo run --release -p lanyard-loadgen -- --seconds 10 --concurrency 32
//! ```
//!
//! With `--fleet 1,3` it runs the sign-in scenario against `lanyard serve` processes
//! behind HAProxy instead ([`fleet`]).

mod fleet;

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHasher;
use base64::Engine as _;
use clap::Parser;
use hdrhistogram::Histogram;
use lanyard::clock::{Clock, SharedClock, SystemClock, UnixTime};
use lanyard::config::Config;
use lanyard::tokens::{Algorithm, KeySet, generate_key};

mod signin;

/// The allocator of the `lanyard` binary, so that Lanyard runs here as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Load tool for Lanyard (loopback only).
#[derive(Debug, Parser)]
struct Args {
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Redis for Lanyard's sessions and the one-GET baseline (must be on loopback).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// Seconds of each crypto-limit measurement (ES256 sign, RS256 verify).
    #[arg(long, default_value_t = 2.0)]
    crypto_seconds: f64,
    /// The scenarios to run, comma-separated (`sts` brings its bound, `introspection` its
    /// one-GET baseline).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sts,introspection,code-flow"
    )]
    scenarios: Vec<Scenario>,
    /// Where the broker keeps its audit trail: `sqlite` (the default a deployment gets, in
    /// the run's temporary directory), `none` (no trail: what the trail costs), or `file`
    /// (JSON lines in the run's temporary directory).
    #[arg(long, value_enum, default_value = "sqlite")]
    audit: AuditSink,
    /// The `lanyard` binary scenario (4) and fleet mode run as their own processes
    /// (default: the one beside this tool). Repeat it to compare binaries side by side in
    /// scenario (4) (they take turns); fleet mode runs the first.
    #[arg(long)]
    lanyard_bin: Vec<std::path::PathBuf>,
    /// Scenario (4) with two roles, so that the person picks one on the role picker.
    #[arg(long)]
    signin_picker: bool,
    /// Fleet mode: `lanyard serve` processes behind HAProxy (see the `fleet` module).
    #[command(flatten)]
    fleet: fleet::FleetArgs,
}

/// The audit trail of the broker under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AuditSink {
    /// The default SQLite database.
    Sqlite,
    /// No audit trail.
    None,
    /// JSON lines in a file.
    File,
}

impl AuditSink {
    /// The `[audit]` section that selects this sink (`dir` holds the run's files).
    fn section(self, dir: &std::path::Path) -> String {
        match self {
            AuditSink::Sqlite => String::new(),
            AuditSink::None => "[audit]\ndatabase = \"none\"\n".to_owned(),
            AuditSink::File => format!(
                "[audit]\ndatabase = \"none\"\nfile = \"{}\"\n",
                dir.join("audit.jsonl").display()
            ),
        }
    }
}

/// A scenario of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// (1) STS web-identity exchange.
    Sts,
    /// (2) Introspection, next to the one-GET baseline.
    Introspection,
    /// (3) Authorization code flow.
    CodeFlow,
    /// (4) Federated sign-in through an upstream OpenID provider, Lanyard in its own
    /// process: its CPU time and Redis bytes per sign-in.
    Signin,
}

/// What one scenario measured.
struct Stats {
    name: String,
    ok: u64,
    errors: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
    first_error: Option<String>,
}

impl Stats {
    /// Adds another run of the same scenario.
    fn add(&mut self, other: Stats) -> Result<(), String> {
        self.ok += other.ok;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latency.add(other.latency).map_err(|e| e.to_string())?;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        Ok(())
    }

    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn print(&self) {
        println!(
            "| {:<44} | {:>10.0} | {:>9.2} | {:>9.2} | {:>6} |",
            self.name,
            self.rate(),
            self.latency.value_at_quantile(0.50) as f64 / 1000.0,
            self.latency.value_at_quantile(0.99) as f64 / 1000.0,
            self.errors
        );
        if let Some(e) = &self.first_error {
            println!("|   first error: {e}");
        }
    }
}

/// Runs `op` from `concurrency` tasks for `duration`; each call is one measured operation.
async fn drive<F, Fut>(
    name: &str,
    concurrency: usize,
    duration: Duration,
    op: F,
) -> Result<Stats, String>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
            let mut i = 0usize;
            while Instant::now() < deadline {
                let t = Instant::now();
                match op(worker * 1_000_000 + i).await {
                    Ok(()) => {
                        ok += 1;
                        if let Some(h) = hist.as_mut() {
                            let _ = h.record(t.elapsed().as_micros().max(1) as u64);
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
                i += 1;
            }
            (ok, errors, first_error, hist)
        }));
    }
    let mut stats = Stats {
        name: name.to_owned(),
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency: Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?,
        first_error: None,
    };
    for t in tasks {
        if let Ok((ok, errors, first_error, hist)) = t.await {
            stats.ok += ok;
            stats.errors += errors;
            if stats.first_error.is_none() {
                stats.first_error = first_error;
            }
            if let Some(h) = hist {
                let _ = stats.latency.add(h);
            }
        }
    }
    stats.elapsed = start.elapsed();
    Ok(stats)
}

/// Operations per second of `f` on one core, over about `duration`.
fn per_second(duration: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < duration {
        for _ in 0..32 {
            f();
        }
        n += 32;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn cheap_hash(password: &str) -> Result<String, String> {
    // The minimum argon2id cost the library accepts (m = 8 KiB, t = 1, p = 1): the bench
    // measures Lanyard, not the password hash.
    let params = argon2::Params::new(8, 1, 1, None).map_err(|e| e.to_string())?;
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// The broker's own limits for a load test: every request comes from 127.0.0.1 and
/// scenario (3) signs the one user `bench` in at full speed, so the per-address caps on
/// pending logins and authorizations and the sign-in lockouts (which reserve each attempt
/// against the account and the address before its password is checked) would refuse most
/// flows after the first few hundred and measure the limits instead of the flow.
const LOAD_LIMITS: &str = r#"[sign_in]
max_account_failures = 1000000000
max_ip_failures = 1000000000
[limits]
max_pending_logins_per_address = 1000000000
max_pending_logins = 1000000000
max_pending_authorizations_per_address = 1000000000
max_pending_authorizations = 1000000000
"#;

fn config_text(
    url: &str,
    keys: &std::path::Path,
    redis: &str,
    prefix: &str,
    idp: Option<&str>,
    audit: AuditSink,
) -> Result<String, String> {
    let audit = keys
        .parent()
        .map(|dir| audit.section(dir))
        .unwrap_or_default();
    Ok(format!(
        r#"
[server]
bind = "127.0.0.1:0"
public_url = "{url}"
[sessions]
store = "redis"
redis_url = "{redis}"
key_prefix = "{prefix}"
[tokens]
algorithm = "ES256"
keys_dir = "{keys}"
{limits}{audit}[[providers]]
id = "corp"
kind = "local"
[[providers.users]]
username = "bench"
password_hash = "{user}"
groups = ["engineering"]
{sts}[[roles]]
name = "bench"
max_session_duration = "1h"
permission_policies = ["p"]
trust_policy = {{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ Federated = "corp" }}, Action = "sts:AssumeRole" }}, {{ Effect = "Allow", Principal = {{ AWS = "arn:lanyard:iam:::client/machine" }}, Action = "sts:AssumeRole" }}] }}
[[policies]]
name = "p"
document = {{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "bench:*", Resource = "*" }}] }}
[[clients]]
id = "app"
secret_hash = "{app}"
redirect_uris = ["http://127.0.0.1:9/cb"]
allowed_roles = ["bench"]
introspect = "any"
[[clients]]
id = "machine"
secret_hash = "{machine}"
grant_types = ["client_credentials"]
machine_role = "bench"
"#,
        keys = keys.display(),
        limits = LOAD_LIMITS,
        sts = idp.map(sts_config).unwrap_or_default(),
        user = cheap_hash("bench-pw")?,
        app = cheap_hash("app-secret")?,
        machine = cheap_hash("machine-secret")?,
    ))
}

/// The upstream provider and the role of scenario (1): the provider at `idp`, trusted for
/// web identity tokens only (no client secret, not on the sign-in page), whose tokens for
/// [`STS_AUDIENCE`] may assume [`STS_ROLE`].
fn sts_config(idp: &str) -> String {
    format!(
        r#"[[providers]]
id = "ci"
kind = "oidc"
issuer = "{idp}"
client_id = "lanyard-sts"
client_auth = "none"
web_identity_audiences = ["{STS_AUDIENCE}"]
browser_sign_in = false
[[roles]]
name = "{STS_ROLE}"
max_session_duration = "1h"
permission_policies = ["p"]
trust_policy = {{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ Federated = "ci" }}, Action = "sts:AssumeRoleWithWebIdentity", Condition = {{ StringEquals = {{ "ci:aud" = "{STS_AUDIENCE}" }} }} }}] }}
"#
    )
}

/// How a server of the run is scheduled.
#[derive(Clone, Copy)]
enum Runtime {
    /// Its own multi-threaded tokio runtime (one worker per core), as `lanyard serve` runs.
    MultiThread,
    /// One thread (the stand-in upstream provider, which is not measured).
    CurrentThread,
}

/// A listener on 127.0.0.1 (non-blocking, for tokio) and its `http://` URL.
fn bind_loopback() -> Result<(std::net::TcpListener, String), String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    Ok((listener, url))
}

/// Serves `listener` from its own thread and runtime, named `name` (so that a profile
/// tells the servers' threads from the load generator's): `start` builds the server and
/// returns the future that serves. Returns once `start` has succeeded.
fn spawn_server<F, Fut, S>(
    name: &'static str,
    runtime: Runtime,
    listener: std::net::TcpListener,
    start: F,
) -> Result<(), String>
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: Future<Output = Result<S, String>>,
    S: Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut builder = match runtime {
            Runtime::MultiThread => tokio::runtime::Builder::new_multi_thread(),
            Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        };
        let built = builder.thread_name(name).enable_all().build();
        let rt = match built {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return;
            }
        };
        rt.block_on(async move {
            let started = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => start(l).await,
                Err(e) => Err(e.to_string()),
            };
            match started {
                Ok(serve) => {
                    let _ = tx.send(Ok(()));
                    serve.await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    });
    rx.recv().map_err(|e| e.to_string())?
}

/// Starts Lanyard on its own runtime; returns its URL.
fn start_lanyard(
    args: &Args,
    prefix: &str,
    keys: &std::path::Path,
    idp: Option<&str>,
) -> Result<String, String> {
    let (listener, url) = bind_loopback()?;
    let text = config_text(&url, keys, &args.redis, prefix, idp, args.audit)?;
    let config = Config::from_toml(&text, keys, &|_| None).map_err(|e| format!("{e:?}"))?;
    spawn_server(
        "lanyard",
        Runtime::MultiThread,
        listener,
        move |listener| async move {
            let clock: SharedClock = Arc::new(SystemClock);
            let store = lanyard::server::session_store(&config, Arc::clone(&clock))
                .await
                .map_err(|e| e.to_string())?;
            let state =
                lanyard::server::build_state(config, store, clock).map_err(|e| e.to_string())?;
            Ok(async move {
                let _ = lanyard::web::serve(listener, state, std::future::pending()).await;
            })
        },
    )?;
    Ok(url)
}

/// The `aud` of the web identity tokens of scenario (1), and what the role's trust
/// policy requires of `ci:aud`.
const STS_AUDIENCE: &str = "sts.lanyard";
/// The role scenario (1) assumes.
const STS_ROLE: &str = "ci-deploy";
/// How many distinct web identity tokens scenario (1) cycles through. Minting one costs an
/// RSA-2048 signature (about a millisecond), so they are made before the timed run.
const STS_TOKENS: usize = 2048;

/// The upstream OpenID Connect provider of scenario (1): discovery and a JWKS with the one
/// RS256 key of `keys`, served from its own thread on 127.0.0.1. Returns its issuer.
fn start_idp(keys: &KeySet) -> Result<String, String> {
    let (listener, issuer) = bind_loopback()?;
    let discovery = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    // Only the RS256 key (the directory holds the ES256 one too).
    let mut published = keys.jwks();
    published.keys.retain(|k| k.kid == keys.active_kid());
    let jwks = serde_json::to_value(published).map_err(|e| e.to_string())?;
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || std::future::ready(axum::Json(discovery.clone()))),
        )
        .route(
            "/jwks",
            axum::routing::get(move || std::future::ready(axum::Json(jwks.clone()))),
        );
    spawn_server(
        "idp",
        Runtime::CurrentThread,
        listener,
        |listener| async move {
            Ok(async move {
                let _ = axum::serve(listener, app).await;
            })
        },
    )?;
    Ok(issuer)
}

/// The request bodies of scenario (1): [`STS_TOKENS`] web identity tokens from `issuer`,
/// each with its own `jti` and `sub`, valid for an hour, already JSON-encoded. Minted on
/// every core before the timed run, so minting is not measured.
fn sts_bodies(keys: &KeySet, issuer: &str) -> Result<Vec<bytes::Bytes>, String> {
    let now = SystemClock.now().secs();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mint = |i: usize| -> Result<bytes::Bytes, String> {
        let claims = serde_json::json!({
            "iss": issuer,
            "sub": format!("repo:lanyard/bench:job:{i}"),
            "aud": STS_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "jti": lanyard::session::random_id().expose_secret(),
        });
        let token = keys.sign(&claims, "JWT").map_err(|e| e.to_string())?;
        let body = serde_json::json!({"role": STS_ROLE, "web_identity_token": token});
        serde_json::to_vec(&body)
            .map(bytes::Bytes::from)
            .map_err(|e| e.to_string())
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores)
            .map(|w| {
                let mint = &mint;
                scope.spawn(move || {
                    (w..STS_TOKENS)
                        .step_by(cores)
                        .map(mint)
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut bodies = Vec::with_capacity(STS_TOKENS);
        for w in workers {
            bodies.extend(w.join().map_err(|_| "a minting thread failed")??);
        }
        Ok(bodies)
    })
}

/// A Redis connection, of the kind Lanyard's store keeps (for the bare handlers and the
/// clean-up).
async fn redis_connection(url: &str) -> Result<redis::aio::ConnectionManager, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    redis::aio::ConnectionManager::new(client)
        .await
        .map_err(|e| e.to_string())
}

/// A bare axum handler doing one Redis GET: the ceiling of a handler that touches Redis.
/// It is served as Lanyard is, from its own multi-threaded runtime, so that both answer
/// the same load generator across the same runtime boundary. Returns its URL.
fn start_one_get(redis_url: &str, prefix: &str) -> Result<String, String> {
    let (listener, url) = bind_loopback()?;
    let redis_url = redis_url.to_owned();
    let key = format!("{prefix}baseline");
    spawn_server(
        "baseline",
        Runtime::MultiThread,
        listener,
        move |listener| async move {
            let conn = redis_connection(&redis_url).await?;
            let mut c = conn.clone();
            redis::cmd("SET")
                .arg(&key)
                .arg("v")
                .arg("EX")
                .arg(600)
                .query_async::<()>(&mut c)
                .await
                .map_err(|e| e.to_string())?;
            let app = axum::Router::new().route(
                "/get",
                axum::routing::get(move || {
                    let mut conn = conn.clone();
                    let key = key.clone();
                    async move {
                        let v: Option<String> = redis::cmd("GET")
                            .arg(&key)
                            .query_async(&mut conn)
                            .await
                            .ok()
                            .flatten();
                        if v.is_some() {
                            axum::http::StatusCode::OK
                        } else {
                            axum::http::StatusCode::NOT_FOUND
                        }
                    }
                }),
            );
            Ok(async move {
                let _ = axum::serve(listener, app).await;
            })
        },
    )?;
    Ok(format!("{url}/get"))
}

fn http() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1024)
        .build()
        .map_err(|e| e.to_string())
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn field(html: &str, name: &str) -> Result<String, String> {
    let m = format!("name=\"{name}\" value=\"");
    let i = html.find(&m).ok_or_else(|| format!("no {name} field"))? + m.len();
    let end = html[i..].find('"').ok_or("unterminated field")? + i;
    Ok(html[i..end].to_owned())
}

fn location(r: &reqwest::Response) -> Result<String, String> {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("expected a redirect, got {}", r.status()))
}

/// Where Lanyard's "Continue to the application" page sends the browser (its meta
/// refresh target, HTML entities decoded).
fn continue_target(html: &str) -> Result<String, String> {
    let marker = "<meta http-equiv=\"refresh\" content=\"0;url=";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .ok_or("expected the page that continues to the application")?;
    let end = html[start..]
        .find('"')
        .map(|i| i + start)
        .ok_or("unterminated meta refresh")?;
    Ok(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// One full authorization-code flow for a local user with a fresh browser.
async fn code_flow(base: &str) -> Result<(), String> {
    let b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .map_err(|e| e.to_string())?;
    let send =
        |r: reqwest::RequestBuilder| async move { r.send().await.map_err(|e| e.to_string()) };
    let authorize = format!(
        "{base}/oauth2/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid&state=s&nonce=n"
    );
    let r = send(b.get(&authorize)).await?;
    let signin = location(&r)?;
    let return_to = url::Url::parse(&format!("{base}{signin}"))
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned())
        .ok_or("no return_to")?;
    let form_url = format!(
        "{base}/auth/corp?return_to={}",
        url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
    );
    let html = send(b.get(&form_url))
        .await?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let csrf = field(&html, "csrf")?;
    let r = send(b.post(format!("{base}/auth/corp")).form(&[
        ("username", "bench"),
        ("password", "bench-pw"),
        ("csrf", csrf.as_str()),
    ]))
    .await?;
    let roles = location(&r)?;
    let r = send(b.get(format!("{base}{roles}"))).await?;
    let html = r.text().await.map_err(|e| e.to_string())?;
    let back = continue_target(&html)?;
    let code = code_in(&back)?;
    let r = send(
        b.post(format!("{base}/oauth2/token"))
            .basic_auth("app", Some("app-secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
            ]),
    )
    .await?;
    if r.status() != 200 {
        return Err(format!("token endpoint answered {}", r.status()));
    }
    Ok(())
}

/// One request of scenario (1) or its bound: a web identity token exchanged for
/// credentials at `url`.
async fn post_sts(
    client: reqwest::Client,
    url: Arc<str>,
    body: bytes::Bytes,
) -> Result<(), String> {
    let r = client
        .post(&*url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let body = r.bytes().await.map_err(|e| e.to_string())?;
    // Checked by bytes: the client's own JSON parsing is not the server's cost.
    if status == 200 && contains(&body, b"\"access_token\"") {
        Ok(())
    } else {
        Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ))
    }
}

/// Scenario (1), `POST /sts/assume-role-with-web-identity` with the pre-minted web
/// identity tokens of `bodies` in turn, side by side ([`side_by_side`]) with its bound:
/// the same requests answered by [`start_sts_bound`].
async fn sts_exchange(
    client: &reqwest::Client,
    lanyard_url: &str,
    bound_url: &str,
    bodies: Vec<bytes::Bytes>,
    args: &Args,
    duration: Duration,
) -> Result<(Stats, Stats), String> {
    let bodies = Arc::new(bodies);
    let op = |url: Arc<str>| {
        let c = client.clone();
        let bodies = Arc::clone(&bodies);
        move |i: usize| {
            post_sts(
                c.clone(),
                Arc::clone(&url),
                bodies[i % bodies.len()].clone(),
            )
        }
    };
    side_by_side(
        (
            "(1) bound: bare handler, same crypto + 1 SET",
            op(Arc::from(format!("{bound_url}/sts"))),
        ),
        (
            "(1) STS web-identity exchange",
            op(Arc::from(format!(
                "{lanyard_url}/sts/assume-role-with-web-identity"
            ))),
        ),
        args.concurrency,
        duration,
    )
    .await
}

/// The request of scenario (1), as the bound reads it.
#[derive(serde::Deserialize)]
struct BoundRequest {
    role: String,
    web_identity_token: String,
}

/// The claims of a web identity token the bound uses (the rest are validated by
/// jsonwebtoken: signature, `iss`, `aud`, `exp`).
#[derive(serde::Deserialize)]
struct BoundClaims {
    sub: String,
}

/// The bound of scenario (1): a bare axum handler doing only what any STS exchange must,
/// served as Lanyard is (its own runtime, the same Redis). It parses the JSON request,
/// verifies the RS256 web identity token with jsonwebtoken (key parsed once; signature,
/// `iss`, `aud`, `exp`), signs an ES256 access token, stores it with one Redis `SET`
/// and answers it as JSON. No policy, no session record, no headers, no logging: what
/// it reaches is the most an STS can reach on this machine with this load generator.
/// Returns its URL.
fn start_sts_bound(
    redis_url: &str,
    prefix: &str,
    issuer: &str,
    upstream_key: jsonwebtoken::DecodingKey,
    signer: Arc<KeySet>,
) -> Result<String, String> {
    let (listener, url) = bind_loopback()?;
    let redis_url = redis_url.to_owned();
    let prefix = prefix.to_owned();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[STS_AUDIENCE]);
    validation.set_issuer(&[issuer]);
    let own = url.clone();
    spawn_server(
        "bound",
        Runtime::MultiThread,
        listener,
        move |listener| async move {
            let conn = redis_connection(&redis_url).await?;
            let shared = Arc::new((upstream_key, validation, signer, prefix, own));
            let app = axum::Router::new().route(
                "/sts",
                axum::routing::post(move |body: bytes::Bytes| {
                    let shared = Arc::clone(&shared);
                    let mut conn = conn.clone();
                    async move {
                        use axum::http::StatusCode;
                        let (key, validation, signer, prefix, own) = &*shared;
                        let Ok(request) = serde_json::from_slice::<BoundRequest>(&body) else {
                            return Err(StatusCode::BAD_REQUEST);
                        };
                        if request.role != STS_ROLE {
                            return Err(StatusCode::FORBIDDEN);
                        }
                        let upstream = jsonwebtoken::decode::<BoundClaims>(
                            &request.web_identity_token,
                            key,
                            validation,
                        )
                        .map_err(|_| StatusCode::BAD_REQUEST)?;
                        let now = SystemClock.now().secs();
                        let jti = lanyard::session::random_id();
                        let claims = serde_json::json!({
                            "iss": own,
                            "sub": upstream.claims.sub,
                            "aud": "bound",
                            "iat": now,
                            "nbf": now,
                            "exp": now + 3600,
                            "jti": jti.expose_secret(),
                            "role": STS_ROLE,
                        });
                        let token = signer
                            .sign(&claims, "at+jwt")
                            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
                        redis::cmd("SET")
                            .arg(format!("{prefix}bound:{}", jti.expose_secret()))
                            .arg(&token)
                            .arg("EX")
                            .arg(3600)
                            .query_async::<()>(&mut conn)
                            .await
                            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
                        Ok(axum::Json(serde_json::json!({
                            "access_token": token,
                            "token_type": "Bearer",
                            "expires_in": 3600,
                        })))
                    }
                }),
            );
            Ok(async move {
                let _ = axum::serve(listener, app).await;
            })
        },
    )?;
    Ok(url)
}

/// How many turns each side of a comparison gets (see [`side_by_side`]).
const TURNS: u32 = 10;

/// Scenario (2), `POST /oauth2/introspect` of a machine client's access token with
/// `client_secret_basic`, and its baseline, a bare axum handler doing one Redis GET.
///
/// The two take turns ([`side_by_side`]).
async fn introspection(
    client: &reqwest::Client,
    lanyard_url: &str,
    args: &Args,
    prefix: &str,
    duration: Duration,
) -> Result<(Stats, Stats), String> {
    // The baseline's URL is parsed once, as Lanyard's is below.
    let get_url =
        url::Url::parse(&start_one_get(&args.redis, prefix)?).map_err(|e| e.to_string())?;
    let c = client.clone();
    let one_get = move |_| {
        let request = c.get(get_url.clone());
        async move {
            let r = request.send().await.map_err(|e| e.to_string())?;
            if r.status() == 200 {
                Ok(())
            } else {
                Err(format!("status {}", r.status()))
            }
        }
    };

    // A token to introspect: client_credentials for the machine client.
    let t: serde_json::Value = client
        .post(format!("{lanyard_url}/oauth2/token"))
        .basic_auth("machine", Some("machine-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token = t["access_token"]
        .as_str()
        .ok_or_else(|| format!("no token: {t}"))?
        .to_owned();
    // The client side is kept as lean as the baseline's GET, since it runs on the same
    // two cores as Lanyard: the URL, the form body (`token=…`) and the Basic credentials
    // are encoded once, not per request, and the answer is checked by its bytes (Lanyard
    // writes `active` first) instead of being parsed into a JSON tree. What Lanyard
    // receives is the same request `RequestBuilder::basic_auth` + `form` would send.
    let url =
        url::Url::parse(&format!("{lanyard_url}/oauth2/introspect")).map_err(|e| e.to_string())?;
    let body = bytes::Bytes::from(format!(
        "token={}",
        url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    ));
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("app:app-secret")
    );
    let authorization =
        reqwest::header::HeaderValue::from_str(&basic).map_err(|e| e.to_string())?;
    let form = reqwest::header::HeaderValue::from_static("application/x-www-form-urlencoded");
    let c = client.clone();
    let introspect = move |_| {
        let request = c
            .post(url.clone())
            .header(reqwest::header::AUTHORIZATION, authorization.clone())
            .header(reqwest::header::CONTENT_TYPE, form.clone())
            .body(body.clone());
        async move {
            let r = request.send().await.map_err(|e| e.to_string())?;
            let status = r.status();
            let answer = r.bytes().await.map_err(|e| e.to_string())?;
            if status == 200 && answer.starts_with(b"{\"active\":true,") {
                Ok(())
            } else {
                Err(format!(
                    "status {status}: {}",
                    String::from_utf8_lossy(&answer[..answer.len().min(300)])
                ))
            }
        }
    };

    side_by_side(
        ("baseline: axum handler + one Redis GET", one_get),
        ("(2) introspection (client_secret_basic)", introspect),
        args.concurrency,
        duration,
    )
    .await
}

/// Runs two operations in [`TURNS`] turns each of `duration / TURNS`, `a` first; each
/// result is the sum of its turns. A ratio of the two is then a side-by-side comparison
/// on the same machine in the same seconds, not two figures taken a quarter of a minute
/// apart on a shared virtual machine whose speed drifts (on the 2-core machine of
/// BENCHMARKS.md, one-GET rates of two-second turns of one run ranged 20–32 k/s).
async fn side_by_side<A, FutA, B, FutB>(
    a: (&str, A),
    b: (&str, B),
    concurrency: usize,
    duration: Duration,
) -> Result<(Stats, Stats), String>
where
    A: Fn(usize) -> FutA + Clone + Send + 'static,
    FutA: Future<Output = Result<(), String>> + Send,
    B: Fn(usize) -> FutB + Clone + Send + 'static,
    FutB: Future<Output = Result<(), String>> + Send,
{
    let turn = duration / TURNS;
    let mut first = drive(a.0, concurrency, turn, a.1.clone()).await?;
    let mut second = drive(b.0, concurrency, turn, b.1.clone()).await?;
    for _ in 1..TURNS {
        first.add(drive(a.0, concurrency, turn, a.1.clone()).await?)?;
        second.add(drive(b.0, concurrency, turn, b.1.clone()).await?)?;
    }
    Ok((first, second))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let report = if args.fleet.sizes.is_empty() {
        run(&args)
    } else {
        fleet::run(&args)
    };
    match report {
        Ok(report) => {
            println!("removed the run's Redis keys ({}*)", report.prefix);
            let failed: u64 = report.rows.iter().map(|r| r.errors).sum();
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                // The table is printed; failed requests make the figures suspect.
                eprintln!("lanyard-loadgen: {failed} requests failed");
                ExitCode::from(2)
            }
        }
        Err(e) => {
            eprintln!("lanyard-loadgen: {e}");
            ExitCode::from(1)
        }
    }
}

/// What a run measured, besides what it printed.
#[derive(Default)]
struct Report {
    /// Every row of the table, in order.
    rows: Vec<Stats>,
    /// The Redis key prefix of the run (nothing is left under it).
    prefix: String,
}

fn run(args: &Args) -> Result<Report, String> {
    let url = url::Url::parse(&args.redis).map_err(|e| e.to_string())?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if !loopback {
        return Err("the load tool only sends traffic to 127.0.0.1".into());
    }
    let duration = Duration::from_secs(args.seconds);
    let keys = tempfile::tempdir().map_err(|e| e.to_string())?;
    println!(
        "lanyard-loadgen: {} s per scenario, {} concurrent clients, {} cores, audit trail: {:?}",
        args.seconds,
        args.concurrency,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        args.audit,
    );
    println!(
        "password hashing for the code flow: argon2id m=8 KiB, t=1, p=1 (the minimum the library accepts)"
    );

    // Machine limits: raw crypto.
    let crypto_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    generate_key(crypto_dir.path(), Algorithm::Es256, UnixTime::EPOCH)
        .map_err(|e| e.to_string())?;
    generate_key(crypto_dir.path(), Algorithm::Rs256, UnixTime::EPOCH)
        .map_err(|e| e.to_string())?;
    let es = Arc::new(
        KeySet::load(crypto_dir.path(), Algorithm::Es256, UnixTime::from_secs(1))
            .map_err(|e| e.to_string())?,
    );
    let rs = KeySet::load(crypto_dir.path(), Algorithm::Rs256, UnixTime::from_secs(1))
        .map_err(|e| e.to_string())?;
    let claims = serde_json::json!({"iss": "x", "sub": "y", "aud": "z", "exp": 4_102_444_800i64});
    let rs_token = rs.sign(&claims, "JWT").map_err(|e| e.to_string())?;
    let rs_jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(serde_json::to_value(rs.jwks()).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    // The key directory holds the ES256 key too, and both were created at 0: pick the
    // signing key by its kid, not the first of the set (which was either, by kid order).
    let rs_jwk = rs_jwks
        .find(rs.active_kid())
        .ok_or("the RS256 key is not in its JWKS")?;
    let rs_key = jsonwebtoken::DecodingKey::from_jwk(rs_jwk).map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["z"]);
    // A failed verification would be measured as a fast one.
    jsonwebtoken::decode::<serde_json::Value>(&rs_token, &rs_key, &validation)
        .map_err(|e| format!("RS256 verification of the crypto-limit token: {e}"))?;
    let crypto_time =
        Duration::try_from_secs_f64(args.crypto_seconds).map_err(|e| e.to_string())?;
    let sign_rate = per_second(crypto_time, || {
        let _ = es.sign(&claims, "at+jwt");
    });
    let verify_rate = per_second(crypto_time, || {
        let _ = jsonwebtoken::decode::<serde_json::Value>(&rs_token, &rs_key, &validation);
    });
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let crypto_limit = cores / (1.0 / sign_rate + 1.0 / verify_rate);
    println!();
    println!(
        "machine limits (one core): ES256 sign {sign_rate:.0}/s, RS256 verify {verify_rate:.0}/s; RS256-verify + ES256-sign on {cores} cores: {crypto_limit:.0}/s"
    );

    // Scenario (1)'s upstream provider signs with the RS256 key measured above.
    let selected = |s: Scenario| args.scenarios.contains(&s);
    // Every key of the run (Lanyard's sessions, the baselines' keys) is under one prefix,
    // removed at the end: a run of (1) leaves about a hundred thousand role sessions.
    let prefix = format!("loadgen:{}:", lanyard::session::random_id().expose_secret());
    let (idp, sts_bodies, bound_url) = if selected(Scenario::Sts) {
        let idp = start_idp(&rs)?;
        let bodies = sts_bodies(&rs, &idp)?;
        let bound = start_sts_bound(&args.redis, &prefix, &idp, rs_key.clone(), Arc::clone(&es))?;
        (Some(idp), bodies, bound)
    } else {
        (None, Vec::new(), String::new())
    };
    // Keys in a folder of the run's own, so that the default audit database (beside the
    // keys folder) stays in the run's temporary directory too.
    let keys_dir = keys.path().join("keys");
    let lanyard_url = start_lanyard(args, &prefix, &keys_dir, idp.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("loadgen")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let measured = runtime.block_on(async {
        let client = http()?;
        println!();
        print_table_header();

        let mut summary = Vec::new();
        let mut rows = Vec::new();

        // (1) The STS web-identity exchange: the upstream token's RS256 verification and
        // the ES256 signature of Lanyard's token are the crypto limit measured above.
        if selected(Scenario::Sts) {
            let (bound, sts) = sts_exchange(
                &client,
                &lanyard_url,
                &bound_url,
                sts_bodies,
                args,
                duration,
            )
            .await?;
            bound.print();
            sts.print();
            summary.push(format!(
                "(1) STS exchange / crypto limit: {:.0}% (goal >= 60%)",
                100.0 * sts.rate() / crypto_limit
            ));
            summary.push(format!(
                "(1) bound (bare handler: same crypto + 1 SET) / crypto limit: {:.0}%; STS exchange / bound: {:.0}% (goal >= 85%)",
                100.0 * bound.rate() / crypto_limit,
                100.0 * sts.rate() / bound.rate()
            ));
            rows.extend([bound, sts]);
        }

        if selected(Scenario::Introspection) {
            let (baseline, introspection) =
                introspection(&client, &lanyard_url, args, &prefix, duration).await?;
            baseline.print();
            introspection.print();
            summary.push(format!(
                "(2) introspection / one-GET handler: {:.0}% (goal >= 80%)",
                100.0 * introspection.rate() / baseline.rate()
            ));
            rows.extend([baseline, introspection]);
        }

        if selected(Scenario::CodeFlow) {
            let base = lanyard_url.clone();
            let flow = drive(
                "(3) authorization code flow, local user (7 req)",
                args.concurrency,
                duration,
                move |_| {
                    let base = base.clone();
                    async move { code_flow(&base).await }
                },
            )
            .await?;
            flow.print();
            summary.push(format!(
                "(3) code flows/s: {:.0} ({:.0} HTTP requests/s)",
                flow.rate(),
                flow.rate() * 7.0
            ));
            rows.push(flow);
        }

        if selected(Scenario::Signin) {
            let prefix = signin::prefix();
            let runs = signin::run(args, &prefix, duration).await;
            remove_keys(&args.redis, &prefix).await?;
            for run in runs? {
                summary.push(format!(
                    "(4) {}: Lanyard CPU {:.3} ms per sign-in (goal <= 1 ms), Redis {:.0} B per sign-in (goal <= 1500)",
                    run.binary.display(),
                    run.cpu_per_signin().as_secs_f64() * 1000.0,
                    run.bytes_per_signin()
                ));
                rows.push(run.stats);
            }
        }

        println!();
        for line in summary {
            println!("{line}");
        }
        Ok::<_, String>(rows)
    });
    let cleaned = runtime.block_on(remove_keys(&args.redis, &prefix));
    let rows = measured?;
    cleaned?;
    Ok(Report { rows, prefix })
}

/// Removes every Redis key under `prefix` (SCAN and UNLINK, a thousand at a time).
async fn remove_keys(redis_url: &str, prefix: &str) -> Result<(), String> {
    let mut conn = redis_connection(redis_url).await?;
    let pattern = format!("{prefix}*");
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        if !keys.is_empty() {
            redis::cmd("UNLINK")
                .arg(&keys)
                .query_async::<()>(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// The `code` of the redirect back to the relying party.
fn code_in(redirect: &str) -> Result<String, String> {
    url::Url::parse(redirect)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| format!("no code in {redirect}"))
}

/// The header of the table of scenarios the tool prints.
fn print_table_header() {
    println!(
        "| {:<44} | {:>10} | {:>9} | {:>9} | {:>6} |",
        "scenario", "req/s", "p50 ms", "p99 ms", "errors"
    );
    println!(
        "|{:-<46}|{:->12}|{:->11}|{:->11}|{:->8}|",
        "", "", "", "", ""
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short run of every scenario against the local Redis: each row served requests
    /// and none failed, and the run left no key behind.
    #[test]
    fn every_scenario_runs_without_errors_and_leaves_no_keys() {
        let args = Args::parse_from([
            "lanyard-loadgen",
            "--seconds",
            "1",
            "--concurrency",
            "4",
            "--crypto-seconds",
            "0.05",
        ]);
        let report = run(&args).expect("the run");
        let names: Vec<&str> = report.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(report.rows.len(), 5, "{names:?}");
        for row in &report.rows {
            assert!(row.ok > 0, "{}: no request answered", row.name);
            assert_eq!(
                row.errors, 0,
                "{}: {} errors, the first: {:?}",
                row.name, row.errors, row.first_error
            );
        }
        let mut conn = redis::Client::open(args.redis.as_str())
            .and_then(|c| c.get_connection())
            .expect("redis");
        let left: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", report.prefix))
            .query(&mut conn)
            .expect("KEYS");
        assert!(
            left.is_empty(),
            "{} keys left, e.g. {:?}",
            left.len(),
            left.first()
        );
    }

    #[test]
    fn refuses_a_redis_off_loopback() {
        let args = Args::parse_from(["lanyard-loadgen", "--redis", "redis://10.0.0.1:6379"]);
        assert!(run(&args).is_err());
    }
}
