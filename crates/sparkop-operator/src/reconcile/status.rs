//! The parts of an application's status that follow from what was observed and planned,
//! pure: the driver pod's phase, whether the run has ended, the spec hash that detects a
//! changed spec, the driver info and the security conditions.

use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::api::core::v1::Pod;
use sparkop_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use sparkop_api::k8s_openapi::jiff::Timestamp;
use sparkop_api::types::status::{DriverInfo, SparkApplicationStatus};
use sparkop_core::LaunchPlan;
use sparkop_core::posture::Cipher;

use super::DriverPhase;
use crate::build::{self, Names};

/// Hash of what a run depends on: the spec without `suspend`.
pub fn spec_hash(app: &SparkApplication) -> String {
    use sha2::{Digest, Sha256};
    let mut v = serde_json::to_value(&app.spec).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("suspend");
    }
    hex::encode(&Sha256::digest(v.to_string().as_bytes())[..8])
}

/// The application has ended (its executors are settled).
pub fn finished(status: &SparkApplicationStatus) -> bool {
    use sparkop_api::types::status::ApplicationStateType as S;
    matches!(
        status.application_state.state,
        S::Completed | S::Failed | S::SubmissionFailed | S::Suspended
    )
}

/// The driver pod's phase, with the exit code and reason of a failed driver.
pub fn phase_of(pod: Option<&Pod>) -> DriverPhase {
    let Some(status) = pod.and_then(|p| p.status.as_ref()) else {
        return if pod.is_some() {
            DriverPhase::Pending
        } else {
            DriverPhase::Missing
        };
    };
    match status.phase.as_deref() {
        Some("Running") => DriverPhase::Running,
        Some("Succeeded") => DriverPhase::Succeeded,
        Some("Failed") => {
            let terminated = status
                .container_statuses
                .iter()
                .flatten()
                .find(|c| c.name == build::DRIVER_CONTAINER)
                .and_then(|c| c.state.as_ref()?.terminated.as_ref());
            let why = match terminated {
                Some(t) => format!(
                    "driver exited with code {}{}",
                    t.exit_code,
                    t.reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
                None => status
                    .reason
                    .clone()
                    .unwrap_or_else(|| "driver pod failed".into()),
            };
            DriverPhase::Failed(why)
        }
        Some("Unknown") => DriverPhase::Unknown,
        _ => DriverPhase::Pending,
    }
}

/// Where the driver and its UI are.
pub fn driver_info(plan: &LaunchPlan, names: &Names, ns: &str) -> DriverInfo {
    let ui = plan.ui.as_ref();
    let port = ui.map(|u| u.https_port.unwrap_or(u.http_port));
    DriverInfo {
        web_ui_service_name: ui.map(|_| names.ui_service.clone()),
        web_ui_address: port.map(|p| format!("{}.{ns}.svc:{p}", names.ui_service)),
        web_ui_port: ui.map(|u| i32::from(u.http_port)),
        web_ui_https_port: ui.and_then(|u| u.https_port).map(i32::from),
        pod_name: Some(names.driver_pod.clone()),
        ..Default::default()
    }
}

/// Conditions recording the security posture (kept stable across reconciles).
pub fn conditions(plan: &LaunchPlan, old: Option<&[Condition]>, now: Timestamp) -> Vec<Condition> {
    let p = &plan.posture;
    let want = [
        (
            "Authenticated",
            p.authentication,
            if p.authentication {
                "SharedSecret"
            } else {
                "Disabled"
            },
            "RPC authentication",
        ),
        (
            "Encrypted",
            p.cipher != Cipher::None,
            match p.cipher {
                Cipher::AesGcm => "AesGcm",
                Cipher::AesCtr => "AesCtr",
                Cipher::Tls => "Tls",
                Cipher::None => "Disabled",
            },
            "RPC encryption",
        ),
        (
            "UiTls",
            p.ui_tls,
            if p.ui_tls { "Tls" } else { "Disabled" },
            "web UI TLS",
        ),
    ];
    want.iter()
        .map(|(ty, ok, reason, what)| {
            let status = if *ok { "True" } else { "False" };
            let previous = old.and_then(|o| o.iter().find(|c| c.type_ == *ty));
            let unchanged = previous.is_some_and(|c| c.status == status && c.reason == *reason);
            Condition {
                type_: (*ty).into(),
                status: status.into(),
                reason: (*reason).into(),
                message: format!(
                    "{what}: {}",
                    if *ok { "on" } else { "off (explicit opt-out)" }
                ),
                last_transition_time: match previous {
                    Some(c) if unchanged => c.last_transition_time.clone(),
                    _ => Time(now),
                },
                observed_generation: None,
            }
        })
        .collect()
}

/// The JSON merge patch (RFC 7386) that turns `old` into `new`: changed and added fields as in
/// `new`, and `null` for every field `new` no longer has — without that, a merge patch of the
/// new status alone would leave removed executors, a cleared `errorMessage` or
/// `terminationTime` in place forever.
pub fn merge_patch(old: &serde_json::Value, new: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = serde_json::Map::new();
            for (k, v) in n {
                match o.get(k) {
                    Some(old_v) if old_v == v => {}
                    Some(old_v) if old_v.is_object() && v.is_object() => {
                        patch.insert(k.clone(), merge_patch(old_v, v));
                    }
                    _ => {
                        patch.insert(k.clone(), v.clone());
                    }
                }
            }
            for k in o.keys() {
                if !n.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(patch)
        }
        (_, n) => n.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 7386's own application of a merge patch, to check the patches against.
    fn apply(target: &serde_json::Value, patch: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match patch {
            Value::Object(p) => {
                let mut t = target.as_object().cloned().unwrap_or_default();
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        let merged = apply(t.get(k).unwrap_or(&Value::Null), v);
                        t.insert(k.clone(), merged);
                    }
                }
                Value::Object(t)
            }
            other => other.clone(),
        }
    }

    #[test]
    fn what_went_away_is_removed_by_the_patch() {
        let old = json!({
            "applicationState": {"state": "FAILING", "errorMessage": "driver exited with code 1"},
            "terminationTime": "2026-12-02T00:00:00Z",
            "executorState": {"exec-1": "RUNNING", "exec-2": "RUNNING"},
            "submissionAttempts": 1,
        });
        let new = json!({
            "applicationState": {"state": "SUBMITTED"},
            "executorState": {"exec-2": "COMPLETED"},
            "submissionAttempts": 2,
        });
        let patch = merge_patch(&old, &new);
        assert_eq!(patch["terminationTime"], serde_json::Value::Null);
        assert_eq!(
            patch["applicationState"]["errorMessage"],
            serde_json::Value::Null
        );
        assert_eq!(patch["executorState"]["exec-1"], serde_json::Value::Null);
        assert_eq!(apply(&old, &patch), new);
        // Nothing changed: an empty patch.
        assert_eq!(merge_patch(&new, &new), json!({}));
    }
}
