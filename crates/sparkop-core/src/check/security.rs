//! The security policy of DESIGN.md ("Rules sparkop applies"). Messages never contain a
//! secret value: they name the field instead.

use sparkop_api::conf_keys as keys;
use sparkop_api::types::security::TlsVersion;
use sparkop_api::{EncryptionMode, FieldPath, SparkApplicationSpec};

use super::Findings;
use crate::conf::{Conf, ConfBool};
use crate::posture::{self, Cipher, SecretSource};
use crate::rules as r;

pub(super) fn check(spec: &SparkApplicationSpec, base: &FieldPath, f: &mut Findings) {
    let conf = Conf::new(spec);
    let p = posture::resolve(spec);
    let sc = |k: &str| base.key("sparkConf").key(k);
    let sec = base.key("security");
    let security = spec.security.clone().unwrap_or_default();
    let auth_explicit = security.authentication.as_ref().and_then(|a| a.enabled);
    let mode_explicit = security.encryption.as_ref().and_then(|e| e.mode);

    // Rule 5: encryption without authentication (the guide says so; Spark silently ignores it).
    let crypto_on = conf.bool(keys::NETWORK_CRYPTO_ENABLED) == ConfBool::True;
    let sasl_on = conf.bool(keys::SASL_ENCRYPTION) == ConfBool::True;
    if crypto_on || sasl_on {
        let key = if crypto_on {
            keys::NETWORK_CRYPTO_ENABLED
        } else {
            keys::SASL_ENCRYPTION
        };
        match conf.bool(keys::AUTHENTICATE) {
            ConfBool::True => {}
            ConfBool::False => f.error(
                r::ENCRYPTION_WITHOUT_AUTH,
                sc(key),
                "encryption is requested but spark.authenticate is \"false\"; Spark then encrypts nothing",
                Some("set spark.authenticate: \"true\" (or remove both to get sparkop's secure default)".into()),
            ),
            _ => f.error(
                r::ENCRYPTION_WITHOUT_AUTH,
                sc(key),
                "encryption requires spark.authenticate: \"true\", which is not set",
                Some("add \"spark.authenticate\": \"true\" to sparkConf; without it other operators and Spark itself send everything in cleartext".into()),
            ),
        }
    }
    if auth_explicit == Some(false)
        && mode_explicit
            .is_some_and(|m| !matches!(m, EncryptionMode::Auto | EncryptionMode::Disabled))
    {
        f.error(
            r::ENCRYPTION_WITHOUT_AUTH,
            sec.key("encryption").key("mode"),
            "encryption needs authentication, but security.authentication.enabled is false",
            None,
        );
    }

    // Rule 3: authentication always comes with encryption.
    if p.authentication && p.cipher == Cipher::None {
        let path = if conf.bool(keys::NETWORK_CRYPTO_ENABLED) == ConfBool::False {
            sc(keys::NETWORK_CRYPTO_ENABLED)
        } else {
            sec.key("encryption").key("mode")
        };
        f.error(
            r::AUTH_WITHOUT_ENCRYPTION,
            path,
            "authentication without encryption sends the shared secret to executors in cleartext",
            Some("keep encryption on (remove the opt-out), or turn authentication off explicitly as well".into()),
        );
    }

    // Rule 6: explicit opt-outs are recorded.
    if !p.authentication {
        let path = if auth_explicit == Some(false) {
            sec.key("authentication").key("enabled")
        } else {
            sc(keys::AUTHENTICATE)
        };
        f.warning(
            r::AUTH_DISABLED,
            path,
            "RPC authentication is turned off: anyone who reaches the driver's port can run code in it",
            Some("remove the opt-out; sparkop generates a secret per application".into()),
        );
    }
    if p.authentication && mode_explicit == Some(EncryptionMode::Disabled) {
        f.warning(
            r::ENCRYPTION_DISABLED,
            sec.key("encryption").key("mode"),
            "RPC encryption is turned off",
            None,
        );
    }
    if !p.ui_tls {
        let path = match security
            .ui
            .as_ref()
            .and_then(|u| u.tls.as_ref())
            .and_then(|t| t.enabled)
        {
            Some(false) => sec.key("ui").key("tls").key("enabled"),
            _ if conf.bool(keys::SSL_UI_ENABLED) == ConfBool::False => sc(keys::SSL_UI_ENABLED),
            _ => sc(keys::SSL_ENABLED),
        };
        f.warning(
            r::UI_TLS_DISABLED,
            path,
            "the web UI is served over plain HTTP",
            Some("remove the opt-out; sparkop generates a keystore per application".into()),
        );
    }
    if !p.io_encryption {
        let path = if security.io_encryption == Some(false) {
            sec.key("ioEncryption")
        } else {
            sc(keys::IO_ENCRYPTION)
        };
        f.warning(
            r::IO_ENCRYPTION_DISABLED,
            path,
            "shuffle and spill files are written unencrypted",
            None,
        );
    }
    if conf.bool(keys::SASL_FALLBACK) == ConfBool::True {
        f.warning(
            r::SASL_FALLBACK,
            sc(keys::SASL_FALLBACK),
            "SASL fallback lets a peer downgrade from the AES handshake to DIGEST-MD5",
            Some("set it to \"false\" (sparkop's default)".into()),
        );
    }
    if p.ui_tls && p.ui_min_tls == TlsVersion::V1_2 {
        let path = match security
            .ui
            .as_ref()
            .and_then(|u| u.tls.as_ref())
            .and_then(|t| t.min_version)
        {
            Some(_) => sec.key("ui").key("tls").key("minVersion"),
            None => sc(keys::SSL_PROTOCOL),
        };
        f.warning(
            r::TLS_12_ALLOWED,
            path,
            "the web UI accepts TLS 1.2",
            Some("use TLS 1.3 only (sparkop's default)".into()),
        );
    }

    // Contradictions between spec.security and sparkConf name both places.
    if let (Some(explicit), ConfBool::True | ConfBool::False) =
        (auth_explicit, conf.bool(keys::AUTHENTICATE))
        && conf.bool(keys::AUTHENTICATE).known() != Some(explicit)
    {
        f.error(
            r::CONTRADICTION,
            sec.key("authentication").key("enabled"),
            format!("is {explicit}, but sparkConf[\"spark.authenticate\"] says otherwise"),
            Some("remove one of the two settings".into()),
        );
    }
    if let (Some(mode), Some(cipher)) = (mode_explicit, conf.get(keys::NETWORK_CRYPTO_CIPHER)) {
        let gcm = cipher.eq_ignore_ascii_case(keys::CIPHER_GCM);
        if (mode == EncryptionMode::AesCtr && gcm) || (mode == EncryptionMode::AesGcm && !gcm) {
            f.error(
                r::CONTRADICTION,
                sec.key("encryption").key("mode"),
                format!(
                    "is {mode:?}, but sparkConf[\"spark.network.crypto.cipher\"] is {cipher:?}"
                ),
                Some("remove one of the two settings".into()),
            );
        }
    }

    // Literal secrets and escalation keys in sparkConf.
    for (key, value) in conf.iter() {
        if keys::is_literal_secret_key(key) && !keys::is_reference(value) {
            f.error(
                r::LITERAL_SECRET,
                sc(key),
                "a secret value is written in the manifest (value hidden)",
                Some(if key.starts_with(keys::AUTHENTICATE_SECRET) {
                    "reference a Secret in spec.security.authentication.secret instead".into()
                } else {
                    "keep it in a Secret and write \"${env:VAR}\" here, with VAR set from the Secret by secretKeyRef".into()
                }),
            );
        }
        if keys::is_escalation_key(key) {
            f.error(
                r::ESCALATION_KEY,
                sc(key),
                "sets the master, namespace, service account or API credentials, which the operator owns",
                Some("remove it; use metadata.namespace and spec.driver/executor.serviceAccount".into()),
            );
        }
    }

    // Literal secrets in pod environment values.
    for role in ["driver", "executor"] {
        let env = if role == "driver" {
            &spec.driver.env
        } else {
            &spec.executor.env
        };
        for (i, var) in env.iter().flatten().enumerate() {
            if var.value.as_deref().is_some_and(|v| !v.is_empty())
                && keys::is_secret_env_name(&var.name)
            {
                f.error(
                    r::LITERAL_ENV_SECRET,
                    base.key(role).key("env").index(i).key("value"),
                    format!(
                        "environment variable {} looks secret but has a literal value (hidden)",
                        var.name
                    ),
                    Some("use valueFrom.secretKeyRef".into()),
                );
            }
        }
    }

    // The guide's SPARK_AUTHENTICATE_SECRET convention.
    let driver_ref = conf.get(&format!(
        "{}{}",
        keys::DRIVER_SECRET_KEY_REF,
        keys::GUIDE_SECRET_ENV
    ));
    let executor_ref = conf.get(&format!(
        "{}{}",
        keys::EXECUTOR_SECRET_KEY_REF,
        keys::GUIDE_SECRET_ENV
    ));
    if driver_ref.is_some() || executor_ref.is_some() {
        let path = sc(&format!(
            "{}{}",
            keys::DRIVER_SECRET_KEY_REF,
            keys::GUIDE_SECRET_ENV
        ));
        if driver_ref != executor_ref {
            f.error(
                r::GUIDE_SECRET_CONVENTION,
                path,
                "driver and executors must use the same SPARK_AUTHENTICATE_SECRET reference",
                Some("set spark.kubernetes.driver.secretKeyRef.SPARK_AUTHENTICATE_SECRET and spark.kubernetes.executor.secretKeyRef.SPARK_AUTHENTICATE_SECRET to the same name:key".into()),
            );
        } else if matches!(p.secret, SecretSource::GuideConvention { .. }) {
            f.info(
                r::GUIDE_SECRET_CONVENTION,
                path,
                "upstream Spark never reads SPARK_AUTHENTICATE_SECRET; sparkop delivers this Secret key to Spark as a file instead",
                Some("prefer spec.security.authentication.secret".into()),
            );
        }
    }

    // Versions.
    check_version_rules(spec, base, &p, f);
}

