//! Lanyard as an OpenID Connect provider, driven by a relying party written here with
//! reqwest and jsonwebtoken: code flow with PKCE, ID token checks, refresh rotation and
//! reuse detection, client credentials, userinfo, introspection, revocation, logout, and
//! the refusals (wrong redirect URI, code reuse, PKCE mismatch, wrong secret, role not
//! allowed for the client, introspection without client authentication).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use url::Url;

use crate::harness::{
    Lanyard, T0, browser, cheap_hash, config_text, continue_url, csrf_of, memory_store, start_with,
};
use lanyard::clock::UnixTime;

pub(crate) const GRAFANA_REDIRECT: &str = "https://grafana.example.com/login/generic_oauth";
const CLI_REDIRECT: &str = "http://127.0.0.1:53682/callback";

async fn start() -> Lanyard {
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    start_on(
        "[sessions]\nstore = \"memory\"\n",
        memory_store(&clock),
        clock,
    )
    .await
}

/// Lanyard with this file's clients over `store` (`store_section` is the config's
/// `[sessions]` text, `extra` more config appended).
pub(crate) async fn start_on(
    store_section: &str,
    store: std::sync::Arc<dyn lanyard::session::SessionStore>,
    clock: lanyard::clock::ManualClock,
) -> Lanyard {
    start_on_with(store_section, "", store, clock).await
}

pub(crate) async fn start_on_with(
    store_section: &str,
    extra: &str,
    store: std::sync::Arc<dyn lanyard::session::SessionStore>,
    clock: lanyard::clock::ManualClock,
) -> Lanyard {
    let keys = tempfile::tempdir().unwrap();
    let mut text = config_text(store_section, keys.path());
    text.push_str(&format!(
        r#"
[[clients]]
id = "grafana"
name = "Grafana"
secret_hash = "{grafana}"
redirect_uris = ["{GRAFANA_REDIRECT}"]
post_logout_redirect_uris = ["https://grafana.example.com/logout"]
allowed_roles = ["engineer", "auditor"]

[[clients]]
id = "cli"
public = true
redirect_uris = ["{CLI_REDIRECT}"]
allowed_roles = ["engineer", "admin", "auditor"]

[[clients]]
id = "billing"
secret_hash = "{billing}"
redirect_uris = ["https://billing.example.com/cb"]
allowed_roles = ["auditor"]

[[clients]]
id = "api"
name = "A resource server"
secret_hash = "{api}"
grant_types = []
introspect = "any"

[[clients]]
id = "deployer"
secret_hash = "{deployer}"
grant_types = ["client_credentials"]
machine_role = "engineer"
"#,
        grafana = cheap_hash("grafana-secret"),
        billing = cheap_hash("billing-secret"),
        deployer = cheap_hash("deployer-secret"),
        api = cheap_hash("api-secret"),
    ));
    text.push_str(extra);
    let mut l = start_with(&text, store, clock).await;
    l.keep(keys);
    l
}

pub(crate) fn pkce() -> (String, String) {
    let verifier = lanyard::session::random_id().expose_secret().to_owned();
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(d.as_ref()))
}

