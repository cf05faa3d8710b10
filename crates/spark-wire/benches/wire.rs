//! Side-by-side benchmark of spark-wire and Spark's own JVM transport on loopback: handshake
//! latency and encrypted echo throughput, plus the machine's raw AES speed as the ceiling.
//! Prints a Markdown table for docs/benchmarks.md. Needs the Spark jars (scripts/provision-spark).
//!
//!     cargo bench -p spark-wire --bench wire

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use spark_wire::auth::{ClientHandshake, EngineVersion, server_respond};
use spark_wire::cipher::{GcmSealer, ctr_pair};
use spark_wire::net::{self, CipherKind, Options, Security, Server};
use spark_wire::random::OsRandom;
use zeroize::Zeroizing;

#[path = "../tests/support/jvm.rs"]
mod jvm;

const VERSION: &str = "4.3.0";
const SIZE: usize = 1 << 20;
const COUNT: usize = 200;
const HANDSHAKES: usize = 300;

fn security(cipher: CipherKind) -> Security {
    Security {
        secret: Zeroizing::new(jvm::SECRET.as_bytes().to_vec()),
        version: EngineVersion::V1,
        cipher,
    }
}

fn opts() -> Options {
    Options {
        timeout: Duration::from_secs(60),
        ..Options::default()
    }
}

fn in_memory_handshake_us() -> f64 {
    let secret = jvm::SECRET.as_bytes();
    let run = || {
        let (c, challenge) =
            ClientHandshake::start("sparkSaslUser", secret, EngineVersion::V1, &mut OsRandom);
        let (response, _) = server_respond(
            &challenge,
            |_| Some(Zeroizing::new(secret.to_vec())),
            EngineVersion::V1,
            &mut OsRandom,
        )
        .expect("server");
        c.finish(&response).expect("client");
    };
    for _ in 0..200 {
        run();
    }
    let t = Instant::now();
    for _ in 0..2000 {
        run();
    }
    t.elapsed().as_secs_f64() * 1e6 / 2000.0
}

async fn tcp_handshake_us(addr: SocketAddr, cipher: CipherKind) -> f64 {
    for _ in 0..HANDSHAKES / 2 {
        net::connect(addr, &security(cipher), opts())
            .await
            .expect("connect");
    }
    let t = Instant::now();
    for _ in 0..HANDSHAKES {
        net::connect(addr, &security(cipher), opts())
            .await
            .expect("connect");
    }
    t.elapsed().as_secs_f64() * 1e6 / HANDSHAKES as f64
}

async fn echo_mbps(addr: SocketAddr, cipher: CipherKind) -> f64 {
    let mut c = net::connect(addr, &security(cipher), opts())
        .await
        .expect("connect");
    let body = vec![0x5Au8; SIZE];
    for _ in 0..COUNT / 4 {
        c.rpc(&body).await.expect("echo");
    }
    let t = Instant::now();
    for _ in 0..COUNT {
        c.rpc(&body).await.expect("echo");
    }
    (SIZE * COUNT) as f64 / t.elapsed().as_secs_f64() / 1e6
}

/// The loopback ceiling: the same echo pattern over plain TCP, no framing, no encryption.
async fn plain_tcp_echo_mbps() -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; SIZE];
        while s.read_exact(&mut buf).await.is_ok() {
            if s.write_all(&buf).await.is_err() {
                break;
            }
        }
    });
    let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
    c.set_nodelay(true).expect("nodelay");
    let mut buf = vec![0x5Au8; SIZE];
    let t = Instant::now();
    for _ in 0..COUNT {
        c.write_all(&buf).await.expect("write");
        c.read_exact(&mut buf).await.expect("read");
    }
    (SIZE * COUNT) as f64 / t.elapsed().as_secs_f64() / 1e6
}

