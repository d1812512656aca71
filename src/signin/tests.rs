use std::time::Duration;

use super::*;
use crate::audit::{MemorySink, OnFailure, RecordClaims};
use crate::clock::{ManualClock, UnixTime};
use crate::config::Config;
use crate::connectors::local::hash_password;
use crate::session::{MemoryStore, SessionStore};

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

struct Fixture {
    sso: Sso,
    connectors: Connectors,
    clock: SharedClock,
    manual: ManualClock,
    limits: SignInLimits,
    audit: Audit,
    captured: MemorySink,
    metrics: Metrics,
    recorder: SignInRecorder,
}

impl Fixture {
    /// A local directory `corp` (alice, password `right`) and GitHub `gh` (never called).
    fn new() -> Self {
        let hash = hash_password(&Secret::new("right")).unwrap();
        let text = format!(
            "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
             [[providers]]\nid = \"corp\"\nkind = \"local\"\n\
             [[providers.users]]\nusername = \"alice\"\npassword_hash = \"{}\"\n\
             [[providers]]\nid = \"gh\"\nkind = \"github\"\nbase_url = \"http://127.0.0.1:9\"\n\
             client_id = \"Iv1.test\"\nclient_secret = \"gh-secret\"\n",
            hash.expose_secret()
        );
        let config = Config::from_toml(&text, std::path::Path::new("."), &|_| None).unwrap();
        let manual = ManualClock::new(NOW);
        let clock: SharedClock = Arc::new(manual.clone());
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new("t:", Arc::clone(&clock)));
        let captured = MemorySink::new();
        Self {
            sso: Sso::new(
                store,
                Arc::clone(&clock),
                Duration::from_secs(3600),
                Duration::from_secs(36_000),
            ),
            connectors: Connectors::new(&config.providers, &config.server.issuer()).unwrap(),
            clock,
            manual,
            limits: SignInLimits {
                max_account_failures: 2,
                ..SignInLimits::default()
            },
            audit: captured.audit(OnFailure::Log),
            captured,
            metrics: Metrics::new(),
            recorder: SignInRecorder::new(None, RecordClaims::default()),
        }
    }

    fn service(&self) -> SignIn<'_> {
        SignIn {
            sso: &self.sso,
            connectors: &self.connectors,
            clock: &self.clock,
            limits: &self.limits,
            audit: &self.audit,
            metrics: &self.metrics,
            recorder: &self.recorder,
        }
    }

    fn events(&self) -> Vec<AuditEvent> {
        self.captured.take()
    }

    fn count(&self, provider: &str, outcome: &str) -> usize {
        let (p, o) = (
            format!("provider=\"{provider}\""),
            format!("outcome=\"{outcome}\""),
        );
        self.metrics
            .render()
            .lines()
            .filter(|l| l.starts_with("lanyard_signins_total{") && l.contains(&p) && l.contains(&o))
            .find_map(|l| l.rsplit(' ').next().map(|v| v.parse().unwrap()))
            .unwrap_or(0)
    }

    async fn callback(
        &self,
        params: Option<CallbackParams>,
        login: Option<&Secret>,
    ) -> Result<SignedIn, SignInError> {
        let answer = Answer::Redirect { params, login };
        self.service().finish("gh", answer, &facts()).await
    }

    /// A fresh password form of `corp` in the browser `browser`.
    async fn form(&self, browser: &Secret, return_to: Option<&str>) -> PasswordPrompt {
        let start = Start {
            return_to: return_to.map(str::to_owned),
            browser: Some(browser.clone()),
            ..Start::default()
        };
        match self.service().begin("corp", start).await.unwrap() {
            Begun::PasswordForm(p) => p,
            other => panic!("not a form: {other:?}"),
        }
    }

    async fn password(
        &self,
        prompt: &PasswordPrompt,
        browser: &Secret,
        password: &str,
    ) -> Result<SignedIn, SignInError> {
        let answer = Answer::Password(PasswordAnswer {
            form_id: prompt.form_id.expose_secret(),
            browser: Some(browser),
            username: "alice",
            password: Secret::new(password),
            otp: Secret::new(""),
        });
        self.service().finish("corp", answer, &facts()).await
    }
}

