//! Facts about a TLS endpoint (Spark's HTTPS web UI) learned with rustls: which protocol
//! version and suite it negotiates, whether its certificate verifies against a given CA, and
//! whether it accepts a client that offers only TLS 1.2. Also what its plain-HTTP port answers.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Which TLS versions the client offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// TLS 1.2 and 1.3.
    Any,
    /// Only TLS 1.2 (to see whether the server still accepts it).
    Tls12Only,
    /// Only TLS 1.3.
    Tls13Only,
}

/// What a handshake showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub suite: String,
    /// Whether the certificate chain verified against the given CA for the host name.
    pub verified: bool,
    /// The leaf certificate's notAfter, in seconds since the Unix epoch.
    pub not_after: Option<i64>,
}

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsProbeError {
    /// TCP connection failed.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// host:port
        target: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The handshake failed (e.g. the server refused the offered versions, or the
    /// certificate did not verify).
    #[error("TLS handshake with {target} failed: {reason}")]
    Handshake {
        /// host:port
        target: String,
        /// rustls' reason.
        reason: String,
    },
    /// The CA file is not a PEM certificate.
    #[error("the CA is not a PEM certificate")]
    BadCa,
    /// The host is not a valid server name.
    #[error("{0:?} is not a valid server name")]
    BadName(String),
    /// Timed out.
    #[error("{0} did not answer within the timeout")]
    Timeout(String),
    /// The HTTP exchange failed (not HTTP, cut short).
    #[error("HTTP to {target} failed: {what}")]
    Http {
        /// host:port
        target: String,
        /// hyper's reason.
        what: String,
    },
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

static TLS12_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
static TLS13_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];

fn versions(offer: Offer) -> &'static [&'static rustls::SupportedProtocolVersion] {
    match offer {
        Offer::Any => rustls::ALL_VERSIONS,
        Offer::Tls12Only => &TLS12_ONLY,
        Offer::Tls13Only => &TLS13_ONLY,
    }
}

/// Connects to `host:port`, performs a handshake offering `offer`, and reports the result.
/// With `ca_pem` the chain must verify (a failure is an error); without, any certificate is
/// accepted and `verified` is false.
pub async fn handshake(
    host: &str,
    port: u16,
    ca_pem: Option<&[u8]>,
    offer: Offer,
    timeout: Duration,
) -> Result<Negotiated, TlsProbeError> {
    handshake_named(host, port, host, ca_pem, offer, timeout).await
}

/// [`handshake`] with the certificate checked for `server_name` (also sent as SNI) instead of
/// the host connected to: a UI reached through a port-forward still has to carry the name
/// clients in the cluster use.
pub async fn handshake_named(
    host: &str,
    port: u16,
    server_name: &str,
    ca_pem: Option<&[u8]>,
    offer: Offer,
    timeout: Duration,
) -> Result<Negotiated, TlsProbeError> {
    let target = format!("{host}:{port}");
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions(offer))
        .map_err(|e| TlsProbeError::Handshake {
            target: target.clone(),
            reason: e.to_string(),
        })?;
    let config = match ca_pem {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots
                    .add(cert.map_err(|_| TlsProbeError::BadCa)?)
                    .map_err(|_| TlsProbeError::BadCa)?;
            }
            if roots.is_empty() {
                return Err(TlsProbeError::BadCa);
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider())))
            .with_no_client_auth(),
    };
    let name = ServerName::try_from(server_name.to_owned())
        .map_err(|_| TlsProbeError::BadName(server_name.to_owned()))?;
    let work = async {
        let tcp = TcpStream::connect(&target)
            .await
            .map_err(|source| TlsProbeError::Connect {
                target: target.clone(),
                source,
            })?;
        let tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| TlsProbeError::Handshake {
                target: target.clone(),
                reason: e.to_string(),
            })?;
        let (_, conn) = tls.get_ref();
        Ok(Negotiated {
            version: match conn.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".into(),
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".into(),
                other => format!("{other:?}"),
            },
            suite: conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default(),
            verified: ca_pem.is_some(),
            not_after: conn
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|leaf| crate::cert::not_after(leaf.as_ref())),
        })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| TlsProbeError::Timeout(target.clone()))?
}

