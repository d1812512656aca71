//! The STS endpoints: `POST /sts/assume-role-with-web-identity` and
//! `POST /sts/assume-role-with-saml`, thin JSON wrappers over [`crate::sts::Sts`]. Both
//! answer with the same [`StsResponse`] shape, and refuse with
//! `{"error": <AWS STS error code>, "error_description", "request_id"}`.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use crate::roles::{RequestFacts, rfc3339, role_arn};
use crate::secret::Secret;
use crate::sts::{AssumeRoleRequest, Assumed, StsError};
use crate::telemetry::metrics::{Door, Outcome};
use crate::web::error::request_id;
use crate::web::{AppState, ClientIp};

/// A session policy as given: a JSON string holding the policy, or the policy object.
#[derive(Deserialize)]
#[serde(untagged)]
enum PolicyParam {
    Text(String),
    Document(serde_json::Map<String, serde_json::Value>),
}

impl PolicyParam {
    fn into_text(self) -> String {
        match self {
            PolicyParam::Text(t) => t,
            PolicyParam::Document(d) => serde_json::Value::Object(d).to_string(),
        }
    }
}

/// Body of `POST /sts/assume-role-with-web-identity`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssumeRoleWithWebIdentity {
    role: String,
    web_identity_token: Secret,
    #[serde(default)]
    duration_seconds: Option<u64>,
    #[serde(default)]
    role_session_name: Option<String>,
    #[serde(default)]
    policy: Option<PolicyParam>,
}

/// Body of `POST /sts/assume-role-with-saml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssumeRoleWithSaml {
    role: String,
    saml_response: Secret,
    #[serde(default)]
    duration_seconds: Option<u64>,
    #[serde(default)]
    role_session_name: Option<String>,
    #[serde(default)]
    policy: Option<PolicyParam>,
    #[serde(default)]
    provider: Option<String>,
}

/// `credentials` of an STS answer.
#[derive(Serialize)]
pub struct StsCredentials {
    access_token: String,
    token_type: &'static str,
    /// RFC 3339, UTC.
    expires_at: String,
    /// Seconds from now, for clients that prefer it.
    expires_in: i64,
}

/// `assumed_role` of an STS answer.
#[derive(Serialize)]
pub struct AssumedRole {
    role: String,
    arn: String,
    session_name: String,
    session_id: String,
}

/// The answer of both STS endpoints.
#[derive(Serialize)]
pub struct StsResponse {
    credentials: StsCredentials,
    assumed_role: AssumedRole,
    /// The provider that vouched for the caller.
    provider: String,
    /// The web identity token's audience, or the SAML SP entity id.
    audience: String,
    /// `{provider}:{subject}`.
    subject: String,
}

impl StsResponse {
    fn new(a: Assumed, now: i64) -> Self {
        let s = a.session;
        Self {
            credentials: StsCredentials {
                expires_at: rfc3339(s.expires_at),
                expires_in: s.expires_at - now,
                access_token: s.access_token,
                token_type: "Bearer",
            },
            assumed_role: AssumedRole {
                arn: role_arn(&s.role),
                role: s.role,
                session_name: s.session_name,
                session_id: s.id,
            },
            provider: a.provider,
            audience: a.audience,
            subject: s.subject,
        }
    }
}

/// An [`StsError`] (or a request the JSON extractor refused) as a JSON error.
#[derive(Debug)]
pub struct StsRefusal(StsError, StatusCode);

