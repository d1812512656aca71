//! Interop with a certified relying party: the npm package `openid-client` (version pinned
//! in tests/peers/rp/package.json, installed by `make test`) signs a user in through
//! Lanyard in a Node process: discovery, code flow with PKCE, ID token validation,
//! userinfo, refresh, RP-initiated logout.

use std::path::Path;
use std::process::Command;

use crate::harness::{T0, cheap_hash, config_text, memory_store, start_public};
use lanyard::clock::UnixTime;

#[tokio::test]
async fn openid_client_signs_in_refreshes_and_logs_out() {
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/rp");
    assert!(
        peer.join("node_modules/openid-client").exists(),
        "openid-client is not installed: run `make test` (or `npm ci` in {})",
        peer.display()
    );
    let keys = tempfile::tempdir().unwrap();
    let redirect = "http://127.0.0.1:53682/callback";
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    text.push_str(&format!(
        "\n[[clients]]\nid = \"rp\"\nsecret_hash = \"{}\"\nredirect_uris = [\"{redirect}\"]\npost_logout_redirect_uris = [\"http://127.0.0.1:53682/logged-out\"]\nallowed_roles = [\"engineer\", \"auditor\"]\n",
        cheap_hash("rp-secret")
    ));
    // openid-client checks token times against the real clock.
    let now = lanyard::clock::Clock::now(&lanyard::clock::SystemClock);
    let clock = lanyard::clock::ManualClock::new(now.max(UnixTime::from_secs(T0)));
    let mut l = start_public(&text, memory_store(&clock), clock).await;
    l.keep(keys);
    let issuer = l.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(peer.join("rp.mjs"))
            .args([
                &issuer,
                "rp",
                "rp-secret",
                redirect,
                "alice",
                "alice-pw",
                "engineer",
            ])
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    assert!(
        output.status.success(),
        "openid-client failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["sub"], "corp:alice");
    assert_eq!(seen["role"], "engineer");
    assert_eq!(seen["email"], "alice@example.com");
    assert_eq!(seen["groups"], serde_json::json!(["engineering", "admins"]));
    assert_eq!(seen["userinfo_sub"], "corp:alice");
    assert_eq!(seen["userinfo_email"], "alice@example.com");
    assert_eq!(seen["refreshed_role"], "engineer");
    assert_eq!(seen["refresh_rotated"], true);
    assert_eq!(seen["logout_status"], 303);
    assert_eq!(
        seen["logout_location"],
        "http://127.0.0.1:53682/logged-out?state=bye"
    );
    assert_eq!(seen["after_logout_status"], 303, "the SSO session ended");
}
