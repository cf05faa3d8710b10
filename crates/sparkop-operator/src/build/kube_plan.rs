//! The Kubernetes-only inputs of an application, derived once from the validated spec: what
//! its pods, Services and executor template need that the `LaunchPlan` (Spark's side, shared
//! with the local backend) does not carry. The builders read this and the plan, never the spec.

use std::collections::BTreeMap;

use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::api::core::v1::Volume;
use sparkop_api::types::pod::PodSettings;

use super::{BuildError, invalid};

/// A driver's or the executors' Kubernetes settings.
#[derive(Clone, Debug)]
pub struct KubeRole<'a> {
    /// The container image (the role's, else the application's).
    pub image: String,
    /// The ServiceAccount its pods run as.
    pub service_account: Option<&'a str>,
    /// Labels of its pods.
    pub labels: &'a BTreeMap<String, String>,
    /// Annotations of its pods.
    pub annotations: &'a BTreeMap<String, String>,
    /// The node selector: the role's, else the application's.
    pub node_selector: Option<&'a BTreeMap<String, String>>,
    /// Everything else a pod of the role gets (env sources, mounts, scheduling, security
    /// contexts, extra containers, the template it is laid over).
    pub settings: PodSettings<'a>,
}

/// Labels and annotations of a Service.
#[derive(Clone, Debug)]
pub struct ServiceMeta<'a> {
    /// Labels.
    pub labels: &'a BTreeMap<String, String>,
    /// Annotations.
    pub annotations: &'a BTreeMap<String, String>,
}

/// The Kubernetes side of an application.
#[derive(Clone, Debug)]
pub struct KubePlan<'a> {
    /// The driver.
    pub driver: KubeRole<'a>,
    /// The executors.
    pub executor: KubeRole<'a>,
    /// `SPARK_USER` of the driver (`proxyUser`, else `spark`).
    pub spark_user: String,
    /// `imagePullPolicy` of every Spark container.
    pub image_pull_policy: Option<&'a str>,
    /// `imagePullSecrets` of every Spark pod.
    pub image_pull_secrets: &'a [String],
    /// `sparkConfigMap`, mounted at SPARK_CONF_DIR.
    pub spark_config_map: Option<&'a str>,
    /// `hadoopConfigMap`, mounted at HADOOP_CONF_DIR.
    pub hadoop_config_map: Option<&'a str>,
    /// `spec.volumes` (a role gets the ones its containers mount).
    pub volumes: &'a [Volume],
    /// The headless driver Service's labels and annotations.
    pub driver_service: ServiceMeta<'a>,
    /// The UI Service's labels and annotations.
    pub ui_service: ServiceMeta<'a>,
    /// The UI Service's type (`ClusterIP` unless `sparkUIOptions.serviceType` says otherwise).
    pub ui_service_type: String,
}

/// An empty map to borrow when a field is absent.
static EMPTY: BTreeMap<String, String> = BTreeMap::new();

impl<'a> KubePlan<'a> {
    /// Derives the Kubernetes side of `app`; fails when something only Kubernetes needs is
    /// missing (an image).
    pub fn new(app: &'a SparkApplication) -> Result<KubePlan<'a>, BuildError> {
        let spec = &app.spec;
        let driver_image = spec
            .driver
            .image
            .clone()
            .or_else(|| spec.image.clone())
            .ok_or_else(|| invalid("spec.image", "an image is required on Kubernetes"))?;
        let executor_image = spec
            .executor
            .image
            .clone()
            .unwrap_or_else(|| driver_image.clone());
        let d = spec.driver.pod_settings();
        let e = spec.executor.pod_settings();
        let ui = spec.spark_ui_options.as_ref();
        Ok(KubePlan {
            driver: KubeRole {
                image: driver_image,
                service_account: spec.driver.service_account.as_deref(),
                labels: spec.driver.labels.as_ref().unwrap_or(&EMPTY),
                annotations: spec.driver.annotations.as_ref().unwrap_or(&EMPTY),
                node_selector: d.node_selector.or(spec.node_selector.as_ref()),
                settings: d,
            },
            executor: KubeRole {
                image: executor_image,
                service_account: spec.executor.service_account.as_deref(),
                labels: spec.executor.labels.as_ref().unwrap_or(&EMPTY),
                annotations: spec.executor.annotations.as_ref().unwrap_or(&EMPTY),
                node_selector: e.node_selector.or(spec.node_selector.as_ref()),
                settings: e,
            },
            spark_user: spec.proxy_user.clone().unwrap_or_else(|| "spark".into()),
            image_pull_policy: spec.image_pull_policy.as_deref(),
            image_pull_secrets: spec.image_pull_secrets.as_deref().unwrap_or_default(),
            spark_config_map: spec.spark_config_map.as_deref(),
            hadoop_config_map: spec.hadoop_config_map.as_deref(),
            volumes: spec.volumes.as_deref().unwrap_or_default(),
            driver_service: ServiceMeta {
                labels: spec.driver.service_labels.as_ref().unwrap_or(&EMPTY),
                annotations: spec.driver.service_annotations.as_ref().unwrap_or(&EMPTY),
            },
            ui_service: ServiceMeta {
                labels: ui.and_then(|o| o.service_labels.as_ref()).unwrap_or(&EMPTY),
                annotations: ui
                    .and_then(|o| o.service_annotations.as_ref())
                    .unwrap_or(&EMPTY),
            },
            ui_service_type: ui
                .and_then(|o| o.service_type.clone())
                .unwrap_or_else(|| "ClusterIP".into()),
        })
    }
}
