//! `plan`: a validated `SparkApplication` turned into a [`LaunchPlan`], the one description both
//! backends execute. Pure: no IO, no randomness, and no secret value anywhere in the plan —
//! secrets appear only as references ([`SecretRef`]) that a backend resolves
//! ([`secrets::resolve`]) and delivers as files or process-private environment.

mod logging;
mod properties;
mod resources;
pub mod secrets;
mod security;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use sparkop_api::conf_keys as keys;
use sparkop_api::types::pod::{DriverSpec, ExecutorSpec, SecretInfo};
use sparkop_api::{SparkApplication, SparkApplicationType};

use crate::posture::{self, Posture, split_secret_key_ref};
use crate::units::parse_spark_memory;

pub use logging::log4j_config;
pub use properties::{properties_file, properties_line};
pub use resources::{DEFAULT_HEAP_BYTES, GpuPlan, MIN_MEMORY_OVERHEAD_BYTES};
pub use security::{KEYSTORE_KEY, KEYSTORE_PASSWORD_KEY, UI_KEYSTORE_PASSWORD_ENV, UiTlsPlan};

/// A `(Secret, key)` pair a plan needs the value of.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretRef {
    /// Secret name.
    pub secret: String,
    /// Key in the Secret.
    pub key: String,
}

/// An environment variable whose value comes from a Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretEnv {
    /// Variable name.
    pub name: String,
    /// Where its value comes from.
    pub from: SecretRef,
}

/// A whole Secret mounted as files at a path (Kubernetes) or copied into the run dir (local).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretMount {
    /// Secret name.
    pub secret: String,
    /// Mount path as written in the manifest (inside the container).
    pub path: String,
}

/// What a driver or executor process gets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RolePlan {
    /// Cores.
    pub cores: Option<u32>,
    /// The CPU a pod of this role requests (`coreRequest`, a Kubernetes quantity).
    pub cpu_request: Option<String>,
    /// The CPU limit of a pod of this role (`coreLimit`).
    pub cpu_limit: Option<String>,
    /// JVM heap in bytes.
    pub memory_bytes: Option<u64>,
    /// Memory beyond the heap (`memoryOverhead`), in bytes.
    pub memory_overhead_bytes: Option<u64>,
    /// GPUs, when asked for.
    pub gpu: Option<GpuPlan>,
    /// Plain environment variables (not secret).
    pub env: BTreeMap<String, String>,
    /// Environment variables fed from Secrets.
    pub secret_env: Vec<SecretEnv>,
    /// Secrets mounted as files.
    pub secret_mounts: Vec<SecretMount>,
}

/// The application file, classified by where it lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppFile {
    /// `local:///path`: a path inside the container image.
    Image(String),
    /// `http(s)://…`: downloaded by Spark.
    Remote(String),
    /// Any other URI scheme (`s3a://`, `hdfs://`, …), passed to Spark as is.
    OtherUri(String),
    /// A plain path.
    Path(String),
}

impl AppFile {
    /// The file as Spark names it (`local://` for a path in the image): the inverse of
    /// [`AppFile::classify`].
    pub fn spark_uri(&self) -> String {
        match self {
            AppFile::Image(p) => format!("local://{p}"),
            AppFile::Remote(u) | AppFile::OtherUri(u) => u.clone(),
            AppFile::Path(p) => p.clone(),
        }
    }

    /// Classifies a `mainApplicationFile` (or dependency) value.
    pub fn classify(text: &str) -> AppFile {
        if let Some(path) = text.strip_prefix("local://") {
            AppFile::Image(path.to_owned())
        } else if text.starts_with("http://") || text.starts_with("https://") {
            AppFile::Remote(text.to_owned())
        } else if text.contains("://") {
            AppFile::OtherUri(text.to_owned())
        } else {
            AppFile::Path(text.to_owned())
        }
    }
}

/// How the shared RPC secret is obtained (never the value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthSecret {
    /// From a Secret key.
    FromSecret(SecretRef),
    /// Generated for this application by the backend (256 random bits).
    Generated,
}

