use sparkop_api::manifest::{LoadOptions, Object, load_str};

use super::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).expect("time")
}

fn app(extra: &str) -> SparkApplication {
    let text = format!(
        "apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {{name: app, namespace: data, uid: u-1}}
spec:
  type: Python
  sparkVersion: \"4.3.0\"
  image: apache/spark:4.3.0
  mainApplicationFile: local:///app.py
  driver: {{cores: 1, memory: 512m}}
  executor: {{cores: 1, instances: 1, memory: 512m}}
{extra}"
    );
    let l = load_str("t.yaml", &text, LoadOptions::default());
    match l.documents.into_iter().next().map(|d| d.object) {
        Some(Object::SparkApplication(a)) => *a,
        other => panic!("{other:?}"),
    }
}

struct Given {
    state: S,
    submissions: i32,
    executions: i32,
    submitted_at: i64,
    terminated_at: Option<i64>,
    hash: &'static str,
}

fn given(state: S, submissions: i32, executions: i32) -> Given {
    Given {
        state,
        submissions,
        executions,
        submitted_at: 0,
        terminated_at: None,
        hash: "h1",
    }
}

fn decide(extra: &str, g: Given, driver: DriverPhase, now: i64) -> Decision {
    decide_seeing(extra, g, driver, now, None)
}

fn decide_seeing(
    extra: &str,
    g: Given,
    driver: DriverPhase,
    now: i64,
    executors: Option<Vec<(String, ExecutorState)>>,
) -> Decision {
    decide_with(extra, g, driver, now, executors, None)
}

/// `next` for `app(extra)` with the status `g` describes, after observing `driver`, with the
/// finalizer in place (`finalizer_missing` tests what happens without), and `submit_error`
/// as the outcome of a submission just tried.
fn decide_with(
    extra: &str,
    g: Given,
    driver: DriverPhase,
    now: i64,
    executors: Option<Vec<(String, ExecutorState)>>,
    submit_error: Option<&str>,
) -> Decision {
    decide_full(extra, g, driver, now, executors, submit_error, true)
}

fn decide_full(
    extra: &str,
    g: Given,
    driver: DriverPhase,
    now: i64,
    executors: Option<Vec<(String, ExecutorState)>>,
    submit_error: Option<&str>,
    has_finalizer: bool,
) -> Decision {
    let mut a = app(extra);
    a.status = Some(SparkApplicationStatus {
        application_state: ApplicationState {
            state: g.state,
            error_message: None,
        },
        submission_attempts: g.submissions,
        execution_attempts: g.executions,
        last_submission_attempt_time: (g.submissions > 0).then(|| Time(t(g.submitted_at))),
        termination_time: g.terminated_at.map(|s| Time(t(s))),
        submission_id: (g.state != S::New).then(|| g.hash.to_owned()),
        ..Default::default()
    });
    let plan = sparkop_core::plan(&a).expect("plan");
    let observed = Observed {
        now: t(now),
        driver,
        spec_hash: "h1".into(),
        executors,
        refused: Vec::new(),
    };
    next(
        &Input {
            app: &a,
            plan: Ok(&plan),
            observed: &observed,
            has_finalizer,
            submit_error,
        },
        &Config::default(),
    )
}

fn state(d: &Decision) -> S {
    d.status.application_state.state
}

fn has(d: &Decision, a: &Action) -> bool {
    d.actions.contains(a)
}

fn requeue(d: &Decision) -> Option<Duration> {
    d.actions.iter().find_map(|a| match a {
        Action::RequeueAfter(d) => Some(*d),
        _ => None,
    })
}

const NEVER: &str = "";
const ON_FAILURE_2: &str = "  restartPolicy: {type: OnFailure, onFailureRetries: 2, onFailureRetryInterval: 10, onSubmissionFailureRetries: 1, onSubmissionFailureRetryInterval: 20}\n";
const ALWAYS: &str = "  restartPolicy: {type: Always, onFailureRetryInterval: 10}\n";

