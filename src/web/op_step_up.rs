//! Step-up for an application's authorization request (issue 17, OpenID Connect Core
//! §3.1.2.1 `acr_values` and `max_age`, and through them RFC 9470): a request asking for a
//! second factor of a session without one (or with one older than its `max_age`) sends the
//! person to their own provider for a fresh authentication with a second factor — the same
//! step-up as for a role that needs one (`signin::step_up`, `web::step_up`) — and then on to
//! the role picker for that request. The decision is the OpenID provider's
//! ([`OidcProvider::start`](crate::op::OidcProvider::start) and
//! [`resume`](crate::op::OidcProvider::resume)); this module is its HTTP side:
//!
//! - [`begin`]: the step-up itself (the provider's page, or a local user's code form);
//!   a provider that cannot ask for a second factor ends the request with
//!   `unmet_authentication_requirements` at the application.
//! - [`resume`] (`GET /oauth2/authorize/resume?authz=`): where a sign-in for such a request
//!   comes back to, since a plain sign-in may not bring the second factor.
//! - [`concluded`]: after the step-up's answer was checked, on to the picker (or straight
//!   to the application when one role fits); an answer without the second factor ends the
//!   request at the application with `unmet_authentication_requirements`.
//!
//! Every way back to the application is a page that continues there ([`ContinuePage`]):
//! the chain may have begun with a form POST on Lanyard's pages, and the page CSP's
//! `form-action 'self'` blocks a redirect off-site at its end.
//!
//! May import: `op`, `signin`, `sso`, `identity`, `roles`, `secret`, `web::pages`,
//! `web::views`, `web::session`, `web::error`, `web::i18n`, `web::cookies`,
//! `web::step_up`, `web::oauth`.

use askama::Template;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::identity::StepUpNext;
use crate::op::{AuthorizeNext, OAuthError, RESUME_PATH};
use crate::roles::RequestFacts;
use crate::secret::Secret;
use crate::signin::{CodePrompt, StepUpBegun, StepUpError, StepUpStart};
use crate::sso::SsoSession;
use crate::web::error::WebError;
use crate::web::extract::Browser;
use crate::web::i18n::{Locale, Msg, Tag};
use crate::web::oauth::oauth_page;
use crate::web::pages::{PageResult, render, straight_on, to_signin, to_upstream};
use crate::web::session::current_session;
use crate::web::step_up::refused;
use crate::web::views::ContinuePage;
use crate::web::{AppState, cookies};

/// The one-time code form of a step-up an application asked for.
#[derive(Template)]
#[template(path = "op_step_up_code.html")]
pub struct AppCodePage {
    /// The page's language.
    pub t: Locale,
    /// The provider's display name.
    pub provider_name: String,
    /// Who is asked for their code.
    pub username: String,
    /// The form's transaction id.
    pub csrf: String,
    /// The last code was refused.
    pub error: Option<String>,
}

/// The address a sign-in for the parked request `authz` comes back to.
pub fn resume_path(authz: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("authz", authz)
        .finish();
    format!("{RESUME_PATH}?{query}")
}

/// The picker for the parked request `authz`.
fn picker_path(authz: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("authz", authz)
        .finish();
    format!("/roles?{query}")
}

/// Query of [`resume`].
#[derive(Debug, Deserialize)]
pub struct ResumeQuery {
    /// The parked request.
    #[serde(default)]
    authz: String,
}

/// `GET /oauth2/authorize/resume?authz=`: after a sign-in for a request that asks for a
/// second factor, the request is checked again on the fresh session: on to the picker
/// when it is met, a step-up when the second factor is still missing.
pub async fn resume(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Query(query): Query<ResumeQuery>,
) -> PageResult {
    let Some((cookie, mut session)) = current_session(&state, &headers).await? else {
        return Ok(to_signin(&resume_path(&query.authz)));
    };
    let pending = match state.oidc.pending(&query.authz).await {
        Ok(Some(p)) => p,
        Ok(None) => return Err(WebError::BadRequest(Msg::new("error-authz-expired")).into()),
        Err(e) => return Err(oauth_page(e)),
    };
    let app = app_name(&state, pending.client_id.as_str());
    let next = state
        .oidc
        .resume(&query.authz, &pending, &session.identity)
        .await
        .map_err(oauth_page)?;
    let at = (&cookie, &mut session);
    match next {
        AuthorizeNext::Roles { authz } => to_picker(&state, (&facts, t), at, &authz).await,
        AuthorizeNext::StepUp { authz } => {
            begin(&state, (&headers, t), (&cookie, &session), (&authz, &app)).await
        }
        AuthorizeNext::SignIn { authz, resume, .. } => Ok(to_signin(&match resume {
            true => resume_path(&authz),
            false => picker_path(&authz),
        })),
        AuthorizeNext::Client(url) => to_client(t, &app, &url),
    }
}

