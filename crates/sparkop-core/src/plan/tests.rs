use sparkop_api::manifest::{LoadOptions, Object, SecretObject, SecretValue, load_str};

use super::secrets::{SecretError, resolve};
use super::*;
use crate::posture::Cipher;

const EXAMPLE_AUTH: &str = include_str!("../../../../examples/auth-encryption.yaml");
const EXAMPLE_UI_TLS: &str = include_str!("../../../../examples/ui-tls.yaml");
const SECURE_PI: &str = include_str!("../../../../examples/secure-pi.yaml");
const EVERY_FIELD: &str = include_str!("../../../../tests/fixtures/every-field.yaml");

fn app_of(text: &str) -> SparkApplication {
    let l = load_str("t.yaml", text, LoadOptions::default());
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    match l.documents.into_iter().next().map(|d| d.object) {
        Some(Object::SparkApplication(a)) => *a,
        other => panic!("not an application: {other:?}"),
    }
}

fn plan_of(text: &str) -> LaunchPlan {
    plan(&app_of(text)).expect("plan")
}

fn with_spec(extra: &str) -> String {
    format!(
        "apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {{name: app, namespace: data}}
spec:
  type: Java
  sparkVersion: \"4.3.0\"
  mainClass: Main
  mainApplicationFile: /jobs/app.jar
  driver: {{cores: 1, memory: 512m}}
  executor: {{cores: 2, instances: 3, memory: 1g}}
{extra}"
    )
}

fn secret(name: &str, pairs: &[(&str, &str)]) -> SecretObject {
    SecretObject {
        name: name.into(),
        namespace: None,
        r#type: None,
        data: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretValue::new(v.as_bytes().to_vec())))
            .collect(),
    }
}

#[test]
fn secure_by_default_without_any_security_setting() {
    let p = plan_of(SECURE_PI);
    assert_eq!(p.auth_secret, Some(AuthSecret::Generated));
    assert_eq!(p.posture.cipher, Cipher::AesGcm);
    for (k, v) in [
        ("spark.authenticate", "true"),
        ("spark.network.crypto.enabled", "true"),
        ("spark.network.crypto.cipher", "AES/GCM/NoPadding"),
        ("spark.network.crypto.saslFallback", "false"),
        ("spark.io.encryption.enabled", "true"),
        ("spark.ssl.enabled", "true"),
        ("spark.ssl.keyStoreType", "PKCS12"),
        ("spark.ssl.protocol", "TLSv1.3"),
        ("spark.ssl.enabledAlgorithms", security::TLS13_SUITES),
        (
            "spark.ssl.keyStorePassword",
            "${env:SPARKOP_UI_KEYSTORE_PASSWORD}",
        ),
        ("spark.executor.instances", "2"),
        ("spark.app.name", "secure-pi"),
    ] {
        assert_eq!(p.conf.get(k).map(String::as_str), Some(v), "{k}");
    }
    let ui = p.ui.expect("ui");
    assert_eq!((ui.http_port, ui.https_port), (4040, Some(4440)));
    assert!(matches!(
        ui.tls,
        Some(UiTlsPlan::Keystore {
            from: None,
            min_version: sparkop_api::types::security::TlsVersion::V1_3
        })
    ));
    assert_eq!(
        p.main_file,
        AppFile::Image("/opt/spark/examples/src/main/python/pi.py".into())
    );
}

#[test]
fn guide_convention_becomes_the_auth_secret_and_leaves_the_conf() {
    let p = plan_of(EXAMPLE_AUTH);
    assert_eq!(
        p.auth_secret,
        Some(AuthSecret::FromSecret(SecretRef {
            secret: "spark-secret".into(),
            key: "secret".into()
        }))
    );
    assert!(
        p.conf.keys().all(|k| !k.contains("secretKeyRef")),
        "{:?}",
        p.conf
    );
    assert!(p.driver.secret_env.is_empty() && p.executor.secret_env.is_empty());
    assert_eq!(p.secret_refs().len(), 1);
    assert_eq!(p.main_class.as_deref(), Some("MockTaskRunner"));
    assert_eq!(p.arguments, ["1", "600"]);
}

#[test]
fn user_tls_settings_are_kept_and_their_secrets_become_deliveries() {
    let p = plan_of(EXAMPLE_UI_TLS);
    assert_eq!(
        p.ui.as_ref().and_then(|u| u.tls.clone()),
        Some(UiTlsPlan::UserConfigured)
    );
    assert_eq!(p.conf["spark.ssl.keyStore"], "/tmp/spark/ssl/keystore.p12");
    assert_eq!(
        p.conf["spark.ssl.keyStorePassword"],
        "${env:SPARK_SSL_KEYSTOREPASSWORD}"
    );
    let names: Vec<_> = p
        .driver
        .secret_env
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "SPARK_SSL_KEYPASSWORD",
            "SPARK_SSL_KEYSTOREPASSWORD",
            "SPARK_SSL_TRUSTSTOREPASSWORD"
        ]
    );
    assert_eq!(
        p.driver.secret_mounts,
        [SecretMount {
            secret: "ssl-secrets".into(),
            path: "/tmp/spark/ssl".into()
        }]
    );
    assert!(
        !p.conf
            .contains_key("spark.kubernetes.driver.secrets.ssl-secrets")
    );
}

