//! End to end: `sparkop run` with real Spark JVMs (pyspark 4.3.0 from PyPI, installed by
//! `sparkop spark install 4.3.0` in the test command), real TLS and a real packet capture.
//!
//! The runs share fixed ports (UI 4040/4440, driver 40100, block managers 40200+), so they
//! take a lock and run one at a time. Without Spark (or tcpdump) a test says so and passes,
//! unless SPARKOP_REQUIRE_E2E=1 (set by scripts/test-all), where it fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::spark::{Run, e2e_required as required, serial, spark_home, sparkop};

const DRIVER_PORT: u16 = 40100;
const AUTH_EXAMPLE: &str = include_str!("../../../examples/auth-encryption.yaml");
const UI_TLS_EXAMPLE: &str = include_str!("../../../examples/ui-tls.yaml");

/// A fresh secret value that no file of the repository contains, to scan for leaks.
fn fresh_secret() -> String {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("random");
    format!("e2eLEAK{}", hex::encode(b))
}

/// The auth+encryption example with short tasks, a plaintext marker, fixed ports.
fn auth_manifest(tasks: u32, seconds: u32, marker: &str) -> String {
    let text = AUTH_EXAMPLE.replace(
        "  arguments:\n    - \"1\"\n    - \"600\"\n",
        &format!("  arguments:\n    - \"{tasks}\"\n    - \"{seconds}\"\n    - \"{marker}\"\n"),
    );
    assert_ne!(
        text, AUTH_EXAMPLE,
        "the example's arguments changed; update this test"
    );
    add_conf(&text)
}

fn add_conf(text: &str) -> String {
    text.replace(
        "  sparkConf:\n",
        &format!(
            "  sparkConf:\n    \"spark.driver.port\": \"{DRIVER_PORT}\"\n    \"spark.blockManager.port\": \"40200\"\n"
        ),
    )
}

fn secret_manifest(name: &str, key: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  {key}: {value}\n"
    )
}

/// Processes whose command line mentions `needle`, with their command lines.
fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        if let Ok(raw) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
            if cmd.contains(needle) {
                found.push((pid, cmd));
            }
        }
    }
    found
}

/// Every command line on the machine (for secret scans).
fn all_cmdlines() -> String {
    processes_mentioning("")
        .into_iter()
        .map(|(_, c)| c)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The environment value `name` of the process running spark-submit for `run_dir`.
fn driver_env(run_dir: &Path, name: &str) -> Option<String> {
    let needle = run_dir.display().to_string();
    for (pid, cmd) in processes_mentioning(&needle) {
        if !cmd.contains("SparkSubmit") {
            continue;
        }
        let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        for var in env.split(|b| *b == 0) {
            let var = String::from_utf8_lossy(var);
            if let Some(v) = var.strip_prefix(&format!("{name}=")) {
                return Some(v.to_owned());
            }
        }
    }
    None
}

/// Files under `dir` (recursively) whose contents contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file()
                && std::fs::read(&p)
                    .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                hits.push(p);
            }
        }
    }
    hits
}

/// After a run: nothing of it is running, its secrets are gone, and no secret is anywhere.
fn assert_clean_after(run: &Run, secrets: &[&str]) {
    let needle = run.run_dir.display().to_string();
    let start = Instant::now();
    let mut left = processes_mentioning(&needle);
    while !left.is_empty() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(200));
        left = processes_mentioning(&needle);
    }
    assert!(left.is_empty(), "processes left running: {left:#?}");
    assert!(!run.run_dir.join("secrets").exists(), "secret files remain");
    assert!(
        run.run_dir.join("logs/driver.log").exists(),
        "logs are kept"
    );
    let output = run.output();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(!output.contains(s), "a secret value is in sparkop's output");
        let hits = files_containing(&run.run_dir, s);
        assert!(hits.is_empty(), "a secret value is in {hits:?}");
    }
}

/// tcpdump on loopback for the run's ports; None (skip) when tcpdump is missing.
struct Capture {
    child: Child,
    file: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Capture {
    fn start() -> Option<Capture> {
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("lo.pcap");
        let spawned = Command::new("tcpdump")
            .args(["-i", "lo", "-s", "0", "-U", "-w"])
            .arg(&file)
            .arg("tcp portrange 40100-40300")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                assert!(!required(), "tcpdump is required: {e}");
                eprintln!("skipping the capture: tcpdump: {e}");
                return None;
            }
        };
        // tcpdump says "listening on lo" once the capture is armed.
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        let _ = stderr.read_line(&mut line);
        assert!(line.contains("listening on"), "tcpdump: {line}");
        std::thread::spawn(move || for _ in stderr.lines() {});
        Some(Capture {
            child,
            file,
            _tmp: tmp,
        })
    }

    /// Stops the capture and returns the bytes captured.
    fn stop(mut self) -> Vec<u8> {
        std::thread::sleep(Duration::from_millis(500));
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while self.child.try_wait().ok().flatten().is_none()
            && start.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read(&self.file).expect("pcap")
    }
}

