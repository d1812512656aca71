//! Machine endpoints: discovery, JWKS, health, readiness, `POST /v1/authorize` and
//! `GET /v1/roles`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_policy::Outcome;
use serde::{Deserialize, Serialize};

use crate::authz::{Authorizer, AuthzError, Caller, Question};
use crate::connectors::saml::IdpState;
use crate::op::{OAuthError, TokenRoles};
use crate::roles::RequestFacts;
use crate::web::error::{ApiError, WebError};
use crate::web::extract::ApiJson;
use crate::web::i18n::Msg;
use crate::web::{AppState, ClientIp};

/// Readiness gives up on the store after this long.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /static/lanyard.css` (embedded, so the binary is self-contained).
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/lanyard.css"),
    )
        .into_response()
}

/// `GET /static/lanyard.js`: the pages' one script, embedded and cached like the
/// stylesheet. Every page works without it; it adds the credentials page's shell tabs,
/// copy buttons and countdown, and the role picker's filter as you type.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/lanyard.js"),
    )
        .into_response()
}

/// `GET /static/favicon.svg`: Lanyard's icon, embedded like the stylesheet.
pub async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../static/favicon.svg"),
    )
        .into_response()
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3).
pub async fn discovery(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.oidc.discovery()),
    )
        .into_response()
}

