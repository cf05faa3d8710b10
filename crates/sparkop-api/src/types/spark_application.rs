//! `SparkApplication` (`sparkoperator.k8s.io/v1beta2`): every field of the kubeflow API, so
//! manifests written for the kubeflow or KUDO operators load unchanged, plus `spec.security`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::networking::v1::IngressTLS;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::pod::{DriverSpec, ExecutorSpec};
use super::schema::{preserve_array, quantity_map};
use super::security::SecuritySpec;
use super::status::SparkApplicationStatus;
use crate::conf_keys as keys;

/// What users write: a Spark application to run.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "sparkoperator.k8s.io",
    version = "v1beta2",
    kind = "SparkApplication",
    plural = "sparkapplications",
    shortname = "sparkapp",
    namespaced,
    status = "SparkApplicationStatus",
    derive = "PartialEq",
    cel,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.applicationState.state"}"#,
    printcolumn = r#"{"name":"Attempts","type":"integer","jsonPath":".status.executionAttempts"}"#,
    printcolumn = r#"{"name":"Start","type":"string","jsonPath":".status.lastSubmissionAttemptTime"}"#,
    printcolumn = r#"{"name":"Finish","type":"string","jsonPath":".status.terminationTime"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(
    validation = Rule::new(keys::CEL_ENCRYPTION_NEEDS_AUTH).message(keys::CEL_ENCRYPTION_NEEDS_AUTH_MSG).field_path(".sparkConf"),
    validation = Rule::new(keys::CEL_NO_ESCALATION).message(keys::CEL_NO_ESCALATION_MSG).field_path(".sparkConf"),
    validation = Rule::new(keys::CEL_NO_LITERAL_SECRETS).message(keys::CEL_NO_LITERAL_SECRETS_MSG).field_path(".sparkConf"),
    validation = Rule::new(keys::CEL_SECURITY_CONSISTENT).message(keys::CEL_SECURITY_CONSISTENT_MSG).field_path(".security")
)]
#[serde(rename_all = "camelCase")]
pub struct SparkApplicationSpec {
    /// Language of the application.
    #[serde(rename = "type")]
    pub r#type: SparkApplicationType,
    /// Spark version the image contains; drives version-specific security choices.
    pub spark_version: String,
    /// Deploy mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DeployMode>,
    /// `--proxy-user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_user: Option<String>,
    /// Container image of driver and executors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image pull policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Names of image pull Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<String>>,
    /// Main class of a Java/Scala application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_class: Option<String>,
    /// The application jar or Python file (`local://`, a path, or a URL).
    pub main_application_file: String,
    /// Application arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Vec<String>>,
    /// Spark configuration, passed as `--conf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 1024))]
    pub spark_conf: Option<BTreeMap<String, String>>,
    /// Hadoop configuration, passed as `spark.hadoop.*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hadoop_conf: Option<BTreeMap<String, String>>,
    /// ConfigMap with Spark configuration files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_config_map: Option<String>,
    /// ConfigMap with Hadoop configuration files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hadoop_config_map: Option<String>,
    /// Pod volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_array")]
    pub volumes: Option<Vec<core::Volume>>,
    /// Driver settings.
    pub driver: DriverSpec,
    /// Executor settings.
    pub executor: ExecutorSpec,
    /// Extra jars, files and packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deps: Option<Dependencies>,
    /// What to do when the application fails or finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// Application-level node selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Legacy: number of failure retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_retries: Option<i32>,
    /// Legacy: seconds between retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<i64>,
    /// Python major version (`"2"` or `"3"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_version: Option<PythonVersion>,
    /// `spark.kubernetes.memoryOverheadFactor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_overhead_factor: Option<String>,
    /// Prometheus monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringSpec>,
    /// Batch scheduler (volcano, yunikorn, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_scheduler: Option<String>,
    /// Delete the application this many seconds after it terminates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_live_seconds: Option<i64>,
    /// Options for the batch scheduler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_scheduler_options: Option<BatchSchedulerConfiguration>,
    /// UI Service and Ingress settings.
    #[serde(
        default,
        rename = "sparkUIOptions",
        skip_serializing_if = "Option::is_none"
    )]
    pub spark_ui_options: Option<SparkUiConfiguration>,
    /// Extra driver Ingresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_ingress_options: Option<Vec<DriverIngressConfiguration>>,
    /// Dynamic allocation of executors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_allocation: Option<DynamicAllocation>,
    /// Suspend the application (deletes its pods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Create a PodDisruptionBudget for the driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_pod_disruption_budget: Option<bool>,
    /// sparkop's security settings; absent means the secure defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<SecuritySpec>,
}

/// Language of the application.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum SparkApplicationType {
    /// A jar with a main class.
    Java,
    /// A Python file.
    Python,
    /// A jar with a main class.
    Scala,
    /// An R script.
    R,
}

