//! What a real provider will not produce: an in-process issuer that signs tokens with
//! `alg: none`, the wrong issuer or audience, expired, with a forged signature, HMAC keyed
//! with its own public key, oversized; and a provider that is down, slow or answers
//! garbage. Each must end on a page naming the provider with a retry link, never a session.

use lanyard::clock::{ManualClock, UnixTime};
use lanyard::tokens::Algorithm;
use serde_json::json;

use crate::harness::{T0, browser};
use crate::upstream::{
    Broker, Mode, broker, fake_idp, fake_login, fake_provider, location, roles_after, to_lanyard,
};

async fn setup(alg: Algorithm, extra: &str) -> (Broker, crate::upstream::Fake) {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let fake = fake_idp(clock.clone(), alg).await;
    let l = broker(
        &fake_provider("fake", &fake.issuer(), extra),
        &["fake"],
        clock,
    )
    .await;
    (l, fake)
}

/// The callback failed with `status`, on a page naming the provider with a retry link,
/// and nobody is signed in.
async fn refused(l: &Broker, b: &reqwest::Client, r: reqwest::Response, status: u16, says: &str) {
    assert_eq!(r.status(), status);
    let html = r.text().await.unwrap();
    assert!(html.contains("Sign-in with Fake IdP failed"), "{html}");
    assert!(html.contains("href=\"/auth/fake\""), "retry link: {html}");
    assert!(html.contains(says), "expected {says:?} in {html}");
    let roles = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(roles.status(), 303, "no session");
    assert!(location(&roles).starts_with("/signin"));
}

#[tokio::test]
async fn a_good_token_signs_in_and_the_trust_policies_decide() {
    for alg in [Algorithm::Rs256, Algorithm::Es256] {
        let (l, _fake) = setup(alg, "").await;
        let b = browser();
        let r = fake_login(&l, &b, "fake").await;
        let mut roles = roles_after(&l, &b, r).await;
        roles.sort();
        // groups → engineer; admins + hwk (MFA) → admin; example.com → mail;
        // fake:department = finance → finance-fake.
        assert_eq!(
            roles,
            ["admin", "engineer", "finance-fake", "mail"],
            "{alg:?}"
        );
    }
}

#[tokio::test]
async fn without_mfa_the_admin_role_is_not_offered_unless_acr_counts() {
    let (l, fake) = setup(Algorithm::Rs256, "mfa_acr_values = [\"urn:mfa\"]").await;
    fake.set_claims(
        json!({"sub": "u-2", "email": "bob@other.example", "email_verified": true,
                           "groups": ["admins"], "amr": ["pwd"]}),
    );
    let b = browser();
    let roles = roles_after(&l, &b, fake_login(&l, &b, "fake").await).await;
    assert!(roles.is_empty(), "{roles:?}");
    fake.set_claims(json!({"sub": "u-2", "groups": ["admins"], "amr": ["pwd"], "acr": "urn:mfa"}));
    let b = browser();
    let roles = roles_after(&l, &b, fake_login(&l, &b, "fake").await).await;
    assert_eq!(roles, ["admin"]);
}

#[tokio::test]
async fn forged_and_invalid_id_tokens_are_refused() {
    let (l, fake) = setup(Algorithm::Rs256, "").await;
    for mode in [
        Mode::AlgNone,
        Mode::HmacWithPublicKey,
        Mode::WrongSignature,
        Mode::WrongIssuer,
        Mode::WrongAudience,
        Mode::SeveralAudiencesNoAzp,
        Mode::Expired,
        Mode::NotYetValid,
        Mode::WrongNonce,
        Mode::BadAtHash,
        Mode::Oversized,
        Mode::UnknownKid,
        Mode::UserinfoOtherSub,
    ] {
        fake.set_mode(mode);
        let b = browser();
        let r = fake_login(&l, &b, "fake").await;
        let expected = if mode == Mode::UserinfoOtherSub {
            // Only checked when userinfo is fetched: this provider does not; the token is fine.
            assert_eq!(r.status(), 303, "{mode:?}");
            continue;
        } else {
            "ID token was not valid"
        };
        refused(&l, &b, r, 502, expected).await;
    }
}

#[tokio::test]
async fn expiry_tolerates_the_configured_skew_only() {
    // Expired 61 s ago: refused with the default 60 s skew, accepted with 2 minutes.
    let (l, fake) = setup(Algorithm::Rs256, "clock_skew = \"2m\"").await;
    fake.set_mode(Mode::Expired);
    let b = browser();
    assert_eq!(fake_login(&l, &b, "fake").await.status(), 303);
    let (l, fake) = setup(Algorithm::Rs256, "").await;
    fake.set_mode(Mode::Expired);
    let b = browser();
    refused(&l, &b, fake_login(&l, &b, "fake").await, 502, "not valid").await;
}