/// Everything a backend needs to start an application, without any secret value.
#[derive(Clone, Debug, PartialEq)]
pub struct LaunchPlan {
    /// `metadata.name`, also the Spark app name.
    pub name: String,
    /// `metadata.namespace` (default `default`).
    pub namespace: String,
    /// Java, Scala, Python or R.
    pub app_type: SparkApplicationType,
    /// The main class of a JVM application.
    pub main_class: Option<String>,
    /// The application file.
    pub main_file: AppFile,
    /// Application arguments.
    pub arguments: Vec<String>,
    /// Spark configuration: the user's `sparkConf` and `hadoopConf`, the resources and
    /// dependencies, and the security settings. Holds no secret value (only `${env:VAR}`
    /// references, which Spark resolves).
    pub conf: BTreeMap<String, String>,
    /// The driver.
    pub driver: RolePlan,
    /// The executors.
    pub executor: RolePlan,
    /// Number of executors.
    pub executor_instances: u32,
    /// The share of a container's memory beyond the heap when a role sets no
    /// `memoryOverhead` (`memoryOverheadFactor`, else Spark's default for the application type).
    pub memory_overhead_factor: f64,
    /// The application's Spark version as written (`sparkVersion`).
    pub spark_version: String,
    /// The resolved security settings.
    pub posture: Posture,
    /// The RPC secret, when authentication is on.
    pub auth_secret: Option<AuthSecret>,
    /// The web UI, when enabled.
    pub ui: Option<UiPlan>,
}

/// The driver's web UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiPlan {
    /// The HTTP port (a redirect to HTTPS when TLS is on).
    pub http_port: u16,
    /// The HTTPS port, when TLS is on.
    pub https_port: Option<u16>,
    /// How TLS is set up, when on.
    pub tls: Option<UiTlsPlan>,
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// A field has a value the plan cannot use (validation should have caught it).
    #[error("{field}: {message}")]
    Invalid {
        /// The field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A setting sparkop does not implement yet.
    #[error("{0}")]
    Unsupported(String),
}

impl LaunchPlan {
    /// Every Secret key the plan needs, sorted and deduplicated (for error messages and lookups).
    pub fn secret_refs(&self) -> Vec<SecretRef> {
        let mut refs: Vec<SecretRef> = self
            .driver
            .secret_env
            .iter()
            .chain(&self.executor.secret_env)
            .map(|e| e.from.clone())
            .collect();
        if let Some(AuthSecret::FromSecret(r)) = &self.auth_secret {
            refs.push(r.clone());
        }
        if let Some(UiTlsPlan::Keystore {
            from: Some(secret), ..
        }) = self.ui.as_ref().and_then(|u| u.tls.as_ref())
        {
            refs.extend(security::keystore_refs(secret));
        }
        refs.sort();
        refs.dedup();
        refs
    }

    /// The memory a container of `role` needs: its heap (Spark's 1 GiB default) and the
    /// overhead Spark adds (`memoryOverhead`, else the factor of the heap, at least 384 MiB).
    pub fn container_memory_bytes(&self, role: &RolePlan) -> u64 {
        resources::container_memory_bytes(role, self.memory_overhead_factor)
    }
}

