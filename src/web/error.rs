//! One error type for the web layer. Every error becomes a response with an explicit status:
//! pages get an HTML page with a plain sentence and a correlation id, JSON APIs get
//! `{"error", "error_description"}` (OAuth style). 5xx bodies never carry internal text;
//! the detail goes to the log, once, with the request id.

use askama::Template;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::connectors::saml::SamlError;
use crate::connectors::upstream::UpstreamError;
use crate::signin::SignInError;
use crate::sso::SsoError;
use crate::web::views::ErrorPage;

tokio::task_local! {
    /// The request id of the request being handled (set by the request-id middleware).
    pub static REQUEST_ID: String;
}

/// The current request's id, or `-` outside a request.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

/// Something went wrong handling a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such page, provider or role.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The form was not sent by Lanyard's own page, or it expired.
    #[error("the form expired or did not come from this site")]
    Csrf,
    /// The body is larger than Lanyard accepts.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// Not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The bearer token is missing or invalid (APIs only).
    #[error("{0}")]
    Unauthorized(String),
    /// Too many requests of this kind are in progress (an anonymous flood); try later.
    #[error(
        "too many sign-ins are in progress from your network right now; please wait a few \
         minutes and try again"
    )]
    TooBusy {
        /// When to try again (sent as `Retry-After`).
        retry_after: std::time::Duration,
    },
    /// The session store cannot be reached.
    #[error("the session store is unavailable")]
    StoreUnavailable(String),
    /// A bug or an unexpected failure.
    #[error("internal error")]
    Internal(String),
    /// A provider cannot be used right now (a SAML IdP whose metadata is not loaded): 503,
    /// a page naming the provider and why, with a link to try again.
    #[error("signing in with {provider_name} is not possible right now: {reason}")]
    ProviderUnavailable {
        /// Provider id (for the retry link).
        provider_id: String,
        /// Provider display name.
        provider_name: String,
        /// Why, in words safe to show.
        reason: String,
    },
    /// A sign-in through an upstream provider failed; the page names the provider and
    /// offers to try again.
    #[error("signing in with {provider_name} failed: {error}")]
    Upstream {
        /// Provider id (for the retry link).
        provider_id: String,
        /// Provider display name.
        provider_name: String,
        /// What happened.
        error: UpstreamError,
    },
}

impl From<SsoError> for WebError {
    fn from(e: SsoError) -> Self {
        match e {
            SsoError::Store(e) => WebError::StoreUnavailable(e.to_string()),
            SsoError::Corrupt => WebError::Internal(e.to_string()),
        }
    }
}

impl From<SignInError> for WebError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::UnknownProvider(_) | SignInError::NotSaml(_) => {
                WebError::NotFound(e.to_string())
            }
            SignInError::NoPasswordForm(_) | SignInError::PostOnly => {
                WebError::BadRequest(e.to_string())
            }
            SignInError::Upstream { provider, error } => WebError::Upstream {
                provider_id: provider.id.to_string(),
                provider_name: provider.display_name,
                error,
            },
            SignInError::Saml {
                provider,
                error,
                idp_state,
            } => match error {
                SamlError::NotReady => WebError::ProviderUnavailable {
                    provider_id: provider.id.to_string(),
                    provider_name: provider.display_name,
                    reason: format!(
                        "Lanyard does not know this identity provider yet: {idp_state}. It \
                         tries again within a minute"
                    ),
                },
                SamlError::Config(detail) => WebError::Internal(detail),
                other => WebError::Forbidden(format!(
                    "sign-in through {} was refused: the identity provider's answer did not \
                     pass Lanyard's checks ({})",
                    provider.display_name,
                    public_saml_reason(&other)
                )),
            },
            SignInError::Refused { .. } => WebError::Forbidden(e.to_string()),
            SignInError::DirectoryUnavailable { provider, .. } => WebError::ProviderUnavailable {
                provider_id: provider.id.to_string(),
                provider_name: provider.display_name,
                reason: "the directory cannot be reached right now".to_owned(),
            },
            SignInError::FormExpired { .. } => WebError::Csrf,
            SignInError::Sso(e) => e.into(),
            SignInError::Internal(detail) => WebError::Internal(detail),
        }
    }
}

