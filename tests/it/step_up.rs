//! Step-up MFA per role (issue 17): a role that needs a second factor, or a recent one
//! (`aws:MultiFactorAuthAge`), is offered to a session that lacks it, marked on the picker;
//! choosing it signs the person in again — with the `oidc-provider` peer (`prompt=login`,
//! `max_age=0`, the MFA `acr_values`; the peer asks for a second step only when that acr is
//! asked), with the pysaml2 IdP in Chromium (`ForceAuthn` and `RequestedAuthnContext`; the
//! IdP keeps a session and re-prompts only when forced), and with a local user's one-time
//! code in Chromium (axe-checked). An answer without the second factor, or from another
//! person, is refused and leaves the session as it was.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lanyard::clock::{ManualClock, UnixTime};
use lanyard::connectors::totp::Totp;
use lanyard::secret::Secret;

use crate::admin_console::scripts;
use crate::chromium::Page;
use crate::harness::{
    Lanyard, T0, browser, cheap_hash, continue_url, csrf_of, memory_store, start_public,
    start_public_on, start_with,
};
use crate::oidc_interop::{Op, provider, real_now, start_op};
use crate::saml_support::{Idp, IdpOptions, fixture, lanyard_toml};
use crate::upstream::{broker_text, location, param, to_lanyard, with_param};

/// What the picker says of a role that needs a step-up.
const MARK: &str = "Needs a second factor: you will be asked to sign in again.";

/// A role for `principal` (with `action`) needing group `group`, MFA and `extra` conditions.
fn role(name: &str, (principal, action): (&str, &str), group: &str, extra: &str) -> String {
    format!(
        "[[roles]]\nname = \"{name}\"\ntrust_policy = {{ Version = \"2012-10-17\", Statement = [{{ \
         Effect = \"Allow\", Principal = {{ Federated = \"{principal}\" }}, Action = \"{action}\", \
         Condition = {{ {extra}\"ForAnyValue:StringEquals\" = {{ \"idp:groups\" = [\"{group}\"] }} }} }}] }}\n"
    )
}

const MFA: &str = "\"Bool\" = { \"aws:MultiFactorAuthPresent\" = \"true\" }, ";

fn claims_of(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

// --- the local directory: a one-time code --------------------------------------------------

/// `root` has TOTP and is in `admins`; `dave` is in `admins` without TOTP. `viewer` needs
/// nothing more; `breakglass` needs MFA; `prod-write` needs MFA within the last 5 minutes.
/// The command line (`lanyard-cli`, the device grant) may receive all three.
fn local_config(secret_file: &std::path::Path, keys: &std::path::Path) -> String {
    let local = ("corp", "sts:AssumeRole");
    let fresh = "\"Bool\" = { \"aws:MultiFactorAuthPresent\" = \"true\" }, \
                 \"NumericLessThanEquals\" = { \"aws:MultiFactorAuthAge\" = \"300\" }, ";
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
         [sessions]\nstore = \"memory\"\n\
         [tokens]\nalgorithm = \"ES256\"\nkeys_dir = \"{keys}\"\n\
         [[providers]]\nid = \"corp\"\nkind = \"local\"\ndisplay_name = \"Corp directory\"\n\
         [[providers.users]]\nusername = \"root\"\npassword_hash = \"{root}\"\n\
         groups = [\"admins\"]\ntotp_secret_file = \"{secret}\"\n\
         [[providers.users]]\nusername = \"dave\"\npassword_hash = \"{dave}\"\ngroups = [\"admins\"]\n\
         {}{}{}\
         [[clients]]\nid = \"lanyard-cli\"\nname = \"Lanyard command line\"\npublic = true\n\
         grant_types = [\"device_code\"]\nallowed_roles = [\"viewer\", \"breakglass\", \"prod-write\"]\n",
        role("viewer", local, "admins", ""),
        role("breakglass", local, "admins", MFA),
        role("prod-write", local, "admins", fresh),
        keys = keys.display(),
        secret = secret_file.display(),
        root = cheap_hash("root-pw"),
        dave = cheap_hash("dave-pw"),
    )
}

