use sparkop_api::manifest::{LoadOptions, Object, load_str};

use super::*;

const UID: &str = "369ebfaf-7f27-4ead-bd82-1ccb987b2f95";

fn app_of(text: &str) -> SparkApplication {
    let l = load_str("t.yaml", text, LoadOptions::default());
    match l.documents.into_iter().next().map(|d| d.object) {
        Some(Object::SparkApplication(a)) => *a,
        other => panic!("{other:?}"),
    }
}

fn build(text: &str) -> DriverObjects {
    let app = app_of(text);
    let plan = sparkop_core::plan(&app).expect("plan");
    let (auth_secret, ui_keystore_secret, _) = secret_choice(&plan);
    let ctx = Context {
        uid: UID.into(),
        attempt: 0,
        auth_secret,
        ui_keystore_secret,
    };
    driver_objects(&app, &plan, &ctx).expect("objects")
}

/// The string `field` of each item of the list `v` (empty when `v` is not a list).
fn strings<'a>(v: &'a serde_json::Value, field: &str) -> Vec<&'a str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x[field].as_str())
        .collect()
}

fn all_json(o: &DriverObjects) -> serde_json::Value {
    serde_json::json!({
        "pod": o.pod, "configMap": o.config_map, "driverService": o.driver_service,
        "uiService": o.ui_service, "networkPolicy": o.network_policy,
    })
}

const SECURE_PI: &str = include_str!("../../../../examples/secure-pi.yaml");
const AUTH: &str = include_str!("../../../../examples/auth-encryption.yaml");
const UI_TLS: &str = include_str!("../../../../examples/ui-tls.yaml");

#[test]
fn snapshots_of_the_examples() {
    for (name, text) in [
        ("secure-pi", SECURE_PI),
        ("auth-encryption", AUTH),
        ("ui-tls", UI_TLS),
    ] {
        insta::assert_json_snapshot!(name, all_json(&build(text)));
    }
}

#[test]
fn the_guide_auth_secret_reaches_spark_only_as_a_file() {
    let o = build(AUTH);
    let props = o.config_map.data.as_ref().expect("data")["spark.properties"].clone();
    assert!(
        props.contains("spark.authenticate.secret.driver.file=/mnt/sparkop/auth/secret"),
        "{props}"
    );
    assert!(props.contains("spark.authenticate.secret.executor.file=/mnt/sparkop/auth/secret"));
    assert!(props.contains("spark.kubernetes.executor.secrets.spark-secret=/mnt/sparkop/auth"));
    assert!(
        !props.contains("SPARK_AUTHENTICATE_SECRET"),
        "the ignored convention is replaced: {props}"
    );
    assert!(
        props.contains("spark.network.crypto.enabled=true")
            && props.contains("spark.network.crypto.saslFallback=false")
    );
    let pod = serde_json::to_value(&o.pod).expect("json");
    let env = &pod["spec"]["containers"][0]["env"];
    for e in env.as_array().expect("env") {
        let name = e["name"].as_str().unwrap_or("");
        assert_ne!(name, "SPARK_AUTHENTICATE_SECRET");
        assert_ne!(name, "_SPARK_AUTH_SECRET");
        if name.contains("PASSWORD") {
            assert!(
                e.get("value").is_none(),
                "a password as a literal env value: {e}"
            );
        }
    }
    let vols = pod["spec"]["volumes"].to_string();
    assert!(vols.contains("\"secretName\":\"spark-secret\""), "{vols}");
}

#[test]
fn the_https_ui_port_is_exposed_on_the_pod_and_the_ui_service() {
    let o = build(SECURE_PI);
    let pod = serde_json::to_value(&o.pod).expect("json");
    let ports = pod["spec"]["containers"][0]["ports"].to_string();
    assert!(ports.contains("\"containerPort\":4440"), "{ports}");
    let svc = serde_json::to_value(o.ui_service.as_ref().expect("ui service")).expect("json");
    assert!(svc["spec"]["ports"].to_string().contains("\"port\":4440"));
    let props = &o.config_map.data.as_ref().expect("data")["spark.properties"];
    assert!(props.contains("spark.ssl.keyStore=/mnt/sparkop/ui-tls/keystore.p12"));
    assert!(
        props.contains("spark.ssl.keyStorePassword=${env\\:SPARKOP_UI_KEYSTORE_PASSWORD}"),
        "{props}"
    );
    assert!(
        props.contains("spark.ssl.enabledAlgorithms=TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256")
    );
}

