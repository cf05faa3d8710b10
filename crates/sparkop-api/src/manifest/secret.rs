//! `Secret` manifests. Values go straight from the YAML tree into zeroizing memory: they never
//! pass through `serde_json`, a diagnostic message or a `Debug` output.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::yaml::{Node, NodeKind};
use super::{Anchor, Ctx, rules, suggest};
use crate::diag::{Diagnostic, FieldPath};

/// A secret value; wiped from memory when dropped, never printed.
pub struct SecretValue(SecretSlice<u8>);

impl SecretValue {
    /// Wraps bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(SecretSlice::from(bytes))
    }

    /// The bytes, for the one place that must deliver them (a 0600 file, a Secret object).
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<hidden>)")
    }
}

/// A `v1 Secret` with `data` decoded and `stringData` merged in (as the API server does).
#[derive(Debug)]
pub struct SecretObject {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: Option<String>,
    /// `type`, e.g. `Opaque`.
    pub r#type: Option<String>,
    /// Decoded values by key.
    pub data: BTreeMap<String, SecretValue>,
}

impl SecretObject {
    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&SecretValue> {
        self.data.get(key)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretHead {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    r#type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    immutable: Option<bool>,
}

pub(super) fn load(ctx: &Ctx<'_>, diags: &mut Vec<Diagnostic>) -> Option<SecretObject> {
    let NodeKind::Map(entries) = &ctx.node.kind else {
        return None;
    };
    let head: Map<String, Value> = entries
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), Some("data" | "stringData")))
        .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), v.to_json()))
        .collect();
    let head: SecretHead = ctx.typed_value(Value::Object(head), diags, suggest::Schema::Secret)?;
    let Some(name) = head.metadata.name.filter(|n| !n.is_empty()) else {
        let path = FieldPath::parse("metadata.name");
        diags.push(
            Diagnostic::error(
                rules::MISSING_FIELD,
                "metadata.name: required field is missing",
            )
            .at(path.clone())
            .located(ctx.doc().locate(&path, Anchor::Key)),
        );
        return None;
    };
    let mut data = BTreeMap::new();
    let mut ok = true;
    for (field, base64) in [("data", true), ("stringData", false)] {
        let Some(node) = ctx.node.get(field) else {
            continue;
        };
        if node.is_null() {
            continue;
        }
        let NodeKind::Map(values) = &node.kind else {
            let path = FieldPath::parse(field);
            diags.push(
                Diagnostic::error(
                    rules::BAD_FIELD,
                    format!("{field}: expected a mapping of keys to values"),
                )
                .at(path.clone())
                .located(ctx.doc().locate(&path, Anchor::Value)),
            );
            ok = false;
            continue;
        };
        for (k, v) in values {
            let key = k.as_str().unwrap_or_default().to_owned();
            let path = FieldPath::parse(field).key(key.clone());
            match decode(v, base64) {
                Ok(value) => {
                    data.insert(key, value);
                }
                Err(why) => {
                    ok = false;
                    let mut d = Diagnostic::error(
                        rules::BAD_SECRET_DATA,
                        format!("{path}: {why} (the value is hidden)"),
                    )
                    .at(path.clone())
                    .located(ctx.doc().locate(&path, Anchor::Value));
                    if base64 {
                        d = d.with_hint("values under `data` are base64; put plain text under `stringData` instead");
                    }
                    diags.push(d);
                }
            }
        }
    }
    ok.then_some(SecretObject {
        name,
        namespace: head.metadata.namespace,
        r#type: head.r#type,
        data,
    })
}

fn decode(node: &Node, base64: bool) -> Result<SecretValue, &'static str> {
    let text = match &node.kind {
        NodeKind::Scalar(s, ..) => s.as_str(),
        _ => return Err("expected a string"),
    };
    if !base64 {
        return Ok(SecretValue::new(text.as_bytes().to_vec()));
    }
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map(SecretValue::new)
        .map_err(|_| "not valid base64")
}
