//! The driver pod and the executor pod template: the hardened Spark container with the
//! plan's process settings, the secret deliveries, and everything the role's settings ask for
//! (`pod_settings`), laid over the role's own template when it has one.

use serde_json::{Value, json};
use sparkop_api::SparkApplicationType;
use sparkop_api::k8s_openapi::api::core::v1::Pod;
use sparkop_core::LaunchPlan;

use super::deliveries::Deliveries;
use super::kube_plan::KubePlan;
use super::services::Meta;
use super::{
    APP_NAME_LABEL, BLOCK_MANAGER_PORT, BuildError, CONF_DIR, DRIVER_CONTAINER, DRIVER_PORT,
    EXECUTOR_CONTAINER, EXECUTOR_MASTER_OPT_ENV, EXECUTOR_TEMPLATE_KEY, IN_CLUSTER_MASTER,
    LAUNCHED_BY_LABEL, LOCAL_DIR, LOG4J_KEY, Names, from_json, invalid, pod_settings,
};

/// The executor pod template (YAML) the driver lays its executor pods over: the hardened
/// container security context and everything `spec.executor` sets that Spark's own settings
/// cannot carry (volume mounts, scheduling, security contexts, extra containers), over
/// `spec.executor.template` when given.
pub(super) fn executor_template(
    plan: &LaunchPlan,
    kube: &KubePlan<'_>,
) -> Result<String, BuildError> {
    let role = &kube.executor;
    let (metadata, mut pod_spec, mut container) = pod_settings::split_template(
        role.settings.template,
        EXECUTOR_CONTAINER,
        "spec.executor.template",
    )?;
    if container.get("securityContext").is_none() {
        container["securityContext"] = pod_settings::hardened_container_security();
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
    if let Some(sa) = role.service_account {
        pod_spec["serviceAccountName"] = sa.into();
    }
    pod_settings::apply(kube, role, "spec.executor", &mut pod_spec, container)?;
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": pod_spec});
    if !metadata.is_null() {
        pod["metadata"] = metadata;
    }
    let yaml =
        serde_saphyr::to_string(&pod).map_err(|e| invalid("spec.executor", e.to_string()))?;
    Ok(format!(
        "# Executor pod template of {}, written by sparkop\n{yaml}",
        plan.name
    ))
}

/// The driver's command: Spark's entrypoint in driver mode with the attempt's properties, the
/// runner class for Python and R, the application file as Spark names it, and its arguments.
fn driver_args(plan: &LaunchPlan) -> Vec<String> {
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
    args.push(plan.main_file.spark_uri());
    args.extend(plan.arguments.iter().cloned());
    args
}

/// The driver container's ports: RPC, block manager, and the UI's when it is on.
fn driver_ports(plan: &LaunchPlan) -> Vec<Value> {
    let mut ports = vec![
        json!({"name": "driver-rpc-port", "containerPort": DRIVER_PORT, "protocol": "TCP"}),
        json!({"name": "blockmanager", "containerPort": BLOCK_MANAGER_PORT, "protocol": "TCP"}),
    ];
    if let Some(ui) = &plan.ui {
        ports.push(json!({"name": "spark-ui", "containerPort": ui.http_port, "protocol": "TCP"}));
        if let Some(https) = ui.https_port {
            ports
                .push(json!({"name": "spark-ui-https", "containerPort": https, "protocol": "TCP"}));
        }
    }
    ports
}

/// The driver container's resources: Spark's memory rule (heap plus overhead), the CPU request
/// (`coreRequest`, else the cores), the limits and GPUs.
fn driver_resources(plan: &LaunchPlan) -> Value {
    let memory = format!(
        "{}Mi",
        plan.container_memory_bytes(&plan.driver).div_ceil(1 << 20)
    );
    let d = &plan.driver;
    let cpu = d
        .cpu_request
        .clone()
        .unwrap_or_else(|| d.cores.unwrap_or(1).to_string());
    let mut limits = json!({"memory": memory});
    if let Some(l) = &d.cpu_limit {
        limits["cpu"] = l.clone().into();
    }
    if let Some(g) = &d.gpu {
        // Extended resources are requested through their limit.
        limits[g.resource.as_str()] = g.amount.to_string().into();
    }
    json!({"requests": {"cpu": cpu, "memory": memory}, "limits": limits})
}

/// The driver pod of the attempt.
pub(super) fn driver_pod(
    plan: &LaunchPlan,
    kube: &KubePlan<'_>,
    names: &Names,
    meta: &Meta,
    deliveries: &Deliveries,
) -> Result<Pod, BuildError> {
    let role = &kube.driver;
    let mut env = vec![
        json!({"name": "SPARK_USER", "value": kube.spark_user}),
        json!({"name": "SPARK_APPLICATION_ID", "value": names.app_selector}),
        // All addresses of the pod, loopback included: a port-forward (`sparkop audit app`,
        // `sparkop ui`) dials the pod's localhost, so a driver bound to the pod IP only is
        // unreachable through one (found on a real node). Executors reach it by its Service.
        json!({"name": "SPARK_DRIVER_BIND_ADDRESS", "value": "0.0.0.0"}),
        json!({"name": "SPARK_LOCAL_DIRS", "value": LOCAL_DIR}),
        json!({"name": "SPARK_CONF_DIR", "value": CONF_DIR}),
    ];
    env.extend(deliveries.env.iter().cloned());
    for (k, v) in &plan.driver.env {
        env.push(json!({"name": k, "value": v}));
    }
    for e in &plan.driver.secret_env {
        env.push(json!({"name": e.name, "valueFrom": {"secretKeyRef": {"name": e.from.secret, "key": e.from.key}}}));
    }
    let mut volumes = deliveries.volumes.clone();
    let mut mounts = deliveries.mounts.clone();
    for (i, m) in plan.driver.secret_mounts.iter().enumerate() {
        let vol = super::names::dns_label(&format!("secret-{i}-{}", m.secret));
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

    let mut container = json!({
        "name": DRIVER_CONTAINER,
        "image": role.image,
        "args": driver_args(plan),
        "env": env,
        "ports": driver_ports(plan),
        "resources": driver_resources(plan),
        "securityContext": pod_settings::hardened_container_security(),
        "volumeMounts": mounts,
    });
    if let Some(p) = kube.image_pull_policy {
        container["imagePullPolicy"] = p.into();
    }
    // Over spec.driver.template when given: sparkop's fields win, the template's others stay.
    let (template_meta, template_spec, template_container) = pod_settings::split_template(
        role.settings.template,
        DRIVER_CONTAINER,
        "spec.driver.template",
    )?;
    let container = pod_settings::overlay(template_container, container);
    let mut pod_spec = pod_settings::overlay(
        template_spec,
        json!({
            "restartPolicy": "Never",
            "volumes": volumes,
            "enableServiceLinks": false,
        }),
    );
    if let Some(sa) = role.service_account {
        pod_spec["serviceAccountName"] = sa.into();
    }
    pod_settings::apply(kube, role, "spec.driver", &mut pod_spec, container)?;
    if !kube.image_pull_secrets.is_empty() {
        pod_spec["imagePullSecrets"] = kube
            .image_pull_secrets
            .iter()
            .map(|s| json!({"name": s}))
            .collect();
    }
    let mut labels = meta.selector_labels.clone();
    labels[APP_NAME_LABEL] = plan.name.clone().into();
    labels[LAUNCHED_BY_LABEL] = "true".into();
    for (k, v) in role.labels {
        labels[k] = v.clone().into();
    }
    let mut pod_meta = meta.object(&names.driver_pod, labels);
    if !role.annotations.is_empty() {
        pod_meta["annotations"] = json!(role.annotations);
    }
    let pod_meta = match template_meta {
        Value::Object(_) => pod_settings::overlay(template_meta, pod_meta),
        _ => pod_meta,
    };
    from_json(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}),
        "pod",
    )
}
