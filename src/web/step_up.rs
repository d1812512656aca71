//! Step-up MFA per role in the browser (issue 17): the picker offers a role that needs a
//! second factor the session lacks (or has used too long ago), marked as such; choosing it
//! (`POST /roles`) sends the person to sign in again with their own provider, or shows a
//! local user the form for their one-time code (`POST /step-up/code`). The flow itself is
//! the sign-in service's (`signin::step_up`); this module is its HTTP side.
//!
//! The fresh sign-in's answer arrives at the usual callback, ACS or code form, where
//! [`conclude`] keeps it for [`STEP_UP_TTL`] under a fresh id, single use, and sends the
//! browser to `GET /step-up/{id}` ([`answered`]): a SAML IdP posts cross-site, where the
//! SSO session's `SameSite=Lax` cookie is not sent, so the answer is matched with the
//! session on the browser's next, same-site request. There the sign-in service checks it
//! (the session that asked, the same person, a second factor, newer than the step-up) and
//! updates the session's MFA facts, and the picker's choice goes on as if just made: the
//! trust policy decides again, on the updated person.
//!
//! A step-up an application's authorization request asked for (its `acr_values` or
//! `max_age`, before any role was chosen) shares the code form and the answer's path; its
//! own pages and what follows are `web::op_step_up`'s.
//!
//! An approver deciding on an access request steps up the same way ([`begin_decision`]):
//! the answer then shows the request's page again (`/requests/{id}`, built from the
//! request's id alone, never from a path the browser sent), the comment typed with the
//! decision given back to the form, and the decision is taken on the updated session.
//!
//! The device page (RFC 8628) steps up the same way for a role chosen with Approve
//! ([`begin_device`]): the answer goes back to the device flow by the user code kept in the
//! mark (`web::device::continue_step_up`), which approves the device sign-in if the role
//! now fits.
//!
//! May import: `signin`, `sso`, `session`, `identity`, `roles`, `secret`, `web::pages`,
//! `web::requests`, `web::views`, `web::session`, `web::extract`, `web::error`,
//! `web::i18n`, `web::cookies`, `web::op_step_up`, `web::device`.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use crate::identity::{ExternalIdentity, StepUpMark, StepUpNext};
use crate::roles::RequestFacts;
use crate::secret::Secret;
use crate::session::keyspace::{STEP_UP, STEP_UP_TTL};
use crate::session::{digest, put_json, random_id, take_json};
use crate::signin::{CodePrompt, SignedIn, StepUpBegun, StepUpError, StepUpStart};
use crate::sso::SsoSession;
use crate::web::error::{Back, PageError, WebError};
use crate::web::extract::{Browser, PageForm};
use crate::web::i18n::{Locale, Msg};
use crate::web::pages::{PageResult, continue_step_up, provider_name, render, with_binding};
use crate::web::session::current_session;
use crate::web::views::{StepUpCodePage, StepUpContinuePage};
use crate::web::{AppState, cookies, device, op_step_up, requests};

/// The answer of a step-up's fresh sign-in, kept for the browser's next request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepUpAnswer {
    /// The choice it continues.
    pub mark: StepUpMark,
    /// Who signed in.
    pub identity: ExternalIdentity,
}

/// The path where the browser brings a step-up's answer back.
pub fn answer_path(id: &str) -> String {
    format!("/step-up/{id}")
}

/// Finishes the fresh sign-in of a step-up (`signed_in.step_up` is set) instead of
/// establishing a session: its answer is kept, single use, and the browser sent to
/// [`answered`]. Answers `Ok(None)` for a sign-in that is no step-up.
pub async fn conclude(
    state: &AppState,
    signed_in: &mut SignedIn,
) -> Result<Option<Response>, PageError> {
    let Some(mark) = signed_in.step_up.take() else {
        return Ok(None);
    };
    let id = random_id();
    let answer = StepUpAnswer {
        mark,
        identity: signed_in.identity.clone(),
    };
    let key = STEP_UP.key([&digest(id.expose_secret())]);
    put_json(state.sso.store().as_ref(), &key, &answer, STEP_UP_TTL)
        .await
        .map_err(|e| WebError::StoreUnavailable(e.to_string()))?;
    let mut response = Redirect::to(&answer_path(id.expose_secret())).into_response();
    cookies::clear(
        response.headers_mut(),
        cookies::LOGIN,
        state.config.server.secure_cookies,
    );
    Ok(Some(response))
}

/// What the pages of a step-up for `next` say it is for, and where their cancel link goes:
/// the lead's message id for the code form and for the page continuing to the provider,
/// the cancel link's address (a local path made from the mark's own data) and message id.
struct Wording {
    code_lead: &'static str,
    continue_lead: &'static str,
    cancel_href: String,
    cancel: &'static str,
}

