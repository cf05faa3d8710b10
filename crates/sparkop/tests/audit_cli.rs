//! `sparkop audit` as users run it, against a real Spark endpoint (Spark 4.3.0's own
//! TransportServer from PyPI `pyspark`, via spark-wire's Java fixture).

use std::path::PathBuf;

use assert_cmd::Command;
use spark_wire::auth::EngineVersion;
use spark_wire::net::CipherKind;

#[path = "../../spark-wire/tests/support/jvm.rs"]
mod jvm;

fn sparkop(args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("sparkop")
        .expect("binary")
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Whether Spark 4.3.0's jars are there (a skip says so; with SPARKOP_REQUIRE_INTEROP=1 their
/// absence fails).
fn spark_jars() -> bool {
    if jvm::jars("4.3.0").is_some() {
        return true;
    }
    assert!(
        std::env::var("SPARKOP_REQUIRE_INTEROP").as_deref() != Ok("1"),
        "Spark 4.3.0 jars missing"
    );
    eprintln!("skipped: Spark 4.3.0 jars not provisioned");
    false
}

#[test]
fn audit_rpc_reports_the_cipher_in_every_format_without_the_secret() {
    if !spark_jars() {
        return;
    }
    let (_jvm, addr) = jvm::start_jvm_server("4.3.0", EngineVersion::V1, CipherKind::AesCtr);
    let dir = tempfile::tempdir().expect("tmp");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, format!("{}\n", jvm::SECRET)).expect("secret file");
    let endpoint = addr.to_string();
    let secret_arg = secret.to_str().expect("utf8");

    let (code, out) = sparkop(&[
        "audit",
        "rpc",
        &endpoint,
        "--secret-file",
        secret_arg,
        "--timeout",
        "3",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("SPK-AUD-RPC-005") && out.contains("AES-CTR"),
        "{out}"
    );
    assert!(!out.contains(jvm::SECRET));

    let (code, out) = sparkop(&[
        "audit",
        "rpc",
        &endpoint,
        "--secret-file",
        secret_arg,
        "--timeout",
        "3",
        "--fail-on",
        "warning",
        "-o",
        "json",
    ]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["summary"]["warnings"], 1);

    let (code, out) = sparkop(&["audit", "rpc", &endpoint, "--timeout", "3", "-o", "sarif"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("sarif");
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"][0]["results"][0]["ruleId"], "SPK-AUD-RPC-007");
}

#[test]
fn audit_manifest_scores_the_guide_and_the_examples() {
    let (code, out) = sparkop(&[
        "audit",
        "manifest",
        "tests/fixtures/guide/auth-encryption.yaml",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("SPK-SEC-005") && out.contains("score: 25/100"),
        "{out}"
    );
    let (code, out) = sparkop(&["audit", "manifest", "examples/", "-o", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["score"], 100);
    assert_eq!(v["summary"]["errors"], 0);
}

/// A Spark daemon (`class` from the 4.3.0 jars) with `spark-defaults.conf` (mode 0600, the
/// secret never on a command line) in its own SPARK_CONF_DIR; returns once `marker` followed
/// by the RPC port appears in its log.
fn start_daemon(
    dir: &std::path::Path,
    conf: &str,
    class: &str,
    args: &[&str],
    marker: &str,
) -> (jvm::Jvm, String) {
    use std::io::BufRead as _;
    use std::os::unix::fs::PermissionsExt as _;
    let conf_dir = dir.join(class.rsplit('.').next().unwrap_or("daemon"));
    std::fs::create_dir_all(&conf_dir).expect("conf dir");
    let defaults = conf_dir.join("spark-defaults.conf");
    std::fs::write(&defaults, conf).expect("conf");
    std::fs::set_permissions(&defaults, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let cp = format!("{}/*", jvm::jars("4.3.0").expect("jars").display());
    let mut child = std::process::Command::new("java")
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("SPARK_CONF_DIR", &conf_dir)
        .args(["-Xmx256m", "-cp", &cp, class])
        .args(args)
        .args(["--properties-file"])
        .arg(&defaults)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("java");
    let stderr = child.stderr.take().expect("stderr");
    let daemon = jvm::Jvm(child);
    let (tx, rx) = std::sync::mpsc::channel();
    let wanted = marker.to_owned();
    let marker = marker.to_owned();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if !sent && let Some(rest) = line.split(marker.as_str()).nth(1) {
                let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let _ = tx.send(Some(port));
                sent = true;
            }
        }
        if !sent {
            let _ = tx.send(None);
        }
    });
    let port = rx
        .recv_timeout(std::time::Duration::from_secs(90))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("{class} did not log {wanted:?}"));
    // Some daemons log their port just before they bind it.
    let addr = format!("127.0.0.1:{port}");
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{class} never listened on {addr}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (daemon, addr)
}

/// The audit speaks to every kind of Spark RPC endpoint the guide's users run: a standalone
/// master and worker, and an external shuffle service, each with authentication and AES-GCM.
#[test]
fn audit_rpc_states_facts_about_standalone_daemons_and_the_shuffle_service() {
    if !spark_jars() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let shuffle_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let conf = format!(
        "spark.authenticate true\nspark.authenticate.secret {}\nspark.network.crypto.enabled true\n\
         spark.network.crypto.cipher AES/GCM/NoPadding\nspark.network.crypto.saslFallback false\n\
         spark.master.rest.enabled false\nspark.shuffle.service.port {shuffle_port}\n",
        jvm::SECRET
    );
    let (_master, master) = start_daemon(
        dir.path(),
        &conf,
        "org.apache.spark.deploy.master.Master",
        &["--host", "127.0.0.1", "--port", "0", "--webui-port", "0"],
        "Starting Spark master at spark://127.0.0.1:",
    );
    let (_worker, worker) = start_daemon(
        dir.path(),
        &conf,
        "org.apache.spark.deploy.worker.Worker",
        &[
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--webui-port",
            "0",
            &format!("spark://{master}"),
        ],
        "Starting Spark worker 127.0.0.1:",
    );
    let (_shuffle, shuffle) = start_daemon(
        dir.path(),
        &conf,
        "org.apache.spark.deploy.ExternalShuffleService",
        &[],
        "Starting shuffle service on port ",
    );
    let secret = dir.path().join("secret");
    std::fs::write(&secret, jvm::SECRET).expect("secret");
    let secret_arg = secret.to_str().expect("utf8");
    for endpoint in [&master, &worker, &shuffle] {
        let (code, out) = sparkop(&[
            "audit",
            "rpc",
            endpoint,
            "--secret-file",
            secret_arg,
            "--timeout",
            "5",
            "-o",
            "json",
            "--fail-on",
            "warning",
        ]);
        assert_eq!(code, 0, "{endpoint}: {out}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let ids: Vec<&str> = v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|f| f["id"].as_str())
            .collect();
        assert!(
            ids.contains(&"SPK-AUD-RPC-006") && ids.contains(&"SPK-AUD-RPC-007"),
            "{endpoint}: AES-GCM with the secret, a wrong secret refused: {out}"
        );
        assert!(!ids.contains(&"SPK-AUD-RPC-001"), "{endpoint}: {out}");
        assert!(!out.contains(jvm::SECRET));
    }
}
