//! Transport ciphers installed after authentication: AES-CTR (one keystream per direction, no
//! framing, no integrity) and AES-GCM (Spark's segmented, Tink-style streaming messages).

use aes::{Aes128, Aes256};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::auth::{SessionKeys, hkdf};
use crate::random::Random;

/// Plaintext bytes per GCM segment.
pub const GCM_PLAIN_SEGMENT: usize = 32_752;
/// Ciphertext bytes per full GCM segment (plaintext + 16-byte tag).
pub const GCM_CIPHER_SEGMENT: usize = 32_768;
const TAG: usize = 16;
const NONCE_PREFIX: usize = 7;

/// Errors of the encrypted stream: the connection must be closed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CipherError {
    /// A GCM message length that cannot be right.
    #[error("invalid GCM message length {0}")]
    BadLength(i64),
    /// A GCM message longer than the configured limit.
    #[error("GCM message of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Declared length.
        len: i64,
        /// Limit.
        limit: u64,
    },
    /// The header's length byte does not match the key size: likely an `authEngineVersion` or
    /// cipher mismatch between the peers.
    #[error("GCM header length {got}, expected {expected} (authEngineVersion or cipher mismatch?)")]
    BadHeader {
        /// Seen.
        got: u8,
        /// Expected for this key size.
        expected: u8,
    },
    /// A segment failed authentication: tampering, or different keys on the two sides.
    #[error("GCM segment {0} failed authentication (tampered, or keys differ)")]
    Decrypt(u32),
}

enum Ctr {
    A128(Box<Ctr128BE<Aes128>>),
    A256(Box<Ctr128BE<Aes256>>),
}

/// One direction of an AES-CTR stream.
pub struct CtrStream(Ctr);

impl CtrStream {
    /// A stream with a 16- or 32-byte key.
    pub fn new(key: &[u8], iv: &[u8; 16]) -> Self {
        if key.len() == 32 {
            Self(Ctr::A256(Box::new(
                Ctr128BE::<Aes256>::new_from_slices(key, iv).expect("32-byte key"),
            )))
        } else {
            Self(Ctr::A128(Box::new(
                Ctr128BE::<Aes128>::new_from_slices(&key[..16.min(key.len())], iv)
                    .expect("16-byte key"),
            )))
        }
    }

    /// Encrypts or decrypts in place, continuing the keystream.
    pub fn apply(&mut self, data: &mut [u8]) {
        match &mut self.0 {
            Ctr::A128(c) => c.apply_keystream(data),
            Ctr::A256(c) => c.apply_keystream(data),
        }
    }
}

/// The (encrypt, decrypt) CTR streams of this side.
pub fn ctr_pair(keys: &SessionKeys) -> (CtrStream, CtrStream) {
    let (enc, dec) = keys.ctr_ivs();
    (
        CtrStream::new(&keys.key, &enc),
        CtrStream::new(&keys.key, &dec),
    )
}

fn header_len(key_len: usize) -> usize {
    1 + key_len + NONCE_PREFIX
}

fn nonce(prefix: &[u8], index: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..NONCE_PREFIX].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

enum Gcm {
    A128(Box<Aes128Gcm>),
    A256(Box<Aes256Gcm>),
}

impl Gcm {
    fn new(key: &[u8]) -> Self {
        if key.len() == 32 {
            Gcm::A256(Box::new(
                Aes256Gcm::new_from_slice(key).expect("32-byte key"),
            ))
        } else {
            Gcm::A128(Box::new(
                Aes128Gcm::new_from_slice(&key[..16.min(key.len())]).expect("16-byte key"),
            ))
        }
    }

    fn seal(&self, nonce: [u8; 12], plain: &[u8]) -> Vec<u8> {
        let n = Nonce::from(nonce);
        match self {
            Gcm::A128(c) => c.encrypt(&n, plain),
            Gcm::A256(c) => c.encrypt(&n, plain),
        }
        .expect("AES-GCM encryption")
    }

    fn open(&self, nonce: [u8; 12], sealed: &[u8]) -> Option<Vec<u8>> {
        let n = Nonce::from(nonce);
        match self {
            Gcm::A128(c) => c.decrypt(&n, sealed),
            Gcm::A256(c) => c.decrypt(&n, sealed),
        }
        .ok()
    }
}

fn message_key(session_key: &[u8], salt: &[u8], total_len: i64) -> Gcm {
    let k = hkdf(
        session_key,
        salt,
        &total_len.to_be_bytes(),
        session_key.len(),
    );
    Gcm::new(&k)
}

