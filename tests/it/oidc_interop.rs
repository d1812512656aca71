//! Interop against a real OpenID Provider: the npm `oidc-provider` (version pinned in
//! `tests/peers/oidc/package.json` and its lockfile, installed by `make test`), started on a
//! free 127.0.0.1 port by `tests/peers/oidc/op.mjs` with test accounts and a headless login.
//!
//! The provider's tokens carry the real time, so Lanyard's clock starts at the real time here.

use std::path::Path;
use std::process::Stdio;

use lanyard::clock::{ManualClock, UnixTime};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::harness::browser;
use crate::upstream::{
    Broker, PUBLIC_URL, broker, location, param, roles_after, to_lanyard, with_param,
};

/// The running provider; killed when dropped.
pub(crate) struct Op {
    pub(crate) issuer: String,
    _child: Child,
}

pub(crate) async fn start_op() -> Op {
    start_op_with(&[]).await
}

pub(crate) async fn start_op_with(env: &[(&str, String)]) -> Op {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/oidc");
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "oidc-provider is not installed: run `scripts/ensure-deps.sh test` (or `make test`)"
    );
    let mut child = Command::new("node")
        .arg("op.mjs")
        .current_dir(&dir)
        .env("REDIRECT_URI", format!("{PUBLIC_URL}/auth/op/callback"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("the provider starts within 30 s")
        .unwrap()
        .expect("the provider prints its address");
    let issuer = line.strip_prefix("listening ").unwrap().to_owned();
    // Keep reading: a closed pipe would kill the provider on its next write.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Op {
        issuer,
        _child: child,
    }
}

#[allow(clippy::disallowed_methods)]
pub(crate) fn real_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub(crate) fn provider(op: &Op, extra: &str) -> String {
    format!(
        "[[providers]]\nid = \"op\"\nkind = \"oidc\"\ndisplay_name = \"Test OP\"\nissuer = \"{}\"\n\
         client_id = \"lanyard\"\nclient_secret = \"${{OP_SECRET}}\"\nscopes = [\"openid\", \"email\", \"profile\", \"groups\"]\n{extra}\n",
        op.issuer
    )
    .replace("${OP_SECRET}", "lanyard-test-secret")
}

pub(crate) async fn lanyard_for(op: &Op, extra: &str) -> Broker {
    broker(
        &provider(op, extra),
        &["op"],
        ManualClock::new(UnixTime::from_secs(real_now())),
    )
    .await
}

/// Lanyard → the provider's authorization endpoint → its login interaction (as `user`) →
/// back with a code. Returns the callback URL as the provider sent it (to Lanyard's
/// public URL) and the authorization request URL.
async fn through_op(l: &Broker, b: &reqwest::Client, user: &str) -> (String, String) {
    let start = b.get(l.at("/auth/op")).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let authorize = location(&start);
    let callback = op_login(b, &authorize, user).await;
    (callback, authorize)
}

async fn op_login(b: &reqwest::Client, authorize: &str, user: &str) -> String {
    let r = b.get(authorize).send().await.unwrap();
    assert!(r.status().is_redirection(), "authorize: {}", r.status());
    let interaction = absolute(authorize, &location(&r));
    let r = b
        .get(with_param(&interaction, "user", user))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_redirection(),
        "login: {} {}",
        r.status(),
        r.text().await.unwrap()
    );
    let resume = absolute(authorize, &location(&r));
    let r = b.get(&resume).send().await.unwrap();
    assert!(r.status().is_redirection(), "resume: {}", r.status());
    location(&r)
}

fn absolute(base: &str, loc: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(loc)
        .unwrap()
        .to_string()
}

pub(crate) async fn sign_in(l: &Broker, user: &str) -> (reqwest::Client, reqwest::Response) {
    let b = browser();
    let (callback, _) = through_op(l, &b, user).await;
    let r = b.get(to_lanyard(l, &callback)).send().await.unwrap();
    (b, r)
}

#[tokio::test]
async fn people_sign_in_through_a_real_provider_and_get_the_roles_their_groups_allow() {
    let op = start_op().await;
    let l = lanyard_for(&op, "fetch_userinfo = true").await;
    // alice: engineering + admins, signed in with pwd+otp (MFA), example.com.
    let (b, r) = sign_in(&l, "alice").await;
    let mut roles = roles_after(&l, &b, r).await;
    roles.sort();
    assert_eq!(roles, ["admin", "engineer", "mail"]);
    // She picks engineer and gets a token naming her and her groups.
    let html = b
        .get(l.at("/roles"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(l.choose(&b, &html, "engineer", 900).await.status(), 303);
    let (token, _) = l.credentials(&b).await;
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "op:alice");
    assert_eq!(claims["idp"], "op");
    assert_eq!(claims["role"], "engineer");
    assert_eq!(
        claims["groups"],
        serde_json::json!(["engineering", "admins"])
    );
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]));
    // bob: engineering, password only → no admin.
    let (b, r) = sign_in(&l, "bob").await;
    let mut roles = roles_after(&l, &b, r).await;
    roles.sort();
    assert_eq!(roles, ["engineer", "mail"]);
    // carol: finance, found through the raw claim op:department.
    let (b, r) = sign_in(&l, "carol").await;
    let mut roles = roles_after(&l, &b, r).await;
    roles.sort();
    assert_eq!(roles, ["finance-op", "mail"]);
}