fn count(haystack: &[u8], needle: &str) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

/// The guide's auth+encryption example, made runnable: executors authenticate with the
/// Secret's value (the guide's SPARK_AUTHENTICATE_SECRET convention made effective), the wire
/// carries no plaintext, a rogue executor with a wrong secret is refused and reported, the UI
/// answers TLS 1.3 only with a certificate the run CA verifies, and nothing leaks or lingers.
#[test]
fn guide_auth_encryption_example_runs_encrypted_and_refuses_a_wrong_secret() {
    let _serial = serial();
    let Some(home) = spark_home() else { return };
    let secret = fresh_secret();
    let marker = format!("SPARKOPMARKER{}", &fresh_secret()[7..]);
    let capture = Capture::start();
    let mut run = Run::with_mock(
        &home,
        &auth_manifest(2, 8, &marker),
        &[secret_manifest("spark-secret", "secret", &secret)],
        &["--audit"],
    );
    run.wait_for("RUNNING", Duration::from_secs(120));
    // sparkop's own audit runs first, so its wrong-secret probe is not the rogue below.
    run.wait_for(
        "finding(s): 0 error(s), 0 warning(s)",
        Duration::from_secs(60),
    );

    // While it runs: the secret is on no command line; the UI is TLS 1.3 only.
    let ui_password =
        driver_env(&run.run_dir, "SPARKOP_UI_KEYSTORE_PASSWORD").expect("password env");
    let cmdlines = all_cmdlines();
    assert!(
        !cmdlines.contains(&secret) && !cmdlines.contains(&ui_password),
        "a secret is on a command line"
    );
    let ca = std::fs::read(run.run_dir.join("ui-ca.crt")).expect("run CA");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    use sparkop_audit::tls::{Offer, handshake, http_get_root};
    let t = Duration::from_secs(5);
    let n = rt
        .block_on(handshake("127.0.0.1", 4440, Some(&ca), Offer::Any, t))
        .expect("TLS 1.3 + CA");
    assert_eq!(n.version, "TLSv1.3");
    assert!(n.verified);
    let n = rt
        .block_on(handshake("localhost", 4440, Some(&ca), Offer::Tls13Only, t))
        .expect("by name");
    assert_eq!(n.version, "TLSv1.3");
    let refused = rt.block_on(handshake("127.0.0.1", 4440, None, Offer::Tls12Only, t));
    assert!(refused.is_err(), "TLS 1.2 was accepted: {refused:?}");
    let other_ca = sparkop_pki::generate(&sparkop_pki::Request::default()).expect("ca");
    let wrong_ca = rt.block_on(handshake(
        "127.0.0.1",
        4440,
        Some(other_ca.ca_pem.as_bytes()),
        Offer::Any,
        t,
    ));
    assert!(
        wrong_ca.is_err(),
        "a certificate verified against an unrelated CA"
    );
    let http = rt
        .block_on(http_get_root("127.0.0.1", 4040, t))
        .expect("http");
    assert!(
        http.redirects_to_https(),
        "4040 must only redirect: {http:?}"
    );
    assert!(
        http.location
            .as_deref()
            .is_some_and(|l| l.contains(":4440")),
        "{http:?}"
    );

    // The audit commands agree from the outside: nothing above info.
    let secret_file = run.run_dir.parent().expect("tmp").join("secret.txt");
    std::fs::write(&secret_file, &secret).expect("write");
    let rpc = Command::new(sparkop())
        .args([
            "audit",
            "rpc",
            &format!("127.0.0.1:{DRIVER_PORT}"),
            "--fail-on",
            "warning",
            "--secret-file",
        ])
        .arg(&secret_file)
        .output()
        .expect("audit rpc");
    let rpc_out = String::from_utf8_lossy(&rpc.stdout);
    assert_eq!(rpc.status.code(), Some(0), "{rpc_out}");
    assert!(
        rpc_out.contains("SPK-AUD-RPC-006") && rpc_out.contains("SPK-AUD-RPC-007"),
        "{rpc_out}"
    );
    assert!(!rpc_out.contains(&secret));
    let ui = Command::new(sparkop())
        .args([
            "audit",
            "ui",
            "https://127.0.0.1:4440",
            "--fail-on",
            "warning",
            "-o",
            "json",
            "--ca",
        ])
        .arg(run.run_dir.join("ui-ca.crt"))
        .output()
        .expect("audit ui");
    let ui_out = String::from_utf8_lossy(&ui.stdout);
    assert_eq!(ui.status.code(), Some(0), "{ui_out}");
    for id in ["SPK-AUD-UI-003", "SPK-AUD-UI-008"] {
        assert!(ui_out.contains(id), "{id} missing: {ui_out}");
    }
    for id in ["SPK-AUD-UI-002", "SPK-AUD-UI-004", "SPK-AUD-UI-009"] {
        assert!(!ui_out.contains(id), "{id} present: {ui_out}");
    }

    // A rogue executor with the wrong secret: refused by the driver, reported in plain words.
    let rogue = Command::new("java")
        .arg("-cp")
        .arg(format!("{}/jars/*", home.display()))
        .args([
            "-Dspark.authenticate=true",
            "-Dspark.network.crypto.enabled=true",
        ])
        .arg(format!("-Dspark.driver.port={DRIVER_PORT}"))
        .args([
            "org.apache.spark.executor.CoarseGrainedExecutorBackend",
            "--driver-url",
        ])
        .arg(format!(
            "spark://CoarseGrainedScheduler@127.0.0.1:{DRIVER_PORT}"
        ))
        .args([
            "--executor-id",
            "99",
            "--hostname",
            "127.0.0.1",
            "--cores",
            "1",
        ])
        .args(["--app-id", "app-rogue", "--resourceProfileId", "0"])
        .env("_SPARK_AUTH_SECRET", "definitely-the-wrong-secret")
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("rogue executor");
    assert!(!rogue.status.success(), "the rogue executor was accepted");
    let rogue_err = String::from_utf8_lossy(&rogue.stderr);
    assert!(
        rogue_err.contains("New auth protocol failed"),
        "{rogue_err}"
    );
    run.wait_for(
        "failed authentication (wrong or missing secret)",
        Duration::from_secs(30),
    );

    let code = run.finish(Duration::from_secs(180));
    let out = run.output();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("COMPLETED"), "{out}");
    assert!(out.contains("from Secret spark-secret/secret"), "{out}");
    assert!(
        out.contains("1 executor(s) registered through authenticated connections"),
        "{out}"
    );
    assert!(
        out.contains("MockTaskRunner: 2 task(s) of 8 s finished"),
        "{out}"
    );
    assert!(
        out.contains("refused         1 connection(s)")
            || out.contains("connection(s) that failed authentication"),
        "{out}"
    );
    let log = std::fs::read_to_string(run.run_dir.join("logs/driver.log")).expect("log");
    assert!(
        log.contains("Authorization successful for client"),
        "no authenticated connection in the log"
    );
    assert_clean_after(&run, &[&secret, &ui_password]);

    if let Some(capture) = capture {
        let pcap = capture.stop();
        assert!(
            pcap.len() > 10_000,
            "the capture is nearly empty ({} bytes)",
            pcap.len()
        );
        assert_eq!(
            count(&pcap, &marker),
            0,
            "the task marker crossed the wire in cleartext"
        );
        assert_eq!(count(&pcap, &secret), 0, "the secret crossed the wire");
        // Spark's own messages (the rogue executor's refused attempt is in the capture too, so
        // only the application's traffic is checked: task launches and results).
        for word in [
            "ResultTask",
            "LaunchTask",
            "RegisterExecutor",
            "spark.app.name",
        ] {
            assert_eq!(
                count(&pcap, word),
                0,
                "{word} crossed the wire in cleartext"
            );
        }
    }
}

