//! Access requests in the browser (issue 17, elevation with approval): asking for a role
//! that needs approval (`POST /requests`, from the role picker's "Request access" forms),
//! the list of a person's own requests and of those they may decide on (`GET /requests`),
//! and one request's page (`GET /requests/{id}`) with what the role would allow and the
//! actions this person may take on it (`POST /requests/{id}`: approve, deny, withdraw,
//! revoke). The rules are the elevation service's (`elevation`) and the roles' (`roles`);
//! this module shows them and maps their answers to pages.
//!
//! Deciding needs a fresh second factor: when the service answers that it is missing, the
//! approver steps up (`web::step_up`) and comes back to the request's page. Every refusal
//! is a page of its own, with a link back to the requests.
//!
//! May import: `elevation`, `roles`, `identity`, `web::pages`,
//! `web::picker`, `web::step_up`, `web::views`, `web::session`, `web::extract`,
//! `web::error`, `web::i18n`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use lanyard_policy::Policy;
use serde::Deserialize;
use serde_json::Value;

use crate::access::Attempt;
use crate::access::offer::{Audience, Choice, ChoiceError, asked_seconds};
use crate::elevation::{
    APPROVER_MFA_MAX_AGE_SECS, AccessRequest, Ask, DecisionError, Elevation, MAX_TEXT_CHARS,
    RequestError, RequestFilter, State, Verdict,
};
use crate::identity::{ExternalIdentity, RoleName, StepUpNext};
use crate::roles::{Caller, MIN_SESSION_SECS, RequestFacts, Role, RoleCatalog};
use crate::secret::Secret;
use crate::session::keyspace::{DECISION_DRAFT, STEP_UP_TTL};
use crate::session::{get_json, put_json};
use crate::sso::{Sso, SsoSession};
use crate::web::AppState;
use crate::web::admin::console::when_ms;
use crate::web::error::{Back, PageError, WebError, request_id};
use crate::web::extract::{Browser, PageForm, PageQuery};
use crate::web::i18n::{Locale, Msg, duration};
use crate::web::pages::{csrf_matches, picker_with_draft, to_signin, who};
use crate::web::picker::duration_choices;
use crate::web::session::current_session;
use crate::web::step_up;
use crate::web::views::{
    DecisionLine, DurationChoice, ErrorPage, FilterOption, PolicyView, RequestFormView,
    RequestLine, RequestPage, RequestableRole, RequestsPage, RoleGroup, StatementView,
};

/// The most requests each list of `/requests` shows (newest first).
const LIST_LIMIT: u32 = 200;
// The comment a step-up keeps for the form is bounded as the form's own.
const _: () = assert!(crate::identity::STEP_UP_COMMENT_CHARS == MAX_TEXT_CHARS);

/// The longest reason a list shows, in characters (the request's page shows it whole).
const LIST_REASON_CHARS: usize = 120;
/// The longest ticket kept from a form, in characters (the service checks the rule).
const FORM_TICKET_CHARS: usize = 200;

/// The page of the access request `id`, `/requests/{id}`: `None` unless `id` is a UUID
/// (what the elevation service gives requests), so that the path built never leaves the
/// requests' pages, whatever was sent.
pub fn request_page(id: &str) -> Option<String> {
    let id = uuid::Uuid::parse_str(id).ok()?;
    Some(format!("/requests/{}", id.hyphenated()))
}

// --- the role picker's side ---------------------------------------------------------------

/// What the role picker shows of a person's roles that need approval: those they may
/// request, and their open requests.
#[derive(Debug, Default)]
pub(crate) struct Elevated {
    /// The roles the person may request, in config order.
    pub(crate) requestable: Vec<Arc<Role>>,
    /// Their requests still open as of now (pending, or approved with the window open).
    pub(crate) open: Vec<AccessRequest>,
    /// Their requests could not be read (the database).
    pub(crate) unavailable: bool,
}

impl Elevated {
    /// The roles whose approved window is open for the person, with the window's end (ms),
    /// among those their trust policy still allows.
    pub(crate) fn approved(&self) -> Vec<(RoleName, i64)> {
        self.requestable
            .iter()
            .filter_map(|role| {
                let open =
                    self.open_for(&role.name, |s| matches!(s, State::Approved | State::Used))?;
                Some((role.name.clone(), open.row.ends_ms?))
            })
            .collect()
    }

    fn open_for(&self, role: &str, state: impl Fn(State) -> bool) -> Option<&AccessRequest> {
        self.open
            .iter()
            .find(|r| r.row.role == role && state(r.state))
    }
}

/// The choice of `role` (of `length` seconds, as typed) for `identity` through `audience`,
/// the picker's and the device page's alike: for a role that needs approval, the elevation
/// service's decision (the person's open approved request, which it marks used) within
/// the audience's limits; for any other, [`Issuer::choose`](crate::access::Issuer::choose).
/// `Err`: the page saying the database cannot say (in `t`).
pub(crate) async fn choose(
    (state, t): (&AppState, Locale),
    identity: &ExternalIdentity,
    audience: Audience<'_>,
    (role, length): (&str, &str),
    (facts, attempt): (&RequestFacts, &Attempt),
) -> Result<Result<Choice, ChoiceError>, Response> {
    let needs_approval = state.roles.get(role).is_some_and(|r| r.approval.is_some());
    if !needs_approval {
        let asked = (role, length);
        let chose = state
            .access
            .choose(&state.roles, identity, audience, asked, (facts, attempt));
        return Ok(chose.await);
    }
    let shown: String = role.chars().take(64).collect();
    let Some(elevation) = &state.elevation else {
        return Ok(Err(ChoiceError::NotAvailable(shown)));
    };
    if !audience.fresh_enough(identity) {
        return Ok(Err(ChoiceError::SignInAgain));
    }
    let secs = match asked_seconds(length) {
        Ok(secs) => secs,
        Err(e) => return Ok(Err(e)),
    };
    let caller = Caller::Federated(identity.clone());
    let decided = elevation
        .evaluate(&state.roles, role, caller, facts)
        .await
        .map_err(|e| database_unavailable(t, e))?;
    let chose = state
        .access
        .choose_approved(decided, secs, audience, attempt);
    Ok(chose.await)
}

