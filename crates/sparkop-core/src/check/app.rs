//! Validation that is not about security: names, resources, restart policy, references.

use sparkop_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sparkop_api::types::spark_application::RestartPolicyType;
use sparkop_api::{FieldPath, SparkApplicationSpec, SparkApplicationType};

use super::Findings;
use crate::conf::{Conf, ConfBool};
use crate::names::{self, NameProblem};
use crate::posture::split_secret_key_ref;
use crate::rules as r;
use crate::units::{self, SizeError};
use crate::version::SparkVersion;

/// Spark refuses to start with less heap than this (1.5 × its 300 MiB reserve).
const MIN_HEAP: u64 = 450 * 1024 * 1024;
/// Larger than any machine a single JVM runs on.
const MAX_SANE_MEMORY: u64 = 4 * 1024 * 1024 * 1024 * 1024;
const MAX_SANE_CORES: i32 = 512;
const MAX_SANE_INSTANCES: i32 = 10_000;

pub(super) fn check_metadata(meta: &ObjectMeta, f: &mut Findings) {
    if let Some(name) = &meta.name {
        name_rule(
            f,
            FieldPath::parse("metadata.name"),
            name,
            names::check_subdomain,
            r::INVALID_NAME,
            "application name",
        );
        if name.len() > 63 - "-driver".len() && names::check_subdomain(name).is_ok() {
            f.warning(
                r::INVALID_NAME,
                FieldPath::parse("metadata.name"),
                format!(
                    "{} characters is long: pod and Service names derived from it are truncated",
                    name.len()
                ),
                Some("keep application names at most 56 characters".into()),
            );
        }
    }
    if let Some(ns) = &meta.namespace {
        name_rule(
            f,
            FieldPath::parse("metadata.namespace"),
            ns,
            names::check_label,
            r::INVALID_NAME,
            "namespace",
        );
    }
}

/// Reports a name problem; placeholders get their own rule and a clear hint.
pub(super) fn name_rule(
    f: &mut Findings,
    path: FieldPath,
    value: &str,
    check: fn(&str) -> Result<(), NameProblem>,
    rule: &'static str,
    what: &str,
) {
    match check(value) {
        Ok(()) => {}
        Err(NameProblem::Placeholder) => f.error(
            r::PLACEHOLDER,
            path,
            format!("{value} is a placeholder from the documentation, not a {what}"),
            Some(format!("replace {value} with a real {what}")),
        ),
        Err(NameProblem::Invalid(why)) => {
            f.error(
                rule,
                path,
                format!("{what} {value:?} is invalid: it {why}"),
                None,
            );
        }
    }
}

pub(super) fn check(spec: &SparkApplicationSpec, base: &FieldPath, f: &mut Findings) {
    check_version(spec, base, f);
    check_roles(spec, base, f);
    check_restart_policy(spec, base, f);
    check_references(spec, base, f);
    check_booleans(spec, base, f);
    if matches!(
        spec.r#type,
        SparkApplicationType::Java | SparkApplicationType::Scala
    ) && spec.main_class.as_deref().is_none_or(str::is_empty)
    {
        f.error(
            r::MISSING_MAIN_CLASS,
            base.key("mainClass"),
            format!("a {:?} application needs mainClass", spec.r#type),
            Some("set mainClass to the fully qualified class with the main method".into()),
        );
    }
    if let Some(da) = &spec.dynamic_allocation
        && da.enabled == Some(true)
        && let (Some(min), Some(max)) = (da.min_executors, da.max_executors)
        && min > max
    {
        f.error(
            r::BAD_DYNAMIC_ALLOCATION,
            base.key("dynamicAllocation"),
            format!("minExecutors ({min}) is larger than maxExecutors ({max})"),
            None,
        );
    }
}

fn check_version(spec: &SparkApplicationSpec, base: &FieldPath, f: &mut Findings) {
    let declared = SparkVersion::parse(&spec.spark_version);
    if declared.is_none() {
        f.error(
            r::BAD_SPARK_VERSION,
            base.key("sparkVersion"),
            format!("{:?} is not a Spark version", spec.spark_version),
            Some("write the version the image contains, e.g. \"3.5.9\" or \"4.3.0\"".into()),
        );
    }
    let from_image = spec.image.as_deref().and_then(SparkVersion::from_image);
    if let (Some(d), Some(i)) = (declared, from_image)
        && (d.major, d.minor) != (i.major, i.minor)
    {
        f.warning(
            r::VERSION_MISMATCH,
            base.key("sparkVersion"),
            format!("sparkVersion {d} disagrees with the image tag ({i})"),
            Some("sparkop picks security settings by version; make them agree".into()),
        );
    }
}

struct Role<'a> {
    key: &'static str,
    cores: Option<i32>,
    memory: Option<&'a str>,
    memory_overhead: Option<&'a str>,
    core_limit: Option<&'a str>,
    core_request: Option<&'a str>,
    memory_limit: Option<&'a str>,
    service_account: Option<&'a str>,
}

