//! Elevation with approval in the browser (issue 17): a role that needs approval is asked
//! for on the role picker, the approvers hear of it through a signed webhook (received by
//! a listener of the test's own, its Standard Webhooks signature checked here), an
//! approver opens the link, confirms a fresh one-time code and approves, and the requester
//! then picks the role and gets credentials that end with the approved window — in
//! Chromium, with scripts off, every page axe-checked. Without a browser: nobody approves
//! their own request (no button, a forged form refused), two approvals need two different
//! people, a denial closes the request, a form without its CSRF token changes nothing,
//! a refused form comes back with what was typed and the problem next to its field, and
//! the refusal pages (no such request, not an approver) say where to go.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use lanyard::clock::{ManualClock, UnixTime};
use lanyard::connectors::totp::Totp;
use lanyard::secret::Secret;

use crate::admin_console::{scripts, shot};
use crate::chromium::Page;
use crate::harness::{Lanyard, T0, browser, cheap_hash, csrf_of, memory_store, start_public};
use crate::upstream::location;

/// Ann's and Ben's authenticators (base32).
pub(crate) const ANN_TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const BEN_TOTP: &str = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";
/// The terminal's redirect (a public client, as `lanyard login` is).
const CLI_REDIRECT: &str = "http://127.0.0.1:53682/callback";
/// The JSON webhook's signing secret.
const HOOK_SECRET: &str = "test-webhook-secret";

pub(crate) type Seen = Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>;

