//! Audit output: a readable table, JSON, and SARIF 2.1.0 for code-scanning UIs.

use serde_json::{Value, json};
use sparkop_api::Severity;

use crate::finding::Finding;

/// The highest severity, if any finding.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

/// A plain-text table (one finding per block, aligned).
pub fn table(findings: &[Finding]) -> String {
    let mut out = String::new();
    let width = findings
        .iter()
        .map(|f| f.target.len())
        .max()
        .unwrap_or(6)
        .max(6);
    out.push_str(&format!(
        "{:<8} {:<16} {:<width$} FINDING\n",
        "SEVERITY", "ID", "TARGET"
    ));
    for f in findings {
        out.push_str(&format!(
            "{:<8} {:<16} {:<width$} {}\n",
            f.severity.to_string(),
            f.id,
            f.target,
            f.message
        ));
        out.push_str(&format!(
            "{:<8} {:<16} {:<width$}   evidence: {}\n",
            "", "", "", f.evidence
        ));
        if let Some(fix) = &f.fix {
            out.push_str(&format!(
                "{:<8} {:<16} {:<width$}   fix: {fix}\n",
                "", "", ""
            ));
        }
    }
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    out.push_str(&format!(
        "{} finding(s): {} error(s), {} warning(s), {} info\n",
        findings.len(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    ));
    out
}

/// JSON: `{ findings: [...], summary: {...} }`.
pub fn json(findings: &[Finding]) -> Value {
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    json!({
        "findings": findings,
        "summary": { "errors": count(Severity::Error), "warnings": count(Severity::Warning), "infos": count(Severity::Info) },
    })
}

/// SARIF 2.1.0 with one rule per finding id.
pub fn sarif(findings: &[Finding], docs_uri: &str) -> Value {
    let mut ids: Vec<&str> = findings.iter().map(|f| f.id).collect();
    ids.sort_unstable();
    ids.dedup();
    let level = |s: Severity| match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    };
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "sparkop audit",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": docs_uri,
                "rules": ids.iter().map(|id| json!({ "id": id, "helpUri": format!("{docs_uri}#{}", id.to_ascii_lowercase()) })).collect::<Vec<_>>(),
            }},
            "results": findings.iter().map(|f| json!({
                "ruleId": f.id,
                "level": level(f.severity),
                "message": { "text": match &f.fix {
                    Some(fix) => format!("{} Evidence: {} Fix: {}", f.message, f.evidence, fix),
                    None => format!("{} Evidence: {}", f.message, f.evidence),
                }},
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": f.target } } }],
            })).collect::<Vec<_>>(),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Finding> {
        vec![
            Finding::new(
                "SPK-AUD-RPC-001",
                Severity::Error,
                "127.0.0.1:7078",
                "open",
                "sent x",
            )
            .fix("turn auth on"),
            Finding::new(
                "SPK-AUD-RPC-006",
                Severity::Info,
                "127.0.0.1:7078",
                "gcm",
                "seen y",
            ),
        ]
    }

    #[test]
    fn outputs_carry_ids_severities_evidence_and_fixes() {
        let f = sample();
        assert_eq!(worst(&f), Some(Severity::Error));
        let t = table(&f);
        assert!(
            t.contains("SPK-AUD-RPC-001")
                && t.contains("evidence: sent x")
                && t.contains("fix: turn auth on"),
            "{t}"
        );
        assert!(t.ends_with("2 finding(s): 1 error(s), 0 warning(s), 1 info\n"));
        let j = json(&f);
        assert_eq!(j["summary"]["errors"], 1);
        assert_eq!(j["findings"][0]["severity"], "error");
        let s = sarif(&f, "docs/audit.md");
        assert_eq!(s["version"], "2.1.0");
        assert_eq!(s["runs"][0]["results"][0]["level"], "error");
        assert_eq!(s["runs"][0]["results"][1]["level"], "note");
        assert_eq!(
            s["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }
}
