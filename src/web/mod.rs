//! The HTTP surface: the axum router, thin handlers, extractors, askama views, CSRF, cookies,
//! security headers, and the mapping of every error to a response. HTTP types stop here.
//!
//! May import: every domain and service module.

pub mod admin;
pub mod api;
pub mod client_ip;
pub mod cookies;
pub mod device;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod oauth;
pub mod op_step_up;
pub mod pages;
mod picker;
pub mod requests;
pub mod saml;
pub mod session;
mod shells;
pub mod step_up;
pub mod sts;
pub mod ui;
pub mod upstream;
mod views;

use std::convert::Infallible;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::clock::SharedClock;
use crate::config::Config;
use crate::connectors::Connectors;
use crate::op::OidcProvider;
use crate::roles::RoleCatalog;
use crate::session::ParkingCap;
use crate::sso::Sso;
use crate::sts::Sts;
use crate::telemetry::Draining;
use crate::telemetry::metrics::{Metrics, Outcome};
pub use crate::web::client_ip::ClientIp;
use crate::web::envelope::EnvelopeLayer;
use crate::web::error::{PageError, WebError};
use crate::web::i18n::Msg;

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
    /// The one door every credential leaves through.
    pub access: crate::access::Issuer,
    /// Lanyard as an OpenID Connect provider.
    pub oidc: OidcProvider,
    /// Programmatic role assumption.
    pub sts: Sts,
    /// The cap on login transactions started by anonymous clients.
    pub login_cap: ParkingCap,
    /// The cap on authorization requests parked for anonymous clients.
    pub authorization_cap: ParkingCap,
    /// Set at shutdown; `/readyz` then answers 503.
    pub draining: Draining,
    /// This broker's Prometheus recorder (`/metrics`), kept across reloads.
    pub metrics: Arc<Metrics>,
    /// The audit trail.
    pub audit: crate::audit::Audit,
    /// Admin operations (the admin API).
    pub admin: crate::admin::Admin,
    /// Keeps recent sign-ins for the admin API's simulator (`[admin] record_claims`).
    pub recorder: crate::audit::SignInRecorder,
    /// Access requests for roles that need approval; `None` when there is no database
    /// (`[audit] database` turned off), and then such roles cannot be requested.
    pub elevation: Option<Arc<crate::elevation::Elevation>>,
}

/// Counts one more parked record against `cap` for the client at `ip`; beyond the cap,
/// a 429 answer that asks to retry once the window has passed.
pub async fn admit(state: &AppState, cap: &ParkingCap, ip: ClientIp) -> Result<(), WebError> {
    admit_all(state, &[cap], ip).await
}

/// [`admit`] against each of `caps` in turn, counted in one round trip to the store (for a
/// request that parks one record of each kind): beyond any, the 429 of the first that
/// refused, and the caps after it are not counted.
pub async fn admit_all(
    state: &AppState,
    caps: &[&ParkingCap],
    ip: ClientIp,
) -> Result<(), WebError> {
    let refused = ParkingCap::admit_all(caps, &**state.sso.store(), ip.0)
        .await
        .map_err(|e| WebError::StoreUnavailable(e.to_string()))?;
    match refused {
        None => Ok(()),
        Some(cap) => {
            tracing::warn!(kind = cap.kind, client = ?ip.0, "parking cap reached");
            Err(WebError::TooBusy {
                retry_after: cap.window,
            })
        }
    }
}

impl FromRef<AppState> for Sso {
    fn from_ref(state: &AppState) -> Self {
        state.sso.clone()
    }
}

