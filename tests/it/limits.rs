//! Brute-force protection of password sign-ins: per-account limits shared by two instances
//! through one Redis, per-address limits, exponential back-off, and answers that do not
//! tell a locked account from a wrong password.

use std::sync::Arc;
use std::time::Duration;

use lanyard::clock::UnixTime;
use lanyard::session::{RedisStore, RedisTimeouts, SessionStore};

use crate::harness::{T0, browser, config_text, memory_store, start_with};

const INCORRECT: &str = "The username or password is incorrect.";

fn redis(prefix: &str) -> Arc<dyn SessionStore> {
    Arc::new(
        RedisStore::connect("redis://127.0.0.1:6379", prefix, RedisTimeouts::default()).unwrap(),
    )
}

#[tokio::test]
async fn account_limits_are_shared_by_instances_on_one_redis() {
    let keys = tempfile::tempdir().unwrap();
    let prefix = format!(
        "lanyard-it:{}:",
        lanyard::session::random_id().expose_secret()
    );
    let sections = format!(
        "[sessions]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\"\nkey_prefix = \"{prefix}\"\n\
         [sign_in]\nmax_account_failures = 3\nlockout = \"1s\"\nmax_lockout = \"1m\"\n"
    );
    let text = config_text(&sections, keys.path());
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let a = start_with(&text, redis(&prefix), clock.clone()).await;
    let b = start_with(&text, redis(&prefix), clock.clone()).await;
    // Two failures on A, one on B: the third locks bob everywhere.
    for l in [&a, &a, &b] {
        let r = l.sign_in(&browser(), "bob", "guess").await;
        assert_eq!(r.status(), 401);
    }
    for l in [&a, &b] {
        let r = l.sign_in(&browser(), "bob", "bob-pw").await;
        assert_eq!(r.status(), 401, "locked on both instances");
        assert!(r.text().await.unwrap().contains(INCORRECT));
    }
    // Another account is fine.
    assert_eq!(
        a.sign_in(&browser(), "alice", "alice-pw").await.status(),
        303
    );
    // The lock (1 s, in Redis's own time) ends; the right password works and resets.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(b.sign_in(&browser(), "bob", "bob-pw").await.status(), 303);
    assert_eq!(a.sign_in(&browser(), "bob", "guess").await.status(), 401);
    assert_eq!(a.sign_in(&browser(), "bob", "bob-pw").await.status(), 303);
}

#[tokio::test]
async fn source_address_limits_and_back_off() {
    let keys = tempfile::tempdir().unwrap();
    let sections = "[sessions]\nstore = \"memory\"\n\
                    [sign_in]\nmax_ip_failures = 4\nmax_account_failures = 100\n\
                    lockout = \"30s\"\nmax_lockout = \"10m\"\n";
    let text = config_text(sections, keys.path());
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let l = start_with(&text, memory_store(&clock), clock.clone()).await;
    // Four failures for four different (mostly unknown) accounts from one address...
    for user in ["u1", "u2", "u3", "carol"] {
        assert_eq!(l.sign_in(&browser(), user, "x").await.status(), 401);
    }
    // ...lock the address for 30 s, whatever the account.
    let r = l.sign_in(&browser(), "alice", "alice-pw").await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains(INCORRECT));
    clock.advance(Duration::from_secs(31));
    assert_eq!(
        l.sign_in(&browser(), "alice", "alice-pw").await.status(),
        303
    );
    // The address's count is not reset by a success: the next failure locks for 60 s.
    assert_eq!(l.sign_in(&browser(), "u5", "x").await.status(), 401);
    clock.advance(Duration::from_secs(31));
    assert_eq!(
        l.sign_in(&browser(), "alice", "alice-pw").await.status(),
        401
    );
    clock.advance(Duration::from_secs(30));
    assert_eq!(
        l.sign_in(&browser(), "alice", "alice-pw").await.status(),
        303
    );
}

/// What the server logs while a guard is held: the test runs on a current-thread runtime,
/// so the server's tasks log on this thread and a thread-local subscriber sees them.
#[derive(Clone, Default)]
struct Log(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let log = Self::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    /// Password checks that ran and failed (locked attempts are not checked).
    fn checked_failures(&self) -> usize {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines()
            .filter(|l| l.contains("sign_in.failure") && l.contains("wrong username"))
            .count()
    }
}

fn redis_prefix() -> String {
    format!(
        "lanyard-it:{}:",
        lanyard::session::random_id().expose_secret()
    )
}

/// 49 wrong guesses and then the right password, all in flight at once (each with its own
/// login transaction); `users` gives the username of attempt `i`. Returns the number of
/// wrong guesses checked and the status of the right one.
async fn flood(
    sections: &str,
    store: Arc<dyn SessionStore>,
    users: fn(usize) -> String,
) -> (usize, u16) {
    let keys = tempfile::tempdir().unwrap();
    let text = config_text(sections, keys.path());
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let (log, _guard) = Log::capture();
    let l = Arc::new(start_with(&text, store, clock).await);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..49 {
        let l = Arc::clone(&l);
        let user = users(i);
        tasks.spawn(async move { l.sign_in(&browser(), &user, "guess").await.status() });
    }
    let right = {
        let l = Arc::clone(&l);
        tokio::spawn(async move {
            // Last: its login form is fetched along with the others, its POST comes after.
            tokio::time::sleep(Duration::from_millis(100)).await;
            l.sign_in(&browser(), "alice", "alice-pw")
                .await
                .status()
                .as_u16()
        })
    };
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 401);
    }
    let right = right.await.unwrap();
    (log.checked_failures(), right)
}

