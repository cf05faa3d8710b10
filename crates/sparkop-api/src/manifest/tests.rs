use super::*;
use crate::diag::Severity;

const GUIDE_AUTH: &str = include_str!("../../../../tests/fixtures/guide/auth-encryption.yaml");
const GUIDE_TLS: &str = include_str!("../../../../tests/fixtures/guide/ui-tls.yaml");
const EVERY_FIELD: &str = include_str!("../../../../tests/fixtures/every-field.yaml");

fn load(text: &str) -> Loaded {
    load_str("test.yaml", text, LoadOptions::default())
}

fn at(d: &Diagnostic) -> (usize, usize) {
    d.location.map(|l| (l.line, l.column)).unwrap_or_default()
}

const APP: &str = "apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: app
spec:
  type: Python
  sparkVersion: \"4.3.0\"
  mainApplicationFile: local:///app.py
  driver:
    cores: 1
  executor:
    instances: 1
";

#[test]
fn guide_auth_manifest_loads_without_load_errors() {
    let l = load(GUIDE_AUTH);
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let [doc] = &l.documents[..] else {
        panic!("one document")
    };
    let Object::SparkApplication(app) = &doc.object else {
        panic!("a SparkApplication")
    };
    assert_eq!(app.metadata.namespace.as_deref(), Some("<namespace>"));
    assert_eq!(
        app.spec.driver.service_account.as_deref(),
        Some("<service-account>")
    );
    assert_eq!(app.spec.executor.instances, Some(1));
}

#[test]
fn guide_tls_manifest_reports_the_trailing_comma_and_the_elision() {
    let l = load(GUIDE_TLS);
    assert!(l.unusable());
    assert!(l.documents.is_empty());
    let comma = l
        .diagnostics
        .iter()
        .find(|d| d.message.contains("trailing comma"))
        .expect("a trailing-comma diagnostic");
    // line 10 is `    "spark.ssl.enabled":    "true",`; the comma is its 35th character
    assert_eq!(at(comma), (10, 35));
    assert_eq!(comma.rule, rules::YAML_SYNTAX);
    assert!(
        comma
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("delete the `,`")
    );
    let elision = l
        .diagnostics
        .iter()
        .find(|d| d.message.contains("`...`"))
        .expect("elision");
    assert_eq!(at(elision), (7, 3));
    let parser = &l.diagnostics[0];
    assert!(
        parser.message.starts_with("invalid YAML"),
        "{}",
        parser.message
    );
    assert!(
        l.diagnostics
            .iter()
            .all(|d| d.file.as_deref() == Some("test.yaml"))
    );
}

#[test]
fn kubectl_secret_output_loads_and_hides_values() {
    let text = "apiVersion: v1
data:
  secret: bXktc2VjcmV0
kind: Secret
metadata:
  creationTimestamp: null
  name: spark-secret
stringData:
  extra: plain-text
";
    let l = load(text);
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let Object::Secret(s) = &l.documents[0].object else {
        panic!("a Secret")
    };
    assert_eq!(s.name, "spark-secret");
    assert_eq!(
        s.get("secret").map(SecretValue::expose),
        Some(&b"my-secret"[..])
    );
    assert_eq!(
        s.get("extra").map(SecretValue::expose),
        Some(&b"plain-text"[..])
    );
    assert!(!format!("{s:?}").contains("my-secret"));
}

#[test]
fn bad_secret_data_is_located_without_the_value() {
    let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  pw: hunter2!!\n";
    let l = load(text);
    let d = l
        .diagnostics
        .iter()
        .find(|d| d.rule == rules::BAD_SECRET_DATA)
        .expect("error");
    assert_eq!(at(d), (5, 7));
    assert!(!format!("{d:?}").contains("hunter2"));
    assert!(l.documents.is_empty());
}

