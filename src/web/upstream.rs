//! Redirect sign-ins (OpenID Connect, GitHub): `GET /auth/{provider}/callback`, where the
//! browser comes back from the provider. Sending it there is `GET /auth/{provider}`.
//!
//! The login transaction (cookie-bound, single use, 10 minutes) carries `state`, `nonce`
//! and the PKCE verifier; the sign-in service takes it atomically, so a replayed callback
//! finds nothing. Every failure becomes a page that names the provider and offers to try
//! again.
//!
//! A sign-in for an application (`/oauth2/authorize`) that leaves exactly one role to
//! give goes straight on from the callback to the page that continues to the application,
//! as `/roles` would have answered the next request (`web::pages::straight_on`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};

use crate::connectors::upstream::CallbackParams;
use crate::signin::Answer;
use crate::web::admin::test_signin;
use crate::web::cookies;
use crate::web::error::PageError;
use crate::web::extract::Browser;
use crate::web::i18n::Locale;
use crate::web::pages::straight_on;
use crate::web::session::{establish, with_session_cookie};
use crate::web::step_up;

/// `GET /auth/{provider}/callback`: the provider's answer (RFC 6749 §4.1.2). A query that
/// cannot be read is answered as one without a code. After the sign-in, the browser goes
/// where it was going, or straight on to the application when there is nothing to choose
/// (not for a `HEAD`, which must not use up the application's request).
pub async fn callback(
    Browser(state, facts, headers): Browser,
    t: Locale,
    method: Method,
    Path(provider): Path<String>,
    params: Result<Query<CallbackParams>, QueryRejection>,
) -> Result<Response, PageError> {
    let login = cookies::read(&headers, cookies::LOGIN, state.config.server.secure_cookies);
    let answer = Answer::Redirect {
        params: params.ok().map(|Query(p)| p),
        login: login.as_ref(),
    };
    let mut signed_in = state.signin().finish(&provider, answer, &facts).await?;
    if let Some(tested) = test_signin::conclude(&state, &mut signed_in).await? {
        let mut response = tested;
        cookies::clear(
            response.headers_mut(),
            cookies::LOGIN,
            state.config.server.secure_cookies,
        );
        return Ok(response);
    }
    if let Some(stepped) = step_up::conclude(&state, &mut signed_in).await? {
        return Ok(stepped);
    }
    let mut established = establish(&state, &headers, signed_in).await?;
    let on = match method {
        Method::GET => {
            let session = (&established.cookie, &mut established.session);
            // A failure here is the picker's to say: the browser goes there with its
            // session, and `/roles` answers as it would have.
            straight_on(&state, (&facts, t), &established.go_to, session)
                .await
                .unwrap_or_else(|e| {
                    tracing::debug!(error = ?e, "not straight on after the callback");
                    None
                })
        }
        _ => None,
    };
    let response = on.unwrap_or_else(|| Redirect::to(&established.go_to).into_response());
    Ok(with_session_cookie(&state, response, &established.cookie))
}
