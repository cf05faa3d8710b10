//! `status` of a `SparkApplication`, compatible with v1beta2 readers (`kubectl`, dashboards).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::schema::preserve_array;

/// Observed state of an application.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SparkApplicationStatus {
    /// Spark's application id (`spark-app-selector`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_application_id: Option<String>,
    /// Unique id of the current submission.
    #[serde(
        default,
        rename = "submissionID",
        skip_serializing_if = "Option::is_none"
    )]
    pub submission_id: Option<String>,
    /// When the last submission was attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_submission_attempt_time: Option<Time>,
    /// When the application terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_time: Option<Time>,
    /// Where the driver runs and serves its UI.
    #[serde(default)]
    pub driver_info: DriverInfo,
    /// The application's state.
    #[serde(default)]
    pub application_state: ApplicationState,
    /// State of each executor pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_state: Option<BTreeMap<String, ExecutorState>>,
    /// Runs started so far.
    #[serde(default)]
    pub execution_attempts: i32,
    /// Submissions attempted so far.
    #[serde(default)]
    pub submission_attempts: i32,
    /// sparkop: conditions recording the security posture and explicit opt-outs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_array")]
    pub conditions: Option<Vec<Condition>>,
}

/// Where the driver runs and serves its UI.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriverInfo {
    /// Name of the UI Service.
    #[serde(
        default,
        rename = "webUIServiceName",
        skip_serializing_if = "Option::is_none"
    )]
    pub web_ui_service_name: Option<String>,
    /// Address of the UI.
    #[serde(
        default,
        rename = "webUIAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub web_ui_address: Option<String>,
    /// HTTP port of the UI.
    #[serde(default, rename = "webUIPort", skip_serializing_if = "Option::is_none")]
    pub web_ui_port: Option<i32>,
    /// sparkop: HTTPS port of the UI.
    #[serde(
        default,
        rename = "webUIHttpsPort",
        skip_serializing_if = "Option::is_none"
    )]
    pub web_ui_https_port: Option<i32>,
    /// Name of the UI Ingress.
    #[serde(
        default,
        rename = "webUIIngressName",
        skip_serializing_if = "Option::is_none"
    )]
    pub web_ui_ingress_name: Option<String>,
    /// Address of the UI Ingress.
    #[serde(
        default,
        rename = "webUIIngressAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub web_ui_ingress_address: Option<String>,
    /// Name of the driver pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
}

/// The application's state and, when it failed, why.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationState {
    /// The state.
    #[serde(default)]
    pub state: ApplicationStateType,
    /// Why the application failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// States of the v1beta2 state machine.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, schemars::JsonSchema,
)]
pub enum ApplicationStateType {
    /// Not yet seen by the operator.
    #[default]
    #[serde(rename = "")]
    New,
    /// The driver was created.
    #[serde(rename = "SUBMITTED")]
    Submitted,
    /// The driver is running.
    #[serde(rename = "RUNNING")]
    Running,
    /// The driver exited successfully; cleanup is pending.
    #[serde(rename = "SUCCEEDING")]
    Succeeding,
    /// Finished successfully (terminal).
    #[serde(rename = "COMPLETED")]
    Completed,
    /// The driver failed; cleanup or retry is pending.
    #[serde(rename = "FAILING")]
    Failing,
    /// Failed (terminal).
    #[serde(rename = "FAILED")]
    Failed,
    /// The driver could not be created.
    #[serde(rename = "SUBMISSION_FAILED")]
    SubmissionFailed,
    /// Waiting for the old driver to be gone before a rerun.
    #[serde(rename = "PENDING_RERUN")]
    PendingRerun,
    /// The spec changed; resources are being deleted before a resubmission.
    #[serde(rename = "INVALIDATING")]
    Invalidating,
    /// `spec.suspend` was set; resources are being deleted.
    #[serde(rename = "SUSPENDING")]
    Suspending,
    /// Suspended.
    #[serde(rename = "SUSPENDED")]
    Suspended,
    /// `spec.suspend` was cleared; resubmitting.
    #[serde(rename = "RESUMING")]
    Resuming,
    /// The driver's state cannot be determined.
    #[serde(rename = "UNKNOWN")]
    Unknown,
}

impl ApplicationStateType {
    /// Every state.
    pub const ALL: [ApplicationStateType; 14] = [
        Self::New,
        Self::Submitted,
        Self::Running,
        Self::Succeeding,
        Self::Completed,
        Self::Failing,
        Self::Failed,
        Self::SubmissionFailed,
        Self::PendingRerun,
        Self::Invalidating,
        Self::Suspending,
        Self::Suspended,
        Self::Resuming,
        Self::Unknown,
    ];

    /// The state as users read it: its serialized name (a test keeps the two equal), `NEW`
    /// for the empty one.
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Submitted => "SUBMITTED",
            Self::Running => "RUNNING",
            Self::Succeeding => "SUCCEEDING",
            Self::Completed => "COMPLETED",
            Self::Failing => "FAILING",
            Self::Failed => "FAILED",
            Self::SubmissionFailed => "SUBMISSION_FAILED",
            Self::PendingRerun => "PENDING_RERUN",
            Self::Invalidating => "INVALIDATING",
            Self::Suspending => "SUSPENDING",
            Self::Suspended => "SUSPENDED",
            Self::Resuming => "RESUMING",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// State of a driver or executor pod.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum ExecutorState {
    /// Pending.
    #[serde(rename = "PENDING")]
    Pending,
    /// Running.
    #[serde(rename = "RUNNING")]
    Running,
    /// Finished successfully.
    #[serde(rename = "COMPLETED")]
    Completed,
    /// Failed.
    #[serde(rename = "FAILED")]
    Failed,
    /// Unknown.
    #[serde(rename = "UNKNOWN")]
    Unknown,
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn labels_are_the_serialized_names() {
        for s in ApplicationStateType::ALL {
            let v = serde_json::to_value(s).expect("json");
            let want = if s == ApplicationStateType::New {
                ""
            } else {
                s.label()
            };
            assert_eq!(v, want, "{s:?}");
        }
    }
}
