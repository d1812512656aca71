//! The device page (`GET, POST /device`; RFC 8628 §3.3): where a signed-in person enters or
//! confirms the user code a command-line tool shows, chooses a role and a length, and
//! approves or denies. Handlers are thin: the codes, their limits and the answers belong to
//! `op::device`; the roles offered come from `access::offer` and are arranged by the role
//! picker's `web::picker::arrange`, so both pages list the same roles the same way.
//!
//! Steps: the entry form (prefilled from `?user_code=`), then the confirmation (the
//! application, a warning, the roles, Approve / Deny), then a page saying what was done. A
//! code that is unknown, expired or answered brings the entry form back with a sentence;
//! so does one refused for too many wrong codes. Every form is CSRF-checked against the SSO
//! session; a person who is not signed in is sent to sign in and back, the code kept.
//!
//! A role that needs a (fresher) second factor is offered too, marked as the picker marks
//! it; Approve with it starts the picker's step-up (`web::step_up::begin`, the
//! sign-in service's checks and single-use transaction), the user code kept in the mark.
//! After the fresh authentication [`continue_step_up`] looks the code up again (by the
//! mark, never by an address the browser sent), asks the trust policy again on the
//! updated session and the fresh identity, and approves; a role still out of reach brings
//! the confirmation back saying so, and a code that expired meanwhile the entry form
//! saying that a new one is needed.
//!
//! May import: `op`, `access`, `audit`, `roles`, `secret`, `sso`, `identity`, `web::pages`,
//! `web::picker`, `web::views`, `web::session`, `web::extract`, `web::error`,
//! `web::step_up`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::access::Attempt;
use crate::access::offer::{Audience, ChoiceError, Offer, offer};
use crate::audit::Door;
use crate::identity::{ExternalIdentity, RoleName, StepUpNext};
use crate::op::{CodeEnterer, DeviceApproval, DeviceLookup, PendingDevice, UserCode};
use crate::roles::{RequestFacts, Role};
use crate::secret::Secret;
use crate::sso::{Sso, SsoSession};
use crate::web::AppState;
use crate::web::error::{Back, PageError, WebError};
use crate::web::extract::{Browser, PageForm, PageQuery};
use crate::web::i18n::{Msg, current as locale};
use crate::web::oauth::oauth_page;
use crate::web::pages::{
    PageResult, asked_length, choice_refused, csrf_matches, default_length, fresh_refused,
    provider_name, render, to_signin, who,
};
use crate::web::picker::{Preferences, arrange};
use crate::web::step_up;
use crate::web::views::{DeviceConfirmPage, DeviceDonePage, DeviceEntryPage};

/// The longest code kept from the query or the form, in characters (a real one has 9).
const TYPED_CHARS: usize = 20;

/// What the entry form says about a code that is not 8 letters of the alphabet.
pub const MALFORMED: Msg = Msg::new("device-malformed");
/// What the entry form says about a code that is not pending.
pub const UNKNOWN: Msg = Msg::new("device-unknown");
/// What the entry form says when codes are refused for a while.
pub const LOCKED: Msg = Msg::new("device-locked");
/// What the entry form says when the code was answered or expired before the approval.
pub const GONE: Msg = Msg::new("device-gone");
/// What the confirmation says when Approve was pressed without a role chosen.
pub const CHOOSE_ROLE: Msg = Msg::new("device-choose-role");
/// What the entry form says when the code expired (or was answered) during a step-up.
pub const GONE_DURING_STEP_UP: Msg = Msg::new("device-gone-step-up");

/// Query of `GET /device`.
#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    /// The code from `verification_uri_complete`, to prefill.
    user_code: Option<String>,
}

/// The device page's form: the code, what to do (`continue`, `approve`, `deny`), and on
/// approval the role and its length (the picker's fields).
#[derive(Debug, Deserialize)]
pub struct DeviceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_code: String,
    /// `continue` (the entry form), `approve` or `deny` (the confirmation).
    #[serde(default)]
    action: String,
    #[serde(default)]
    role: String,
    /// A length for whichever role is chosen; the chosen role's `duration.<role>` wins.
    #[serde(default)]
    duration: String,
    /// Each role's length, `duration.<role>` (seconds).
    #[serde(flatten)]
    lengths: HashMap<String, String>,
}

/// `GET /device`: the entry form, the code prefilled from `?user_code=`; to sign in first
/// (and back here, the code kept) without an SSO session.
pub async fn device(
    Browser(state, _, headers): Browser,
    PageQuery(query): PageQuery<DeviceQuery>,
) -> PageResult {
    let typed = kept(query.user_code.as_deref().unwrap_or_default());
    let Some((_, session)) = current(&state, &headers).await? else {
        return Ok(to_signin(&device_url(&typed)));
    };
    let shown = UserCode::parse(&typed).map_or(typed, |c| c.shown());
    entry(&state, &session, shown, None, StatusCode::OK)
}

