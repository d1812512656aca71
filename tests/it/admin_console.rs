//! The admin console (`/admin`, issue 15) in Chromium with scripts turned off: signing in
//! from `/admin` as the quickstart admin (alice, role `admin`), every page checked by axe,
//! a role created through the form with its impact previewed, the stale-edit message after
//! an edit through the API in between, the confirmation of an edit that takes the role from
//! someone, the simulator on a recorded sign-in, a session revoked after its confirmation
//! (its token then refused), the audit trail, and the refusal page for a role that may not
//! administer. Without a browser: the sign-in redirect, the refusal page's words, forms
//! without their CSRF token refused (and nothing changed), the audit export.

use std::time::{Duration, Instant};

use lanyard::clock::{ManualClock, UnixTime};
use serde_json::{Value, json};

use crate::admin_api::{sqlite, token};
use crate::chromium::Page;
use crate::harness::{Lanyard, T0, browser, config_text, csrf_of, memory_store, start_live};

/// The test directory and quickstart roles on a SQLite database of the test's own,
/// recording sign-ins.
pub(crate) async fn start() -> (Lanyard, tempfile::TempDir, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let (db_dir, url) = sqlite();
    let text = format!(
        "{}\n[audit]\ndatabase = \"{url}\"\n[admin]\nrecord_claims = true\n",
        config_text("[sessions]\nstore = \"memory\"\n", keys.path()),
    );
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let l = start_live(&text, memory_store(&clock), clock).await;
    (l, keys, db_dir)
}

/// A role only dave (no groups) may take, as the form's textarea holds it.
fn dave_document(username: &str) -> String {
    serde_json::to_string_pretty(&json!({
        "max_session_duration": "1h",
        "permission_policies": ["read-only"],
        "trust_policy": {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "OnlyDave",
                "Effect": "Allow",
                "Principal": {"Federated": "corp"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"idp:username": username}}
            }]
        }
    }))
    .unwrap()
}

