#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lanyard_policy::{Policy, PolicyKind};

use super::*;
use crate::audit::{MemorySink, OnFailure};
use crate::clock::ManualClock;
use crate::db::{Database, Location};
use crate::identity::{ProviderId, ProviderKind};
use crate::roles::{Approval, Caller, Role, TicketPattern};

const NOW: i64 = 1_800_000_000;

fn person(subject: &str, groups: &[&str], mfa: bool, auth_time: i64) -> ExternalIdentity {
    ExternalIdentity {
        provider: ProviderId::new("corp"),
        provider_kind: ProviderKind::Oidc,
        subject: subject.to_owned(),
        username: subject.to_owned(),
        email: None,
        email_verified: false,
        display_name: Some(format!("{subject} display")),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        amr: if mfa {
            vec!["pwd".into(), "otp".into()]
        } else {
            vec!["pwd".into()]
        },
        mfa,
        auth_time: UnixTime::from_secs(auth_time),
        tags: BTreeMap::new(),
        claims: BTreeMap::new(),
    }
}

/// A role anyone of `corp` in the group `eng` may ask for, approved by `sre-leads` with
/// MFA, `approvals` times; break-glass when `break_glass`.
fn role(name: &str, approvals: u32, break_glass: bool, ticket: Option<&str>) -> Role {
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "corp"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"ForAnyValue:StringEquals": {"idp:groups": "eng"}}}]});
    let approvers = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "SreLeads", "Effect": "Allow", "Principal": {"Federated": "corp"},
        "Action": "lanyard:ApproveAccessRequest",
        "Condition": {"ForAnyValue:StringEquals": {"idp:groups": "sre-leads"},
                      "Bool": {"aws:MultiFactorAuthPresent": "true"}}}]});
    Role {
        name: name.into(),
        description: String::new(),
        group: None,
        max_session_duration: Duration::from_secs(7200),
        trust_policy: Arc::new(Policy::from_value("t", &trust, PolicyKind::Trust).unwrap()),
        permission_policies: vec![],
        permissions_boundary: None,
        approval: Some(Arc::new(Approval {
            approvers: Some(Arc::new(
                Policy::from_value("a", &approvers, PolicyKind::Trust).unwrap(),
            )),
            approvals,
            max_duration: Duration::from_secs(3600),
            require_reason: true,
            ticket_pattern: ticket.map(|t| TicketPattern::new(t).unwrap()),
            decision_window: Duration::from_secs(24 * 3600),
            break_glass,
        })),
    }
}

struct World {
    elevation: Elevation,
    sso: Sso,
    roles: RoleCatalog,
    clock: Arc<ManualClock>,
    sink: MemorySink,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&Location::Sqlite(dir.path().join("e.db"))).unwrap();
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(NOW)));
    let sink = MemorySink::new();
    let notifier = Notifier::new(Vec::new(), "https://sso.example.com/".parse().unwrap()).unwrap();
    let sso = sso(&clock);
    World {
        elevation: Elevation::new(
            Arc::new(db),
            sink.audit(OnFailure::Log),
            notifier,
            clock.clone(),
            sso.clone(),
        ),
        sso,
        roles: RoleCatalog::new(vec![
            role("prod-admin", 1, false, None),
            role("prod-db", 2, false, Some("OPS-[0-9]+")),
            role("emergency", 1, true, None),
        ]),
        clock,
        sink,
        _dir: dir,
    }
}

/// The SSO service over a memory store on `clock`.
fn sso(clock: &Arc<ManualClock>) -> Sso {
    let clock: SharedClock = clock.clone();
    let store = Arc::new(crate::session::MemoryStore::new("t:", Arc::clone(&clock)));
    Sso::new(
        store,
        clock,
        Duration::from_secs(3600),
        Duration::from_secs(36_000),
    )
}

