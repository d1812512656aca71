//! Brute-force protection of password sign-ins: per-account limits shared by two instances
//! through one Redis, per-address limits, exponential back-off, and answers that do not
//! tell a locked account from a wrong password.

use std::sync::Arc;
use std::time::Duration;

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
    let clock = lanyard::clock::ManualClock::new(T0);
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
    let clock = lanyard::clock::ManualClock::new(T0);
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