/// `POST /device`: a code entered (`continue`), or the confirmation answered (`approve`,
/// `deny`). Each looks the code up again, within the wrong-code limits.
pub async fn answer(
    Browser(state, facts, headers): Browser,
    form: Result<PageForm<DeviceForm>, PageError>,
) -> Response {
    answered(&state, &facts, &headers, form)
        .await
        .unwrap_or_else(|e| e.page(Back::Device))
}

async fn answered(
    state: &AppState,
    facts: &RequestFacts,
    headers: &HeaderMap,
    form: Result<PageForm<DeviceForm>, PageError>,
) -> PageResult {
    let Some((cookie, session)) = current(state, headers).await? else {
        let typed = form
            .map(|PageForm(f)| kept(&f.user_code))
            .unwrap_or_default();
        return Ok(to_signin(&device_url(&typed)));
    };
    let PageForm(form) = form?;
    if !csrf_matches(&session.csrf, &form.csrf) {
        return Err(WebError::Csrf.into());
    }
    let typed = kept(&form.user_code);
    let Some(code) = UserCode::parse(&typed) else {
        let error = Some(MALFORMED);
        return entry(state, &session, typed, error, StatusCode::BAD_REQUEST);
    };
    let sso_ref = Sso::session_ref(cookie.expose_secret());
    let pending = match look_up(state, facts, &sso_ref, &code).await? {
        DeviceLookup::Found(p) => p,
        DeviceLookup::Unknown => {
            let error = Some(UNKNOWN);
            return entry(
                state,
                &session,
                code.shown(),
                error,
                StatusCode::BAD_REQUEST,
            );
        }
        DeviceLookup::Locked => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            return entry(state, &session, code.shown(), Some(LOCKED), status);
        }
    };
    let visit = DeviceVisit {
        state,
        facts,
        session: &session,
        pending: &pending,
    };
    match form.action.as_str() {
        "approve" => approve(&visit, (headers, &cookie, &sso_ref), &form).await,
        "deny" => deny(&visit).await,
        _ => {
            let selected = pending.role.as_deref();
            visit.confirm(selected, None, StatusCode::OK).await
        }
    }
}

/// Looks the pending sign-in of `code` up for the SSO session `sso_ref`, within the
/// wrong-code limits.
async fn look_up(
    state: &AppState,
    facts: &RequestFacts,
    sso_ref: &str,
    code: &UserCode,
) -> Result<DeviceLookup, PageError> {
    let enterer = CodeEnterer {
        sso_ref,
        source_ip: facts.source_ip,
    };
    state
        .oidc
        .device_lookup(code, enterer)
        .await
        .map_err(oauth_page)
}

/// The SSO session of the request, if any.
async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Secret, SsoSession)>, PageError> {
    crate::web::session::current_session(state, headers).await
}

/// What was typed, as kept: at most [`TYPED_CHARS`] characters, no control characters.
fn kept(typed: &str) -> String {
    typed
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(TYPED_CHARS)
        .collect()
}

/// The device page's address with the code typed (left out when empty).
pub(crate) fn device_url(typed: &str) -> String {
    if typed.is_empty() {
        return "/device".to_owned();
    }
    let code: String = url::form_urlencoded::byte_serialize(typed.as_bytes()).collect();
    format!("/device?user_code={code}")
}

/// The entry form with `user_code` in its field and `error` above it.
fn entry(
    state: &AppState,
    session: &SsoSession,
    user_code: String,
    error: Option<Msg>,
    status: StatusCode,
) -> PageResult {
    let page = DeviceEntryPage {
        t: locale(),
        who: who(session),
        provider: provider_name(state, session.identity.provider.as_str()),
        csrf: session.csrf.clone(),
        user_code,
        error: error.map(|e| locale().say(&e)),
    };
    Ok((status, render(&page)?).into_response())
}

/// One answer of the device page: the broker, the request's facts, the person and the
/// pending request the code names.
struct DeviceVisit<'a> {
    state: &'a AppState,
    facts: &'a RequestFacts,
    session: &'a SsoSession,
    pending: &'a PendingDevice,
}