fn check_roles(spec: &SparkApplicationSpec, base: &FieldPath, f: &mut Findings) {
    let d = &spec.driver;
    let e = &spec.executor;
    let roles = [
        Role {
            key: "driver",
            cores: d.cores,
            memory: d.memory.as_deref(),
            memory_overhead: d.memory_overhead.as_deref(),
            core_limit: d.core_limit.as_deref(),
            core_request: d.core_request.as_deref(),
            memory_limit: d.memory_limit.as_deref(),
            service_account: d.service_account.as_deref(),
        },
        Role {
            key: "executor",
            cores: e.cores,
            memory: e.memory.as_deref(),
            memory_overhead: e.memory_overhead.as_deref(),
            core_limit: e.core_limit.as_deref(),
            core_request: e.core_request.as_deref(),
            memory_limit: e.memory_limit.as_deref(),
            service_account: e.service_account.as_deref(),
        },
    ];
    for role in &roles {
        let at = base.key(role.key);
        if let Some(c) = role.cores {
            if c < 1 {
                f.error(
                    r::BAD_CORES,
                    at.key("cores"),
                    format!("cores must be at least 1, not {c}"),
                    None,
                );
            } else if c > MAX_SANE_CORES {
                f.warning(
                    r::BAD_CORES,
                    at.key("cores"),
                    format!("{c} cores per JVM is implausible"),
                    None,
                );
            }
        }
        if let Some(m) = role.memory {
            memory_rule(f, at.key("memory"), m, true);
        }
        if let Some(m) = role.memory_overhead {
            memory_rule(f, at.key("memoryOverhead"), m, false);
        }
        for (field, value) in [
            ("coreLimit", role.core_limit),
            ("coreRequest", role.core_request),
        ] {
            if let Some(v) = value.filter(|v| !units::is_kubernetes_quantity(v)) {
                f.error(
                    r::BAD_QUANTITY,
                    at.key(field),
                    format!("{v:?} is not a Kubernetes quantity"),
                    Some("use e.g. \"1\", \"500m\" or \"1.5\"".into()),
                );
            }
        }
        if let Some(v) = role.memory_limit {
            if !units::is_kubernetes_quantity(v) {
                f.error(
                    r::BAD_QUANTITY,
                    at.key("memoryLimit"),
                    format!("{v:?} is not a Kubernetes quantity"),
                    Some("use e.g. \"1Gi\" or \"512Mi\"".into()),
                );
            } else if v.ends_with('m') {
                f.error(
                    r::SPARK_NOTATION_IN_QUANTITY,
                    at.key("memoryLimit"),
                    format!(
                        "{v:?} is a Kubernetes quantity here: {v} means {} thousandths of a byte",
                        v.trim_end_matches('m')
                    ),
                    Some(format!("write {}Mi for mebibytes", v.trim_end_matches('m'))),
                );
            }
        }
        if let Some(sa) = role.service_account {
            name_rule(
                f,
                at.key("serviceAccount"),
                sa,
                names::check_subdomain,
                r::INVALID_REFERENCE,
                "service account",
            );
        }
    }
    if let Some(n) = e.instances {
        if n < 0 {
            f.error(
                r::BAD_INSTANCES,
                base.key("executor").key("instances"),
                format!("instances must not be negative, not {n}"),
                None,
            );
        } else if n > MAX_SANE_INSTANCES {
            f.warning(
                r::BAD_INSTANCES,
                base.key("executor").key("instances"),
                format!("{n} executors is implausible"),
                None,
            );
        }
    }
}

fn memory_rule(f: &mut Findings, path: FieldPath, value: &str, heap: bool) {
    match units::parse_spark_memory(value) {
        Ok(bytes) if heap && bytes < MIN_HEAP => f.error(
            r::MEMORY_TOO_SMALL,
            path,
            format!(
                "{value:?} is {}; Spark refuses to start with less than 450 MiB",
                units::human_bytes(bytes)
            ),
            Some("use at least \"512m\"".into()),
        ),
        Ok(bytes) if bytes > MAX_SANE_MEMORY => f.warning(
            r::ABSURD_MEMORY,
            path,
            format!(
                "{value:?} is {}, more than any node has",
                units::human_bytes(bytes)
            ),
            None,
        ),
        Ok(_) => {}
        Err(e) => {
            let hint = match &e {
                SizeError::KubernetesSuffix(_) => units::spark_notation_for(value)
                    .map(|s| format!("Spark writes this as {s:?} (m = MiB, g = GiB)")),
                SizeError::Fraction => {
                    Some("use a smaller unit: \"1536m\" instead of \"1.5g\"".into())
                }
                _ => Some(
                    "use Spark notation: a whole number with k, m, g or t, e.g. \"512m\"".into(),
                ),
            };
            f.error(
                r::BAD_MEMORY,
                path,
                format!("{value:?} is not a Spark size: {e}"),
                hint,
            );
        }
    }
}

