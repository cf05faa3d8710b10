//! Real node: the same SparkPi, N times each, through `sparkop apply` + `sparkop operator` and
//! through plain `spark-submit --deploy-mode cluster` (Spark 4.3.0 from PyPI), against the same
//! API server and the same real node, one after the other in one run. Reports, per path, the
//! time from the command to the driver pod Running and to the end of the application (sparkop:
//! COMPLETED; spark-submit: the driver pod Succeeded), as medians and ratios.
//!
//! The two are not equally secure: sparkop's run has authentication, AES-GCM, I/O encryption
//! and a TLS UI (its defaults), spark-submit's has none. Both request 500m CPU for the driver
//! and one executor, and run under the namespace's `restricted` Pod Security profile
//! (spark-submit through pod templates that carry the security context).
//!
//! `cargo bench -p sparkop --bench real_node` (root; after scripts/build-test-cluster,
//! scripts/build-spark-image 4.3.0 and `sparkop spark install 4.3.0`). `SPARKOP_BENCH_N`
//! (default 3) runs of each.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::{Api, ListParams};
use serde_json::json;
use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::api::core::v1::Pod;
use sparkop_testcluster::{ControlPlane, Options, SPARK_NAMESPACE as NS, User};

fn sparkop() -> PathBuf {
    // The bench binary lives in target/release/deps; the CLI beside target/release.
    let exe = std::env::current_exe().expect("exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let release = dir.join("sparkop");
    assert!(
        release.exists(),
        "{} is missing: cargo build --release -p sparkop first",
        release.display()
    );
    release
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Polls until `f` returns true (100 ms steps, `limit` at most); the time it took.
async fn until<F, Fut>(start: Instant, limit: Duration, what: &str, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        if f().await {
            return start.elapsed().as_secs_f64();
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn pod_phase(pods: &Api<Pod>, selector: &str) -> Option<String> {
    let list = pods
        .list(&ListParams::default().labels(selector))
        .await
        .ok()?;
    list.items.into_iter().next()?.status?.phase
}

fn restricted_template(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("restricted.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Pod\nspec:\n  securityContext:\n    runAsNonRoot: true\n    \
         runAsUser: 185\n    seccompProfile: {type: RuntimeDefault}\n  containers:\n  - name: \
         spark\n    securityContext:\n      allowPrivilegeEscalation: false\n      \
         capabilities: {drop: [ALL]}\n",
    )
    .expect("template");
    path
}

fn main() {
    let n: usize = std::env::var("SPARKOP_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let home = Command::new(sparkop())
        .args(["spark", "home", "4.3.0"])
        .output()
        .expect("sparkop spark home");
    let spark_home = PathBuf::from(String::from_utf8_lossy(&home.stdout).trim());
    assert!(
        spark_home.join("bin/spark-submit").exists(),
        "Spark 4.3.0 is not installed: sparkop spark install 4.3.0"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let cp = rt
        .block_on(ControlPlane::start(Options::real_node()))
        .expect("cluster");
    rt.block_on(cp.install_sparkop_for(NS)).expect("install");
    let kubeconfig = cp.write_kubeconfig(User::Admin).expect("kubeconfig");
    let operator_kubeconfig = cp.write_kubeconfig(User::Operator).expect("kubeconfig");
    let log = std::fs::File::create(cp.dir().join("logs/operator.log")).expect("log");
    let mut operator = Command::new(sparkop())
        .args(["operator", "-n", NS, "--metrics-addr", "127.0.0.1:0"])
        .env("KUBECONFIG", &operator_kubeconfig)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("operator");
    let work = tempfile::tempdir().expect("tmp");
    let template = restricted_template(work.path());
    let client = {
        let _g = rt.enter();
        cp.client(User::Admin).expect("client")
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let apps: Api<SparkApplication> = Api::namespaced(client, NS);
    let limit = Duration::from_secs(600);
    let mut ours = (Vec::new(), Vec::new());
    let mut theirs = (Vec::new(), Vec::new());
    for i in 0..n {
        // sparkop
        let name = format!("bench-sparkop-{i}");
        let manifest = json!({
            "apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication",
            "metadata": {"name": name, "namespace": NS},
            "spec": {
                "type": "Scala", "mode": "cluster", "sparkVersion": "4.3.0",
                "image": "apache/spark:4.3.0",
                "mainClass": "org.apache.spark.examples.SparkPi",
                "mainApplicationFile": "local:///opt/spark/examples/jars/spark-examples.jar",
                "arguments": ["4"],
                "driver": {"cores": 1, "coreRequest": "500m", "memory": "512m", "serviceAccount": "spark"},
                "executor": {"cores": 1, "coreRequest": "500m", "instances": 1, "memory": "512m"},
            },
        });
        let file = work.path().join(format!("{name}.json"));
        std::fs::write(&file, manifest.to_string()).expect("manifest");
        let start = Instant::now();
        let ok = Command::new(sparkop())
            .arg("apply")
            .arg("-f")
            .arg(&file)
            .env("KUBECONFIG", &kubeconfig)
            .stdout(Stdio::null())
            .status()
            .expect("apply");
        assert!(ok.success());
        let selector = format!("spark-app-name={name},spark-role=driver");
        let running = rt.block_on(until(start, limit, "the driver Running", || async {
            matches!(
                pod_phase(&pods, &selector).await.as_deref(),
                Some("Running" | "Succeeded")
            )
        }));
        let done = rt.block_on(until(start, limit, "COMPLETED", || async {
            let state = apps
                .get(&name)
                .await
                .ok()
                .and_then(|a| a.status)
                .map(|s| s.application_state.state);
            assert_ne!(
                state,
                Some(sparkop_api::types::status::ApplicationStateType::Failed),
                "{name} failed"
            );
            state == Some(sparkop_api::types::status::ApplicationStateType::Completed)
        }));
        ours.0.push(running);
        ours.1.push(done);

        // spark-submit, cluster mode, from this machine against the same API server.
        let name = format!("bench-submit-{i}");
        let start = Instant::now();
        let status = Command::new(spark_home.join("bin/spark-submit"))
            .args(["--master", &format!("k8s://{}", cp.url())])
            .args(["--deploy-mode", "cluster", "--name", &name])
            .args(["--class", "org.apache.spark.examples.SparkPi"])
            .args(["--conf", &format!("spark.kubernetes.namespace={NS}")])
            .args([
                "--conf",
                "spark.kubernetes.authenticate.driver.serviceAccountName=spark",
            ])
            .args([
                "--conf",
                "spark.kubernetes.container.image=apache/spark:4.3.0",
            ])
            .args([
                "--conf",
                "spark.kubernetes.submission.waitAppCompletion=false",
            ])
            .args(["--conf", "spark.kubernetes.driver.request.cores=500m"])
            .args(["--conf", "spark.kubernetes.executor.request.cores=500m"])
            .args(["--conf", "spark.executor.instances=1"])
            .args(["--conf", "spark.driver.memory=512m"])
            .args(["--conf", "spark.executor.memory=512m"])
            .args([
                "--conf",
                &format!(
                    "spark.kubernetes.driver.podTemplateFile={}",
                    template.display()
                ),
            ])
            .args([
                "--conf",
                &format!(
                    "spark.kubernetes.executor.podTemplateFile={}",
                    template.display()
                ),
            ])
            .arg("local:///opt/spark/examples/jars/spark-examples.jar")
            .arg("4")
            .env("KUBECONFIG", &kubeconfig)
            .env("SPARK_LOCAL_IP", "127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("spark-submit");
        assert!(status.success(), "spark-submit failed");
        let selector = format!("spark-app-name={name},spark-role=driver");
        let running = rt.block_on(until(start, limit, "the driver Running", || async {
            matches!(
                pod_phase(&pods, &selector).await.as_deref(),
                Some("Running" | "Succeeded")
            )
        }));
        let done = rt.block_on(until(start, limit, "Succeeded", || async {
            let phase = pod_phase(&pods, &selector).await;
            assert_ne!(phase.as_deref(), Some("Failed"), "{name} failed");
            phase.as_deref() == Some("Succeeded")
        }));
        theirs.0.push(running);
        theirs.1.push(done);
        eprintln!(
            "run {i}: sparkop {:.1} s / {:.1} s, spark-submit {:.1} s / {:.1} s",
            ours.0[i], ours.1[i], theirs.0[i], theirs.1[i]
        );
    }
    let _ = operator.kill();
    let _ = operator.wait();
    let (o_run, o_done) = (median(ours.0), median(ours.1));
    let (t_run, t_done) = (median(theirs.0), median(theirs.1));
    println!("| path | to driver Running (median) | to the end (median) |");
    println!("|---|---|---|");
    println!(
        "| sparkop apply + operator (auth, AES-GCM, I/O encryption, UI TLS) | {o_run:.1} s | {o_done:.1} s |"
    );
    println!("| spark-submit --deploy-mode cluster (no security) | {t_run:.1} s | {t_done:.1} s |");
    println!(
        "| ratio spark-submit / sparkop | {:.2}x | {:.2}x |",
        t_run / o_run,
        t_done / o_done
    );
    println!("\n{n} run(s) of each, one after the other, the same API server and node.");
}
