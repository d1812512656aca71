//! The SSO session as the browser holds it: the sign-in service over this request's
//! state, reading the current session from its cookie, and entering a new one after any
//! sign-in (password, redirect callback, SAML ACS).
//!
//! May import: `signin`, `sso`, `web::cookies`, `web::error`.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use crate::secret::Secret;
use crate::signin::{Established, SignIn, SignedIn};
use crate::sso::SsoSession;
use crate::web::error::PageError;
use crate::web::{AppState, cookies};

impl AppState {
    /// The sign-in service over this state.
    pub fn signin(&self) -> SignIn<'_> {
        SignIn {
            sso: &self.sso,
            connectors: &self.connectors,
            clock: &self.clock,
            limits: &self.config.sign_in,
            audit: &self.audit,
            metrics: &self.metrics,
            recorder: &self.recorder,
        }
    }
}

/// The SSO session of the request, if any; with its cookie value.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Secret, SsoSession)>, PageError> {
    let secure = state.config.server.secure_cookies;
    let Some(cookie) = cookies::read(headers, cookies::SESSION, secure) else {
        return Ok(None);
    };
    Ok(state
        .sso
        .load(cookie.expose_secret())
        .await?
        .map(|s| (cookie, s)))
}

/// After any successful sign-in: the SSO session is established (a previous one of this
/// browser ended), its cookie set, the login cookie cleared, and the browser sent on.
pub async fn enter(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let established = establish(state, headers, signed_in).await?;
    let response = Redirect::to(&established.go_to).into_response();
    Ok(with_session_cookie(state, response, &established.cookie))
}

/// Establishes the SSO session of a successful sign-in, ending the one this browser held
/// before; the response that goes on from it takes [`with_session_cookie`].
pub async fn establish(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: SignedIn,
) -> Result<Established, PageError> {
    let secure = state.config.server.secure_cookies;
    let previous = cookies::read(headers, cookies::SESSION, secure);
    Ok(state
        .signin()
        .establish(signed_in, previous.as_ref())
        .await?)
}

/// `response` with the new session's cookie (`cookie`) set and the login cookie cleared.
pub fn with_session_cookie(state: &AppState, mut response: Response, cookie: &Secret) -> Response {
    let secure = state.config.server.secure_cookies;
    let max_age = i64::try_from(state.config.sessions.absolute_timeout.as_secs()).unwrap_or(43_200);
    cookies::clear(response.headers_mut(), cookies::LOGIN, secure);
    cookies::set(
        response.headers_mut(),
        cookies::SESSION,
        secure,
        cookie,
        max_age,
    );
    response
}
