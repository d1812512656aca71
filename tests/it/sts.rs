//! The STS API (`/sts/assume-role-with-web-identity`) and RFC 8693 token exchange at
//! `/oauth2/token`, with web identity tokens minted by the in-process issuer of
//! `upstream.rs` (a CI system's OIDC tokens: `sub` names the repository and branch). The
//! same calls with tokens of the real `oidc-provider` are in `oidc_interop.rs`.

use lanyard::clock::{Clock, ManualClock, UnixTime};
use lanyard::tokens::{Algorithm, KeySet};
use serde_json::{Value, json};

use crate::harness::{Lanyard, T0, cheap_hash, memory_store, start_with};
use crate::upstream::{Fake, PUBLIC_URL, fake_idp};

pub(crate) const MAIN: &str = "repo:acme/app:ref:refs/heads/main";
const WEB_IDENTITY: &str = "/sts/assume-role-with-web-identity";

pub(crate) struct Sts {
    pub(crate) l: Lanyard,
    fake: Fake,
    _keys: tempfile::TempDir,
}

/// Lanyard trusting the fake issuer as provider `ci` for the audience `sts.lanyard`:
/// `deploy` for the main branch of acme/app (at most 1 h), `audit` for any acme repository,
/// `people` for tokens with an `email` (not CI tokens). A client `ci-app` may exchange
/// tokens for `deploy`; `web-app` may not use token exchange.
pub(crate) async fn setup() -> Sts {
    setup_with("").await
}

/// [`setup`] with `extra` appended to the config (an `[audit]` section, say).
pub(crate) async fn setup_with(extra: &str) -> Sts {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let fake = fake_idp(clock.clone(), Algorithm::Rs256).await;
    let keys = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[server]
bind = "127.0.0.1:0"
public_url = "{PUBLIC_URL}"
[sessions]
store = "memory"
[tokens]
algorithm = "ES256"
keys_dir = "{keys}"
default_duration = "30m"

[[providers]]
id = "ci"
kind = "oidc"
issuer = "{issuer}"
client_id = "lanyard"
client_auth = "none"
web_identity_audiences = ["sts.lanyard"]
browser_sign_in = false
timeout = "2s"

[[roles]]
name = "deploy"
max_session_duration = "1h"
permission_policies = ["deploy"]
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = "ci" }}, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = {{ StringEquals = {{ "ci:aud" = "sts.lanyard", "ci:sub" = "{MAIN}" }} }} }},
] }}

[[roles]]
name = "audit"
max_session_duration = "12h"
permission_policies = ["deploy"]
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Sid = "AcmeRepos", Effect = "Allow", Principal = {{ Federated = "ci" }}, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = {{ StringLike = {{ "ci:sub" = "repo:acme/*" }} }} }},
  {{ Sid = "NotForks", Effect = "Deny", Principal = {{ Federated = "ci" }}, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = {{ StringEquals = {{ "ci:repository_owner" = "fork-owner" }} }} }},
] }}

[[policies]]
name = "deploy"
document = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Action = ["deploy:*", "logs:Read"], Resource = "*" }},
] }}

[[clients]]
id = "ci-app"
secret_hash = "{ci_secret}"
grant_types = ["token_exchange"]
allowed_roles = ["deploy"]
audience = "https://ci-app.example"

[[clients]]
id = "web-app"
secret_hash = "{web_secret}"
redirect_uris = ["http://127.0.0.1:9/cb"]
allowed_roles = ["deploy"]
"#,
        keys = keys.path().display(),
        issuer = fake.issuer(),
        ci_secret = cheap_hash("ci-secret"),
        web_secret = cheap_hash("web-secret"),
    ) + extra;
    let l = start_with(&text, memory_store(&clock), clock).await;
    Sts {
        l,
        fake,
        _keys: keys,
    }
}

impl Sts {
    /// A CI job's token: `iss` the fake, `aud` sts.lanyard, `sub` `sub`, valid 5 minutes;
    /// `extra` claims are merged in (and may override).
    pub(crate) fn token(&self, sub: &str, extra: Value) -> String {
        let s = self.fake.0.lock().unwrap();
        let now = s.clock.now().secs();
        let mut claims = json!({
            "iss": s.issuer, "aud": "sts.lanyard", "sub": sub, "iat": now, "exp": now + 300,
            "repository": "acme/app", "repository_owner": "acme", "ref": "refs/heads/main",
            "jti": format!("job-{now}"),
        });
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        s.keys.sign(&claims, "JWT").unwrap()
    }

