//! `audit manifest`: the lint policy's findings as audit findings, with a score.

use sparkop_api::Severity;
use sparkop_api::manifest::Loaded;

use crate::finding::Finding;

/// Audit findings for one loaded file (load problems and policy findings).
pub fn audit_loaded(file: &str, loaded: &Loaded) -> Vec<Finding> {
    sparkop_core::check_loaded(file, loaded)
        .iter()
        .map(|d| to_finding(file, d))
        .collect()
}

fn to_finding(file: &str, d: &sparkop_api::Diagnostic) -> Finding {
    let target = match d.location {
        Some(l) => format!("{file}:{}:{}", l.line, l.column),
        None => file.to_owned(),
    };
    let evidence = d
        .path
        .as_ref()
        .map_or_else(|| "the file".to_owned(), |p| format!("field {p}"));
    let f = Finding::new(d.rule, d.severity, &target, d.message.clone(), evidence);
    match &d.hint {
        Some(h) => f.fix(h.clone()),
        None => f,
    }
}

/// 100 minus 25 per error and 5 per warning, floored at 0: a quick posture number.
pub fn score(findings: &[Finding]) -> u32 {
    let penalty: u32 = findings
        .iter()
        .map(|f| match f.severity {
            Severity::Error => 25,
            Severity::Warning => 5,
            Severity::Info => 0,
        })
        .sum();
    100u32.saturating_sub(penalty)
}
