//! The v1beta2 application state machine, pure: given the application (spec and last status),
//! its plan or why it has none, and what was observed (the current attempt's driver pod, its
//! executors, the time, the outcome of a submission just tried), [`next`] decides the whole new
//! status and every action the runtime must take — submissions, deletions, the finalizer,
//! Events. The runtime carries them out and writes the status as decided; it decides nothing.
//! Table-driven tests cover every transition.
//!
//! ```text
//!  NEW ─submit─► SUBMITTED ─pod Running─► RUNNING ─pod Succeeded─► SUCCEEDING ─► COMPLETED
//!   ▲               │  pending too long /       │ pod Failed                │ Always
//!   │               ▼  pod Failed / gone        ▼                           ▼
//!   │            FAILING ◄──────────────────────┘                      PENDING_RERUN ──► (submit)
//!   │               │ retries left (OnFailure/Always) ─────────────────────▲
//!   │               ▼ otherwise                                             │
//!   │            FAILED        SUBMISSION_FAILED ─retries left──────────────┘
//!  spec changed: INVALIDATING ─► PENDING_RERUN     suspend: SUSPENDING ─► SUSPENDED ─► RESUMING
//! ```
//! Backoff between attempts is exponential (interval · 2^(n−1)), capped.

pub mod executors;
pub mod refusals;
pub mod status;
#[cfg(test)]
mod tests;

use std::time::Duration;

use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use sparkop_api::k8s_openapi::jiff::{SignedDuration, Timestamp};
use sparkop_api::types::spark_application::RestartPolicyType;
use sparkop_api::types::status::{
    ApplicationState, ApplicationStateType as S, ExecutorState, SparkApplicationStatus,
};
use sparkop_core::LaunchPlan;

use crate::build::Names;

/// The phase of the driver pod of the current attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriverPhase {
    /// No driver pod of the current attempt exists.
    Missing,
    /// Pending (scheduling, pulling, starting).
    Pending,
    /// Running.
    Running,
    /// Exited 0.
    Succeeded,
    /// Exited non-zero or was evicted; the reason, when known.
    Failed(String),
    /// The node lost contact.
    Unknown,
}

/// What the runtime observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// Now.
    pub now: Timestamp,
    /// The current attempt's driver pod.
    pub driver: DriverPhase,
    /// Hash of the spec that matters for the run (a change invalidates a running attempt).
    pub spec_hash: String,
    /// The current attempt's executor pods and their states (`None`: not looked at).
    pub executors: Option<Vec<(String, ExecutorState)>>,
    /// Connections the running driver refused since the last reconcile that looked.
    pub refused: Vec<refusals::Refusal>,
}

/// Tunables of the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Retry interval when the spec gives none.
    pub default_retry_interval: Duration,
    /// Upper bound of the exponential backoff.
    pub max_backoff: Duration,
    /// How long a driver may stay pending / missing after submission before the attempt fails.
    pub submitted_timeout: Duration,
    /// How often a running driver's log is read for refused connections (`None`: never).
    pub driver_log_interval: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_retry_interval: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            submitted_timeout: Duration::from_secs(600),
            driver_log_interval: Some(Duration::from_secs(30)),
        }
    }
}

/// Something the runtime must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create (get-or-create) the objects of this attempt.
    Submit {
        /// 0-based attempt index (names derive from it).
        attempt: u32,
    },
    /// Delete the objects of this attempt (driver pod and what it owns).
    DeleteAttempt {
        /// The attempt.
        attempt: u32,
    },
    /// Delete the SparkApplication itself (time to live reached).
    DeleteApplication,
    /// Record a Kubernetes Event (no secret ever goes into one).
    Event {
        /// `Normal` or `Warning`.
        warning: bool,
        /// Short CamelCase reason.
        reason: String,
        /// The message.
        message: String,
        /// The state entered, when the Event records a transition.
        to: Option<S>,
    },
    /// Add sparkop's finalizer (before the first driver), so a deletion waits for clean-up.
    AddFinalizer,
    /// Reconcile again after this long (if nothing else triggers it first).
    RequeueAfter(Duration),
}

