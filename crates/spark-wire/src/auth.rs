//! Spark's current RPC authentication (3.1.3+): X25519 key agreement, each public key encrypted
//! under an HKDF-derived key-encrypting key with AES-GCM, then session keys from the shared
//! secret (`spark-wire-protocol.md` §2.3).
//!
//! Expected flow (each message is the body of an ordinary `RpcRequest`/`RpcResponse`):
//! ```text
//! client: ClientHandshake::start ──challenge──► server: server_respond
//! client: ClientHandshake::finish ◄──response── (server installs its cipher)
//! ```
//! Guarantees: the secret never leaves this module except through HKDF; a wrong secret is
//! detected by the GCM tag on the side that decrypts (always the server first).
//! Caveats: versions are not negotiated; peers with different `authEngineVersion` or cipher
//! complete the handshake and then fail at the first encrypted frame, as Spark does.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::codec::{Reader, put_bytes, put_string};
use crate::error::{AuthError, InvalidMessage, Side};
use crate::random::Random;

/// Tag byte of an `AuthMessage`.
pub const AUTH_MESSAGE_TAG: u8 = 0xFB;
/// Tag byte of a SASL message.
pub const SASL_MESSAGE_TAG: u8 = 0xEA;
/// Tag byte of the legacy (≤ 3.1.2) `ClientChallenge`.
pub const LEGACY_CHALLENGE_TAG: u8 = 0xFA;

const SALT_LEN: usize = 16;
const GCM_IV_LEN: usize = 12;
const KEY_CIPHERTEXT_LEN: usize = GCM_IV_LEN + 32 + 16;

/// `spark.network.crypto.authEngineVersion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineVersion {
    /// The default in every release: the X25519 shared secret is the (AES-256) session key.
    V1,
    /// An extra HKDF step gives an AES-128 session key.
    V2,
    /// Keys from the legacy PBKDF2 protocol of Spark ≤ 3.1.2 ([`crate::legacy`]); given to the
    /// X25519 handshake it behaves as `V1`.
    Legacy,
}

/// `0xFB | appId | salt | ciphertext`, sent in both directions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthMessage {
    /// Application id (`sparkSaslUser` on RpcEnv connections).
    pub app_id: String,
    /// 16 random bytes.
    pub salt: [u8; SALT_LEN],
    /// `iv(12) ‖ AES-GCM(public key) ‖ tag(16)`.
    pub ciphertext: Vec<u8>,
}

impl AuthMessage {
    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![AUTH_MESSAGE_TAG];
        put_string(&mut out, &self.app_id);
        put_bytes(&mut out, &self.salt);
        put_bytes(&mut out, &self.ciphertext);
        out
    }

    /// Decodes a message; anything but exactly one well-formed `AuthMessage` is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let tag = r.u8()?;
        if tag != AUTH_MESSAGE_TAG {
            return Err(InvalidMessage::WrongTag {
                expected: AUTH_MESSAGE_TAG,
                got: tag,
            });
        }
        let app_id = r.string()?;
        let salt_bytes = r.bytes()?;
        let salt: [u8; SALT_LEN] =
            salt_bytes
                .try_into()
                .map_err(|_| InvalidMessage::WrongSize {
                    field: "salt",
                    expected: SALT_LEN,
                    got: salt_bytes.len(),
                })?;
        let ciphertext = r.bytes()?.to_vec();
        if ciphertext.len() != KEY_CIPHERTEXT_LEN {
            return Err(InvalidMessage::WrongSize {
                field: "ciphertext",
                expected: KEY_CIPHERTEXT_LEN,
                got: ciphertext.len(),
            });
        }
        r.finish()?;
        Ok(Self {
            app_id,
            salt,
            ciphertext,
        })
    }
}

/// HKDF-SHA256 (RFC 5869, extract and expand).
pub(crate) fn hkdf(ikm: &[u8], salt: &[u8], info: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut okm = Zeroizing::new(vec![0u8; len]);
    // Lengths used here (16 or 32) are far below HKDF-SHA256's 8160-byte limit.
    let _ = Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, &mut okm);
    okm
}

