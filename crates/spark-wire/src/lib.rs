//! Spark's network protocol — frames, messages, the X25519 auth handshake and the AES-CTR /
//! AES-GCM transport ciphers — as a sans-IO core: bytes in, bytes out, no sockets, no tokio.
//! Byte layouts follow `reference/spark-wire-protocol.md` and are checked against Spark's own
//! golden vectors.
//!
//! ```text
//!  socket bytes ─► cipher (CtrStream / GcmOpener) ─► FrameDecoder ─► Message
//!  Message ─► Message::encode ─► cipher (CtrStream / GcmSealer) ─► socket bytes
//!  auth: ClientHandshake::start / server_respond / ClientHandshake::finish ─► SessionKeys
//! ```
//! Randomness is injected ([`random::Random`]) so tests replay fixed transcripts.

pub mod auth;
pub mod cipher;
pub mod codec;
pub mod error;
pub mod frame;
pub mod legacy;
pub mod message;
pub mod random;
pub mod sasl;

pub use error::{AuthError, FrameError, InvalidMessage, Side};

#[cfg(feature = "tokio")]
pub mod net;