/// The control: the same application with security explicitly disabled sends the marker in
/// cleartext, which shows the capture above could have seen it.
#[test]
fn with_security_disabled_the_marker_is_on_the_wire() {
    let _serial = serial();
    let Some(home) = spark_home() else { return };
    let Some(capture) = Capture::start() else {
        return;
    };
    let marker = format!("SPARKOPMARKER{}", &fresh_secret()[7..]);
    let manifest: String = auth_manifest(2, 6, &marker)
        .lines()
        .filter(|l| {
            !l.contains("spark.authenticate")
                && !l.contains("spark.network.crypto")
                && !l.contains("secretKeyRef")
        })
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + "  security:\n    authentication: {enabled: false}\n    ui: {tls: {enabled: false}}\n";
    let mut run = Run::with_mock(&home, &manifest, &[], &[]);
    let code = run.finish(Duration::from_secs(180));
    assert_eq!(code, 0, "{}", run.output());
    assert!(
        run.output().contains("off: RPC traffic is in cleartext"),
        "{}",
        run.output()
    );
    let pcap = capture.stop();
    assert!(
        count(&pcap, &marker) > 0,
        "the control run's marker is not in the capture"
    );
    assert_clean_after(&run, &[]);
}

/// The guide's TLS example: its keystore and passwords come from a Secret made by
/// `sparkop keystore create` (replacing keytool), mounted where the manifest says.
#[test]
fn guide_ui_tls_example_runs_with_a_keystore_secret() {
    let _serial = serial();
    let Some(_) = spark_home() else { return };
    let out = Command::new(sparkop())
        .args(["keystore", "create", "ssl-secrets"])
        .output()
        .expect("keystore create");
    assert!(out.status.success());
    let secret_yaml = String::from_utf8(out.stdout).expect("utf8");
    let mut run = Run::start(UI_TLS_EXAMPLE, &[secret_yaml], &[]);
    let code = run.finish(Duration::from_secs(240));
    let output = run.output();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("Pi is roughly"), "{output}");
    assert!(output.contains("TLSv1.3"), "{output}");
    assert!(
        output.contains("1 executor(s) registered through authenticated connections"),
        "{output}"
    );
    assert_clean_after(&run, &[]);
}