#[test]
fn resources_dependencies_and_hadoop_conf_are_mapped() {
    let p = plan_of(&with_spec(
        "  hadoopConf: {fs.s3a.endpoint: http://minio:9000}
  deps:
    jars: [local:///a.jar, local:///b.jar]
    pyFiles: [x.py]
    packages: [org.example:lib:1.0]
  sparkConf: {spark.executor.memory: 2g}
",
    ));
    assert_eq!(p.conf["spark.hadoop.fs.s3a.endpoint"], "http://minio:9000");
    assert_eq!(p.conf["spark.jars"], "local:///a.jar,local:///b.jar");
    assert_eq!(p.conf["spark.submit.pyFiles"], "x.py");
    assert_eq!(p.conf["spark.jars.packages"], "org.example:lib:1.0");
    assert_eq!(p.conf["spark.driver.cores"], "1");
    assert_eq!(p.conf["spark.executor.cores"], "2");
    // sparkConf wins over the mapped field, as with spark-submit --conf.
    assert_eq!(p.conf["spark.executor.memory"], "2g");
    assert_eq!(p.executor_instances, 3);
    assert_eq!(p.executor.cores, Some(2));
    assert_eq!(p.main_file, AppFile::Path("/jobs/app.jar".into()));
}

#[test]
fn env_from_every_source_is_split_into_plain_and_secret() {
    let p = plan_of(&with_spec(
        "  sparkConf:
    spark.kubernetes.executor.secretKeyRef.DB_PASSWORD: db:password
",
    ))
    .clone();
    assert_eq!(p.executor.secret_env[0].name, "DB_PASSWORD");
    let p = plan_of(
        &with_spec("")
            .replace(
                "driver: {cores: 1, memory: 512m}",
                "driver:
    cores: 1
    envVars: {MODE: fast}
    envSecretKeyRefs: {TOKEN: {name: api, key: token}}
    env:
      - {name: PLAIN, value: x}
      - name: FROM_SECRET
        valueFrom: {secretKeyRef: {name: db, key: password}}",
            )
            .replace(
                "executor: {cores: 2, instances: 3, memory: 1g}",
                "executor: {cores: 1, envVars: {EXEC_MODE: slow}}",
            ),
    );
    assert_eq!(p.driver.env.get("MODE").map(String::as_str), Some("fast"));
    assert_eq!(p.driver.env.get("PLAIN").map(String::as_str), Some("x"));
    let secret_names: Vec<_> = p
        .driver
        .secret_env
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(secret_names, ["FROM_SECRET", "TOKEN"]);
    assert_eq!(p.conf["spark.executorEnv.EXEC_MODE"], "slow");
    assert!(p.conf.values().all(|v| v != "password" && v != "token"));
}

#[test]
fn explicitly_disabled_security_adds_nothing() {
    let p = plan_of(&with_spec(
        "  security:
    authentication: {enabled: false}
    ui: {tls: {enabled: false}}
",
    ));
    assert_eq!(p.auth_secret, None);
    assert!(
        p.conf.keys().all(|k| !k.starts_with("spark.authenticate")
            && !k.starts_with("spark.network.crypto")
            && !k.starts_with("spark.ssl")
            && !k.starts_with("spark.io.encryption")),
        "{:?}",
        p.conf
    );
    assert_eq!(
        p.ui.map(|u| (u.http_port, u.https_port)),
        Some((4040, None))
    );
}

#[test]
fn tls_12_minimum_keeps_the_protocol_but_not_the_suite_list() {
    let p = plan_of(&with_spec(
        "  security: {ui: {tls: {minVersion: \"1.2\", keystoreSecret: ui-ks}}}\n",
    ));
    assert!(!p.conf.contains_key("spark.ssl.enabledAlgorithms"));
    assert_eq!(
        p.secret_refs(),
        [
            SecretRef {
                secret: "ui-ks".into(),
                key: "keystore-password".into()
            },
            SecretRef {
                secret: "ui-ks".into(),
                key: "keystore.p12".into()
            },
        ]
    );
}

#[test]
fn an_ui_port_that_is_not_a_number_is_located() {
    let err = plan(&app_of(&with_spec(
        "  sparkConf: {spark.ui.port: \"http\"}\n",
    )))
    .expect_err("must fail");
    assert_eq!(
        err.to_string(),
        "spec.sparkConf[spark.ui.port]: not a port number: \"http\""
    );
}

#[test]
fn every_field_fixture_plans() {
    // The fixture sets every v1beta2 field; the plan must not choke on any of them.
    let _ = plan(&app_of(EVERY_FIELD));
}

#[test]
fn missing_secrets_and_keys_are_all_named() {
    let p = plan_of(EXAMPLE_UI_TLS);
    let errs = resolve(&p, &[]).expect_err("must fail");
    assert!(errs.iter().all(
        |e| matches!(e, SecretError::MissingSecret { secret, .. } if secret == "ssl-secrets")
    ));
    let partial = [secret("ssl-secrets", &[("key-password", "k1")])];
    let errs = resolve(&p, &partial).expect_err("must fail");
    let text: Vec<_> = errs.iter().map(ToString::to_string).collect();
    assert!(
        text.contains(&"Secret \"ssl-secrets\" has no key \"keystore-password\" (driver environment variable SPARK_SSL_KEYSTOREPASSWORD); its keys are: key-password".to_string()),
        "{text:#?}"
    );
    assert!(
        text.iter().all(|t| !t.contains("k1")),
        "a value leaked: {text:?}"
    );
}

#[test]
fn resolved_secrets_are_borrowed_not_copied() {
    let p = plan_of(EXAMPLE_AUTH);
    let given = [secret("spark-secret", &[("secret", "s3cr3t")])];
    let r = resolve(&p, &given).expect("resolved");
    assert_eq!(r.auth.map(SecretValue::expose), Some(&b"s3cr3t"[..]));
    let wrong_ns = [SecretObject {
        namespace: Some("other".into()),
        ..secret("spark-secret", &[("secret", "x")])
    }];
    assert!(resolve(&p, &wrong_ns).is_err());
}