    pub(crate) async fn assume(&self, body: Value) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(self.l.at(WEB_IDENTITY))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn authorize(&self, token: &str, action: &str) -> String {
        let r = reqwest::Client::new()
            .post(self.l.at("/v1/authorize"))
            .bearer_auth(token)
            .json(&json!({"action": action, "resource": "arn:aws:s3:::bucket/x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        v["decision"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn exchange(
        &self,
        client: (&str, &str),
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(self.l.at("/oauth2/token"))
            .basic_auth(client.0, Some(client.1))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }
}

fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

fn assert_refused(got: (u16, Value), status: u16, code: &str) -> String {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    got.1["error_description"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_ci_token_is_exchanged_for_role_credentials() {
    let s = setup().await;
    let token = s.token(MAIN, json!({}));
    let (status, v) = s
        .assume(json!({"role": "deploy", "web_identity_token": token}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["provider"], "ci");
    assert_eq!(v["audience"], "sts.lanyard");
    assert_eq!(v["subject"], format!("ci:{MAIN}"));
    assert_eq!(v["assumed_role"]["role"], "deploy");
    assert_eq!(v["assumed_role"]["arn"], "arn:lanyard:iam:::role/deploy");
    assert_eq!(v["credentials"]["token_type"], "Bearer");
    // The configured default (30 min), within the role's hour.
    assert_eq!(v["credentials"]["expires_in"], 1800);
    assert_eq!(
        v["credentials"]["expires_at"],
        lanyard::roles::rfc3339(UnixTime::from_secs(T0 + 1800))
    );
    let access = v["credentials"]["access_token"].as_str().unwrap();
    let claims = claims_of(access);
    assert_eq!(claims["role"], "deploy");
    assert_eq!(claims["idp"], "ci");
    assert_eq!(claims["sid"], v["assumed_role"]["session_id"]);
    assert_eq!(claims["session_name"], v["assumed_role"]["session_name"]);
    // The credentials work: the role's permission policy decides.
    assert_eq!(s.authorize(access, "deploy:Create").await, "Allow");
    assert_eq!(s.authorize(access, "iam:CreateUser").await, "Deny");

    // A session name and an explicit duration; the ARN form of the role works too.
    let (status, v) = s
        .assume(
            json!({"role": "arn:lanyard:iam:::role/deploy", "web_identity_token": token,
                       "role_session_name": "build-4711", "duration_seconds": 900}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["assumed_role"]["session_name"], "build-4711");
    assert_eq!(v["credentials"]["expires_in"], 900);
    let claims = claims_of(v["credentials"]["access_token"].as_str().unwrap());
    assert_eq!(claims["session_name"], "build-4711");
    assert_eq!(claims["exp"], T0 + 900);

    // Any acme repository may assume audit, for up to 12 h.
    let other = s.token("repo:acme/tools:ref:refs/heads/dev", json!({}));
    let (status, v) = s
        .assume(json!({"role": "audit", "web_identity_token": other, "duration_seconds": 43200}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["credentials"]["expires_in"], 43200);

    // A provider trusted only for web identity is not offered for browser sign-in.
    let page = reqwest::get(s.l.at("/signin"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("/auth/ci"), "{page}");
    assert_eq!(
        reqwest::get(s.l.at("/auth/ci")).await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn a_session_policy_only_narrows_the_role() {
    let s = setup().await;
    let token = s.token(MAIN, json!({}));
    // As a JSON object; it allows less than the role, and more (iam:*) that the role lacks.
    let narrow = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:Read", "iam:*"], "Resource": "*"}]});
    let (status, v) = s
        .assume(json!({"role": "deploy", "web_identity_token": token, "policy": narrow}))
        .await;
    assert_eq!(status, 200, "{v}");
    let access = v["credentials"]["access_token"].as_str().unwrap();
    assert_eq!(s.authorize(access, "logs:Read").await, "Allow");
    assert_eq!(s.authorize(access, "deploy:Create").await, "Deny");
    assert_eq!(s.authorize(access, "iam:CreateUser").await, "Deny");
    // As a JSON string, as AWS CLIs send it.
    let (status, v) = s
        .assume(json!({"role": "deploy", "web_identity_token": token,
                       "policy": narrow.to_string()}))
        .await;
    assert_eq!(status, 200, "{v}");
    let access = v["credentials"]["access_token"].as_str().unwrap();
    assert_eq!(s.authorize(access, "deploy:Create").await, "Deny");

    let bad = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Perhaps", "Action": "*", "Resource": "*"}]});
    let why = assert_refused(
        s.assume(json!({"role": "deploy", "web_identity_token": token, "policy": bad}))
            .await,
        400,
        "MalformedPolicyDocument",
    );
    assert!(why.contains("Effect"), "{why}");
    let huge = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
        "Resource": (0..200).map(|i| format!("arn:aws:s3:::bucket-{i}/*")).collect::<Vec<_>>()}]});
    assert_refused(
        s.assume(json!({"role": "deploy", "web_identity_token": token, "policy": huge}))
            .await,
        400,
        "PackedPolicyTooLarge",
    );
}

#[tokio::test]
async fn tokens_that_must_not_pass_are_refused_with_sts_error_codes() {
    let s = setup().await;
    let assume = |token: String| {
        let s = &s;
        async move {
            s.assume(json!({"role": "deploy", "web_identity_token": token}))
                .await
        }
    };
    // Wrong audience: a token meant for another service.
    let why = assert_refused(
        assume(s.token(MAIN, json!({"aud": "https://other.example"}))).await,
        400,
        "InvalidIdentityToken",
    );
    assert!(why.contains("aud"), "{why}");
    // Expired (beyond the 60 s skew).
    let why = assert_refused(
        assume(s.token(MAIN, json!({"iat": T0 - 900, "exp": T0 - 61}))).await,
        400,
        "ExpiredTokenException",
    );
    assert!(why.contains("expired"), "{why}");
    // Not yet valid.
    assert_refused(
        assume(s.token(MAIN, json!({"nbf": T0 + 600}))).await,
        400,
        "InvalidIdentityToken",
    );
    // An issuer Lanyard does not trust, even with a well-formed, self-signed token.
    let dir = tempfile::tempdir().unwrap();
    let rogue =
        KeySet::load_or_generate(dir.path(), Algorithm::Rs256, UnixTime::from_secs(T0)).unwrap();
    let forged = rogue
        .sign(
            &json!({"iss": "https://ci.evil.example", "aud": "sts.lanyard", "sub": MAIN,
                    "iat": T0, "exp": T0 + 300}),
            "JWT",
        )
        .unwrap();
    let why = assert_refused(assume(forged).await, 400, "InvalidIdentityToken");
    assert!(why.contains("https://ci.evil.example"), "{why}");
    // The trusted issuer's name on a token signed by someone else's key.
    let issuer = s.fake.issuer();
    let forged = rogue
        .sign(
            &json!({"iss": issuer, "aud": "sts.lanyard", "sub": MAIN, "iat": T0, "exp": T0 + 300}),
            "JWT",
        )
        .unwrap();
    assert_refused(assume(forged).await, 400, "InvalidIdentityToken");
    // alg none, and not a JWT at all.
    use base64::Engine;
    let b64 = |v: Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap())
    };
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none"})),
        b64(json!({"iss": issuer, "aud": "sts.lanyard", "sub": MAIN, "iat": T0, "exp": T0 + 300}))
    );
    let why = assert_refused(assume(none).await, 400, "InvalidIdentityToken");
    assert!(why.contains("algorithm"), "{why}");
    assert_refused(
        assume("not-a-jwt".into()).await,
        400,
        "InvalidIdentityToken",
    );
    assert_refused(assume("x".repeat(30_000)).await, 400, "ValidationError");
}

#[tokio::test]
async fn a_trust_policy_mismatch_is_access_denied_without_policy_details() {
    let s = setup().await;
    // Another branch may not deploy.
    let feature = s.token("repo:acme/app:ref:refs/heads/feature", json!({}));
    let why = assert_refused(
        s.assume(json!({"role": "deploy", "web_identity_token": feature}))
            .await,
        403,
        "AccessDenied",
    );
    assert_eq!(
        why,
        "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    // An explicit Deny beats the Allow (a fork), with the same answer.
    let fork = s.token(
        "repo:acme/app:ref:refs/heads/main",
        json!({"repository_owner": "fork-owner"}),
    );
    let (status, body) = s
        .assume(json!({"role": "audit", "web_identity_token": fork}))
        .await;
    assert_eq!(status, 403);
    assert!(
        !body.to_string().contains("NotForks") && !body.to_string().contains("repository_owner"),
        "no policy internals: {body}"
    );
    // A role that does not exist answers exactly like one that does not trust the caller.
    let main = s.token(MAIN, json!({}));
    let why = assert_refused(
        s.assume(json!({"role": "no-such-role", "web_identity_token": main}))
            .await,
        403,
        "AccessDenied",
    );
    assert_eq!(
        why,
        "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    // Duration: above the role's maximum, and outside 900–43200.
    let why = assert_refused(
        s.assume(json!({"role": "deploy", "web_identity_token": main, "duration_seconds": 7200}))
            .await,
        400,
        "ValidationError",
    );
    assert!(why.contains("3600"), "{why}");
    for d in [60, 43_201] {
        assert_refused(
            s.assume(json!({"role": "deploy", "web_identity_token": main, "duration_seconds": d}))
                .await,
            400,
            "ValidationError",
        );
    }
    // Malformed requests.
    assert_refused(
        s.assume(json!({"role": "deploy", "web_identity_token": main, "role_session_name": "a b"}))
            .await,
        400,
        "ValidationError",
    );
    assert_refused(
        s.assume(json!({"role": "deploy", "web_identity_token": main, "surprise": 1}))
            .await,
        400,
        "ValidationError",
    );
    assert_refused(
        s.assume(json!({"role": "deploy"})).await,
        400,
        "ValidationError",
    );
}

#[tokio::test]
async fn token_exchange_issues_role_credentials_to_the_client() {
    let s = setup().await;
    let main = s.token(MAIN, json!({}));
    let form = |token: &str| -> Vec<(&'static str, String)> {
        vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange".into(),
            ),
            ("subject_token", token.into()),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:jwt".into(),
            ),
        ]
    };
    let as_refs = |f: &[(&'static str, String)]| -> Vec<(&'static str, String)> { f.to_vec() };
    let send = |f: Vec<(&'static str, String)>, client: (&'static str, &'static str)| {
        let s = &s;
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            s.exchange(client, &pairs).await
        }
    };
    const CI: (&str, &str) = ("ci-app", "ci-secret");

    // The client's only allowed role is taken when no resource is named.
    let (status, v) = send(form(&main), CI).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 1800);
    assert!(v.get("refresh_token").is_none());
    let access = v["access_token"].as_str().unwrap().to_owned();
    let claims = claims_of(&access);
    assert_eq!(claims["aud"], "https://ci-app.example");
    assert_eq!(claims["client_id"], "ci-app");
    assert_eq!(claims["role"], "deploy");
    // Introspection says it is active; revocation by the client ends it.
    let intro = reqwest::Client::new()
        .post(s.l.at("/oauth2/introspect"))
        .basic_auth(CI.0, Some(CI.1))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(intro["active"], true, "{intro}");
    assert_eq!(intro["role"], "deploy");

    // Naming the role by ARN.
    let mut named = as_refs(&form(&main));
    named.push(("resource", "arn:lanyard:iam:::role/deploy".into()));
    assert_eq!(send(named, CI).await.0, 200);

    // A role the token's trust allows (audit) but the client may not receive.
    let mut audit = as_refs(&form(&main));
    audit.push(("resource", "arn:lanyard:iam:::role/audit".into()));
    assert_refused(send(audit, CI).await, 400, "invalid_target");
    // Trust-policy mismatch (another branch).
    let feature = s.token("repo:acme/app:ref:refs/heads/feature", json!({}));
    assert_refused(send(form(&feature), CI).await, 400, "invalid_target");
    // Wrong audience, expired, untrusted: the subject token is refused.
    for bad in [
        s.token(MAIN, json!({"aud": "someone-else"})),
        s.token(MAIN, json!({"iat": T0 - 900, "exp": T0 - 61})),
        "not-a-jwt".to_owned(),
    ] {
        assert_refused(send(form(&bad), CI).await, 400, "invalid_request");
    }
    // The subject token type must be a JWT; actor tokens (delegation) are not supported.
    let mut wrong_type = as_refs(&form(&main));
    wrong_type[2].1 = "urn:ietf:params:oauth:token-type:saml2".into();
    assert_refused(send(wrong_type, CI).await, 400, "invalid_request");
    let mut actor = as_refs(&form(&main));
    actor.push(("actor_token", main.clone()));
    assert_refused(send(actor, CI).await, 400, "invalid_request");
    // A client without the grant, and a wrong secret.
    assert_refused(
        send(form(&main), ("web-app", "web-secret")).await,
        400,
        "unauthorized_client",
    );
    assert_refused(
        send(form(&main), ("ci-app", "wrong")).await,
        401,
        "invalid_client",
    );
    // Discovery advertises the grant.
    let d: Value = reqwest::get(s.l.at("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        d["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("urn:ietf:params:oauth:grant-type:token-exchange"))
    );
}
