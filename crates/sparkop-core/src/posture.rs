//! The effective security settings of an application: `spec.security`, the security keys of
//! `sparkConf`, the Spark version, and sparkop's secure defaults, resolved once.
//!
//! Both backends and the policy read this, so "what is the default" has one answer.

use sparkop_api::conf_keys as keys;
use sparkop_api::types::security::TlsVersion;
use sparkop_api::{EncryptionMode, SparkApplicationSpec};

use crate::conf::{Conf, ConfBool};
use crate::version::SparkVersion;

/// The RPC cipher an application ends up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    /// AES-GCM (authenticated encryption).
    AesGcm,
    /// AES-CTR (no integrity protection; Spark's default).
    AesCtr,
    /// TLS for RPC (Spark 4).
    Tls,
    /// No encryption.
    None,
}

/// Where the shared RPC secret comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// `spec.security.authentication.secret`.
    Referenced {
        /// Secret name.
        secret_name: String,
        /// Key in the Secret.
        key: String,
    },
    /// The guide's `secretKeyRef.SPARK_AUTHENTICATE_SECRET=name:key` convention.
    GuideConvention {
        /// Secret name.
        secret_name: String,
        /// Key in the Secret.
        key: String,
    },
    /// A random 256-bit secret generated per application.
    Generated,
}

/// The resolved security settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posture {
    /// RPC authentication on.
    pub authentication: bool,
    /// Where the secret comes from (meaningful when authentication is on).
    pub secret: SecretSource,
    /// The RPC cipher.
    pub cipher: Cipher,
    /// Shuffle and spill files encrypted.
    pub io_encryption: bool,
    /// Web UI over TLS.
    pub ui_tls: bool,
    /// Lowest TLS version the UI accepts.
    pub ui_min_tls: TlsVersion,
    /// The Secret holding the UI keystore (`spec.security.ui.tls.keystoreSecret`); `None`
    /// means generated.
    pub ui_keystore_secret: Option<String>,
    /// The Spark version, when it can be told.
    pub version: Option<SparkVersion>,
}

/// Parses the `name:key` form of a `secretKeyRef` setting.
pub fn split_secret_key_ref(value: &str) -> Option<(&str, &str)> {
    let (name, key) = value.split_once(':')?;
    (!name.is_empty() && !key.is_empty() && !key.contains(':')).then_some((name, key))
}

/// The `name:key` form Spark's `secretKeyRef` settings take (the inverse of
/// [`split_secret_key_ref`]).
pub fn join_secret_key_ref(name: &str, key: &str) -> String {
    format!("{name}:{key}")
}

/// The guide's convention, if both or either side uses it (driver first).
pub fn guide_secret_ref(conf: &Conf<'_>) -> Option<(String, String)> {
    [keys::DRIVER_SECRET_KEY_REF, keys::EXECUTOR_SECRET_KEY_REF]
        .iter()
        .find_map(|prefix| conf.get(&format!("{prefix}{}", keys::GUIDE_SECRET_ENV)))
        .and_then(split_secret_key_ref)
        .map(|(n, k)| (n.to_owned(), k.to_owned()))
}

/// Resolves the effective settings of `spec`.
pub fn resolve(spec: &SparkApplicationSpec) -> Posture {
    let conf = Conf::new(spec);
    let security = spec.security.clone().unwrap_or_default();
    let version = SparkVersion::parse(&spec.spark_version)
        .or_else(|| spec.image.as_deref().and_then(SparkVersion::from_image));

    let authentication = security
        .authentication
        .as_ref()
        .and_then(|a| a.enabled)
        .or(conf.bool(keys::AUTHENTICATE).known())
        .unwrap_or(true);

    let secret = match security
        .authentication
        .as_ref()
        .and_then(|a| a.secret.as_ref())
    {
        Some(r) => SecretSource::Referenced {
            secret_name: r.secret_name.clone(),
            key: r.key.clone(),
        },
        None => match guide_secret_ref(&conf) {
            Some((secret_name, key)) => SecretSource::GuideConvention { secret_name, key },
            None => SecretSource::Generated,
        },
    };

    let mode = security
        .encryption
        .as_ref()
        .and_then(|e| e.mode)
        .unwrap_or_default();
    let conf_crypto = conf.bool(keys::NETWORK_CRYPTO_ENABLED).known();
    let conf_cipher = conf.get(keys::NETWORK_CRYPTO_CIPHER);
    let cipher = if !authentication || conf_crypto == Some(false) {
        Cipher::None
    } else {
        match mode {
            EncryptionMode::Disabled => Cipher::None,
            EncryptionMode::AesGcm => Cipher::AesGcm,
            EncryptionMode::AesCtr => Cipher::AesCtr,
            EncryptionMode::Tls => Cipher::Tls,
            EncryptionMode::Auto => match conf_cipher {
                Some(c) if c.eq_ignore_ascii_case(keys::CIPHER_GCM) => Cipher::AesGcm,
                Some(_) => Cipher::AesCtr,
                None if version.is_some_and(SparkVersion::gcm_usable) => Cipher::AesGcm,
                None => Cipher::AesCtr,
            },
        }
    };

    let io_encryption = security
        .io_encryption
        .or(conf.bool(keys::IO_ENCRYPTION).known())
        .unwrap_or(true);

    let ui = security.ui.as_ref().and_then(|u| u.tls.as_ref());
    let conf_ui_tls = conf
        .bool(keys::SSL_UI_ENABLED)
        .known()
        .or(conf.bool(keys::SSL_ENABLED).known());
    let ui_tls = ui.and_then(|t| t.enabled).or(conf_ui_tls).unwrap_or(true);
    let conf_min = conf.get(keys::SSL_PROTOCOL).map(|p| {
        if p.eq_ignore_ascii_case("TLSv1.3") {
            TlsVersion::V1_3
        } else {
            TlsVersion::V1_2
        }
    });
    let ui_min_tls = ui
        .and_then(|t| t.min_version)
        .or(conf_min)
        .unwrap_or(TlsVersion::V1_3);

    Posture {
        authentication,
        secret,
        cipher,
        io_encryption,
        ui_tls,
        ui_min_tls,
        ui_keystore_secret: ui.and_then(|t| t.keystore_secret.clone()),
        version,
    }
}

impl ConfBool {
    /// The value when it is a valid boolean.
    pub fn known(self) -> Option<bool> {
        match self {
            ConfBool::True => Some(true),
            ConfBool::False => Some(false),
            ConfBool::Absent | ConfBool::Invalid => None,
        }
    }
}