/// [`elevated`] for an application's sign-in (`audience`): only the roles whose approved
/// window is open and which the application may receive, to be chosen like any other;
/// access is requested on the person's own picker, not in the middle of an application's
/// sign-in.
pub(crate) async fn elevated_for_client(
    state: &AppState,
    identity: &ExternalIdentity,
    audience: Audience<'_>,
    facts: &RequestFacts,
) -> Elevated {
    let mut found = elevated(state, identity, facts).await;
    let approved: Vec<RoleName> = found.approved().into_iter().map(|(r, _)| r).collect();
    found
        .requestable
        .retain(|r| approved.contains(&r.name) && audience.allows(&r.name));
    found
}

/// The roles needing approval that `identity` may request, and their open requests: empty
/// without a database. A database that cannot answer leaves the forms (the request then
/// says so) and marks the picker.
pub(crate) async fn elevated(
    state: &AppState,
    identity: &ExternalIdentity,
    facts: &RequestFacts,
) -> Elevated {
    let Some(elevation) = &state.elevation else {
        return Elevated::default();
    };
    let requestable = state.roles.requestable(identity, facts);
    if requestable.is_empty() {
        return Elevated::default();
    }
    let filter = RequestFilter {
        states: ["pending", "approved", "used"].map(str::to_owned).to_vec(),
        role: None,
        requester: Some((identity.provider.to_string(), identity.subject.clone())),
        before_ms: None,
        limit: LIST_LIMIT,
    };
    match elevation.list(&filter).await {
        Ok(found) => Elevated {
            requestable,
            open: found.into_iter().filter(|r| r.state.is_open()).collect(),
            unavailable: false,
        },
        Err(e) => {
            tracing::warn!(error = %e, "the picker could not read the person's access requests");
            Elevated {
                requestable,
                open: Vec::new(),
                unavailable: true,
            }
        }
    }
}

/// A field of the request form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Duration,
    Reason,
    Ticket,
    BreakGlass,
    /// The request as a whole.
    Form,
}

/// A request form that came back with a problem: what was sent, and what is wrong where.
#[derive(Debug)]
pub(crate) struct Draft {
    role: String,
    duration: String,
    reason: String,
    ticket: String,
    break_glass: bool,
    problem: (Field, Msg),
    /// The open request a form-level problem names.
    open_request: Option<String>,
}

impl Draft {
    /// The role the form asked for.
    pub(crate) fn role(&self) -> &str {
        &self.role
    }
}

/// The picker's "Request access" rows: for each role the person may request, its pending
/// request, its open window, or its form (`draft` filled in again, lengths from `default`).
pub(crate) fn request_rows(
    elevated: &Elevated,
    draft: Option<&Draft>,
    (default, t): (u64, Locale),
) -> Vec<RequestableRole> {
    elevated
        .requestable
        .iter()
        .enumerate()
        .map(|(n, role)| {
            let pending = elevated.open_for(&role.name, |s| s == State::Pending);
            let approved =
                elevated.open_for(&role.name, |s| matches!(s, State::Approved | State::Used));
            // A form that came back is shown again, even beside the open request it names.
            let draft = draft.filter(|d| d.role == role.name.as_str());
            let form = match (pending, approved, role.approval.as_deref()) {
                (None, None, Some(rule)) => Some(form_view(rule, draft, (default, t))),
                (_, _, Some(rule)) if draft.is_some() => Some(form_view(rule, draft, (default, t))),
                _ => None,
            };
            RequestableRole {
                id: format!("req-{}", n + 1),
                name: role.name.to_string(),
                description: role.description.clone(),
                waiting: pending.and_then(|r| request_page(&r.row.id)),
                approved_until: approved.and_then(|r| r.row.ends_ms).map(clock_time),
                form,
            }
        })
        .collect()
}

fn form_view(
    rule: &crate::roles::Approval,
    draft: Option<&Draft>,
    (default, t): (u64, Locale),
) -> RequestFormView {
    let max = rule.max_duration.as_secs();
    let mut durations = duration_choices(max, default.min(max), t);
    let asked = draft.and_then(|d| d.duration.trim().parse::<u64>().ok());
    if let Some(asked) = asked.filter(|a| durations.iter().any(|d| d.seconds == *a)) {
        for d in &mut durations {
            d.selected = d.seconds == asked;
        }
    }
    let said = |field: Field| {
        draft
            .filter(|d| d.problem.0 == field)
            .map(|d| t.say(&d.problem.1))
    };
    RequestFormView {
        durations,
        reason_required: rule.require_reason || rule.approvers.is_none(),
        ticket_pattern: rule.ticket_pattern.as_ref().map(|p| p.as_str().to_owned()),
        break_glass_optional: rule.break_glass && rule.approvers.is_some(),
        break_glass_only: rule.approvers.is_none(),
        approvals: rule.approvals,
        open: draft.is_some(),
        reason: draft.map(|d| d.reason.clone()).unwrap_or_default(),
        ticket: draft.map(|d| d.ticket.clone()).unwrap_or_default(),
        break_glass: draft.is_some_and(|d| d.break_glass),
        error: said(Field::Form),
        error_href: draft.and_then(|d| d.open_request.as_deref().and_then(request_page)),
        duration_error: said(Field::Duration),
        reason_error: said(Field::Reason),
        ticket_error: said(Field::Ticket),
        break_glass_error: said(Field::BreakGlass),
    }
}