impl DeviceVisit<'_> {
    /// Who the roles are offered for: the application's allowed roles.
    fn audience(&self) -> Audience<'_> {
        Audience::Client {
            allowed_roles: &self.pending.allowed_roles,
            min_auth_time: None,
        }
    }

    /// The entry form again, for a code answered or expired since it was looked up.
    fn gone(&self) -> PageResult {
        let code = self.pending.user_code.shown();
        entry(
            self.state,
            self.session,
            code,
            Some(GONE),
            StatusCode::BAD_REQUEST,
        )
    }

    /// The confirmation: the roles this person may take through this application (the
    /// picker's offer and arrangement, `selected` chosen if listed), with `notice`.
    async fn confirm(
        &self,
        selected: Option<&str>,
        notice: Option<String>,
        status: StatusCode,
    ) -> PageResult {
        let state = self.state;
        let identity = &self.session.identity;
        let (grants, step_up) = match offer(&state.roles, identity, self.audience(), self.facts) {
            Offer::Issue(grant) => (vec![*grant], Vec::new()),
            Offer::Pick {
                grants,
                needing_mfa,
            } => (grants, needing_mfa),
            Offer::NoRole { needing_mfa } => (Vec::new(), needing_mfa),
            // No freshness is asked of a device sign-in.
            Offer::SignInAgain => (Vec::new(), Vec::new()),
        };
        // And the roles an approved access request opens (the application allowed them).
        let elevated =
            crate::web::requests::elevated_for_client(state, identity, self.audience(), self.facts)
                .await;
        let approved = elevated.approved();
        let roles: Vec<Arc<Role>> = state
            .roles
            .all()
            .iter()
            .filter(|r| {
                grants.iter().any(|g| g.role().name == r.name)
                    || step_up.contains(&r.name)
                    || approved.iter().any(|(a, _)| *a == r.name)
            })
            .cloned()
            .collect();
        let last = state.sso.last_role(identity).await?;
        let favourites = state.sso.favourites(identity).await?;
        let prefs = Preferences {
            last: last.as_deref(),
            favourites: &favourites,
            selected,
        };
        let default = state.config.tokens.default_duration.as_secs();
        let mut arranged = arrange(&roles, prefs, "", (default, locale()));
        crate::web::requests::mark_approved(
            &mut arranged.groups,
            &approved,
            (state.clock.now_ms(), locale()),
        );
        for row in arranged.groups.iter_mut().flat_map(|g| g.roles.iter_mut()) {
            row.step_up = step_up.iter().any(|r| r.as_str() == row.name);
        }
        let page = DeviceConfirmPage {
            t: locale(),
            app: self.pending.client_name.clone(),
            who: who(self.session),
            provider: provider_name(state, identity.provider.as_str()),
            csrf: self.session.csrf.clone(),
            user_code: self.pending.user_code.shown(),
            groups: arranged.groups,
            notice,
        };
        Ok((status, render(&page)?).into_response())
    }
}

