//! Issue 15's "Done when", end to end in Chromium with scripts turned off: an admin signed
//! in to the console uploads the pysaml2 IdP's metadata file through the page's file input
//! (a file that is not XML said beside the field first) and sees what it says, then adds
//! the IdP as a SAML provider from its metadata URL, runs a
//! test sign-in through it and sees its attributes, creates a role whose trust policy
//! uses one of them (`idp:isMemberOf`), sees the simulator offer it, then bob signs in
//! through the new provider in a browser of his own and gets the role (a token), and the
//! admin revokes bob's session in the console, after which his token is refused. Each new
//! console page is checked by axe.

use std::time::{Duration, Instant};

use lanyard::clock::{ManualClock, UnixTime};
use serde_json::json;

use crate::admin_api::{sqlite, token};
use crate::admin_console::{authorize, pick, scripts, shot};
use crate::admin_provider_pages::fingerprint;
use crate::chromium::Page;
use crate::harness::{Lanyard, config_text, memory_store, start_live_public_on};
use crate::saml_support::{Idp, IdpOptions};

/// The test directory and quickstart roles on a SQLite database of the test's own
/// (recording sign-ins), on Lanyard's real address, and the pysaml2 IdP (on `localhost`,
/// another site) that trusts Lanyard's SP for the provider id `idp`, which the console
/// is about to add. At the real time: the IdP stamps it.
async fn start() -> (Lanyard, Idp, tempfile::TempDir, tempfile::TempDir) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp = Idp::start(IdpOptions {
        sign_assertion: true,
        sp_url: Some(format!("http://{}", listener.local_addr().unwrap())),
        host: Some("localhost"),
        ..IdpOptions::default()
    })
    .await;
    let keys = tempfile::tempdir().unwrap();
    let (db_dir, url) = sqlite();
    let text = format!(
        "{}\n[audit]\ndatabase = \"{url}\"\n[admin]\nrecord_claims = true\n",
        config_text("[sessions]\nstore = \"memory\"\n", keys.path()),
    );
    let clock = ManualClock::new(UnixTime::from_secs(crate::oidc_interop::real_now()));
    let l = start_live_public_on(listener, &text, memory_store(&clock), clock).await;
    (l, idp, keys, db_dir)
}

/// The role the journey creates: bob's group at the IdP, as the IdP sends it.
fn idp_engineers() -> String {
    serde_json::to_string_pretty(&json!({
        "max_session_duration": "1h",
        "permission_policies": ["read-only"],
        "trust_policy": {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "EngineersAtTheIdp",
                "Effect": "Allow",
                "Principal": {"Federated": "idp"},
                "Action": "sts:AssumeRoleWithSAML",
                "Condition": {"ForAnyValue:StringEquals": {"idp:isMemberOf": ["engineering"]}}
            }]
        }
    }))
    .unwrap()
}

