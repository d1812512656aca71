//! Scenario (4), a federated browser sign-in: Lanyard as OpenID provider to a relying party
//! (this tool), federating to a stand-in upstream OpenID provider (also this tool). One
//! iteration, with a fresh cookie jar, is the whole flow: `/oauth2/authorize` (with one
//! upstream provider, straight there) → the upstream's authorize (auto-approving) →
//! Lanyard's callback (the upstream's token endpoint answers an RS256 ID token with the
//! nonce; with one role, straight on to the page that continues to the application) → the
//! code → `/oauth2/token` → `/oauth2/userinfo`. With `--signin-picker` the callback sends
//! the browser to `/roles`, whose first role is posted. Builds that show the chooser
//! (`/signin` → `/auth/up`) or always pass through `/roles` are followed there too, so that
//! a before and an after binary run the same sign-in.
//!
//! Lanyard runs as its own process (`lanyard serve`, the binary given with
//! `--lanyard-bin`, a release build for figures), so that its CPU time is its own: the
//! `utime + stime` of `/proc/<pid>/stat` before and after each turn, in clock ticks
//! (`sysconf(_SC_CLK_TCK)`), divided by the sign-ins completed. Each binary gets its own
//! Redis key prefix; after the run every key under it is summed with `MEMORY USAGE key
//! SAMPLES 0` and divided by the sign-ins, in all and per kind of key (what comes before
//! the first `:` after the prefix). Given several binaries (a `before` and an `after`),
//! they run at the same time and take turns ([`super::TURNS`] each), so that their figures
//! come from the same seconds of the same machine.
//!
//! The upstream is not measured: it needs no state (its code carries the person and the
//! nonce) and it does not check PKCE or its client's secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lanyard::clock::{Clock, SystemClock, UnixTime};
use lanyard::tokens::{Algorithm, KeySet, generate_key};

use super::{
    Args, Runtime, Stats, TURNS, bind_loopback, cheap_hash, continue_target, drive, field,
    location, redis_connection, spawn_server,
};

/// The relying party's redirect URI (nothing listens there: the code is read from the
/// redirect).
const RP_REDIRECT: &str = "http://127.0.0.1:9/cb";
/// The PKCE verifier of every iteration (RFC 7636 §4.1: 43 characters).
const PKCE_VERIFIER: &str = "loadgen-pkce-verifier-0123456789abcdefghijkl";
/// HTTP requests per sign-in without the picker (4 of them Lanyard's), for the table; with
/// the picker, two more (`/roles` and its form). Builds with the chooser and `/roles` on
/// the way take two more.
const REQUESTS: u32 = 6;

/// What scenario (4) measured for one binary.
pub(super) struct SigninRun {
    /// The binary.
    pub(super) binary: PathBuf,
    /// Sign-ins per second, latency, errors.
    pub(super) stats: Stats,
    /// Lanyard's CPU time over the timed turns.
    pub(super) cpu: Duration,
    /// Per key kind: (keys, bytes), after the run.
    pub(super) kinds: BTreeMap<String, (u64, u64)>,
}

impl SigninRun {
    /// Lanyard's CPU time per completed sign-in.
    pub(super) fn cpu_per_signin(&self) -> Duration {
        self.cpu / u32::try_from(self.stats.ok.max(1)).unwrap_or(u32::MAX)
    }

    /// Redis bytes per completed sign-in, of every key the run left.
    pub(super) fn bytes_per_signin(&self) -> f64 {
        let bytes: u64 = self.kinds.values().map(|(_, b)| b).sum();
        bytes as f64 / self.stats.ok.max(1) as f64
    }

    fn print(&self) {
        self.stats.print();
        println!(
            "|   {}: Lanyard CPU {:.3} ms per sign-in ({:.2} s over {} sign-ins); Redis {:.0} B per sign-in",
            self.binary.display(),
            self.cpu_per_signin().as_secs_f64() * 1000.0,
            self.cpu.as_secs_f64(),
            self.stats.ok,
            self.bytes_per_signin()
        );
        let n = self.stats.ok.max(1) as f64;
        for (kind, (keys, bytes)) in &self.kinds {
            println!(
                "|     {:<16} {:>8} keys {:>6.2} per sign-in {:>7.0} B per sign-in {:>5.0} B per key",
                format!("{kind}:"),
                keys,
                *keys as f64 / n,
                *bytes as f64 / n,
                *bytes as f64 / (*keys).max(1) as f64
            );
        }
    }
}