/// A failing application: exit 1, FAILED, and the same clean-up.
#[test]
fn a_failed_run_exits_1_and_cleans_up() {
    let _serial = serial();
    let Some(home) = spark_home() else { return };
    let secret = fresh_secret();
    let manifest = auth_manifest(1, 0, "x")
        .replace("    - \"1\"\n    - \"0\"\n", "    - \"0\"\n    - \"0\"\n");
    let mut run = Run::with_mock(
        &home,
        &manifest,
        &[secret_manifest("spark-secret", "secret", &secret)],
        &[],
    );
    let code = run.finish(Duration::from_secs(180));
    assert_eq!(code, 1, "{}", run.output());
    assert!(run.output().contains("FAILED"), "{}", run.output());
    assert_clean_after(&run, &[&secret]);
}

/// Ctrl-C while tasks run: exit 130, the JVMs stop, the secrets go.
#[test]
fn sigint_stops_every_jvm_and_removes_the_secrets() {
    let _serial = serial();
    let Some(home) = spark_home() else { return };
    let secret = fresh_secret();
    let mut run = Run::with_mock(
        &home,
        &auth_manifest(2, 120, "x"),
        &[secret_manifest("spark-secret", "secret", &secret)],
        &[],
    );
    run.wait_for("RUNNING", Duration::from_secs(120));
    let start = Instant::now();
    while processes_mentioning("CoarseGrainedExecutorBackend")
        .iter()
        .all(|(_, c)| !c.contains(&run.run_dir.display().to_string()))
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        run.run_dir.join("secrets/spark.properties").exists(),
        "the secret file exists while running"
    );
    run.signal("INT");
    let code = run.finish(Duration::from_secs(60));
    assert_eq!(code, 130, "{}", run.output());
    assert!(run.output().contains("INTERRUPTED"), "{}", run.output());
    assert_clean_after(&run, &[&secret]);
}

/// A Secret that is missing, or lacks the key, is named with the key before anything starts.
#[test]
fn a_missing_secret_is_named_before_anything_starts() {
    let _serial = serial();
    if spark_home().is_none() {
        return;
    }
    let mut run = Run::start(&auth_manifest(1, 0, "x"), &[], &[]);
    assert_eq!(run.finish(Duration::from_secs(60)), 2);
    assert!(
        run.output()
            .contains("Secret \"spark-secret\" not found (the RPC authentication secret)"),
        "{}",
        run.output()
    );
    let mut run = Run::start(
        &auth_manifest(1, 0, "x"),
        &[secret_manifest("spark-secret", "other", "v")],
        &[],
    );
    assert_eq!(run.finish(Duration::from_secs(60)), 2);
    assert!(
        run.output().contains("has no key \"secret\""),
        "{}",
        run.output()
    );
    assert!(!run.run_dir.exists(), "nothing was started");
}

