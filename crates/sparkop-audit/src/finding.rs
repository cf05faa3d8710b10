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