/// Marks each listed role that an approved access request opens (`approved`: the role and
/// the window's end in ms) with the time its window closes, so that whoever chooses it, on
/// the picker or on the device page, is told the session ends with the window; and offers
/// it no length that outlasts the window at `now_ms`: the lengths shorter than what is
/// left, then what is left (in whole minutes, rounded up: the credentials end with the
/// window), preselected when the length preselected is gone. Never less than the shortest
/// session: with less left than that, the shortest is offered and cut at the window's end.
pub(crate) fn mark_approved(
    groups: &mut [RoleGroup],
    approved: &[(RoleName, i64)],
    (now_ms, t): (i64, Locale),
) {
    for row in groups.iter_mut().flat_map(|g| g.roles.iter_mut()) {
        let Some(&(_, ends)) = approved.iter().find(|(r, _)| r.as_str() == row.name) else {
            row.approved_until = None;
            continue;
        };
        row.approved_until = Some(clock_time(ends));
        let left_ms = u64::try_from(ends.saturating_sub(now_ms)).unwrap_or(0);
        let left = left_ms
            .div_ceil(60_000)
            .saturating_mul(60)
            .max(MIN_SESSION_SECS);
        if row.durations.last().is_none_or(|d| d.seconds <= left) {
            continue;
        }
        let preselected_fits = row
            .durations
            .iter()
            .any(|d| d.selected && d.seconds <= left);
        row.durations.retain(|d| d.seconds < left);
        row.durations.push(DurationChoice {
            seconds: left,
            label: t.duration(left),
            selected: !preselected_fits,
        });
    }
}

/// The time of day of `ms` (UTC), `HH:MM UTC`: when an approved window closes.
pub(crate) fn clock_time(ms: i64) -> String {
    let text = crate::roles::rfc3339(crate::clock::UnixTime::from_secs(ms.div_euclid(1000)));
    format!("{} UTC", text.get(11..16).unwrap_or("00:00"))
}

// --- refusals ------------------------------------------------------------------------------

/// Why a request page is not shown or an action not taken: each a page of its own.
#[derive(Debug)]
enum Refused {
    /// No request has this id (or it is no id at all).
    NotFound,
    /// Lanyard runs without a database: there are no access requests.
    NoDatabase,
    /// The database did not answer (the detail goes to the log).
    Unavailable(String),
    /// Nobody decides on their own request.
    OwnRequest,
    /// The person may not decide on requests for this role.
    NotApprover,
    /// Only the requester withdraws a request.
    NotRequester,
    /// This person decided on the request already.
    AlreadyDecided,
    /// The request is no longer open for this.
    Closed(State),
    /// A comment or reason longer than [`MAX_TEXT_CHARS`].
    TooLong,
    /// The role cannot be requested by this person (its name).
    NotRequestable(String),
    /// Anything else: the usual error page.
    Web(PageError),
}

impl<E: Into<WebError>> From<E> for Refused {
    fn from(e: E) -> Self {
        Refused::Web(PageError(e.into()))
    }
}

impl From<PageError> for Refused {
    fn from(e: PageError) -> Self {
        Refused::Web(e)
    }
}

impl From<DecisionError> for Refused {
    fn from(e: DecisionError) -> Self {
        match e {
            DecisionError::NotFound => Refused::NotFound,
            DecisionError::OwnRequest => Refused::OwnRequest,
            DecisionError::NotApprover(_) | DecisionError::StepUpNeeded => Refused::NotApprover,
            DecisionError::AlreadyDecided => Refused::AlreadyDecided,
            DecisionError::Closed(s) => Refused::Closed(s),
            DecisionError::CommentTooLong => Refused::TooLong,
            DecisionError::Unavailable(e) => Refused::Unavailable(e.to_string()),
            // Nothing changed: the request stays open until the store answers a retry.
            DecisionError::Sessions(e) => Refused::Unavailable(e.to_string()),
        }
    }
}

impl Refused {
    /// The page saying so, in `t`, with a link back to the requests.
    fn page(self, t: Locale) -> Response {
        let (status, title, message) = match self {
            Refused::Web(e) => return e.page(Back::Roles),
            Refused::NotFound => (
                StatusCode::NOT_FOUND,
                Msg::new("requests-not-found-title"),
                Msg::new("requests-not-found"),
            ),
            Refused::NoDatabase => (
                StatusCode::SERVICE_UNAVAILABLE,
                Msg::new("requests-unavailable-title"),
                Msg::new("requests-no-database"),
            ),
            Refused::Unavailable(detail) => {
                tracing::error!(request_id = %request_id(), detail = %detail, "access requests unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Msg::new("requests-unavailable-title"),
                    Msg::new("requests-unavailable"),
                )
            }
            Refused::OwnRequest => (
                StatusCode::FORBIDDEN,
                Msg::new("requests-refused-title"),
                Msg::new("requests-own-request"),
            ),
            Refused::NotApprover => (
                StatusCode::FORBIDDEN,
                Msg::new("requests-refused-title"),
                Msg::new("requests-not-approver"),
            ),
            Refused::NotRequester => (
                StatusCode::FORBIDDEN,
                Msg::new("requests-refused-title"),
                Msg::new("requests-not-requester"),
            ),
            Refused::AlreadyDecided => (
                StatusCode::CONFLICT,
                Msg::new("requests-refused-title"),
                Msg::new("requests-already-decided"),
            ),
            Refused::Closed(s) => (
                StatusCode::CONFLICT,
                Msg::new("requests-closed-title"),
                Msg::new("requests-closed").arg("state", state_msg(s)),
            ),
            Refused::TooLong => (
                StatusCode::BAD_REQUEST,
                Msg::new("requests-refused-title"),
                Msg::new("requests-too-long").arg("max", MAX_TEXT_CHARS),
            ),
            Refused::NotRequestable(role) => (
                StatusCode::FORBIDDEN,
                Msg::new("requests-refused-title"),
                Msg::new("requests-not-requestable").arg("role", role),
            ),
        };
        let request_id = request_id();
        tracing::info!(request_id = %request_id, status = status.as_u16(), reason = %message, "access request page refused");
        let page = ErrorPage {
            t,
            title: t.say(&title),
            message: t.say(&message),
            request_id,
            retry: None,
            back_href: "/requests".to_owned(),
            back_label: t.say(&Msg::new("requests-back")),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, page.message).into_response(),
        }
    }
}

