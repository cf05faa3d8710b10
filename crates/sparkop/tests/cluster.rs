//! Fault tests of `sparkop operator` against the real control plane: the operator process
//! SIGKILLed at arbitrary points of a submission and restarted never makes a second driver; an
//! API server restart mid-run is recovered from without help; an application that does not
//! deserialize does not stop the others.
//!
//! Skipped (passes) without the control-plane binaries unless SPARKOP_REQUIRE_K8S=1.

use std::process::Command;
use std::time::Duration;

use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::api::core::v1::{Pod, Secret};
use sparkop_testcluster::User;
use sparkop_testcluster::apps::{app_json, finish_driver, wait, wait_state};

mod support;

use support::cluster::{Operator, setup};

const AUTH_EXAMPLE: &str = include_str!("../../../examples/auth-encryption.yaml");

async fn create(apps: &Api<SparkApplication>, name: &str) {
    let mut v = app_json(AUTH_EXAMPLE);
    v["metadata"]["name"] = name.into();
    apps.create(
        &PostParams::default(),
        &serde_json::from_value(v).expect("app"),
    )
    .await
    .expect("create");
}

async fn driver_pods(pods: &Api<Pod>, app: &str) -> Vec<String> {
    pods.list(&ListParams::default().labels(&format!("spark-app-name={app}")))
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect()
}

fn block_on(f: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f);
}

#[test]
fn an_operator_killed_at_any_point_never_makes_a_second_driver() {
    block_on(async {
        let Some((cp, admin)) = setup().await else {
            return;
        };
        let apps: Api<SparkApplication> = Api::namespaced(admin.clone(), "default");
        let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
        // Several applications, and the operator SIGKILLed after a different delay each time,
        // so kills land before, between and after the steps of their submissions.
        for i in 0..4 {
            create(&apps, &format!("killed-{i}")).await;
        }
        for delay_ms in [150u64, 300, 450, 600, 800, 1000, 1300] {
            let op = Operator::start(&cp);
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            op.kill();
        }
        let _op = Operator::start(&cp);
        for i in 0..4 {
            let name = format!("killed-{i}");
            wait_state(&apps, &name, "RUNNING").await;
            assert_eq!(
                driver_pods(&pods, &name).await,
                [format!("{name}-0-driver")],
                "exactly one driver"
            );
            let app = apps.get(&name).await.expect("app");
            assert_eq!(
                app.status.map(|s| s.submission_attempts),
                Some(1),
                "{name} was submitted once"
            );
        }
    });
}

#[test]
fn the_operator_recovers_from_an_api_server_restart_by_itself() {
    block_on(async {
        let Some((mut cp, admin)) = setup().await else {
            return;
        };
        let _op = Operator::start(&cp);
        let apps: Api<SparkApplication> = Api::namespaced(admin.clone(), "default");
        create(&apps, "before").await;
        wait_state(&apps, "before", "RUNNING").await;
        cp.restart_apiserver().await.expect("restart");
        let admin = cp.client(User::Admin).expect("admin");
        let apps: Api<SparkApplication> = Api::namespaced(admin.clone(), "default");
        let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
        create(&apps, "after").await;
        wait_state(&apps, "after", "RUNNING").await;
        finish_driver(&pods, "before-0-driver", 0).await;
        wait_state(&apps, "before", "COMPLETED").await;
    });
}

#[test]
fn an_unreadable_application_does_not_stop_the_others() {
    block_on(async {
        let Some((cp, admin)) = setup().await else {
            return;
        };
        let _op = Operator::start(&cp);
        let apps: Api<SparkApplication> = Api::namespaced(admin.clone(), "default");
        // spec.driver.env is schemaless in the CRD (pod-level fields), so the API server accepts
        // a number where Kubernetes wants a name; sparkop cannot read it.
        let mut bad = app_json(AUTH_EXAMPLE);
        bad["metadata"]["name"] = "unreadable".into();
        bad["spec"]["driver"]["env"] = json!([{"name": 314159265}]);
        let dynamic: Api<kube::core::DynamicObject> = Api::namespaced_with(
            admin.clone(),
            "default",
            &sparkop_operator::runtime::app_resource(),
        );
        dynamic
            .create(
                &PostParams::default(),
                &serde_json::from_value(bad).expect("object"),
            )
            .await
            .expect("the API server accepts it");
        create(&apps, "fine").await;
        wait_state(&apps, "fine", "RUNNING").await;
        let message = wait(
            "the unreadable application's status",
            Duration::from_secs(60),
            || async {
                let obj = dynamic.get("unreadable").await.ok()?;
                let state = obj
                    .data
                    .pointer("/status/applicationState/state")?
                    .as_str()?
                    .to_owned();
                let msg = obj
                    .data
                    .pointer("/status/applicationState/errorMessage")?
                    .as_str()?
                    .to_owned();
                (state == "FAILED").then_some(msg)
            },
        )
        .await;
        assert!(message.contains("spec.driver.env[0].name"), "{message}");
        assert!(
            !message.contains("314159265"),
            "the offending value reached the status: {message}"
        );
    });
}

