//! The whole browser flow on the embedded default: sign-in, role picker, credentials,
//! token verification against the JWKS by an independent JWT library, sign-out, expiry.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::harness::{T0, browser, cheap_hash, csrf_of, memory_store, start_memory, start_with};
use lanyard::clock::{ManualClock, UnixTime};

#[tokio::test]
async fn signin_lists_providers_and_shows_the_password_form() {
    let l = start_memory().await;
    let b = browser();
    let page = b.get(l.at("/signin")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Corp directory"));
    assert!(html.contains("href=\"/auth/corp\""));
    let form = b.get(l.at("/auth/corp")).send().await.unwrap();
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("lanyard_browser="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    let html = form.text().await.unwrap();
    for field in ["name=\"username\"", "name=\"password\"", "name=\"csrf\""] {
        assert!(html.contains(field), "{field}");
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let l = start_memory().await;
    let b = browser();
    let wrong = l.sign_in(&b, "alice", "not-her-password").await;
    assert_eq!(wrong.status(), 401);
    let wrong = wrong.text().await.unwrap();
    let unknown = l.sign_in(&b, "mallory", "whatever").await;
    assert_eq!(unknown.status(), 401);
    let unknown = unknown.text().await.unwrap();
    let msg = "The username or password is incorrect.";
    assert!(wrong.contains(msg) && unknown.contains(msg));
    // Nothing was signed in.
    let roles = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(roles.status(), 303);
    assert_eq!(roles.headers()["location"], "/signin?return_to=%2Froles");
}

#[tokio::test]
async fn right_password_signs_in_with_a_fresh_session_cookie() {
    let l = start_memory().await;
    let b = browser();
    let r = l.sign_in(&b, "alice", "alice-pw").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/roles");
    let cookies: Vec<_> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("lanyard_session="))
        .unwrap();
    let value = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("lanyard_session=");
    assert_eq!(value.len(), 43, "256-bit base64url id");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(
        cookies.iter().any(|c| c.starts_with("lanyard_login=;")),
        "login cookie cleared"
    );
}

#[tokio::test]
async fn role_picker_shows_the_roles_each_person_may_take() {
    let l = start_memory().await;
    // alice: three roles, grouped and described.
    let (status, html) = l.picker(&browser(), "alice").await;
    assert_eq!(status, 200);
    for role in ["value=\"engineer\"", "value=\"admin\"", "value=\"auditor\""] {
        assert!(html.contains(role), "alice sees {role}");
    }
    assert!(
        html.contains("<legend>Engineering</legend>")
            && html.contains("<legend>Compliance</legend>")
    );
    assert!(html.contains("Deploy and operate services"));
    assert!(!html.contains("Filter roles"), "no filter box for 3 roles");
    // carol: only auditor, so the picker is skipped.
    let b = browser();
    let r = l.sign_in(&b, "carol", "carol-pw").await;
    assert_eq!(r.status(), 303);
    let r = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/credentials");
    let (_, page) = l.credentials(&b).await;
    assert!(page.contains("<code>auditor</code>"));
    // dave: none, and the page says who and through which provider.
    let (status, html) = l.picker(&browser(), "dave").await;
    assert_eq!(status, 403);
    assert!(html.contains("No role is available to you"));
    assert!(html.contains("corp:dave") && html.contains("Corp directory"));
}

#[tokio::test]
async fn last_used_role_is_preselected() {
    let l = start_memory().await;
    let b = browser();
    let (_, html) = l.picker(&b, "alice").await;
    // The first row by default: Compliance sorts before Engineering.
    assert!(
        html.contains("value=\"auditor\" required checked"),
        "first row by default: {html}"
    );
    assert!(!html.contains("Last used"));
    let r = l.choose(&b, &html, "engineer", 900).await;
    assert_eq!(r.status(), 303);
    let (_, html) = l.picker(&browser(), "alice").await;
    assert!(
        html.contains("value=\"engineer\" required checked"),
        "{html}"
    );
    // And listed first, under its own heading.
    let last = html
        .find("<legend>Last used</legend>")
        .expect("a Last used heading");
    assert!(last < html.find("value=\"engineer\"").unwrap());
    assert!(last < html.find("<legend>Compliance</legend>").unwrap());
}

#[tokio::test]
async fn issued_token_verifies_against_the_jwks_with_every_claim() {
    let l = start_memory().await;
    let b = browser();
    let (_, html) = l.picker(&b, "alice").await;
    let r = l.choose(&b, &html, "engineer", 7200).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/credentials");
    let (token, page) = l.credentials(&b).await;
    assert!(
        page.contains("export LANYARD_ROLE=&#39;engineer&#39;") || page.contains("LANYARD_ROLE=")
    );

    // An application's view: discovery → JWKS → verify with jsonwebtoken.
    let discovery: serde_json::Value = b
        .get(l.at("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], "http://127.0.0.1:8080");
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
    assert_eq!(jwks_uri, "http://127.0.0.1:8080/.well-known/jwks.json");
    let jwks: JwkSet = b
        .get(l.at("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.unwrap();
    let jwk = jwks.find(&kid).expect("kid published in JWKS");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&["http://127.0.0.1:8080"]);
    validation.set_audience(&["http://127.0.0.1:8080"]);
    validation.validate_exp = false; // the test clock is not the wall clock; checked below
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap();
    let c = data.claims;
    assert_eq!(c["iss"], "http://127.0.0.1:8080");
    assert_eq!(c["sub"], "corp:alice");
    assert_eq!(c["aud"], "http://127.0.0.1:8080");
    assert_eq!(c["iat"], T0);
    assert_eq!(c["nbf"], T0);
    assert_eq!(c["exp"], T0 + 7200);
    assert_eq!(c["auth_time"], T0);
    assert_eq!(c["role"], "engineer");
    assert_eq!(c["session_name"], "alice");
    assert_eq!(c["idp"], "corp");
    assert_eq!(c["amr"], serde_json::json!(["pwd"]));
    assert_eq!(c["groups"], serde_json::json!(["engineering", "admins"]));
    assert_eq!(c["tags"], serde_json::json!({"team": "platform"}));
    assert_eq!(c["jti"].as_str().unwrap().len(), 43);
    assert_eq!(c["sid"].as_str().unwrap().len(), 43);
    assert!(c.get("client_id").is_none());
    // A token from another key would not verify.
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(
        jsonwebtoken::decode::<serde_json::Value>(
            &tampered,
            &DecodingKey::from_jwk(jwk).unwrap(),
            &validation
        )
        .is_err()
    );
}

#[tokio::test]
async fn duration_above_the_role_maximum_is_refused() {
    let l = start_memory().await;
    let b = browser();
    let (_, html) = l.picker(&b, "alice").await;
    // admin allows 1h: a longer choice from the list is shortened, and the page says so.
    let r = l.choose(&b, &html, "admin", 7200).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/credentials?shortened=1");
    let text = l.text(&b, "/credentials?shortened=1").await;
    assert!(
        text.contains("The role admin grants sessions of at most 1 hour"),
        "{text}"
    );
    for bad in ["899", "43201", "abc", "-1"] {
        let csrf = csrf_of(&html);
        let r = b
            .post(l.at("/roles"))
            .form(&[("role", "engineer"), ("duration", bad), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "duration {bad}");
    }
    // A role the person may not take is refused even if posted by hand.
    let r = l.choose(&b, &html, "nonexistent", 900).await;
    assert_eq!(r.status(), 403);
    let (_, bob_html) = l.picker(&browser(), "bob").await;
    let _ = bob_html;
}

#[tokio::test]
async fn csrf_missing_or_wrong_is_refused() {
    let l = start_memory().await;
    let b = browser();
    let (_, html) = l.picker(&b, "alice").await;
    let missing = b
        .post(l.at("/roles"))
        .form(&[("role", "engineer"), ("duration", "900")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 403);
    let wrong = b
        .post(l.at("/roles"))
        .form(&[
            ("role", "engineer"),
            ("duration", "900"),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("This form has expired")
    );
    // The password form too: a token from another transaction does not do.
    let other = browser();
    let form = other
        .get(l.at("/auth/corp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = other
        .post(l.at("/auth/corp"))
        .form(&[
            ("username", "bob"),
            ("password", "bob-pw"),
            ("csrf", &format!("{}x", csrf_of(&form))),
        ])
        .send()
        .await
        .unwrap();
    // Not signed in: the form again with a fresh transaction, never a "Forbidden" page.
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("That form had expired"));
    assert_eq!(
        other.get(l.at("/roles")).send().await.unwrap().status(),
        303
    );
    // The transaction of the form shown is still there: the right token signs in once.
    let r = other
        .post(l.at("/auth/corp"))
        .form(&[
            ("username", "bob"),
            ("password", "bob-pw"),
            ("csrf", &csrf_of(&form)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Still able to choose with the right token.
    assert_eq!(l.choose(&b, &html, "engineer", 900).await.status(), 303);
}

#[tokio::test]
async fn signout_ends_the_session_and_its_role_sessions() {
    let l = start_memory().await;
    let b = browser();
    let (_, html) = l.picker(&b, "alice").await;
    l.choose(&b, &html, "engineer", 900).await;
    let (token, page) = l.credentials(&b).await;
    let authz = |token: String| {
        let b = reqwest::Client::new();
        let url = l.at("/v1/authorize");
        async move {
            b.post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({"action": "deploy:GetService", "resource": "arn:lanyard:deploy:::service/platform/api"}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(authz(token.clone()).await.status(), 200);
    let r = b
        .post(l.at("/signout"))
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("You are signed out"));
    let roles = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(roles.status(), 303);
    let denied = authz(token).await;
    assert_eq!(denied.status(), 401);
    assert!(
        denied.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
}

#[tokio::test]
async fn an_expired_session_goes_back_to_signin() {
    let l = start_memory().await;
    let b = browser();
    let (_, html) = l.picker(&b, "alice").await;
    // Used within the idle timeout: still signed in.
    l.clock.advance(Duration::from_secs(50 * 60));
    assert_eq!(b.get(l.at("/roles")).send().await.unwrap().status(), 200);
    // Idle for more than an hour: gone.
    l.clock.advance(Duration::from_secs(61 * 60));
    let r = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/signin?return_to=%2Froles");
    let r = l.choose(&b, &html, "engineer", 900).await;
    assert_eq!(
        r.status(),
        303,
        "a post with a dead session is sent to sign in"
    );
}

#[tokio::test]
async fn absolute_timeout_ends_even_a_busy_session() {
    let l = start_memory().await;
    let b = browser();
    l.picker(&b, "alice").await;
    for _ in 0..14 {
        l.clock.advance(Duration::from_secs(55 * 60));
        let _ = b.get(l.at("/roles")).send().await.unwrap();
    }
    let r = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(r.status(), 303, "12h absolute timeout");
}

#[tokio::test]
async fn authorize_evaluates_the_role_policies() {
    let l = start_memory().await;
    let b = browser();
    let (_, html) = l.picker(&b, "bob").await;
    let _ = html;
    let (token, _) = l.credentials(&b).await;
    let ask = |action: &str, resource: &str, context: serde_json::Value| {
        let c = reqwest::Client::new();
        let body = serde_json::json!({"action": action, "resource": resource, "context": context});
        let url = l.at("/v1/authorize");
        let token = token.clone();
        async move {
            let r = c
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    // bob is in team payments: ${aws:PrincipalTag/team} in the deploy policy.
    let (s, own) = ask(
        "deploy:CreateRelease",
        "arn:lanyard:deploy:::service/payments/api",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(own["decision"], "Allow");
    assert_eq!(own["reason"], "Allowed");
    assert_eq!(own["statements"][0]["sid"], "DeployOwnTeam");
    let (_, other) = ask(
        "deploy:CreateRelease",
        "arn:lanyard:deploy:::service/platform/api",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(other["decision"], "Deny");
    assert_eq!(other["reason"], "ImplicitDeny");
    let (_, del) = ask(
        "deploy:DeleteService",
        "arn:lanyard:deploy:::service/payments/production",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(del["reason"], "ExplicitDeny");
    assert_eq!(del["statements"][0]["sid"], "NoProductionDeletes");
    // The caller cannot claim to be another team.
    let (s, err) = ask(
        "deploy:CreateRelease",
        "arn:lanyard:deploy:::service/platform/api",
        serde_json::json!({"aws:PrincipalTag/team": "platform"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(err["error"], "invalid_request");
}

#[tokio::test]
async fn pages_carry_strict_security_headers() {
    let l = start_memory().await;
    let r = browser().get(l.at("/signin")).send().await.unwrap();
    let h = r.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.contains_key("x-request-id"));
    let css = browser()
        .get(l.at("/static/lanyard.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let icon = browser()
        .get(l.at("/static/favicon.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.unwrap().starts_with("<svg "));
}

#[tokio::test]
async fn health_and_readiness() {
    let l = start_memory().await;
    let b = browser();
    assert_eq!(
        b.get(l.at("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    let r = b.get(l.at("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["store"], "memory");
}

#[tokio::test]
async fn many_roles_get_a_filter_box_that_works_without_javascript() {
    let keys = tempfile::tempdir().unwrap();
    let mut text = crate::harness::config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    for i in 0..12 {
        text.push_str(&format!(
            "\n[[roles]]\nname = \"team-{i:02}\"\ngroup = \"Teams\"\ndescription = \"{} service\"\ntrust_policy = {{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Allow\", Principal = {{ Federated = \"corp\" }}, Action = \"sts:AssumeRole\", Condition = {{ StringEquals = {{ \"idp:username\" = \"alice\" }} }} }}] }}\n",
            if i % 2 == 0 { "billing" } else { "search" }
        ));
    }
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let l = crate::harness::start_with(&text, crate::harness::memory_store(&clock), clock).await;
    let b = browser();
    let (status, html) = l.picker(&b, "alice").await;
    assert_eq!(status, 200);
    assert!(html.contains("Filter roles"));
    assert!(
        html.contains("Showing 15 of 15 roles"),
        "3 quickstart roles + 12"
    );
    let filtered = b
        .get(l.at("/roles?q=BILLING"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Six "billing service" roles, and auditor ("Read-only access to logs and billing").
    assert!(filtered.contains("Showing 7 of 15 roles"), "{filtered}");
    assert!(filtered.contains("value=\"auditor\""));
    assert!(filtered.contains("value=\"team-00\"") && !filtered.contains("value=\"team-01\""));
    // The filter only narrows the list; a role not shown can still be chosen by name.
    assert_eq!(l.choose(&b, &filtered, "team-01", 900).await.status(), 303);
}

#[tokio::test]
async fn https_deployments_use_host_prefixed_secure_cookies_and_hsts() {
    let keys = tempfile::tempdir().unwrap();
    let text = crate::harness::config_text("[sessions]\nstore = \"memory\"\n", keys.path())
        .replace(
            "public_url = \"http://127.0.0.1:8080\"",
            "public_url = \"https://sso.example.com\"",
        );
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let l = crate::harness::start_with(&text, crate::harness::memory_store(&clock), clock).await;
    let r = browser().get(l.at("/auth/corp")).send().await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-lanyard_browser="), "{cookie}");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    // The plain-named cookie is not accepted in place of the prefixed one.
    let html = r.text().await.unwrap();
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-lanyard_browser=");
    let forged = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(l.at("/auth/corp"))
        .header("cookie", format!("lanyard_browser={value}"))
        .form(&[
            ("username", "alice"),
            ("password", "alice-pw"),
            ("csrf", &csrf_of(&html)),
        ])
        .send()
        .await
        .unwrap();
    // Not signed in: the form comes back fresh (400), no session cookie.
    assert_eq!(forged.status(), 400);
    assert!(
        !forged
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().contains("lanyard_session=")),
    );
}

/// `aws:SourceIp` (and the per-address sign-in limits) see the peer, or behind
/// `trusted_proxies` the right-most untrusted `X-Forwarded-For` hop; a client that is not
/// a trusted proxy cannot choose its own address with the header.
#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    async fn decision(trusted: &str, forwarded_for: &str) -> String {
        let keys = tempfile::tempdir().unwrap();
        let text = format!(
            r#"
[server]
bind = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080"
trusted_proxies = [{trusted}]
[sessions]
store = "memory"
[tokens]
keys_dir = "{keys}"
[[providers]]
id = "corp"
kind = "local"
[[roles]]
name = "office"
permission_policies = ["office"]
trust_policy = {{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ AWS = "arn:lanyard:iam:::client/robot" }}, Action = "sts:AssumeRole" }}] }}
[[policies]]
name = "office"
document = {{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "files:Read", Resource = "*",
  Condition = {{ IpAddress = {{ "aws:SourceIp" = "203.0.113.0/24" }} }} }}] }}
[[clients]]
id = "robot"
secret_hash = "{hash}"
grant_types = ["client_credentials"]
machine_role = "office"
"#,
            keys = keys.path().display(),
            hash = cheap_hash("robot-secret"),
        );
        let clock = ManualClock::new(UnixTime::from_secs(T0));
        let l = start_with(&text, memory_store(&clock), clock).await;
        let c = reqwest::Client::new();
        let t: serde_json::Value = c
            .post(l.at("/oauth2/token"))
            .basic_auth("robot", Some("robot-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let v: serde_json::Value = c
            .post(l.at("/v1/authorize"))
            .bearer_auth(t["access_token"].as_str().unwrap())
            .header("x-forwarded-for", forwarded_for)
            .json(&serde_json::json!({"action": "files:Read", "resource": "arn:files:::x"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["decision"].as_str().unwrap().to_owned()
    }
    // The test connects from 127.0.0.1.
    assert_eq!(decision("\"127.0.0.1\"", "203.0.113.9").await, "Allow");
    assert_eq!(
        decision("\"127.0.0.0/8\"", "198.51.100.1, 203.0.113.9").await,
        "Allow"
    );
    assert_eq!(
        decision("\"127.0.0.1\"", "203.0.113.9, 198.51.100.1").await,
        "Deny"
    );
    // Not a trusted proxy: the header is ignored and the peer (127.0.0.1) decides.
    assert_eq!(decision("", "203.0.113.9").await, "Deny");
    assert_eq!(decision("\"10.0.0.0/8\"", "203.0.113.9").await, "Deny");
}
