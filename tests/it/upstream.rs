//! Shared by the upstream-provider tests: a Lanyard config with redirect providers and
//! roles decided by `idp:groups`, `idp:email`, `{provider}:{claim}` and
//! `aws:MultiFactorAuthPresent`; driving a redirect sign-in hop by hop; and a small
//! in-process OpenID Provider (axum on a loopback port) that can misbehave on purpose.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lanyard::clock::{Clock, ManualClock};
use lanyard::tokens::{Algorithm, KeySet};
use serde_json::{Value, json};

use crate::harness::{Lanyard, memory_store, start_with};

/// Lanyard's `public_url` in these tests (the provider redirects there; tests rewrite
/// the URL to the real port).
pub const PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// Roles for `providers`: engineer (group engineering), admin (group admins and MFA),
/// finance (`{provider}:department` = finance), mail (verified email at example.com).
pub fn roles_toml(providers: &[&str]) -> String {
    let fed = providers
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = format!(
        r#"
[[roles]]
name = "engineer"
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = [{fed}] }}, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = {{ "ForAnyValue:StringEquals" = {{ "idp:groups" = ["engineering"] }} }} }},
] }}

[[roles]]
name = "admin"
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = [{fed}] }}, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = {{ "ForAnyValue:StringEquals" = {{ "idp:groups" = ["admins"] }}, Bool = {{ "aws:MultiFactorAuthPresent" = "true" }} }} }},
] }}

[[roles]]
name = "mail"
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = [{fed}] }}, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = {{ StringLike = {{ "idp:email" = "*@example.com" }}, Bool = {{ "idp:email_verified" = "true" }} }} }},
] }}
"#
    );
    for p in providers {
        out.push_str(&format!(
            r#"
[[roles]]
name = "finance-{p}"
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = "{p}" }}, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = {{ StringEquals = {{ "{p}:department" = "finance" }} }} }},
] }}
"#
        ));
    }
    out
}

/// A running Lanyard plus its keys directory.
pub struct Broker {
    pub lanyard: Lanyard,
    _keys: tempfile::TempDir,
}

impl std::ops::Deref for Broker {
    type Target = Lanyard;
    fn deref(&self) -> &Lanyard {
        &self.lanyard
    }
}

/// Starts Lanyard with `providers` (TOML `[[providers]]` entries) and roles for `ids`.
pub async fn broker(providers: &str, ids: &[&str], clock: ManualClock) -> Broker {
    let keys = tempfile::tempdir().unwrap();
    let text = broker_text(providers, ids, keys.path());
    let store = memory_store(&clock);
    let lanyard = start_with(&text, store, clock).await;
    Broker {
        lanyard,
        _keys: keys,
    }
}

/// The config of [`broker`]: `providers`, [`roles_toml`] for `ids`, memory sessions, keys
/// in `keys_dir`, `public_url` = [`PUBLIC_URL`].
pub fn broker_text(providers: &str, ids: &[&str], keys_dir: &std::path::Path) -> String {
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"{PUBLIC_URL}\"\n\
         [sessions]\nstore = \"memory\"\n\
         [tokens]\nalgorithm = \"ES256\"\nkeys_dir = \"{}\"\n\
         {providers}\n{}",
        keys_dir.display(),
        roles_toml(ids)
    )
}

/// The `Location` of a redirect.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location in a {} response", r.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Rewrites a redirect to Lanyard's `public_url` onto the test instance.
pub fn to_lanyard(l: &Lanyard, url: &str) -> String {
    assert!(url.starts_with(PUBLIC_URL), "redirect to {url}");
    format!("{}{}", l.url, &url[PUBLIC_URL.len()..])
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Replaces (or adds) a query parameter.
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(name, value);
    u.to_string()
}

/// The roles granted on the picker (or the single role issued), after a callback; roles
/// offered with a step-up (a fresh sign-in with a second factor, issue 17) are not counted.
pub async fn roles_after(
    l: &Lanyard,
    b: &reqwest::Client,
    callback: reqwest::Response,
) -> Vec<String> {
    assert_eq!(
        callback.status(),
        303,
        "callback: {}",
        callback.text().await.unwrap()
    );
    assert_eq!(location(&callback), "/roles");
    let r = b.get(l.at("/roles")).send().await.unwrap();
    match r.status().as_u16() {
        200 => {
            let html = r.text().await.unwrap();
            html.match_indices("name=\"role\" value=\"")
                .filter_map(|(i, m)| {
                    let rest = &html[i + m.len()..];
                    let input = &rest[..rest.find('>').unwrap()];
                    (!input.contains("-step-up"))
                        .then(|| rest[..rest.find('"').unwrap()].to_owned())
                })
                .collect()
        }
        303 => {
            let (_, page) = l.credentials(b).await;
            let start = page.find("Credentials for <code>").unwrap() + 22;
            vec![page[start..start + page[start..].find('<').unwrap()].to_owned()]
        }
        403 => Vec::new(),
        s => panic!("roles page: {s}"),
    }
}