fn wording(next: &StepUpNext) -> Wording {
    // `Msg::new` names each id where the message catalogue's test finds it.
    match next {
        StepUpNext::Decision { request, .. } => Wording {
            code_lead: Msg::new("step-up-code-lead-request").id(),
            continue_lead: Msg::new("step-up-continue-lead-request").id(),
            cancel_href: requests::request_page(request).unwrap_or_else(|| "/requests".into()),
            cancel: Msg::new("step-up-cancel-request").id(),
        },
        StepUpNext::Device { user_code, .. } => Wording {
            code_lead: Msg::new("step-up-code-lead-device").id(),
            continue_lead: Msg::new("step-up-continue-lead-device").id(),
            cancel_href: device::device_url(user_code),
            cancel: Msg::new("step-up-cancel-device").id(),
        },
        StepUpNext::Role { .. } | StepUpNext::Authorization { .. } => Wording {
            code_lead: Msg::new("step-up-code-lead").id(),
            continue_lead: Msg::new("step-up-continue-lead").id(),
            cancel_href: "/roles".into(),
            cancel: Msg::new("step-up-cancel").id(),
        },
    }
}

/// Begins a step-up for the session `cookie`/`session` that goes on to `next` once the
/// second factor is confirmed: the picker's role choice, an approver's decision on an
/// access request (its comment already within the form's limit), or the device page's
/// approval. The provider's page follows (through a page that continues there), or a local
/// user's code form.
pub(crate) async fn begin(
    state: &AppState,
    (headers, t): (&HeaderMap, Locale),
    (cookie, session): (&Secret, &SsoSession),
    next: StepUpNext,
) -> PageResult {
    let secure = state.config.server.secure_cookies;
    let shown = next.role().map(ToString::to_string).unwrap_or_default();
    let said = wording(&next);
    let start = StepUpStart {
        cookie,
        session,
        next,
        browser: cookies::read(headers, cookies::BROWSER, secure),
        bind_saml_browser: secure,
    };
    match state.signin().begin_step_up(start).await {
        Ok(StepUpBegun::Redirect { url, binding }) => {
            // A page that continues there, as `ContinuePage` does for an application: a
            // redirect off-site ending the picker's POST would be blocked by the CSP's
            // `form-action 'self'`.
            let page = StepUpContinuePage {
                t,
                provider: provider_name(state, session.identity.provider.as_str()),
                role: shown,
                url,
                lead: said.continue_lead,
                cancel_href: said.cancel_href,
                cancel: said.cancel,
            };
            let response = render(&page)?.into_response();
            Ok(with_binding(state, response, binding))
        }
        Ok(StepUpBegun::CodeForm(prompt)) => code_page((state, t), prompt, None),
        Err(e) => Err(refused(e)),
    }
}

/// The one-time code form of `prompt`, with `error` said above it (then a `401`), setting
/// the browser's binding cookie its transaction is bound to.
fn code_page(
    (state, t): (&AppState, Locale),
    prompt: CodePrompt,
    error: Option<Msg>,
) -> PageResult {
    if let StepUpNext::Authorization { .. } = prompt.next {
        return op_step_up::code_page((state, t), prompt, error);
    }
    let status = match error {
        Some(_) => StatusCode::UNAUTHORIZED,
        None => StatusCode::OK,
    };
    let said = wording(&prompt.next);
    let page = StepUpCodePage {
        t,
        provider_name: prompt.provider.display_name.clone(),
        username: prompt.username.clone(),
        role: prompt
            .next
            .role()
            .map(ToString::to_string)
            .unwrap_or_default(),
        lead: said.code_lead,
        cancel_href: said.cancel_href,
        cancel: said.cancel,
        csrf: prompt.form_id.expose_secret().to_owned(),
        error: error.map(|e| t.say(&e)),
    };
    let mut response = (status, render(&page)?).into_response();
    cookies::set(
        response.headers_mut(),
        cookies::BROWSER,
        state.config.server.secure_cookies,
        &prompt.browser,
        cookies::BROWSER_MAX_AGE,
    );
    Ok(response)
}

/// The one-time code form's fields.
#[derive(Deserialize)]
pub struct CodeForm {
    /// The form's transaction id.
    #[serde(default)]
    csrf: String,
    /// The one-time code.
    #[serde(default)]
    otp: String,
}

/// `POST /step-up/code`: a local user's one-time code for a step-up. A wrong code gets a
/// fresh form for the same choice saying so; a stale, used or foreign form a page saying
/// that the role must be chosen again.
pub async fn code(
    Browser(state, facts, headers): Browser,
    t: Locale,
    form: Result<PageForm<CodeForm>, PageError>,
) -> Response {
    coded(&state, (&facts, t), &headers, form)
        .await
        .unwrap_or_else(|e| e.page(Back::Roles))
}

