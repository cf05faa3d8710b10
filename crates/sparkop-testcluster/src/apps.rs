//! Helpers for scenarios with SparkApplications on the test cluster: wait for states, play a
//! driver's exit (kwok leaves pods annotated `kwok.x-k8s.io/status=custom` alone).

use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::api::core::v1::Pod;

/// Polls `f` every 250 ms until it returns `Some`, panicking after `limit`.
pub async fn wait<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The first SparkApplication of a manifest, as JSON.
pub fn app_json(yaml: &str) -> Value {
    let loaded = sparkop_api::manifest::load_str("t.yaml", yaml, Default::default());
    match &loaded.documents[0].object {
        sparkop_api::manifest::Object::SparkApplication(a) => {
            serde_json::to_value(a).expect("json")
        }
        other => panic!("{other:?}"),
    }
}

/// The application's state (`""` for NEW).
pub async fn state_of(apps: &Api<SparkApplication>, name: &str) -> String {
    apps.get(name)
        .await
        .ok()
        .and_then(|a| a.status)
        .map(|s| serde_json::to_value(s.application_state.state).unwrap_or_default())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Waits (90 s) until the application reaches `want`.
pub async fn wait_state(apps: &Api<SparkApplication>, name: &str, want: &str) {
    wait(
        &format!("{name} to reach {want}"),
        Duration::from_secs(90),
        || async {
            let s = state_of(apps, name).await;
            (s == want).then_some(())
        },
    )
    .await;
}

/// Plays the driver's end: kwok leaves pods annotated `kwok.x-k8s.io/status=custom` alone.
/// Sets the driver pod's end: Succeeded for exit code 0, Failed otherwise.
pub async fn finish_driver(pods: &Api<Pod>, name: &str, exit_code: i32) {
    let pp = PatchParams::default();
    pods.patch(
        name,
        &pp,
        &Patch::Merge(json!({"metadata": {"annotations": {"kwok.x-k8s.io/status": "custom"}}})),
    )
    .await
    .expect("annotate");
    let phase = if exit_code == 0 {
        "Succeeded"
    } else {
        "Failed"
    };
    let status = json!({"status": {"phase": phase, "containerStatuses": [{
        "name": "spark-kubernetes-driver", "image": "apache/spark:4.3.0", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": exit_code, "reason": if exit_code == 0 { "Completed" } else { "Error" }}}
    }]}});
    pods.patch_status(name, &pp, &Patch::Merge(status))
        .await
        .expect("pod status");
}
