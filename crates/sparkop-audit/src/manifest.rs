//! `audit manifest`: the lint policy's findings as audit findings, plus deployment-level
//! checks (how the application would be exposed), with a score.

use sparkop_api::manifest::{Anchor, Loaded, Object};
use sparkop_api::{FieldPath, Severity, SparkApplicationSpec};

use crate::finding::Finding;

/// Finding ids of the deployment-level checks (explained in docs/audit.md).
pub mod ids {
    /// The UI is reachable from outside the cluster while it has no TLS.
    pub const UI_EXPOSED_PLAIN: &str = "SPK-AUD-MAN-001";
    /// The UI is exposed through an Ingress without ingress TLS.
    pub const INGRESS_WITHOUT_TLS: &str = "SPK-AUD-MAN-002";
    /// Every id.
    pub const ALL: &[&str] = &[UI_EXPOSED_PLAIN, INGRESS_WITHOUT_TLS];
}

/// Audit findings for one loaded file (load problems, policy and deployment findings).
pub fn audit_loaded(file: &str, loaded: &Loaded) -> Vec<Finding> {
    let mut out: Vec<Finding> = sparkop_core::check_loaded(file, loaded)
        .iter()
        .map(|d| to_finding(file, d))
        .collect();
    for doc in &loaded.documents {
        let (spec, base) = match &doc.object {
            Object::SparkApplication(a) => (&a.spec, FieldPath::parse("spec")),
            Object::ScheduledSparkApplication(a) => {
                (&a.spec.template, FieldPath::parse("spec.template"))
            }
            _ => continue,
        };
        for (id, severity, path, message, fix) in deployment(spec, &base) {
            let l = doc.locate(&path, Anchor::Value);
            out.push(
                Finding::new(
                    id,
                    severity,
                    &format!("{file}:{}:{}", l.line, l.column),
                    message,
                    format!("field {path}"),
                )
                .fix(fix),
            );
        }
    }
    out
}

type Check = (&'static str, Severity, FieldPath, String, &'static str);

/// How the application would be reachable, and whether that is protected.
fn deployment(spec: &SparkApplicationSpec, base: &FieldPath) -> Vec<Check> {
    let mut out = Vec::new();
    let posture = sparkop_core::posture::resolve(spec);
    let ui_off = spec
        .spark_conf
        .as_ref()
        .and_then(|c| c.get("spark.ui.enabled"))
        .is_some_and(|v| v == "false");
    if ui_off {
        return out;
    }
    let ui = spec.spark_ui_options.as_ref();
    let service_type = ui.and_then(|u| u.service_type.as_deref());
    let external = matches!(service_type, Some("NodePort" | "LoadBalancer"));
    let ingress = spec
        .driver_ingress_options
        .as_ref()
        .is_some_and(|i| !i.is_empty())
        || ui.is_some_and(|u| u.ingress_annotations.is_some() || u.ingress_tls.is_some());
    if (external || ingress) && !posture.ui_tls {
        let (path, how) = if external {
            (
                base.key("sparkUIOptions").key("serviceType"),
                format!("a {} Service", service_type.unwrap_or_default()),
            )
        } else {
            (base.key("sparkUIOptions"), "an Ingress".to_owned())
        };
        out.push((
            ids::UI_EXPOSED_PLAIN,
            Severity::Error,
            path,
            format!(
                "the web UI is reachable from outside the cluster through {how} without TLS: \
                 job details, environment and logs travel in cleartext"
            ),
            "remove spec.security.ui.tls.enabled: false / spark.ssl.enabled: \"false\" (sparkop \
             serves the UI over TLS 1.3 by default), or keep the Service ClusterIP",
        ));
    }
    if ingress && ui.is_none_or(|u| u.ingress_tls.as_ref().is_none_or(Vec::is_empty)) {
        out.push((
            ids::INGRESS_WITHOUT_TLS,
            Severity::Warning,
            base.key("sparkUIOptions"),
            "the UI Ingress has no TLS: browsers reach the ingress controller over plain HTTP"
                .to_owned(),
            "add spec.sparkUIOptions.ingressTLS with a certificate Secret for the host",
        ));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use sparkop_api::manifest::{LoadOptions, load_str};

    fn ids_of(extra: &str) -> Vec<&'static str> {
        let text = format!(
            "apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {{name: app, namespace: data}}
spec:
  type: Python
  sparkVersion: \"4.3.0\"
  mainApplicationFile: local:///app.py
  driver: {{cores: 1, memory: 512m}}
  executor: {{cores: 1, instances: 1, memory: 512m}}
{extra}"
        );
        let loaded = load_str("app.yaml", &text, LoadOptions::default());
        audit_loaded("app.yaml", &loaded)
            .into_iter()
            .map(|f| f.id)
            .filter(|id| id.starts_with("SPK-AUD-MAN"))
            .collect()
    }

    #[test]
    fn an_exposed_ui_without_tls_is_an_error_and_goes_away_with_tls() {
        let exposed = "  sparkUIOptions: {serviceType: LoadBalancer}\n";
        let no_tls = "  security: {ui: {tls: {enabled: false}}}\n";
        assert_eq!(
            ids_of(&format!("{exposed}{no_tls}")),
            [ids::UI_EXPOSED_PLAIN]
        );
        assert!(ids_of(exposed).is_empty(), "TLS is on by default");
        assert!(ids_of(no_tls).is_empty(), "ClusterIP is not exposed");
    }

    #[test]
    fn an_ingress_needs_its_own_tls() {
        let ingress = "  sparkUIOptions: {ingressAnnotations: {a: b}}\n";
        assert_eq!(ids_of(ingress), [ids::INGRESS_WITHOUT_TLS]);
        let with_tls = "  sparkUIOptions:\n    ingressAnnotations: {a: b}\n    ingressTLS: [{hosts: [ui.example.com], secretName: ui-tls}]\n";
        assert!(ids_of(with_tls).is_empty());
    }

    #[test]
    fn every_id_is_documented() {
        crate::finding::assert_documented(ids::ALL);
    }
}
