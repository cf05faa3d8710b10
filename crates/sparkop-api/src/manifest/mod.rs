//! Loading manifests: multi-document YAML holding `SparkApplication`,
//! `ScheduledSparkApplication`, `Secret` and `ConfigMap` objects (and `List`s of them).
//!
//! Every problem becomes a [`Diagnostic`] with the file, line, column and field path; a bad
//! document never hides the good ones next to it. Secret values never enter a diagnostic.

pub mod hints;
pub mod rules;
mod secret;
mod suggest;
pub mod yaml;

use std::ops::Range;

use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use secret::{SecretObject, SecretValue};

use crate::conf_keys;
use crate::diag::{Diagnostic, FieldPath, Location, Segment, Severity};
use crate::types::{ScheduledSparkApplication, SparkApplication};
use yaml::{LineIndex, Node, NodeKind, Style};

/// The API group and version sparkop reads.
pub const API_VERSION: &str = "sparkoperator.k8s.io/v1beta2";

/// Default size limit: far above any real manifest (the API server accepts ~1.5 MiB objects).
pub const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;

/// How strict loading is.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    /// Unknown fields are errors instead of warnings.
    pub strict: bool,
    /// Larger inputs are refused.
    pub max_bytes: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            strict: false,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// A typed object read from a manifest.
#[derive(Debug)]
pub enum Object {
    /// A Spark application.
    SparkApplication(Box<SparkApplication>),
    /// A scheduled Spark application.
    ScheduledSparkApplication(Box<ScheduledSparkApplication>),
    /// A Secret (values kept in zeroizing memory).
    Secret(SecretObject),
    /// A ConfigMap.
    ConfigMap(Box<ConfigMap>),
}

impl Object {
    /// `Kind/name` for messages.
    pub fn describe(&self) -> String {
        let (kind, name) = match self {
            Object::SparkApplication(a) => ("SparkApplication", a.metadata.name.clone()),
            Object::ScheduledSparkApplication(a) => {
                ("ScheduledSparkApplication", a.metadata.name.clone())
            }
            Object::Secret(s) => ("Secret", Some(s.name.clone())),
            Object::ConfigMap(c) => ("ConfigMap", c.metadata.name.clone()),
        };
        format!("{kind}/{}", name.unwrap_or_else(|| "<unnamed>".into()))
    }
}

/// One object and the YAML it came from.
#[derive(Debug)]
pub struct Document {
    /// 0-based index of the YAML document in its file.
    pub index: usize,
    /// The typed object.
    pub object: Object,
    /// The source tree, for locating fields.
    pub node: Node,
}

/// Where a field path should point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// At the field's value.
    Value,
    /// At the field's key.
    Key,
}

impl Document {
    /// The location of a field, or of its nearest existing parent.
    pub fn locate(&self, path: &FieldPath, anchor: Anchor) -> Location {
        DocRef(&self.node).locate(path, anchor)
    }
}

impl Location {
    fn with_len(mut self, end: usize) -> Self {
        self.len = end.saturating_sub(self.offset);
        self
    }
}

/// Everything read from one file.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The objects, in file order.
    pub documents: Vec<Document>,
    /// Problems found while reading, each located.
    pub diagnostics: Vec<Diagnostic>,
    /// Byte ranges of secret values in the text: anything showing source lines must mask them.
    pub sensitive: Vec<Range<usize>>,
    /// The text could not be parsed and looks like it holds a Secret: mask every value.
    pub mask_all_values: bool,
}

impl Loaded {
    /// Whether the input itself was unusable (not text, not YAML, too large, empty).
    pub fn unusable(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| rules::is_input_error(d.rule))
    }
}

/// Reads a file's bytes. `name` is used in diagnostics.
pub fn load_bytes(name: &str, bytes: &[u8], opts: LoadOptions) -> Loaded {
    if bytes.len() > opts.max_bytes {
        let mut out = Loaded::default();
        out.diagnostics.push(
            Diagnostic::error(
                rules::TOO_LARGE,
                format!(
                    "file is {:.1} MiB, over the {:.1} MiB limit",
                    bytes.len() as f64 / 1048576.0,
                    opts.max_bytes as f64 / 1048576.0
                ),
            )
            .with_hint(
                "Kubernetes accepts objects up to ~1.5 MiB; split the file or raise --max-bytes",
            )
            .in_file(name),
        );
        return out;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => load_str(name, text, opts),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            let lines = LineIndex::new(valid);
            let location = lines.location_of_offset(valid, valid.len());
            let mut out = Loaded::default();
            out.diagnostics.push(
                Diagnostic::error(
                    rules::NOT_TEXT,
                    format!("not UTF-8 text: invalid byte at offset {}", e.valid_up_to()),
                )
                .with_hint("is this a binary file? manifests are YAML text")
                .located(location)
                .in_file(name),
            );
            out
        }
    }
}