/// A short reason for a refused SAML answer, safe to show to the person.
fn public_saml_reason(e: &SamlError) -> &'static str {
    match e {
        SamlError::Expired(_) | SamlError::NotYetValid(_) => "it is outside its validity period",
        SamlError::OtherBrowser => {
            "it answers a sign-in started in another browser; start again here"
        }
        SamlError::Replay | SamlError::InResponseTo(_) => {
            "it was already used or answers no pending sign-in; start again"
        }
        SamlError::Unsolicited => "sign-ins started at the identity provider are not accepted",
        SamlError::Status(_) => "the identity provider did not authenticate you",
        _ => "it is not valid",
    }
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            WebError::StoreUnavailable(_) | WebError::ProviderUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            WebError::TooBusy { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Upstream { error, .. } => match error {
                UpstreamError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                UpstreamError::Denied { .. } | UpstreamError::NotAllowed(_) => {
                    StatusCode::FORBIDDEN
                }
                UpstreamError::UnknownTransaction
                | UpstreamError::StateMismatch
                | UpstreamError::MissingCode => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            },
        }
    }

    /// Where "try again" leads, for errors of a sign-in.
    fn retry(&self) -> Option<String> {
        match self {
            WebError::Upstream { provider_id, .. }
            | WebError::ProviderUnavailable { provider_id, .. } => {
                Some(format!("/auth/{provider_id}"))
            }
            _ => None,
        }
    }

    /// The page title: what happened, in plain words (never an HTTP reason phrase).
    fn title(&self) -> String {
        match self {
            WebError::NotFound(_) => "That page does not exist".to_owned(),
            WebError::BadRequest(_) => "Lanyard could not use that request".to_owned(),
            WebError::Csrf => "That form has expired".to_owned(),
            WebError::PayloadTooLarge => "That was more than Lanyard accepts".to_owned(),
            WebError::Forbidden(_) => "Not available to you".to_owned(),
            WebError::Unauthorized(_) => "You need to sign in".to_owned(),
            WebError::TooBusy { .. } => "Too many sign-ins in progress".to_owned(),
            WebError::StoreUnavailable(_) => "Lanyard is briefly unavailable".to_owned(),
            WebError::Internal(_) => "Something went wrong".to_owned(),
            WebError::Upstream { provider_name, .. } => {
                format!("Sign-in with {provider_name} failed")
            }
            WebError::ProviderUnavailable { provider_name, .. } => {
                format!("{provider_name} is not available")
            }
        }
    }

    /// A sentence for the person; never internal detail.
    fn public_message(&self) -> String {
        match self {
            WebError::StoreUnavailable(_) => {
                "Lanyard cannot reach its session store right now. Please try again in a moment."
                    .to_owned()
            }
            WebError::Internal(_) => "Something went wrong on our side.".to_owned(),
            WebError::Csrf => "This form has expired or was not sent from Lanyard's own page. \
                               Go back, reload the page and try again."
                .to_owned(),
            other => {
                let mut s = other.to_string();
                if let Some(first) = s.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                if !s.ends_with('.') {
                    s.push('.');
                }
                s
            }
        }
    }

    fn oauth_code(&self) -> &'static str {
        match self {
            WebError::NotFound(_) => "not_found",
            WebError::BadRequest(_) | WebError::PayloadTooLarge => "invalid_request",
            WebError::Csrf | WebError::Forbidden(_) => "access_denied",
            WebError::Unauthorized(_) => "invalid_token",
            WebError::StoreUnavailable(_)
            | WebError::ProviderUnavailable { .. }
            | WebError::TooBusy { .. } => "temporarily_unavailable",
            WebError::Internal(_) => "server_error",
            WebError::Upstream { .. } => "upstream_error",
        }
    }

    /// Headers the answer carries: `Retry-After` (RFC 9110 §10.2.3) when busy.
    fn add_headers(&self, response: &mut Response) {
        if let WebError::TooBusy { retry_after } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(retry_after.as_secs()),
            );
        }
    }

    fn log(&self, request_id: &str) {
        let status = self.status().as_u16();
        match self {
            WebError::StoreUnavailable(detail) | WebError::Internal(detail) => {
                tracing::error!(request_id, status, detail = %detail, "request failed")
            }
            WebError::Upstream {
                provider_id, error, ..
            } => tracing::warn!(
                request_id,
                status,
                provider = %provider_id,
                reason = %error,
                detail = %error.detail(),
                "upstream sign-in failed"
            ),
            WebError::ProviderUnavailable {
                provider_id,
                reason,
                ..
            } => tracing::warn!(
                request_id,
                status,
                provider = %provider_id,
                reason = %reason,
                "provider not ready"
            ),
            other => tracing::info!(request_id, status, reason = %other, "request refused"),
        }
    }
}