/// `GET /.well-known/jwks.json`: every non-expired signing key.
pub async fn jwks(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.access.tokens().keys().jwks()),
    )
        .into_response()
}

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /metrics`: the Prometheus text exposition, for clients in `[metrics] allow`
/// (default loopback only) or presenting `[metrics] bearer_token`; everybody else gets the
/// ordinary 404 page, so that the endpoint is not advertised.
pub async fn metrics(State(state): State<AppState>, ip: ClientIp, headers: HeaderMap) -> Response {
    let settings = &state.config.metrics;
    let by_network = ip.0.is_some_and(|addr| {
        let addr = addr.to_canonical();
        settings.allow.iter().any(|net| net.contains(&addr))
    });
    let by_token = match (&settings.bearer_token, crate::web::bearer_token(&headers)) {
        (Some(expected), Some(given)) => {
            use subtle::ConstantTimeEq as _;
            bool::from(expected.expose_secret().as_bytes().ct_eq(given.as_bytes()))
        }
        _ => false,
    };
    if !(by_network || by_token) {
        let nothing = WebError::NotFound(Msg::new("error-no-such-page"));
        return crate::web::error::PageError(nothing).into_response();
    }
    upstream_gauges(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Sets the gauges computed at scrape time: for every upstream with signing keys, their
/// age and the seconds until its first signing certificate expires.
async fn upstream_gauges(state: &AppState) {
    let now = state.clock.now();
    for f in state.connectors.key_facts(now).await {
        if let Some(age) = f.age {
            state.metrics.upstream_keys_age(f.provider.as_str(), age);
        }
        if let Some(expires) = f.certificate_expiry {
            // Signed: the gauge goes negative once the certificate has expired.
            let left = expires.secs().saturating_sub(now.secs());
            state
                .metrics
                .upstream_certificate_expiry(f.provider.as_str(), left);
        }
    }
}

/// `GET /readyz`, for the load balancer: 200 while the session store answers, 503 when it
/// does not. A SAML provider whose IdP metadata is not loaded does not take the instance
/// out (every other provider still works, and every instance would be out alike): the body
/// then says `"status": "degraded"` and the provider's state under `providers`. From
/// SIGTERM on it answers 503 `"status": "shutting down"` while requests in flight finish.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "status": "shutting down",
                "error": "this instance is shutting down; requests in flight finish",
            })),
        )
            .into_response();
    }
    let store = state.sso.store();
    let kind = store.kind();
    let (providers, degraded) = provider_states(&state);
    match tokio::time::timeout(READY_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => Json(serde_json::json!({
            "status": if degraded { "degraded" } else { "ready" },
            "store": kind,
            "providers": providers,
        }))
        .into_response(),
        Ok(Err(e)) => not_ready(kind, &e.to_string(), providers),
        Err(_) => not_ready(kind, "timed out", providers),
    }
}

/// The state of every provider that can be not ready (SAML IdPs known from a metadata
/// URL), and whether any is not.
fn provider_states(state: &AppState) -> (serde_json::Map<String, serde_json::Value>, bool) {
    let mut out = serde_json::Map::new();
    let mut degraded = false;
    for (info, c) in state.connectors.saml_providers() {
        let entry = match c.idp_state() {
            IdpState::Ready => serde_json::json!({"state": "ready"}),
            IdpState::Loading => {
                degraded = true;
                serde_json::json!({"state": "loading", "error": IdpState::Loading.to_string()})
            }
            failed @ IdpState::Failed(_) => {
                degraded = true;
                serde_json::json!({"state": "failed", "error": failed.to_string()})
            }
        };
        out.insert(info.id.to_string(), entry);
    }
    (out, degraded)
}

fn not_ready(
    kind: &str,
    detail: &str,
    providers: serde_json::Map<String, serde_json::Value>,
) -> Response {
    tracing::warn!(store = kind, detail, "not ready: session store unreachable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({
            "status": "unavailable",
            "store": kind,
            "error": "the session store is unreachable",
            "providers": providers,
        })),
    )
        .into_response()
}

/// Body of `POST /v1/authorize`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    action: String,
    resource: String,
    #[serde(default)]
    context: Option<serde_json::Value>,
}

/// Answer of `POST /v1/authorize`.
#[derive(Debug, Serialize)]
pub struct AuthorizeResponse {
    /// `Allow` or `Deny`.
    decision: &'static str,
    /// `Allowed`, `ExplicitDeny` or `ImplicitDeny`.
    reason: Outcome,
    /// A sentence explaining the decision.
    explanation: String,
    /// The statements that decided it.
    statements: Vec<lanyard_policy::StatementRef>,
    /// The role evaluated.
    role: String,
}

/// `POST /v1/authorize`: a policy decision for the bearer's role session (see
/// [`crate::authz`] for which context keys a caller may send).
pub async fn authorize(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Result<ApiJson<AuthorizeRequest>, ApiError>,
) -> Result<Json<AuthorizeResponse>, ApiError> {
    let token = bearer(&headers)?;
    // Any live role session's token may ask about its own permissions, whichever
    // application it was issued to.
    let claims = state
        .access
        .tokens()
        .verify_any_audience(token)
        .map_err(|e| {
            WebError::Unauthorized(Msg::verbatim(format!("the access token is not valid: {e}")))
        })?;
    // Read after the token is checked: a caller without one learns nothing of the body.
    let ApiJson(body) = body?;
    let caller = Caller {
        claims: &claims,
        ip: ip.0,
    };
    let question = Question {
        action: &body.action,
        resource: &body.resource,
        context: body.context.as_ref(),
    };
    let answer = authorizer(&state)
        .decide(&caller, &question, state.clock.now())
        .await
        .map_err(authz_error)?;
    Ok(Json(AuthorizeResponse::from(answer)))
}

/// The decision service over this broker's roles, sessions and settings.
pub(crate) fn authorizer(state: &AppState) -> Authorizer<'_> {
    Authorizer {
        sso: &state.sso,
        roles: &state.roles,
        // The file's providers and the database's.
        provider_ids: state
            .connectors
            .providers()
            .iter()
            .map(|p| p.id.as_str())
            .collect(),
        source_ip_clients: (state.config.clients.iter())
            .filter(|c| c.assert_source_ip)
            .map(|c| c.id.as_str())
            .collect(),
        secure_transport: state.config.server.secure_cookies,
    }
}

impl From<crate::authz::Answer> for AuthorizeResponse {
    fn from(answer: crate::authz::Answer) -> Self {
        let decision = answer.decision;
        Self {
            decision: if decision.outcome.is_allowed() {
                "Allow"
            } else {
                "Deny"
            },
            reason: decision.outcome,
            explanation: decision.reason,
            statements: decision.statements,
            role: answer.role.into_string(),
        }
    }
}

fn authz_error(e: AuthzError) -> WebError {
    match e {
        AuthzError::SessionEnded | AuthzError::RoleGone => {
            WebError::Unauthorized(Msg::verbatim(e.to_string()))
        }
        AuthzError::Context(_) | AuthzError::RefusedKey { .. } | AuthzError::InvalidSourceIp => {
            WebError::BadRequest(Msg::verbatim(e.to_string()))
        }
        AuthzError::Store(e) => e.into(),
        AuthzError::StoredPolicy(_) => WebError::Internal(e.to_string()),
    }
}

/// `GET /v1/roles`: the roles the bearer's person may take through the token's client,
/// and the token's own role (see [`crate::op::token_roles`]).
pub async fn roles(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
) -> Result<Json<TokenRoles>, ApiError> {
    let token = bearer(&headers)?;
    let roles = state.oidc.token_roles(token, &facts).await;
    Ok(Json(roles.map_err(oauth_api_error)?))
}

/// An OAuth error of a bearer-token API as the API's error: `invalid_token` is 401 with
/// `WWW-Authenticate` (RFC 6750 §3.1).
fn oauth_api_error(e: OAuthError) -> WebError {
    match e {
        OAuthError::InvalidToken(why) => WebError::Unauthorized(Msg::verbatim(why)),
        OAuthError::TemporarilyUnavailable(detail) => WebError::StoreUnavailable(detail),
        OAuthError::ServerError(detail) => WebError::Internal(detail),
        other => WebError::BadRequest(Msg::verbatim(other.to_string())),
    }
}

fn bearer(headers: &HeaderMap) -> Result<&str, WebError> {
    crate::web::bearer_token(headers)
        .ok_or_else(|| WebError::Unauthorized(Msg::verbatim("a bearer token is required")))
}
