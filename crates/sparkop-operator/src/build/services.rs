//! The attempt's objects besides the driver pod: the immutable ConfigMap, the headless driver
//! Service, the UI Service and (Spark 4) the executors' NetworkPolicy; and the metadata every
//! object of the attempt shares.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sparkop_api::k8s_openapi::api::core::v1::{ConfigMap, Service};
use sparkop_api::k8s_openapi::api::networking::v1::NetworkPolicy;
use sparkop_core::LaunchPlan;
use sparkop_core::plan::properties_file;

use super::kube_plan::KubePlan;
use super::{
    APP_SELECTOR_LABEL, BLOCK_MANAGER_PORT, BuildError, Context, DRIVER_PORT,
    EXECUTOR_TEMPLATE_KEY, LOG4J_KEY, Names, ROLE_LABEL, from_json,
};

/// What every object of an attempt carries: its namespace, the owner reference to the
/// application, and the driver pod's selector labels.
pub(super) struct Meta {
    namespace: String,
    owner: Value,
    /// `spark-app-name`, `spark-app-selector`, `spark-role: driver`, `spark-version`.
    pub selector_labels: Value,
}

impl Meta {
    pub fn new(plan: &LaunchPlan, ctx: &Context, names: &Names) -> Meta {
        Meta {
            namespace: plan.namespace.clone(),
            owner: crate::owner_reference(&plan.name, &ctx.uid),
            selector_labels: json!({
                "spark-app-name": plan.name,
                APP_SELECTOR_LABEL: names.app_selector,
                ROLE_LABEL: "driver",
                "spark-version": plan.spark_version,
            }),
        }
    }

    /// Object metadata: name, namespace, labels, the owner reference.
    pub fn object(&self, name: &str, labels: Value) -> Value {
        json!({
            "name": name,
            "namespace": self.namespace,
            "labels": labels,
            "ownerReferences": [self.owner],
        })
    }
}

fn map(m: &BTreeMap<String, String>) -> Value {
    json!(m)
}

/// `spark.properties` (immutable), the executor pod template and the logging configuration.
pub(super) fn config_map(
    plan: &LaunchPlan,
    ctx: &Context,
    names: &Names,
    meta: &Meta,
    conf: &BTreeMap<String, String>,
    executor_template: String,
) -> Result<ConfigMap, BuildError> {
    let properties = format!(
        "# spark.properties of {}/{} attempt {}, written by sparkop\n{}",
        plan.namespace,
        plan.name,
        ctx.attempt,
        properties_file(conf)
    );
    from_json(
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": meta.object(&names.config_map, json!({APP_SELECTOR_LABEL: names.app_selector})),
            "immutable": true,
            "data": {
                "spark.properties": properties,
                "spark.kubernetes.namespace": plan.namespace,
                EXECUTOR_TEMPLATE_KEY: executor_template,
                LOG4J_KEY: sparkop_core::plan::log4j_config(false),
            },
        }),
        "configmap",
    )
}

/// The headless Service the executors reach the driver through.
pub(super) fn driver_service(
    kube: &KubePlan<'_>,
    names: &Names,
    meta: &Meta,
) -> Result<Service, BuildError> {
    let mut labels = map(kube.driver_service.labels);
    labels[APP_SELECTOR_LABEL] = names.app_selector.clone().into();
    let mut metadata = meta.object(&names.driver_service, labels);
    if !kube.driver_service.annotations.is_empty() {
        metadata["annotations"] = map(kube.driver_service.annotations);
    }
    from_json(
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": metadata,
            "spec": {
                "clusterIP": "None",
                "ipFamilyPolicy": "SingleStack",
                "ipFamilies": ["IPv4"],
                "publishNotReadyAddresses": false,
                "selector": meta.selector_labels,
                "ports": [
                    {"name": "driver-rpc-port", "port": DRIVER_PORT, "targetPort": DRIVER_PORT},
                    {"name": "blockmanager", "port": BLOCK_MANAGER_PORT, "targetPort": BLOCK_MANAGER_PORT},
                ],
            },
        }),
        "service",
    )
}

/// The UI's Service ports: HTTP (a redirect with TLS) and HTTPS, when the UI is on.
pub(super) fn ui_ports(plan: &LaunchPlan) -> Vec<Value> {
    let mut ports = Vec::new();
    if let Some(ui) = &plan.ui {
        ports.push(json!({"name": "spark-ui", "port": ui.http_port, "targetPort": ui.http_port, "protocol": "TCP"}));
        if let Some(https) = ui.https_port {
            ports.push(json!({"name": "spark-ui-https", "port": https, "targetPort": https, "protocol": "TCP"}));
        }
    }
    ports
}

/// The UI Service (one per application: each attempt points it at its driver).
pub(super) fn ui_service(
    plan: &LaunchPlan,
    kube: &KubePlan<'_>,
    names: &Names,
    meta: &Meta,
) -> Result<Option<Service>, BuildError> {
    let ports = ui_ports(plan);
    if ports.is_empty() {
        return Ok(None);
    }
    let mut labels = json!({APP_SELECTOR_LABEL: names.app_selector});
    for (k, v) in kube.ui_service.labels {
        labels[k] = v.clone().into();
    }
    let mut metadata = meta.object(&names.ui_service, labels);
    if !kube.ui_service.annotations.is_empty() {
        metadata["annotations"] = map(kube.ui_service.annotations);
    }
    Ok(Some(from_json(
        json!({
            "apiVersion": "v1", "kind": "Service", "metadata": metadata,
            "spec": {
                "type": kube.ui_service_type,
                "selector": meta.selector_labels,
                "ports": ports,
            },
        }),
        "ui service",
    )?))
}

/// Executors accept traffic only from pods of the same application (what spark-submit creates
/// on Spark 4).
pub(super) fn network_policy(
    plan: &LaunchPlan,
    names: &Names,
    meta: &Meta,
) -> Result<Option<NetworkPolicy>, BuildError> {
    if plan.posture.version.is_some_and(|v| v.major < 4) {
        return Ok(None);
    }
    Ok(Some(from_json(
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta.object(&names.network_policy, json!({APP_SELECTOR_LABEL: names.app_selector})),
            "spec": {
                "podSelector": {"matchLabels": {APP_SELECTOR_LABEL: names.app_selector, ROLE_LABEL: "executor"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {APP_SELECTOR_LABEL: names.app_selector}}}]}],
            },
        }),
        "network policy",
    )?))
}
