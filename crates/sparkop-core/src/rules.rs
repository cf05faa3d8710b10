//! Stable ids of validation and policy findings. Each is explained in `docs/rules.md`; a test
//! keeps the two in step.

/// `metadata.name` or `metadata.namespace` breaks Kubernetes naming rules.
pub const INVALID_NAME: &str = "SPK-NAME-001";
/// A referenced Secret, ConfigMap, key or ServiceAccount name is invalid.
pub const INVALID_REFERENCE: &str = "SPK-NAME-002";
/// A documentation placeholder such as `<namespace>` was never replaced.
pub const PLACEHOLDER: &str = "SPK-NAME-003";

/// A memory setting is not valid Spark notation.
pub const BAD_MEMORY: &str = "SPK-RES-001";
/// Memory below what Spark needs to start (450 MiB heap).
pub const MEMORY_TOO_SMALL: &str = "SPK-RES-002";
/// Cores below 1, or implausibly many.
pub const BAD_CORES: &str = "SPK-RES-003";
/// Executor instances negative, or implausibly many.
pub const BAD_INSTANCES: &str = "SPK-RES-004";
/// Memory implausibly large.
pub const ABSURD_MEMORY: &str = "SPK-RES-005";
/// A Kubernetes quantity (`coreLimit`, `coreRequest`, `memoryLimit`) is invalid.
pub const BAD_QUANTITY: &str = "SPK-RES-006";
/// Spark notation used where Kubernetes reads a quantity (`memoryLimit: 512m` is 0.512 bytes).
pub const SPARK_NOTATION_IN_QUANTITY: &str = "SPK-RES-007";

/// `restartPolicy` settings that contradict each other or are out of range.
pub const BAD_RESTART_POLICY: &str = "SPK-APP-001";
/// A Java/Scala application without `mainClass`.
pub const MISSING_MAIN_CLASS: &str = "SPK-APP-002";
/// A `secretKeyRef` value not of the form `secret-name:key`.
pub const BAD_SECRET_KEY_REF: &str = "SPK-APP-003";
/// `sparkVersion` is not a version.
pub const BAD_SPARK_VERSION: &str = "SPK-APP-004";
/// `sparkVersion` and the image tag disagree.
pub const VERSION_MISMATCH: &str = "SPK-APP-005";
/// A boolean Spark setting whose value is not `true` or `false`.
pub const BAD_BOOLEAN: &str = "SPK-APP-006";
/// Dynamic-allocation bounds that contradict each other.
pub const BAD_DYNAMIC_ALLOCATION: &str = "SPK-APP-007";

/// Encryption requested without authentication: Spark then encrypts nothing.
pub const ENCRYPTION_WITHOUT_AUTH: &str = "SPK-SEC-001";
/// Authentication without encryption: the secret travels to executors in cleartext.
pub const AUTH_WITHOUT_ENCRYPTION: &str = "SPK-SEC-002";
/// A secret value written as a literal in `sparkConf`.
pub const LITERAL_SECRET: &str = "SPK-SEC-003";
/// A `sparkConf` key that escapes the operator's control (namespace, master, credentials).
pub const ESCALATION_KEY: &str = "SPK-SEC-004";
/// Spark version with the broken key exchange, CVE-2021-38296.
pub const CVE_2021_38296: &str = "SPK-SEC-005";
/// Spark version without an authenticated RPC cipher, CVE-2025-55039.
pub const CVE_2025_55039: &str = "SPK-SEC-006";
/// AES-GCM requested on a Spark version where it is missing or broken.
pub const GCM_BROKEN: &str = "SPK-SEC-007";
/// RPC authentication explicitly turned off.
pub const AUTH_DISABLED: &str = "SPK-SEC-008";
/// RPC encryption explicitly turned off.
pub const ENCRYPTION_DISABLED: &str = "SPK-SEC-009";
/// Web UI served without TLS.
pub const UI_TLS_DISABLED: &str = "SPK-SEC-010";
/// SASL fallback enabled: a downgrade path around the AES handshake.
pub const SASL_FALLBACK: &str = "SPK-SEC-011";
/// TLS 1.2 allowed for the web UI.
pub const TLS_12_ALLOWED: &str = "SPK-SEC-012";
/// `spec.security` and `sparkConf` contradict each other.
pub const CONTRADICTION: &str = "SPK-SEC-013";
/// A secret-looking environment variable with a literal value in the pod spec.
pub const LITERAL_ENV_SECRET: &str = "SPK-SEC-014";
/// The guide's `SPARK_AUTHENTICATE_SECRET` convention: made effective, or used inconsistently.
pub const GUIDE_SECRET_CONVENTION: &str = "SPK-SEC-015";
/// Shuffle and spill encryption explicitly turned off.
pub const IO_ENCRYPTION_DISABLED: &str = "SPK-SEC-016";
/// RPC over TLS requested on a Spark version without it.
pub const RPC_TLS_UNAVAILABLE: &str = "SPK-SEC-017";

/// Every rule id of this crate, for documentation checks.
pub const ALL: &[&str] = &[
    INVALID_NAME,
    INVALID_REFERENCE,
    PLACEHOLDER,
    BAD_MEMORY,
    MEMORY_TOO_SMALL,
    BAD_CORES,
    BAD_INSTANCES,
    ABSURD_MEMORY,
    BAD_QUANTITY,
    SPARK_NOTATION_IN_QUANTITY,
    BAD_RESTART_POLICY,
    MISSING_MAIN_CLASS,
    BAD_SECRET_KEY_REF,
    BAD_SPARK_VERSION,
    VERSION_MISMATCH,
    BAD_BOOLEAN,
    BAD_DYNAMIC_ALLOCATION,
    ENCRYPTION_WITHOUT_AUTH,
    AUTH_WITHOUT_ENCRYPTION,
    LITERAL_SECRET,
    ESCALATION_KEY,
    CVE_2021_38296,
    CVE_2025_55039,
    GCM_BROKEN,
    AUTH_DISABLED,
    ENCRYPTION_DISABLED,
    UI_TLS_DISABLED,
    SASL_FALLBACK,
    TLS_12_ALLOWED,
    CONTRADICTION,
    LITERAL_ENV_SECRET,
    GUIDE_SECRET_CONVENTION,
    IO_ENCRYPTION_DISABLED,
    RPC_TLS_UNAVAILABLE,
];