impl From<StsError> for StsRefusal {
    fn from(e: StsError) -> Self {
        let status = match &e {
            StsError::Validation(_)
            | StsError::MalformedPolicy(_)
            | StsError::PolicyTooLarge
            | StsError::InvalidIdentityToken(_)
            | StsError::ExpiredToken(_) => StatusCode::BAD_REQUEST,
            StsError::IdpRejectedClaim(_) | StsError::AccessDenied(_) => StatusCode::FORBIDDEN,
            StsError::IdpCommunication(_) => StatusCode::BAD_GATEWAY,
            StsError::Store(_) | StsError::Audit(_) => StatusCode::SERVICE_UNAVAILABLE,
            StsError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        StsRefusal(e, status)
    }
}

impl IntoResponse for StsRefusal {
    fn into_response(self) -> Response {
        let StsRefusal(e, status) = self;
        let request_id = request_id();
        let description = match &e {
            StsError::Store(_) => {
                tracing::error!(request_id = %request_id, detail = %e, "STS: session store failed");
                "the session store is unavailable; try again".to_owned()
            }
            StsError::Audit(_) => {
                tracing::error!(request_id = %request_id, detail = %e, "STS: audit trail failed");
                "credentials cannot be recorded right now; try again".to_owned()
            }
            StsError::Internal(_) => {
                tracing::error!(request_id = %request_id, detail = %e, "STS failed");
                "credentials could not be issued".to_owned()
            }
            other => {
                tracing::info!(request_id = %request_id, error = other.code(), reason = %other, "STS request refused");
                other.to_string()
            }
        };
        (
            status,
            Extension(Outcome::StsError(e.code())),
            Json(serde_json::json!({
                "error": e.code(),
                "error_description": description,
                "request_id": request_id,
            })),
        )
            .into_response()
    }
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, StsRefusal> {
    match body {
        Ok(Json(b)) => Ok(b),
        Err(e) => {
            let status = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            Err(StsRefusal(StsError::Validation(e.body_text()), status))
        }
    }
}

fn facts(state: &AppState, ip: ClientIp) -> RequestFacts {
    RequestFacts {
        source_ip: ip.0,
        now: state.clock.now(),
        secure_transport: state.config.server.secure_cookies,
    }
}

/// The fields both endpoints share.
fn assume_role(
    role: String,
    duration_seconds: Option<u64>,
    role_session_name: Option<String>,
    policy: Option<PolicyParam>,
) -> AssumeRoleRequest {
    AssumeRoleRequest {
        role,
        duration_seconds,
        role_session_name,
        policy: policy.map(PolicyParam::into_text),
    }
}

/// `POST /sts/assume-role-with-web-identity`.
pub async fn assume_role_with_web_identity(
    State(state): State<AppState>,
    ip: ClientIp,
    request: Result<Json<AssumeRoleWithWebIdentity>, JsonRejection>,
) -> Result<(Extension<Outcome>, Json<StsResponse>), StsRefusal> {
    let b = body(request)?;
    let request = assume_role(b.role, b.duration_seconds, b.role_session_name, b.policy);
    let facts = facts(&state, ip);
    let assumed = state
        .sts
        .assume_role_with_web_identity(&request, b.web_identity_token.expose_secret(), None, &facts)
        .await?;
    Ok(answer(Door::StsWebIdentity, assumed, facts.now))
}

/// `POST /sts/assume-role-with-saml`: a base64 SAMLResponse from a CLI tool.
pub async fn assume_role_with_saml(
    State(state): State<AppState>,
    ip: ClientIp,
    request: Result<Json<AssumeRoleWithSaml>, JsonRejection>,
) -> Result<(Extension<Outcome>, Json<StsResponse>), StsRefusal> {
    let b = body(request)?;
    let request = assume_role(b.role, b.duration_seconds, b.role_session_name, b.policy);
    let facts = facts(&state, ip);
    let assumed = state
        .sts
        .assume_role_with_saml(
            &request,
            b.saml_response.expose_secret(),
            b.provider.as_deref(),
            &facts,
        )
        .await?;
    Ok(answer(Door::StsSaml, assumed, facts.now))
}

/// The answer for `assumed`, with what the metrics count.
fn answer(door: Door, assumed: Assumed, now: i64) -> (Extension<Outcome>, Json<StsResponse>) {
    let response = StsResponse::new(assumed, now);
    let issued = Outcome::Issued {
        door,
        role: response.assumed_role.role.clone(),
    };
    (Extension(issued), Json(response))
}
