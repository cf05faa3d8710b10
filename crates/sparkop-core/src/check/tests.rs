use sparkop_api::Severity;
use sparkop_api::manifest::{LoadOptions, load_str};

use super::*;
use crate::rules as r;

const GUIDE_AUTH: &str = include_str!("../../../../tests/fixtures/guide/auth-encryption.yaml");

fn findings(text: &str) -> Vec<Diagnostic> {
    let l = load_str("t.yaml", text, LoadOptions::default());
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    check_object(&l.documents[0].object)
}

fn rules_of(d: &[Diagnostic]) -> Vec<(&'static str, Severity, String)> {
    d.iter()
        .map(|d| {
            (
                d.rule,
                d.severity,
                d.path.as_ref().map(ToString::to_string).unwrap_or_default(),
            )
        })
        .collect()
}

fn app(extra_spec: &str) -> String {
    format!(
        "apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: app
  namespace: data
spec:
  type: Python
  sparkVersion: \"4.3.0\"
  mainApplicationFile: local:///app.py
  driver:
    cores: 1
    memory: 512m
  executor:
    instances: 1
    memory: 512m
{extra_spec}"
    )
}

#[test]
fn secure_default_app_is_clean() {
    assert!(findings(&app("")).is_empty(), "{:#?}", findings(&app("")));
}