pub(crate) fn authorize_url(
    l: &Lanyard,
    client: &str,
    redirect: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut url = Url::parse(&l.at("/oauth2/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client)
            .append_pair("redirect_uri", redirect)
            .append_pair("scope", "openid email profile groups")
            .append_pair("state", "st-123")
            .append_pair("nonce", "n-456");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

pub(crate) fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Follows the browser through sign-in and the role picker; returns the redirect back to
/// the client (or the last response if it did not go back).
pub(crate) async fn run_authorize(
    l: &Lanyard,
    b: &reqwest::Client,
    url: &str,
    user: &str,
    role: Option<&str>,
) -> String {
    let r = b.get(url).send().await.unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let mut next = location(&r);
    if next.starts_with("/signin") {
        let return_to = Url::parse(&format!("http://x{next}"))
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "return_to")
            .unwrap()
            .1
            .into_owned();
        assert!(return_to.starts_with("/roles?authz="));
        let form_url = format!(
            "{}?return_to={}",
            l.at("/auth/corp"),
            url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
        );
        let html = b.get(form_url).send().await.unwrap().text().await.unwrap();
        let r = b
            .post(l.at("/auth/corp"))
            .form(&[
                ("username", user),
                ("password", &format!("{user}-pw")),
                ("csrf", &csrf_of(&html)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        next = location(&r);
    }
    assert!(next.starts_with("/roles?authz="), "{next}");
    let r = b.get(l.at(&next)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    // One role fits: the page that continues to the application.
    if let Some(back) = continue_url(&html) {
        return back;
    }
    let authz = {
        let m = "name=\"authz\" value=\"";
        let i = html.find(m).expect("picker carries authz") + m.len();
        html[i..i + html[i..].find('"').unwrap()].to_owned()
    };
    let r = b
        .post(l.at("/roles"))
        .form(&[
            ("role", role.unwrap()),
            ("duration", "3600"),
            ("csrf", &csrf_of(&html)),
            ("authz", &authz),
        ])
        .send()
        .await
        .unwrap();
    // Never a 303 off-site after a form POST (Chromium's form-action would block it).
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    continue_url(&html).unwrap_or(html)
}

pub(crate) fn query(url: &str, key: &str) -> Option<String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

pub(crate) async fn token(
    l: &Lanyard,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let c = reqwest::Client::new();
    let mut req = c.post(l.at("/oauth2/token")).form(form);
    if let Some((id, secret)) = auth {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Introspection by the resource server (`introspect = "any"`).
pub(crate) async fn introspect(l: &Lanyard, token: &str) -> serde_json::Value {
    introspect_as(l, ("api", "api-secret"), token).await.1
}

pub(crate) async fn introspect_as(
    l: &Lanyard,
    (id, secret): (&str, &str),
    token: &str,
) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn discovery_describes_every_endpoint() {
    let l = start().await;
    let d: serde_json::Value = reqwest::get(l.at("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (k, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("end_session_endpoint", "/oauth2/logout"),
    ] {
        assert_eq!(d[k], format!("http://127.0.0.1:8080{path}"), "{k}");
    }
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
}

#[tokio::test]
async fn code_flow_with_pkce_issues_verifiable_tokens() {
    let l = start().await;
    let b = browser();
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &l,
        "grafana",
        GRAFANA_REDIRECT,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let back = run_authorize(&l, &b, &url, "alice", Some("engineer")).await;
    assert!(back.starts_with(GRAFANA_REDIRECT), "{back}");
    assert_eq!(query(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(
        query(&back, "iss").as_deref(),
        Some("http://127.0.0.1:8080")
    );
    let code = query(&back, "code").unwrap();

    let (status, t) = token(
        &l,
        Some(("grafana", "grafana-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", GRAFANA_REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    assert!(t["refresh_token"].is_string());

    // Verify the ID token as a relying party would.
    let jwks: JwkSet = reqwest::get(l.at("/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = t["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.set_issuer(&["http://127.0.0.1:8080"]);
    v.set_audience(&["grafana"]);
    v.validate_exp = false;
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        id_token,
        &DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap(),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], "corp:alice");
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["azp"], "grafana");
    assert_eq!(claims["role"], "engineer");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(
        claims["groups"],
        serde_json::json!(["engineering", "admins"])
    );
    assert_eq!(claims["auth_time"], T0);
    assert!(claims["sid"].is_string());
    let access = t["access_token"].as_str().unwrap();
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access.as_bytes());
    assert_eq!(claims["at_hash"], URL_SAFE_NO_PAD.encode(&d.as_ref()[..16]));

    // The access token carries the client.
    let at = introspect(&l, access).await;
    assert_eq!(at["active"], true);
    assert_eq!(at["client_id"], "grafana");
    assert_eq!(at["aud"], "grafana");
    assert_eq!(at["role"], "engineer");

    // A token with the same claims but not the one Lanyard issued is not active.
    let mut parts: Vec<&str> = access.split('.').collect();
    let forged_sig = URL_SAFE_NO_PAD.encode([7u8; 64]);
    parts[2] = &forged_sig;
    assert_eq!(introspect(&l, &parts.join(".")).await["active"], false);
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
        parts[1]
    );
    assert_eq!(introspect(&l, &none).await["active"], false);

    // userinfo.
    let ui: serde_json::Value = reqwest::Client::new()
        .get(l.at("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["sub"], "corp:alice");
    assert_eq!(ui["email"], "alice@example.com");
}

#[tokio::test]
async fn the_picker_offers_only_roles_the_client_may_receive() {
    let l = start().await;
    let b = browser();
    let url = authorize_url(&l, "grafana", GRAFANA_REDIRECT, &[]);
    let r = b.get(&url).send().await.unwrap();
    let signin = location(&r);
    let _ = signin;
    // alice may take engineer, admin, auditor; grafana may receive engineer and auditor.
    let back = {
        let r = l.sign_in(&b, "alice", "alice-pw").await;
        assert_eq!(r.status(), 303);
        let r = b.get(&url).send().await.unwrap();
        location(&r)
    };
    let html = b
        .get(l.at(&back))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("value=\"engineer\"") && html.contains("value=\"auditor\""));
    assert!(
        !html.contains("value=\"admin\""),
        "admin is not allowed for grafana"
    );
    assert!(html.contains("Choose the role to use in <strong>Grafana</strong>"));
    // Posting admin by hand is refused.
    let authz = query(&format!("http://x{back}"), "authz").unwrap();
    let r = b
        .post(l.at("/roles"))
        .form(&[
            ("role", "admin"),
            ("duration", "900"),
            ("csrf", &csrf_of(&html)),
            ("authz", &authz),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // bob has only engineer; billing receives only auditor: access_denied back to billing.
    let b2 = browser();
    let url = authorize_url(&l, "billing", "https://billing.example.com/cb", &[]);
    let back = run_authorize(&l, &b2, &url, "bob", None).await;
    assert!(
        back.starts_with("https://billing.example.com/cb?error=access_denied"),
        "{back}"
    );
    assert_eq!(query(&back, "state").as_deref(), Some("st-123"));
}

#[tokio::test]
async fn bad_clients_and_redirect_uris_never_redirect() {
    let l = start().await;
    let b = browser();
    for url in [
        authorize_url(&l, "grafana", "https://evil.example.com/cb", &[]),
        authorize_url(&l, "nope", GRAFANA_REDIRECT, &[]),
        authorize_url(&l, "grafana", &format!("{GRAFANA_REDIRECT}/../x"), &[]),
    ] {
        let r = b.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 400, "{url}");
        assert!(r.headers().get("location").is_none());
    }
    // A valid client and redirect: errors go back to the client.
    let r = b
        .get(authorize_url(&l, "cli", CLI_REDIRECT, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let back = location(&r);
    assert!(
        back.starts_with(&format!("{CLI_REDIRECT}?error=invalid_request")),
        "public client needs PKCE: {back}"
    );
    let r = b
        .get(authorize_url(
            &l,
            "grafana",
            GRAFANA_REDIRECT,
            &[
                ("code_challenge", "x".repeat(43).as_str()),
                ("code_challenge_method", "plain"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert!(location(&r).contains("error=invalid_request"));
    let r = b
        .get(authorize_url(
            &l,
            "grafana",
            GRAFANA_REDIRECT,
            &[("prompt", "none")],
        ))
        .send()
        .await
        .unwrap();
    let back = location(&r);
    assert!(
        back.starts_with(&format!("{GRAFANA_REDIRECT}?error=login_required")),
        "{back}"
    );
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_client_redirect_and_verifier() {
    let l = start().await;
    let (verifier, challenge) = pkce();
    let pk = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let get_code = || async {
        let b = browser();
        let back = run_authorize(
            &l,
            &b,
            &authorize_url(&l, "cli", CLI_REDIRECT, &pk),
            "bob",
            None,
        )
        .await;
        query(&back, "code").unwrap()
    };
    // PKCE verifier mismatch.
    let code = get_code().await;
    let (s, e) = token(
        &l,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CLI_REDIRECT),
            ("client_id", "cli"),
            ("code_verifier", &"a".repeat(43)),
        ],
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // Missing verifier.
    let code = get_code().await;
    let (s, _) = token(
        &l,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CLI_REDIRECT),
            ("client_id", "cli"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    // Wrong redirect URI.
    let code = get_code().await;
    let (s, e) = token(
        &l,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:53682/other"),
            ("client_id", "cli"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // Another client cannot redeem it.
    let code = get_code().await;
    let (s, _) = token(
        &l,
        Some(("grafana", "grafana-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CLI_REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(s, 400);
    // Right: works once; the second use fails and revokes what the first issued.
    let code = get_code().await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CLI_REDIRECT),
        ("client_id", "cli"),
        ("code_verifier", verifier.as_str()),
    ];
    let (s, t) = token(&l, None, &form).await;
    assert_eq!(s, 200, "{t}");
    let access = t["access_token"].as_str().unwrap().to_owned();
    assert_eq!(introspect(&l, &access).await["active"], true);
    let (s, e) = token(&l, None, &form).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(
        introspect(&l, &access).await["active"],
        false,
        "tokens from a replayed code are revoked"
    );
    // Codes expire after 60 seconds.
    let code = get_code().await;
    l.clock.advance(std::time::Duration::from_secs(61));
    let (s, _) = token(
        &l,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CLI_REDIRECT),
            ("client_id", "cli"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn client_authentication_is_required_and_checked() {
    let l = start().await;
    let (s, e) = token(
        &l,
        Some(("grafana", "wrong")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    let (s, _) = token(
        &l,
        Some(("nobody", "x")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(s, 401);
    // client_secret_post works too.
    let (s, e) = token(
        &l,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "grafana"),
            ("client_secret", "grafana-secret"),
        ],
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("unauthorized_client")),
        "grafana has no machine role"
    );
    // Introspection without client authentication.
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/introspect"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    // A parameter repeated (RFC 6749 §3.2: parameters MUST NOT be included more than
    // once), here a wrong and a right client_secret: refused, whichever would be read.
    for secrets in [["wrong", "grafana-secret"], ["grafana-secret", "wrong"]] {
        let r = reqwest::Client::new()
            .post(l.at("/oauth2/introspect"))
            .form(&[
                ("token", "x"),
                ("client_id", "grafana"),
                ("client_secret", secrets[0]),
                ("client_secret", secrets[1]),
            ])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            (status, e["error"].as_str()),
            (400, Some("invalid_request")),
            "{secrets:?}: {e}"
        );
    }
}

#[tokio::test]
async fn machine_clients_get_their_role_with_client_credentials() {
    let l = start().await;
    let (s, t) = token(
        &l,
        Some(("deployer", "deployer-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    let info = introspect(&l, t["access_token"].as_str().unwrap()).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["sub"], "arn:lanyard:iam:::client/deployer");
    assert_eq!(info["role"], "engineer");
    // It can ask for policy decisions like any role session.
    let r: serde_json::Value = reqwest::Client::new()
        .post(l.at("/v1/authorize"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .json(&serde_json::json!({"action": "deploy:ListServices", "resource": "arn:lanyard:deploy:::service/x/y"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        r["reason"], "ImplicitDeny",
        "no team tag: ${{aws:PrincipalTag/team}} does not resolve"
    );
    // Once expired, the token is no longer active (the clock is Lanyard's injected one).
    let lifetime = t["expires_in"].as_u64().unwrap();
    l.clock
        .advance(std::time::Duration::from_secs(lifetime - 1));
    assert_eq!(
        introspect(&l, t["access_token"].as_str().unwrap()).await["active"],
        true
    );
    l.clock.advance(std::time::Duration::from_secs(1));
    let info = introspect(&l, t["access_token"].as_str().unwrap()).await;
    assert_eq!(info, serde_json::json!({"active": false}));
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let l = start().await;
    let b = browser();
    let back = run_authorize(
        &l,
        &b,
        &authorize_url(&l, "grafana", GRAFANA_REDIRECT, &[]),
        "alice",
        Some("auditor"),
    )
    .await;
    let code = query(&back, "code").unwrap();
    let auth = Some(("grafana", "grafana-secret"));
    let (_, t1) = token(
        &l,
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", GRAFANA_REDIRECT),
        ],
    )
    .await;
    let rt1 = t1["refresh_token"].as_str().unwrap().to_owned();
    let (s, t2) = token(
        &l,
        auth,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    )
    .await;
    assert_eq!(s, 200, "{t2}");
    let rt2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2, "rotated");
    assert_eq!(introspect(&l, &rt2).await["active"], true);
    // Reusing rt1 is theft: the whole family ends.
    let (s, e) = token(
        &l,
        auth,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (s, _) = token(
        &l,
        auth,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
    )
    .await;
    assert_eq!(s, 400, "the newest token of the family is revoked too");
    for t in [&t1, &t2] {
        assert_eq!(
            introspect(&l, t["access_token"].as_str().unwrap()).await["active"],
            false
        );
    }
    // Another client cannot use a refresh token.
    let back = run_authorize(
        &l,
        &b,
        &authorize_url(&l, "grafana", GRAFANA_REDIRECT, &[]),
        "alice",
        Some("auditor"),
    )
    .await;
    let code = query(&back, "code").unwrap();
    let (_, t) = token(
        &l,
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", GRAFANA_REDIRECT),
        ],
    )
    .await;
    let (s, _) = token(
        &l,
        Some(("billing", "billing-secret")),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn revocation_and_logout_end_sessions() {
    let l = start().await;
    let b = browser();
    let back = run_authorize(
        &l,
        &b,
        &authorize_url(&l, "grafana", GRAFANA_REDIRECT, &[]),
        "alice",
        Some("engineer"),
    )
    .await;
    let code = query(&back, "code").unwrap();
    let auth = Some(("grafana", "grafana-secret"));
    let (_, t) = token(
        &l,
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", GRAFANA_REDIRECT),
        ],
    )
    .await;
    // RFC 7009: revoking the access token ends its role session.
    let access = t["access_token"].as_str().unwrap();
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/revoke"))
        .basic_auth("grafana", Some("grafana-secret"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(introspect(&l, access).await["active"], false);
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/revoke"))
        .basic_auth("grafana", Some("grafana-secret"))
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "unknown tokens are not an error");
    // RP-initiated logout with id_token_hint: the SSO session ends, refresh stops working.
    let url = format!(
        "{}?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        l.at("/oauth2/logout"),
        t["id_token"].as_str().unwrap(),
        "https://grafana.example.com/logout"
    );
    let r = b.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "https://grafana.example.com/logout?state=bye");
    assert_eq!(
        b.get(l.at("/roles")).send().await.unwrap().status(),
        303,
        "signed out"
    );
    let (s, _) = token(
        &l,
        auth,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(s, 400);
    // An unregistered post_logout_redirect_uri is refused.
    let url = format!(
        "{}?client_id=grafana&post_logout_redirect_uri=https://evil.example.com/",
        l.at("/oauth2/logout")
    );
    assert_eq!(b.get(&url).send().await.unwrap().status(), 400);
}

/// A machine client authenticating with `private_key_jwt` (RFC 7523).
#[tokio::test]
async fn private_key_jwt_clients_sign_single_use_assertions() {
    use lanyard::tokens::{Algorithm as KeyAlg, KeySet, generate_key};
    // A fresh ES256 key set in its own directory.
    let key_set = |dir: &std::path::Path| {
        generate_key(dir, KeyAlg::Es256, UnixTime::from_secs(T0 - 10)).unwrap();
        KeySet::load(dir, KeyAlg::Es256, UnixTime::from_secs(T0)).unwrap()
    };
    let client_keys = tempfile::tempdir().unwrap();
    let client_set = key_set(client_keys.path());
    let jwks = client_keys.path().join("jwks.json");
    std::fs::write(&jwks, serde_json::to_string(&client_set.jwks()).unwrap()).unwrap();
    let other_keys = tempfile::tempdir().unwrap();
    let other_set = key_set(other_keys.path());

    let keys = tempfile::tempdir().unwrap();
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    text.push_str(&format!(
        "\n[[clients]]\nid = \"robot\"\njwks_file = \"{}\"\ngrant_types = [\"client_credentials\"]\nmachine_role = \"robot\"\n\
         [[roles]]\nname = \"robot\"\ntrust_policy = {{ Version = \"2012-10-17\", Statement = [\
         {{ Effect = \"Allow\", Action = \"sts:AssumeRole\", Principal = {{ AWS = \"arn:lanyard:iam:::client/robot\" }} }}] }}\n",
        jwks.display()
    ));
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let mut l = start_with(&text, memory_store(&clock), clock).await;
    l.keep(keys);
    let assertion = |set: &KeySet, aud: &str, exp: i64, jti: &str| {
        set.sign(
            &serde_json::json!({"iss": "robot", "sub": "robot", "aud": aud, "exp": exp, "iat": T0, "jti": jti}),
            "JWT",
        )
        .unwrap()
    };
    let send = |a: String| {
        let url = l.at("/oauth2/token");
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", a.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let token_url = "http://127.0.0.1:8080/oauth2/token";
    let good = assertion(&client_set, token_url, T0 + 120, "a-1");
    let (s, t) = send(good.clone()).await;
    assert_eq!(s, 200, "{t}");
    let payload = t["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(
        (claims["role"].as_str(), claims["client_id"].as_str()),
        (Some("robot"), Some("robot"))
    );
    assert_eq!(claims["amr"], serde_json::json!(["private_key_jwt"]));
    // The same assertion twice: refused.
    assert_eq!(send(good).await.0, 401);
    // Another audience, expired, too long-lived, someone else's key: refused.
    assert_eq!(
        send(assertion(
            &client_set,
            "https://elsewhere.example.com",
            T0 + 120,
            "a-2"
        ))
        .await
        .0,
        401
    );
    assert_eq!(
        send(assertion(&client_set, token_url, T0 - 120, "a-3"))
            .await
            .0,
        401
    );
    assert_eq!(
        send(assertion(&client_set, token_url, T0 + 3600, "a-4"))
            .await
            .0,
        401
    );
    assert_eq!(
        send(assertion(&other_set, token_url, T0 + 120, "a-5"))
            .await
            .0,
        401
    );
    // alg none with the client's name.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(format!(
            r#"{{"iss":"robot","sub":"robot","aud":"{token_url}","exp":{},"jti":"a-6"}}"#,
            T0 + 60
        ))
    );
    assert_eq!(send(none).await.0, 401);
    // The issuer as audience is fine too.
    assert_eq!(
        send(assertion(
            &client_set,
            "http://127.0.0.1:8080",
            T0 + 120,
            "a-7"
        ))
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn login_hint_prefills_sign_in_and_acr_mfa_needs_a_second_factor() {
    let l = start().await;
    let b = browser();
    // login_hint travels: authorize → /signin → the provider link → the password form.
    let url = authorize_url(&l, "grafana", GRAFANA_REDIRECT, &[("login_hint", "bob")]);
    let r = b.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let signin = location(&r);
    assert!(signin.starts_with("/signin?"), "{signin}");
    assert_eq!(
        query(&format!("http://x{signin}"), "login_hint").as_deref(),
        Some("bob")
    );
    let page = b
        .get(l.at(&signin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let href = {
        let i = page.find("href=\"/auth/corp?").expect("a provider link") + 6;
        page[i..i + page[i..].find('"').unwrap()].replace("&#38;", "&")
    };
    assert_eq!(
        query(&format!("http://x{href}"), "login_hint").as_deref(),
        Some("bob"),
        "{href}"
    );
    let form = b
        .get(l.at(&href))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("value=\"bob\""), "{form}");
    // A hint with control characters is refused at the authorization request.
    let bad = authorize_url(&l, "grafana", GRAFANA_REDIRECT, &[("login_hint", "a\nb")]);
    let r = b.get(&bad).send().await.unwrap();
    assert_eq!(
        query(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );

    // alice signs in with a password only; her next request passes straight to the roles...
    let first = run_authorize(&l, &b, &url, "alice", Some("engineer")).await;
    assert!(first.starts_with(GRAFANA_REDIRECT), "{first}");
    let again = b.get(&url).send().await.unwrap();
    assert!(location(&again).starts_with("/roles?authz="));
    // ...but acr_values=mfa needs a second factor, which her directory cannot ask for
    // (no TOTP): the application hears so (op_step_up has the step-ups themselves), and
    // prompt=none hears login_required.
    l.clock.advance(std::time::Duration::from_secs(5));
    let silent = authorize_url(
        &l,
        "grafana",
        GRAFANA_REDIRECT,
        &[("acr_values", "mfa"), ("prompt", "none")],
    );
    let r = b.get(&silent).send().await.unwrap();
    assert_eq!(
        query(&location(&r), "error").as_deref(),
        Some("login_required")
    );
    let mfa = authorize_url(&l, "grafana", GRAFANA_REDIRECT, &[("acr_values", "mfa")]);
    let r = b.get(&mfa).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let back = continue_url(&r.text().await.unwrap()).expect("back to the application");
    assert!(back.starts_with(GRAFANA_REDIRECT), "{back}");
    assert_eq!(
        query(&back, "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    assert_eq!(query(&back, "state").as_deref(), Some("st-123"));
    let d: serde_json::Value = reqwest::get(l.at("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["acr_values_supported"], serde_json::json!(["pwd", "mfa"]));
}

#[tokio::test]
async fn introspection_is_for_confidential_clients_and_their_own_tokens() {
    let l = start().await;
    let b = browser();
    let back = run_authorize(
        &l,
        &b,
        &authorize_url(&l, "grafana", GRAFANA_REDIRECT, &[]),
        "alice",
        Some("auditor"),
    )
    .await;
    let code = query(&back, "code").unwrap();
    let (_, t) = token(
        &l,
        Some(("grafana", "grafana-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", GRAFANA_REDIRECT),
        ],
    )
    .await;
    let access = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    // A public client has no secret to prove who asks: refused, whatever the token.
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/introspect"))
        .form(&[("token", access), ("client_id", "cli")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_client");
    // The client the tokens were issued to sees them; another confidential client does not;
    // the resource server with `introspect = "any"` does.
    for (who, active) in [
        (("grafana", "grafana-secret"), true),
        (("billing", "billing-secret"), false),
        (("api", "api-secret"), true),
    ] {
        for tok in [access, refresh] {
            let (s, v) = introspect_as(&l, who, tok).await;
            assert_eq!((s, v["active"].as_bool()), (200, Some(active)), "{who:?}");
            if !active {
                assert_eq!(v, serde_json::json!({"active": false}));
            }
        }
    }
    // Signing out ends the refresh token too (RP-initiated logout ends the SSO session).
    let html = b
        .get(l.at("/roles"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = b
        .post(l.at("/signout"))
        .form(&[("csrf", csrf_of(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        introspect_as(&l, ("grafana", "grafana-secret"), refresh)
            .await
            .1["active"],
        false,
        "a refresh token of an ended SSO session is inactive"
    );
    // Discovery advertises exactly what each endpoint accepts: a public client may revoke
    // its own tokens (RFC 7009 §2.1), not introspect.
    let d: serde_json::Value = reqwest::get(l.at("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let methods = |k: &str| -> Vec<String> {
        d[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!methods("introspection_endpoint_auth_methods_supported").contains(&"none".into()));
    assert!(methods("revocation_endpoint_auth_methods_supported").contains(&"none".into()));
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/revoke"))
        .form(&[("token", "unknown"), ("client_id", "cli")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a public client may revoke");
}