async fn coded(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    headers: &HeaderMap,
    form: Result<PageForm<CodeForm>, PageError>,
) -> PageResult {
    let PageForm(form) = form?;
    let secure = state.config.server.secure_cookies;
    let browser = cookies::read(headers, cookies::BROWSER, secure);
    let signin = state.signin();
    let otp = Secret::new(form.otp.trim());
    match signin
        .finish_code(&form.csrf, browser.as_ref(), &otp, facts)
        .await
    {
        Ok(mut signed_in) => match conclude(state, &mut signed_in).await? {
            Some(response) => Ok(response),
            None => Err(WebError::Internal("a step-up answer without its mark".into()).into()),
        },
        Err(StepUpError::WrongCode(mark)) => {
            let prompt = signin.code_form(*mark, browser).await.map_err(refused)?;
            code_page((state, t), prompt, Some(Msg::new("step-up-code-refused")))
        }
        Err(e) => Err(refused(e)),
    }
}

/// `GET /step-up/{id}`: the answer of a step-up, brought back by the browser that asked.
/// Checked against the browser's session, then the choice goes on (credentials, or the
/// application's code); every refusal is a page that says what happened.
pub async fn answered(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(id): Path<String>,
) -> Response {
    answer(&state, (&facts, t), &headers, &id)
        .await
        .unwrap_or_else(|e| e.page(Back::Roles))
}

async fn answer(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    headers: &HeaderMap,
    id: &str,
) -> PageResult {
    let Some((cookie, mut session)) = current_session(state, headers).await? else {
        return Err(WebError::Forbidden(Msg::new("step-up-no-session")).into());
    };
    if id.is_empty() || id.len() > 64 {
        return Err(WebError::BadRequest(Msg::new("step-up-expired")).into());
    }
    let key = STEP_UP.key([&digest(id)]);
    let kept: Option<StepUpAnswer> = take_json(state.sso.store().as_ref(), &key)
        .await
        .map_err(|e| WebError::StoreUnavailable(e.to_string()))?;
    let Some(StepUpAnswer { mark, identity }) = kept else {
        return Err(WebError::BadRequest(Msg::new("step-up-expired")).into());
    };
    let concluded = state
        .signin()
        .conclude_step_up((&cookie, &mut session), (&identity, &mark), facts)
        .await;
    let at = (&cookie, &mut session);
    match mark.next {
        StepUpNext::Authorization { authz } => {
            op_step_up::concluded(state, (facts, t), at, &authz, concluded).await
        }
        StepUpNext::Role {
            role,
            seconds,
            authz,
        } => {
            concluded.map_err(refused)?;
            let chosen = (role, seconds, authz.unwrap_or_default());
            continue_step_up(state, (facts, t), at, (chosen, &identity)).await
        }
        StepUpNext::Decision {
            request, comment, ..
        } => {
            concluded.map_err(refused)?;
            // The request's page again, the comment in the form, where the decision is
            // taken on the updated session.
            let (cookie, session) = (at.0, &*at.1);
            let at = (cookie, session);
            Ok(requests::after_step_up(state, (facts, t), at, (&request, &comment)).await)
        }
        StepUpNext::Device {
            user_code,
            role,
            seconds,
        } => {
            if let Err(e) = concluded {
                // The way back is the device page, where the code can be entered again.
                return Ok(refused(e).page(Back::Device));
            }
            let chosen = (user_code.as_str(), role, seconds);
            device::continue_step_up(state, facts, at, (chosen, &identity)).await
        }
    }
}

/// What the person reads about a step-up that could not begin or was refused.
pub(crate) fn refused(e: StepUpError) -> PageError {
    match e {
        StepUpError::NoSecondFactor(info) => {
            WebError::Forbidden(Msg::new("step-up-unavailable").arg("provider", info.display_name))
        }
        StepUpError::ProviderGone(id) => {
            WebError::Forbidden(Msg::new("step-up-unavailable").arg("provider", id))
        }
        StepUpError::OtherSession => WebError::Forbidden(Msg::new("step-up-other-session")),
        StepUpError::OtherPerson { .. } => WebError::Forbidden(Msg::new("step-up-other-person")),
        StepUpError::NoSecondFactorUsed => WebError::Forbidden(Msg::new("step-up-no-factor")),
        StepUpError::NotFresh => WebError::Forbidden(Msg::new("step-up-not-fresh")),
        StepUpError::FormExpired | StepUpError::WrongCode(_) => {
            WebError::BadRequest(Msg::new("step-up-expired"))
        }
        StepUpError::SignIn(e) => e.into(),
        StepUpError::Sso(e) => e.into(),
    }
    .into()
}
