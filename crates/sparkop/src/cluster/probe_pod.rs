//! `audit app`'s probe from inside the cluster: an executor binds only its pod IP, and a
//! port-forward dials a pod's localhost, so no forward reaches an executor's block manager (the
//! only port it listens on). A short-lived pod of the sparkop image in the application's
//! namespace runs `sparkop audit rpc` against the executors' pod IPs with the application's own
//! secret file, prints its findings as JSON, and is deleted.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use kube::api::{Api, DeleteParams, LogParams, PostParams};
use serde_json::{Value, json};
use sparkop_api::k8s_openapi::api::core::v1::Pod;
use sparkop_audit::Finding;
use sparkop_operator::build::{self, SecretKeyName};

/// The image `audit app` probes executors with, unless `--probe-image` names another: the one
/// the chart deploys the operator from.
pub const DEFAULT_IMAGE: &str = concat!("sparkop:", env!("CARGO_PKG_VERSION"));

/// Where the probe pod finds the application's secret.
const SECRET_DIR: &str = "/mnt/sparkop/auth";

/// What the probe pod needs.
pub struct Probe<'a> {
    /// The pod's name.
    pub name: &'a str,
    /// The application's namespace.
    pub namespace: &'a str,
    /// The image with the sparkop binary as its entrypoint.
    pub image: &'a str,
    /// The attempt's `spark-app-selector`: the executors' NetworkPolicy admits only pods of
    /// the application.
    pub app_selector: &'a str,
    /// The Secret key holding the RPC secret, when authentication is on.
    pub auth: Option<&'a SecretKeyName>,
    /// `HOST:PORT` of each endpoint.
    pub endpoints: &'a [String],
    /// Seconds each probe may take.
    pub timeout: u64,
}

/// The probe pod: the restricted Pod Security profile, no ServiceAccount token, the
/// application's secret as a file readable only by the probe's user.
pub fn pod(p: &Probe<'_>) -> Value {
    let mut args = vec![
        "audit".to_owned(),
        "rpc".into(),
        "-o".into(),
        "json".into(),
        "--fail-on".into(),
        "never".into(),
        "--timeout".into(),
        p.timeout.to_string(),
    ];
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    if let Some(auth) = p.auth {
        args.push("--spark-secret-file".into());
        args.push(format!("{SECRET_DIR}/{}", auth.key));
        volumes.push(
            json!({"name": "auth", "secret": {"secretName": auth.name, "defaultMode": 0o440}}),
        );
        mounts.push(json!({"name": "auth", "mountPath": SECRET_DIR, "readOnly": true}));
    }
    args.extend(p.endpoints.iter().cloned());
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": p.name, "namespace": p.namespace,
            "labels": {build::APP_SELECTOR_LABEL: p.app_selector, build::ROLE_LABEL: "sparkop-audit"},
        },
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "securityContext": {
                "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [{
                "name": "audit", "image": p.image, "imagePullPolicy": "IfNotPresent",
                "args": args,
                "securityContext": {
                    "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                    "capabilities": {"drop": ["ALL"]},
                },
                "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                "volumeMounts": mounts,
            }],
            "volumes": volumes,
        },
    })
}

/// The findings in the probe pod's log (the JSON report `audit rpc -o json` prints).
pub fn findings_of(log: &str) -> anyhow::Result<Vec<Finding>> {
    let start = log.find('{').context("the probe printed no report")?;
    let report: Value = serde_json::from_str(log[start..].trim())
        .with_context(|| format!("the probe's report is not JSON: {}", log.trim()))?;
    report["findings"]
        .as_array()
        .context("the probe's report has no findings")?
        .iter()
        .map(|f| Finding::from_json(f).with_context(|| format!("an unknown finding: {f}")))
        .collect()
}

