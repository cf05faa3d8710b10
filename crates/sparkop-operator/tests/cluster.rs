//! The operator against a real API server (etcd, kube-apiserver, controller-manager,
//! scheduler, kwok; see sparkop-testcluster), running with exactly the Helm chart's RBAC
//! through the operator ServiceAccount's token. kwok runs the driver pods; the test plays the
//! driver's exit by setting the pod status.
//!
//! Skipped (passes) without the binaries unless SPARKOP_REQUIRE_K8S=1.

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use serde_json::json;
use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use sparkop_operator::metrics::Metrics;
use sparkop_operator::reconcile::Config;
use sparkop_operator::runtime::{self, Options};
use sparkop_testcluster::apps::{app_json, finish_driver, wait, wait_state};
use sparkop_testcluster::{ControlPlane, User};

const AUTH_EXAMPLE: &str = include_str!("../../../examples/auth-encryption.yaml");

fn required() -> bool {
    std::env::var("SPARKOP_REQUIRE_K8S").is_ok_and(|v| v == "1")
}

/// kube-rs controller futures are large in debug builds: run on threads with roomy stacks.
#[test]
fn the_guide_manifest_runs_secured_and_retries_follow_the_restart_policy() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
        .expect("runtime");
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || rt.block_on(Box::pin(scenario())))
        .expect("thread")
        .join()
        .expect("the scenario panicked");
}

