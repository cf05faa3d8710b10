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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(8 << 20)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .context("no Kubernetes configuration (in-cluster ServiceAccount or KUBECONFIG)")?;
        let metrics = Arc::new(Metrics::default());
        let addr = args.metrics_addr;
        let served = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = metrics::serve(addr, served).await {
                eprintln!("{{\"level\":\"error\",\"msg\":\"metrics server stopped\",\"error\":{}}}", serde_json::json!(e.to_string()));
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
        eprintln!(
            "{{\"level\":\"info\",\"msg\":\"sparkop operator starting\",\"namespaces\":{},\"namespaceSelector\":{},\"metrics\":\"{addr}\"}}",
            serde_json::json!(args.namespaces),
            serde_json::json!(args.namespace_selector)
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
            eprintln!(
                "{{\"level\":\"info\",\"msg\":\"waiting for the lease\",\"identity\":{}}}",
                serde_json::json!(cfg.identity)
            );
            leader::acquire(api, cfg).await;
            eprintln!("{{\"level\":\"info\",\"msg\":\"leading\"}}");
        }
        metrics.ready.store(true, std::sync::atomic::Ordering::Relaxed);
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
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
                _ = lost => {}
            }
        };
        let shutdown = futures_shared(shutdown);
        runtime::run(client, opts, metrics, shutdown).await;
        if lease_lost.load(std::sync::atomic::Ordering::Relaxed) {
            eprintln!("{{\"level\":\"error\",\"msg\":\"lost the lease; stopping\"}}");
            return Ok(1);
        }
        eprintln!("{{\"level\":\"info\",\"msg\":\"sparkop operator stopped\"}}");
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
