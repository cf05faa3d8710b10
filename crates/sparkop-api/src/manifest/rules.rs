//! Stable ids of the findings loading can produce (documented in `docs/rules.md`).

/// The text is not valid YAML.
pub const YAML_SYNTAX: &str = "SPK-YAML-001";
/// The file is not UTF-8 text (binary?).
pub const NOT_TEXT: &str = "SPK-YAML-002";
/// The file is larger than the configured limit.
pub const TOO_LARGE: &str = "SPK-YAML-003";
/// The file holds no object.
pub const EMPTY: &str = "SPK-YAML-004";
/// A document is not a Kubernetes object, or has a wrong or missing `apiVersion`/`kind`.
pub const BAD_OBJECT: &str = "SPK-OBJ-001";
/// A field has the wrong type or an invalid value for its type.
pub const BAD_FIELD: &str = "SPK-OBJ-002";
/// A required field is missing.
pub const MISSING_FIELD: &str = "SPK-OBJ-003";
/// A field the API does not define (ignored by Kubernetes: usually a typo).
pub const UNKNOWN_FIELD: &str = "SPK-OBJ-004";
/// A kind sparkop does not read; skipped.
pub const SKIPPED_KIND: &str = "SPK-OBJ-005";
/// A Secret value is not valid base64.
pub const BAD_SECRET_DATA: &str = "SPK-OBJ-006";

/// Whether a rule id means the input could not be read at all (exit code 2 in the CLI).
pub fn is_input_error(rule: &str) -> bool {
    rule.starts_with("SPK-YAML-")
}

/// Every rule id of loading, for documentation checks.
pub const ALL: &[&str] = &[
    YAML_SYNTAX,
    NOT_TEXT,
    TOO_LARGE,
    EMPTY,
    BAD_OBJECT,
    BAD_FIELD,
    MISSING_FIELD,
    UNKNOWN_FIELD,
    SKIPPED_KIND,
    BAD_SECRET_DATA,
];
