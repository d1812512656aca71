//! The one door: every way credentials leave Lanyard (the browser picker, the OpenID
//! provider's code, refresh and client-credentials grants, STS web identity, RFC 8693
//! token exchange) writes exactly one `credentials.issued` audit event, a refusal writes
//! one `credentials.refused` event with the deciding statements, and a machine client is
//! held to its role's trust policy. Events are captured by an in-memory sink given to the
//! broker; web identity tokens come from the in-process issuer of `upstream.rs`.

use lanyard::audit::{AuditEvent, Door, EventKind, MemorySink, OnFailure};
use lanyard::clock::{Clock, ManualClock, UnixTime};
use lanyard::tokens::Algorithm;
use serde_json::{Value, json};

use crate::harness::{Lanyard, T0, browser, cheap_hash, config_text, memory_store, start_audited};
use crate::oidc_provider::{GRAFANA_REDIRECT, authorize_url, query, run_authorize, token};
use crate::upstream::{Fake, fake_idp};

/// What the tests ask of the broker's in-memory audit sink.
trait Issued {
    /// Takes the events so far and checks they are exactly one `credentials.issued` at
    /// `door` (other kinds, such as revocations, are left out); returns it.
    fn one_issued(&self, door: Door) -> AuditEvent;
}

impl Issued for MemorySink {
    fn one_issued(&self, door: Door) -> AuditEvent {
        let issued: Vec<AuditEvent> = self
            .take()
            .into_iter()
            .filter(|e| e.event == EventKind::CredentialsIssued)
            .collect();
        assert_eq!(issued.len(), 1, "{issued:#?}");
        assert_eq!(issued[0].door, Some(door), "{issued:#?}");
        issued.into_iter().next().unwrap()
    }
}

struct Broker {
    l: Lanyard,
    capture: MemorySink,
    fake: Fake,
    _keys: tempfile::TempDir,
}

/// The quickstart's roles and `corp` directory, a CI provider (`ci`, the fake issuer) with
/// role `deploy`, and clients: `grafana` (code and refresh), `deployer` (client
/// credentials for `engineer`, whose trust policy names it), `frozen` (client credentials
/// for `locked`, whose trust policy allows and then denies it), `ci-app` (token exchange).
async fn broker(on_failure: OnFailure) -> Broker {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let fake = fake_idp(clock.clone(), Algorithm::Rs256).await;
    let keys = tempfile::tempdir().unwrap();
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    text.push_str(&format!(
        r#"
[[providers]]
id = "ci"
kind = "oidc"
issuer = "{issuer}"
client_id = "lanyard"
client_auth = "none"
web_identity_audiences = ["sts.lanyard"]
browser_sign_in = false
timeout = "2s"

[[roles]]
name = "deploy"
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Sid = "AcmeMain", Effect = "Allow", Principal = {{ Federated = "ci" }}, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = {{ StringLike = {{ "ci:sub" = "repo:acme/*" }} }} }},
] }}

[[roles]]
name = "locked"
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Sid = "FrozenMayAsk", Effect = "Allow", Principal = {{ AWS = "arn:lanyard:iam:::client/frozen" }}, Action = "sts:AssumeRole" }},
  {{ Sid = "Frozen", Effect = "Deny", Principal = {{ AWS = "arn:lanyard:iam:::client/frozen" }}, Action = "sts:AssumeRole" }},
] }}

[[clients]]
id = "grafana"
secret_hash = "{grafana}"
redirect_uris = ["{GRAFANA_REDIRECT}"]
allowed_roles = ["engineer", "auditor"]

[[clients]]
id = "deployer"
secret_hash = "{deployer}"
grant_types = ["client_credentials"]
machine_role = "engineer"

[[clients]]
id = "frozen"
secret_hash = "{frozen}"
grant_types = ["client_credentials"]
machine_role = "locked"

[[clients]]
id = "ci-app"
secret_hash = "{ci_app}"
grant_types = ["token_exchange"]
allowed_roles = ["deploy"]
"#,
        issuer = fake.issuer(),
        grafana = cheap_hash("grafana-secret"),
        deployer = cheap_hash("deployer-secret"),
        frozen = cheap_hash("frozen-secret"),
        ci_app = cheap_hash("ci-app-secret"),
    ));
    let capture = MemorySink::new();
    let audit = capture.audit(on_failure);
    let l = start_audited(&text, memory_store(&clock), clock, audit).await;
    Broker {
        l,
        capture,
        fake,
        _keys: keys,
    }
}