/// The decision of one reconciliation.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The status to write.
    pub status: SparkApplicationStatus,
    /// What to do, in order.
    pub actions: Vec<Action>,
}

/// At most this many refused connections are reported one by one per reconcile.
pub const MAX_REFUSAL_EVENTS: usize = 3;

/// The attempt index of the current (or next) driver: attempts are counted by submissions.
pub fn current_attempt(status: &SparkApplicationStatus) -> u32 {
    u32::try_from(status.submission_attempts.max(1) - 1).unwrap_or(0)
}

fn secs(d: Duration) -> SignedDuration {
    SignedDuration::from_secs(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn since(now: Timestamp, t: Option<&Time>) -> Duration {
    t.map_or(Duration::ZERO, |t| {
        now.duration_since(t.0).try_into().unwrap_or(Duration::ZERO)
    })
}

/// Exponential backoff for the `n`-th retry (1-based): `base · 2^(n−1)`, at most `cap`.
pub fn backoff(base: Duration, n: u32, cap: Duration) -> Duration {
    let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(cap).min(cap)
}

struct Ctx<'a> {
    app: &'a SparkApplication,
    obs: &'a Observed,
    cfg: &'a Config,
    status: SparkApplicationStatus,
    actions: Vec<Action>,
}

impl Ctx<'_> {
    fn to(&mut self, state: S, message: Option<String>) {
        let from = self.status.application_state.state;
        if from != state {
            let warning = matches!(
                state,
                S::Failing | S::Failed | S::SubmissionFailed | S::Unknown
            );
            let text = match &message {
                Some(m) => format!("{} -> {}: {m}", name(from), name(state)),
                None => format!("{} -> {}", name(from), name(state)),
            };
            self.actions.push(Action::Event {
                warning,
                reason: reason(state).into(),
                message: text,
                to: Some(state),
            });
        }
        self.status.application_state = ApplicationState {
            state,
            error_message: message,
        };
    }

    fn submit(&mut self) {
        let attempt = u32::try_from(self.status.submission_attempts).unwrap_or(0);
        self.status.submission_attempts += 1;
        self.status.execution_attempts += 1;
        self.status.last_submission_attempt_time = Some(Time(self.obs.now));
        self.status.termination_time = None;
        self.status.submission_id = Some(self.obs.spec_hash.clone());
        self.status.executor_state = None;
        self.actions.push(Action::Submit { attempt });
        self.to(S::Submitted, None);
        self.actions
            .push(Action::RequeueAfter(self.cfg.submitted_timeout));
    }

    fn terminate(&mut self, state: S, message: Option<String>) {
        self.status.termination_time = Some(Time(self.obs.now));
        self.to(state, message);
        if let Some(ttl) = self.app.spec.time_to_live_seconds.filter(|t| *t >= 0) {
            self.actions.push(Action::RequeueAfter(Duration::from_secs(
                ttl.unsigned_abs(),
            )));
        }
    }

    /// A Warning Event per refused connection (at most [`MAX_REFUSAL_EVENTS`] a reconcile,
    /// then one that counts the rest): someone without the application's secret tried to talk
    /// to its driver.
    fn report_refusals(&mut self) {
        let refused = &self.obs.refused;
        for r in refused.iter().take(MAX_REFUSAL_EVENTS) {
            self.actions.push(Action::Event {
                warning: true,
                reason: "ConnectionRefused".into(),
                message: format!(
                    "the driver refused a connection from {}: it failed authentication (wrong or missing secret)",
                    r.peer
                ),
                to: None,
            });
        }
        if refused.len() > MAX_REFUSAL_EVENTS {
            self.actions.push(Action::Event {
                warning: true,
                reason: "ConnectionRefused".into(),
                message: format!(
                    "the driver refused {} more connection(s) that failed authentication",
                    refused.len() - MAX_REFUSAL_EVENTS
                ),
                to: None,
            });
        }
    }

    fn policy(&self) -> RestartPolicyType {
        self.app
            .spec
            .restart_policy
            .as_ref()
            .map(|p| p.r#type)
            .unwrap_or_default()
    }

    /// Failed runs so far allow another attempt?
    fn may_retry_failure(&self) -> bool {
        let p = self.app.spec.restart_policy.as_ref();
        match self.policy() {
            RestartPolicyType::Always => true,
            RestartPolicyType::Never => false,
            RestartPolicyType::OnFailure => {
                let retries = p.and_then(|p| p.on_failure_retries).unwrap_or(0);
                self.status.execution_attempts <= retries
            }
        }
    }

    fn may_retry_submission(&self) -> bool {
        let p = self.app.spec.restart_policy.as_ref();
        match self.policy() {
            RestartPolicyType::Never => false,
            RestartPolicyType::Always | RestartPolicyType::OnFailure => {
                let retries = p.and_then(|p| p.on_submission_failure_retries).unwrap_or(0);
                self.status.submission_attempts <= retries
            }
        }
    }

    fn retry_delay(&self, submission: bool) -> Duration {
        let p = self.app.spec.restart_policy.as_ref();
        let base = if submission {
            p.and_then(|p| p.on_submission_failure_retry_interval)
        } else {
            p.and_then(|p| p.on_failure_retry_interval)
        }
        .or(self.app.spec.retry_interval)
        .filter(|s| *s > 0)
        .map_or(self.cfg.default_retry_interval, |s| {
            Duration::from_secs(s.unsigned_abs())
        });
        let n = u32::try_from(if submission {
            self.status.submission_attempts
        } else {
            self.status.execution_attempts
        })
        .unwrap_or(1);
        backoff(base, n.max(1), self.cfg.max_backoff)
    }
}

fn name(s: S) -> &'static str {
    s.label()
}

