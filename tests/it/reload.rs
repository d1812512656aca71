//! Live reload: a role's trust policy edited under load (zero failed requests, the new
//! policy in force for every request that starts after the reload), an invalid edit that
//! keeps the running config (counted, logged and audited with its location), the file
//! watch firing by itself, and a real SIGHUP to a `lanyard serve` process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lanyard::clock::{ManualClock, SharedClock, UnixTime};
use lanyard::config::Config;
use lanyard::reload::Reloader;
use lanyard::server::Shared;

use crate::harness::{T0, browser, config_text, csrf_of, memory_store};
use crate::operations::{scrape, value};

/// The auditor role's trust policy in the test config, and the edit that drops `admins`.
const AUDITOR_TRUST: &str = r#""idp:groups" = ["finance", "admins"]"#;
const AUDITOR_EDITED: &str = r#""idp:groups" = ["finance"]"#;
/// Whether a role picker offers the auditor role.
fn offers_auditor(html: &str) -> bool {
    html.contains("value=\"auditor\"")
}

/// A Lanyard serving from a config file on disk, with its reloader.
struct Live {
    url: String,
    path: PathBuf,
    reloader: Arc<Reloader>,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Writes `text` as `lanyard.toml` next to a copy of the example policies.
pub(crate) fn write_config(dir: &Path, text: &str) -> PathBuf {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policies");
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join("policies").join(path.file_name().unwrap())).unwrap();
    }
    let path = dir.join("lanyard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn start_live() -> Live {
    let dir = tempfile::tempdir().unwrap();
    let text = config_text("[sessions]\nstore = \"memory\"\n", &dir.path().join("keys"));
    assert!(text.contains(AUDITOR_TRUST));
    let path = write_config(dir.path(), &text);
    let (config, text) = Config::load_with_text(&path).unwrap();
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let store = memory_store(&clock);
    let shared = Shared::new(&config, store, Arc::new(clock) as SharedClock).unwrap();
    let limits = config.limits.clone();
    let reloader = Arc::new(Reloader::new(path.clone(), config, &text, shared).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(lanyard::web::serve_live(
        listener,
        reloader.router(),
        limits,
        async {
            let _ = rx.await;
        },
    ));
    Live {
        url,
        path,
        reloader,
        _dir: dir,
        _stop: tx,
    }
}

/// A browser signed in as `user` through the password form.
pub(crate) async fn signed_in(url: &str, user: &str) -> reqwest::Client {
    let b = browser();
    let form = b.get(format!("{url}/auth/corp")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let csrf = csrf_of(&form.text().await.unwrap());
    let password = format!("{user}-pw");
    let r = b
        .post(format!("{url}/auth/corp"))
        .form(&[("username", user), ("password", &password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "sign-in of {user}");
    b
}

/// The role picker's status and page.
async fn picker(b: &reqwest::Client, url: &str) -> (u16, String) {
    let r = b.get(format!("{url}/roles")).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// `lanyard_config_reloads_total{outcome}` in a scrape of `url`.
async fn reloads(url: &str, outcome: &str) -> Option<f64> {
    let (_, scrape) = scrape(url, None).await;
    value(
        &scrape.unwrap(),
        "lanyard_config_reloads_total",
        &[("outcome", outcome)],
    )
}

/// Replaces `from` by `to` in the config file.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "the config holds {from}");
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_policy_edited_under_load_applies_to_every_later_request_and_none_fails() {
    let live = start_live().await;
    let reloaded = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (offered_before, offered_after) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let b = signed_in(&live.url, "alice").await;
        let url = live.url.clone();
        let (reloaded, stop, ok, failed) = (
            Arc::clone(&reloaded),
            Arc::clone(&stop),
            Arc::clone(&ok),
            Arc::clone(&failed),
        );
        let (before, after) = (Arc::clone(&offered_before), Arc::clone(&offered_after));
        tasks.spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                // A request that starts after the reload returned must see the new policy.
                let late = reloaded.load(Ordering::SeqCst);
                match b.get(format!("{url}/roles")).send().await {
                    Ok(r) if r.status() == 200 => {
                        ok.fetch_add(1, Ordering::SeqCst);
                        let offered = offers_auditor(&r.text().await.unwrap());
                        let seen = if late { &after } else { &before };
                        if offered {
                            seen.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    edit(&live.path, AUDITOR_TRUST, AUDITOR_EDITED);
    let done = live.reloader.reload().await.unwrap();
    reloaded.store(true, Ordering::SeqCst);
    assert!(done.restart_needed.is_empty(), "{done:?}");
    // The provider's entry did not change: its connector (and any cache) was kept.
    assert_eq!(
        done.kept_connectors,
        [lanyard::identity::ProviderId::new("corp")]
    );
    let answered_at_reload = ok.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::SeqCst);
    while tasks.join_next().await.is_some() {}
    let (ok, failed) = (ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    eprintln!("{ok} requests answered, {answered_at_reload} before the reload");
    assert_eq!(failed, 0, "failed requests");
    assert!(
        answered_at_reload >= 6 && ok > answered_at_reload + 6,
        "load on both sides"
    );
    assert!(
        offered_before.load(Ordering::SeqCst) > 0,
        "the old policy offered auditor"
    );
    assert_eq!(
        offered_after.load(Ordering::SeqCst),
        0,
        "the new policy is in force"
    );
    assert_eq!(reloads(&live.url, "success").await, Some(1.0));
}

#[tokio::test]
async fn an_invalid_edit_keeps_the_running_config_and_is_counted_logged_and_audited() {
    let live = start_live().await;
    let b = signed_in(&live.url, "alice").await;
    assert!(offers_auditor(&picker(&b, &live.url).await.1));
    // The auditor role loses admins, and an operator is misspelt in the same edit.
    let text = std::fs::read_to_string(&live.path).unwrap();
    let bad = text.replace(
        &format!("\"ForAnyValue:StringEquals\" = {{ {AUDITOR_TRUST} }}"),
        &format!("\"ForAnyValue:StringEqual\" = {{ {AUDITOR_EDITED} }}"),
    );
    assert_ne!(bad, text);
    std::fs::write(&live.path, bad).unwrap();

    let (outcome, log) = reload_logged(&live).await;
    let error = outcome.unwrap_err();
    let problems = error.problems();
    assert!(
        problems.iter().any(|p| p.starts_with("line ")
            && p.contains("roles[2].trust_policy.Statement[0].Condition")),
        "{problems:?}"
    );
    assert!(log.contains("config reload refused"), "{log}");
    assert!(
        log.contains("roles[2].trust_policy.Statement[0].Condition"),
        "{log}"
    );
    assert!(log.contains("config.reload_failed"), "audit event in {log}");

    // The running config stays: auditor is still offered, to the same session.
    let (status, html) = picker(&b, &live.url).await;
    assert_eq!(status, 200);
    assert!(offers_auditor(&html));
    assert_eq!(reloads(&live.url, "failure").await, Some(1.0));
    let (_, scrape) = scrape(&live.url, None).await;
    let scrape = scrape.unwrap();
    assert_eq!(
        value(
            &scrape,
            "lanyard_config_last_reload_success_timestamp_seconds",
            &[]
        ),
        Some(T0 as f64),
        "set at start, not by the failure"
    );
}

#[derive(Clone)]
struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

/// One reload of `live`'s file with the log it writes captured: its outcome and the log.
async fn reload_logged(
    live: &Live,
) -> (
    Result<lanyard::reload::Reloaded, lanyard::reload::ReloadError>,
    String,
) {
    let log = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let writer = Arc::clone(&log);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || Capture(Arc::clone(&writer)))
        .with_ansi(false)
        .finish();
    let outcome = {
        let _guard = tracing::subscriber::set_default(subscriber);
        live.reloader.reload().await
    };
    let text = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    (outcome, text)
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_watch_reloads_an_edited_config_by_itself() {
    let live = start_live().await;
    let _watch = live.reloader.watch().unwrap();
    let b = signed_in(&live.url, "alice").await;
    assert!(offers_auditor(&picker(&b, &live.url).await.1));
    edit(&live.path, AUDITOR_TRUST, AUDITOR_EDITED);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, html) = picker(&b, &live.url).await;
        assert_eq!(status, 200);
        if !offers_auditor(&html) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watch did not reload the edited file"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A touch that leaves the text as it is does not reload again.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let text = std::fs::read_to_string(&live.path).unwrap();
    std::fs::write(&live.path, text).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(reloads(&live.url, "success").await, Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_a_running_lanyard_serve_process() {
    let dir = tempfile::tempdir().unwrap();
    let text = config_text("[sessions]\nstore = \"memory\"\n", &dir.path().join("keys"));
    let mut served = crate::floods::serve_binary(&text, dir.path()).await;
    let pid = served.child.id().to_string();
    let hup = || {
        let sent = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    let b = signed_in(&served.url, "alice").await;
    assert!(offers_auditor(&picker(&b, &served.url).await.1));

    // SIGHUP reloads even an unchanged file (the watch would not), and the process lives.
    hup();
    let deadline = Instant::now() + Duration::from_secs(10);
    while reloads(&served.url, "success").await != Some(1.0) {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        assert!(
            served.child.try_wait().unwrap().is_none(),
            "SIGHUP ended the process"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // An edit reloaded by SIGHUP (or the watch, whichever comes first) takes effect for
    // the same signed-in session.
    edit(
        &dir.path().join("lanyard.toml"),
        AUDITOR_TRUST,
        AUDITOR_EDITED,
    );
    hup();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, html) = picker(&b, &served.url).await;
        assert_eq!(status, 200);
        if !offers_auditor(&html) {
            break;
        }
        assert!(Instant::now() < deadline, "the edit was not reloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served.child.try_wait().unwrap().is_none());
    assert_eq!(reloads(&served.url, "failure").await, None);
}

#[tokio::test]
async fn a_changed_audit_section_keeps_the_running_trail_warns_and_is_counted_apart() {
    let live = start_live().await;
    let b = signed_in(&live.url, "alice").await;
    assert!(offers_auditor(&picker(&b, &live.url).await.1));
    // One edit changes a role (applied at once) and adds an [audit] file (needs a restart).
    let trail = live.path.parent().unwrap().join("trail.jsonl");
    edit(&live.path, AUDITOR_TRUST, AUDITOR_EDITED);
    let mut text = std::fs::read_to_string(&live.path).unwrap();
    assert!(!text.contains("[audit]"));
    text.push_str(&format!("\n[audit]\nfile = \"{}\"\n", trail.display()));
    std::fs::write(&live.path, text).unwrap();

    let (outcome, log) = reload_logged(&live).await;
    let done = outcome.unwrap();
    assert_eq!(done.restart_needed, ["[audit]"]);
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains("[audit]") && l.contains("restart")),
        "{log}"
    );
    // The rest of the edit applies; the running trail stays (the new file gets nothing,
    // not even this reload's `config.reloaded`).
    assert!(!offers_auditor(&picker(&b, &live.url).await.1));
    assert!(!trail.exists(), "the new [audit] file was opened");
    assert_eq!(reloads(&live.url, "restart_needed").await, Some(1.0));
    assert_eq!(reloads(&live.url, "success").await, None);
    assert_eq!(reloads(&live.url, "failure").await, None);
}
