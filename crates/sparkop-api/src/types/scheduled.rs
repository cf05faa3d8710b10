//! `ScheduledSparkApplication`: a cron schedule that creates `SparkApplication`s.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::spark_application::SparkApplicationSpec;

/// A Spark application run on a schedule.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "sparkoperator.k8s.io",
    version = "v1beta2",
    kind = "ScheduledSparkApplication",
    plural = "scheduledsparkapplications",
    shortname = "scheduledsparkapp",
    namespaced,
    status = "ScheduledSparkApplicationStatus",
    derive = "PartialEq",
    cel,
    printcolumn = r#"{"name":"Schedule","type":"string","jsonPath":".spec.schedule"}"#,
    printcolumn = r#"{"name":"Suspend","type":"boolean","jsonPath":".spec.suspend"}"#,
    printcolumn = r#"{"name":"Last Run","type":"date","jsonPath":".status.lastRun"}"#,
    printcolumn = r#"{"name":"Last Run Name","type":"string","jsonPath":".status.lastRunName"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledSparkApplicationSpec {
    /// Cron schedule, e.g. `@every 10m` or `0 * * * *`.
    pub schedule: String,
    /// Time zone of the schedule (IANA name; default `Local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The application each run creates.
    pub template: SparkApplicationSpec,
    /// Stop creating runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// What to do when a run is still going at the next tick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_policy: Option<ConcurrencyPolicy>,
    /// Successful runs to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub successful_run_history_limit: Option<i32>,
    /// Failed runs to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub failed_run_history_limit: Option<i32>,
}

/// What to do when a run is still going at the next tick.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, schemars::JsonSchema,
)]
pub enum ConcurrencyPolicy {
    /// Start the next run anyway.
    #[default]
    Allow,
    /// Skip the tick.
    Forbid,
    /// Stop the running one and start the next.
    Replace,
}

/// Observed state of a scheduled application.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledSparkApplicationStatus {
    /// When the last run was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<Time>,
    /// When the next run is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<Time>,
    /// Name of the last run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_name: Option<String>,
    /// Names of recent successful runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub past_successful_run_names: Option<Vec<String>>,
    /// Names of recent failed runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub past_failed_run_names: Option<Vec<String>>,
    /// State of the schedule.
    #[serde(default)]
    pub schedule_state: ScheduleState,
    /// Why the schedule is in its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// State of a schedule.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, schemars::JsonSchema,
)]
pub enum ScheduleState {
    /// Not yet seen.
    #[default]
    #[serde(rename = "")]
    New,
    /// Being validated.
    Validating,
    /// Scheduled.
    Scheduled,
    /// The schedule or template is invalid.
    FailedValidation,
}