/// A receiver of webhooks on 127.0.0.1: its URL and what it was sent.
async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let seen = Arc::clone(&seen);
            move |headers: axum::http::HeaderMap, body: String| {
                let seen = Arc::clone(&seen);
                async move {
                    seen.lock().unwrap().push((headers, body));
                    axum::http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// The body of the first notification of `kind` (`access_request.requested`, …), waited
/// for up to 10 s, after checking its Standard Webhooks signature with the shared secret.
pub(crate) async fn notification(seen: &Seen, kind: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = seen.lock().unwrap().iter().find_map(|(headers, body)| {
            let value: serde_json::Value = serde_json::from_str(body).ok()?;
            (value["type"] == kind).then(|| (headers.clone(), body.clone(), value))
        });
        if let Some((headers, body, value)) = found {
            let id = headers["webhook-id"].to_str().unwrap();
            let timestamp = headers["webhook-timestamp"].to_str().unwrap();
            let key =
                aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, HOOK_SECRET.as_bytes());
            let tag = aws_lc_rs::hmac::sign(&key, format!("{id}.{timestamp}.{body}").as_bytes());
            let expected = format!("v1,{}", STANDARD.encode(tag.as_ref()));
            let sent = headers["webhook-signature"].to_str().unwrap();
            assert!(
                sent.split(' ').any(|s| s == expected),
                "signature {sent} is not {expected}"
            );
            return value;
        }
        assert!(Instant::now() < deadline, "no {kind} notification arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A trust policy for the local directory's `group`.
fn trust(group: &str) -> String {
    format!(
        "{{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Allow\", Principal = {{ Federated = \"corp\" }}, \
         Action = \"sts:AssumeRole\", Condition = {{ \"ForAnyValue:StringEquals\" = {{ \"idp:groups\" = [\"{group}\"] }} }} }}] }}"
    )
}

/// The approvers: anyone in `sre-leads` with MFA.
const APPROVERS: &str = "{ Version = \"2012-10-17\", Statement = [{ Sid = \"SreLeads\", \
    Effect = \"Allow\", Principal = { Federated = \"corp\" }, Action = \"lanyard:ApproveAccessRequest\", \
    Condition = { \"ForAnyValue:StringEquals\" = { \"idp:groups\" = [\"sre-leads\"] }, \
    \"Bool\" = { \"aws:MultiFactorAuthPresent\" = \"true\" } } }] }";

/// rita (engineering) asks; ann and ben (sre-leads, each with TOTP) approve; carl
/// (engineering) may ask but not approve. `viewer` is granted to engineering outright;
/// `prod-admin` needs one approval (a reason, an `OPS-` ticket, at most 1 h); `prod-db`
/// needs two; `prod-glass` (what `prod-ops` allows, like `prod-admin`) may be opened by
/// its requester as break-glass.
fn config(keys: &std::path::Path, hook: &str) -> String {
    let user = |name: &str, groups: &str, totp: Option<&str>| {
        format!(
            "[[providers.users]]\nusername = \"{name}\"\npassword_hash = \"{}\"\ngroups = [{groups}]\n{}",
            cheap_hash(&format!("{name}-pw")),
            totp.map(|t| format!("totp_secret = \"{t}\"\n"))
                .unwrap_or_default()
        )
    };
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
         [sessions]\nstore = \"memory\"\n\
         [tokens]\nalgorithm = \"ES256\"\nkeys_dir = \"{keys}\"\ndefault_duration = \"1h\"\n\
         [[providers]]\nid = \"corp\"\nkind = \"local\"\ndisplay_name = \"Corp directory\"\n\
         {rita}{ann}{ben}{carl}\
         [[policies]]\nname = \"prod-ops\"\ndocument = {{ Version = \"2012-10-17\", Statement = [\
         {{ Sid = \"Deploy\", Effect = \"Allow\", Action = [\"deploy:Start*\", \"deploy:Get*\"], \
         Resource = \"arn:lanyard:deploy:::service/*\" }}] }}\n\
         [[roles]]\nname = \"viewer\"\ntrust_policy = {eng}\n\
         [[roles]]\nname = \"prod-admin\"\ndescription = \"Operate production\"\n\
         max_session_duration = \"2h\"\npermission_policies = [\"prod-ops\"]\ntrust_policy = {eng}\n\
         [roles.approval]\napprovers = {APPROVERS}\napprovals = 1\nmax_duration = \"1h\"\n\
         require_reason = true\nticket_pattern = \"OPS-[0-9]+\"\n\
         [[roles]]\nname = \"prod-db\"\ntrust_policy = {eng}\n\
         [roles.approval]\napprovers = {APPROVERS}\napprovals = 2\nmax_duration = \"1h\"\n\
         [[roles]]\nname = \"prod-glass\"\ndescription = \"Production, in an emergency\"\n\
         permission_policies = [\"prod-ops\"]\ntrust_policy = {eng}\n\
         [roles.approval]\napprovers = {APPROVERS}\napprovals = 1\nmax_duration = \"1h\"\n\
         break_glass = true\n\
         [[access_requests.webhooks]]\nurl = \"{hook}\"\nsecret = \"{HOOK_SECRET}\"\n\
         [[clients]]\nid = \"cli\"\npublic = true\nredirect_uris = [\"{CLI_REDIRECT}\"]\n\
         grant_types = [\"authorization_code\", \"refresh_token\", \"device_code\"]\n\
         allowed_roles = [\"viewer\", \"prod-admin\"]\n",
        keys = keys.display(),
        rita = user("rita", "\"engineering\"", None),
        ann = user("ann", "\"engineering\", \"sre-leads\"", Some(ANN_TOTP)),
        ben = user("ben", "\"engineering\", \"sre-leads\"", Some(BEN_TOTP)),
        carl = user("carl", "\"engineering\"", None),
        eng = trust("engineering"),
    )
}

/// A Lanyard on its real address (the webhook's link), at [`T0`], with the receiver.
pub(crate) async fn start() -> (Lanyard, Seen, tempfile::TempDir) {
    start_at(T0, "").await
}

/// [`start`] with its clock at `now` (seconds since the epoch) and `extra` config (more
/// `[[clients]]`, say) after [`config`]'s.
pub(crate) async fn start_at(now: i64, extra: &str) -> (Lanyard, Seen, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let (hook, seen) = receiver().await;
    let clock = ManualClock::new(UnixTime::from_secs(now));
    let mut text = config(keys.path(), &hook);
    text.push_str(extra);
    let l = start_public(&text, memory_store(&clock), clock).await;
    (l, seen, keys)
}

fn totp(secret: &str) -> Totp {
    Totp::from_base32(&Secret::new(secret)).unwrap()
}

/// The current code of `secret` by Lanyard's clock.
pub(crate) fn code(l: &Lanyard, secret: &str) -> String {
    use lanyard::clock::Clock;
    totp(secret).code_at(l.clock.now())
}

/// A browser signed in as `user` (with `otp` for a user with TOTP).
pub(crate) async fn signed_in(l: &Lanyard, user: &str, otp: Option<String>) -> reqwest::Client {
    let b = browser();
    let html = l.text(&b, "/auth/corp").await;
    let csrf = csrf_of(&html);
    let password = format!("{user}-pw");
    let otp = otp.unwrap_or_default();
    let r = b
        .post(l.at("/auth/corp"))
        .form(&[
            ("username", user),
            ("password", &password),
            ("otp", &otp),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "sign-in of {user}");
    b
}

/// Sends the picker's request form for `role`; the response.
async fn ask(
    l: &Lanyard,
    b: &reqwest::Client,
    role: &str,
    (secs, reason, ticket): (u64, &str, &str),
) -> reqwest::Response {
    let csrf = csrf_of(&l.text(b, "/roles").await);
    b.post(l.at("/requests"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("role", role),
            ("duration", &secs.to_string()),
            ("reason", reason),
            ("ticket", ticket),
        ])
        .send()
        .await
        .unwrap()
}

/// Asks for `role` and returns the new request's id.
pub(crate) async fn asked(l: &Lanyard, b: &reqwest::Client, role: &str) -> String {
    let r = ask(l, b, role, (3600, "deploy the hotfix", "OPS-7")).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let to = location(&r);
    let id = to
        .strip_prefix("/requests/")
        .and_then(|rest| rest.strip_suffix("?done=requested"))
        .unwrap_or_else(|| panic!("to the request's page: {to}"));
    id.to_owned()
}

/// Posts the request page's form with `action` (and `comment`); the response.
pub(crate) async fn act(
    l: &Lanyard,
    b: &reqwest::Client,
    id: &str,
    action: &str,
) -> reqwest::Response {
    let csrf = csrf_of(&l.text(b, &format!("/requests/{id}")).await);
    b.post(l.at(&format!("/requests/{id}")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", action),
            ("comment", "looks right"),
        ])
        .send()
        .await
        .unwrap()
}

/// What `/v1/authorize` answers `token` asking to start a deployment (which `prod-ops`
/// allows): the status and the body.
pub(crate) async fn deploy(l: &Lanyard, token: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(l.at("/v1/authorize"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "action": "deploy:StartDeployment",
            "resource": "arn:lanyard:deploy:::service/api"
        }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

pub(crate) fn claims_of(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_request_is_approved_with_a_fresh_code_and_its_role_ends_with_the_window_in_chromium() {
    let (l, seen, _keys) = start().await;

    // The requester, scripts off: the picker offers viewer, and prod-admin to request.
    let rita = Page::open("requests_rita").await;
    scripts(&rita, false).await;
    rita.goto(&l.at("/auth/corp")).await;
    rita.fill("username", "rita").await;
    rita.fill("password", "rita-pw").await;
    rita.click("form[method=post] button[type=submit]").await;
    rita.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;
    rita.wait_for_text("Roles that need approval").await;
    let text = rita.text().await;
    assert!(
        text.contains("viewer") && text.contains("prod-admin"),
        "{text}"
    );
    rita.click("#req-1 + p + details > summary").await;
    shot(&rita, "picker-request-form").await;
    rita.fill("reason", "deploy the hotfix").await;
    rita.fill("ticket", "OPS-42").await;
    rita.click("form[action=\"/requests\"] button[type=submit]")
        .await;
    let at = rita
        .wait_for_url("the request's page", |u| u.path().starts_with("/requests/"))
        .await;
    rita.wait_for_text("Your request was sent to the approvers")
        .await;
    rita.wait_for_text("Waiting for approval").await;
    let text = rita.text().await;
    assert!(
        !text.contains("Approve"),
        "no decision for the requester: {text}"
    );
    let id = at.path().trim_start_matches("/requests/").to_owned();

    // The approvers hear of it, signed, with a link to the page.
    let hook = notification(&seen, "access_request.requested").await;
    assert_eq!(hook["request"]["id"], id.as_str());
    assert_eq!(hook["request"]["reason"], "deploy the hotfix");
    assert_eq!(hook["request"]["ticket"], "OPS-42");
    assert_eq!(hook["request"]["duration_secs"], 3600);
    let link = hook["url"].as_str().unwrap().to_owned();
    assert_eq!(link, l.at(&format!("/requests/{id}")));

    // Ann signed in with her code; eleven minutes later it is too old to decide with.
    let ann = Page::open("requests_ann").await;
    scripts(&ann, false).await;
    ann.goto(&l.at("/auth/corp")).await;
    ann.fill("username", "ann").await;
    ann.fill("password", "ann-pw").await;
    ann.fill("otp", &code(&l, ANN_TOTP)).await;
    ann.click("form[method=post] button[type=submit]").await;
    ann.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;
    l.clock.advance(Duration::from_secs(660));

    ann.goto(&link).await;
    ann.wait_for_text("rita asks for the role prod-admin for 1 hour")
        .await;
    let text = ann.text().await;
    for shown in [
        "deploy the hotfix",
        "OPS-42",
        "deploy:Start*",
        "arn:lanyard:deploy:::service/*",
        "You will be asked to confirm your second factor first",
    ] {
        assert!(text.contains(shown), "{shown}: {text}");
    }
    shot(&ann, "request-page").await;
    ann.fill("comment", "go ahead").await;
    ann.click("button[name=action][value=approve]").await;
    ann.wait_for_text("Confirm with your one-time code").await;
    ann.wait_for_text("Deciding on the access request for prod-admin")
        .await;
    shot(&ann, "step-up-code").await;
    ann.fill("otp", &code(&l, ANN_TOTP)).await;
    ann.click("form[action=\"/step-up/code\"] button[type=submit]")
        .await;
    ann.wait_for_text("Your second factor is confirmed").await;
    // The request's own page again (the step-up's single-use answer redirected there), its
    // forms posting to it, the comment typed before the step-up given back; a reload
    // keeps both.
    assert_eq!(
        ann.url().await.path(),
        format!("/requests/{id}"),
        "{}",
        ann.url().await
    );
    for _ in 0..2 {
        let html = ann.html().await;
        assert!(
            html.contains(&format!("action=\"/requests/{id}\"")),
            "{html}"
        );
        assert!(
            html.contains(">go ahead</textarea>"),
            "the comment is kept: {html}"
        );
        ann.reload().await;
        ann.wait_for_text("Your second factor is confirmed").await;
    }
    shot(&ann, "request-after-step-up").await;
    ann.click("button[name=action][value=approve]").await;
    ann.wait_for_text("You approved this request").await;
    let text = ann.text().await;
    assert!(
        text.contains("ann approved") && text.contains("go ahead"),
        "{text}"
    );
    let approved = notification(&seen, "access_request.approved").await;
    let ends = approved["request"]["ends_ms"].as_i64().unwrap() / 1000;

    // The list of requests, for the approver.
    ann.goto(&l.at("/requests")).await;
    ann.wait_for_text("Requests you may decide on").await;
    assert!(ann.text().await.contains("prod-admin"));
    shot(&ann, "requests-list").await;
    ann.close().await;

    // Listing the picker twice uses nothing up.
    rita.goto(&l.at("/roles")).await;
    rita.wait_for_text("Approved: your session ends by").await;
    rita.goto(&l.at("/roles")).await;
    rita.goto(&link).await;
    rita.wait_for_text("Approved").await;
    assert!(!rita.text().await.contains("Approved, in use"));

    // Half the window later, she picks the role: its credentials end with the window.
    l.clock.advance(Duration::from_secs(1800));
    rita.goto(&l.at("/roles")).await;
    rita.wait_for_text("Approved: your session ends by").await;
    shot(&rita, "picker-approved").await;
    crate::admin_console::pick(&rita, "prod-admin").await;
    let token = crate::browser::shown_token(&rita).await;
    let claims = claims_of(&token);
    assert_eq!(claims["role"], "prod-admin");
    assert_eq!(claims["sub"], "corp:rita");
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp <= ends, "exp {exp} after the window's end {ends}");
    assert_eq!(exp, ends, "an hour asked, the half hour left given");
    rita.goto(&link).await;
    rita.wait_for_text("Approved, in use").await;
    // The token works for what prod-ops allows, until the window's end; then it is refused.
    let authorize = || deploy(&l, &token);
    let (status, decided) = authorize().await;
    assert_eq!(status, 200, "{decided}");
    assert!(decided.contains("\"Allow\""), "{decided}");
    l.clock.advance(Duration::from_secs(1800));
    let (status, refused) = authorize().await;
    assert_eq!(status, 401, "past the window's end: {refused}");
    rita.close().await;
}

#[tokio::test]
async fn the_comment_typed_before_a_step_up_is_given_back_and_the_decision_waits_for_it() {
    let (l, _seen, _keys) = start().await;
    let rita = signed_in(&l, "rita", None).await;
    let id = asked(&l, &rita, "prod-admin").await;
    let ann = signed_in(&l, "ann", Some(code(&l, ANN_TOTP))).await;
    l.clock.advance(Duration::from_secs(660));
    let page = format!("/requests/{id}");
    // A comment longer than the form's limit is refused before any step-up.
    let csrf = csrf_of(&l.text(&ann, &page).await);
    let long = "x".repeat(1001);
    let r = ann
        .post(l.at(&page))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "approve"),
            ("comment", &long),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(!r.text().await.unwrap().contains("/step-up/code"));
    // Approve with a comment and a stale second factor: the code form first.
    let r = act(&l, &ann, &id, "approve").await;
    assert_eq!(r.status(), 200);
    let form = r.text().await.unwrap();
    assert!(
        form.contains("Deciding on the access request for <strong>prod-admin</strong>"),
        "{form}"
    );
    assert!(form.contains(&format!("href=\"{page}\"")), "cancel: {form}");
    let csrf = csrf_of(&form);
    let otp = code(&l, ANN_TOTP);
    let r = ann
        .post(l.at("/step-up/code"))
        .form(&[("csrf", csrf.as_str()), ("otp", otp.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let answer = location(&r);
    // The answer, used once, sends the browser on to the request's own page.
    let r = ann.get(l.at(&answer)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let back = location(&r);
    assert_eq!(back, format!("{page}?done=confirmed"));
    let r = ann.get(l.at(&answer)).send().await.unwrap();
    assert_eq!(r.status(), 400, "the answer is single use");
    let html = l.text(&ann, &back).await;
    assert!(html.contains("Your second factor is confirmed"), "{html}");
    assert!(
        html.contains(">looks right</textarea>"),
        "the comment kept: {html}"
    );
    assert!(html.contains(&format!("action=\"{page}\"")), "{html}");
    // Kept for this session only: another approver's page says nothing of it.
    let other = l.text(&rita, &back).await;
    assert!(!other.contains("looks right"), "{other}");
    // Nothing was decided yet: the request waits for the approver's press.
    let shown = l.text(&rita, &page).await;
    assert!(!shown.contains("<strong>ann</strong> approved"), "{shown}");
    let csrf = csrf_of(&html);
    let r = ann
        .post(l.at(&page))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "approve"),
            ("comment", "looks right"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let shown = l.text(&rita, &page).await;
    assert!(
        shown.contains("<strong>ann</strong> approved") && shown.contains("“looks right”"),
        "{shown}"
    );
}

#[tokio::test]
async fn nobody_approves_their_own_request() {
    let (l, _seen, _keys) = start().await;
    // Ann may approve prod-admin, but not her own request, even with a fresh code.
    let ann = signed_in(&l, "ann", Some(code(&l, ANN_TOTP))).await;
    let id = asked(&l, &ann, "prod-admin").await;
    let page = l.text(&ann, &format!("/requests/{id}")).await;
    assert!(page.contains("Waiting for approval"), "{page}");
    assert!(
        !page.contains("value=\"approve\""),
        "no Approve button: {page}"
    );
    assert!(page.contains("value=\"withdraw\""), "{page}");
    let r = act(&l, &ann, &id, "approve").await;
    assert_eq!(r.status(), 403);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("You cannot approve or deny your own request"),
        "{body}"
    );
    assert!(!body.contains("Forbidden"), "no reason phrase: {body}");
    let page = l.text(&ann, &format!("/requests/{id}")).await;
    assert!(page.contains("Nobody has decided yet"), "{page}");
    // She may withdraw it.
    let r = act(&l, &ann, &id, "withdraw").await;
    assert_eq!(r.status(), 303);
    let page = l.text(&ann, &format!("/requests/{id}")).await;
    assert!(page.contains("Withdrawn or revoked"), "{page}");
}

#[tokio::test]
async fn two_approvals_need_two_different_people() {
    let (l, _seen, _keys) = start().await;
    let rita = signed_in(&l, "rita", None).await;
    let id = asked(&l, &rita, "prod-db").await;
    let ann = signed_in(&l, "ann", Some(code(&l, ANN_TOTP))).await;
    assert_eq!(act(&l, &ann, &id, "approve").await.status(), 303);
    let page = l.text(&ann, &format!("/requests/{id}")).await;
    assert!(page.contains("(1 of 2 approvals)"), "{page}");
    assert!(page.contains("Waiting for approval"), "{page}");
    assert!(
        !page.contains("value=\"approve\""),
        "decided already: {page}"
    );
    // The same approver again is refused.
    let csrf = csrf_of(&page);
    let r = ann
        .post(l.at(&format!("/requests/{id}")))
        .form(&[("csrf", csrf.as_str()), ("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("You have decided on this request already")
    );
    // rita's picker still waits.
    let picker = l.text(&rita, "/roles").await;
    assert!(picker.contains("Waiting for approval"), "{picker}");
    // A second person opens the window.
    let ben = signed_in(&l, "ben", Some(code(&l, BEN_TOTP))).await;
    assert_eq!(act(&l, &ben, &id, "approve").await.status(), 303);
    let page = l.text(&rita, &format!("/requests/{id}")).await;
    assert!(
        page.contains("(2 of 2 approvals)") && page.contains("Approved"),
        "{page}"
    );
    let picker = l.text(&rita, "/roles").await;
    assert!(picker.contains("value=\"prod-db\""), "assumable: {picker}");
    let r = l.choose(&rita, &picker, "prod-db", 900).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (token, _) = l.credentials(&rita).await;
    assert_eq!(claims_of(&token)["role"], "prod-db");
    // An approver revokes it: the role cannot be picked any more.
    assert_eq!(act(&l, &ben, &id, "revoke").await.status(), 303);
    let r = l.choose(&rita, &picker, "prod-db", 900).await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_denial_closes_the_request() {
    let (l, _seen, _keys) = start().await;
    let rita = signed_in(&l, "rita", None).await;
    let id = asked(&l, &rita, "prod-admin").await;
    let ann = signed_in(&l, "ann", Some(code(&l, ANN_TOTP))).await;
    let r = act(&l, &ann, &id, "deny").await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).ends_with("?done=denied"));
    let page = l.text(&rita, &format!("/requests/{id}")).await;
    assert!(
        page.contains("Denied") && page.contains("<strong>ann</strong> denied"),
        "{page}"
    );
    assert!(!page.contains("value=\"withdraw\""), "closed: {page}");
    // Closed: no more decisions; the role can be asked for again; it is not granted.
    let ben = signed_in(&l, "ben", Some(code(&l, BEN_TOTP))).await;
    let csrf = csrf_of(&l.text(&ben, &format!("/requests/{id}")).await);
    let r = ben
        .post(l.at(&format!("/requests/{id}")))
        .form(&[("csrf", csrf.as_str()), ("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("cannot be changed any more")
    );
    let picker = l.text(&rita, "/roles").await;
    assert!(!picker.contains("Waiting for approval"), "{picker}");
    assert!(
        picker.contains("action=\"/requests\""),
        "the form again: {picker}"
    );
    let r = l.choose(&rita, &picker, "prod-admin", 900).await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn forms_without_their_csrf_token_change_nothing() {
    let (l, _seen, _keys) = start().await;
    let rita = signed_in(&l, "rita", None).await;
    let r = rita
        .post(l.at("/requests"))
        .form(&[
            ("role", "prod-admin"),
            ("duration", "3600"),
            ("reason", "x"),
            ("ticket", "OPS-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let picker = l.text(&rita, "/roles").await;
    assert!(!picker.contains("Waiting for approval"), "{picker}");
    let id = asked(&l, &rita, "prod-admin").await;
    let ann = signed_in(&l, "ann", Some(code(&l, ANN_TOTP))).await;
    for csrf in ["", "forged"] {
        let r = ann
            .post(l.at(&format!("/requests/{id}")))
            .form(&[("csrf", csrf), ("action", "approve")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    let page = l.text(&ann, &format!("/requests/{id}")).await;
    assert!(page.contains("Nobody has decided yet"), "{page}");
}

#[tokio::test]
async fn a_refused_request_comes_back_with_the_problem_next_to_its_field() {
    let (l, _seen, _keys) = start().await;
    let rita = signed_in(&l, "rita", None).await;
    let r = ask(
        &l,
        &rita,
        "prod-admin",
        (3600, "deploy <b>now</b>", "JIRA-1"),
    )
    .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("The ticket must match OPS-[0-9]+"), "{html}");
    assert!(html.contains("id=\"req-1-ticket-error\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    assert!(html.contains("value=\"JIRA-1\""), "the ticket kept: {html}");
    assert!(
        html.contains("deploy &#60;b&#62;now&#60;/b&#62;"),
        "the reason kept, escaped: {html}"
    );
    assert!(html.contains("<details open>"), "{html}");
    let r = ask(&l, &rita, "prod-admin", (3600, "  ", "OPS-1")).await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Say why you need this role")
    );
    let r = ask(&l, &rita, "prod-admin", (7200, "why", "OPS-1")).await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Choose a length between 15 minutes and 1 hour")
    );
    // A role that needs no approval, and one that does not exist, are not requested.
    for role in ["viewer", "nope"] {
        let r = ask(&l, &rita, role, (900, "why", "OPS-1")).await;
        assert_eq!(r.status(), 403, "{role}");
    }
    // A second open request for the same role is refused, naming the first.
    let id = asked(&l, &rita, "prod-admin").await;
    let r = ask(&l, &rita, "prod-admin", (900, "again", "OPS-2")).await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("You have an open request for this role already"),
        "{html}"
    );
    assert!(html.contains(&format!("/requests/{id}")), "{html}");
}

#[tokio::test]
async fn refusal_pages_say_where_to_go() {
    let (l, _seen, _keys) = start().await;
    let rita = signed_in(&l, "rita", None).await;
    let id = asked(&l, &rita, "prod-admin").await;
    for path in [
        "/requests/not-an-id".to_owned(),
        "/requests/0b6c3a52-4c1e-4d4f-9a57-0f4e3c6b2a10".to_owned(),
    ] {
        let r = rita.get(l.at(&path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains("There is no access request at this address"),
            "{body}"
        );
        assert!(body.contains("href=\"/requests\""), "{body}");
        assert!(!body.contains("Not Found"), "{body}");
    }
    // carl may ask for the role, not see or decide on rita's request.
    let carl = signed_in(&l, "carl", None).await;
    let r = carl
        .get(l.at(&format!("/requests/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("You may not see or decide on requests")
    );
    let r = act(&l, &rita, &id, "revoke").await;
    assert_eq!(r.status(), 409, "nothing approved to revoke");
    // Signed out: to sign in, and back to the request after.
    let r = browser()
        .get(l.at(&format!("/requests/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/signin?return_to=%2Frequests%2F"));
    // The list: rita's own, and nothing to decide; ann's: rita's to decide.
    let list = l.text(&rita, "/requests").await;
    assert!(list.contains("No request waits for you"), "{list}");
    assert!(list.contains(&format!("/requests/{id}")), "{list}");
    let ann = signed_in(&l, "ann", Some(code(&l, ANN_TOTP))).await;
    let list = l
        .text(&ann, "/requests?state=pending&role=prod-admin")
        .await;
    assert!(list.contains(&format!("/requests/{id}")), "{list}");
    let list = l.text(&ann, "/requests?state=denied").await;
    assert!(!list.contains(&format!("/requests/{id}")), "{list}");
}

/// Signs `b` (rita, signed in) in to the public client `cli` with the role `role`; the
/// token endpoint's answer.
async fn through_the_client(l: &Lanyard, b: &reqwest::Client, role: &str) -> serde_json::Value {
    use crate::oidc_provider::{authorize_url, pkce, query, run_authorize, token};
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        l,
        "cli",
        CLI_REDIRECT,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let back = run_authorize(l, b, &url, "rita", Some(role)).await;
    let code = query(&back, "code").unwrap_or_else(|| panic!("a code: {back}"));
    let (status, answer) = token(
        l,
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
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn an_approved_role_reaches_an_application_only_within_its_window() {
    let (l, _seen, _keys) = start().await;
    let rita = signed_in(&l, "rita", None).await;
    // Not approved: the application is offered the one role rita holds outright, straight on.
    let answer = through_the_client(&l, &rita, "prod-admin").await;
    let access = answer["access_token"].as_str().unwrap();
    assert_eq!(claims_of(access)["role"], "viewer");
    let id = asked(&l, &rita, "prod-admin").await;
    let ann = signed_in(&l, "ann", Some(code(&l, ANN_TOTP))).await;
    assert_eq!(act(&l, &ann, &id, "approve").await.status(), 303);
    // Approved: the application's picker lists it (no request form amid a sign-in), and
    // choosing it gives the application a token that ends with the window.
    l.clock.advance(Duration::from_secs(600));
    let answer = through_the_client(&l, &rita, "prod-admin").await;
    let access = answer["access_token"].as_str().unwrap();
    let claims = claims_of(access);
    assert_eq!(claims["role"], "prod-admin");
    assert_eq!(claims["client_id"], "cli");
    let ends = T0 + 3600;
    assert_eq!(claims["exp"].as_i64().unwrap(), ends, "{claims}");
    // A refresh late in the window gets only what is left of it; none after it.
    let refresh = answer["refresh_token"].as_str().expect("a refresh token");
    l.clock.advance(Duration::from_secs(2400));
    let (status, renewed) = crate::oidc_provider::token(
        &l,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "cli"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    let exp = claims_of(renewed["access_token"].as_str().unwrap())["exp"]
        .as_i64()
        .unwrap();
    assert!(exp <= ends, "exp {exp} after the window's end {ends}");
    l.clock.advance(Duration::from_secs(700));
    let next = renewed["refresh_token"].as_str().unwrap_or(refresh);
    let (status, refused) = crate::oidc_provider::token(
        &l,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", next),
            ("client_id", "cli"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_grant", "{refused}");
    // A role the application may not receive is not offered through it even when approved.
    let id = asked(&l, &rita, "prod-db").await;
    let ben = signed_in(&l, "ben", Some(code(&l, BEN_TOTP))).await;
    let ann = signed_in(&l, "ann", Some(code(&l, ANN_TOTP))).await;
    assert_eq!(act(&l, &ann, &id, "approve").await.status(), 303);
    assert_eq!(act(&l, &ben, &id, "approve").await.status(), 303);
    let (_, challenge) = crate::oidc_provider::pkce();
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let url = crate::oidc_provider::authorize_url(&l, "cli", CLI_REDIRECT, &pkce);
    let r = rita.get(&url).send().await.unwrap();
    let to = location(&r);
    let to = if to.starts_with('/') { l.at(&to) } else { to };
    let picker = rita.get(&to).send().await.unwrap().text().await.unwrap();
    assert!(!picker.contains("value=\"prod-db\""), "{picker}");
    assert!(!picker.contains("Request access"), "{picker}");
}

#[tokio::test]
async fn an_approved_role_is_chosen_on_the_device_page_for_a_terminal() {
    let (l, _seen, _keys) = start().await;
    let rita = signed_in(&l, "rita", None).await;
    let id = asked(&l, &rita, "prod-admin").await;
    let ann = signed_in(&l, "ann", Some(code(&l, ANN_TOTP))).await;
    assert_eq!(act(&l, &ann, &id, "approve").await.status(), 303);
    l.clock.advance(Duration::from_secs(900));
    // `lanyard login --role prod-admin` on a machine without a browser: the device grant.
    let started: serde_json::Value = reqwest::Client::new()
        .post(l.at("/oauth2/device_authorization"))
        .form(&[("client_id", "cli"), ("scope", "openid")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_code = started["user_code"].as_str().expect("a user code");
    let device_code = started["device_code"].as_str().unwrap();
    let device = |fields: Vec<(&'static str, String)>| {
        let (l, rita) = (&l, &rita);
        async move {
            let csrf = csrf_of(&l.text(rita, "/device").await);
            let mut form = vec![("csrf", csrf)];
            form.extend(fields);
            let r = rita.post(l.at("/device")).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, confirm) = device(vec![
        ("user_code", user_code.to_owned()),
        ("action", "continue".to_owned()),
    ])
    .await;
    assert_eq!(status, 200, "{confirm}");
    assert!(confirm.contains("value=\"prod-admin\""), "{confirm}");
    assert!(
        confirm.contains("Approved: your session ends by"),
        "the window's end is said, as on the picker: {confirm}"
    );
    let (status, done) = device(vec![
        ("user_code", user_code.to_owned()),
        ("action", "approve".to_owned()),
        ("role", "prod-admin".to_owned()),
        ("duration.prod-admin", "3600".to_owned()),
    ])
    .await;
    assert_eq!(status, 200, "{done}");
    let tokens: serde_json::Value = reqwest::Client::new()
        .post(l.at("/oauth2/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", "cli"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{tokens}"));
    let claims = claims_of(access);
    assert_eq!(claims["role"], "prod-admin");
    let ends = T0 + 3600;
    assert_eq!(claims["exp"].as_i64().unwrap(), ends, "{claims}");
    // It works, until the request is revoked: then it is refused at once.
    let authorize = || deploy(&l, access);
    let (status, decided) = authorize().await;
    assert_eq!(status, 200, "{decided}");
    assert!(decided.contains("\"Allow\""), "{decided}");
    assert_eq!(act(&l, &ann, &id, "revoke").await.status(), 303);
    let (status, refused) = authorize().await;
    assert_eq!(status, 401, "{refused}");
}

#[tokio::test]
async fn break_glass_opens_the_role_at_once_with_a_reason_and_tells_the_approvers() {
    let (l, seen, _keys) = start().await;
    let rita = signed_in(&l, "rita", None).await;
    let glass = |reason: &'static str| {
        let (l, rita) = (&l, &rita);
        async move {
            let csrf = csrf_of(&l.text(rita, "/roles").await);
            rita.post(l.at("/requests"))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("role", "prod-glass"),
                    ("duration", "1800"),
                    ("reason", reason),
                    ("ticket", ""),
                    ("break_glass", "on"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // The picker offers it as break-glass.
    let picker = l.text(&rita, "/roles").await;
    assert!(picker.contains("prod-glass"), "{picker}");
    // Without a reason: refused on the form, nothing stored.
    let r = glass("").await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("Say why you need this role."), "{page}");
    // With one: approved by herself at once, the approvers told, the role hers to pick.
    let r = glass("the database is down and the on-call lead is unreachable").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let hook = notification(&seen, "access_request.break_glass").await;
    assert_eq!(hook["request"]["break_glass"], true, "{hook}");
    assert_eq!(hook["request"]["role"], "prod-glass", "{hook}");
    let picker = l.text(&rita, "/roles").await;
    assert!(
        picker.contains("value=\"prod-glass\""),
        "assumable: {picker}"
    );
    let r = l.choose(&rita, &picker, "prod-glass", 1800).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (token, _) = l.credentials(&rita).await;
    let claims = claims_of(&token);
    assert_eq!(claims["role"], "prod-glass");
    assert!(claims["exp"].as_i64().unwrap() <= T0 + 1800, "{claims}");
    // A role without break-glass cannot be approved by its requester that way.
    let csrf = csrf_of(&l.text(&rita, "/roles").await);
    let r = rita
        .post(l.at("/requests"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("role", "prod-admin"),
            ("duration", "1800"),
            ("reason", "in a hurry"),
            ("ticket", "OPS-1"),
            ("break_glass", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("does not allow break-glass access"), "{page}");
}