#[tokio::test]
async fn userinfo_is_merged_and_its_subject_must_match() {
    let (l, fake) = setup(Algorithm::Rs256, "fetch_userinfo = true").await;
    fake.set_claims(json!({"sub": "u-3", "amr": ["otp"]}));
    fake.0.lock().unwrap().userinfo =
        json!({"groups": ["admins"], "email": "x@example.com", "email_verified": true});
    let b = browser();
    let mut roles = roles_after(&l, &b, fake_login(&l, &b, "fake").await).await;
    roles.sort();
    assert_eq!(roles, ["admin", "mail"]);
    fake.set_mode(Mode::UserinfoOtherSub);
    let b = browser();
    refused(
        &l,
        &b,
        fake_login(&l, &b, "fake").await,
        502,
        "userinfo does not describe",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_key_triggers_one_rate_limited_jwks_refresh() {
    let (l, fake) = setup(Algorithm::Rs256, "").await;
    let b = browser();
    assert_eq!(fake_login(&l, &b, "fake").await.status(), 303);
    assert_eq!(fake.jwks_fetches(), 1);
    // Tokens under made-up key ids: one refresh, then none within the window.
    fake.set_mode(Mode::UnknownKid);
    for _ in 0..5 {
        let b = browser();
        assert_eq!(fake_login(&l, &b, "fake").await.status(), 502);
    }
    assert_eq!(fake.jwks_fetches(), 2, "one refresh for five unknown kids");
    // The provider rotates (its new key is what it now publishes): after the window, the
    // refresh finds it and sign-in works again.
    {
        let mut s = fake.0.lock().unwrap();
        let st = &mut *s;
        std::mem::swap(&mut st.keys, &mut st.other_keys);
    }
    fake.set_mode(Mode::Good);
    l.clock.advance(std::time::Duration::from_secs(11));
    let b = browser();
    assert_eq!(fake_login(&l, &b, "fake").await.status(), 303);
    assert_eq!(fake.jwks_fetches(), 3);
}

#[tokio::test]
async fn provider_failures_become_clear_pages() {
    let (l, fake) = setup(Algorithm::Rs256, "").await;
    fake.set_mode(Mode::TokenEndpoint500);
    let b = browser();
    refused(
        &l,
        &b,
        fake_login(&l, &b, "fake").await,
        502,
        "token endpoint answered with HTTP 500",
    )
    .await;
    fake.set_mode(Mode::TokenNotJson);
    let b = browser();
    refused(
        &l,
        &b,
        fake_login(&l, &b, "fake").await,
        502,
        "sent an answer Lanyard cannot read",
    )
    .await;
    fake.set_mode(Mode::SlowToken);
    let b = browser();
    refused(
        &l,
        &b,
        fake_login(&l, &b, "fake").await,
        504,
        "did not answer in time",
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_provider_and_a_denied_sign_in_explain_themselves() {
    // Nothing listens on this port (bound, then dropped).
    let port = {
        let s = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let l = broker(
        &fake_provider("fake", &format!("http://127.0.0.1:{port}"), ""),
        &["fake"],
        clock,
    )
    .await;
    let b = browser();
    let r = b.get(l.at("/auth/fake")).send().await.unwrap();
    refused(&l, &b, r, 502, "could not be reached").await;

    let (l, _fake) = setup(Algorithm::Rs256, "").await;
    let b = browser();
    let start = b.get(l.at("/auth/fake")).send().await.unwrap();
    let state = crate::upstream::param(&location(&start), "state").unwrap();
    let cb = format!(
        "{}/auth/fake/callback?error=access_denied&error_description=The+user+said+no&state={state}",
        crate::upstream::PUBLIC_URL
    );
    let r = b.get(to_lanyard(&l, &cb)).send().await.unwrap();
    refused(
        &l,
        &b,
        r,
        403,
        "refused the sign-in (access_denied): The user said no",
    )
    .await;
}

#[tokio::test]
async fn callbacks_need_their_own_transaction_once() {
    let (l, _fake) = setup(Algorithm::Rs256, "").await;
    let b = browser();
    let start = b.get(l.at("/auth/fake")).send().await.unwrap();
    let authorize = location(&start);
    assert_eq!(
        crate::upstream::param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        crate::upstream::param(&authorize, "code_challenge")
            .unwrap()
            .len(),
        43
    );
    assert_eq!(
        crate::upstream::param(&authorize, "nonce").unwrap().len(),
        43
    );
    let callback = location(&b.get(&authorize).send().await.unwrap());
    // A forged callback link (wrong or missing state) is refused and leaves the person's
    // sign-in in progress alone: the real answer still completes it.
    let forged = crate::upstream::with_param(&callback, "state", "attacker-state");
    let r = b.get(to_lanyard(&l, &forged)).send().await.unwrap();
    refused(&l, &b, r, 400, "state mismatch").await;
    let stateless = callback.split("&state=").next().unwrap().to_owned();
    assert!(!stateless.contains("state="), "{stateless}");
    let r = b.get(to_lanyard(&l, &stateless)).send().await.unwrap();
    refused(&l, &b, r, 400, "state mismatch").await;
    let r = b.get(to_lanyard(&l, &callback)).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = b.get(to_lanyard(&l, &callback)).send().await.unwrap();
    assert_eq!(r.status(), 400, "taken once");
    // A good callback works once; its replay is refused.
    let b = browser();
    let start = b.get(l.at("/auth/fake")).send().await.unwrap();
    let callback = location(&b.get(location(&start)).send().await.unwrap());
    assert_eq!(
        b.get(to_lanyard(&l, &callback))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let replay = b.get(to_lanyard(&l, &callback)).send().await.unwrap();
    assert_eq!(replay.status(), 400);
    // Another browser presenting the callback has no transaction at all.
    let r = browser()
        .get(to_lanyard(&l, &callback))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn microsoft_multi_tenant_issuers_are_checked_against_tid_and_allowed_tenants() {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let fake = fake_idp(clock.clone(), Algorithm::Rs256).await;
    let provider = format!(
        "[[providers]]\nid = \"entra\"\nkind = \"microsoft\"\ndisplay_name = \"Fake IdP\"\n\
         authority = \"{}\"\nclient_id = \"lanyard\"\nclient_secret = \"s3cret\"\n\
         allowed_tenants = [\"tenant-a\"]\n",
        fake.issuer()
    );
    let l = broker(&provider, &["entra"], clock).await;
    fake.0.lock().unwrap().tenant = Some("tenant-a".into());
    let b = browser();
    assert_eq!(fake_login(&l, &b, "entra").await.status(), 303);
    // Another tenant's token is well-formed and correctly issued, but not allowed here.
    fake.0.lock().unwrap().tenant = Some("tenant-b".into());
    let b = browser();
    let r = fake_login(&l, &b, "entra").await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Entra tenant may not sign in")
    );
    // A token whose iss names one tenant and tid another is refused as forged.
    fake.0.lock().unwrap().tenant = None;
    fake.set_claims(json!({"sub": "u", "tid": "tenant-a"}));
    let b = browser();
    assert_eq!(fake_login(&l, &b, "entra").await.status(), 502);
}

#[tokio::test]
async fn a_provider_that_does_not_speak_tls_is_named_as_such() {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let fake = fake_idp(clock.clone(), Algorithm::Rs256).await;
    // https:// to a plain-HTTP server: the TLS handshake fails.
    let issuer = fake.issuer().replace("http://", "https://");
    let l = broker(&fake_provider("fake", &issuer, ""), &["fake"], clock).await;
    let b = browser();
    let r = b.get(l.at("/auth/fake")).send().await.unwrap();
    refused(&l, &b, r, 502, "secure (TLS) connection").await;
}

#[tokio::test]
async fn an_applications_login_hint_is_passed_upstream() {
    let (l, _fake) = setup(Algorithm::Rs256, "").await;
    let b = browser();
    let r = b
        .get(l.at("/auth/fake?login_hint=alice%40example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert_eq!(
        crate::upstream::param(&to, "login_hint").as_deref(),
        Some("alice@example.com"),
        "{to}"
    );
    // Without a hint, none is sent.
    let r = b.get(l.at("/auth/fake")).send().await.unwrap();
    assert_eq!(crate::upstream::param(&location(&r), "login_hint"), None);
}

/// An application's sign-in with one upstream provider: `/oauth2/authorize` goes straight
/// to the provider (nothing to choose), and when one role fits the callback answers the
/// page that continues to the application with its code (no round trip through `/roles`).
/// With two roles to choose from, or for a `HEAD`, the callback sends the browser to the
/// picker as before; the state and PKCE checks stay as they were.
#[tokio::test]
async fn an_application_sign_in_goes_straight_through_when_nothing_is_to_choose() {
    use crate::harness::{cheap_hash, continue_url};
    use crate::oidc_provider::{pkce, query};
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let fake = fake_idp(clock.clone(), Algorithm::Rs256).await;
    let clients = format!(
        "[[clients]]\nid = \"app\"\nsecret_hash = \"{h}\"\n\
         redirect_uris = [\"https://app.example/cb\"]\nallowed_roles = [\"engineer\"]\n\
         [[clients]]\nid = \"wide\"\nsecret_hash = \"{h}\"\n\
         redirect_uris = [\"https://app.example/cb\"]\nallowed_roles = [\"engineer\", \"mail\"]\n",
        h = cheap_hash("app-secret")
    );
    let providers = format!("{}{clients}", fake_provider("fake", &fake.issuer(), ""));
    let l = broker(&providers, &["fake"], clock).await;
    // The browser at the provider's callback, for `client`; its answer.
    let to_callback = |client: &'static str, challenge: String| {
        let l = &l;
        let fake = &fake;
        async move {
            let b = browser();
            let mut url = url::Url::parse(&l.at("/oauth2/authorize")).unwrap();
            url.query_pairs_mut()
                .append_pair("response_type", "code")
                .append_pair("client_id", client)
                .append_pair("redirect_uri", "https://app.example/cb")
                .append_pair("scope", "openid email")
                .append_pair("state", "app-state")
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            let r = b.get(url.as_str()).send().await.unwrap();
            assert_eq!(r.status(), 303);
            let upstream = location(&r);
            assert!(
                upstream.starts_with(&fake.issuer()),
                "straight to the provider, no chooser: {upstream}"
            );
            let callback = location(&b.get(&upstream).send().await.unwrap());
            (b, to_lanyard(l, &callback))
        }
    };

    // One role fits: the callback continues to the application.
    let (verifier, challenge) = pkce();
    let (b, callback) = to_callback("app", challenge).await;
    let forged = crate::upstream::with_param(&callback, "state", "attacker-state");
    assert_eq!(b.get(&forged).send().await.unwrap().status(), 400);
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 200, "the page, not a redirect off-site");
    let back = continue_url(&r.text().await.unwrap()).expect("continues to the app");
    assert!(back.starts_with("https://app.example/cb?"), "{back}");
    assert_eq!(query(&back, "state").as_deref(), Some("app-state"));
    let code = query(&back, "code").unwrap();
    assert_eq!(b.get(&callback).send().await.unwrap().status(), 400, "once");
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/token"))
        .basic_auth("app", Some("app-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://app.example/cb"),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let tokens: serde_json::Value = r.json().await.unwrap();
    let payload = tokens["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["role"], "engineer");

    // Two roles to choose from: the picker, as before.
    let (_, challenge) = pkce();
    let (b, callback) = to_callback("wide", challenge).await;
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let picker = location(&r);
    assert!(picker.starts_with("/roles?authz="), "{picker}");
    let html = b
        .get(l.at(&picker))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(continue_url(&html).is_none(), "the picker: {html}");
    assert!(html.contains("value=\"mail\""), "{html}");

    // A HEAD of the callback signs in but does not use up the application's request.
    let (_, challenge) = pkce();
    let (b, callback) = to_callback("app", challenge).await;
    let r = b.head(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let picker = location(&r);
    assert!(picker.starts_with("/roles?authz="), "{picker}");
    let html = b
        .get(l.at(&picker))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(continue_url(&html).is_some(), "{html}");
}

/// Going straight upstream parks an authorization request and a login transaction:
/// `/oauth2/authorize` counts both caps at once, the authorization's first. A request the
/// authorization cap refuses is not counted against the login cap, and one it admits is
/// counted against the login cap once.
#[tokio::test]
async fn going_straight_upstream_counts_both_parking_caps_once() {
    use crate::harness::cheap_hash;
    use crate::oidc_provider::pkce;
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let fake = fake_idp(clock.clone(), Algorithm::Rs256).await;
    let providers = format!(
        "{}[limits]\nmax_pending_authorizations_per_address = 2\n\
         max_pending_logins_per_address = 3\n\
         [[clients]]\nid = \"app\"\nsecret_hash = \"{h}\"\n\
         redirect_uris = [\"https://app.example/cb\"]\nallowed_roles = [\"engineer\"]\n",
        fake_provider("fake", &fake.issuer(), ""),
        h = cheap_hash("app-secret")
    );
    let l = &broker(&providers, &["fake"], clock).await;
    let authorize = move || async move {
        let mut url = url::Url::parse(&l.at("/oauth2/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", "app")
            .append_pair("redirect_uri", "https://app.example/cb")
            .append_pair("scope", "openid")
            .append_pair("state", "s")
            .append_pair("code_challenge", &pkce().1)
            .append_pair("code_challenge_method", "S256");
        browser().get(url.as_str()).send().await.unwrap()
    };
    for _ in 0..2 {
        let r = authorize().await;
        assert_eq!(r.status(), 303);
        assert!(
            location(&r).starts_with(&fake.issuer()),
            "straight upstream"
        );
    }
    // The third is refused by the authorization cap…
    let r = authorize().await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // …and did not count against the login cap: two logins counted so far, one more fits.
    let b = browser();
    let r = b.get(l.at("/auth/fake")).send().await.unwrap();
    assert_eq!(r.status(), 303, "the third login of this address");
    let r = b.get(l.at("/auth/fake")).send().await.unwrap();
    assert_eq!(r.status(), 429, "the fourth is over the login cap");
}

/// A store that records the operations run on it (their names, and the kinds of the keys
/// of a batch's steps), for counting a request's round trips.
struct Recording {
    inner: std::sync::Arc<dyn lanyard::session::SessionStore>,
    log: std::sync::Mutex<Vec<String>>,
}

impl Recording {
    /// The operations since the last call, forgotten.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

#[async_trait::async_trait]
impl lanyard::session::SessionStore for Recording {
    async fn run(
        &self,
        op: lanyard::session::Op<'_>,
    ) -> Result<lanyard::session::Answer, lanyard::session::StoreError> {
        let name = match op {
            lanyard::session::Op::Batch { steps } => {
                let kinds: Vec<&str> = steps
                    .iter()
                    .map(|s| s.key().split_once(':').map_or(s.key(), |(k, _)| k))
                    .collect();
                format!("batch[{}]", kinds.join(" "))
            }
            other => other.name().to_owned(),
        };
        self.log.lock().unwrap().push(name);
        self.inner.run(op).await
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}

/// An application's sign-in through the only upstream provider, request by request, in
/// store round trips: `/oauth2/authorize` counts both caps in one and parks the request
/// with the login transaction in another; the token request records the role session
/// with its SSO session's longer life and entry in one, and the refresh token with the
/// family's revocation check in another.
#[tokio::test]
async fn a_straight_through_sign_in_batches_what_each_request_writes() {
    use crate::harness::{cheap_hash, continue_url, memory_store, start_with};
    use crate::oidc_provider::{pkce, query};
    use crate::upstream::broker_text;
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let fake = fake_idp(clock.clone(), Algorithm::Rs256).await;
    let providers = format!(
        "{}[[clients]]\nid = \"app\"\nsecret_hash = \"{h}\"\n\
         redirect_uris = [\"https://app.example/cb\"]\nallowed_roles = [\"engineer\"]\n\
         grant_types = [\"authorization_code\", \"refresh_token\"]\n",
        fake_provider("fake", &fake.issuer(), ""),
        h = cheap_hash("app-secret")
    );
    let keys = tempfile::tempdir().unwrap();
    let text = broker_text(&providers, &["fake"], keys.path());
    let store = std::sync::Arc::new(Recording {
        inner: memory_store(&clock),
        log: std::sync::Mutex::new(Vec::new()),
    });
    let l = start_with(&text, store.clone(), clock).await;
    store.take();

    let (verifier, challenge) = pkce();
    let b = browser();
    let mut url = url::Url::parse(&l.at("/oauth2/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "app")
        .append_pair("redirect_uri", "https://app.example/cb")
        .append_pair("scope", "openid offline_access")
        .append_pair("state", "app-state")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let r = b.get(url.as_str()).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(store.take(), ["count_within", "batch[authz login]"]);

    let callback = location(&b.get(location(&r)).send().await.unwrap());
    store.take();
    let r = b.get(to_lanyard(&l, &callback)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let back = continue_url(&r.text().await.unwrap()).expect("continues to the app");
    let code = query(&back, "code").unwrap();
    store.take();

    let r = reqwest::Client::new()
        .post(l.at("/oauth2/token"))
        .basic_auth("app", Some("app-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://app.example/cb"),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let tokens: serde_json::Value = r.json().await.unwrap();
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let ops = store.take();
    assert!(
        ops.contains(&"batch[sso rs sso-iss]".to_owned())
            && ops.contains(&"batch[sso-iss family-revoked]".to_owned()),
        "{ops:?}"
    );
    for one_by_one in ["extend", "put", "hash_set"] {
        assert!(!ops.iter().any(|o| o == one_by_one), "{ops:?}");
    }
}
