//! Prometheus metrics with the v1beta2 operator's names (`spark_application_*`) plus the
//! reconciler's own, through `prometheus-client` (OpenMetrics text), and the `/metrics`,
//! `/healthz`, `/readyz` endpoints served by axum.
//!
//! The v1beta2 counts keep their names (`spark_application_submit_count`, …): OpenMetrics
//! would append `_total` to a counter, so they are exposed as gauges that only grow.

use std::collections::HashSet;
use std::hash::{BuildHasher as _, RandomState};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sparkop_api::types::status::ApplicationStateType;

/// Buckets of the reconcile-duration histogram (seconds).
const RECONCILE_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Buckets of the start and submit latency histograms (seconds).
const LATENCY_BUCKETS: &[f64] = &[1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];

/// The operator's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Hashes of the applications seen (8 bytes each, not their names).
    apps: Mutex<HashSet<u64>>,
    hasher: RandomState,
    app_count: Gauge,
    submits: Gauge,
    running: Gauge,
    successes: Gauge,
    failures: Gauge,
    reconcile_errors: Counter,
    reconcile: Histogram,
    start_latency: Histogram,
    submit_latency: Histogram,
    /// Set once the controllers run (and, with leader election, this replica leads).
    pub ready: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let app_count = gauge(
            &mut registry,
            "spark_application_count",
            "Distinct SparkApplications reconciled",
        );
        let submits = gauge(
            &mut registry,
            "spark_application_submit_count",
            "Driver submissions",
        );
        let running = gauge(
            &mut registry,
            "spark_application_running_count",
            "Transitions to RUNNING",
        );
        let successes = gauge(
            &mut registry,
            "spark_application_success_count",
            "Applications COMPLETED",
        );
        let failures = gauge(
            &mut registry,
            "spark_application_failure_count",
            "Applications FAILED",
        );
        let reconcile_errors = Counter::default();
        registry.register(
            "sparkop_reconcile_errors",
            "Reconciles that returned an error",
            reconcile_errors.clone(),
        );
        let histogram = |registry: &mut Registry, name: &str, help: &str, buckets: &[f64]| {
            let h = Histogram::new(buckets.iter().copied());
            registry.register(name, help, h.clone());
            h
        };
        let start_latency = histogram(
            &mut registry,
            "spark_application_start_latency_seconds",
            "Time from an application's creation to its driver running",
            LATENCY_BUCKETS,
        );
        let submit_latency = histogram(
            &mut registry,
            "spark_application_submit_latency_seconds",
            "Time from an application's creation to its first driver submission",
            LATENCY_BUCKETS,
        );
        let reconcile = histogram(
            &mut registry,
            "sparkop_reconcile_duration_seconds",
            "Time per reconcile",
            RECONCILE_BUCKETS,
        );
        Metrics {
            registry,
            apps: Mutex::default(),
            hasher: RandomState::new(),
            app_count,
            submits,
            running,
            successes,
            failures,
            reconcile_errors,
            reconcile,
            start_latency,
            submit_latency,
            ready: AtomicBool::new(false),
        }
    }
}

impl Metrics {
    /// An application was reconciled (counts distinct applications).
    pub fn seen(&self, key: &str) {
        let h = self.hasher.hash_one(key);
        if let Ok(mut apps) = self.apps.lock() {
            apps.insert(h);
            self.app_count
                .set(i64::try_from(apps.len()).unwrap_or(i64::MAX));
        }
    }

    /// A driver was submitted.
    pub fn submitted(&self) {
        self.submits.inc();
    }

    /// An application's first driver was submitted `latency` after it was created.
    pub fn first_submission(&self, latency: Duration) {
        self.submit_latency.observe(latency.as_secs_f64());
    }

    /// An application's driver first ran `latency` after it was created.
    pub fn started(&self, latency: Duration) {
        self.start_latency.observe(latency.as_secs_f64());
    }

    /// A state transition.
    pub fn transition(&self, to: ApplicationStateType) {
        let gauge = match to {
            ApplicationStateType::Running => &self.running,
            ApplicationStateType::Completed => &self.successes,
            ApplicationStateType::Failed => &self.failures,
            _ => return,
        };
        gauge.inc();
    }

    /// A reconcile returned an error.
    pub fn reconcile_error(&self) {
        self.reconcile_errors.inc();
    }

    /// A reconcile finished in `d`.
    pub fn reconciled(&self, d: Duration) {
        self.reconcile.observe(d.as_secs_f64());
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

async fn metrics(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, OPENMETRICS)], m.render())
}

async fn ready(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    if m.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

/// The endpoints: `/metrics`, `/healthz` (the process answers) and `/readyz` (it acts).
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(self::metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(metrics)
}

/// Serves [`router`] on `addr` until the process ends.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router(metrics)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_the_v1beta2_names_and_a_histogram() {
        let m = Metrics::default();
        m.seen("ns/a");
        m.seen("ns/a");
        m.seen("ns/b");
        m.submitted();
        m.transition(ApplicationStateType::Completed);
        m.reconciled(Duration::from_millis(30));
        m.started(Duration::from_secs(7));
        m.first_submission(Duration::from_millis(300));
        let text = m.render();
        for line in [
            "spark_application_count 2",
            "spark_application_submit_count 1",
            "spark_application_success_count 1",
            "spark_application_failure_count 0",
            "sparkop_reconcile_errors_total 0",
            "sparkop_reconcile_duration_seconds_bucket{le=\"0.05\"} 1",
            "sparkop_reconcile_duration_seconds_bucket{le=\"0.025\"} 0",
            "sparkop_reconcile_duration_seconds_count 1",
            "# TYPE spark_application_start_latency_seconds histogram",
            "spark_application_start_latency_seconds_bucket{le=\"5.0\"} 0",
            "spark_application_start_latency_seconds_bucket{le=\"10.0\"} 1",
            "spark_application_start_latency_seconds_sum 7.0",
            "spark_application_submit_latency_seconds_bucket{le=\"1.0\"} 1",
            "spark_application_submit_latency_seconds_count 1",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
    }
}

#[cfg(test)]
mod endpoint_tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn get(router: Router, path: &str) -> (StatusCode, String) {
        let res = router
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn probes_and_metrics_answer_as_kubernetes_and_prometheus_expect() {
        let m = Arc::new(Metrics::default());
        let r = router(m.clone());
        assert_eq!(get(r.clone(), "/healthz").await.0, StatusCode::OK);
        assert_eq!(
            get(r.clone(), "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        m.ready.store(true, Ordering::Relaxed);
        assert_eq!(get(r.clone(), "/readyz").await.0, StatusCode::OK);
        let (status, body) = get(r.clone(), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("spark_application_submit_count 0"), "{body}");
        assert_eq!(get(r, "/nope").await.0, StatusCode::NOT_FOUND);
    }
}
