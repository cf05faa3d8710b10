//! Audit findings: what was observed, the evidence (what was sent and seen — never a secret),
//! and the exact fix.

use serde::Serialize;
use sparkop_api::Severity;

/// One audit finding.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Stable id, documented in `docs/audit.md`.
    pub id: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// What was audited (`host:port`, a file, …).
    pub target: String,
    /// What is true.
    pub message: String,
    /// What was sent and observed.
    pub evidence: String,
    /// The exact change that fixes it, when something must change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    /// A finding without fix.
    pub fn new(
        id: &'static str,
        severity: Severity,
        target: &str,
        message: impl Into<String>,
        evidence: impl Into<String>,
    ) -> Self {
        Self {
            id,
            severity,
            target: target.to_owned(),
            message: message.into(),
            evidence: evidence.into(),
            fix: None,
        }
    }

    /// Adds the fix.
    #[must_use]
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Every finding id sparkop's audits produce.
pub fn all_ids() -> impl Iterator<Item = &'static str> {
    crate::rpc::ids::ALL
        .iter()
        .chain(crate::ui::ids::ALL)
        .chain(crate::manifest::ids::ALL)
        .copied()
}

impl Finding {
    /// A finding from its JSON form (as `sparkop audit … -o json` prints it), e.g. from an
    /// audit that ran in a pod; `None` for an unknown id or a missing field.
    pub fn from_json(v: &serde_json::Value) -> Option<Finding> {
        let id = all_ids().find(|id| v["id"] == *id)?;
        let severity = match v["severity"].as_str()? {
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            "info" => Severity::Info,
            _ => return None,
        };
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        Some(Finding {
            id,
            severity,
            target: text("target")?,
            message: text("message")?,
            evidence: text("evidence")?,
            fix: text("fix"),
        })
    }
}

/// Fails (in tests) when an id has no `### ID` section in docs/audit.md: one check for every
/// family of finding ids.
#[cfg(test)]
pub(crate) fn assert_documented(ids: &[&str]) {
    let docs = include_str!("../../../docs/audit.md");
    for id in ids {
        assert!(
            docs.contains(&format!("### {id}")),
            "{id} is not documented in docs/audit.md"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_survive_their_json_form() {
        let f = Finding::new(
            crate::rpc::ids::GCM_CIPHER,
            Severity::Info,
            "10.0.0.1:7079",
            "m",
            "e",
        )
        .fix("x");
        let v = crate::report::json(std::slice::from_ref(&f));
        assert_eq!(Finding::from_json(&v["findings"][0]), Some(f));
        assert_eq!(
            Finding::from_json(&serde_json::json!({"id": "SPK-NOPE", "severity": "info"})),
            None
        );
    }
}