/// The cluster commands as a user runs them (admin kubeconfig), with the operator running.
#[test]
fn apply_get_status_and_delete_through_the_cli() {
    block_on(async {
        let Some((cp, admin)) = setup().await else {
            return;
        };
        let _op = Operator::start(&cp);
        let kubeconfig = cp.write_kubeconfig(User::Admin).expect("kubeconfig");
        let sparkop = |args: &[&str]| {
            let out = Command::new(assert_cmd::cargo::cargo_bin!("sparkop"))
                .args(args)
                .env("KUBECONFIG", &kubeconfig)
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .output()
                .expect("sparkop");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
            )
        };
        let (code, out) = sparkop(&["apply", "-f", "examples/secure-pi.yaml"]);
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("sparkapplication/secure-pi applied"), "{out}");
        let apps: Api<SparkApplication> = Api::namespaced(admin.clone(), "default");
        wait_state(&apps, "secure-pi", "RUNNING").await;
        let (code, out) = sparkop(&["get"]);
        assert_eq!(code, Some(0), "{out}");
        assert!(
            out.lines().any(|l| l.contains("secure-pi")
                && l.contains("RUNNING")
                && l.contains("secure-pi-0-driver")),
            "{out}"
        );
        let (code, out) = sparkop(&["status", "secure-pi"]);
        assert_eq!(code, Some(0), "{out}");
        for want in [
            "state:       RUNNING",
            "web UI:      https://secure-pi-ui-svc.default.svc:4440",
            "RPC encryption: on (AesGcm)",
            "web UI TLS: on",
        ] {
            assert!(out.contains(want), "{want:?} missing:\n{out}");
        }
        // The operator generated the RPC secret and the UI keystore; they are Secrets, owned by
        // the application, and nothing else holds their values.
        let secrets: Api<Secret> = Api::namespaced(admin.clone(), "default");
        let auth = secrets
            .get("secure-pi-sparkop-auth")
            .await
            .expect("generated auth secret");
        let value = auth
            .data
            .as_ref()
            .and_then(|d| d.get("secret"))
            .expect("key")
            .0
            .clone();
        assert_eq!(value.len(), 64);
        let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
        let pod = serde_json::to_string(&pods.get("secure-pi-0-driver").await.expect("pod"))
            .expect("json");
        assert!(!pod.contains(std::str::from_utf8(&value).expect("hex")));
        let (code, out) = sparkop(&["delete", "secure-pi"]);
        assert_eq!(code, Some(0), "{out}");
        wait("the application to go", Duration::from_secs(60), || async {
            apps.get_opt("secure-pi")
                .await
                .ok()
                .flatten()
                .is_none()
                .then_some(())
        })
        .await;
        let (code, out) = sparkop(&["status", "secure-pi"]);
        assert_ne!(code, Some(0), "{out}");
    });
}

/// Two replicas with leader election: one leads; when it dies the other takes over.
#[test]
fn leader_election_hands_over_when_the_leader_dies() {
    block_on(async {
        let Some((cp, admin)) = setup().await else {
            return;
        };
        let args = ["--leader-elect", "--lease-seconds", "4"];
        let first = Operator::start_with(&cp, &args);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let second = Operator::start_with(&cp, &args);
        let leases: Api<sparkop_api::k8s_openapi::api::coordination::v1::Lease> =
            Api::namespaced(admin.clone(), "sparkop-system");
        let holder = wait("a lease holder", Duration::from_secs(30), || async {
            leases
                .get_opt("sparkop-operator")
                .await
                .ok()
                .flatten()?
                .spec?
                .holder_identity
        })
        .await;
        assert_eq!(
            holder,
            format!("sparkop-{}", first.0.id()),
            "the first replica leads"
        );
        let apps: Api<SparkApplication> = Api::namespaced(admin.clone(), "default");
        create(&apps, "led").await;
        wait_state(&apps, "led", "RUNNING").await;
        first.kill();
        create(&apps, "after-handover").await;
        wait_state(&apps, "after-handover", "RUNNING").await;
        let holder = leases
            .get("sparkop-operator")
            .await
            .expect("lease")
            .spec
            .and_then(|s| s.holder_identity);
        assert_eq!(holder, Some(format!("sparkop-{}", second.0.id())));
        let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
        assert_eq!(driver_pods(&pods, "led").await, ["led-0-driver"]);
    });
}

