//! Elevation with approval: access requests for roles that need one (`[roles.approval]`).
//!
//! A person whose trust policy fits such a role asks for it (how long, why, which ticket);
//! the request waits for its decision until the role's `decision_window` ends. People the
//! role's approvers document allows ([`RoleCatalog::may_approve`]) decide, each once, never
//! on their own request, and only with a fresh second factor; the last approval needed
//! opens the approved window, a denial closes the request. Within the window the requester
//! assumes the role through [`Elevation::approved_for`] and
//! [`RoleCatalog::evaluate_approved`], and no role session outlives the window. A request
//! can be withdrawn or revoked while open. Break-glass roles let the requester approve
//! their own request with a reason, which always notifies and is marked in the trail.
//!
//! Every step is an audit event (`access.*`) and a webhook notification
//! ([`webhooks`]); the state changes themselves are atomic in the database
//! ([`crate::db::Database::decide_access_request`]).
//!
//! Every door that grants a role (the picker, the OpenID provider's code, device and
//! refresh grants, STS) asks [`evaluate`], so an approval role is held only within its
//! window; the role session minted from a request carries the request's id and ends with
//! the window. [`Elevation::revoke`] marks the request revoked in the session store
//! before closing it ([`Sso::mark_request_revoked`]), so its role sessions are refused
//! at once by every instance sharing the store.
//!
//! May import: `audit`, `clock`, `db`, `identity`, `roles`, `secret`, `sso`.

pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use crate::audit::{Audit, AuditEvent, EventKind};
use crate::clock::{SharedClock, UnixTime};
use crate::db::{DbError, DecideError, DecisionRow, NewRequest, RequestRow};
use crate::identity::{ExternalIdentity, RoleName};
use crate::roles::{
    ApprovedAccess, Caller, MAX_TICKET_CHARS, MIN_SESSION_SECS, RequestFacts, RoleCatalog,
    TrustGrant, TrustRefusal,
};
use crate::sso::{Sso, SsoError};

/// Which requests [`Elevation::list`] reads (re-exported: callers above the service name
/// it without reaching into `db`).
pub use crate::db::RequestFilter;
pub use webhooks::{Notifier, Webhook, WebhookFormat};

/// How recent an approver's second factor must be, in seconds: a decision is made with a
/// factor checked for it, not with one from the morning's sign-in.
pub const APPROVER_MFA_MAX_AGE_SECS: u64 = 600;

/// The longest reason or comment kept, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;

/// A request's state at a given time (a pending request past its decision time reads as
/// expired before the sweep writes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for its decision.
    Pending,
    /// Approved; the window is open and nobody used it yet.
    Approved,
    /// Approved and used at least once; the window is still open.
    Used,
    /// Denied by an approver.
    Denied,
    /// Undecided in time, or its window ended.
    Expired,
    /// Withdrawn by its requester or revoked.
    Revoked,
}

