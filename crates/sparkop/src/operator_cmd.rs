//! `sparkop operator`: the kube-rs runtime with metrics, until SIGTERM or Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sparkop_operator::leader;
use sparkop_operator::metrics::{self, Metrics};
use sparkop_operator::reconcile::Config;
use sparkop_operator::runtime::{self, Options};

use crate::cli::OperatorArgs;

/// Runs the operator.
pub fn run(args: &OperatorArgs) -> anyhow::Result<i32> {
    init_logging(args.log_format);
    let runtime = crate::rt::runtime()?;
    runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .context("no Kubernetes configuration (in-cluster ServiceAccount or KUBECONFIG)")?;
        let metrics = Arc::new(Metrics::default());
        let addr = args.metrics_addr;
        let served = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = metrics::serve(addr, served).await {
                tracing::error!(error = %e, %addr, "the metrics server stopped");
            }
        });
        let opts = Options {
            namespaces: args.namespaces.clone(),
            namespace_selector: args.namespace_selector.clone(),
            config: Config {
                submitted_timeout: Duration::from_secs(args.submitted_timeout.max(1)),
                driver_log_interval: (args.driver_log_interval > 0)
                    .then(|| Duration::from_secs(args.driver_log_interval)),
                ..Config::default()
            },
            concurrency: args.concurrency,
            instance: std::env::var("POD_NAME").unwrap_or_default(),
        };
        tracing::info!(
            namespaces = ?args.namespaces,
            namespace_selector = args.namespace_selector.as_deref().unwrap_or_default(),
            metrics = %addr,
            "sparkop operator starting"
        );
        let lease = args.leader_elect.then(|| {
            let identity = std::env::var("POD_NAME")
                .ok()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("sparkop-{}", std::process::id()));
            leader::LeaseConfig {
                namespace: args
                    .lease_namespace
                    .clone()
                    .or_else(|| std::env::var("POD_NAMESPACE").ok())
                    .unwrap_or_else(|| "sparkop-system".into()),
                name: "sparkop-operator".into(),
                identity,
                duration: Duration::from_secs(args.lease_seconds.max(3)),
            }
        });
        let leases = lease.as_ref().map(|l| {
            kube::Api::<sparkop_api::k8s_openapi::api::coordination::v1::Lease>::namespaced(
                client.clone(),
                &l.namespace,
            )
        });
        if let (Some(cfg), Some(api)) = (&lease, &leases) {
            tracing::info!(identity = %cfg.identity, "waiting for the lease");
            leader::acquire(api, cfg).await;
            tracing::info!(identity = %cfg.identity, "leading");
        }
        metrics
            .ready
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let lost = async move {
            match (&lease, &leases) {
                (Some(cfg), Some(api)) => leader::keep(api, cfg).await,
                _ => std::future::pending().await,
            }
        };
        let lease_lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = lease_lost.clone();
        let lost = async move {
            lost.await;
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        };
        let shutdown = async {
            tokio::select! {
                _ = crate::rt::shutdown_signal() => {}
                _ = lost => {}
            }
        };
        let shutdown = futures_shared(shutdown);
        runtime::run(client, opts, metrics, shutdown).await;
        if lease_lost.load(std::sync::atomic::Ordering::Relaxed) {
            tracing::error!("lost the lease; stopping");
            return Ok(crate::exit::FAILED);
        }
        tracing::info!("sparkop operator stopped");
        Ok(0)
    })
}

/// A clonable shutdown signal.
fn futures_shared(
    f: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl std::future::Future<Output = ()> + Send + Sync + Clone + 'static {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        f.await;
        let _ = tx.send(true);
    });
    use futures::FutureExt as _;
    async move {
        let mut rx = rx;
        let _ = rx.wait_for(|v| *v).await;
    }
    .boxed()
    .shared()
}

/// Logs to stderr: JSON lines (the default, for `kubectl logs` and collectors) or text; the
/// level from `RUST_LOG` (default `info`, e.g. `RUST_LOG=sparkop_operator=debug`). Every line
/// of a reconcile carries its span: namespace, name and attempt.
fn init_logging(format: crate::cli::LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        crate::cli::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        crate::cli::LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}