/// Reads YAML text. `name` is used in diagnostics.
pub fn load_str(name: &str, text: &str, opts: LoadOptions) -> Loaded {
    let mut out = Loaded::default();
    if text.len() > opts.max_bytes {
        return load_bytes(name, text.as_bytes(), opts);
    }
    let lines = LineIndex::new(text);
    let parsed = yaml::parse(text, &lines);
    for (_, node) in &parsed.documents {
        sensitive_spans(node, node, &FieldPath::root(), &mut out.sensitive);
    }
    out.mask_all_values = parsed.error.is_some() && text.contains("Secret");
    for (index, node) in parsed.documents {
        let mut diags = Vec::new();
        load_node(index, node, opts, &mut out.documents, &mut diags);
        out.diagnostics
            .extend(diags.into_iter().map(|d| d.in_document(index)));
    }
    if let Some(err) = parsed.error {
        let mut mistakes = hints::common_mistakes(text, &lines);
        let mut primary =
            Diagnostic::error(rules::YAML_SYNTAX, format!("invalid YAML: {}", err.message))
                .located(err.location);
        primary.hint = err.hint.or_else(|| {
            (!mistakes.is_empty())
                .then(|| "see the mistakes reported next to this error".to_owned())
        });
        mistakes.retain(|m| m.location != Some(err.location));
        out.diagnostics.push(primary);
        out.diagnostics.extend(mistakes);
    } else if out.documents.is_empty()
        && !out
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    {
        out.diagnostics.push(
            Diagnostic::error(rules::EMPTY, "no Kubernetes object in this file").with_hint(
                "expected a SparkApplication, ScheduledSparkApplication, Secret or ConfigMap",
            ),
        );
    }
    for d in &mut out.diagnostics {
        d.file = Some(name.to_owned());
    }
    out
}

impl Diagnostic {
    fn in_file(mut self, name: &str) -> Self {
        self.file = Some(name.to_owned());
        self
    }

    fn in_document(mut self, index: usize) -> Self {
        self.document = Some(index);
        self
    }
}

