//! Validation and security policy: pure functions from typed objects to findings.
//!
//! Findings carry field paths; locating them in a file is the caller's job
//! (`sparkop_api::manifest::Document::locate`).

mod app;
mod security;

use sparkop_api::manifest::{Anchor, Loaded, Object};
use sparkop_api::{Diagnostic, FieldPath, Severity, SparkApplicationSpec};

/// All findings for one object.
pub fn check_object(object: &Object) -> Vec<Diagnostic> {
    match object {
        Object::SparkApplication(app) => {
            let mut f = Findings::default();
            app::check_metadata(&app.metadata, &mut f);
            check_spec(&app.spec, &FieldPath::parse("spec"), &mut f);
            f.0
        }
        Object::ScheduledSparkApplication(app) => {
            let mut f = Findings::default();
            app::check_metadata(&app.metadata, &mut f);
            check_spec(
                &app.spec.template,
                &FieldPath::parse("spec.template"),
                &mut f,
            );
            f.0
        }
        Object::Secret(_) | Object::ConfigMap(_) => Vec::new(),
    }
}

/// Every finding for a loaded file: its load diagnostics plus the validation and policy
/// findings of each object, located in the file and sorted by position.
pub fn check_loaded(file: &str, loaded: &Loaded) -> Vec<Diagnostic> {
    let mut out = loaded.diagnostics.clone();
    for doc in &loaded.documents {
        for mut d in check_object(&doc.object) {
            if let Some(path) = &d.path {
                d.location = Some(doc.locate(path, Anchor::Value));
            }
            d.file = Some(file.to_owned());
            d.document = Some(doc.index);
            out.push(d);
        }
    }
    out.sort_by_key(|d| {
        (
            d.location.map_or(0, |l| l.offset),
            std::cmp::Reverse(d.severity),
        )
    });
    out
}

/// All findings for an application spec found at `base` (e.g. `spec` or `spec.template`).
pub fn check_spec(spec: &SparkApplicationSpec, base: &FieldPath, f: &mut Findings) {
    app::check(spec, base, f);
    security::check(spec, base, f);
}

/// A growing list of findings.
#[derive(Debug, Default)]
pub struct Findings(pub Vec<Diagnostic>);

impl Findings {
    fn push(
        &mut self,
        rule: &'static str,
        severity: Severity,
        path: FieldPath,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let mut d = Diagnostic::new(rule, severity, format!("{path}: {}", message.into())).at(path);
        d.hint = hint;
        self.0.push(d);
    }

    fn error(
        &mut self,
        rule: &'static str,
        path: FieldPath,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        self.push(rule, Severity::Error, path, message, hint.into());
    }

    fn warning(
        &mut self,
        rule: &'static str,
        path: FieldPath,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        self.push(rule, Severity::Warning, path, message, hint.into());
    }

    fn info(
        &mut self,
        rule: &'static str,
        path: FieldPath,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        self.push(rule, Severity::Info, path, message, hint.into());
    }
}

#[cfg(test)]
mod tests;
