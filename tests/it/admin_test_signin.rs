//! The console's identity providers page and its test sign-in (issue 15): in Chromium, the
//! quickstart admin runs a test sign-in through the pysaml2 IdP — the IdP's own login
//! page, its cross-site POST back — and sees what the IdP sent (NameID, attributes,
//! AuthnContext, the certificate that signed it), while staying signed in as themself
//! with their role; through the local directory's password form too (a refused attempt
//! keeps the test). Without a browser: the CSRF token, the refusal for a role without
//! `lanyard:TestSignIn`, and a result that only the session that ran the test can see.

use lanyard::clock::{ManualClock, UnixTime};

use crate::chromium::Page;
use crate::harness::{Lanyard, browser, config_text, csrf_of, memory_store, start_public_on};
use crate::saml_support::{Idp, IdpOptions, fixture};

/// The quickstart's directory and roles plus the pysaml2 IdP (on `localhost`, another
/// site) as provider `idp`, on Lanyard's real address, at the real time (the IdP stamps
/// it).
pub(crate) async fn start() -> (Lanyard, Idp, tempfile::TempDir) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lanyard_url = format!("http://{}", listener.local_addr().unwrap());
    let idp = Idp::start(IdpOptions {
        sign_assertion: true,
        sp_url: Some(lanyard_url),
        host: Some("localhost"),
        ..IdpOptions::default()
    })
    .await;
    let keys = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n[[providers]]\nid = \"idp\"\nkind = \"saml\"\ndisplay_name = \"pysaml2 IdP\"\n\
         idp_entity_id = \"{}\"\nsso_url = \"{}\"\ncertificates = [\"{}\"]\n\
         sp_key_file = \"{}\"\nsp_cert_file = \"{}\"\n",
        config_text("[sessions]\nstore = \"memory\"\n", keys.path()),
        idp.entity_id(),
        idp.url("/sso/redirect"),
        fixture("idp1.crt").display(),
        fixture("sp.key").display(),
        fixture("sp.crt").display(),
    );
    let clock = ManualClock::new(UnixTime::from_secs(crate::oidc_interop::real_now()));
    let l = start_public_on(listener, &text, memory_store(&clock), clock).await;
    (l, idp, keys)
}

/// A browser signed in as `user` (local directory) holding `role`.
async fn signed_in(l: &Lanyard, user: &str, role: &str) -> reqwest::Client {
    let b = browser();
    let (status, html) = l.picker(&b, user).await;
    if status == 200 {
        assert_eq!(l.choose(&b, &html, role, 900).await.status(), 303);
    }
    b
}