impl World {
    fn facts(&self) -> RequestFacts {
        RequestFacts {
            source_ip: Some("10.0.0.1".parse().unwrap()),
            now: self.clock.now(),
            secure_transport: true,
            user_agent: None,
        }
    }

    async fn ask(
        &self,
        who: &ExternalIdentity,
        role: &str,
        ticket: &str,
    ) -> Result<AccessRequest, RequestError> {
        let ask = Ask {
            role: role.to_owned(),
            duration: Duration::from_secs(1800),
            reason: "deploy hotfix".to_owned(),
            ticket: ticket.to_owned(),
            break_glass: false,
        };
        self.elevation
            .request(&self.roles, who, &self.facts(), ask)
            .await
    }

    async fn decide(
        &self,
        id: &str,
        who: &ExternalIdentity,
        verdict: Verdict,
    ) -> Result<AccessRequest, DecisionError> {
        self.elevation
            .decide(&self.roles, id, who, &self.facts(), (verdict, "ok"))
            .await
    }
}

fn alice() -> ExternalIdentity {
    person("alice", &["eng"], false, NOW - 3600)
}

fn lead(name: &str) -> ExternalIdentity {
    person(name, &["eng", "sre-leads"], true, NOW - 60)
}

use crate::clock::Clock;

#[tokio::test]
async fn a_request_approved_opens_a_window_the_role_is_granted_in_and_no_longer() {
    let w = world();
    let alice = alice();
    // The role is neither offered nor granted without a request.
    assert!(w.roles.eligible(&alice, &w.facts()).is_empty());
    let requestable: Vec<String> = w
        .roles
        .requestable(&alice, &w.facts())
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(requestable, ["prod-admin", "prod-db", "emergency"]);
    let refused = w
        .roles
        .evaluate("prod-admin", Caller::Federated(alice.clone()), &w.facts());
    assert!(
        refused
            .unwrap_err()
            .reason
            .contains("approved access request")
    );

    let asked = w.ask(&alice, "prod-admin", "").await.unwrap();
    assert_eq!(asked.state, State::Pending);
    assert!(
        w.elevation
            .approved_for(&"prod-admin".into(), &alice)
            .await
            .unwrap()
            .is_none()
    );

    let decided = w
        .decide(&asked.row.id, &lead("bob"), Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(decided.state, State::Approved);
    assert_eq!(decided.row.ends_ms, Some(NOW * 1000 + 1_800_000));

    let approved = w
        .elevation
        .approved_for(&"prod-admin".into(), &alice)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(approved.ends, UnixTime::from_secs(NOW + 1800));
    assert_eq!(
        w.elevation.get(&asked.row.id).await.unwrap().unwrap().state,
        State::Used
    );
    let grant = w
        .roles
        .evaluate_approved(
            "prod-admin",
            Caller::Federated(alice.clone()),
            &w.facts(),
            &approved,
        )
        .unwrap();
    assert_eq!(
        grant.approved(),
        Some((asked.row.id.as_str(), approved.ends))
    );
    // Someone else cannot use Alice's approval, nor Alice for another role.
    let mallory = person("mallory", &["eng"], false, NOW);
    assert!(
        w.roles
            .evaluate_approved(
                "prod-admin",
                Caller::Federated(mallory),
                &w.facts(),
                &approved
            )
            .is_err()
    );
    assert!(
        w.roles
            .evaluate_approved(
                "prod-db",
                Caller::Federated(alice.clone()),
                &w.facts(),
                &approved
            )
            .is_err()
    );

    // When the window ends, the approval grants nothing and the request reads expired.
    w.clock.advance(Duration::from_secs(1800));
    assert!(
        w.roles
            .evaluate_approved(
                "prod-admin",
                Caller::Federated(alice.clone()),
                &w.facts(),
                &approved
            )
            .is_err()
    );
    assert!(
        w.elevation
            .approved_for(&"prod-admin".into(), &alice)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        w.elevation.get(&asked.row.id).await.unwrap().unwrap().state,
        State::Expired
    );
    assert_eq!(w.elevation.expire_due().await.unwrap(), 1);

    let kinds: Vec<&str> = w.sink.events().iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        kinds,
        ["access.requested", "access.approved", "access.expired"]
    );
    let approved_event = &w.sink.events()[1];
    assert_eq!(approved_event.subject.as_deref(), Some("bob"));
    assert_eq!(approved_event.statements, ["SreLeads"]);
    assert_eq!(approved_event.detail["window_opened"], true);
}

