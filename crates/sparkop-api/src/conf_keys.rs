//! The Spark configuration keys the security rules talk about, and the CEL rules the CRD carries
//! for them.
//!
//! The key lists are the single source: `sparkop-core`'s policy reads them, and the CEL rules
//! below are checked against them by tests so the API server enforces the same invariants.

/// Turns RPC authentication on.
pub const AUTHENTICATE: &str = "spark.authenticate";
/// Turns AES-based RPC encryption on (requires authentication).
pub const NETWORK_CRYPTO_ENABLED: &str = "spark.network.crypto.enabled";
/// Turns SASL encryption on (requires authentication).
pub const SASL_ENCRYPTION: &str = "spark.authenticate.enableSaslEncryption";
/// Lets a peer fall back to SASL when the AES handshake fails.
pub const SASL_FALLBACK: &str = "spark.network.crypto.saslFallback";
/// Selects the RPC cipher (`AES/CTR/NoPadding` or `AES/GCM/NoPadding`).
pub const NETWORK_CRYPTO_CIPHER: &str = "spark.network.crypto.cipher";
/// Value of [`NETWORK_CRYPTO_CIPHER`] selecting AES-GCM.
pub const CIPHER_GCM: &str = "AES/GCM/NoPadding";
/// Key-derivation version of the auth handshake.
pub const AUTH_ENGINE_VERSION: &str = "spark.network.crypto.authEngineVersion";
/// Encryption of shuffle and spill files.
pub const IO_ENCRYPTION: &str = "spark.io.encryption.enabled";
/// The shared RPC secret as a literal value.
pub const AUTHENTICATE_SECRET: &str = "spark.authenticate.secret";
/// Turns TLS on for all of Spark's web endpoints.
pub const SSL_ENABLED: &str = "spark.ssl.enabled";
/// Turns TLS on for the web UI.
pub const SSL_UI_ENABLED: &str = "spark.ssl.ui.enabled";
/// Restricts TLS protocol versions (the only setting that really does, see DESIGN.md).
pub const SSL_ENABLED_ALGORITHMS: &str = "spark.ssl.enabledAlgorithms";
/// Nominal TLS protocol.
pub const SSL_PROTOCOL: &str = "spark.ssl.protocol";

/// The environment-variable name the security guide uses for the RPC secret. Upstream Spark never
/// reads it; sparkop makes it effective.
pub const GUIDE_SECRET_ENV: &str = "SPARK_AUTHENTICATE_SECRET";
/// Prefix of the driver's `secretKeyRef` environment settings.
pub const DRIVER_SECRET_KEY_REF: &str = "spark.kubernetes.driver.secretKeyRef.";
/// Prefix of the executors' `secretKeyRef` environment settings.
pub const EXECUTOR_SECRET_KEY_REF: &str = "spark.kubernetes.executor.secretKeyRef.";

/// Keys whose value is a secret and must never be written as a literal: use a file, a
/// `secretKeyRef`, or a `${env:VAR}` reference instead.
pub const LITERAL_SECRET_KEYS: &[&str] = &[
    AUTHENTICATE_SECRET,
    "spark.authenticate.secret.driver",
    "spark.authenticate.secret.executor",
    "spark.ssl.keyPassword",
    "spark.ssl.keyStorePassword",
    "spark.ssl.trustStorePassword",
    "spark.ssl.ui.keyPassword",
    "spark.ssl.ui.keyStorePassword",
    "spark.ssl.ui.trustStorePassword",
    "spark.ssl.standalone.keyPassword",
    "spark.ssl.standalone.keyStorePassword",
    "spark.ssl.standalone.trustStorePassword",
    "spark.ssl.historyServer.keyPassword",
    "spark.ssl.historyServer.keyStorePassword",
    "spark.ssl.historyServer.trustStorePassword",
    "spark.ssl.rpc.keyPassword",
    "spark.ssl.rpc.privateKeyPassword",
    "spark.ssl.rpc.keyStorePassword",
    "spark.ssl.rpc.trustStorePassword",
    "spark.kubernetes.authenticate.submission.oauthToken",
    "spark.kubernetes.authenticate.driver.oauthToken",
    "spark.hadoop.fs.s3a.secret.key",
    "spark.hadoop.fs.s3a.session.token",
    "spark.hadoop.fs.azure.account.key",
];