#[test]
fn the_happy_path() {
    let d = decide(NEVER, given(S::New, 0, 0), DriverPhase::Missing, 0);
    assert_eq!(state(&d), S::Submitted);
    assert!(has(&d, &Action::Submit { attempt: 0 }));
    assert_eq!(
        (d.status.submission_attempts, d.status.execution_attempts),
        (1, 1)
    );
    assert_eq!(d.status.submission_id.as_deref(), Some("h1"));

    let cases = [
        (S::Submitted, DriverPhase::Pending, S::Submitted),
        (S::Submitted, DriverPhase::Running, S::Running),
        (S::Running, DriverPhase::Running, S::Running),
        (S::Running, DriverPhase::Succeeded, S::Succeeding),
        (S::Submitted, DriverPhase::Succeeded, S::Succeeding),
        (
            S::Running,
            DriverPhase::Failed("OOMKilled".into()),
            S::Failing,
        ),
        (S::Running, DriverPhase::Unknown, S::Unknown),
        (S::Unknown, DriverPhase::Running, S::Running),
        (S::Running, DriverPhase::Missing, S::Failing),
        (S::Succeeding, DriverPhase::Succeeded, S::Completed),
        (S::Failing, DriverPhase::Failed("x".into()), S::Failed),
    ];
    for (from, driver, to) in cases {
        let d = decide(NEVER, given(from, 1, 1), driver.clone(), 5);
        assert_eq!(state(&d), to, "{from:?} + {driver:?}");
    }
}

#[test]
fn every_transition_is_an_event_and_warnings_are_marked() {
    let d = decide(
        NEVER,
        given(S::Running, 1, 1),
        DriverPhase::Failed("Error".into()),
        5,
    );
    assert!(d.actions.iter().any(|a| matches!(a,
        Action::Event { warning: true, reason, message, to: Some(S::Failing) } if reason == "SparkApplicationFailing" && message == "RUNNING -> FAILING: Error")));
    let d = decide(NEVER, given(S::Running, 1, 1), DriverPhase::Running, 5);
    assert!(
        !d.actions.iter().any(|a| matches!(a, Action::Event { .. })),
        "no event without a change"
    );
}

#[test]
fn a_driver_that_never_starts_fails_the_attempt_after_the_timeout() {
    let d = decide(NEVER, given(S::Submitted, 1, 1), DriverPhase::Pending, 100);
    assert_eq!(state(&d), S::Submitted);
    assert_eq!(requeue(&d), Some(Duration::from_secs(500)));
    let d = decide(NEVER, given(S::Submitted, 1, 1), DriverPhase::Pending, 600);
    assert_eq!(state(&d), S::Failing);
    assert!(has(&d, &Action::DeleteAttempt { attempt: 0 }));
}

#[test]
fn on_failure_retries_with_exponential_backoff_then_gives_up() {
    // First failure (1 execution so far, 2 retries allowed): rerun after 10 s.
    let d = decide(
        ON_FAILURE_2,
        given(S::Failing, 1, 1),
        DriverPhase::Failed("x".into()),
        50,
    );
    assert_eq!(state(&d), S::PendingRerun);
    assert_eq!(requeue(&d), Some(Duration::from_secs(10)));
    // Second failure: 20 s.
    let d = decide(
        ON_FAILURE_2,
        given(S::Failing, 2, 2),
        DriverPhase::Failed("x".into()),
        50,
    );
    assert_eq!(
        (state(&d), requeue(&d)),
        (S::PendingRerun, Some(Duration::from_secs(20)))
    );
    // Third failure: no retries left.
    let d = decide(
        ON_FAILURE_2,
        given(S::Failing, 3, 3),
        DriverPhase::Failed("x".into()),
        50,
    );
    assert_eq!(state(&d), S::Failed);
    assert!(d.status.termination_time.is_some());
    // Never never retries.
    let d = decide(
        NEVER,
        given(S::Failing, 1, 1),
        DriverPhase::Failed("x".into()),
        50,
    );
    assert_eq!(state(&d), S::Failed);
}