fn load_node(
    index: usize,
    node: Node,
    opts: LoadOptions,
    docs: &mut Vec<Document>,
    diags: &mut Vec<Diagnostic>,
) {
    if !matches!(node.kind, NodeKind::Map(_)) {
        diags.push(
            Diagnostic::error(
                rules::BAD_OBJECT,
                "expected a Kubernetes object (a mapping with apiVersion and kind)",
            )
            .located(node.span.start),
        );
        return;
    }
    let api_version = node
        .get("apiVersion")
        .and_then(Node::as_str)
        .map(str::to_owned);
    let kind = node.get("kind").and_then(Node::as_str).map(str::to_owned);
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        let missing = if node.get("apiVersion").is_none() {
            "apiVersion"
        } else {
            "kind"
        };
        diags.push(
            Diagnostic::error(rules::BAD_OBJECT, format!("object has no {missing}"))
                .with_hint(format!("a SparkApplication starts with `apiVersion: {API_VERSION}` and `kind: SparkApplication`"))
                .at(FieldPath::root())
                .located(node.span.start),
        );
        return;
    };
    let ctx = Ctx { node: &node, opts };
    let object = match (api_version.as_str(), kind.as_str()) {
        (API_VERSION, "SparkApplication") => ctx
            .typed::<SparkApplication>(diags, suggest::Schema::SparkApplication)
            .map(|a| Object::SparkApplication(Box::new(a))),
        (API_VERSION, "ScheduledSparkApplication") => ctx
            .typed::<ScheduledSparkApplication>(diags, suggest::Schema::ScheduledSparkApplication)
            .map(|a| Object::ScheduledSparkApplication(Box::new(a))),
        ("v1", "Secret") => secret::load(&ctx, diags).map(Object::Secret),
        ("v1", "ConfigMap") => ctx
            .typed::<ConfigMap>(diags, suggest::Schema::ConfigMap)
            .map(|c| Object::ConfigMap(Box::new(c))),
        ("v1", "List") => {
            match node.get("items").map(|n| &n.kind) {
                Some(NodeKind::Seq(items)) => {
                    for item in items {
                        load_node(index, item.clone(), opts, docs, diags);
                    }
                }
                _ => diags.push(
                    Diagnostic::error(rules::BAD_OBJECT, "List has no items")
                        .at(FieldPath::parse("items"))
                        .located(node.span.start),
                ),
            }
            return;
        }
        (other, "SparkApplication" | "ScheduledSparkApplication") => {
            let (_, v) = node.entry("apiVersion").map_or((&node, &node), |e| e);
            diags.push(
                Diagnostic::error(rules::BAD_OBJECT, format!("apiVersion {other:?} is not supported for {kind}"))
                    .with_hint(format!("sparkop reads `apiVersion: {API_VERSION}` (the kubeflow and KUDO operators' current API)"))
                    .at(FieldPath::parse("apiVersion"))
                    .located(v.span.start.with_len(v.span.end)),
            );
            None
        }
        (av, k) => {
            let (_, v) = node.entry("kind").map_or((&node, &node), |e| e);
            diags.push(
                Diagnostic::warning(rules::SKIPPED_KIND, format!("{av} {k} is not read by sparkop; skipped"))
                    .with_hint("sparkop reads SparkApplication, ScheduledSparkApplication, Secret and ConfigMap objects")
                    .at(FieldPath::parse("kind"))
                    .located(v.span.start.with_len(v.span.end)),
            );
            None
        }
    };
    if let Some(object) = object {
        docs.push(Document {
            index,
            object,
            node,
        });
    }
}

pub(crate) struct Ctx<'a> {
    node: &'a Node,
    opts: LoadOptions,
}

impl Ctx<'_> {
    fn doc(&self) -> DocRef<'_> {
        DocRef(self.node)
    }

    /// Deserializes the whole node into `T`, then reports fields `T` does not know.
    fn typed<T: DeserializeOwned + Serialize>(
        &self,
        diags: &mut Vec<Diagnostic>,
        schema: suggest::Schema,
    ) -> Option<T> {
        self.typed_value(self.node.to_json(), diags, schema)
    }

    /// Like [`Ctx::typed`], from a value built from (part of) the node.
    fn typed_value<T: DeserializeOwned + Serialize>(
        &self,
        value: Value,
        diags: &mut Vec<Diagnostic>,
        schema: suggest::Schema,
    ) -> Option<T> {
        let typed: T = match serde_path_to_error::deserialize(&value) {
            Ok(t) => t,
            Err(e) => {
                diags.push(self.field_error(&e));
                return None;
            }
        };
        if let Ok(back) = serde_json::to_value(&typed) {
            let mut unknown = Vec::new();
            unknown_fields(&value, &back, &FieldPath::root(), &mut unknown);
            for path in unknown {
                diags.push(unknown_field(self.doc(), &path, schema, self.opts.strict));
            }
        }
        Some(typed)
    }

    fn field_error(&self, e: &serde_path_to_error::Error<serde_json::Error>) -> Diagnostic {
        let mut path = FieldPath::root();
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => path = path.index(*index),
                serde_path_to_error::Segment::Map { key } => path = path.key(key.clone()),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        let inner = e.inner().to_string();
        let (value_node, found, _) = self.node.walk(&path);
        if let Some(field) = inner.strip_prefix("missing field ") {
            let field = field.trim_matches('`');
            let shown = path.key(field);
            return Diagnostic::error(
                rules::MISSING_FIELD,
                format!("{shown}: required field is missing"),
            )
            .at(shown)
            .located(self.doc().locate(&path, Anchor::Key));
        }
        let sensitive = is_secret_field(self.node, &path);
        let message = if sensitive {
            format!("{path}: invalid value (hidden: this field holds a secret)")
        } else {
            format!("{path}: {inner}")
        };
        let mut d = Diagnostic::error(rules::BAD_FIELD, message)
            .at(path.clone())
            .located(self.doc().locate(&path, Anchor::Value));
        if found
            && let NodeKind::Scalar(_, Style::Plain, _) = &value_node.kind
            && inner.contains("expected a string")
        {
            d = d.with_hint(
                "unquoted, YAML reads this as a number or boolean and Kubernetes rejects it: \
                 put the value in double quotes",
            );
        } else if let Some(h) = suggest::variant_hint(&inner) {
            d = d.with_hint(h);
        }
        d
    }
}

