//! Access: the one door through which every credential leaves Lanyard, and the browser's
//! role offer and choice.
//!
//! [`Issuer::issue`] turns a [`TrustGrant`] (which only the trust evaluator in `roles`
//! builds) into a role session: it mints and signs the access token, stores the role
//! session (one way for every door, with whatever holds it), writes exactly one
//! `credentials.issued` audit event and counts the credentials metric, in that order, and
//! only then returns. When the audit trail refuses the event (policy `refuse`), what was
//! stored is undone and nothing leaves. Refusals (trust refused, role not allowed for the
//! client, bad duration) are recorded as one `credentials.refused` event each with
//! [`Issuer::refused`].
//!
//! The doors: the browser role picker ([`offer`]), Lanyard as OpenID provider (code,
//! refresh, client credentials), STS web identity and SAML, and RFC 8693 token exchange.
//!
//! May import: `roles`, `tokens`, `sso`, `audit`, `telemetry`, `clock`.

pub mod credentials;
pub mod offer;

use std::net::IpAddr;
use std::time::Duration;

use crate::audit::{Audit, AuditEvent, Door, EventKind};
use crate::clock::SharedClock;
use crate::identity::{ClientId, RoleName};
use crate::roles::{RequestFacts, RoleCatalog, TrustGrant, TrustRefusal};
use crate::sso::{RoleSession, Sso, SsoError, SsoSession};
use crate::telemetry::metrics::Metrics;

pub use credentials::{AccessTokenClaims, ClientBinding, CredentialIssuer, IssueError};

/// The longest `User-Agent` kept in an audit event, in characters.
const MAX_USER_AGENT_CHARS: usize = 256;

/// Where a request for credentials came from: the door and the request's facts, for the
/// audit trail.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The door.
    pub door: Door,
    /// The client's address.
    pub source_ip: Option<IpAddr>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// The OAuth client asking, if any.
    pub client_id: Option<ClientId>,
}

impl Attempt {
    /// The attempt a request with these `facts` makes at `door`, by `client_id` if any.
    pub fn new(facts: &RequestFacts, door: Door, client_id: Option<&str>) -> Self {
        Self {
            door,
            source_ip: facts.source_ip,
            user_agent: facts.user_agent.clone(),
            client_id: client_id.map(ClientId::new),
        }
    }
}

/// What holds the role session besides the store.
#[derive(Debug)]
pub enum Holder<'a> {
    /// Nothing: the role session stands alone (STS, machine clients, token exchange).
    Alone,
    /// The browser's SSO session, which shows the token on the credentials page.
    Browser {
        /// The SSO session cookie.
        cookie: &'a str,
        /// The SSO session, updated with its last role session.
        session: &'a mut SsoSession,
    },
    /// An SSO session known by its reference (OpenID provider code, refresh and device
    /// grants), whose person the grant is for: signing out ends the role session, and
    /// a reused code or refresh token of its `family` too.
    SsoRef {
        /// The SSO session's handle (`Sso::session_ref`).
        sso_ref: &'a str,
        /// The token family the role session belongs to, if any.
        family: Option<&'a str>,
    },
}

/// Everything about one issue besides the grant.
#[derive(Debug)]
pub struct IssueRequest<'a> {
    /// Door, address, user agent, client.
    pub attempt: Attempt,
    /// The lifetime asked for (900 s to the role's maximum).
    pub duration: Duration,
    /// `session_name`; the identity's username (or the client's id) when absent.
    pub session_name: Option<String>,
    /// The application the token is bound to.
    pub client: Option<ClientBinding>,
    /// A session policy (IAM JSON), already validated.
    pub session_policy: Option<String>,
    /// What holds the role session.
    pub holder: Holder<'a>,
}

/// What the credentials page shows a browser: the role session its SSO session was last
/// issued, with the token (in `access_token`; `RoleSession`'s `Debug` leaves it out).
#[derive(Debug)]
pub struct ShownCredentials {
    /// The role session, its `access_token` unsealed.
    pub role_session: RoleSession,
    /// Whether more than one role fits the person now (the page offers another choice).
    pub multiple_roles: bool,
}