fn reason(s: S) -> &'static str {
    match s {
        S::New => "SparkApplicationNew",
        S::Submitted => "SparkApplicationSubmitted",
        S::Running => "SparkApplicationRunning",
        S::Succeeding => "SparkApplicationSucceeding",
        S::Completed => "SparkApplicationCompleted",
        S::Failing => "SparkApplicationFailing",
        S::Failed => "SparkApplicationFailed",
        S::SubmissionFailed => "SparkApplicationSubmissionFailed",
        S::PendingRerun => "SparkApplicationPendingRerun",
        S::Invalidating => "SparkApplicationInvalidating",
        S::Suspending => "SparkApplicationSuspending",
        S::Suspended => "SparkApplicationSuspended",
        S::Resuming => "SparkApplicationResuming",
        S::Unknown => "SparkApplicationUnknown",
    }
}

/// Records that creating the attempt's objects failed (`Submit` could not be carried out). No
/// secret is in `message`: it is an API error text.
fn submission_failed(
    app: &SparkApplication,
    status: &SparkApplicationStatus,
    now: Timestamp,
    message: &str,
    cfg: &Config,
) -> Decision {
    let obs = Observed {
        now,
        driver: DriverPhase::Missing,
        spec_hash: status.submission_id.clone().unwrap_or_default(),
        executors: None,
        refused: Vec::new(),
    };
    let mut c = Ctx {
        app,
        obs: &obs,
        cfg,
        status: status.clone(),
        actions: Vec::new(),
    };
    c.status.execution_attempts = (c.status.execution_attempts - 1).max(0);
    c.to(S::SubmissionFailed, Some(message.to_owned()));
    c.actions.push(Action::RequeueAfter(c.retry_delay(true)));
    Decision {
        status: c.status,
        actions: c.actions,
    }
}

/// Everything one decision rests on.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The application as read.
    pub app: &'a SparkApplication,
    /// Its plan, or why it has none (the policy refused it, or it cannot be planned).
    pub plan: Result<&'a LaunchPlan, &'a str>,
    /// What was observed.
    pub observed: &'a Observed,
    /// Whether the application already carries sparkop's finalizer.
    pub has_finalizer: bool,
    /// The error of the `Submit` this reconcile carried out, when it failed: the runtime asks
    /// again with it, and the decision records the failed submission.
    pub submit_error: Option<&'a str>,
}