// ---------------------------------------------------------------------------------------
// The in-process OpenID Provider.

/// How the fake provider misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Good,
    AlgNone,
    WrongIssuer,
    WrongAudience,
    Expired,
    NotYetValid,
    WrongSignature,
    HmacWithPublicKey,
    Oversized,
    WrongNonce,
    SeveralAudiencesNoAzp,
    BadAtHash,
    UnknownKid,
    TokenEndpoint500,
    TokenNotJson,
    SlowToken,
    UserinfoOtherSub,
}

pub struct FakeState {
    pub issuer: String,
    pub keys: KeySet,
    pub other_keys: KeySet,
    pub clock: ManualClock,
    pub mode: Mode,
    pub claims: Value,
    pub userinfo: Value,
    /// nonce, code_challenge, redirect_uri of the last authorization request.
    pub pending: Option<(String, String, String)>,
    pub jwks_fetches: usize,
    pub token_requests: usize,
    /// Entra ID style: tokens of this tenant (`iss` = `{issuer}/{tid}/v2.0`, `tid` claim).
    pub tenant: Option<String>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

#[derive(Clone)]
pub struct Fake(pub Arc<Mutex<FakeState>>);

impl Fake {
    pub fn set_mode(&self, m: Mode) {
        self.0.lock().unwrap().mode = m;
    }
    pub fn set_claims(&self, c: Value) {
        self.0.lock().unwrap().claims = c;
    }
    pub fn issuer(&self) -> String {
        self.0.lock().unwrap().issuer.clone()
    }
    pub fn jwks_fetches(&self) -> usize {
        self.0.lock().unwrap().jwks_fetches
    }
}

/// Starts the fake provider (RS256 keys) on a free port.
pub async fn fake_idp(clock: ManualClock, alg: Algorithm) -> Fake {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let keys = KeySet::load_or_generate(d1.path(), alg, clock.now()).unwrap();
    let other_keys = KeySet::load_or_generate(
        d2.path(),
        alg,
        clock.now() - std::time::Duration::from_secs(1),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let fake = Fake(Arc::new(Mutex::new(FakeState {
        issuer,
        keys,
        other_keys,
        clock,
        mode: Mode::Good,
        claims: json!({"sub": "u-1", "preferred_username": "alice", "email": "alice@example.com",
                       "email_verified": true, "groups": ["engineering", "admins"], "amr": ["pwd", "hwk"],
                       "department": "finance"}),
        userinfo: json!({}),
        pending: None,
        jwks_fetches: 0,
        token_requests: 0,
        tenant: None,
        _dirs: (d1, d2),
    })));
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route(
            "/organizations/v2.0/.well-known/openid-configuration",
            get(entra_discovery),
        )
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo))
        .with_state(fake.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    fake
}

async fn discovery(State(f): State<Fake>) -> Json<Value> {
    let iss = f.issuer();
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "jwks_uri": format!("{iss}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "HS256", "none"],
    }))
}

/// Entra ID's multi-tenant discovery: the issuer is a template.
async fn entra_discovery(State(f): State<Fake>) -> Json<Value> {
    let Json(mut doc) = discovery(State(f.clone())).await;
    doc["issuer"] = json!(format!("{}/{{tenantid}}/v2.0", f.issuer()));
    Json(doc)
}

async fn jwks(State(f): State<Fake>) -> Json<Value> {
    let mut s = f.0.lock().unwrap();
    s.jwks_fetches += 1;
    Json(serde_json::to_value(s.keys.jwks()).unwrap())
}