impl Broker {
    /// A CI job's web identity token for `sub`.
    fn job_token(&self, sub: &str) -> String {
        let s = self.fake.0.lock().unwrap();
        let now = s.clock.now().secs();
        let claims = json!({
            "iss": s.issuer, "aud": "sts.lanyard", "sub": sub, "iat": now, "exp": now + 300,
        });
        s.keys.sign(&claims, "JWT").unwrap()
    }

    async fn machine(&self, client: &str) -> (u16, Value) {
        let secret = format!("{client}-secret");
        let form = [("grant_type", "client_credentials")];
        token(&self.l, Some((client, &secret)), &form).await
    }
}

#[tokio::test]
async fn every_door_writes_exactly_one_issued_event() {
    let x = broker(OnFailure::Refuse).await;
    let ua = "one-door-test/1.0";

    // The browser picker.
    let b = browser();
    let (status, html) = x.l.picker(&b, "alice").await;
    assert_eq!(status, 200, "{html}");
    let r = x.l.choose(&b, &html, "engineer", 900).await;
    assert_eq!(r.status(), 303);
    let (_, page) = x.l.credentials(&b).await;
    assert!(page.contains("engineer"));
    let e = x.capture.one_issued(Door::Browser);
    assert_eq!(e.role.as_deref(), Some("engineer"));
    assert_eq!(e.subject.as_deref(), Some("alice"));
    assert_eq!(e.provider.as_deref(), Some("corp"));
    assert_eq!(e.statements, ["Engineers"]);
    assert_eq!(e.duration_secs, Some(900));
    assert_eq!(e.source_ip.as_deref(), Some("127.0.0.1"));
    assert!(e.role_session.is_some());

    // The authorization code, then the refresh token it came with.
    let b = browser();
    let url = authorize_url(&x.l, "grafana", GRAFANA_REDIRECT, &[]);
    let back = run_authorize(&x.l, &b, &url, "bob", None).await;
    let code = query(&back, "code").expect("a code");
    x.capture.take();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", GRAFANA_REDIRECT),
    ];
    let (s, t) = token(&x.l, Some(("grafana", "grafana-secret")), &form).await;
    assert_eq!(s, 200, "{t}");
    let e = x.capture.one_issued(Door::OidcCode);
    assert_eq!(e.client_id.as_deref(), Some("grafana"));
    assert_eq!(e.subject.as_deref(), Some("bob"));
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();
    let form = [("grant_type", "refresh_token"), ("refresh_token", &refresh)];
    let (s, t) = token(&x.l, Some(("grafana", "grafana-secret")), &form).await;
    assert_eq!(s, 200, "{t}");
    x.capture.one_issued(Door::OidcRefresh);
    // The used refresh token again: no credentials, a reuse event and a revocation.
    let (s, _) = token(&x.l, Some(("grafana", "grafana-secret")), &form).await;
    assert_eq!(s, 400);
    let kinds: Vec<EventKind> = x.capture.take().iter().map(|e| e.event).collect();
    assert!(kinds.contains(&EventKind::RefreshReuse), "{kinds:?}");
    assert!(kinds.contains(&EventKind::Revocation), "{kinds:?}");
    assert!(!kinds.contains(&EventKind::CredentialsIssued), "{kinds:?}");

    // Client credentials: the client principal, never a made-up identity.
    let (s, t) = x.machine("deployer").await;
    assert_eq!(s, 200, "{t}");
    let e = x.capture.one_issued(Door::ClientCredentials);
    assert_eq!(
        e.subject.as_deref(),
        Some("arn:lanyard:iam:::client/deployer")
    );
    assert_eq!(e.statements, ["DeployerClient"]);
    assert_eq!(e.provider, None);

    // STS web identity, with the caller's user agent.
    let r = reqwest::Client::new()
        .post(x.l.at("/sts/assume-role-with-web-identity"))
        .header("user-agent", ua)
        .json(&json!({"role": "deploy", "web_identity_token": x.job_token("repo:acme/app")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let e = x.capture.one_issued(Door::StsWebIdentity);
    assert_eq!(e.user_agent.as_deref(), Some(ua));
    assert_eq!(e.statements, ["AcmeMain"]);
    assert_eq!(e.provider.as_deref(), Some("ci"));

    // RFC 8693 token exchange.
    let subject = x.job_token("repo:acme/api");
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("subject_token", subject.as_str()),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
    ];
    let (s, t) = token(&x.l, Some(("ci-app", "ci-app-secret")), &form).await;
    assert_eq!(s, 200, "{t}");
    let e = x.capture.one_issued(Door::TokenExchange);
    assert_eq!(e.client_id.as_deref(), Some("ci-app"));
    assert_eq!(e.role.as_deref(), Some("deploy"));

    // Revocation of an access token by its client.
    let access = t["access_token"].as_str().unwrap();
    let r = reqwest::Client::new()
        .post(x.l.at("/oauth2/revoke"))
        .basic_auth("ci-app", Some("ci-app-secret"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let events = x.capture.take();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].event, EventKind::Revocation);
    assert_eq!(events[0].role.as_deref(), Some("deploy"));

    // Every door is counted by the credentials metric.
    let metrics = reqwest::get(x.l.at("/metrics")).await.unwrap();
    let text = metrics.text().await.unwrap();
    for door in [
        "browser",
        "oidc_code",
        "oidc_refresh",
        "client_credentials",
        "sts_web_identity",
        "token_exchange",
    ] {
        assert!(
            text.contains(&format!(
                "lanyard_credentials_issued_total{{door=\"{door}\""
            )),
            "{door}: {text}"
        );
    }
}

#[tokio::test]
async fn a_client_its_role_does_not_trust_is_refused_and_audited() {
    let x = broker(OnFailure::Refuse).await;
    let (s, t) = x.machine("frozen").await;
    assert_eq!((s, t["error"].as_str()), (400, Some("unauthorized_client")));
    let events = x.capture.take();
    assert_eq!(events.len(), 1, "{events:#?}");
    let e = &events[0];
    assert_eq!(e.event, EventKind::CredentialsRefused);
    assert_eq!(e.door, Some(Door::ClientCredentials));
    assert_eq!(e.role.as_deref(), Some("locked"));
    assert_eq!(
        e.subject.as_deref(),
        Some("arn:lanyard:iam:::client/frozen")
    );
    assert_eq!(e.statements, ["Frozen"]);
    assert!(e.reason.as_deref().unwrap().contains("denied"), "{e:?}");

    // A web identity the role does not trust: refused with its reason, nothing issued.
    let r = reqwest::Client::new()
        .post(x.l.at("/sts/assume-role-with-web-identity"))
        .json(&json!({"role": "deploy", "web_identity_token": x.job_token("repo:evil/app")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let events = x.capture.take();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].event, EventKind::CredentialsRefused);
    assert_eq!(events[0].door, Some(Door::StsWebIdentity));
}

#[tokio::test]
async fn no_credential_leaves_when_the_audit_trail_refuses() {
    let x = broker(OnFailure::Refuse).await;
    x.capture.set_failing(true);
    let (s, t) = x.machine("deployer").await;
    assert_eq!(
        (s, t["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );
    let r = reqwest::Client::new()
        .post(x.l.at("/sts/assume-role-with-web-identity"))
        .json(&json!({"role": "deploy", "web_identity_token": x.job_token("repo:acme/app")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "ServiceUnavailable");
    // The browser: a plain page, and no credentials to show.
    let b = browser();
    let (_, html) = x.l.picker(&b, "alice").await;
    let r = x.l.choose(&b, &html, "engineer", 900).await;
    assert_eq!(r.status(), 503);
    let page = r.text().await.unwrap();
    assert!(page.contains("briefly unavailable"), "{page}");
    let r = b.get(x.l.at("/credentials")).send().await.unwrap();
    assert_eq!(r.status(), 303, "nothing was issued to show");
    // Once the trail is back, the same requests get credentials.
    x.capture.set_failing(false);
    assert_eq!(x.machine("deployer").await.0, 200);
    x.capture.one_issued(Door::ClientCredentials);
}