#[test]
fn pending_rerun_waits_then_deletes_the_old_attempt_and_submits_the_next() {
    let mut g = given(S::PendingRerun, 1, 1);
    g.terminated_at = Some(50);
    let d = decide(ON_FAILURE_2, g, DriverPhase::Failed("x".into()), 55);
    assert_eq!(
        (state(&d), requeue(&d)),
        (S::PendingRerun, Some(Duration::from_secs(5)))
    );
    let mut g = given(S::PendingRerun, 1, 1);
    g.terminated_at = Some(50);
    let d = decide(ON_FAILURE_2, g, DriverPhase::Failed("x".into()), 60);
    assert_eq!(state(&d), S::Submitted);
    let delete = d
        .actions
        .iter()
        .position(|a| *a == Action::DeleteAttempt { attempt: 0 });
    let submit = d
        .actions
        .iter()
        .position(|a| *a == Action::Submit { attempt: 1 });
    assert!(
        delete.is_some() && submit.is_some() && delete < submit,
        "{:?}",
        d.actions
    );
    assert_eq!(d.status.submission_attempts, 2);
}

#[test]
fn always_reruns_after_success() {
    let d = decide(
        ALWAYS,
        given(S::Succeeding, 1, 1),
        DriverPhase::Succeeded,
        50,
    );
    assert_eq!(state(&d), S::PendingRerun);
}

#[test]
fn submission_failures_retry_per_their_own_limit() {
    // The runtime tried the submission `next` asked for, and asks again with its error.
    let d = decide_with(
        ON_FAILURE_2,
        given(S::New, 0, 0),
        DriverPhase::Missing,
        0,
        None,
        Some("pods is forbidden"),
    );
    assert_eq!(state(&d), S::SubmissionFailed);
    assert_eq!(d.status.submission_attempts, 1);
    assert_eq!(d.status.execution_attempts, 0, "no run started");
    assert!(!d.actions.iter().any(|a| matches!(a, Action::Submit { .. })));
    assert_eq!(
        d.status.application_state.error_message.as_deref(),
        Some("pods is forbidden")
    );
    assert_eq!(requeue(&d), Some(Duration::from_secs(20)));
    // One retry allowed: resubmitted after the interval.
    let mut g = given(S::SubmissionFailed, 1, 0);
    g.submitted_at = 0;
    let d = decide(ON_FAILURE_2, g, DriverPhase::Missing, 25);
    assert_eq!(state(&d), S::Submitted);
    assert!(has(&d, &Action::Submit { attempt: 1 }));
    // No more.
    let d = decide(
        ON_FAILURE_2,
        given(S::SubmissionFailed, 2, 0),
        DriverPhase::Missing,
        500,
    );
    assert_eq!(state(&d), S::Failed);
}

#[test]
fn a_spec_change_invalidates_and_resubmits() {
    let mut g = given(S::Running, 1, 1);
    g.hash = "old";
    let d = decide(NEVER, g, DriverPhase::Running, 5);
    assert_eq!(state(&d), S::Invalidating);
    assert!(has(&d, &Action::DeleteAttempt { attempt: 0 }));
    let mut g = given(S::Invalidating, 1, 1);
    g.hash = "old";
    let d = decide(NEVER, g, DriverPhase::Missing, 6);
    assert_eq!(state(&d), S::PendingRerun);
    assert_eq!(
        d.status.execution_attempts, 0,
        "a changed spec starts with fresh retries"
    );
    let mut g = given(S::Completed, 1, 1);
    g.hash = "old";
    let d = decide(NEVER, g, DriverPhase::Succeeded, 6);
    assert_eq!(state(&d), S::Submitted);
    assert!(has(&d, &Action::Submit { attempt: 1 }));
}