/// Deploy mode.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum DeployMode {
    /// The driver runs in its own pod.
    #[serde(rename = "cluster")]
    Cluster,
    /// The driver runs in the submitting process.
    #[serde(rename = "client")]
    Client,
    /// The driver runs in an existing pod.
    #[serde(rename = "in-cluster-client")]
    InClusterClient,
}

/// Python major version.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum PythonVersion {
    /// Python 2.
    #[serde(rename = "2")]
    V2,
    /// Python 3.
    #[serde(rename = "3")]
    V3,
}

/// Extra jars, files and packages.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dependencies {
    /// `--jars`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jars: Option<Vec<String>>,
    /// `--files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    /// `--py-files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub py_files: Option<Vec<String>>,
    /// `--packages` (Maven coordinates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<String>>,
    /// `--exclude-packages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_packages: Option<Vec<String>>,
    /// `--repositories`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<String>>,
    /// `--archives`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archives: Option<Vec<String>>,
}

/// What to do when the application fails or finishes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestartPolicy {
    /// The policy.
    #[serde(rename = "type")]
    pub r#type: RestartPolicyType,
    /// Retries after a failed submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub on_submission_failure_retries: Option<i32>,
    /// Retries after a failed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub on_failure_retries: Option<i32>,
    /// Seconds between submission retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub on_submission_failure_retry_interval: Option<i64>,
    /// Seconds between run retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub on_failure_retry_interval: Option<i64>,
}

/// Restart policy.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, schemars::JsonSchema,
)]
pub enum RestartPolicyType {
    /// Never restart.
    #[default]
    Never,
    /// Restart after a failure, up to the retry limits.
    OnFailure,
    /// Restart after every termination.
    Always,
}

/// Prometheus monitoring.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringSpec {
    /// Expose driver metrics.
    pub expose_driver_metrics: bool,
    /// Expose executor metrics.
    pub expose_executor_metrics: bool,
    /// Content of `metrics.properties`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_properties: Option<String>,
    /// Path of `metrics.properties` in the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_properties_file: Option<String>,
    /// JMX exporter settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusSpec>,
}

/// JMX exporter settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusSpec {
    /// Path of the JMX exporter jar in the image.
    pub jmx_exporter_jar: String,
    /// Port of the exporter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1024, max = 49151))]
    pub port: Option<i32>,
    /// Name of the exporter port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_name: Option<String>,
    /// Path of the exporter configuration in the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// Exporter configuration content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<String>,
}

/// Options for the batch scheduler.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchSchedulerConfiguration {
    /// Queue name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Priority class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Resources reserved for the whole application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "quantity_map")]
    pub resources: Option<BTreeMap<String, Quantity>>,
}

/// UI Service and Ingress settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SparkUiConfiguration {
    /// Port of the UI Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_port: Option<i32>,
    /// Name of the UI Service port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_port_name: Option<String>,
    /// Type of the UI Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// Annotations of the UI Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_annotations: Option<BTreeMap<String, String>>,
    /// Labels of the UI Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_labels: Option<BTreeMap<String, String>>,
    /// Annotations of the UI Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_annotations: Option<BTreeMap<String, String>>,
    /// TLS of the UI Ingress.
    #[serde(
        default,
        rename = "ingressTLS",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "preserve_array")]
    pub ingress_tls: Option<Vec<IngressTLS>>,
}

/// An extra driver Ingress.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriverIngressConfiguration {
    /// Port of the Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_port: Option<i32>,
    /// Name of the Service port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_port_name: Option<String>,
    /// Type of the Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// Annotations of the Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_annotations: Option<BTreeMap<String, String>>,
    /// Labels of the Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_labels: Option<BTreeMap<String, String>>,
    /// URL format of the Ingress, e.g. `{{$appName}}.example.com`.
    #[serde(
        default,
        rename = "ingressURLFormat",
        skip_serializing_if = "Option::is_none"
    )]
    pub ingress_url_format: Option<String>,
    /// Annotations of the Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_annotations: Option<BTreeMap<String, String>>,
    /// TLS of the Ingress.
    #[serde(
        default,
        rename = "ingressTLS",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "preserve_array")]
    pub ingress_tls: Option<Vec<IngressTLS>>,
}

/// Dynamic allocation of executors.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DynamicAllocation {
    /// Turns dynamic allocation on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Executors at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_executors: Option<i32>,
    /// Lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_executors: Option<i32>,
    /// Upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_executors: Option<i32>,
    /// Track shuffle files instead of needing an external shuffle service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_tracking_enabled: Option<bool>,
    /// Timeout in milliseconds for executors holding shuffle data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_tracking_timeout: Option<i64>,
}