/// The router with every route and layer.
pub fn app(state: AppState) -> Router {
    let hsts = state.config.server.secure_cookies;
    let branding = Arc::new(ui::Branding::new(&state.config.ui));
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
            post(sts::assume_role::<sts::AssumeRoleWithSaml>)
                .layer(DefaultBodyLimit::max(saml::MAX_SAML_BODY_BYTES)),
        )
        .route(
            "/sts/assume-role-with-web-identity",
            post(sts::assume_role::<sts::AssumeRoleWithWebIdentity>),
        )
        .route("/roles", get(pages::roles).post(pages::choose_role))
        .route("/roles/favourites", post(pages::favourite))
        .route("/requests", get(requests::list).post(requests::ask))
        .route("/requests/{id}", get(requests::show).post(requests::act))
        .route("/step-up/code", post(step_up::code))
        .route("/step-up/{id}", get(step_up::answered))
        .route("/credentials", get(pages::credentials))
        .route("/signout", post(pages::signout))
        .route("/static/lanyard.css", get(api::stylesheet))
        .route("/static/lanyard.js", get(api::script))
        .route("/static/favicon.svg", get(api::favicon))
        .route(
            "/static/theme.css",
            get(ui::theme).with_state(Arc::clone(&branding)),
        )
        .route(
            "/static/logo",
            get(ui::logo).with_state(Arc::clone(&branding)),
        )
        .route("/.well-known/openid-configuration", get(api::discovery))
        .route("/.well-known/jwks.json", get(api::jwks))
        .route("/v1/authorize", post(api::authorize))
        .route("/v1/roles", get(api::roles))
        .route("/oauth2/authorize", get(oauth::authorize))
        .route(crate::op::RESUME_PATH, get(op_step_up::resume))
        .route("/oauth2/token", post(oauth::token))
        .route(
            "/oauth2/device_authorization",
            post(oauth::device_authorization),
        )
        .route("/device", get(device::device).post(device::answer))
        .route(
            "/oauth2/userinfo",
            get(oauth::userinfo).post(oauth::userinfo),
        )
        .route("/oauth2/introspect", post(oauth::introspect))
        .route("/oauth2/revoke", post(oauth::revoke))
        .route("/oauth2/logout", get(oauth::logout))
        .route("/admin/api/v1/roles", get(admin::list_roles))
        .route(
            "/admin/api/v1/roles/{name}",
            get(admin::get_role)
                .put(admin::put_role)
                .delete(admin::delete_role),
        )
        .route("/admin/api/v1/roles/{name}/impact", post(admin::impact))
        .route(
            "/admin/api/v1/providers/{id}/recent-sign-ins",
            get(admin::recent_sign_ins),
        )
        .route("/admin/api/v1/simulate", post(admin::simulate))
        .route("/admin/api/v1/audit-events", get(admin::audit_events))
        .route("/admin/api/v1/openapi.json", get(admin::openapi))
        .merge(admin::sessions::routes())
        .merge(admin::clients::routes())
        .merge(admin::entities::routes())
        .merge(admin::console::routes())
        .merge(admin::inspect::routes())
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route_layer(TrackLayer(Arc::clone(&state.metrics)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(EnvelopeLayer::new(hsts, branding))
}

/// Records every routed request in the metrics: its route template (never the raw path,
/// so that the series stay few), status, duration, and the [`Outcome`] its handler attached.
///
/// A hand-written layer rather than `from_fn_with_state`, which per request took the
/// request apart and put it together again to extract the state, and boxed a clone of
/// the route's service besides the future.
#[derive(Clone)]
struct TrackLayer(Arc<Metrics>);

impl<S> tower::Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track {
            inner,
            metrics: Arc::clone(&self.0),
        }
    }
}

/// The service of [`TrackLayer`].
#[derive(Clone)]
struct Track<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> tower::Service<axum::extract::Request> for Track<S>
where
    S: tower::Service<axum::extract::Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::extract::Request) -> Self::Future {
        let started = std::time::Instant::now();
        let route = request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .cloned();
        let response = self.inner.call(request);
        let metrics = Arc::clone(&self.metrics);
        Box::pin(async move {
            let Ok(response) = response.await;
            let route = route
                .as_ref()
                .map_or("", axum::extract::MatchedPath::as_str);
            metrics.request(
                route,
                response.status().as_u16(),
                started.elapsed(),
                response.extensions().get::<Outcome>(),
            );
            Ok(response)
        })
    }
}

async fn not_found() -> PageError {
    PageError(WebError::NotFound(Msg::new("error-no-such-page")))
}

async fn method_not_allowed() -> Response {
    let mut r =
        PageError(WebError::BadRequest(Msg::new("error-method-not-allowed"))).into_response();
    *r.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    r
}

