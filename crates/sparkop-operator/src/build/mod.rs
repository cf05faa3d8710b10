//! Pure builders: a validated application and its [`LaunchPlan`] become the objects of one
//! driver attempt — what `spark-submit` would create (driver Pod, immutable ConfigMap with
//! `spark.properties`, headless Service, NetworkPolicy on Spark 4) plus sparkop's additions (a
//! UI Service with the HTTPS port, secret deliveries as files and `secretKeyRef`s only).
//!
//! No secret value ever enters these objects: the RPC secret is a Secret volume read through
//! `spark.authenticate.secret.{driver,executor}.file`, passwords are `${env:VAR}` fed by
//! `secretKeyRef`. A test scans every built object for the values of the Secrets involved.

pub mod names;
mod pod_settings;
#[cfg(test)]
mod tests;

use serde_json::{Value, json};
use sparkop_api::k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use sparkop_api::k8s_openapi::api::networking::v1::NetworkPolicy;
use sparkop_api::{SparkApplication, SparkApplicationType};
use sparkop_core::LaunchPlan;
use sparkop_core::plan::{
    AppFile, AuthSecret, KEYSTORE_KEY, KEYSTORE_PASSWORD_KEY, UI_KEYSTORE_PASSWORD_ENV, UiTlsPlan,
    properties_file,
};
use sparkop_core::units::parse_spark_memory;

pub use names::Names;

/// Where the RPC secret Secret is mounted in driver and executors.
pub const AUTH_MOUNT: &str = "/mnt/sparkop/auth";
/// Where the UI keystore Secret is mounted in the driver.
pub const UI_TLS_MOUNT: &str = "/mnt/sparkop/ui-tls";
/// SPARK_CONF_DIR in the image; the ConfigMap is mounted here.
pub const CONF_DIR: &str = "/opt/spark/conf";
/// The driver container's name (as spark-submit names it).
pub const DRIVER_CONTAINER: &str = "spark-kubernetes-driver";
/// The label naming the application on its driver and executor pods (as v1beta2 operators do).
pub const APP_NAME_LABEL: &str = "sparkoperator.k8s.io/app-name";
/// The label the operator watches pods by.
pub const LAUNCHED_BY_LABEL: &str = "sparkoperator.k8s.io/launched-by-spark-operator";
/// The executor container's name in the executor pod template (Spark's default).
pub const EXECUTOR_CONTAINER: &str = "spark-kubernetes-executor";
/// The ConfigMap key (and file name in SPARK_CONF_DIR) of the executor pod template.
pub const EXECUTOR_TEMPLATE_KEY: &str = "pod-spec-template.yml";
/// The mode of the Secret files sparkop mounts: readable by root and the pod's `fsGroup` (the
/// Spark user's group, see `pod_settings::default_pod_security`), by no one else.
pub const SECRET_FILE_MODE: i32 = 0o440;
/// The ConfigMap key (and file name in SPARK_CONF_DIR) of Spark's logging configuration; the
/// driver hands SPARK_CONF_DIR's files to its executors, so both log the same way.
pub const LOG4J_KEY: &str = "log4j2.properties";
/// The master URL a driver pod uses: the API server through the `kubernetes` Service.
pub const IN_CLUSTER_MASTER: &str = "k8s://https://kubernetes.default.svc";
/// An executor JVM option variable Spark's own numbering never reaches; the images'
/// entrypoints pass every `SPARK_JAVA_OPT_*` to the executor JVM, in numeric order.
pub const EXECUTOR_MASTER_OPT_ENV: &str = "SPARK_JAVA_OPT_9999";
/// The driver's RPC port.
pub const DRIVER_PORT: u16 = 7078;
const BLOCK_MANAGER_PORT: u16 = 7079;
const LOCAL_DIR: &str = "/var/data/spark-local";

/// A Secret key the reconciler has settled on (referenced by the app, or generated and owned
/// by it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretKeyName {
    /// Secret name.
    pub name: String,
    /// Key.
    pub key: String,
}

/// What the builders need beyond the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// The SparkApplication's uid (owner references, app selector).
    pub uid: String,
    /// 0-based submission attempt.
    pub attempt: u32,
    /// The Secret and key holding the RPC secret, when authentication is on.
    pub auth_secret: Option<SecretKeyName>,
    /// The Secret holding the UI keystore (`keystore.p12`, `keystore-password`), when sparkop
    /// provides it.
    pub ui_keystore_secret: Option<String>,
    /// The `spark-version` label (the application's Spark version).
    pub spark_version: String,
}

