//! Live RPC audit: connect to a Spark endpoint as a peer and state facts — does it accept an
//! unauthenticated RPC, which auth protocol does it speak, does it still offer SASL, and with the
//! right secret, which cipher protects the session.
//!
//! The probes use `spark-wire` and send only what a Spark peer would; the only payloads after
//! authentication are short probe bytes, which a Spark endpoint rejects harmlessly.

use std::net::SocketAddr;
use std::time::Duration;

use spark_wire::auth::EngineVersion;
use spark_wire::net::{self, CipherKind, NetError, Options, Security};
use spark_wire::sasl;
use sparkop_api::Severity;
use zeroize::Zeroizing;

use crate::finding::Finding;

/// Stable ids of RPC findings.
pub mod ids {
    /// The endpoint processes RPCs without authentication.
    pub const UNAUTHENTICATED: &str = "SPK-AUD-RPC-001";
    /// The endpoint speaks the legacy protocol with the broken key exchange (CVE-2021-38296).
    pub const LEGACY_PROTOCOL: &str = "SPK-AUD-RPC-002";
    /// The endpoint authenticates with SASL only: no AES encryption of the traffic.
    pub const SASL_ONLY: &str = "SPK-AUD-RPC-003";
    /// The endpoint accepts a SASL handshake besides AES (a downgrade path).
    pub const SASL_FALLBACK: &str = "SPK-AUD-RPC-004";
    /// The session is encrypted with AES-CTR, which has no integrity protection.
    pub const CTR_CIPHER: &str = "SPK-AUD-RPC-005";
    /// The session is encrypted with AES-GCM.
    pub const GCM_CIPHER: &str = "SPK-AUD-RPC-006";
    /// The endpoint refuses a wrong secret.
    pub const WRONG_SECRET_REFUSED: &str = "SPK-AUD-RPC-007";
    /// The given secret was not accepted by any supported protocol setting.
    pub const SECRET_NOT_ACCEPTED: &str = "SPK-AUD-RPC-008";
    /// The endpoint could not be reached.
    pub const UNREACHABLE: &str = "SPK-AUD-RPC-009";
    /// No secret was given, so encryption could not be checked.
    pub const NOT_VERIFIED: &str = "SPK-AUD-RPC-010";

    /// Every RPC finding id, for documentation checks.
    pub const ALL: &[&str] = &[
        UNAUTHENTICATED,
        LEGACY_PROTOCOL,
        SASL_ONLY,
        SASL_FALLBACK,
        CTR_CIPHER,
        GCM_CIPHER,
        WRONG_SECRET_REFUSED,
        SECRET_NOT_ACCEPTED,
        UNREACHABLE,
        NOT_VERIFIED,
    ];
}

#[cfg(test)]
mod tests {
    #[test]
    fn options_never_print_the_secret() {
        let o = super::RpcAuditOptions {
            secret: Some(zeroize::Zeroizing::new(b"TopSecret".to_vec())),
            ..Default::default()
        };
        assert!(!format!("{o:?}").contains("TopSecret") && !format!("{o:?}").contains("84, 111"));
    }

    #[test]
    fn every_rpc_finding_is_documented() {
        crate::finding::assert_documented(super::ids::ALL);
    }
}

/// What to audit with.
#[derive(Clone)]
pub struct RpcAuditOptions {
    /// The application's shared secret, if known (enables the encryption checks).
    pub secret: Option<Zeroizing<Vec<u8>>>,
    /// App id for the handshake (`sparkSaslUser` for drivers, executors and standalone daemons).
    pub app_id: String,
    /// Timeout of each probe step.
    pub timeout: Duration,
}

impl std::fmt::Debug for RpcAuditOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcAuditOptions")
            .field("secret", &self.secret.as_ref().map(|_| "<hidden>"))
            .field("app_id", &self.app_id)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for RpcAuditOptions {
    fn default() -> Self {
        Self {
            secret: None,
            app_id: "sparkSaslUser".into(),
            timeout: Duration::from_secs(5),
        }
    }
}

/// The probe RPC every endpoint must answer. Its first byte is no block-transfer message
/// type (0–19): a block manager decodes a body starting with 0 as OpenBlocks, fails on the
/// rest and drops it without an answer ("Ignored a corrupted RPC message"), which looked like
/// a cipher mismatch; 0xFF gets "Unknown message type: -1" back, as an RpcEnv answers any
/// body it cannot read with a failure.
const PROBE: &[u8] = b"\xffsparkop-audit-probe";

