//! GitHub (`kind = "github"`) against an in-process fake of the endpoints Lanyard calls:
//! `/login/oauth/authorize`, `/login/oauth/access_token`, and the API's `/user`,
//! `/user/emails`, `/user/orgs`, `/user/teams` (there is no way to run GitHub here).

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use lanyard::clock::{ManualClock, UnixTime};
use serde_json::{Value, json};

use crate::harness::{T0, browser};
use crate::upstream::{Broker, broker, location, roles_after, to_lanyard};

#[derive(Default)]
struct Gh {
    user: Value,
    emails: Value,
    orgs: Value,
    teams: Value,
    /// Paths that answer 500, or `"token"` for a token-endpoint OAuth error.
    failing: Vec<&'static str>,
    state: String,
    verifier_ok: bool,
}

#[derive(Clone)]
struct Fake(Arc<Mutex<Gh>>);

async fn authorize(State(f): State<Fake>, Query(q): Query<Vec<(String, String)>>) -> Redirect {
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("code_challenge_method"), "S256");
    assert_eq!(get("scope"), "read:user user:email read:org");
    f.0.lock().unwrap().state = get("code_challenge");
    Redirect::to(&format!(
        "{}?code=gh-code&state={}",
        get("redirect_uri"),
        get("state")
    ))
}

async fn access_token(
    State(f): State<Fake>,
    Form(form): Form<Vec<(String, String)>>,
) -> Json<Value> {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut s = f.0.lock().unwrap();
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, get("code_verifier").as_bytes());
    use base64::Engine;
    s.verifier_ok =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()) == s.state;
    // GitHub answers 200 with an error member.
    if s.failing.contains(&"token")
        || get("client_secret") != "gh-secret"
        || get("code") != "gh-code"
    {
        return Json(
            json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}),
        );
    }
    Json(
        json!({"access_token": "gho_test", "token_type": "bearer", "scope": "read:user,user:email,read:org"}),
    )
}

fn api(f: &Fake, headers: &HeaderMap, path: &'static str, pick: fn(&Gh) -> Value) -> Response {
    let s = f.0.lock().unwrap();
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer gho_test") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Bad credentials"})),
        )
            .into_response();
    }
    if s.failing.contains(&path) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response();
    }
    Json(pick(&s)).into_response()
}

async fn start_github(user: Value, emails: Value, orgs: Value, teams: Value) -> (Fake, String) {
    let fake = Fake(Arc::new(Mutex::new(Gh {
        user,
        emails,
        orgs,
        teams,
        ..Default::default()
    })));
    let app = Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/access_token", post(access_token))
        .route(
            "/api/v3/user",
            get(|State(f): State<Fake>, h: HeaderMap| async move {
                api(&f, &h, "user", |s| s.user.clone())
            }),
        )
        .route(
            "/api/v3/user/emails",
            get(|State(f): State<Fake>, h: HeaderMap| async move {
                api(&f, &h, "emails", |s| s.emails.clone())
            }),
        )
        .route(
            "/api/v3/user/orgs",
            get(|State(f): State<Fake>, h: HeaderMap| async move {
                api(&f, &h, "orgs", |s| s.orgs.clone())
            }),
        )
        .route(
            "/api/v3/user/teams",
            get(|State(f): State<Fake>, h: HeaderMap| async move {
                api(&f, &h, "teams", |s| s.teams.clone())
            }),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (fake, base)
}

async fn lanyard_for_github(base: &str, extra: &str) -> Broker {
    // The GitHub Enterprise Server shape: web at base_url, API at {base_url}/api/v3.
    let provider = format!(
        "[[providers]]\nid = \"gh\"\nkind = \"github\"\nbase_url = \"{base}\"\nclient_id = \"Iv1.test\"\n\
         client_secret = \"gh-secret\"\ntimeout = \"2s\"\n{extra}\n"
    );
    broker(
        &provider,
        &["gh"],
        ManualClock::new(UnixTime::from_secs(T0)),
    )
    .await
}

async fn login(l: &Broker, b: &reqwest::Client) -> reqwest::Response {
    let start = b.get(l.at("/auth/gh")).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let back = b.get(location(&start)).send().await.unwrap();
    b.get(to_lanyard(l, &location(&back))).send().await.unwrap()
}

fn octocat() -> (Value, Value, Value, Value) {
    (
        json!({"id": 583231, "login": "octocat", "name": "The Octocat"}),
        json!([{"email": "octocat@example.com", "primary": true, "verified": true},
               {"email": "old@elsewhere.example", "primary": false, "verified": true}]),
        json!([{"login": "Acme"}, {"login": "oss-club"}]),
        json!([{"slug": "platform", "organization": {"login": "Acme"}}]),
    )
}

#[tokio::test]
async fn orgs_and_teams_become_groups_and_decide_roles() {
    let (u, e, o, t) = octocat();
    let (fake, base) = start_github(u, e, o, t).await;
    let l = lanyard_for_github(&base, "allowed_organizations = [\"acme\"]").await;
    let b = browser();
    let r = login(&l, &b).await;
    assert!(fake.0.lock().unwrap().verifier_ok, "PKCE verifier sent");
    let roles = roles_after(&l, &b, r).await;
    // Groups acme, oss-club, acme:platform: no "engineering" group, but the verified
    // primary email is at example.com.
    assert_eq!(roles, ["mail"]);
    let html = b
        .get(l.at("/credentials"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("octocat"), "{html}");
}

#[tokio::test]
async fn team_membership_grants_a_role_through_idp_groups() {
    let (u, _, o, _) = octocat();
    let teams = json!([{"slug": "Engineering", "organization": {"login": "acme"}}]);
    let (_fake, base) = start_github(u, json!([]), o, teams).await;
    let l = lanyard_for_github(&base, "").await;
    let b = browser();
    let r = login(&l, &b).await;
    assert_eq!(r.status(), 303);
    // No role fits; the page lists the groups as Lanyard received them.
    let page = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("acme, oss-club, acme:engineering"), "{html}");
    assert!(
        html.contains("gh:583231"),
        "subject is the stable numeric id: {html}"
    );
}

#[tokio::test]
async fn no_verified_email_means_no_email_and_no_email_based_role() {
    let (u, _, o, t) = octocat();
    let emails = json!([{"email": "octocat@example.com", "primary": true, "verified": false}]);
    let (_fake, base) = start_github(u, emails, o, t).await;
    let l = lanyard_for_github(&base, "").await;
    let b = browser();
    let r = login(&l, &b).await;
    assert!(roles_after(&l, &b, r).await.is_empty());
}

#[tokio::test]
async fn outsiders_and_api_errors_get_a_clear_page() {
    let (u, e, _, t) = octocat();
    let (fake, base) = start_github(u, e, json!([{"login": "other-org"}]), t).await;
    let l = lanyard_for_github(&base, "allowed_organizations = [\"acme\"]").await;
    let b = browser();
    let r = login(&l, &b).await;
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("Sign-in with GitHub failed"), "{html}");
    assert!(
        html.contains("only members of the GitHub organization acme"),
        "{html}"
    );
    assert!(html.contains("href=\"/auth/gh\""));
    // The API failing.
    fake.0.lock().unwrap().failing = vec!["user"];
    let b = browser();
    let r = login(&l, &b).await;
    assert_eq!(r.status(), 502);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("API answered with HTTP 500")
    );
    // The token endpoint refusing the code (200 with an error member).
    fake.0.lock().unwrap().failing = vec!["token"];
    let b = browser();
    let r = login(&l, &b).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("bad_verification_code"));
}
