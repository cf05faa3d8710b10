//! Tokio adapter: a Spark RPC client and server over TCP, driving the sans-IO core.
//!
//! Every read and write has a timeout, and reads never ask for more than the decoders need,
//! so a peer announcing a 2^62-byte frame, stalling mid-frame or flooding costs bounded memory
//! and time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zeroize::Zeroizing;

use crate::auth::{ClientHandshake, EngineVersion, server_respond};
use crate::cipher::{CipherError, CtrStream, GcmOpener, GcmSealer, ctr_pair};
use crate::error::{AuthError, FrameError};
use crate::frame::{Decoded, FrameDecoder};
use crate::legacy::LegacyClient;
use crate::message::Message;
use crate::random::OsRandom;
use crate::sasl::{self, SaslClient, SaslError, SaslServer};

/// The RPC transport cipher after authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CipherKind {
    /// `AES/CTR/NoPadding` (Spark's default).
    AesCtr,
    /// `AES/GCM/NoPadding`.
    AesGcm,
    /// No AES (`spark.network.crypto.enabled=false`): SASL DIGEST-MD5 authentication with
    /// `qop=auth`, unencrypted transport.
    Sasl,
}

/// How to authenticate and encrypt.
#[derive(Clone)]
pub struct Security {
    /// The shared secret (UTF-8 bytes of Spark's secret string).
    pub secret: Zeroizing<Vec<u8>>,
    /// `spark.network.crypto.authEngineVersion`.
    pub version: EngineVersion,
    /// `spark.network.crypto.cipher`.
    pub cipher: CipherKind,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("version", &self.version)
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

/// Limits and identity of a connection.
#[derive(Clone, Debug)]
pub struct Options {
    /// App id sent in the handshake (`sparkSaslUser` for RpcEnv endpoints).
    pub app_id: String,
    /// Timeout of each network step.
    pub timeout: Duration,
    /// Largest frame (and GCM message) accepted.
    pub max_frame: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            app_id: "sparkSaslUser".into(),
            timeout: Duration::from_secs(30),
            max_frame: 64 << 20,
        }
    }
}

