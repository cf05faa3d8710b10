//! Prometheus metrics with the v1beta2 operator's names (`spark_application_*`) plus the
//! reconciler's own, and the `/metrics`, `/healthz`, `/readyz` endpoints.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The operator's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    apps: Mutex<BTreeSet<String>>,
    submits: AtomicU64,
    running: AtomicU64,
    successes: AtomicU64,
    failures: AtomicU64,
    reconcile_errors: AtomicU64,
    reconciles: AtomicU64,
    reconcile_micros: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    /// Set once the controllers run (and, with leader election, this replica leads).
    pub ready: AtomicBool,
}

impl Metrics {
    /// An application was reconciled (counts distinct applications).
    pub fn seen(&self, key: &str) {
        if let Ok(mut apps) = self.apps.lock()
            && !apps.contains(key)
        {
            apps.insert(key.to_owned());
        }
    }

    /// A driver was submitted.
    pub fn submitted(&self) {
        self.submits.fetch_add(1, Ordering::Relaxed);
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
        self.reconciles.fetch_add(1, Ordering::Relaxed);
        self.reconcile_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
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
        let name = "sparkop_reconcile_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time per reconcile\n# TYPE {name} histogram"
        );
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.reconciles.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.reconcile_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
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
        let text = m.render();
        for line in [
            "spark_application_count 2",
            "spark_application_submit_count 1",
            "spark_application_success_count 1",
            "spark_application_failure_count 0",
            "sparkop_reconcile_duration_seconds_bucket{le=\"0.05\"} 1",
            "sparkop_reconcile_duration_seconds_bucket{le=\"0.025\"} 0",
            "sparkop_reconcile_duration_seconds_count 1",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
    }
}
