//! The durable audit trail: events written to and read back from SQLite and the real
//! PostgreSQL (127.0.0.1:5432, a database of each test's own), every query filter,
//! retention, `lanyard audit query` as a process, `key.rotated` at start, and the
//! guarantee that nothing acknowledged is lost: STS traffic against a private PostgreSQL
//! stopped mid-traffic (`pg_ctl stop -m immediate`) and started again.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lanyard::audit::{
    Audit, AuditEvent, AuditQuery, AuditSettings, Door, EventKind, OnFailure, prune, query,
};
use lanyard::db::{Database, Location};
use lanyard::identity::{RoleName, RoleSessionId};
use serde_json::{Value, json};

use crate::sts::{MAIN, setup_with};

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

// ---- fixtures -------------------------------------------------------------------------

/// A database of its own on the machine's PostgreSQL, dropped when the test ends (also
/// when it fails).
pub(crate) struct PgDatabase {
    name: String,
}

impl PgDatabase {
    pub(crate) async fn create() -> Self {
        let name = format!("lanyard_audit_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(PG_ADMIN).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        PgDatabase { name }
    }

    fn location(&self) -> Location {
        Location::parse(&self.url()).unwrap()
    }

    /// The database's URL (for a config's `[audit] database`).
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime: a thread of its own may block on another.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(PG_ADMIN).await {
                    let _ = sqlx::query(&sql).execute(&admin).await;
                    admin.close().await;
                }
            });
        })
        .join();
    }
}

fn settings(location: Location, on_failure: OnFailure) -> AuditSettings {
    AuditSettings {
        database: Some(location),
        file: None,
        on_failure,
        retention: None,
    }
}

const HOUR_MS: i64 = 3_600_000;
const NOW_MS: i64 = crate::harness::T0 * 1000;

/// Five events over three days: sign-ins and credentials for alice and bob, a key rotation.
fn sample_events() -> Vec<AuditEvent> {
    let event = |kind,
                 hours_ago: i64,
                 subject: Option<&str>,
                 role: Option<&str>,
                 provider: Option<&str>| {
        let mut e = AuditEvent::new(kind, NOW_MS - hours_ago * HOUR_MS);
        e.subject = subject.map(str::to_owned);
        e.role = role.map(RoleName::from);
        e.provider = provider.map(str::to_owned);
        if kind == EventKind::CredentialsIssued {
            e.door = Some(Door::StsWebIdentity);
            e.role_session = Some(format!("rs-{hours_ago}").into());
            e.duration_secs = Some(900);
            e.statements = vec!["AcmeRepos".into()];
            e.source_ip = Some("192.0.2.7".into());
            e.detail = json!({"action": "sts:AssumeRoleWithWebIdentity"});
        }
        e
    };
    vec![
        event(
            EventKind::SignInSucceeded,
            72,
            Some("alice"),
            None,
            Some("corp"),
        ),
        event(
            EventKind::CredentialsIssued,
            48,
            Some("alice"),
            Some("deploy"),
            Some("corp"),
        ),
        event(
            EventKind::CredentialsIssued,
            5,
            Some("bob"),
            Some("deploy"),
            Some("ci"),
        ),
        event(
            EventKind::CredentialsIssued,
            2,
            Some("alice"),
            Some("admin"),
            Some("corp"),
        ),
        event(EventKind::KeyRotated, 1, None, None, None),
    ]
}