/// What went wrong on a connection.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NetError {
    /// Socket error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A step took longer than the timeout.
    #[error("timed out after {0:?} while {1}")]
    Timeout(Duration, &'static str),
    /// The peer closed the connection.
    #[error(
        "connection closed by the peer while {0} (after authentication this usually means a cipher or authEngineVersion mismatch)"
    )]
    Closed(&'static str),
    /// The peer broke the framing.
    #[error("framing error: {0}")]
    Frame(#[from] FrameError),
    /// The encrypted stream is invalid.
    #[error("encryption error: {0}")]
    Cipher(#[from] CipherError),
    /// The handshake failed on this side.
    #[error("authentication failed: {0}")]
    Auth(#[from] AuthError),
    /// SASL authentication failed on this side.
    #[error("SASL authentication failed: {0}")]
    Sasl(#[from] SaslError),
    /// The peer answered with an RPC failure.
    #[error("the peer refused: {}", first_line(.0))]
    Remote(String),
    /// The peer sent something this side did not expect.
    #[error("unexpected message from the peer: {0}")]
    Unexpected(String),
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

enum Sealer {
    Plain,
    Ctr(CtrStream),
    Gcm(GcmSealer),
}

enum Opener {
    Plain,
    Ctr(CtrStream),
    Gcm(GcmOpener),
}

/// A framed, optionally encrypted connection.
pub struct Connection {
    stream: TcpStream,
    sealer: Sealer,
    opener: Opener,
    decoder: FrameDecoder,
    opts: Options,
    next_id: i64,
}

impl Connection {
    fn new(stream: TcpStream, opts: Options) -> Self {
        Self {
            stream,
            sealer: Sealer::Plain,
            opener: Opener::Plain,
            decoder: FrameDecoder::new(opts.max_frame),
            opts,
            next_id: 1,
        }
    }

    fn install(&mut self, keys: &crate::auth::SessionKeys, cipher: CipherKind) {
        match cipher {
            CipherKind::AesCtr => {
                let (enc, dec) = ctr_pair(keys);
                self.sealer = Sealer::Ctr(enc);
                self.opener = Opener::Ctr(dec);
            }
            CipherKind::AesGcm => {
                self.sealer = Sealer::Gcm(GcmSealer::new(keys));
                self.opener = Opener::Gcm(GcmOpener::new(keys, self.opts.max_frame as u64 + 4096));
            }
            CipherKind::Sasl => {}
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// Sends one message.
    pub async fn send(&mut self, msg: &Message) -> Result<(), NetError> {
        let mut frame = Vec::new();
        msg.encode(&mut frame);
        let bytes = match &mut self.sealer {
            Sealer::Plain => frame,
            Sealer::Ctr(c) => {
                c.apply(&mut frame);
                frame
            }
            Sealer::Gcm(g) => g.seal(&frame, &mut OsRandom),
        };
        tokio::time::timeout(self.opts.timeout, self.stream.write_all(&bytes))
            .await
            .map_err(|_| NetError::Timeout(self.opts.timeout, "sending"))??;
        Ok(())
    }

    /// Receives the next message (out-of-frame stream bytes are skipped).
    pub async fn recv(&mut self) -> Result<Message, NetError> {
        loop {
            match self.decoder.decode_next()? {
                Some(Decoded::Message(m)) => return Ok(m),
                Some(Decoded::StreamData(_)) => continue,
                None => {}
            }
            let want = match &self.opener {
                Opener::Gcm(g) => g.wanted(),
                _ => self.decoder.wanted(),
            }
            .clamp(1, 256 * 1024);
            let mut buf = vec![0u8; want];
            let n = tokio::time::timeout(self.opts.timeout, self.stream.read(&mut buf))
                .await
                .map_err(|_| NetError::Timeout(self.opts.timeout, "waiting for the peer"))??;
            if n == 0 {
                return Err(NetError::Closed("waiting for a message"));
            }
            buf.truncate(n);
            match &mut self.opener {
                Opener::Plain => self.decoder.push(&buf),
                Opener::Ctr(c) => {
                    c.apply(&mut buf);
                    self.decoder.push(&buf);
                }
                Opener::Gcm(g) => {
                    g.push(&buf);
                    while let Some(plain) = g.open_next()? {
                        self.decoder.push(&plain);
                    }
                }
            }
        }
    }

    fn fresh_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Sends an RPC and waits for its answer.
    pub async fn rpc(&mut self, body: &[u8]) -> Result<Vec<u8>, NetError> {
        let id = self.fresh_id();
        self.send(&Message::RpcRequest {
            request_id: id,
            body: body.to_vec(),
        })
        .await?;
        self.await_response(id).await
    }

    async fn await_response(&mut self, id: i64) -> Result<Vec<u8>, NetError> {
        match self.recv().await? {
            Message::RpcResponse { request_id, body } if request_id == id => Ok(body),
            Message::RpcFailure { request_id, error } if request_id == id => {
                Err(NetError::Remote(error))
            }
            other => Err(NetError::Unexpected(
                format!("{other:?}").chars().take(200).collect(),
            )),
        }
    }

    /// Sends several RPCs back to back on this connection, then collects the answers (Spark
    /// answers each; answers are matched by request id, in any order).
    pub async fn rpc_pipelined(
        &mut self,
        bodies: &[Vec<u8>],
    ) -> Result<Vec<Result<Vec<u8>, String>>, NetError> {
        let first = self.next_id;
        for body in bodies {
            let id = self.fresh_id();
            self.send(&Message::RpcRequest {
                request_id: id,
                body: body.clone(),
            })
            .await?;
        }
        let mut out: Vec<Option<Result<Vec<u8>, String>>> = vec![None; bodies.len()];
        for _ in 0..bodies.len() {
            let (id, result) = match self.recv().await? {
                Message::RpcResponse { request_id, body } => (request_id, Ok(body)),
                Message::RpcFailure { request_id, error } => (request_id, Err(error)),
                other => {
                    return Err(NetError::Unexpected(
                        format!("{other:?}").chars().take(200).collect(),
                    ));
                }
            };
            let slot = usize::try_from(id - first)
                .ok()
                .and_then(|i| out.get_mut(i));
            match slot {
                Some(s) => *s = Some(result),
                None => {
                    return Err(NetError::Unexpected(format!(
                        "answer to unknown request {id}"
                    )));
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err("no answer".into())))
            .collect())
    }

    /// Sends a one-way message.
    pub async fn one_way(&mut self, body: &[u8]) -> Result<(), NetError> {
        self.send(&Message::OneWayMessage {
            body: body.to_vec(),
        })
        .await
    }
}

async fn connect_tcp(addr: SocketAddr, opts: &Options) -> Result<TcpStream, NetError> {
    let stream = tokio::time::timeout(opts.timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| NetError::Timeout(opts.timeout, "connecting"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Connects without authentication (what an attacker would do).
pub async fn connect_plain(addr: SocketAddr, opts: Options) -> Result<Connection, NetError> {
    Ok(Connection::new(connect_tcp(addr, &opts).await?, opts))
}

/// Connects, authenticates and installs the transport cipher.
pub async fn connect(
    addr: SocketAddr,
    security: &Security,
    opts: Options,
) -> Result<Connection, NetError> {
    let mut conn = Connection::new(connect_tcp(addr, &opts).await?, opts);
    let (handshake, challenge) = ClientHandshake::start(
        &conn.opts.app_id,
        &security.secret,
        security.version,
        &mut OsRandom,
    );
    let response = conn.rpc(&challenge).await?;
    let keys = handshake.finish(&response)?;
    conn.install(&keys, security.cipher);
    Ok(conn)
}

/// Connects with the legacy PBKDF2 protocol of Spark ≤ 3.1.2 (CVE-2021-38296) and installs
/// AES-CTR: for detecting and auditing old peers only.
pub async fn connect_legacy(
    addr: SocketAddr,
    secret: &[u8],
    opts: Options,
) -> Result<Connection, NetError> {
    let mut conn = Connection::new(connect_tcp(addr, &opts).await?, opts);
    let (client, challenge) = LegacyClient::start(&conn.opts.app_id, secret, &mut OsRandom);
    let response = conn.rpc(&challenge).await?;
    let keys = client.finish(&response)?;
    conn.install(&keys, CipherKind::AesCtr);
    Ok(conn)
}

/// Connects and authenticates with SASL DIGEST-MD5 (`qop=auth`: authenticated, not encrypted),
/// as a peer with `spark.network.crypto.enabled=false` expects.
pub async fn connect_sasl(
    addr: SocketAddr,
    secret: &[u8],
    opts: Options,
) -> Result<Connection, NetError> {
    let mut conn = Connection::new(connect_tcp(addr, &opts).await?, opts);
    let app_id = conn.opts.app_id.clone();
    let (client, first) = SaslClient::start(&app_id, secret, &mut OsRandom);
    let challenge = conn.rpc(&first).await?;
    let (proof, response) = client.respond(&challenge)?;
    let server_final = conn.rpc(&sasl::encode_message(&app_id, &response)).await?;
    proof.verify(&server_final)?;
    Ok(conn)
}

/// Answers RPCs after authentication: `Ok(bytes)` becomes an `RpcResponse`, `Err(text)` an
/// `RpcFailure`. One-way messages are passed with their result ignored.
pub type Handler = Arc<dyn Fn(&[u8]) -> Result<Vec<u8>, String> + Send + Sync>;

/// Serves one accepted connection: authenticates it, then dispatches to `handler`. Nothing but
/// the auth RPC is processed before authentication succeeds (Spark's rule, see CVE-2020-9480).
pub async fn serve_connection(
    stream: TcpStream,
    security: Security,
    opts: Options,
    handler: Handler,
) -> Result<(), NetError> {
    stream.set_nodelay(true)?;
    let mut conn = Connection::new(stream, opts);
    let (request_id, challenge) = match conn.recv().await? {
        Message::RpcRequest { request_id, body } => (request_id, body),
        other => {
            let id = match other {
                Message::UploadStream { request_id, .. }
                | Message::MergedBlockMetaRequest { request_id, .. } => request_id,
                _ => 0,
            };
            refuse(
                &mut conn,
                id,
                "java.lang.SecurityException: Unauthenticated call",
            )
            .await;
            return Err(NetError::Unexpected(
                "a non-auth message before authentication".into(),
            ));
        }
    };
    authenticate_peer(&mut conn, request_id, &challenge, &security).await?;
    loop {
        let msg = match conn.recv().await {
            Ok(m) => m,
            Err(NetError::Closed(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        match msg {
            Message::RpcRequest { request_id, body } => {
                let reply = match handler(&body) {
                    Ok(body) => Message::RpcResponse { request_id, body },
                    Err(error) => Message::RpcFailure { request_id, error },
                };
                conn.send(&reply).await?;
            }
            Message::OneWayMessage { body } => {
                let _ = handler(&body);
            }
            other => {
                return Err(NetError::Unexpected(
                    format!("{other:?}").chars().take(200).collect(),
                ));
            }
        }
    }
}

const AUTH_FAILED: &str = "java.lang.IllegalArgumentException: Authentication failed.";

/// Answers `request_id` with an RPC failure; the connection is closed right after, so a failed
/// send changes nothing.
async fn refuse(conn: &mut Connection, request_id: i64, error: &str) {
    let _ = conn
        .send(&Message::RpcFailure {
            request_id,
            error: error.into(),
        })
        .await;
}

/// Runs the server side of the handshake `security` asks for, answering on `conn`.
async fn authenticate_peer(
    conn: &mut Connection,
    request_id: i64,
    first: &[u8],
    security: &Security,
) -> Result<(), NetError> {
    if security.cipher == CipherKind::Sasl {
        return authenticate_sasl_peer(conn, request_id, first, security).await;
    }
    let result = if security.version == EngineVersion::Legacy {
        crate::legacy::legacy_server_respond(first, &security.secret, &mut OsRandom)
    } else {
        let secret = security.secret.clone();
        server_respond(
            first,
            move |_| Some(secret),
            security.version,
            &mut OsRandom,
        )
    };
    match result {
        Ok((response, keys)) => {
            conn.send(&Message::RpcResponse {
                request_id,
                body: response,
            })
            .await?;
            let cipher = if security.version == EngineVersion::Legacy {
                CipherKind::AesCtr
            } else {
                security.cipher
            };
            conn.install(&keys, cipher);
            Ok(())
        }
        Err(e) => {
            refuse(conn, request_id, AUTH_FAILED).await;
            Err(NetError::Auth(e))
        }
    }
}

async fn authenticate_sasl_peer(
    conn: &mut Connection,
    request_id: i64,
    first: &[u8],
    security: &Security,
) -> Result<(), NetError> {
    if sasl::decode_message(first).is_err() {
        let error = "java.lang.IllegalStateException: Expected SaslMessage, received something else (maybe your client does not have SASL enabled?)";
        refuse(conn, request_id, error).await;
        return Err(NetError::Unexpected("a non-SASL auth message".into()));
    }
    let server = SaslServer::new(&security.secret, &mut OsRandom);
    conn.send(&Message::RpcResponse {
        request_id,
        body: server.challenge(),
    })
    .await?;
    let (request_id, body) = match conn.recv().await? {
        Message::RpcRequest { request_id, body } => (request_id, body),
        _ => {
            return Err(NetError::Unexpected(
                "a non-auth message during SASL".into(),
            ));
        }
    };
    let verified = sasl::decode_message(&body)
        .map_err(SaslError::from)
        .and_then(|(_, response)| server.verify(&response));
    match verified {
        Ok(rspauth) => {
            conn.send(&Message::RpcResponse {
                request_id,
                body: rspauth,
            })
            .await?;
            Ok(())
        }
        Err(e) => {
            refuse(conn, request_id, AUTH_FAILED).await;
            Err(NetError::Sasl(e))
        }
    }
}

/// A listening server; dropping it stops accepting.
pub struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds (use port 0 for any) and serves every connection with `handler`.
    pub async fn bind(
        addr: SocketAddr,
        security: Security,
        opts: Options,
        handler: Handler,
    ) -> Result<Self, NetError> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (security, opts, handler) = (security.clone(), opts.clone(), handler.clone());
                tokio::spawn(async move {
                    let _ = serve_connection(stream, security, opts, handler).await;
                });
            }
        });
        Ok(Self { addr, task })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests;
