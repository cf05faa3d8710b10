//! Certificates and PKCS12 keystores for Spark's TLS web UI, made in-process: replaces the
//! security guide's `keytool`/`openssl` steps. A run (or an application) gets its own CA; the
//! serving certificate is signed by it, so a browser or `curl --cacert ca.crt` can verify the UI
//! instead of skipping verification.
//!
//! Keys are ECDSA P-256 (rcgen's ring backend cannot generate RSA); Java 17 accepts the
//! PKCS12 files p12-keystore writes (PBES2/AES-256, HMAC-SHA256).

use std::net::IpAddr;

use p12_keystore::{Certificate as P12Cert, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

/// Alias of the key entry in the keystore.
pub const KEY_ALIAS: &str = "spark-ui";
/// Alias of the CA entry in the truststore.
pub const CA_ALIAS: &str = "sparkop-ca";

/// What could go wrong making TLS material.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Certificate generation failed.
    #[error("could not create a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// Keystore encoding failed.
    #[error("could not write a PKCS12 keystore: {0}")]
    Keystore(#[from] p12_keystore::error::Error),
    /// No randomness from the operating system.
    #[error("no randomness from the operating system: {0}")]
    Random(#[from] getrandom::Error),
    /// A host name that is neither a DNS name nor an IP address.
    #[error("{0:?} is not a valid DNS name or IP address for a certificate")]
    Host(String),
    /// Validity of zero days.
    #[error("validity must be at least one day")]
    Validity,
}

/// What the serving certificate is for.
#[derive(Clone, Debug)]
pub struct Request {
    /// Subject common name.
    pub common_name: String,
    /// DNS names and IP addresses the certificate is valid for.
    pub hosts: Vec<String>,
    /// Validity in days, from now.
    pub days: u32,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            common_name: "localhost".into(),
            hosts: vec!["localhost".into(), "127.0.0.1".into()],
            days: 30,
        }
    }
}

/// A CA, a serving keystore signed by it, a truststore holding the CA, and their passwords.
pub struct Material {
    /// The CA certificate (PEM): what clients trust. Not secret.
    pub ca_pem: String,
    /// PKCS12 keystore: private key, serving certificate and CA.
    pub keystore: Zeroizing<Vec<u8>>,
    /// The keystore (and key) password.
    pub keystore_password: SecretString,
    /// PKCS12 truststore holding only the CA.
    pub truststore: Vec<u8>,
    /// The truststore password.
    pub truststore_password: SecretString,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Material")
            .field("ca_pem", &self.ca_pem)
            .field("keystore", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A shared RPC secret for `spark.authenticate`: 256 random bits as 64 hex characters, held
/// in memory that is wiped when dropped. The one generator of the local runner, the operator
/// and `sparkop secret create --random`.
pub fn random_rpc_secret() -> Result<Zeroizing<String>, PkiError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut())?;
    Ok(Zeroizing::new(hex::encode(bytes.as_ref())))
}

/// A random password: 32 hex characters (128 bits).
pub fn random_password() -> Result<SecretString, PkiError> {
    let mut bytes = Zeroizing::new([0u8; 16]);
    getrandom::fill(bytes.as_mut())?;
    Ok(SecretString::from(hex::encode(bytes.as_ref())))
}

/// Makes a fresh CA and serving keystore for `req`.
pub fn generate(req: &Request) -> Result<Material, PkiError> {
    if req.days == 0 {
        return Err(PkiError::Validity);
    }
    let now = OffsetDateTime::now_utc();
    let not_before = now - Duration::minutes(5);
    let not_after = now + Duration::days(i64::from(req.days));

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sparkop run CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name
        .push(DnType::CommonName, req.common_name.clone());
    leaf.subject_alt_names = req.hosts.iter().map(|h| san(h)).collect::<Result<_, _>>()?;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;

    let keystore_password = random_password()?;
    let truststore_password = random_password()?;
    let ca_p12 = P12Cert::from_der(ca_cert.der())?;
    let chain = PrivateKeyChain::new(
        KEY_ALIAS,
        PrivateKey::from_der(&Zeroizing::new(leaf_key.serialize_der()))?,
        [P12Cert::from_der(leaf_cert.der())?, ca_p12.clone()],
    );
    let mut ks = KeyStore::new();
    ks.add_entry(KEY_ALIAS, KeyStoreEntry::PrivateKeyChain(chain));
    let keystore = Zeroizing::new(ks.writer(keystore_password.expose_secret()).write()?);
    let mut ts = KeyStore::new();
    ts.add_entry(CA_ALIAS, KeyStoreEntry::Certificate(ca_p12));
    let truststore = ts.writer(truststore_password.expose_secret()).write()?;

    Ok(Material {
        ca_pem: ca_cert.pem(),
        keystore,
        keystore_password,
        truststore,
        truststore_password,
    })
}

fn san(host: &str) -> Result<SanType, PkiError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && (l == "*" || l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        });
    if !valid {
        return Err(PkiError::Host(host.into()));
    }
    host.to_owned()
        .try_into()
        .map(SanType::DnsName)
        .map_err(|_| PkiError::Host(host.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p12_keystore::Pkcs12ImportPolicy;

    #[test]
    fn keystore_and_truststore_read_back_with_their_passwords() {
        let m = generate(&Request::default()).expect("generate");
        let ks = KeyStore::from_pkcs12(
            &m.keystore,
            m.keystore_password.expose_secret(),
            Pkcs12ImportPolicy::Strict,
        )
        .expect("keystore");
        let (alias, chain) = ks.private_key_chain().expect("key entry");
        assert_eq!(alias, KEY_ALIAS);
        assert_eq!(chain.certs().len(), 2);
        assert!(chain.certs()[0].subject().contains("localhost"));
        assert!(chain.certs()[1].subject().contains("sparkop run CA"));
        let ts = KeyStore::from_pkcs12(
            &m.truststore,
            m.truststore_password.expose_secret(),
            Pkcs12ImportPolicy::Relaxed,
        )
        .expect("truststore");
        assert!(matches!(
            ts.entry(CA_ALIAS),
            Some(KeyStoreEntry::Certificate(_))
        ));
        assert!(
            KeyStore::from_pkcs12(&m.keystore, "wrong", Pkcs12ImportPolicy::Strict).is_err(),
            "the keystore must be protected by its password"
        );
        assert!(m.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!format!("{m:?}").contains(m.keystore_password.expose_secret()));
    }

    #[test]
    fn passwords_are_fresh_and_long() {
        let a = random_password().expect("random");
        let b = random_password().expect("random");
        assert_eq!(a.expose_secret().len(), 32);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn bad_hosts_and_zero_days_are_refused() {
        for host in ["", "under_score", "a..b", &"x".repeat(64)] {
            let req = Request {
                hosts: vec![host.to_owned()],
                ..Request::default()
            };
            assert!(matches!(generate(&req), Err(PkiError::Host(_))), "{host:?}");
        }
        let req = Request {
            days: 0,
            ..Request::default()
        };
        assert!(matches!(generate(&req), Err(PkiError::Validity)));
    }
}
