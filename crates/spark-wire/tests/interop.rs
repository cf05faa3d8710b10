//! spark-wire against real Spark JVMs (Spark's own network-common classes from PyPI `pyspark`).
//!
//! The jars come from `scripts/provision-spark VERSION` (run by `scripts/test-all`); the Java
//! fixture `tests/interop/WireFixture.java` is compiled with `javac` at test time. Without the
//! jars these tests say so and pass, unless `SPARKOP_REQUIRE_INTEROP=1` (set by test-all), which
//! makes missing jars a failure.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use spark_wire::auth::EngineVersion;
use spark_wire::net::{self, CipherKind, Handler, NetError, Options, Security, Server};
use zeroize::Zeroizing;

#[path = "support/jvm.rs"]
mod jvm;
use jvm::{
    Jvm, SECRET, VERSIONS, cipher_arg, engine_arg, fixture, jars, java, start_jvm_sasl_server,
    start_jvm_server,
};

/// The versions available here; fails if interop is required and one is missing.
fn versions() -> Vec<&'static str> {
    let required = std::env::var("SPARKOP_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let mut out = Vec::new();
    for v in VERSIONS {
        match jars(v) {
            Some(_) => out.push(*v),
            None if required => panic!("Spark {v} jars missing: run scripts/provision-spark {v}"),
            None => {
                eprintln!("interop: Spark {v} jars not provisioned; skipped (run scripts/test-all)")
            }
        }
    }
    out
}

fn run_jvm_client(
    version: &str,
    addr: SocketAddr,
    engine: EngineVersion,
    cipher: CipherKind,
    secret: &str,
    sizes: &str,
    concurrent: Option<u32>,
) -> (bool, String) {
    let secret = fixture(version).secret_dir.path().join(secret);
    let mut args = vec![
        "client".into(),
        addr.port().to_string(),
        engine_arg(engine),
        cipher_arg(cipher),
        secret.display().to_string(),
        "sparkSaslUser".into(),
        sizes.into(),
    ];
    args.extend(concurrent.map(|n| n.to_string()));
    let child = java(version, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("java");
    let out = child.wait_with_output().expect("client finishes");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn security(secret: &str, version: EngineVersion, cipher: CipherKind) -> Security {
    Security {
        secret: Zeroizing::new(secret.as_bytes().to_vec()),
        version,
        cipher,
    }
}

fn opts(timeout: u64) -> Options {
    Options {
        timeout: Duration::from_secs(timeout),
        ..Options::default()
    }
}

fn pattern(size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| (i.wrapping_mul(31).wrapping_add(size)) as u8)
        .collect()
}

const COMBOS: [(EngineVersion, CipherKind); 4] = [
    (EngineVersion::V1, CipherKind::AesCtr),
    (EngineVersion::V1, CipherKind::AesGcm),
    (EngineVersion::V2, CipherKind::AesCtr),
    (EngineVersion::V2, CipherKind::AesGcm),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_to_jvm_server() {
    for version in versions() {
        for (engine, cipher) in COMBOS {
            let (_jvm, addr) = start_jvm_server(version, engine, cipher);
            let mut c = net::connect(addr, &security(SECRET, engine, cipher), opts(60))
                .await
                .unwrap_or_else(|e| panic!("{version} {engine:?} {cipher:?}: {e}"));
            for size in [0, 1, 32_752, 32_768, 1 << 20, 16 << 20] {
                let body = pattern(size);
                let echo = c
                    .rpc(&body)
                    .await
                    .unwrap_or_else(|e| panic!("{version} {engine:?} {cipher:?} {size}: {e}"));
                assert!(
                    echo == body,
                    "{version} {engine:?} {cipher:?}: echo of {size} bytes differs"
                );
            }
            let bodies: Vec<Vec<u8>> = (0..100).map(|i| pattern(100 + i * 37)).collect();
            let answers = c.rpc_pipelined(&bodies).await.expect("100 requests");
            for (a, b) in answers.iter().zip(&bodies) {
                assert_eq!(a.as_ref().expect("answered"), b);
            }
        }
    }
}

/// A Rust echo server with these settings.
async fn rust_server(sec: Security, timeout: u64) -> Server {
    Server::bind(
        "127.0.0.1:0".parse().expect("addr"),
        sec,
        opts(timeout),
        rust_echo(),
    )
    .await
    .expect("bind")
}

/// Runs the JVM client fixture off the async runtime.
#[allow(clippy::too_many_arguments)]
async fn jvm_client(
    version: &'static str,
    addr: SocketAddr,
    engine: EngineVersion,
    cipher: CipherKind,
    secret: &'static str,
    sizes: &'static str,
    concurrent: Option<u32>,
) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        run_jvm_client(version, addr, engine, cipher, secret, sizes, concurrent)
    })
    .await
    .expect("join")
}

