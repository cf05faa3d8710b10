//! Conformance with spark-submit: the real `spark-submit --deploy-mode cluster` (pyspark 4.3.0
//! from PyPI) creates the guide's auth+encryption application against a recording API server
//! of this repository; its driver Pod, ConfigMap, Service and NetworkPolicy are compared field
//! by field with what sparkop's builders make. Every difference is either a bug (the test
//! fails) or listed below as an intended improvement with its reason.
//!
//! Skipped (passes) without Spark unless SPARKOP_REQUIRE_E2E=1.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sparkop_testcluster::recorder::{Recorded, RecordingServer};

const AUTH_EXAMPLE: &str = include_str!("../../../examples/auth-encryption.yaml");
const NAME: &str = "spark-rpc-auth-encryption-app";

fn spark_home() -> Option<PathBuf> {
    let cache = sparkop_local::install::cache_dir();
    let found = sparkop_local::install::installed(&cache, "4.3.0").map(|h| h.home);
    if found.is_none() {
        assert!(
            std::env::var("SPARKOP_REQUIRE_E2E").as_deref() != Ok("1"),
            "Spark 4.3.0 is not installed (sparkop spark install 4.3.0)"
        );
        eprintln!("skipping: Spark 4.3.0 is not installed");
    }
    found
}

/// The example's settings as spark-submit arguments, the way the kubeflow operator passes a
/// SparkApplication to spark-submit.
fn submit_args(port: u16) -> Vec<String> {
    let loaded = sparkop_api::manifest::load_str("t.yaml", AUTH_EXAMPLE, Default::default());
    let sparkop_api::manifest::Object::SparkApplication(app) = &loaded.documents[0].object else {
        panic!("not an application")
    };
    let s = &app.spec;
    let mut conf: Vec<(String, String)> = vec![
        ("spark.kubernetes.namespace".into(), "default".into()),
        (
            "spark.kubernetes.container.image".into(),
            s.image.clone().unwrap_or_default(),
        ),
        (
            "spark.kubernetes.container.image.pullPolicy".into(),
            s.image_pull_policy.clone().unwrap_or_default(),
        ),
        (
            "spark.kubernetes.submission.waitAppCompletion".into(),
            "false".into(),
        ),
        (
            "spark.kubernetes.authenticate.driver.serviceAccountName".into(),
            s.driver.service_account.clone().unwrap_or_default(),
        ),
        (
            "spark.driver.cores".into(),
            s.driver.cores.unwrap_or(1).to_string(),
        ),
        (
            "spark.driver.memory".into(),
            s.driver.memory.clone().unwrap_or_default(),
        ),
        (
            "spark.executor.cores".into(),
            s.executor.cores.unwrap_or(1).to_string(),
        ),
        (
            "spark.executor.instances".into(),
            s.executor.instances.unwrap_or(1).to_string(),
        ),
        (
            "spark.executor.memory".into(),
            s.executor.memory.clone().unwrap_or_default(),
        ),
    ];
    for (k, v) in s.executor.labels.iter().flatten() {
        conf.push((format!("spark.kubernetes.executor.label.{k}"), v.clone()));
    }
    for (k, v) in s.spark_conf.iter().flatten() {
        conf.push((k.clone(), v.clone()));
    }
    let mut args = vec![
        "--master".to_owned(),
        format!("k8s://http://127.0.0.1:{port}"),
        "--deploy-mode".into(),
        "cluster".into(),
        "--name".into(),
        NAME.into(),
        "--class".into(),
        s.main_class.clone().unwrap_or_default(),
    ];
    for (k, v) in conf {
        args.push("--conf".into());
        args.push(format!("{k}={v}"));
    }
    args.push(s.main_application_file.clone());
    args.extend(s.arguments.clone().unwrap_or_default());
    args
}

fn run_spark_submit(home: &Path, port: u16) {
    let conf_dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(home.join("bin/spark-submit"))
        .args(submit_args(port))
        .env("SPARK_HOME", home)
        .env("SPARK_CONF_DIR", conf_dir.path())
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .output()
        .expect("spark-submit");
    assert!(
        out.status.success(),
        "spark-submit failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The body of the last write to a resource kind.
fn captured<'a>(requests: &'a [Recorded], resource: &str) -> &'a Value {
    &requests
        .iter()
        .rev()
        .find(|r| {
            matches!(r.method.as_str(), "POST" | "PATCH")
                && r.path.split('/').any(|s| s == resource)
        })
        .unwrap_or_else(|| {
            panic!(
                "no {resource} in {:?}",
                requests
                    .iter()
                    .map(|r| (&r.method, &r.path))
                    .collect::<Vec<_>>()
            )
        })
        .body
}

