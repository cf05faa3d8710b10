//! Resolving a plan's Secret references against the Secrets at hand (the `-f` manifests of a
//! local run). Every missing Secret or key is reported at once, naming both and what needed it.

use sparkop_api::manifest::{SecretObject, SecretValue};

use super::security::{KEYSTORE_KEY, KEYSTORE_PASSWORD_KEY};
use super::{AuthSecret, LaunchPlan, SecretRef, UiTlsPlan};

/// A Secret reference that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No Secret of that name was given.
    #[error("Secret {secret:?} not found ({purpose}); pass a manifest that defines it with -f")]
    MissingSecret {
        /// The Secret name.
        secret: String,
        /// What needed it.
        purpose: String,
    },
    /// The Secret exists but lacks the key.
    #[error("Secret {secret:?} has no key {key:?} ({purpose}); its keys are: {available}")]
    MissingKey {
        /// The Secret name.
        secret: String,
        /// The missing key.
        key: String,
        /// What needed it.
        purpose: String,
        /// The keys it has (names only).
        available: String,
    },
}

/// A mounted Secret: every key becomes a file under `path`.
#[derive(Debug)]
pub struct ResolvedMount<'a> {
    /// Mount path from the manifest.
    pub path: String,
    /// The Secret.
    pub secret: &'a SecretObject,
}

/// The secret values a plan needs, borrowed from the given Secrets.
#[derive(Debug, Default)]
pub struct Resolved<'a> {
    /// The RPC secret (`None` when generated or authentication is off).
    pub auth: Option<&'a SecretValue>,
    /// The UI keystore and its password, when taken from a Secret.
    pub keystore: Option<(&'a SecretValue, &'a SecretValue)>,
    /// Driver environment variables from Secrets.
    pub driver_env: Vec<(String, &'a SecretValue)>,
    /// Executor environment variables from Secrets.
    pub executor_env: Vec<(String, &'a SecretValue)>,
    /// Secrets mounted as files, driver and executors together, by path.
    pub mounts: Vec<ResolvedMount<'a>>,
}

struct Lookup<'a, 'p> {
    secrets: &'a [SecretObject],
    namespace: &'p str,
    errors: Vec<SecretError>,
}

impl<'a> Lookup<'a, '_> {
    fn secret(&mut self, name: &str, purpose: &str) -> Option<&'a SecretObject> {
        let found = self.secrets.iter().find(|s| {
            s.name == name && s.namespace.as_deref().is_none_or(|ns| ns == self.namespace)
        });
        if found.is_none() {
            self.errors.push(SecretError::MissingSecret {
                secret: name.into(),
                purpose: purpose.into(),
            });
        }
        found
    }

    fn value(&mut self, r: &SecretRef, purpose: &str) -> Option<&'a SecretValue> {
        let secret = self.secret(&r.secret, purpose)?;
        let value = secret.get(&r.key);
        if value.is_none() {
            self.errors.push(SecretError::MissingKey {
                secret: r.secret.clone(),
                key: r.key.clone(),
                purpose: purpose.into(),
                available: if secret.data.is_empty() {
                    "(none)".into()
                } else {
                    secret.data.keys().cloned().collect::<Vec<_>>().join(", ")
                },
            });
        }
        value
    }
}

/// Looks up every Secret value `plan` needs in `secrets` (those of the app's namespace or
/// without a namespace).
pub fn resolve<'a>(
    plan: &LaunchPlan,
    secrets: &'a [SecretObject],
) -> Result<Resolved<'a>, Vec<SecretError>> {
    let mut l = Lookup {
        secrets,
        namespace: &plan.namespace,
        errors: Vec::new(),
    };
    let mut out = Resolved::default();
    if let Some(AuthSecret::FromSecret(r)) = &plan.auth_secret {
        out.auth = l.value(r, "the RPC authentication secret");
    }
    if let Some(UiTlsPlan::Keystore {
        from: Some(name), ..
    }) = plan.ui.as_ref().and_then(|u| u.tls.as_ref())
    {
        let purpose = "the web UI keystore, spec.security.ui.tls.keystoreSecret";
        let ks = l.value(
            &SecretRef {
                secret: name.clone(),
                key: KEYSTORE_KEY.into(),
            },
            purpose,
        );
        let pw = l.value(
            &SecretRef {
                secret: name.clone(),
                key: KEYSTORE_PASSWORD_KEY.into(),
            },
            purpose,
        );
        out.keystore = ks.zip(pw);
    }
    for (role, envs, target) in [
        ("driver", &plan.driver.secret_env, &mut out.driver_env),
        ("executor", &plan.executor.secret_env, &mut out.executor_env),
    ] {
        for e in envs {
            if let Some(v) = l.value(&e.from, &format!("{role} environment variable {}", e.name)) {
                target.push((e.name.clone(), v));
            }
        }
    }
    let mut mounts: Vec<_> = plan
        .driver
        .secret_mounts
        .iter()
        .chain(&plan.executor.secret_mounts)
        .collect();
    mounts.sort_by(|a, b| a.path.cmp(&b.path));
    mounts.dedup();
    for m in mounts {
        if let Some(secret) = l.secret(&m.secret, &format!("mounted at {}", m.path)) {
            out.mounts.push(ResolvedMount {
                path: m.path.clone(),
                secret,
            });
        }
    }
    if l.errors.is_empty() {
        Ok(out)
    } else {
        l.errors.dedup();
        Err(l.errors)
    }
}
