//! Lanyard on the real Redis at 127.0.0.1:6379: sessions survive a restart and are shared
//! by two instances; an unreachable store gives 503, never a panic.

use std::sync::Arc;

use lanyard::clock::UnixTime;
use lanyard::session::{RedisStore, RedisTimeouts, SessionStore};

use crate::harness::{T0, browser, config_text, start_with};

const REDIS: &str = "redis://127.0.0.1:6379";

fn prefix() -> String {
    format!(
        "lanyard-it:{}:",
        lanyard::session::random_id().expose_secret()
    )
}

async fn redis(prefix: &str) -> Arc<dyn SessionStore> {
    Arc::new(RedisStore::connect(REDIS, prefix, RedisTimeouts::default()).unwrap())
}

#[tokio::test]
async fn sessions_survive_a_restart_and_are_shared_between_instances() {
    let keys = tempfile::tempdir().unwrap();
    let prefix = prefix();
    let store_section = format!(
        "[sessions]\nstore = \"redis\"\nredis_url = \"{REDIS}\"\nkey_prefix = \"{prefix}\"\n"
    );
    let text = config_text(&store_section, keys.path());
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let a = start_with(&text, redis(&prefix).await, clock.clone()).await;
    let b_instance = start_with(&text, redis(&prefix).await, clock.clone()).await;
    let b = browser();
    let (_, html) = a.picker(&b, "alice").await;
    assert_eq!(a.choose(&b, &html, "engineer", 900).await.status(), 303);
    // The session cookie works on the second instance (same Redis, same keys).
    let cookie = b.get(a.at("/credentials")).send().await.unwrap();
    assert_eq!(cookie.status(), 200);
    let r = b.get(b_instance.at("/roles")).send().await.unwrap();
    // reqwest's cookie jar is per host:port, so carry the cookie by hand to the other port.
    let _ = r;
    let session_cookie = {
        let r = a.sign_in(&browser(), "bob", "bob-pw").await;
        r.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("lanyard_session="))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    };
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let on_b = plain
        .get(b_instance.at("/roles"))
        .header("cookie", &session_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        on_b.status(),
        303,
        "bob has one role: straight to credentials"
    );
    assert_eq!(on_b.headers()["location"], "/credentials");
    // Restart: drop both instances, start a new one on the same Redis.
    drop(a);
    drop(b_instance);
    let c = start_with(&text, redis(&prefix).await, clock.clone()).await;
    let again = plain
        .get(c.at("/credentials"))
        .header("cookie", &session_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200, "still signed in after a restart");
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("<code>engineer</code>")
    );
}

#[tokio::test]
async fn an_unreachable_store_gives_503_not_a_panic() {
    let keys = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("redis://127.0.0.1:{port}");
    let text = config_text(
        &format!("[sessions]\nstore = \"redis\"\nredis_url = \"{url}\"\n"),
        keys.path(),
    );
    let store: Arc<dyn SessionStore> =
        Arc::new(RedisStore::connect(&url, "x:", RedisTimeouts::default()).unwrap());
    let l = start_with(
        &text,
        store,
        lanyard::clock::ManualClock::new(UnixTime::from_secs(T0)),
    )
    .await;
    let b = browser();
    let ready = b.get(l.at("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let form = b.get(l.at("/auth/corp")).send().await.unwrap();
    assert_eq!(form.status(), 503);
    let html = form.text().await.unwrap();
    assert!(html.contains("cannot reach its session store"), "{html}");
    assert_eq!(b.get(l.at("/healthz")).send().await.unwrap().status(), 200);
}
