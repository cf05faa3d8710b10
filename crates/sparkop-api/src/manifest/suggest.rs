//! "Did you mean" suggestions for unknown fields and enum values, from the CRD schema.

use std::sync::OnceLock;

use serde_json::Value;

use crate::diag::{FieldPath, Segment};

/// Which object's fields to suggest from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Schema {
    SparkApplication,
    ScheduledSparkApplication,
    ConfigMap,
    Secret,
}

const METADATA: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "ownerReferences",
    "finalizers",
    "managedFields",
];
const CONFIG_MAP: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "binaryData",
    "immutable",
];
const SECRET: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "stringData",
    "type",
    "immutable",
];

fn crd_schema(schema: Schema) -> Option<&'static Value> {
    static APP: OnceLock<Option<Value>> = OnceLock::new();
    static SCHEDULED: OnceLock<Option<Value>> = OnceLock::new();
    let (cell, crd) = match schema {
        Schema::SparkApplication => (&APP, crate::crd::spark_application as fn() -> _),
        Schema::ScheduledSparkApplication => (
            &SCHEDULED,
            crate::crd::scheduled_spark_application as fn() -> _,
        ),
        _ => return None,
    };
    cell.get_or_init(|| {
        let crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition = crd();
        let schema = crd.spec.versions.first()?.schema.as_ref()?.open_api_v3_schema.as_ref()?;
        serde_json::to_value(schema).ok()
    })
    .as_ref()
}

/// Field names the schema knows under `parent`.
fn candidates(schema: Schema, parent: &FieldPath) -> Vec<String> {
    let statics = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
    if parent.0 == [Segment::Key("metadata".into())] {
        return statics(METADATA);
    }
    match schema {
        Schema::ConfigMap if parent.is_root() => return statics(CONFIG_MAP),
        Schema::Secret if parent.is_root() => return statics(SECRET),
        _ => {}
    }
    let Some(mut node) = crd_schema(schema) else {
        return Vec::new();
    };
    for seg in &parent.0 {
        let next = match seg {
            Segment::Key(k) => node
                .get("properties")
                .and_then(|p| p.get(k))
                .or_else(|| node.get("additionalProperties")),
            Segment::Index(_) => node.get("items"),
        };
        match next {
            Some(n) => node = n,
            None => return Vec::new(),
        }
    }
    node.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The known field closest to `key`, if one is close enough to be a typo of it.
pub(crate) fn closest(schema: Schema, parent: &FieldPath, key: &str) -> Option<String> {
    let wanted = normalize(key);
    candidates(schema, parent)
        .into_iter()
        .map(|c| {
            let d = if normalize(&c) == wanted {
                0
            } else {
                strsim::levenshtein(&c, key)
            };
            (d, c)
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

/// A hint for serde's "unknown variant" message listing the accepted values.
pub(crate) fn variant_hint(message: &str) -> Option<String> {
    let rest = message.split_once("expected one of ")?.1;
    let values: Vec<_> = rest.split(", ").map(|v| v.trim_matches('`')).collect();
    Some(format!("use one of: {} (case matters)", values.join(", ")))
}