#[test]
fn suspend_and_resume() {
    let d = decide(
        "  suspend: true\n",
        given(S::Running, 1, 1),
        DriverPhase::Running,
        5,
    );
    assert_eq!(state(&d), S::Suspending);
    assert!(has(&d, &Action::DeleteAttempt { attempt: 0 }));
    let d = decide(
        "  suspend: true\n",
        given(S::Suspending, 1, 1),
        DriverPhase::Missing,
        6,
    );
    assert_eq!(state(&d), S::Suspended);
    let d = decide(
        "  suspend: true\n",
        given(S::New, 0, 0),
        DriverPhase::Missing,
        0,
    );
    assert_eq!(state(&d), S::Suspended);
    assert!(!d.actions.iter().any(|a| matches!(a, Action::Submit { .. })));
    let d = decide("", given(S::Suspended, 1, 1), DriverPhase::Missing, 7);
    assert_eq!(state(&d), S::Resuming);
    let d = decide("", given(S::Resuming, 1, 1), DriverPhase::Missing, 8);
    assert_eq!(state(&d), S::Submitted);
}

#[test]
fn time_to_live_deletes_finished_applications() {
    let mut g = given(S::Completed, 1, 1);
    g.terminated_at = Some(100);
    let d = decide("  timeToLiveSeconds: 60\n", g, DriverPhase::Succeeded, 130);
    assert_eq!(requeue(&d), Some(Duration::from_secs(30)));
    let mut g = given(S::Completed, 1, 1);
    g.terminated_at = Some(100);
    let d = decide("  timeToLiveSeconds: 60\n", g, DriverPhase::Succeeded, 160);
    assert!(has(&d, &Action::DeleteApplication));
}

#[test]
fn backoff_is_exponential_and_capped() {
    let b = Duration::from_secs(5);
    let cap = Duration::from_secs(300);
    let got: Vec<u64> = (1..=8).map(|n| backoff(b, n, cap).as_secs()).collect();
    assert_eq!(got, [5, 10, 20, 40, 80, 160, 300, 300]);
    assert_eq!(backoff(b, 100, cap), cap);
}

#[test]
fn executors_seen_go_into_the_status_of_their_attempt_only() {
    let seen = vec![
        ("app-exec-1".to_owned(), ExecutorState::Running),
        ("app-exec-2".to_owned(), ExecutorState::Pending),
    ];
    let d = decide_seeing(
        NEVER,
        given(S::Running, 1, 1),
        DriverPhase::Running,
        10,
        Some(seen.clone()),
    );
    assert_eq!(state(&d), S::Running);
    let states = d.status.executor_state.expect("executor states");
    assert_eq!(states["app-exec-1"], ExecutorState::Running);
    assert_eq!(states["app-exec-2"], ExecutorState::Pending);
    // When the same decision resubmits, what was seen belonged to the old attempt.
    let mut g = given(S::PendingRerun, 1, 1);
    g.terminated_at = Some(50);
    let d = decide_seeing(ON_FAILURE_2, g, DriverPhase::Missing, 60, Some(seen));
    assert!(has(&d, &Action::Submit { attempt: 1 }));
    assert_eq!(d.status.executor_state, None);
}

#[test]
fn refused_connections_become_warning_events_while_the_driver_runs() {
    let mut a = app("");
    a.status = Some(SparkApplicationStatus {
        application_state: ApplicationState {
            state: S::Running,
            error_message: None,
        },
        submission_attempts: 1,
        execution_attempts: 1,
        submission_id: Some("h1".into()),
        ..Default::default()
    });
    let refusal = |peer: &str| refusals::Refusal {
        at: t(10),
        peer: peer.into(),
    };
    let refused: Vec<_> = (0..5)
        .map(|i| refusal(&format!("10.0.0.{i}:4000")))
        .collect();
    let plan = sparkop_core::plan(&a).expect("plan");
    let observed = Observed {
        now: t(20),
        driver: DriverPhase::Running,
        spec_hash: "h1".into(),
        executors: None,
        refused,
    };
    let d = next(
        &Input {
            app: &a,
            plan: Ok(&plan),
            observed: &observed,
            has_finalizer: true,
            submit_error: None,
        },
        &Config::default(),
    );
    let events: Vec<&str> = d
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Event {
                warning: true,
                reason,
                message,
                to: None,
            } if reason == "ConnectionRefused" => Some(message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), MAX_REFUSAL_EVENTS + 1, "{events:?}");
    assert!(events[0].contains("10.0.0.0:4000") && events[0].contains("failed authentication"));
    assert!(events[MAX_REFUSAL_EVENTS].contains("2 more"));
    // A running driver's log is looked at again after the configured interval.
    assert!(
        d.actions
            .contains(&Action::RequeueAfter(Duration::from_secs(30)))
    );
    assert_eq!(d.status.application_state.state, S::Running);
}