/// The elevation service, or the page saying there is none.
fn service(state: &AppState) -> Result<&Elevation, Refused> {
    state.elevation.as_deref().ok_or(Refused::NoDatabase)
}

fn unavailable(e: impl std::fmt::Display) -> Refused {
    Refused::Unavailable(e.to_string())
}

/// The page saying the access requests' database did not answer (`e`, logged), in `t`.
pub(crate) fn database_unavailable(t: Locale, e: impl std::fmt::Display) -> Response {
    unavailable(e).page(t)
}

// --- who may do what -----------------------------------------------------------------------

/// `who` as they would be right after confirming a second factor (a step-up): what the
/// approvers document is asked when a decision will ask for that factor anyway.
fn stepped_up(who: &ExternalIdentity, facts: &RequestFacts) -> ExternalIdentity {
    let mut fresh = who.clone();
    fresh.mfa = true;
    fresh.auth_time = facts.now;
    if !fresh.amr.iter().any(|m| m == "otp") {
        fresh.amr.push("otp".to_owned());
    }
    fresh
}

/// Whether `who` may decide on requests for `role`: as they are, or once they confirmed a
/// fresh second factor (which deciding asks for).
fn is_approver(
    roles: &RoleCatalog,
    role: &str,
    who: &ExternalIdentity,
    facts: &RequestFacts,
) -> bool {
    roles.may_approve(role, who, facts).is_ok()
        || roles
            .may_approve(role, &stepped_up(who, facts), facts)
            .is_ok()
}

/// Whether `who` may decide right now, without a step-up first.
fn decides_now(
    roles: &RoleCatalog,
    role: &str,
    who: &ExternalIdentity,
    facts: &RequestFacts,
) -> bool {
    who.mfa
        && facts.now.since(who.auth_time) <= Duration::from_secs(APPROVER_MFA_MAX_AGE_SECS)
        && roles.may_approve(role, who, facts).is_ok()
}

// --- POST /requests ------------------------------------------------------------------------

/// The "Request access" form's fields.
#[derive(Debug, Deserialize)]
pub struct AskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    /// Seconds.
    #[serde(default)]
    duration: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    ticket: String,
    /// `on` when the requester approves it themself (break-glass).
    #[serde(default)]
    break_glass: String,
}

/// `POST /requests`: asks for a role that needs approval. A request the service refuses
/// for a field comes back on the picker, next to that field, with what was typed; a
/// break-glass request opens the role at once (back to the picker, the role chosen), any
/// other goes to its page.
pub async fn ask(
    Browser(state, facts, headers): Browser,
    t: Locale,
    form: Result<PageForm<AskForm>, PageError>,
) -> Response {
    asked(&state, (&facts, t), &headers, form)
        .await
        .unwrap_or_else(|e| e.page(t))
}

async fn asked(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    headers: &HeaderMap,
    form: Result<PageForm<AskForm>, PageError>,
) -> Result<Response, Refused> {
    let Some((_, session)) = current_session(state, headers).await? else {
        return Ok(to_signin("/roles"));
    };
    let PageForm(form) = form?;
    if !csrf_matches(&session.csrf, &form.csrf) {
        return Err(WebError::Csrf.into());
    }
    let elevation = service(state)?;
    let shown: String = form.role.chars().take(64).collect();
    let Some(rule) = state.roles.get(&form.role).and_then(|r| r.approval.clone()) else {
        return Err(Refused::NotRequestable(shown));
    };
    // A role nobody approves but the requester is only ever asked for break-glass.
    let break_glass = form.break_glass == "on" || rule.approvers.is_none();
    let mut draft = Draft {
        role: form.role.clone(),
        duration: form.duration.chars().take(12).collect(),
        reason: form.reason.chars().take(MAX_TEXT_CHARS + 1).collect(),
        ticket: form.ticket.chars().take(FORM_TICKET_CHARS).collect(),
        break_glass,
        problem: (Field::Form, Msg::new("requests-error-form")),
        open_request: None,
    };
    let max = rule.max_duration.as_secs();
    let length_problem = Msg::new("requests-error-duration")
        .arg("min", duration(MIN_SESSION_SECS))
        .arg("max", duration(max));
    let Ok(secs) = form.duration.trim().parse::<u64>() else {
        draft.problem = (Field::Duration, length_problem);
        return again(state, (facts, t), &session, draft).await;
    };
    let ask = Ask {
        role: form.role.clone(),
        duration: Duration::from_secs(secs),
        reason: draft.reason.clone(),
        ticket: draft.ticket.clone(),
        break_glass,
    };
    let made = elevation
        .request(&state.roles, &session.identity, facts, ask)
        .await;
    let request = match made {
        Ok(r) => r,
        Err(RequestError::NotRequestable(_)) => return Err(Refused::NotRequestable(shown)),
        Err(RequestError::Unavailable(e)) => return Err(unavailable(e)),
        Err(e) => {
            draft.problem = match e {
                RequestError::Duration { .. } => (Field::Duration, length_problem),
                RequestError::ReasonRequired => {
                    (Field::Reason, Msg::new("requests-error-reason-required"))
                }
                RequestError::ReasonTooLong => (
                    Field::Reason,
                    Msg::new("requests-too-long").arg("max", MAX_TEXT_CHARS),
                ),
                RequestError::Ticket { pattern } => (
                    Field::Ticket,
                    Msg::new("requests-error-ticket").arg("pattern", pattern),
                ),
                RequestError::BreakGlassNotAllowed => {
                    (Field::BreakGlass, Msg::new("requests-error-break-glass"))
                }
                RequestError::Open(id) => {
                    draft.open_request = Some(id);
                    (Field::Form, Msg::new("requests-error-open"))
                }
                RequestError::NotRequestable(_) | RequestError::Unavailable(_) => {
                    (Field::Form, Msg::new("requests-error-form"))
                }
            };
            return again(state, (facts, t), &session, draft).await;
        }
    };
    if matches!(request.state, State::Approved | State::Used) {
        let back = format!(
            "/roles?selected={}",
            url::form_urlencoded::byte_serialize(request.row.role.as_bytes()).collect::<String>()
        );
        return Ok(Redirect::to(&back).into_response());
    }
    let page = request_page(&request.row.id).ok_or(Refused::NotFound)?;
    Ok(Redirect::to(&format!("{page}?done=requested")).into_response())
}

