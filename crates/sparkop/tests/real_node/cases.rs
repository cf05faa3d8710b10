//! The scenarios of the real-node tier, each as a user would run it: manifests through
//! `sparkop apply`, the operator running, results read back through `sparkop` and the API.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use kube::api::PostParams;
use serde_json::{Value, json};
use sparkop_api::k8s_openapi::api::core::v1::{ConfigMap, Pod};

use crate::env::{Env, NS};

pub type Case = fn(&Env) -> anyhow::Result<()>;

/// Every scenario, in the order they run.
pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        (
            "guide_auth_encryption_app_completes_with_authenticated_executors",
            guide_auth_encryption,
        ),
        ("spark_pi_from_the_examples_jar_completes", spark_pi),
        ("python_pi_completes", python_pi),
        (
            "config_map_volume_and_core_request_limit_reach_the_real_pod",
            config_map_and_cores,
        ),
        (
            "missing_service_account_exhausts_submission_retries",
            missing_service_account,
        ),
        ("failing_driver_exhausts_execution_retries", failing_driver),
        (
            "operator_killed_mid_run_adopts_the_driver",
            operator_killed_mid_run,
        ),
        (
            "the_wire_carries_no_plaintext_unless_security_is_off",
            encryption_on_the_wire,
        ),
        (
            "a_rogue_executor_with_another_secret_is_refused_and_reported",
            rogue_executor,
        ),
        (
            "the_ui_serves_tls_1_3_only_to_a_browser_trusting_the_ca",
            ui_over_tls,
        ),
        (
            "audit_app_reports_only_info_for_the_driver_and_every_executor",
            audit_live_app,
        ),
    ]
}

const AUTH_EXAMPLE: &str = include_str!("../../../../examples/auth-encryption.yaml");
const START: Duration = Duration::from_secs(180);
const RUN: Duration = Duration::from_secs(300);

/// The guide's example (examples/auth-encryption.yaml) in the Spark namespace, with a short job.
fn guide_manifest(name: &str, tasks: u32, seconds: u32) -> anyhow::Result<String> {
    let text = AUTH_EXAMPLE
        .replace("namespace: default", &format!("namespace: {NS}"))
        .replace(
            "name: spark-rpc-auth-encryption-app",
            &format!("name: {name}"),
        )
        .replace(
            "  arguments:\n    - \"1\"\n    - \"600\"\n",
            &format!("  arguments:\n    - \"{tasks}\"\n    - \"{seconds}\"\n"),
        );
    ensure!(
        text.contains(&format!("name: {name}")) && text.contains(&format!("- \"{seconds}\"")),
        "examples/auth-encryption.yaml changed; update this test"
    );
    Ok(text)
}

/// A small application of the test image, with `spec` laid over a default that fits the
/// node's two CPUs (driver and executors request 500m).
fn app(name: &str, spec: Value) -> String {
    let mut base = json!({
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "type": "Scala",
            "mode": "cluster",
            "sparkVersion": "4.3.0",
            "image": "apache/spark:4.3.0",
            "restartPolicy": {"type": "Never"},
            "driver": {"cores": 1, "coreRequest": "500m", "memory": "512m", "serviceAccount": "spark"},
            "executor": {"cores": 1, "coreRequest": "500m", "instances": 1, "memory": "512m"},
        },
    });
    merge(&mut base["spec"], spec);
    serde_json::to_string_pretty(&base).unwrap_or_default()
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

/// Applies an application manifest.
fn apply_app(env: &Env, name: &str, text: &str) -> anyhow::Result<()> {
    let path = env.manifest(&format!("{name}.json"), text)?;
    env.apply(&[&path])
}

