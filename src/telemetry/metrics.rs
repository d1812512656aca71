//! Prometheus metrics: one recorder per running broker (kept in the application state, not
//! installed as the process-wide recorder, so that several brokers in one process, as in
//! the tests, keep their series apart), the series Lanyard records, and the text rendering
//! for `GET /metrics`.
//!
//! Series (all prefixed `lanyard_`, documented in the README):
//! - `lanyard_http_request_duration_seconds{route, status}`: histogram by matched route
//!   template (never the raw path) and status class;
//! - `lanyard_credentials_issued_total{door, role}`;
//! - `lanyard_sts_errors_total{code}` and `lanyard_oauth_errors_total{code}`;
//! - `lanyard_signins_total{provider, outcome}` (outcome `success`, `failure`, `locked`,
//!   `refused`), counted by the sign-in service;
//! - `lanyard_upstream_certificate_expiry_seconds{provider}`: gauge set at scrape time;
//! - `lanyard_upstream_keys_age_seconds{provider}`: gauge set at scrape time;
//! - `lanyard_upstream_request_duration_seconds{provider, operation}` and
//!   `lanyard_upstream_errors_total{provider, operation}`;
//! - `lanyard_store_operation_duration_seconds{op}` and `lanyard_store_errors_total{op}`;
//! - `lanyard_config_reloads_total{outcome}` (`success`, `restart_needed`, `failure`) and
//!   `lanyard_config_last_reload_success_timestamp_seconds`.
//!
//! May import: `audit` (the `Door` label), `clock` (the `UnixTime` type).

use std::time::Duration;

use metrics::Label;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::clock::UnixTime;

/// How a config reload ended: the `outcome` label of `lanyard_config_reloads_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// Applied in full (`success`).
    Success,
    /// Applied, but a changed restart-only setting or section (such as `[audit]`) kept
    /// its running value (`restart_needed`).
    RestartNeeded,
    /// Refused; the running config stays (`failure`).
    Failure,
}

impl ReloadOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadOutcome::Success => "success",
            ReloadOutcome::RestartNeeded => "restart_needed",
            ReloadOutcome::Failure => "failure",
        }
    }
}

/// Histogram buckets in seconds: 1 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub use crate::audit::Door;

