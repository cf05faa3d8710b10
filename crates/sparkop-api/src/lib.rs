//! The `sparkoperator.k8s.io/v1beta2` API as sparkop reads it: typed `SparkApplication` and
//! `ScheduledSparkApplication`, their CRDs, and manifest loading with located errors.
//!
//! ```text
//!  YAML text ─► manifest::yaml (spanned tree) ─► manifest::load ─► Manifest (typed objects)
//!                                                      │
//!                                                      └─► Diagnostic (file:line:col, field path)
//! ```
//! No IO beyond the text it is given.

pub mod conf_keys;
pub mod crd;
pub mod diag;
pub mod manifest;
pub mod types;

pub use diag::{Diagnostic, FieldPath, Severity};
pub use k8s_openapi;
pub use types::*;