impl State {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Used => "used",
            State::Denied => "denied",
            State::Expired => "expired",
            State::Revoked => "revoked",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<State> {
        [
            State::Pending,
            State::Approved,
            State::Used,
            State::Denied,
            State::Expired,
            State::Revoked,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Whether the request still waits or still opens the role.
    pub fn is_open(self) -> bool {
        matches!(self, State::Pending | State::Approved | State::Used)
    }
}

/// An access request as of a time.
#[derive(Debug, Clone)]
pub struct AccessRequest {
    /// As stored.
    pub row: RequestRow,
    /// Its state at the time it was read.
    pub state: State,
}

impl AccessRequest {
    fn at(row: RequestRow, now_ms: i64) -> Self {
        let stored = State::parse(&row.state).unwrap_or(State::Expired);
        let state = match stored {
            State::Pending if row.decide_by_ms <= now_ms => State::Expired,
            State::Approved | State::Used if row.ends_ms.is_none_or(|e| e <= now_ms) => {
                State::Expired
            }
            s => s,
        };
        Self { row, state }
    }

    /// Whether `who` made this request.
    pub fn is_requester(&self, who: &ExternalIdentity) -> bool {
        self.row.provider == who.provider.as_str() && self.row.subject == who.subject
    }

    /// How many different people approved it.
    pub fn approvals(&self) -> usize {
        self.row
            .decisions
            .iter()
            .filter(|d| d.decision == "approve")
            .count()
    }
}

/// What a person asks for.
#[derive(Debug, Clone)]
pub struct Ask {
    /// The role.
    pub role: String,
    /// The window wanted.
    pub duration: Duration,
    /// Why.
    pub reason: String,
    /// The ticket (empty: none).
    pub ticket: String,
    /// Whether the requester approves it themself (break-glass).
    pub break_glass: bool,
}

/// Why a request was not made.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The role needs no approval, does not exist, or its trust policy does not allow
    /// the person (kept for the trail; the person sees "not available").
    #[error("this role cannot be requested")]
    NotRequestable(Box<TrustRefusal>),
    /// The window asked for is out of the role's bounds.
    #[error("the duration must be between {min} and {max} seconds")]
    Duration {
        /// Seconds at least.
        min: u64,
        /// Seconds at most.
        max: u64,
    },
    /// The role asks for a reason and none was given (always for break-glass).
    #[error("a reason is required")]
    ReasonRequired,
    /// The reason is too long.
    #[error("the reason is longer than {MAX_TEXT_CHARS} characters")]
    ReasonTooLong,
    /// The role asks for a ticket and none matching its pattern was given.
    #[error("the ticket must match {pattern}")]
    Ticket {
        /// The pattern.
        pattern: String,
    },
    /// Break-glass asked for a role that does not allow it.
    #[error("this role does not allow break-glass access")]
    BreakGlassNotAllowed,
    /// The person has an open request for the role already (its id).
    #[error("an open request for this role exists already")]
    Open(String),
    /// The database failed.
    #[error(transparent)]
    Unavailable(#[from] DbError),
}

/// Why a decision was not taken.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// No such request.
    #[error("no such access request")]
    NotFound,
    /// Nobody decides on their own request.
    #[error("nobody decides on their own request")]
    OwnRequest,
    /// The approvers document does not allow this person.
    #[error("you may not decide on requests for this role")]
    NotApprover(Box<TrustRefusal>),
    /// The approver's second factor is missing or older than
    /// [`APPROVER_MFA_MAX_AGE_SECS`]: confirm it, then decide.
    #[error("confirm your second factor first")]
    StepUpNeeded,
    /// This person decided already.
    #[error("you have decided on this request already")]
    AlreadyDecided,
    /// The request is no longer pending.
    #[error("the request is {}", .0.as_str())]
    Closed(State),
    /// The comment is too long.
    #[error("the comment is longer than {MAX_TEXT_CHARS} characters")]
    CommentTooLong,
    /// The database failed.
    #[error(transparent)]
    Unavailable(#[from] DbError),
    /// The session store failed before a revocation could end the request's role
    /// sessions: nothing was changed; try again.
    #[error("the request's role sessions could not be ended: {0}")]
    Sessions(#[from] SsoError),
}

impl From<DecideError> for DecisionError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::NotFound => DecisionError::NotFound,
            DecideError::AlreadyDecided => DecisionError::AlreadyDecided,
            // A request found closed for deciding while stored pending was past its time.
            DecideError::Closed(row) => DecisionError::Closed(match State::parse(&row.state) {
                Some(State::Pending) | None => State::Expired,
                Some(s) => s,
            }),
            DecideError::Open(_) => DecisionError::Closed(State::Pending),
            DecideError::Db(e) => DecisionError::Unavailable(e),
        }
    }
}

/// An approver's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Approve.
    Approve,
    /// Deny.
    Deny,
}