/// A Lanyard on its real address with [`local_config`], at [`T0`], and root's
/// authenticator.
async fn local() -> (Lanyard, Totp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let file = dir.path().join("root.totp");
    std::fs::write(&file, secret).unwrap();
    let totp = Totp::from_base32(&Secret::new(secret)).unwrap();
    let text = local_config(&file, &dir.path().join("keys"));
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let l = start_public(&text, memory_store(&clock), clock).await;
    (l, totp, dir)
}

/// A code other than `good`.
fn wrong(good: &str) -> &'static str {
    if good == "000000" { "111111" } else { "000000" }
}

#[tokio::test]
async fn an_old_second_factor_is_asked_again_with_a_one_time_code_in_chromium() {
    let (l, totp, _dir) = local().await;
    let page = Page::open("step_up_code").await;
    page.goto(&l.at("/auth/corp")).await;
    page.fill("username", "root").await;
    page.fill("password", "root-pw").await;
    page.fill("otp", &totp.code_at(UnixTime::from_secs(T0)))
        .await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;
    // Fresh MFA: every role, none marked.
    let text = page.text().await;
    assert!(
        text.contains("prod-write") && !text.contains(MARK),
        "{text}"
    );

    // Ten minutes on, the code is too old for prod-write, which is offered with the mark.
    l.clock.advance(Duration::from_secs(600));
    page.goto(&l.at("/roles")).await;
    page.wait_for_text(MARK).await;
    let html = page.html().await;
    let at = html
        .find("value=\"prod-write\"")
        .expect("prod-write is offered");
    let row_end = at + html[at..].find("</div>").unwrap();
    assert!(html[at..row_end].contains(MARK), "marked: {html}");
    assert!(
        html.matches(MARK).count() == 1,
        "only prod-write is marked: {html}"
    );
    let problems = page.accessibility_problems().await;
    assert!(problems.is_empty(), "axe on the picker: {problems:?}");

    page.click("input[name=role][value=\"prod-write\"]").await;
    page.click("form[action=\"/roles\"][method=post] > button[type=submit]")
        .await;
    page.wait_for_text("Confirm with your one-time code").await;
    let text = page.text().await;
    assert!(
        text.contains("prod-write") && text.contains("root"),
        "{text}"
    );
    let problems = page.accessibility_problems().await;
    assert!(problems.is_empty(), "axe on the code form: {problems:?}");
    page.shot("code-form").await;

    // A wrong code: the form again, saying so.
    let now = UnixTime::from_secs(T0 + 600);
    let good = totp.code_at(now);
    page.fill("otp", wrong(&good)).await;
    page.click("form[action=\"/step-up/code\"] button[type=submit]")
        .await;
    page.wait_for_text("That code is incorrect").await;
    let problems = page.accessibility_problems().await;
    assert!(problems.is_empty(), "axe on the refused code: {problems:?}");

    page.fill("otp", &good).await;
    page.click("form[action=\"/step-up/code\"] button[type=submit]")
        .await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;
    page.wait_for_text("prod-write").await;

    // The session's MFA is fresh again: nothing is marked now.
    page.goto(&l.at("/roles")).await;
    page.wait_for_text("breakglass").await;
    assert!(!page.text().await.contains(MARK));
    page.close().await;
}