/// Builds the plan of a validated application.
pub fn plan(app: &SparkApplication) -> Result<LaunchPlan, PlanError> {
    let spec = &app.spec;
    let name = app.metadata.name.clone().unwrap_or_default();
    let namespace = app
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let posture = posture::resolve(spec);
    let mut conf: BTreeMap<String, String> = BTreeMap::new();
    let mut driver = role_plan(
        "spec.driver",
        Role::from_driver(&spec.driver),
        &mut conf,
        "driver",
    )?;
    let mut executor = role_plan(
        "spec.executor",
        Role::from_executor(&spec.executor),
        &mut conf,
        "executor",
    )?;
    let executor_instances = match spec.executor.instances {
        Some(n) if n < 0 => {
            return Err(PlanError::Invalid {
                field: "spec.executor.instances".into(),
                message: "must not be negative".into(),
            });
        }
        Some(n) => n as u32,
        None => 1,
    };
    conf.insert(
        "spark.executor.instances".into(),
        executor_instances.to_string(),
    );
    conf.insert("spark.app.name".into(), name.clone());
    let memory_overhead_factor =
        resources::overhead_factor(spec.memory_overhead_factor.as_deref(), spec.r#type)?;
    if let Some(f) = &spec.memory_overhead_factor {
        // What v1beta2 operators pass on: Spark sizes the executor pods with it.
        conf.insert("spark.kubernetes.memoryOverheadFactor".into(), f.clone());
    }

    for (k, v) in spec.hadoop_conf.iter().flatten() {
        conf.insert(format!("spark.hadoop.{k}"), v.clone());
    }
    if let Some(deps) = &spec.deps {
        let lists = [
            ("spark.jars", &deps.jars),
            ("spark.files", &deps.files),
            ("spark.submit.pyFiles", &deps.py_files),
            ("spark.jars.packages", &deps.packages),
            ("spark.jars.excludes", &deps.exclude_packages),
            ("spark.jars.repositories", &deps.repositories),
            ("spark.archives", &deps.archives),
        ];
        for (key, list) in lists {
            if let Some(items) = list.as_ref().filter(|l| !l.is_empty()) {
                conf.insert(key.into(), items.join(","));
            }
        }
    }

    // The user's sparkConf wins over the mapped fields (as with spark-submit --conf), except
    // for the Kubernetes secret plumbing, which becomes deliveries.
    let guide_env = keys::GUIDE_SECRET_ENV;
    for (key, value) in spec.spark_conf.iter().flatten() {
        if let Some(rest) = key.strip_prefix(keys::DRIVER_SECRET_KEY_REF) {
            if rest != guide_env {
                driver
                    .secret_env
                    .push(secret_env_from_conf(key, rest, value)?);
            }
        } else if let Some(rest) = key.strip_prefix(keys::EXECUTOR_SECRET_KEY_REF) {
            if rest != guide_env {
                executor
                    .secret_env
                    .push(secret_env_from_conf(key, rest, value)?);
            }
        } else if let Some(secret) = key.strip_prefix("spark.kubernetes.driver.secrets.") {
            driver.secret_mounts.push(SecretMount {
                secret: secret.into(),
                path: value.clone(),
            });
        } else if let Some(secret) = key.strip_prefix("spark.kubernetes.executor.secrets.") {
            executor.secret_mounts.push(SecretMount {
                secret: secret.into(),
                path: value.clone(),
            });
        } else {
            conf.insert(key.clone(), value.clone());
        }
    }
    for role in [&mut driver, &mut executor] {
        role.secret_env.sort_by(|a, b| a.name.cmp(&b.name));
        role.secret_env.dedup_by(|a, b| a.name == b.name);
        role.secret_mounts.sort_by(|a, b| a.path.cmp(&b.path));
        role.secret_mounts.dedup();
    }

    let security = security::apply(&posture, &mut conf)?;
    Ok(LaunchPlan {
        name,
        namespace,
        app_type: spec.r#type,
        main_class: spec.main_class.clone(),
        main_file: AppFile::classify(&spec.main_application_file),
        arguments: spec.arguments.clone().unwrap_or_default(),
        conf,
        driver,
        executor,
        executor_instances,
        memory_overhead_factor,
        spark_version: spec.spark_version.clone(),
        posture,
        auth_secret: security.auth_secret,
        ui: security.ui,
    })
}

fn secret_env_from_conf(key: &str, env: &str, value: &str) -> Result<SecretEnv, PlanError> {
    let (secret, k) = split_secret_key_ref(value).ok_or_else(|| PlanError::Invalid {
        field: format!("spec.sparkConf[{key}]"),
        message: format!("expected SECRET:KEY, found {value:?}"),
    })?;
    Ok(SecretEnv {
        name: env.into(),
        from: SecretRef {
            secret: secret.into(),
            key: k.into(),
        },
    })
}

/// The fields driver and executor share, borrowed.
struct Role<'a> {
    cores: Option<i32>,
    core_request: Option<&'a str>,
    core_limit: Option<&'a str>,
    memory: Option<&'a str>,
    memory_overhead: Option<&'a str>,
    gpu: Option<&'a sparkop_api::types::pod::GpuSpec>,
    java_options: Option<&'a str>,
    env: Vec<&'a sparkop_api::k8s_openapi::api::core::v1::EnvVar>,
    env_vars: Option<&'a BTreeMap<String, String>>,
    env_secret_key_refs: Option<&'a BTreeMap<String, sparkop_api::types::pod::NameKey>>,
    secrets: &'a [SecretInfo],
}