/// The elevation service.
pub struct Elevation {
    db: Arc<crate::db::Database>,
    audit: Audit,
    notifier: Notifier,
    clock: SharedClock,
    sso: Sso,
}

impl std::fmt::Debug for Elevation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Elevation").finish_non_exhaustive()
    }
}

fn name_of(who: &ExternalIdentity) -> String {
    who.display_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| who.username.clone())
}

fn too_long(text: &str) -> bool {
    text.chars().count() > MAX_TEXT_CHARS
}

/// How long the revocation mark of the open request `row` must last at `now_ms`: until
/// its approved window closes, or, undecided, until a window approved at the last moment
/// would (a minute more for clocks apart).
fn mark_lifetime(row: &RequestRow, now_ms: i64) -> Duration {
    let latest = row.ends_ms.unwrap_or(0).max(
        row.decide_by_ms
            .saturating_add(row.duration_secs.saturating_mul(1000)),
    );
    let left = u64::try_from(latest.saturating_sub(now_ms)).unwrap_or(0);
    Duration::from_millis(left) + Duration::from_secs(60)
}

/// The trust decision for `role` at any door: [`Elevation::evaluate`] when there are
/// access requests (a database), else [`RoleCatalog::evaluate`] (which grants no role that
/// needs approval). `Err` only when the database cannot say.
pub async fn evaluate(
    elevation: Option<&Elevation>,
    roles: &RoleCatalog,
    role: &str,
    caller: Caller,
    facts: &RequestFacts,
) -> Result<Result<TrustGrant, TrustRefusal>, DbError> {
    match elevation {
        Some(e) => e.evaluate(roles, role, caller, facts).await,
        None => Ok(roles.evaluate(role, caller, facts)),
    }
}

/// Whether a refusal of `role` to `who` is for want of an open approved request: the role
/// needs approval and its trust policy lets `who` ask for it. Such a refusal may say so
/// (and point to `/requests`); any other stays the door's plain "not authorized", which
/// tells nobody the trust policy does not allow whether the role exists.
pub fn awaits_approval(
    roles: &RoleCatalog,
    role: &str,
    who: &ExternalIdentity,
    facts: &RequestFacts,
) -> bool {
    roles.may_request(role, who, facts).is_ok()
}

impl Elevation {
    /// The service over the database `db`, recording to `audit`, notifying through
    /// `notifier`, ending revoked requests' role sessions in `sso`'s store.
    pub fn new(
        db: Arc<crate::db::Database>,
        audit: Audit,
        notifier: Notifier,
        clock: SharedClock,
        sso: Sso,
    ) -> Self {
        Self {
            db,
            audit,
            notifier,
            clock,
            sso,
        }
    }

