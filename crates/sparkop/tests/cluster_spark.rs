//! `sparkop audit app` and `sparkop ui` against real Spark through the real API server.
//!
//! The operator runs the guide's auth+encryption application with a UI keystore Secret; kwok
//! plays its driver pod, and a kwok PortForward object sends the pod's ports to a real Spark
//! driver that `sparkop run` starts on loopback with the same Secrets. So every byte the CLI
//! sends goes CLI → kube-apiserver (pods/portforward) → kwok (the node's kubelet) → Spark.
//!
//! Spark reads a secret *file* in a pod and uses the base64 of its bytes as the secret; the
//! local run (local-cluster mode takes no secret file) is given that base64 string, so both
//! ends hold what a real driver pod would.
//!
//! Needs the control plane (SPARKOP_REQUIRE_K8S) and Spark (SPARKOP_REQUIRE_E2E); skipped
//! otherwise.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::api::core::v1::{Pod, Secret};
use sparkop_testcluster::apps::wait_state;
use sparkop_testcluster::{ControlPlane, User};

mod support;

use support::cluster::{Operator, setup};
use support::spark::{Run, serial, spark_home, sparkop};

const AUTH_EXAMPLE: &str = include_str!("../../../examples/auth-encryption.yaml");
const APP: &str = "audited";
const DRIVER_POD: &str = "audited-0-driver";

/// The example as `audited`, with a 2-minute task (the driver must stay up while audited),
/// the keystore Secret `ui-tls`, and fixed local ports (ignored by the pod's builder).
fn manifest() -> String {
    let text = AUTH_EXAMPLE
        .replace(
            "name: spark-rpc-auth-encryption-app",
            &format!("name: {APP}"),
        )
        .replace(
            "  arguments:\n    - \"1\"\n    - \"600\"\n",
            "  arguments:\n    - \"1\"\n    - \"120\"\n",
        )
        .replace(
            "  sparkConf:\n",
            "  security:\n    ui:\n      tls:\n        keystoreSecret: ui-tls\n  sparkConf:\n    \"spark.driver.port\": \"40100\"\n    \"spark.blockManager.port\": \"40200\"\n",
        );
    assert!(
        text.contains("keystoreSecret") && text.contains("\"120\""),
        "the example changed; update this test"
    );
    text
}

fn random_hex() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("random");
    hex::encode(b)
}

/// A `sparkop` CLI command against the cluster as the admin user.
fn cli(kubeconfig: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(sparkop())
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("sparkop")
}

/// `sparkop audit app` as JSON: (exit code, findings by id, all output).
fn audit(kubeconfig: &std::path::Path) -> (i32, BTreeMap<String, Vec<Value>>, String) {
    let out = cli(
        kubeconfig,
        &["audit", "app", APP, "-o", "json", "--fail-on", "warning"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let all = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("audit app printed no JSON ({e}):\n{all}"));
    let mut by_id: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for f in v["findings"].as_array().expect("findings") {
        by_id
            .entry(f["id"].as_str().expect("id").to_owned())
            .or_default()
            .push(f.clone());
    }
    (out.status.code().unwrap_or(-1), by_id, all)
}

async fn set_secret(admin: &kube::Client, value: &str) {
    Api::<Secret>::namespaced(admin.clone(), "default")
        .patch(
            "spark-secret",
            &PatchParams::apply("sparkop-tests").force(),
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "spark-secret"},
                "data": {"secret": base64::engine::general_purpose::STANDARD.encode(value)}
            })),
        )
        .await
        .expect("secret");
}

/// The driver pod's declared ports, forwarded (by kwok) to the local driver's.
async fn forward_driver_ports(cp: &ControlPlane, pods: &Api<Pod>) {
    let pod = pods.get(DRIVER_POD).await.expect("driver pod");
    let declared: BTreeMap<String, u16> = pod
        .spec
        .expect("spec")
        .containers
        .iter()
        .flat_map(|c| c.ports.clone().unwrap_or_default())
        .filter_map(|p| Some((p.name?, u16::try_from(p.container_port).ok()?)))
        .collect();
    let local = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let forwards: Vec<(u16, SocketAddr)> = [
        ("driver-rpc-port", 40100),
        ("blockmanager", 40200),
        ("spark-ui-https", 4440),
        ("spark-ui", 4040),
    ]
    .iter()
    .map(|(name, to)| {
        let port = *declared
            .get(*name)
            .unwrap_or_else(|| panic!("the driver pod declares no {name} port: {declared:?}"));
        (port, local(*to))
    })
    .collect();
    cp.forward_pod_ports("default", DRIVER_POD, &forwards)
        .await
        .expect("kwok PortForward");
}