/// Keys that would let an application escape what the operator granted it: another namespace,
/// another cluster, other credentials. `spec` fields own these settings.
pub const ESCALATION_KEYS: &[&str] = &[
    "spark.master",
    "spark.submit.deployMode",
    "spark.kubernetes.namespace",
    "spark.kubernetes.driver.master",
    "spark.kubernetes.authenticate.driver.serviceAccountName",
    "spark.kubernetes.authenticate.executor.serviceAccountName",
    "spark.kubernetes.driver.pod.name",
    "spark.kubernetes.executor.podNamePrefix",
];

/// Key prefixes with the same effect as [`ESCALATION_KEYS`] (credentials for the API server).
pub const ESCALATION_PREFIXES: &[&str] = &["spark.kubernetes.authenticate."];

/// CEL: encryption (AES or SASL) requires `spark.authenticate=true`, as the security guide says;
/// without it Spark silently sends everything in cleartext.
pub const CEL_ENCRYPTION_NEEDS_AUTH: &str = "!has(self.sparkConf) || \
    !((('spark.network.crypto.enabled' in self.sparkConf && \
        self.sparkConf['spark.network.crypto.enabled'].lowerAscii() == 'true') || \
       ('spark.authenticate.enableSaslEncryption' in self.sparkConf && \
        self.sparkConf['spark.authenticate.enableSaslEncryption'].lowerAscii() == 'true')) && \
      !('spark.authenticate' in self.sparkConf && \
        self.sparkConf['spark.authenticate'].lowerAscii() == 'true'))";

/// Message of [`CEL_ENCRYPTION_NEEDS_AUTH`].
pub const CEL_ENCRYPTION_NEEDS_AUTH_MSG: &str = "spark.network.crypto.enabled and \
    spark.authenticate.enableSaslEncryption require spark.authenticate=\"true\"";

/// CEL: escalation keys are denied in `sparkConf`.
pub const CEL_NO_ESCALATION: &str = "!has(self.sparkConf) || \
    (['spark.master', 'spark.submit.deployMode', 'spark.kubernetes.namespace', \
      'spark.kubernetes.driver.master', \
      'spark.kubernetes.authenticate.driver.serviceAccountName', \
      'spark.kubernetes.authenticate.executor.serviceAccountName', \
      'spark.kubernetes.driver.pod.name', 'spark.kubernetes.executor.podNamePrefix'\
     ].all(k, !(k in self.sparkConf)) && \
     self.sparkConf.all(k, !k.startsWith('spark.kubernetes.authenticate.')))";

/// Message of [`CEL_NO_ESCALATION`].
pub const CEL_NO_ESCALATION_MSG: &str = "sparkConf must not set the master, namespace, \
    service accounts or API credentials; use the spec fields";