/// Signs `user` in to the local directory with `otp`; the picker's HTML.
async fn local_picker(l: &Lanyard, b: &reqwest::Client, user: &str, otp: Option<&str>) -> String {
    let html = l.text(b, "/auth/corp").await;
    let csrf = csrf_of(&html);
    let password = format!("{user}-pw");
    let mut fields = vec![("username", user), ("password", &password), ("csrf", &csrf)];
    if let Some(otp) = otp {
        fields.push(("otp", otp));
    }
    let r = b
        .post(l.at("/auth/corp"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn a_user_without_a_second_factor_is_told_so_and_keeps_the_session() {
    let (l, _totp, _dir) = local().await;
    let b = browser();
    let html = local_picker(&l, &b, "dave", None).await;
    // breakglass and prod-write are offered, marked; viewer is granted now.
    assert!(html.contains("value=\"viewer\""), "{html}");
    assert!(html.contains("value=\"breakglass\""), "{html}");
    assert_eq!(html.matches(MARK).count(), 2, "{html}");
    let r = l.choose(&b, &html, "breakglass", 900).await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Corp directory cannot ask you for a second factor"),
        "{page}"
    );
    // Nothing changed: the picker is as it was, the granted role still works.
    let html = l.text(&b, "/roles").await;
    assert_eq!(html.matches(MARK).count(), 2);
    assert_eq!(l.choose(&b, &html, "viewer", 900).await.status(), 303);
}

#[tokio::test]
async fn a_code_form_is_single_use_and_bound_to_its_browser() {
    let (l, totp, _dir) = local().await;
    let b = browser();
    local_picker(&l, &b, "root", Some(&totp.code_at(UnixTime::from_secs(T0)))).await;
    l.clock.advance(Duration::from_secs(600));
    let html = l.text(&b, "/roles").await;
    let r = l.choose(&b, &html, "prod-write", 900).await;
    assert_eq!(r.status(), 200);
    let form = r.text().await.unwrap();
    let csrf = csrf_of(&form);
    let good = totp.code_at(UnixTime::from_secs(T0 + 600));
    // Another browser (no binding cookie, no session) cannot use it.
    let other = browser();
    let r = other
        .post(l.at("/step-up/code"))
        .form(&[("csrf", csrf.as_str()), ("otp", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("has expired or was already used")
    );
    // Its own browser can, once.
    let r = b
        .post(l.at("/step-up/code"))
        .form(&[("csrf", csrf.as_str()), ("otp", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let answer = location(&r);
    assert!(answer.starts_with("/step-up/"), "{answer}");
    // Another browser's session cannot use the answer (it has none: it is sent to sign
    // in, and the answer stays for its own browser).
    let r = other.get(l.at(&answer)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = b.get(l.at(&answer)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/credentials");
    let (token, _) = l.credentials(&b).await;
    let claims = claims_of(&token);
    assert_eq!(claims["role"], "prod-write");
    // Used: the same answer and the same form again are refused.
    let r = b.get(l.at(&answer)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = b
        .post(l.at("/step-up/code"))
        .form(&[("csrf", csrf.as_str()), ("otp", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

// --- the oidc-provider peer ------------------------------------------------------------------

/// Lanyard with the peer as provider `op` (userinfo, `mfa_acr_values = ["urn:test:mfa"]`),
/// the upstream tests' roles, and `ops`: engineering with MFA.
async fn with_op(op: &Op) -> (Lanyard, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let providers = provider(
        op,
        "fetch_userinfo = true\nmfa_acr_values = [\"urn:test:mfa\"]",
    );
    let text = format!(
        "{}\n{}",
        broker_text(&providers, &["op"], keys.path()),
        role(
            "ops",
            ("op", "sts:AssumeRoleWithWebIdentity"),
            "engineering",
            MFA
        ),
    );
    let clock = ManualClock::new(UnixTime::from_secs(real_now()));
    let l = start_with(&text, memory_store(&clock), clock).await;
    (l, keys)
}

fn absolute(base: &str, loc: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(loc)
        .unwrap()
        .to_string()
}

/// The provider's authorization request `authorize` → its login (as `user`; `otp` when
/// its second step asks for one) → the callback URL it sends the browser to.
async fn at_op(b: &reqwest::Client, authorize: &str, user: &str, otp: Option<&str>) -> String {
    let r = b.get(authorize).send().await.unwrap();
    assert!(r.status().is_redirection(), "authorize: {}", r.status());
    let interaction = with_param(&absolute(authorize, &location(&r)), "user", user);
    let mut r = b.get(&interaction).send().await.unwrap();
    if let Some(otp) = otp {
        assert_eq!(r.status(), 200, "the provider asks for a second step");
        let page = r.text().await.unwrap();
        assert!(page.contains("Second factor for"), "{page}");
        r = b
            .get(with_param(&interaction, "otp", otp))
            .send()
            .await
            .unwrap();
    }
    assert!(
        r.status().is_redirection(),
        "login: {} {}",
        r.status(),
        r.text().await.unwrap()
    );
    let r = b
        .get(absolute(authorize, &location(&r)))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "resume: {}", r.status());
    location(&r)
}

/// Signs `user` in through the peer (password only for bob); the picker's HTML.
async fn op_picker(l: &Lanyard, b: &reqwest::Client, user: &str) -> String {
    let start = b.get(l.at("/auth/op")).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let callback = at_op(b, &location(&start), user, None).await;
    let r = b.get(to_lanyard(l, &callback)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// Chooses `role`, which needs a step-up: where the page that continues to the provider
/// sends the browser (a redirect off-site after the POST would be blocked by the CSP).
async fn step_up_at(l: &Lanyard, b: &reqwest::Client, html: &str, role: &str) -> String {
    let r = l.choose(b, html, role, 900).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("needs a second factor"), "{page}");
    continue_url(&page).unwrap_or_else(|| panic!("a page that continues: {page}"))
}

/// The last authorization request the peer saw: (`prompt`, `max_age`, `acr_values`).
async fn last_authorization(op: &Op) -> serde_json::Value {
    let stats: serde_json::Value = reqwest::get(format!("{}/__test/stats", op.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["last_authorization"].clone()
}

#[tokio::test]
async fn through_the_oidc_provider_a_password_session_steps_up_with_the_mfa_acr() {
    let op = start_op().await;
    let (l, _keys) = with_op(&op).await;
    let b = browser();
    let html = op_picker(&l, &b, "bob").await;
    assert!(
        html.contains("value=\"ops\"") && html.contains(MARK),
        "{html}"
    );

    let authorize = step_up_at(&l, &b, &html, "ops").await;
    assert!(authorize.starts_with(&op.issuer), "{authorize}");
    assert_eq!(param(&authorize, "prompt").as_deref(), Some("login"));
    assert_eq!(param(&authorize, "max_age").as_deref(), Some("0"));
    assert_eq!(
        param(&authorize, "acr_values").as_deref(),
        Some("urn:test:mfa")
    );
    // bob has no MFA of his own: the provider asks for the second step before it answers
    // with the MFA acr.
    let callback = at_op(&b, &authorize, "bob", Some("123456")).await;
    let seen = last_authorization(&op).await;
    assert_eq!(seen["acr_values"], "urn:test:mfa", "{seen}");
    assert_eq!(seen["prompt"], "login", "{seen}");
    assert_eq!(seen["max_age"], "0", "{seen}");

    let r = b.get(to_lanyard(&l, &callback)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let answer = location(&r);
    assert!(answer.starts_with("/step-up/"), "{answer}");
    let r = b.get(l.at(&answer)).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(location(&r), "/credentials");
    let (token, _) = l.credentials(&b).await;
    let claims = claims_of(&token);
    assert_eq!(claims["sub"], "op:bob");
    assert_eq!(claims["role"], "ops");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]));
    // The session has its second factor now: nothing is marked any more.
    let html = l.text(&b, "/roles").await;
    assert!(
        html.contains("value=\"ops\"") && !html.contains(MARK),
        "{html}"
    );
}

#[tokio::test]
async fn an_answer_without_the_mfa_acr_is_refused() {
    let op = start_op().await;
    let (l, _keys) = with_op(&op).await;
    let b = browser();
    let html = op_picker(&l, &b, "bob").await;
    let authorize = step_up_at(&l, &b, &html, "ops").await;
    // The same request without its acr_values: the provider answers with a password
    // login (acr urn:test:pwd), still a fresh one (prompt=login).
    let mut url = url::Url::parse(&authorize).unwrap();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "acr_values")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(kept);
    let callback = at_op(&b, url.as_str(), "bob", None).await;
    let r = b.get(to_lanyard(&l, &callback)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = b.get(l.at(&location(&r))).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("did not use a second factor"), "{page}");
    // The session is as it was: still bob, ops still needs the step-up.
    let html = l.text(&b, "/roles").await;
    assert!(html.contains(MARK), "{html}");
}

#[tokio::test]
async fn a_step_up_that_comes_back_as_another_person_is_refused() {
    let op = start_op().await;
    let (l, _keys) = with_op(&op).await;
    let b = browser();
    let html = op_picker(&l, &b, "bob").await;
    let authorize = step_up_at(&l, &b, &html, "ops").await;
    // At the provider, mallory signs in instead (MFA of her own, in engineering: it answers
    // at once). Her browser session there is her own; the answer comes back to bob's.
    let callback = at_op(&browser(), &authorize, "mallory", None).await;
    let r = b.get(to_lanyard(&l, &callback)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = b.get(l.at(&location(&r))).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("as somebody else"), "{page}");
    // Still bob, without the second factor; no credentials were issued.
    let html = l.text(&b, "/roles").await;
    assert!(html.contains("Bob Builder"), "{html}");
    assert!(!html.contains("Mallory"), "{html}");
    assert!(html.contains(MARK), "{html}");
    let r = b.get(l.at("/credentials")).send().await.unwrap();
    assert_eq!(r.status(), 303, "no credentials");
}

// --- the pysaml2 IdP -------------------------------------------------------------------------

/// Lanyard on its real address with the pysaml2 IdP (on `localhost`, another site) as
/// provider `idp`, the SAML tests' roles, `ops` (engineering with MFA) and `ops-fresh`
/// (engineering with MFA within the last minute).
async fn with_idp() -> (Lanyard, Idp, tempfile::TempDir) {
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
    let provider = format!(
        "[[providers]]\nid = \"idp\"\nkind = \"saml\"\ndisplay_name = \"pysaml2 IdP\"\n\
         idp_entity_id = \"{}\"\nsso_url = \"{}\"\ncertificates = [\"{}\"]\n\
         sp_key_file = \"{}\"\nsp_cert_file = \"{}\"\n",
        idp.entity_id(),
        idp.url("/sso/redirect"),
        fixture("idp1.crt").display(),
        fixture("sp.key").display(),
        fixture("sp.crt").display(),
    );
    let fresh = "\"Bool\" = { \"aws:MultiFactorAuthPresent\" = \"true\" }, \
                 \"NumericLessThanEquals\" = { \"aws:MultiFactorAuthAge\" = \"60\" }, ";
    let saml = ("idp", "sts:AssumeRoleWithSAML");
    let text = format!(
        "{}\n{}{}",
        lanyard_toml(keys.path(), &provider),
        role("ops", saml, "engineering", MFA),
        role("ops-fresh", saml, "engineering", fresh),
    );
    let clock = ManualClock::new(UnixTime::from_secs(real_now()));
    let l = start_public_on(listener, &text, memory_store(&clock), clock).await;
    (l, idp, keys)
}

#[tokio::test]
async fn through_the_saml_idp_force_authn_is_sent_and_honoured_in_chromium() {
    let (l, idp, _keys) = with_idp().await;
    let page = Page::open("step_up_saml").await;
    page.goto(&l.at("/auth/idp")).await;
    page.wait_for_url("the IdP's login page", |u| {
        u.host_str() == Some("localhost") && u.path() == "/sso/redirect"
    })
    .await;
    page.fill("user", "bob").await;
    page.click("#remember").await;
    page.click("#login").await;
    page.wait_for_url("the IdP's continue page", |u| {
        u.query_pairs().any(|(k, _)| k == "binding")
    })
    .await;
    page.click("#continue").await;
    page.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;
    page.wait_for_text(MARK).await;
    let problems = page.accessibility_problems().await;
    assert!(problems.is_empty(), "axe on the picker: {problems:?}");

    // The step-up must come later than the first login (AuthnInstant has whole seconds).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    l.clock.set(UnixTime::from_secs(real_now()));

    page.click("input[name=role][value=\"ops\"]").await;
    page.click("form[action=\"/roles\"][method=post] > button[type=submit]")
        .await;
    // The IdP holds bob's session, yet asks again: the request forces a fresh login and
    // asks for the MFA class, so the page asks for a code too.
    page.wait_for_url("the IdP's login page again", |u| {
        u.host_str() == Some("localhost") && u.path() == "/sso/redirect"
    })
    .await;
    page.wait_for_text("One-time code").await;
    let seen: serde_json::Value = reqwest::get(idp.url("/__test/last-request"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["ForceAuthn"], true, "{seen}");
    let contexts = seen["RequestedAuthnContext"].to_string();
    assert!(
        contexts.contains("http://schemas.microsoft.com/claims/multipleauthn"),
        "{seen}"
    );
    page.fill("user", "bob").await;
    page.fill("otp", "123456").await;
    page.click("#login").await;
    page.wait_for_url("the IdP's continue page", |u| {
        u.query_pairs().any(|(k, _)| k == "binding")
    })
    .await;
    page.click("#continue").await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;
    page.wait_for_text("ops").await;
    page.close().await;
}

#[tokio::test]
async fn a_saml_answer_without_the_mfa_class_is_refused() {
    let (l, idp, _keys) = with_idp().await;
    let b = browser();
    let start = b.get(l.at("/auth/idp")).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let acs = |v: serde_json::Value| {
        [
            (
                "SAMLResponse",
                v["SAMLResponse"].as_str().unwrap().to_owned(),
            ),
            ("RelayState", v["RelayState"].as_str().unwrap().to_owned()),
        ]
    };
    let answer = |url: String| {
        let b = b.clone();
        async move {
            b.get(url)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let first = answer(format!("{}&user=bob", location(&start))).await;
    let r = b
        .post(l.at("/auth/idp/callback"))
        .form(&acs(first))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let html = l.text(&b, "/roles").await;
    assert!(html.contains(MARK), "{html}");
    let request = step_up_at(&l, &b, &html, "ops").await;
    assert!(request.starts_with(&idp.url("/sso/redirect")), "{request}");
    // A fresh login without a code: PasswordProtectedTransport, not the MFA class.
    let fresh = answer(format!("{request}&user=bob")).await;
    let r = b
        .post(l.at("/auth/idp/callback"))
        .form(&acs(fresh))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = b.get(l.at(&location(&r))).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("did not use a second factor"), "{page}");
    // The session is as it was.
    assert!(l.text(&b, "/roles").await.contains(MARK));
}

#[tokio::test]
async fn a_saml_answer_from_an_earlier_login_is_refused() {
    let (l, idp, _keys) = with_idp().await;
    let b = browser();
    // bob signs in at the IdP with a code (MFA) and stays signed in there.
    let start = b.get(l.at("/auth/idp")).send().await.unwrap();
    let first: serde_json::Value = b
        .get(format!(
            "{}&user=bob&otp=123456&remember=1",
            location(&start)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let form = |v: &serde_json::Value| {
        [
            (
                "SAMLResponse",
                v["SAMLResponse"].as_str().unwrap().to_owned(),
            ),
            ("RelayState", v["RelayState"].as_str().unwrap().to_owned()),
        ]
    };
    let r = b
        .post(l.at("/auth/idp/callback"))
        .form(&form(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // MFA now: ops is granted. Two minutes on, ops-fresh (MFA within a minute) is not.
    let html = l.text(&b, "/roles").await;
    assert!(
        html.contains("value=\"ops-fresh\"") && !html.contains(MARK),
        "{html}"
    );
    l.clock.advance(Duration::from_secs(120));
    let html = l.text(&b, "/roles").await;
    assert_eq!(html.matches(MARK).count(), 1, "{html}");
    // A lax IdP answers the forced request from its session: the old AuthnInstant.
    reqwest::get(idp.url("/__test/ignore-force-authn"))
        .await
        .unwrap();
    let request = step_up_at(&l, &b, &html, "ops-fresh").await;
    let r = b.get(&request).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let field = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page.find(&marker).unwrap() + marker.len();
        page[start..start + page[start..].find('"').unwrap()].to_owned()
    };
    let r = b
        .post(l.at("/auth/idp/callback"))
        .form(&[
            ("SAMLResponse", field("SAMLResponse")),
            ("RelayState", field("RelayState")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = b.get(l.at(&location(&r))).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("an earlier sign-in instead of a fresh one"),
        "{page}"
    );
}

// --- the device page (RFC 8628): a terminal's sign-in approved with a step-up ------------

/// What the device page says once the device is approved.
const DEVICE_DONE: &str = "Signed in. You can close this tab and return to your terminal.";

/// The axe check of the page shown now (`what` it is): scripts on for it only.
async fn axe(page: &Page, what: &str) {
    scripts(page, true).await;
    let problems = page.accessibility_problems().await;
    scripts(page, false).await;
    assert!(problems.is_empty(), "{what}: {problems:?}");
}

/// `lanyard login`'s start: the device authorization of the public command line client;
/// its device code and user code.
async fn device_started(l: &Lanyard) -> (String, String) {
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/device_authorization"))
        .form(&[("client_id", "lanyard-cli")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a: serde_json::Value = r.json().await.unwrap();
    let text = |k: &str| {
        a[k].as_str()
            .unwrap_or_else(|| panic!("{k}: {a}"))
            .to_owned()
    };
    (text("device_code"), text("user_code"))
}

/// One poll of the token endpoint for `device_code`: the status and the answer.
async fn device_poll(l: &Lanyard, device_code: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", "lanyard-cli"),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// `POST /device` from `b` approving `user_code` with `role` for 900 seconds.
async fn device_approve(
    l: &Lanyard,
    b: &reqwest::Client,
    user_code: &str,
    role: &str,
) -> reqwest::Response {
    let csrf = csrf_of(&l.text(b, "/device").await);
    let select = format!("duration.{role}");
    b.post(l.at("/device"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("user_code", user_code),
            ("action", "approve"),
            ("role", role),
            (select.as_str(), "900"),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_terminal_sign_in_steps_up_with_a_one_time_code_on_the_device_page_in_chromium() {
    let (l, totp, _dir) = local().await;
    let page = Page::open("step_up_device").await;
    // Pages work without JavaScript: scripts are off but for axe.
    scripts(&page, false).await;
    page.goto(&l.at("/auth/corp")).await;
    page.fill("username", "root").await;
    page.fill("password", "root-pw").await;
    page.fill("otp", &totp.code_at(UnixTime::from_secs(T0)))
        .await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;

    // Ten minutes on, `lanyard login` in a terminal: the code is too old for prod-write.
    l.clock.advance(Duration::from_secs(600));
    let (device_code, user_code) = device_started(&l).await;
    page.goto(&l.at(&format!("/device?user_code={user_code}")))
        .await;
    page.wait_for_url("the device page", |u| u.path() == "/device")
        .await;
    page.click("form[action=\"/device\"] button[value=continue]")
        .await;
    page.wait_for_text("Only continue if you started this")
        .await;
    let html = page.html().await;
    let at = html
        .find("value=\"prod-write\"")
        .expect("prod-write is offered on the device page");
    let row_end = at + html[at..].find("</div>").unwrap();
    assert!(html[at..row_end].contains(MARK), "marked: {html}");
    assert_eq!(html.matches(MARK).count(), 1, "only prod-write: {html}");
    axe(&page, "axe on the confirmation").await;

    page.click("input[name=role][value=\"prod-write\"]").await;
    page.client
        .find(fantoccini::Locator::Css(
            "select[name=\"duration.prod-write\"]",
        ))
        .await
        .unwrap()
        .select_by_value("900")
        .await
        .unwrap();
    page.click("button[value=approve]").await;
    page.wait_for_text("Confirm with your one-time code").await;
    page.wait_for_text("Approving the sign-in of your terminal with the role prod-write")
        .await;
    let cancel = format!("a[href=\"/device?user_code={user_code}\"]");
    assert!(
        page.client
            .find(fantoccini::Locator::Css(&cancel))
            .await
            .is_ok(),
        "the cancel link goes back to the device page with the code"
    );
    axe(&page, "axe on the code form").await;

    // A wrong code: refused, the form again, the terminal still waiting.
    let good = totp.code_at(UnixTime::from_secs(T0 + 600));
    page.fill("otp", wrong(&good)).await;
    page.click("form[action=\"/step-up/code\"] button[type=submit]")
        .await;
    page.wait_for_text("That code is incorrect").await;
    axe(&page, "axe on the refused code").await;
    let (status, pending) = device_poll(&l, &device_code).await;
    assert_eq!(status, 400);
    assert_eq!(pending["error"], "authorization_pending", "{pending}");

    // The right code: back to the device flow by the code kept, approved with prod-write.
    page.fill("otp", &good).await;
    page.click("form[action=\"/step-up/code\"] button[type=submit]")
        .await;
    page.wait_for_text(DEVICE_DONE).await;
    assert!(page.text().await.contains("prod-write"));
    axe(&page, "axe on the approval").await;
    // The terminal polls again after its interval.
    l.clock.advance(Duration::from_secs(11));
    let (status, tokens) = device_poll(&l, &device_code).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["role"], "prod-write");
    assert_eq!(claims["sub"], "corp:root");
    assert_eq!(tokens["expires_in"], 900);
    page.close().await;
}

#[tokio::test]
async fn a_device_step_up_is_bound_to_its_browser_and_session() {
    let (l, totp, _dir) = local().await;
    let b = browser();
    local_picker(&l, &b, "root", Some(&totp.code_at(UnixTime::from_secs(T0)))).await;
    l.clock.advance(Duration::from_secs(600));
    let (device_code, user_code) = device_started(&l).await;
    let r = device_approve(&l, &b, &user_code, "prod-write").await;
    assert_eq!(r.status(), 200);
    let form = r.text().await.unwrap();
    assert!(form.contains("Confirm with your one-time code"), "{form}");
    let csrf = csrf_of(&form);
    let good = totp.code_at(UnixTime::from_secs(T0 + 600));
    // Another browser cannot use the form.
    let other = browser();
    let r = other
        .post(l.at("/step-up/code"))
        .form(&[("csrf", csrf.as_str()), ("otp", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Its own browser can; the answer is refused to another person's session.
    let r = b
        .post(l.at("/step-up/code"))
        .form(&[("csrf", csrf.as_str()), ("otp", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let answer = location(&r);
    let dave = browser();
    local_picker(&l, &dave, "dave", None).await;
    let r = dave.get(l.at(&answer)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("another session"), "{page}");
    // The way back from a device step-up's refusal is the device page, not the picker.
    assert!(page.contains("href=\"/device\""), "{page}");
    l.clock.advance(Duration::from_secs(11));
    let (status, pending) = device_poll(&l, &device_code).await;
    assert_eq!(
        (status, pending["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    // The answer was taken by that refusal: single use, the device is still not approved.
    let r = b.get(l.at(&answer)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    l.clock.advance(Duration::from_secs(11));
    let (status, pending) = device_poll(&l, &device_code).await;
    assert_eq!(
        (status, pending["error"].as_str()),
        (400, Some("authorization_pending"))
    );
}

#[tokio::test]
async fn a_device_code_that_expires_during_the_step_up_ends_on_a_clear_page() {
    let (l, totp, _dir) = local().await;
    // The terminal starts first; root signs in with a code, which is stale 400 s later.
    let (device_code, user_code) = device_started(&l).await;
    let b = browser();
    local_picker(&l, &b, "root", Some(&totp.code_at(UnixTime::from_secs(T0)))).await;
    l.clock.advance(Duration::from_secs(400));
    let r = device_approve(&l, &b, &user_code, "prod-write").await;
    assert_eq!(r.status(), 200);
    let csrf = csrf_of(&r.text().await.unwrap());
    // The device code (10 minutes) expires while the person looks for their code.
    l.clock.advance(Duration::from_secs(250));
    let good = totp.code_at(UnixTime::from_secs(T0 + 650));
    let r = b
        .post(l.at("/step-up/code"))
        .form(&[("csrf", csrf.as_str()), ("otp", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = b.get(l.at(&location(&r))).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("The code expired while you confirmed your second factor"),
        "{page}"
    );
    assert!(
        page.contains("name=\"user_code\""),
        "the entry form: {page}"
    );
    assert!(
        !page.contains(&user_code),
        "the old code is not offered again: {page}"
    );
    let (status, expired) = device_poll(&l, &device_code).await;
    assert_eq!(
        (status, expired["error"].as_str()),
        (400, Some("expired_token"))
    );
    // The expired code was no wrong guess: the session still has all five wrong codes
    // before the page locks (the sixth look-up).
    let wrong = "BCDF-GHJK";
    for i in 0..5 {
        let (status, page) = device_enter(&l, &b, wrong).await;
        assert_eq!(status, 400, "wrong code {i}: {page}");
        assert!(page.contains("name=\"user_code\""), "{page}");
    }
    let (status, page) = device_enter(&l, &b, wrong).await;
    assert_eq!(status, 429, "locked after five: {page}");
}

/// Types `user_code` into the device page's entry form and presses Continue.
async fn device_enter(l: &Lanyard, b: &reqwest::Client, user_code: &str) -> (u16, String) {
    let csrf = csrf_of(&l.text(b, "/device").await);
    let r = b
        .post(l.at("/device"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("user_code", user_code),
            ("action", "continue"),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}