fn ours() -> sparkop_operator::build::DriverObjects {
    objects_of(AUTH_EXAMPLE)
}

/// Attempt 0's objects for the application in `text`, with the recorder's uid.
fn objects_of(text: &str) -> sparkop_operator::build::DriverObjects {
    let loaded = sparkop_api::manifest::load_str("t.yaml", text, Default::default());
    let sparkop_api::manifest::Object::SparkApplication(app) = &loaded.documents[0].object else {
        panic!("not an application")
    };
    let plan = sparkop_core::plan(app).expect("plan");
    let (auth_secret, ui_keystore_secret, _) = sparkop_operator::build::secret_choice(&plan);
    let ctx = sparkop_operator::build::Context {
        uid: sparkop_testcluster::recorder::UID.into(),
        attempt: 0,
        auth_secret,
        ui_keystore_secret,
    };
    sparkop_operator::build::driver_objects(app, &plan, &ctx).expect("objects")
}

fn names(list: &Value, field: &str) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v[field].as_str().map(str::to_owned))
        .collect()
}

fn props(cm: &Value) -> BTreeMap<String, String> {
    cm["data"]["spark.properties"]
        .as_str()
        .unwrap_or("")
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("\\:", ":").replace("\\=", "=")))
        .collect()
}

/// Asserts `theirs` and `mine` are equal except for the listed intended differences.
fn same_set(
    what: &str,
    theirs: &BTreeSet<String>,
    mine: &BTreeSet<String>,
    intended: &[(&str, &str)],
) {
    let allowed: BTreeSet<&str> = intended.iter().map(|(k, _)| *k).collect();
    for k in theirs.symmetric_difference(mine) {
        assert!(
            allowed.contains(k.as_str()),
            "{what}: {k:?} differs from spark-submit (theirs {theirs:?}, ours {mine:?}) and is not an intended difference"
        );
    }
    for (k, why) in intended {
        assert!(
            theirs.contains(*k) != mine.contains(*k),
            "{what}: {k:?} is listed as an intended difference ({why}) but no longer differs"
        );
    }
}

