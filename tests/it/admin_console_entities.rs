//! The admin console's managed policies and OpenID clients (`/admin/policies`,
//! `/admin/clients`, issue 15). In Chromium with scripts turned off, every page checked by
//! axe: a policy created through its form, named by a role made on the roles page, its
//! deletion refused while the role names it, a stale edit refused with the version now, an
//! edit of a policy in use confirmed first; a machine client created through its form, its
//! secret read from the page that shows it once and used in a real `client_credentials`
//! grant, a new secret with no overlap after its confirmation (the old one refused, the new
//! one working), the client deleted after its confirmation; and the refusal page for a role
//! whose policies lack the action. Without a browser: problems shown with their JSON path,
//! file entities read-only, the refusal of a deletion while in use, the secret page's
//! `Cache-Control: no-store`, an edit that takes something away confirmed first, a rotation
//! with the default overlap (both secrets work), and forms without their CSRF token.

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::admin_api::token;
use crate::admin_console::{api, line_with, pick, scripts, shot, signed_in, start};
use crate::chromium::Page;
use crate::harness::{Lanyard, csrf_of};

/// An IAM policy reading logs, as the policy form's textarea holds it.
fn logs_policy() -> String {
    serde_json::to_string_pretty(&json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ReadLogs",
            "Effect": "Allow",
            "Action": ["logs:Get*", "logs:List*"],
            "Resource": "*"
        }]
    }))
    .unwrap()
}

/// A role only dave may take, with the permission policy `policy`, as the role form's
/// textarea holds it.
fn role_naming(policy: &str) -> String {
    serde_json::to_string_pretty(&json!({
        "max_session_duration": "1h",
        "permission_policies": [policy],
        "trust_policy": {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": "corp"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"idp:username": "dave"}}
            }]
        }
    }))
    .unwrap()
}

async fn get(l: &Lanyard, token: &str, path: &str) -> (u16, Value) {
    api(l, token, reqwest::Method::GET, path, &[], None).await
}