    /// `who` asks for `ask.role`: checked against the role's trust policy (which says who
    /// may ask) and its approval rule, stored pending — or, for break-glass, approved by
    /// the requester at once — recorded and notified.
    pub async fn request(
        &self,
        roles: &RoleCatalog,
        who: &ExternalIdentity,
        facts: &RequestFacts,
        ask: Ask,
    ) -> Result<AccessRequest, RequestError> {
        let role = roles
            .may_request(&ask.role, who, facts)
            .map_err(|r| RequestError::NotRequestable(Box::new(r)))?;
        let Some(rule) = role.approval.as_ref() else {
            return Err(RequestError::BreakGlassNotAllowed);
        };
        let secs = ask.duration.as_secs();
        let max = rule.max_duration.as_secs();
        if !(MIN_SESSION_SECS..=max).contains(&secs) {
            return Err(RequestError::Duration {
                min: MIN_SESSION_SECS,
                max,
            });
        }
        if ask.break_glass && !rule.break_glass {
            return Err(RequestError::BreakGlassNotAllowed);
        }
        let reason = ask.reason.trim();
        if rule.needs_reason(ask.break_glass) && reason.is_empty() {
            return Err(RequestError::ReasonRequired);
        }
        if too_long(reason) {
            return Err(RequestError::ReasonTooLong);
        }
        let ticket = ask.ticket.trim();
        match &rule.ticket_pattern {
            Some(p) if !p.matches(ticket) => {
                return Err(RequestError::Ticket {
                    pattern: p.as_str().to_owned(),
                });
            }
            None if ticket.chars().count() > MAX_TICKET_CHARS => {
                return Err(RequestError::Ticket {
                    pattern: format!("at most {MAX_TICKET_CHARS} characters"),
                });
            }
            _ => {}
        }
        let now_ms = self.clock.now_ms();
        let name = name_of(who);
        let new = NewRequest {
            id: uuid::Uuid::new_v4().to_string(),
            role: role.name.to_string(),
            provider: who.provider.to_string(),
            subject: who.subject.clone(),
            display_name: name.clone(),
            reason: reason.to_owned(),
            ticket: ticket.to_owned(),
            duration_secs: i64::try_from(secs).unwrap_or(i64::MAX),
            approvals_needed: i64::from(rule.approvals),
            created_ms: now_ms,
            decide_by_ms: now_ms
                .saturating_add(i64::try_from(rule.decision_window.as_millis()).unwrap_or(0)),
            break_glass: ask.break_glass.then(|| DecisionRow {
                provider: who.provider.to_string(),
                subject: who.subject.clone(),
                display_name: name,
                decision: "approve".to_owned(),
                comment: reason.to_owned(),
                time_ms: now_ms,
            }),
        };
        let row = self
            .db
            .insert_access_request(&new)
            .await
            .map_err(|e| match e {
                DecideError::Open(id) => RequestError::Open(id),
                DecideError::Db(e) => RequestError::Unavailable(e),
                other => RequestError::Unavailable(DbError::Open(other.to_string())),
            })?;
        let request = AccessRequest::at(row, now_ms);
        let mut event = self.event(EventKind::AccessRequested, &request, now_ms);
        event.provider = Some(who.provider.to_string());
        event.subject = Some(who.subject.clone());
        event.source_ip = facts.source_ip.map(|ip| ip.to_string());
        event.user_agent = facts.user_agent.clone();
        self.record(event).await;
        self.notifier.notify(
            &request,
            if ask.break_glass {
                webhooks::Change::BreakGlass
            } else {
                webhooks::Change::Requested
            },
        );
        Ok(request)
    }

    /// `approver` decides on the request `id`: refused for the requester, for a person
    /// the role's approvers document does not allow, and without a second factor checked
    /// in the last [`APPROVER_MFA_MAX_AGE_SECS`]. The last approval needed opens the
    /// window; a denial closes the request.
    pub async fn decide(
        &self,
        roles: &RoleCatalog,
        id: &str,
        approver: &ExternalIdentity,
        facts: &RequestFacts,
        (verdict, comment): (Verdict, &str),
    ) -> Result<AccessRequest, DecisionError> {
        let now_ms = self.clock.now_ms();
        let found = self.get(id).await?.ok_or(DecisionError::NotFound)?;
        if found.is_requester(approver) {
            return Err(DecisionError::OwnRequest);
        }
        if found.state != State::Pending {
            return Err(DecisionError::Closed(found.state));
        }
        let statements = roles
            .may_approve(&found.row.role, approver, facts)
            .map_err(|r| DecisionError::NotApprover(Box::new(r)))?;
        if !approver.mfa
            || facts.now.since(approver.auth_time) > Duration::from_secs(APPROVER_MFA_MAX_AGE_SECS)
        {
            return Err(DecisionError::StepUpNeeded);
        }
        let comment = comment.trim();
        if too_long(comment) {
            return Err(DecisionError::CommentTooLong);
        }
        let decision = DecisionRow {
            provider: approver.provider.to_string(),
            subject: approver.subject.clone(),
            display_name: name_of(approver),
            decision: match verdict {
                Verdict::Approve => "approve",
                Verdict::Deny => "deny",
            }
            .to_owned(),
            comment: comment.to_owned(),
            time_ms: now_ms,
        };
        let row = self.db.decide_access_request(id, &decision, now_ms).await?;
        let request = AccessRequest::at(row, now_ms);
        let kind = match verdict {
            Verdict::Approve => EventKind::AccessApproved,
            Verdict::Deny => EventKind::AccessDenied,
        };
        let mut event = self.event(kind, &request, now_ms);
        event.provider = Some(approver.provider.to_string());
        event.subject = Some(approver.subject.clone());
        event.statements = statements;
        event.source_ip = facts.source_ip.map(|ip| ip.to_string());
        event.user_agent = facts.user_agent.clone();
        let opened = request.state == State::Approved;
        if let serde_json::Value::Object(detail) = &mut event.detail {
            detail.insert("window_opened".to_owned(), opened.into());
            if !comment.is_empty() {
                detail.insert("comment".to_owned(), comment.into());
            }
        }
        self.record(event).await;
        match (verdict, opened) {
            (Verdict::Deny, _) => self.notifier.notify(&request, webhooks::Change::Denied),
            (Verdict::Approve, true) => self.notifier.notify(&request, webhooks::Change::Approved),
            (Verdict::Approve, false) => {}
        }
        Ok(request)
    }