/// Waits until at least one executor pod of `app` exists and returns them.
fn wait_executors(env: &Env, app: &str) -> anyhow::Result<Vec<Pod>> {
    let start = Instant::now();
    loop {
        let pods = env.pods_of(app, "executor")?;
        if !pods.is_empty() {
            return Ok(pods);
        }
        if start.elapsed() > START {
            bail!("no executor pod of {app} within {START:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn logs(env: &Env, name: &str) -> anyhow::Result<String> {
    env.sparkop_ok(&["logs", name, "-n", NS])
        .context("sparkop logs")
}

fn guide_auth_encryption(env: &Env) -> anyhow::Result<()> {
    let name = "guide-auth";
    let secret = env.sparkop_ok(&[
        "secret",
        "create",
        "spark-secret",
        "-n",
        NS,
        "--random",
        "secret",
    ])?;
    let secret = env.manifest("spark-secret.yaml", &secret)?;
    let app = env.manifest("guide-auth.yaml", &guide_manifest(name, 2, 5)?)?;
    env.apply(&[&secret, &app])?;
    env.wait_state(name, &["RUNNING"], START)?;
    // Spark itself creates the executor pods, from sparkop's template.
    let executors = wait_executors(env, name)?;
    ensure!(
        executors[0]
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.kind == "Pod"),
        "executor pods are owned by the driver pod (Spark created them)"
    );
    // Spark deletes its executor pods at the end: keep what they were now.
    let executor_json = serde_json::to_string(&executors)?;
    for e in &executors {
        let env_names: Vec<&str> = e
            .spec
            .iter()
            .flat_map(|s| &s.containers)
            .flat_map(|c| c.env.iter().flatten())
            .map(|v| v.name.as_str())
            .collect();
        ensure!(
            !env_names.contains(&"_SPARK_AUTH_SECRET"),
            "Spark put the secret into an executor's environment: {env_names:?}"
        );
    }
    env.wait_state(name, &["COMPLETED"], RUN)?;
    let log = logs(env, name)?;
    no_secret_anywhere(
        env,
        &[
            ("spark-secret", "the RPC secret"),
            (&format!("{name}-sparkop-ui-tls"), "the UI keystore"),
        ],
        &[
            ("executor pods (as Spark created them)", executor_json),
            ("sparkop logs", log.clone()),
        ],
    )?;
    restricted_is_enforced(env)?;
    ensure!(
        log.contains("MockTaskRunner: 2 task(s) of 5 s finished"),
        "the job's output is missing from `sparkop logs`:\n{log}"
    );
    ensure!(
        log.contains("Authorization successful for client"),
        "no executor authenticated in the driver's log:\n{log}"
    );
    Ok(())
}

fn spark_pi(env: &Env) -> anyhow::Result<()> {
    let name = "spark-pi";
    let text = app(
        name,
        json!({
            "mainClass": "org.apache.spark.examples.SparkPi",
            "mainApplicationFile": "local:///opt/spark/examples/jars/spark-examples.jar",
            "arguments": ["4"],
        }),
    );
    apply_app(env, name, &text)?;
    env.wait_state(name, &["COMPLETED"], START + RUN)?;
    let log = logs(env, name)?;
    ensure!(
        log.contains("Pi is roughly 3"),
        "no result in the driver log:\n{log}"
    );
    Ok(())
}

fn python_pi(env: &Env) -> anyhow::Result<()> {
    let name = "python-pi";
    let text = app(
        name,
        json!({
            "type": "Python",
            "mainApplicationFile": "local:///opt/spark/examples/src/main/python/pi.py",
            "arguments": ["4"],
        }),
    );
    apply_app(env, name, &text)?;
    env.wait_state(name, &["COMPLETED"], START + RUN)?;
    let log = logs(env, name)?;
    ensure!(
        log.contains("Pi is roughly 3"),
        "no result in the driver log:\n{log}"
    );
    Ok(())
}

fn config_map_and_cores(env: &Env) -> anyhow::Result<()> {
    let name = "with-config";
    let cm: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "app-settings", "namespace": NS},
        "data": {"settings.txt": "mode=real-node\n"},
    }))?;
    let cms = kube::Api::<ConfigMap>::namespaced(env.admin.clone(), NS);
    env.rt.block_on(cms.create(&PostParams::default(), &cm))?;
    let text = app(
        name,
        json!({
            "mainClass": "MockTaskRunner",
            "mainApplicationFile": "local:///opt/sparkop/examples/mock-task-runner.jar",
            "arguments": ["1", "20"],
            "driver": {"coreRequest": "250m", "coreLimit": "1500m",
                       "configMaps": [{"name": "app-settings", "path": "/etc/app"}]},
            "executor": {"coreRequest": "300m", "coreLimit": "1",
                         "configMaps": [{"name": "app-settings", "path": "/etc/app"}]},
        }),
    );
    apply_app(env, name, &text)?;
    env.wait_state(name, &["RUNNING"], START)?;
    let executor = wait_executors(env, name)?
        .into_iter()
        .next()
        .context("an executor")?;
    let driver = format!("{name}-0-driver");
    let exec_name = executor.metadata.name.clone().unwrap_or_default();
    for (pod, request, limit) in [(&driver, "250m", "1500m"), (&exec_name, "300m", "1")] {
        let p = wait_running(env, pod)?;
        let c = &p.spec.as_ref().context("spec")?.containers[0];
        let res = c.resources.as_ref().context("resources")?;
        let req = res
            .requests
            .as_ref()
            .and_then(|r| r.get("cpu"))
            .map(|q| q.0.clone());
        let lim = res
            .limits
            .as_ref()
            .and_then(|r| r.get("cpu"))
            .map(|q| q.0.clone());
        ensure!(
            req.as_deref() == Some(request) && lim.as_deref() == Some(limit),
            "{pod}: cpu request {req:?} limit {lim:?}, want {request} / {limit}"
        );
        let file = env.kubectl(&["exec", "-n", NS, pod, "--", "cat", "/etc/app/settings.txt"])?;
        ensure!(
            file == "mode=real-node\n",
            "{pod}: /etc/app/settings.txt is {file:?}"
        );
        // The cgroup the kubelet made holds the limit: 1500m is a quota of 150000 µs per
        // 100000 µs period.
        let quota = env.kubectl(&[
            "exec",
            "-n",
            NS,
            pod,
            "--",
            "cat",
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        ])?;
        let want = if limit == "1" { "100000" } else { "150000" };
        ensure!(
            quota.trim() == want,
            "{pod}: cfs quota {quota:?}, want {want}"
        );
    }
    env.wait_state(name, &["COMPLETED"], RUN)?;
    Ok(())
}