#[tokio::test]
async fn nobody_approves_their_own_request_and_approvers_need_the_policy_and_a_fresh_factor() {
    let w = world();
    // A lead asks: the lead cannot approve it.
    let carol = lead("carol");
    let asked = w.ask(&carol, "prod-admin", "").await.unwrap();
    assert!(matches!(
        w.decide(&asked.row.id, &carol, Verdict::Approve).await,
        Err(DecisionError::OwnRequest)
    ));
    // Not in sre-leads.
    let dave = person("dave", &["eng"], true, NOW - 60);
    assert!(matches!(
        w.decide(&asked.row.id, &dave, Verdict::Approve).await,
        Err(DecisionError::NotApprover(_))
    ));
    // A lead without MFA is refused by the approvers policy; with MFA 20 minutes old, by
    // the freshness rule.
    let no_mfa = person("erin", &["sre-leads"], false, NOW - 60);
    assert!(matches!(
        w.decide(&asked.row.id, &no_mfa, Verdict::Approve).await,
        Err(DecisionError::NotApprover(_))
    ));
    let stale = person("erin", &["sre-leads"], true, NOW - 1200);
    assert!(matches!(
        w.decide(&asked.row.id, &stale, Verdict::Approve).await,
        Err(DecisionError::StepUpNeeded)
    ));
    assert_eq!(
        w.elevation.get(&asked.row.id).await.unwrap().unwrap().state,
        State::Pending
    );
    assert!(
        w.elevation
            .get(&asked.row.id)
            .await
            .unwrap()
            .unwrap()
            .row
            .decisions
            .is_empty()
    );
}