fn aad(app_id: &str, salt: &[u8], transcript: &[u8]) -> Vec<u8> {
    [app_id.as_bytes(), salt, transcript].concat()
}

fn kek(secret: &[u8], app_id: &str, salt: &[u8], transcript: &[u8]) -> (Aes128Gcm, Vec<u8>) {
    let aad = aad(app_id, salt, transcript);
    let key = hkdf(secret, salt, &aad, 16);
    (Aes128Gcm::new_from_slice(&key).expect("16-byte key"), aad)
}

fn seal_public_key(
    secret: &[u8],
    app_id: &str,
    transcript: &[u8],
    public: &PublicKey,
    rng: &mut dyn Random,
) -> AuthMessage {
    let mut salt = [0u8; SALT_LEN];
    rng.fill(&mut salt);
    let mut iv = [0u8; GCM_IV_LEN];
    rng.fill(&mut iv);
    let (cipher, aad) = kek(secret, app_id, &salt, transcript);
    let sealed = cipher
        .encrypt(
            &Nonce::from(iv),
            Payload {
                msg: public.as_bytes(),
                aad: &aad,
            },
        )
        .expect("AES-GCM encryption of 32 bytes");
    AuthMessage {
        app_id: app_id.to_owned(),
        salt,
        ciphertext: [&iv[..], &sealed].concat(),
    }
}

fn open_public_key(
    secret: &[u8],
    msg: &AuthMessage,
    transcript: &[u8],
    side: Side,
) -> Result<PublicKey, AuthError> {
    let (cipher, aad) = kek(secret, &msg.app_id, &msg.salt, transcript);
    let (iv, sealed) = msg.ciphertext.split_at(GCM_IV_LEN);
    let iv: [u8; GCM_IV_LEN] = iv.try_into().map_err(|_| AuthError::WrongSecret { side })?;
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                &Nonce::from(iv),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| AuthError::WrongSecret { side })?,
    );
    let key: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| AuthError::WrongSecret { side })?;
    Ok(PublicKey::from(key))
}

/// Keys of an authenticated connection.
pub struct SessionKeys {
    /// Which side these keys belong to.
    pub side: Side,
    /// Key-derivation version used.
    pub version: EngineVersion,
    /// Session key: 32 bytes (v1) or 16 bytes (v2).
    pub key: Zeroizing<Vec<u8>>,
    /// CTR IV of the client→server direction (HKDF label `outputIv`).
    pub client_to_server_iv: [u8; 16],
    /// CTR IV of the server→client direction (HKDF label `inputIv`).
    pub server_to_client_iv: [u8; 16],
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("side", &self.side)
            .field("version", &self.version)
            .field("key", &format_args!("<{} bytes hidden>", self.key.len()))
            .finish_non_exhaustive()
    }
}

impl SessionKeys {
    fn derive(
        side: Side,
        version: EngineVersion,
        own: &StaticSecret,
        peer: &PublicKey,
        transcript: &[u8],
    ) -> Result<Self, AuthError> {
        let shared = own.diffie_hellman(peer);
        if !shared.was_contributory() {
            return Err(AuthError::WeakPublicKey { side });
        }
        let key = match version {
            EngineVersion::V1 | EngineVersion::Legacy => Zeroizing::new(shared.as_bytes().to_vec()),
            EngineVersion::V2 => hkdf(shared.as_bytes(), transcript, b"derivedKey", 16),
        };
        let iv = |label: &[u8]| -> [u8; 16] {
            let v = hkdf(shared.as_bytes(), transcript, label, 16);
            let mut out = [0u8; 16];
            out.copy_from_slice(&v);
            out
        };
        Ok(Self {
            side,
            version,
            key,
            client_to_server_iv: iv(b"outputIv"),
            server_to_client_iv: iv(b"inputIv"),
        })
    }

