//! Sign-in audit events (`signin.succeeded`, `signin.failed`, `signin.locked`, `signout`)
//! and the `lanyard_signins_total{provider, outcome}` series, through the real peers: the
//! local directory, slapd, oidc-provider and pysaml2. Each broker gets a capturing audit
//! sink (`harness::AUDIT`); the series are read from `/metrics` with a Prometheus parser.

use lanyard::audit::{Audit, AuditEvent, EventKind, MemorySink, OnFailure};

use crate::harness::{AUDIT, Lanyard, csrf_of};

const USER_AGENT: &str = "signin-events-test/1.0";

/// Keeps every event the broker writes.
#[derive(Default, Clone)]
struct Capture(MemorySink);

impl Capture {
    fn audit(&self) -> Audit {
        self.0.audit(OnFailure::Refuse)
    }

    /// The events written so far (and forgets them).
    fn take(&self) -> Vec<AuditEvent> {
        self.0.take()
    }
}

/// A browser that says who it is.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .build()
        .unwrap()
}

/// `lanyard_signins_total{provider, outcome}` as scraped from `/metrics`.
async fn signins(l: &Lanyard, provider: &str, outcome: &str) -> f64 {
    let (status, scrape) = crate::operations::scrape(&l.url, None).await;
    assert_eq!(status, 200);
    crate::operations::value(
        &scrape.unwrap(),
        "lanyard_signins_total",
        &[("provider", provider), ("outcome", outcome)],
    )
    .unwrap_or(0.0)
}

/// The one event of `kind` among `events`.
fn only(events: &[AuditEvent], kind: EventKind) -> &AuditEvent {
    let of_kind: Vec<&AuditEvent> = events.iter().filter(|e| e.event == kind).collect();
    assert_eq!(of_kind.len(), 1, "{kind:?} in {events:#?}");
    of_kind[0]
}

/// What every sign-in event carries: the provider and the request's facts.
fn assert_from_this_browser(e: &AuditEvent, provider: &str) {
    assert_eq!(e.provider.as_deref(), Some(provider), "{e:?}");
    assert_eq!(e.source_ip.as_deref(), Some("127.0.0.1"), "{e:?}");
    assert_eq!(e.user_agent.as_deref(), Some(USER_AGENT), "{e:?}");
}

