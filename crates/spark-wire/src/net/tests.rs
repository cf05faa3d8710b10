use super::*;

fn security(secret: &[u8], version: EngineVersion, cipher: CipherKind) -> Security {
    Security {
        secret: Zeroizing::new(secret.to_vec()),
        version,
        cipher,
    }
}

fn echo() -> Handler {
    Arc::new(|body: &[u8]| {
        if body == b"fail" {
            Err("java.lang.RuntimeException: asked to fail".into())
        } else {
            Ok(body.to_vec())
        }
    })
}

fn opts() -> Options {
    Options {
        timeout: Duration::from_secs(10),
        ..Options::default()
    }
}

async fn server(sec: Security) -> Server {
    Server::bind("127.0.0.1:0".parse().expect("addr"), sec, opts(), echo())
        .await
        .expect("bind")
}

#[tokio::test]
async fn rust_pair_echoes_every_size_with_every_cipher() {
    for version in [EngineVersion::V1, EngineVersion::V2] {
        for cipher in [CipherKind::AesCtr, CipherKind::AesGcm] {
            let sec = security(b"s3cret", version, cipher);
            let srv = server(sec.clone()).await;
            let mut c = connect(srv.local_addr(), &sec, opts())
                .await
                .expect("connect");
            for n in [0usize, 1, 32_752, 32_768, 1 << 20] {
                let body: Vec<u8> = (0..n).map(|i| i as u8).collect();
                assert_eq!(
                    c.rpc(&body).await.expect("echo"),
                    body,
                    "{version:?} {cipher:?} {n}"
                );
            }
            assert!(
                matches!(c.rpc(b"fail").await, Err(NetError::Remote(e)) if e.contains("asked to fail"))
            );
        }
    }
}

#[tokio::test]
async fn sixteen_mib_and_a_hundred_pipelined_requests() {
    let sec = security(b"s", EngineVersion::V1, CipherKind::AesGcm);
    let srv = server(sec.clone()).await;
    let mut c = connect(srv.local_addr(), &sec, opts())
        .await
        .expect("connect");
    let big = vec![0xA5u8; 16 << 20];
    assert!(c.rpc(&big).await.expect("echo") == big);
    let bodies: Vec<Vec<u8>> = (0..100u32)
        .map(|i| i.to_be_bytes().repeat(i as usize + 1))
        .collect();
    let answers = c.rpc_pipelined(&bodies).await.expect("pipelined");
    for (a, b) in answers.iter().zip(&bodies) {
        assert_eq!(a.as_ref().expect("ok"), b);
    }
}

#[tokio::test]
async fn wrong_secret_is_refused_with_the_likely_cause() {
    let srv = server(security(b"right", EngineVersion::V1, CipherKind::AesCtr)).await;
    let err = connect(
        srv.local_addr(),
        &security(b"wrong", EngineVersion::V1, CipherKind::AesCtr),
        opts(),
    )
    .await
    .err()
    .expect("refused");
    assert!(
        matches!(&err, NetError::Remote(e) if e.contains("Authentication failed")),
        "{err}"
    );
    assert!(!err.to_string().contains("right") && !err.to_string().contains("wrong"));
}

#[tokio::test]
async fn version_and_cipher_mismatches_fail_at_the_first_encrypted_frame() {
    let srv = server(security(b"s", EngineVersion::V2, CipherKind::AesGcm)).await;
    let short = Options {
        timeout: Duration::from_secs(2),
        ..opts()
    };
    for (v, c) in [
        (EngineVersion::V1, CipherKind::AesGcm),
        (EngineVersion::V2, CipherKind::AesCtr),
    ] {
        let mut conn = connect(srv.local_addr(), &security(b"s", v, c), short.clone())
            .await
            .expect("handshake completes");
        assert!(conn.rpc(b"hello").await.is_err());
    }
}

#[tokio::test]
async fn unauthenticated_rpcs_are_refused() {
    let srv = server(security(b"s", EngineVersion::V1, CipherKind::AesCtr)).await;
    let mut c = connect_plain(srv.local_addr(), opts()).await.expect("tcp");
    assert!(c.rpc(b"let me in").await.is_err());
    let mut c = connect_plain(srv.local_addr(), opts()).await.expect("tcp");
    c.one_way(b"x").await.expect("sent");
    assert!(matches!(
        c.recv().await,
        Ok(Message::RpcFailure { .. }) | Err(_)
    ));
}

#[tokio::test]
async fn hostile_peers_cost_bounded_time_and_memory() {
    let sec = security(b"s", EngineVersion::V1, CipherKind::AesCtr);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let quick = Options {
        timeout: Duration::from_millis(500),
        max_frame: 1 << 20,
        ..Options::default()
    };

    // A 2^62-byte frame length is refused at once, without allocating.
    let mut attacker = TcpStream::connect(addr).await.expect("connect");
    let (stream, _) = listener.accept().await.expect("accept");
    attacker
        .write_all(&(1i64 << 62).to_be_bytes())
        .await
        .expect("write");
    let r = serve_connection(stream, sec.clone(), quick.clone(), echo()).await;
    assert!(
        matches!(r, Err(NetError::Frame(FrameError::TooLarge { .. }))),
        "{r:?}"
    );

    // A peer that stalls mid-frame is dropped after the timeout.
    let mut attacker = TcpStream::connect(addr).await.expect("connect");
    let (stream, _) = listener.accept().await.expect("accept");
    attacker
        .write_all(&100i64.to_be_bytes())
        .await
        .expect("write");
    attacker.write_all(&[3, 0, 0]).await.expect("write");
    let started = std::time::Instant::now();
    let r = serve_connection(stream, sec, quick, echo()).await;
    assert!(matches!(r, Err(NetError::Timeout(..))), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A flooding peer (maximal frames, as fast as it can write) is dropped after the first one:
    // nothing but an auth message is processed before authentication.
    let flood_opts = Options {
        timeout: Duration::from_secs(2),
        max_frame: 1 << 20,
        ..Options::default()
    };
    let mut attacker = TcpStream::connect(addr).await.expect("connect");
    let (stream, _) = listener.accept().await.expect("accept");
    let flood = tokio::spawn(async move {
        let mut frame = Vec::new();
        Message::RpcRequest {
            request_id: 1,
            body: vec![0xAB; (1 << 20) - 21],
        }
        .encode(&mut frame);
        for _ in 0..64 {
            if attacker.write_all(&frame).await.is_err() {
                break;
            }
        }
    });
    let started = std::time::Instant::now();
    let r = serve_connection(
        stream,
        security(b"s", EngineVersion::V1, CipherKind::AesCtr),
        flood_opts,
        echo(),
    )
    .await;
    assert!(matches!(r, Err(NetError::Auth(_))), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    flood.abort();
}