#[test]
fn the_finalizer_goes_on_before_the_first_driver_only() {
    let d = decide_full(
        NEVER,
        given(S::New, 0, 0),
        DriverPhase::Missing,
        0,
        None,
        None,
        false,
    );
    let i = d
        .actions
        .iter()
        .position(|a| *a == Action::AddFinalizer)
        .expect("finalizer");
    let j = d
        .actions
        .iter()
        .position(|a| matches!(a, Action::Submit { .. }))
        .expect("submit");
    assert!(i < j, "the finalizer before the driver: {:?}", d.actions);
    let d = decide(NEVER, given(S::New, 0, 0), DriverPhase::Missing, 0);
    assert!(!d.actions.contains(&Action::AddFinalizer), "already there");
    let d = decide_full(
        NEVER,
        given(S::Running, 1, 1),
        DriverPhase::Running,
        5,
        None,
        None,
        false,
    );
    assert!(
        !d.actions.contains(&Action::AddFinalizer),
        "only with a submission"
    );
}

#[test]
fn the_decision_is_the_whole_status_driver_info_and_conditions_included() {
    let d = decide(NEVER, given(S::New, 0, 0), DriverPhase::Missing, 0);
    let info = &d.status.driver_info;
    assert_eq!(info.pod_name.as_deref(), Some("app-0-driver"));
    assert_eq!(info.web_ui_service_name.as_deref(), Some("app-ui-svc"));
    assert_eq!(
        info.web_ui_address.as_deref(),
        Some("app-ui-svc.data.svc:4440")
    );
    let conditions = d.status.conditions.as_ref().expect("conditions");
    let kinds: Vec<&str> = conditions.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(kinds, ["Authenticated", "Encrypted", "UiTls"]);
    // The next attempt's driver is named in the status as soon as it is submitted.
    let mut g = given(S::PendingRerun, 1, 1);
    g.terminated_at = Some(0);
    let d = decide(ALWAYS, g, DriverPhase::Missing, 100);
    assert_eq!(
        d.status.driver_info.pod_name.as_deref(),
        Some("app-1-driver")
    );
}

#[test]
fn a_refused_application_fails_once_with_its_reasons() {
    let a = app(NEVER);
    let observed = Observed {
        now: t(3),
        driver: DriverPhase::Missing,
        spec_hash: "h1".into(),
        executors: None,
        refused: Vec::new(),
    };
    let input = Input {
        app: &a,
        plan: Err("[SPK-SEC-001] spark.network.crypto.enabled without spark.authenticate"),
        observed: &observed,
        has_finalizer: false,
        submit_error: None,
    };
    let d = next(&input, &Config::default());
    assert_eq!(state(&d), S::Failed);
    assert!(
        d.status
            .application_state
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("SPK-SEC-001"))
    );
    assert!(matches!(
        &d.actions[..],
        [Action::Event {
            warning: true,
            to: Some(S::Failed),
            ..
        }]
    ));
    // Read again with that status: nothing more to do.
    let mut again = a.clone();
    again.status = Some(d.status.clone());
    let d2 = next(
        &Input {
            app: &again,
            ..input
        },
        &Config::default(),
    );
    assert!(d2.actions.is_empty());
    assert_eq!(d2.status, d.status);
}
