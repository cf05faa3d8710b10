//! Against a real kube-apiserver (built from Go modules): sparkop's CRDs install with
//! server-side apply, the API server itself enforces their schema and CEL rules (the guide's
//! encryption-without-authentication case among them), kwok runs pods on a simulated node, and
//! the garbage collector removes owned objects.
//!
//! Without the binaries a test says so and passes, unless SPARKOP_REQUIRE_K8S=1 (set by
//! scripts/test-all), where it fails.

use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use sparkop_api::k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use sparkop_api::k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use sparkop_testcluster::{ControlPlane, Options, User};

fn required() -> bool {
    std::env::var("SPARKOP_REQUIRE_K8S").is_ok_and(|v| v == "1")
}

async fn cluster(opts: Options) -> Option<ControlPlane> {
    match ControlPlane::start(opts).await {
        Ok(c) => Some(c),
        Err(sparkop_testcluster::ClusterError::NoBinaries(why)) if !required() => {
            eprintln!("skipping: {why}");
            None
        }
        Err(e) => panic!("control plane: {e}"),
    }
}

const FIELD_MANAGER: &str = "sparkop-tests";

async fn install_crds(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    for crd in sparkop_api::crd::all() {
        let name = crd.metadata.name.clone().expect("name");
        crds.patch(&name, &pp, &Patch::Apply(&crd))
            .await
            .expect("server-side apply of the CRD");
    }
    // Established before use.
    let start = Instant::now();
    for crd in sparkop_api::crd::all() {
        let name = crd.metadata.name.clone().expect("name");
        loop {
            let got = crds.get(&name).await.expect("get crd");
            let established = got
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{name} not established"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn apps(client: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("sparkoperator.k8s.io", "v1beta2", "SparkApplication");
    Api::namespaced_with(client.clone(), "default", &ApiResource::from_gvk(&gvk))
}

/// The first SparkApplication document of a manifest, as JSON.
fn app_json(yaml: &str) -> serde_json::Value {
    let loaded = sparkop_api::manifest::load_str("t.yaml", yaml, Default::default());
    match &loaded.documents[0].object {
        sparkop_api::manifest::Object::SparkApplication(a) => {
            serde_json::to_value(a).expect("json")
        }
        other => panic!("not an application: {other:?}"),
    }
}

#[tokio::test]
async fn crds_install_and_the_api_server_enforces_the_policy() {
    let Some(cp) = cluster(Options {
        controller_manager: false,
        nodes: false,
        real_node: false,
    })
    .await
    else {
        return;
    };
    let client = cp.client(User::Admin).expect("client");
    install_crds(&client).await;
    // Applying again is a no-op, not a conflict.
    install_crds(&client).await;

    let api = apps(&client);
    let pp = PatchParams::apply(FIELD_MANAGER);
    for example in [
        include_str!("../../../examples/secure-pi.yaml"),
        include_str!("../../../examples/auth-encryption.yaml"),
        include_str!("../../../examples/ui-tls.yaml"),
    ] {
        let v = app_json(example);
        let name = v["metadata"]["name"].as_str().expect("name").to_owned();
        api.patch(&name, &pp, &Patch::Apply(&v))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    let base = app_json(include_str!("../../../examples/secure-pi.yaml"));
    let rejected = |mut v: serde_json::Value, edit: &dyn Fn(&mut serde_json::Value)| {
        edit(&mut v);
        v["metadata"]["name"] = "rejected".into();
        v
    };
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "the guide's encryption without authentication",
            rejected(base.clone(), &|v| {
                v["spec"]["sparkConf"] = serde_json::json!({"spark.network.crypto.enabled": "true", "spark.authenticate": "false"});
            }),
            "spark.network.crypto.enabled",
        ),
        (
            "a literal secret",
            rejected(base.clone(), &|v| {
                v["spec"]["sparkConf"] =
                    serde_json::json!({"spark.authenticate.secret": "hunter2"});
            }),
            "must not be literals",
        ),
        (
            "an escalation key",
            rejected(base.clone(), &|v| {
                v["spec"]["sparkConf"] =
                    serde_json::json!({"spark.kubernetes.namespace": "kube-system"});
            }),
            "must not set",
        ),
        (
            "a schema violation",
            rejected(base.clone(), &|v| {
                v["spec"]["driver"]["cores"] = "one".into()
            }),
            "spec.driver.cores",
        ),
        (
            "an unknown encryption mode",
            rejected(base.clone(), &|v| {
                v["spec"]["security"] = serde_json::json!({"encryption": {"mode": "Rot13"}})
            }),
            "Rot13",
        ),
    ];
    for (what, v, expect) in cases {
        let err = api
            .create(
                &PostParams::default(),
                &serde_json::from_value(v).expect("object"),
            )
            .await
            .expect_err(what);
        let text = err.to_string();
        assert!(text.contains(expect), "{what}: {text}");
        assert!(
            !text.contains("hunter2"),
            "{what}: the API server echoed a secret: {text}"
        );
    }
}

#[tokio::test]
async fn kwok_runs_pods_and_the_garbage_collector_removes_owned_objects() {
    let Some(cp) = cluster(Options::default()).await else {
        return;
    };
    let client = cp.client(User::Admin).expect("client");
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "kwok-node-0", "annotations": {"kwok.x-k8s.io/node": "fake"},
                     "labels": {"type": "kwok", "kubernetes.io/hostname": "kwok-node-0"}},
        "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                   "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}}
    }))
    .expect("node");
    nodes
        .create(&PostParams::default(), &node)
        .await
        .expect("node");

    // The default ServiceAccount appears (controller-manager), then a pod can be created.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "driver"},
        "spec": {"containers": [{"name": "c", "image": "apache/spark:4.3.0"}]}
    }))
    .expect("pod");
    let start = Instant::now();
    let created = loop {
        match pods.create(&PostParams::default(), &pod).await {
            Ok(p) => break p,
            Err(e) if start.elapsed() < Duration::from_secs(60) => {
                eprintln!("waiting to create a pod: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("pod: {e}\n{}", cp.log_tail("kube-controller-manager", 20)),
        }
    };
    let start = Instant::now();
    loop {
        let p = pods.get("driver").await.expect("get");
        let phase = p.status.and_then(|s| s.phase).unwrap_or_default();
        if phase == "Running" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "pod phase {phase:?}\nscheduler: {}\nkwok: {}",
            cp.log_tail("kube-scheduler", 15),
            cp.log_tail("kwok", 15)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let uid = created.metadata.uid.clone().expect("uid");
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "driver-conf", "ownerReferences": [
            {"apiVersion": "v1", "kind": "Pod", "name": "driver", "uid": uid, "controller": true}]},
        "data": {"spark.properties": "spark.app.name=x\n"}
    }))
    .expect("cm");
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("configmap");
    pods.delete("driver", &DeleteParams::background())
        .await
        .expect("delete pod");
    let start = Instant::now();
    loop {
        if cms.get_opt("driver-conf").await.expect("get").is_none() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the owned ConfigMap was not collected"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn the_operator_identity_gets_only_what_rbac_grants() {
    let Some(cp) = cluster(Options {
        controller_manager: false,
        nodes: false,
        real_node: false,
    })
    .await
    else {
        return;
    };
    let op = cp.client(User::Operator).expect("client");
    let pods: Api<Pod> = Api::namespaced(op, "default");
    let err = pods
        .list(&Default::default())
        .await
        .expect_err("no RBAC yet");
    assert!(err.to_string().contains("forbidden"), "{err}");
}