/// The whole decision for one reconcile: the new status (state, attempts, executors, driver
/// info, security conditions) and the actions, in order.
pub fn next(input: &Input<'_>, cfg: &Config) -> Decision {
    let obs = input.observed;
    let status = input.app.status.clone().unwrap_or_default();
    let plan = match input.plan {
        Ok(plan) => plan,
        Err(message) => return reject(&status, message, obs.now),
    };
    let mut d = transition(input.app, obs, cfg);
    if let Some(i) = d
        .actions
        .iter()
        .position(|a| matches!(a, Action::Submit { .. }))
    {
        if let Some(error) = input.submit_error {
            let failed = submission_failed(input.app, &d.status, obs.now, error, cfg);
            let events = d
                .actions
                .iter()
                .filter(|a| matches!(a, Action::Event { .. }))
                .cloned();
            d = Decision {
                status: failed.status,
                actions: events.chain(failed.actions).collect(),
            };
        } else if !input.has_finalizer {
            d.actions.insert(i, Action::AddFinalizer);
        }
    }
    let name = input.app.metadata.name.as_deref().unwrap_or_default();
    let uid = input.app.metadata.uid.as_deref().unwrap_or_default();
    let current = Names::new(name, uid, current_attempt(&d.status));
    d.status.driver_info = status::driver_info(plan, &current, &plan.namespace);
    d.status.conditions = Some(status::conditions(
        plan,
        status.conditions.as_deref(),
        obs.now,
    ));
    d
}

/// An application the policy refuses (or that cannot be read): FAILED with the reasons and
/// one Warning Event, once; nothing more until it changes.
pub fn reject(status: &SparkApplicationStatus, message: &str, now: Timestamp) -> Decision {
    let mut status = status.clone();
    let mut actions = Vec::new();
    if status.application_state.state != S::Failed
        || status.application_state.error_message.as_deref() != Some(message)
    {
        status.application_state = ApplicationState {
            state: S::Failed,
            error_message: Some(message.to_owned()),
        };
        status.termination_time = Some(Time(now));
        actions.push(Action::Event {
            warning: true,
            reason: "SparkApplicationInvalid".into(),
            message: message.to_owned(),
            to: Some(S::Failed),
        });
    }
    Decision { status, actions }
}