    /// Ends the open request `id` — withdrawn by its requester, or revoked by an approver
    /// or an admin (`by`, qualified `provider:subject`; the caller checked that they may)
    /// — and with it every role session minted from it, at once and on every instance:
    /// the request is first marked revoked in the session store (which every role-session
    /// read consults in the same round trip), then closed in the database (after which no
    /// door grants the role through it). A store failure changes nothing
    /// ([`DecisionError::Sessions`]); a database failure after the mark leaves the
    /// sessions ended and the request open, and trying again closes it.
    pub async fn revoke(
        &self,
        id: &str,
        by: &str,
        reason: &str,
    ) -> Result<AccessRequest, DecisionError> {
        let reason = reason.trim();
        if too_long(reason) {
            return Err(DecisionError::CommentTooLong);
        }
        let found = self.get(id).await?.ok_or(DecisionError::NotFound)?;
        if !found.state.is_open() {
            return Err(DecisionError::Closed(found.state));
        }
        let now_ms = self.clock.now_ms();
        self.sso
            .mark_request_revoked(id, mark_lifetime(&found.row, now_ms))
            .await?;
        let row = self
            .db
            .revoke_access_request(id, by, reason, now_ms)
            .await?;
        let request = AccessRequest::at(row, now_ms);
        let mut event = self.event(EventKind::AccessRevoked, &request, now_ms);
        if let Some((provider, subject)) = by.split_once(':') {
            event.provider = Some(provider.to_owned());
            event.subject = Some(subject.to_owned());
        }
        if !reason.is_empty() {
            event.reason = Some(reason.to_owned());
        }
        self.record(event).await;
        self.notifier.notify(&request, webhooks::Change::Revoked);
        Ok(request)
    }

    /// The request `id` as of now, if there is one.
    pub async fn get(&self, id: &str) -> Result<Option<AccessRequest>, DbError> {
        let now_ms = self.clock.now_ms();
        Ok(self
            .db
            .access_request(id)
            .await?
            .map(|row| AccessRequest::at(row, now_ms)))
    }

    /// The requests `filter` selects, newest first, as of now.
    pub async fn list(&self, filter: &RequestFilter) -> Result<Vec<AccessRequest>, DbError> {
        let now_ms = self.clock.now_ms();
        Ok(self
            .db
            .access_requests(filter)
            .await?
            .into_iter()
            .map(|row| AccessRequest::at(row, now_ms))
            .collect())
    }