/// Chooses `file` in the first step's file input, as a person picking it would.
async fn choose_file(page: &Page, file: &std::path::Path) {
    page.client
        .find(fantoccini::Locator::Css("#metadata_file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
}

/// Signs in at the pysaml2 IdP's own login page as `user` and posts its answer back.
async fn at_the_idp(page: &Page, user: &str) {
    page.wait_for_url("the IdP's login page", |u| {
        u.host_str() == Some("localhost") && u.path() == "/sso/redirect"
    })
    .await;
    page.fill("user", user).await;
    page.click("#login").await;
    page.wait_for_url("the IdP's continue page", |u| {
        u.query_pairs().any(|(k, _)| k == "binding")
    })
    .await;
    page.click("#continue").await;
}

/// The simulator's answer to `claims` pasted for the provider `idp`: the page's text.
async fn simulate(page: &Page, l: &Lanyard, claims: serde_json::Value) -> String {
    page.goto(&l.at("/admin/simulate")).await;
    page.client
        .find(fantoccini::Locator::Css("#provider option[value=\"idp\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    page.fill("claims", &claims.to_string()).await;
    page.click("button[value=claims]").await;
    page.wait_for_text("Result").await;
    page.text().await
}

#[tokio::test]
async fn an_admin_adds_the_saml_idp_tests_it_grants_a_role_and_revokes_it() {
    let (l, idp, _keys, _db) = start().await;
    let admin_token = token(&l, "alice", "admin").await;

    // The admin: alice of the directory, acting as admin.
    let page = Page::open("admin_journey").await;
    scripts(&page, false).await;
    page.goto(&l.at("/auth/corp")).await;
    page.fill("username", "alice").await;
    page.fill("password", "alice-pw").await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;
    pick(&page, "admin").await;

    // 1. The IdP's metadata file uploaded through the page's file input: a file that is
    // not XML is said beside the field, the IdP's own shows what it says (its entity id and
    // its certificate's fingerprint) on the second step.
    let files = tempfile::tempdir().unwrap();
    let not_xml = files.path().join("logo.xml");
    std::fs::write(&not_xml, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe").unwrap();
    let metadata = files.path().join("idp-metadata.xml");
    std::fs::write(&metadata, idp.metadata().await).unwrap();
    page.goto(&l.at("/admin/providers")).await;
    page.click("a[href=\"/admin/providers/new\"]").await;
    page.wait_for_url("the first step", |u| u.path() == "/admin/providers/new")
        .await;
    shot(&page, "add-provider").await;
    page.fill("id", "idp").await;
    choose_file(&page, &not_xml).await;
    page.click("button[value=saml_file]").await;
    page.wait_for_text("logo.xml is not a text file in UTF-8")
        .await;
    shot(&page, "upload-refused").await;
    choose_file(&page, &metadata).await;
    page.click("button[value=saml_file]").await;
    page.wait_for_text("What the metadata says").await;
    let text = page.text().await;
    for want in [
        idp.entity_id().as_str(),
        &fingerprint("idp1.crt"),
        "accepts this metadata",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    shot(&page, "inspected-upload").await;

    // 2. The IdP added from its metadata URL, in two steps.
    page.click("a[href=\"/admin/providers/new\"]").await;
    page.wait_for_text("Step 1 of 2").await;
    page.fill("id", "idp").await;
    page.fill("metadata_url", &idp.url("/metadata")).await;
    page.click("button[value=saml_url]").await;
    page.wait_for_text("What the metadata says").await;
    let text = page.text().await;
    for want in [
        idp.entity_id().as_str(),
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
        &idp.url("/sso/redirect"),
        "CN=lanyard-test-idp1",
        "accepts this metadata",
        // What to hand to the IdP's admin: the values the IdP was started with.
        &l.at("/auth/idp/metadata"),
        &l.at("/auth/idp/callback"),
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    shot(&page, "inspected").await;
    page.fill("display_name", "pysaml2 IdP").await;
    page.click("button[value=save]").await;
    page.wait_for_url("the new provider's page", |u| {
        u.path() == "/admin/providers/idp" && u.query() == Some("added=1")
    })
    .await;
    page.wait_for_text("Added.").await;
    shot(&page, "added").await;
    let (status, body) = crate::admin_console::api(
        &l,
        &admin_token,
        reqwest::Method::GET,
        "/admin/api/v1/providers/idp",
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "database", "{body}");
    assert_eq!(body["document"]["metadata_url"], idp.url("/metadata"));
    assert_eq!(body["document"]["display_name"], "pysaml2 IdP");

    // 3. A test sign-in through it, once its metadata is read (fetched in the
    // background): what the IdP sent, attributes included.
    let started = Instant::now();
    loop {
        page.goto(&l.at("/admin/providers")).await;
        page.wait_for_text("pysaml2 IdP").await;
        if page.text().await.contains("Signing certificates") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the new provider's metadata was read"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    page.click("form[action=\"/admin/providers/idp/test-sign-in\"] button[type=submit]")
        .await;
    at_the_idp(&page, "bob").await;
    page.wait_for_url("the test's answer", |u| {
        u.path().starts_with("/admin/test-sign-in/")
    })
    .await;
    page.wait_for_text("This is what came back").await;
    let text = page.text().await;
    for want in [
        "bob-persistent-id",
        "bob@example.com",
        "idp:isMemberOf",
        "engineering",
        "SAML attributes as sent",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    shot(&page, "test-sign-in").await;

    // 4. A role whose trust policy uses the attribute, created on the roles page.
    page.goto(&l.at("/admin/roles/new")).await;
    page.fill("name", "idp-engineers").await;
    page.fill("description", "Engineers signed in at the IdP")
        .await;
    page.fill("document", &idp_engineers()).await;
    page.click("button[value=save]").await;
    page.wait_for_url("the saved role", |u| {
        u.path() == "/admin/roles/idp-engineers" && u.query() == Some("saved=1")
    })
    .await;

    // 5. The simulator offers it to bob's claims, and not to carol's.
    page.goto(&l.at("/admin/simulate")).await;
    page.wait_for_text("Trust simulator").await;
    let text = simulate(
        &page,
        &l,
        json!({"sub": "bob-persistent-id", "isMemberOf": ["engineering"]}),
    )
    .await;
    assert!(text.contains("idp-engineers: offered"), "{text}");
    shot(&page, "simulated").await;
    let text = simulate(
        &page,
        &l,
        json!({"sub": "carol-persistent-id", "isMemberOf": ["finance"]}),
    )
    .await;
    assert!(text.contains("idp-engineers: not offered"), "{text}");

    // 6. bob signs in through the new provider, in a browser of his own, and gets the
    // role: a token.
    let bob = Page::open("admin_journey_bob").await;
    scripts(&bob, false).await;
    bob.goto(&l.at("/auth/idp")).await;
    at_the_idp(&bob, "bob").await;
    let at = bob
        .wait_for_url("back at Lanyard", |u| {
            u.path() == "/credentials" || u.path() == "/roles"
        })
        .await;
    if at.path() == "/roles" {
        pick(&bob, "idp-engineers").await;
    }
    bob.wait_for_text("idp-engineers").await;
    let token = crate::browser::shown_token(&bob).await;
    assert_eq!(authorize(&l, &token).await, 200, "bob's token works");
    bob.close().await;

    // 7. The admin revokes bob's session, after its confirmation: his token is refused.
    page.goto(&l.at("/admin/sessions")).await;
    page.fill("person", "idp:bob-persistent-id").await;
    page.click("form.filters button[type=submit]").await;
    page.wait_for_url("bob's sessions", |u| {
        u.query()
            .is_some_and(|q| q.contains("person=idp%3Abob-persistent-id"))
    })
    .await;
    let text = page.text().await;
    assert!(text.contains("idp-engineers"), "{text}");
    page.click("a[href^=\"/admin/sessions/revoke?session=\"]")
        .await;
    page.wait_for_text("End the session").await;
    assert_eq!(
        authorize(&l, &token).await,
        200,
        "not before the confirmation"
    );
    page.fill("reason", "journey test\u{E007}").await;
    page.wait_for_text("Revoked: one session ended.").await;
    assert_eq!(authorize(&l, &token).await, 401, "bob's token is refused");
    page.close().await;
}
