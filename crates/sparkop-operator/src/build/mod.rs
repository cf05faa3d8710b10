//! Pure builders: a validated application and its [`LaunchPlan`] become the objects of one
//! driver attempt — what `spark-submit` would create (driver Pod, immutable ConfigMap with
//! `spark.properties`, headless Service, NetworkPolicy on Spark 4) plus sparkop's additions (a
//! UI Service with the HTTPS port, secret deliveries as files and `secretKeyRef`s only).
//!
//! No secret value ever enters these objects: the RPC secret is a Secret volume read through
//! `spark.authenticate.secret.{driver,executor}.file`, passwords are `${env:VAR}` fed by
//! `secretKeyRef`. A test scans every built object for the values of the Secrets involved.

mod conf;
mod deliveries;
pub mod kube_plan;
pub mod names;
mod pod_settings;
mod pods;
mod services;
#[cfg(test)]
mod tests;

use serde_json::{Value, json};
use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use sparkop_api::k8s_openapi::api::networking::v1::NetworkPolicy;
use sparkop_core::LaunchPlan;
use sparkop_core::plan::{AuthSecret, KEYSTORE_KEY, KEYSTORE_PASSWORD_KEY, UiTlsPlan};

pub use kube_plan::KubePlan;
pub use names::Names;

/// Where the RPC secret Secret is mounted in driver and executors.
pub const AUTH_MOUNT: &str = "/mnt/sparkop/auth";
/// Where the UI keystore Secret is mounted in the driver.
pub const UI_TLS_MOUNT: &str = "/mnt/sparkop/ui-tls";
/// SPARK_CONF_DIR in the image; the ConfigMap is mounted here.
pub const CONF_DIR: &str = "/opt/spark/conf";
/// The driver container's name (as spark-submit names it).
pub const DRIVER_CONTAINER: &str = "spark-kubernetes-driver";
/// The label of every object of one attempt (as spark-submit sets it on the driver and Spark on
/// its executors): its value is the attempt's Spark application id.
pub const APP_SELECTOR_LABEL: &str = "spark-app-selector";
/// The label saying whether a pod is the driver or an executor (Spark's own).
pub const ROLE_LABEL: &str = "spark-role";
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
/// The block manager's port, on the driver and (through `spark.blockManager.port`) on every
/// executor.
pub const BLOCK_MANAGER_PORT: u16 = 7079;
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

/// Builds every object of attempt `ctx.attempt` of `app`: the Kubernetes side of the
/// application is derived once ([`KubePlan`]), then each object is built from the plan, that
/// and the Secrets settled on, by a function of its own.
pub fn driver_objects(
    app: &SparkApplication,
    plan: &LaunchPlan,
    ctx: &Context,
) -> Result<DriverObjects, BuildError> {
    let kube = KubePlan::new(app)?;
    let names = Names::new(&plan.name, &ctx.uid, ctx.attempt);
    let deliveries = deliveries::Deliveries::new(plan, ctx)?;
    let meta = services::Meta::new(plan, ctx, &names);
    let conf = conf::spark_properties(plan, &kube, &names, &deliveries);
    let template = pods::executor_template(plan, &kube)?;
    Ok(DriverObjects {
        pod: pods::driver_pod(plan, &kube, &names, &meta, &deliveries)?,
        config_map: services::config_map(plan, ctx, &names, &meta, &conf, template)?,
        driver_service: services::driver_service(&kube, &names, &meta)?,
        ui_service: services::ui_service(plan, &kube, &names, &meta)?,
        network_policy: services::network_policy(plan, &names, &meta)?,
        names,
    })
}