/// A [`WebError`] shown as an HTML page.
#[derive(Debug)]
pub struct PageError(pub WebError);

impl<E: Into<WebError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

/// Where an error page's link leads: back to where the person was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Back {
    /// Not signed in (or unknown): the sign-in page.
    #[default]
    SignIn,
    /// Signed in: the role picker.
    Roles,
    /// The device page (`/device`), to enter a code again.
    Device,
}

impl PageError {
    /// The error page, with its link back to `back`.
    pub fn page(self, back: Back) -> Response {
        let request_id = request_id();
        self.0.log(&request_id);
        let status = self.0.status();
        let (back_href, back_label) = match back {
            Back::SignIn => ("/signin", "Back to sign-in"),
            Back::Roles => ("/roles", "Back to your roles"),
            Back::Device => ("/device", "Back to the device sign-in"),
        };
        let page = ErrorPage {
            title: self.0.title(),
            message: self.0.public_message(),
            request_id,
            retry: self.0.retry(),
            back_href: back_href.to_owned(),
            back_label: back_label.to_owned(),
        };
        let mut response = match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => {
                (status, [(header::CONTENT_TYPE, "text/plain")], page.message).into_response()
            }
        };
        self.0.add_headers(&mut response);
        response
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.page(Back::SignIn)
    }
}

/// A [`WebError`] as OAuth-style JSON.
#[derive(Debug)]
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = request_id();
        self.0.log(&request_id);
        let status = self.0.status();
        let body = serde_json::json!({
            "error": self.0.oauth_code(),
            "error_description": self.0.public_message(),
            "request_id": request_id,
        });
        let mut response = (status, Json(body)).into_response();
        self.0.add_headers(&mut response);
        if let WebError::Unauthorized(_) = self.0
            && let Ok(v) = header::HeaderValue::from_str(&format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                self.0.public_message().replace('"', "'")
            ))
        {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_error_page_title_is_a_reason_phrase() {
        let all = [
            WebError::NotFound("x".into()),
            WebError::BadRequest("x".into()),
            WebError::Csrf,
            WebError::PayloadTooLarge,
            WebError::Forbidden("x".into()),
            WebError::Unauthorized("x".into()),
            WebError::TooBusy {
                retry_after: std::time::Duration::from_secs(1),
            },
            WebError::StoreUnavailable("x".into()),
            WebError::Internal("x".into()),
        ];
        for e in all {
            let title = e.title();
            let reason = e.status().canonical_reason().unwrap_or("");
            assert!(!title.eq_ignore_ascii_case(reason), "{title}");
            assert!(!title.contains(reason), "{title} contains {reason}");
        }
    }
}