/// The one door: grant → role session → signed token → stored → one audit event.
#[derive(Clone)]
pub struct Issuer {
    tokens: CredentialIssuer,
    sso: Sso,
    audit: Audit,
    metrics: Metrics,
    clock: SharedClock,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("tokens", &self.tokens)
            .field("audit", &self.audit)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// The issuer over the token signer, the store, the audit trail and the metrics.
    pub fn new(
        tokens: CredentialIssuer,
        sso: Sso,
        audit: Audit,
        metrics: Metrics,
        clock: SharedClock,
    ) -> Self {
        Self {
            tokens,
            sso,
            audit,
            metrics,
            clock,
        }
    }

    /// The token signer and verifier.
    pub fn tokens(&self) -> &CredentialIssuer {
        &self.tokens
    }

    /// The store of SSO and role sessions the door writes to.
    pub fn sso(&self) -> &Sso {
        &self.sso
    }

    /// The clock of the door.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The audit trail, for the events of the doors that are not credentials (refresh
    /// token reuse, revocation).
    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// Issues credentials for `grant`: mints, stores, audits (exactly one
    /// `credentials.issued` event), counts, and returns the role session with its token.
    /// A duration out of the role's bounds is refused (and audited as such); an audit
    /// failure under `refuse` undoes the stored role session and answers
    /// [`IssueError::AuditUnavailable`].
    pub async fn issue(
        &self,
        mut grant: TrustGrant,
        request: IssueRequest<'_>,
    ) -> Result<RoleSession, IssueError> {
        let IssueRequest {
            attempt,
            duration,
            session_name,
            client,
            session_policy,
            holder,
        } = request;
        let principal_keys = grant.take_principal_keys();
        let minted = self.tokens.mint(
            &grant,
            principal_keys,
            duration,
            client.as_ref(),
            session_name.as_deref(),
            session_policy,
        );
        let session = match minted {
            Ok(s) => s,
            Err(e) => {
                if matches!(e, IssueError::DurationOutOfRange { .. }) {
                    self.refused(&attempt, &grant.refused(e.to_string())).await;
                }
                return Err(e);
            }
        };
        match holder {
            Holder::Alone => self.sso.put_role_session(&session).await?,
            Holder::Browser { cookie, session: s } => {
                self.sso.add_role_session(cookie, s, &session).await?;
            }
            Holder::SsoRef { sso_ref, family } => {
                self.sso
                    .add_role_session_by_ref(sso_ref, &session, family)
                    .await?;
            }
        }
        let event = self.issued_event(&grant, &attempt, &session);
        if let Err(e) = self.audit.record(event).await {
            if let Err(undo) = self.sso.revoke_role_session(&session.id).await {
                tracing::error!(sid = %session.id, error = %undo, "an unaudited role session could not be removed");
            }
            return Err(IssueError::AuditUnavailable(e));
        }
        self.metrics.credentials_issued(attempt.door, &session.role);
        Ok(session)
    }

    /// The credentials the browser holding `cookie` was last issued through its SSO
    /// `session`; `None` when there are none to show (none issued, expired, or not this
    /// browser's: only the browser it was issued to can unseal the token, see `sso`).
    pub async fn shown_credentials(
        &self,
        cookie: &str,
        session: &SsoSession,
        roles: &RoleCatalog,
        facts: &RequestFacts,
    ) -> Result<Option<ShownCredentials>, SsoError> {
        let Some(id) = session.last_role_session.as_deref() else {
            return Ok(None);
        };
        let Some(mut role_session) = self.sso.role_session(id).await? else {
            return Ok(None);
        };
        let Some(token) = self.sso.shown_token(cookie, &role_session).await? else {
            return Ok(None);
        };
        token
            .expose_secret()
            .clone_into(&mut role_session.access_token);
        Ok(Some(ShownCredentials {
            role_session,
            multiple_roles: roles.eligible(&session.identity, facts).len() > 1,
        }))
    }

    /// Records one `credentials.refused` event (nothing waits on it).
    pub async fn refused(&self, attempt: &Attempt, refusal: &TrustRefusal) {
        let mut event = self.event(EventKind::CredentialsRefused, attempt);
        event.role = Some(RoleName::new(refusal.role.as_str()));
        event.subject = Some(refusal.subject.clone());
        event.provider = refusal.provider.clone();
        event.statements = refusal.statements.clone();
        event.reason = Some(refusal.reason.clone());
        self.audit.note(event).await;
    }