fn facts() -> RequestFacts {
    RequestFacts {
        source_ip: Some("192.0.2.7".parse().unwrap()),
        now: NOW,
        secure_transport: true,
        user_agent: Some("test-agent/1".into()),
    }
}

#[test]
fn return_to_stays_on_site() {
    assert_eq!(safe_return_to(Some("/roles")), Some("/roles".into()));
    assert_eq!(
        safe_return_to(Some("/oauth2/authorize?x=1")),
        Some("/oauth2/authorize?x=1".into())
    );
    for bad in [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "roles",
        "/a\nb",
        "",
    ] {
        assert_eq!(safe_return_to(Some(bad)), None, "{bad:?}");
    }
}

#[tokio::test]
async fn a_password_sign_in_is_audited_counted_and_establishes_a_fresh_session() {
    let f = Fixture::new();
    let browser = random_id();
    let prompt = f.form(&browser, Some("https://evil.example/")).await;
    assert!(!prompt.ask_otp);
    assert_eq!(prompt.browser.expose_secret(), browser.expose_secret());
    let signed_in = f.password(&prompt, &browser, "right").await.unwrap();
    assert_eq!(signed_in.identity.username, "alice");
    assert_eq!(
        signed_in.return_to, None,
        "an off-site return_to is dropped"
    );
    let events = f.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.event, EventKind::SignInSucceeded);
    assert_eq!(e.provider.as_deref(), Some("corp"));
    assert_eq!(e.subject.as_deref(), Some("alice"));
    assert_eq!(e.source_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(e.user_agent.as_deref(), Some("test-agent/1"));
    assert_eq!(e.time_ms, NOW.millis());
    assert_eq!(f.count("corp", "success"), 1);

    let first = f.service().establish(signed_in, None).await.unwrap();
    assert_eq!(first.go_to, DEFAULT_RETURN_TO);
    assert!(
        f.sso
            .load(first.cookie.expose_secret())
            .await
            .unwrap()
            .is_some()
    );
    // Signing in again in the same browser ends the first session.
    let prompt = f.form(&browser, Some("/credentials")).await;
    let again = f.password(&prompt, &browser, "right").await.unwrap();
    let second = f
        .service()
        .establish(again, Some(&first.cookie))
        .await
        .unwrap();
    assert_eq!(second.go_to, "/credentials");
    assert!(
        f.sso
            .load(first.cookie.expose_secret())
            .await
            .unwrap()
            .is_none()
    );
    let session = f
        .sso
        .load(second.cookie.expose_secret())
        .await
        .unwrap()
        .unwrap();
    f.events();
    f.service()
        .sign_out(&second.cookie, &session, &facts())
        .await
        .unwrap();
    assert!(
        f.sso
            .load(second.cookie.expose_secret())
            .await
            .unwrap()
            .is_none()
    );
    let events = f.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, EventKind::SignOut);
    assert_eq!(events[0].subject.as_deref(), Some("alice"));
}

#[tokio::test]
async fn failures_are_audited_by_account_hash_and_lock_the_account() {
    let f = Fixture::new();
    let browser = random_id();
    for _ in 0..2 {
        let prompt = f.form(&browser, Some("/x")).await;
        match f.password(&prompt, &browser, "not-her-pw-1").await {
            Err(e @ SignInError::Refused { .. }) => {
                assert_eq!(e.outcome(), Some(Outcome::Failure));
                let SignInError::Refused { return_to, .. } = e else {
                    unreachable!()
                };
                assert_eq!(return_to.as_deref(), Some("/x"), "kept for the next form");
            }
            other => panic!("not refused: {other:?}"),
        }
    }
    let prompt = f.form(&browser, None).await;
    let locked = f.password(&prompt, &browser, "right").await.unwrap_err();
    assert_eq!(locked.outcome(), Some(Outcome::Locked));
    let events = f.events();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.event).collect();
    assert_eq!(
        kinds,
        [
            EventKind::SignInFailed,
            EventKind::SignInLocked,
            EventKind::SignInFailed,
            EventKind::SignInFailed
        ]
    );
    let account = account_hash(&ProviderId::new("corp"), "alice");
    for e in &events {
        assert_eq!(e.detail["account"], account.as_str(), "{e:?}");
        assert_eq!(e.source_ip.as_deref(), Some("192.0.2.7"));
        let json = serde_json::to_string(e).unwrap();
        assert!(
            !json.to_lowercase().contains("alice"),
            "no username: {json}"
        );
        assert!(!json.contains("not-her-pw-1"), "no password: {json}");
    }
    assert_eq!(events[1].detail["locked"], "account");
    assert_eq!(events[1].detail["lock_secs"], 30);
    assert_eq!(
        events[3].reason.as_deref(),
        Some("account locked after repeated failures")
    );
    assert_eq!(f.count("corp", "failure"), 2);
    assert_eq!(f.count("corp", "locked"), 1);
    f.manual.advance(Duration::from_secs(31));
    let prompt = f.form(&browser, None).await;
    assert!(f.password(&prompt, &browser, "right").await.is_ok());
}