fn check_restart_policy(spec: &SparkApplicationSpec, base: &FieldPath, f: &mut Findings) {
    let Some(p) = &spec.restart_policy else {
        return;
    };
    let at = base.key("restartPolicy");
    for (field, n) in [
        (
            "onSubmissionFailureRetries",
            p.on_submission_failure_retries,
        ),
        ("onFailureRetries", p.on_failure_retries),
    ] {
        if let Some(n) = n.filter(|n| *n < 0) {
            f.error(
                r::BAD_RESTART_POLICY,
                at.key(field),
                format!("must not be negative, not {n}"),
                None,
            );
        }
    }
    for (field, n) in [
        (
            "onSubmissionFailureRetryInterval",
            p.on_submission_failure_retry_interval,
        ),
        ("onFailureRetryInterval", p.on_failure_retry_interval),
    ] {
        if let Some(n) = n.filter(|n| *n < 1) {
            f.error(
                r::BAD_RESTART_POLICY,
                at.key(field),
                format!("must be at least 1 second, not {n}"),
                None,
            );
        }
    }
    if p.r#type == RestartPolicyType::Never
        && (p.on_failure_retries.is_some() || p.on_submission_failure_retries.is_some())
    {
        f.warning(
            r::BAD_RESTART_POLICY,
            at.key("type"),
            "retry counts are set but type is Never, so they are ignored",
            Some("use type: OnFailure to retry".into()),
        );
    }
}

fn check_references(spec: &SparkApplicationSpec, base: &FieldPath, f: &mut Findings) {
    let conf = Conf::new(spec);
    for (key, value) in conf.iter() {
        if !key.contains(".secretKeyRef.") {
            continue;
        }
        let path = base.key("sparkConf").key(key);
        match split_secret_key_ref(value) {
            Some((name, secret_key)) => {
                name_rule(
                    f,
                    path.clone(),
                    name,
                    names::check_subdomain,
                    r::INVALID_REFERENCE,
                    "Secret name",
                );
                name_rule(
                    f,
                    path,
                    secret_key,
                    names::check_data_key,
                    r::INVALID_REFERENCE,
                    "Secret key",
                );
            }
            None => f.error(
                r::BAD_SECRET_KEY_REF,
                path,
                format!("{value:?} is not of the form secret-name:key"),
                Some(
                    "write the Secret's name and the key inside it, e.g. \"spark-secret:secret\""
                        .into(),
                ),
            ),
        }
    }
    let pods = [
        ("driver", &spec.driver.secrets, &spec.driver.config_maps),
        (
            "executor",
            &spec.executor.secrets,
            &spec.executor.config_maps,
        ),
    ];
    for (role, secrets, config_maps) in pods {
        for (i, s) in secrets.iter().flatten().enumerate() {
            name_rule(
                f,
                base.key(role).key("secrets").index(i).key("name"),
                &s.name,
                names::check_subdomain,
                r::INVALID_REFERENCE,
                "Secret name",
            );
        }
        for (i, c) in config_maps.iter().flatten().enumerate() {
            name_rule(
                f,
                base.key(role).key("configMaps").index(i).key("name"),
                &c.name,
                names::check_subdomain,
                r::INVALID_REFERENCE,
                "ConfigMap name",
            );
        }
    }
    for (field, value) in [
        ("sparkConfigMap", &spec.spark_config_map),
        ("hadoopConfigMap", &spec.hadoop_config_map),
    ] {
        if let Some(v) = value {
            name_rule(
                f,
                base.key(field),
                v,
                names::check_subdomain,
                r::INVALID_REFERENCE,
                "ConfigMap name",
            );
        }
    }
    if let Some(r) = spec
        .security
        .as_ref()
        .and_then(|s| s.authentication.as_ref())
        .and_then(|a| a.secret.as_ref())
    {
        let at = base.key("security").key("authentication").key("secret");
        name_rule(
            f,
            at.key("secretName"),
            &r.secret_name,
            names::check_subdomain,
            r::INVALID_REFERENCE,
            "Secret name",
        );
        name_rule(
            f,
            at.key("key"),
            &r.key,
            names::check_data_key,
            r::INVALID_REFERENCE,
            "Secret key",
        );
    }
}

fn check_booleans(spec: &SparkApplicationSpec, base: &FieldPath, f: &mut Findings) {
    let conf = Conf::new(spec);
    for (key, _) in conf.iter() {
        let boolean = key.ends_with(".enabled")
            || key == sparkop_api::conf_keys::AUTHENTICATE
            || key == sparkop_api::conf_keys::SASL_ENCRYPTION
            || key == sparkop_api::conf_keys::SASL_FALLBACK;
        if boolean && conf.bool(key) == ConfBool::Invalid {
            f.error(
                r::BAD_BOOLEAN,
                base.key("sparkConf").key(key),
                "Spark accepts only \"true\" or \"false\" here",
                None,
            );
        }
    }
}