/// A `lanyard serve` process of the run; killed (and reaped) when dropped.
struct Process {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// The process's CPU time so far (user and system, all threads).
    fn cpu(&self) -> Result<Duration, String> {
        cpu_time(self.child.id())
    }
}

/// `utime + stime` of process `pid` (fields 14 and 15 of `/proc/<pid>/stat`, proc(5)).
pub(super) fn cpu_time(pid: u32) -> Result<Duration, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    cpu_time_in(&stat).ok_or_else(|| format!("unreadable /proc/{pid}/stat"))
}

/// `utime + stime` in the text of a `/proc/<pid>/stat` file.
fn cpu_time_in(stat: &str) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = stat.rfind(')').map(|i| &stat[i + 1..])?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let ticks = |i: usize| -> Option<u64> { fields.get(i - 3)?.parse().ok() };
    let total = ticks(14)?.checked_add(ticks(15)?)?;
    let hz = rustix::param::clock_ticks_per_second().max(1);
    Some(Duration::from_nanos(
        total.saturating_mul(1_000_000_000) / hz,
    ))
}

/// A Redis key prefix for scenario (4) (the binaries' own prefixes are it and their
/// number): as short as a deployment's `lanyard:`, since a key's name is part of what it
/// costs, and the run's own.
pub(super) fn prefix() -> String {
    let id = lanyard::session::random_id();
    let short: String = id.expose_secret().chars().take(6).collect();
    format!("lg{short}")
}

/// Scenario (4) for every binary of `--lanyard-bin`, taking turns, with keys under
/// `prefix` ([`prefix`]); prints its rows.
pub(super) async fn run(
    args: &Args,
    prefix: &str,
    duration: Duration,
) -> Result<Vec<SigninRun>, String> {
    let binaries = if args.lanyard_bin.is_empty() {
        vec![default_binary()?]
    } else {
        // Absolute: the process starts in its own directory.
        args.lanyard_bin
            .iter()
            .map(|b| std::fs::canonicalize(b).map_err(|e| format!("{}: {e}", b.display())))
            .collect::<Result<_, _>>()?
    };
    let upstream = start_upstream()?;
    let mut processes = Vec::new();
    for (i, binary) in binaries.iter().enumerate() {
        let own = format!("{prefix}{i}:");
        processes.push((start(binary, args, &own, &upstream).await?, own));
    }
    let turn = duration / TURNS;
    let mut runs: Vec<SigninRun> = Vec::new();
    for t in 0..TURNS {
        for (i, (process, _)) in processes.iter().enumerate() {
            let base = Arc::<str>::from(process.url.as_str());
            let before = process.cpu()?;
            let stats = drive(
                &format!(
                    "(4) federated sign-in, OIDC upstream ({} req)",
                    REQUESTS + 2 * u32::from(args.signin_picker)
                ),
                args.concurrency,
                turn,
                move |i| {
                    let base = Arc::clone(&base);
                    // A person per sign-in, across turns too.
                    let person = t as usize * 100_000_000 + i;
                    async move { signin(&base, person).await }
                },
            )
            .await?;
            let cpu = process.cpu()?.saturating_sub(before);
            if t == 0 {
                runs.push(SigninRun {
                    binary: binaries[i].clone(),
                    stats,
                    cpu,
                    kinds: BTreeMap::new(),
                });
            } else if let Some(run) = runs.get_mut(i) {
                run.stats.add(stats)?;
                run.cpu += cpu;
            }
        }
    }
    for (run, (_, own)) in runs.iter_mut().zip(&processes) {
        run.kinds = key_kinds(&args.redis, own).await?;
        run.print();
    }
    Ok(runs)
}

/// `lanyard` beside this tool's own binary (`target/release/lanyard` for `cargo run
/// --release`; for the tests, `target/debug/lanyard`).
fn default_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let candidates = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join("lanyard"))
        .collect::<Vec<_>>();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            format!(
                "no lanyard binary beside {} (build it: cargo build --release --bin lanyard), or name one with --lanyard-bin",
                exe.display()
            )
        })
}