/// Approve: the role and length chosen are checked as the picker checks them (trust
/// policy, the application's allowed roles, the role's lengths), then the answer is left
/// for the tool's next poll, which gets the tokens. A role that needs a (fresher) second
/// factor starts the step-up for it first (`headers` and `cookie`: the browser's and its
/// SSO session's).
async fn approve(
    visit: &DeviceVisit<'_>,
    (headers, cookie, sso_ref): (&HeaderMap, &Secret, &str),
    form: &DeviceForm,
) -> PageResult {
    let (state, pending) = (visit.state, visit.pending);
    if form.role.is_empty() {
        let notice = locale().say(&CHOOSE_ROLE);
        return visit
            .confirm(None, Some(notice), StatusCode::BAD_REQUEST)
            .await;
    }
    let identity = &visit.session.identity;
    let attempt = Attempt::new(visit.facts, Door::Device, Some(&pending.client_id));
    let default = default_length(state, &form.role).to_string();
    let length = asked_length(&form.lengths, &form.role, &form.duration).unwrap_or(&default);
    let chose = crate::web::requests::choose(
        (state, locale()),
        identity,
        visit.audience(),
        (&form.role, length),
        (visit.facts, &attempt),
    );
    let choice = match chose.await {
        Ok(Ok(c)) => c,
        Err(page) => return Ok(page),
        Ok(Err(ChoiceError::NeedsStepUp(asked))) => {
            let (role, seconds) = *asked;
            let at = (cookie, visit.session);
            let next = StepUpNext::Device {
                user_code: pending.user_code.shown(),
                role,
                seconds,
            };
            return step_up::begin(state, (headers, locale()), at, next).await;
        }
        Ok(Err(e)) => {
            let status = match e {
                ChoiceError::NotAvailable(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            };
            let notice = Some(locale().say(&choice_refused(&e)));
            return visit.confirm(Some(&form.role), notice, status).await;
        }
    };
    let chosen = (choice.grant, choice.seconds);
    approved(visit, sso_ref, chosen).await
}

/// Leaves the approval of the pending device sign-in with the role of `grant` for
/// `seconds` for the tool's next poll; the page saying so (or the entry form again when
/// the code was answered or expired since it was looked up).
async fn approved(
    visit: &DeviceVisit<'_>,
    sso_ref: &str,
    (grant, seconds): (crate::roles::TrustGrant, u64),
) -> PageResult {
    let (state, pending) = (visit.state, visit.pending);
    let identity = &visit.session.identity;
    let role = &grant.role().name;
    let approval = DeviceApproval {
        identity,
        role,
        duration_secs: seconds,
        sso_ref,
        source_ip: visit.facts.source_ip,
    };
    let approved = state
        .oidc
        .device_approve(&pending.user_code, approval)
        .await;
    if !approved.map_err(oauth_page)? {
        return visit.gone();
    }
    tracing::info!(
        client = %pending.client_id,
        subject = %identity.qualified_subject(),
        role = %role,
        "device sign-in approved"
    );
    let page = DeviceDonePage {
        t: locale(),
        app: pending.client_name.clone(),
        approved: true,
        role: role.to_string(),
        length: locale().duration(seconds),
    };
    Ok(render(&page)?.into_response())
}

/// After a step-up for the device page was checked and the session's MFA facts updated:
/// the pending device sign-in of `user_code` (kept in the step-up's mark) is looked up
/// again and approved with `role` for `seconds` if the trust policy, asked again on the
/// updated session and on the fresh identity (`fresh`), now grants it. A code that expired
/// or was answered meanwhile brings the entry form saying a new code is needed; a role
/// still out of reach the confirmation again, saying so (never another step-up in a loop).
pub(crate) async fn continue_step_up(
    state: &AppState,
    facts: &RequestFacts,
    (cookie, session): (&Secret, &mut SsoSession),
    ((user_code, role, seconds), fresh): ((&str, RoleName, u64), &ExternalIdentity),
) -> PageResult {
    let session = &*session;
    let gone = |status| {
        entry(
            state,
            session,
            String::new(),
            Some(GONE_DURING_STEP_UP),
            status,
        )
    };
    let Some(code) = UserCode::parse(user_code) else {
        return gone(StatusCode::BAD_REQUEST);
    };
    let sso_ref = Sso::session_ref(cookie.expose_secret());
    // Entered by this session before the step-up: not counted as a guess again.
    let again = state.oidc.device_pending_again(&code).await;
    let Some(pending) = again.map_err(oauth_page)? else {
        return gone(StatusCode::BAD_REQUEST);
    };
    let visit = DeviceVisit {
        state,
        facts,
        session,
        pending: &pending,
    };
    let attempt = Attempt::new(facts, Door::Device, Some(&pending.client_id));
    let length = seconds.to_string();
    let chose = crate::web::requests::choose(
        (state, locale()),
        &session.identity,
        visit.audience(),
        (role.as_str(), &length),
        (facts, &attempt),
    );
    let still_short = |e: &dyn std::fmt::Display| {
        tracing::warn!(role = %role, reason = %e, "still short of the role after a step-up");
        locale().say(&Msg::new("step-up-not-enough").arg("role", role.to_string()))
    };
    let choice = match chose.await {
        Ok(Ok(c)) => c,
        Err(page) => return Ok(page),
        Ok(Err(e)) => {
            let notice = match e {
                ChoiceError::NeedsStepUp(_) => still_short(&e),
                e => locale().say(&choice_refused(&e)),
            };
            let status = StatusCode::FORBIDDEN;
            return visit
                .confirm(Some(role.as_str()), Some(notice), status)
                .await;
        }
    };
    if let Some(said) = fresh_refused(state, (&role, fresh), (facts, &attempt)).await {
        let notice = locale().say(&said);
        let status = StatusCode::FORBIDDEN;
        return visit
            .confirm(Some(role.as_str()), Some(notice), status)
            .await;
    }
    approved(&visit, &sso_ref, (choice.grant, choice.seconds)).await
}

/// Deny: the tool's next poll hears `access_denied`.
async fn deny(visit: &DeviceVisit<'_>) -> PageResult {
    let pending = visit.pending;
    let denied = visit.state.oidc.device_deny(&pending.user_code).await;
    if !denied.map_err(oauth_page)? {
        return visit.gone();
    }
    tracing::info!(
        client = %pending.client_id,
        subject = %visit.session.identity.qualified_subject(),
        "device sign-in denied"
    );
    let page = DeviceDonePage {
        t: locale(),
        app: pending.client_name.clone(),
        approved: false,
        role: String::new(),
        length: String::new(),
    };
    Ok(render(&page)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_kept_short_and_printable_and_carried_to_sign_in() {
        assert_eq!(kept("  bcdf-ghjk\u{7} "), "bcdf-ghjk");
        assert_eq!(kept(&"x".repeat(100)).len(), TYPED_CHARS);
        assert_eq!(device_url(""), "/device");
        assert_eq!(device_url("BCDF-GHJK"), "/device?user_code=BCDF-GHJK");
        assert_eq!(device_url("a b&c"), "/device?user_code=a+b%26c");
    }
}