impl<'a> Role<'a> {
    fn from_driver(d: &'a DriverSpec) -> Self {
        Role {
            cores: d.cores,
            core_request: d.core_request.as_deref(),
            core_limit: d.core_limit.as_deref(),
            memory: d.memory.as_deref(),
            memory_overhead: d.memory_overhead.as_deref(),
            gpu: d.gpu.as_ref(),
            java_options: d.java_options.as_deref(),
            env: d.env.iter().flatten().collect(),
            env_vars: d.env_vars.as_ref(),
            env_secret_key_refs: d.env_secret_key_refs.as_ref(),
            secrets: d.secrets.as_deref().unwrap_or_default(),
        }
    }

    fn from_executor(e: &'a ExecutorSpec) -> Self {
        Role {
            cores: e.cores,
            core_request: e.core_request.as_deref(),
            core_limit: e.core_limit.as_deref(),
            memory: e.memory.as_deref(),
            memory_overhead: e.memory_overhead.as_deref(),
            gpu: e.gpu.as_ref(),
            java_options: e.java_options.as_deref(),
            env: e.env.iter().flatten().collect(),
            env_vars: e.env_vars.as_ref(),
            env_secret_key_refs: e.env_secret_key_refs.as_ref(),
            secrets: e.secrets.as_deref().unwrap_or_default(),
        }
    }
}

fn role_plan(
    field: &str,
    role: Role<'_>,
    conf: &mut BTreeMap<String, String>,
    prefix: &str,
) -> Result<RolePlan, PlanError> {
    let mut plan = RolePlan::default();
    if let Some(cores) = role.cores {
        if cores < 1 {
            return Err(PlanError::Invalid {
                field: format!("{field}.cores"),
                message: "must be at least 1".into(),
            });
        }
        plan.cores = Some(cores as u32);
        conf.insert(format!("spark.{prefix}.cores"), cores.to_string());
    }
    // CPU request/limit, as v1beta2 operators pass them to Spark (ignored off Kubernetes).
    if let Some(r) = role.core_request {
        conf.insert(format!("spark.kubernetes.{prefix}.request.cores"), r.into());
        plan.cpu_request = Some(r.into());
    }
    if let Some(l) = role.core_limit {
        conf.insert(format!("spark.kubernetes.{prefix}.limit.cores"), l.into());
        plan.cpu_limit = Some(l.into());
    }
    plan.gpu = role
        .gpu
        .map(|g| GpuPlan::new(&format!("{field}.gpu"), &g.name, g.quantity))
        .transpose()?;
    if let Some(memory) = role.memory {
        let bytes = parse_spark_memory(memory).map_err(|e| PlanError::Invalid {
            field: format!("{field}.memory"),
            message: e.to_string(),
        })?;
        plan.memory_bytes = Some(bytes);
        conf.insert(format!("spark.{prefix}.memory"), memory.into());
    }
    if let Some(overhead) = role.memory_overhead {
        let bytes = parse_spark_memory(overhead).map_err(|e| PlanError::Invalid {
            field: format!("{field}.memoryOverhead"),
            message: e.to_string(),
        })?;
        plan.memory_overhead_bytes = Some(bytes);
        conf.insert(format!("spark.{prefix}.memoryOverhead"), overhead.into());
    }
    if let Some(opts) = role.java_options.filter(|o| !o.trim().is_empty()) {
        conf.insert(format!("spark.{prefix}.extraJavaOptions"), opts.into());
    }
    for (k, v) in role.env_vars.into_iter().flatten() {
        plan.env.insert(k.clone(), v.clone());
    }
    for var in role.env {
        if let Some(value) = &var.value {
            plan.env.insert(var.name.clone(), value.clone());
        } else if let Some(r) = var
            .value_from
            .as_ref()
            .and_then(|f| f.secret_key_ref.as_ref())
        {
            plan.secret_env.push(SecretEnv {
                name: var.name.clone(),
                from: SecretRef {
                    secret: r.name.clone(),
                    key: r.key.clone(),
                },
            });
        }
    }
    for (env, nk) in role.env_secret_key_refs.into_iter().flatten() {
        plan.secret_env.push(SecretEnv {
            name: env.clone(),
            from: SecretRef {
                secret: nk.name.clone(),
                key: nk.key.clone(),
            },
        });
    }
    for s in role.secrets {
        plan.secret_mounts.push(SecretMount {
            secret: s.name.clone(),
            path: s.path.clone(),
        });
    }
    if prefix == "executor" {
        for (k, v) in &plan.env {
            conf.insert(format!("spark.executorEnv.{k}"), v.clone());
        }
    }
    Ok(plan)
}