const ACCOUNT_LIMIT: &str = "[sign_in]\nmax_account_failures = 5\nmax_ip_failures = 1000\n";
const ADDRESS_LIMIT: &str = "[sign_in]\nmax_account_failures = 1000\nmax_ip_failures = 5\n";

fn same_user(_: usize) -> String {
    "alice".to_owned()
}

fn many_users(i: usize) -> String {
    format!("user{i}")
}

fn redis_sections(prefix: &str, limits: &str) -> String {
    format!(
        "[sessions]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\"\n\
         key_prefix = \"{prefix}\"\n{limits}"
    )
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_guesses_for_one_account_stop_at_the_allowance_in_memory() {
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let sections = format!("[sessions]\nstore = \"memory\"\n{ACCOUNT_LIMIT}");
    let (checked, right) = flood(&sections, memory_store(&clock), same_user).await;
    assert!(checked <= 5, "{checked} wrong passwords were checked");
    assert_eq!(
        right, 401,
        "the allowance is spent: the right password waits"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_guesses_for_one_account_stop_at_the_allowance_on_redis() {
    let prefix = redis_prefix();
    let sections = redis_sections(&prefix, ACCOUNT_LIMIT);
    let (checked, right) = flood(&sections, redis(&prefix), same_user).await;
    assert!(checked <= 5, "{checked} wrong passwords were checked");
    assert_eq!(
        right, 401,
        "the allowance is spent: the right password waits"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_guesses_from_one_address_stop_at_the_allowance_in_memory() {
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let sections = format!("[sessions]\nstore = \"memory\"\n{ADDRESS_LIMIT}");
    let (checked, right) = flood(&sections, memory_store(&clock), many_users).await;
    assert!(checked <= 5, "{checked} wrong passwords were checked");
    assert_eq!(right, 401, "the address's allowance is spent");
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_guesses_from_one_address_stop_at_the_allowance_on_redis() {
    let prefix = redis_prefix();
    let sections = redis_sections(&prefix, ADDRESS_LIMIT);
    let (checked, right) = flood(&sections, redis(&prefix), many_users).await;
    assert!(checked <= 5, "{checked} wrong passwords were checked");
    assert_eq!(right, 401, "the address's allowance is spent");
}

const CLI_REDIRECT: &str = "http://127.0.0.1:53682/callback";

fn authorize_path() -> String {
    format!(
        "/oauth2/authorize?response_type=code&client_id=cli&redirect_uri={}&scope=openid\
         &state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
         &code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(CLI_REDIRECT.as_bytes()).collect::<String>()
    )
}

#[tokio::test]
async fn pending_sign_ins_and_authorizations_are_capped_per_address_and_in_total() {
    let keys = tempfile::tempdir().unwrap();
    // Behind a trusted proxy, so that the test can speak for several client addresses.
    let sections = "trusted_proxies = [\"127.0.0.1/32\"]\n[sessions]\nstore = \"memory\"\n\
                    [limits]\nmax_pending_logins_per_address = 5\nmax_pending_logins = 8\n\
                    max_pending_authorizations_per_address = 2\nmax_pending_authorizations = 3\n";
    let mut text = config_text(sections, keys.path());
    text.push_str(&format!(
        "\n[[clients]]\nid = \"cli\"\npublic = true\nredirect_uris = [\"{CLI_REDIRECT}\"]\n\
         allowed_roles = [\"engineer\"]\n"
    ));
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let l = start_with(&text, memory_store(&clock), clock.clone()).await;
    let client = browser();
    let get = |path: String, from: &'static str| {
        client
            .get(l.at(&path))
            .header("x-forwarded-for", from)
            .send()
    };
    let login = || "/auth/corp".to_owned();
    // One IPv6 /64 is one client, whichever of its addresses it uses.
    for from in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2:ffff::1",
        "2001:db8:1:2::3",
        "2001:db8:1:2::4",
    ] {
        assert_eq!(get(login(), from).await.unwrap().status(), 200, "{from}");
    }
    let refused = get(login(), "2001:db8:1:2:abcd::9").await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "600");
    let page = refused.text().await.unwrap();
    assert!(page.contains("Too many sign-ins"), "{page}");
    assert!(page.contains("try again"), "{page}");
    assert!(
        !page.contains("Too Many Requests"),
        "no reason phrase: {page}"
    );
    // Other clients get in until the total is reached.
    for from in ["2001:db8:1:3::1", "198.51.100.1", "198.51.100.2"] {
        assert_eq!(get(login(), from).await.unwrap().status(), 200, "{from}");
    }
    assert_eq!(get(login(), "198.51.100.3").await.unwrap().status(), 429);
    // A made-up form POSTed anonymously would get a fresh one: it is held to the cap too.
    let made_up = client
        .post(l.at("/auth/corp"))
        .header("x-forwarded-for", "198.51.100.4")
        .form(&[("username", "x"), ("password", "y"), ("csrf", "made-up")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        made_up.status(),
        429,
        "a stale-form answer parks nothing past the cap"
    );
    // Parked authorization requests have caps of their own.
    for from in ["203.0.113.1", "203.0.113.1", "203.0.113.2"] {
        assert_eq!(get(authorize_path(), from).await.unwrap().status(), 303);
    }
    assert_eq!(
        get(authorize_path(), "203.0.113.1").await.unwrap().status(),
        429
    );
    let r = get(authorize_path(), "203.0.113.3").await.unwrap();
    assert_eq!(r.status(), 429, "the total");
    assert!(r.headers().contains_key("retry-after"));
    // Once the records' lifetime has passed, they count no more.
    clock.advance(Duration::from_secs(601));
    assert_eq!(get(login(), "2001:db8:1:2::1").await.unwrap().status(), 200);
    assert_eq!(
        get(authorize_path(), "203.0.113.1").await.unwrap().status(),
        303
    );
}