/// `value` as an `application/json` answer, written into one buffer of `capacity` bytes:
/// axum's `Json` starts at 128 bytes and grows its buffer several times for an answer
/// that carries a token. A value that cannot be written (none of the answers' types can
/// fail) is a 500 with no detail in the body.
pub(crate) fn json_sized<T: serde::Serialize>(value: &T, capacity: usize) -> Response {
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => json_bytes(body),
        Err(e) => {
            tracing::error!(error = %e, "a JSON answer could not be written");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A JSON text already written, as an `application/json` answer.
pub(crate) fn json_bytes(body: impl Into<axum::body::Body>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body.into(),
    )
        .into_response()
}

/// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1), if there is one.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Open files kept free beyond the connection limit: the store, the database, upstream
/// calls, key files, and the listener itself.
const FD_HEADROOM_MIN: u64 = 256;
/// How long the accept loop pauses after `accept` fails (out of file descriptors, …),
/// so that it neither spins nor stops.
const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(50);

/// How long, beyond the header timeout, requests in progress at shutdown may take.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// The process's soft limit on open files, `None` when unlimited (what the listener's
/// connection limit leaves room below).
pub fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// The connection limit for a configured maximum and the process's open-file limit
/// (`None` when unknown or unlimited): at most the configured number, and at most the
/// open-file limit less an eighth of it (at least 256 files) for everything else.
pub fn connection_limit(configured: u32, open_files: Option<u64>) -> usize {
    let configured = usize::try_from(configured).unwrap_or(usize::MAX);
    match open_files {
        Some(n) => {
            let headroom = (n / 8).max(FD_HEADROOM_MIN);
            let room = usize::try_from(n.saturating_sub(headroom)).unwrap_or(usize::MAX);
            configured.min(room).max(1)
        }
        None => configured,
    }
}

/// Serves the app on a bound listener until `shutdown` completes, then lets the requests
/// in progress finish (graceful shutdown).
///
/// Hyper's HTTP/1.1 connection builder is used directly (rather than `axum::serve`) so
/// that every connection has a header-read timeout (`[limits] header_read_timeout`, which
/// also closes idle keep-alive connections) and so that open connections are bounded
/// (`[limits] max_connections`, kept below the open-file limit): a connection beyond the
/// bound is accepted and closed at once, and a failed `accept` (out of file descriptors)
/// pauses the loop briefly instead of spinning or ending it.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config.limits.clone();
    serve_live(listener, LiveRouter::new(app(state)), limits, shutdown).await
}

/// The router requests are answered by, replaced whole by a config reload: each request
/// takes the router current when it arrives and finishes on it, so a swap never changes
/// the rules under a request in flight. Clones share the slot.
#[derive(Clone)]
pub struct LiveRouter(Arc<arc_swap::ArcSwap<Router>>);

impl LiveRouter {
    /// A slot holding `router`.
    pub fn new(router: Router) -> Self {
        Self(Arc::new(arc_swap::ArcSwap::from_pointee(router)))
    }

    /// Makes `router` answer every request that arrives from now on.
    pub fn store(&self, router: Router) {
        self.0.store(Arc::new(router));
    }

    /// The router answering now (a clone of an axum router is a reference count).
    pub fn current(&self) -> Router {
        Router::clone(&self.0.load())
    }
}

/// [`serve`] with the router taken from `live` per request; `limits` size the listener
/// (connection bound, header timeout), so they are read once, here.
pub async fn serve_live(
    listener: tokio::net::TcpListener,
    live: LiveRouter,
    limits: crate::config::LimitsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::Service as _;

    let limit = connection_limit(limits.max_connections, open_file_limit());
    let state_header_timeout = limits.header_read_timeout;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let permits = Arc::new(tokio::sync::Semaphore::new(limit));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut refused_since_log: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Closed at once: the client sees the connection end and may retry.
            drop(stream);
            refused_since_log += 1;
            if refused_since_log == 1 || refused_since_log % 1000 == 0 {
                tracing::warn!(
                    limit,
                    refused = refused_since_log,
                    "connection limit reached; closing new connections"
                );
            }
            continue;
        };
        refused_since_log = 0;
        let _ = stream.set_nodelay(true);
        let live = live.clone();
        let service = hyper::service::service_fn(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                live.current().call(request)
            },
        );
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Errors here are the client's (reset, header timeout); nothing to answer.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    // Requests in progress finish and idle connections close; one still sending its
    // headers is cut off by the header timeout, so the wait is bounded too.
    let drain = state_header_timeout.saturating_add(SHUTDOWN_GRACE);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open at shutdown were closed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::connection_limit;

    #[test]
    fn the_connection_limit_leaves_room_below_the_open_file_limit() {
        assert_eq!(connection_limit(10_000, Some(1024)), 768);
        assert_eq!(connection_limit(10_000, Some(20_000)), 10_000);
        assert_eq!(connection_limit(10_000, Some(1_048_576)), 10_000);
        assert_eq!(connection_limit(100, Some(1024)), 100);
        assert_eq!(connection_limit(10_000, Some(100)), 1);
        assert_eq!(connection_limit(10_000, None), 10_000);
    }
}