#[tokio::test]
async fn a_form_is_single_use_and_answered_only_from_its_browser() {
    let f = Fixture::new();
    let browser = random_id();
    let prompt = f.form(&browser, None).await;
    let other = random_id();
    let foreign = f.password(&prompt, &other, "right").await.unwrap_err();
    assert!(
        matches!(foreign, SignInError::FormExpired { .. }),
        "{foreign:?}"
    );
    // The foreign answer left the form alone; once used, it is gone.
    assert!(f.password(&prompt, &browser, "right").await.is_ok());
    let replay = f.password(&prompt, &browser, "right").await.unwrap_err();
    assert!(
        matches!(replay, SignInError::FormExpired { .. }),
        "{replay:?}"
    );
    assert_eq!(f.count("corp", "refused"), 2);
    assert_eq!(f.count("corp", "success"), 1);
}

#[tokio::test]
async fn a_redirect_sign_in_binds_its_state_to_the_login_cookie() {
    let f = Fixture::new();
    let start = Start {
        return_to: Some("/roles?x=1".into()),
        login_hint: Some("octocat".into()),
        ..Start::default()
    };
    let Begun::Redirect { url, binding } = f.service().begin("gh", start).await.unwrap() else {
        panic!("not a redirect");
    };
    let url = url::Url::parse(&url).unwrap();
    assert!(
        url.as_str()
            .starts_with("http://127.0.0.1:9/login/oauth/authorize?")
    );
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "login" && v == "octocat")
    );
    let Some(Binding::Login(cookie)) = binding else {
        panic!("no login cookie");
    };
    let callback = |state: &str| CallbackParams {
        code: Some(Secret::new("code")),
        state: Some(state.to_owned()),
        ..CallbackParams::default()
    };
    let forged = f.callback(Some(callback("forged")), Some(&cookie)).await;
    assert!(
        matches!(
            forged,
            Err(SignInError::Upstream {
                error: UpstreamError::StateMismatch,
                ..
            })
        ),
        "{forged:?}"
    );
    let no_cookie = f.callback(Some(callback(&state)), None).await;
    assert!(matches!(
        no_cookie,
        Err(SignInError::Upstream {
            error: UpstreamError::UnknownTransaction,
            ..
        })
    ));
    // An upstream error answer, with the right state, takes the transaction: it is gone.
    let denied = CallbackParams {
        error: Some("access_denied".into()),
        ..callback(&state)
    };
    let e = f.callback(Some(denied), Some(&cookie)).await.unwrap_err();
    assert_eq!(e.outcome(), Some(Outcome::Failure), "{e:?}");
    let gone = f.callback(Some(callback(&state)), Some(&cookie)).await;
    assert!(matches!(
        gone,
        Err(SignInError::Upstream {
            error: UpstreamError::UnknownTransaction,
            ..
        })
    ));
    assert_eq!(f.count("gh", "refused"), 3);
    assert_eq!(f.count("gh", "failure"), 1);
    let events = f.events();
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|e| e.event == EventKind::SignInFailed
        && e.provider.as_deref() == Some("gh")
        && e.reason.is_some()));
}

