//! `spec.security`: sparkop's optional extension block. Absent means secure defaults.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Security settings of an application. Every field is optional; an absent field means the
/// secure default (authentication with encryption, UI over TLS 1.3).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecuritySpec {
    /// RPC authentication between driver and executors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<AuthenticationSpec>,
    /// RPC encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionSpec>,
    /// Encryption of shuffle and spill files (`spark.io.encryption.enabled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_encryption: Option<bool>,
    /// Web UI settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<UiSecuritySpec>,
}

/// Where the shared RPC secret comes from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationSpec {
    /// `false` turns RPC authentication off (an explicit, audited opt-out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The Secret key holding the shared secret; absent means one is generated per application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretKeyRef>,
}

/// A key in a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    pub secret_name: String,
    /// Key inside the Secret.
    pub key: String,
}

/// RPC encryption settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionSpec {
    /// Cipher choice; `Auto` picks AES-GCM where the Spark version handles it, else AES-CTR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<EncryptionMode>,
}

/// RPC encryption mode.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, schemars::JsonSchema,
)]
pub enum EncryptionMode {
    /// AES-GCM where the Spark version handles it, AES-CTR otherwise.
    #[default]
    Auto,
    /// AES-GCM (authenticated); an error on Spark versions where it is broken.
    AesGcm,
    /// AES-CTR (Spark's default; no integrity protection).
    AesCtr,
    /// TLS for RPC (Spark 4.x).
    Tls,
    /// No RPC encryption (an explicit, audited opt-out).
    Disabled,
}

/// Web UI security.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct UiSecuritySpec {
    /// TLS for the web UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<UiTlsSpec>,
}

/// Web UI TLS settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct UiTlsSpec {
    /// `false` serves the UI over plain HTTP (an explicit, audited opt-out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Secret holding `keystore.p12` and its password; absent means one is generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystore_secret: Option<String>,
    /// Lowest TLS version accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<TlsVersion>,
}

/// A TLS protocol version.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum TlsVersion {
    /// TLS 1.2.
    #[serde(rename = "1.2")]
    V1_2,
    /// TLS 1.3.
    #[serde(rename = "1.3")]
    V1_3,
}