    /// The IVs this side encrypts and decrypts with (CTR).
    pub fn ctr_ivs(&self) -> ([u8; 16], [u8; 16]) {
        match self.side {
            Side::Client => (self.client_to_server_iv, self.server_to_client_iv),
            Side::Server => (self.server_to_client_iv, self.client_to_server_iv),
        }
    }
}

/// A client waiting for the server's response.
pub struct ClientHandshake {
    app_id: String,
    secret: Zeroizing<Vec<u8>>,
    private: StaticSecret,
    challenge: Vec<u8>,
    version: EngineVersion,
}

impl ClientHandshake {
    /// Starts a handshake; returns the state and the challenge to send as an RPC body.
    pub fn start(
        app_id: &str,
        secret: &[u8],
        version: EngineVersion,
        rng: &mut dyn Random,
    ) -> (Self, Vec<u8>) {
        let mut sk = Zeroizing::new([0u8; 32]);
        rng.fill(sk.as_mut());
        let private = StaticSecret::from(*sk);
        let public = PublicKey::from(&private);
        let challenge = seal_public_key(secret, app_id, &[], &public, rng).encode();
        let state = Self {
            app_id: app_id.to_owned(),
            secret: Zeroizing::new(secret.to_vec()),
            private,
            challenge: challenge.clone(),
            version,
        };
        (state, challenge)
    }

    /// Checks the server's response and derives the session keys.
    pub fn finish(self, response: &[u8]) -> Result<SessionKeys, AuthError> {
        let msg = AuthMessage::decode(response).map_err(|source| AuthError::Malformed {
            side: Side::Client,
            source,
        })?;
        if msg.app_id != self.app_id {
            return Err(AuthError::AppIdMismatch {
                expected: self.app_id,
                got: msg.app_id,
            });
        }
        let peer = open_public_key(&self.secret, &msg, &self.challenge, Side::Client)?;
        let transcript = [&self.challenge[..], response].concat();
        SessionKeys::derive(
            Side::Client,
            self.version,
            &self.private,
            &peer,
            &transcript,
        )
    }
}

/// Server side: answers a client's challenge. `secret_for` looks the secret up by the claimed
/// application id. Returns the response body to send (in plaintext) and the session keys.
pub fn server_respond(
    challenge: &[u8],
    secret_for: impl FnOnce(&str) -> Option<Zeroizing<Vec<u8>>>,
    version: EngineVersion,
    rng: &mut dyn Random,
) -> Result<(Vec<u8>, SessionKeys), AuthError> {
    let msg = AuthMessage::decode(challenge).map_err(|source| AuthError::Malformed {
        side: Side::Server,
        source,
    })?;
    let secret =
        secret_for(&msg.app_id).ok_or_else(|| AuthError::UnknownApp(msg.app_id.clone()))?;
    let peer = open_public_key(&secret, &msg, &[], Side::Server)?;
    let mut sk = Zeroizing::new([0u8; 32]);
    rng.fill(sk.as_mut());
    let private = StaticSecret::from(*sk);
    let public = PublicKey::from(&private);
    let response = seal_public_key(&secret, &msg.app_id, challenge, &public, rng).encode();
    let transcript = [challenge, &response[..]].concat();
    let keys = SessionKeys::derive(Side::Server, version, &private, &peer, &transcript)?;
    Ok((response, keys))
}

/// The shared secret Spark derives from a `spark.authenticate.secret.*.file`: the standard
/// base64 of the file's raw bytes, a trailing newline included (`SecurityManager`; see
/// spark-wire-protocol.md §6). What a client must present to a driver or executor whose
/// secret came from a Kubernetes Secret file.
pub fn secret_of_spark_file(bytes: &[u8]) -> zeroize::Zeroizing<Vec<u8>> {
    use base64::Engine as _;
    zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into_bytes(),
    )
}

#[cfg(test)]
mod tests;