#[test]
fn audit_app_and_ui_reach_the_real_driver_through_the_api_server() {
    let _serial = serial();
    let Some(home) = spark_home() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let Some((cp, admin)) = rt.block_on(setup()) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let kubeconfig = cp.write_kubeconfig(User::Admin).expect("kubeconfig");
    let _op = Operator::start(&cp);

    // The Secrets: the RPC secret's bytes in the cluster, and a UI keystore whose certificate
    // carries the UI Service's DNS name (what in-cluster clients and the audit check).
    let secret = format!("auditAPP{}", random_hex());
    rt.block_on(set_secret(&admin, &secret));
    let keystore = Command::new(sparkop())
        .args(["keystore", "create", "ui-tls", "--host"])
        .arg(format!("{APP}-ui-svc.default.svc"))
        .args(["--host", "localhost", "--host", "127.0.0.1"])
        .output()
        .expect("keystore create");
    assert!(keystore.status.success());
    let keystore_yaml = String::from_utf8(keystore.stdout).expect("utf8");
    let app_file = tmp.path().join("app.yaml");
    let keystore_file = tmp.path().join("ui-tls.yaml");
    std::fs::write(&app_file, manifest()).expect("write");
    std::fs::write(&keystore_file, &keystore_yaml).expect("write");
    let applied = cli(
        &kubeconfig,
        &[
            "apply",
            "-f",
            keystore_file.to_str().expect("utf8"),
            "-f",
            app_file.to_str().expect("utf8"),
        ],
    );
    assert!(applied.status.success(), "apply: {applied:?}");
    let apps: Api<SparkApplication> = Api::namespaced(admin.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    rt.block_on(wait_state(&apps, APP, "RUNNING"));

    // Before a real driver is behind the pod, the audit says so instead of passing.
    let (code, findings, all) = audit(&kubeconfig);
    assert_eq!(code, 1, "{all}");
    assert!(
        findings.contains_key("SPK-AUD-RPC-009"),
        "unreachable: {all}"
    );

    // The real driver, with what a pod would derive from the same Secrets.
    let spark_secret = base64::engine::general_purpose::STANDARD.encode(&secret);
    let local_secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: spark-secret\nstringData:\n  secret: \"{spark_secret}\"\n"
    );
    let run = Run::with_mock(&home, &manifest(), &[local_secret, keystore_yaml], &[]);
    run.wait_for("UI https://127.0.0.1:4440", Duration::from_secs(180));
    rt.block_on(forward_driver_ports(&cp, &pods));

    let (code, findings, all) = audit(&kubeconfig);
    assert_eq!(
        code, 0,
        "a secure application has nothing above info:\n{all}"
    );
    for id in [
        "SPK-AUD-RPC-006", // AES-GCM with the application's secret
        "SPK-AUD-RPC-007", // a wrong secret is refused
        "SPK-AUD-UI-003",  // TLS 1.3 facts
        "SPK-AUD-UI-008",  // HTTP only redirects
    ] {
        assert!(findings.contains_key(id), "{id} missing:\n{all}");
    }
    for id in [
        "SPK-AUD-UI-004",
        "SPK-AUD-UI-005",
        "SPK-AUD-RPC-001",
        "SPK-AUD-RPC-008",
    ] {
        assert!(!findings.contains_key(id), "unexpected {id}:\n{all}");
    }
    // The driver's RpcEnv and its block manager (NettyBlockTransferService, which once
    // looked like a cipher mismatch: it drops a probe it cannot decode without answering).
    let targets: Vec<&str> = findings["SPK-AUD-RPC-006"]
        .iter()
        .filter_map(|f| f["target"].as_str())
        .collect();
    assert_eq!(
        targets,
        [
            format!("pod/{DRIVER_POD}:7078"),
            format!("pod/{DRIVER_POD}:7079")
        ],
        "{all}"
    );
    assert!(
        !all.contains(&secret) && !all.contains(&spark_secret),
        "secret in output"
    );

    // `sparkop ui`: a local port whose TLS is the driver's, verified against its CA.
    let ca_file = tmp.path().join("ui-ca.crt");
    let mut ui = Command::new(sparkop())
        .args(["ui", APP, "--port", "0", "--ca-out"])
        .arg(&ca_file)
        .env("KUBECONFIG", &kubeconfig)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(tmp.path().join("ui.err")).expect("ui.err"))
        .spawn()
        .expect("sparkop ui");
    // The reader stays open while the forward is used (sparkop exits when stdout closes).
    let mut ui_out = BufReader::new(ui.stdout.take().expect("stdout"));
    let mut first = String::new();
    ui_out.read_line(&mut first).expect("read");
    let port: u16 = first
        .split("https://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no local URL in {first:?}"));
    let ca = std::fs::read(&ca_file).expect("ca");
    let negotiated = rt.block_on(sparkop_audit::tls::handshake(
        "127.0.0.1",
        port,
        Some(&ca),
        sparkop_audit::tls::Offer::Tls13Only,
        Duration::from_secs(10),
    ));
    let tls12 = rt.block_on(sparkop_audit::tls::handshake(
        "127.0.0.1",
        port,
        None,
        sparkop_audit::tls::Offer::Tls12Only,
        Duration::from_secs(10),
    ));
    let _ = Command::new("kill")
        .args(["-INT", &ui.id().to_string()])
        .status();
    let _ = ui.wait();
    drop(ui_out);
    let ui_err = std::fs::read_to_string(tmp.path().join("ui.err")).unwrap_or_default();
    let negotiated = negotiated.unwrap_or_else(|e| {
        panic!("TLS through sparkop ui, verified against the CA: {e}\nsparkop ui said:\n{ui_err}")
    });
    assert_eq!(negotiated.version, "TLSv1.3");
    assert!(negotiated.verified);
    assert!(tls12.is_err(), "TLS 1.2 through the forward: {tls12:?}");

    // With another secret in the cluster, the audit uses that one and the real driver refuses
    // it: proof that the audit holds the application's secret, not a made-up one.
    rt.block_on(set_secret(&admin, &format!("other{}", random_hex())));
    let (code, findings, all) = audit(&kubeconfig);
    assert_eq!(code, 1, "{all}");
    assert!(findings.contains_key("SPK-AUD-RPC-008"), "{all}");
    drop(run);
    drop(cp);
}