/// An admin API call with `token`: status and JSON body.
pub(crate) async fn api(
    l: &Lanyard,
    token: &str,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let mut r = reqwest::Client::new()
        .request(method, l.at(path))
        .bearer_auth(token);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Waits (up to 5 s) until `user`'s sign-in is recorded.
async fn recorded(l: &Lanyard, admin: &str, user: &str) {
    let started = Instant::now();
    loop {
        let (status, body) = api(
            l,
            admin,
            reqwest::Method::GET,
            "/admin/api/v1/providers/corp/recent-sign-ins",
            &[],
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let seen = body["sign_ins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["identity"]["subject"] == user);
        if seen {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{user} recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What `/v1/authorize` answers `token` (an engineer's action): the status.
pub(crate) async fn authorize(l: &Lanyard, token: &str) -> u16 {
    reqwest::Client::new()
        .post(l.at("/v1/authorize"))
        .bearer_auth(token)
        .json(&json!({
            "action": "deploy:GetService",
            "resource": "arn:lanyard:deploy:::service/platform/api"
        }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The line of `text` holding `needle` (a table row).
pub(crate) fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line says {needle}: {text}"))
}

/// Turns the page's scripts off (from the next page on) or back on.
pub(crate) async fn scripts(page: &Page, on: bool) {
    page.cdp(
        "Emulation.setScriptExecutionDisabled",
        json!({ "value": !on }),
    )
    .await;
}

/// `page.shot` of a page loaded without scripts: axe needs them, so they are on for the
/// shot only.
pub(crate) async fn shot(page: &Page, step: &str) {
    scripts(page, true).await;
    page.shot(step).await;
    scripts(page, false).await;
}

/// Chooses `role` on the role picker shown now.
pub(crate) async fn pick(page: &Page, role: &str) {
    page.click(&format!("input[name=role][value=\"{role}\"]"))
        .await;
    page.click("form[action=\"/roles\"][method=post] > button[type=submit]")
        .await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;
}

/// Presses Tab until the link to `href` has the focus (at most 30 times), then Enter.
async fn keyboard_to(page: &Page, href: &str) {
    const TAB: &str = "\u{E004}";
    const ENTER: &str = "\u{E007}";
    for _ in 0..30 {
        let focused = page.client.active_element().await.unwrap();
        focused.send_keys(TAB).await.unwrap();
        let now = page.client.active_element().await.unwrap();
        if now.attr("href").await.unwrap().as_deref() == Some(href) {
            now.send_keys(ENTER).await.unwrap();
            return;
        }
    }
    panic!("Tab never reached the link to {href}");
}

/// Clicks the option of the select `select` whose text contains `text`.
async fn choose_option(page: &Page, select: &str, text: &str) {
    use fantoccini::Locator;
    let options = page
        .client
        .find_all(Locator::Css(&format!("{select} option")))
        .await
        .unwrap();
    for o in options {
        if o.text().await.unwrap().contains(text) {
            o.click().await.unwrap();
            return;
        }
    }
    panic!("no option of {select} says {text}");
}

#[tokio::test]
async fn the_console_in_chromium_without_javascript() {
    let (l, _keys, _db) = start().await;
    // dave and bob sign in first (recorded; bob holds an engineer token), and an admin
    // token for the API calls made "by someone else" in between.
    let admin = token(&l, "alice", "admin").await;
    let bob = token(&l, "bob", "engineer").await;
    let dave = browser();
    let (status, _) = l.picker(&dave, "dave").await;
    assert!(status == 200 || status == 403, "dave signed in: {status}");
    recorded(&l, &admin, "dave").await;
    assert_eq!(authorize(&l, &bob).await, 200);

    let page = Page::open("admin_console").await;
    scripts(&page, false).await;
    // Not signed in: the sign-in page, which comes back to the console.
    page.goto(&l.at("/admin")).await;
    page.wait_for_url("the sign-in page", |u| u.path() == "/signin")
        .await;
    page.click("a[href^=\"/auth/corp\"]").await;
    page.wait_for_url("the password form", |u| u.path() == "/auth/corp")
        .await;
    page.fill("username", "alice").await;
    page.fill("password", "alice-pw").await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("back at the console", |u| u.path() == "/admin")
        .await;
    // No role chosen yet in this browser: the console asks for one.
    page.wait_for_text("Choose a role first").await;
    shot(&page, "choose-a-role-first").await;
    page.click("a.button[href=\"/roles\"]").await;
    page.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;
    pick(&page, "admin").await;

    // Home: every area, each allowed for admin.
    page.goto(&l.at("/admin")).await;
    page.wait_for_text("What your role admin may do here").await;
    let text = page.text().await;
    assert!(!text.contains("does not allow"), "{text}");
    shot(&page, "home").await;

    // The roles, reached by keyboard: Tab to the navigation's link, Enter. The file's
    // roles are marked.
    keyboard_to(&page, "/admin/roles").await;
    page.wait_for_url("the roles", |u| u.path() == "/admin/roles")
        .await;
    page.wait_for_text("managed in lanyard.toml").await;
    shot(&page, "roles").await;

    // A new role through the form: its impact first (dave gains it), then saved.
    page.click("a[href=\"/admin/roles/new\"]").await;
    page.wait_for_url("the new role's form", |u| u.path() == "/admin/roles/new")
        .await;
    shot(&page, "new-role").await;
    page.fill("name", "eng-dave").await;
    page.fill("description", "Dave's own role").await;
    page.fill("document", &dave_document("dave")).await;
    page.click("button[value=preview]").await;
    page.wait_for_text("Impact of this change").await;
    let text = page.text().await;
    assert!(
        line_with(&text, "corp:dave").contains("gains the role"),
        "{text}"
    );
    shot(&page, "impact-preview").await;
    page.click("button[value=save]").await;
    page.wait_for_url("the saved role", |u| {
        u.path() == "/admin/roles/eng-dave" && u.query() == Some("saved=1")
    })
    .await;
    page.wait_for_text("Saved.").await;
    shot(&page, "saved").await;
    let (status, body) = api(
        &l,
        &admin,
        reqwest::Method::GET,
        "/admin/api/v1/roles/eng-dave",
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 1);
    assert_eq!(body["document"]["description"], "Dave's own role");

    // Someone changes it through the API while the form is open: the browser's save is
    // refused with the stale-edit message and the version now; the API's change stays.
    let mut changed = body["document"].clone();
    changed["description"] = json!("Changed through the API");
    let (status, _) = api(
        &l,
        &admin,
        reqwest::Method::PUT,
        "/admin/api/v1/roles/eng-dave",
        &[("If-Match", "\"1\"")],
        Some(&changed),
    )
    .await;
    assert_eq!(status, 200);
    page.fill("description", "Changed in the browser").await;
    page.click("button[value=save]").await;
    page.wait_for_text("Someone changed this role since you opened it")
        .await;
    let text = page.text().await;
    assert!(text.contains("now at version 2"), "{text}");
    assert!(text.contains("Changed through the API"), "{text}");
    shot(&page, "stale-edit").await;
    let (_, body) = api(
        &l,
        &admin,
        reqwest::Method::GET,
        "/admin/api/v1/roles/eng-dave",
        &[],
        None,
    )
    .await;
    assert_eq!(body["version"], 2, "nothing was overwritten");
    assert_eq!(body["document"]["description"], "Changed through the API");

    // The running catalog has the role (polled every second) before dave can lose it.
    let started = Instant::now();
    loop {
        let (status, body) = api(
            &l,
            &admin,
            reqwest::Method::POST,
            "/admin/api/v1/roles/eng-dave/impact",
            &[],
            Some(&serde_json::from_str(&dave_document("nobody")).unwrap()),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        if body["changes"].to_string().contains("loses") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // An edit that takes the role from dave asks for confirmation first.
    page.fill("document", &dave_document("nobody")).await;
    page.click("button[value=save]").await;
    page.wait_for_text("Confirm the change").await;
    let text = page.text().await;
    assert!(
        text.contains("one person seen recently loses the role eng-dave"),
        "{text}"
    );
    assert!(
        line_with(&text, "corp:dave").contains("loses the role"),
        "{text}"
    );
    shot(&page, "confirm-edit").await;
    let (_, body) = api(
        &l,
        &admin,
        reqwest::Method::GET,
        "/admin/api/v1/roles/eng-dave",
        &[],
        None,
    )
    .await;
    assert_eq!(body["version"], 2, "not saved before the confirmation");
    page.click("button[value=confirm]").await;
    page.wait_for_url("the saved role", |u| u.query() == Some("saved=1"))
        .await;
    let (_, body) = api(
        &l,
        &admin,
        reqwest::Method::GET,
        "/admin/api/v1/roles/eng-dave",
        &[],
        None,
    )
    .await;
    assert_eq!(body["version"], 3);
    assert_eq!(
        body["document"]["trust_policy"]["Statement"][0]["Condition"]["StringEquals"]["idp:username"],
        "nobody"
    );

    // The simulator on dave's recorded sign-in: engineer refused on its groups condition.
    page.click("nav a[href=\"/admin/simulate\"]").await;
    page.wait_for_url("the simulator", |u| u.path() == "/admin/simulate")
        .await;
    shot(&page, "simulator").await;
    choose_option(&page, "#recorded_sign_in", "corp:dave").await;
    page.click("button[value=recorded]").await;
    page.wait_for_text("Result").await;
    let text = page.text().await;
    assert!(text.contains("engineer: not offered"), "{text}");
    assert!(
        text.contains("ForAnyValue:StringEquals idp:groups"),
        "{text}"
    );
    assert!(
        text.contains("idp:groups — the identity has none; wanted engineering"),
        "{text}"
    );
    assert!(
        text.contains("StringEquals idp:username — saw dave, wanted nobody"),
        "{text}"
    );
    shot(&page, "simulated").await;

    // Deleting the role, after its confirmation page.
    page.goto(&l.at("/admin/roles/eng-dave/delete")).await;
    page.wait_for_text("Delete the role eng-dave?").await;
    shot(&page, "confirm-delete").await;
    page.click("form[action=\"/admin/roles/eng-dave/delete\"] button[type=submit]")
        .await;
    page.wait_for_url("the list", |u| u.path() == "/admin/roles")
        .await;
    page.wait_for_text("The role eng-dave was deleted.").await;

    // Sessions: bob's, revoked after the confirmation; his token is refused from then on.
    page.click("nav a[href=\"/admin/sessions\"]").await;
    page.wait_for_url("the sessions", |u| u.path() == "/admin/sessions")
        .await;
    page.fill("person", "corp:bob").await;
    page.click("form.filters button[type=submit]").await;
    page.wait_for_url("bob's sessions", |u| {
        u.query().is_some_and(|q| q.contains("person=corp%3Abob"))
    })
    .await;
    let text = page.text().await;
    assert!(
        text.contains("corp:bob (corp)") && !text.contains("corp:alice (corp)"),
        "{text}"
    );
    shot(&page, "sessions").await;
    page.click("a[href^=\"/admin/sessions/revoke?session=\"]")
        .await;
    page.wait_for_text("End the session").await;
    shot(&page, "confirm-revoke").await;
    assert_eq!(
        authorize(&l, &bob).await,
        200,
        "not before the confirmation"
    );
    // Typed and sent by keyboard (Enter in the field submits the form).
    page.fill("reason", "left the team\u{E007}").await;
    page.wait_for_text("Revoked: one session ended.").await;
    assert_eq!(authorize(&l, &bob).await, 401, "bob's token is refused");

    // The audit trail, filtered to admin changes.
    page.goto(&l.at("/admin/audit?event=admin.changed")).await;
    page.wait_for_text("Audit trail").await;
    let text = page.text().await;
    assert!(
        text.contains("eng-dave") && text.contains("left the team"),
        "{text}"
    );
    shot(&page, "audit").await;

    // With a role that may not administer, the refusal page says what and how.
    page.goto(&l.at("/roles")).await;
    pick(&page, "engineer").await;
    page.goto(&l.at("/admin/roles")).await;
    page.wait_for_text("Your role does not allow this").await;
    let text = page.text().await;
    assert!(
        text.contains("Your current role engineer is not allowed lanyard:ListRoles on arn:lanyard:iam:::role/*"),
        "{text}"
    );
    assert!(!text.contains("Forbidden"), "no reason phrase: {text}");
    shot(&page, "refused").await;
    page.close().await;
}

/// A browser signed in as `user` holding `role`.
pub(crate) async fn signed_in(l: &Lanyard, user: &str, role: &str) -> reqwest::Client {
    let b = browser();
    let (status, html) = l.picker(&b, user).await;
    if status == 200 {
        assert_eq!(l.choose(&b, &html, role, 900).await.status(), 303);
    }
    let (_, page) = l.credentials(&b).await;
    assert!(
        page.contains(&format!("<code>{role}</code>")),
        "{user} as {role}"
    );
    b
}

#[tokio::test]
async fn the_console_signs_in_refuses_and_says_how_to_get_access() {
    let (l, _keys, _db) = start().await;
    // Not signed in: to the sign-in page, back to the page asked for.
    let r = browser().get(l.at("/admin/roles")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/signin?return_to=%2Fadmin%2Froles"
    );
    // bob's engineer role may do none of it.
    let bob = signed_in(&l, "bob", "engineer").await;
    let r = bob.get(l.at("/admin")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let home = r.text().await.unwrap();
    assert_eq!(
        home.matches("Your role does not allow").count(),
        7,
        "{home}"
    );
    for path in [
        "/admin/roles",
        "/admin/providers",
        "/admin/roles/admin",
        "/admin/simulate",
        "/admin/sessions",
        "/admin/audit",
        "/admin/audit/export?format=csv",
    ] {
        let r = bob.get(l.at(path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let page = r.text().await.unwrap();
        assert!(
            page.contains("Your role does not allow this"),
            "{path}: {page}"
        );
        assert!(page.contains("<code>engineer</code>"), "{path}: {page}");
        assert!(
            page.contains("href=\"/roles\""),
            "{path}: a way to another role"
        );
        assert!(!page.contains("Forbidden"), "{path}: {page}");
    }
    // The simulator form posts with the right token, but the action is still refused.
    let form = bob.get(l.at("/admin/roles/new")).send().await.unwrap();
    let csrf = csrf_of(&form.text().await.unwrap());
    let r = bob
        .post(l.at("/admin/roles"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "eng-x"),
            ("document", &dave_document("dave")),
            ("action", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("<code>lanyard:PutRole</code>"), "{page}");
    assert!(
        page.contains("<code>arn:lanyard:iam:::role/eng-x</code>"),
        "{page}"
    );
    // In German for a browser that asks for it.
    let r = bob
        .get(l.at("/admin/sessions"))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    assert!(page.contains("Ihre Rolle erlaubt das nicht"), "{page}");
    assert!(page.contains("<code>lanyard:ListSessions</code>"), "{page}");
    // A browser with no role chosen is asked to choose one.
    let fresh = browser();
    let r = l.sign_in(&fresh, "dave", "dave-pw").await;
    assert_eq!(r.status(), 303);
    let r = fresh.get(l.at("/admin")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Choose a role first"));
}

#[tokio::test]
async fn console_forms_without_their_csrf_token_change_nothing() {
    let (l, _keys, _db) = start().await;
    let admin_token = token(&l, "alice", "admin").await;
    let alice = signed_in(&l, "alice", "admin").await;
    let bob = token(&l, "bob", "engineer").await;
    for token in ["", "not-the-token"] {
        let r = alice
            .post(l.at("/admin/roles"))
            .form(&[
                ("csrf", token),
                ("name", "eng-dave"),
                ("document", &dave_document("dave")),
                ("action", "save"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{token:?}");
        let page = r.text().await.unwrap();
        assert!(!page.contains("Forbidden"), "{page}");
        let (status, _) = api(
            &l,
            &admin_token,
            reqwest::Method::GET,
            "/admin/api/v1/roles/eng-dave",
            &[],
            None,
        )
        .await;
        assert_eq!(status, 404, "no role was created");
        let r = alice
            .post(l.at("/admin/sessions/revoke"))
            .form(&[("csrf", token), ("role", "engineer")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(authorize(&l, &bob).await, 200, "nothing was revoked");
    }
    // The same form with its token goes through: the check is the token, not the form.
    let html = alice
        .get(l.at("/admin/roles/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = alice
        .post(l.at("/admin/roles"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("name", "eng-dave"),
            ("document", &dave_document("dave")),
            ("action", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/roles/eng-dave?saved=1");
    // A role killed from the console, after its confirmation: bob's token is refused.
    let confirm = alice
        .get(l.at("/admin/sessions/revoke?role=engineer"))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 200);
    let html = confirm.text().await.unwrap();
    assert!(html.contains("kill switch"), "{html}");
    assert_eq!(
        authorize(&l, &bob).await,
        200,
        "not before the confirmation"
    );
    let r = alice
        .post(l.at("/admin/sessions/revoke"))
        .form(&[("csrf", csrf_of(&html).as_str()), ("role", "engineer")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(authorize(&l, &bob).await, 401);
}

#[tokio::test]
async fn the_audit_trail_filters_and_exports_csv_and_json() {
    let (l, _keys, _db) = start().await;
    let alice = signed_in(&l, "alice", "admin").await;
    let _ = token(&l, "bob", "engineer").await;
    // bob's credentials are in the trail; the page, CSV and JSON show the same selection.
    let started = Instant::now();
    let page = loop {
        let r = alice
            .get(l.at("/admin/audit?event=credentials.issued&role=engineer"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        if page.contains("corp:bob") {
            break page;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(page.contains("<td>corp:bob</td>"), "{page}");
    assert!(
        !page.contains("<td>corp:alice</td>"),
        "alice took admin, not engineer"
    );
    assert!(
        page.contains(
            "href=\"/admin/audit/export?role=engineer&#38;event=credentials.issued&#38;format=csv\""
        ),
        "{page}"
    );
    let csv = alice
        .get(l.at("/admin/audit/export?event=credentials.issued&role=engineer&format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "a header and bob's event: {csv}");
    assert!(
        lines[1].contains("bob") && lines[1].contains("engineer"),
        "{csv}"
    );
    let json: Value = alice
        .get(l.at("/admin/audit/export?event=credentials.issued&role=engineer&format=json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = json["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{json}");
    assert_eq!(events[0]["subject"], "bob");
    // A time window before anything happened selects nothing; a bad time says so.
    let r = alice
        .get(l.at("/admin/audit?to=2026-11-27"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("No event matches."));
    let r = alice
        .get(l.at("/admin/audit?from=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("A time is a day"));
}

#[tokio::test]
async fn the_simulator_page_takes_pasted_claims_and_an_unverified_jwt() {
    use base64::Engine as _;
    let (l, _keys, _db) = start().await;
    let alice = signed_in(&l, "alice", "admin").await;
    let form = alice.get(l.at("/admin/simulate")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let csrf = csrf_of(&form.text().await.unwrap());
    let run = |fields: Vec<(&'static str, String)>| {
        let mut fields = fields;
        fields.push(("csrf", csrf.clone()));
        let request = alice.post(l.at("/admin/simulate")).form(&fields);
        async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // Pasted claims of a person nobody has seen: auditor is offered, engineer is not.
    let (status, page) = run(vec![
        ("source", "claims".into()),
        ("provider", "corp".into()),
        ("claims", r#"{"sub": "erin", "groups": ["finance"]}"#.into()),
    ])
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<code>corp:erin</code>"), "{page}");
    assert!(
        page.contains("<code>auditor</code>: <span class=\"gains\">offered</span>"),
        "{page}"
    );
    assert!(
        page.contains("<code>engineer</code>: <span class=\"loses\">not offered</span>"),
        "{page}"
    );
    assert!(!page.contains("without checking its signature"), "{page}");
    // Only one role, when asked.
    let (status, page) = run(vec![
        ("source", "claims".into()),
        ("provider", "corp".into()),
        ("role", "engineer".into()),
        (
            "claims",
            r#"{"sub": "erin", "groups": ["engineering"]}"#.into(),
        ),
    ])
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<code>engineer</code>: <span class=\"gains\">"),
        "{page}"
    );
    assert!(!page.contains("<code>auditor</code>:"), "{page}");
    // A JWT is decoded, not verified, and the page says so.
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    let jwt = format!(
        "{}.{}.",
        b64(&json!({"alg": "none"})),
        b64(&json!({"sub": "frank", "groups": ["admins"]}))
    );
    let (status, page) = run(vec![
        ("source", "jwt".into()),
        ("provider", "corp".into()),
        ("jwt", jwt),
    ])
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("without checking its signature"), "{page}");
    assert!(
        page.contains("<code>admin</code>: <span class=\"gains\">offered</span>"),
        "{page}"
    );
    // What cannot be simulated is said on the form, which keeps what was typed.
    let (status, page) = run(vec![
        ("source", "claims".into()),
        ("provider", "corp".into()),
        ("claims", "[1, 2]".into()),
    ])
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("The claims must be a JSON object"), "{page}");
    assert!(page.contains("[1, 2]</textarea>"), "{page}");
    let (status, page) = run(vec![
        ("source", "recorded".into()),
        ("recorded_sign_in", "no-such-sign-in".into()),
    ])
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("no recorded sign-in has this id"), "{page}");
}

#[tokio::test]
async fn role_forms_say_what_is_wrong_and_file_roles_are_read_only() {
    let (l, _keys, _db) = start().await;
    let alice = signed_in(&l, "alice", "admin").await;
    // A file role: shown, marked, no form.
    let r = alice
        .get(l.at("/admin/roles/engineer"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("managed in lanyard.toml"), "{page}");
    assert!(page.contains("Deploy and operate services"), "{page}");
    assert!(!page.contains("<textarea"), "{page}");
    let csrf = csrf_of(
        &alice
            .get(l.at("/admin/roles/new"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let post = |path: &'static str, fields: Vec<(&'static str, String)>| {
        let mut fields = fields;
        fields.push(("csrf", csrf.clone()));
        let request = alice.post(l.at(path)).form(&fields);
        async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // A document check-config refuses: every problem with its path, nothing written.
    let bad = r#"{"trust_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole", "Condition": {"StringEqual": {"idp:username": "dave"}}}]}}"#;
    let (status, page) = post(
        "/admin/roles",
        vec![
            ("name", "eng-bad".into()),
            ("document", bad.into()),
            ("action", "save".into()),
        ],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Nothing was saved"), "{page}");
    assert!(
        page.contains("trust_policy.Statement[0].Condition"),
        "{page}"
    );
    assert!(page.contains("StringEquals"), "the suggestion: {page}");
    assert!(page.contains("eng-bad"), "the form keeps the name: {page}");
    // Not JSON, and a name that is not one.
    let (status, page) = post(
        "/admin/roles",
        vec![
            ("name", "eng-x".into()),
            ("document", "{nope".into()),
            ("action", "preview".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("The document is not a JSON object"), "{page}");
    let (status, page) = post(
        "/admin/roles",
        vec![
            ("name", "no spaces".into()),
            ("document", dave_document("dave")),
            ("action", "save".into()),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("is 1 to 64 letters"), "{page}");
    // A file role's name cannot be taken by a database role.
    let (status, page) = post(
        "/admin/roles",
        vec![
            ("name", "engineer".into()),
            ("document", dave_document("dave")),
            ("action", "save".into()),
        ],
    )
    .await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("managed in lanyard.toml"), "{page}");
    // A deletion confirmed at a version that is no longer the role's deletes nothing.
    let (status, _) = post(
        "/admin/roles",
        vec![
            ("name", "eng-dave".into()),
            ("document", dave_document("dave")),
            ("action", "save".into()),
        ],
    )
    .await;
    assert_eq!(status, 303, "created");
    let (status, page) = post(
        "/admin/roles/eng-dave/delete",
        vec![("version", "7".into())],
    )
    .await;
    assert_eq!(status, 412, "{page}");
    assert!(
        page.contains("Someone changed this role since you opened it"),
        "{page}"
    );
    assert!(
        page.contains("name=\"version\" value=\"1\""),
        "the version now: {page}"
    );
    let r = alice
        .get(l.at("/admin/roles/eng-dave"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "not deleted");
    let (status, _) = post(
        "/admin/roles/eng-dave/delete",
        vec![("version", "1".into())],
    )
    .await;
    assert_eq!(status, 303);
    let r = alice
        .get(l.at("/admin/roles/eng-dave"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("There is no role named eng-dave.")
    );
}