#[test]
fn the_builders_match_spark_submit_except_for_listed_improvements() {
    let Some(home) = spark_home() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let server = rt
        .block_on(RecordingServer::start())
        .expect("recording server");
    run_spark_submit(&home, server.port);
    let requests = server.requests();
    // spark-submit's request sequence: POST the pod, then server-side apply of the rest.
    let writes: Vec<(&str, &str)> = requests
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| {
            let segs: Vec<&str> = r.path.split('/').collect();
            let ns = segs.iter().position(|s| *s == "namespaces").unwrap_or(0);
            (r.method.as_str(), segs.get(ns + 2).copied().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        writes,
        [
            ("POST", "pods"),
            ("PATCH", "services"),
            ("PATCH", "networkpolicies"),
            ("PATCH", "configmaps")
        ],
        "{requests:#?}"
    );
    let o = ours();
    let pod_theirs = captured(&requests, "pods");
    let pod_ours = serde_json::to_value(&o.pod).expect("json");
    let (ct, co) = (
        &pod_theirs["spec"]["containers"][0],
        &pod_ours["spec"]["containers"][0],
    );

    // The container: same image, pull policy, command line, resources, restart policy, account.
    for field in ["image", "imagePullPolicy", "args", "resources"] {
        assert_eq!(ct[field], co[field], "container.{field}");
    }
    for field in ["restartPolicy", "serviceAccountName"] {
        assert_eq!(
            pod_theirs["spec"][field], pod_ours["spec"][field],
            "spec.{field}"
        );
    }
    same_set(
        "env",
        &names(&ct["env"], "name"),
        &names(&co["env"], "name"),
        &[
            (
                "SPARK_AUTHENTICATE_SECRET",
                "the guide's variable is read by no Spark code; sparkop delivers that Secret key as spark.authenticate.secret.*.file",
            ),
            (
                "SPARKOP_UI_KEYSTORE_PASSWORD",
                "the generated UI keystore's password, from a secretKeyRef, read by Spark through ${env:...}",
            ),
        ],
    );
    same_set(
        "ports",
        &names(&ct["ports"], "name"),
        &names(&co["ports"], "name"),
        &[
            (
                "spark-ui-https",
                "spark-submit does not expose the HTTPS UI port (ui.port + 400) at all",
            ),
            (
                "spark-connect",
                "these applications do not start a Spark Connect server; nothing listens on 15002",
            ),
        ],
    );
    same_set(
        "volumes",
        &names(&pod_theirs["spec"]["volumes"], "name"),
        &names(&pod_ours["spec"]["volumes"], "name"),
        &[
            (
                "sparkop-auth",
                "the RPC secret as a file (never env or ConfigMap)",
            ),
            ("sparkop-ui-tls", "the UI keystore (UI TLS on by default)"),
        ],
    );
    let labels = |p: &Value| -> BTreeSet<String> {
        p["metadata"]["labels"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    same_set(
        "pod labels",
        &labels(pod_theirs),
        &labels(&pod_ours),
        &[
            (
                "sparkoperator.k8s.io/app-name",
                "v1beta2 operators label their pods with the application",
            ),
            (
                "sparkoperator.k8s.io/launched-by-spark-operator",
                "lets the operator watch only its own pods",
            ),
            (
                "version",
                "the example's driver.labels, which spark-submit only gets through a pod template",
            ),
        ],
    );
    for label in ["spark-app-name", "spark-role", "spark-version"] {
        assert_eq!(
            pod_theirs["metadata"]["labels"][label], pod_ours["metadata"]["labels"][label],
            "label {label}"
        );
    }
    assert_eq!(
        ct["securityContext"]["allowPrivilegeEscalation"],
        co["securityContext"]["allowPrivilegeEscalation"]
    );

    // The headless Service: the same driver ports and selector; the UI has its own Service.
    let svc_theirs = captured(&requests, "services");
    let svc_ours = serde_json::to_value(&o.driver_service).expect("json");
    assert_eq!(
        svc_theirs["spec"]["clusterIP"],
        svc_ours["spec"]["clusterIP"]
    );
    same_set(
        "service ports",
        &names(&svc_theirs["spec"]["ports"], "name"),
        &names(&svc_ours["spec"]["ports"], "name"),
        &[
            (
                "spark-ui",
                "the UI is served by its own Service with the HTTPS port too",
            ),
            ("spark-connect", "no Spark Connect server runs"),
        ],
    );
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(
        keys(&svc_theirs["spec"]["selector"]),
        keys(&svc_ours["spec"]["selector"])
    );

    // The NetworkPolicy: same shape.
    let np_theirs = captured(&requests, "networkpolicies");
    let np_ours = serde_json::to_value(o.network_policy.as_ref().expect("policy")).expect("json");
    assert_eq!(
        keys(&np_theirs["spec"]["podSelector"]["matchLabels"]),
        keys(&np_ours["spec"]["podSelector"]["matchLabels"])
    );
    assert_eq!(
        np_theirs["spec"]["ingress"].as_array().map(Vec::len),
        np_ours["spec"]["ingress"].as_array().map(Vec::len)
    );

    // The ConfigMap: immutable, same keys; spark.properties per key.
    let cm_theirs = captured(&requests, "configmaps");
    let cm_ours = serde_json::to_value(&o.config_map).expect("json");
    assert_eq!(cm_theirs["immutable"], cm_ours["immutable"]);
    same_set(
        "ConfigMap keys",
        &keys(&cm_theirs["data"]),
        &keys(&cm_ours["data"]),
        &[
            (
                "pod-spec-template.yml",
                "the executor pod template: hardened container and the executor settings Spark's conf cannot carry",
            ),
            (
                "log4j2.properties",
                "logging as a local run does: the driver's accepted and refused connections at DEBUG",
            ),
        ],
    );
    let (pt, po) = (props(cm_theirs), props(&cm_ours));
    let intended: &[(&str, &str)] = &[
        (
            "spark.app.submitTime",
            "set by the submitting JVM; there is none",
        ),
        (
            "spark.kubernetes.submission.waitAppCompletion",
            "an option of the submitting client",
        ),
        (
            "spark.kubernetes.driver.secretKeyRef.SPARK_AUTHENTICATE_SECRET",
            "replaced by the secret file below",
        ),
        (
            "spark.kubernetes.executor.secretKeyRef.SPARK_AUTHENTICATE_SECRET",
            "replaced by the secret file below",
        ),
        (
            "spark.authenticate.secret.driver.file",
            "the RPC secret from a Secret volume",
        ),
        (
            "spark.authenticate.secret.executor.file",
            "the RPC secret from a Secret volume",
        ),
        (
            "spark.authenticate.secret.file",
            "the same file for the executors' first connection, whose SecurityManager reads only this key",
        ),
        (
            "spark.kubernetes.executor.secrets.spark-secret",
            "mounts the same Secret in executors",
        ),
        (
            "spark.network.crypto.cipher",
            "AES-GCM (authenticated encryption) where the version handles it",
        ),
        (
            "spark.network.crypto.saslFallback",
            "no SASL downgrade path",
        ),
        (
            "spark.io.encryption.enabled",
            "shuffle and spill files encrypted",
        ),
        (
            "spark.kubernetes.executor.label.sparkoperator.k8s.io/app-name",
            "executors labelled with their application, so the operator reports their states",
        ),
        (
            "spark.kubernetes.executor.label.sparkoperator.k8s.io/launched-by-spark-operator",
            "the label the operator's pod watch selects",
        ),
        (
            "spark.kubernetes.executor.podTemplateFile",
            "executors are laid over sparkop's executor pod template",
        ),
        (
            "spark.kubernetes.executor.podTemplateContainerName",
            "the Spark container of that template",
        ),
        ("spark.ssl.enabled", "UI TLS on by default"),
        ("spark.ssl.enabledAlgorithms", "TLS 1.3 only"),
        (
            "spark.ssl.keyPassword",
            "from the generated keystore Secret via ${env:...}",
        ),
        ("spark.ssl.keyStore", "the generated keystore"),
        (
            "spark.ssl.keyStorePassword",
            "from the generated keystore Secret via ${env:...}",
        ),
        ("spark.ssl.keyStoreType", "PKCS12"),
        ("spark.ssl.protocol", "TLS 1.3"),
        (
            "spark.kubernetes.memoryOverheadFactor",
            "Spark's default; the pod's resources already include the overhead",
        ),
        ("spark.submit.pyFiles", "empty"),
        (
            "spark.blockManager.port",
            "executors' block managers listen on the port their pods declare (7079), not a random one",
        ),
        (
            "spark.kubernetes.executor.useDriverPodIP",
            "executors reach the driver by its Service: the driver binds every address of its pod, so port-forwards (audit app, ui) reach it",
        ),
    ];
    let differ_in_value: &[(&str, &str)] = &[
        (
            "spark.app.id",
            "deterministic per application and attempt instead of random",
        ),
        (
            "spark.driver.host",
            "the Service name is deterministic per attempt",
        ),
        (
            "spark.kubernetes.driver.pod.name",
            "deterministic per attempt",
        ),
        (
            "spark.master",
            "the in-cluster API server instead of the submitting client's URL",
        ),
    ];
    let theirs: BTreeSet<String> = pt.keys().cloned().collect();
    let mine: BTreeSet<String> = po.keys().cloned().collect();
    same_set("spark.properties keys", &theirs, &mine, intended);
    assert!(
        theirs.intersection(&mine).count() >= 20,
        "too little in common: {theirs:?} vs {mine:?}"
    );
    for k in theirs.intersection(&mine) {
        if differ_in_value.iter().any(|(d, _)| d == k) {
            continue;
        }
        assert_eq!(pt[k], po[k], "spark.properties {k}");
    }
    // And the point of it all: no secret material where spark-submit put it.
    assert!(
        !serde_json::to_string(&pod_ours)
            .expect("json")
            .contains("SPARK_AUTHENTICATE_SECRET")
    );
}

/// The executor pod template, read by Spark's own loader (`KubernetesUtils.loadPodFromTemplate`,
/// what the driver does before it creates executors), with executor settings that only a
/// template can carry.
#[test]
fn sparks_loader_reads_the_executor_template() {
    let Some(home) = spark_home() else { return };
    let text = AUTH_EXAMPLE.replace(
        "  executor:\n",
        "  volumes:\n    - {name: data, emptyDir: {}}\n  executor:\n    volumeMounts: [{name: data, mountPath: /data}]\n    tolerations: [{key: spot, operator: Exists}]\n",
    );
    assert_ne!(text, AUTH_EXAMPLE, "the example changed; update this test");
    let o = objects_of(&text);
    let template =
        &o.config_map.data.as_ref().expect("data")[sparkop_operator::build::EXECUTOR_TEMPLATE_KEY];
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("pod-spec-template.yml");
    std::fs::write(&file, template).expect("write");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/LoadTemplate.java");
    let cp = format!("{}/jars/*", home.display());
    let ok = Command::new("javac")
        .args(["-nowarn", "-cp", &cp, "-d"])
        .arg(dir.path())
        .arg(&src)
        .status()
        .expect("javac");
    assert!(ok.success(), "javac failed");
    let out = Command::new("java")
        .arg("-cp")
        .arg(format!("{}:{cp}", dir.path().display()))
        .arg("LoadTemplate")
        .arg(&file)
        .arg(sparkop_operator::build::EXECUTOR_CONTAINER)
        .output()
        .expect("java");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for fact in [
        "container=spark-kubernetes-executor",
        "drop=[ALL]",
        "allowPrivilegeEscalation=false",
        "mounts=1",
        "otherContainers=0",
        "volumes=1",
        "tolerations=1",
    ] {
        assert!(
            stdout.lines().any(|l| l == fact),
            "{fact} missing:\n{stdout}"
        );
    }
}
