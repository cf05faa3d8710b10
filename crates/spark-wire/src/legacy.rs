//! The legacy auth protocol of Spark 2.2 – 3.1.2 (and all 3.0.x): a PBKDF2 challenge/response
//! whose key negotiation is broken (CVE-2021-38296). Spoken here only to detect and report such
//! peers (`spark-wire-protocol.md` §2.2); never choose it for new connections.
//!
//! Expected flow: `LegacyClient::start` → `ClientChallenge` (0xFA) as an RPC body →
//! `ServerResponse` (0xFB) → `LegacyClient::finish` → AES-CTR session keys.

use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::auth::{EngineVersion, LEGACY_CHALLENGE_TAG, SessionKeys};
use crate::codec::{Reader, put_bytes, put_i32, put_string};
use crate::error::{AuthError, InvalidMessage, Side};
use crate::random::Random;

const KDF: &str = "PBKDF2WithHmacSHA1";
const CIPHER: &str = "AES/CTR/NoPadding";
const ITERATIONS: u32 = 1024;
const KEY_LEN: usize = 16;
const RESPONSE_TAG: u8 = 0xFB;

fn pbkdf2(secret: &[u8], salt: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(vec![0u8; KEY_LEN]);
    pbkdf2::pbkdf2_hmac::<Sha1>(secret, salt, ITERATIONS, &mut key);
    key
}

fn auth_cipher(key: &[u8], nonce: &[u8]) -> Ctr128BE<aes::Aes128> {
    let mut iv = [0u8; 16];
    let n = nonce.len().min(16);
    iv[..n].copy_from_slice(&nonce[..n]);
    Ctr128BE::<aes::Aes128>::new_from_slices(key, &iv).expect("16-byte key and IV")
}

/// Java's `new BigInteger(bytes).add(ONE).toByteArray()`: the proof a legacy server returns.
pub fn java_bigint_plus_one(bytes: &[u8]) -> Vec<u8> {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.push(if negative { 0xFF } else { 0x00 });
    v.extend_from_slice(bytes);
    for byte in v.iter_mut().rev() {
        let (n, carry) = byte.overflowing_add(1);
        *byte = n;
        if !carry {
            break;
        }
    }
    while v.len() > 1 && ((v[0] == 0x00 && v[1] & 0x80 == 0) || (v[0] == 0xFF && v[1] & 0x80 != 0))
    {
        v.remove(0);
    }
    v
}

/// A legacy client waiting for the server's response.
pub struct LegacyClient {
    app_id: String,
    secret: Zeroizing<Vec<u8>>,
    nonce: Vec<u8>,
    challenge: Zeroizing<Vec<u8>>,
    decryptor: Ctr128BE<aes::Aes128>,
}

impl LegacyClient {
    /// Starts a legacy handshake; returns the state and the `ClientChallenge` body.
    pub fn start(app_id: &str, secret: &[u8], rng: &mut dyn Random) -> (Self, Vec<u8>) {
        let mut nonce = vec![0u8; KEY_LEN];
        rng.fill(&mut nonce);
        let mut challenge = Zeroizing::new(vec![0u8; KEY_LEN]);
        rng.fill(&mut challenge);
        let key = pbkdf2(secret, &nonce);
        let mut encrypted = [app_id.as_bytes(), &nonce, &challenge].concat();
        auth_cipher(&key, &nonce).apply_keystream(&mut encrypted);
        let mut out = vec![LEGACY_CHALLENGE_TAG];
        put_string(&mut out, app_id);
        put_string(&mut out, KDF);
        put_i32(&mut out, ITERATIONS as i32);
        put_string(&mut out, CIPHER);
        put_i32(&mut out, (KEY_LEN * 8) as i32);
        put_bytes(&mut out, &nonce);
        put_bytes(&mut out, &encrypted);
        let decryptor = auth_cipher(&key, &nonce);
        (
            Self {
                app_id: app_id.to_owned(),
                secret: Zeroizing::new(secret.to_vec()),
                nonce,
                challenge,
                decryptor,
            },
            out,
        )
    }

    /// Checks the server's proof and derives the AES-CTR session keys.
    pub fn finish(mut self, response: &[u8]) -> Result<SessionKeys, AuthError> {
        let malformed = |source| AuthError::Malformed {
            side: Side::Client,
            source,
        };
        let mut r = Reader::new(response);
        let tag = r.u8().map_err(malformed)?;
        if tag != RESPONSE_TAG {
            return Err(malformed(InvalidMessage::WrongTag {
                expected: RESPONSE_TAG,
                got: tag,
            }));
        }
        let mut proof = r.bytes().map_err(malformed)?.to_vec();
        let mut session_nonce = Zeroizing::new(r.bytes().map_err(malformed)?.to_vec());
        let mut input_iv = r.bytes().map_err(malformed)?.to_vec();
        let mut output_iv = r.bytes().map_err(malformed)?.to_vec();
        r.finish().map_err(malformed)?;
        self.decryptor.apply_keystream(&mut proof);
        let expected = [
            self.app_id.as_bytes(),
            &self.nonce,
            &java_bigint_plus_one(&self.challenge),
        ]
        .concat();
        if proof.len() != expected.len() || !bool::from(proof.ct_eq(&expected)) {
            return Err(AuthError::WrongSecret { side: Side::Client });
        }
        self.decryptor.apply_keystream(&mut session_nonce);
        self.decryptor.apply_keystream(&mut input_iv);
        self.decryptor.apply_keystream(&mut output_iv);
        let iv16 = |v: &[u8]| -> Result<[u8; 16], AuthError> {
            v.try_into().map_err(|_| {
                malformed(InvalidMessage::WrongSize {
                    field: "iv",
                    expected: 16,
                    got: v.len(),
                })
            })
        };
        Ok(SessionKeys {
            side: Side::Client,
            version: EngineVersion::Legacy,
            key: pbkdf2(&self.secret, &session_nonce),
            client_to_server_iv: iv16(&output_iv)?,
            server_to_client_iv: iv16(&input_iv)?,
        })
    }
}

