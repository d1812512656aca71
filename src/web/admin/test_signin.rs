//! An admin's test sign-in (issue 15): a real sign-in through one provider in the admin's
//! own browser that shows exactly what came back — subject, every claim or attribute,
//! `amr`/AuthnContext, times, the certificate or key that signed it — and creates no
//! session. The answer to the most common broker support question: "what does the IdP
//! actually send?".
//!
//! The sign-in carries the admin's SSO session ref from its start
//! ([`crate::signin::Start::test_for`]) in its single-use transaction, so the answer can
//! only come back as a test: [`conclude`] (called by the callback, the ACS and the password
//! form instead of establishing a session) keeps it for [`TEST_SIGN_IN_TTL`] under a fresh
//! id, for that same SSO session only ([`result`]), and sends the browser to its page. The
//! admin's own session is left as it was.
//!
//! May import: `web`, `signin`, `session`, `identity`, `clock`.

use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::identity::{Evidence, ExternalIdentity};
use crate::session::keyspace::{TEST_SIGN_IN, TEST_SIGN_IN_TTL};
use crate::session::{digest, get_json, put_json, random_id};
use crate::signin::SignedIn;
use crate::web::AppState;
use crate::web::error::{PageError, WebError};

/// What a test sign-in brought back, kept for its page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestResult {
    /// The SSO session ref of the admin who ran it: the only session that may see it.
    pub for_session: String,
    /// When it came back.
    pub at: UnixTime,
    /// The identity Lanyard made of the answer (what trust policies see).
    pub identity: ExternalIdentity,
    /// What the provider sent.
    pub evidence: Evidence,
}

/// The path of a test sign-in's page.
pub fn result_path(id: &str) -> String {
    format!("/admin/test-sign-in/{id}")
}

/// Finishes a test sign-in (`signed_in.test` is set) instead of establishing a session:
/// the answer is kept for the admin session that started it and the browser sent to its
/// page, which only that session may see. The answer may arrive without the session's
/// cookie (a SAML IdP posts cross-site, where the `SameSite=Lax` cookie is not sent): the
/// mark came in the sign-in's single-use transaction, which only the admin's own start
/// made, and the page checks the session. Answers `Ok(None)` for a sign-in that is no test.
pub async fn conclude(
    state: &AppState,
    signed_in: &mut SignedIn,
) -> Result<Option<Response>, PageError> {
    let Some(test) = signed_in.test.take() else {
        return Ok(None);
    };
    let id = random_id();
    let result = TestResult {
        for_session: test.for_session,
        at: state.clock.now(),
        identity: signed_in.identity.clone(),
        evidence: test.evidence,
    };
    let key = TEST_SIGN_IN.key([&digest(id.expose_secret())]);
    put_json(state.sso.store().as_ref(), &key, &result, TEST_SIGN_IN_TTL)
        .await
        .map_err(|e| WebError::StoreUnavailable(e.to_string()))?;
    tracing::info!(provider = %result.identity.provider, "test sign-in answered");
    Ok(Some(
        Redirect::to(&result_path(id.expose_secret())).into_response(),
    ))
}

/// The kept answer of test sign-in `id`, if it is still there and `session_ref` is the
/// session that ran it.
pub async fn result(
    state: &AppState,
    id: &str,
    session_ref: &str,
) -> Result<Option<TestResult>, PageError> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    let key = TEST_SIGN_IN.key([&digest(id)]);
    let found: Option<TestResult> = get_json(state.sso.store().as_ref(), &key)
        .await
        .map_err(|e| WebError::StoreUnavailable(e.to_string()))?;
    Ok(found.filter(|r| crate::web::pages::csrf_matches(&r.for_session, session_ref)))
}