/// What a request's answer tells the metrics beyond its route and status: attached to the
/// response by the handler (as a response extension) and recorded by the metrics layer.
/// (Credentials issued are counted by the issuer itself, at every door.)
#[derive(Debug, Clone)]
pub enum Outcome {
    /// An STS error answer with this `error` code.
    StsError(&'static str),
    /// An OAuth error answer with this `error` code.
    OAuthError(&'static str),
}

/// The broker's metrics recorder and its rendering handle; clones share the recorder.
#[derive(Clone)]
pub struct Metrics {
    recorder: std::sync::Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    /// The request-duration histograms registered so far, by route template and status
    /// class ([`status_class`]'s order): a request then records into its handle without
    /// building the series' key, copying the route into a label and looking the key up
    /// in the recorder's registry. Routes are templates, so the map stays small; it is
    /// replaced whole (copy on write) the few times a new series first appears.
    requests: std::sync::Arc<arc_swap::ArcSwap<RequestHistograms>>,
    /// The store-operation histograms registered so far, by operation, kept as
    /// `requests` is (several operations per request).
    store_ops: std::sync::Arc<arc_swap::ArcSwap<StoreHistograms>>,
}

/// The histograms of [`Metrics::store_operation`], by operation.
type StoreHistograms = std::collections::HashMap<&'static str, metrics::Histogram>;

/// The histograms of [`Metrics::request`], by route template, one per status class.
type RequestHistograms = std::collections::HashMap<String, [Option<metrics::Histogram>; 5]>;

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A recorder with Lanyard's histogram buckets.
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new();
        // The buckets are a fixed, valid, non-empty list; should the builder still refuse
        // them, histograms fall back to summaries rather than the broker not starting.
        let builder = match builder.set_buckets(BUCKETS) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: histogram buckets refused");
                PrometheusBuilder::new()
            }
        };
        let recorder = std::sync::Arc::new(builder.build_recorder());
        let handle = recorder.handle();
        Self {
            recorder,
            handle,
            requests: std::sync::Arc::default(),
            store_ops: std::sync::Arc::default(),
        }
    }

    /// Records one answered request: its route template, status and duration, and what
    /// the handler reported.
    pub fn request(&self, route: &str, status: u16, elapsed: Duration, outcome: Option<&Outcome>) {
        self.request_histogram(route, status)
            .record(elapsed.as_secs_f64());
        if outcome.is_none() {
            return;
        }
        metrics::with_local_recorder(&*self.recorder, || match outcome {
            Some(Outcome::StsError(code)) => {
                metrics::counter!("lanyard_sts_errors_total", "code" => *code).increment(1);
            }
            Some(Outcome::OAuthError(code)) => {
                metrics::counter!("lanyard_oauth_errors_total", "code" => *code).increment(1);
            }
            None => {}
        });
    }

    /// The handle of `lanyard_http_request_duration_seconds{route, status}`, registered
    /// with the recorder the first time the series is seen.
    fn request_histogram(&self, route: &str, status: u16) -> metrics::Histogram {
        let (class, at) = status_class(status);
        if let Some(Some(h)) = self.requests.load().get(route).map(|row| &row[at]) {
            return h.clone();
        }
        let h = metrics::with_local_recorder(&*self.recorder, || {
            let labels = [
                Label::new("route", route.to_owned()),
                Label::new("status", class),
            ];
            metrics::histogram!("lanyard_http_request_duration_seconds", labels.iter())
        });
        self.requests.rcu(|map| {
            let mut map = RequestHistograms::clone(&**map);
            let row = map.entry(route.to_owned()).or_default();
            row[at] = Some(h.clone());
            map
        });
        h
    }

    /// Counts credentials issued through `door` for `role`.
    pub fn credentials_issued(&self, door: Door, role: &str) {
        metrics::with_local_recorder(&*self.recorder, || {
            metrics::counter!(
                "lanyard_credentials_issued_total",
                "door" => door.as_str(),
                "role" => role.to_owned()
            )
            .increment(1);
        });
    }

    /// Sets the seconds until `provider`'s first signing certificate expires (negative once
    /// expired); set at scrape time.
    pub fn upstream_certificate_expiry(&self, provider: &str, seconds: i64) {
        metrics::with_local_recorder(&*self.recorder, || {
            metrics::gauge!(
                "lanyard_upstream_certificate_expiry_seconds",
                "provider" => provider.to_owned()
            )
            .set(seconds as f64);
        });
    }

    /// Sets how long ago `provider`'s signing keys (JWKS or IdP metadata) were last
    /// fetched or read, in whole seconds; set at scrape time.
    pub fn upstream_keys_age(&self, provider: &str, age: Duration) {
        metrics::with_local_recorder(&self.recorder, || {
            metrics::gauge!("lanyard_upstream_keys_age_seconds", "provider" => provider.to_owned())
                .set(age.as_secs() as f64);
        });
    }

    /// Records one call to an upstream provider (`operation`: `discovery`, `jwks`, `token`,
    /// `userinfo`, `metadata`, `bind`, `search`, …), counting it as an error unless `ok`.
    pub fn upstream_call(
        &self,
        provider: &str,
        operation: &'static str,
        elapsed: Duration,
        ok: bool,
    ) {
        metrics::with_local_recorder(&self.recorder, || {
            let labels = [
                Label::new("provider", provider.to_owned()),
                Label::new("operation", operation),
            ];
            metrics::histogram!("lanyard_upstream_request_duration_seconds", labels.iter())
                .record(elapsed.as_secs_f64());
            if !ok {
                metrics::counter!("lanyard_upstream_errors_total", labels.iter()).increment(1);
            }
        });
    }

    /// Records one session-store operation, counting it as an error unless `ok`.
    pub fn store_operation(&self, op: &'static str, elapsed: Duration, ok: bool) {
        self.store_histogram(op).record(elapsed.as_secs_f64());
        if !ok {
            metrics::with_local_recorder(&self.recorder, || {
                metrics::counter!("lanyard_store_errors_total", "op" => op).increment(1);
            });
        }
    }

    /// The handle of `lanyard_store_operation_duration_seconds{op}`, registered with the
    /// recorder the first time the operation is seen.
    fn store_histogram(&self, op: &'static str) -> metrics::Histogram {
        if let Some(h) = self.store_ops.load().get(op) {
            return h.clone();
        }
        let h = metrics::with_local_recorder(
            &*self.recorder,
            || metrics::histogram!("lanyard_store_operation_duration_seconds", "op" => op),
        );
        self.store_ops.rcu(|map| {
            let mut map = StoreHistograms::clone(&**map);
            map.insert(op, h.clone());
            map
        });
        h
    }

    /// Counts a config reload by its outcome; an applied one (and start-up, with
    /// `outcome` `None`) also sets the time of the last good load, in Unix seconds.
    pub fn config_reload(&self, outcome: Option<ReloadOutcome>, now: UnixTime) {
        metrics::with_local_recorder(&self.recorder, || {
            if let Some(outcome) = outcome {
                metrics::counter!("lanyard_config_reloads_total", "outcome" => outcome.as_str())
                    .increment(1);
            }
            if outcome != Some(ReloadOutcome::Failure) {
                metrics::gauge!("lanyard_config_last_reload_success_timestamp_seconds")
                    .set(now.secs() as f64);
            }
        });
    }

    /// Counts one finished sign-in at `provider` by its outcome (`success`, `failure`,
    /// `locked`, `refused`).
    pub fn signin(&self, provider: &str, outcome: &'static str) {
        metrics::with_local_recorder(&self.recorder, || {
            metrics::counter!(
                "lanyard_signins_total",
                "provider" => provider.to_owned(),
                "outcome" => outcome
            )
            .increment(1);
        });
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// `2xx`, `4xx`, … (static, so that no label value is allocated), and its place among
/// the five classes.
fn status_class(status: u16) -> (&'static str, usize) {
    match status {
        100..=199 => ("1xx", 0),
        200..=299 => ("2xx", 1),
        300..=399 => ("3xx", 2),
        400..=499 => ("4xx", 3),
        _ => ("5xx", 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_recorders_keep_their_series_apart() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.request(
            "/sts/assume-role-with-saml",
            400,
            Duration::from_millis(3),
            Some(&Outcome::StsError("InvalidIdentityToken")),
        );
        assert!(
            a.render()
                .contains("lanyard_sts_errors_total{code=\"InvalidIdentityToken\"} 1")
        );
        assert!(!b.render().contains("lanyard_sts_errors_total"));
        // The second request of a series records into the handle kept from the first.
        a.request(
            "/sts/assume-role-with-saml",
            404,
            Duration::from_millis(30),
            None,
        );
        a.request("/healthz", 200, Duration::from_millis(1), None);
        assert!(a.render().contains(
            "lanyard_http_request_duration_seconds_count{route=\"/sts/assume-role-with-saml\",status=\"4xx\"} 2"
        ));
        assert!(a.render().contains(
            "lanyard_http_request_duration_seconds_count{route=\"/healthz\",status=\"2xx\"} 1"
        ));
        assert!(!b.render().contains("lanyard_http_request_duration_seconds"));
        a.store_operation("get", Duration::from_millis(1), true);
        a.store_operation("get", Duration::from_millis(2), false);
        assert!(
            a.render()
                .contains("lanyard_store_operation_duration_seconds_count{op=\"get\"} 2")
        );
        assert!(
            a.render()
                .contains("lanyard_store_errors_total{op=\"get\"} 1")
        );
        assert!(
            !b.render()
                .contains("lanyard_store_operation_duration_seconds")
        );
        assert!(a.render().contains(
            "lanyard_http_request_duration_seconds_bucket{route=\"/sts/assume-role-with-saml\",status=\"4xx\",le=\"0.005\"} 1"
        ));
    }
}
