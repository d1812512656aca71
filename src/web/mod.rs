//! The HTTP surface: the axum router, thin handlers, extractors, askama views, CSRF, cookies,
//! security headers, and the mapping of every error to a response. HTTP types stop here.
//!
//! May import: every domain and service module.

pub mod api;
pub mod client_ip;
pub mod cookies;
pub mod envelope;
pub mod error;
pub mod oauth;
pub mod pages;
pub mod saml;
pub mod sts;
pub mod upstream;
mod views;

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::clock::SharedClock;
use crate::config::Config;
use crate::connectors::Connectors;
use crate::credentials::CredentialIssuer;
use crate::provider::OidcProvider;
use crate::roles::RoleCatalog;
use crate::sso::Sso;
use crate::sts::Sts;
pub use crate::web::client_ip::ClientIp;
use crate::web::envelope::EnvelopeLayer;
use crate::web::error::{PageError, WebError};

/// The largest request body accepted (forms and JSON APIs are small).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything a handler may need, behind one `Arc`: axum clones the state for every
/// request (the router's handler, `State` extractors, middleware), and a clone of this is
/// one reference count where a clone of [`Services`] would be a dozen and four `String`s.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    /// The state of these services.
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services and configuration of a running Lanyard, shared by every request.
pub struct Services {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The clock.
    pub clock: SharedClock,
    /// SSO sessions, login transactions, role sessions.
    pub sso: Sso,
    /// Upstream providers.
    pub connectors: Arc<Connectors>,
    /// Roles and trust evaluation.
    pub roles: Arc<RoleCatalog>,
    /// Token minting and verification.
    pub issuer: CredentialIssuer,
    /// Lanyard as an OpenID Connect provider.
    pub oidc: OidcProvider,
    /// Programmatic role assumption.
    pub sts: Sts,
}

impl FromRef<AppState> for Sso {
    fn from_ref(state: &AppState) -> Self {
        state.sso.clone()
    }
}

/// The router with every route and layer.
pub fn app(state: AppState) -> Router {
    let hsts = state.config.server.secure_cookies;
    Router::new()
        .route("/", get(pages::root))
        .route("/signin", get(pages::signin))
        .route(
            "/auth/{provider}",
            get(pages::start_login).post(pages::password_login),
        )
        .route(
            "/auth/{provider}/callback",
            get(upstream::callback)
                .post(saml::acs)
                .layer(DefaultBodyLimit::max(saml::MAX_SAML_BODY_BYTES)),
        )
        .route("/auth/{provider}/metadata", get(saml::metadata))
        .route(
            "/sts/assume-role-with-saml",
            post(sts::assume_role_with_saml)
                .layer(DefaultBodyLimit::max(saml::MAX_SAML_BODY_BYTES)),
        )
        .route(
            "/sts/assume-role-with-web-identity",
            post(sts::assume_role_with_web_identity),
        )
        .route("/roles", get(pages::roles).post(pages::choose_role))
        .route("/credentials", get(pages::credentials))
        .route("/signout", post(pages::signout))
        .route("/static/lanyard.css", get(api::stylesheet))
        .route("/.well-known/openid-configuration", get(api::discovery))
        .route("/.well-known/jwks.json", get(api::jwks))
        .route("/v1/authorize", post(api::authorize))
        .route("/oauth2/authorize", get(oauth::authorize))
        .route("/oauth2/token", post(oauth::token))
        .route(
            "/oauth2/userinfo",
            get(oauth::userinfo).post(oauth::userinfo),
        )
        .route("/oauth2/introspect", post(oauth::introspect))
        .route("/oauth2/revoke", post(oauth::revoke))
        .route("/oauth2/logout", get(oauth::logout))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(EnvelopeLayer::new(hsts))
}

async fn not_found() -> PageError {
    PageError(WebError::NotFound("there is no such page".into()))
}

async fn method_not_allowed() -> Response {
    let mut r = PageError(WebError::BadRequest(
        "this method is not allowed here".into(),
    ))
    .into_response();
    *r.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    r
}

/// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1), if there is one.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Serves the app on a bound listener until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