#[test]
fn objects_are_deterministic_owned_and_immutable() {
    let a = build(AUTH);
    assert_eq!(a, build(AUTH));
    assert_eq!(a.config_map.immutable, Some(true));
    for owners in [
        &a.pod.metadata.owner_references,
        &a.config_map.metadata.owner_references,
        &a.driver_service.metadata.owner_references,
    ] {
        let o = &owners.as_ref().expect("owner")[0];
        assert_eq!(
            (o.kind.as_str(), o.uid.as_str(), o.controller),
            ("SparkApplication", UID, Some(true))
        );
    }
    let svc = a.driver_service.spec.as_ref().expect("spec");
    assert_eq!(svc.cluster_ip.as_deref(), Some("None"));
}

#[test]
fn memory_requests_follow_spark_overheads() {
    let pod = serde_json::to_value(&build(AUTH).pod).expect("json");
    // 512m + max(384 MiB, 10 %) for a JVM application.
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["requests"]["memory"],
        "896Mi"
    );
    let pod = serde_json::to_value(&build(SECURE_PI).pod).expect("json");
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["limits"]["memory"],
        "896Mi"
    );
}

#[test]
fn the_preview_lists_generated_secrets_without_values_then_the_objects() {
    let objects = preview(&app_of(SECURE_PI)).expect("preview");
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "Secret",
            "Secret",
            "ConfigMap",
            "Service",
            "Service",
            "NetworkPolicy",
            "Pod"
        ]
    );
    for secret in &objects[..2] {
        assert!(
            secret.get("data").is_none() && secret.get("stringData").is_none(),
            "{secret}"
        );
    }
    assert_eq!(objects[0]["metadata"]["name"], "secure-pi-sparkop-auth");
}

/// An application that customises both roles the way users do (pod-level fields Spark's own
/// settings cannot carry).
const CUSTOMISED: &str = r#"
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {name: custom, namespace: default}
spec:
  type: Scala
  sparkVersion: "4.3.0"
  image: "apache/spark:4.3.0"
  mainClass: org.example.Main
  mainApplicationFile: "local:///opt/app/app.jar"
  nodeSelector: {pool: spark}
  volumes:
    - {name: data, persistentVolumeClaim: {claimName: data}}
    - {name: unused, emptyDir: {}}
    - {name: cache, emptyDir: {}}
  driver:
    cores: 1
    serviceAccount: spark
    env:
      - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
      - {name: PLAIN, value: "x"}
  executor:
    instances: 2
    serviceAccount: spark-exec
    volumeMounts: [{name: data, mountPath: /data}]
    tolerations: [{key: spot, operator: Exists, effect: NoSchedule}]
    nodeSelector: {pool: executors}
    securityContext: {runAsNonRoot: true, readOnlyRootFilesystem: true}
    podSecurityContext: {fsGroup: 185}
    env:
      - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
      - {name: FROM_SECRET, valueFrom: {secretKeyRef: {name: s, key: k}}}
    sidecars: [{name: log-shipper, image: "busybox:1", volumeMounts: [{name: cache, mountPath: /cache}]}]
    priorityClassName: batch
    template:
      metadata: {labels: {team: data}}
      spec:
        containers: [{name: spark-kubernetes-executor, resources: {limits: {"nvidia.com/gpu": 1}}}]
"#;

fn template_of(o: &DriverObjects) -> serde_json::Value {
    let text = &o.config_map.data.as_ref().expect("data")[EXECUTOR_TEMPLATE_KEY];
    serde_saphyr::from_str(text).expect("the executor template is YAML")
}

#[test]
fn executor_settings_reach_the_executor_pod_template() {
    let o = build(CUSTOMISED);
    let t = template_of(&o);
    let spec = &t["spec"];
    let c = &spec["containers"][0];
    assert_eq!(c["name"], EXECUTOR_CONTAINER);
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/data");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        c["resources"]["limits"]["nvidia.com/gpu"], "1",
        "template kept"
    );
    // Only the variable Spark's own settings cannot carry (and the master the executors'
    // secret file needs); the secret one goes by reference through
    // spark.kubernetes.executor.secretKeyRef and never appears as a value.
    let env = strings(&c["env"], "name");
    assert_eq!(env, [EXECUTOR_MASTER_OPT_ENV, "POD_IP"]);
    assert_eq!(spec["containers"][1]["name"], "log-shipper");
    let volumes = strings(&spec["volumes"], "name");
    assert_eq!(
        volumes,
        ["data", "cache"],
        "only the volumes the executor mounts"
    );
    assert_eq!(spec["tolerations"][0]["key"], "spot");
    assert_eq!(
        spec["nodeSelector"]["pool"], "executors",
        "the role's selector wins"
    );
    assert_eq!(spec["securityContext"]["fsGroup"], 185);
    assert_eq!(spec["serviceAccountName"], "spark-exec");
    assert_eq!(spec["priorityClassName"], "batch");
    assert_eq!(t["metadata"]["labels"]["team"], "data");
    let props = &o.config_map.data.as_ref().expect("data")["spark.properties"];
    assert!(props.contains(
        "spark.kubernetes.executor.podTemplateFile=/opt/spark/conf/pod-spec-template.yml"
    ));
    assert!(props.contains("spark.kubernetes.executor.secretKeyRef.FROM_SECRET=s\\:k"));
}

