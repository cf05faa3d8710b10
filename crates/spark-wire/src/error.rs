//! Errors, categorised so callers can tell a malformed peer from a failed authentication.

use thiserror::Error;

/// Bytes that do not form a valid message.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// Fewer bytes than the encoding needs.
    #[error("message truncated")]
    Truncated,
    /// A negative length prefix.
    #[error("negative length {0}")]
    NegativeLength(i32),
    /// A string that is not UTF-8.
    #[error("string is not UTF-8")]
    NotUtf8,
    /// Bytes after the end of a message.
    #[error("{0} unexpected trailing bytes")]
    TrailingBytes(usize),
    /// An unknown message type byte.
    #[error("unknown message type {0}")]
    UnknownType(u8),
    /// An auth message with the wrong tag byte.
    #[error("expected an auth message tagged {expected:#04x}, got {got:#04x}")]
    WrongTag {
        /// Tag required.
        expected: u8,
        /// Tag seen.
        got: u8,
    },
    /// A field with a wrong size.
    #[error("{field} has {got} bytes, expected {expected}")]
    WrongSize {
        /// Which field.
        field: &'static str,
        /// Size required.
        expected: usize,
        /// Size seen.
        got: usize,
    },
}

/// Framing errors: the stream can no longer be parsed and must be closed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// Frame length not positive ("Frame length should be positive" in Spark).
    #[error("frame length {0} is not positive")]
    NonPositiveLength(i64),
    /// Frame longer than the configured limit.
    #[error("frame of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Declared length.
        len: i64,
        /// Limit.
        limit: usize,
    },
    /// An out-of-frame body length that is negative.
    #[error("negative stream length {0}")]
    NegativeBody(i64),
    /// The frame content is not a valid message.
    #[error("invalid message: {0}")]
    Invalid(#[from] InvalidMessage),
}

/// Which side of a handshake found the problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The connecting peer.
    Client,
    /// The accepting peer.
    Server,
}

/// Authentication failures, with the likely cause (Spark only says so at DEBUG level).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// The peer's message could not be decoded.
    #[error("{side:?} received a malformed auth message: {source}")]
    Malformed {
        /// Who noticed.
        side: Side,
        /// Why.
        #[source]
        source: InvalidMessage,
    },
    /// The public key did not decrypt: wrong shared secret (most likely) or a corrupted message.
    #[error(
        "{side:?} could not decrypt the peer's key: wrong secret, or the peer uses another secret"
    )]
    WrongSecret {
        /// Who noticed.
        side: Side,
    },
    /// The server answered for another application id.
    #[error("server answered for app id {got:?}, expected {expected:?}")]
    AppIdMismatch {
        /// Sent.
        expected: String,
        /// Received.
        got: String,
    },
    /// The peer's public key has small order (a key-substitution attempt).
    #[error("{side:?} received a low-order public key")]
    WeakPublicKey {
        /// Who noticed.
        side: Side,
    },
    /// No secret is known for the application id the client claimed.
    #[error("no secret for app id {0:?}")]
    UnknownApp(String),
}
