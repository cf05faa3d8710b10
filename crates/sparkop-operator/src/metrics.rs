//! Prometheus metrics with the v1beta2 operator's names (`spark_application_*`) plus the
//! reconciler's own, and the `/metrics`, `/healthz`, `/readyz` endpoints.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::hash::{BuildHasher as _, RandomState};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Buckets of the reconcile-duration histogram (seconds).
const RECONCILE_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Buckets of the start and submit latency histograms (seconds).
const LATENCY_BUCKETS: &[f64] = &[1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];

/// A Prometheus histogram with fixed buckets.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, d: Duration) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let s = d.as_secs_f64();
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            if s <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {sum}\n{name}_count {count}"
        );
    }
}

/// The operator's counters.
#[derive(Debug)]
pub struct Metrics {
    /// Hashes of the applications seen (8 bytes each, not their names).
    apps: Mutex<HashSet<u64>>,
    hasher: RandomState,
    submits: AtomicU64,
    running: AtomicU64,
    successes: AtomicU64,
    failures: AtomicU64,
    reconcile_errors: AtomicU64,
    reconcile: Histogram,
    start_latency: Histogram,
    submit_latency: Histogram,
    /// Set once the controllers run (and, with leader election, this replica leads).
    pub ready: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            apps: Mutex::default(),
            hasher: RandomState::new(),
            submits: AtomicU64::new(0),
            running: AtomicU64::new(0),
            successes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            reconcile_errors: AtomicU64::new(0),
            reconcile: Histogram::new(RECONCILE_BUCKETS),
            start_latency: Histogram::new(LATENCY_BUCKETS),
            submit_latency: Histogram::new(LATENCY_BUCKETS),
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
        }
    }

    /// A driver was submitted.
    pub fn submitted(&self) {
        self.submits.fetch_add(1, Ordering::Relaxed);
    }

    /// An application's first driver was submitted `latency` after it was created.
    pub fn first_submission(&self, latency: Duration) {
        self.submit_latency.observe(latency);
    }

    /// An application's driver first ran `latency` after it was created.
    pub fn started(&self, latency: Duration) {
        self.start_latency.observe(latency);
    }

    /// A state transition (by its Event reason).
    pub fn transition(&self, reason: &str) {
        let counter = match reason {
            "SparkApplicationRunning" => &self.running,
            "SparkApplicationCompleted" => &self.successes,
            "SparkApplicationFailed" => &self.failures,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A reconcile returned an error.
    pub fn reconcile_error(&self) {
        self.reconcile_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A reconcile finished in `d`.
    pub fn reconciled(&self, d: Duration) {
        self.reconcile.observe(d);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let apps = self.apps.lock().map(|a| a.len()).unwrap_or(0);
        let counters = [
            (
                "spark_application_count",
                "Distinct SparkApplications reconciled",
                apps as u64,
                "gauge",
            ),
            (
                "spark_application_submit_count",
                "Driver submissions",
                self.submits.load(Ordering::Relaxed),
                "counter",
            ),
            (
                "spark_application_running_count",
                "Transitions to RUNNING",
                self.running.load(Ordering::Relaxed),
                "counter",
            ),
            (
                "spark_application_success_count",
                "Applications COMPLETED",
                self.successes.load(Ordering::Relaxed),
                "counter",
            ),
            (
                "spark_application_failure_count",
                "Applications FAILED",
                self.failures.load(Ordering::Relaxed),
                "counter",
            ),
            (
                "sparkop_reconcile_errors_total",
                "Reconciles that returned an error",
                self.reconcile_errors.load(Ordering::Relaxed),
                "counter",
            ),
        ];
        for (name, help, value, kind) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        self.start_latency.render(
            &mut out,
            "spark_application_start_latency_seconds",
            "Time from an application's creation to its driver running",
        );
        self.submit_latency.render(
            &mut out,
            "spark_application_submit_latency_seconds",
            "Time from an application's creation to its first driver submission",
        );
        self.reconcile.render(
            &mut out,
            "sparkop_reconcile_duration_seconds",
            "Time per reconcile",
        );
        out
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `addr` (HTTP/1.1, one request per connection).
pub async fn serve(addr: SocketAddr, metrics: std::sync::Arc<Metrics>) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    loop {
        let (mut stream, _) = listener.accept().await?;
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let n = match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await
            {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let (code, body) = match path {
                "/metrics" => ("200 OK", metrics.render()),
                "/healthz" => ("200 OK", "ok\n".to_owned()),
                "/readyz" if metrics.ready.load(Ordering::Relaxed) => ("200 OK", "ok\n".to_owned()),
                "/readyz" => ("503 Service Unavailable", "not ready\n".to_owned()),
                _ => ("404 Not Found", "not found\n".to_owned()),
            };
            let response = format!(
                "HTTP/1.1 {code}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
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
        m.transition("SparkApplicationCompleted");
        m.reconciled(Duration::from_millis(30));
        m.started(Duration::from_secs(7));
        m.first_submission(Duration::from_millis(300));
        let text = m.render();
        for line in [
            "spark_application_count 2",
            "spark_application_submit_count 1",
            "spark_application_success_count 1",
            "spark_application_failure_count 0",
            "sparkop_reconcile_duration_seconds_bucket{le=\"0.05\"} 1",
            "sparkop_reconcile_duration_seconds_bucket{le=\"0.025\"} 0",
            "sparkop_reconcile_duration_seconds_count 1",
            "# TYPE spark_application_start_latency_seconds histogram",
            "spark_application_start_latency_seconds_bucket{le=\"5\"} 0",
            "spark_application_start_latency_seconds_bucket{le=\"10\"} 1",
            "spark_application_start_latency_seconds_sum 7",
            "spark_application_submit_latency_seconds_bucket{le=\"1\"} 1",
            "spark_application_submit_latency_seconds_count 1",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
    }
}
