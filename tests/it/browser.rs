//! Sign-in in a real browser (headless Chromium, see `chromium.rs`): what a person does,
//! typed into fields and clicked, with every page's CSP enforced as a browser does.
//! Each test writes a screenshot of every step to `target/screenshots/<test>/`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::Query;
use axum::response::Html;
use lanyard::clock::{ManualClock, UnixTime};

use crate::chromium::Page;
use crate::harness::{
    Lanyard, T0, cheap_hash, config_text, memory_store, start_public, start_public_on,
};

/// Lanyard on its real loopback URL with the test directory and `extra` config.
async fn lanyard(extra: &str) -> Lanyard {
    let keys = tempfile::tempdir().unwrap();
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    text.push_str(extra);
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let mut l = start_public(&text, memory_store(&clock), clock).await;
    l.keep(keys);
    l
}

/// Signs in through the password form on the page now shown.
async fn password(page: &Page, user: &str) {
    page.fill("username", user).await;
    page.fill("password", &format!("{user}-pw")).await;
    page.shot("password-form").await;
    page.click("form[method=post] button[type=submit]").await;
}

/// Picks `role` on the role picker shown now and submits it.
async fn pick(page: &Page, role: &str) {
    page.click(&format!("input[name=role][value=\"{role}\"]"))
        .await;
    page.shot("picker").await;
    // The form's own button (a direct child): the rows hold the star buttons.
    page.click("form[action=\"/roles\"][method=post] > button[type=submit]")
        .await;
}

/// The access token in the export line of the credentials page shown now.
pub(crate) async fn shown_token(page: &Page) -> String {
    let text = page.text().await;
    let marker = "export LANYARD_TOKEN='";
    let start = text.find(marker).expect("the page shows an export line") + marker.len();
    let end = text[start..].find('\'').unwrap() + start;
    text[start..end].to_owned()
}

/// Picks `role` on the picker shown now, waits for the credentials page that names it, and
/// returns the token it shows.
async fn credentials_for(page: &Page, role: &str) -> String {
    pick(page, role).await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;
    page.shot("credentials").await;
    assert!(page.html().await.contains(role));
    shown_token(page).await
}

