//! Redirect sign-ins (OpenID Connect, GitHub): `GET /auth/{provider}/callback`, where the
//! browser comes back from the provider. Sending it there is `GET /auth/{provider}`.
//!
//! The login transaction (cookie-bound, single use, 10 minutes) carries `state`, `nonce`
//! and the PKCE verifier; the sign-in service takes it atomically, so a replayed callback
//! finds nothing. Every failure becomes a page that names the provider and offers to try
//! again.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::response::Response;

use crate::connectors::upstream::CallbackParams;
use crate::signin::Answer;
use crate::web::cookies;
use crate::web::error::PageError;
use crate::web::extract::Browser;
use crate::web::session::enter;

/// `GET /auth/{provider}/callback`: the provider's answer (RFC 6749 §4.1.2). A query that
/// cannot be read is answered as one without a code.
pub async fn callback(
    Browser(state, facts, headers): Browser,
    Path(provider): Path<String>,
    params: Result<Query<CallbackParams>, QueryRejection>,
) -> Result<Response, PageError> {
    let login = cookies::read(&headers, cookies::LOGIN, state.config.server.secure_cookies);
    let answer = Answer::Redirect {
        params: params.ok().map(|Query(p)| p),
        login: login.as_ref(),
    };
    let signed_in = state.signin().finish(&provider, answer, &facts).await?;
    enter(&state, &headers, signed_in).await
}
