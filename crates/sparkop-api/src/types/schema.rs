//! Schema overrides that keep the CRD small.
//!
//! Pod-level Kubernetes types (volumes, affinity, containers, …) are what make the kubeflow CRD
//! ~830 KB. They are validated by Kubernetes itself when the pods are created, so the CRD keeps
//! them schemaless; their Rust types stay fully typed.

use schemars::{Schema, SchemaGenerator, json_schema};

/// An object whose fields the API server keeps without checking them.
pub(crate) fn preserve_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

/// A list of such objects.
pub(crate) fn preserve_array(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
    })
}

/// A map of Kubernetes quantities (`"2"`, `"500m"`, `"1Gi"`).
pub(crate) fn quantity_map(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": { "x-kubernetes-int-or-string": true }
    })
}
