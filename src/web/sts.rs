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

use crate::clock::UnixTime;
use crate::roles::{RequestFacts, rfc3339, role_arn};
use crate::secret::Secret;
use crate::sts::{AssumeRoleRequest, Assumed, StsError};
use crate::telemetry::metrics::Outcome;
use crate::web::AppState;
use crate::web::error::request_id;

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

/// Declares the body of an STS endpoint and its [`StsBody`] impl: `role`, the upstream
/// credential, the fields every call shares, then the endpoint's own optional ones.
macro_rules! sts_body {
    ($(#[$doc:meta])* $name:ident { $credential:ident $(, $extra:ident: $extra_ty:ty)* }
     into |$b:ident| $upstream:expr) => {
        $(#[$doc])*
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            role: String,
            $credential: Secret,
            #[serde(default)]
            duration_seconds: Option<u64>,
            #[serde(default)]
            role_session_name: Option<String>,
            #[serde(default)]
            policy: Option<PolicyParam>,
            $(
                #[serde(default)]
                $extra: $extra_ty,
            )*
        }

        impl StsBody for $name {
            fn into_parts(self) -> (AssumeRoleRequest, Upstream) {
                let $b = self;
                let request = AssumeRoleRequest {
                    role: $b.role,
                    duration_seconds: $b.duration_seconds,
                    role_session_name: $b.role_session_name,
                    policy: $b.policy.map(PolicyParam::into_text),
                };
                (request, $upstream)
            }
        }
    };
}

sts_body!(
    /// Body of `POST /sts/assume-role-with-web-identity`.
    AssumeRoleWithWebIdentity { web_identity_token }
    into |b| Upstream::WebIdentity(b.web_identity_token)
);

sts_body!(
    /// Body of `POST /sts/assume-role-with-saml`.
    AssumeRoleWithSaml { saml_response, provider: Option<String> }
    into |b| Upstream::Saml(b.saml_response, b.provider)
);

/// `credentials` of an STS answer.
#[derive(Serialize)]
pub struct StsCredentials {
    access_token: String,
    token_type: &'static str,
    /// RFC 3339, UTC.
    expires_at: String,
    /// Seconds from now, for clients that prefer it.
    expires_in: u64,
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
    fn new(a: Assumed, now: UnixTime) -> Self {
        let s = a.session;
        Self {
            credentials: StsCredentials {
                expires_at: rfc3339(s.expires_at),
                expires_in: now.until(s.expires_at).as_secs(),
                access_token: s.access_token,
                token_type: "Bearer",
            },
            assumed_role: AssumedRole {
                arn: role_arn(&s.role),
                role: s.role.into_string(),
                session_name: s.session_name,
                session_id: s.id.into_string(),
            },
            provider: a.provider,
            audience: a.audience,
            subject: s.subject.into_string(),
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
            StsError::IdpRejectedClaim(_)
            | StsError::AccessDenied(_)
            | StsError::ApprovalRequired { .. } => StatusCode::FORBIDDEN,
            StsError::IdpCommunication(_) => StatusCode::BAD_GATEWAY,
            StsError::Store(_) | StsError::AuditUnavailable | StsError::RequestsUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
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
            StsError::AuditUnavailable => {
                tracing::error!(request_id = %request_id, "STS: the audit trail refused the event");
                e.to_string()
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

/// The upstream credential an STS call presents.
pub enum Upstream {
    /// An upstream JWT (`AssumeRoleWithWebIdentity`).
    WebIdentity(Secret),
    /// A base64 SAMLResponse (`AssumeRoleWithSAML`), and the provider it names, if any.
    Saml(Secret, Option<String>),
}

/// The body of an STS endpoint: the request every call shares, and its credential.
pub trait StsBody: serde::de::DeserializeOwned {
    /// The body taken apart.
    fn into_parts(self) -> (AssumeRoleRequest, Upstream);
}

/// `POST /sts/assume-role-with-web-identity` (with an [`AssumeRoleWithWebIdentity`] body)
/// and `POST /sts/assume-role-with-saml` (an [`AssumeRoleWithSaml`] body: a base64
/// SAMLResponse from a CLI tool).
pub async fn assume_role<B: StsBody>(
    State(state): State<AppState>,
    facts: RequestFacts,
    request: Result<Json<B>, JsonRejection>,
) -> Result<Response, StsRefusal> {
    let (r, upstream) = body(request)?.into_parts();
    let sts = &state.sts;
    let assumed = match &upstream {
        Upstream::WebIdentity(token) => {
            let token = token.expose_secret();
            sts.assume_role_with_web_identity(&r, token, None, &facts)
                .await?
        }
        Upstream::Saml(response, provider) => {
            let response = response.expose_secret();
            sts.assume_role_with_saml(&r, response, provider.as_deref(), &facts)
                .await?
        }
    };
    let answer = StsResponse::new(assumed, facts.now);
    // The token and ~300 bytes of names, ids and times.
    let capacity = answer.credentials.access_token.len() + 512;
    Ok(crate::web::json_sized(&answer, capacity))
}