/// The Secrets sparkop generates (and the application owns) when none is referenced.
pub fn generated_secret_names(app: &str) -> (SecretKeyName, String) {
    (
        SecretKeyName {
            name: format!("{app}-sparkop-auth"),
            key: "secret".into(),
        },
        format!("{app}-sparkop-ui-tls"),
    )
}

/// A Secret the operator generates for an application (once, owned by it) when none is
/// referenced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Generated {
    /// The RPC secret: 256 random bits, hex.
    Auth(SecretKeyName),
    /// The UI keystore: a CA and a serving certificate for the UI Service's names.
    UiKeystore(String),
}

/// Which Secrets an application's attempt uses: the RPC secret, the UI keystore Secret, and
/// which of them the operator must generate. One place for this choice (runtime and preview).
pub fn secret_choice(plan: &LaunchPlan) -> (Option<SecretKeyName>, Option<String>, Vec<Generated>) {
    let (generated_auth, generated_ui) = generated_secret_names(&plan.name);
    let mut generated = Vec::new();
    let auth = match &plan.auth_secret {
        None => None,
        Some(AuthSecret::FromSecret(r)) => Some(SecretKeyName {
            name: r.secret.clone(),
            key: r.key.clone(),
        }),
        Some(AuthSecret::Generated) => {
            generated.push(Generated::Auth(generated_auth.clone()));
            Some(generated_auth)
        }
    };
    let ui = match plan.ui.as_ref().and_then(|u| u.tls.as_ref()) {
        Some(UiTlsPlan::Keystore {
            from: Some(name), ..
        }) => Some(name.clone()),
        Some(UiTlsPlan::Keystore { from: None, .. }) => {
            generated.push(Generated::UiKeystore(generated_ui.clone()));
            Some(generated_ui)
        }
        _ => None,
    };
    (auth, ui, generated)
}

/// What `sparkop apply --dry-run` prints: attempt 0's objects (with a placeholder uid) and the
/// Secrets the operator would generate, without their values.
pub fn preview(app: &SparkApplication) -> Result<Vec<serde_json::Value>, BuildError> {
    let plan = sparkop_core::plan(app).map_err(|e| invalid("spec", e.to_string()))?;
    let (auth_secret, ui_keystore_secret, generated) = secret_choice(&plan);
    let ctx = Context {
        uid: PREVIEW_UID.into(),
        attempt: 0,
        auth_secret,
        ui_keystore_secret,
        spark_version: app.spec.spark_version.clone(),
    };
    let o = driver_objects(app, &plan, &ctx)?;
    let mut out = Vec::new();
    for g in generated {
        let (name, keys) = match g {
            Generated::Auth(s) => (s.name, vec![s.key]),
            Generated::UiKeystore(n) => (
                n,
                vec![
                    KEYSTORE_KEY.into(),
                    KEYSTORE_PASSWORD_KEY.into(),
                    "key-password".into(),
                    "ca.crt".into(),
                ],
            ),
        };
        out.push(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {
                "name": name, "namespace": plan.namespace,
                "annotations": {"sparkop.io/generated-keys": keys.join(",")},
            },
            "type": "Opaque",
        }));
    }
    let to = |v: Result<Value, serde_json::Error>| v.map_err(|e| invalid("object", e.to_string()));
    out.push(to(serde_json::to_value(&o.config_map))?);
    out.push(to(serde_json::to_value(&o.driver_service))?);
    if let Some(s) = &o.ui_service {
        out.push(to(serde_json::to_value(s))?);
    }
    if let Some(n) = &o.network_policy {
        out.push(to(serde_json::to_value(n))?);
    }
    out.push(to(serde_json::to_value(&o.pod))?);
    Ok(out)
}

/// The uid `preview` uses where the API server would assign one.
pub const PREVIEW_UID: &str = "00000000-0000-0000-0000-000000000000";

