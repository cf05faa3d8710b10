//! A real control plane for CLI tests: sparkop installed as the chart does, a Secret for the
//! guide's example, and `sparkop operator` as its own process with the operator's identity.

use std::process::{Child, Command, Stdio};

use kube::api::{Api, PostParams};
use serde_json::json;
use sparkop_api::k8s_openapi::api::core::v1::Secret;
use sparkop_testcluster::{ControlPlane, User};

pub fn k8s_required() -> bool {
    std::env::var("SPARKOP_REQUIRE_K8S").is_ok_and(|v| v == "1")
}

/// `sparkop operator` as its own process, with the operator ServiceAccount's kubeconfig.
pub struct Operator(pub Child);

impl Operator {
    pub fn start(cp: &ControlPlane) -> Operator {
        Self::start_with(cp, &[])
    }

    pub fn start_with(cp: &ControlPlane, extra: &[&str]) -> Operator {
        // The default namespace unless the test chooses namespaces itself.
        let scope: &[&str] = if extra.contains(&"--namespace-selector") {
            &[]
        } else {
            &["--namespace", "default"]
        };
        Self::start_args(cp, &[scope, extra].concat())
    }

    /// `sparkop operator ARGS` (metrics on a free port, a 10-minute submitted timeout).
    pub fn start_args(cp: &ControlPlane, args: &[&str]) -> Operator {
        let kubeconfig = cp.write_kubeconfig(User::Operator).expect("kubeconfig");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(cp.dir().join("logs/operator.log"))
            .expect("log");
        let child = Command::new(assert_cmd::cargo::cargo_bin!("sparkop"))
            .args([
                "operator",
                "--metrics-addr",
                "127.0.0.1:0",
                "--submitted-timeout",
                "600",
            ])
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("sparkop operator");
        Operator(child)
    }

    pub fn kill(mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn setup() -> Option<(ControlPlane, kube::Client)> {
    let cp = match ControlPlane::start(Default::default()).await {
        Ok(cp) => cp,
        Err(sparkop_testcluster::ClusterError::NoBinaries(why)) if !k8s_required() => {
            eprintln!("skipping: {why}");
            return None;
        }
        Err(e) => panic!("{e}"),
    };
    let admin = cp.client(User::Admin).expect("admin");
    sparkop_testcluster::install_sparkop(&admin)
        .await
        .expect("install");
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "spark-secret"},
        "stringData": {"secret": "fault-test-secret"}
    }))
    .expect("secret");
    Api::<Secret>::namespaced(admin.clone(), "default")
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret");
    Some((cp, admin))
}
