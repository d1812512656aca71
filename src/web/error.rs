//! One error type for the web layer. Every error becomes a response with an explicit status:
//! pages get an HTML page with a plain sentence and a correlation id, in the request's
//! language (`web::i18n`); JSON APIs get `{"error", "error_description"}` (OAuth style),
//! always in English (they are machine-facing). 5xx bodies never carry internal text; the
//! detail goes to the log, once, with the request id.
//!
//! May import: `connectors` (upstream and SAML errors), `signin`, `sso`, `web::views`,
//! `web::i18n`.

use askama::Template;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::connectors::saml::{IdpState, SamlError};
use crate::connectors::upstream::{Endpoint, NotAllowed, UpstreamError};
use crate::signin::SignInError;
use crate::sso::SsoError;
use crate::web::i18n::{Locale, Msg};
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

/// Something went wrong handling a request. The sentences are [`Msg`]s: said in the page's
/// language on a page, in English in the log and in JSON.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such page, provider or role.
    #[error("{0}")]
    NotFound(Msg),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(Msg),
    /// The form was not sent by Lanyard's own page, or it expired.
    #[error("the form expired or did not come from this site")]
    Csrf,
    /// The body is larger than Lanyard accepts.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// Not allowed.
    #[error("{0}")]
    Forbidden(Msg),
    /// The bearer token is missing or invalid (APIs only).
    #[error("{0}")]
    Unauthorized(Msg),
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
        reason: Msg,
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
            SignInError::UnknownProvider(id) => {
                WebError::NotFound(Msg::new("error-unknown-provider").arg("provider", short(&id)))
            }
            SignInError::NotSaml(id) => {
                WebError::NotFound(Msg::new("error-no-saml-provider").arg("provider", short(&id)))
            }
            SignInError::NoPasswordForm(provider) => WebError::BadRequest(
                Msg::new("error-no-password-form").arg("provider", provider.display_name),
            ),
            SignInError::PostOnly => WebError::BadRequest(Msg::new("error-saml-post-only")),
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
                    reason: Msg::new("reason-saml-not-ready")
                        .arg("state", idp_state_msg(&idp_state)),
                },
                SamlError::Config(detail) => WebError::Internal(detail),
                other => WebError::Forbidden(
                    Msg::new("error-saml-refused")
                        .arg("provider", provider.display_name)
                        .arg("reason", public_saml_reason(&other)),
                ),
            },
            SignInError::Refused { .. } => WebError::Forbidden(Msg::new("password-refused")),
            SignInError::DirectoryUnavailable { provider, .. } => WebError::ProviderUnavailable {
                provider_id: provider.id.to_string(),
                provider_name: provider.display_name,
                reason: Msg::new("reason-directory-unavailable"),
            },
            SignInError::FormExpired { .. } => WebError::Csrf,
            SignInError::Sso(e) => e.into(),
            SignInError::Internal(detail) => WebError::Internal(detail),
        }
    }
}

/// An identifier from the request, shortened for a sentence.
fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Where a SAML provider's metadata stands, for the person.
fn idp_state_msg(state: &IdpState) -> Msg {
    match state {
        IdpState::Ready => Msg::new("idp-ready"),
        IdpState::Loading => Msg::new("idp-loading"),
        IdpState::Failed(detail) => Msg::new("idp-failed").arg("detail", detail),
    }
}

/// A short reason for a refused SAML answer, safe to show to the person.
fn public_saml_reason(e: &SamlError) -> Msg {
    match e {
        SamlError::Expired(_) | SamlError::NotYetValid(_) => Msg::new("saml-expired"),
        SamlError::OtherBrowser => Msg::new("saml-other-browser"),
        SamlError::Replay | SamlError::InResponseTo(_) => Msg::new("saml-replay"),
        SamlError::Unsolicited => Msg::new("saml-unsolicited"),
        SamlError::Status(_) => Msg::new("saml-status"),
        _ => Msg::new("saml-invalid"),
    }
}

/// Why an upstream sign-in failed, for the person (the log has [`UpstreamError::detail`]).
fn upstream_reason(e: &UpstreamError) -> Msg {
    match e {
        UpstreamError::Denied {
            error,
            description: None,
        } => Msg::new("upstream-denied").arg("error", error),
        UpstreamError::Denied {
            error,
            description: Some(d),
        } => Msg::new("upstream-denied-described")
            .arg("error", error)
            .arg("description", d),
        UpstreamError::UnknownTransaction => Msg::new("upstream-unknown-transaction"),
        UpstreamError::StateMismatch => Msg::new("upstream-state-mismatch"),
        UpstreamError::MissingCode => Msg::new("upstream-missing-code"),
        UpstreamError::Unreachable { endpoint, .. } => {
            Msg::new("upstream-unreachable").arg("endpoint", endpoint_msg(*endpoint))
        }
        UpstreamError::Tls { endpoint, .. } => {
            Msg::new("upstream-tls").arg("endpoint", endpoint_msg(*endpoint))
        }
        UpstreamError::Timeout { endpoint, timeout } => Msg::new("upstream-timeout")
            .arg("endpoint", endpoint_msg(*endpoint))
            .arg("seconds", timeout.as_secs()),
        UpstreamError::Status {
            endpoint, status, ..
        } => Msg::new("upstream-status")
            .arg("endpoint", endpoint_msg(*endpoint))
            .arg("status", *status),
        UpstreamError::Malformed { endpoint, .. } => {
            Msg::new("upstream-malformed").arg("endpoint", endpoint_msg(*endpoint))
        }
        UpstreamError::InvalidIdToken(_) => Msg::new("upstream-invalid-id-token"),
        UpstreamError::UserinfoSubjectMismatch => Msg::new("upstream-userinfo-mismatch"),
        UpstreamError::NotAllowed(why) => not_allowed(why),
        UpstreamError::Config(_) => Msg::new("upstream-config"),
    }
}