/// A free port on 127.0.0.1 (bound and released: the process binds it next).
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Starts `lanyard serve` from `binary` with the scenario's config (Redis sessions under
/// `prefix`), and waits until it answers `/healthz`.
async fn start(
    binary: &Path,
    args: &Args,
    prefix: &str,
    upstream: &str,
) -> Result<Process, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let keys = dir.path().join("keys");
    // The config in a folder of its own: Lanyard watches the config's folder for changes,
    // and the audit database and the log are written beside the keys.
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).map_err(|e| e.to_string())?;
    let config = etc.join("lanyard.toml");
    let text = config_text(&url, port, &keys, args, prefix, upstream)?;
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.path().join("lanyard.log")).map_err(|e| e.to_string())?;
    let child = Command::new(binary)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let mut process = Process {
        child,
        url,
        _dir: dir,
    };
    let client = super::http()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let up = client
            .get(format!("{}/healthz", process.url))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if up {
            return Ok(process);
        }
        let exited = process.child.try_wait().map_err(|e| e.to_string())?;
        if exited.is_some() || Instant::now() > deadline {
            let log = std::fs::read_to_string(process._dir.path().join("lanyard.log"))
                .unwrap_or_default();
            return Err(format!(
                "{} did not start ({exited:?}): {}",
                binary.display(),
                log.chars()
                    .rev()
                    .take(2000)
                    .collect::<String>()
                    .chars()
                    .rev()
                    .collect::<String>()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The config of the spawned Lanyard: the stand-in upstream as the only provider, one
/// role it may assume (two with `--signin-picker`), the relying party `app`.
fn config_text(
    url: &str,
    port: u16,
    keys: &Path,
    args: &Args,
    prefix: &str,
    upstream: &str,
) -> Result<String, String> {
    let audit = keys
        .parent()
        .map(|dir| args.audit.section(dir))
        .unwrap_or_default();
    let role = |name: &str| {
        format!(
            r#"[[roles]]
name = "{name}"
max_session_duration = "1h"
permission_policies = ["p"]
trust_policy = {{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ Federated = "up" }}, Action = "sts:AssumeRoleWithWebIdentity", Condition = {{ "ForAnyValue:StringEquals" = {{ "idp:groups" = ["engineering"] }} }} }}] }}
"#
        )
    };
    let mut roles = role("engineer");
    let mut allowed = String::from("\"engineer\"");
    if args.signin_picker {
        roles.push_str(&role("operator"));
        allowed.push_str(", \"operator\"");
    }
    Ok(format!(
        r#"
[server]
bind = "127.0.0.1:{port}"
public_url = "{url}"
[sessions]
store = "redis"
redis_url = "{redis}"
key_prefix = "{prefix}"
[tokens]
algorithm = "ES256"
keys_dir = "{keys}"
{limits}{audit}[[providers]]
id = "up"
kind = "oidc"
display_name = "Upstream"
issuer = "{upstream}"
client_id = "lanyard"
client_secret = "upstream-secret"
{roles}[[policies]]
name = "p"
document = {{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "bench:*", Resource = "*" }}] }}
[[clients]]
id = "app"
secret_hash = "{app}"
redirect_uris = ["{RP_REDIRECT}"]
allowed_roles = [{allowed}]
"#,
        redis = args.redis,
        keys = keys.display(),
        limits = super::LOAD_LIMITS,
        app = cheap_hash("app-secret")?,
    ))
}

/// The stand-in upstream OpenID provider: discovery, an authorize endpoint that approves
/// at once (its code is `{login_hint}.{nonce}`), a token endpoint answering an RS256 ID
/// token for that person with that nonce, and the JWKS. Served from its own runtime on
/// 127.0.0.1; returns its issuer.
fn start_upstream() -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    generate_key(dir.path(), Algorithm::Rs256, UnixTime::EPOCH).map_err(|e| e.to_string())?;
    let keys = Arc::new(
        KeySet::load(dir.path(), Algorithm::Rs256, UnixTime::from_secs(1))
            .map_err(|e| e.to_string())?,
    );
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
    let jwks = serde_json::to_value(keys.jwks()).map_err(|e| e.to_string())?;
    let iss = issuer.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || std::future::ready(axum::Json(discovery.clone()))),
        )
        .route(
            "/jwks",
            axum::routing::get(move || std::future::ready(axum::Json(jwks.clone()))),
        )
        .route("/authorize", axum::routing::get(upstream_authorize))
        .route(
            "/token",
            axum::routing::post(move |body: bytes::Bytes| {
                let keys = Arc::clone(&keys);
                let iss = iss.clone();
                async move { upstream_token(&keys, &iss, &body) }
            }),
        );
    spawn_server(
        "upstream",
        Runtime::MultiThread,
        listener,
        |listener| async move {
            // The key directory lives as long as the server (the keys are loaded already).
            let _dir = dir;
            Ok(async move {
                let _ = axum::serve(listener, app).await;
            })
        },
    )?;
    Ok(issuer)
}