/// The legacy server side (for tests of the client; sparkop never serves this protocol).
pub fn legacy_server_respond(
    challenge: &[u8],
    secret: &[u8],
    rng: &mut dyn Random,
) -> Result<(Vec<u8>, SessionKeys), AuthError> {
    let malformed = |source| AuthError::Malformed {
        side: Side::Server,
        source,
    };
    let mut r = Reader::new(challenge);
    let tag = r.u8().map_err(malformed)?;
    if tag != LEGACY_CHALLENGE_TAG {
        return Err(malformed(InvalidMessage::WrongTag {
            expected: LEGACY_CHALLENGE_TAG,
            got: tag,
        }));
    }
    let app_id = r.string().map_err(malformed)?;
    let _kdf = r.string().map_err(malformed)?;
    let _iterations = r.i32().map_err(malformed)?;
    let _cipher = r.string().map_err(malformed)?;
    let _bits = r.i32().map_err(malformed)?;
    let nonce = r.bytes().map_err(malformed)?.to_vec();
    let mut plain = r.bytes().map_err(malformed)?.to_vec();
    r.finish().map_err(malformed)?;
    let key = pbkdf2(secret, &nonce);
    auth_cipher(&key, &nonce).apply_keystream(&mut plain);
    let prefix = [app_id.as_bytes(), &nonce].concat();
    if !plain.starts_with(&prefix) {
        return Err(AuthError::WrongSecret { side: Side::Server });
    }
    let proof = java_bigint_plus_one(&plain[prefix.len()..]);
    let mut enc = auth_cipher(&key, &nonce);
    let mut response = [&prefix[..], &proof].concat();
    enc.apply_keystream(&mut response);
    let mut session_nonce = Zeroizing::new(vec![0u8; KEY_LEN]);
    rng.fill(&mut session_nonce);
    let (mut input_iv, mut output_iv) = ([0u8; 16], [0u8; 16]);
    rng.fill(&mut input_iv);
    rng.fill(&mut output_iv);
    let keys = SessionKeys {
        side: Side::Server,
        version: EngineVersion::Legacy,
        key: pbkdf2(secret, &session_nonce),
        client_to_server_iv: input_iv,
        server_to_client_iv: output_iv,
    };
    // Sent in the order nonce, outputIv, inputIv: the IV fields are swapped on purpose.
    let mut fields = [
        session_nonce.to_vec(),
        output_iv.to_vec(),
        input_iv.to_vec(),
    ];
    for f in &mut fields {
        enc.apply_keystream(f);
    }
    let mut out = vec![RESPONSE_TAG];
    put_bytes(&mut out, &response);
    for f in &fields {
        put_bytes(&mut out, f);
    }
    Ok((out, keys))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cipher::ctr_pair;
    use crate::random::OsRandom;

    #[test]
    fn bigint_plus_one_matches_java() {
        let max = [&[0x7F][..], &[0xFF; 15]].concat();
        assert_eq!(
            java_bigint_plus_one(&max),
            [&[0x00, 0x80][..], &[0u8; 15]].concat()
        );
        assert_eq!(java_bigint_plus_one(&[0xFF; 16]), vec![0x00]);
        assert_eq!(java_bigint_plus_one(&[0x00; 16]), vec![0x01]);
        assert_eq!(java_bigint_plus_one(&[0x01, 0xFF]), vec![0x02, 0x00]);
        assert_eq!(java_bigint_plus_one(&[0xFF, 0x7F]), vec![0x80]);
        assert_eq!(java_bigint_plus_one(&[0x80, 0x00]), vec![0x80, 0x01]);
    }

    #[test]
    fn legacy_pair_agrees_and_detects_a_wrong_secret() {
        let (client, challenge) = LegacyClient::start("sparkSaslUser", b"s", &mut OsRandom);
        let (response, server) =
            legacy_server_respond(&challenge, b"s", &mut OsRandom).expect("server");
        let keys = client.finish(&response).expect("client");
        assert_eq!(*keys.key, *server.key);
        let (mut enc, _) = ctr_pair(&keys);
        let (_, mut dec) = ctr_pair(&server);
        let mut m = b"after auth".to_vec();
        enc.apply(&mut m);
        dec.apply(&mut m);
        assert_eq!(m, b"after auth");

        let (_, challenge) = LegacyClient::start("app", b"right", &mut OsRandom);
        assert_eq!(
            legacy_server_respond(&challenge, b"wrong", &mut OsRandom).err(),
            Some(AuthError::WrongSecret { side: Side::Server })
        );
        let (client, challenge) = LegacyClient::start("app", b"right", &mut OsRandom);
        let (mut response, _) =
            legacy_server_respond(&challenge, b"right", &mut OsRandom).expect("server");
        response[6] ^= 1;
        assert_eq!(
            client.finish(&response).err(),
            Some(AuthError::WrongSecret { side: Side::Client })
        );
    }
}