fn rust_echo() -> Handler {
    Arc::new(|b: &[u8]| Ok(b.to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jvm_client_to_rust_server() {
    for version in versions() {
        for (engine, cipher) in COMBOS {
            let server = rust_server(security(SECRET, engine, cipher), 60).await;
            let addr = server.local_addr();
            let sizes = "0,1,32752,32768,1048576,16777216";
            let (ok, out) =
                jvm_client(version, addr, engine, cipher, "right", sizes, Some(100)).await;
            assert!(
                ok && out.contains("OK 106"),
                "{version} {engine:?} {cipher:?}: {out}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_fails_cleanly_on_both_sides() {
    for version in versions() {
        let (engine, cipher) = (EngineVersion::V1, CipherKind::AesCtr);
        let (_jvm, addr) = start_jvm_server(version, engine, cipher);
        let err = net::connect(addr, &security("not-the-secret", engine, cipher), opts(30))
            .await
            .err()
            .expect("refused");
        assert!(
            matches!(&err, NetError::Remote(e) if e.contains("Authentication failed")),
            "{version}: {err}"
        );
        assert!(!err.to_string().contains(SECRET));

        let server = rust_server(security(SECRET, engine, cipher), 30).await;
        let addr = server.local_addr();
        let (ok, out) = jvm_client(version, addr, engine, cipher, "wrong", "1", None).await;
        assert!(!ok && out.contains("ERROR"), "{version}: {out}");
        assert!(out.contains("Authentication failed"), "{version}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_version_and_cipher_mismatches_fail_cleanly() {
    for version in versions() {
        // The handshake completes (nothing is negotiated) and the first encrypted frame fails.
        let (_jvm, addr) = start_jvm_server(version, EngineVersion::V2, CipherKind::AesCtr);
        for (engine, cipher) in [
            (EngineVersion::V1, CipherKind::AesCtr),
            (EngineVersion::V2, CipherKind::AesGcm),
        ] {
            let mut c = net::connect(addr, &security(SECRET, engine, cipher), opts(5))
                .await
                .expect("handshake completes");
            let r = c.rpc(b"ping").await;
            assert!(
                matches!(
                    r,
                    Err(NetError::Closed(_)
                        | NetError::Timeout(..)
                        | NetError::Cipher(_)
                        | NetError::Frame(_))
                ),
                "{version} {engine:?} {cipher:?}: {r:?}"
            );
        }
        let server = rust_server(security(SECRET, EngineVersion::V1, CipherKind::AesGcm), 5).await;
        let addr = server.local_addr();
        let (ok, out) = jvm_client(
            version,
            addr,
            EngineVersion::V2,
            CipherKind::AesGcm,
            "right",
            "1",
            None,
        )
        .await;
        assert!(
            !ok,
            "{version}: a v2 client against a v1 server must fail: {out}"
        );
    }
}

/// Starts a real standalone master (`org.apache.spark.deploy.master.Master`) with
/// `spark.authenticate=true`; the secret is in a 0600 properties file, never on the command line.
fn start_master(version: &str, dir: &Path) -> (Jvm, SocketAddr) {
    use std::os::unix::fs::PermissionsExt as _;
    let props = dir.join("master.properties");
    std::fs::write(
        &props,
        format!(
            "spark.authenticate true\nspark.authenticate.secret {SECRET}\nspark.network.crypto.enabled true\n\
             spark.network.crypto.saslFallback false\nspark.master.rest.enabled false\n"
        ),
    )
    .expect("properties");
    std::fs::set_permissions(&props, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let cp = format!("{}/*", jars(version).expect("jars").display());
    let mut child = Command::new("java")
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .args([
            "-Xmx256m",
            "-cp",
            &cp,
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--webui-port",
            "0",
            "--properties-file",
        ])
        .arg(&props)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("java");
    let stderr = child.stderr.take().expect("stderr");
    let jvm = Jvm(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent
                && let Some(rest) = line
                    .split("Starting Spark master at spark://127.0.0.1:")
                    .nth(1)
            {
                let _ = tx.send(rest.trim().parse::<u16>().ok());
                sent = true;
            }
        }
        if !sent {
            let _ = tx.send(None);
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(90))
        .ok()
        .flatten()
        .expect("the master started");
    (jvm, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_standalone_master_authenticates_encrypts_and_refuses_strangers() {
    for version in versions() {
        let dir = tempfile::tempdir().expect("tmp");
        let (_master, addr) = start_master(version, dir.path());

        // With the secret: the handshake succeeds and an RPC travels AES-CTR encrypted (Spark's
        // default cipher). The body is not a Java-serialized RequestMessage, so the master answers
        // with an RpcFailure naming its deserializer: proof that it decrypted and parsed our frame.
        let mut c = net::connect(
            addr,
            &security(SECRET, EngineVersion::V1, CipherKind::AesCtr),
            opts(60),
        )
        .await
        .expect("authenticated");
        match c.rpc(b"not a RequestMessage").await {
            Err(NetError::Remote(e)) => assert!(
                e.contains("Exception") || e.contains("Error"),
                "{version}: {e}"
            ),
            other => {
                panic!("{version}: expected the master's deserialization failure, got {other:?}")
            }
        }

        // Without the secret: an unauthenticated RPC is refused.
        let mut stranger = net::connect_plain(addr, opts(30)).await.expect("tcp");
        let r = stranger.rpc(b"hello").await;
        assert!(
            matches!(&r, Err(NetError::Remote(e)) if e.contains("Unknown challenge") || e.contains("challenge"))
                || matches!(r, Err(NetError::Closed(_))),
            "{version}: {r:?}"
        );

        // With a wrong secret: authentication fails.
        let r = net::connect(
            addr,
            &security("wrong", EngineVersion::V1, CipherKind::AesCtr),
            opts(30),
        )
        .await;
        assert!(
            matches!(&r, Err(NetError::Remote(e)) if e.contains("Authentication failed")),
            "{version}: {:?}",
            r.err()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_digest_md5_against_a_jvm_server() {
    for version in versions() {
        let (_jvm, addr) = start_jvm_sasl_server(version);
        let mut c = net::connect_sasl(addr, SECRET.as_bytes(), opts(60))
            .await
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        for size in [0, 1, 70_000] {
            let body = pattern(size);
            assert!(
                c.rpc(&body).await.expect("echo") == body,
                "{version}: echo of {size}"
            );
        }
        let r = net::connect_sasl(addr, b"wrong", opts(30)).await;
        assert!(
            matches!(
                &r,
                Err(NetError::Remote(_) | NetError::Sasl(_) | NetError::Closed(_))
            ),
            "{version}: {:?}",
            r.err()
        );
        // A JVM SASL client against the Rust SASL server.
        let server = rust_server(security(SECRET, EngineVersion::V1, CipherKind::Sasl), 30).await;
        let rust_addr = server.local_addr();
        let (ok, out) = jvm_client(
            version,
            rust_addr,
            EngineVersion::V1,
            CipherKind::Sasl,
            "right",
            "0,1,70000",
            Some(20),
        )
        .await;
        assert!(ok && out.contains("OK 23"), "{version}: {out}");
        let (ok, out) = jvm_client(
            version,
            rust_addr,
            EngineVersion::V1,
            CipherKind::Sasl,
            "wrong",
            "1",
            None,
        )
        .await;
        assert!(!ok, "{version}: a wrong SASL secret must fail: {out}");
        // The AES handshake against a SASL-only server is refused with Spark's own explanation.
        let r = net::connect(
            addr,
            &security(SECRET, EngineVersion::V1, CipherKind::AesCtr),
            opts(30),
        )
        .await;
        assert!(
            matches!(&r, Err(NetError::Remote(e)) if e.contains("Expected SaslMessage")),
            "{version}: {:?}",
            r.err()
        );
    }
}

/// Spark ≤ 3.1.2 speaks only the legacy PBKDF2 protocol (CVE-2021-38296).
const LEGACY_VERSION: &str = "3.1.2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_protocol_of_spark_3_1_2_is_spoken_and_detected() {
    let required = std::env::var("SPARKOP_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    if jars(LEGACY_VERSION).is_none() {
        assert!(
            !required,
            "Spark {LEGACY_VERSION} jars missing: run scripts/provision-spark {LEGACY_VERSION}"
        );
        eprintln!("interop: Spark {LEGACY_VERSION} jars not provisioned; skipped");
        return;
    }
    let (_jvm, addr) = start_jvm_server(LEGACY_VERSION, EngineVersion::V1, CipherKind::AesCtr);
    // The legacy client authenticates and talks AES-CTR with the old server.
    let mut c = net::connect_legacy(addr, SECRET.as_bytes(), opts(60))
        .await
        .expect("legacy handshake");
    for size in [1, 70_000] {
        let body = pattern(size);
        assert!(c.rpc(&body).await.expect("echo") == body, "echo of {size}");
    }
    // The current X25519 protocol is refused by it: that refusal is how an auditor detects it.
    let r = net::connect(
        addr,
        &security(SECRET, EngineVersion::V1, CipherKind::AesCtr),
        opts(30),
    )
    .await;
    assert!(
        matches!(
            &r,
            Err(NetError::Remote(_) | NetError::Auth(_) | NetError::Closed(_))
        ),
        "{:?}",
        r.err()
    );
    // A wrong secret fails the legacy handshake.
    assert!(net::connect_legacy(addr, b"wrong", opts(30)).await.is_err());
    // An old JVM client against a Rust server speaking the legacy protocol.
    let server = rust_server(
        security(SECRET, EngineVersion::Legacy, CipherKind::AesCtr),
        30,
    )
    .await;
    let rust_addr = server.local_addr();
    let (ok, out) = jvm_client(
        LEGACY_VERSION,
        rust_addr,
        EngineVersion::V1,
        CipherKind::AesCtr,
        "right",
        "0,1,70000",
        Some(20),
    )
    .await;
    assert!(ok && out.contains("OK 23"), "{out}");
}