#[tokio::test]
async fn local_sign_in_failures_lockout_and_sign_out_are_audited_and_counted() {
    let capture = Capture::default();
    let l = AUDIT
        .scope(capture.audit(), crate::harness::start_memory())
        .await;
    let b = browser();
    let (status, html) = l.picker(&b, "alice").await;
    assert_eq!(status, 200, "{html}");
    let events = capture.take();
    let e = only(&events, EventKind::SignInSucceeded);
    assert_from_this_browser(e, "corp");
    assert_eq!(e.subject.as_deref(), Some("alice"));

    let r = b
        .post(l.at("/signout"))
        .form(&[("csrf", csrf_of(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let events = capture.take();
    let e = only(&events, EventKind::SignOut);
    assert_from_this_browser(e, "corp");
    assert_eq!(e.subject.as_deref(), Some("alice"));

    // Five failures lock carol's account; the sixth attempt is refused unchecked.
    let allowed = lanyard::signin::SignInLimits::default().max_account_failures;
    for _ in 0..=allowed {
        let r = l.sign_in(&b, "carol", "not-her-password").await;
        assert_eq!(r.status(), 401);
    }
    let events = capture.take();
    let failed: Vec<&AuditEvent> = events
        .iter()
        .filter(|e| e.event == EventKind::SignInFailed)
        .collect();
    assert_eq!(failed.len(), allowed as usize + 1, "{events:#?}");
    let locked = only(&events, EventKind::SignInLocked);
    assert_eq!(locked.detail["locked"], "account");
    assert_eq!(locked.detail["failures"], allowed);
    let account = &failed[0].detail["account"];
    assert!(account.as_str().is_some_and(|a| a.len() == 43), "{account}");
    for e in failed.iter().chain([&locked]) {
        assert_from_this_browser(e, "corp");
        assert_eq!(&e.detail["account"], account, "one account, by its hash");
        let json = serde_json::to_string(e).unwrap();
        assert!(
            !json.contains("carol") && !json.contains("not-her-password"),
            "{json}"
        );
    }
    assert_eq!(
        failed[0].reason.as_deref(),
        Some("wrong username, password or one-time code")
    );
    assert_eq!(
        failed[allowed as usize].reason.as_deref(),
        Some("account locked after repeated failures")
    );
    assert_eq!(signins(&l, "corp", "success").await, 1.0);
    assert_eq!(signins(&l, "corp", "failure").await, f64::from(allowed));
    assert_eq!(signins(&l, "corp", "locked").await, 1.0);
    assert_eq!(signins(&l, "corp", "refused").await, 0.0);

    // A stale form checks nothing: refused, and audited as such.
    let r = b
        .post(l.at("/auth/corp"))
        .form(&[
            ("username", "alice"),
            ("password", "alice-pw"),
            ("csrf", "stale"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let events = capture.take();
    let e = only(&events, EventKind::SignInFailed);
    assert_eq!(
        e.reason.as_deref(),
        Some("password form expired or already used")
    );
    assert_eq!(signins(&l, "corp", "refused").await, 1.0);
}

#[tokio::test]
async fn ldap_sign_ins_and_failures_are_audited_and_counted() {
    use crate::ldap::{Groups, Transport, config, lanyard, sign_in};
    let slapd = crate::slapd::Slapd::start(false).await;
    let keys = tempfile::tempdir().unwrap();
    let text = config(&slapd, Transport::Plain, Groups::Search, keys.path());
    let capture = Capture::default();
    let l = AUDIT.scope(capture.audit(), lanyard(&text)).await;
    let b = browser();
    let (status, body) = sign_in(&l, &b, "alice", "alice-pw").await;
    assert_eq!(status, 303, "{body}");
    let (status, _) = sign_in(&l, &b, "bob", "wrong").await;
    assert_eq!(status, 401);
    let events = capture.take();
    let ok = only(&events, EventKind::SignInSucceeded);
    assert_from_this_browser(ok, "dir");
    assert!(ok.subject.as_deref().is_some_and(|s| !s.is_empty()));
    let failed = only(&events, EventKind::SignInFailed);
    assert_from_this_browser(failed, "dir");
    assert!(failed.reason.is_some() && failed.detail["account"].is_string());
    assert_eq!(signins(&l, "dir", "success").await, 1.0);
    assert_eq!(signins(&l, "dir", "failure").await, 1.0);
}

#[tokio::test]
async fn oidc_sign_ins_and_forged_callbacks_are_audited_and_counted() {
    let op = crate::oidc_interop::start_op().await;
    let capture = Capture::default();
    let l = AUDIT
        .scope(
            capture.audit(),
            crate::oidc_interop::lanyard_for(&op, "fetch_userinfo = true"),
        )
        .await;
    let (_, r) = crate::oidc_interop::sign_in(&l, "alice").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let events = capture.take();
    let ok = only(&events, EventKind::SignInSucceeded);
    assert_eq!(ok.provider.as_deref(), Some("op"));
    assert_eq!(ok.source_ip.as_deref(), Some("127.0.0.1"));
    assert!(ok.subject.as_deref().is_some_and(|s| !s.is_empty()));
    // A callback no sign-in of this browser started.
    let b = browser();
    let r = b
        .get(l.at("/auth/op/callback?code=stolen&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let events = capture.take();
    let refused = only(&events, EventKind::SignInFailed);
    assert_from_this_browser(refused, "op");
    assert!(refused.reason.is_some());
    assert_eq!(signins(&l, "op", "success").await, 1.0);
    assert_eq!(signins(&l, "op", "refused").await, 1.0);
}

#[tokio::test]
async fn saml_sign_ins_and_invalid_responses_are_audited_and_counted() {
    use crate::saml_interop::{Source, setup, sign_in, signed_assertion};
    let capture = Capture::default();
    let s = AUDIT
        .scope(capture.audit(), setup(signed_assertion(), Source::File, ""))
        .await;
    let b = browser();
    let r = sign_in(&s, &b, "alice").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let events = capture.take();
    let ok = only(&events, EventKind::SignInSucceeded);
    assert_from_this_browser(ok, "idp");
    assert!(ok.subject.as_deref().is_some_and(|s| !s.is_empty()));
    let r = b
        .post(s.l.at("/auth/idp/callback"))
        .form(&[("SAMLResponse", "PG5vdC1zYW1sLz4=")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let events = capture.take();
    let refused = only(&events, EventKind::SignInFailed);
    assert_from_this_browser(refused, "idp");
    assert_eq!(signins(&s.l, "idp", "success").await, 1.0);
    assert_eq!(signins(&s.l, "idp", "refused").await, 1.0);
}