/// Size of the GCM message carrying `plain_len` bytes.
pub fn gcm_message_len(key_len: usize, plain_len: usize) -> usize {
    let full = plain_len / GCM_PLAIN_SEGMENT;
    let rest = plain_len % GCM_PLAIN_SEGMENT;
    8 + header_len(key_len) + full * GCM_CIPHER_SEGMENT + if rest > 0 { rest + TAG } else { 0 }
}

/// Encrypts outgoing bytes as GCM messages.
pub struct GcmSealer {
    key: Zeroizing<Vec<u8>>,
}

impl GcmSealer {
    /// A sealer with the session key.
    pub fn new(keys: &SessionKeys) -> Self {
        Self {
            key: keys.key.clone(),
        }
    }

    /// One GCM message holding `plain` (normally one whole Spark frame).
    pub fn seal(&self, plain: &[u8], rng: &mut dyn Random) -> Vec<u8> {
        let key_len = self.key.len();
        let total = gcm_message_len(key_len, plain.len());
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(total as i64).to_be_bytes());
        out.push(header_len(key_len) as u8);
        let mut salt = vec![0u8; key_len];
        rng.fill(&mut salt);
        let mut prefix = [0u8; NONCE_PREFIX];
        rng.fill(&mut prefix);
        out.extend_from_slice(&salt);
        out.extend_from_slice(&prefix);
        let gcm = message_key(&self.key, &salt, total as i64);
        let segments = plain.len().div_ceil(GCM_PLAIN_SEGMENT);
        for (i, chunk) in plain.chunks(GCM_PLAIN_SEGMENT).enumerate() {
            let last = i + 1 == segments;
            out.extend_from_slice(&gcm.seal(nonce(&prefix, i as u32, last), chunk));
        }
        out
    }
}

struct InMessage {
    gcm: Gcm,
    prefix: [u8; NONCE_PREFIX],
    remaining: usize,
    index: u32,
}

/// Decrypts incoming GCM messages incrementally; memory stays within one segment.
pub struct GcmOpener {
    key: Zeroizing<Vec<u8>>,
    buf: Vec<u8>,
    current: Option<InMessage>,
    max_message: u64,
}

impl GcmOpener {
    /// An opener refusing messages longer than `max_message` bytes.
    pub fn new(keys: &SessionKeys, max_message: u64) -> Self {
        Self {
            key: keys.key.clone(),
            buf: Vec::new(),
            current: None,
            max_message,
        }
    }

    /// Adds received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// How many more bytes the next step needs.
    pub fn wanted(&self) -> usize {
        let need = match &self.current {
            None => 8 + header_len(self.key.len()),
            Some(m) => m.remaining.min(GCM_CIPHER_SEGMENT),
        };
        need.saturating_sub(self.buf.len()).max(1)
    }

    /// Decrypted plaintext available so far (`Ok(None)`: more bytes needed).
    pub fn open_next(&mut self) -> Result<Option<Vec<u8>>, CipherError> {
        loop {
            match &mut self.current {
                None => {
                    let h = header_len(self.key.len());
                    if self.buf.len() < 8 + h {
                        return Ok(None);
                    }
                    let total = i64::from_be_bytes(self.buf[..8].try_into().expect("8 bytes"));
                    if total < (8 + h) as i64 {
                        return Err(CipherError::BadLength(total));
                    }
                    if total as u64 > self.max_message {
                        return Err(CipherError::TooLarge {
                            len: total,
                            limit: self.max_message,
                        });
                    }
                    if usize::from(self.buf[8]) != h {
                        return Err(CipherError::BadHeader {
                            got: self.buf[8],
                            expected: h as u8,
                        });
                    }
                    let salt = &self.buf[9..9 + self.key.len()];
                    let mut prefix = [0u8; NONCE_PREFIX];
                    prefix.copy_from_slice(&self.buf[9 + self.key.len()..8 + h]);
                    let gcm = message_key(&self.key, salt, total);
                    self.buf.drain(..8 + h);
                    let remaining = total as usize - 8 - h;
                    if remaining == 0 {
                        continue;
                    }
                    self.current = Some(InMessage {
                        gcm,
                        prefix,
                        remaining,
                        index: 0,
                    });
                }
                Some(m) => {
                    let last = m.remaining <= GCM_CIPHER_SEGMENT;
                    let seg = m.remaining.min(GCM_CIPHER_SEGMENT);
                    if self.buf.len() < seg {
                        return Ok(None);
                    }
                    if seg <= TAG {
                        return Err(CipherError::Decrypt(m.index));
                    }
                    let plain = m
                        .gcm
                        .open(nonce(&m.prefix, m.index, last), &self.buf[..seg])
                        .ok_or(CipherError::Decrypt(m.index))?;
                    self.buf.drain(..seg);
                    m.remaining -= seg;
                    m.index += 1;
                    if last {
                        self.current = None;
                    }
                    return Ok(Some(plain));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