/// Why an identity may not sign in here.
fn not_allowed(why: &NotAllowed) -> Msg {
    match why {
        NotAllowed::Organization(orgs) => Msg::new("upstream-not-in-organization")
            .arg("count", orgs.len())
            .arg("organizations", orgs.join(", ")),
        NotAllowed::UnverifiedEmail => Msg::new("upstream-email-unverified"),
        NotAllowed::Domain(domain) => Msg::new("upstream-domain-not-allowed").arg("domain", domain),
        NotAllowed::NoAllowedDomain => Msg::new("upstream-no-allowed-domain"),
        NotAllowed::Tenant => Msg::new("upstream-tenant-not-allowed"),
    }
}

/// Which call to a provider, in words.
fn endpoint_msg(endpoint: Endpoint) -> Msg {
    match endpoint {
        Endpoint::Discovery => Msg::new("endpoint-discovery"),
        Endpoint::Jwks => Msg::new("endpoint-jwks"),
        Endpoint::Token => Msg::new("endpoint-token"),
        Endpoint::Userinfo => Msg::new("endpoint-userinfo"),
        Endpoint::Api => Msg::new("endpoint-api"),
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
    fn title(&self) -> Msg {
        match self {
            WebError::NotFound(_) => Msg::new("error-title-not-found"),
            WebError::BadRequest(_) => Msg::new("error-title-bad-request"),
            WebError::Csrf => Msg::new("error-title-csrf"),
            WebError::PayloadTooLarge => Msg::new("error-title-too-large"),
            WebError::Forbidden(_) => Msg::new("error-title-forbidden"),
            WebError::Unauthorized(_) => Msg::new("error-title-unauthorized"),
            WebError::TooBusy { .. } => Msg::new("error-title-too-busy"),
            WebError::StoreUnavailable(_) => Msg::new("error-title-store"),
            WebError::Internal(_) => Msg::new("error-title-internal"),
            WebError::Upstream { provider_name, .. } => {
                Msg::new("error-title-upstream").arg("provider", provider_name)
            }
            WebError::ProviderUnavailable { provider_name, .. } => {
                Msg::new("error-title-provider-unavailable").arg("provider", provider_name)
            }
        }
    }

    /// A sentence for the person; never internal detail.
    fn public_message(&self) -> Msg {
        match self {
            WebError::NotFound(m)
            | WebError::BadRequest(m)
            | WebError::Forbidden(m)
            | WebError::Unauthorized(m) => m.clone(),
            WebError::Csrf => Msg::new("error-csrf"),
            WebError::PayloadTooLarge => Msg::new("error-too-large"),
            WebError::TooBusy { .. } => Msg::new("error-too-busy"),
            WebError::StoreUnavailable(_) => Msg::new("error-store"),
            WebError::Internal(_) => Msg::new("error-internal"),
            WebError::ProviderUnavailable {
                provider_name,
                reason,
                ..
            } => Msg::new("error-provider-unavailable")
                .arg("provider", provider_name)
                .arg("reason", reason.clone()),
            WebError::Upstream {
                provider_name,
                error,
                ..
            } => Msg::new("error-upstream")
                .arg("provider", provider_name)
                .arg("reason", upstream_reason(error)),
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
    /// The error page, with its link back to `back`, in the request's language.
    pub fn page(self, back: Back) -> Response {
        let request_id = request_id();
        self.0.log(&request_id);
        let status = self.0.status();
        let (back_href, back_label) = match back {
            Back::SignIn => ("/signin", Msg::new("error-back-signin")),
            Back::Roles => ("/roles", Msg::new("error-back-roles")),
            Back::Device => ("/device", Msg::new("error-back-device")),
        };
        let t = crate::web::i18n::current();
        let page = ErrorPage {
            t,
            title: t.say(&self.0.title()),
            message: t.say(&self.0.public_message()),
            request_id,
            retry: self.0.retry(),
            back_href: back_href.to_owned(),
            back_label: t.say(&back_label),
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

/// `text` as a sentence: its first letter capitalized, a full stop at the end (the
/// messages of the translation files are already; API sentences made in code are not).
fn sentence(mut text: String) -> String {
    if let Some(first) = text.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    if !text.ends_with('.') {
        text.push('.');
    }
    text
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
        let description = sentence(self.0.public_message().render(Locale::En));
        let body = serde_json::json!({
            "error": self.0.oauth_code(),
            "error_description": description,
            "request_id": request_id,
        });
        let mut response = (status, Json(body)).into_response();
        self.0.add_headers(&mut response);
        if let WebError::Unauthorized(_) = self.0
            && let Ok(v) = header::HeaderValue::from_str(&format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                description.replace('"', "'")
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
            WebError::NotFound(Msg::verbatim("x")),
            WebError::BadRequest(Msg::verbatim("x")),
            WebError::Csrf,
            WebError::PayloadTooLarge,
            WebError::Forbidden(Msg::verbatim("x")),
            WebError::Unauthorized(Msg::verbatim("x")),
            WebError::TooBusy {
                retry_after: std::time::Duration::from_secs(1),
            },
            WebError::StoreUnavailable("x".into()),
            WebError::Internal("x".into()),
        ];
        for e in all {
            let title = e.title().to_string();
            let reason = e.status().canonical_reason().unwrap_or("");
            assert!(!title.eq_ignore_ascii_case(reason), "{title}");
            assert!(!title.contains(reason), "{title} contains {reason}");
        }
    }
}