async fn scenario() {
    let cp = match ControlPlane::start(Default::default()).await {
        Ok(cp) => cp,
        Err(sparkop_testcluster::ClusterError::NoBinaries(why)) if !required() => {
            eprintln!("skipping: {why}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let admin = cp.client(User::Admin).expect("admin");
    sparkop_testcluster::install_sparkop(&admin)
        .await
        .expect("install");

    // The operator, with the chart's RBAC only.
    let operator = cp.client(User::Operator).expect("operator");
    let metrics = Arc::new(Metrics::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let shutdown = {
        use futures::FutureExt as _;
        async move {
            let mut rx = stop_rx;
            let _ = rx.wait_for(|v| *v).await;
        }
        .boxed()
        .shared()
    };
    let opts = Options {
        namespaces: vec!["default".into()],
        namespace_selector: None,
        config: Config {
            default_retry_interval: Duration::from_secs(1),
            ..Config::default()
        },
        concurrency: 4,
        instance: "test".into(),
    };
    let running = tokio::spawn(Box::pin(runtime::run(
        operator,
        opts,
        metrics.clone(),
        shutdown,
    )));

    // The guide's auth+encryption example with its Secret.
    let secret_value = "e2e-k8s-LEAK-3f9a2c7d";
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "spark-secret"},
        "stringData": {"secret": secret_value}
    }))
    .expect("secret");
    Api::<Secret>::namespaced(admin.clone(), "default")
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret");
    let apps: Api<SparkApplication> = Api::namespaced(admin.clone(), "default");
    let v = app_json(AUTH_EXAMPLE);
    apps.create(
        &PostParams::default(),
        &serde_json::from_value(v).expect("app"),
    )
    .await
    .expect("create app");
    let name = "spark-rpc-auth-encryption-app";
    wait_state(&apps, name, "RUNNING").await;

    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    let app = apps.get(name).await.expect("app");
    let status = app.status.clone().expect("status");
    let driver = status
        .driver_info
        .pod_name
        .clone()
        .expect("driver pod name");
    assert_eq!(driver, format!("{name}-0-driver"));
    assert_eq!(status.driver_info.web_ui_https_port, Some(4440));
    let conditions = serde_json::to_string(&status.conditions).expect("json");
    assert!(
        conditions.contains("\"type\":\"Encrypted\"") && conditions.contains("AesGcm"),
        "{conditions}"
    );

    // The secret reaches the driver as a file only; no object but the Secret holds its value.
    let pod = pods.get(&driver).await.expect("pod");
    let pod_json = serde_json::to_string(&pod).expect("json");
    assert!(
        pod_json.contains("\"secretName\":\"spark-secret\""),
        "auth secret volume missing"
    );
    let cm = Api::<ConfigMap>::namespaced(admin.clone(), "default")
        .get(&format!("{name}-0-driver-conf"))
        .await
        .expect("configmap");
    let props = cm.data.as_ref().expect("data")["spark.properties"].clone();
    assert!(
        props.contains("spark.authenticate.secret.driver.file=/mnt/sparkop/auth/secret"),
        "{props}"
    );
    let ui_svc = Api::<Service>::namespaced(admin.clone(), "default")
        .get(&format!("{name}-ui-svc"))
        .await
        .expect("ui svc");
    assert!(
        serde_json::to_string(&ui_svc)
            .expect("json")
            .contains("4440")
    );
    let mut everything = String::new();
    for kind in ["pods", "configmaps", "services", "events"] {
        let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "x"), kind);
        let list = Api::<DynamicObject>::namespaced_with(admin.clone(), "default", &ar)
            .list(&ListParams::default())
            .await
            .expect("list");
        everything.push_str(&serde_json::to_string(&list.items).expect("json"));
    }
    everything.push_str(
        &serde_json::to_string(&apps.list(&ListParams::default()).await.expect("apps").items)
            .expect("json"),
    );
    assert!(
        !everything.contains(secret_value),
        "the secret value is in an object other than its Secret"
    );
    use base64::Engine as _;
    assert!(!everything.contains(&base64::engine::general_purpose::STANDARD.encode(secret_value)));

    // Executors, created the way the driver creates them (owned by the driver pod, with the
    // labels sparkop's conf gives them): their states reach the status.
    let selector = pod.metadata.labels.as_ref().expect("labels")["spark-app-selector"].clone();
    assert!(
        props.contains(&format!(
            "spark.kubernetes.executor.label.sparkoperator.k8s.io/app-name={name}"
        )),
        "{props}"
    );
    for i in 1..=2 {
        let executor: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": format!("{name}-exec-{i}"),
                "labels": {
                    "spark-app-selector": selector, "spark-role": "executor",
                    "spark-exec-id": i.to_string(),
                    "sparkoperator.k8s.io/app-name": name,
                    "sparkoperator.k8s.io/launched-by-spark-operator": "true",
                },
                "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": driver,
                                      "uid": pod.metadata.uid.clone().expect("uid"), "controller": true}],
            },
            "spec": {"containers": [{"name": "spark-kubernetes-executor", "image": "apache/spark:4.3.0"}]},
        }))
        .expect("executor");
        pods.create(&PostParams::default(), &executor)
            .await
            .expect("create executor");
    }
    let executor_states = |want: &'static [(&'static str, &'static str)]| {
        let apps = apps.clone();
        async move {
            wait("executor states", Duration::from_secs(60), || async {
                let app = apps.get(name).await.ok()?;
                let got = serde_json::to_value(app.status?.executor_state?).ok()?;
                want.iter()
                    .all(|(pod, state)| got[format!("{name}-exec-{pod}")] == *state)
                    .then_some(())
            })
            .await
        }
    };
    executor_states(&[("1", "RUNNING"), ("2", "RUNNING")]).await;
    // Spark removes executors it stops; while the driver runs that is not yet an outcome.
    pods.delete(
        &format!("{name}-exec-2"),
        &DeleteParams::default().grace_period(0),
    )
    .await
    .expect("delete executor");
    executor_states(&[("1", "RUNNING"), ("2", "UNKNOWN")]).await;

    // The driver exits 0: COMPLETED, and the executors with it.
    pods.delete(
        &format!("{name}-exec-1"),
        &DeleteParams::default().grace_period(0),
    )
    .await
    .expect("delete executor");
    finish_driver(&pods, &driver, 0).await;
    wait_state(&apps, name, "COMPLETED").await;
    executor_states(&[("1", "COMPLETED"), ("2", "COMPLETED")]).await;

    // OnFailure with one retry: the first failure reruns (a new attempt, new pod), the second fails.
    let mut retry = app_json(AUTH_EXAMPLE);
    retry["metadata"]["name"] = "retrying".into();
    retry["spec"]["restartPolicy"] =
        json!({"type": "OnFailure", "onFailureRetries": 1, "onFailureRetryInterval": 1});
    apps.create(
        &PostParams::default(),
        &serde_json::from_value(retry).expect("app"),
    )
    .await
    .expect("create");
    wait_state(&apps, "retrying", "RUNNING").await;
    finish_driver(&pods, "retrying-0-driver", 1).await;
    wait(
        "the second attempt's driver",
        Duration::from_secs(90),
        || async {
            pods.get_opt("retrying-1-driver")
                .await
                .ok()
                .flatten()
                .map(|_| ())
        },
    )
    .await;
    wait_state(&apps, "retrying", "RUNNING").await;
    let app = apps.get("retrying").await.expect("app");
    assert_eq!(app.status.as_ref().map(|s| s.execution_attempts), Some(2));
    finish_driver(&pods, "retrying-1-driver", 1).await;
    wait_state(&apps, "retrying", "FAILED").await;
    let app = apps.get("retrying").await.expect("app");
    let message = app
        .status
        .and_then(|s| s.application_state.error_message)
        .unwrap_or_default();
    assert!(message.contains("exited with code 1"), "{message}");

    // Deleting an application removes its objects; sparkop's finalizer holds the application
    // until its driver pod is gone.
    let finalizers = apps
        .get(name)
        .await
        .expect("app")
        .metadata
        .finalizers
        .unwrap_or_default();
    assert_eq!(finalizers, ["sparkoperator.k8s.io/sparkop-cleanup"]);
    apps.delete(name, &DeleteParams::background())
        .await
        .expect("delete");
    wait("the application to go", Duration::from_secs(60), || async {
        apps.get_opt(name).await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(
        pods.get_opt(&driver).await.expect("get").is_none(),
        "the application went before its driver pod"
    );
    wait(
        "the driver objects to be collected",
        Duration::from_secs(90),
        || async {
            let cms = Api::<ConfigMap>::namespaced(admin.clone(), "default");
            let gone = cms
                .get_opt(&format!("{name}-0-driver-conf"))
                .await
                .ok()
                .flatten()
                .is_none()
                && pods.get_opt(&driver).await.ok().flatten().is_none();
            gone.then_some(())
        },
    )
    .await;

    let text = metrics.render();
    assert!(text.contains("spark_application_success_count 1"), "{text}");
    assert!(text.contains("spark_application_failure_count 1"), "{text}");
    // Latencies from creation: both applications' first runs and first submissions (the
    // rerun of "retrying" is neither).
    assert!(
        text.contains("spark_application_start_latency_seconds_count 2"),
        "{text}"
    );
    assert!(
        text.contains("spark_application_submit_latency_seconds_count 2"),
        "{text}"
    );
    assert!(
        text.contains("spark_application_submit_latency_seconds_bucket{le=\"+Inf\"} 2"),
        "{text}"
    );
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), running).await;
}