/// The status of `/v1/authorize` for an engineer's action with `token`.
async fn may_deploy(l: &Lanyard, token: &str) -> u16 {
    reqwest::Client::new()
        .post(l.at("/v1/authorize"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "action": "deploy:GetService",
            "resource": "arn:lanyard:deploy:::service/platform/api"
        }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn local_sign_in_picker_credentials_and_sign_out() {
    let l = lanyard("").await;
    let page = Page::open("local_sign_in").await;
    page.goto(&l.at("/")).await;
    page.wait_for_url("the sign-in page", |u| u.path() == "/signin")
        .await;
    page.shot("signin").await;
    page.click("a[href^=\"/auth/corp\"]").await;
    page.wait_for_url("the password form", |u| u.path() == "/auth/corp")
        .await;
    // A wrong password first: the form comes back with a message.
    page.fill("username", "alice").await;
    page.fill("password", "wrong").await;
    page.click("form[method=post] button[type=submit]").await;
    // The form comes back at the same address: wait for its message, not the location.
    let started = std::time::Instant::now();
    while !page
        .text()
        .await
        .contains("The username or password is incorrect.")
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{}",
            page.text().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The cursor waits in the password field, which names the message for screen readers,
    // and the username is kept.
    let focus = page
        .client
        .execute(
            "const a = document.activeElement; return [a.id, a.getAttribute('aria-describedby'), \
             document.getElementById(a.getAttribute('aria-describedby') || '')?.textContent, \
             document.getElementById('username').value];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focus[0], "password", "{focus}");
    assert_eq!(
        focus[2], "The username or password is incorrect.",
        "the field's description is the message: {focus}"
    );
    assert_eq!(focus[3], "alice", "{focus}");
    page.shot("wrong-password").await;
    password(&page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    let text = page.text().await;
    assert!(text.contains("Choose a role"), "{text}");
    for role in ["engineer", "admin", "auditor"] {
        assert!(text.contains(role), "{role} is offered: {text}");
    }
    // The token on the page is one Lanyard accepts.
    let token = credentials_for(&page, "engineer").await;
    assert_eq!(may_deploy(&l, &token).await, 200);
    page.click("form[action=\"/signout\"] button[type=submit]")
        .await;
    page.wait_for_url("the signed-out page", |u| u.path() == "/signout")
        .await;
    assert!(page.text().await.contains("You are signed out"));
    page.shot("signed-out").await;
    // The browser holds no session any more: the picker asks to sign in.
    page.goto(&l.at("/roles")).await;
    page.wait_for_url("sign-in again", |u| u.path() == "/signin")
        .await;
    assert_eq!(
        may_deploy(&l, &token).await,
        401,
        "the credentials ended with the session"
    );
    // An error page: a sign-in link to a provider that does not exist.
    page.goto(&l.at("/auth/nope")).await;
    let text = page.text().await;
    assert!(text.contains("Back to sign-in"), "{text}");
    assert!(!text.contains("Not Found"), "no reason phrase: {text}");
    page.shot("error-page").await;
    page.close().await;
}

/// A tiny application on another origin: records the query of each visit to `/cb`.
struct App {
    url: String,
    seen: Arc<Mutex<Vec<HashMap<String, String>>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn app() -> App {
    let seen: Arc<Mutex<Vec<HashMap<String, String>>>> = Arc::default();
    let record = Arc::clone(&seen);
    let router = axum::Router::new().route(
        "/cb",
        axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
            let record = Arc::clone(&record);
            async move {
                record.lock().unwrap().push(q);
                Html("<!doctype html><title>App</title><h1>Signed in to the app</h1>")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    App {
        url,
        seen,
        _stop: tx,
    }
}

/// Signs in to the application through Lanyard in Chromium as `user`, choosing `role` on
/// the picker when one is shown; returns the query the application received.
async fn app_sign_in(
    l: &Lanyard,
    app: &App,
    name: &str,
    user: &str,
    role: Option<&str>,
) -> HashMap<String, String> {
    let page = Page::open(name).await;
    let redirect = format!("{}/cb", app.url);
    let mut authorize = url::Url::parse(&l.at("/oauth2/authorize")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "app")
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", "openid email")
        .append_pair("state", &format!("state-of-{user}"));
    page.goto(authorize.as_str()).await;
    page.wait_for_url("the sign-in page", |u| u.path() == "/signin")
        .await;
    page.click("a[href^=\"/auth/corp\"]").await;
    page.wait_for_url("the password form", |u| u.path() == "/auth/corp")
        .await;
    password(&page, user).await;
    if let Some(role) = role {
        page.wait_for_url("the role picker", |u| u.path() == "/roles")
            .await;
        assert!(page.text().await.contains("Choose the role to use in"));
        pick(&page, role).await;
    }
    let app_origin = url::Url::parse(&app.url).unwrap().origin();
    let landed = page
        .wait_for_url("the application", |u| u.origin() == app_origin)
        .await;
    page.shot("application").await;
    assert_eq!(landed.path(), "/cb");
    page.close().await;
    let seen = app.seen.lock().unwrap();
    seen.iter()
        .find(|q| q.get("state").map(String::as_str) == Some(&format!("state-of-{user}")))
        .cloned()
        .expect("the application saw the callback")
}

async fn redeem(l: &Lanyard, app: &App, code: &str) -> serde_json::Value {
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/token"))
        .basic_auth("app", Some("app-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &format!("{}/cb", app.url)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

/// The claims of a JWT (its signature is Lanyard's business; the tests read what it says).
fn claims_of(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

fn role_of(access_token: &str) -> String {
    claims_of(access_token)["role"].as_str().unwrap().to_owned()
}

/// Lanyard with the application `app` (engineer and auditor) registered.
async fn lanyard_with_app(app: &App) -> Lanyard {
    lanyard(&format!(
        "\n[[clients]]\nid = \"app\"\nname = \"Example App\"\nsecret_hash = \"{}\"\n\
         redirect_uris = [\"{}/cb\"]\nallowed_roles = [\"engineer\", \"auditor\"]\n",
        cheap_hash("app-secret"),
        app.url
    ))
    .await
}

/// alice may take engineer and auditor in the app: the picker's POST ends the flow. Fails
/// on a `303` to the application after that POST: Chromium applies the page CSP's
/// `form-action 'self'` to the redirect and stays on Lanyard.
#[tokio::test]
async fn an_application_on_another_origin_receives_its_code_after_the_picker() {
    let app = app().await;
    let l = lanyard_with_app(&app).await;
    let q = app_sign_in(&l, &app, "app_via_picker", "alice", Some("auditor")).await;
    assert_eq!(q.get("iss"), Some(&l.url));
    let tokens = redeem(&l, &app, &q["code"]).await;
    assert_eq!(role_of(tokens["access_token"].as_str().unwrap()), "auditor");
    // The code was handed over once: a second exchange is refused.
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/token"))
        .basic_auth("app", Some("app-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("redirect_uri", &format!("{}/cb", app.url)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// bob has one role that fits: no picker, the password form's POST (→ `/roles?authz=…`)
/// ends the flow; blocked the same way before the hand-over page.
#[tokio::test]
async fn an_application_on_another_origin_receives_its_code_when_the_picker_is_skipped() {
    let app = app().await;
    let l = lanyard_with_app(&app).await;
    let q = app_sign_in(&l, &app, "app_picker_skipped", "bob", None).await;
    let tokens = redeem(&l, &app, &q["code"]).await;
    assert_eq!(
        role_of(tokens["access_token"].as_str().unwrap()),
        "engineer"
    );
}

/// Lanyard → the `oidc-provider` peer's login page → back to Lanyard → credentials.
#[tokio::test]
async fn upstream_oidc_provider_in_a_browser() {
    // Lanyard's address first: the provider must know where to send the browser back.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lanyard_url = format!("http://{}", listener.local_addr().unwrap());
    let op = crate::oidc_interop::start_op_with(&[(
        "REDIRECT_URI",
        format!("{lanyard_url}/auth/op/callback"),
    )])
    .await;
    let keys = tempfile::tempdir().unwrap();
    let text = crate::upstream::broker_text(
        &crate::oidc_interop::provider(&op, "fetch_userinfo = true"),
        &["op"],
        keys.path(),
    );
    // The provider's tokens carry the real time.
    let clock = ManualClock::new(UnixTime::from_secs(crate::oidc_interop::real_now()));
    let mut l = start_public_on(listener, &text, memory_store(&clock), clock).await;
    l.keep(keys);
    assert_eq!(l.url, lanyard_url);

    let page = Page::open("upstream_oidc").await;
    page.goto(&l.at("/auth/op")).await;
    let op_origin = url::Url::parse(&op.issuer).unwrap().origin();
    page.wait_for_url("the provider's login page", |u| u.origin() == op_origin)
        .await;
    page.shot("provider-login").await;
    page.fill("user", "alice").await;
    page.click("#login").await;
    page.wait_for_url("the role picker", |u| {
        u.as_str().starts_with(&lanyard_url) && u.path() == "/roles"
    })
    .await;
    let text = page.text().await;
    assert!(
        text.contains("Alice Liddell") || text.contains("alice"),
        "{text}"
    );
    let token = credentials_for(&page, "engineer").await;
    assert_eq!(claims_of(&token)["sub"], "op:alice");
    page.close().await;
}

/// An application on another origin, the `oidc-provider` peer as Lanyard's only provider
/// and one role the application may receive: `/oauth2/authorize` goes straight to the
/// provider's login page, and after it the callback continues to the application with
/// its code (no chooser, no picker), through the page CSP of every Lanyard page.
#[tokio::test]
async fn an_application_signs_in_through_the_only_upstream_provider_straight_through() {
    let app = app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lanyard_url = format!("http://{}", listener.local_addr().unwrap());
    let op = crate::oidc_interop::start_op_with(&[(
        "REDIRECT_URI",
        format!("{lanyard_url}/auth/op/callback"),
    )])
    .await;
    let keys = tempfile::tempdir().unwrap();
    let mut text = crate::upstream::broker_text(
        &crate::oidc_interop::provider(&op, "fetch_userinfo = true"),
        &["op"],
        keys.path(),
    );
    text.push_str(&format!(
        "\n[[clients]]\nid = \"app\"\nname = \"Example App\"\nsecret_hash = \"{}\"\n\
         redirect_uris = [\"{}/cb\"]\nallowed_roles = [\"engineer\"]\n",
        cheap_hash("app-secret"),
        app.url
    ));
    let clock = ManualClock::new(UnixTime::from_secs(crate::oidc_interop::real_now()));
    let mut l = start_public_on(listener, &text, memory_store(&clock), clock).await;
    l.keep(keys);

    let page = Page::open("app_via_only_upstream").await;
    let mut authorize = url::Url::parse(&l.at("/oauth2/authorize")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "app")
        .append_pair("redirect_uri", &format!("{}/cb", app.url))
        .append_pair("scope", "openid email")
        .append_pair("state", "state-of-alice");
    page.goto(authorize.as_str()).await;
    let op_origin = url::Url::parse(&op.issuer).unwrap().origin();
    page.wait_for_url("the provider's login page", |u| u.origin() == op_origin)
        .await;
    page.fill("user", "alice").await;
    page.click("#login").await;
    let app_origin = url::Url::parse(&app.url).unwrap().origin();
    let landed = page
        .wait_for_url("the application", |u| u.origin() == app_origin)
        .await;
    page.shot("application").await;
    assert_eq!(landed.path(), "/cb");
    page.close().await;
    let q = app
        .seen
        .lock()
        .unwrap()
        .iter()
        .find(|q| q.get("state").map(String::as_str) == Some("state-of-alice"))
        .cloned()
        .expect("the application saw the callback");
    let tokens = redeem(&l, &app, &q["code"]).await;
    assert_eq!(
        role_of(tokens["access_token"].as_str().unwrap()),
        "engineer"
    );
}

/// The pysaml2 IdP on another site (`localhost`, Lanyard on `127.0.0.1`) posts the
/// response to the ACS with the HTTP-POST binding: a cross-site POST, with the cookies a
/// browser sends on one (none of Lanyard's `SameSite=Lax` cookies).
#[tokio::test]
async fn saml_post_binding_from_another_site_in_a_browser() {
    use crate::saml_support::{Idp, IdpOptions, fixture, lanyard_toml};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lanyard_url = format!("http://{}", listener.local_addr().unwrap());
    let idp = Idp::start(IdpOptions {
        sign_assertion: true,
        sp_url: Some(lanyard_url.clone()),
        host: Some("localhost"),
        ..IdpOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let provider = format!(
        "[[providers]]\nid = \"idp\"\nkind = \"saml\"\ndisplay_name = \"pysaml2 IdP\"\n\
         idp_entity_id = \"{}\"\nsso_url = \"{}\"\n\
         certificates = [\"{}\"]\nsp_key_file = \"{}\"\nsp_cert_file = \"{}\"\n",
        idp.entity_id(),
        idp.url("/sso/redirect"),
        fixture("idp1.crt").display(),
        fixture("sp.key").display(),
        fixture("sp.crt").display(),
    );
    let text = lanyard_toml(&dir.path().join("keys"), &provider);
    let clock = ManualClock::new(UnixTime::from_secs(crate::oidc_interop::real_now()));
    let l = start_public_on(listener, &text, memory_store(&clock), clock).await;

    let page = Page::open("saml_post_binding").await;
    page.goto(&l.at("/signin")).await;
    page.click("a[href^=\"/auth/idp\"]").await;
    page.wait_for_url("the IdP's login page", |u| {
        u.host_str() == Some("localhost") && u.path() == "/sso/redirect"
    })
    .await;
    page.shot("idp-login").await;
    page.fill("user", "alice").await;
    page.click("#login").await;
    page.wait_for_url("the IdP's continue page", |u| {
        u.query_pairs().any(|(k, _)| k == "binding")
    })
    .await;
    page.shot("idp-post-form").await;
    page.click("#continue").await;
    page.wait_for_url("the role picker", |u| {
        u.as_str().starts_with(&lanyard_url) && u.path() == "/roles"
    })
    .await;
    let text = page.text().await;
    assert!(
        text.contains("engineer") && text.contains("admin"),
        "{text}"
    );
    assert!(!credentials_for(&page, "engineer").await.is_empty());
    page.close().await;
    drop(dir);
}