/// Waits until the pod runs and returns it.
fn wait_running(env: &Env, pod: &str) -> anyhow::Result<Pod> {
    let start = Instant::now();
    loop {
        if let Some(p) = env.rt.block_on(env.pods().get_opt(pod))?
            && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        {
            return Ok(p);
        }
        if start.elapsed() > START {
            bail!("{pod} is not Running within {START:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn missing_service_account(env: &Env) -> anyhow::Result<()> {
    let name = "no-such-sa";
    let text = app(
        name,
        json!({
            "mainClass": "org.apache.spark.examples.SparkPi",
            "mainApplicationFile": "local:///opt/spark/examples/jars/spark-examples.jar",
            "driver": {"serviceAccount": "does-not-exist"},
            "restartPolicy": {"type": "OnFailure", "onSubmissionFailureRetries": 2,
                              "onSubmissionFailureRetryInterval": 1, "onFailureRetries": 0},
        }),
    );
    apply_app(env, name, &text)?;
    env.wait_state(name, &["FAILED"], START)?;
    let (_, status) = env.status(name);
    ensure!(
        status["submissionAttempts"] == 3,
        "submissionAttempts should be retries + 1 = 3: {status:#}"
    );
    let message = status["applicationState"]["errorMessage"]
        .as_str()
        .unwrap_or_default();
    ensure!(
        message.contains("does-not-exist"),
        "the error should name the missing ServiceAccount: {message:?}"
    );
    Ok(())
}

fn failing_driver(env: &Env) -> anyhow::Result<()> {
    let name = "failing-driver";
    // MockTaskRunner exits 2 on a bad argument count.
    let text = app(
        name,
        json!({
            "mainClass": "MockTaskRunner",
            "mainApplicationFile": "local:///opt/sparkop/examples/mock-task-runner.jar",
            "arguments": ["not-a-number"],
            "restartPolicy": {"type": "OnFailure", "onFailureRetries": 1,
                              "onFailureRetryInterval": 1, "onSubmissionFailureRetries": 0},
        }),
    );
    apply_app(env, name, &text)?;
    env.wait_state(name, &["FAILED"], START + RUN)?;
    let (_, status) = env.status(name);
    ensure!(
        status["executionAttempts"] == 2,
        "executionAttempts should be retries + 1 = 2: {status:#}"
    );
    let message = status["applicationState"]["errorMessage"]
        .as_str()
        .unwrap_or_default();
    ensure!(
        message.to_lowercase().contains("driver"),
        "the message should say the driver failed: {message:?}"
    );
    Ok(())
}

fn operator_killed_mid_run(env: &Env) -> anyhow::Result<()> {
    let name = "operator-killed";
    let text = app(
        name,
        json!({
            "mainClass": "MockTaskRunner",
            "mainApplicationFile": "local:///opt/sparkop/examples/mock-task-runner.jar",
            "arguments": ["1", "25"],
        }),
    );
    apply_app(env, name, &text)?;
    env.wait_state(name, &["RUNNING"], START)?;
    wait_executors(env, name)?;
    env.restart_operator();
    env.wait_state(name, &["COMPLETED"], RUN)?;
    let drivers = env.pods_of(name, "driver")?;
    let names: Vec<_> = drivers
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    ensure!(
        names == [format!("{name}-0-driver")],
        "exactly one driver: {names:?}"
    );
    let (_, status) = env.status(name);
    ensure!(
        status["submissionAttempts"] == 1,
        "submitted once: {status:#}"
    );
    Ok(())
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).unwrap_or_default();
    hex::encode(b)
}

/// Every value of a Secret, raw and as the base64 Spark makes of a secret file's bytes.
fn secret_values(env: &Env, name: &str) -> anyhow::Result<Vec<String>> {
    use base64::Engine as _;
    let secrets = kube::Api::<sparkop_api::k8s_openapi::api::core::v1::Secret>::namespaced(
        env.admin.clone(),
        NS,
    );
    let s = env.rt.block_on(secrets.get(name))?;
    let mut out = Vec::new();
    for v in s.data.into_iter().flatten().map(|(_, v)| v.0) {
        if v.len() < 8 {
            continue;
        }
        out.push(base64::engine::general_purpose::STANDARD.encode(&v));
        if let Ok(text) = String::from_utf8(v) {
            out.push(text);
        }
    }
    ensure!(!out.is_empty(), "Secret {name} holds no value");
    Ok(out)
}

/// A packet capture on the pod bridge (inside the cluster's network namespace) while `run`
/// runs; returns the captured bytes.
fn capture_while(env: &Env, run: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<Vec<u8>> {
    let netns = env
        .cp
        .netns()
        .context("the cluster has a network namespace")?;
    let file = env
        .work
        .path()
        .join(format!("capture-{}.pcap", random_hex(4)));
    let mut tcpdump = std::process::Command::new("nsenter")
        .arg(format!("--net=/run/netns/{netns}"))
        .args([
            "--",
            "tcpdump",
            "-i",
            sparkop_testcluster::node::BRIDGE,
            "-U",
            "-s",
            "0",
            "-w",
        ])
        .arg(&file)
        .arg("tcp")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("tcpdump")?;
    // tcpdump says "listening on" once the capture runs.
    let mut err = tcpdump.stderr.take().context("stderr")?;
    let mut seen = Vec::new();
    let start = Instant::now();
    while !String::from_utf8_lossy(&seen).contains("listening on") {
        let mut buf = [0u8; 256];
        let n = std::io::Read::read(&mut err, &mut buf)?;
        ensure!(
            n > 0 && start.elapsed() < START,
            "tcpdump did not start: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    let result = run();
    // SIGINT: tcpdump flushes and closes the file.
    let _ = std::process::Command::new("kill")
        .args(["-INT", &tcpdump.id().to_string()])
        .status();
    let _ = tcpdump.wait();
    result?;
    Ok(std::fs::read(&file)?)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn encryption_on_the_wire(env: &Env) -> anyhow::Result<()> {
    let marker = format!("SPARKOP-MARKER-{}", random_hex(6));
    let job = |name: &str, extra: Value| {
        let mut spec = json!({
            "mainClass": "MockTaskRunner",
            "mainApplicationFile": "local:///opt/sparkop/examples/mock-task-runner.jar",
            "arguments": ["3", "1", marker],
        });
        merge(&mut spec, extra);
        app(name, spec)
    };
    // sparkop's defaults: a generated secret, AES-GCM, I/O encryption.
    let secure = "wire-secure";
    let pcap = capture_while(env, || {
        apply_app(env, secure, &job(secure, json!({})))?;
        env.wait_state(secure, &["COMPLETED"], START + RUN)
            .map(drop)
    })?;
    ensure!(
        pcap.len() > 10_000,
        "the capture is nearly empty ({} bytes)",
        pcap.len()
    );
    ensure!(
        !contains(&pcap, &marker),
        "the marker crossed the bridge in plaintext"
    );
    for v in secret_values(env, &format!("{secure}-sparkop-auth"))? {
        ensure!(!contains(&pcap, &v), "the RPC secret crossed the bridge");
    }
    let log = logs(env, secure)?;
    ensure!(log.contains("3 task(s) of 1 s finished"), "{log}");
    // The control: security explicitly off, the same job shows its marker on the wire.
    let open = "wire-open";
    let off = json!({"security": {
        "authentication": {"enabled": false},
        "encryption": {"mode": "Disabled"},
        "ioEncryption": false,
        "ui": {"tls": {"enabled": false}},
    }});
    let pcap = capture_while(env, || {
        apply_app(env, open, &job(open, off))?;
        env.wait_state(open, &["COMPLETED"], START + RUN).map(drop)
    })?;
    ensure!(
        contains(&pcap, &marker),
        "the control run's marker is not in its capture: the capture proves nothing"
    );
    Ok(())
}

fn rogue_executor(env: &Env) -> anyhow::Result<()> {
    let name = "rogue-target";
    let text = app(
        name,
        json!({
            "mainClass": "MockTaskRunner",
            "mainApplicationFile": "local:///opt/sparkop/examples/mock-task-runner.jar",
            "arguments": ["1", "40"],
        }),
    );
    apply_app(env, name, &text)?;
    env.wait_state(name, &["RUNNING"], START)?;
    wait_executors(env, name)?;
    let driver = wait_running(env, &format!("{name}-0-driver"))?;
    let ip = driver
        .status
        .and_then(|s| s.pod_ip)
        .context("the driver's IP")?;
    // An executor of the same image with its own secret, as restricted as sparkop's pods.
    let rogue: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "rogue-executor", "namespace": NS},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": false,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 185,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "rogue", "image": "apache/spark:4.3.0", "args": ["executor"],
                "securityContext": {"allowPrivilegeEscalation": false,
                                    "capabilities": {"drop": ["ALL"]}},
                "env": [
                    {"name": "SPARK_DRIVER_URL", "value": format!("spark://CoarseGrainedScheduler@{ip}:7078")},
                    {"name": "SPARK_EXECUTOR_ID", "value": "99"},
                    {"name": "SPARK_EXECUTOR_CORES", "value": "1"},
                    {"name": "SPARK_EXECUTOR_MEMORY", "value": "256m"},
                    {"name": "SPARK_APPLICATION_ID", "value": "spark-rogue"},
                    {"name": "SPARK_EXECUTOR_POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "SPARK_JAVA_OPT_0", "value": "-Dspark.authenticate=true"},
                    {"name": "SPARK_JAVA_OPT_1", "value": "-Dspark.network.crypto.enabled=true"},
                    {"name": "SPARK_JAVA_OPT_2", "value": "-Dspark.driver.port=7078"},
                    {"name": "_SPARK_AUTH_SECRET", "value": "definitely-the-wrong-secret"},
                ],
                "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}},
            }],
        },
    }))?;
    env.rt
        .block_on(env.pods().create(&PostParams::default(), &rogue))?;
    // The rogue gives up: it never registers.
    let start = Instant::now();
    loop {
        let p = env.rt.block_on(env.pods().get("rogue-executor"))?;
        let phase = p.status.and_then(|s| s.phase).unwrap_or_default();
        if phase == "Failed" || phase == "Succeeded" {
            break;
        }
        ensure!(start.elapsed() < RUN, "the rogue executor is still {phase}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let rogue_log = env.pod_log("rogue-executor")?;
    ensure!(
        rogue_log.contains("auth") || rogue_log.contains("Auth"),
        "the rogue's log does not show an authentication failure:\n{rogue_log}"
    );
    let log = logs(env, name)?;
    ensure!(
        log.contains("Authentication failed for client"),
        "the driver did not log the refusal:\n{log}"
    );
    // The operator reports it: an Event on the application naming the peer.
    let start = Instant::now();
    loop {
        let events = env.kubectl(&[
            "get",
            "events.events.k8s.io",
            "-n",
            NS,
            "-o",
            "json",
            "--field-selector",
            &format!("regarding.name={name}"),
        ])?;
        if events.contains("refused") && events.contains("10.244.0.") {
            break;
        }
        ensure!(
            start.elapsed() < Duration::from_secs(60),
            "no Event reports the refused connection:\n{events}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    env.wait_state(name, &["COMPLETED"], RUN)?;
    Ok(())
}

fn ui_over_tls(env: &Env) -> anyhow::Result<()> {
    let name = "ui-tls";
    let text = app(
        name,
        json!({
            "mainClass": "MockTaskRunner",
            "mainApplicationFile": "local:///opt/sparkop/examples/mock-task-runner.jar",
            "arguments": ["1", "60"],
        }),
    );
    apply_app(env, name, &text)?;
    env.wait_state(name, &["RUNNING"], START)?;
    wait_running(env, &format!("{name}-0-driver"))?;
    let port = sparkop_free_port()?;
    let ca = env.work.path().join("ui-ca.crt");
    let mut ui = std::process::Command::new(assert_cmd::cargo::cargo_bin!("sparkop"))
        .args([
            "ui",
            name,
            "-n",
            NS,
            "--port",
            &port.to_string(),
            "--ca-out",
        ])
        .arg(&ca)
        .env("KUBECONFIG", &env.kubeconfig)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let result = (|| {
        let url = format!("https://127.0.0.1:{port}");
        // The driver's UI starts a little after the pod runs.
        let start = Instant::now();
        let audit = loop {
            let out = env.sparkop(&[
                "audit",
                "ui",
                &url,
                "--ca",
                &ca.display().to_string(),
                "-o",
                "json",
            ])?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.contains("SPK-AUD-UI-003") {
                break text;
            }
            ensure!(
                start.elapsed() < START,
                "the UI did not answer over TLS: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_secs(1));
        };
        // UI-003: TLS 1.3 only (a TLS 1.2 client is refused); no error-level finding (a
        // certificate that fails verification against the CA would be one).
        let findings: Value = serde_json::from_str(&audit)?;
        let errors: Vec<&Value> = findings["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["severity"] != "info")
            .collect();
        ensure!(errors.is_empty(), "UI findings above info: {errors:#?}");
        browser_loads_jobs_page(env, &url, &ca)
    })();
    let _ = ui.kill();
    let _ = ui.wait();
    result?;
    env.wait_state(name, &["COMPLETED"], RUN)?;
    Ok(())
}

fn sparkop_free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Headless Chromium (Debian's), with the UI's CA as its only added trust anchor, loads the
/// jobs page: a certificate error would give Chromium's interstitial, not Spark's page.
fn browser_loads_jobs_page(env: &Env, url: &str, ca: &std::path::Path) -> anyhow::Result<()> {
    let home = env.work.path().join("browser-home");
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db)?;
    let sql = format!("sql:{}", db.display());
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let out = std::process::Command::new(args[0])
            .args(&args[1..])
            .env("HOME", &home)
            .output()?;
        ensure!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    run(&["certutil", "-d", &sql, "-N", "--empty-password"])?;
    run(&[
        "certutil",
        "-d",
        &sql,
        "-A",
        "-t",
        "C,,",
        "-n",
        "sparkop-ui-ca",
        "-i",
        &ca.display().to_string(),
    ])?;
    let profile = home.join("profile");
    // Spark serves "Spark is starting up" until its context is ready: ask again a few times.
    let started = Instant::now();
    loop {
        let dom = run(&[
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.display()),
            "--virtual-time-budget=5000",
            "--dump-dom",
            &format!("{url}/jobs/"),
        ])?;
        if dom.contains("Spark Jobs") {
            break;
        }
        ensure!(
            dom.contains("Spark is starting up") && started.elapsed() < Duration::from_secs(60),
            "Chromium did not get the jobs page:\n{}",
            &dom[..dom.len().min(2000)]
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    Ok(())
}

/// No value of the named Secrets in any pod (spec and env), ConfigMap, Event or status of the
/// namespace, in the operator's log, or in the `extra` texts.
fn no_secret_anywhere(
    env: &Env,
    secrets: &[(&str, &str)],
    extra: &[(&str, String)],
) -> anyhow::Result<()> {
    let mut places: Vec<(String, String)> = extra
        .iter()
        .map(|(what, text)| (what.to_string(), text.clone()))
        .collect();
    for kind in [
        "pods",
        "configmaps",
        "events",
        "events.events.k8s.io",
        "sparkapplications",
    ] {
        places.push((
            kind.to_owned(),
            env.kubectl(&["get", kind, "-n", NS, "-o", "json"])?,
        ));
    }
    places.push(("the operator's log".into(), env.operator_log()));
    for (secret, what) in secrets {
        for value in secret_values(env, secret)? {
            for (place, text) in &places {
                ensure!(
                    !text.contains(&value),
                    "{what} ({secret}) appears in {place}"
                );
            }
        }
    }
    Ok(())
}

/// The Spark namespace enforces the `restricted` Pod Security profile (so the driver and
/// executor pods that ran there were admitted under it): a pod that runs as root is refused.
fn restricted_is_enforced(env: &Env) -> anyhow::Result<()> {
    let ns = env.rt.block_on(
        kube::Api::<sparkop_api::k8s_openapi::api::core::v1::Namespace>::all(env.admin.clone())
            .get(NS),
    )?;
    let labels = ns.metadata.labels.unwrap_or_default();
    ensure!(
        labels
            .get("pod-security.kubernetes.io/enforce")
            .map(String::as_str)
            == Some("restricted"),
        "{NS} is not labelled restricted: {labels:?}"
    );
    let root: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "runs-as-root", "namespace": NS},
        "spec": {"containers": [{"name": "c", "image": "apache/spark:4.3.0",
                                  "securityContext": {"runAsUser": 0}}]},
    }))?;
    match env
        .rt
        .block_on(env.pods().create(&PostParams::default(), &root))
    {
        Err(kube::Error::Api(e)) if e.code == 403 && e.message.contains("PodSecurity") => Ok(()),
        other => bail!("a root pod should be refused by Pod Security admission: {other:?}"),
    }
}

fn audit_live_app(env: &Env) -> anyhow::Result<()> {
    let name = "audited";
    let text = app(
        name,
        json!({
            "mainClass": "MockTaskRunner",
            "mainApplicationFile": "local:///opt/sparkop/examples/mock-task-runner.jar",
            "arguments": ["2", "60"],
            "executor": {"instances": 2},
        }),
    );
    apply_app(env, name, &text)?;
    env.wait_state(name, &["RUNNING"], START)?;
    // Both executors up (registered: their tasks are running).
    let start = Instant::now();
    let executors = loop {
        let running: Vec<String> = env
            .pods_of(name, "executor")?
            .into_iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .filter_map(|p| p.metadata.name)
            .collect();
        if running.len() == 2 && logs(env, name)?.matches("Registered executor").count() == 2 {
            break running;
        }
        ensure!(
            start.elapsed() < START,
            "two executors did not start: {running:?}"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    let out = env.sparkop(&[
        "audit",
        "app",
        name,
        "-n",
        NS,
        "-o",
        "json",
        "--fail-on",
        "warning",
    ])?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: Value = serde_json::from_str(&text)
        .with_context(|| format!("audit JSON: {text}{}", String::from_utf8_lossy(&out.stderr)))?;
    let findings = report["findings"].as_array().context("findings")?;
    let above: Vec<&Value> = findings
        .iter()
        .filter(|f| f["severity"] != "info")
        .collect();
    ensure!(above.is_empty(), "findings above info: {above:#?}");
    ensure!(
        out.status.success(),
        "audit app exit {}: {text}",
        out.status
    );
    // The session of every endpoint is AES-GCM: the driver's RpcEnv and block manager, and
    // each executor's block manager.
    let gcm: Vec<&str> = findings
        .iter()
        .filter(|f| f["id"] == "SPK-AUD-RPC-006")
        .filter_map(|f| f["target"].as_str())
        .collect();
    let driver = format!("pod/{name}-0-driver:");
    ensure!(
        gcm.iter().filter(|t| t.starts_with(&driver)).count() == 2,
        "driver endpoints: {gcm:?}"
    );
    for e in &executors {
        ensure!(
            gcm.iter().any(|t| t.starts_with(&format!("pod/{e}:"))),
            "executor {e} was not audited: {gcm:?}"
        );
    }
    env.wait_state(name, &["COMPLETED"], RUN)?;
    Ok(())
}
