//! Driver and executor pod settings (`SparkPodSpec` in v1beta2).
//!
//! Driver and executor share ~35 fields. They are written once, in [`spark_pod_spec!`], and the
//! macro emits both structs with their role-specific fields; `#[serde(flatten)]` is avoided on
//! purpose because it hides field paths and unknown fields from located error reporting.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::schema::{preserve_array, preserve_object};

/// A ConfigMap mounted into a driver or executor pod.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamePath {
    /// Name of the ConfigMap (or Secret).
    pub name: String,
    /// Mount path inside the container.
    pub path: String,
}

/// How a mounted Secret is used; some types set extra environment variables.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum SecretType {
    /// A GCP service-account key; sets `GOOGLE_APPLICATION_CREDENTIALS`.
    GCPServiceAccount,
    /// A Hadoop delegation token; sets `HADOOP_TOKEN_FILE_LOCATION`.
    HadoopDelegationToken,
    /// A plain Secret mounted as files.
    Generic,
}

/// A Secret mounted into a driver or executor pod.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    /// Name of the Secret.
    pub name: String,
    /// Mount path inside the container.
    pub path: String,
    /// How the Secret is used.
    pub secret_type: SecretType,
}

/// A GPU request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct GpuSpec {
    /// Resource name, e.g. `nvidia.com/gpu`.
    pub name: String,
    /// Number of GPUs.
    pub quantity: i64,
}

/// A deprecated `envSecretKeyRefs` entry.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameKey {
    /// Secret name.
    pub name: String,
    /// Key inside the Secret.
    pub key: String,
}

/// An extra container port on the driver or executors.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    /// Port name.
    pub name: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// Port number in the container.
    pub container_port: i32,
}

macro_rules! spark_pod_spec {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// Pod template merged under the generated pod (Spark ≥ 3.0).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_object")]
            pub template: Option<core::PodTemplateSpec>,
            /// Number of CPU cores (`spark.driver.cores` / `spark.executor.cores`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(range(min = 1))]
            pub cores: Option<i32>,
            /// CPU limit as a Kubernetes quantity, e.g. `1200m`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub core_limit: Option<String>,
            /// Heap size in Spark's notation: `512m` is 512 MiB (not the Kubernetes quantity).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub memory: Option<String>,
            /// Memory limit of the container.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub memory_limit: Option<String>,
            /// Off-heap overhead in Spark's notation.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub memory_overhead: Option<String>,
            /// GPU request.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub gpu: Option<GpuSpec>,
            /// Container image, overriding `spec.image`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub image: Option<String>,
            /// ConfigMaps mounted into the pod.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub config_maps: Option<Vec<NamePath>>,
            /// Secrets mounted into the pod.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub secrets: Option<Vec<SecretInfo>>,
            /// Environment variables.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_array")]
            pub env: Option<Vec<core::EnvVar>>,
            /// Deprecated: environment variables as a map.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub env_vars: Option<BTreeMap<String, String>>,
            /// Environment from ConfigMaps or Secrets.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_array")]
            pub env_from: Option<Vec<core::EnvFromSource>>,
            /// Deprecated: environment variables from Secret keys.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub env_secret_key_refs: Option<BTreeMap<String, NameKey>>,
            /// Pod labels.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub labels: Option<BTreeMap<String, String>>,
            /// Pod annotations.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub annotations: Option<BTreeMap<String, String>>,
            /// Volume mounts of the Spark container.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_array")]
            pub volume_mounts: Option<Vec<core::VolumeMount>>,
            /// Pod affinity.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_object")]
            pub affinity: Option<core::Affinity>,
            /// Pod tolerations.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_array")]
            pub tolerations: Option<Vec<core::Toleration>>,
            /// Pod security context.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_object")]
            pub pod_security_context: Option<core::PodSecurityContext>,
            /// Container security context.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_object")]
            pub security_context: Option<core::SecurityContext>,
            /// Scheduler name.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub scheduler_name: Option<String>,
            /// Sidecar containers.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_array")]
            pub sidecars: Option<Vec<core::Container>>,
            /// Init containers.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_array")]
            pub init_containers: Option<Vec<core::Container>>,
            /// Use the host network.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub host_network: Option<bool>,
            /// Node selector.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub node_selector: Option<BTreeMap<String, String>>,
            /// DNS settings.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_object")]
            pub dns_config: Option<core::PodDNSConfig>,
            /// Termination grace period.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub termination_grace_period_seconds: Option<i64>,
            /// Service account of the pod.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub service_account: Option<String>,
            /// Extra `/etc/hosts` entries.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(schema_with = "preserve_array")]
            pub host_aliases: Option<Vec<core::HostAlias>>,
            /// Share the process namespace between containers.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub share_process_namespace: Option<bool>,
            $( $(#[$fmeta])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: $ty, )*
        }

        impl $name {
            /// The pod and container settings drivers and executors share.
            pub fn pod_settings(&self) -> PodSettings<'_> {
                PodSettings {
                    template: self.template.as_ref(),
                    config_maps: self.config_maps.as_deref().unwrap_or_default(),
                    env: self.env.as_deref().unwrap_or_default(),
                    env_from: self.env_from.as_deref().unwrap_or_default(),
                    volume_mounts: self.volume_mounts.as_deref().unwrap_or_default(),
                    affinity: self.affinity.as_ref(),
                    tolerations: self.tolerations.as_ref(),
                    pod_security_context: self.pod_security_context.as_ref(),
                    security_context: self.security_context.as_ref(),
                    scheduler_name: self.scheduler_name.as_deref(),
                    sidecars: self.sidecars.as_deref().unwrap_or_default(),
                    init_containers: self.init_containers.as_deref().unwrap_or_default(),
                    host_network: self.host_network,
                    node_selector: self.node_selector.as_ref(),
                    dns_config: self.dns_config.as_ref(),
                    termination_grace_period_seconds: self.termination_grace_period_seconds,
                    host_aliases: self.host_aliases.as_deref().unwrap_or_default(),
                    share_process_namespace: self.share_process_namespace,
                    lifecycle: self.lifecycle.as_ref(),
                    ports: self.ports.as_deref().unwrap_or_default(),
                    priority_class_name: self.priority_class_name.as_deref(),
                }
            }
        }
    };
}