#[derive(Clone, Copy)]
struct DocRef<'a>(&'a Node);

impl DocRef<'_> {
    fn locate(&self, path: &FieldPath, anchor: Anchor) -> Location {
        let (node, found, key) = self.0.walk(path);
        match (found, anchor, key) {
            (true, Anchor::Value, _) => node.span.start.with_len(node.span.end),
            (_, _, Some(k)) => k.span.start.with_len(k.span.end),
            _ => node.span.start.with_len(node.span.end),
        }
    }
}

fn unknown_field(
    doc: DocRef<'_>,
    path: &FieldPath,
    schema: suggest::Schema,
    strict: bool,
) -> Diagnostic {
    let severity = if strict {
        Severity::Error
    } else {
        Severity::Warning
    };
    let key = path.last_key().unwrap_or_default();
    let parent = path.parent().unwrap_or_default();
    let mut d = Diagnostic::new(
        rules::UNKNOWN_FIELD,
        severity,
        format!("{path}: unknown field {key:?}; Kubernetes would drop it"),
    )
    .at(path.clone())
    .located(doc.locate(path, Anchor::Key));
    if let Some(best) = suggest::closest(schema, &parent, key) {
        d = d.with_hint(format!("did you mean `{best}`?"));
    }
    d
}

/// Keys present (and not null) in `source` but absent from what the typed object serializes to.
fn unknown_fields(source: &Value, typed: &Value, path: &FieldPath, out: &mut Vec<FieldPath>) {
    match (source, typed) {
        (Value::Object(s), Value::Object(t)) => {
            for (k, v) in s {
                match t.get(k) {
                    None if !v.is_null() => out.push(path.key(k.clone())),
                    None => {}
                    Some(tv) => unknown_fields(v, tv, &path.key(k.clone()), out),
                }
            }
        }
        (Value::Array(s), Value::Array(t)) => {
            for (i, (sv, tv)) in s.iter().zip(t).enumerate() {
                unknown_fields(sv, tv, &path.index(i), out);
            }
        }
        _ => {}
    }
}

/// Collects the spans of secret values (see [`is_secret_field`]).
fn sensitive_spans(root: &Node, node: &Node, path: &FieldPath, out: &mut Vec<Range<usize>>) {
    match &node.kind {
        NodeKind::Scalar(..) => {
            if is_secret_field(root, path) {
                out.push(node.span.start.offset..node.span.end);
            }
        }
        NodeKind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                sensitive_spans(root, item, &path.index(i), out);
            }
        }
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                sensitive_spans(root, v, &path.key(k.as_str().unwrap_or_default()), out);
            }
        }
    }
}

/// Whether the field at `path` of the document `root` holds a secret value: Secret (and
/// ConfigMap) data, secret `sparkConf` keys, or the `value` of a secret-looking environment
/// variable.
pub fn is_secret_field(root: &Node, path: &FieldPath) -> bool {
    if is_sensitive(path) {
        return true;
    }
    path.last_key() == Some("value")
        && path.parent().is_some_and(|parent| {
            let (node, found, _) = root.walk(&parent);
            found
                && node
                    .get("name")
                    .and_then(Node::as_str)
                    .is_some_and(conf_keys::is_secret_env_name)
        })
}

/// Whether a field holds a secret value, so diagnostics must not show it.
pub fn is_sensitive(path: &FieldPath) -> bool {
    let segs = &path.0;
    let n = segs.len();
    if n >= 2
        && let (Segment::Key(parent), Segment::Key(key)) = (&segs[n - 2], &segs[n - 1])
    {
        return (parent == "sparkConf" && conf_keys::is_literal_secret_key(key))
            || (parent == "hadoopConf"
                && conf_keys::is_literal_secret_key(&format!("spark.hadoop.{key}")))
            || parent == "data"
            || parent == "stringData";
    }
    false
}

#[cfg(test)]
mod tests;