/// The picker again, the form of `draft` filled in and saying what is wrong (a `400`).
async fn again(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    session: &SsoSession,
    draft: Draft,
) -> Result<Response, Refused> {
    Ok(picker_with_draft(state, (facts, t), session, draft).await?)
}

// --- GET /requests -------------------------------------------------------------------------

/// Query of `GET /requests`: the filters.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Only requests in this state (as of now).
    state: Option<String>,
    /// Only requests for this role.
    role: Option<String>,
}

/// `GET /requests`: the signed-in person's own requests and those they may decide on,
/// newest first, filtered by state and role.
pub async fn list(
    Browser(state, facts, headers): Browser,
    t: Locale,
    PageQuery(q): PageQuery<ListQuery>,
) -> Response {
    listed(&state, (&facts, t), &headers, q)
        .await
        .unwrap_or_else(|e| e.page(t))
}

async fn listed(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    headers: &HeaderMap,
    q: ListQuery,
) -> Result<Response, Refused> {
    let Some((_, session)) = current_session(state, headers).await? else {
        return Ok(to_signin("/requests"));
    };
    let elevation = service(state)?;
    let wanted = q.state.as_deref().and_then(State::parse);
    let approval_roles: Vec<&Arc<Role>> = state
        .roles
        .all()
        .iter()
        .filter(|r| r.approval.is_some())
        .collect();
    let role = q
        .role
        .filter(|r| approval_roles.iter().any(|a| a.name.as_str() == r));
    let me = &session.identity;
    let stored = match wanted {
        // Read as expired while still stored open: filtered below, as of now.
        Some(State::Expired) | None => Vec::new(),
        Some(s) => vec![s.as_str().to_owned()],
    };
    let filter = |requester: Option<(String, String)>| RequestFilter {
        states: stored.clone(),
        role: role.clone(),
        requester,
        before_ms: None,
        limit: LIST_LIMIT,
    };
    let of_state = |r: &AccessRequest| wanted.is_none_or(|w| r.state == w);
    let mine_filter = filter(Some((me.provider.to_string(), me.subject.clone())));
    let mine = elevation.list(&mine_filter).await.map_err(unavailable)?;
    let all = elevation.list(&filter(None)).await.map_err(unavailable)?;
    let mut approver_of: HashMap<String, bool> = HashMap::new();
    let to_decide: Vec<RequestLine> = all
        .iter()
        .filter(|r| of_state(r) && !r.is_requester(me))
        .filter(|r| {
            *approver_of
                .entry(r.row.role.clone())
                .or_insert_with(|| is_approver(&state.roles, &r.row.role, me, facts))
        })
        .map(|r| line(t, r))
        .collect();
    let mine: Vec<RequestLine> = mine
        .iter()
        .filter(|r| of_state(r))
        .map(|r| line(t, r))
        .collect();
    let states = std::iter::once((String::new(), t.say(&Msg::new("requests-filter-any-state"))))
        .chain(
            ALL_STATES
                .iter()
                .map(|s| (s.as_str().to_owned(), t.say(&state_msg(*s)))),
        )
        .map(|(value, label)| FilterOption {
            selected: wanted.is_some_and(|w| w.as_str() == value)
                || (wanted.is_none() && value.is_empty()),
            value,
            label,
        })
        .collect();
    let roles = std::iter::once((String::new(), t.say(&Msg::new("requests-filter-any-role"))))
        .chain(
            approval_roles
                .iter()
                .map(|r| (r.name.to_string(), r.name.to_string())),
        )
        .map(|(value, label)| FilterOption {
            selected: role.as_deref().unwrap_or_default() == value,
            value,
            label,
        })
        .collect();
    let page = RequestsPage {
        t,
        who: who(&session),
        csrf: session.csrf.clone(),
        states,
        roles,
        filtered: wanted.is_some() || role.is_some(),
        mine,
        to_decide,
        may_request: !state.roles.requestable(me, facts).is_empty(),
    };
    Ok(Html(
        page.render()
            .map_err(|e| WebError::Internal(format!("template: {e}")))?,
    )
    .into_response())
}

/// Every state, in the order the filter offers them.
const ALL_STATES: [State; 6] = [
    State::Pending,
    State::Approved,
    State::Used,
    State::Denied,
    State::Expired,
    State::Revoked,
];

/// A state in words.
fn state_msg(s: State) -> Msg {
    match s {
        State::Pending => Msg::new("requests-state-pending"),
        State::Approved => Msg::new("requests-state-approved"),
        State::Used => Msg::new("requests-state-used"),
        State::Denied => Msg::new("requests-state-denied"),
        State::Expired => Msg::new("requests-state-expired"),
        State::Revoked => Msg::new("requests-state-revoked"),
    }
}

/// The line of `r` in a list.
fn line(t: Locale, r: &AccessRequest) -> RequestLine {
    let row = &r.row;
    let mut reason: String = row.reason.chars().take(LIST_REASON_CHARS).collect();
    if row.reason.chars().count() > LIST_REASON_CHARS {
        reason.push('…');
    }
    RequestLine {
        href: request_page(&row.id).unwrap_or_else(|| "/requests".to_owned()),
        role: row.role.clone(),
        requester: row.display_name.clone(),
        reason,
        state: r.state.as_str().to_owned(),
        state_label: t.say(&state_msg(r.state)),
        break_glass: row.break_glass,
        created: when_ms(row.created_ms),
        length: t.duration(u64::try_from(row.duration_secs).unwrap_or(0)),
    }
}

