//! The `sparkop` binary as users run it.

use std::path::PathBuf;

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sparkop() -> Command {
    let mut c = Command::cargo_bin("sparkop").expect("binary");
    c.current_dir(root()).env("NO_COLOR", "1");
    c
}

fn run(args: &[&str]) -> (i32, String) {
    let out = sparkop().args(args).output().expect("runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn guide_auth_manifest_gets_located_placeholder_errors() {
    let (code, out) = run(&["lint", "tests/fixtures/guide/auth-encryption.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error[SPK-NAME-003]: metadata.namespace: <namespace> is a placeholder"),
        "{out}"
    );
    assert!(
        out.contains("--> tests/fixtures/guide/auth-encryption.yaml:5:14"),
        "{out}"
    );
    assert!(
        out.contains("--> tests/fixtures/guide/auth-encryption.yaml:32:21"),
        "{out}"
    );
    assert!(
        out.contains("5 |   namespace: <namespace>\n  |              ^^^^^^^^^^^"),
        "{out}"
    );
    assert!(out.contains("3 error(s), 0 warning(s), 1 info"), "{out}");
}

#[test]
fn guide_tls_manifest_is_unusable_with_a_located_trailing_comma() {
    let (code, out) = run(&["lint", "tests/fixtures/guide/ui-tls.yaml"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("error[SPK-YAML-001]: trailing comma after a value\n  --> tests/fixtures/guide/ui-tls.yaml:10:35"), "{out}");
    assert!(
        out.contains("delete the `,` at the end of the line"),
        "{out}"
    );
}

#[test]
fn examples_are_clean() {
    let (code, out) = run(&["lint", "examples/"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("3 file(s), 3 object(s): 0 error(s), 0 warning(s)"),
        "{out}"
    );
}

#[test]
fn json_output_is_machine_readable() {
    let (code, out) = run(&[
        "lint",
        "--output",
        "json",
        "tests/fixtures/guide/auth-encryption.yaml",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["summary"]["errors"], 3);
    let first = &v["diagnostics"][0];
    assert_eq!(first["rule"], "SPK-NAME-003");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["path"], "metadata.namespace");
    assert_eq!(first["location"]["line"], 5);
    assert_eq!(first["location"]["column"], 14);
    assert_eq!(
        v["files"][0]["objects"][0],
        "SparkApplication/spark-rpc-auth-enctryption-app"
    );
}

#[test]
fn unusable_inputs_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "").expect("write");
    let binary = dir.path().join("bin.yaml");
    std::fs::write(&binary, [0u8, 159, 146, 150, 255]).expect("write");
    for f in [empty, binary, dir.path().join("missing.yaml")] {
        let (code, out) = run(&["lint", f.to_str().expect("utf8")]);
        assert_eq!(code, 2, "{out}");
        assert!(out.contains("error[SPK-YAML-00"), "{out}");
        assert!(!out.contains("panicked"), "{out}");
    }
}

#[test]
fn no_secret_value_reaches_any_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("leaky.yaml");
    let values = ["Hunter2Secret", "SwordfishPw", "NotBase64!!Value"];
    std::fs::write(
        &file,
        format!(
            "apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {{name: leaky}}
spec:
  type: Python
  sparkVersion: \"4.3.0\"
  mainApplicationFile: local:///app.py
  sparkConf:
    spark.authenticate.secret: {}
  driver:
    env: [{{name: DB_PASSWORD, value: {}}}]
  executor: {{}}
---
apiVersion: v1
kind: Secret
metadata: {{name: s}}
data:
  pw: {}
",
            values[0], values[1], values[2]
        ),
    )
    .expect("write");
    let path = file.to_str().expect("utf8");
    for output in ["human", "json"] {
        let (code, out) = run(&["lint", "--output", output, path]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("SPK-SEC-003")
                && out.contains("SPK-SEC-014")
                && out.contains("SPK-OBJ-006"),
            "{out}"
        );
        for v in values {
            assert!(!out.contains(v), "{v} leaked in {output} output:\n{out}");
        }
        if output == "human" {
            assert!(out.contains("spark.authenticate.secret: ******"), "{out}");
        }
    }
}

#[test]
fn crd_output_matches_the_committed_file_and_stays_small() {
    let (code, out) = run(&["crd"]);
    assert_eq!(code, 0);
    let committed = std::fs::read_to_string(root().join("deploy/crds/sparkop-crds.yaml"))
        .expect("committed CRDs");
    assert!(
        out == committed,
        "deploy/crds/sparkop-crds.yaml is stale: run `sparkop crd > deploy/crds/sparkop-crds.yaml`"
    );
    assert!(out.len() < 300 * 1024, "CRDs are {} bytes", out.len());
    assert!(out.contains("x-kubernetes-validations"));
    let chart = std::fs::read_to_string(root().join("deploy/helm/sparkop/crds/sparkop-crds.yaml"))
        .expect("chart CRDs");
    assert!(
        chart == committed,
        "the Helm chart's CRDs are stale: copy deploy/crds/sparkop-crds.yaml to deploy/helm/sparkop/crds/"
    );
}