/// Starts the step-up the parked request `authz` (of the application `app`) asks of the
/// session `cookie`/`session`: the provider's page (a redirect, this being a GET), or a
/// local user's code form. A provider that cannot ask for a second factor ends the
/// request at the application with `unmet_authentication_requirements`.
pub(crate) async fn begin(
    state: &AppState,
    (headers, t): (&HeaderMap, Locale),
    (cookie, session): (&Secret, &SsoSession),
    (authz, app): (&str, &str),
) -> PageResult {
    let secure = state.config.server.secure_cookies;
    let start = StepUpStart {
        cookie,
        session,
        // No role is chosen yet: the picker comes after the step-up.
        next: StepUpNext::Authorization {
            authz: authz.to_owned(),
        },
        browser: cookies::read(headers, cookies::BROWSER, secure),
        bind_saml_browser: secure,
    };
    match state.signin().begin_step_up(start).await {
        Ok(StepUpBegun::Redirect { url, binding }) => Ok(to_upstream(state, &url, binding)),
        Ok(StepUpBegun::CodeForm(prompt)) => code_page((state, t), prompt, None),
        Err(e @ (StepUpError::NoSecondFactor(_) | StepUpError::ProviderGone(_))) => {
            tracing::info!(
                subject = %session.identity.qualified_subject(),
                reason = %e,
                "an application's request for a second factor cannot be met"
            );
            let why = format!("{e}, which the application asked for");
            unmet(state, t, (authz, app), why).await
        }
        Err(e) => Err(refused(e)),
    }
}

/// The one-time code form of `prompt` (a step-up an application asked for), with `error`
/// said above it (then a `401`), setting the browser's binding cookie its transaction is
/// bound to.
pub(crate) fn code_page(
    (state, t): (&AppState, Locale),
    prompt: CodePrompt,
    error: Option<Msg>,
) -> PageResult {
    let status = match error {
        Some(_) => StatusCode::UNAUTHORIZED,
        None => StatusCode::OK,
    };
    let page = AppCodePage {
        t,
        provider_name: prompt.provider.display_name.clone(),
        username: prompt.username.clone(),
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

/// After the answer of a step-up the application's request `authz` asked for was checked
/// (`result`): on to the picker for its request; an answer that brought no (fresh)
/// second factor ends the request at the application with
/// `unmet_authentication_requirements`; other refusals are the step-up's own pages.
pub(crate) async fn concluded(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    (cookie, session): (&Secret, &mut SsoSession),
    authz: &str,
    result: Result<(), StepUpError>,
) -> PageResult {
    match result {
        Ok(()) => to_picker(state, (facts, t), (cookie, session), authz).await,
        Err(e @ (StepUpError::NoSecondFactorUsed | StepUpError::NotFresh)) => {
            let app = match state.oidc.pending(authz).await.map_err(oauth_page)? {
                Some(p) => app_name(state, p.client_id.as_str()),
                None => return Err(WebError::BadRequest(Msg::new("error-authz-expired")).into()),
            };
            unmet(state, t, (authz, &app), e.to_string()).await
        }
        Err(e) => Err(refused(e)),
    }
}

/// On to the picker for the parked request `authz`, or straight to the application when
/// exactly one role fits (the picker's own checks: `pages::straight_on`).
async fn to_picker(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    (cookie, session): (&Secret, &mut SsoSession),
    authz: &str,
) -> PageResult {
    let picker = picker_path(authz);
    match straight_on(state, (facts, t), &picker, (cookie, session)).await? {
        Some(response) => Ok(response),
        None => Ok(Redirect::to(&picker).into_response()),
    }
}

/// Ends the parked request `authz` of the application `app` with
/// `unmet_authentication_requirements` (`why` its description), through the page that
/// continues to the application.
async fn unmet(state: &AppState, t: Locale, (authz, app): (&str, &str), why: String) -> PageResult {
    let error = OAuthError::UnmetAuthenticationRequirements(why);
    match state.oidc.fail(authz, &error).await.map_err(oauth_page)? {
        Some(url) => to_client(t, app, &url),
        None => Err(WebError::BadRequest(Msg::new("error-authz-expired")).into()),
    }
}

/// The page that continues to the application `app` at `url`.
fn to_client(t: Locale, app: &str, url: &url::Url) -> PageResult {
    let page = ContinuePage {
        t,
        app: app.to_owned(),
        url: url.as_str().to_owned(),
    };
    Ok(render(&page)?.into_response())
}

/// The name shown of the client `client_id`.
pub(crate) fn app_name(state: &AppState, client_id: &str) -> String {
    state
        .oidc
        .clients()
        .get(client_id)
        .map_or_else(|| client_id.to_owned(), |c| c.config.name.clone())
}
