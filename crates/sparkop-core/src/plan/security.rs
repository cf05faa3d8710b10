//! The Spark settings that make an application's resolved [`Posture`] true. The only place
//! that turns the security posture into Spark configuration; both backends use its output.

use std::collections::BTreeMap;

use sparkop_api::conf_keys as keys;
use sparkop_api::types::security::TlsVersion;

use super::{AuthSecret, PlanError, SecretRef, UiPlan};
use crate::posture::{Cipher, Posture, SecretSource};

/// The environment variable through which Spark reads the UI keystore password
/// (`${env:…}` in the conf), so the password is never in a file sparkop writes or on argv.
pub const UI_KEYSTORE_PASSWORD_ENV: &str = "SPARKOP_UI_KEYSTORE_PASSWORD";

/// Keys of a keystore Secret (the layout `sparkop keystore create` writes).
pub const KEYSTORE_KEY: &str = "keystore.p12";
/// The keystore password key of a keystore Secret.
pub const KEYSTORE_PASSWORD_KEY: &str = "keystore-password";

/// TLS 1.3 cipher suites: listing only these is what makes Spark's Jetty refuse TLS 1.2
/// (`spark.ssl.protocol=TLSv1.3` alone still accepts it).
pub const TLS13_SUITES: &str = "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256";

/// How the UI gets its TLS material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UiTlsPlan {
    /// sparkop delivers a PKCS12 keystore: from the named Secret (keys `keystore.p12` and
    /// `keystore-password`) or, when `from` is `None`, generated for the application and signed
    /// by a CA the backend owns. The backend sets `spark.ssl.keyStore` to where it put it.
    Keystore {
        /// The Secret holding the keystore, if any.
        from: Option<String>,
        /// Lowest TLS version accepted.
        min_version: TlsVersion,
    },
    /// The user configured the keystore in `sparkConf` (e.g. the guide's TLS example).
    UserConfigured,
}

pub(super) fn keystore_refs(secret: &str) -> [SecretRef; 2] {
    [KEYSTORE_KEY, KEYSTORE_PASSWORD_KEY].map(|key| SecretRef {
        secret: secret.into(),
        key: key.into(),
    })
}

pub(super) struct SecurityPlan {
    pub auth_secret: Option<AuthSecret>,
    pub ui: Option<UiPlan>,
}

/// Adds the security settings to `conf`. Keys the user already set are kept: the policy has
/// already rejected any that contradict the posture.
pub(super) fn apply(
    posture: &Posture,
    conf: &mut BTreeMap<String, String>,
) -> Result<SecurityPlan, PlanError> {
    let mut set = |k: &str, v: &str| {
        conf.entry(k.to_owned()).or_insert_with(|| v.to_owned());
    };
    let auth_secret = if posture.authentication {
        set(keys::AUTHENTICATE, "true");
        set(keys::SASL_FALLBACK, "false");
        match posture.cipher {
            Cipher::AesGcm => {
                set(keys::NETWORK_CRYPTO_ENABLED, "true");
                set(keys::NETWORK_CRYPTO_CIPHER, keys::CIPHER_GCM);
            }
            Cipher::AesCtr => set(keys::NETWORK_CRYPTO_ENABLED, "true"),
            Cipher::Tls => {
                return Err(PlanError::Unsupported(
                    "spec.security.encryption.mode: Tls (RPC TLS) is not implemented by sparkop's \
                     backends yet; use AesGcm or AesCtr"
                        .into(),
                ));
            }
            Cipher::None => {
                return Err(PlanError::Invalid {
                    field: "spec.security.encryption".into(),
                    message: "authentication without encryption sends the secret to the \
                              executors in cleartext; enable encryption"
                        .into(),
                });
            }
        }
        Some(match &posture.secret {
            SecretSource::Referenced { secret_name, key }
            | SecretSource::GuideConvention { secret_name, key } => {
                AuthSecret::FromSecret(SecretRef {
                    secret: secret_name.clone(),
                    key: key.clone(),
                })
            }
            SecretSource::Generated => AuthSecret::Generated,
        })
    } else {
        None
    };
    if posture.authentication && posture.io_encryption {
        set(keys::IO_ENCRYPTION, "true");
    }

    let ui_enabled = conf.get("spark.ui.enabled").is_none_or(|v| v != "false");
    let ui = if ui_enabled {
        let http_port = port(conf, "spark.ui.port")?.unwrap_or(4040);
        let tls = posture.ui_tls.then(|| {
            if conf.contains_key("spark.ssl.keyStore") || conf.contains_key("spark.ssl.ui.keyStore")
            {
                UiTlsPlan::UserConfigured
            } else {
                UiTlsPlan::Keystore {
                    from: posture.ui_keystore_secret.clone(),
                    min_version: posture.ui_min_tls,
                }
            }
        });
        let https_port = match &tls {
            Some(_) => Some(
                port(conf, "spark.ssl.ui.port")?.unwrap_or_else(|| http_port.saturating_add(400)),
            ),
            None => None,
        };
        Some(UiPlan {
            http_port,
            https_port,
            tls,
        })
    } else {
        None
    };
    if let Some(UiTlsPlan::Keystore { min_version, .. }) = ui.as_ref().and_then(|u| u.tls.as_ref())
    {
        let password = format!("${{env:{UI_KEYSTORE_PASSWORD_ENV}}}");
        let mut set = |k: &str, v: &str| {
            conf.entry(k.to_owned()).or_insert_with(|| v.to_owned());
        };
        set(keys::SSL_ENABLED, "true");
        set("spark.ssl.keyStoreType", "PKCS12");
        set("spark.ssl.keyStorePassword", &password);
        set("spark.ssl.keyPassword", &password);
        set(keys::SSL_PROTOCOL, "TLSv1.3");
        if *min_version == TlsVersion::V1_3 {
            set(keys::SSL_ENABLED_ALGORITHMS, TLS13_SUITES);
        }
    }
    Ok(SecurityPlan { auth_secret, ui })
}

fn port(conf: &BTreeMap<String, String>, key: &str) -> Result<Option<u16>, PlanError> {
    conf.get(key)
        .map(|v| {
            v.trim().parse::<u16>().map_err(|_| PlanError::Invalid {
                field: format!("spec.sparkConf[{key}]"),
                message: format!("not a port number: {v:?}"),
            })
        })
        .transpose()
}