/// Writes the sample events, reads them back with every filter, then applies retention.
async fn events_round_trip(location: Location) {
    let audit = Audit::from_settings(&settings(location, OnFailure::Refuse)).unwrap();
    audit.prepare().await.unwrap();
    let events = sample_events();
    for e in &events {
        audit.record(e.clone()).await.unwrap();
    }
    let db = audit.database().unwrap();
    let ask = |q: AuditQuery| async move {
        let got = query(db, &q).await.unwrap();
        got.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
    };
    let ids = |idx: &[usize]| {
        idx.iter()
            .map(|&i| events[i].id.clone())
            .collect::<Vec<_>>()
    };
    let everything = || AuditQuery {
        limit: 100,
        ..Default::default()
    };
    // Everything comes back exactly as written, newest first.
    let all = query(db, &everything()).await.unwrap();
    let mut expected = events.clone();
    expected.reverse();
    assert_eq!(all, expected);
    let by = |f: fn(&mut AuditQuery)| {
        let mut q = everything();
        f(&mut q);
        q
    };
    assert_eq!(
        ask(by(|q| q.subject = Some("alice".into()))).await,
        ids(&[3, 1, 0])
    );
    assert_eq!(
        ask(by(|q| q.role = Some("deploy".into()))).await,
        ids(&[2, 1])
    );
    assert_eq!(ask(by(|q| q.provider = Some("ci".into()))).await, ids(&[2]));
    assert_eq!(
        ask(by(|q| q.event = Some(EventKind::KeyRotated))).await,
        ids(&[4])
    );
    assert_eq!(
        ask(by(|q| q.role_session = Some("rs-5".into()))).await,
        ids(&[2])
    );
    assert_eq!(
        ask(by(|q| q.since_ms = Some(NOW_MS - 6 * HOUR_MS))).await,
        ids(&[4, 3, 2])
    );
    assert_eq!(ask(by(|q| q.limit = 2)).await, ids(&[4, 3]));
    // Filters combine.
    let q = by(|q| {
        q.subject = Some("alice".into());
        q.event = Some(EventKind::CredentialsIssued);
        q.since_ms = Some(NOW_MS - 50 * HOUR_MS);
    });
    assert_eq!(ask(q).await, ids(&[3, 1]));
    assert_eq!(
        ask(by(|q| q.subject = Some("mallory".into()))).await,
        ids(&[])
    );
    // A filter value is a value, never SQL.
    assert_eq!(
        ask(by(|q| q.subject = Some("' OR 1=1 --".into()))).await,
        ids(&[])
    );

    // Retention of one day deletes only the two older events.
    assert_eq!(
        prune(db, Duration::from_secs(24 * 3600), NOW_MS)
            .await
            .unwrap(),
        2
    );
    let kept = query(db, &everything()).await.unwrap();
    assert_eq!(kept, expected[..3].to_vec());
    assert_eq!(
        prune(db, Duration::from_secs(24 * 3600), NOW_MS)
            .await
            .unwrap(),
        0
    );
    // An id is unique: the same event twice is an error, not a silent duplicate.
    assert!(audit.record(events[4].clone()).await.is_err());
    db.close().await;
}

#[tokio::test]
async fn sqlite_keeps_and_finds_events() {
    let dir = tempfile::tempdir().unwrap();
    events_round_trip(Location::Sqlite(dir.path().join("sub/dir/audit.db"))).await;
}

#[tokio::test]
async fn postgres_keeps_and_finds_events() {
    let pg = PgDatabase::create().await;
    events_round_trip(pg.location()).await;
}

// ---- STS end to end -----------------------------------------------------------------

async fn events_of(location: &Location, q: AuditQuery) -> Vec<AuditEvent> {
    let db = Database::open(location).unwrap();
    let got = query(
        &db,
        &AuditQuery {
            limit: q.limit.max(1000),
            ..q
        },
    )
    .await
    .unwrap();
    db.close().await;
    got
}

/// Assumes `deploy` with a CI token of the main branch; `(status, body)`.
async fn assume(s: &crate::sts::Sts) -> (u16, Value) {
    let token = s.token(MAIN, json!({}));
    s.assume(json!({"role": "deploy", "web_identity_token": token}))
        .await
}

