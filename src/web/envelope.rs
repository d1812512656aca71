//! What every request and response passes through, as one layer: the request id, the
//! request's tracing span, the id made available to error pages
//! ([`REQUEST_ID`](crate::web::error::REQUEST_ID)), the request's language (negotiated
//! once from `Accept-Language`, given to handlers and error pages, and announced on HTML
//! answers with `Content-Language` and `Vary: Accept-Language`), the pages' branding
//! ([`ui::current`](crate::web::ui::current)), and the security headers of every response.
//!
//! One hand-written service instead of a stack of five middlewares (`SetRequestId`,
//! `TraceLayer`, `PropagateRequestId` and two `from_fn`): each of those boxed or cloned
//! per request, the request id cost a getrandom system call, and the headers were built
//! into a map that grew several times. Here a request costs one boxed future, one
//! `String` for its id and one reservation in the response's header map.
//!
//! May import: `web::error`, `web::i18n`, `web::ui`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::web::error::REQUEST_ID;
use crate::web::i18n::{LOCALE, Locale};
use crate::web::ui::{self, Branding};

/// The request id header: kept from the request when well formed, set otherwise, and
/// echoed on the response.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id accepted from a client.
const MAX_REQUEST_ID_LEN: usize = 64;

/// The Content-Security-Policy of every response that does not bring its own (only the
/// logo does, [`ui::LOGO_CSP`]). Scripts and styles come only from Lanyard's own files
/// (`/static/lanyard.js`, `/static/lanyard.css`, `/static/theme.css`): no inline script or
/// style, no `unsafe-*`, no other origin.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                            img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                            base-uri 'none'";

/// The headers of every response; the CSP is left to a response that sets its own.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 5] = [
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ),
];

/// The headers of every response but those of the files under `/static/` (cached).
const NO_STORE_HEADERS: [(HeaderName, HeaderValue); 2] = [
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    (header::PRAGMA, HeaderValue::from_static("no-cache")),
];

/// Strict-Transport-Security, when Lanyard is served over https.
const HSTS: (HeaderName, HeaderValue) = (
    header::STRICT_TRANSPORT_SECURITY,
    HeaderValue::from_static("max-age=63072000; includeSubDomains"),
);

/// Wraps the router in an [`Envelope`].
#[derive(Debug, Clone)]
pub struct EnvelopeLayer {
    hsts: bool,
    branding: Arc<Branding>,
}

impl EnvelopeLayer {
    /// `hsts`: send Strict-Transport-Security (Lanyard is served over https); `branding`:
    /// the pages' name, logo and theme while this router answers.
    pub fn new(hsts: bool, branding: Arc<Branding>) -> Self {
        Self { hsts, branding }
    }
}

impl<S> Layer<S> for EnvelopeLayer {
    type Service = Envelope<S>;

    fn layer(&self, inner: S) -> Envelope<S> {
        Envelope {
            inner,
            hsts: self.hsts,
            branding: Arc::clone(&self.branding),
        }
    }
}

/// The service of [`EnvelopeLayer`].
#[derive(Debug, Clone)]
pub struct Envelope<S> {
    inner: S,
    hsts: bool,
    branding: Arc<Branding>,
}

impl<S> Service<Request> for Envelope<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let id = match req
            .headers()
            .get(&X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_request_id(v))
        {
            Some(id) => id.to_owned(),
            None => {
                let id = new_request_id();
                if let Ok(value) = HeaderValue::try_from(id.as_str()) {
                    req.headers_mut().insert(X_REQUEST_ID, value);
                }
                id
            }
        };
        let echo = HeaderValue::try_from(id.as_str()).ok();
        let locale = Locale::of(req.headers());
        req.extensions_mut().insert(locale);
        let is_static = req.uri().path().starts_with("/static/");
        let span = tracing::info_span!(
            "request",
            method = %req.method(),
            path = %req.uri().path(),
            request_id = %id,
        );
        let started = Instant::now();
        let response = {
            let _entered = span.enter();
            tracing::debug!("started processing request");
            self.inner.call(req)
        };
        let hsts = self.hsts;
        let branding = Arc::clone(&self.branding);
        let handled = async move {
            let Ok(mut response) = response.await;
            let status = response.status();
            let latency_ms = started.elapsed().as_millis();
            if status.is_server_error() {
                tracing::error!(status = status.as_u16(), latency_ms, "response failed");
            } else {
                tracing::debug!(
                    status = status.as_u16(),
                    latency_ms,
                    "finished processing request"
                );
            }
            let h = response.headers_mut();
            h.reserve(SECURITY_HEADERS.len() + NO_STORE_HEADERS.len() + 4);
            if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
                h.insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(PAGE_CSP),
                );
            }
            for (name, value) in SECURITY_HEADERS {
                h.insert(name, value);
            }
            if !is_static {
                for (name, value) in NO_STORE_HEADERS {
                    h.insert(name, value);
                }
            }
            if hsts {
                h.insert(HSTS.0, HSTS.1);
            }
            if let Some(echo) = echo {
                h.insert(X_REQUEST_ID, echo);
            }
            if is_html(h) {
                h.insert(
                    header::CONTENT_LANGUAGE,
                    HeaderValue::from_static(locale.tag()),
                );
                h.append(header::VARY, HeaderValue::from_static("accept-language"));
            }
            Ok(response)
        };
        let handled = LOCALE.scope(locale, handled);
        Box::pin(ui::scope(branding, REQUEST_ID.scope(id, handled)).instrument(span))
    }
}

/// Whether an answer is a page (HTML), said in the request's language.
fn is_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// Whether a client's `x-request-id` is kept: short, letters, digits and `-` only (it is
/// shown on error pages and written to the log).
fn is_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= MAX_REQUEST_ID_LEN
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A new request id: 64 random bits drawn once per process, then a counter, as 32 hex
/// digits. Unique across instances and restarts, which is all a correlation id needs; it
/// is not a secret (it is echoed to the client), so it costs no random draw per request.
fn new_request_id() -> String {
    static PROCESS: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let process = *PROCESS.get_or_init(|| {
        let mut bytes = [0u8; 8];
        // A failed draw leaves zeros: the ids stay unique within the process.
        let _ = aws_lc_rs::rand::fill(&mut bytes);
        u64::from_le_bytes(bytes)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{process:016x}{n:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_csp_allows_lanyards_own_scripts_and_nothing_more() {
        assert_eq!(
            PAGE_CSP,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
        assert!(HeaderValue::try_from(PAGE_CSP).is_ok());
        assert!(!PAGE_CSP.contains("unsafe"));
    }

    #[test]
    fn request_ids_are_unique_and_well_formed() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(is_request_id(&a) && is_request_id(&b));
    }

    #[test]
    fn only_plain_client_request_ids_are_kept() {
        assert!(is_request_id("3f2a-91c0"));
        assert!(!is_request_id(""));
        assert!(!is_request_id("a b"));
        assert!(!is_request_id("x\ninjected=1"));
        assert!(!is_request_id(&"a".repeat(65)));
    }
}
