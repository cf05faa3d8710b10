//! Time to produce one driver's objects: sparkop's pure builders (plan + objects) against
//! `spark-submit --deploy-mode cluster` (pyspark 4.3.0) talking to the same recording API
//! server, side by side in one run. `cargo bench -p sparkop-operator --bench builders`.

use std::process::Command;
use std::time::{Duration, Instant};

use sparkop_testcluster::recorder::RecordingServer;

const AUTH_EXAMPLE: &str = include_str!("../../../examples/auth-encryption.yaml");

fn main() {
    let loaded = sparkop_api::manifest::load_str("t.yaml", AUTH_EXAMPLE, Default::default());
    let sparkop_api::manifest::Object::SparkApplication(app) = &loaded.documents[0].object else {
        panic!("not an application")
    };
    let build = || {
        let plan = sparkop_core::plan(app).expect("plan");
        let (auth_secret, ui_keystore_secret, _) = sparkop_operator::build::secret_choice(&plan);
        let ctx = sparkop_operator::build::Context {
            uid: "u".into(),
            attempt: 0,
            auth_secret,
            ui_keystore_secret,
        };
        sparkop_operator::build::driver_objects(app, &plan, &ctx).expect("objects")
    };
    for _ in 0..200 {
        std::hint::black_box(build());
    }
    let n = 5000;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(build());
    }
    let ours = start.elapsed() / n;

    let cache = sparkop_local::install::cache_dir();
    let Some(home) = sparkop_local::install::installed(&cache, "4.3.0").map(|h| h.home) else {
        println!(
            "builders: {:.1} µs per driver; spark-submit: Spark 4.3.0 not installed",
            ours.as_secs_f64() * 1e6
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let server = rt.block_on(RecordingServer::start()).expect("server");
    let conf = tempfile::tempdir().expect("tmp");
    let mut runs = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let ok = Command::new(home.join("bin/spark-submit"))
            .args([
                "--master",
                &format!("k8s://http://127.0.0.1:{}", server.port),
                "--deploy-mode",
                "cluster",
            ])
            .args(["--name", "spark-pi", "--class", "MockTaskRunner"])
            .args([
                "--conf",
                "spark.kubernetes.container.image=apache/spark:4.3.0",
            ])
            .args([
                "--conf",
                "spark.kubernetes.submission.waitAppCompletion=false",
            ])
            .args([
                "--conf",
                "spark.authenticate=true",
                "--conf",
                "spark.network.crypto.enabled=true",
            ])
            .args([
                "local:///opt/sparkop/examples/mock-task-runner.jar",
                "1",
                "600",
            ])
            .env("SPARK_HOME", &home)
            .env("SPARK_CONF_DIR", conf.path())
            .env("SPARK_LOCAL_IP", "127.0.0.1")
            .output()
            .expect("spark-submit")
            .status
            .success();
        assert!(ok, "spark-submit failed");
        runs.push(start.elapsed());
    }
    runs.sort();
    let theirs: Duration = runs[1];
    println!("| measurement | sparkop builders | spark-submit (median of 3) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| one driver's objects (Pod, ConfigMap, Services, NetworkPolicy) | {:.1} µs (mean of {n}) | {:.2} s | {:.0}× faster |",
        ours.as_secs_f64() * 1e6,
        theirs.as_secs_f64(),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
}