#[tokio::test]
async fn wrong_providers_and_kinds_are_no_sign_in_attempts() {
    let f = Fixture::new();
    let unknown = f.service().begin("nope", Start::default()).await;
    assert!(matches!(unknown, Err(SignInError::UnknownProvider(_))));
    let password = Answer::Password(PasswordAnswer {
        form_id: "x",
        browser: None,
        username: "alice",
        password: Secret::new("right"),
        otp: Secret::new(""),
    });
    let to_github = f.service().finish("gh", password, &facts()).await;
    assert!(matches!(to_github, Err(SignInError::NoPasswordForm(_))));
    let saml = Answer::Saml {
        response: "PHNhbWw+",
        relay_state: None,
        binding: None,
    };
    let to_local = f.service().finish("corp", saml, &facts()).await;
    assert!(matches!(to_local, Err(SignInError::NotSaml(_))));
    let form = f.service().password_form("gh", None, None).await;
    assert!(matches!(form, Err(SignInError::NoPasswordForm(_))));
    assert!(f.events().is_empty());
    assert!(!f.metrics.render().contains("lanyard_signins_total"));
}

/// The providers of a config with `providers` (TOML `[[providers]]` entries).
fn connectors_of(providers: &str) -> Connectors {
    let text = format!(
        "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n{providers}"
    );
    let config = Config::from_toml(&text, std::path::Path::new("."), &|_| None).unwrap();
    Connectors::new(&config.providers, &config.server.issuer()).unwrap()
}

#[test]
fn only_a_lone_upstream_provider_is_gone_to_straight() {
    const GITHUB: &str = "[[providers]]\nid = \"gh\"\nkind = \"github\"\n\
        base_url = \"http://127.0.0.1:9\"\nclient_id = \"Iv1.test\"\nclient_secret = \"s\"\n";
    const LOCAL: &str = "[[providers]]\nid = \"corp\"\nkind = \"local\"\n";
    let f = Fixture::new();
    let sole = |providers: &str| {
        let connectors = connectors_of(providers);
        let signin = SignIn {
            connectors: &connectors,
            ..f.service()
        };
        signin.sole_upstream().map(|p| p.id.to_string())
    };
    assert_eq!(sole(GITHUB).as_deref(), Some("gh"));
    assert_eq!(sole(LOCAL), None, "a password form is a page of its own");
    assert_eq!(sole(&format!("{LOCAL}{GITHUB}")), None, "a choice to make");
    assert_eq!(sole(""), None);
}

/// An admin's test sign-in comes back marked with the admin's session, even after a
/// refused attempt (the fresh form keeps the mark), and is told apart in the trail; a
/// sign-in started without the mark never carries one.
#[tokio::test]
async fn a_test_sign_in_keeps_its_mark_through_the_form_and_is_audited_as_one() {
    let f = Fixture::new();
    let browser = random_id();
    let start = Start {
        browser: Some(browser.clone()),
        test_for: Some("admin-session-digest".into()),
        ..Start::default()
    };
    let Begun::PasswordForm(prompt) = f.service().begin("corp", start).await.unwrap() else {
        panic!("not a form");
    };
    let refused = f.password(&prompt, &browser, "wrong").await.unwrap_err();
    let SignInError::Refused { test_for, .. } = &refused else {
        panic!("not refused: {refused:?}");
    };
    assert_eq!(test_for.as_deref(), Some("admin-session-digest"));
    let again = f
        .service()
        .password_form_for("corp", (None, test_for.clone()), Some(browser.clone()))
        .await
        .unwrap();
    let signed_in = f.password(&again, &browser, "right").await.unwrap();
    let test = signed_in.test.expect("a test sign-in");
    assert_eq!(test.for_session, "admin-session-digest");
    assert_eq!(test.evidence, Evidence::Identity);
    let events = f.events();
    let last = events.last().unwrap();
    assert_eq!(last.event, EventKind::SignInSucceeded);
    assert_eq!(last.detail["test"], serde_json::json!(true));

    let prompt = f.form(&browser, None).await;
    let plain = f.password(&prompt, &browser, "right").await.unwrap();
    assert!(plain.test.is_none());
    assert!(f.events().last().unwrap().detail.get("test").is_none());
}