/// With --namespace-selector the operator leaves unlabelled namespaces alone and takes a
/// namespace's applications in as soon as it is labelled.
#[test]
fn a_namespace_selector_follows_namespace_labels() {
    block_on(async {
        let Some((cp, admin)) = setup().await else {
            return;
        };
        use sparkop_api::k8s_openapi::api::core::v1::Namespace;
        let namespaces: Api<Namespace> = Api::all(admin.clone());
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "team-a"}})).expect("ns"),
            )
            .await
            .expect("namespace");
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "spark-secret"}, "stringData": {"secret": "team-a-secret"}
        }))
        .expect("secret");
        Api::<Secret>::namespaced(admin.clone(), "team-a")
            .create(&PostParams::default(), &secret)
            .await
            .expect("secret");
        // The example's drivers run as the `spark` ServiceAccount (the chart makes it only in
        // the Spark namespace).
        use sparkop_api::k8s_openapi::api::core::v1::ServiceAccount;
        Api::<ServiceAccount>::namespaced(admin.clone(), "team-a")
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "spark"}})).expect("sa"),
            )
            .await
            .expect("service account");
        let _op = Operator::start_with(&cp, &["--namespace-selector", "spark=enabled"]);
        let team_a: Api<SparkApplication> = Api::namespaced(admin.clone(), "team-a");
        let mut v = app_json(AUTH_EXAMPLE);
        v["metadata"]["name"] = "selected-later".into();
        v["metadata"]["namespace"] = "team-a".into();
        team_a
            .create(
                &PostParams::default(),
                &serde_json::from_value(v).expect("app"),
            )
            .await
            .expect("create");
        let default_apps: Api<SparkApplication> = Api::namespaced(admin.clone(), "default");
        create(&default_apps, "never-selected").await;
        // Time for an operator that ignored the selector to act.
        tokio::time::sleep(Duration::from_secs(5)).await;
        for (apps, name) in [
            (&team_a, "selected-later"),
            (&default_apps, "never-selected"),
        ] {
            let app = apps.get(name).await.expect("app");
            assert!(app.status.is_none(), "{name} was touched: {:?}", app.status);
        }
        namespaces
            .patch(
                "team-a",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"metadata": {"labels": {"spark": "enabled"}}})),
            )
            .await
            .expect("label");
        wait_state(&team_a, "selected-later", "RUNNING").await;
        let pods: Api<Pod> = Api::namespaced(admin.clone(), "team-a");
        assert_eq!(
            driver_pods(&pods, "selected-later").await,
            ["selected-later-0-driver"]
        );
        let app = default_apps.get("never-selected").await.expect("app");
        assert!(app.status.is_none(), "the unlabelled namespace was touched");
    });
}

/// An application deleted while the operator is down stays (Terminating) until the operator
/// is back, removes its driver, and releases it.
#[test]
fn a_deleted_application_waits_for_the_operator_to_remove_its_driver() {
    block_on(async {
        let Some((cp, admin)) = setup().await else {
            return;
        };
        let apps: Api<SparkApplication> = Api::namespaced(admin.clone(), "default");
        let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
        let op = Operator::start(&cp);
        create(&apps, "deleted-while-down").await;
        wait_state(&apps, "deleted-while-down", "RUNNING").await;
        op.kill();
        apps.delete("deleted-while-down", &kube::api::DeleteParams::background())
            .await
            .expect("delete");
        tokio::time::sleep(Duration::from_secs(3)).await;
        let app = apps.get("deleted-while-down").await.expect("still there");
        assert!(app.metadata.deletion_timestamp.is_some());
        assert_eq!(
            driver_pods(&pods, "deleted-while-down").await,
            ["deleted-while-down-0-driver"]
        );
        let _op = Operator::start(&cp);
        wait("the application to go", Duration::from_secs(60), || async {
            apps.get_opt("deleted-while-down")
                .await
                .ok()?
                .is_none()
                .then_some(())
        })
        .await;
        assert!(driver_pods(&pods, "deleted-while-down").await.is_empty());
    });
}
