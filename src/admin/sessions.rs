//! Sessions (issue 15): listing the live SSO sessions with the role sessions each holds;
//! ending one, as signing out does; and revoking every session of a person or every role
//! session of a role (the kill switch) by a not-before mark that every instance applies at
//! once (see `sso::revocation`). Each operation is an IAM action allowed by
//! [`Admin::authorize`] like every admin operation: `lanyard:ListSessions` on
//! [`ALL_SESSIONS`], `lanyard:RevokeSessions` on `arn:lanyard:iam:::session/{id}`,
//! `arn:lanyard:iam:::person/{p}` or the role's ARN; each revocation is recorded in the
//! audit trail (`admin.changed`, kind `session`).
//!
//! There is no index of sessions by person, role or provider: one would add store bytes
//! to every sign-in (issue 16 caps them). So a listing is a bounded, cursor-paged walk of
//! the SSO sessions' keys ([`Sso::sessions_page`]), filtered as it goes: one request looks
//! at no more than [`SCAN_PER_REQUEST`] keys and answers no more than about
//! [`RESULTS_PER_REQUEST`] sessions, and gives back a cursor to go on from.
//!
//! May import: `admin`, `audit`, `clock`, `identity`, `roles`, `sso`. No HTTP types.

use super::{Action, Admin, AdminError, Allowed};
use crate::audit::{AuditEvent, EventKind};
use crate::clock::UnixTime;
use crate::identity::{ProviderId, RoleName, RoleSessionId};
use crate::sso::{Revoked, Sso, SsoError};

/// The resource `lanyard:ListSessions` is evaluated on: every session.
pub const ALL_SESSIONS: &str = "arn:lanyard:iam:::session/*";

/// How many SSO-session keys one listing request looks at, at most (give or take one
/// store page: Redis `SCAN`'s count is a hint).
pub const SCAN_PER_REQUEST: u32 = 1_000;

/// How many keys one store page looks at.
const SCAN_PER_PAGE: u32 = 100;

/// How many sessions one listing request answers: it stops after the store page that
/// reaches this, so at most this plus [`SCAN_PER_PAGE`] (less whatever that page filters).
pub const RESULTS_PER_REQUEST: usize = 100;

/// The resource of an action on one SSO session: `arn:lanyard:iam:::session/{id}`.
pub fn session_resource(id: &SessionRef) -> String {
    format!("arn:lanyard:iam:::session/{}", id.0)
}

/// An SSO session's handle as the API names it: the non-secret digest of its cookie (the
/// OpenID Connect `sid` Lanyard gives applications), never the cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef(String);

impl SessionRef {
    /// A handle as given by a caller: base64url characters only (anything else names no
    /// session, and would only make a key pattern of it).
    pub fn parse(text: &str) -> Option<Self> {
        let ok = !text.is_empty()
            && text.len() <= 128
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(text.to_owned()))
    }

    /// The handle's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which sessions a listing wants; every filter given must match.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// The person, `{provider}:{subject}`.
    pub person: Option<String>,
    /// A role the session holds a live role session for.
    pub role: Option<RoleName>,
    /// The provider the person signed in with.
    pub provider: Option<ProviderId>,
}

/// A live SSO session as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEntry {
    /// Its handle (the `{id}` of `DELETE /admin/api/v1/sessions/{id}`).
    pub id: SessionRef,
    /// The person, `{provider}:{subject}`.
    pub person: String,
    /// Their username.
    pub username: String,
    /// Their email address, if the provider gave one.
    pub email: Option<String>,
    /// The provider they signed in with.
    pub provider: ProviderId,
    /// When they signed in.
    pub created_at: UnixTime,
    /// When the session was last used (written back at most once a minute).
    pub last_seen: UnixTime,
    /// When it ends unless used again.
    pub expires_at: UnixTime,
    /// The live role sessions issued in it.
    pub role_sessions: Vec<RoleSessionEntry>,
}

/// A live role session of an SSO session.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSessionEntry {
    /// Its id (the `sid` of its tokens).
    pub id: RoleSessionId,
    /// The role.
    pub role: RoleName,
    /// Its session name: the person's username, or what the application asked for.
    pub session_name: String,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it ends.
    pub expires_at: UnixTime,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPage {
    /// The sessions found, in no particular order.
    pub sessions: Vec<SessionEntry>,
    /// Where the listing goes on (`None`: it is over). A page may be empty and still have
    /// a cursor: the keys it looked at held nothing that matched.
    pub next: Option<String>,
}

impl From<SsoError> for AdminError {
    fn from(e: SsoError) -> Self {
        AdminError::SessionStore(e)
    }
}