#[test]
fn the_driver_gets_its_own_settings_and_the_hardened_default() {
    let o = build(CUSTOMISED);
    let pod = serde_json::to_value(&o.pod).expect("json");
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["name"], DRIVER_CONTAINER);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert!(
        c["env"]
            .as_array()
            .expect("env")
            .iter()
            .any(|e| e["name"] == "NODE"
                && e["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName")
    );
    assert_eq!(
        pod["spec"]["nodeSelector"]["pool"], "spark",
        "the app-level selector"
    );
    assert!(
        pod["spec"]["tolerations"].is_null(),
        "executor settings stay there"
    );
    let volumes = strings(&pod["spec"]["volumes"], "name");
    assert!(volumes.contains(&"sparkop-auth"), "{volumes:?}");
    assert!(
        !volumes.contains(&"data") && !volumes.contains(&"unused"),
        "{volumes:?}"
    );
    // A plain executor template still hardens the container.
    let plain = template_of(&build(SECURE_PI));
    assert_eq!(
        plain["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"][0],
        "ALL"
    );
}

#[test]
fn config_maps_are_mounted_where_spark_and_hadoop_read_them() {
    // The guide's example names a sparkConfigMap; v1beta2 operators mount it at /etc/spark/conf.
    let text = AUTH
        .replace(
            "  sparkConf:\n",
            "  sparkConfigMap: spark-conf-map\n  hadoopConfigMap: hadoop-conf\n  sparkConf:\n",
        )
        .replace(
            "  executor:\n",
            "  executor:\n    configMaps: [{name: lookup-tables, path: /opt/lookup}]\n",
        );
    let o = build(&text);
    let pod = serde_json::to_value(&o.pod).expect("json");
    let c = &pod["spec"]["containers"][0];
    let env = |c: &serde_json::Value, name: &str| -> Vec<String> {
        c["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["name"] == name)
            .filter_map(|e| e["value"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        env(c, "SPARK_CONF_DIR"),
        ["/etc/spark/conf"],
        "replaced, not duplicated"
    );
    assert_eq!(env(c, "HADOOP_CONF_DIR"), ["/etc/hadoop/conf"]);
    let mounted = |c: &serde_json::Value| -> Vec<String> {
        c["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["mountPath"].as_str().map(str::to_owned))
            .collect()
    };
    let driver_mounts = mounted(c);
    assert!(
        driver_mounts.contains(&"/etc/spark/conf".to_owned()),
        "{driver_mounts:?}"
    );
    assert!(
        driver_mounts.contains(&"/opt/spark/conf".to_owned()),
        "spark.properties stays"
    );
    assert!(
        !driver_mounts.contains(&"/opt/lookup".to_owned()),
        "executor-only"
    );
    let t = template_of(&o);
    let e = &t["spec"]["containers"][0];
    let executor_mounts = mounted(e);
    for dir in ["/etc/spark/conf", "/etc/hadoop/conf", "/opt/lookup"] {
        assert!(
            executor_mounts.contains(&dir.to_owned()),
            "{dir}: {executor_mounts:?}"
        );
    }
    let volumes: Vec<&str> = t["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v["configMap"]["name"].as_str())
        .collect();
    assert_eq!(volumes, ["lookup-tables", "spark-conf-map", "hadoop-conf"]);
}

#[test]
fn the_driver_pod_is_laid_over_spec_driver_template() {
    let text = AUTH.replace(
        "  driver:\n",
        r#"  driver:
    template:
      metadata: {name: ignored, labels: {team: data, spark-role: not-this}, annotations: {note: kept}}
      spec:
        restartPolicy: Always
        tolerations: [{key: dedicated, operator: Exists}]
        containers:
          - name: spark-kubernetes-driver
            image: "ignored:1"
            env: [{name: FROM_TEMPLATE, value: "1"}]
            volumeMounts: [{name: scratch, mountPath: /scratch}]
          - {name: proxy, image: "envoy:1"}
        volumes: [{name: scratch, emptyDir: {}}]
"#,
    );
    let o = build(&text);
    let pod = serde_json::to_value(&o.pod).expect("json");
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Never", "sparkop's field wins");
    assert_eq!(
        spec["tolerations"][0]["key"], "dedicated",
        "the template's stays"
    );
    let c = &spec["containers"][0];
    assert_eq!(c["name"], DRIVER_CONTAINER);
    assert_eq!(c["image"], "apache/spark:4.3.0");
    assert!(
        c["env"]
            .as_array()
            .expect("env")
            .iter()
            .any(|e| e["name"] == "FROM_TEMPLATE")
    );
    assert!(
        c["env"]
            .as_array()
            .expect("env")
            .iter()
            .any(|e| e["name"] == "SPARK_CONF_DIR")
    );
    let mounts = strings(&c["volumeMounts"], "mountPath");
    assert!(
        mounts.contains(&"/scratch") && mounts.contains(&"/mnt/sparkop/auth"),
        "{mounts:?}"
    );
    assert_eq!(spec["containers"][1]["name"], "proxy");
    let volumes = strings(&spec["volumes"], "name");
    assert!(
        volumes.contains(&"scratch") && volumes.contains(&"sparkop-auth"),
        "{volumes:?}"
    );
    let meta = &pod["metadata"];
    assert_eq!(
        meta["name"],
        format!("{}-0-driver", "spark-rpc-auth-encryption-app")
    );
    assert_eq!(meta["labels"]["team"], "data");
    assert_eq!(meta["labels"]["spark-role"], "driver");
    assert_eq!(meta["annotations"]["note"], "kept");
}

#[test]
fn resources_ports_and_service_metadata_reach_spark_and_the_objects() {
    let text = AUTH
        .replace(
            "  driver:\n",
            "  driver:\n    gpu: {name: nvidia.com/gpu, quantity: 2}\n    ports: [{name: jmx, protocol: TCP, containerPort: 9090}]\n    serviceAnnotations: {prometheus.io/scrape: \"true\"}\n    serviceLabels: {team: data, spark-app-selector: not-this}\n",
        )
        .replace(
            "  executor:\n",
            "  executor:\n    coreRequest: 500m\n    coreLimit: \"2\"\n    gpu: {name: nvidia.com/gpu, quantity: 1}\n    ports: [{name: metrics, protocol: TCP, containerPort: 8090}]\n",
        );
    let o = build(&text);
    let props = &o.config_map.data.as_ref().expect("data")["spark.properties"];
    for line in [
        "spark.kubernetes.executor.request.cores=500m",
        "spark.kubernetes.executor.limit.cores=2",
        "spark.executor.resource.gpu.amount=1",
        "spark.executor.resource.gpu.vendor=nvidia.com",
    ] {
        assert!(props.contains(line), "{line} missing:\n{props}");
    }
    let pod = serde_json::to_value(&o.pod).expect("json");
    let ports = strings(&pod["spec"]["containers"][0]["ports"], "name");
    assert!(
        ports.contains(&"jmx") && ports.contains(&"driver-rpc-port"),
        "{ports:?}"
    );
    let t = template_of(&o);
    assert_eq!(
        t["spec"]["containers"][0]["ports"][0]["containerPort"],
        8090
    );
    let svc = serde_json::to_value(&o.driver_service).expect("json");
    assert_eq!(
        svc["metadata"]["annotations"]["prometheus.io/scrape"],
        "true"
    );
    assert_eq!(svc["metadata"]["labels"]["team"], "data");
    assert_ne!(svc["metadata"]["labels"]["spark-app-selector"], "not-this");
}

#[test]
fn secret_files_are_readable_by_the_spark_user_and_no_one_else() {
    // Found on the real node: a Secret volume with mode 0400 and no fsGroup is root:root
    // inside the pod, and the Spark user (185) cannot read its own RPC secret.
    let o = build(SECURE_PI);
    let pod = serde_json::to_value(&o.pod).expect("json");
    let spec = &pod["spec"];
    for v in spec["volumes"].as_array().expect("volumes") {
        if v["name"] == "sparkop-auth" || v["name"] == "sparkop-ui-tls" {
            assert_eq!(v["secret"]["defaultMode"], 0o440, "{v}");
        }
    }
    for sc in [
        &spec["securityContext"],
        &template_of(&o)["spec"]["securityContext"],
    ] {
        assert_eq!(sc["fsGroup"], 185, "{sc}");
        assert_eq!(sc["runAsNonRoot"], true, "{sc}");
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{sc}");
    }
    // A role's own podSecurityContext is laid over the defaults: its fields win, the group
    // that makes the secrets readable stays.
    let t = template_of(&build(&CUSTOMISED.replace(
        "podSecurityContext: {fsGroup: 185}",
        "podSecurityContext: {runAsUser: 1000}",
    )));
    assert_eq!(t["spec"]["securityContext"]["runAsUser"], 1000);
    assert_eq!(t["spec"]["securityContext"]["fsGroup"], 185);
}

#[test]
fn pods_log_authentication_like_a_local_run() {
    // The driver's refusals and accepted executors are only logged at DEBUG by Spark.
    let o = build(SECURE_PI);
    let data = o.config_map.data.as_ref().expect("data");
    assert_eq!(data[LOG4J_KEY], sparkop_core::plan::log4j_config(false));
    let pod = serde_json::to_value(&o.pod).expect("json");
    let conf = pod["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "spark-conf-volume-driver")
        .expect("conf volume");
    assert!(strings(&conf["configMap"]["items"], "key").contains(&LOG4J_KEY));
}

#[test]
fn executors_can_read_their_secret_file_and_load_the_application() {
    // Found on the real node: an executor's first connection reads only
    // spark.authenticate.secret.file, and only with a k8s spark.master in its startup conf;
    // and without the application jar in spark.jars no task can load its closure.
    let o = build(AUTH);
    let props = &o.config_map.data.as_ref().expect("data")["spark.properties"];
    assert!(props.contains("spark.authenticate.secret.file=/mnt/sparkop/auth/secret"));
    // Executors' block managers listen where their pods say (the audit reaches them there).
    assert!(props.contains("spark.blockManager.port=7079"), "{props}");
    assert!(props.contains("spark.jars=local\\://"), "{props}");
    let t = template_of(&o);
    let env = &t["spec"]["containers"][0]["env"];
    let master = env
        .as_array()
        .expect("env")
        .iter()
        .find(|e| e["name"] == EXECUTOR_MASTER_OPT_ENV)
        .expect("the master option");
    assert_eq!(
        master["value"],
        format!("-Dspark.master={IN_CLUSTER_MASTER}")
    );
    // Python applications keep their file out of spark.jars.
    let py = build(SECURE_PI);
    let props = &py.config_map.data.as_ref().expect("data")["spark.properties"];
    assert!(!props.contains("spark.jars="), "{props}");
}

#[test]
fn executors_pull_their_image_as_the_driver_does() {
    // Found splitting the builders: imagePullPolicy and imagePullSecrets reached the driver
    // pod only, so executors of a private registry's image could not start.
    let o = build(&AUTH.replace(
        "  imagePullPolicy: IfNotPresent\n",
        "  imagePullPolicy: Always\n  imagePullSecrets: [registry-a, registry-b]\n",
    ));
    let props = &o.config_map.data.as_ref().expect("data")["spark.properties"];
    assert!(
        props.contains("spark.kubernetes.container.image.pullPolicy=Always"),
        "{props}"
    );
    assert!(
        props.contains("spark.kubernetes.container.image.pullSecrets=registry-a,registry-b"),
        "{props}"
    );
    let pod = serde_json::to_value(&o.pod).expect("json");
    assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(pod["spec"]["imagePullSecrets"][1]["name"], "registry-b");
}

#[test]
fn the_driver_pod_is_sized_by_sparks_memory_rule_from_the_plan() {
    // heap 512m + max(10 %, 384 MiB) for a JVM application; memoryOverheadFactor replaces
    // the 10 % (and reaches Spark, which sizes the executor pods with it).
    let o = build(AUTH);
    let pod = serde_json::to_value(&o.pod).expect("json");
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["requests"]["memory"],
        "896Mi"
    );
    let o = build(&AUTH.replace(
        "  sparkVersion: \"4.3.0\"\n",
        "  sparkVersion: \"4.3.0\"\n  memoryOverheadFactor: \"1.0\"\n",
    ));
    let pod = serde_json::to_value(&o.pod).expect("json");
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["requests"]["memory"],
        "1024Mi"
    );
    let props = &o.config_map.data.as_ref().expect("data")["spark.properties"];
    assert!(
        props.contains("spark.kubernetes.memoryOverheadFactor=1.0"),
        "{props}"
    );
}