    fn issued_event(
        &self,
        grant: &TrustGrant,
        attempt: &Attempt,
        session: &RoleSession,
    ) -> AuditEvent {
        let mut event = self.event(EventKind::CredentialsIssued, attempt);
        event.role = Some(session.role.clone());
        event.subject = Some(grant.caller().upstream_subject().to_owned());
        event.provider = grant.caller().provider().map(str::to_owned);
        event.session_name = Some(session.session_name.clone());
        event.role_session = Some(session.id.clone());
        event.duration_secs = Some(session.issued_at.until(session.expires_at).as_secs());
        event.statements = grant.statements().to_vec();
        if let Some((request, _)) = grant.approved() {
            event.detail = serde_json::json!({ "access_request": request });
        }
        event
    }

    fn event(&self, kind: EventKind, attempt: &Attempt) -> AuditEvent {
        let mut event = AuditEvent::new(kind, self.clock.now_ms());
        event.door = Some(attempt.door);
        event.client_id = attempt.client_id.clone();
        event.source_ip = attempt.source_ip.map(|ip| ip.to_string());
        event.user_agent = attempt
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect());
        event
    }
}

/// Test helpers: the one door over a fresh key set (ES256) and a given store.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{CredentialIssuer, Issuer};
    use crate::audit::Audit;
    use crate::clock::SharedClock;
    use crate::session::SessionStore;
    use crate::sso::Sso;
    use crate::telemetry::metrics::Metrics;
    use crate::tokens::{Algorithm, KeySet};

    /// The door over keys made in `dir`, `store`, and `audit`, issuing as `url` (also the
    /// tokens' audience); SSO sessions idle out after an hour.
    pub(crate) fn issuer(
        dir: &std::path::Path,
        clock: &SharedClock,
        store: Arc<dyn SessionStore>,
        url: &str,
        audit: Audit,
    ) -> Issuer {
        let now = clock.now();
        let keys = Arc::new(KeySet::load_or_generate(dir, Algorithm::Es256, now).unwrap());
        let (idle, absolute) = (Duration::from_secs(3600), Duration::from_secs(36_000));
        let sso = Sso::new(store, Arc::clone(clock), idle, absolute);
        let tokens = CredentialIssuer::new(keys, url.into(), url.into(), Arc::clone(clock));
        Issuer::new(tokens, sso, audit, Metrics::new(), Arc::clone(clock))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::audit::{MemorySink, OnFailure};
    use crate::clock::{ManualClock, UnixTime};
    use crate::roles::{Caller, MachineClient, RoleCatalog};
    use crate::session::MemoryStore;

    const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

    fn issuer(
        dir: &std::path::Path,
        broken: bool,
    ) -> (Issuer, MemorySink, RoleCatalog, Arc<MemoryStore>) {
        let clock: SharedClock = Arc::new(ManualClock::new(NOW));
        let memory = Arc::new(MemoryStore::new("t:", Arc::clone(&clock)));
        let sink = MemorySink::new();
        sink.set_failing(broken);
        let audit = sink.audit(OnFailure::Refuse);
        let issuer = testing::issuer(dir, &clock, memory.clone(), "https://l", audit);
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "Robot", "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": "arn:lanyard:iam:::client/robot"}}]});
        let roles = RoleCatalog::new(vec![crate::roles::tests::role("ops", trust)]);
        (issuer, sink, roles, memory)
    }

    fn facts() -> RequestFacts {
        RequestFacts {
            source_ip: Some("10.0.0.1".parse().unwrap()),
            now: NOW,
            secure_transport: true,
            user_agent: None,
        }
    }

    fn request(secs: u64) -> IssueRequest<'static> {
        IssueRequest {
            attempt: Attempt {
                door: Door::ClientCredentials,
                source_ip: facts().source_ip,
                user_agent: Some("t/1".into()),
                client_id: Some("robot".into()),
            },
            duration: Duration::from_secs(secs),
            session_name: None,
            client: None,
            session_policy: None,
            holder: Holder::Alone,
        }
    }

    fn grant(roles: &RoleCatalog) -> TrustGrant {
        let robot = Caller::Client(MachineClient::new("robot", "client_secret"));
        roles.evaluate("ops", robot, &facts()).unwrap()
    }

    #[tokio::test]
    async fn a_role_held_through_an_approved_request_ends_with_its_window() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, sink, _, _) = issuer(dir.path(), false);
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Federated": "corp"}}]});
        let mut role = crate::roles::tests::role("prod", trust);
        role.approval = Some(Arc::new(crate::roles::Approval {
            approvers: None,
            approvals: 1,
            max_duration: Duration::from_secs(3600),
            require_reason: true,
            ticket_pattern: None,
            decision_window: Duration::from_secs(3600),
            break_glass: true,
        }));
        let roles = RoleCatalog::new(vec![role]);
        let alice = crate::identity::ExternalIdentity {
            provider: crate::identity::ProviderId::new("corp"),
            provider_kind: crate::identity::ProviderKind::Local,
            subject: "alice".into(),
            username: "alice".into(),
            email: None,
            email_verified: false,
            display_name: None,
            groups: vec![],
            amr: vec!["pwd".into()],
            mfa: false,
            auth_time: NOW,
            tags: Default::default(),
            claims: Default::default(),
        };
        let approved = crate::roles::ApprovedAccess {
            request: "req-1".into(),
            role: "prod".into(),
            provider: "corp".into(),
            subject: "alice".into(),
            ends: NOW + Duration::from_secs(1200),
        };
        let grant = roles
            .evaluate_approved("prod", Caller::Federated(alice), &facts(), &approved)
            .unwrap();
        // An hour asked, 20 minutes left in the window: the session ends with the window.
        let session = issuer.issue(grant, request(3600)).await.unwrap();
        assert_eq!(session.expires_at, NOW + Duration::from_secs(1200));
        let claims = issuer.tokens().verify(&session.access_token).unwrap();
        assert_eq!(claims.exp, NOW + Duration::from_secs(1200));
        let events = sink.events();
        assert_eq!(events[0].duration_secs, Some(1200));
        assert_eq!(events[0].detail["access_request"], "req-1");
    }

    #[tokio::test]
    async fn one_issue_is_one_event_and_a_refusal_issues_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, sink, roles, _) = issuer(dir.path(), false);
        let session = issuer.issue(grant(&roles), request(900)).await.unwrap();
        let stored = issuer.sso.role_session(&session.id).await.unwrap().unwrap();
        assert_eq!(stored.subject, "arn:lanyard:iam:::client/robot");
        let claims = issuer.tokens().verify(&session.access_token).unwrap();
        assert_eq!(claims.sub, "arn:lanyard:iam:::client/robot");
        assert_eq!(claims.amr, ["client_secret"]);
        {
            let events = sink.events();
            assert_eq!(events.len(), 1);
            let e = &events[0];
            assert_eq!(e.event, EventKind::CredentialsIssued);
            assert_eq!(e.role_session.as_deref(), Some(session.id.as_str()));
            assert_eq!(e.statements, ["Robot"]);
            assert_eq!(e.duration_secs, Some(900));
            assert_eq!(e.user_agent.as_deref(), Some("t/1"));
            assert_eq!(e.source_ip.as_deref(), Some("10.0.0.1"));
        }
        // Longer than the role allows: refused, audited as a refusal, nothing stored.
        let e = issuer
            .issue(grant(&roles), request(7200))
            .await
            .unwrap_err();
        assert!(matches!(e, IssueError::DurationOutOfRange { .. }), "{e}");
        let events = sink.events();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].event, EventKind::CredentialsRefused);
        assert!(events[1].reason.as_deref().unwrap().contains("duration"));
    }

    #[tokio::test]
    async fn an_audit_failure_under_refuse_undoes_the_issue() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, sink, roles, memory) = issuer(dir.path(), true);
        let e = issuer.issue(grant(&roles), request(900)).await.unwrap_err();
        assert!(matches!(e, IssueError::AuditUnavailable(_)), "{e}");
        assert!(sink.events().is_empty());
        // Nothing was left behind in the store: the role session was removed again.
        assert!(memory.is_empty(), "{} records left", memory.len());
    }
}