/// What a plain-HTTP request to `/` got back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpAnswer {
    /// Status code.
    pub status: u16,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// Body bytes received (up to 64 KiB).
    pub body_len: usize,
}

impl HttpAnswer {
    /// The answer is only a redirect to HTTPS (no content served over plain HTTP).
    pub fn redirects_to_https(&self) -> bool {
        (300..400).contains(&self.status)
            && self
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with("https://"))
    }
}

/// Sends `GET / HTTP/1.1` over plain TCP and reads the status and `Location`.
pub async fn http_get_root(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<HttpAnswer, TlsProbeError> {
    http_get(host, port, "/", timeout).await.map(|(a, _)| a)
}

/// Sends `GET path` over plain TCP (hyper's HTTP/1.1 client); returns the answer and up to
/// 64 KiB of the body as text. The response ends where HTTP says (its length, its last chunk),
/// not only at EOF: through a port-forward the server's close may never arrive.
pub async fn http_get(
    host: &str,
    port: u16,
    path: &str,
    timeout: Duration,
) -> Result<(HttpAnswer, String), TlsProbeError> {
    use http_body_util::BodyExt as _;
    let target = format!("{host}:{port}");
    let failed = |what: String| TlsProbeError::Http {
        target: target.clone(),
        what,
    };
    let work = async {
        let tcp = TcpStream::connect(&target)
            .await
            .map_err(|source| TlsProbeError::Connect {
                target: target.clone(),
                source,
            })?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .map_err(|e| failed(e.to_string()))?;
        let driver = tokio::spawn(conn);
        let req = hyper::Request::get(path)
            .header(hyper::header::HOST, format!("{host}:{port}"))
            .header(hyper::header::CONNECTION, "close")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| failed(e.to_string()))?;
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(hyper::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = res.into_body();
        let mut bytes = Vec::new();
        while bytes.len() < MAX_BODY {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        bytes.extend_from_slice(data);
                    }
                }
                Some(Err(_)) | None => break,
            }
        }
        bytes.truncate(MAX_BODY);
        driver.abort();
        let answer = HttpAnswer {
            status,
            location,
            body_len: bytes.len(),
        };
        Ok((answer, String::from_utf8_lossy(&bytes).into_owned()))
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| TlsProbeError::Timeout(target.clone()))?
}

/// How much of a body is read.
const MAX_BODY: usize = 64 * 1024;

/// Accepts any certificate (only to learn the negotiated version when no CA is given); the
/// signatures are still checked so the handshake is a real one.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A server on loopback that answers one request with `response` and keeps the
    /// connection open (as a port-forward may).
    async fn answering(response: &'static [u8]) -> u16 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = l.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.expect("accept");
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            s.write_all(response).await.expect("write");
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        port
    }

    #[tokio::test]
    async fn answers_end_by_length_or_last_chunk_without_the_close() {
        let t = Duration::from_secs(5);
        let port = answering(
            b"HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1:4440/\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        let a = http_get_root("127.0.0.1", port, t).await.expect("answer");
        assert_eq!(a.status, 302);
        assert!(a.redirects_to_https());
        let port = answering(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
        )
        .await;
        let (a, body) = http_get("127.0.0.1", port, "/", t).await.expect("answer");
        assert_eq!(
            (a.status, a.location, body.as_str()),
            (200, None, "abcdefg")
        );
        assert!(
            !HttpAnswer {
                status: 200,
                location: None,
                body_len: 7
            }
            .redirects_to_https()
        );
    }

    #[tokio::test]
    async fn garbage_is_an_error_not_a_panic() {
        let port = answering(b"garbage\r\n\r\n").await;
        assert!(
            http_get_root("127.0.0.1", port, Duration::from_secs(5))
                .await
                .is_err()
        );
    }
}
