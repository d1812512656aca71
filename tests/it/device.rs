//! The device authorization grant (RFC 8628) for `lanyard login`: the device authorization
//! endpoint's answer and discovery, polling (`authorization_pending`, `slow_down` with a
//! growing interval, `access_denied`, `expired_token`), approval on the `/device` page
//! giving tokens for the role chosen exactly once (also to concurrent polls, on the memory
//! store and on Redis, with the polling gate and without it, racing on the take itself), the refusals (a client without the grant, a role outside the
//! client's, forms without CSRF), the bound on wrong user codes, and the whole flow in
//! Chromium with a screenshot and an axe check of every page state.
//!
//! Time is the harness's `ManualClock`: the memory store's TTLs follow it, so the polling
//! gate and the expiry are tested by moving the clock, never by sleeping.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lanyard::audit::{Door, EventKind, MemorySink, OnFailure};
use lanyard::clock::{ManualClock, UnixTime};
use lanyard::session::{Answer, Op, RedisStore, RedisTimeouts, SessionStore, StoreError, keyspace};
use serde_json::Value;

use crate::chromium::Page;
use crate::harness::{
    Lanyard, T0, browser, cheap_hash, config_text, csrf_of, memory_store, start_audited,
    start_public, start_with,
};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const CLI: &str = "lanyard-cli";
/// The entry form's sentence for a code that is not pending.
const UNKNOWN: &str = "That code is not valid";
/// The entry form's sentence once codes are refused.
const LOCKED: &str = "Too many wrong codes were entered";
/// What the page says once the device is approved.
const DONE: &str = "Signed in. You can close this tab and return to your terminal.";

/// The clients of these tests: the quickstart's `lanyard-cli` (public, device and code
/// grants, every role), `tty` (confidential, device grant, `auditor` only) and `web` (no
/// device grant).
fn clients() -> String {
    format!(
        r#"
[[clients]]
id = "lanyard-cli"
name = "Lanyard command line"
public = true
grant_types = ["device_code", "authorization_code", "refresh_token"]
redirect_uris = ["http://127.0.0.1/callback"]
allowed_roles = ["engineer", "admin", "auditor"]

[[clients]]
id = "tty"
name = "Terminal robot"
secret_hash = "{tty}"
grant_types = ["device_code"]
allowed_roles = ["auditor"]

[[clients]]
id = "web"
secret_hash = "{web}"
redirect_uris = ["https://web.example.com/cb"]
allowed_roles = ["engineer"]
"#,
        tty = cheap_hash("tty-secret"),
        web = cheap_hash("web-secret"),
    )
}

/// Lanyard on the memory store with [`clients`].
async fn start() -> Lanyard {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let store = memory_store(&clock);
    start_on("[sessions]\nstore = \"memory\"\n", store, clock).await
}

async fn start_on(section: &str, store: Arc<dyn SessionStore>, clock: ManualClock) -> Lanyard {
    let keys = tempfile::tempdir().unwrap();
    let mut text = config_text(section, keys.path());
    text.push_str(&clients());
    let mut l = start_with(&text, store, clock).await;
    l.keep(keys);
    l
}