#[tokio::test]
async fn sts_credentials_are_recorded_in_sqlite_and_the_json_lines_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let lines = dir.path().join("audit.jsonl");
    let s = setup_with(&format!(
        "[audit]\ndatabase = \"sqlite:{}\"\nfile = \"{}\"\n",
        db.display(),
        lines.display()
    ))
    .await;
    let (status, v) = assume(&s).await;
    assert_eq!(status, 200, "{v}");
    let sid = v["assumed_role"]["session_id"].as_str().unwrap().to_owned();
    let got = events_of(
        &Location::Sqlite(db),
        AuditQuery {
            role_session: Some(sid.clone()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got.len(), 1, "{got:?}");
    let e = &got[0];
    assert_eq!(e.event, EventKind::CredentialsIssued);
    assert_eq!(e.door, Some(Door::StsWebIdentity));
    assert_eq!(e.provider.as_deref(), Some("ci"));
    assert_eq!(e.subject.as_deref(), Some(MAIN));
    assert_eq!(e.role.as_deref(), Some("deploy"));
    assert_eq!(e.duration_secs, Some(1800));
    assert_eq!(e.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.time_ms, crate::harness::T0 * 1000);
    // The token itself is never recorded.
    let token = v["credentials"]["access_token"].as_str().unwrap();
    let text = std::fs::read_to_string(&lines).unwrap();
    assert!(!text.contains(token));
    let logged: Vec<AuditEvent> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(logged, got);
}

// ---- the CLI ------------------------------------------------------------------------

fn lanyard(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(args)
        .env_remove("LANYARD_CONFIG")
        .output()
        .unwrap()
}

/// `lanyard audit query ARGS --json`, which must succeed; the events it printed.
fn query_json(args: &[&str]) -> Vec<AuditEvent> {
    let out = lanyard(&[&["audit", "query", "--json"], args].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn audit_query_prints_a_table_or_json_lines_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    // A relative database path is taken from the config file's directory.
    let config = dir.path().join("lanyard.toml");
    std::fs::write(
        &config,
        "[server]\npublic_url = \"http://127.0.0.1:8080\"\n[audit]\ndatabase = \"sqlite:trail/audit.db\"\n",
    )
    .unwrap();
    let audit = Audit::from_settings(&settings(
        Location::Sqlite(dir.path().join("trail/audit.db")),
        OnFailure::Refuse,
    ))
    .unwrap();
    // Recent events, so that `--since 1h` (from the real clock) finds them.
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let mut events = sample_events();
    for (i, e) in events.iter_mut().enumerate() {
        e.time_ms = now_ms - (5 - i as i64) * HOUR_MS + 1000;
        audit.record(e.clone()).await.unwrap();
    }
    audit.database().unwrap().close().await;
    let config = config.to_str().unwrap();

    let got = query_json(&["--config", config, "--subject", "alice"]);
    assert_eq!(
        got,
        vec![events[3].clone(), events[1].clone(), events[0].clone()]
    );

    let out = lanyard(&[
        "audit",
        "query",
        "--config",
        config,
        "--role",
        "deploy",
        "--provider",
        "ci",
        "--event",
        "credentials.issued",
        "--since",
        "4h",
        "--limit",
        "5",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].starts_with("TIME") && rows[0].contains("ROLE SESSION"),
        "{table}"
    );
    for cell in [
        "credentials.issued",
        "sts_web_identity",
        "ci",
        "bob",
        "deploy",
        "192.0.2.7",
        "rs-5",
    ] {
        assert!(rows[1].contains(cell), "{cell} in {table}");
    }

    for (args, message) in [
        (&["--since", "yesterday"][..], "--since"),
        (&["--event", "nope"][..], "unknown event \"nope\""),
        (&["--limit", "0"][..], "--limit"),
        (&["--limit", "many"][..], "--limit"),
    ] {
        let mut all = vec!["audit", "query", "--config", config];
        all.extend_from_slice(args);
        let out = lanyard(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    // No database configured: a clear message.
    let off = dir.path().join("off.toml");
    std::fs::write(
        &off,
        "[server]\npublic_url = \"http://127.0.0.1:8080\"\n[audit]\ndatabase = \"none\"\n",
    )
    .unwrap();
    let out = lanyard(&["audit", "query", "--config", off.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no audit database"));
}

#[tokio::test]
async fn serve_records_a_generated_signing_key_in_the_default_database() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        crate::harness::config_text("[sessions]\nstore = \"memory\"\n", &dir.path().join("keys"));
    let served = crate::floods::serve_binary(&text, dir.path()).await;
    drop(served);
    // No [audit] section: the database is lanyard.db beside the keys directory.
    assert!(dir.path().join("lanyard.db").exists());
    let config = dir.path().join("lanyard.toml");
    let lines = query_json(&[
        "--config",
        config.to_str().unwrap(),
        "--event",
        "key.rotated",
    ]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0].event, EventKind::KeyRotated);
    assert_eq!(lines[0].detail["alg"], "ES256");
    let kid = lines[0].detail["kid"].as_str().unwrap();
    assert!(!kid.is_empty());
}

// ---- nothing acknowledged is lost ---------------------------------------------------

/// A PostgreSQL of the test's own (Debian's binaries, run as the `postgres` user when the
/// test runs as root), on a free port; killed and its files removed when dropped.
struct PrivatePg {
    dir: tempfile::TempDir,
    port: u16,
    server: Option<std::process::Child>,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn as_postgres(program: &str) -> Command {
    let path = format!("{PG_BIN}/{program}");
    if rustix::process::geteuid().is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            &path,
        ]);
        c
    } else {
        Command::new(path)
    }
}

impl PrivatePg {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        if rustix::process::geteuid().is_root() {
            let id = |flag| {
                let out = Command::new("id")
                    .args([flag, "postgres"])
                    .output()
                    .unwrap();
                String::from_utf8(out.stdout)
                    .unwrap()
                    .trim()
                    .parse::<u32>()
                    .unwrap()
            };
            std::os::unix::fs::chown(dir.path(), Some(id("-u")), Some(id("-g"))).unwrap();
        }
        let data = dir.path().join("data");
        let out = as_postgres("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut pg = PrivatePg {
            dir,
            port,
            server: None,
        };
        pg.run();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts the server and waits until it accepts queries.
    fn run(&mut self) {
        let log =
            std::fs::File::create(self.dir.path().join(format!("log-{}", self.port))).unwrap();
        let child = as_postgres("postgres")
            .arg("-D")
            .arg(self.data())
            .args([
                "-p",
                &self.port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
            ])
            .arg("-k")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ready = as_postgres("pg_isready")
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            if ready.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the private PostgreSQL did not start: {}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("log-{}", self.port)))
            .unwrap_or_default()
    }

    /// Stops at once, as a crash would (no checkpoint; recovery at the next start).
    fn stop_immediately(&mut self) {
        let out = as_postgres("pg_ctl")
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(self.data())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(mut child) = self.server.take() {
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = as_postgres("pg_ctl")
                .args(["stop", "-m", "immediate", "-w", "-D"])
                .arg(self.data())
                .output();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where the database was while a request ran.
const UP: u8 = 0;
const DOWN: u8 = 1;
const UP_AGAIN: u8 = 2;
const CHANGING: u8 = 3;

/// One request of the traffic: the database's state before and after, the status, and
/// the role session of a 200.
#[derive(Debug, Clone)]
struct Sent {
    before: u8,
    after: u8,
    status: u16,
    error: String,
    session: Option<String>,
}

/// Waits (at most a minute) until `done`.
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_when_the_database_stops() {
    let mut pg = PrivatePg::start();
    let url = pg.url();
    let refuse = Arc::new(setup_with(&format!("[audit]\ndatabase = \"{url}\"\n")).await);
    let log = setup_with(&format!(
        "[audit]\ndatabase = \"{url}\"\non_failure = \"log\"\n"
    ))
    .await;
    assert_eq!(assume(&log).await.0, 200);

    let state = Arc::new(AtomicU8::new(UP));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(Vec::<Sent>::new()));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (refuse, state, stop, sent) = (
                Arc::clone(&refuse),
                Arc::clone(&state),
                Arc::clone(&stop),
                Arc::clone(&sent),
            );
            tokio::spawn(async move {
                for _ in 0..5000 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let before = state.load(Ordering::SeqCst);
                    let (status, v) = assume(&refuse).await;
                    let after = state.load(Ordering::SeqCst);
                    let session = v["assumed_role"]["session_id"].as_str().map(str::to_owned);
                    let error = v["error"].as_str().unwrap_or_default().to_owned();
                    sent.lock().unwrap().push(Sent {
                        before,
                        after,
                        status,
                        error,
                        session,
                    });
                }
            })
        })
        .collect();
    let count = |f: &dyn Fn(&Sent) -> bool| sent.lock().unwrap().iter().filter(|s| f(s)).count();

    wait_for("traffic with the database up", || {
        count(&|s| s.status == 200) >= 20
    })
    .await;
    state.store(CHANGING, Ordering::SeqCst);
    tokio::task::block_in_place(|| pg.stop_immediately());
    state.store(DOWN, Ordering::SeqCst);
    wait_for("requests during the outage", || {
        count(&|s| s.before == DOWN && s.after == DOWN) >= 6
    })
    .await;
    // With on_failure = "log" the broker answers during the outage.
    let (status, v) = assume(&log).await;
    assert_eq!(status, 200, "on_failure = log during the outage: {v}");
    state.store(CHANGING, Ordering::SeqCst);
    tokio::task::block_in_place(|| pg.run());
    state.store(UP_AGAIN, Ordering::SeqCst);
    wait_for("traffic after the restart", || {
        count(&|s| s.before == UP_AGAIN && s.status == 200) >= 10
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }

    let sent = sent.lock().unwrap().clone();
    // During the outage every request was refused, as 503 ServiceUnavailable.
    for s in sent.iter().filter(|s| s.before == DOWN && s.after == DOWN) {
        assert_eq!(
            (s.status, s.error.as_str()),
            (503, "ServiceUnavailable"),
            "{s:?}"
        );
    }
    // Nothing else went wrong: every request got credentials or that refusal.
    for s in &sent {
        assert!(
            s.status == 200 || (s.status, s.error.as_str()) == (503, "ServiceUnavailable"),
            "{s:?}"
        );
    }
    // Every credential that was returned has its event in the table.
    let location = Location::parse(&url).unwrap();
    let recorded: std::collections::HashSet<String> = events_of(
        &location,
        AuditQuery {
            event: Some(EventKind::CredentialsIssued),
            limit: 100_000,
            ..Default::default()
        },
    )
    .await
    .into_iter()
    .filter_map(|e| e.role_session.map(RoleSessionId::into_string))
    .collect();
    let returned: Vec<&String> = sent.iter().filter_map(|s| s.session.as_ref()).collect();
    assert!(
        returned.len() >= 30,
        "{} credentials returned",
        returned.len()
    );
    let lost: Vec<&&String> = returned
        .iter()
        .filter(|sid| !recorded.contains(**sid))
        .collect();
    assert!(
        lost.is_empty(),
        "returned without an event: {lost:?}\n{}",
        pg.log()
    );
    drop(pg);
}