#[test]
fn rendered_manifests_match_the_helm_chart() {
    let out = std::process::Command::new("bash")
        .arg(root().join("scripts/render-manifests"))
        .arg("--check")
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "deploy/manifests/sparkop.yaml is stale (run scripts/render-manifests):\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn version_help_and_completions() {
    let (code, out) = run(&["version"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("sparkop 0.1.0 (API sparkoperator.k8s.io/v1beta2)"),
        "{out}"
    );
    let (code, out) = run(&["lint", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit status"), "{out}");
    let (code, out) = run(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(out.contains("_sparkop()"), "{out}");
}

#[test]
fn stdin_is_read_with_a_dash() {
    let out = sparkop()
        .args(["lint", "-"])
        .write_stdin(std::fs::read(root().join("examples/secure-pi.yaml")).expect("example"))
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn secret_create_prints_a_secret_our_loader_reads_back() {
    let out = sparkop()
        .args([
            "secret",
            "create",
            "spark-secret",
            "-n",
            "team-a",
            "--random",
            "secret",
            "--from-literal",
            "user=spark",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf8");
    let loaded = sparkop_api::manifest::load_str("s.yaml", &text, Default::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let Some(sparkop_api::manifest::Object::Secret(s)) =
        loaded.documents.first().map(|d| &d.object)
    else {
        panic!("not a Secret: {text}")
    };
    assert_eq!(
        (s.name.as_str(), s.namespace.as_deref()),
        ("spark-secret", Some("team-a"))
    );
    let secret = s.get("secret").expect("random key").expose();
    assert_eq!(secret.len(), 64, "32 random bytes, hex");
    assert!(secret.iter().all(u8::is_ascii_hexdigit));
    assert_eq!(s.get("user").map(|v| v.expose()), Some(&b"spark"[..]));
    // A second call gives a different secret.
    let again = sparkop()
        .args(["secret", "create", "x", "--random", "k"])
        .output()
        .expect("run");
    assert!(
        !String::from_utf8_lossy(&again.stdout).contains(std::str::from_utf8(secret).expect("hex"))
    );
}

#[test]
fn secret_create_refuses_bad_keys_and_names() {
    for args in [
        vec!["secret", "create", "Bad_Name", "--random", "k"],
        vec!["secret", "create", "ok", "--random", "bad/key"],
        vec!["secret", "create", "ok", "--from-literal", "novalue"],
        vec!["secret", "create", "ok", "--random", "k", "--random", "k"],
    ] {
        let out = sparkop().args(&args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "nothing printed on error: {args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error"),
            "{args:?}"
        );
    }
}

#[test]
fn keystore_create_prints_every_key_the_tls_setup_needs() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = dir.path().join("ca.crt");
    let out = sparkop()
        .args([
            "keystore",
            "create",
            "ssl-secrets",
            "--host",
            "spark.example.com",
            "--days",
            "7",
            "--ca-out",
        ])
        .arg(&ca)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf8");
    let loaded = sparkop_api::manifest::load_str("k.yaml", &text, Default::default());
    let Some(sparkop_api::manifest::Object::Secret(s)) =
        loaded.documents.first().map(|d| &d.object)
    else {
        panic!("not a Secret")
    };
    let keys: Vec<&str> = s.data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "ca.crt",
            "key-password",
            "keystore-password",
            "keystore.p12",
            "truststore-password",
            "truststore.p12"
        ]
    );
    assert_eq!(
        s.get("key-password").map(|v| v.expose()),
        s.get("keystore-password").map(|v| v.expose())
    );
    assert_eq!(
        std::fs::read(&ca).expect("ca"),
        s.get("ca.crt").expect("ca").expose()
    );
    assert!(
        sparkop()
            .args(["keystore", "create", "x", "--host", "bad host"])
            .output()
            .expect("run")
            .status
            .code()
            == Some(2)
    );
}

#[test]
fn apply_dry_run_prints_the_operator_objects_without_a_cluster() {
    let out = sparkop()
        .args([
            "apply",
            "--dry-run",
            "-f",
            "examples/auth-encryption.yaml",
            "-o",
            "json",
        ])
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "Secret",
            "ConfigMap",
            "Service",
            "Service",
            "NetworkPolicy",
            "Pod"
        ]
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("spark.authenticate.secret.driver.file=/mnt/sparkop/auth/secret"));
    assert!(
        text.contains("\"containerPort\": 4440"),
        "the HTTPS UI port is exposed"
    );
    assert!(!text.contains("SPARK_AUTHENTICATE_SECRET"));
    let yaml = sparkop()
        .args(["apply", "--dry-run", "-f", "examples/secure-pi.yaml"])
        .output()
        .expect("run");
    assert!(yaml.status.success());
    assert!(
        String::from_utf8_lossy(&yaml.stdout)
            .matches("\n---\n")
            .count()
            >= 6
    );
}