/// The upstream's authorize endpoint: straight back to `redirect_uri` with a code naming
/// the person (`login_hint`) and the nonce, and the `state`.
async fn upstream_authorize(
    axum::extract::Query(q): axum::extract::Query<Vec<(String, String)>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let code = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(get("login_hint")),
        URL_SAFE_NO_PAD.encode(get("nonce"))
    );
    let Ok(mut target) = url::Url::parse(get("redirect_uri")) else {
        return axum::http::StatusCode::BAD_REQUEST.into_response();
    };
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", get("state"));
    axum::response::Redirect::to(target.as_str()).into_response()
}

/// The upstream's token endpoint: an ID token for the code's person and nonce.
fn upstream_token(
    keys: &KeySet,
    issuer: &str,
    body: &[u8],
) -> Result<axum::Json<serde_json::Value>, axum::http::StatusCode> {
    let bad = axum::http::StatusCode::BAD_REQUEST;
    let code = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or(bad)?;
    let (hint, nonce) = code.split_once('.').ok_or(bad)?;
    let decode = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(bad)
    };
    let (user, nonce) = (decode(hint)?, decode(nonce)?);
    let now = SystemClock.now().secs();
    // A typical workforce ID token: name, email, a few groups, how the person signed in.
    let claims = serde_json::json!({
        "iss": issuer,
        "sub": format!("00u{user}"),
        "aud": "lanyard",
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "preferred_username": user,
        "name": format!("Bench User {user}"),
        "email": format!("{user}@example.com"),
        "email_verified": true,
        "groups": ["engineering", "everyone"],
        "amr": ["pwd"],
    });
    let id_token = keys
        .sign(&claims, "JWT")
        .map_err(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(axum::Json(serde_json::json!({
        "access_token": format!("upstream-at-{user}"),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    })))
}

/// One federated sign-in of person `n` with a fresh browser, from the application's
/// authorization request to its userinfo call.
async fn signin(base: &str, n: usize) -> Result<(), String> {
    let b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .map_err(|e| e.to_string())?;
    let send =
        |r: reqwest::RequestBuilder| async move { r.send().await.map_err(|e| e.to_string()) };
    let user = format!("u{n}");
    let challenge = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, PKCE_VERIFIER.as_bytes()).as_ref(),
    );
    let mut authorize =
        url::Url::parse(&format!("{base}/oauth2/authorize")).map_err(|e| e.to_string())?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "app")
        .append_pair("redirect_uri", RP_REDIRECT)
        .append_pair("scope", "openid profile email")
        .append_pair("state", "rp-state")
        .append_pair("nonce", &format!("rp-nonce-{n}"))
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("login_hint", &user);
    // Lanyard parks the request and sends the browser to sign in: with its one (upstream)
    // provider straight upstream; a build with the chooser first to `/signin`, whose link
    // to the one provider is followed.
    let r = send(b.get(authorize.as_str())).await?;
    let to = location(&r)?;
    let upstream = if to.starts_with("/signin") {
        let signin = url::Url::parse(&format!("{base}{to}")).map_err(|e| e.to_string())?;
        let query: Vec<(String, String)> = signin.query_pairs().into_owned().collect();
        let mut start = url::Url::parse(&format!("{base}/auth/up")).map_err(|e| e.to_string())?;
        start.query_pairs_mut().extend_pairs(&query);
        let r = send(b.get(start.as_str())).await?;
        location(&r)?
    } else {
        to
    };
    // The upstream approves at once and sends the browser back to the callback.
    let r = send(b.get(upstream)).await?;
    let r = send(b.get(location(&r)?)).await?;
    let html = match r.status().as_u16() {
        // One role: straight on to the application's page.
        200 => r.text().await.map_err(|e| e.to_string())?,
        // A build that goes through `/roles` first, or the picker.
        303 => {
            let roles = location(&r)?;
            let r = send(b.get(format!("{base}{roles}"))).await?;
            r.text().await.map_err(|e| e.to_string())?
        }
        status => {
            let text = r.text().await.unwrap_or_default();
            return Err(format!(
                "callback answered {status}: {}",
                &text[..text.len().min(300)]
            ));
        }
    };
    let back = match continue_target(&html) {
        Ok(back) => back,
        // The picker: the first role, for an hour.
        Err(_) => {
            let csrf = field(&html, "csrf")?;
            let authz = field(&html, "authz").ok();
            let mut form = vec![
                ("role", "engineer".to_owned()),
                ("duration", "3600".to_owned()),
                ("csrf", csrf),
            ];
            if let Some(a) = authz {
                form.push(("authz", a));
            }
            let r = send(b.post(format!("{base}/roles")).form(&form)).await?;
            let html = r.text().await.map_err(|e| e.to_string())?;
            continue_target(&html)?
        }
    };
    let code = super::code_in(&back)?;
    let r = send(
        b.post(format!("{base}/oauth2/token"))
            .basic_auth("app", Some("app-secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", RP_REDIRECT),
                ("code_verifier", PKCE_VERIFIER),
            ]),
    )
    .await?;
    if r.status() != 200 {
        return Err(format!("token endpoint answered {}", r.status()));
    }
    let tokens: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
    let access = tokens["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned();
    let r = send(
        b.get(format!("{base}/oauth2/userinfo"))
            .bearer_auth(&access),
    )
    .await?;
    if r.status() != 200 {
        return Err(format!("userinfo answered {}", r.status()));
    }
    Ok(())
}