#[tokio::test]
async fn userinfo_claims_are_merged_only_when_asked_for() {
    let op = start_op().await;
    // Without userinfo the ID token has sub and amr only (the provider conforms to
    // OIDC Core §5.4): no groups, no email, so no role.
    let l = lanyard_for(&op, "").await;
    let (b, r) = sign_in(&l, "alice").await;
    assert!(roles_after(&l, &b, r).await.is_empty());
    // With it, groups and email come from userinfo, amr (MFA) from the ID token.
    let l = lanyard_for(&op, "fetch_userinfo = true").await;
    let (b, r) = sign_in(&l, "alice").await;
    assert!(roles_after(&l, &b, r).await.contains(&"admin".to_owned()));
}

#[tokio::test]
async fn an_account_outside_the_allowed_domains_is_refused() {
    let op = start_op().await;
    let l = lanyard_for(
        &op,
        "fetch_userinfo = true\nallowed_domains = [\"example.com\"]",
    )
    .await;
    let (_, r) = sign_in(&l, "mallory").await;
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("Sign-in with Test OP failed"), "{html}");
    assert!(
        html.contains("evil.example") && html.contains("href=\"/auth/op\""),
        "{html}"
    );
    let (b, r) = sign_in(&l, "alice").await;
    assert!(!roles_after(&l, &b, r).await.is_empty());
}

#[tokio::test]
async fn pkce_is_enforced_and_a_stolen_code_is_useless_without_the_verifier() {
    let op = start_op().await;
    let l = lanyard_for(&op, "fetch_userinfo = true").await;
    let b = browser();
    let (callback, authorize) = through_op(&l, &b, "bob").await;
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    // An attacker with the code but not the verifier cannot redeem it.
    let discovery: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", op.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let token_endpoint = discovery["token_endpoint"].as_str().unwrap();
    let code = param(&callback, "code").unwrap();
    let stolen = reqwest::Client::new()
        .post(token_endpoint)
        .basic_auth("lanyard", Some("lanyard-test-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &format!("{PUBLIC_URL}/auth/op/callback")),
            (
                "code_verifier",
                "a-guess-that-is-long-enough-to-be-a-valid-verifier-0123",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 400);
    let body: serde_json::Value = stolen.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // And the provider refuses an authorization request without PKCE.
    let plain = with_param(&authorize, "code_challenge", "");
    let r = browser().get(&plain).send().await.unwrap();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        loc.contains("error=invalid_request") || r.status() == 400,
        "{loc}"
    );
    // Lanyard, which holds the verifier, signs bob in with a fresh login.
    let (b, r) = sign_in(&l, "bob").await;
    assert!(!roles_after(&l, &b, r).await.is_empty());
}

#[tokio::test]
async fn state_mismatch_and_replayed_callbacks_are_refused() {
    let op = start_op().await;
    let l = lanyard_for(&op, "fetch_userinfo = true").await;
    let b = browser();
    let (callback, _) = through_op(&l, &b, "alice").await;
    let forged = with_param(&callback, "state", "not-the-state");
    let r = b.get(to_lanyard(&l, &forged)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("state mismatch"));
    // Good callback once, then its replay.
    let b = browser();
    let (callback, _) = through_op(&l, &b, "alice").await;
    let ok = b.get(to_lanyard(&l, &callback)).send().await.unwrap();
    assert_eq!(ok.status(), 303);
    let replay = b.get(to_lanyard(&l, &callback)).send().await.unwrap();
    assert_eq!(replay.status(), 400);
    assert!(replay.text().await.unwrap().contains("already used"));
}

#[tokio::test]
async fn a_nonce_other_than_the_transactions_is_refused() {
    let op = start_op().await;
    let l = lanyard_for(&op, "fetch_userinfo = true").await;
    let b = browser();
    // The browser starts a sign-in; the request reaching the provider carries another
    // nonce (an injected authorization request with the same state and PKCE challenge).
    let start = b.get(l.at("/auth/op")).send().await.unwrap();
    let authorize = with_param(&location(&start), "nonce", "attacker-nonce");
    let callback = op_login(&b, &authorize, "alice").await;
    let r = b.get(to_lanyard(&l, &callback)).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert!(r.text().await.unwrap().contains("ID token was not valid"));
}

#[tokio::test]
async fn the_provider_rotating_its_signing_key_does_not_break_sign_in() {
    let op = start_op().await;
    let l = lanyard_for(&op, "fetch_userinfo = true").await;
    let (b, r) = sign_in(&l, "alice").await;
    assert!(!roles_after(&l, &b, r).await.is_empty());
    let rotated: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/__test/rotate", op.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(rotated["kid"].is_string());
    // Past the refresh window (the provider's tokens are valid for an hour).
    l.clock.advance(std::time::Duration::from_secs(15));
    let (b, r) = sign_in(&l, "bob").await;
    assert!(
        !roles_after(&l, &b, r).await.is_empty(),
        "signed in with the new key"
    );
    let stats: serde_json::Value = reqwest::get(format!("{}/__test/stats", op.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["jwks_fetches"], 2,
        "fetched once, refreshed once for the new kid"
    );
}

#[tokio::test]
async fn private_key_jwt_client_authentication_works() {
    // Lanyard's client key (ES256, PKCS#8 PEM) and its public JWKS for the provider.
    let dir = tempfile::tempdir().unwrap();
    let pem = lanyard::tokens::generate_key(
        dir.path(),
        lanyard::tokens::Algorithm::Es256,
        UnixTime::from_secs(real_now()),
    )
    .unwrap();
    let keys = lanyard::tokens::KeySet::load(
        dir.path(),
        lanyard::tokens::Algorithm::Es256,
        UnixTime::from_secs(real_now()),
    )
    .unwrap();
    let jwks = serde_json::to_string(&keys.jwks()).unwrap();
    let op = start_op_with(&[("PKJWT_JWKS", jwks)]).await;
    let provider = format!(
        "[[providers]]\nid = \"op\"\nkind = \"oidc\"\ndisplay_name = \"Test OP\"\nissuer = \"{}\"\n\
         client_id = \"lanyard-pkjwt\"\nclient_auth = \"private_key_jwt\"\nprivate_key_file = \"{}\"\n\
         private_key_id = \"{}\"\nscopes = [\"openid\", \"email\", \"groups\"]\nfetch_userinfo = true\n",
        op.issuer,
        pem.display(),
        keys.active_kid()
    );
    let l = broker(
        &provider,
        &["op"],
        ManualClock::new(UnixTime::from_secs(real_now())),
    )
    .await;
    let (b, r) = sign_in(&l, "bob").await;
    let mut roles = roles_after(&l, &b, r).await;
    roles.sort();
    assert_eq!(roles, ["engineer", "mail"]);
}

/// An ID token for `user` straight from the provider (the code flow with PKCE, as a
/// workload's own OIDC client would run it), to present to Lanyard as a web identity token.
async fn op_id_token(op: &Op, user: &str) -> String {
    use base64::Engine;
    let b = browser();
    let discovery: serde_json::Value = b
        .get(format!("{}/.well-known/openid-configuration", op.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = "a-workload-code-verifier-of-sufficient-length-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
    );
    let redirect_uri = format!("{PUBLIC_URL}/auth/op/callback");
    let mut authorize =
        url::Url::parse(discovery["authorization_endpoint"].as_str().unwrap()).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", "lanyard")
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("state", "workload-state")
        .append_pair("nonce", "workload-nonce")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let callback = op_login(&b, authorize.as_str(), user).await;
    let code = param(&callback, "code").expect("a code");
    let tokens: serde_json::Value = b
        .post(discovery["token_endpoint"].as_str().unwrap())
        .basic_auth("lanyard", Some("lanyard-test-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no id_token: {tokens}"))
        .to_owned()
}

#[tokio::test]
async fn the_providers_id_tokens_assume_roles_through_the_sts_and_token_exchange() {
    let op = start_op().await;
    let extra = format!(
        r#"
[[roles]]
name = "op-alice"
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = "op" }}, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = {{ StringEquals = {{ "op:sub" = "alice", "op:aud" = "lanyard" }} }} }},
] }}