// ---- admin changes and their events ---------------------------------------------------

/// A role document for the admin API that the quickstart's `dave` may assume.
fn admin_role(description: &str) -> Value {
    json!({
        "description": description,
        "permission_policies": ["read-only"],
        "trust_policy": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "corp"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"idp:username": "dave"}}
        }]}
    })
}

/// PUT of a new role through the admin API as `admin`: the status.
async fn put_role(l: &crate::harness::Lanyard, admin: &str, name: &str) -> u16 {
    reqwest::Client::new()
        .put(l.at(&format!("/admin/api/v1/roles/{name}")))
        .bearer_auth(admin)
        .header("if-none-match", "*")
        .json(&admin_role("on call"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The `admin.changed` events stored for the role `name`.
async fn changes_of(location: &Location, name: &str) -> Vec<AuditEvent> {
    let q = AuditQuery {
        event: Some(EventKind::AdminChanged),
        role: Some(name.to_owned()),
        limit: 100,
        ..AuditQuery::default()
    };
    events_of(location, q).await
}

#[tokio::test]
async fn an_admin_change_whose_event_the_database_refuses_is_not_made() {
    let pg = PgDatabase::create().await;
    let url = pg.url();
    let (l, _keys) = crate::admin_api::start(&url).await;
    let admin = crate::admin_api::token(&l, "alice", "admin").await;
    assert_eq!(put_role(&l, &admin, "eng-first").await, 201);

    // From now on PostgreSQL itself refuses every admin.changed row.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    for statement in [
        "CREATE FUNCTION refuse_admin_changed() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'admin.changed refused by the test'; END $$",
        "CREATE TRIGGER refuse_admin_changed BEFORE INSERT ON audit_events FOR EACH ROW \
         WHEN (NEW.event = 'admin.changed') EXECUTE FUNCTION refuse_admin_changed()",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    let db = Database::open(&pg.location()).unwrap();
    let version = db.catalog_version().await.unwrap();

    // Through the API: the write is rolled back with its event.
    assert_eq!(put_role(&l, &admin, "eng-second").await, 503);
    let (status, _) = get_with(&l, &admin, "/admin/api/v1/roles/eng-second").await;
    assert_eq!(status, 404);
    let r = reqwest::Client::new()
        .delete(l.at("/admin/api/v1/roles/eng-first"))
        .bearer_auth(&admin)
        .header("if-match", format!("\"{version}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "{}", r.text().await.unwrap_or_default());
    let (status, _) = get_with(&l, &admin, "/admin/api/v1/roles/eng-first").await;
    assert_eq!(status, 200, "the delete is rolled back");

    // Through `lanyard apply`: the batch is rolled back with its events.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roles.toml");
    std::fs::write(&file, "").unwrap();
    let config = l.live.as_ref().unwrap().1.display().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(["apply", file.to_str().unwrap(), "--config", &config])
        .env_remove("LANYARD_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing was written"), "{err}");
    assert!(
        db.entity(lanyard::db::EntityKind::Role, "eng-first")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(db.catalog_version().await.unwrap(), version);
    assert_eq!(changes_of(&pg.location(), "eng-first").await.len(), 1);

    // The trail accepts the events again: the same writes are made, each with its event.
    sqlx::query("DROP TRIGGER refuse_admin_changed ON audit_events")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(put_role(&l, &admin, "eng-second").await, 201);
    let kept = changes_of(&pg.location(), "eng-second").await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].detail["operation"], "put");
    db.close().await;
}

/// GET of an admin API path with `token`: status and JSON body.
async fn get_with(l: &crate::harness::Lanyard, token: &str, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(l.at(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_person_filter_finds_their_sign_ins_and_their_admin_changes() {
    let (_dir, url) = crate::admin_api::sqlite();
    let (l, _keys) = crate::admin_api::start(&url).await;
    // alice signs in through `corp` in a browser and takes the admin role there.
    let b = crate::harness::browser();
    let (status, html) = l.picker(&b, "alice").await;
    if status == 200 {
        assert_eq!(l.choose(&b, &html, "admin", 900).await.status(), 303);
    }
    let (admin, _) = l.credentials(&b).await;
    assert_eq!(put_role(&l, &admin, "eng-alice").await, 201);

    // The API's filter by person: both kinds of event, with the same subject and provider.
    let path = "/admin/api/v1/audit-events?provider=corp&subject=alice&limit=100";
    let started = Instant::now();
    let events = loop {
        let (status, body) = get_with(&l, &admin, path).await;
        assert_eq!(status, 200, "{body}");
        let events = body["events"].as_array().cloned().unwrap_or_default();
        let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
        if kinds.contains(&"signin.succeeded") && kinds.contains(&"admin.changed") {
            break events;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let changed = events
        .iter()
        .find(|e| e["event"] == "admin.changed")
        .unwrap();
    assert_eq!(changed["detail"]["name"], "eng-alice");
    assert_eq!(
        (&changed["subject"], &changed["provider"]),
        (&json!("alice"), &json!("corp"))
    );

    // The console's filter by person (`corp:alice`) shows both, the person as before.
    let page = b
        .get(l.at("/admin/audit?person=corp%3Aalice"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("admin.changed"), "{page}");
    assert!(page.contains("signin.succeeded"), "{page}");
    assert!(page.contains("<td>corp:alice</td>"), "{page}");
    assert!(!page.contains("corp:corp:alice"), "{page}");
}
