//! `audit_rpc` against real Spark endpoints (Spark's own network-common classes from PyPI
//! `pyspark`, via spark-wire's Java fixture). Every finding type appears where it should and
//! disappears where it should not.

use std::time::Duration;

use spark_wire::auth::EngineVersion;
use spark_wire::net::CipherKind;
use sparkop_api::Severity;
use sparkop_audit::Finding;
use sparkop_audit::rpc::{RpcAuditOptions, audit_rpc, ids};
use zeroize::Zeroizing;

#[path = "../../spark-wire/tests/support/jvm.rs"]
mod jvm;

fn available(version: &str) -> bool {
    if jvm::jars(version).is_some() {
        return true;
    }
    assert!(
        std::env::var("SPARKOP_REQUIRE_INTEROP").as_deref() != Ok("1"),
        "Spark {version} jars missing: run scripts/provision-spark {version}"
    );
    eprintln!("audit interop: Spark {version} jars not provisioned; skipped");
    false
}

fn options(secret: Option<&str>) -> RpcAuditOptions {
    RpcAuditOptions {
        secret: secret.map(|s| Zeroizing::new(s.as_bytes().to_vec())),
        timeout: Duration::from_secs(3),
        ..RpcAuditOptions::default()
    }
}

fn ids_of(f: &[Finding]) -> Vec<&'static str> {
    f.iter().map(|f| f.id).collect()
}

fn no_secret_in(f: &[Finding]) {
    let text = format!("{f:?}");
    assert!(
        !text.contains(jvm::SECRET),
        "the secret leaked into findings"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_gcm_endpoint_has_nothing_above_info() {
    if !available("4.3.0") {
        return;
    }
    let (_jvm, addr) = jvm::start_jvm_server("4.3.0", EngineVersion::V1, CipherKind::AesGcm);
    let f = audit_rpc(addr, &options(Some(jvm::SECRET))).await;
    no_secret_in(&f);
    assert_eq!(
        ids_of(&f),
        vec![ids::WRONG_SECRET_REFUSED, ids::GCM_CIPHER],
        "{f:#?}"
    );
    assert!(f.iter().all(|f| f.severity == Severity::Info), "{f:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctr_endpoint_is_a_warning_and_a_wrong_secret_an_error() {
    if !available("4.3.0") {
        return;
    }
    let (_jvm, addr) = jvm::start_jvm_server("4.3.0", EngineVersion::V2, CipherKind::AesCtr);
    let f = audit_rpc(addr, &options(Some(jvm::SECRET))).await;
    assert_eq!(
        ids_of(&f),
        vec![ids::WRONG_SECRET_REFUSED, ids::CTR_CIPHER],
        "{f:#?}"
    );
    assert!(f[1].evidence.contains("V2") && f[1].fix.is_some());
    let f = audit_rpc(addr, &options(Some("not-the-secret"))).await;
    assert_eq!(
        ids_of(&f),
        vec![ids::WRONG_SECRET_REFUSED, ids::SECRET_NOT_ACCEPTED],
        "{f:#?}"
    );
    let f = audit_rpc(addr, &options(None)).await;
    assert_eq!(
        ids_of(&f),
        vec![ids::WRONG_SECRET_REFUSED, ids::NOT_VERIFIED],
        "{f:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_fallback_is_a_warning_only_where_enabled() {
    if !available("4.3.0") {
        return;
    }
    let (_jvm, addr) = jvm::start_jvm_fallback_server("4.3.0");
    let f = audit_rpc(addr, &options(Some(jvm::SECRET))).await;
    assert_eq!(
        ids_of(&f),
        vec![
            ids::WRONG_SECRET_REFUSED,
            ids::SASL_FALLBACK,
            ids::CTR_CIPHER
        ],
        "{f:#?}"
    );
    assert_eq!(f[1].severity, Severity::Warning);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_endpoint_is_an_error() {
    if !available("4.3.0") {
        return;
    }
    let (_jvm, addr) = jvm::start_jvm_open_server("4.3.0");
    let f = audit_rpc(addr, &options(None)).await;
    assert_eq!(ids_of(&f), vec![ids::UNAUTHENTICATED], "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    assert!(f[0].evidence.contains("RpcResponse"), "{f:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_only_endpoint_is_an_error() {
    if !available("4.3.0") {
        return;
    }
    let (_jvm, addr) = jvm::start_jvm_sasl_server("4.3.0");
    let f = audit_rpc(addr, &options(Some(jvm::SECRET))).await;
    no_secret_in(&f);
    assert_eq!(ids_of(&f)[0], ids::SASL_ONLY, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    assert!(!ids_of(&f).contains(&ids::UNAUTHENTICATED));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_protocol_of_3_1_2_is_an_error() {
    if !available("3.1.2") {
        return;
    }
    let (_jvm, addr) = jvm::start_jvm_server("3.1.2", EngineVersion::V1, CipherKind::AesCtr);
    let f = audit_rpc(addr, &options(Some(jvm::SECRET))).await;
    assert_eq!(ids_of(&f)[0], ids::LEGACY_PROTOCOL, "{f:#?}");
    assert!(f[0].message.contains("CVE-2021-38296"));
}

#[tokio::test]
async fn unreachable_endpoint_is_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let f = audit_rpc(addr, &options(None)).await;
    assert_eq!(ids_of(&f), vec![ids::UNREACHABLE]);
}
