//! Step-up for OpenID clients (issue 17; OpenID Connect Core §3.1.2.1 `acr_values` and
//! `max_age`, the way an application answers a resource server's RFC 9470 challenge): the
//! `openid-client` relying party (tests/peers/rp/step_up.mjs) asks Lanyard for `acr_values=mfa`
//! and checks the ID token it gets back (signature, nonce, `auth_time` against `max_age`).
//! A local user whose second factor is too old is asked for their one-time code (in
//! Chromium, axe-checked); a password-only session at the `oidc-provider` peer signs in
//! there again with the MFA acr; a session with a fresh second factor is not asked again;
//! `max_age=0` re-authenticates; a provider that cannot ask for a second factor ends the
//! request with `unmet_authentication_requirements` at the client.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lanyard::clock::{ManualClock, UnixTime};
use lanyard::connectors::totp::Totp;
use lanyard::secret::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::chromium::Page;
use crate::harness::{
    Lanyard, browser, cheap_hash, continue_url, csrf_of, memory_store, start_public,
    start_public_on,
};
use crate::oidc_interop::{Op, provider, real_now, start_op_with};
use crate::upstream::{location, param, with_param};

/// The client's id and secret.
pub(crate) const CLIENT: (&str, &str) = ("app", "app-secret");

/// An application's redirect URI: a listener answering every request with a plain page,
/// so that a browser sent there has somewhere to land (its URL carries the answer).
pub(crate) async fn redirect_listener() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let body = "<!doctype html><html lang=\"en\"><title>app</title><p>back at the app</p></html>";
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
            });
        }
    });
    url
}