#[test]
fn unknown_fields_warn_with_suggestions_and_fail_when_strict() {
    let text = APP.replace("    cores: 1", "    cores: 1\n    memroy: 512m");
    let l = load(&text);
    let [d] = &l.diagnostics[..] else {
        panic!("{:#?}", l.diagnostics)
    };
    assert_eq!(
        (d.rule, d.severity),
        (rules::UNKNOWN_FIELD, Severity::Warning)
    );
    assert_eq!(at(d), (11, 5));
    assert_eq!(
        d.path.as_ref().map(ToString::to_string).as_deref(),
        Some("spec.driver.memroy")
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `memory`?"));
    assert_eq!(l.documents.len(), 1);
    let strict = load_str(
        "t",
        &text,
        LoadOptions {
            strict: true,
            ..LoadOptions::default()
        },
    );
    assert_eq!(strict.diagnostics[0].severity, Severity::Error);
}

#[test]
fn type_errors_name_the_field_and_suggest_quotes() {
    let text = APP.replace(
        "spec:\n",
        "spec:\n  sparkConf:\n    spark.authenticate: true\n",
    );
    let l = load(&text);
    let [d] = &l.diagnostics[..] else {
        panic!("{:#?}", l.diagnostics)
    };
    assert_eq!(d.rule, rules::BAD_FIELD);
    assert_eq!(at(d), (7, 25));
    assert!(
        d.message
            .starts_with(r#"spec.sparkConf["spark.authenticate"]: invalid type: boolean"#),
        "{}",
        d.message
    );
    assert!(
        d.hint
            .as_deref()
            .unwrap_or_default()
            .contains("double quotes")
    );
    assert!(l.documents.is_empty());

    let l = load(&APP.replace("cores: 1", "cores: one"));
    assert_eq!(at(&l.diagnostics[0]), (10, 12));
}

#[test]
fn secret_literals_in_wrongly_typed_fields_are_hidden() {
    let text = APP.replace(
        "spec:\n",
        "spec:\n  sparkConf:\n    spark.authenticate.secret: 987654321\n",
    );
    let l = load(&text);
    assert!(!format!("{:?}", l.diagnostics).contains("987654321"));
}

#[test]
fn wrongly_typed_secret_env_values_are_hidden() {
    let text = APP.replace(
        "    cores: 1\n",
        "    cores: 1\n    env: [{name: DB_PASSWORD, value: 13572468}]\n",
    );
    let l = load(&text);
    assert_eq!(l.diagnostics.len(), 1, "{:#?}", l.diagnostics);
    assert!(
        l.diagnostics[0].message.contains("hidden"),
        "{}",
        l.diagnostics[0].message
    );
    assert!(!format!("{:?}", l.diagnostics).contains("13572468"));
    let start = text.find("13572468").expect("value");
    assert!(l.sensitive.iter().any(|r| r.contains(&start)));
}

#[test]
fn missing_required_fields_point_at_the_parent() {
    let l = load(&APP.replace("  sparkVersion: \"4.3.0\"\n", ""));
    let d = &l.diagnostics[0];
    assert_eq!(d.rule, rules::MISSING_FIELD);
    assert_eq!(d.message, "spec.sparkVersion: required field is missing");
    assert_eq!(at(d), (5, 1));
}

#[test]
fn enum_values_list_the_choices() {
    let l = load(&APP.replace("type: Python", "type: python"));
    let d = &l.diagnostics[0];
    assert_eq!(at(d), (6, 9));
    assert_eq!(
        d.hint.as_deref(),
        Some("use one of: Java, Python, Scala, R (case matters)")
    );
}

#[test]
fn wrong_api_version_and_kinds() {
    let l = load(&APP.replace("v1beta2", "v1beta1"));
    assert_eq!(l.diagnostics[0].rule, rules::BAD_OBJECT);
    assert_eq!(at(&l.diagnostics[0]), (1, 13));
    let l = load("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n");
    assert_eq!(
        (l.diagnostics[0].rule, l.diagnostics[0].severity),
        (rules::SKIPPED_KIND, Severity::Warning)
    );
    let l = load("metadata: {name: x}\n");
    assert_eq!(l.diagnostics[0].message, "object has no apiVersion");
    let l = load("- just\n- a list\n");
    assert_eq!(l.diagnostics[0].rule, rules::BAD_OBJECT);
}

#[test]
fn multi_document_files_keep_good_documents() {
    let text = format!(
        "{APP}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{a: b}}\n---\n---\n{}",
        APP.replace("cores: 1", "cores: -x")
    );
    let l = load(&text);
    assert_eq!(l.documents.len(), 2);
    assert_eq!(l.documents[1].index, 1);
    assert_eq!(l.diagnostics.len(), 1);
    assert_eq!(l.diagnostics[0].document, Some(3));
}

#[test]
fn lists_expand_into_objects() {
    let text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n";
    assert_eq!(load(text).documents.len(), 1);
}

#[test]
fn unusable_inputs() {
    let l = load("");
    assert_eq!(l.diagnostics[0].rule, rules::EMPTY);
    let l = load("# only a comment\n---\n");
    assert_eq!(l.diagnostics[0].rule, rules::EMPTY);
    let l = load_bytes(
        "bin",
        &[0x7f, 0x45, 0x4c, 0x46, 0xff, 0xfe, 0x00, 0x01],
        LoadOptions::default(),
    );
    assert_eq!(l.diagnostics[0].rule, rules::NOT_TEXT);
    assert!(l.unusable());
    let big = vec![b'#'; 50 * 1024 * 1024];
    let l = load_bytes("big", &big, LoadOptions::default());
    assert_eq!(l.diagnostics[0].rule, rules::TOO_LARGE);
    let l = load("a: 1\na: 2\n");
    assert!(l.diagnostics[0].message.contains("duplicate key"));
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(load(&deep).unusable());
    let l = load("apiVersion: v1\n\tkind: Secret\n");
    assert!(l.unusable());
}

#[test]
fn every_field_round_trips() {
    let l = load(EVERY_FIELD);
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let Object::SparkApplication(app) = &l.documents[0].object else {
        panic!("app")
    };
    let yaml = serde_saphyr::to_string(app.as_ref()).expect("serializes");
    let again = load(&yaml);
    assert!(
        again.diagnostics.is_empty(),
        "{:#?}\n{yaml}",
        again.diagnostics
    );
    let Object::SparkApplication(back) = &again.documents[0].object else {
        panic!("app")
    };
    assert_eq!(app, back);
    assert_eq!(
        back.status.as_ref().map(|s| s.application_state.state),
        Some(crate::ApplicationStateType::Completed)
    );
}

/// Every property the CRD schema declares is set by the every-field fixture, so a field added
/// to the types without a fixture entry (and thus without round-trip coverage) fails here.
#[test]
fn every_field_fixture_covers_the_whole_schema() {
    fn walk(schema: &Value, value: &Value, path: String, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, sub) in props {
                match value.get(k) {
                    Some(v) => walk(sub, v, format!("{path}.{k}"), missing),
                    None => missing.push(format!("{path}.{k}")),
                }
            }
        }
        if let (Some(items), Some(first)) = (schema.get("items"), value.get(0)) {
            walk(items, first, format!("{path}[0]"), missing);
        }
    }
    let crd = crate::crd::spark_application();
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref());
    let schema = serde_json::to_value(schema).expect("schema");
    let lines = LineIndex::new(EVERY_FIELD);
    let doc = yaml::parse(EVERY_FIELD, &lines)
        .documents
        .remove(0)
        .1
        .to_json();
    let mut missing = Vec::new();
    walk(
        &schema["properties"]["spec"],
        &doc["spec"],
        "spec".into(),
        &mut missing,
    );
    walk(
        &schema["properties"]["status"],
        &doc["status"],
        "status".into(),
        &mut missing,
    );
    assert!(
        missing.is_empty(),
        "fields not covered by every-field.yaml: {missing:#?}"
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = load_bytes("f", &bytes, LoadOptions::default());
        }

        #[test]
        fn mutated_manifests_never_panic(cut in 0usize..400, insert in "[ :,\\[\\]{}\"'\n\t&*!|>#-]{0,4}") {
            let mut text = APP.to_owned();
            let at = cut.min(text.len());
            text.insert_str(at, &insert);
            let l = load(&text);
            for d in &l.diagnostics {
                prop_assert!(d.location.is_none_or(|loc| loc.offset <= text.len()));
            }
        }
    }
}
