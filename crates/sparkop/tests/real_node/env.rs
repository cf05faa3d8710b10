//! The real-node tier's shared environment: the cluster (control plane + real node, sparkop's
//! CRDs and the chart's RBAC for the Spark namespace), `sparkop operator` as its own process
//! with the operator's identity, and the helpers every scenario uses (the CLI as a user runs
//! it, waits with limits, pod logs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use kube::api::{Api, ListParams, LogParams};
use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::api::core::v1::Pod;
use sparkop_testcluster::{ControlPlane, Options, SPARK_NAMESPACE, User};

use crate::support::cluster::Operator;

/// The namespace the scenarios' applications run in.
pub const NS: &str = SPARK_NAMESPACE;

pub fn required() -> bool {
    std::env::var("SPARKOP_REQUIRE_REAL_NODE").is_ok_and(|v| v == "1")
}

pub struct Env {
    pub rt: tokio::runtime::Runtime,
    pub cp: ControlPlane,
    pub admin: kube::Client,
    /// The admin's kubeconfig: what a user's `sparkop` and `kubectl` use.
    pub kubeconfig: PathBuf,
    pub operator: Mutex<Option<Operator>>,
    /// Manifests the scenarios write.
    pub work: tempfile::TempDir,
}

impl Env {
    pub fn start() -> anyhow::Result<Env> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let cp = rt.block_on(ControlPlane::start(Options::real_node()))?;
        rt.block_on(cp.install_sparkop_for(NS))?;
        let admin = {
            let _g = rt.enter();
            cp.client(User::Admin)?
        };
        let kubeconfig = cp.write_kubeconfig(User::Admin)?;
        let operator = Operator::start_args(&cp, &["--namespace", NS]);
        Ok(Env {
            rt,
            cp,
            admin,
            kubeconfig,
            operator: Mutex::new(Some(operator)),
            work: tempfile::tempdir()?,
        })
    }

    pub fn apps(&self) -> Api<SparkApplication> {
        Api::namespaced(self.admin.clone(), NS)
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.admin.clone(), NS)
    }

    /// Writes a manifest into the work dir and returns its path.
    pub fn manifest(&self, name: &str, text: &str) -> anyhow::Result<PathBuf> {
        let path = self.work.path().join(name);
        std::fs::write(&path, text)?;
        Ok(path)
    }

    /// `sparkop ARGS` as the admin user; the output whatever its exit code.
    pub fn sparkop(&self, args: &[&str]) -> anyhow::Result<Output> {
        Command::new(assert_cmd::cargo::cargo_bin!("sparkop"))
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::null())
            .output()
            .context("running sparkop")
    }

    /// `sparkop ARGS` that must succeed; its stdout.
    pub fn sparkop_ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.sparkop(args)?;
        if !out.status.success() {
            bail!(
                "sparkop {} failed ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `kubectl ARGS` (built from the cluster's own module) as the admin user; its stdout.
    pub fn kubectl(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(self.cp.bin_dir().join("kubectl"))
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::null())
            .output()
            .context("running kubectl")?;
        if !out.status.success() {
            bail!(
                "kubectl {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `sparkop apply -f FILE...`.
    pub fn apply(&self, files: &[&Path]) -> anyhow::Result<()> {
        let mut args = vec!["apply".to_owned()];
        for f in files {
            args.push("-f".into());
            args.push(f.display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.sparkop_ok(&args).map(drop)
    }

    /// The application's state (`""` for NEW) and the whole status as JSON.
    pub fn status(&self, name: &str) -> (String, serde_json::Value) {
        let app = self.rt.block_on(self.apps().get_opt(name)).ok().flatten();
        let status = app
            .and_then(|a| a.status)
            .map(|s| serde_json::to_value(s).unwrap_or_default())
            .unwrap_or_default();
        let state = status["applicationState"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (state, status)
    }

    /// Waits until the application reaches one of `want` (and returns it), failing early on
    /// a terminal state that is not wanted.
    pub fn wait_state(&self, name: &str, want: &[&str], limit: Duration) -> anyhow::Result<String> {
        let start = Instant::now();
        loop {
            let (state, status) = self.status(name);
            if want.contains(&state.as_str()) {
                return Ok(state);
            }
            let terminal = ["COMPLETED", "FAILED", "SUBMISSION_FAILED"];
            if terminal.contains(&state.as_str()) && !want.iter().any(|w| terminal.contains(w)) {
                bail!("{name} ended {state}, not {want:?}: {status:#}");
            }
            if start.elapsed() > limit {
                bail!(
                    "{name} did not reach {want:?} within {limit:?}; it is {state:?}: {status:#}"
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Pods of an application, by role (`driver` or `executor`).
    pub fn pods_of(&self, app: &str, role: &str) -> anyhow::Result<Vec<Pod>> {
        let lp = ListParams::default().labels(&format!(
            "sparkoperator.k8s.io/app-name={app},spark-role={role}"
        ));
        Ok(self.rt.block_on(self.pods().list(&lp))?.items)
    }

    /// A pod's log (all of it).
    pub fn pod_log(&self, pod: &str) -> anyhow::Result<String> {
        Ok(self
            .rt
            .block_on(self.pods().logs(pod, &LogParams::default()))?)
    }

    /// Kills the running operator (SIGKILL) and starts a new one.
    pub fn restart_operator(&self) {
        let mut slot = self.operator.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(op) = slot.take() {
            op.kill();
        }
        *slot = Some(Operator::start_args(&self.cp, &["--namespace", NS]));
    }

    /// The operator's log so far.
    pub fn operator_log(&self) -> String {
        std::fs::read_to_string(self.cp.dir().join("logs/operator.log")).unwrap_or_default()
    }

    /// On failure: the tails of the components' logs, to see why.
    pub fn dump_logs(&self) {
        for c in [
            "operator",
            "kubelet",
            "containerd",
            "coredns",
            "kube-apiserver",
        ] {
            let path = self.cp.dir().join(format!("logs/{c}.log"));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!("---- {} (last 15 lines)", path.display());
            for l in &lines[lines.len().saturating_sub(15)..] {
                eprintln!("{l}");
            }
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // The operator before the cluster it talks to.
        self.operator
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
}
