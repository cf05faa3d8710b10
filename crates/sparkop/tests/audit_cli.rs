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

#[test]
fn audit_rpc_reports_the_cipher_in_every_format_without_the_secret() {
    if jvm::jars("4.3.0").is_none() {
        assert!(
            std::env::var("SPARKOP_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "Spark 4.3.0 jars missing"
        );
        eprintln!("skipped: Spark 4.3.0 jars not provisioned");
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