/// Every key under `prefix`: per kind (the key up to its first `:` after the prefix), how
/// many and their `MEMORY USAGE … SAMPLES 0` in bytes.
pub(super) async fn key_kinds(
    redis_url: &str,
    prefix: &str,
) -> Result<BTreeMap<String, (u64, u64)>, String> {
    let mut conn = redis_connection(redis_url).await?;
    let pattern = format!("{prefix}*");
    let mut kinds: BTreeMap<String, (u64, u64)> = BTreeMap::new();
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
            let mut pipe = redis::pipe();
            for key in &keys {
                pipe.cmd("MEMORY")
                    .arg("USAGE")
                    .arg(key)
                    .arg("SAMPLES")
                    .arg(0);
            }
            // A key gone since the SCAN (expired) answers nil.
            let sizes: Vec<Option<u64>> = pipe
                .query_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            for (key, size) in keys.iter().zip(sizes) {
                let Some(size) = size else { continue };
                let rest = key.strip_prefix(prefix).unwrap_or(key);
                let kind = rest.split(':').next().unwrap_or(rest).to_owned();
                let entry = kinds.entry(kind).or_default();
                entry.0 += 1;
                entry.1 += size;
            }
        }
        if next == 0 {
            return Ok(kinds);
        }
        cursor = next;
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// A short run against the debug `lanyard` beside the test (built by `cargo test
    /// --workspace`): sign-ins complete without errors, their CPU time and Redis keys are
    /// measured, and the clean-up leaves no key.
    #[test]
    fn a_federated_sign_in_runs_and_its_cost_is_measured() {
        let args = Args::parse_from([
            "lanyard-loadgen",
            "--scenarios",
            "signin",
            "--concurrency",
            "2",
        ]);
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let prefix = prefix();
            let runs = run(&args, &prefix, Duration::from_secs(1)).await;
            super::super::remove_keys(&args.redis, &prefix)
                .await
                .expect("clean-up");
            let runs = runs.expect("the run");
            assert_eq!(runs.len(), 1);
            let run = &runs[0];
            assert!(run.stats.ok > 0, "no sign-in completed");
            assert_eq!(run.stats.errors, 0, "{:?}", run.stats.first_error);
            assert!(run.cpu > Duration::ZERO);
            for kind in ["sso", "rs", "code-used", "sso-iss"] {
                let (keys, bytes) = run.kinds.get(kind).copied().unwrap_or_default();
                assert!(keys >= run.stats.ok && bytes > 0, "{kind}: {:?}", run.kinds);
            }
            // A refresh token is a field of `sso-iss:`, not a key of its own.
            assert!(!run.kinds.contains_key("rt"), "{:?}", run.kinds);
            assert!(run.bytes_per_signin() > 0.0);
            let left = key_kinds(&args.redis, &prefix).await.expect("SCAN");
            assert!(left.is_empty(), "{left:?}");
        });
    }

    #[test]
    fn cpu_time_counts_from_after_the_command_name() {
        // pid (comm with spaces) state ppid ... utime(14) stime(15)
        let line = "42 (a ) b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        let hz = rustix::param::clock_ticks_per_second();
        assert_eq!(
            cpu_time_in(line),
            Some(Duration::from_nanos(300 * 1_000_000_000 / hz))
        );
        assert_eq!(cpu_time_in("42 (x) S 1 2"), None);
        assert!(cpu_time(u32::MAX).is_err());
    }

    #[test]
    fn cpu_time_is_read_from_proc() {
        let spent = cpu_time(std::process::id()).expect("/proc/self/stat");
        // This test process has run for some time already, in clock ticks.
        assert!(spent < Duration::from_secs(3600), "{spent:?}");
    }
}