fn opts(o: &RpcAuditOptions) -> Options {
    Options {
        app_id: o.app_id.clone(),
        timeout: o.timeout,
        max_frame: 1 << 20,
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(160)
        .collect()
}

fn random_secret() -> Zeroizing<Vec<u8>> {
    let mut b = [0u8; 32];
    // Failure only lowers the probe's secret entropy; it is never a real secret.
    let _ = getrandom::fill(&mut b);
    Zeroizing::new(hex::encode(b).into_bytes())
}

/// How the endpoint answered a handshake attempt.
#[derive(Debug)]
enum Answer {
    /// The handshake completed.
    Accepted,
    /// An RPC failure with this first line.
    Refused(String),
    /// The connection closed or timed out.
    Silent(String),
    /// The reply was not a handshake reply at all (no auth in place).
    NotAHandshake(String),
}

impl Answer {
    fn describe(&self) -> String {
        match self {
            Answer::Accepted => "the handshake completed".into(),
            Answer::Refused(e) => format!("RpcFailure \"{e}\""),
            Answer::Silent(e) => format!("no answer ({e})"),
            Answer::NotAHandshake(e) => format!("a reply that is not a handshake ({e})"),
        }
    }
}

fn classify<T>(r: Result<T, NetError>) -> Answer {
    match r {
        Ok(_) => Answer::Accepted,
        Err(NetError::Remote(e)) => Answer::Refused(first_line(&e)),
        Err(NetError::Auth(e)) => Answer::NotAHandshake(e.to_string()),
        Err(NetError::Sasl(e)) => Answer::NotAHandshake(e.to_string()),
        Err(e) => Answer::Silent(e.to_string()),
    }
}

/// Audits the Spark RPC endpoint at `addr`.
pub async fn audit_rpc(addr: SocketAddr, o: &RpcAuditOptions) -> Vec<Finding> {
    let target = addr.to_string();
    let mut out = Vec::new();

    // 1. An RPC without any authentication.
    let plain = match net::connect_plain(addr, opts(o)).await {
        Ok(mut c) => c.rpc(PROBE).await,
        Err(e) => {
            out.push(
                Finding::new(
                    ids::UNREACHABLE,
                    Severity::Error,
                    &target,
                    "the endpoint cannot be reached",
                    e.to_string(),
                )
                .fix("check the address and that the application is running"),
            );
            return out;
        }
    };
    let refusal_markers = [
        "Unknown challenge",
        "Expected SaslMessage",
        "Authentication failed",
        "SecurityException",
        "ClientChallenge",
    ];
    let unauthenticated = match &plain {
        Ok(_) => Some("got an RpcResponse".to_owned()),
        Err(NetError::Remote(e)) if !refusal_markers.iter().any(|m| e.contains(m)) => {
            Some(format!(
                "the endpoint processed it and answered RpcFailure \"{}\"",
                first_line(e)
            ))
        }
        _ => None,
    };
    if let Some(seen) = unauthenticated {
        out.push(
            Finding::new(
                ids::UNAUTHENTICATED,
                Severity::Error,
                &target,
                "the endpoint accepts RPCs without authentication: anyone who reaches it can talk to Spark",
                format!("sent a {}-byte RpcRequest without a handshake; {seen}", PROBE.len()),
            )
            .fix("remove spark.authenticate=\"false\" / spec.security.authentication.enabled=false (sparkop enables authentication with encryption by default)"),
        );
        return out;
    }

    // 2. Which protocol: the current handshake with a random (wrong) secret.
    let wrong = Security {
        secret: random_secret(),
        version: EngineVersion::V1,
        cipher: CipherKind::AesCtr,
    };
    let current = classify(net::connect(addr, &wrong, opts(o)).await);
    let mut protocol = "unknown";
    match &current {
        Answer::Refused(e) if e.contains("Authentication failed") => {
            protocol = "aes";
            out.push(Finding::new(
                ids::WRONG_SECRET_REFUSED,
                Severity::Info,
                &target,
                "the endpoint speaks Spark's current X25519 auth protocol and refuses a wrong secret",
                format!("sent an AuthMessage (0xFB) built from a random secret; got RpcFailure \"{e}\""),
            ));
        }
        Answer::Refused(e) if e.contains("Expected SaslMessage") => {
            protocol = "sasl";
            out.push(
                Finding::new(
                    ids::SASL_ONLY,
                    Severity::Error,
                    &target,
                    "the endpoint authenticates with SASL DIGEST-MD5 only: RPC traffic is not AES-encrypted",
                    format!("sent an AuthMessage (0xFB); got RpcFailure \"{e}\""),
                )
                .fix("set spark.network.crypto.enabled=\"true\" (sparkop's default; remove spec.security.encryption.mode: Disabled)"),
            );
        }
        _ => {}
    }
    if protocol == "unknown" {
        let legacy = classify(net::connect_legacy(addr, &random_secret(), opts(o)).await);
        let is_legacy = match &legacy {
            Answer::Refused(e) => {
                !e.contains("Unknown challenge") && !e.contains("Expected SaslMessage")
            }
            _ => false,
        };
        if is_legacy {
            protocol = "legacy";
            out.push(
                Finding::new(
                    ids::LEGACY_PROTOCOL,
                    Severity::Error,
                    &target,
                    "the endpoint speaks the legacy PBKDF2 auth protocol of Spark ≤ 3.1.2, whose key exchange is broken (CVE-2021-38296)",
                    format!("the current AuthMessage got {}; a legacy ClientChallenge (0xFA) with a random secret got {}", current.describe(), legacy.describe()),
                )
                .fix("upgrade Spark to 3.5.9 or 4.x (spec.sparkVersion and the image)"),
            );
        }
    }

    // 3. SASL offered beside AES?
    if protocol == "aes" {
        let sasl_offered = match net::connect_plain(addr, opts(o)).await {
            Ok(mut c) => match c.rpc(&sasl::encode_message(&o.app_id, &[])).await {
                Ok(body) => String::from_utf8_lossy(&body).contains("nonce="),
                Err(_) => false,
            },
            Err(_) => false,
        };
        if sasl_offered {
            out.push(
                Finding::new(
                    ids::SASL_FALLBACK,
                    Severity::Warning,
                    &target,
                    "the endpoint also accepts a SASL DIGEST-MD5 handshake: a downgrade path around AES",
                    "sent a SaslMessage (0xEA) with an empty token; got a DIGEST-MD5 challenge",
                )
                .fix("set spark.network.crypto.saslFallback=\"false\" (sparkop's default)"),
            );
        }
    }

    // 4. With the right secret: does it work, and which cipher protects the session?
    match &o.secret {
        None => out.push(Finding::new(
            ids::NOT_VERIFIED,
            Severity::Info,
            &target,
            "no secret given: authentication is required, but the session cipher was not checked",
            "probes above used only random secrets",
        )),
        Some(secret) => out.extend(with_secret(addr, o, secret, protocol, &target).await),
    }
    out
}

async fn with_secret(
    addr: SocketAddr,
    o: &RpcAuditOptions,
    secret: &Zeroizing<Vec<u8>>,
    protocol: &str,
    target: &str,
) -> Vec<Finding> {
    let attempts: Vec<(EngineVersion, CipherKind)> = match protocol {
        "sasl" => vec![(EngineVersion::V1, CipherKind::Sasl)],
        "legacy" => vec![(EngineVersion::Legacy, CipherKind::AesCtr)],
        _ => vec![
            (EngineVersion::V1, CipherKind::AesGcm),
            (EngineVersion::V2, CipherKind::AesGcm),
            (EngineVersion::V1, CipherKind::AesCtr),
            (EngineVersion::V2, CipherKind::AesCtr),
        ],
    };
    let mut tried = Vec::new();
    for (version, cipher) in attempts {
        let sec = Security {
            secret: secret.clone(),
            version,
            cipher,
        };
        // Why a setting did not work goes into the evidence: a timeout after a good
        // handshake is not the same as a refused secret.
        let answered = match net::connect(addr, &sec, opts(o)).await {
            Ok(mut c) => match c.rpc(PROBE).await {
                Ok(_) | Err(NetError::Remote(_)) => Ok(()),
                Err(e) => Err(format!("authenticated, then the probe failed: {e}")),
            },
            Err(e) => Err(e.to_string()),
        };
        if let Err(why) = answered {
            tried.push(format!("{version:?}/{cipher:?} ({})", first_line(&why)));
            continue;
        }
        let evidence = format!(
            "authenticated with the given secret ({version:?}, {cipher:?}) and got an answer to an encrypted probe RPC"
        );
        return vec![match cipher {
            CipherKind::AesGcm => Finding::new(ids::GCM_CIPHER, Severity::Info, target, "the session is encrypted with AES-GCM (authenticated encryption)", evidence),
            CipherKind::AesCtr => Finding::new(
                ids::CTR_CIPHER,
                Severity::Warning,
                target,
                "the session is encrypted with AES-CTR, which has no integrity protection (CVE-2025-55039)",
                evidence,
            )
            .fix("use Spark 3.5.9 / 4.0.4+ and spec.security.encryption.mode: Auto (or spark.network.crypto.cipher=AES/GCM/NoPadding)"),
            CipherKind::Sasl => Finding::new(ids::SASL_ONLY, Severity::Info, target, "the given secret authenticates over SASL (traffic unencrypted, see SPK-AUD-RPC-003)", evidence),
        }];
    }
    vec![
        Finding::new(
            ids::SECRET_NOT_ACCEPTED,
            Severity::Error,
            target,
            "the given secret was not accepted with any protocol setting",
            format!("tried {}", tried.join(", ")),
        )
        .fix("check that the secret is the application's (spec.security.authentication.secret)"),
    ]
}