/// The `[[clients]]` entry of the application, which may receive `roles`.
pub(crate) fn client_toml(redirect: &str, roles: &[&str]) -> String {
    let roles = roles
        .iter()
        .map(|r| format!("\"{r}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "\n[[clients]]\nid = \"{}\"\nname = \"The App\"\nsecret_hash = \"{}\"\nredirect_uris = [\"{redirect}\"]\nallowed_roles = [{roles}]\n",
        CLIENT.0,
        cheap_hash(CLIENT.1)
    )
}

/// Lanyard's time now.
fn now(l: &Lanyard) -> UnixTime {
    lanyard::clock::Clock::now(&l.clock)
}

/// Runs `tests/peers/rp/step_up.mjs` with `args`; its JSON.
async fn rp(args: Vec<String>) -> serde_json::Value {
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/rp");
    assert!(
        peer.join("node_modules/openid-client").exists(),
        "openid-client is not installed: run `make test` (or `npm ci` in {})",
        peer.display()
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(peer.join("step_up.mjs"))
            .args(args)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    assert!(
        output.status.success(),
        "openid-client failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// An authorization request built by openid-client.
pub(crate) struct Request {
    pub(crate) url: String,
    verifier: String,
    state: String,
    nonce: String,
    max_age: String,
    acr_values_supported: serde_json::Value,
    /// The application's redirect URI the request names.
    redirect: String,
}

impl Request {
    /// openid-client's request to `l` for `acr_values` and `max_age` (empty: left out).
    pub(crate) async fn new(
        l: &Lanyard,
        redirect: &str,
        acr_values: &str,
        max_age: &str,
    ) -> Request {
        let args = ["begin", &l.url, CLIENT.0, redirect, acr_values, max_age];
        let seen = rp(args.iter().map(|a| a.to_string()).collect()).await;
        Request {
            url: seen["url"].as_str().unwrap().to_owned(),
            verifier: seen["verifier"].as_str().unwrap().to_owned(),
            state: seen["state"].as_str().unwrap().to_owned(),
            nonce: seen["nonce"].as_str().unwrap().to_owned(),
            max_age: max_age.to_owned(),
            acr_values_supported: seen["acr_values_supported"].clone(),
            redirect: redirect.to_owned(),
        }
    }

    /// Waits until `page` is back at the application's redirect URI, then checks the answer
    /// it brought as [`Request::finish`] does.
    pub(crate) async fn finish_in(&self, l: &Lanyard, page: &Page) -> serde_json::Value {
        let back = page
            .wait_for_url("back at the application", |u| {
                u.as_str().starts_with(&self.redirect)
            })
            .await;
        self.finish(l, back.as_str()).await
    }

    /// openid-client's check of the answer at `callback`: the ID token's claims, or the
    /// error Lanyard answered with.
    pub(crate) async fn finish(&self, l: &Lanyard, callback: &str) -> serde_json::Value {
        let args = [
            "finish",
            &l.url,
            CLIENT.0,
            CLIENT.1,
            callback,
            &self.verifier,
            &self.state,
            &self.nonce,
            &self.max_age,
        ];
        rp(args.iter().map(|a| a.to_string()).collect()).await
    }
}

// --- the local directory: a one-time code --------------------------------------------------

/// `root` has TOTP, `dave` has none; both in `admins`. `viewer` fits both (no MFA needed).
fn local_config(secret_file: &Path, keys: &Path, redirect: &str) -> String {
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
         [sessions]\nstore = \"memory\"\n\
         [tokens]\nalgorithm = \"ES256\"\nkeys_dir = \"{keys}\"\n\
         [[providers]]\nid = \"corp\"\nkind = \"local\"\ndisplay_name = \"Corp directory\"\n\
         [[providers.users]]\nusername = \"root\"\npassword_hash = \"{root}\"\n\
         groups = [\"admins\"]\ntotp_secret_file = \"{secret}\"\n\
         [[providers.users]]\nusername = \"dave\"\npassword_hash = \"{dave}\"\ngroups = [\"admins\"]\n\
         [[roles]]\nname = \"viewer\"\ntrust_policy = {{ Version = \"2012-10-17\", Statement = [{{ \
         Effect = \"Allow\", Principal = {{ Federated = \"corp\" }}, Action = \"sts:AssumeRole\", \
         Condition = {{ \"ForAnyValue:StringEquals\" = {{ \"idp:groups\" = [\"admins\"] }} }} }}] }}\n{}",
        client_toml(redirect, &["viewer"]),
        keys = keys.display(),
        secret = secret_file.display(),
        root = cheap_hash("root-pw"),
        dave = cheap_hash("dave-pw"),
    )
}

/// A Lanyard on its real address with [`local_config`], its clock ten minutes behind the
/// real one (openid-client checks `auth_time` against the real clock once it has moved
/// on); root's authenticator; the application's redirect URI.
async fn local() -> (Lanyard, Totp, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let file = dir.path().join("root.totp");
    std::fs::write(&file, secret).unwrap();
    let totp = Totp::from_base32(&Secret::new(secret)).unwrap();
    let redirect = redirect_listener().await;
    let text = local_config(&file, &dir.path().join("keys"), &redirect);
    let clock = ManualClock::new(UnixTime::from_secs(real_now() - 600));
    let l = start_public(&text, memory_store(&clock), clock).await;
    (l, totp, redirect, dir)
}

/// Signs `user` in to the local directory with a cookie-keeping client (`otp` when asked).
async fn local_sign_in(l: &Lanyard, b: &reqwest::Client, user: &str, otp: Option<&str>) {
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
}

#[tokio::test]
async fn discovery_lists_the_acr_values() {
    let (l, _totp, redirect, _dir) = local().await;
    let request = Request::new(&l, &redirect, "mfa", "").await;
    assert_eq!(
        request.acr_values_supported,
        serde_json::json!(["pwd", "mfa"])
    );
    assert_eq!(param(&request.url, "acr_values").as_deref(), Some("mfa"));
}

#[tokio::test]
async fn an_old_second_factor_is_asked_again_for_an_application_in_chromium() {
    let (l, totp, redirect, _dir) = local().await;
    let page = Page::open("op_step_up_code").await;
    page.goto(&l.at("/auth/corp")).await;
    page.fill("username", "root").await;
    page.fill("password", "root-pw").await;
    page.fill("otp", &totp.code_at(now(&l))).await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("signed in", |u| u.path() != "/auth/corp")
        .await;
    let signed_in_at = now(&l).secs();

    // Ten minutes on, the application asks for a second factor of at most five minutes.
    l.clock.advance(Duration::from_secs(600));
    let request = Request::new(&l, &redirect, "mfa", "300").await;
    page.goto(&request.url).await;
    page.wait_for_text("The application you are signing in to asks for a second factor")
        .await;
    let problems = page.accessibility_problems().await;
    assert!(problems.is_empty(), "axe on the code form: {problems:?}");
    page.shot("code-form").await;

    // A wrong code: the same form again, saying so.
    let now = now(&l);
    let good = totp.code_at(now);
    let wrong = if good == "000000" { "111111" } else { "000000" };
    page.fill("otp", wrong).await;
    page.click("form[action=\"/step-up/code\"] button[type=submit]")
        .await;
    page.wait_for_text("That code is incorrect").await;
    assert!(
        page.text()
            .await
            .contains("The application you are signing in to")
    );
    let problems = page.accessibility_problems().await;
    assert!(problems.is_empty(), "axe on the refused code: {problems:?}");

    page.fill("otp", &good).await;
    page.click("form[action=\"/step-up/code\"] button[type=submit]")
        .await;
    let claims = request.finish_in(&l, &page).await;
    assert_eq!(claims["sub"], "corp:root", "{claims}");
    assert_eq!(claims["acr"], "mfa", "{claims}");
    assert!(
        claims["amr"].as_array().unwrap().iter().any(|m| m == "otp"),
        "{claims}"
    );
    assert_eq!(claims["auth_time"], now.secs(), "the fresh code's time");
    assert!(now.secs() > signed_in_at + 300);
    assert_eq!(claims["role"], "viewer");

    // The second factor is fresh now: asked again, the application gets its answer at once.
    let again = Request::new(&l, &redirect, "mfa", "300").await;
    page.goto(&again.url).await;
    let claims = again.finish_in(&l, &page).await;
    assert_eq!(claims["acr"], "mfa", "{claims}");
    assert_eq!(claims["auth_time"], now.secs(), "not asked again");
    page.close().await;
}

/// The page `GET {url}` answers with, its status and body.
async fn get(b: &reqwest::Client, url: &str) -> (u16, String, Option<String>) {
    let r = b.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let to = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, r.text().await.unwrap(), to)
}

#[tokio::test]
async fn max_age_zero_asks_again_for_a_code_already_given() {
    let (l, totp, redirect, _dir) = local().await;
    let b = browser();
    // openid-client allows `max_age=0` 30 s of clock skew: the step-up at real time.
    l.clock.set(UnixTime::from_secs(real_now() - 40));
    let first = now(&l);
    local_sign_in(&l, &b, "root", Some(&totp.code_at(first))).await;
    l.clock.advance(Duration::from_secs(40));

    let request = Request::new(&l, &redirect, "mfa", "0").await;
    let (status, form, _) = get(&b, &request.url).await;
    assert_eq!(status, 200);
    assert!(form.contains("asks for a second factor"), "{form}");
    let now = now(&l);
    let r = b
        .post(l.at("/step-up/code"))
        .form(&[("csrf", csrf_of(&form)), ("otp", totp.code_at(now))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let answer = location(&r);
    assert!(answer.starts_with("/step-up/"), "{answer}");
    let (status, page, _) = get(&b, &l.at(&answer)).await;
    assert_eq!(status, 200, "{page}");
    let back = continue_url(&page).unwrap_or_else(|| panic!("continues: {page}"));
    assert!(back.starts_with(&redirect), "{back}");
    let claims = request.finish(&l, &back).await;
    assert_eq!(claims["acr"], "mfa", "{claims}");
    assert_eq!(claims["auth_time"], now.secs(), "{claims}");
    assert!(now.secs() > first.secs());
}

#[tokio::test]
async fn a_picker_opened_without_the_second_factor_issues_no_code() {
    let (l, _totp, redirect, _dir) = local().await;
    let b = browser();
    let request = Request::new(&l, &redirect, "mfa", "").await;
    // Nobody is signed in: the chooser, coming back to the request's own check.
    let r = b.get(&request.url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let return_to = param(&l.at(&to), "return_to").unwrap();
    assert!(
        return_to.starts_with("/oauth2/authorize/resume?authz="),
        "{return_to}"
    );
    let authz = param(&l.at(&return_to), "authz").unwrap();
    // dave signs in (no second factor) and opens the picker for the request by hand,
    // skipping that check: no code.
    local_sign_in(&l, &b, "dave", None).await;
    let (status, page, _) = get(&b, &l.at(&format!("/roles?authz={authz}"))).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("second factor"), "{page}");
    assert!(continue_url(&page).is_none(), "{page}");
}

#[tokio::test]
async fn a_provider_without_a_second_factor_ends_the_request_at_the_client() {
    let (l, _totp, redirect, _dir) = local().await;
    let b = browser();
    local_sign_in(&l, &b, "dave", None).await;
    let request = Request::new(&l, &redirect, "mfa", "").await;
    let (status, page, _) = get(&b, &request.url).await;
    assert_eq!(status, 200, "{page}");
    let back = continue_url(&page).unwrap_or_else(|| panic!("continues: {page}"));
    assert!(back.starts_with(&redirect), "{back}");
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    let seen = request.finish(&l, &back).await;
    assert_eq!(seen["error"], "unmet_authentication_requirements", "{seen}");
    // Without acr_values, dave gets his code as before (acr pwd).
    let plain = Request::new(&l, &redirect, "", "").await;
    let r = b.get(&plain.url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, page, _) = get(&b, &l.at(&location(&r))).await;
    let back = continue_url(&page).unwrap_or_else(|| panic!("continues: {page}"));
    let claims = plain.finish(&l, &back).await;
    assert_eq!(claims["acr"], "pwd", "{claims}");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]), "{claims}");
}

#[tokio::test]
async fn max_age_zero_without_acr_values_signs_in_again() {
    let (l, totp, redirect, _dir) = local().await;
    let b = browser();
    l.clock.set(UnixTime::from_secs(real_now() - 40));
    local_sign_in(&l, &b, "root", Some(&totp.code_at(now(&l)))).await;
    l.clock.advance(Duration::from_secs(40));
    let request = Request::new(&l, &redirect, "", "0").await;
    let r = b.get(&request.url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with("/signin?"), "{to}");
    // The whole sign-in again, password and code, then back to the application.
    let return_to = param(&l.at(&to), "return_to").unwrap();
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("return_to", &return_to)
        .finish();
    let html = l.text(&b, &format!("/auth/corp?{query}")).await;
    let (code, csrf) = (totp.code_at(now(&l)), csrf_of(&html));
    let fields = [
        ("username", "root"),
        ("password", "root-pw"),
        ("otp", code.as_str()),
        ("csrf", csrf.as_str()),
    ];
    let r = b
        .post(l.at("/auth/corp"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let page = match r.status().as_u16() {
        303 => get(&b, &l.at(&location(&r))).await.1,
        _ => r.text().await.unwrap(),
    };
    let back = continue_url(&page).unwrap_or_else(|| panic!("continues: {page}"));
    let claims = request.finish(&l, &back).await;
    assert_eq!(claims["auth_time"], now(&l).secs(), "{claims}");
    assert_eq!(claims["acr"], "mfa", "{claims}");
}

// --- the oidc-provider peer ------------------------------------------------------------------

/// The peer as provider `op` (`mfa_acr_values = ["urn:test:mfa"]`), sending the browser
/// back to this Lanyard's real address; `ops` for `engineering`; the application may
/// receive `ops`.
async fn with_op() -> (Op, Lanyard, String, tempfile::TempDir) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let op = start_op_with(&[("REDIRECT_URI", format!("{base}/auth/op/callback"))]).await;
    let keys = tempfile::tempdir().unwrap();
    let redirect = redirect_listener().await;
    let text = format!(
        "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
         [sessions]\nstore = \"memory\"\n\
         [tokens]\nalgorithm = \"ES256\"\nkeys_dir = \"{}\"\n{}\n\
         [[roles]]\nname = \"ops\"\ntrust_policy = {{ Version = \"2012-10-17\", Statement = [{{ \
         Effect = \"Allow\", Principal = {{ Federated = \"op\" }}, Action = \"sts:AssumeRoleWithWebIdentity\", \
         Condition = {{ \"ForAnyValue:StringEquals\" = {{ \"idp:groups\" = [\"engineering\"] }} }} }}] }}\n{}",
        keys.path().display(),
        provider(
            &op,
            "fetch_userinfo = true\nmfa_acr_values = [\"urn:test:mfa\"]"
        ),
        client_toml(&redirect, &["ops"]),
    );
    let clock = ManualClock::new(UnixTime::from_secs(real_now()));
    let l = start_public_on(listener, &text, memory_store(&clock), clock).await;
    (op, l, redirect, keys)
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
        r = b
            .get(with_param(&interaction, "otp", otp))
            .send()
            .await
            .unwrap();
    }
    assert!(r.status().is_redirection(), "login: {}", r.status());
    let r = b
        .get(absolute(authorize, &location(&r)))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "resume: {}", r.status());
    location(&r)
}

