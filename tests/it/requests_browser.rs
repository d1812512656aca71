//! The approved-role and break-glass paths of elevation with approval (issue 17) in
//! Chromium, as a person takes them, with scripts off and every Lanyard page axe-checked
//! (`requests.rs` covers the request, the approval and the person's own picker, and the
//! same paths without a browser). An approved role is chosen on an application's picker
//! and the `openid-client` relying party receives its ID token for that role, while a role
//! only asked for is not offered; an approved role is chosen on the device page and the
//! terminal's poll gets credentials for it that end with the window; a break-glass request
//! without a reason comes back with the problem next to the field, with one it opens the
//! role at once, the approvers hear of it, the audit trail marks it, and the role is then
//! picked and works.

use std::time::Duration;

use fantoccini::Locator;
use lanyard::audit::{EventKind, MemorySink, OnFailure};

use crate::admin_console::{pick, scripts, shot};
use crate::chromium::Page;
use crate::harness::{AUDIT, Lanyard, T0};
use crate::oidc_interop::real_now;
use crate::op_step_up::{Request, client_toml, redirect_listener};
use crate::requests::{
    ANN_TOTP, act, asked, claims_of, code, deploy, notification, signed_in, start, start_at,
};

/// A Chromium window with scripts off from its first page on.
async fn without_scripts(name: &str) -> Page {
    let page = Page::open(name).await;
    scripts(&page, false).await;
    page
}

/// Signs `user` in on the page now shown or about to be: the provider chooser, when one is
/// shown, then the password form (each axe-checked).
async fn password(page: &Page, user: &str) {
    let at = page
        .wait_for_url("the sign-in", |u| {
            u.path() == "/signin" || u.path() == "/auth/corp"
        })
        .await;
    if at.path() == "/signin" {
        shot(page, "signin").await;
        page.click("a[href^=\"/auth/corp\"]").await;
        page.wait_for_url("the password form", |u| u.path() == "/auth/corp")
            .await;
    }
    page.fill("username", user).await;
    page.fill("password", &format!("{user}-pw")).await;
    shot(page, "password-form").await;
    page.click("form[method=post] button[type=submit]").await;
}

/// rita asks for `prod-admin` (and ann, with a fresh code, approves it) over HTTP: that
/// part is `requests.rs`'s journey in Chromium.
async fn approved_prod_admin(l: &Lanyard) -> String {
    let rita = signed_in(l, "rita", None).await;
    let id = asked(l, &rita, "prod-admin").await;
    let ann = signed_in(l, "ann", Some(code(l, ANN_TOTP))).await;
    assert_eq!(act(l, &ann, &id, "approve").await.status(), 303);
    id
}

#[tokio::test]
async fn an_approved_role_reaches_an_application_through_its_picker_in_chromium() {
    // openid-client checks the ID token's times against the real clock.
    let redirect = redirect_listener().await;
    let app = client_toml(&redirect, &["viewer", "prod-admin", "prod-db"]);
    let (l, _seen, _keys) = start_at(real_now(), &app).await;
    // prod-db is only asked for: pending, so not offered to the application.
    let rita = signed_in(&l, "rita", None).await;
    asked(&l, &rita, "prod-db").await;

    // Before any approval, the one role rita holds outright goes straight to the app.
    let page = without_scripts("requests_app_picker").await;
    let request = Request::new(&l, &redirect, "", "").await;
    page.goto(&request.url).await;
    password(&page, "rita").await;
    let claims = request.finish_in(&l, &page).await;
    assert_eq!(claims["role"], "viewer", "{claims}");

    // prod-admin approved: the application's picker offers it (and not prod-db, and no
    // request form amid a sign-in), and the application gets it.
    approved_prod_admin(&l).await;
    let request = Request::new(&l, &redirect, "", "").await;
    page.goto(&request.url).await;
    page.wait_for_url("the application's picker", |u| u.path() == "/roles")
        .await;
    page.wait_for_text("Choose the role to use in The App")
        .await;
    let text = page.text().await;
    assert!(
        text.contains("Approved: your session ends by"),
        "the window is shown: {text}"
    );
    let html = page.html().await;
    for offered in ["viewer", "prod-admin"] {
        assert!(html.contains(&format!("value=\"{offered}\"")), "{html}");
    }
    assert!(!html.contains("value=\"prod-db\""), "not approved: {html}");
    assert!(!html.contains("action=\"/requests\""), "{html}");
    shot(&page, "app-picker-approved").await;
    page.click("input[name=role][value=\"prod-admin\"]").await;
    page.click("form[action=\"/roles\"][method=post] > button[type=submit]")
        .await;
    let claims = request.finish_in(&l, &page).await;
    assert_eq!(claims["role"], "prod-admin", "{claims}");
    assert_eq!(claims["sub"], "corp:rita", "{claims}");
    assert_eq!(claims["aud"], "app", "{claims}");
    page.close().await;
}

