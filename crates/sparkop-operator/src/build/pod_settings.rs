//! The settings an application gives its driver or executors — environment from fields and
//! ConfigMaps, volume mounts, scheduling, security contexts, extra containers — laid onto a
//! pod spec and its Spark container. One place for the driver pod and the executor pod
//! template, so an executor gets what the manifest asks for exactly as the driver does.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::kube_plan::{KubePlan, KubeRole};
use super::{BuildError, invalid};

/// Where `spec.sparkConfigMap` is mounted (SPARK_CONF_DIR points there), as v1beta2 operators do.
pub const SPARK_CONFIG_MAP_DIR: &str = "/etc/spark/conf";
/// Where `spec.hadoopConfigMap` is mounted (HADOOP_CONF_DIR points there).
pub const HADOOP_CONFIG_MAP_DIR: &str = "/etc/hadoop/conf";

/// Sets `name` in the container's environment, replacing an earlier value.
pub(crate) fn set_env(container: &mut Value, name: &str, value: &str) {
    let entry = json!({"name": name, "value": value});
    match container["env"].as_array_mut() {
        Some(env) => match env.iter_mut().find(|e| e["name"] == name) {
            Some(e) => *e = entry,
            None => env.push(entry),
        },
        None => container["env"] = json!([entry]),
    }
}

/// ConfigMaps a role's pods mount: `spec.{role}.configMaps` at their paths, and the
/// application's `sparkConfigMap` and `hadoopConfigMap` at the directories Spark and Hadoop
/// read (with SPARK_CONF_DIR / HADOOP_CONF_DIR set).
fn config_maps(
    kube: &KubePlan<'_>,
    role: &KubeRole<'_>,
    pod_spec: &mut Value,
    container: &mut Value,
) {
    let s = &role.settings;
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for (i, cm) in s.config_maps.iter().enumerate() {
        let vol = super::names::dns_label(&format!("configmap-{i}-{}", cm.name));
        volumes.push(json!({"name": vol, "configMap": {"name": cm.name}}));
        mounts.push(json!({"name": vol, "mountPath": cm.path}));
    }
    for (cm, vol, dir, env) in [
        (
            kube.spark_config_map,
            "spark-configmap-volume",
            SPARK_CONFIG_MAP_DIR,
            "SPARK_CONF_DIR",
        ),
        (
            kube.hadoop_config_map,
            "hadoop-configmap-volume",
            HADOOP_CONFIG_MAP_DIR,
            "HADOOP_CONF_DIR",
        ),
    ] {
        if let Some(name) = cm {
            volumes.push(json!({"name": vol, "configMap": {"name": name}}));
            mounts.push(json!({"name": vol, "mountPath": dir}));
            set_env(container, env, dir);
        }
    }
    push_all(container, "volumeMounts", mounts);
    push_all(pod_spec, "volumes", volumes);
}

/// What identifies an item of a list: a volume mount by its path (one volume may be mounted
/// twice), anything else by its name.
fn key(v: &Value) -> Option<&Value> {
    v.get("mountPath").or_else(|| v.get("name"))
}

/// `ours` laid over `base`, the way Spark's steps edit a pod template: objects merge key by
/// key (ours win), lists of named items merge by name (ours replace the same name, the
/// template's others stay first), anything else is ours.
pub(crate) fn overlay(base: Value, ours: Value) -> Value {
    match (base, ours) {
        (Value::Object(mut b), Value::Object(o)) => {
            for (k, v) in o {
                let merged = match b.remove(&k) {
                    Some(old) => overlay(old, v),
                    None => v,
                };
                b.insert(k, merged);
            }
            Value::Object(b)
        }
        (Value::Array(b), Value::Array(o)) if b.iter().chain(&o).all(|v| key(v).is_some()) => {
            let mut out: Vec<Value> = b
                .into_iter()
                .filter(|old| !o.iter().any(|new| key(new) == key(old)))
                .collect();
            out.extend(o);
            Value::Array(out)
        }
        (_, ours) => ours,
    }
}