/// Follows Lanyard's same-site redirects from `url` until a page; its status and body.
async fn follow(l: &Lanyard, b: &reqwest::Client, url: &str) -> (u16, String) {
    let mut url = url.to_owned();
    for _ in 0..8 {
        let r = b.get(&url).send().await.unwrap();
        if !r.status().is_redirection() {
            let status = r.status().as_u16();
            return (status, r.text().await.unwrap());
        }
        let to = location(&r);
        assert!(to.starts_with('/'), "only Lanyard's own pages: {to}");
        url = l.at(&to);
    }
    panic!("too many redirects from {url}");
}

/// The step-up's request to the provider: `prompt=login`, `max_age=0` and the MFA acr.
fn assert_step_up_request(authorize: &str, op: &Op) {
    assert!(authorize.starts_with(&op.issuer), "{authorize}");
    assert_eq!(param(authorize, "prompt").as_deref(), Some("login"));
    assert_eq!(param(authorize, "max_age").as_deref(), Some("0"));
    assert_eq!(
        param(authorize, "acr_values").as_deref(),
        Some("urn:test:mfa")
    );
}

#[tokio::test]
async fn through_the_oidc_provider_a_password_session_steps_up_for_an_application() {
    let (op, l, redirect, _keys) = with_op().await;
    let b = browser();
    // bob signs in with his password only.
    let start = b.get(l.at("/auth/op")).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let callback = at_op(&b, &location(&start), "bob", None).await;
    assert_eq!(b.get(&callback).send().await.unwrap().status(), 303);

    let request = Request::new(&l, &redirect, "mfa", "").await;
    let r = b.get(&request.url).send().await.unwrap();
    assert_eq!(r.status(), 303, "straight to the provider (a GET)");
    let authorize = location(&r);
    assert_step_up_request(&authorize, &op);
    let callback = at_op(&b, &authorize, "bob", Some("123456")).await;
    let (status, page) = follow(&l, &b, &callback).await;
    assert_eq!(status, 200, "{page}");
    let back = continue_url(&page).unwrap_or_else(|| panic!("continues: {page}"));
    assert!(back.starts_with(&redirect), "{back}");
    let claims = request.finish(&l, &back).await;
    assert_eq!(claims["sub"], "op:bob", "{claims}");
    assert_eq!(claims["acr"], "mfa", "{claims}");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]), "{claims}");
    assert_eq!(claims["role"], "ops");
    assert!(claims["auth_time"].as_i64().unwrap() >= now(&l).secs());
}