#[tokio::test]
async fn a_test_sign_in_through_the_saml_idp_in_chromium_shows_what_it_sent() {
    let (l, _idp, _keys) = start().await;
    let page = Page::open("admin_test_signin").await;
    page.goto(&l.at("/auth/corp")).await;
    page.fill("username", "alice").await;
    page.fill("password", "alice-pw").await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;
    page.click("input[name=role][value=\"admin\"]").await;
    page.click("form[action=\"/roles\"][method=post] > button[type=submit]")
        .await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;

    page.goto(&l.at("/admin/providers")).await;
    page.wait_for_text("pysaml2 IdP").await;
    let text = page.text().await;
    assert!(text.contains("Signing certificates"), "{text}");
    assert!(
        text.contains("days left") || text.contains("expires in"),
        "{text}"
    );
    let problems = page.accessibility_problems().await;
    assert!(
        problems.is_empty(),
        "axe on the providers page: {problems:?}"
    );
    page.shot("providers").await;

    page.click("form[action=\"/admin/providers/idp/test-sign-in\"] button[type=submit]")
        .await;
    page.wait_for_url("the IdP's login page", |u| {
        u.host_str() == Some("localhost") && u.path() == "/sso/redirect"
    })
    .await;
    page.fill("user", "alice").await;
    page.click("#login").await;
    page.wait_for_url("the IdP's continue page", |u| {
        u.query_pairs().any(|(k, _)| k == "binding")
    })
    .await;
    page.click("#continue").await;
    page.wait_for_url("the test's answer", |u| {
        u.path().starts_with("/admin/test-sign-in/")
    })
    .await;
    page.wait_for_text("This is what came back").await;
    let text = page.text().await;
    for want in [
        "NameID",
        "alice@example.com",
        "idp:isMemberOf",
        "admins",
        "AuthnContextClassRef",
        "Assertion signed",
        "The certificate that signed it",
        "SAML attributes as sent",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    let problems = page.accessibility_problems().await;
    assert!(problems.is_empty(), "axe on the answer: {problems:?}");
    page.shot("test-answer").await;

    // Still alice of the directory, still admin: the test created no session.
    page.goto(&l.at("/admin")).await;
    page.wait_for_text("alice").await;
    let text = page.text().await;
    assert!(text.contains("admin"), "{text}");
    page.goto(&l.at("/credentials")).await;
    let text = page.text().await;
    assert!(text.contains("corp") || text.contains("alice"), "{text}");
    assert!(!text.contains("pysaml2"), "{text}");
    page.close().await;
}

/// The test button's form on the providers page, for `provider`: its CSRF token.
async fn providers_csrf(l: &Lanyard, b: &reqwest::Client) -> String {
    let r = b.get(l.at("/admin/providers")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    csrf_of(&r.text().await.unwrap())
}

#[tokio::test]
async fn a_password_test_sign_in_is_shown_only_to_its_session_and_needs_the_action() {
    let (l, _idp, _keys) = start().await;
    let admin = signed_in(&l, "alice", "admin").await;
    let csrf = providers_csrf(&l, &admin).await;

    // Without the form's token: refused, nothing started.
    let r = admin
        .post(l.at("/admin/providers/corp/test-sign-in"))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The directory's form, marked as a test; a wrong password keeps the test.
    let r = admin
        .post(l.at("/admin/providers/corp/test-sign-in"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"test-sign-in\""), "{html}");
    let form = csrf_of(&html);
    let r = admin
        .post(l.at("/auth/corp"))
        .form(&[("username", "bob"), ("password", "nope"), ("csrf", &form)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"test-sign-in\""),
        "the retry is a test too"
    );
    let form = csrf_of(&html);
    let r = admin
        .post(l.at("/auth/corp"))
        .form(&[("username", "bob"), ("password", "bob-pw"), ("csrf", &form)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/admin/test-sign-in/"), "{location}");
    assert!(
        r.headers()
            .get("set-cookie")
            .is_none_or(|c| { !c.to_str().unwrap().starts_with("lanyard_session=") }),
        "no new session cookie"
    );
    let page = admin.get(l.at(&location)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("corp:groups") && html.contains("engineering"),
        "{html}"
    );
    assert!(html.contains("bob@example.com"), "{html}");
    // The admin is still alice, still admin.
    let home = admin.get(l.at("/admin")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("alice"));

    // Another admin session cannot see it.
    let other = signed_in(&l, "alice", "admin").await;
    let r = other.get(l.at(&location)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // A role without lanyard:TestSignIn is refused before anything starts.
    let bob = signed_in(&l, "bob", "engineer").await;
    let r = bob.get(l.at("/admin/providers")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("lanyard:ListProviders"), "{html}");
    // bob's own form token (the credentials page's), so that only the action can refuse
    // him.
    let bobs = csrf_of(
        &bob.get(l.at("/credentials"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let r = bob
        .post(l.at("/admin/providers/corp/test-sign-in"))
        .form(&[("csrf", bobs.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("lanyard:TestSignIn"), "{html}");
}

/// A SAML response the pysaml2 IdP issued (never posted to Lanyard), pasted into the
/// simulator: read without verification, its provider found by its `Issuer`, mapped by the
/// provider's own attribute mapping, and said to prove nothing; in the API and the console.
#[tokio::test]
async fn a_pasted_saml_response_is_simulated_unverified() {
    let (l, idp, _keys) = start().await;
    let b = browser();
    let r = b.get(l.at("/auth/idp")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let (saml_response, _) = idp.answer(&location, "alice").await;
    let admin = crate::admin_api::token(&l, "alice", "admin").await;
    let simulate = |body: serde_json::Value| {
        let (l, admin) = (&l, &admin);
        async move {
            let r = reqwest::Client::new()
                .post(l.at("/admin/api/v1/simulate"))
                .bearer_auth(admin)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = simulate(serde_json::json!({ "saml_response": saml_response })).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["warning"]
            .as_str()
            .unwrap()
            .contains("without verifying"),
        "{body}"
    );
    let text = body["identity"].to_string();
    assert!(text.contains("alice-persistent-id"), "{text}");
    assert!(text.contains("alice@example.com"), "{text}");
    assert!(!body["roles"].as_array().unwrap().is_empty(), "{body}");
    // The XML itself, the provider named, does as well.
    let xml = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &saml_response).unwrap(),
    )
    .unwrap();
    let (status, body) =
        simulate(serde_json::json!({ "saml_response": xml, "provider": "idp" })).await;
    assert_eq!(status, 200, "{body}");
    // Not SAML, or not a SAML provider: 422 naming the field.
    let (status, body) = simulate(serde_json::json!({ "saml_response": "<x/>" })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["path"], "saml_response", "{body}");
    let (status, body) =
        simulate(serde_json::json!({ "saml_response": xml, "provider": "corp" })).await;
    assert_eq!(status, 422, "{body}");

    // The console's simulator takes it too, with the warning.
    let console = signed_in(&l, "alice", "admin").await;
    let page = console.get(l.at("/admin/simulate")).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let r = console
        .post(l.at("/admin/simulate"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("source", "saml"),
            ("saml", saml_response.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("alice-persistent-id"), "{html}");
    assert!(
        html.contains("read without verifying its signature"),
        "{html}"
    );
}