/// The driver JVM crashes (SIGKILL): sparkop reports FAILED, stops the orphaned executors and
/// removes the secrets.
#[test]
fn a_driver_crash_still_cleans_up() {
    let _serial = serial();
    let Some(home) = spark_home() else { return };
    let secret = fresh_secret();
    let mut run = Run::with_mock(
        &home,
        &auth_manifest(2, 120, "x"),
        &[secret_manifest("spark-secret", "secret", &secret)],
        &[],
    );
    run.wait_for("RUNNING", Duration::from_secs(120));
    let needle = run.run_dir.display().to_string();
    let start = Instant::now();
    while !processes_mentioning(&needle)
        .iter()
        .any(|(_, c)| c.contains("CoarseGrainedExecutorBackend"))
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let driver = processes_mentioning(&needle)
        .into_iter()
        .find(|(_, c)| c.contains("org.apache.spark.deploy.SparkSubmit"))
        .expect("the driver JVM");
    let ok = Command::new("kill")
        .args(["-KILL", &driver.0.to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
    let code = run.finish(Duration::from_secs(60));
    assert_eq!(code, 1, "{}", run.output());
    assert!(run.output().contains("FAILED"), "{}", run.output());
    assert_clean_after(&run, &[&secret]);
}

/// A UI that still accepts TLS 1.2 gets SPK-AUD-UI-002 (the secure runs above do not).
#[test]
fn a_ui_allowing_tls12_is_a_finding() {
    let _serial = serial();
    let Some(home) = spark_home() else { return };
    let secret = fresh_secret();
    let manifest =
        auth_manifest(1, 10, "x") + "  security:\n    ui: {tls: {minVersion: \"1.2\"}}\n";
    let mut run = Run::with_mock(
        &home,
        &manifest,
        &[secret_manifest("spark-secret", "secret", &secret)],
        &[],
    );
    run.wait_for("UI https://127.0.0.1:4440", Duration::from_secs(120));
    let audit = |extra: &[&str]| {
        let out = Command::new(sparkop())
            .args(["audit", "ui", "https://127.0.0.1:4440", "--no-rest", "--ca"])
            .arg(run.run_dir.join("ui-ca.crt"))
            .args(extra)
            .output()
            .expect("audit ui");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = audit(&[]);
    assert_eq!(code, Some(0), "a warning does not fail by default: {out}");
    assert!(out.contains("SPK-AUD-UI-002"), "{out}");
    let (code, _) = audit(&["--fail-on", "warning"]);
    assert_eq!(code, Some(1));
    let (code, out) = audit(&["--allow-tls12", "--fail-on", "warning"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("SPK-AUD-UI-003") && !out.contains("SPK-AUD-UI-002"),
        "{out}"
    );
    assert_eq!(run.finish(Duration::from_secs(120)), 0, "{}", run.output());
    assert_clean_after(&run, &[&secret]);
}

/// A standalone master with its REST submission server on is a finding; with
/// spark.master.rest.enabled=false (what sparkop sets) it is not.
#[test]
fn an_open_standalone_rest_port_is_a_finding() {
    let _serial = serial();
    let Some(home) = spark_home() else { return };
    for (rest, expect_finding) in [(true, true), (false, false)] {
        let tmp = tempfile::tempdir().expect("tmp");
        let rest_port = free_port();
        let ui_port = free_port();
        let props = tmp.path().join("master.properties");
        std::fs::write(
            &props,
            format!("spark.master.rest.enabled={rest}\nspark.master.rest.port={rest_port}\n"),
        )
        .expect("write");
        let mut master = Command::new("java")
            .arg("-cp")
            .arg(format!("{}/jars/*", home.display()))
            .args([
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
            ])
            .args(["--webui-port", &ui_port.to_string(), "--properties-file"])
            .arg(&props)
            .env("SPARK_LOCAL_IP", "127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("master");
        let mut err = BufReader::new(master.stderr.take().expect("stderr"));
        let start = Instant::now();
        let mut line = String::new();
        while start.elapsed() < Duration::from_secs(60) {
            line.clear();
            if err.read_line(&mut line).unwrap_or(0) == 0
                || line.contains("I have been elected leader")
            {
                break;
            }
        }
        std::thread::spawn(move || for _ in err.lines() {});
        let out = Command::new(sparkop())
            .args([
                "audit",
                "ui",
                &format!("http://127.0.0.1:{ui_port}"),
                "--rest-port",
                &rest_port.to_string(),
            ])
            .output()
            .expect("audit ui");
        let _ = master.kill();
        let _ = master.wait();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.contains("SPK-AUD-UI-009"),
            expect_finding,
            "rest={rest}: {text}"
        );
        assert!(
            text.contains("SPK-AUD-UI-001"),
            "the master's UI is plain HTTP: {text}"
        );
        assert_eq!(out.status.code(), Some(1), "{text}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}