/// A role's pod template split for laying sparkop's pod over it: (metadata, pod spec without
/// the Spark container, the Spark container named `container` or an empty one).
pub(crate) fn split_template(
    template: Option<&sparkop_api::k8s_openapi::api::core::v1::PodTemplateSpec>,
    container: &str,
    field: &str,
) -> Result<(Value, Value, Value), BuildError> {
    let base = match template {
        Some(t) => to_json(t, field)?,
        None => json!({}),
    };
    // Only labels and annotations: names, namespaces and owners are sparkop's.
    let metadata = match base.get("metadata") {
        Some(m) if m.is_object() => json!({
            "labels": m.get("labels").cloned().unwrap_or(Value::Null),
            "annotations": m.get("annotations").cloned().unwrap_or(Value::Null),
        }),
        _ => Value::Null,
    };
    let metadata = match metadata.as_object() {
        Some(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        None => Value::Null,
    };
    let mut pod_spec = base.get("spec").cloned().unwrap_or_else(|| json!({}));
    let mut containers: Vec<Value> = pod_spec["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let main = match containers.iter().position(|c| c["name"] == container) {
        Some(i) => containers.remove(i),
        None => json!({"name": container}),
    };
    if containers.is_empty() {
        if let Some(o) = pod_spec.as_object_mut() {
            o.remove("containers");
        }
    } else {
        pod_spec["containers"] = Value::Array(containers);
    }
    Ok((metadata, pod_spec, main))
}

/// The hardened default of every Spark container sparkop describes (a role's
/// `securityContext` replaces it).
pub(crate) fn hardened_container_security() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

/// The UID and GID of the Spark user in the official images (and the ones sparkop builds).
pub const SPARK_UID: i64 = 185;

/// The pod-level security defaults of every pod sparkop describes; a role's
/// `podSecurityContext` is laid over them (its fields win, the others stay). `fsGroup` makes
/// the Secret files sparkop mounts (mode 0440) readable by the Spark user: without it a real
/// kubelet leaves them `root:root 0400` and the driver cannot read its own RPC secret.
pub(crate) fn default_pod_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": SPARK_UID,
        "runAsGroup": SPARK_UID,
        "fsGroup": SPARK_UID,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

fn to_json<T: serde::Serialize>(v: &T, field: &str) -> Result<Value, BuildError> {
    serde_json::to_value(v).map_err(|e| invalid(field, e.to_string()))
}

fn push_all(target: &mut Value, key: &str, items: Vec<Value>) {
    if items.is_empty() {
        return;
    }
    match target[key].as_array_mut() {
        Some(list) => list.extend(items),
        None => target[key] = Value::Array(items),
    }
}

/// Applies a role's settings (`spec.{role}`, named by `field`) to `pod_spec` and its Spark
/// `container`, which becomes the pod's first container (before any the pod spec already
/// has, then sidecars).
///
/// Environment variables with a plain value or a `secretKeyRef` are not added here: the plan
/// carries those (executors get them through Spark's own settings); the others (`fieldRef`,
/// `configMapKeyRef`, `resourceFieldRef`) only reach a pod this way.
pub(crate) fn apply(
    kube: &KubePlan<'_>,
    role: &KubeRole<'_>,
    field: &str,
    pod_spec: &mut Value,
    mut container: Value,
) -> Result<(), BuildError> {
    let s = &role.settings;
    let field = field.to_owned();
    let extra_env = s
        .env
        .iter()
        .filter(|v| {
            v.value.is_none()
                && v.value_from
                    .as_ref()
                    .is_some_and(|f| f.secret_key_ref.is_none())
        })
        .map(|v| to_json(v, &format!("{field}.env")))
        .collect::<Result<Vec<_>, _>>()?;
    push_all(&mut container, "env", extra_env);
    if !s.env_from.is_empty() {
        container["envFrom"] = to_json(&s.env_from, &format!("{field}.envFrom"))?;
    }
    let mounts = s
        .volume_mounts
        .iter()
        .map(|m| to_json(m, &format!("{field}.volumeMounts")))
        .collect::<Result<Vec<_>, _>>()?;
    push_all(&mut container, "volumeMounts", mounts);
    let ports: Vec<Value> = s
        .ports
        .iter()
        .map(|p| json!({"name": p.name, "containerPort": p.container_port, "protocol": p.protocol}))
        .collect();
    push_all(&mut container, "ports", ports);
    config_maps(kube, role, pod_spec, &mut container);
    if let Some(l) = s.lifecycle {
        container["lifecycle"] = to_json(l, &format!("{field}.lifecycle"))?;
    }
    if let Some(sc) = s.security_context {
        container["securityContext"] = to_json(sc, &format!("{field}.securityContext"))?;
    }

    // spec.volumes that this role's containers mount.
    let mounted: BTreeSet<&str> = s
        .volume_mounts
        .iter()
        .chain(
            s.sidecars
                .iter()
                .chain(s.init_containers)
                .flat_map(|c| c.volume_mounts.iter().flatten()),
        )
        .map(|m| m.name.as_str())
        .collect();
    let volumes = kube
        .volumes
        .iter()
        .filter(|v| mounted.contains(v.name.as_str()))
        .map(|v| to_json(v, "spec.volumes"))
        .collect::<Result<Vec<_>, _>>()?;
    push_all(pod_spec, "volumes", volumes);
    let sidecars = s
        .sidecars
        .iter()
        .map(|c| to_json(c, &format!("{field}.sidecars")))
        .collect::<Result<Vec<_>, _>>()?;
    let others = pod_spec["containers"].take();
    let mut containers = vec![container];
    containers.extend(others.as_array().into_iter().flatten().cloned());
    containers.extend(sidecars);
    pod_spec["containers"] = Value::Array(containers);
    let inits = s
        .init_containers
        .iter()
        .map(|c| to_json(c, &format!("{field}.initContainers")))
        .collect::<Result<Vec<_>, _>>()?;
    push_all(pod_spec, "initContainers", inits);
    if let Some(ns) = role.node_selector {
        pod_spec["nodeSelector"] = json!(ns);
    }
    let pod_security = match to_json(&s.pod_security_context, &field)? {
        Value::Null => default_pod_security(),
        user => overlay(default_pod_security(), user),
    };
    let optional = [
        ("tolerations", to_json(&s.tolerations, &field)?),
        ("affinity", to_json(&s.affinity, &field)?),
        ("securityContext", pod_security),
        ("schedulerName", json!(s.scheduler_name)),
        ("hostNetwork", json!(s.host_network)),
        ("dnsConfig", to_json(&s.dns_config, &field)?),
        (
            "terminationGracePeriodSeconds",
            json!(s.termination_grace_period_seconds),
        ),
        ("shareProcessNamespace", json!(s.share_process_namespace)),
        ("priorityClassName", json!(s.priority_class_name)),
    ];
    for (key, value) in optional {
        if !value.is_null() {
            pod_spec[key] = value;
        }
    }
    if !s.host_aliases.is_empty() {
        pod_spec["hostAliases"] = to_json(&s.host_aliases, &format!("{field}.hostAliases"))?;
    }
    Ok(())
}