/// CEL: secret-bearing keys may only hold `${env:VAR}`-style references, never literal values.
pub const CEL_NO_LITERAL_SECRETS: &str = "!has(self.sparkConf) || \
    ['spark.authenticate.secret', 'spark.authenticate.secret.driver', \
     'spark.authenticate.secret.executor', 'spark.ssl.keyPassword', \
     'spark.ssl.keyStorePassword', 'spark.ssl.trustStorePassword', 'spark.ssl.ui.keyPassword', \
     'spark.ssl.ui.keyStorePassword', 'spark.ssl.ui.trustStorePassword', \
     'spark.ssl.standalone.keyPassword', 'spark.ssl.standalone.keyStorePassword', \
     'spark.ssl.standalone.trustStorePassword', 'spark.ssl.historyServer.keyPassword', \
     'spark.ssl.historyServer.keyStorePassword', 'spark.ssl.historyServer.trustStorePassword', \
     'spark.ssl.rpc.keyPassword', 'spark.ssl.rpc.privateKeyPassword', \
     'spark.ssl.rpc.keyStorePassword', 'spark.ssl.rpc.trustStorePassword', \
     'spark.kubernetes.authenticate.submission.oauthToken', \
     'spark.kubernetes.authenticate.driver.oauthToken', 'spark.hadoop.fs.s3a.secret.key', \
     'spark.hadoop.fs.s3a.session.token', 'spark.hadoop.fs.azure.account.key'\
    ].all(k, !(k in self.sparkConf) || self.sparkConf[k].startsWith('${'))";

/// Message of [`CEL_NO_LITERAL_SECRETS`].
pub const CEL_NO_LITERAL_SECRETS_MSG: &str = "secret values must not be literals in sparkConf; \
    reference a Secret (spec.security.authentication.secret, secretKeyRef, or ${env:VAR})";

/// CEL: turning authentication off while asking for encryption is contradictory.
pub const CEL_SECURITY_CONSISTENT: &str = "!has(self.security) || \
    !has(self.security.authentication) || !has(self.security.authentication.enabled) || \
    self.security.authentication.enabled || !has(self.security.encryption) || \
    !has(self.security.encryption.mode) || \
    self.security.encryption.mode in ['Auto', 'Disabled']";

/// Message of [`CEL_SECURITY_CONSISTENT`].
pub const CEL_SECURITY_CONSISTENT_MSG: &str = "spec.security.encryption.mode needs \
    authentication; spec.security.authentication.enabled is false";

/// Words in an environment variable's name that mark its value as secret.
pub const SECRET_ENV_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "CREDENTIAL",
    "PRIVATE_KEY",
    "ACCESS_KEY",
];

/// Whether an environment variable with this name holds a secret.
pub fn is_secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_ENV_WORDS.iter().any(|w| upper.contains(w))
}

/// Whether `key` sets a secret value, so its value must be hidden everywhere.
pub fn is_literal_secret_key(key: &str) -> bool {
    LITERAL_SECRET_KEYS.contains(&key)
}

/// Whether `key` is denied in `sparkConf`.
pub fn is_escalation_key(key: &str) -> bool {
    ESCALATION_KEYS.contains(&key) || ESCALATION_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Whether a configuration value is a reference resolved at run time rather than a literal.
pub fn is_reference(value: &str) -> bool {
    value.starts_with("${")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cel_rules_name_every_listed_key() {
        for key in LITERAL_SECRET_KEYS {
            assert!(
                CEL_NO_LITERAL_SECRETS.contains(&format!("'{key}'")),
                "{key}"
            );
        }
        for key in ESCALATION_KEYS {
            assert!(CEL_NO_ESCALATION.contains(&format!("'{key}'")), "{key}");
        }
        for prefix in ESCALATION_PREFIXES {
            assert!(CEL_NO_ESCALATION.contains(&format!("startsWith('{prefix}')")));
        }
        for key in [AUTHENTICATE, NETWORK_CRYPTO_ENABLED, SASL_ENCRYPTION] {
            assert!(
                CEL_ENCRYPTION_NEEDS_AUTH.contains(&format!("'{key}'")),
                "{key}"
            );
        }
    }

    #[test]
    fn classifies_keys() {
        assert!(is_literal_secret_key("spark.ssl.keyStorePassword"));
        assert!(!is_literal_secret_key("spark.ssl.keyStore"));
        assert!(is_escalation_key(
            "spark.kubernetes.authenticate.caCertFile"
        ));
        assert!(!is_escalation_key("spark.kubernetes.driver.label.x"));
        assert!(is_reference("${env:PW}"));
    }
}