#[test]
fn guide_auth_manifest_flags_placeholders_and_the_cve_only() {
    let f = findings(GUIDE_AUTH);
    let got = rules_of(&f);
    assert_eq!(
        got,
        vec![
            (r::PLACEHOLDER, Severity::Error, "metadata.namespace".into()),
            (r::PLACEHOLDER, Severity::Error, "spec.driver.serviceAccount".into()),
            (r::GUIDE_SECRET_CONVENTION, Severity::Info, r#"spec.sparkConf["spark.kubernetes.driver.secretKeyRef.SPARK_AUTHENTICATE_SECRET"]"#.into()),
            (r::CVE_2021_38296, Severity::Error, "spec.sparkVersion".into()),
        ],
        "{f:#?}"
    );
    assert!(f[0].message.contains("<namespace> is a placeholder"));
}

#[test]
fn encryption_without_authentication_is_an_error() {
    let f = findings(&app(
        "  sparkConf:\n    spark.network.crypto.enabled: \"true\"\n",
    ));
    assert_eq!(rules_of(&f)[0].0, r::ENCRYPTION_WITHOUT_AUTH);
    let f = findings(&app(
        "  sparkConf:\n    spark.authenticate.enableSaslEncryption: \"true\"\n    spark.authenticate: \"false\"\n",
    ));
    assert!(
        rules_of(&f)
            .iter()
            .any(|x| x.0 == r::ENCRYPTION_WITHOUT_AUTH)
    );
    assert!(rules_of(&f).iter().any(|x| x.0 == r::AUTH_DISABLED));
    let f = findings(&app(
        "  sparkConf:\n    spark.network.crypto.enabled: \"true\"\n    spark.authenticate: \"TRUE\"\n",
    ));
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn authentication_without_encryption_is_an_error() {
    let f = findings(&app(
        "  sparkConf:\n    spark.authenticate: \"true\"\n    spark.network.crypto.enabled: \"false\"\n",
    ));
    assert_eq!(
        rules_of(&f),
        vec![(
            r::AUTH_WITHOUT_ENCRYPTION,
            Severity::Error,
            r#"spec.sparkConf["spark.network.crypto.enabled"]"#.into()
        )]
    );
}

#[test]
fn literal_secrets_are_rejected_without_showing_them() {
    let f = findings(&app(
        "  sparkConf:\n    spark.authenticate.secret: hunter2\n    spark.ssl.keyStorePassword: \"${env:KS_PW}\"\n",
    ));
    assert_eq!(
        rules_of(&f),
        vec![(
            r::LITERAL_SECRET,
            Severity::Error,
            r#"spec.sparkConf["spark.authenticate.secret"]"#.into()
        )]
    );
    assert!(!format!("{f:?}").contains("hunter2"));
    let f = findings(
        &app("  driver:\n    env:\n      - name: DB_PASSWORD\n        value: swordfish\n")
            .replace("  driver:\n    cores: 1\n    memory: 512m\n", ""),
    );
    assert!(rules_of(&f).iter().any(|x| x.0 == r::LITERAL_ENV_SECRET));
    assert!(!format!("{f:?}").contains("swordfish"));
}

#[test]
fn escalation_keys_are_denied() {
    let f = findings(&app(
        "  sparkConf:\n    spark.kubernetes.namespace: kube-system\n    spark.kubernetes.authenticate.driver.oauthTokenFile: /t\n",
    ));
    let n = rules_of(&f)
        .iter()
        .filter(|x| x.0 == r::ESCALATION_KEY)
        .count();
    assert_eq!(n, 2);
}

#[test]
fn versions_and_ciphers() {
    let f = findings(
        &(app("").replace("4.3.0", "3.5.5") + "  security:\n    encryption: {mode: AesGcm}\n"),
    );
    assert_eq!(
        rules_of(&f),
        vec![(r::GCM_BROKEN, Severity::Error, "spec.sparkVersion".into())]
    );
    let f = findings(&app("").replace("4.3.0", "3.5.5"));
    assert!(f.is_empty(), "Auto picks CTR on 3.5.5: {f:#?}");
    let f = findings(&app("").replace("4.3.0", "3.3.4"));
    assert_eq!(rules_of(&f)[0].0, r::CVE_2025_55039);
    let f = findings(&app("  image: apache/spark:3.1.2\n").replace("\"4.3.0\"", "\"unknown\""));
    let got = rules_of(&f);
    assert!(got.contains(&(
        r::BAD_SPARK_VERSION,
        Severity::Error,
        "spec.sparkVersion".into()
    )));
    assert!(got.contains(&(r::CVE_2021_38296, Severity::Error, "spec.image".into())));
    let f = findings(&app("  image: apache/spark:3.5.9\n"));
    assert_eq!(rules_of(&f)[0].0, r::VERSION_MISMATCH);
}

#[test]
fn resources_in_every_form() {
    let spec = |d: &str| app("").replace("    cores: 1\n    memory: 512m\n", d);
    let rule = |d: &str| {
        rules_of(&findings(&spec(d)))
            .into_iter()
            .map(|x| x.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(rule("    memory: 512Mi\n"), vec![r::BAD_MEMORY]);
    assert_eq!(
        findings(&spec("    memory: 512Mi\n"))[0].hint.as_deref(),
        Some("Spark writes this as \"512m\" (m = MiB, g = GiB)")
    );
    assert_eq!(rule("    memory: 1.5g\n"), vec![r::BAD_MEMORY]);
    assert_eq!(rule("    memory: 100m\n"), vec![r::MEMORY_TOO_SMALL]);
    assert_eq!(rule("    memory: 9999t\n"), vec![r::ABSURD_MEMORY]);
    assert_eq!(rule("    memory: 2g\n    cores: 0\n"), vec![r::BAD_CORES]);
    assert_eq!(rule("    cores: -4\n"), vec![r::BAD_CORES]);
    assert_eq!(rule("    cores: 100000\n"), vec![r::BAD_CORES]);
    assert_eq!(
        rule("    memoryLimit: 512m\n"),
        vec![r::SPARK_NOTATION_IN_QUANTITY]
    );
    assert_eq!(rule("    coreLimit: lots\n"), vec![r::BAD_QUANTITY]);
    let f = findings(&app("").replace("instances: 1", "instances: -2"));
    assert_eq!(rules_of(&f)[0].0, r::BAD_INSTANCES);
}

#[test]
fn references_and_restart_policy() {
    let f = findings(&app(
        "  sparkConf:\n    spark.kubernetes.executor.secretKeyRef.TOKEN: no-colon\n  restartPolicy:\n    type: Never\n    onFailureRetries: 3\n    onFailureRetryInterval: 0\n",
    ));
    let got: Vec<_> = rules_of(&f).into_iter().map(|x| x.0).collect();
    assert_eq!(
        got,
        vec![
            r::BAD_RESTART_POLICY,
            r::BAD_RESTART_POLICY,
            r::BAD_SECRET_KEY_REF
        ]
    );
    let f = findings(&app("").replace("type: Python", "type: Scala"));
    assert_eq!(rules_of(&f)[0].0, r::MISSING_MAIN_CLASS);
}

#[test]
fn opt_outs_and_contradictions_are_reported() {
    let f = findings(&app(
        "  security:\n    authentication: {enabled: false}\n    ui: {tls: {enabled: false}}\n    ioEncryption: false\n  sparkConf:\n    spark.authenticate: \"true\"\n",
    ));
    let got: Vec<_> = rules_of(&f).into_iter().map(|x| x.0).collect();
    assert_eq!(
        got,
        vec![
            r::AUTH_DISABLED,
            r::UI_TLS_DISABLED,
            r::IO_ENCRYPTION_DISABLED,
            r::CONTRADICTION
        ]
    );
    let f = findings(&app(
        "  sparkConf:\n    spark.ssl.protocol: TLSv1.2\n    spark.network.crypto.saslFallback: \"true\"\n",
    ));
    let got: Vec<_> = rules_of(&f).into_iter().map(|x| x.0).collect();
    assert_eq!(got, vec![r::SASL_FALLBACK, r::TLS_12_ALLOWED]);
}

#[test]
fn every_rule_is_documented() {
    let docs = include_str!("../../../../docs/rules.md");
    for id in r::ALL.iter().chain(sparkop_api::manifest::rules::ALL) {
        assert!(
            docs.contains(&format!("### {id}")),
            "{id} is not documented in docs/rules.md"
        );
    }
}