/// The objects of one driver attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct DriverObjects {
    /// Names used.
    pub names: Names,
    /// The driver pod.
    pub pod: Pod,
    /// `spark.properties` (immutable).
    pub config_map: ConfigMap,
    /// Headless Service the executors reach the driver through.
    pub driver_service: Service,
    /// The UI Service: HTTP (redirect) and, with TLS, HTTPS.
    pub ui_service: Option<Service>,
    /// Executors accept traffic only from pods of the same application (Spark 4 does this).
    pub network_policy: Option<NetworkPolicy>,
}

/// Why the objects could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// A field the builders need is missing or unusable.
    #[error("{field}: {message}")]
    Invalid {
        /// Field path.
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: &str, message: impl Into<String>) -> BuildError {
    BuildError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

fn from_json<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T, BuildError> {
    serde_json::from_value(v).map_err(|e| invalid(what, e.to_string()))
}

/// The executor pod template (YAML) the driver lays its executor pods over: the hardened
/// container security context and everything `spec.executor` sets that Spark's own settings
/// cannot carry (volume mounts, scheduling, security contexts, extra containers), over
/// `spec.executor.template` when given.
fn executor_template(app: &SparkApplication, plan: &LaunchPlan) -> Result<String, BuildError> {
    let settings = app.spec.executor.pod_settings();
    let (metadata, mut pod_spec, mut container) = pod_settings::split_template(
        settings.template,
        EXECUTOR_CONTAINER,
        "spec.executor.template",
    )?;
    if container.get("securityContext").is_none() {
        container["securityContext"] = pod_settings::hardened_container_security();
    }
    if let Some(sa) = &app.spec.executor.service_account {
        pod_spec["serviceAccountName"] = sa.clone().into();
    }
    if plan.auth_secret.is_some() {
        // Found on a real node: an executor reads its secret file only when its startup
        // conf names a k8s master, and Spark hands executors no `spark.master` at startup, so
        // they fail with "A secret key must be specified". The option goes in as a JVM system
        // property, as Spark's own startup options do.
        pod_settings::set_env(
            &mut container,
            EXECUTOR_MASTER_OPT_ENV,
            &format!("-Dspark.master={IN_CLUSTER_MASTER}"),
        );
    }
    pod_settings::apply(app, "executor", &settings, &mut pod_spec, container)?;
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": pod_spec});
    if !metadata.is_null() {
        pod["metadata"] = metadata;
    }
    let yaml =
        serde_saphyr::to_string(&pod).map_err(|e| invalid("spec.executor", e.to_string()))?;
    Ok(format!(
        "# Executor pod template of {}, written by sparkop\n{yaml}",
        app.metadata.name.as_deref().unwrap_or_default()
    ))
}

/// Builds every object of attempt `ctx.attempt` of `app`.
pub fn driver_objects(
    app: &SparkApplication,
    plan: &LaunchPlan,
    ctx: &Context,
) -> Result<DriverObjects, BuildError> {
    let spec = &app.spec;
    let names = Names::new(&plan.name, &ctx.uid, ctx.attempt);
    let ns = plan.namespace.as_str();
    let image = spec
        .driver
        .image
        .clone()
        .or_else(|| spec.image.clone())
        .ok_or_else(|| invalid("spec.image", "an image is required on Kubernetes"))?;
    let selector_labels = json!({
        "spark-app-name": plan.name,
        "spark-app-selector": names.app_selector,
        "spark-role": "driver",
        "spark-version": ctx.spark_version,
    });
    let mut labels = selector_labels.clone();
    labels[APP_NAME_LABEL] = plan.name.clone().into();
    labels[LAUNCHED_BY_LABEL] = "true".into();
    for (k, v) in spec.driver.labels.iter().flatten() {
        labels[k] = v.clone().into();
    }
    let owner = json!([{
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "name": plan.name,
        "uid": ctx.uid,
        "controller": true,
        "blockOwnerDeletion": true,
    }]);
    let meta = |name: &str, extra_labels: Value| {
        json!({
            "name": name,
            "namespace": ns,
            "labels": extra_labels,
            "ownerReferences": owner,
        })
    };
    let service_host = format!("{}.{ns}.svc", names.driver_service);

    // spark.properties: the plan's conf (no secret values) plus what running on Kubernetes
    // means, including where the secrets are mounted.
    let mut conf = plan.conf.clone();
    let resource_type = match plan.app_type {
        SparkApplicationType::Python => "python",
        SparkApplicationType::R => "r",
        SparkApplicationType::Java | SparkApplicationType::Scala => "java",
    };
    for (k, v) in [
        ("spark.master", IN_CLUSTER_MASTER.to_owned()),
        ("spark.submit.deployMode", "cluster".into()),
        ("spark.kubernetes.submitInDriver", "true".into()),
        ("spark.kubernetes.namespace", ns.to_owned()),
        ("spark.kubernetes.driver.pod.name", names.driver_pod.clone()),
        ("spark.app.id", names.app_selector.clone()),
        ("spark.driver.host", service_host),
        ("spark.driver.port", DRIVER_PORT.to_string()),
        (
            "spark.driver.blockManager.port",
            BLOCK_MANAGER_PORT.to_string(),
        ),
        (
            "spark.kubernetes.container.image",
            spec.executor.image.clone().unwrap_or_else(|| image.clone()),
        ),
        ("spark.kubernetes.resource.type", resource_type.into()),
        // Spark >= 4.1 would give executors the bind address (0.0.0.0, above) as the driver's
        // address; they use spark.driver.host, the headless Service, instead.
        ("spark.kubernetes.executor.useDriverPodIP", "false".into()),
    ] {
        conf.insert(k.into(), v);
    }
    // Executors' block managers on the port their pods declare (Spark declares 7079 on every
    // executor but binds a random port unless told; found on a real node, where the audit
    // could not find them). The user's own setting stays.
    conf.entry("spark.blockManager.port".into())
        .or_insert_with(|| BLOCK_MANAGER_PORT.to_string());
    if let Some(sa) = &spec.driver.service_account {
        conf.insert(
            "spark.kubernetes.authenticate.driver.serviceAccountName".into(),
            sa.clone(),
        );
    }
    // GPUs (Kubernetes only: a local run has no GPU discovery), as v1beta2 operators pass them.
    for (role, gpu) in [
        ("driver", &spec.driver.gpu),
        ("executor", &spec.executor.gpu),
    ] {
        let Some(gpu) = gpu else { continue };
        let Some((vendor, _)) = gpu.name.rsplit_once('/') else {
            return Err(invalid(
                &format!("spec.{role}.gpu.name"),
                format!("{:?} is not a resource name like nvidia.com/gpu", gpu.name),
            ));
        };
        conf.insert(
            format!("spark.{role}.resource.gpu.amount"),
            gpu.quantity.to_string(),
        );
        conf.insert(format!("spark.{role}.resource.gpu.vendor"), vendor.into());
    }
    // The operator finds executors (for their states) by the labels it finds drivers by.
    for (k, v) in [
        (APP_NAME_LABEL, plan.name.as_str()),
        (LAUNCHED_BY_LABEL, "true"),
    ] {
        conf.insert(format!("spark.kubernetes.executor.label.{k}"), v.into());
    }
    for (k, v) in spec.executor.labels.iter().flatten() {
        conf.insert(format!("spark.kubernetes.executor.label.{k}"), v.clone());
    }
    for (k, v) in spec.executor.annotations.iter().flatten() {
        conf.insert(
            format!("spark.kubernetes.executor.annotation.{k}"),
            v.clone(),
        );
    }
    for e in &plan.executor.secret_env {
        conf.insert(
            format!("spark.kubernetes.executor.secretKeyRef.{}", e.name),
            format!("{}:{}", e.from.secret, e.from.key),
        );
    }
    for m in &plan.executor.secret_mounts {
        conf.insert(
            format!("spark.kubernetes.executor.secrets.{}", m.secret),
            m.path.clone(),
        );
    }
    // The application jar reaches executors through spark.jars, as spark-submit's cluster
    // mode puts it there (found on a real node: without it executors cannot load the
    // application's classes and every task fails deserializing its closure).
    let primary = match &plan.main_file {
        AppFile::Image(p) => format!("local://{p}"),
        AppFile::Remote(u) | AppFile::OtherUri(u) => u.clone(),
        AppFile::Path(p) => p.clone(),
    };
    if matches!(
        plan.app_type,
        SparkApplicationType::Java | SparkApplicationType::Scala
    ) {
        let mut jars: Vec<String> = conf
            .get("spark.jars")
            .map(|j| j.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        if !jars.contains(&primary) {
            jars.push(primary.clone());
        }
        conf.insert("spark.jars".into(), jars.join(","));
    }
    conf.insert(
        "spark.kubernetes.executor.podTemplateFile".into(),
        format!("{CONF_DIR}/{EXECUTOR_TEMPLATE_KEY}"),
    );
    conf.insert(
        "spark.kubernetes.executor.podTemplateContainerName".into(),
        EXECUTOR_CONTAINER.into(),
    );
    let executor_template = executor_template(app, plan)?;
    let mut volumes: Vec<Value> = Vec::new();
    let mut mounts: Vec<Value> = Vec::new();
    if plan.auth_secret.is_some() {
        let auth = ctx.auth_secret.as_ref().ok_or_else(|| {
            invalid(
                "spec.security.authentication",
                "no Secret for the RPC secret",
            )
        })?;
        let file = format!("{AUTH_MOUNT}/{}", auth.key);
        conf.insert("spark.authenticate.secret.driver.file".into(), file.clone());
        conf.insert(
            "spark.authenticate.secret.executor.file".into(),
            file.clone(),
        );
        // Found on a real node: an executor's first connection (fetching the driver's conf)
        // uses a SecurityManager that reads only the generic key, so without it executors
        // fail with "A secret key must be specified" (see EXECUTOR_MASTER_OPT_ENV too).
        conf.insert("spark.authenticate.secret.file".into(), file);
        conf.insert(
            format!("spark.kubernetes.executor.secrets.{}", auth.name),
            AUTH_MOUNT.into(),
        );
        volumes.push(json!({"name": "sparkop-auth", "secret": {"secretName": auth.name, "defaultMode": SECRET_FILE_MODE}}));
        mounts.push(json!({"name": "sparkop-auth", "mountPath": AUTH_MOUNT, "readOnly": true}));
        // The plan's source must match what the reconciler settled on.
        if let Some(AuthSecret::FromSecret(r)) = &plan.auth_secret
            && (r.secret != auth.name || r.key != auth.key)
        {
            return Err(invalid(
                "spec.security.authentication.secret",
                "context and plan disagree",
            ));
        }
    }
    let mut env = vec![
        json!({"name": "SPARK_USER", "value": spec.proxy_user.clone().unwrap_or_else(|| "spark".into())}),
        json!({"name": "SPARK_APPLICATION_ID", "value": names.app_selector}),
        // All addresses of the pod, loopback included: a port-forward (`sparkop audit app`,
        // `sparkop ui`) dials the pod's localhost, so a driver bound to the pod IP only is
        // unreachable through one (found on a real node). Executors reach it by its Service.
        json!({"name": "SPARK_DRIVER_BIND_ADDRESS", "value": "0.0.0.0"}),
        json!({"name": "SPARK_LOCAL_DIRS", "value": LOCAL_DIR}),
        json!({"name": "SPARK_CONF_DIR", "value": CONF_DIR}),
    ];
    if let Some(UiTlsPlan::Keystore { .. }) = plan.ui.as_ref().and_then(|u| u.tls.as_ref()) {
        let secret = ctx
            .ui_keystore_secret
            .as_ref()
            .ok_or_else(|| invalid("spec.security.ui.tls", "no Secret for the UI keystore"))?;
        conf.insert(
            "spark.ssl.keyStore".into(),
            format!("{UI_TLS_MOUNT}/{KEYSTORE_KEY}"),
        );
        volumes.push(json!({"name": "sparkop-ui-tls", "secret": {"secretName": secret, "defaultMode": SECRET_FILE_MODE}}));
        mounts.push(json!({"name": "sparkop-ui-tls", "mountPath": UI_TLS_MOUNT, "readOnly": true}));
        env.push(json!({"name": UI_KEYSTORE_PASSWORD_ENV, "valueFrom": {"secretKeyRef": {"name": secret, "key": KEYSTORE_PASSWORD_KEY}}}));
    }
    for (k, v) in &plan.driver.env {
        env.push(json!({"name": k, "value": v}));
    }
    for e in &plan.driver.secret_env {
        env.push(json!({"name": e.name, "valueFrom": {"secretKeyRef": {"name": e.from.secret, "key": e.from.key}}}));
    }
    for (i, m) in plan.driver.secret_mounts.iter().enumerate() {
        let vol = format!("secret-{i}-{}", m.secret);
        let vol: String = vol.chars().take(63).collect();
        volumes.push(json!({"name": vol, "secret": {"secretName": m.secret}}));
        mounts.push(json!({"name": vol, "mountPath": m.path}));
    }
    volumes.push(json!({"name": "spark-local-dir-1", "emptyDir": {}}));
    mounts.push(json!({"name": "spark-local-dir-1", "mountPath": LOCAL_DIR}));
    volumes.push(json!({"name": "spark-conf-volume-driver", "configMap": {
        "name": names.config_map,
        "items": [
            {"key": "spark.properties", "path": "spark.properties", "mode": 0o444},
            {"key": EXECUTOR_TEMPLATE_KEY, "path": EXECUTOR_TEMPLATE_KEY, "mode": 0o444},
            {"key": LOG4J_KEY, "path": LOG4J_KEY, "mode": 0o444},
        ],
    }}));
    mounts.push(json!({"name": "spark-conf-volume-driver", "mountPath": CONF_DIR}));

    let mut args = vec![
        "driver".to_owned(),
        "--properties-file".into(),
        format!("{CONF_DIR}/spark.properties"),
    ];
    let main_class = match plan.app_type {
        SparkApplicationType::Python => Some("org.apache.spark.deploy.PythonRunner".to_owned()),
        SparkApplicationType::R => Some("org.apache.spark.deploy.RRunner".to_owned()),
        _ => plan.main_class.clone(),
    };
    if let Some(c) = main_class {
        args.push("--class".into());
        args.push(c);
    }
    args.push(primary.clone());
    args.extend(plan.arguments.iter().cloned());

    let mut ports = vec![
        json!({"name": "driver-rpc-port", "containerPort": DRIVER_PORT, "protocol": "TCP"}),
        json!({"name": "blockmanager", "containerPort": BLOCK_MANAGER_PORT, "protocol": "TCP"}),
    ];
    let mut ui_ports = Vec::new();
    if let Some(ui) = &plan.ui {
        ports.push(json!({"name": "spark-ui", "containerPort": ui.http_port, "protocol": "TCP"}));
        ui_ports.push(json!({"name": "spark-ui", "port": ui.http_port, "targetPort": ui.http_port, "protocol": "TCP"}));
        if let Some(https) = ui.https_port {
            ports
                .push(json!({"name": "spark-ui-https", "containerPort": https, "protocol": "TCP"}));
            ui_ports.push(json!({"name": "spark-ui-https", "port": https, "targetPort": https, "protocol": "TCP"}));
        }
    }

    let memory = plan.driver.memory_bytes.unwrap_or(1 << 30);
    let overhead = match &spec.driver.memory_overhead {
        Some(o) => parse_spark_memory(o)
            .map_err(|e| invalid("spec.driver.memoryOverhead", e.to_string()))?,
        None => {
            let factor = if plan.app_type == SparkApplicationType::Java
                || plan.app_type == SparkApplicationType::Scala
            {
                0.1
            } else {
                0.4
            };
            ((memory as f64 * factor) as u64).max(384 << 20)
        }
    };
    let mem_q = format!("{}Mi", (memory + overhead).div_ceil(1 << 20));
    let cpu = spec
        .driver
        .core_request
        .clone()
        .unwrap_or_else(|| plan.driver.cores.unwrap_or(1).to_string());
    let mut limits = json!({"memory": mem_q});
    if let Some(l) = &spec.driver.core_limit {
        limits["cpu"] = l.clone().into();
    }
    if let Some(g) = &spec.driver.gpu {
        // Extended resources are requested through their limit.
        limits[g.name.as_str()] = g.quantity.to_string().into();
    }
    let mut container = json!({
        "name": DRIVER_CONTAINER,
        "image": image,
        "args": args,
        "env": env,
        "ports": ports,
        "resources": {"requests": {"cpu": cpu, "memory": mem_q}, "limits": limits},
        "securityContext": pod_settings::hardened_container_security(),
        "volumeMounts": mounts,
    });
    if let Some(p) = &spec.image_pull_policy {
        container["imagePullPolicy"] = p.clone().into();
    }
    // Over spec.driver.template when given: sparkop's fields win, the template's others stay.
    let settings = spec.driver.pod_settings();
    let (template_meta, template_spec, template_container) =
        pod_settings::split_template(settings.template, DRIVER_CONTAINER, "spec.driver.template")?;
    let container = pod_settings::overlay(template_container, container);
    let mut pod_spec = pod_settings::overlay(
        template_spec,
        json!({
            "restartPolicy": "Never",
            "volumes": volumes,
            "enableServiceLinks": false,
        }),
    );
    if let Some(sa) = &spec.driver.service_account {
        pod_spec["serviceAccountName"] = sa.clone().into();
    }
    pod_settings::apply(app, "driver", &settings, &mut pod_spec, container)?;
    if let Some(secrets) = &spec.image_pull_secrets {
        pod_spec["imagePullSecrets"] = secrets.iter().map(|s| json!({"name": s})).collect();
    }
    let mut pod_meta = meta(&names.driver_pod, labels);
    if let Some(a) = &spec.driver.annotations {
        pod_meta["annotations"] = json!(a);
    }
    let pod_meta = match template_meta {
        Value::Object(_) => pod_settings::overlay(template_meta, pod_meta),
        _ => pod_meta,
    };
    let pod: Pod = from_json(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}),
        "pod",
    )?;

    let properties = format!(
        "# spark.properties of {}/{} attempt {}, written by sparkop\n{}",
        ns,
        plan.name,
        ctx.attempt,
        properties_file(&conf)
    );
    let config_map: ConfigMap = from_json(
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": meta(&names.config_map, json!({"spark-app-selector": names.app_selector})),
            "immutable": true,
            "data": {
                "spark.properties": properties,
                "spark.kubernetes.namespace": ns,
                EXECUTOR_TEMPLATE_KEY: executor_template,
                LOG4J_KEY: sparkop_core::plan::log4j_config(false),
            },
        }),
        "configmap",
    )?;
    let mut service_labels = json!({});
    for (k, v) in spec.driver.service_labels.iter().flatten() {
        service_labels[k] = v.clone().into();
    }
    service_labels["spark-app-selector"] = names.app_selector.clone().into();
    let mut service_meta = meta(&names.driver_service, service_labels);
    if let Some(a) = &spec.driver.service_annotations {
        service_meta["annotations"] = json!(a);
    }
    let driver_service: Service = from_json(
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": service_meta,
            "spec": {
                "clusterIP": "None",
                "ipFamilyPolicy": "SingleStack",
                "ipFamilies": ["IPv4"],
                "publishNotReadyAddresses": false,
                "selector": selector_labels,
                "ports": [
                    {"name": "driver-rpc-port", "port": DRIVER_PORT, "targetPort": DRIVER_PORT},
                    {"name": "blockmanager", "port": BLOCK_MANAGER_PORT, "targetPort": BLOCK_MANAGER_PORT},
                ],
            },
        }),
        "service",
    )?;
    let ui_service = if ui_ports.is_empty() {
        None
    } else {
        let opts = spec.spark_ui_options.as_ref();
        let mut m = meta(
            &names.ui_service,
            json!({"spark-app-selector": names.app_selector}),
        );
        if let Some(l) = opts.and_then(|o| o.service_labels.as_ref()) {
            for (k, v) in l {
                m["labels"][k] = v.clone().into();
            }
        }
        if let Some(a) = opts.and_then(|o| o.service_annotations.as_ref()) {
            m["annotations"] = json!(a);
        }
        Some(from_json(
            json!({
                "apiVersion": "v1", "kind": "Service", "metadata": m,
                "spec": {
                    "type": opts.and_then(|o| o.service_type.clone()).unwrap_or_else(|| "ClusterIP".into()),
                    "selector": selector_labels,
                    "ports": ui_ports,
                },
            }),
            "ui service",
        )?)
    };
    let spark4 = plan.posture.version.is_none_or(|v| v.major >= 4);
    let network_policy = if spark4 {
        Some(from_json(
            json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": meta(&names.network_policy, json!({"spark-app-selector": names.app_selector})),
                "spec": {
                    "podSelector": {"matchLabels": {"spark-app-selector": names.app_selector, "spark-role": "executor"}},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"spark-app-selector": names.app_selector}}}]}],
                },
            }),
            "network policy",
        )?)
    } else {
        None
    };
    Ok(DriverObjects {
        names,
        pod,
        config_map,
        driver_service,
        ui_service,
        network_policy,
    })
}