#[tokio::test]
async fn two_approvals_are_two_people_and_a_denial_closes_the_request() {
    let w = world();
    let alice = alice();
    assert!(matches!(
        w.ask(&alice, "prod-db", "").await,
        Err(RequestError::Ticket { .. })
    ));
    assert!(matches!(
        w.ask(&alice, "prod-db", "see OPS-12").await,
        Err(RequestError::Ticket { .. })
    ));
    let asked = w.ask(&alice, "prod-db", "OPS-12").await.unwrap();
    // One open request per person and role.
    match w.ask(&alice, "prod-db", "OPS-13").await {
        Err(RequestError::Open(id)) => assert_eq!(id, asked.row.id),
        other => panic!("{other:?}"),
    }
    let first = w
        .decide(&asked.row.id, &lead("bob"), Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(first.state, State::Pending);
    assert_eq!(first.approvals(), 1);
    assert!(matches!(
        w.decide(&asked.row.id, &lead("bob"), Verdict::Approve)
            .await,
        Err(DecisionError::AlreadyDecided)
    ));
    let second = w
        .decide(&asked.row.id, &lead("carol"), Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(second.state, State::Approved);
    assert!(matches!(
        w.decide(&asked.row.id, &lead("dan"), Verdict::Deny).await,
        Err(DecisionError::Closed(State::Approved))
    ));

    // A denial closes a request at once.
    let asked = w.ask(&alice, "prod-admin", "").await.unwrap();
    let denied = w
        .decide(&asked.row.id, &lead("bob"), Verdict::Deny)
        .await
        .unwrap();
    assert_eq!(denied.state, State::Denied);
    assert!(matches!(
        w.decide(&asked.row.id, &lead("carol"), Verdict::Approve)
            .await,
        Err(DecisionError::Closed(State::Denied))
    ));
    // And the person may ask again.
    w.ask(&alice, "prod-admin", "").await.unwrap();
}

#[tokio::test]
async fn concurrent_approvals_are_all_counted_once() {
    let w = Arc::new(world());
    let alice = alice();
    let asked = w.ask(&alice, "prod-db", "OPS-1").await.unwrap();
    let mut tasks = Vec::new();
    for name in ["b1", "b2", "b3", "b4"] {
        let (w, id) = (Arc::clone(&w), asked.row.id.clone());
        tasks.push(tokio::spawn(async move {
            w.decide(&id, &lead(name), Verdict::Approve).await
        }));
    }
    let mut approved = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) if r.state == State::Approved => approved += 1,
            Ok(r) => assert_eq!(r.state, State::Pending),
            Err(DecisionError::Closed(State::Approved)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(approved, 1, "exactly one decision opened the window");
    let done = w.elevation.get(&asked.row.id).await.unwrap().unwrap();
    assert_eq!(done.state, State::Approved);
    assert_eq!(done.approvals(), 2);
}

#[tokio::test]
async fn an_undecided_request_expires_and_a_revoked_one_grants_nothing() {
    let w = world();
    let alice = alice();
    let asked = w.ask(&alice, "prod-admin", "").await.unwrap();
    w.clock.advance(Duration::from_secs(24 * 3600));
    assert!(matches!(
        w.decide(
            &asked.row.id,
            &person("bob", &["sre-leads"], true, NOW + 24 * 3600 - 10),
            Verdict::Approve
        )
        .await,
        Err(DecisionError::Closed(State::Expired))
    ));
    // Expired lazily: a new request is accepted without a sweep.
    let again = w.ask(&alice, "prod-admin", "").await.unwrap();
    let bob = person("bob", &["sre-leads"], true, NOW + 24 * 3600 - 10);
    w.decide(&again.row.id, &bob, Verdict::Approve)
        .await
        .unwrap();
    let revoked = w
        .elevation
        .revoke(&again.row.id, "corp:bob", "done early")
        .await
        .unwrap();
    assert_eq!(revoked.state, State::Revoked);
    assert!(
        w.elevation
            .approved_for(&"prod-admin".into(), &alice)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        w.elevation.revoke(&again.row.id, "corp:bob", "").await,
        Err(DecisionError::Closed(State::Revoked))
    ));
    let last = w.sink.events().pop().unwrap();
    assert_eq!(last.event.as_str(), "access.revoked");
    assert_eq!(last.reason.as_deref(), Some("done early"));
}

/// A role session of `alice` for `prod-admin`, held through `request` if any.
fn role_session(id: &str, request: Option<&str>, now: UnixTime) -> crate::sso::RoleSession {
    crate::sso::RoleSession {
        id: id.into(),
        role: "prod-admin".into(),
        session_name: "alice".into(),
        subject: "corp:alice".into(),
        principal_keys: crate::roles::PrincipalKeys::of(&alice()),
        auth_time: now,
        mfa: false,
        issued_at: now,
        expires_at: now + Duration::from_secs(1800),
        access_token: String::new(),
        access_token_digest: "d".into(),
        session_policy: None,
        sso_ref: None,
        access_request: request.map(str::to_owned),
    }
}

#[tokio::test]
async fn revoking_a_request_ends_its_role_sessions_and_no_other() {
    let w = world();
    let alice = alice();
    let asked = w.ask(&alice, "prod-admin", "").await.unwrap();
    w.decide(&asked.row.id, &lead("bob"), Verdict::Approve)
        .await
        .unwrap();
    let now = w.clock.now();
    let id = asked.row.id.as_str();
    w.sso
        .put_role_session(&role_session("rs-held", Some(id), now))
        .await
        .unwrap();
    w.sso
        .put_role_session(&role_session("rs-other", Some("another-request"), now))
        .await
        .unwrap();
    w.sso
        .put_role_session(&role_session("rs-plain", None, now))
        .await
        .unwrap();
    // A minute later (a mark refuses by request, not by time).
    w.clock.advance(Duration::from_secs(60));
    w.elevation.revoke(id, "corp:bob", "").await.unwrap();
    assert!(w.sso.role_session("rs-held").await.unwrap().is_none());
    assert!(w.sso.role_session("rs-other").await.unwrap().is_some());
    assert!(w.sso.role_session("rs-plain").await.unwrap().is_some());
    // A pending request is revoked (withdrawn) as well; a closed one is not.
    let pending = w.ask(&alice, "prod-db", "OPS-7").await.unwrap();
    let withdrawn = w
        .elevation
        .revoke(&pending.row.id, "corp:alice", "")
        .await
        .unwrap();
    assert_eq!(withdrawn.state, State::Revoked);
    assert!(matches!(
        w.elevation.revoke("no-such-request", "corp:bob", "").await,
        Err(DecisionError::NotFound)
    ));
}

#[test]
fn a_revocation_mark_lasts_until_a_window_could_have_closed() {
    let mut row = crate::db::RequestRow {
        id: "r".into(),
        role: "prod-admin".into(),
        provider: "corp".into(),
        subject: "alice".into(),
        display_name: String::new(),
        reason: String::new(),
        ticket: String::new(),
        duration_secs: 1800,
        approvals_needed: 1,
        break_glass: false,
        state: "pending".into(),
        created_ms: 0,
        decide_by_ms: 10_000,
        starts_ms: None,
        ends_ms: None,
        used_ms: None,
        closed_ms: None,
        closed_by: None,
        close_reason: None,
        version: 0,
        decisions: Vec::new(),
    };
    // Pending: approved at the last moment, its window would end 1800 s after that.
    assert_eq!(
        mark_lifetime(&row, 0),
        Duration::from_millis(10_000 + 1_800_000) + Duration::from_secs(60)
    );
    // Approved early: still the later of the two (never too short).
    row.ends_ms = Some(500_000);
    assert_eq!(
        mark_lifetime(&row, 400_000),
        Duration::from_millis(1_810_000 - 400_000) + Duration::from_secs(60)
    );
    // Past everything: a minute.
    assert_eq!(mark_lifetime(&row, 9_999_999), Duration::from_secs(60));
}

#[tokio::test]
async fn break_glass_approves_itself_only_where_allowed_and_always_with_a_reason() {
    let w = world();
    let alice = alice();
    let mut ask = Ask {
        role: "prod-admin".to_owned(),
        duration: Duration::from_secs(900),
        reason: "site down".to_owned(),
        ticket: String::new(),
        break_glass: true,
    };
    assert!(matches!(
        w.elevation
            .request(&w.roles, &alice, &w.facts(), ask.clone())
            .await,
        Err(RequestError::BreakGlassNotAllowed)
    ));
    ask.role = "emergency".to_owned();
    ask.reason = "  ".to_owned();
    assert!(matches!(
        w.elevation
            .request(&w.roles, &alice, &w.facts(), ask.clone())
            .await,
        Err(RequestError::ReasonRequired)
    ));
    ask.reason = "site down".to_owned();
    ask.duration = Duration::from_secs(7200);
    assert!(matches!(
        w.elevation
            .request(&w.roles, &alice, &w.facts(), ask.clone())
            .await,
        Err(RequestError::Duration {
            min: 900,
            max: 3600
        })
    ));
    ask.duration = Duration::from_secs(900);
    let glass = w
        .elevation
        .request(&w.roles, &alice, &w.facts(), ask)
        .await
        .unwrap();
    assert_eq!(glass.state, State::Approved);
    assert!(glass.row.break_glass);
    assert_eq!(glass.row.decisions[0].subject, "alice");
    assert!(
        w.elevation
            .approved_for(&"emergency".into(), &alice)
            .await
            .unwrap()
            .is_some()
    );
    let event = w.sink.events().pop().unwrap();
    assert_eq!(event.event.as_str(), "access.requested");
    assert_eq!(event.detail["break_glass"], true);
    assert_eq!(event.detail["reason"], "site down");
}

#[tokio::test]
async fn who_may_not_ask_cannot() {
    let w = world();
    let outsider = person("olga", &["sales"], true, NOW);
    assert!(matches!(
        w.ask(&outsider, "prod-admin", "").await,
        Err(RequestError::NotRequestable(_))
    ));
    assert!(matches!(
        w.ask(&alice(), "no-such-role", "").await,
        Err(RequestError::NotRequestable(_))
    ));
}

#[test]
fn the_signature_is_the_standard_webhooks_one() {
    // The example of the Standard Webhooks specification.
    let secret = crate::secret::Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let signature = webhooks::signature(
        &secret,
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1_614_265_330,
        r#"{"test": 2432232314}"#,
    );
    assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

#[tokio::test]
async fn notifications_are_signed_retried_and_shaped_for_chat() {
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::Mutex;

    type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;
    let seen: Seen = Arc::default();
    let failures = Arc::new(std::sync::atomic::AtomicU32::new(1));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let (seen, failures) = (Arc::clone(&seen), Arc::clone(&failures));
            move |headers: HeaderMap, body: String| {
                let (seen, failures) = (Arc::clone(&seen), Arc::clone(&failures));
                async move {
                    seen.lock().unwrap().push((headers, body));
                    // The first delivery fails: the notifier tries again.
                    if failures
                        .fetch_update(
                            std::sync::atomic::Ordering::SeqCst,
                            std::sync::atomic::Ordering::SeqCst,
                            |n| n.checked_sub(1),
                        )
                        .is_ok()
                    {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let secret = crate::secret::Secret::new("a-shared-secret");
    let hooks = vec![
        Webhook {
            url: format!("http://{addr}/hook").parse().unwrap(),
            format: WebhookFormat::Json,
            secret: Some(secret.clone()),
        },
        Webhook {
            url: format!("http://{addr}/hook").parse().unwrap(),
            format: WebhookFormat::Chat,
            secret: None,
        },
    ];
    let mut w = world();
    w.elevation.notifier =
        Notifier::new(hooks, "https://sso.example.com/".parse().unwrap()).unwrap();
    let asked = w.ask(&alice(), "prod-admin", "").await.unwrap();

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "3 deliveries expected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = seen.lock().unwrap().clone();
    let json: Vec<&(HeaderMap, String)> = seen
        .iter()
        .filter(|(_, b)| b.contains("\"type\""))
        .collect();
    let chat: Vec<&(HeaderMap, String)> = seen
        .iter()
        .filter(|(_, b)| !b.contains("\"type\""))
        .collect();
    assert_eq!(json.len() + chat.len(), 3);
    for (headers, body) in &json {
        let id = headers["webhook-id"].to_str().unwrap();
        let ts: i64 = headers["webhook-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            headers["webhook-signature"].to_str().unwrap(),
            webhooks::signature(&secret, id, ts, body)
        );
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(value["type"], "access_request.requested");
        assert_eq!(value["request"]["role"], "prod-admin");
        assert_eq!(value["request"]["reason"], "deploy hotfix");
        assert_eq!(
            value["url"],
            format!("https://sso.example.com/requests/{}", asked.row.id)
        );
    }
    for (headers, body) in &chat {
        assert!(headers.get("webhook-signature").is_none());
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        let text = value["text"].as_str().unwrap();
        assert!(
            text.contains("alice display asks for the role prod-admin for 30 minutes"),
            "{text}"
        );
        assert!(
            text.ends_with(&format!("/requests/{}", asked.row.id)),
            "{text}"
        );
    }
    // The retried delivery carries the same message id.
    let ids: std::collections::BTreeSet<&str> = seen
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
}