/// `POST /oauth2/device_authorization` as `client` (`Some(secret)`: HTTP Basic; else the
/// public `client_id`), with `extra` fields.
pub(crate) async fn device_authorization(
    l: &Lanyard,
    (client, secret): (&str, Option<&str>),
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form: Vec<(&str, &str)> = extra.to_vec();
    let mut request = reqwest::Client::new().post(l.at("/oauth2/device_authorization"));
    match secret {
        Some(s) => request = request.basic_auth(client, Some(s)),
        None => form.push(("client_id", client)),
    }
    let r = request.form(&form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A device authorization of the public CLI client (with `extra` fields); its answer.
async fn start_device(l: &Lanyard, extra: &[(&str, &str)]) -> Value {
    let (status, answer) = device_authorization(l, (CLI, None), extra).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// One poll of the token endpoint with `device_code` as the public CLI client.
async fn poll(l: &Lanyard, device_code: &str) -> (u16, Value) {
    poll_as(l, (CLI, None), device_code).await
}

pub(crate) async fn poll_as(
    l: &Lanyard,
    (client, secret): (&str, Option<&str>),
    device_code: &str,
) -> (u16, Value) {
    let mut form = vec![("grant_type", GRANT), ("device_code", device_code)];
    let mut request = reqwest::Client::new().post(l.at("/oauth2/token"));
    match secret {
        Some(s) => request = request.basic_auth(client, Some(s)),
        None => form.push(("client_id", client)),
    }
    let r = request.form(&form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The OAuth error code of a 400 answer.
fn error_of((status, body): &(u16, Value)) -> &str {
    assert_eq!(*status, 400, "{body}");
    body["error"].as_str().unwrap()
}

/// A browser signed in as `user`.
async fn signed_in(l: &Lanyard, user: &str) -> reqwest::Client {
    let b = browser();
    let r = l.sign_in(&b, user, &format!("{user}-pw")).await;
    assert_eq!(r.status(), 303, "sign-in of {user}");
    b
}

/// `POST /device` with the SSO session's CSRF token and `fields`; status and page.
async fn post_device(l: &Lanyard, b: &reqwest::Client, fields: &[(&str, &str)]) -> (u16, String) {
    let csrf = csrf_of(&l.text(b, "/device").await);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let r = b.post(l.at("/device")).form(&form).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Enters `code` on the entry form; the confirmation (or the form again).
async fn enter(l: &Lanyard, b: &reqwest::Client, code: &str) -> (u16, String) {
    post_device(l, b, &[("user_code", code), ("action", "continue")]).await
}

/// Approves `code` for `role` and `seconds`.
async fn approve(
    l: &Lanyard,
    b: &reqwest::Client,
    code: &str,
    role: &str,
    seconds: u64,
) -> (u16, String) {
    let length = seconds.to_string();
    let select = format!("duration.{role}");
    let fields = [
        ("user_code", code),
        ("action", "approve"),
        ("role", role),
        (select.as_str(), length.as_str()),
    ];
    post_device(l, b, &fields).await
}

/// The claims of a JWT, unverified (the tests check what Lanyard put in).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The decision of `/v1/authorize` for `token` on `action`.
async fn decision(l: &Lanyard, token: &str, action: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(l.at("/v1/authorize"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "action": action, "resource": "*" }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_device_authorization_answer_and_discovery() {
    let l = start().await;
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/device_authorization"))
        .form(&[("client_id", CLI), ("scope", "openid profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let a: Value = r.json().await.unwrap();
    let device_code = a["device_code"].as_str().unwrap();
    assert_eq!(device_code.len(), 43, "256 bits, base64url: {a}");
    assert!(
        device_code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let user_code = a["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9, "{a}");
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .bytes()
            .filter(|b| *b != b'-')
            .all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)),
        "{user_code}"
    );
    assert_eq!(a["verification_uri"], "http://127.0.0.1:8080/device");
    assert_eq!(
        a["verification_uri_complete"],
        format!("http://127.0.0.1:8080/device?user_code={user_code}")
    );
    assert_eq!(a["expires_in"], 600);
    assert_eq!(a["interval"], 5);
    // Every request gets codes of its own.
    let b = start_device(&l, &[]).await;
    assert_ne!(b["device_code"], a["device_code"]);
    assert_ne!(b["user_code"], a["user_code"]);

    let d: Value = reqwest::get(l.at("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        d["device_authorization_endpoint"],
        "http://127.0.0.1:8080/oauth2/device_authorization"
    );
    let grants = d["grant_types_supported"].as_array().unwrap();
    assert!(grants.iter().any(|g| g == GRANT), "{grants:?}");
}

#[tokio::test]
async fn polls_are_pending_until_answered_and_too_soon_slows_down() {
    let l = start().await;
    let a = start_device(&l, &[]).await;
    let code = a["device_code"].as_str().unwrap();
    assert_eq!(error_of(&poll(&l, code).await), "authorization_pending");
    // At once again: slow down, and the interval is 5 s longer.
    let fast = poll(&l, code).await;
    assert_eq!(error_of(&fast), "slow_down");
    assert_eq!(fast.1["interval"], 10, "{}", fast.1);
    // 5 s later is still too soon for the new interval: it grows again.
    l.clock.advance(Duration::from_secs(5));
    let fast = poll(&l, code).await;
    assert_eq!(error_of(&fast), "slow_down");
    assert_eq!(fast.1["interval"], 15, "{}", fast.1);
    // Waiting the interval out is fine, and the interval stays.
    l.clock.advance(Duration::from_secs(15));
    assert_eq!(error_of(&poll(&l, code).await), "authorization_pending");
    l.clock.advance(Duration::from_secs(10));
    let fast = poll(&l, code).await;
    assert_eq!(
        error_of(&fast),
        "slow_down",
        "10 s is under the 15 s interval"
    );
    assert_eq!(fast.1["interval"], 20);
    l.clock.advance(Duration::from_secs(20));
    assert_eq!(error_of(&poll(&l, code).await), "authorization_pending");
    // An unknown device code is not pending.
    let unknown = lanyard::session::random_id();
    assert_eq!(
        error_of(&poll(&l, unknown.expose_secret()).await),
        "invalid_grant"
    );
}

#[tokio::test]
async fn approval_gives_tokens_for_the_role_chosen_once_through_the_one_door() {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let keys = tempfile::tempdir().unwrap();
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    text.push_str(&clients());
    let capture = MemorySink::new();
    let audit = capture.audit(OnFailure::Refuse);
    let mut l = start_audited(&text, memory_store(&clock), clock, audit).await;
    l.keep(keys);

    let a = start_device(&l, &[("scope", "openid email")]).await;
    let (device_code, user_code) = (
        a["device_code"].as_str().unwrap(),
        a["user_code"].as_str().unwrap(),
    );
    assert_eq!(
        error_of(&poll(&l, device_code).await),
        "authorization_pending"
    );
    let b = signed_in(&l, "alice").await;
    // Lower case, spaces, no dash: the same code.
    let typed = user_code.replace('-', " ").to_lowercase();
    let (status, page) = enter(&l, &b, &typed).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Lanyard command line"), "{page}");
    assert!(page.contains("Only continue if you started this on your own device just now"));
    assert!(page.contains(user_code), "the code is shown to compare");
    for role in ["engineer", "admin", "auditor"] {
        assert!(
            page.contains(&format!("value=\"{role}\"")),
            "{role}: {page}"
        );
        assert!(
            page.contains(&format!("name=\"duration.{role}\"")),
            "{role}"
        );
    }
    assert!(
        !page.contains("class=\"star\""),
        "no stars on the device page"
    );
    // Looking the code up answers nothing to the terminal yet.
    l.clock.advance(Duration::from_secs(5));
    assert_eq!(
        error_of(&poll(&l, device_code).await),
        "authorization_pending"
    );

    let (status, page) = approve(&l, &b, user_code, "auditor", 1800).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(DONE), "{page}");
    assert!(
        page.contains("auditor") && page.contains("30 minutes"),
        "{page}"
    );
    capture.take();

    l.clock.advance(Duration::from_secs(5));
    let (status, t) = poll(&l, device_code).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 1800);
    assert_eq!(t["scope"], "openid email");
    let access = t["access_token"].as_str().unwrap();
    let c = claims(access);
    assert_eq!(c["role"], "auditor");
    assert_eq!(c["client_id"], CLI);
    assert_eq!(c["aud"], CLI);
    assert_eq!(c["sub"], "corp:alice");
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        1800
    );
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], CLI);
    assert_eq!(id["role"], "auditor");
    assert_eq!(id["email"], "alice@example.com");
    assert!(id.get("nonce").is_none());
    // Exactly one credentials.issued event, at the device door, for the CLI.
    let issued: Vec<_> = capture
        .take()
        .into_iter()
        .filter(|e| e.event == EventKind::CredentialsIssued)
        .collect();
    assert_eq!(issued.len(), 1, "{issued:#?}");
    assert_eq!(issued[0].door, Some(Door::Device));
    assert_eq!(issued[0].client_id.as_deref(), Some(CLI));
    assert_eq!(issued[0].role.as_deref(), Some("auditor"));

    // The token works: userinfo, and the role's permissions at /v1/authorize.
    let ui: Value = reqwest::Client::new()
        .get(l.at("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["sub"], "corp:alice");
    let (status, d) = decision(&l, access, "logs:GetEvents").await;
    assert_eq!(
        (status, d["decision"].as_str()),
        (200, Some("Allow")),
        "{d}"
    );
    let (_, d) = decision(&l, access, "deploy:CreateService").await;
    assert_eq!(d["decision"], "Deny", "an auditor does not deploy: {d}");

    // Taken once: the next poll gets no tokens.
    l.clock.advance(Duration::from_secs(5));
    assert_eq!(error_of(&poll(&l, device_code).await), "invalid_grant");
    // The code is used up on the page too.
    let (status, page) = enter(&l, &b, user_code).await;
    assert_eq!(status, 400);
    assert!(page.contains(UNKNOWN), "{page}");

    // The refresh token (the CLI may refresh) rotates like the code flow's.
    let rt = t["refresh_token"].as_str().unwrap();
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", CLI),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let refreshed: Value = r.json().await.unwrap();
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["role"],
        "auditor"
    );
}

#[tokio::test]
async fn the_role_asked_for_is_preselected_and_a_confidential_client_polls_with_its_secret() {
    let l = start().await;
    let tty = ("tty", Some("tty-secret"));
    let (status, a) = device_authorization(&l, tty, &[("role", "auditor")]).await;
    assert_eq!(status, 200, "{a}");
    let (device_code, user_code) = (
        a["device_code"].as_str().unwrap(),
        a["user_code"].as_str().unwrap(),
    );
    let b = signed_in(&l, "alice").await;
    let (_, page) = enter(&l, &b, user_code).await;
    assert!(page.contains("Terminal robot"), "{page}");
    assert!(
        page.contains("value=\"auditor\" required checked"),
        "preselected: {page}"
    );
    assert!(
        !page.contains("value=\"engineer\""),
        "tty may receive auditor only"
    );
    // A role the client may not receive is refused on the page too (a hand-made form).
    let (status, page) = approve(&l, &b, user_code, "engineer", 900).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("not available to you"), "{page}");
    // A length the role does not grant: the confirmation again, saying why.
    let (status, page) = approve(&l, &b, user_code, "auditor", 99_999).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("outside that range"), "{page}");
    // No role chosen.
    let (status, page) =
        post_device(&l, &b, &[("user_code", user_code), ("action", "approve")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("Choose one of the roles"), "{page}");
    let (status, _) = approve(&l, &b, user_code, "auditor", 900).await;
    assert_eq!(status, 200);
    // Another client cannot redeem it; the client it was issued to can.
    assert_eq!(
        error_of(&poll_as(&l, (CLI, None), device_code).await),
        "invalid_grant"
    );
    let (status, t) = poll_as(&l, tty, device_code).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(
        claims(t["access_token"].as_str().unwrap())["role"],
        "auditor"
    );
    assert!(t.get("refresh_token").is_none(), "tty may not refresh");
    // The wrong secret is no client at all.
    let (status, e) = poll_as(&l, ("tty", Some("wrong")), device_code).await;
    assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")));
}

#[tokio::test]
async fn a_denial_is_access_denied() {
    let l = start().await;
    let a = start_device(&l, &[]).await;
    let (device_code, user_code) = (
        a["device_code"].as_str().unwrap(),
        a["user_code"].as_str().unwrap(),
    );
    let b = signed_in(&l, "bob").await;
    let (status, page) = post_device(&l, &b, &[("user_code", user_code), ("action", "deny")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Sign-in denied"), "{page}");
    assert!(page.contains("You denied the sign-in of Lanyard command line"));
    assert_eq!(error_of(&poll(&l, device_code).await), "access_denied");
    l.clock.advance(Duration::from_secs(5));
    assert_eq!(
        error_of(&poll(&l, device_code).await),
        "access_denied",
        "and stays so"
    );
    // It cannot be approved after all.
    let (status, page) = approve(&l, &b, user_code, "engineer", 900).await;
    assert_eq!(status, 400);
    assert!(page.contains(UNKNOWN), "{page}");
}

#[tokio::test]
async fn an_expired_code_is_expired_token() {
    let l = start().await;
    let a = start_device(&l, &[]).await;
    let (device_code, user_code) = (
        a["device_code"].as_str().unwrap(),
        a["user_code"].as_str().unwrap(),
    );
    let b = signed_in(&l, "alice").await;
    l.clock.advance(Duration::from_secs(601));
    assert_eq!(error_of(&poll(&l, device_code).await), "expired_token");
    // The page no longer knows the code: the entry form again, with a plain sentence.
    let (status, page) = enter(&l, &b, user_code).await;
    assert_eq!(status, 400);
    assert!(page.contains(UNKNOWN), "{page}");
    assert!(
        page.contains("name=\"user_code\""),
        "the entry form: {page}"
    );
    // A code found before it expired cannot be approved after.
    let a = start_device(&l, &[]).await;
    let user_code = a["user_code"].as_str().unwrap();
    let (status, _) = enter(&l, &b, user_code).await;
    assert_eq!(status, 200);
    l.clock.advance(Duration::from_secs(600));
    let (status, page) = approve(&l, &b, user_code, "engineer", 900).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains(UNKNOWN), "{page}");
}

#[tokio::test]
async fn signing_out_before_the_poll_ends_the_approval() {
    let l = start().await;
    let a = start_device(&l, &[]).await;
    let (device_code, user_code) = (
        a["device_code"].as_str().unwrap(),
        a["user_code"].as_str().unwrap(),
    );
    let b = signed_in(&l, "alice").await;
    let (status, _) = approve(&l, &b, user_code, "engineer", 900).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&l.text(&b, "/device").await);
    let r = b
        .post(l.at("/signout"))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let e = poll(&l, device_code).await;
    assert_eq!(error_of(&e), "invalid_grant");
    assert!(
        e.1["error_description"]
            .as_str()
            .unwrap()
            .contains("session that approved this device has ended"),
        "{}",
        e.1
    );
}

/// A store without the device polling gate: every poll passes it (its write "succeeds"
/// and stores nothing), so concurrent polls all race on the take of the answer itself.
struct NoPollingGate(Arc<dyn SessionStore>);

#[async_trait::async_trait]
impl SessionStore for NoPollingGate {
    async fn run(&self, op: Op<'_>) -> Result<Answer, StoreError> {
        if let Op::Put { key, .. } = op
            && key.starts_with(keyspace::DEVICE_POLL.prefix)
        {
            return Ok(Answer::Stored(true));
        }
        self.0.run(op).await
    }

    fn kind(&self) -> &'static str {
        self.0.kind()
    }
}

/// Approves a fresh request on `l`, then polls `n` times at once: exactly one poll gets
/// tokens.
async fn concurrent_polls_get_tokens_once(l: &Lanyard, n: usize) {
    approve_and_poll_at_once(l, n).await;
}

/// Approves a fresh request on `l` and polls `n` times at once; checks that exactly one
/// poll got tokens and the others none (`slow_down` or `invalid_grant`); the answers.
async fn approve_and_poll_at_once(l: &Lanyard, n: usize) -> Vec<(u16, Value)> {
    let a = start_device(l, &[]).await;
    let (device_code, user_code) = (
        a["device_code"].as_str().unwrap().to_owned(),
        a["user_code"].as_str().unwrap(),
    );
    let b = signed_in(l, "bob").await;
    let (status, page) = approve(l, &b, user_code, "engineer", 900).await;
    assert_eq!(status, 200, "{page}");
    let mut polls = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (url, device_code) = (l.at("/oauth2/token"), device_code.clone());
        polls.spawn(async move {
            let r = reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", GRANT),
                    ("device_code", &device_code),
                    ("client_id", CLI),
                ])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        });
    }
    let answers = polls.join_all().await;
    let won: Vec<&(u16, Value)> = answers.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(won.len(), 1, "{answers:#?}");
    assert!(won[0].1["access_token"].is_string());
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 400, "{body}");
        let e = body["error"].as_str().unwrap();
        assert!(["slow_down", "invalid_grant"].contains(&e), "{body}");
    }
    answers
}