/// The pod-level and container-level settings of a driver or executor, borrowed: the builders
/// apply them in one place to the driver pod and to the executor pod template.
#[derive(Clone, Copy, Debug)]
pub struct PodSettings<'a> {
    /// Pod template the generated pod is laid over.
    pub template: Option<&'a core::PodTemplateSpec>,
    /// ConfigMaps mounted into the Spark container.
    pub config_maps: &'a [NamePath],
    /// Container environment.
    pub env: &'a [core::EnvVar],
    /// Container environment sources.
    pub env_from: &'a [core::EnvFromSource],
    /// Container volume mounts.
    pub volume_mounts: &'a [core::VolumeMount],
    /// Pod affinity.
    pub affinity: Option<&'a core::Affinity>,
    /// Pod tolerations.
    pub tolerations: Option<&'a Vec<core::Toleration>>,
    /// Pod security context.
    pub pod_security_context: Option<&'a core::PodSecurityContext>,
    /// Container security context.
    pub security_context: Option<&'a core::SecurityContext>,
    /// Scheduler name.
    pub scheduler_name: Option<&'a str>,
    /// Extra containers.
    pub sidecars: &'a [core::Container],
    /// Init containers.
    pub init_containers: &'a [core::Container],
    /// Host network.
    pub host_network: Option<bool>,
    /// Node selector of the role.
    pub node_selector: Option<&'a BTreeMap<String, String>>,
    /// DNS settings.
    pub dns_config: Option<&'a core::PodDNSConfig>,
    /// Termination grace period.
    pub termination_grace_period_seconds: Option<i64>,
    /// `/etc/hosts` entries.
    pub host_aliases: &'a [core::HostAlias],
    /// Shared process namespace.
    pub share_process_namespace: Option<bool>,
    /// Container lifecycle hooks.
    pub lifecycle: Option<&'a core::Lifecycle>,
    /// Extra container ports.
    pub ports: &'a [Port],
    /// Priority class.
    pub priority_class_name: Option<&'a str>,
}

spark_pod_spec! {
    /// Settings of the driver pod.
    pub struct DriverSpec {
        /// Driver pod name (only for `in-cluster-client` mode).
        pub pod_name: Option<String>,
        /// CPU request as a Kubernetes quantity (overrides `cores` for the request).
        pub core_request: Option<String>,
        /// Extra JVM options (`spark.driver.extraJavaOptions`).
        pub java_options: Option<String>,
        /// Container lifecycle hooks.
        #[schemars(schema_with = "preserve_object")]
        pub lifecycle: Option<core::Lifecycle>,
        /// Kubernetes master URL the driver uses to create executors.
        pub kubernetes_master: Option<String>,
        /// Annotations of the driver Service.
        pub service_annotations: Option<BTreeMap<String, String>>,
        /// Labels of the driver Service.
        pub service_labels: Option<BTreeMap<String, String>>,
        /// Extra container ports.
        pub ports: Option<Vec<Port>>,
        /// Priority class of the driver pod.
        pub priority_class_name: Option<String>,
    }
}

spark_pod_spec! {
    /// Settings of the executor pods.
    pub struct ExecutorSpec {
        /// Number of executors.
        #[schemars(range(min = 1))]
        pub instances: Option<i32>,
        /// CPU request as a Kubernetes quantity.
        pub core_request: Option<String>,
        /// Extra JVM options (`spark.executor.extraJavaOptions`).
        pub java_options: Option<String>,
        /// Container lifecycle hooks.
        #[schemars(schema_with = "preserve_object")]
        pub lifecycle: Option<core::Lifecycle>,
        /// Delete executor pods when they terminate.
        pub delete_on_termination: Option<bool>,
        /// Extra container ports.
        pub ports: Option<Vec<Port>>,
        /// Priority class of the executor pods.
        pub priority_class_name: Option<String>,
    }
}