fn jvm_client(addr: SocketAddr, cipher: CipherKind) -> (f64, f64) {
    let secret = jvm::fixture(VERSION).secret_dir.path().join("right");
    let args: Vec<String> = vec![
        "bench".into(),
        addr.port().to_string(),
        "1".into(),
        jvm::cipher_arg(cipher),
        secret.display().to_string(),
        "sparkSaslUser".into(),
        HANDSHAKES.to_string(),
        SIZE.to_string(),
        COUNT.to_string(),
    ];
    let out = jvm::java(VERSION, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .expect("java");
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (value("HANDSHAKE_US "), value("ECHO_MBPS "))
}

fn raw_rust_mbps(cipher: CipherKind) -> f64 {
    let secret = jvm::SECRET.as_bytes();
    let (c, challenge) = ClientHandshake::start("a", secret, EngineVersion::V1, &mut OsRandom);
    let (response, _) = server_respond(
        &challenge,
        |_| Some(Zeroizing::new(secret.to_vec())),
        EngineVersion::V1,
        &mut OsRandom,
    )
    .expect("server");
    let keys = c.finish(&response).expect("client");
    let mut data = vec![0u8; 16 << 20];
    let t = Instant::now();
    for _ in 0..8 {
        match cipher {
            CipherKind::AesCtr => ctr_pair(&keys).0.apply(&mut data),
            _ => {
                std::hint::black_box(GcmSealer::new(&keys).seal(&data, &mut OsRandom));
            }
        }
    }
    (8 * data.len()) as f64 / t.elapsed().as_secs_f64() / 1e6
}

fn openssl_mbps(algo: &str) -> Option<f64> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-seconds", "2", "-bytes", "16384", "-evp", algo])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.to_ascii_lowercase().starts_with(algo))?;
    let kbps: f64 = line
        .split_whitespace()
        .last()?
        .trim_end_matches('k')
        .parse()
        .ok()?;
    Some(kbps * 1000.0 / 1e6)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if jvm::jars(VERSION).is_none() {
        eprintln!("Spark {VERSION} jars missing: run scripts/provision-spark {VERSION}");
        std::process::exit(2);
    }
    println!("| measurement | cipher | sparkop (Rust) | Spark JVM | Rust / JVM |");
    println!("|---|---|---|---|---|");
    println!(
        "| handshake, in memory (compute only) | — | {:.0} µs | — | — |",
        in_memory_handshake_us()
    );
    println!(
        "| 1 MiB echo over plain TCP (loopback ceiling, no Spark) | none | {:.0} MB/s | — | — |",
        plain_tcp_echo_mbps().await
    );
    for cipher in [CipherKind::AesCtr, CipherKind::AesGcm] {
        let name = if cipher == CipherKind::AesCtr {
            "AES-256-CTR"
        } else {
            "AES-256-GCM"
        };
        let echo: net::Handler = Arc::new(|b: &[u8]| Ok(b.to_vec()));
        let rust_server = Server::bind(
            "127.0.0.1:0".parse().expect("addr"),
            security(cipher),
            opts(),
            echo,
        )
        .await
        .expect("bind");
        let (_jvm_server, jvm_addr) = jvm::start_jvm_server(VERSION, EngineVersion::V1, cipher);
        let rr_hs = tcp_handshake_us(rust_server.local_addr(), cipher).await;
        let rj_hs = tcp_handshake_us(jvm_addr, cipher).await;
        let (jj_hs, jj_mbps) = tokio::task::spawn_blocking(move || jvm_client(jvm_addr, cipher))
            .await
            .expect("join");
        let rr_mbps = echo_mbps(rust_server.local_addr(), cipher).await;
        let rj_mbps = echo_mbps(jvm_addr, cipher).await;
        println!(
            "| handshake over loopback TCP, Rust↔Rust vs JVM↔JVM | {name} | {rr_hs:.0} µs | {jj_hs:.0} µs | {:.1}× faster |",
            jj_hs / rr_hs
        );
        println!("| handshake, Rust client → JVM server | {name} | {rj_hs:.0} µs | — | — |");
        println!(
            "| 1 MiB echo RPCs, Rust↔Rust vs JVM↔JVM | {name} | {rr_mbps:.0} MB/s | {jj_mbps:.0} MB/s | {:.2}× |",
            rr_mbps / jj_mbps
        );
        println!(
            "| 1 MiB echo RPCs, Rust client → JVM server | {name} | {rj_mbps:.0} MB/s | — | — |"
        );
        let raw = raw_rust_mbps(cipher);
        let algo = if cipher == CipherKind::AesCtr {
            "aes-256-ctr"
        } else {
            "aes-256-gcm"
        };
        let ceiling = openssl_mbps(algo).map_or("openssl not found".to_owned(), |m| {
            format!("{m:.0} MB/s (openssl speed -evp {algo})")
        });
        println!(
            "| raw cipher, one core, 16 MiB buffers | {name} | {raw:.0} MB/s | ceiling: {ceiling} | — |"
        );
    }
}
