//! Diagnostics shared by loading, validation and policy: a stable rule id, a severity, a
//! message that names the field, and where it is.

use std::fmt;

use serde::Serialize;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to fix.
    Info,
    /// Works, but is risky or surprising.
    Warning,
    /// Must be fixed: the manifest is wrong or insecure.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One step in a field path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Where in an object a field is, e.g. `spec.sparkConf["spark.authenticate"]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The empty path (the object itself).
    pub fn root() -> Self {
        Self::default()
    }

    /// Parses a dotted path such as `spec.driver.cores` (keys only; no quoting).
    pub fn parse(dotted: &str) -> Self {
        Self(
            dotted
                .split('.')
                .filter(|s| !s.is_empty())
                .map(|s| Segment::Key(s.into()))
                .collect(),
        )
    }

    /// This path extended by a key.
    #[must_use]
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.into()));
        p
    }

    /// This path extended by an index.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(index));
        p
    }

    /// The last key, if the path ends in one.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// The path without its last segment.
    pub fn parent(&self) -> Option<Self> {
        let mut p = self.clone();
        p.0.pop().map(|_| p)
    }

    /// Whether the path is empty.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

fn is_plain_identifier(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.starts_with(|c: char| c.is_ascii_digit())
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if is_plain_identifier(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Segment::Key(k) => write!(f, "[{k:?}]")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

impl Serialize for FieldPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A position in a source text.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset of the start.
    #[serde(skip)]
    pub offset: usize,
    /// Length in bytes of the located text (at least 1 when known, 0 at end of input).
    #[serde(skip)]
    pub len: usize,
}

/// A finding about a manifest: from loading, validation or the security policy.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable rule id, e.g. `SPK-SEC-001`; documented in `docs/rules.md`.
    pub rule: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong, naming the field.
    pub message: String,
    /// How to fix it, where a hint helps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The field, when the finding is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<FieldPath>,
    /// The file, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 0-based index of the YAML document in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    /// Where in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl Diagnostic {
    /// A new diagnostic without location.
    pub fn new(rule: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            rule,
            severity,
            message: message.into(),
            hint: None,
            path: None,
            file: None,
            document: None,
            location: None,
        }
    }

    /// An error.
    pub fn error(rule: &'static str, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Error, message)
    }

    /// A warning.
    pub fn warning(rule: &'static str, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Warning, message)
    }

    /// Adds a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds the field path.
    #[must_use]
    pub fn at(mut self, path: FieldPath) -> Self {
        self.path = Some(path);
        self
    }

    /// Adds the source location.
    #[must_use]
    pub fn located(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }
}

/// The highest severity among diagnostics, if any.
pub fn max_severity<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) -> Option<Severity> {
    diags.into_iter().map(|d| d.severity).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_kubectl_explain() {
        let p = FieldPath::parse("spec.sparkConf").key("spark.authenticate");
        assert_eq!(p.to_string(), r#"spec.sparkConf["spark.authenticate"]"#);
        let p = FieldPath::parse("spec.driver.env").index(2).key("name");
        assert_eq!(p.to_string(), "spec.driver.env[2].name");
        assert_eq!(FieldPath::root().to_string(), "(document)");
        assert_eq!(
            p.parent()
                .and_then(|p| p.parent())
                .map(|p| p.to_string())
                .as_deref(),
            Some("spec.driver.env")
        );
    }

    #[test]
    fn severities_order() {
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
    }
}
