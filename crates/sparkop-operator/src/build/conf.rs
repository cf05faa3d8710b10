//! The driver's `spark.properties`: the plan's conf (no secret values) plus what running on
//! Kubernetes means — what spark-submit's cluster mode would add, where the secrets are
//! delivered, and what the executors need to find their driver and their secret.

use std::collections::BTreeMap;

use sparkop_api::SparkApplicationType;
use sparkop_core::LaunchPlan;

use super::deliveries::Deliveries;
use super::kube_plan::KubePlan;
use super::{
    APP_NAME_LABEL, BLOCK_MANAGER_PORT, CONF_DIR, DRIVER_PORT, EXECUTOR_CONTAINER,
    EXECUTOR_TEMPLATE_KEY, IN_CLUSTER_MASTER, LAUNCHED_BY_LABEL, Names,
};

/// The driver's Spark settings for this attempt.
pub(super) fn spark_properties(
    plan: &LaunchPlan,
    kube: &KubePlan<'_>,
    names: &Names,
    deliveries: &Deliveries,
) -> BTreeMap<String, String> {
    let ns = plan.namespace.as_str();
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
        (
            "spark.driver.host",
            format!("{}.{ns}.svc", names.driver_service),
        ),
        ("spark.driver.port", DRIVER_PORT.to_string()),
        (
            "spark.driver.blockManager.port",
            BLOCK_MANAGER_PORT.to_string(),
        ),
        (
            "spark.kubernetes.container.image",
            kube.executor.image.clone(),
        ),
        ("spark.kubernetes.resource.type", resource_type.into()),
        // Spark >= 4.1 would give executors the bind address (0.0.0.0, see the driver pod) as
        // the driver's address; they use spark.driver.host, the headless Service, instead.
        ("spark.kubernetes.executor.useDriverPodIP", "false".into()),
    ] {
        conf.insert(k.into(), v);
    }
    // Executors' block managers on the port their pods declare (Spark declares 7079 on every
    // executor but binds a random port unless told; found on a real node, where the audit
    // could not find them). The user's own setting stays.
    conf.entry("spark.blockManager.port".into())
        .or_insert_with(|| BLOCK_MANAGER_PORT.to_string());
    if let Some(sa) = kube.driver.service_account {
        conf.insert(
            "spark.kubernetes.authenticate.driver.serviceAccountName".into(),
            sa.into(),
        );
    }
    // Executors pull as the driver does.
    if let Some(p) = kube.image_pull_policy {
        conf.insert(
            "spark.kubernetes.container.image.pullPolicy".into(),
            p.into(),
        );
    }
    if !kube.image_pull_secrets.is_empty() {
        conf.insert(
            "spark.kubernetes.container.image.pullSecrets".into(),
            kube.image_pull_secrets.join(","),
        );
    }
    // GPUs (Kubernetes only: a local run has no GPU discovery), as v1beta2 operators pass them.
    for (role, gpu) in [
        ("driver", &plan.driver.gpu),
        ("executor", &plan.executor.gpu),
    ] {
        if let Some(g) = gpu {
            conf.insert(
                format!("spark.{role}.resource.gpu.amount"),
                g.amount.to_string(),
            );
            conf.insert(
                format!("spark.{role}.resource.gpu.vendor"),
                g.vendor.clone(),
            );
        }
    }
    // The operator finds executors (for their states) by the labels it finds drivers by.
    for (k, v) in [
        (APP_NAME_LABEL, plan.name.as_str()),
        (LAUNCHED_BY_LABEL, "true"),
    ] {
        conf.insert(format!("spark.kubernetes.executor.label.{k}"), v.into());
    }
    for (k, v) in kube.executor.labels {
        conf.insert(format!("spark.kubernetes.executor.label.{k}"), v.clone());
    }
    for (k, v) in kube.executor.annotations {
        conf.insert(
            format!("spark.kubernetes.executor.annotation.{k}"),
            v.clone(),
        );
    }
    for e in &plan.executor.secret_env {
        conf.insert(
            format!("spark.kubernetes.executor.secretKeyRef.{}", e.name),
            sparkop_core::posture::join_secret_key_ref(&e.from.secret, &e.from.key),
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
    if matches!(
        plan.app_type,
        SparkApplicationType::Java | SparkApplicationType::Scala
    ) {
        let primary = plan.main_file.spark_uri();
        let mut jars: Vec<String> = conf
            .get("spark.jars")
            .map(|j| j.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        if !jars.contains(&primary) {
            jars.push(primary);
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
    for (k, v) in &deliveries.conf {
        conf.insert(k.clone(), v.clone());
    }
    conf
}
