//! SASL DIGEST-MD5 (RFC 2831) as Spark uses it: the path taken when
//! `spark.network.crypto.enabled=false`, or as a fallback (`spark-wire-protocol.md` §4).
//!
//! Client and server, `qop=auth` (authentication, no confidentiality). Spark's `auth-conf`
//! wrapping (3DES/RC4 chosen by the JDK) is deprecated there and not implemented here: a
//! connection that needs it is reported, not spoken.
//!
//! Expected flow (bodies of RpcRequest / RpcResponse):
//! ```text
//! client: SaslClient::start ─ SaslMessage(empty) ─► server
//! client: respond(challenge) ◄─ digest-challenge ── server
//! client ── SaslMessage(digest-response) ─► server
//! client: verify(rspauth) ◄── rspauth=… ────────── server
//! ```

use base64::Engine as _;
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::auth::SASL_MESSAGE_TAG;
use crate::codec::{Reader, put_bytes, put_string};
use crate::error::InvalidMessage;
use crate::random::Random;

/// The user name Spark always uses (`sparkSaslUser`), base64-encoded as Spark sends it.
pub const SASL_USER: &str = "sparkSaslUser";
const REALM: &str = "default";
const DIGEST_URI: &str = "null/default";
const NC: &str = "00000001";

/// SASL failures.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaslError {
    /// The server's challenge is not a DIGEST-MD5 challenge sparkop can answer.
    #[error("unusable DIGEST-MD5 challenge: {0}")]
    BadChallenge(&'static str),
    /// The server only offers `auth-conf` (SASL encryption), which is not implemented.
    #[error("the server requires SASL encryption (qop=auth-conf), which sparkop does not speak")]
    NeedsConfidentiality,
    /// The client's response does not prove it knows the secret.
    #[error("the client's digest is wrong: it does not know the secret")]
    WrongSecret,
    /// The server's `rspauth` does not prove it knows the secret.
    #[error("the server's rspauth is wrong: it does not know the secret (or a relay tampered)")]
    BadServerProof,
    /// A malformed message.
    #[error("malformed SASL message: {0}")]
    Malformed(#[from] InvalidMessage),
}

/// `0xEA | appId | payload`, the body of every client SASL RPC.
pub fn encode_message(app_id: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![SASL_MESSAGE_TAG];
    put_string(&mut out, app_id);
    put_bytes(&mut out, payload);
    out
}

/// Decodes a SASL message (server side and tests).
pub fn decode_message(bytes: &[u8]) -> Result<(String, Vec<u8>), InvalidMessage> {
    let mut r = Reader::new(bytes);
    let tag = r.u8()?;
    if tag != SASL_MESSAGE_TAG {
        return Err(InvalidMessage::WrongTag {
            expected: SASL_MESSAGE_TAG,
            got: tag,
        });
    }
    let app_id = r.string()?;
    let payload = r.bytes()?.to_vec();
    r.finish()?;
    Ok((app_id, payload))
}

/// The password Spark derives from a secret: base64 with a line break every 76 characters, as
/// Netty's encoder writes it (plain base64 is rejected by Spark with "Mismatched response").
pub fn spark_password(secret: &[u8]) -> Zeroizing<String> {
    let plain = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(secret));
    let mut out = Zeroizing::new(String::with_capacity(plain.len() + plain.len() / 76));
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && i % 76 == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    out
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Parses `key=value,key="quoted, value"` directives.
fn directives(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        rest = &rest[eq + 1..];
        let value;
        if let Some(q) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            rest = &q[end.min(q.len())..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        out.push((key, value));
    }
    out
}

/// A DIGEST-MD5 client waiting for the server's challenge.
pub struct SaslClient {
    password: Zeroizing<String>,
    cnonce: String,
}

/// A client that sent its response and waits for `rspauth`.
pub struct SaslAwaitingProof {
    expected_rspauth: Zeroizing<String>,
}

impl SaslClient {
    /// Starts: returns the state and the first message (an empty token).
    pub fn start(app_id: &str, secret: &[u8], rng: &mut dyn Random) -> (Self, Vec<u8>) {
        let mut raw = [0u8; 24];
        rng.fill(&mut raw);
        let cnonce = base64::engine::general_purpose::STANDARD.encode(raw);
        (
            Self {
                password: spark_password(secret),
                cnonce,
            },
            encode_message(app_id, &[]),
        )
    }

    /// Answers the server's digest-challenge; returns the next state and the payload to send
    /// (wrap it with [`encode_message`]).
    pub fn respond(self, challenge: &[u8]) -> Result<(SaslAwaitingProof, Vec<u8>), SaslError> {
        let text =
            std::str::from_utf8(challenge).map_err(|_| SaslError::BadChallenge("not UTF-8"))?;
        let d = directives(text);
        let get = |k: &str| d.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let nonce = get("nonce").ok_or(SaslError::BadChallenge("no nonce"))?;
        if get("algorithm") != Some("md5-sess") {
            return Err(SaslError::BadChallenge("algorithm is not md5-sess"));
        }
        let qops: Vec<&str> = get("qop")
            .unwrap_or("auth")
            .split(',')
            .map(str::trim)
            .collect();
        if !qops.contains(&"auth") {
            return Err(if qops.contains(&"auth-conf") {
                SaslError::NeedsConfidentiality
            } else {
                SaslError::BadChallenge("no usable qop")
            });
        }
        let realm = get("realm").unwrap_or(REALM);
        let user = base64::engine::general_purpose::STANDARD.encode(SASL_USER);
        let response = digest(
            &self.password,
            realm,
            nonce,
            &self.cnonce,
            &format!("AUTHENTICATE:{DIGEST_URI}"),
        );
        let expected_rspauth = digest(
            &self.password,
            realm,
            nonce,
            &self.cnonce,
            &format!(":{DIGEST_URI}"),
        );
        let payload = format!(
            "charset=utf-8,username=\"{user}\",realm=\"{realm}\",nonce=\"{nonce}\",nc={NC},cnonce=\"{}\",digest-uri=\"{DIGEST_URI}\",maxbuf=65536,response={},qop=auth",
            self.cnonce,
            response.as_str()
        );
        Ok((SaslAwaitingProof { expected_rspauth }, payload.into_bytes()))
    }
}

impl SaslAwaitingProof {
    /// Checks the server's `rspauth=…` (mutual authentication), in constant time.
    pub fn verify(self, server_final: &[u8]) -> Result<(), SaslError> {
        let text = std::str::from_utf8(server_final).map_err(|_| SaslError::BadServerProof)?;
        let got = directives(text)
            .into_iter()
            .find(|(k, _)| k == "rspauth")
            .map(|(_, v)| v)
            .ok_or(SaslError::BadServerProof)?;
        if bool::from(got.as_bytes().ct_eq(self.expected_rspauth.as_bytes())) {
            Ok(())
        } else {
            Err(SaslError::BadServerProof)
        }
    }
}

/// The digest both sides compute: `KD(H(A1), nonce:nc:cnonce:auth:H(A2))`.
fn digest(password: &str, realm: &str, nonce: &str, cnonce: &str, a2: &str) -> Zeroizing<String> {
    let user = base64::engine::general_purpose::STANDARD.encode(SASL_USER);
    let secret_hash = md5(&[
        user.as_bytes(),
        b":",
        realm.as_bytes(),
        b":",
        password.as_bytes(),
    ]);
    let a1 = [
        &secret_hash[..],
        b":",
        nonce.as_bytes(),
        b":",
        cnonce.as_bytes(),
    ]
    .concat();
    let ha1 = Zeroizing::new(hex::encode(md5(&[&a1])));
    let ha2 = hex::encode(md5(&[a2.as_bytes()]));
    Zeroizing::new(hex::encode(md5(&[
        ha1.as_bytes(),
        b":",
        nonce.as_bytes(),
        b":",
        NC.as_bytes(),
        b":",
        cnonce.as_bytes(),
        b":auth:",
        ha2.as_bytes(),
    ])))
}

/// A DIGEST-MD5 server (as Spark's `SparkSaslServer` with `qop=auth`).
pub struct SaslServer {
    password: Zeroizing<String>,
    nonce: String,
}

impl SaslServer {
    /// A server for `secret`, with a fresh nonce.
    pub fn new(secret: &[u8], rng: &mut dyn Random) -> Self {
        let mut raw = [0u8; 30];
        rng.fill(&mut raw);
        Self {
            password: spark_password(secret),
            nonce: base64::engine::general_purpose::STANDARD.encode(raw),
        }
    }

    /// The digest-challenge answering the client's empty first message.
    pub fn challenge(&self) -> Vec<u8> {
        format!(
            "realm=\"{REALM}\",nonce=\"{}\",qop=\"auth\",charset=utf-8,algorithm=md5-sess",
            self.nonce
        )
        .into_bytes()
    }

    /// Checks the client's digest-response; returns the `rspauth=…` proof to send back.
    pub fn verify(self, response: &[u8]) -> Result<Vec<u8>, SaslError> {
        let text = std::str::from_utf8(response)
            .map_err(|_| SaslError::BadChallenge("response is not UTF-8"))?;
        let d = directives(text);
        let get = |k: &str| d.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let user = base64::engine::general_purpose::STANDARD.encode(SASL_USER);
        let checks = [
            (get("username") == Some(user.as_str()), "unknown user"),
            (get("realm").unwrap_or(REALM) == REALM, "wrong realm"),
            (get("nonce") == Some(self.nonce.as_str()), "wrong nonce"),
            (get("digest-uri") == Some(DIGEST_URI), "wrong digest-uri"),
            (get("qop").unwrap_or("auth") == "auth", "unsupported qop"),
            (get("nc") == Some(NC), "unexpected nonce count"),
        ];
        if let Some((_, why)) = checks.iter().find(|(ok, _)| !ok) {
            return Err(SaslError::BadChallenge(why));
        }
        let cnonce = get("cnonce").ok_or(SaslError::BadChallenge("no cnonce"))?;
        let expected = digest(
            &self.password,
            REALM,
            &self.nonce,
            cnonce,
            &format!("AUTHENTICATE:{DIGEST_URI}"),
        );
        let got = get("response").unwrap_or_default();
        if got.len() != expected.len() || !bool::from(got.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(SaslError::WrongSecret);
        }
        let rspauth = digest(
            &self.password,
            REALM,
            &self.nonce,
            cnonce,
            &format!(":{DIGEST_URI}"),
        );
        Ok(format!("rspauth={}", rspauth.as_str()).into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::FixedRandom;

    #[test]
    fn password_breaks_lines_like_netty() {
        let secret = "a".repeat(64);
        let p = spark_password(secret.as_bytes());
        let lines: Vec<&str> = p.split('\n').collect();
        assert_eq!(
            lines.iter().map(|l| l.len()).collect::<Vec<_>>(),
            vec![76, 12]
        );
        assert!(!spark_password(b"short").contains('\n'));
    }

    #[test]
    fn parses_quoted_directives() {
        let d = directives(
            r#"realm="default",nonce="a,b\"c",qop="auth-conf,auth",charset=utf-8,algorithm=md5-sess"#,
        );
        assert_eq!(d[1], ("nonce".into(), "a,b\"c".into()));
        assert_eq!(d[2], ("qop".into(), "auth-conf,auth".into()));
        assert_eq!(d[4], ("algorithm".into(), "md5-sess".into()));
    }

    /// RFC 2831's worked example (user chris, realm elwood.innosoft.com, password secret) checks the
    /// digest arithmetic; Spark's variant differs only in its fixed user, realm and URI.
    #[test]
    fn digest_matches_rfc_2831_arithmetic() {
        let ha1_input = md5(&[b"chris:elwood.innosoft.com:secret"]);
        let a1 = [&ha1_input[..], b":OA6MG9tEQGm2hh:OA6MHXh6VqTrRk"].concat();
        let ha1 = hex::encode(md5(&[&a1]));
        let ha2 = hex::encode(md5(&[b"AUTHENTICATE:imap/elwood.innosoft.com"]));
        let response = hex::encode(md5(&[format!(
            "{ha1}:OA6MG9tEQGm2hh:00000001:OA6MHXh6VqTrRk:auth:{ha2}"
        )
        .as_bytes()]));
        assert_eq!(response, "d388dad90d4bbd760a152321f2143af7");
        let ha2 = hex::encode(md5(&[b":imap/elwood.innosoft.com"]));
        let rspauth = hex::encode(md5(&[format!(
            "{ha1}:OA6MG9tEQGm2hh:00000001:OA6MHXh6VqTrRk:auth:{ha2}"
        )
        .as_bytes()]));
        assert_eq!(rspauth, "ea40f60335c427b5527b84dbabcdfffd");
    }

    #[test]
    fn refuses_confidentiality_only_and_bad_proofs() {
        let (c, first) = SaslClient::start("app", b"s", &mut FixedRandom::new(vec![1; 24]));
        assert_eq!(
            decode_message(&first).expect("decodes"),
            ("app".into(), vec![])
        );
        let r = c.respond(br#"realm="default",nonce="n",qop="auth-conf",algorithm=md5-sess"#);
        assert!(matches!(r, Err(SaslError::NeedsConfidentiality)));
        let (c, _) = SaslClient::start("app", b"s", &mut FixedRandom::new(vec![1; 24]));
        let (proof, payload) = c
            .respond(br#"realm="default",nonce="n",qop="auth",algorithm=md5-sess"#)
            .expect("responds");
        let text = String::from_utf8(payload).expect("utf8");
        assert!(
            text.contains("digest-uri=\"null/default\"")
                && text.contains("username=\"c3BhcmtTYXNsVXNlcg==\""),
            "{text}"
        );
        assert_eq!(
            proof.verify(b"rspauth=00000000000000000000000000000000"),
            Err(SaslError::BadServerProof)
        );
    }

    #[test]
    fn rust_client_and_server_authenticate_each_other() {
        let server = SaslServer::new(b"secret", &mut crate::random::OsRandom);
        let (c, _) = SaslClient::start("app", b"secret", &mut crate::random::OsRandom);
        let (proof, response) = c.respond(&server.challenge()).expect("respond");
        let rspauth = server.verify(&response).expect("verified");
        proof.verify(&rspauth).expect("mutual");
        let server = SaslServer::new(b"secret", &mut crate::random::OsRandom);
        let (c, _) = SaslClient::start("app", b"other", &mut crate::random::OsRandom);
        let (_, response) = c.respond(&server.challenge()).expect("respond");
        assert_eq!(server.verify(&response), Err(SaslError::WrongSecret));
    }
}