fn check_version_rules(
    spec: &SparkApplicationSpec,
    base: &FieldPath,
    p: &posture::Posture,
    f: &mut Findings,
) {
    let Some(v) = p.version else { return };
    let at = if SparkVersionSource::Declared == source(spec) {
        base.key("sparkVersion")
    } else {
        base.key("image")
    };
    if v.has_broken_key_exchange() {
        let msg = format!(
            "Spark {v} uses an RPC key exchange that lets an attacker recover the session key (CVE-2021-38296)"
        );
        let hint = Some("upgrade to Spark 3.5.9 or 4.x (3.1.3 is the first fixed release)".into());
        if p.authentication {
            f.error(r::CVE_2021_38296, at.clone(), msg, hint)
        } else {
            f.warning(r::CVE_2021_38296, at.clone(), msg, hint)
        }
    } else if !v.offers_gcm() && p.cipher == Cipher::AesCtr {
        f.warning(
            r::CVE_2025_55039,
            at.clone(),
            format!("Spark {v} only has AES-CTR for RPC, which has no integrity protection (CVE-2025-55039)"),
            Some("upgrade to Spark 3.5.9 or 4.0.4+ for working AES-GCM".into()),
        );
    }
    if p.cipher == Cipher::AesGcm && !v.gcm_usable() {
        let why = if v.has_broken_gcm() {
            "is broken (only the first message decrypts)"
        } else {
            "does not exist"
        };
        f.error(
            r::GCM_BROKEN,
            at.clone(),
            format!("AES-GCM is requested, but in Spark {v} it {why}"),
            Some("use encryption mode Auto (AES-CTR here) or upgrade to 3.5.9, 4.0.4, 4.1.3 or 4.2.0+".into()),
        );
    }
    if p.cipher == Cipher::Tls && !v.offers_rpc_tls() {
        f.error(
            r::RPC_TLS_UNAVAILABLE,
            at,
            format!("RPC over TLS needs Spark 4, not {v}"),
            Some("use encryption mode Auto".into()),
        );
    }
}

#[derive(PartialEq, Eq)]
enum SparkVersionSource {
    Declared,
    Image,
}

fn source(spec: &SparkApplicationSpec) -> SparkVersionSource {
    if crate::version::SparkVersion::parse(&spec.spark_version).is_some() {
        SparkVersionSource::Declared
    } else {
        SparkVersionSource::Image
    }
}