impl Admin {
    /// One page of the live SSO sessions matching `filter`, from `cursor` (`None`: the
    /// start), with the live role sessions each holds (only those of `filter.role` when
    /// it is given).
    pub async fn list_sessions(
        &self,
        sso: &Sso,
        filter: &SessionFilter,
        cursor: Option<&str>,
        caller: &Allowed<'_>,
    ) -> Result<SessionPage, AdminError> {
        caller.covers(Action::ListSessions, ALL_SESSIONS)?;
        let mut sessions = Vec::new();
        let mut cursor = cursor.map(str::to_owned);
        let mut scanned = 0;
        loop {
            let (page, next) = sso.sessions_page(cursor.as_deref(), SCAN_PER_PAGE).await?;
            scanned += SCAN_PER_PAGE;
            for (session_ref, session) in page {
                let person = session.identity.qualified_subject();
                if filter.person.as_ref().is_some_and(|p| *p != person)
                    || filter
                        .provider
                        .as_ref()
                        .is_some_and(|p| *p != session.identity.provider)
                {
                    continue;
                }
                let mut role_sessions = sso.issued_role_sessions(&session_ref).await?;
                if let Some(role) = &filter.role {
                    role_sessions.retain(|r| r.role == *role);
                    if role_sessions.is_empty() {
                        continue;
                    }
                }
                sessions.push(SessionEntry {
                    id: SessionRef(session_ref),
                    expires_at: sso.expires_at(&session),
                    person,
                    username: session.identity.username,
                    email: session.identity.email,
                    provider: session.identity.provider,
                    created_at: session.created_at,
                    last_seen: session.last_seen,
                    role_sessions: role_sessions
                        .into_iter()
                        .map(|r| RoleSessionEntry {
                            id: r.id,
                            role: r.role,
                            session_name: r.session_name,
                            issued_at: r.issued_at,
                            expires_at: r.expires_at,
                        })
                        .collect(),
                });
            }
            cursor = next;
            if cursor.is_none()
                || sessions.len() >= RESULTS_PER_REQUEST
                || scanned >= SCAN_PER_REQUEST
            {
                return Ok(SessionPage {
                    sessions,
                    next: cursor,
                });
            }
        }
    }

    /// Ends the SSO session `id` and every role session issued in it, as signing out
    /// does; records `admin.changed` (kind `session`, operation `revoke`) with whose
    /// session it was and `reason`. [`AdminError::SessionNotFound`] when no live session
    /// has that handle.
    pub async fn revoke_session(
        &self,
        sso: &Sso,
        id: &SessionRef,
        reason: Option<&str>,
        caller: &Allowed<'_>,
        now_ms: i64,
    ) -> Result<(), AdminError> {
        caller.covers(Action::RevokeSessions, &session_resource(id))?;
        let Some(session) = sso.load_by_ref(id.as_str()).await? else {
            return Err(AdminError::SessionNotFound);
        };
        let role_sessions = sso.issued_role_sessions(id.as_str()).await?;
        sso.end_by_ref(id.as_str()).await?;
        let mut event = AuditEvent::new(EventKind::AdminChanged, now_ms);
        super::changes::Actor::Session(caller.claims).stamp(&mut event);
        event.detail = serde_json::json!({
            "kind": "session",
            "operation": "revoke",
            "caller_role": caller.claims.role.as_str(),
            "session": id.as_str(),
            "person": session.identity.qualified_subject(),
            "role_sessions": role_sessions
                .iter()
                .map(|r| serde_json::json!({"id": r.id.as_str(), "role": r.role.as_str()}))
                .collect::<Vec<_>>(),
            "reason": reason,
        });
        // The session has ended: a trail that cannot keep the event is logged by `note`.
        self.audit.note(event).await;
        Ok(())
    }
}

/// How many SSO-session keys a revocation's sweep looks at, at most (the mark refuses
/// the rest; they expire in their time).
pub const SWEEP_MAX_KEYS: u32 = 100_000;

/// The resource of revoking every session of a person: `arn:lanyard:iam:::person/{p}`.
pub fn person_resource(person: &str) -> String {
    format!("arn:lanyard:iam:::person/{person}")
}

/// The resource of a revocation mark: `person/{p}`, or the role's ARN.
pub fn revoked_resource(what: &Revoked) -> String {
    match what {
        Revoked::Person(p) => person_resource(p),
        Revoked::Role(r) => crate::roles::role_arn(r.as_str()),
    }
}

impl Admin {
    /// Revokes every session of a person, or every role session of a role (the kill
    /// switch): a not-before mark at `now`, kept for `keep` (the longest a session could
    /// still live), which every instance sharing the store applies at once; then, best
    /// effort, ends the sessions it finds. Records `admin.changed` (kind `session`,
    /// operation `revoke_person` or `revoke_role`) with `reason` and how many it ended.
    pub async fn revoke(
        &self,
        sso: &Sso,
        what: &Revoked,
        reason: Option<&str>,
        caller: &Allowed<'_>,
        now: UnixTime,
        keep: std::time::Duration,
    ) -> Result<usize, AdminError> {
        caller.covers(Action::RevokeSessions, &revoked_resource(what))?;
        sso.mark_revoked(what, now, keep).await?;
        let ended = match sso.sweep(what, SWEEP_MAX_KEYS).await {
            Ok(n) => n,
            Err(e) => {
                // The mark holds: what the sweep missed is refused and expires in its time.
                tracing::warn!(error = %e, "the sweep after a revocation stopped early");
                0
            }
        };
        let mut event = AuditEvent::new(EventKind::AdminChanged, now.millis());
        super::changes::Actor::Session(caller.claims).stamp(&mut event);
        let (operation, target) = match what {
            Revoked::Person(p) => ("revoke_person", serde_json::json!({"person": p})),
            Revoked::Role(r) => {
                event.role = Some(r.clone());
                ("revoke_role", serde_json::json!({"role": r.as_str()}))
            }
        };
        event.detail = serde_json::json!({
            "kind": "session",
            "operation": operation,
            "caller_role": caller.claims.role.as_str(),
            "target": target,
            "revoked_before": now.secs(),
            "ended": ended,
            "reason": reason,
        });
        self.audit.note(event).await;
        Ok(ended)
    }
}
