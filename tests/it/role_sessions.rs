//! Role sessions minted from the browser: `GET /roles` shows the live role session of the
//! SSO session again instead of minting one per visit, `HEAD` mints nothing, a cap bounds
//! how many one SSO session may mint, and the store never holds a bearer token (real
//! Redis on 6379, own prefix).

use std::sync::Arc;

use lanyard::clock::{ManualClock, UnixTime};
use lanyard::session::{RedisStore, RedisTimeouts, SessionStore};

use crate::harness::{Lanyard, T0, browser, csrf_of, token_of};
use crate::oidc_provider::{introspect, start_on};
use crate::single_use::purge;

const REDIS: &str = "redis://127.0.0.1:6379";

async fn on_redis(sessions_extra: &str) -> (Lanyard, String) {
    let prefix = format!(
        "lanyard-it:{}:",
        lanyard::session::random_id().expose_secret()
    );
    let store = RedisStore::connect(REDIS, &prefix, RedisTimeouts::default()).unwrap();
    let section = format!(
        "[sessions]\nstore = \"redis\"\nredis_url = \"{REDIS}\"\nkey_prefix = \"{prefix}\"\n{sessions_extra}"
    );
    let shared: Arc<dyn SessionStore> = Arc::new(store);
    (
        start_on(&section, shared, ManualClock::new(UnixTime::from_secs(T0))).await,
        prefix,
    )
}

/// `GET /roles` for a person with one role; returns the token then on `/credentials`.
async fn visit_roles(l: &Lanyard, b: &reqwest::Client) -> String {
    let r = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/credentials");
    let r = b.get(l.at("/credentials")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    token_of(&r.text().await.unwrap())
}

#[tokio::test]
async fn get_roles_shows_the_live_role_session_again_and_head_mints_nothing() {
    let (l, prefix) = on_redis("").await;
    // bob has one role (engineer): the picker is skipped.
    let b = browser();
    assert_eq!(l.sign_in(&b, "bob", "bob-pw").await.status(), 303);
    let first = visit_roles(&l, &b).await;
    for _ in 0..2 {
        assert_eq!(
            visit_roles(&l, &b).await,
            first,
            "one token, not one per visit"
        );
    }
    assert_eq!(introspect(&l, &first).await["active"], true);
    // After the role session's half-life a fresh one is minted.
    l.clock.advance(std::time::Duration::from_secs(40 * 60));
    let second = visit_roles(&l, &b).await;
    assert_ne!(second, first);

    // HEAD: nothing minted, nothing to show.
    let c = browser();
    assert_eq!(l.sign_in(&c, "carol", "carol-pw").await.status(), 303);
    let r = c.head(l.at("/roles")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = c.get(l.at("/credentials")).send().await.unwrap();
    assert_eq!(
        r.status(),
        303,
        "HEAD /roles must not have issued credentials"
    );
    assert_eq!(r.headers()["location"], "/roles");
    purge(&prefix).await;
}

#[tokio::test]
async fn one_sso_session_mints_a_bounded_number_of_role_sessions() {
    let (l, prefix) = on_redis("max_role_sessions = 3\n").await;
    let b = browser();
    assert_eq!(l.sign_in(&b, "bob", "bob-pw").await.status(), 303);
    let token = visit_roles(&l, &b).await;
    let html = b
        .get(l.at("/credentials"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let choose = || {
        b.post(l.at("/roles"))
            .form(&[
                ("role", "engineer"),
                ("duration", "900"),
                ("csrf", &csrf_of(&html)),
            ])
            .send()
    };
    // Choosing on the picker asks for new credentials: two more are allowed...
    for _ in 0..2 {
        assert_eq!(choose().await.unwrap().status(), 303);
    }
    // ...and then a clear page says what happened and what to do.
    let r = choose().await.unwrap();
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("3 sets of credentials"), "{page}");
    assert!(page.contains("sign in again"), "{page}");
    // What was issued still works.
    assert_eq!(introspect(&l, &token).await["active"], true);
    // A new sign-in starts a new count.
    let b2 = browser();
    assert_eq!(l.sign_in(&b2, "bob", "bob-pw").await.status(), 303);
    visit_roles(&l, &b2).await;
    purge(&prefix).await;
}

#[tokio::test]
async fn the_store_holds_no_bearer_token() {
    let (l, prefix) = on_redis("").await;
    let b = browser();
    assert_eq!(l.sign_in(&b, "bob", "bob-pw").await.status(), 303);
    let token = visit_roles(&l, &b).await;
    // The token works: verification needs only what the store keeps.
    assert_eq!(introspect(&l, &token).await["active"], true);
    let userinfo = reqwest::Client::new()
        .get(l.at("/oauth2/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);
    let signature = token.rsplit('.').next().unwrap().to_owned();
    let client = redis::Client::open(REDIS).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(
        keys.iter().any(|k| k.starts_with(&format!("{prefix}rs:"))),
        "the role session is stored: {keys:?}"
    );
    for key in &keys {
        let kind: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut c)
            .await
            .unwrap();
        if kind != "string" {
            continue;
        }
        let value: Vec<u8> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut c)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&value);
        assert!(
            !text.contains(&signature),
            "{key} holds the bearer token: {text}"
        );
    }
    purge(&prefix).await;
}