// --- GET /requests/{id} --------------------------------------------------------------------

/// Query of `GET /requests/{id}`: what was just done, said above the page.
#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

/// `GET /requests/{id}`: the request, what the role would allow, and this person's
/// actions on it. Its requester and the people who may decide on it see it.
pub async fn show(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(id): Path<String>,
    PageQuery(q): PageQuery<ShowQuery>,
) -> Response {
    shown(&state, (&facts, t), &headers, (&id, q.done.as_deref()))
        .await
        .unwrap_or_else(|e| e.page(t))
}

async fn shown(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    headers: &HeaderMap,
    (id, done): (&str, Option<&str>),
) -> Result<Response, Refused> {
    let Some(href) = request_page(id) else {
        return Err(Refused::NotFound);
    };
    let Some((cookie, session)) = current_session(state, headers).await? else {
        return Ok(to_signin(&href));
    };
    // Back from a decision's step-up: the comment typed before it, in the form again.
    let mut comment = String::new();
    if done == Some("confirmed") {
        let key = draft_key(&cookie, id);
        match get_json::<_, String>(state.sso.store().as_ref(), &key).await {
            Ok(kept) => comment = kept.unwrap_or_default(),
            // The page without it: the approver types it again.
            Err(e) => {
                tracing::warn!(error = %e, "the comment kept over a step-up could not be read");
            }
        }
    }
    page_of(state, (facts, t), &session, (id, done, &comment)).await
}

/// Where the comment of the approver of the SSO session `cookie` on request `id` is kept
/// over a step-up.
fn draft_key(cookie: &Secret, id: &str) -> String {
    DECISION_DRAFT.key([&Sso::session_ref(cookie.expose_secret()), id])
}

/// After its approver confirmed a second factor for a decision (`web::step_up`): the
/// request's own page, saying so, with the comment they had typed back in the form (kept
/// for the page under the session, so that reloading it keeps it), to decide now on the
/// updated `session`. If the comment cannot be kept, the page is shown at once instead.
pub(crate) async fn after_step_up(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    (cookie, session): (&Secret, &SsoSession),
    (id, comment): (&str, &str),
) -> Response {
    let Some(href) = request_page(id) else {
        return Refused::NotFound.page(t);
    };
    let kept = if comment.is_empty() {
        Ok(())
    } else {
        let store = state.sso.store();
        put_json(store.as_ref(), &draft_key(cookie, id), comment, STEP_UP_TTL).await
    };
    match kept {
        Ok(()) => Redirect::to(&format!("{href}?done=confirmed")).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "the comment could not be kept over a step-up");
            page_of(state, (facts, t), session, (id, Some("confirmed"), comment))
                .await
                .unwrap_or_else(|e| e.page(t))
        }
    }
}

/// The page of the access request `id` for the person of `session`, with the notice of
/// `done` and `comment` in the decision's form.
async fn page_of(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    session: &SsoSession,
    (id, done, comment): (&str, Option<&str>, &str),
) -> Result<Response, Refused> {
    let Some(href) = request_page(id) else {
        return Err(Refused::NotFound);
    };
    let elevation = service(state)?;
    let request = elevation
        .get(id)
        .await
        .map_err(unavailable)?
        .ok_or(Refused::NotFound)?;
    let me = &session.identity;
    let row = &request.row;
    let own = request.is_requester(me);
    let approver = !own && is_approver(&state.roles, &row.role, me, facts);
    if !own && !approver {
        return Err(Refused::NotApprover);
    }
    let decided = row
        .decisions
        .iter()
        .any(|d| d.provider == me.provider.as_str() && d.subject == me.subject);
    let open_window = matches!(request.state, State::Approved | State::Used);
    let can_decide = approver && request.state == State::Pending && !decided;
    let role = state.roles.get(&row.role);
    let notice = done.and_then(|d| {
        let said = match d {
            "requested" => Msg::new("requests-done-requested"),
            "approved" => Msg::new("requests-done-approved"),
            "denied" => Msg::new("requests-done-denied"),
            "withdrawn" => Msg::new("requests-done-withdrawn"),
            "revoked" => Msg::new("requests-done-revoked"),
            "confirmed" => Msg::new("requests-done-confirmed"),
            _ => return None,
        };
        Some(t.say(&said))
    });
    let page = RequestPage {
        t,
        csrf: session.csrf.clone(),
        href,
        role: row.role.clone(),
        role_description: role.map(|r| r.description.clone()).unwrap_or_default(),
        requester: row.display_name.clone(),
        requester_subject: format!("{}:{}", row.provider, row.subject),
        reason: row.reason.clone(),
        ticket: row.ticket.clone(),
        length: t.duration(u64::try_from(row.duration_secs).unwrap_or(0)),
        state: request.state.as_str().to_owned(),
        state_label: t.say(&state_msg(request.state)),
        break_glass: row.break_glass,
        created: when_ms(row.created_ms),
        decide_by: (request.state == State::Pending).then(|| when_ms(row.decide_by_ms)),
        window: row
            .starts_ms
            .zip(row.ends_ms)
            .map(|(s, e)| (when_ms(s), when_ms(e))),
        approvals: t.say(
            &Msg::new("requests-approvals-count")
                .arg("given", request.approvals())
                .arg("needed", row.approvals_needed),
        ),
        decisions: row
            .decisions
            .iter()
            .map(|d| DecisionLine {
                who: d.display_name.clone(),
                approved: d.decision == "approve",
                comment: d.comment.clone(),
                when: when_ms(d.time_ms),
            })
            .collect(),
        closed_by: row.closed_by.clone(),
        close_reason: row.close_reason.clone().filter(|r| !r.is_empty()),
        policies: role.map(|r| policies_of(r)).unwrap_or_default(),
        own,
        can_decide,
        decide_needs_step_up: can_decide && !decides_now(&state.roles, &row.role, me, facts),
        can_withdraw: own && request.state.is_open(),
        can_revoke: approver && open_window,
        assumable: own && open_window,
        notice,
        comment: comment.to_owned(),
    };
    Ok(Html(
        page.render()
            .map_err(|e| WebError::Internal(format!("template: {e}")))?,
    )
    .into_response())
}

