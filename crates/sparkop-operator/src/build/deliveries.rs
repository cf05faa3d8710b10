//! How the Secrets an attempt uses reach Spark: the RPC secret as a file (a Secret volume) in
//! the driver and the executors, the UI keystore as a file and its password through
//! `${env:VAR}` from a `secretKeyRef`. One value for both the pod (volumes, mounts, env) and
//! `spark.properties` (the paths), so the two cannot drift apart.

use serde_json::{Value, json};
use sparkop_core::LaunchPlan;
use sparkop_core::plan::{
    AuthSecret, KEYSTORE_KEY, KEYSTORE_PASSWORD_KEY, UI_KEYSTORE_PASSWORD_ENV, UiTlsPlan,
};

use super::{AUTH_MOUNT, BuildError, Context, SECRET_FILE_MODE, UI_TLS_MOUNT, invalid};

/// The deliveries of one attempt.
#[derive(Clone, Debug, Default)]
pub(super) struct Deliveries {
    /// Spark settings pointing at the delivered files.
    pub conf: Vec<(String, String)>,
    /// Driver pod volumes.
    pub volumes: Vec<Value>,
    /// Driver container mounts.
    pub mounts: Vec<Value>,
    /// Driver container environment (references only).
    pub env: Vec<Value>,
}

impl Deliveries {
    /// The deliveries of `plan` with the Secrets `ctx` settled on.
    pub fn new(plan: &LaunchPlan, ctx: &Context) -> Result<Deliveries, BuildError> {
        let mut d = Deliveries::default();
        if plan.auth_secret.is_some() {
            let auth = ctx.auth_secret.as_ref().ok_or_else(|| {
                invalid(
                    "spec.security.authentication",
                    "no Secret for the RPC secret",
                )
            })?;
            // The plan's source must match what the reconciler settled on.
            if let Some(AuthSecret::FromSecret(r)) = &plan.auth_secret
                && (r.secret != auth.name || r.key != auth.key)
            {
                return Err(invalid(
                    "spec.security.authentication.secret",
                    "context and plan disagree",
                ));
            }
            let file = format!("{AUTH_MOUNT}/{}", auth.key);
            for key in [
                "spark.authenticate.secret.driver.file",
                "spark.authenticate.secret.executor.file",
                // Found on a real node: an executor's first connection (fetching the driver's
                // conf) uses a SecurityManager that reads only the generic key, so without it
                // executors fail with "A secret key must be specified" (see
                // EXECUTOR_MASTER_OPT_ENV too).
                "spark.authenticate.secret.file",
            ] {
                d.conf.push((key.into(), file.clone()));
            }
            d.conf.push((
                format!("spark.kubernetes.executor.secrets.{}", auth.name),
                AUTH_MOUNT.into(),
            ));
            d.volumes.push(json!({"name": "sparkop-auth", "secret": {"secretName": auth.name, "defaultMode": SECRET_FILE_MODE}}));
            d.mounts
                .push(json!({"name": "sparkop-auth", "mountPath": AUTH_MOUNT, "readOnly": true}));
        }
        if let Some(UiTlsPlan::Keystore { .. }) = plan.ui.as_ref().and_then(|u| u.tls.as_ref()) {
            let secret = ctx
                .ui_keystore_secret
                .as_ref()
                .ok_or_else(|| invalid("spec.security.ui.tls", "no Secret for the UI keystore"))?;
            d.conf.push((
                "spark.ssl.keyStore".into(),
                format!("{UI_TLS_MOUNT}/{KEYSTORE_KEY}"),
            ));
            d.volumes.push(json!({"name": "sparkop-ui-tls", "secret": {"secretName": secret, "defaultMode": SECRET_FILE_MODE}}));
            d.mounts.push(
                json!({"name": "sparkop-ui-tls", "mountPath": UI_TLS_MOUNT, "readOnly": true}),
            );
            d.env.push(json!({"name": UI_KEYSTORE_PASSWORD_ENV, "valueFrom": {"secretKeyRef": {"name": secret, "key": KEYSTORE_PASSWORD_KEY}}}));
        }
        Ok(d)
    }
}