async fn authorize(State(f): State<Fake>, Query(q): Query<Vec<(String, String)>>) -> Redirect {
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("code_challenge_method"), "S256");
    f.0.lock().unwrap().pending = Some((get("nonce"), get("code_challenge"), get("redirect_uri")));
    let target = format!(
        "{}?code=code-1&state={}",
        get("redirect_uri"),
        url::form_urlencoded::byte_serialize(get("state").as_bytes()).collect::<String>()
    );
    Redirect::to(&target)
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn mint(s: &FakeState, access_token: &str) -> String {
    let now = s.clock.now().secs();
    let (nonce, _, _) = s.pending.clone().unwrap_or_default();
    let mut claims = s.claims.clone();
    let c = claims.as_object_mut().unwrap();
    c.insert("iss".into(), json!(s.issuer));
    c.insert("aud".into(), json!("lanyard"));
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + 300));
    c.insert("nonce".into(), json!(nonce));
    if let Some(tid) = &s.tenant {
        c.insert("iss".into(), json!(format!("{}/{tid}/v2.0", s.issuer)));
        c.insert("tid".into(), json!(tid));
    }
    match s.mode {
        Mode::WrongIssuer => {
            c.insert("iss".into(), json!("https://evil.example"));
        }
        Mode::WrongAudience => {
            c.insert("aud".into(), json!("someone-else"));
        }
        Mode::SeveralAudiencesNoAzp => {
            c.insert("aud".into(), json!(["lanyard", "someone-else"]));
        }
        Mode::Expired => {
            c.insert("iat".into(), json!(now - 600));
            c.insert("exp".into(), json!(now - 61));
        }
        Mode::NotYetValid => {
            c.insert("nbf".into(), json!(now + 120));
        }
        Mode::WrongNonce => {
            c.insert("nonce".into(), json!("not-the-nonce"));
        }
        Mode::BadAtHash => {
            c.insert("at_hash".into(), json!("AAAAAAAAAAAAAAAAAAAAAA"));
        }
        Mode::Oversized => {
            c.insert("padding".into(), json!("x".repeat(40 * 1024)));
        }
        _ => {}
    }
    if s.mode == Mode::Good {
        let at_hash = lanyard::connectors::id_token::access_token_hash(
            jsonwebtoken::Algorithm::RS256,
            access_token,
        );
        if s.keys.algorithm() == Algorithm::Rs256 {
            c.insert("at_hash".into(), json!(at_hash));
        }
    }
    match s.mode {
        Mode::AlgNone => format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims)),
        Mode::HmacWithPublicKey => {
            // The attack: HS256 keyed with the provider's public key, which anyone has.
            let jwk = serde_json::to_value(s.keys.jwks()).unwrap()["keys"][0].clone();
            let secret = jwk["n"].as_str().or(jwk["x"].as_str()).unwrap().to_owned();
            jsonwebtoken::encode(
                &jsonwebtoken::Header {
                    alg: jsonwebtoken::Algorithm::HS256,
                    kid: Some(s.keys.active_kid().to_owned()),
                    ..Default::default()
                },
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
            )
            .unwrap()
        }
        Mode::WrongSignature => {
            // Signed by another key, presented under the provider's kid.
            let forged = s.other_keys.sign(&claims, "JWT").unwrap();
            let sig = forged.rsplit('.').next().unwrap().to_owned();
            let genuine = s.keys.sign(&claims, "JWT").unwrap();
            let mut parts: Vec<&str> = genuine.split('.').collect();
            parts[2] = &sig;
            parts.join(".")
        }
        Mode::UnknownKid => s.other_keys.sign(&claims, "JWT").unwrap(),
        _ => s.keys.sign(&claims, "JWT").unwrap(),
    }
}

async fn token(State(f): State<Fake>, Form(form): Form<Vec<(String, String)>>) -> Response {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mode = {
        let mut s = f.0.lock().unwrap();
        s.token_requests += 1;
        s.mode
    };
    match mode {
        Mode::TokenEndpoint500 => {
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
        }
        Mode::TokenNotJson => return "<html>not json</html>".into_response(),
        Mode::SlowToken => tokio::time::sleep(Duration::from_secs(4)).await,
        _ => {}
    }
    let s = f.0.lock().unwrap();
    // PKCE (RFC 7636 §4.6): the verifier must hash to the challenge.
    let (_, challenge, redirect_uri) = s.pending.clone().unwrap_or_default();
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, get("code_verifier").as_bytes());
    if get("code") != "code-1"
        || URL_SAFE_NO_PAD.encode(digest.as_ref()) != challenge
        || get("redirect_uri") != redirect_uri
    {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let access_token = "at-123";
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": mint(&s, access_token),
    }))
    .into_response()
}

async fn userinfo(State(f): State<Fake>) -> Json<Value> {
    let s = f.0.lock().unwrap();
    let mut info = s.userinfo.clone();
    let sub = if s.mode == Mode::UserinfoOtherSub {
        json!("someone-else")
    } else {
        s.claims["sub"].clone()
    };
    info.as_object_mut().unwrap().insert("sub".into(), sub);
    Json(info)
}

/// `[[providers]]` for the fake at `issuer`.
pub fn fake_provider(id: &str, issuer: &str, extra: &str) -> String {
    format!(
        "[[providers]]\nid = \"{id}\"\nkind = \"oidc\"\ndisplay_name = \"Fake IdP\"\nissuer = \"{issuer}\"\n\
         client_id = \"lanyard\"\nclient_secret = \"s3cret\"\ntimeout = \"2s\"\n{extra}\n"
    )
}

/// Starts a login at Lanyard and follows it through the fake to Lanyard's callback;
/// returns the callback's response.
pub async fn fake_login(l: &Lanyard, b: &reqwest::Client, provider: &str) -> reqwest::Response {
    let start = b
        .get(l.at(&format!("/auth/{provider}")))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303, "{}", start.text().await.unwrap());
    let authorize = location(&start);
    let back = b.get(&authorize).send().await.unwrap();
    let callback = location(&back);
    b.get(to_lanyard(l, &callback)).send().await.unwrap()
}
