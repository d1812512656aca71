//! Single-use items (codes, refresh tokens, login transactions) under races and Redis
//! faults: concurrent reuse revokes exactly as sequential reuse does (real Redis on 6379,
//! own prefix); a take Lanyard answered "try again" for leaves the item usable when a
//! stalled Redis resumes; the first request after a Redis restart succeeds (both on a
//! private `redis-server` the test pauses or restarts).

use std::sync::Arc;
use std::time::Duration;

use lanyard::clock::{ManualClock, UnixTime};
use lanyard::session::{
    Answer, Op, RedisStore, RedisTimeouts, SessionStore, Step, StoreError, keyspace,
};

use crate::harness::{Lanyard, T0, browser, csrf_of};
use crate::oidc_provider::{
    GRAFANA_REDIRECT, authorize_url, introspect, location, query, run_authorize, start_on, token,
};
use crate::private_redis::PrivateRedis;

const REDIS: &str = "redis://127.0.0.1:6379";
const GRAFANA: Option<(&str, &str)> = Some(("grafana", "grafana-secret"));

fn prefix() -> String {
    format!(
        "lanyard-it:{}:",
        lanyard::session::random_id().expose_secret()
    )
}

async fn on_redis(url: &str, timeouts: RedisTimeouts) -> (Lanyard, RedisStore, String) {
    let prefix = prefix();
    let store = RedisStore::connect(url, &prefix, timeouts).unwrap();
    let section = format!(
        "[sessions]\nstore = \"redis\"\nredis_url = \"{url}\"\nkey_prefix = \"{prefix}\"\n"
    );
    let shared: Arc<dyn SessionStore> = Arc::new(store.clone());
    let l = start_on(&section, shared, ManualClock::new(UnixTime::from_secs(T0))).await;
    (l, store, prefix)
}

async fn code_for(l: &Lanyard, b: &reqwest::Client) -> String {
    let back = run_authorize(
        l,
        b,
        &authorize_url(l, "grafana", GRAFANA_REDIRECT, &[]),
        "alice",
        Some("auditor"),
    )
    .await;
    query(&back, "code").unwrap()
}

async fn redeem(l: &Lanyard, code: &str) -> (u16, serde_json::Value) {
    token(
        l,
        GRAFANA,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", GRAFANA_REDIRECT),
        ],
    )
    .await
}