/// Runs the probe pod to its end and returns its findings; the pod is deleted whatever happens.
pub async fn run(pods: &Api<Pod>, probe: &Probe<'_>) -> anyhow::Result<Vec<Finding>> {
    let pod: Pod = serde_json::from_value(pod(probe))?;
    pods.create(&PostParams::default(), &pod)
        .await
        .with_context(|| format!("creating the probe pod {}", probe.name))?;
    let result = wait_and_read(pods, probe).await;
    let _ = pods.delete(probe.name, &DeleteParams::background()).await;
    result
}

async fn wait_and_read(pods: &Api<Pod>, probe: &Probe<'_>) -> anyhow::Result<Vec<Finding>> {
    // Eight probes at most per endpoint, each bounded by the timeout, plus the pod's start.
    let endpoints = u64::try_from(probe.endpoints.len()).unwrap_or(u64::MAX);
    let limit = Duration::from_secs(60 + probe.timeout.saturating_mul(8).saturating_mul(endpoints));
    let start = Instant::now();
    loop {
        let p = pods.get(probe.name).await?;
        let status = p.status.unwrap_or_default();
        if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
            break;
        }
        // A pod that cannot start (no such image here) never ends by itself.
        let waiting = status
            .container_statuses
            .iter()
            .flatten()
            .filter_map(|c| c.state.as_ref()?.waiting.as_ref())
            .find(|w| {
                matches!(
                    w.reason.as_deref(),
                    Some(
                        "ErrImagePull"
                            | "ImagePullBackOff"
                            | "ErrImageNeverPull"
                            | "InvalidImageName"
                    )
                )
            })
            .cloned();
        if let Some(w) = waiting {
            anyhow::bail!(
                "the probe pod cannot start: {} ({}); name an image with the sparkop binary with --probe-image",
                w.reason.unwrap_or_default(),
                w.message.unwrap_or_default()
            );
        }
        if start.elapsed() > limit {
            anyhow::bail!(
                "the probe pod {} did not finish within {limit:?}",
                probe.name
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let log = pods
        .logs(probe.name, &LogParams::default())
        .await
        .with_context(|| format!("reading the probe pod's log ({})", probe.name))?;
    findings_of(&log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_pod_is_restricted_and_holds_the_secret_only_as_a_file() {
        let auth = SecretKeyName {
            name: "app-sparkop-auth".into(),
            key: "secret".into(),
        };
        let endpoints = vec!["10.244.0.5:7079".to_owned()];
        let v = pod(&Probe {
            name: "app-audit",
            namespace: "ns",
            image: DEFAULT_IMAGE,
            app_selector: "spark-1",
            auth: Some(&auth),
            endpoints: &endpoints,
            timeout: 5,
        });
        let spec = &v["spec"];
        assert_eq!(spec["automountServiceAccountToken"], false);
        assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
        let c = &spec["containers"][0];
        assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        let args: Vec<&str> = c["args"]
            .as_array()
            .expect("args")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            args.ends_with(&[
                "--spark-secret-file",
                "/mnt/sparkop/auth/secret",
                "10.244.0.5:7079"
            ]),
            "{args:?}"
        );
        assert!(c.get("env").is_none(), "nothing secret in the environment");
        assert_eq!(
            spec["volumes"][0]["secret"]["secretName"],
            "app-sparkop-auth"
        );
        assert_eq!(v["metadata"]["labels"]["spark-app-selector"], "spark-1");
        assert_ne!(v["metadata"]["labels"]["spark-role"], "executor");
    }

    #[test]
    fn findings_come_back_from_the_log() {
        let f = Finding::new(
            sparkop_audit::rpc::ids::GCM_CIPHER,
            sparkop_api::Severity::Info,
            "10.0.0.1:7079",
            "m",
            "e",
        );
        let log = format!(
            "{}\n",
            sparkop_audit::report::json(std::slice::from_ref(&f))
        );
        assert_eq!(findings_of(&log).expect("findings"), [f]);
        assert!(findings_of("exec format error").is_err());
    }
}