    /// The approved request whose window is open for `who` and `role`, for
    /// [`RoleCatalog::evaluate_approved`]; marks it used the first time.
    pub async fn approved_for(
        &self,
        role: &RoleName,
        who: &ExternalIdentity,
    ) -> Result<Option<ApprovedAccess>, DbError> {
        let now_ms = self.clock.now_ms();
        let filter = RequestFilter {
            states: vec!["approved".to_owned(), "used".to_owned()],
            role: Some(role.to_string()),
            requester: Some((who.provider.to_string(), who.subject.clone())),
            before_ms: None,
            limit: 1,
        };
        let Some(open) = self
            .db
            .access_requests(&filter)
            .await?
            .into_iter()
            .map(|row| AccessRequest::at(row, now_ms))
            .find(|r| matches!(r.state, State::Approved | State::Used))
        else {
            return Ok(None);
        };
        let Some(ends_ms) = open.row.ends_ms else {
            return Ok(None);
        };
        if open.state == State::Approved {
            self.db
                .mark_access_request_used(&open.row.id, now_ms)
                .await?;
        }
        Ok(Some(ApprovedAccess {
            request: open.row.id,
            role: role.clone(),
            provider: open.row.provider,
            subject: open.row.subject,
            ends: UnixTime::from_secs(ends_ms.div_euclid(1000)),
        }))
    }

    /// The trust decision for `role`, the one rule of every door (the picker, the OpenID
    /// provider, STS): [`RoleCatalog::evaluate`], and for a role that needs approval,
    /// [`RoleCatalog::evaluate_approved`] with the person's open approved request (refused
    /// without one). `Err` only when the database cannot say.
    pub async fn evaluate(
        &self,
        roles: &RoleCatalog,
        role: &str,
        caller: Caller,
        facts: &RequestFacts,
    ) -> Result<Result<TrustGrant, TrustRefusal>, DbError> {
        let needs_approval = roles.get(role).is_some_and(|r| r.approval.is_some());
        let Caller::Federated(person) = &caller else {
            return Ok(roles.evaluate(role, caller, facts));
        };
        if !needs_approval {
            return Ok(roles.evaluate(role, caller, facts));
        }
        match self.approved_for(&RoleName::new(role), person).await? {
            Some(approved) => Ok(roles.evaluate_approved(role, caller, facts, &approved)),
            None => Ok(roles.evaluate(role, caller, facts)),
        }
    }

    /// Closes every request whose time is up, recording `access.expired` for each and
    /// notifying; how many.
    pub async fn expire_due(&self) -> Result<usize, DbError> {
        let now_ms = self.clock.now_ms();
        let ids = self.db.expire_access_requests(now_ms).await?;
        for id in &ids {
            if let Some(row) = self.db.access_request(id).await? {
                let request = AccessRequest::at(row, now_ms);
                let event = self.event(EventKind::AccessExpired, &request, now_ms);
                self.record(event).await;
                self.notifier.notify(&request, webhooks::Change::Expired);
            }
        }
        Ok(ids.len())
    }

    /// The event of `kind` about `request`; the caller sets who acted.
    fn event(&self, kind: EventKind, request: &AccessRequest, now_ms: i64) -> AuditEvent {
        let row = &request.row;
        let mut event = AuditEvent::new(kind, now_ms);
        event.role = Some(RoleName::new(row.role.clone()));
        event.provider = Some(row.provider.clone());
        event.subject = Some(row.subject.clone());
        event.duration_secs = u64::try_from(row.duration_secs).ok();
        event.detail = serde_json::json!({
            "request": row.id,
            "requester": format!("{}:{}", row.provider, row.subject),
            "state": request.state.as_str(),
            "break_glass": row.break_glass,
            "reason": row.reason,
            "ticket": row.ticket,
        });
        event
    }

    async fn record(&self, event: AuditEvent) {
        if let Err(e) = self.audit.record(event).await {
            tracing::warn!(error = %e, "an access-request event was not recorded");
        }
    }
}

#[cfg(test)]
mod tests;