#[tokio::test]
async fn an_approved_role_is_chosen_on_the_device_page_in_chromium() {
    let (l, _seen, _keys) = start().await;
    approved_prod_admin(&l).await;
    // A quarter of the window later, `lanyard login` on a machine without a browser.
    l.clock.advance(Duration::from_secs(900));
    let (status, started) =
        crate::device::device_authorization(&l, ("cli", None), &[("scope", "openid")]).await;
    assert_eq!(status, 200, "{started}");
    let user_code = started["user_code"].as_str().unwrap();
    let device_code = started["device_code"].as_str().unwrap();
    let (status, pending) = crate::device::poll_as(&l, ("cli", None), device_code).await;
    assert_eq!(status, 400, "{pending}");
    assert_eq!(pending["error"], "authorization_pending");

    // rita opens the page the terminal names, signs in, and types the code.
    let page = without_scripts("requests_device").await;
    page.goto(started["verification_uri"].as_str().unwrap())
        .await;
    password(&page, "rita").await;
    page.wait_for_url("the device page", |u| u.path() == "/device")
        .await;
    shot(&page, "device-entry").await;
    page.fill("user_code", user_code).await;
    page.click("form[action=\"/device\"] button[value=continue]")
        .await;
    page.wait_for_text("Only continue if you started this")
        .await;
    let text = page.text().await;
    assert!(text.contains(user_code), "{text}");
    assert!(text.contains("Approved: your session ends by"), "{text}");
    let html = page.html().await;
    assert!(html.contains("value=\"prod-admin\""), "{html}");
    shot(&page, "device-confirm").await;
    page.click("input[name=role][value=\"prod-admin\"]").await;
    page.click("button[name=action][value=approve]").await;
    page.wait_for_text("You can close this tab and return to your terminal")
        .await;
    assert!(page.text().await.contains("prod-admin"));
    shot(&page, "device-approved").await;
    page.close().await;

    // The terminal's next poll, an interval on: credentials for prod-admin that end with
    // the approved window.
    l.clock.advance(Duration::from_secs(10));
    let (status, tokens) = crate::device::poll_as(&l, ("cli", None), device_code).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let claims = claims_of(access);
    assert_eq!(claims["role"], "prod-admin", "{claims}");
    assert_eq!(claims["sub"], "corp:rita", "{claims}");
    assert_eq!(claims["exp"].as_i64().unwrap(), T0 + 3600, "{claims}");
    let (status, decided) = deploy(&l, access).await;
    assert_eq!(status, 200, "{decided}");
    assert!(decided.contains("\"Allow\""), "{decided}");
}

/// prod-glass on the picker's list of roles to pick.
const GLASS_RADIO: &str = "input[type=radio][name=role][value=\"prod-glass\"]";

/// Whether the page shown now has an element `css`.
async fn has(page: &Page, css: &str) -> bool {
    page.client.find(Locator::Css(css)).await.is_ok()
}

/// The break-glass form's `field` (`textarea[name=reason]`, …) on the picker shown now.
fn glass(field: &str) -> String {
    format!("form[action=\"/requests\"]:has(input[name=role][value=\"prod-glass\"]) {field}")
}