/// What `role` would allow, statement by statement: its permission policies, then its
/// permissions boundary.
fn policies_of(role: &Role) -> Vec<PolicyView> {
    role.permission_policies
        .iter()
        .map(|p| policy_view(p, false))
        .chain(
            role.permissions_boundary
                .iter()
                .map(|p| policy_view(p, true)),
        )
        .collect()
}

fn policy_view(policy: &Policy, boundary: bool) -> PolicyView {
    let document = policy.document();
    let statements = match document.get("Statement") {
        Some(Value::Array(all)) => all.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    PolicyView {
        name: policy.name().to_owned(),
        boundary,
        statements: statements.into_iter().map(statement_view).collect(),
    }
}

/// One statement in words: its effect, actions, resources and conditions as written.
fn statement_view(statement: &Value) -> StatementView {
    let (not_action, actions) = match statement.get("NotAction") {
        Some(v) => (true, texts(v)),
        None => (
            false,
            statement.get("Action").map(texts).unwrap_or_default(),
        ),
    };
    let (not_resource, resources) = match statement.get("NotResource") {
        Some(v) => (true, texts(v)),
        None => (
            false,
            statement.get("Resource").map(texts).unwrap_or_default(),
        ),
    };
    let mut conditions = Vec::new();
    if let Some(Value::Object(operators)) = statement.get("Condition") {
        for (operator, keys) in operators {
            if let Value::Object(keys) = keys {
                for (key, values) in keys {
                    conditions.push(format!("{operator} {key}: {}", texts(values).join(", ")));
                }
            }
        }
    }
    StatementView {
        sid: statement
            .get("Sid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        allow: statement.get("Effect").and_then(Value::as_str) != Some("Deny"),
        not_action,
        actions,
        not_resource,
        resources: resources.into_iter().filter(|r| r != "*").collect(),
        conditions,
    }
}

/// A policy element's values as text: a string, or each of a list.
fn texts(value: &Value) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => vec![one(other)],
    }
}

// --- POST /requests/{id} -------------------------------------------------------------------

/// The request page's forms.
#[derive(Debug, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    /// `approve`, `deny`, `withdraw` or `revoke`.
    #[serde(default)]
    action: String,
    /// The decision's comment, or why it is withdrawn or revoked.
    #[serde(default)]
    comment: String,
}

/// `POST /requests/{id}`: approve or deny (an approver, with a fresh second factor, asked
/// for when missing), withdraw (the requester, while open) or revoke (an approver, once
/// approved); then back to the request's page.
pub async fn act(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(id): Path<String>,
    form: Result<PageForm<ActForm>, PageError>,
) -> Response {
    acted(&state, (&facts, t), &headers, &id, form)
        .await
        .unwrap_or_else(|e| e.page(t))
}

