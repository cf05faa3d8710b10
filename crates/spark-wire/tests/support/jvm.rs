//! Shared by the interop tests and the benchmarks: provisioned Spark jars, the Java fixture
//! compiled at run time, and JVM processes that are killed by PID when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use spark_wire::auth::EngineVersion;
use spark_wire::net::CipherKind;

pub const VERSIONS: &[&str] = &["4.3.0", "3.5.9"];
pub const SECRET: &str = "5f0c6f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2";

pub fn jars(version: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(format!("SPARKOP_SPARK_JARS_{}", version.replace('.', "_")))
    {
        return Some(PathBuf::from(dir)).filter(|d| d.is_dir());
    }
    let cache = match std::env::var_os("SPARKOP_CACHE") {
        Some(c) => PathBuf::from(c),
        None => Path::new(&std::env::var_os("HOME")?).join(".cache/sparkop"),
    };
    // Installed by `sparkop spark install VERSION`.
    let installed = cache.join("spark-home").join(version);
    if installed.join(".complete").exists() {
        return Some(installed.join("home/jars"));
    }
    let root = cache.join("spark").join(version);
    // `.complete` is written by scripts/provision-spark once extraction has finished.
    root.join(".complete").exists().then(|| root.join("jars"))
}

pub struct Fixture {
    pub classes: tempfile::TempDir,
    pub secret_dir: tempfile::TempDir,
}

pub fn fixture(version: &str) -> &'static Fixture {
    static CACHE: OnceLock<Mutex<Vec<(String, &'static Fixture)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let mut guard = cache.lock().expect("lock");
    if let Some((_, f)) = guard.iter().find(|(v, _)| v == version) {
        return f;
    }
    let classes = tempfile::tempdir().expect("tmp");
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../spark-wire/tests/interop/WireFixture.java");
    let cp = format!("{}/*", jars(version).expect("jars").display());
    let status = Command::new("javac")
        .args(["-cp", &cp, "-d"])
        .arg(classes.path())
        .arg(&src)
        .status()
        .expect("javac runs");
    assert!(status.success(), "javac failed");
    let secret_dir = tempfile::tempdir().expect("tmp");
    for (name, value) in [("right", SECRET), ("wrong", "not-the-secret")] {
        std::fs::write(secret_dir.path().join(name), value).expect("secret file");
    }
    let f: &'static Fixture = Box::leak(Box::new(Fixture {
        classes,
        secret_dir,
    }));
    guard.push((version.to_owned(), f));
    f
}

/// A JVM started by a test; killed by PID when dropped.
pub struct Jvm(pub Child);

impl Drop for Jvm {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn java(version: &str, args: &[String]) -> Command {
    let f = fixture(version);
    let cp = format!(
        "{}:{}/*",
        f.classes.path().display(),
        jars(version).expect("jars").display()
    );
    let mut c = Command::new("java");
    c.env("SPARK_LOCAL_IP", "127.0.0.1")
        .args(["-Xmx256m", "-cp", &cp, "WireFixture"])
        .args(args);
    c
}

pub fn engine_arg(v: EngineVersion) -> String {
    if v == EngineVersion::V1 {
        "1".into()
    } else {
        "2".into()
    }
}

pub fn cipher_arg(c: CipherKind) -> String {
    match c {
        CipherKind::AesCtr => "ctr".into(),
        CipherKind::AesGcm => "gcm".into(),
        _ => "sasl".into(),
    }
}

pub fn start_jvm_server(
    version: &str,
    engine: EngineVersion,
    cipher: CipherKind,
) -> (Jvm, SocketAddr) {
    start_jvm_server_with(version, engine_arg(engine), cipher_arg(cipher))
}

/// A JVM echo server without any authentication (`spark.authenticate=false`).
pub fn start_jvm_open_server(version: &str) -> (Jvm, SocketAddr) {
    start_jvm_server_with(version, "1".into(), "none".into())
}

/// A JVM AES-CTR echo server that also accepts SASL (`saslFallback=true`, Spark's default).
pub fn start_jvm_fallback_server(version: &str) -> (Jvm, SocketAddr) {
    start_jvm_server_with(version, "1".into(), "ctr-fallback".into())
}

/// A JVM echo server with `spark.network.crypto.enabled=false` (SASL DIGEST-MD5 only).
pub fn start_jvm_sasl_server(version: &str) -> (Jvm, SocketAddr) {
    start_jvm_server_with(version, "1".into(), "sasl".into())
}

fn start_jvm_server_with(version: &str, engine: String, cipher: String) -> (Jvm, SocketAddr) {
    let secret = fixture(version).secret_dir.path().join("right");
    let args = vec![
        "server".into(),
        engine,
        cipher,
        secret.display().to_string(),
    ];
    let mut child = java(version, &args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("java");
    let stdout = child.stdout.take().expect("stdout");
    let jvm = Jvm(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(p) = line.strip_prefix("PORT ") {
                let _ = tx.send(p.trim().parse::<u16>().ok());
                return;
            }
        }
        let _ = tx.send(None);
    });
    let port = rx
        .recv_timeout(Duration::from_secs(60))
        .ok()
        .flatten()
        .expect("the JVM server printed its port");
    (jvm, SocketAddr::from(([127, 0, 0, 1], port)))
}