#[tokio::test]
async fn break_glass_in_chromium_needs_a_reason_tells_the_approvers_and_is_audited() {
    let capture = MemorySink::new();
    let (l, seen, _keys) = AUDIT.scope(capture.audit(OnFailure::Refuse), start()).await;
    let page = without_scripts("requests_break_glass").await;
    page.goto(&l.at("/roles")).await;
    password(&page, "rita").await;
    page.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;
    page.wait_for_text("Roles that need approval").await;
    assert!(
        !has(&page, GLASS_RADIO).await,
        "not to pick before it is opened"
    );
    page.click("details:has(input[name=role][value=\"prod-glass\"]) > summary")
        .await;
    shot(&page, "break-glass-form").await;

    // Break-glass ticked, no reason: the browser does not send the form (the field is
    // required) and says so at the field.
    page.click(&glass("input[name=break_glass]")).await;
    page.click(&glass("button[type=submit]")).await;
    let field = page
        .client
        .find(Locator::Css(&glass("textarea[name=reason]")))
        .await
        .unwrap();
    let message = field.prop("validationMessage").await.unwrap();
    assert!(
        message.as_deref().is_some_and(|m| !m.is_empty()),
        "the browser's message at the field: {message:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(page.url().await.path(), "/roles", "not sent");
    // A reason of spaces passes the browser: Lanyard sends the form back, the problem
    // next to the reason.
    field.send_keys("   ").await.unwrap();
    page.click(&glass("button[type=submit]")).await;
    page.wait_for_text("Say why you need this role.").await;
    let reason = page
        .client
        .find(Locator::Css(&glass("textarea[name=reason]")))
        .await
        .unwrap();
    assert_eq!(
        reason.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    let described = reason.attr("aria-describedby").await.unwrap().unwrap();
    let said = page
        .client
        .find(Locator::Id(&described))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(said, "Say why you need this role.");
    let ticked = page
        .client
        .find(Locator::Css(&glass("input[name=break_glass]")))
        .await
        .unwrap()
        .prop("checked")
        .await
        .unwrap();
    assert_eq!(ticked.as_deref(), Some("true"), "the box stays ticked");
    assert!(!has(&page, GLASS_RADIO).await, "nothing opened");
    shot(&page, "break-glass-no-reason").await;
    assert!(
        !capture
            .events()
            .iter()
            .any(|e| e.event == EventKind::AccessRequested),
        "nothing stored"
    );
    assert!(seen.lock().unwrap().is_empty(), "nobody told");

    // With a reason: opened at once, back on the picker with the role chosen.
    let why = "the database is down and the on-call lead is unreachable";
    reason.clear().await.unwrap();
    reason.send_keys(why).await.unwrap();
    page.click(&glass("button[type=submit]")).await;
    page.wait_for_url("the picker, the role chosen", |u| {
        u.path() == "/roles" && u.query() == Some("selected=prod-glass")
    })
    .await;
    page.wait_for_text("Approved: your session ends by").await;
    shot(&page, "break-glass-opened").await;

    // The approvers are told (signed), and the audit trail marks it break-glass.
    let hook = notification(&seen, "access_request.break_glass").await;
    assert_eq!(hook["request"]["break_glass"], true, "{hook}");
    assert_eq!(hook["request"]["role"], "prod-glass", "{hook}");
    assert_eq!(hook["request"]["reason"], why, "{hook}");
    let events = capture.events();
    let requested = events
        .iter()
        .find(|e| e.event == EventKind::AccessRequested)
        .expect("an access.requested event");
    assert_eq!(
        requested.role.as_ref().map(|r| r.as_str()),
        Some("prod-glass")
    );
    assert_eq!(requested.subject.as_deref(), Some("rita"));
    assert_eq!(
        requested.detail["break_glass"], true,
        "{:?}",
        requested.detail
    );
    assert_eq!(
        requested.detail["state"], "approved",
        "{:?}",
        requested.detail
    );
    assert_eq!(requested.detail["reason"], why);

    // Picked, it works for what prod-ops allows.
    pick(&page, "prod-glass").await;
    shot(&page, "break-glass-credentials").await;
    let token = crate::browser::shown_token(&page).await;
    let claims = claims_of(&token);
    assert_eq!(claims["role"], "prod-glass", "{claims}");
    assert!(claims["exp"].as_i64().unwrap() <= T0 + 3600, "{claims}");
    let (status, decided) = deploy(&l, &token).await;
    assert_eq!(status, 200, "{decided}");
    assert!(decided.contains("\"Allow\""), "{decided}");
    assert!(
        capture
            .events()
            .iter()
            .any(|e| e.event == EventKind::CredentialsIssued
                && e.role.as_ref().map(|r| r.as_str()) == Some("prod-glass")),
        "the credentials are in the trail"
    );
    page.close().await;
}