async fn acted(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    headers: &HeaderMap,
    id: &str,
    form: Result<PageForm<ActForm>, PageError>,
) -> Result<Response, Refused> {
    let Some(href) = request_page(id) else {
        return Err(Refused::NotFound);
    };
    let Some((cookie, session)) = current_session(state, headers).await? else {
        return Ok(to_signin(&href));
    };
    let PageForm(form) = form?;
    if !csrf_matches(&session.csrf, &form.csrf) {
        return Err(WebError::Csrf.into());
    }
    let elevation = service(state)?;
    let request = elevation
        .get(id)
        .await
        .map_err(unavailable)?
        .ok_or(Refused::NotFound)?;
    let me = &session.identity;
    let done = match form.action.as_str() {
        action @ ("approve" | "deny") => {
            let verdict = if action == "approve" {
                Verdict::Approve
            } else {
                Verdict::Deny
            };
            let decided = elevation
                .decide(&state.roles, id, me, facts, (verdict, &form.comment))
                .await;
            match decided {
                Ok(_) if verdict == Verdict::Approve => "approved",
                Ok(_) => "denied",
                Err(DecisionError::StepUpNeeded) => {
                    let at = (&cookie, &session);
                    return confirm_first(state, (headers, t), at, (&request, &form.comment)).await;
                }
                // Short of the approvers document only for a second factor it asks for:
                // the step-up brings it, and the decision is asked again.
                Err(DecisionError::NotApprover(_))
                    if roles_allow_after_step_up(&state.roles, &request, me, facts) =>
                {
                    let at = (&cookie, &session);
                    return confirm_first(state, (headers, t), at, (&request, &form.comment)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        "withdraw" => {
            if !request.is_requester(me) {
                return Err(Refused::NotRequester);
            }
            if !request.state.is_open() {
                return Err(Refused::Closed(request.state));
            }
            let by = me.qualified_subject();
            elevation.revoke(id, &by, &form.comment).await?;
            "withdrawn"
        }
        "revoke" => {
            let own = request.is_requester(me);
            if !own && !is_approver(&state.roles, &request.row.role, me, facts) {
                return Err(Refused::NotApprover);
            }
            if !matches!(request.state, State::Approved | State::Used) {
                return Err(Refused::Closed(request.state));
            }
            let by = me.qualified_subject();
            elevation.revoke(id, &by, &form.comment).await?;
            // The role sessions the request opened end with it: the elevation service's
            // revocation of them is its own step (see the README's Privileged access).
            "revoked"
        }
        _ => {
            return Err(WebError::BadRequest(Msg::new("requests-unknown-action")).into());
        }
    };
    Ok(Redirect::to(&format!("{href}?done={done}")).into_response())
}

/// Whether the approvers document allows `me` once they confirmed a second factor (it
/// does not as they are).
fn roles_allow_after_step_up(
    roles: &RoleCatalog,
    request: &AccessRequest,
    me: &ExternalIdentity,
    facts: &RequestFacts,
) -> bool {
    !request.is_requester(me)
        && roles
            .may_approve(&request.row.role, &stepped_up(me, facts), facts)
            .is_ok()
}

/// Sends the approver to confirm a fresh second factor, back to the request's page after
/// with the decision's `comment` in its form again. A comment longer than the form allows
/// is refused here, as the decision would refuse it.
async fn confirm_first(
    state: &AppState,
    (headers, t): (&HeaderMap, Locale),
    (cookie, session): (&Secret, &SsoSession),
    (request, comment): (&AccessRequest, &str),
) -> Result<Response, Refused> {
    if comment.chars().count() > MAX_TEXT_CHARS {
        return Err(Refused::TooLong);
    }
    let next = StepUpNext::Decision {
        request: request.row.id.clone(),
        role: RoleName::new(request.row.role.clone()),
        comment: comment.to_owned(),
    };
    Ok(step_up::begin(state, (headers, t), (cookie, session), next).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approved_role_offers_no_length_beyond_its_window() {
        use crate::web::views::RoleChoice;
        let t = Locale::default();
        let row = |name: &str| RoleChoice {
            id: format!("role-{name}"),
            name: name.to_owned(),
            description: String::new(),
            group: String::new(),
            selected: false,
            favourite: false,
            durations: crate::web::picker::duration_choices(43_200, 28_800, t),
            step_up: false,
            approved_until: None,
        };
        let rows = |names: &[&str]| {
            vec![RoleGroup {
                name: String::new(),
                roles: names.iter().map(|n| row(n)).collect(),
            }]
        };
        let lengths = |r: &RoleChoice| -> Vec<(u64, bool)> {
            r.durations
                .iter()
                .map(|d| (d.seconds, d.selected))
                .collect()
        };
        let now = 1_700_000_000_000_i64;
        let approved = [
            // 44 minutes 30 seconds left.
            (RoleName::new("prod-admin"), now + 2_670_000),
            // 5 minutes left.
            (RoleName::new("prod-db"), now + 300_000),
            // A whole day: every length fits.
            (RoleName::new("audit"), now + 86_400_000),
        ];
        let mut groups = rows(&["prod-admin", "viewer", "prod-db", "audit"]);
        mark_approved(&mut groups, &approved, (now, t));
        let [admin, viewer, db, audit] = &groups[0].roles[..] else {
            panic!("four rows")
        };
        // 15 and 30 minutes, then the 45 minutes left, preselected (8 hours is gone).
        assert_eq!(lengths(admin), [(900, false), (1800, false), (2700, true)]);
        assert_eq!(admin.durations[2].label, t.duration(2700));
        assert!(admin.approved_until.is_some());
        // Not approved: untouched.
        assert_eq!(lengths(viewer), lengths(&row("viewer")));
        assert_eq!(viewer.approved_until, None);
        // Less than the shortest session left: the shortest, cut at the window's end.
        assert_eq!(lengths(db), [(900, true)]);
        assert_eq!(lengths(audit), lengths(&row("audit")));

        // A preselected length that fits stays preselected.
        let mut groups = rows(&["prod-admin"]);
        for d in &mut groups[0].roles[0].durations {
            d.selected = d.seconds == 1800;
        }
        mark_approved(&mut groups, &approved[..1], (now, t));
        assert_eq!(
            lengths(&groups[0].roles[0]),
            [(900, false), (1800, true), (2700, false)]
        );
        // A window already closed (a page rendered late) leaves the shortest.
        let mut late = rows(&["prod-admin"]);
        mark_approved(&mut late, &approved[..1], (now + 3_000_000, t));
        assert_eq!(lengths(&late[0].roles[0]), [(900, true)]);
    }

    #[test]
    fn only_a_uuid_makes_a_request_page() {
        let id = "0b6c3a52-4c1e-4d4f-9a57-0f4e3c6b2a10";
        assert_eq!(
            request_page(id).as_deref(),
            Some(&*format!("/requests/{id}"))
        );
        assert_eq!(
            request_page("0B6C3A52-4C1E-4D4F-9A57-0F4E3C6B2A10").as_deref(),
            Some(&*format!("/requests/{id}")),
            "written the one way"
        );
        for bad in [
            "",
            "..",
            "//evil.example",
            "https://evil.example/",
            "0b6c3a52-4c1e-4d4f-9a57-0f4e3c6b2a10/../../admin",
            "0b6c3a52-4c1e-4d4f-9a57-0f4e3c6b2a10?x=1",
        ] {
            assert_eq!(request_page(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_statement_is_shown_as_written() {
        let s = serde_json::json!({
            "Sid": "Deploy",
            "Effect": "Allow",
            "Action": ["deploy:Start*", "deploy:Get*"],
            "Resource": "arn:lanyard:deploy:::service/payments/*",
            "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
                          "Bool": {"aws:MultiFactorAuthPresent": true}}
        });
        let v = statement_view(&s);
        assert_eq!(v.sid, "Deploy");
        assert!(v.allow && !v.not_action && !v.not_resource);
        assert_eq!(v.actions, ["deploy:Start*", "deploy:Get*"]);
        assert_eq!(v.resources, ["arn:lanyard:deploy:::service/payments/*"]);
        assert!(
            v.conditions
                .contains(&"IpAddress aws:SourceIp: 10.0.0.0/8, 192.168.0.0/16".to_owned())
        );
        assert!(
            v.conditions
                .contains(&"Bool aws:MultiFactorAuthPresent: true".to_owned())
        );
        let deny = statement_view(&serde_json::json!({
            "Effect": "Deny", "NotAction": "iam:*", "Resource": "*"
        }));
        assert!(!deny.allow && deny.not_action);
        assert_eq!(deny.actions, ["iam:*"]);
        assert!(deny.resources.is_empty(), "every resource");
    }

    #[test]
    fn a_window_closes_at_a_time_of_day() {
        // 2026-11-28T01:30:00Z
        assert_eq!(clock_time(1_795_829_400_000), "01:30 UTC");
    }
}
