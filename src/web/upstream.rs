//! Redirect sign-ins (OpenID Connect, GitHub): sending the browser upstream from
//! `GET /auth/{provider}`, and `GET /auth/{provider}/callback` where it comes back.
//!
//! The login transaction (cookie-bound, single use, 10 minutes) carries `state`, `nonce`
//! and the PKCE verifier; the callback takes it atomically, so a replayed callback finds
//! nothing. Every failure becomes a page that names the provider and offers to try again.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};

use crate::connectors::upstream::{CallbackParams, UpstreamError, UpstreamLogin};
use crate::connectors::{Connector, ProviderInfo};
use crate::sso::{Claim, LOGIN_TRANSACTION_TTL};
use crate::web::error::WebError;
use crate::web::pages::{PageResult, establish_session};
use crate::web::{AppState, cookies};

fn upstream_error(info: &ProviderInfo, error: UpstreamError) -> WebError {
    WebError::Upstream {
        provider_id: info.id.to_string(),
        provider_name: info.display_name.clone(),
        error,
    }
}

/// Starts a redirect sign-in: a fresh login transaction, then 303 to the provider.
pub async fn start(
    state: &AppState,
    info: &ProviderInfo,
    connector: &Connector,
    return_to: Option<String>,
    login_hint: Option<&str>,
) -> PageResult {
    let login = UpstreamLogin::fresh();
    let now = state.clock.now();
    let url = match connector {
        Connector::Oidc(c) => c.authorization_url(&login, login_hint, now).await,
        Connector::Github(c) => c.authorization_url(&login, login_hint),
        Connector::Local(_) | Connector::Ldap(_) | Connector::Saml(_) => {
            return Err(WebError::NotFound("this provider has no redirect sign-in".into()).into());
        }
    }
    .map_err(|e| upstream_error(info, e))?;
    let (txn_cookie, _) = state
        .sso
        .begin_login_with(info.id.clone(), return_to, Some(login))
        .await?;
    let mut response = Redirect::to(url.as_str()).into_response();
    cookies::set(
        response.headers_mut(),
        cookies::LOGIN,
        state.config.server.secure_cookies,
        &txn_cookie,
        i64::try_from(LOGIN_TRANSACTION_TTL.as_secs()).unwrap_or(600),
    );
    Ok(response)
}

/// `GET /auth/{provider}/callback`: the provider's answer (RFC 6749 §4.1.2).
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    params: Result<Query<CallbackParams>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let Some((info, connector)) = state.connectors.get(&provider) else {
        return Err(
            WebError::NotFound(format!("there is no identity provider \"{provider}\"")).into(),
        );
    };
    if matches!(connector, Connector::Saml(_)) {
        return Err(WebError::BadRequest(
            "this address receives the SAML identity provider's answer by HTTP POST; start at \
             the sign-in page"
                .into(),
        )
        .into());
    }
    let fail = |e: UpstreamError| upstream_error(info, e);
    let Query(params) = params.map_err(|_| fail(UpstreamError::MissingCode))?;
    let secure = state.config.server.secure_cookies;
    let cookie = cookies::read(&headers, cookies::LOGIN, secure)
        .ok_or_else(|| fail(UpstreamError::UnknownTransaction))?;
    // Checked, then taken: a forged answer (wrong `state`) leaves the sign-in in progress
    // alone; a matching one takes it atomically, so it cannot be used again.
    let txn = match state
        .sso
        .take_login_if(cookie.expose_secret(), |txn| {
            txn.provider == info.id && params.answers(txn.upstream.as_ref())
        })
        .await?
    {
        Claim::Taken(txn) => txn,
        Claim::Refused => return Err(fail(UpstreamError::StateMismatch).into()),
        Claim::Absent => return Err(fail(UpstreamError::UnknownTransaction).into()),
    };
    let Some(login) = txn.upstream else {
        return Err(fail(UpstreamError::UnknownTransaction).into());
    };
    let code = params.code_for(&login).map_err(fail)?;
    let now = state.clock.now();
    let identity = match connector {
        Connector::Oidc(c) => c.finish(&code, params.iss.as_deref(), &login, now).await,
        Connector::Github(c) => c.finish(&code, &login, now).await,
        Connector::Local(_) | Connector::Ldap(_) | Connector::Saml(_) => {
            Err(UpstreamError::UnknownTransaction)
        }
    }
    .map_err(fail)?;
    establish_session(&state, &headers, identity, txn.return_to).await
}