[[clients]]
id = "exchanger"
secret_hash = "{}"
grant_types = ["token_exchange"]
allowed_roles = ["op-alice"]
"#,
        crate::harness::cheap_hash("exchanger-secret")
    );
    let l = broker(
        &format!("{}{extra}", provider(&op, "")),
        &["op"],
        ManualClock::new(UnixTime::from_secs(real_now())),
    )
    .await;
    let c = reqwest::Client::new();
    let assume = |token: String| {
        let r = c
            .post(l.at("/sts/assume-role-with-web-identity"))
            .json(&serde_json::json!({"role": "op-alice", "web_identity_token": token}))
            .send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let alice = op_id_token(&op, "alice").await;
    let (status, v) = assume(alice.clone()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["provider"], "op");
    assert_eq!(v["audience"], "lanyard");
    assert_eq!(v["subject"], "op:alice");
    assert_eq!(v["assumed_role"]["role"], "op-alice");
    // bob's token is just as valid, but the trust policy names alice.
    let bob = op_id_token(&op, "bob").await;
    let (status, v) = assume(bob.clone()).await;
    assert_eq!(status, 403);
    assert_eq!(v["error"], "AccessDenied");
    // RFC 8693 token exchange with the same tokens.
    let exchange = |token: &str, token_type: &str| {
        let r = c
            .post(l.at("/oauth2/token"))
            .basic_auth("exchanger", Some("exchanger-secret"))
            .form(&[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", token),
                ("subject_token_type", token_type),
                ("resource", "arn:lanyard:iam:::role/op-alice"),
            ])
            .send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, v) = exchange(&alice, "urn:ietf:params:oauth:token-type:id_token").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let (status, v) = exchange(&bob, "urn:ietf:params:oauth:token-type:jwt").await;
    assert_eq!(status, 400);
    assert_eq!(v["error"], "invalid_target");
}