async fn refresh(l: &Lanyard, rt: &str) -> (u16, serde_json::Value) {
    token(
        l,
        GRAFANA,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
}

/// Whatever either of two simultaneous uses got must be dead: its access token inactive,
/// its refresh token refused.
async fn assert_all_revoked(l: &Lanyard, answers: &[(u16, serde_json::Value)], trial: usize) {
    for (status, t) in answers {
        if *status != 200 {
            assert_eq!(t["error"], "invalid_grant", "trial {trial}: {t}");
            continue;
        }
        let access = t["access_token"].as_str().unwrap();
        assert_eq!(
            introspect(l, access).await["active"],
            false,
            "trial {trial}: the winner's access token survived"
        );
        let rt = t["refresh_token"].as_str().unwrap();
        assert_eq!(introspect(l, rt).await["active"], false, "trial {trial}");
        assert_eq!(refresh(l, rt).await.0, 400, "trial {trial}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_reuse_of_a_code_revokes_the_winners_tokens() {
    let (l, _, prefix) = on_redis(REDIS, RedisTimeouts::default()).await;
    let b = browser();
    for trial in 0..20 {
        let code = code_for(&l, &b).await;
        let (x, y) = tokio::join!(redeem(&l, &code), redeem(&l, &code));
        assert!(x.0 != 200 || y.0 != 200, "trial {trial}: both redeemed");
        assert_all_revoked(&l, &[x, y], trial).await;
    }
    purge(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_reuse_of_a_refresh_token_revokes_the_family() {
    let (l, _, prefix) = on_redis(REDIS, RedisTimeouts::default()).await;
    let b = browser();
    for trial in 0..20 {
        let code = code_for(&l, &b).await;
        let (s, first) = redeem(&l, &code).await;
        assert_eq!(s, 200, "{first}");
        let rt = first["refresh_token"].as_str().unwrap();
        let (x, y) = tokio::join!(refresh(&l, rt), refresh(&l, rt));
        assert!(x.0 != 200 || y.0 != 200, "trial {trial}: both refreshed");
        assert_all_revoked(&l, &[x, y, (200, first.clone())], trial).await;
    }
    purge(&prefix).await;
}

/// The keys under the test's prefix.
async fn keys_under(prefix: &str) -> Vec<String> {
    let client = redis::Client::open(REDIS).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut c)
        .await
        .unwrap()
}

/// The record a refresh token carries (`{record}.{secret}`), as JSON.
fn carried_record(rt: &str) -> serde_json::Value {
    use base64::Engine as _;
    let (record, secret) = rt
        .split_once('.')
        .expect("a refresh token of the current form");
    assert_eq!(secret.len(), 43);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(record)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A refresh token keeps nothing of its own in Redis (only its digest, in its SSO
/// session's hash); one whose record was altered is refused and, naming a live family,
/// revokes it; an earlier version's token (its record under its digest) still refreshes
/// into the current form, and its reuse still revokes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_carry_their_record_and_earlier_ones_still_work() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (l, store, prefix) = on_redis(REDIS, RedisTimeouts::default()).await;
    let b = browser();
    let (s, t) = redeem(&l, &code_for(&l, &b).await).await;
    assert_eq!(s, 200, "{t}");
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let record = carried_record(&rt);
    assert_eq!(record["c"], "grafana");
    assert_eq!(record["r"], "auditor");
    let keys = keys_under(&prefix).await;
    assert!(
        !keys
            .iter()
            .any(|k| k.contains("rt:") || k.contains("rt-used:")),
        "{keys:?}"
    );
    let sso_ref = record["o"].as_str().unwrap().to_owned();
    let family = record["f"].as_str().unwrap().to_owned();
    let issued = keyspace::SSO_ISSUED.key([&sso_ref]);
    let field = keyspace::family_refresh_token_field(&family);
    let current = |fields: Vec<(String, String)>| {
        fields
            .into_iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v)
    };
    assert_eq!(
        current(store.hash_fields(&issued).await.unwrap()),
        Some(lanyard::session::digest(&rt))
    );
    assert_eq!(introspect(&l, &rt).await["active"], true);

    // Altered: the role changed, the secret kept. Refused, and the family is revoked.
    let mut altered = record.clone();
    altered["r"] = "admin".into();
    let secret = rt.split_once('.').unwrap().1;
    let forged = format!("{}.{secret}", b64.encode(altered.to_string()));
    let (s, e) = refresh(&l, &forged).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    assert_eq!(refresh(&l, &rt).await.0, 400, "the family must be revoked");
    assert_eq!(introspect(&l, &rt).await["active"], false);
    assert_eq!(
        introspect(&l, t["access_token"].as_str().unwrap()).await["active"],
        false
    );
    // Garbage of every shape: refused, nothing else happens.
    for junk in [
        "",
        ".",
        "a.b",
        "x".repeat(5000).as_str(),
        &format!("{}.{secret}", b64.encode("[]")),
    ] {
        assert_eq!(refresh(&l, junk).await.0, 400, "{junk:.20}");
    }

    // An earlier version's token: a random id, its record under its digest, its digest as
    // the family's current token.
    let (s, t) = redeem(&l, &code_for(&l, &b).await).await;
    assert_eq!(s, 200, "{t}");
    let record = carried_record(t["refresh_token"].as_str().unwrap());
    let (sso_ref, family) = (record["o"].as_str().unwrap(), record["f"].as_str().unwrap());
    let earlier = lanyard::session::random_id().expose_secret().to_owned();
    let earlier_digest = lanyard::session::digest(&earlier);
    let stored = serde_json::json!({
        "family": family, "client_id": "grafana", "scope": record["sc"],
        "sso_ref": sso_ref, "sub": record["s"], "role": "auditor",
        "duration_secs": record["ds"], "expires_at": record["e"],
    });
    let ttl = Duration::from_secs(3600);
    store
        .put(
            &keyspace::REFRESH_TOKEN.key([&earlier_digest]),
            stored.to_string().as_bytes(),
            ttl,
        )
        .await
        .unwrap();
    let (issued, field) = (
        keyspace::SSO_ISSUED.key([sso_ref]),
        keyspace::family_refresh_token_field(family),
    );
    store
        .hash_set(&issued, &field, &earlier_digest, ttl)
        .await
        .unwrap();
    assert_eq!(introspect(&l, &earlier).await["active"], true);
    let (s, next) = refresh(&l, &earlier).await;
    assert_eq!(s, 200, "{next}");
    let next_rt = next["refresh_token"].as_str().unwrap();
    assert_eq!(carried_record(next_rt)["f"], family);
    // Reused: the family goes, the new-form token with it.
    assert_eq!(refresh(&l, &earlier).await.0, 400);
    assert_eq!(refresh(&l, next_rt).await.0, 400);
    assert_eq!(
        introspect(&l, next["access_token"].as_str().unwrap()).await["active"],
        false
    );
    purge(&prefix).await;
}

/// Short timeouts so a stall is noticed quickly: the take gives up after 500 ms.
fn quick() -> RedisTimeouts {
    RedisTimeouts {
        connect: Duration::from_millis(500),
        response: Duration::from_millis(500),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_redeemed_during_a_stall_is_still_usable_afterwards() {
    let redis = PrivateRedis::start().await;
    let (l, _, _) = on_redis(&redis.url(), quick()).await;
    let b = browser();
    // WRITE lets Lanyard read Redis's clock and stalls the take itself; ALL stalls both.
    for mode in ["WRITE", "ALL"] {
        let code = code_for(&l, &b).await;
        redis.pause(1_500, mode).await;
        let (s, e) = redeem(&l, &code).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (503, Some("temporarily_unavailable")),
            "{mode}: {e}"
        );
        // Let the pause end and the stalled command run.
        tokio::time::sleep(Duration::from_millis(1_800)).await;
        let (s, t) = redeem(&l, &code).await;
        assert_eq!(s, 200, "{mode}: the retry must succeed: {t}");
        assert_eq!(
            introspect(&l, t["access_token"].as_str().unwrap()).await["active"],
            true
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_used_during_a_stall_is_still_usable_afterwards() {
    let redis = PrivateRedis::start().await;
    let (l, _, _) = on_redis(&redis.url(), quick()).await;
    let b = browser();
    for mode in ["WRITE", "ALL"] {
        let (s, t) = redeem(&l, &code_for(&l, &b).await).await;
        assert_eq!(s, 200, "{mode}: {t}");
        let rt = t["refresh_token"].as_str().unwrap();
        redis.pause(1_500, mode).await;
        let (s, e) = refresh(&l, rt).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (503, Some("temporarily_unavailable")),
            "{mode}: {e}"
        );
        tokio::time::sleep(Duration::from_millis(1_800)).await;
        let (s, next) = refresh(&l, rt).await;
        assert_eq!(s, 200, "{mode}: the retry must succeed: {next}");
        // Rotated once: the new one works.
        let (s, e) = refresh(&l, next["refresh_token"].as_str().unwrap()).await;
        assert_eq!(s, 200, "{mode}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_submitted_during_a_stall_can_be_submitted_again() {
    let redis = PrivateRedis::start().await;
    let (l, _, _) = on_redis(&redis.url(), quick()).await;
    let b = browser();
    let html = b
        .get(l.at("/auth/corp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("username", "alice".to_owned()),
        ("password", "alice-pw".to_owned()),
        ("csrf", csrf_of(&html)),
    ];
    redis.pause(1_500, "WRITE").await;
    let r = b.post(l.at("/auth/corp")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 503);
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    let r = b.post(l.at("/auth/corp")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303, "the login transaction must still be there");
    assert_eq!(location(&r), "/roles");
}

/// The compare-and-delete take (password forms, upstream callbacks) keeps the same promise
/// as `take`: one that Lanyard gave up on changes nothing when the stalled Redis runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compare_and_delete_given_up_during_a_stall_changes_nothing() {
    let redis = PrivateRedis::start().await;
    let store = RedisStore::connect(&redis.url(), &prefix(), quick()).unwrap();
    let ttl = Duration::from_secs(60);
    store.put("txn", b"record", ttl).await.unwrap();
    // Once first, so that Redis knows the script and the stalled call is a plain EVALSHA.
    assert!(!store.take_if_equal("other", b"record").await.unwrap());
    redis.freeze(1_500).await;
    let given_up = store.take_if_equal("txn", b"record").await;
    assert!(
        matches!(given_up, Err(StoreError::Unavailable(_))),
        "{given_up:?}"
    );
    // Let Redis wake and run what waited in its sockets: past its deadline, the script
    // does nothing.
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    assert_eq!(
        store.get("txn").await.unwrap().as_deref(),
        Some(&b"record"[..])
    );
    assert!(store.take_if_equal("txn", b"record").await.unwrap());
    assert_eq!(store.get("txn").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_request_after_a_redis_restart_succeeds() {
    let mut redis = PrivateRedis::start().await;
    let (l, store, _) = on_redis(&redis.url(), RedisTimeouts::default()).await;
    let b = browser();
    let (_, html) = l.picker(&b, "alice").await;
    assert_eq!(l.choose(&b, &html, "engineer", 900).await.status(), 303);
    assert_eq!(
        b.get(l.at("/credentials")).send().await.unwrap().status(),
        200
    );
    store
        .put("probe", b"v", Duration::from_secs(60))
        .await
        .unwrap();
    redis.restart().await;
    // The store's connection is now stale; reads go through on the first try.
    assert_eq!(
        store.get("probe").await.unwrap().as_deref(),
        Some(&b"v"[..])
    );
    redis.restart().await;
    assert!(store.set_members("nothing").await.unwrap().is_empty());
    redis.restart().await;
    store.ping().await.unwrap();
    redis.restart().await;
    // A page that only reads: the session survived (saved) and is found at once.
    let r = b.get(l.at("/credentials")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// Removes the test's keys from the shared Redis (they all expire anyway).
pub(crate) async fn purge(prefix: &str) {
    let client = redis::Client::open(REDIS).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut c)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut c)
            .await
            .unwrap();
    }
}

/// A store that fails one chosen write: a failure in the middle of an exchange, after the
/// code was taken, which a real Redis cannot be made to produce at that exact point.
struct FailOnce {
    inner: Arc<dyn SessionStore>,
    armed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl SessionStore for FailOnce {
    async fn run(&self, op: Op<'_>) -> Result<Answer, StoreError> {
        // The role session's put, alone or in the batch that records it with its SSO
        // session's entries.
        let puts_role_session = |step: &Step<'_>| matches!(step, Step::Put { key, .. } if key.starts_with(keyspace::ROLE_SESSION.prefix));
        let targeted = match op {
            Op::Put { key, .. } => key.starts_with(keyspace::ROLE_SESSION.prefix),
            Op::Batch { steps } => steps.iter().any(puts_role_session),
            _ => false,
        };
        if targeted && self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected".into()));
        }
        self.inner.run(op).await
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}

#[tokio::test]
async fn a_code_whose_exchange_failed_on_the_store_after_the_take_is_usable_again() {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let store = Arc::new(FailOnce {
        inner: crate::harness::memory_store(&clock),
        armed: std::sync::atomic::AtomicBool::new(false),
    });
    let shared: Arc<dyn SessionStore> = store.clone();
    let l = start_on("[sessions]\nstore = \"memory\"\n", shared, clock).await;
    let b = browser();
    let code = code_for(&l, &b).await;
    store.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let (s, e) = redeem(&l, &code).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );
    let (s, t) = redeem(&l, &code).await;
    assert_eq!(s, 200, "the retry must succeed: {t}");
    // And the code is single-use again from here on: a reuse revokes what it issued.
    assert_eq!(redeem(&l, &code).await.0, 400);
    assert_eq!(
        introspect(&l, t["access_token"].as_str().unwrap()).await["active"],
        false
    );
    // The same for a refresh token.
    let (s, t) = {
        let code = code_for(&l, &b).await;
        redeem(&l, &code).await
    };
    assert_eq!(s, 200);
    let rt2 = t["refresh_token"].as_str().unwrap();
    store.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(refresh(&l, rt2).await.0, 503);
    assert_eq!(refresh(&l, rt2).await.0, 200);
}