#[tokio::test]
async fn concurrent_polls_get_tokens_once_on_the_memory_store() {
    let l = start().await;
    concurrent_polls_get_tokens_once(&l, 8).await;
}

#[tokio::test]
async fn concurrent_polls_past_the_gate_still_get_tokens_once() {
    for section in ["[sessions]\nstore = \"memory\"\n", "redis"] {
        let clock = ManualClock::new(UnixTime::from_secs(T0));
        let (inner, section, prefix): (Arc<dyn SessionStore>, String, Option<String>) = if section
            == "redis"
        {
            let prefix = format!(
                "lanyard-it:{}:",
                lanyard::session::random_id().expose_secret()
            );
            let url = "redis://127.0.0.1:6379";
            let store = RedisStore::connect(url, &prefix, RedisTimeouts::default()).unwrap();
            let section = format!(
                "[sessions]\nstore = \"redis\"\nredis_url = \"{url}\"\nkey_prefix = \"{prefix}\"\n"
            );
            (Arc::new(store), section, Some(prefix))
        } else {
            (memory_store(&clock), section.to_owned(), None)
        };
        let l = start_on(&section, Arc::new(NoPollingGate(inner)), clock).await;
        let answers = approve_and_poll_at_once(&l, 16).await;
        let e: Vec<&str> = answers
            .iter()
            .filter(|(s, _)| *s != 200)
            .map(|(_, b)| b["error"].as_str().unwrap())
            .collect();
        assert!(e.iter().all(|e| *e == "invalid_grant"), "{section}: {e:?}");
        if let Some(prefix) = prefix {
            crate::single_use::purge(&prefix).await;
        }
    }
}