/// The status of a `client_credentials` grant of `id` with `secret` at the token
/// endpoint; on success the token's role is `engineer` (read back by introspection).
async fn grant(l: &Lanyard, id: &str, secret: &str) -> u16 {
    let http = reqwest::Client::new();
    let r = http
        .post(l.at("/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    if status != 200 {
        assert_eq!(body["error"], "invalid_client", "{body}");
        return status;
    }
    let i: Value = http
        .post(l.at("/oauth2/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", body["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["role"], "engineer", "{i}");
    status
}

/// A Chromium page without scripts, signed in as alice with the role `admin`.
async fn admin_page(l: &Lanyard, name: &str) -> Page {
    let page = Page::open(name).await;
    scripts(&page, false).await;
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
    page.goto(&l.at("/roles")).await;
    pick(&page, "admin").await;
    page.goto(&l.at("/admin")).await;
    page.wait_for_text("What your role admin may do here").await;
    page
}

/// The secret on the page that shows it once.
async fn shown_secret(page: &Page) -> String {
    page.wait_for_text("Copy it now: it will not be shown again")
        .await;
    let field = page
        .client
        .find(Locator::Css("#client-secret"))
        .await
        .unwrap();
    let secret = field.attr("value").await.unwrap().unwrap();
    assert!(secret.len() >= 32, "{secret}");
    secret
}

#[tokio::test]
async fn policies_in_chromium_without_javascript() {
    let (l, _keys, _db) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let page = admin_page(&l, "admin_console_policies").await;

    // The list: the file's policies marked, with the roles that use them.
    page.click("nav a[href=\"/admin/policies\"]").await;
    page.wait_for_url("the policies", |u| u.path() == "/admin/policies")
        .await;
    page.wait_for_text("Managed policies").await;
    let text = page.text().await;
    assert!(
        line_with(&text, "read-only").contains("managed in lanyard.toml"),
        "{text}"
    );
    assert!(line_with(&text, "deploy").contains("engineer"), "{text}");
    shot(&page, "policies").await;

    // A new policy through the form.
    page.click("a[href=\"/admin/policies/new\"]").await;
    page.wait_for_url("the new policy's form", |u| {
        u.path() == "/admin/policies/new"
    })
    .await;
    shot(&page, "new-policy").await;
    page.fill("name", "logs-reader").await;
    page.fill("description", "Read the logs").await;
    page.fill("document", &logs_policy()).await;
    page.click("button[value=save]").await;
    page.wait_for_url("the saved policy", |u| {
        u.path() == "/admin/policies/logs-reader" && u.query() == Some("saved=1")
    })
    .await;
    page.wait_for_text("Saved.").await;
    assert!(page.text().await.contains("No role uses this policy."));
    shot(&page, "saved-policy").await;
    let (status, body) = get(&l, &admin, "/admin/api/v1/policies/logs-reader").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 1);
    assert_eq!(body["document"]["description"], "Read the logs");
    assert_eq!(
        body["document"]["document"]["Statement"][0]["Sid"],
        "ReadLogs"
    );

    // A role naming it, made on the roles page.
    page.goto(&l.at("/admin/roles/new")).await;
    page.fill("name", "eng-logs").await;
    page.fill("document", &role_naming("logs-reader")).await;
    page.click("button[value=save]").await;
    page.wait_for_url("the saved role", |u| {
        u.path() == "/admin/roles/eng-logs" && u.query() == Some("saved=1")
    })
    .await;
    page.goto(&l.at("/admin/policies")).await;
    page.wait_for_text("Managed policies").await;
    let text = page.text().await;
    assert!(
        line_with(&text, "logs-reader").contains("eng-logs"),
        "{text}"
    );

    // Its deletion is refused while the role names it: the page names the role.
    page.goto(&l.at("/admin/policies/logs-reader/delete")).await;
    page.wait_for_text("The policy logs-reader is still in use")
        .await;
    let text = page.text().await;
    assert!(
        text.contains("cannot be deleted while roles name it: eng-logs"),
        "{text}"
    );
    assert!(!page.html().await.contains("Delete the policy</button>"));
    shot(&page, "delete-refused-in-use").await;

    // Someone changes it through the API while the form is open: the browser's save is
    // refused with the version now and its text; the API's change stays.
    page.goto(&l.at("/admin/policies/logs-reader")).await;
    page.wait_for_text("Used by the roles eng-logs.").await;
    // (Versions count every write of the database, not only this policy's.)
    let read = body["version"].as_i64().unwrap();
    let mut changed = body["document"].clone();
    changed["description"] = json!("Changed through the API");
    let (status, body) = api(
        &l,
        &admin,
        reqwest::Method::PUT,
        "/admin/api/v1/policies/logs-reader",
        &[("If-Match", &format!("\"{read}\""))],
        Some(&changed),
    )
    .await;
    assert_eq!(status, 200);
    let now = body["version"].as_i64().unwrap();
    assert!(now > read);
    page.fill("description", "Changed in the browser").await;
    page.click("button[value=save]").await;
    page.wait_for_text("Someone changed this policy since you opened it")
        .await;
    let text = page.text().await;
    assert!(text.contains(&format!("now at version {now}")), "{text}");
    assert!(text.contains("Changed through the API"), "{text}");
    shot(&page, "stale-edit").await;
    let (_, body) = get(&l, &admin, "/admin/api/v1/policies/logs-reader").await;
    assert_eq!(body["version"], now, "nothing was overwritten");
    assert_eq!(body["document"]["description"], "Changed through the API");

    // Saved again knowing it: the role using it is named, and confirmed first.
    page.click("button[value=save]").await;
    page.wait_for_text("Confirm the change").await;
    let text = page.text().await;
    assert!(
        text.contains("The roles eng-logs use the policy logs-reader"),
        "{text}"
    );
    shot(&page, "confirm-edit").await;
    let (_, body) = get(&l, &admin, "/admin/api/v1/policies/logs-reader").await;
    assert_eq!(body["version"], now, "not before the confirmation");
    page.click("button[value=confirm]").await;
    page.wait_for_url("the saved policy", |u| u.query() == Some("saved=1"))
        .await;
    let (_, body) = get(&l, &admin, "/admin/api/v1/policies/logs-reader").await;
    assert!(body["version"].as_i64().unwrap() > now, "{body}");
    assert_eq!(body["document"]["description"], "Changed in the browser");

    // Once the role no longer names it, it is deleted after its confirmation.
    let (_, role) = get(&l, &admin, "/admin/api/v1/roles/eng-logs").await;
    let (status, _) = api(
        &l,
        &admin,
        reqwest::Method::DELETE,
        "/admin/api/v1/roles/eng-logs",
        &[("If-Match", &format!("\"{}\"", role["version"]))],
        None,
    )
    .await;
    assert_eq!(status, 204);
    page.goto(&l.at("/admin/policies/logs-reader/delete")).await;
    page.wait_for_text("Delete the policy logs-reader?").await;
    shot(&page, "confirm-delete").await;
    page.click("form[action=\"/admin/policies/logs-reader/delete\"] button[type=submit]")
        .await;
    page.wait_for_url("the list", |u| u.path() == "/admin/policies")
        .await;
    page.wait_for_text("The policy logs-reader was deleted.")
        .await;
    let (status, _) = get(&l, &admin, "/admin/api/v1/policies/logs-reader").await;
    assert_eq!(status, 404);

    // With a role whose policies do not allow it, the refusal page says what and how.
    page.goto(&l.at("/roles")).await;
    pick(&page, "engineer").await;
    page.goto(&l.at("/admin/policies")).await;
    page.wait_for_text("Your role does not allow this").await;
    let text = page.text().await;
    assert!(
        text.contains("Your current role engineer is not allowed lanyard:ListPolicies on arn:lanyard:iam:::policy/*"),
        "{text}"
    );
    shot(&page, "refused").await;
    page.close().await;
}

#[tokio::test]
async fn clients_in_chromium_without_javascript() {
    let (l, _keys, _db) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let page = admin_page(&l, "admin_console_clients").await;

    page.click("nav a[href=\"/admin/clients\"]").await;
    page.wait_for_url("the clients", |u| u.path() == "/admin/clients")
        .await;
    page.wait_for_text("OpenID clients").await;
    shot(&page, "clients").await;

    // A machine client through the form: its secret is shown once, and works.
    page.click("a[href=\"/admin/clients/new\"]").await;
    page.wait_for_url("the new client's form", |u| {
        u.path() == "/admin/clients/new"
    })
    .await;
    shot(&page, "new-client").await;
    page.fill("id", "deployer").await;
    page.fill("name", "Deployer").await;
    page.click("#grant_authorization_code").await;
    page.click("#grant_refresh_token").await;
    page.click("#grant_client_credentials").await;
    page.fill("machine_role", "engineer").await;
    page.click("button[value=save]").await;
    let first = shown_secret(&page).await;
    shot(&page, "secret-once").await;
    assert_eq!(grant(&l, "deployer", &first).await, 200);
    let (status, body) = get(&l, &admin, "/admin/api/v1/clients/deployer").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["document"]["grant_types"],
        json!(["client_credentials"])
    );
    assert_eq!(body["document"]["machine_role"], "engineer");

    // The client's page lists its secret by its times, never the secret.
    page.click("a.button[href=\"/admin/clients/deployer\"]")
        .await;
    page.wait_for_url("the client", |u| u.path() == "/admin/clients/deployer")
        .await;
    page.wait_for_text("until the next new secret").await;
    assert!(!page.html().await.contains(&first));
    shot(&page, "client").await;

    // A new secret with no overlap: confirmed first, then the old one is refused.
    page.click("#overlap option[value=\"0\"]").await;
    page.click("form[action=\"/admin/clients/deployer/secret\"] button[type=submit]")
        .await;
    page.wait_for_text("End the previous secrets now?").await;
    shot(&page, "confirm-rotation").await;
    assert_eq!(
        grant(&l, "deployer", &first).await,
        200,
        "not before the confirmation"
    );
    page.click("form[action=\"/admin/clients/deployer/secret\"] button[type=submit]")
        .await;
    let second = shown_secret(&page).await;
    assert_ne!(second, first);
    assert!(
        page.text()
            .await
            .contains("The previous secrets no longer work.")
    );
    assert_eq!(grant(&l, "deployer", &first).await, 401);
    assert_eq!(grant(&l, "deployer", &second).await, 200);

    // Deleted after its confirmation: its secret no longer works.
    page.goto(&l.at("/admin/clients/deployer/delete")).await;
    page.wait_for_text("Delete the client deployer?").await;
    shot(&page, "confirm-delete").await;
    page.click("form[action=\"/admin/clients/deployer/delete\"] button[type=submit]")
        .await;
    page.wait_for_url("the list", |u| u.path() == "/admin/clients")
        .await;
    page.wait_for_text("The client deployer was deleted").await;
    assert_eq!(grant(&l, "deployer", &second).await, 401);

    // With a role whose policies do not allow it, the refusal page says what and how.
    page.goto(&l.at("/roles")).await;
    pick(&page, "engineer").await;
    page.goto(&l.at("/admin/clients")).await;
    page.wait_for_text("Your role does not allow this").await;
    let text = page.text().await;
    assert!(
        text.contains("Your current role engineer is not allowed lanyard:ListClients on arn:lanyard:iam:::client/*"),
        "{text}"
    );
    shot(&page, "refused").await;
    page.close().await;
}

/// Posts `fields` and the form token of `form_page` to `path`: status, headers, body.
async fn post(
    l: &Lanyard,
    b: &reqwest::Client,
    form_page: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let html = b
        .get(l.at(form_page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let r = b.post(l.at(path)).form(&all).send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

/// The value of the field `id` of `html`.
fn value_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id}: {html}"));
    let rest = &html[at..];
    let start = rest.find("value=\"").unwrap() + "value=\"".len();
    let end = rest[start..].find('"').unwrap() + start;
    rest[start..end].to_owned()
}

#[tokio::test]
async fn policy_forms_say_what_is_wrong_and_refuse_what_they_must() {
    let (l, _keys, _db) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let alice = signed_in(&l, "alice", "admin").await;
    let new = "/admin/policies/new";
    // A document check-config refuses: the problem with its JSON path, the input kept.
    let bad = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "logs:Get*", "Resource": "*"}]}"#;
    let (status, _, page) = post(
        &l,
        &alice,
        new,
        "/admin/policies",
        &[("name", "logs-bad"), ("document", bad), ("action", "save")],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Nothing was saved"), "{page}");
    assert!(
        page.contains("<code>document.Statement[0].Effect</code>"),
        "{page}"
    );
    assert!(
        page.contains("value=\"logs-bad\""),
        "the name is kept: {page}"
    );
    assert!(page.contains("&#34;Maybe&#34;"), "the text is kept: {page}");
    let (status, _, page) = post(
        &l,
        &alice,
        new,
        "/admin/policies",
        &[("name", "logs-x"), ("document", "{nope")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("The policy is not a JSON object"), "{page}");
    let (status, _, page) = post(
        &l,
        &alice,
        new,
        "/admin/policies",
        &[("name", "no spaces"), ("document", &logs_policy())],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("is 1 to 64 letters"), "{page}");
    let (status, _) = get(&l, &admin, "/admin/api/v1/policies/logs-bad").await;
    assert_eq!(status, 404, "nothing was written");

    // A file policy: shown, marked, no form; its name cannot be taken.
    let r = alice
        .get(l.at("/admin/policies/read-only"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("managed in lanyard.toml"), "{page}");
    assert!(page.contains("<code>auditor</code>"), "used by: {page}");
    assert!(!page.contains("<textarea"), "{page}");
    let (status, _, page) = post(
        &l,
        &alice,
        new,
        "/admin/policies",
        &[("name", "read-only"), ("document", &logs_policy())],
    )
    .await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("is managed in lanyard.toml"), "{page}");
    let r = alice
        .get(l.at("/admin/policies/no-such"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("There is no policy named no-such.")
    );

    // Without the form token nothing is written.
    for csrf in ["", "not-the-token"] {
        let r = alice
            .post(l.at("/admin/policies"))
            .form(&[
                ("csrf", csrf),
                ("name", "logs-reader"),
                ("document", logs_policy().as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{csrf:?}");
        assert!(!r.text().await.unwrap().contains("Forbidden"));
        let (status, _) = get(&l, &admin, "/admin/api/v1/policies/logs-reader").await;
        assert_eq!(status, 404, "nothing was written");
    }

    // A deletion posted while a role names the policy: refused, naming the role.
    let (status, _, _) = post(
        &l,
        &alice,
        new,
        "/admin/policies",
        &[("name", "logs-reader"), ("document", &logs_policy())],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = api(
        &l,
        &admin,
        reqwest::Method::PUT,
        "/admin/api/v1/roles/eng-logs",
        &[("If-None-Match", "*")],
        Some(&serde_json::from_str(&role_naming("logs-reader")).unwrap()),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _, page) = post(
        &l,
        &alice,
        "/admin/policies/logs-reader",
        "/admin/policies/logs-reader/delete",
        &[("version", "1")],
    )
    .await;
    assert_eq!(status, 409, "{page}");
    assert!(
        page.contains("cannot be deleted while roles name it: <code>eng-logs</code>"),
        "{page}"
    );
    assert!(page.contains("Nothing was deleted."), "{page}");
    assert!(page.contains("href=\"/admin/roles/eng-logs\""), "{page}");
    let (status, _) = get(&l, &admin, "/admin/api/v1/policies/logs-reader").await;
    assert_eq!(status, 200, "not deleted");

    // An engineer may do none of it.
    let bob = signed_in(&l, "bob", "engineer").await;
    for (path, action) in [
        ("/admin/policies", "lanyard:ListPolicies"),
        ("/admin/policies/logs-reader", "lanyard:GetPolicy"),
    ] {
        let r = bob.get(l.at(path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let page = r.text().await.unwrap();
        assert!(page.contains(&format!("<code>{action}</code>")), "{page}");
    }
    let (status, _, page) = post(
        &l,
        &bob,
        new,
        "/admin/policies",
        &[("name", "bobs"), ("document", &logs_policy())],
    )
    .await;
    assert_eq!(status, 403);
    assert!(page.contains("<code>lanyard:PutPolicy</code>"), "{page}");
    assert!(
        page.contains("<code>arn:lanyard:iam:::policy/bobs</code>"),
        "{page}"
    );
}

#[tokio::test]
async fn client_forms_show_a_secret_once_and_confirm_what_takes_access_away() {
    let (l, _keys, _db) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let alice = signed_in(&l, "alice", "admin").await;
    let new = "/admin/clients/new";
    let machine = [
        ("id", "deployer"),
        ("grant_client_credentials", "1"),
        ("machine_role", "engineer"),
        ("action", "save"),
    ];

    // Without the form token nothing is written.
    let r = alice
        .post(l.at("/admin/clients"))
        .form(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (status, _) = get(&l, &admin, "/admin/api/v1/clients/deployer").await;
    assert_eq!(status, 404);

    // Created: the secret on a page no cache keeps, and nowhere else.
    let (status, headers, page) = post(&l, &alice, new, "/admin/clients", &machine).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(page.contains("it will not be shown again"), "{page}");
    let first = value_of(&page, "client-secret");
    assert_eq!(grant(&l, "deployer", &first).await, 200);
    let r = alice
        .get(l.at("/admin/clients/deployer"))
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(!page.contains(&first), "{page}");
    assert!(page.contains("until the next new secret"), "{page}");
    let list = alice
        .get(l.at("/admin/clients"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("href=\"/admin/clients/deployer\""), "{list}");
    assert!(list.contains("<code>client_credentials</code>"), "{list}");
    assert!(list.contains("one secret in use"), "{list}");

    // A new secret with the default overlap: both work, and the page says until when.
    let (_, body) = get(&l, &admin, "/admin/api/v1/clients/deployer").await;
    let read = body["version"].to_string();
    let (status, headers, page) = post(
        &l,
        &alice,
        "/admin/clients/deployer",
        "/admin/clients/deployer/secret",
        &[("version", &read), ("overlap", "86400")],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        page.contains("The previous secrets keep working until"),
        "{page}"
    );
    let second = value_of(&page, "client-secret");
    assert_eq!(grant(&l, "deployer", &first).await, 200);
    assert_eq!(grant(&l, "deployer", &second).await, 200);
    // At a version that is no longer the client's: refused, nothing made.
    let (status, _, page) = post(
        &l,
        &alice,
        "/admin/clients/deployer",
        "/admin/clients/deployer/secret",
        &[("version", &read), ("overlap", "0"), ("confirm", "1")],
    )
    .await;
    assert_eq!(status, 412, "{page}");
    assert!(
        page.contains("Someone changed this client since you opened it"),
        "{page}"
    );
    assert_eq!(grant(&l, "deployer", &first).await, 200, "nothing ended");
    // An overlap beyond 30 days is refused.
    let (status, _, page) = post(
        &l,
        &alice,
        "/admin/clients/deployer",
        "/admin/clients/deployer/secret",
        &[("version", &read), ("overlap", "2592001")],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("at most 30 days"), "{page}");

    // A web application: a redirect URI check-config refuses, with its path, input kept.
    let webapp = |uris: &'static str| {
        vec![
            ("id", "webapp"),
            ("name", "Web app"),
            ("grant_authorization_code", "1"),
            ("redirect_uris", uris),
            ("allowed_roles", "engineer"),
            ("action", "save"),
        ]
    };
    let (status, _, page) = post(
        &l,
        &alice,
        new,
        "/admin/clients",
        &webapp("https://a.example.com/cb\nhttp://b.example.com/cb"),
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("<code>redirect_uris[1]</code>"), "{page}");
    assert!(
        page.contains("http://b.example.com/cb</textarea>"),
        "{page}"
    );
    let (status, _, page) = post(
        &l,
        &alice,
        new,
        "/admin/clients",
        &webapp("https://a.example.com/cb\nhttps://b.example.com/cb"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    // An edit that takes a redirect URI away is confirmed first.
    let (_, body) = get(&l, &admin, "/admin/api/v1/clients/webapp").await;
    let read = body["version"].to_string();
    let mut edit = webapp("https://a.example.com/cb");
    edit.push(("version", &read));
    let (status, _, page) = post(
        &l,
        &alice,
        "/admin/clients/webapp",
        "/admin/clients/webapp",
        &edit,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Confirm the change"), "{page}");
    assert!(
        page.contains("<code>redirect_uris</code>: https://b.example.com/cb"),
        "{page}"
    );
    let (_, body) = get(&l, &admin, "/admin/api/v1/clients/webapp").await;
    assert_eq!(
        body["version"].to_string(),
        read,
        "not before the confirmation"
    );
    edit.retain(|(k, _)| *k != "action");
    edit.push(("action", "confirm"));
    let (status, headers, _) = post(
        &l,
        &alice,
        "/admin/clients/webapp",
        "/admin/clients/webapp",
        &edit,
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/admin/clients/webapp?saved=1");
    let (_, body) = get(&l, &admin, "/admin/api/v1/clients/webapp").await;
    assert_ne!(body["version"].to_string(), read);
    assert_eq!(
        body["document"]["redirect_uris"],
        json!(["https://a.example.com/cb"])
    );
    assert_eq!(body["document"]["name"], "Web app");

    // An engineer may do none of it.
    let bob = signed_in(&l, "bob", "engineer").await;
    for (path, action) in [
        ("/admin/clients", "lanyard:ListClients"),
        ("/admin/clients/webapp", "lanyard:GetClient"),
    ] {
        let r = bob.get(l.at(path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let page = r.text().await.unwrap();
        assert!(page.contains(&format!("<code>{action}</code>")), "{page}");
    }
    let (status, _, page) = post(
        &l,
        &bob,
        new,
        "/admin/clients",
        &[("id", "bobs"), ("grant_authorization_code", "1")],
    )
    .await;
    assert_eq!(status, 403);
    assert!(page.contains("<code>lanyard:PutClient</code>"), "{page}");
    let r = alice
        .get(l.at("/admin/clients/no-such"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("There is no client with the id no-such.")
    );
}
