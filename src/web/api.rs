//! Machine endpoints: discovery, JWKS, health, readiness, and `POST /v1/authorize`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_policy::{Context, Outcome};
use serde::{Deserialize, Serialize};

use crate::roles::{RequestFacts, apply_request_facts};
use crate::web::error::{ApiError, WebError};
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

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3).
pub async fn discovery(State(state): State<AppState>) -> Response {
    let issuer = state.config.server.issuer();
    let alg = state.issuer.keys().algorithm().to_string();
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
            "token_endpoint": format!("{issuer}/oauth2/token"),
            "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
            "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
            "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
            "end_session_endpoint": format!("{issuer}/oauth2/logout"),
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", crate::config::TOKEN_EXCHANGE_GRANT],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "scopes_supported": ["openid", "profile", "email", "groups", "offline_access"],
            "prompt_values_supported": ["none", "login"],
            "acr_values_supported": [crate::provider::ACR_PASSWORD, crate::provider::ACR_MFA],
            "authorization_response_iss_parameter_supported": true,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg.clone()],
            "userinfo_signing_alg_values_supported": ["none"],
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "claims_parameter_supported": false,
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "role",
                "session_name", "idp", "amr", "acr", "auth_time", "groups", "tags",
                "nonce", "at_hash", "azp", "email", "email_verified", "name",
                "preferred_username"
            ],
        })),
    )
        .into_response()
}

/// `GET /.well-known/jwks.json`: every non-expired signing key.
pub async fn jwks(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.issuer.keys().jwks()),
    )
        .into_response()
}

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the session store answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.sso.store();
    let kind = store.kind();
    match tokio::time::timeout(READY_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => Json(serde_json::json!({"status": "ready", "store": kind})).into_response(),
        Ok(Err(e)) => not_ready(kind, &e.to_string()),
        Err(_) => not_ready(kind, "timed out"),
    }
}

fn not_ready(kind: &str, detail: &str) -> Response {
    tracing::warn!(store = kind, detail, "not ready: session store unreachable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({
            "status": "unavailable",
            "store": kind,
            "error": "the session store is unreachable",
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

/// Condition-key prefixes a caller's context may not set: they describe the principal and
/// come from the role session, never from the request body.
const PROTECTED_PREFIXES: &[&str] = &[
    "idp:",
    "aws:principaltag/",
    "aws:username",
    "aws:userid",
    "aws:multifactorauth",
    "aws:currenttime",
    "aws:epochtime",
];

/// `POST /v1/authorize`: a policy decision for the bearer's role session.
pub async fn authorize(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Result<Json<AuthorizeRequest>, JsonRejection>,
) -> Result<Json<AuthorizeResponse>, ApiError> {
    let token = bearer(&headers)?;
    // Any live role session's token may ask about its own permissions, whichever
    // application it was issued to.
    let claims = state
        .issuer
        .verify_any_audience(token)
        .map_err(|e| WebError::Unauthorized(format!("the access token is not valid: {e}")))?;
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(WebError::PayloadTooLarge.into());
        }
        Err(e) => return Err(WebError::BadRequest(e.body_text()).into()),
    };
    let session = state
        .sso
        .role_session(&claims.sid)
        .await?
        .ok_or_else(|| WebError::Unauthorized("the role session has ended".into()))?;
    let role = state
        .roles
        .get(&session.role)
        .ok_or_else(|| WebError::Unauthorized("the role no longer exists".into()))?;
    let mut context = match &body.context {
        None => Context::new(),
        Some(v) => {
            Context::from_json(v).map_err(|e| WebError::BadRequest(format!("context: {e}")))?
        }
    };
    if let Some(key) = body
        .context
        .as_ref()
        .and_then(|v| v.as_object())
        .and_then(|o| {
            o.keys().find(|k| {
                let k = k.to_ascii_lowercase();
                PROTECTED_PREFIXES.iter().any(|p| k.starts_with(p))
                    || k.starts_with(&format!("{}:", session.principal_keys.provider()))
            })
        })
    {
        return Err(WebError::BadRequest(format!(
            "context key \"{key}\" describes the principal; Lanyard takes it from the session"
        ))
        .into());
    }
    session.principal_keys.apply(&mut context);
    let caller_ip = context.get("aws:SourceIp").is_some();
    let facts = RequestFacts {
        source_ip: if caller_ip { None } else { ip.0 },
        now: state.clock.now(),
        secure_transport: state.config.server.secure_cookies,
    };
    apply_request_facts(&mut context, &facts, session.auth_time, session.mfa);
    // A session policy set at AssumeRole time narrows the role: it must allow too.
    let session_policy = match &session.session_policy {
        None => None,
        Some(text) => Some(
            lanyard_policy::Policy::parse("session", text, lanyard_policy::PolicyKind::Session)
                .map_err(|e| WebError::Internal(format!("stored session policy: {e}")))?,
        ),
    };
    let decision = crate::roles::authorize(
        role,
        session_policy.as_ref(),
        &body.action,
        &body.resource,
        &context,
    );
    tracing::info!(
        sid = %session.id,
        role = %role.name,
        action = %body.action,
        resource = %body.resource,
        outcome = ?decision.outcome,
        "authorization decision"
    );
    Ok(Json(AuthorizeResponse {
        decision: if decision.outcome.is_allowed() {
            "Allow"
        } else {
            "Deny"
        },
        reason: decision.outcome,
        explanation: decision.reason,
        statements: decision.statements,
        role: role.name.clone(),
    }))
}

fn bearer(headers: &HeaderMap) -> Result<&str, WebError> {
    crate::web::bearer_token(headers)
        .ok_or_else(|| WebError::Unauthorized("a bearer token is required".into()))
}