#[tokio::test]
async fn without_a_session_the_sign_in_is_followed_by_the_step_up() {
    let (op, l, redirect, _keys) = with_op().await;
    let b = browser();
    let request = Request::new(&l, &redirect, "mfa", "").await;
    // The only provider: straight there for a plain sign-in, which comes back to the
    // request's own check.
    let r = b.get(&request.url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let callback = at_op(&b, &location(&r), "bob", None).await;
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let resume = location(&r);
    assert!(
        resume.starts_with("/oauth2/authorize/resume?authz="),
        "{resume}"
    );
    // The sign-in brought no second factor: the step-up.
    let r = b.get(l.at(&resume)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let authorize = location(&r);
    assert_step_up_request(&authorize, &op);
    let callback = at_op(&b, &authorize, "bob", Some("123456")).await;
    let (status, page) = follow(&l, &b, &callback).await;
    assert_eq!(status, 200, "{page}");
    let back = continue_url(&page).unwrap_or_else(|| panic!("continues: {page}"));
    let claims = request.finish(&l, &back).await;
    assert_eq!(claims["acr"], "mfa", "{claims}");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]), "{claims}");
}

#[tokio::test]
async fn an_answer_without_the_mfa_acr_ends_the_request_at_the_client() {
    let (op, l, redirect, _keys) = with_op().await;
    let b = browser();
    let start = b.get(l.at("/auth/op")).send().await.unwrap();
    let callback = at_op(&b, &location(&start), "bob", None).await;
    assert_eq!(b.get(&callback).send().await.unwrap().status(), 303);
    let request = Request::new(&l, &redirect, "mfa", "").await;
    let r = b.get(&request.url).send().await.unwrap();
    let authorize = location(&r);
    assert_step_up_request(&authorize, &op);
    // The same request to the provider without its acr_values: a fresh password login.
    let mut u = url::Url::parse(&authorize).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != "acr_values")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    let callback = at_op(&b, u.as_str(), "bob", None).await;
    let (status, page) = follow(&l, &b, &callback).await;
    assert_eq!(status, 200, "{page}");
    let back = continue_url(&page).unwrap_or_else(|| panic!("continues: {page}"));
    let seen = request.finish(&l, &back).await;
    assert_eq!(seen["error"], "unmet_authentication_requirements", "{seen}");
}