/// The state machine proper: the next state, counters and actions given what was observed.
fn transition(app: &SparkApplication, obs: &Observed, cfg: &Config) -> Decision {
    let status = app.status.clone().unwrap_or_default();
    let mut c = Ctx {
        app,
        obs,
        cfg,
        status,
        actions: Vec::new(),
    };
    let state = c.status.application_state.state;
    let suspend = app.spec.suspend.unwrap_or(false);
    let attempt = current_attempt(&c.status);
    let spec_changed = c
        .status
        .submission_id
        .as_deref()
        .is_some_and(|h| h != obs.spec_hash);

    match state {
        S::New => {
            if suspend {
                c.to(S::Suspended, None);
            } else {
                c.submit();
            }
        }
        S::Submitted | S::Running | S::Unknown if suspend => {
            c.actions.push(Action::DeleteAttempt { attempt });
            c.to(S::Suspending, None);
        }
        S::Submitted | S::Running | S::Unknown if spec_changed => {
            c.actions.push(Action::DeleteAttempt { attempt });
            c.to(
                S::Invalidating,
                Some("the spec changed; resubmitting".into()),
            );
        }
        S::Submitted | S::Running | S::Unknown => match &obs.driver {
            DriverPhase::Running => {
                c.to(S::Running, None);
                c.report_refusals();
                if let Some(every) = cfg.driver_log_interval {
                    c.actions.push(Action::RequeueAfter(every));
                }
            }
            DriverPhase::Succeeded => c.to(S::Succeeding, None),
            DriverPhase::Failed(why) => c.to(S::Failing, Some(why.clone())),
            DriverPhase::Unknown => c.to(
                S::Unknown,
                Some("the driver pod's node is not responding".into()),
            ),
            DriverPhase::Pending | DriverPhase::Missing => {
                let waited = since(obs.now, c.status.last_submission_attempt_time.as_ref());
                if state == S::Running && obs.driver == DriverPhase::Missing {
                    c.to(S::Failing, Some("the driver pod disappeared".into()));
                } else if waited >= cfg.submitted_timeout {
                    c.actions.push(Action::DeleteAttempt { attempt });
                    c.to(
                        S::Failing,
                        Some(format!(
                            "the driver did not start within {} s",
                            cfg.submitted_timeout.as_secs()
                        )),
                    );
                } else {
                    c.actions
                        .push(Action::RequeueAfter(cfg.submitted_timeout - waited));
                }
            }
        },
        S::Succeeding => {
            if c.policy() == RestartPolicyType::Always && !suspend {
                c.status.termination_time = Some(Time(obs.now));
                c.to(S::PendingRerun, None);
                c.actions.push(Action::RequeueAfter(c.retry_delay(false)));
            } else {
                c.terminate(S::Completed, None);
            }
        }
        S::Failing => {
            let message = c.status.application_state.error_message.clone();
            if c.may_retry_failure() && !suspend {
                c.status.termination_time = Some(Time(obs.now));
                c.to(S::PendingRerun, message);
                c.actions.push(Action::RequeueAfter(c.retry_delay(false)));
            } else {
                c.terminate(S::Failed, message);
            }
        }
        S::SubmissionFailed => {
            let message = c.status.application_state.error_message.clone();
            if c.may_retry_submission() && !suspend {
                let wait = c.retry_delay(true);
                let waited = since(obs.now, c.status.last_submission_attempt_time.as_ref());
                if waited >= wait {
                    c.submit();
                } else {
                    c.actions.push(Action::RequeueAfter(wait - waited));
                }
            } else {
                c.terminate(S::Failed, message);
            }
        }
        S::PendingRerun => {
            let wait = c.retry_delay(false);
            let waited = since(obs.now, c.status.termination_time.as_ref());
            if suspend {
                c.to(S::Suspended, None);
            } else if waited >= wait {
                c.actions.push(Action::DeleteAttempt { attempt });
                c.submit();
            } else {
                c.actions.push(Action::RequeueAfter(wait - waited));
            }
        }
        S::Invalidating => {
            // The old attempt's objects are being deleted: start over with fresh counters.
            c.status.execution_attempts = 0;
            c.status.termination_time = Some(Time(obs.now - secs(Duration::from_secs(3600))));
            c.to(S::PendingRerun, None);
            c.actions.push(Action::RequeueAfter(Duration::ZERO));
        }
        S::Suspending => {
            if obs.driver == DriverPhase::Missing {
                c.to(S::Suspended, None);
            } else {
                c.actions.push(Action::DeleteAttempt { attempt });
                c.actions.push(Action::RequeueAfter(Duration::from_secs(2)));
            }
        }
        S::Suspended => {
            if !suspend {
                c.to(S::Resuming, None);
                c.actions.push(Action::RequeueAfter(Duration::ZERO));
            }
        }
        S::Resuming => c.submit(),
        S::Completed | S::Failed => {
            if spec_changed && !suspend {
                c.status.execution_attempts = 0;
                c.status.submission_attempts = c.status.submission_attempts.max(0);
                c.submit();
            } else if let Some(ttl) = app.spec.time_to_live_seconds.filter(|t| *t >= 0) {
                let ttl = Duration::from_secs(ttl.unsigned_abs());
                let done = since(obs.now, c.status.termination_time.as_ref());
                if done >= ttl {
                    c.actions.push(Action::DeleteApplication);
                } else {
                    c.actions.push(Action::RequeueAfter(ttl - done));
                }
            }
        }
    }
    // Executors seen belong to the attempt that was current when they were listed.
    let resubmitted = c.actions.iter().any(|a| matches!(a, Action::Submit { .. }));
    if let (Some(seen), false) = (&obs.executors, resubmitted) {
        let vanished = match (&obs.driver, c.status.application_state.state) {
            (DriverPhase::Running, _) => executors::Vanished::WhileDriverRuns,
            (_, S::Succeeding | S::Completed) => executors::Vanished::AppSucceeded,
            _ => executors::Vanished::AppFailed,
        };
        c.status.executor_state =
            executors::merge(c.status.executor_state.as_ref(), seen, vanished);
    }
    Decision {
        status: c.status,
        actions: c.actions,
    }
}