#[tokio::test]
async fn concurrent_polls_get_tokens_once_on_redis() {
    let prefix = format!(
        "lanyard-it:{}:",
        lanyard::session::random_id().expose_secret()
    );
    let url = "redis://127.0.0.1:6379";
    let store = RedisStore::connect(url, &prefix, RedisTimeouts::default()).unwrap();
    let section = format!(
        "[sessions]\nstore = \"redis\"\nredis_url = \"{url}\"\nkey_prefix = \"{prefix}\"\n"
    );
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let l = start_on(&section, Arc::new(store), clock).await;
    concurrent_polls_get_tokens_once(&l, 8).await;
    crate::single_use::purge(&prefix).await;
}

#[tokio::test]
async fn clients_without_the_grant_and_roles_not_theirs_are_refused() {
    let l = start().await;
    // The web application may not use the device grant, at either endpoint.
    let web = ("web", Some("web-secret"));
    let e = device_authorization(&l, web, &[]).await;
    assert_eq!(error_of(&e), "unauthorized_client", "{}", e.1);
    let a = start_device(&l, &[]).await;
    let device_code = a["device_code"].as_str().unwrap();
    assert_eq!(
        error_of(&poll_as(&l, web, device_code).await),
        "unauthorized_client"
    );
    // A role outside the client's allowed roles, or no role at all, is refused.
    let tty = ("tty", Some("tty-secret"));
    for role in ["engineer", "no-such-role"] {
        let e = device_authorization(&l, tty, &[("role", role)]).await;
        assert_eq!(error_of(&e), "invalid_request", "{role}: {}", e.1);
        let why = e.1["error_description"].as_str().unwrap();
        assert!(why.contains(role) && why.contains("may receive"), "{why}");
    }
    // Client authentication as at the token endpoint.
    let (status, e) = device_authorization(&l, ("nobody", None), &[]).await;
    assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")));
    let (status, e) = device_authorization(&l, ("tty", Some("wrong")), &[]).await;
    assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")));
    let (status, e) = device_authorization(&l, ("tty", None), &[]).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (401, Some("invalid_client")),
        "a confidential client must authenticate"
    );
    // A poll without its device code.
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/token"))
        .form(&[("grant_type", GRANT), ("client_id", CLI)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_request");
    // Scopes Lanyard does not know are left out; none asked is `openid`.
    let a = start_device(&l, &[("scope", "profile shiny")]).await;
    let b = signed_in(&l, "bob").await;
    let (status, _) = approve(&l, &b, a["user_code"].as_str().unwrap(), "engineer", 900).await;
    assert_eq!(status, 200);
    let (status, t) = poll(&l, a["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["scope"], "profile");
    assert!(t.get("id_token").is_none(), "no openid, no ID token");
}

#[tokio::test]
async fn wrong_user_codes_are_limited_per_session() {
    let l = start().await;
    let a = start_device(&l, &[]).await;
    let user_code = a["user_code"].as_str().unwrap();
    let wrong = if user_code == "BCDF-GHJK" {
        "ZXWV-TSRQ"
    } else {
        "BCDF-GHJK"
    };
    let b = signed_in(&l, "bob").await;
    // Malformed codes and correct ones do not count.
    for _ in 0..6 {
        let (status, page) = enter(&l, &b, "HELLO").await;
        assert_eq!(status, 400);
        assert!(page.contains("a code is 8 letters"), "{page}");
        let (status, _) = enter(&l, &b, user_code).await;
        assert_eq!(status, 200);
    }
    // Five wrong codes are answered plainly…
    for i in 0..5 {
        let (status, page) = enter(&l, &b, wrong).await;
        assert_eq!(status, 400, "wrong code {i}");
        assert!(page.contains(UNKNOWN), "{page}");
        assert!(
            page.contains(&format!("value=\"{wrong}\"")),
            "kept in the field"
        );
    }
    // …then no code is looked up, not even the right one, and approving is refused too.
    let (status, page) = enter(&l, &b, user_code).await;
    assert_eq!(status, 429, "{page}");
    assert!(page.contains(LOCKED), "{page}");
    let (status, page) = approve(&l, &b, user_code, "engineer", 900).await;
    assert_eq!(status, 429);
    assert!(page.contains(LOCKED), "{page}");
    // Another person's session on the same address is not locked (the address allows 20).
    let c = signed_in(&l, "alice").await;
    let (status, _) = enter(&l, &c, user_code).await;
    assert_eq!(status, 200);
    // Ten minutes on, the lock is over (the request expired meanwhile: a new one).
    l.clock.advance(Duration::from_secs(601));
    let a = start_device(&l, &[]).await;
    let (status, page) = enter(&l, &b, a["user_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{page}");
}

#[tokio::test]
async fn wrong_user_codes_are_limited_per_address() {
    let l = start().await;
    let a = start_device(&l, &[]).await;
    let user_code = a["user_code"].as_str().unwrap();
    let wrong = if user_code == "BCDF-GHJK" {
        "ZXWV-TSRQ"
    } else {
        "BCDF-GHJK"
    };
    // Four sessions of four wrong codes each, and one of four more: twenty from one address.
    for user in ["alice", "bob", "carol", "dave", "alice"] {
        let b = signed_in(&l, user).await;
        for _ in 0..4 {
            let (status, _) = enter(&l, &b, wrong).await;
            assert_eq!(status, 400, "{user}");
        }
    }
    let b = signed_in(&l, "bob").await;
    let (status, page) = enter(&l, &b, user_code).await;
    assert_eq!(status, 429, "a fresh session, same address: {page}");
}

#[tokio::test]
async fn device_forms_need_the_sessions_csrf_token() {
    let l = start().await;
    let a = start_device(&l, &[]).await;
    let (device_code, user_code) = (
        a["device_code"].as_str().unwrap(),
        a["user_code"].as_str().unwrap(),
    );
    let b = signed_in(&l, "alice").await;
    for csrf in [None, Some("not-the-token")] {
        for action in ["continue", "approve", "deny"] {
            let mut form = vec![
                ("user_code", user_code),
                ("action", action),
                ("role", "engineer"),
                ("duration.engineer", "900"),
            ];
            if let Some(c) = csrf {
                form.push(("csrf", c));
            }
            let r = b.post(l.at("/device")).form(&form).send().await.unwrap();
            assert_eq!(r.status(), 403, "{action} with {csrf:?}");
            let page = r.text().await.unwrap();
            assert!(page.contains("That form has expired"), "{page}");
        }
    }
    assert_eq!(
        error_of(&poll(&l, device_code).await),
        "authorization_pending",
        "nothing was answered"
    );
    // Another browser's token does not do either.
    let other = signed_in(&l, "bob").await;
    let foreign = csrf_of(&l.text(&other, "/device").await);
    let r = b
        .post(l.at("/device"))
        .form(&[
            ("csrf", foreign.as_str()),
            ("user_code", user_code),
            ("action", "deny"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn the_page_asks_to_sign_in_first_and_keeps_the_code() {
    let l = start().await;
    let b = browser();
    let r = b
        .get(l.at("/device?user_code=bcdf%20ghjk"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/signin?return_to=%2Fdevice%3Fuser_code%3Dbcdf%2Bghjk");
    // A form posted without a session goes the same way.
    let r = b
        .post(l.at("/device"))
        .form(&[("user_code", "BCDF-GHJK"), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/signin?return_to=%2Fdevice%3Fuser_code%3DBCDF-GHJK"
    );
    // Signing in with that return_to comes back to the page, the code prefilled and
    // normalised.
    let form = b
        .get(l.at("/auth/corp?return_to=%2Fdevice%3Fuser_code%3Dbcdf%2Bghjk"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = b
        .post(l.at("/auth/corp"))
        .form(&[
            ("username", "carol"),
            ("password", "carol-pw"),
            ("csrf", &csrf_of(&form)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, "/device?user_code=bcdf+ghjk");
    let page = l.text(&b, &back).await;
    assert!(page.contains("value=\"BCDF-GHJK\""), "{page}");
    // Whatever was in the link is shown as typed, escaped, and bounded.
    let page = l.text(&b, "/device?user_code=%3Cscript%3E").await;
    assert!(
        page.contains("value=\"&#60;script&#62;\"") || page.contains("value=\"&lt;script&gt;\""),
        "{page}"
    );
    assert!(!page.contains("<script>"));
}

#[tokio::test]
async fn bad_input_is_a_plain_4xx() {
    let l = start().await;
    let b = signed_in(&l, "alice").await;
    // Not a form: the page says so in words.
    let r = b
        .post(l.at("/device"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("The form could not be read"), "{page}");
    assert!(page.contains("Back to the device sign-in"), "{page}");
    // Oversized.
    let big = "B".repeat(200 * 1024);
    let r = b
        .post(l.at("/device"))
        .form(&[("user_code", big.as_str()), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // A long code is cut short, never looked up.
    let long = "BCDF".repeat(100);
    let (status, page) = enter(&l, &b, &long).await;
    assert_eq!(status, 400);
    assert!(page.contains("a code is 8 letters"), "{page}");
    // The JSON endpoints answer in OAuth JSON.
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/device_authorization"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_request");
    let r = reqwest::get(l.at("/oauth2/device_authorization"))
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let (status, e) = poll(&l, &"x".repeat(5000)).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
}

/// A device sign-in in Chromium: the tool's link, sign-in with the password form, the code
/// prefilled, the confirmation, a role and a length chosen, approved; the poll gets tokens
/// for them. Then a second request: the entry form, a wrong code, the right one typed in
/// lower case, denied. Every page state is photographed and checked by axe.
#[tokio::test]
async fn a_device_sign_in_in_a_browser() {
    let keys = tempfile::tempdir().unwrap();
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    text.push_str(&clients());
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let mut l = start_public(&text, memory_store(&clock), clock).await;
    l.keep(keys);

    let a = start_device(&l, &[]).await;
    let (device_code, user_code) = (
        a["device_code"].as_str().unwrap(),
        a["user_code"].as_str().unwrap(),
    );
    let complete = a["verification_uri_complete"].as_str().unwrap();
    assert!(complete.starts_with(&l.url), "{complete}");
    let page = Page::open("device_sign_in").await;
    page.goto(complete).await;
    page.wait_for_url("the sign-in page", |u| u.path() == "/signin")
        .await;
    page.shot("signin").await;
    page.click("a[href^=\"/auth/corp\"]").await;
    page.wait_for_url("the password form", |u| u.path() == "/auth/corp")
        .await;
    page.fill("username", "alice").await;
    page.fill("password", "alice-pw").await;
    page.shot("password-form").await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("the device page", |u| u.path() == "/device")
        .await;
    let field = page
        .client
        .execute("return document.getElementById('user_code').value;", vec![])
        .await
        .unwrap();
    assert_eq!(field, user_code, "the code is prefilled");
    page.shot("entry-prefilled").await;
    page.click("form[action=\"/device\"] button[value=continue]")
        .await;
    page.wait_for_text("Only continue if you started this")
        .await;
    let text = page.text().await;
    assert!(text.contains("Lanyard command line"), "{text}");
    assert!(text.contains(user_code), "{text}");
    page.shot("confirm").await;
    page.click("input[name=role][value=\"auditor\"]").await;
    page.client
        .find(fantoccini::Locator::Css(
            "select[name=\"duration.auditor\"]",
        ))
        .await
        .unwrap()
        .select_by_value("7200")
        .await
        .unwrap();
    page.shot("confirm-chosen").await;
    page.click("button[value=approve]").await;
    page.wait_for_text(DONE).await;
    page.shot("approved").await;

    let (status, t) = poll(&l, device_code).await;
    assert_eq!(status, 200, "{t}");
    let c = claims(t["access_token"].as_str().unwrap());
    assert_eq!(c["role"], "auditor");
    assert_eq!(c["sub"], "corp:alice");
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        7200
    );
    assert_eq!(t["expires_in"], 7200);

    // A second request, entered by hand: a wrong code first, then the right one.
    let a = start_device(&l, &[]).await;
    let (device_code, user_code) = (
        a["device_code"].as_str().unwrap(),
        a["user_code"].as_str().unwrap(),
    );
    page.goto(a["verification_uri"].as_str().unwrap()).await;
    page.wait_for_url("the device page", |u| u.path() == "/device")
        .await;
    page.shot("entry").await;
    let wrong = if user_code == "BCDF-GHJK" {
        "ZXWV-TSRQ"
    } else {
        "BCDF-GHJK"
    };
    page.fill("user_code", wrong).await;
    page.click("form[action=\"/device\"] button[value=continue]")
        .await;
    page.wait_for_text(UNKNOWN).await;
    page.shot("wrong-code").await;
    page.fill("user_code", &user_code.replace('-', " ").to_lowercase())
        .await;
    page.click("form[action=\"/device\"] button[value=continue]")
        .await;
    page.wait_for_text("Only continue if you started this")
        .await;
    page.click("button[value=deny]").await;
    page.wait_for_text("Sign-in denied").await;
    page.shot("denied").await;
    assert_eq!(error_of(&poll(&l, device_code).await), "access_denied");
    page.close().await;
}
