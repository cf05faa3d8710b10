//! Executor states in the status: the driver creates its executors, so the operator only
//! observes them (by the labels the driver gives them) and folds what it saw into
//! `status.executorState`, keeping executors that are gone.

use std::collections::BTreeMap;

use sparkop_api::types::status::ExecutorState;

/// The state of an executor pod from its phase.
pub fn state_of_phase(phase: Option<&str>) -> ExecutorState {
    match phase {
        Some("Pending") | None => ExecutorState::Pending,
        Some("Running") => ExecutorState::Running,
        Some("Succeeded") => ExecutorState::Completed,
        Some("Failed") => ExecutorState::Failed,
        Some(_) => ExecutorState::Unknown,
    }
}

fn terminal(s: ExecutorState) -> bool {
    matches!(s, ExecutorState::Completed | ExecutorState::Failed)
}

/// At most this many executors are tracked in the status: a long job with dynamic allocation
/// can start thousands, and a status too large for etcd cannot be written at all (kubeflow
/// #2025). Finished executors are dropped first.
pub const MAX_TRACKED: usize = 1000;

/// What happened to an executor pod that is no longer there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vanished {
    /// The driver still runs: Spark removes executors it stops, so nothing is certain yet.
    WhileDriverRuns,
    /// The application succeeded: Spark removed its executors at the end.
    AppSucceeded,
    /// The driver is gone otherwise: the executor went down with it.
    AppFailed,
}

/// The new executor states: what was observed now, over what was known. An executor that is
/// gone keeps its final state; an unfinished one becomes UNKNOWN while the driver runs, then
/// COMPLETED or FAILED with the application (as v1beta2 operators report it).
pub fn merge(
    known: Option<&BTreeMap<String, ExecutorState>>,
    observed: &[(String, ExecutorState)],
    vanished: Vanished,
) -> Option<BTreeMap<String, ExecutorState>> {
    let mut out: BTreeMap<String, ExecutorState> = known.cloned().unwrap_or_default();
    for (name, state) in out.iter_mut() {
        if !terminal(*state) && !observed.iter().any(|(n, _)| n == name) {
            *state = match vanished {
                Vanished::WhileDriverRuns => ExecutorState::Unknown,
                Vanished::AppSucceeded => ExecutorState::Completed,
                Vanished::AppFailed => ExecutorState::Failed,
            };
        }
    }
    for (name, state) in observed {
        out.insert(name.clone(), *state);
    }
    if out.len() > MAX_TRACKED {
        let mut excess = out.len() - MAX_TRACKED;
        let finished: Vec<String> = out
            .iter()
            .filter(|(_, s)| terminal(**s))
            .map(|(n, _)| n.clone())
            .collect();
        for name in finished.into_iter().take(excess) {
            out.remove(&name);
            excess -= 1;
        }
        while excess > 0 && out.pop_first().is_some() {
            excess -= 1;
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExecutorState::*;

    fn map(items: &[(&str, ExecutorState)]) -> BTreeMap<String, ExecutorState> {
        items.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect()
    }

    #[test]
    fn phases_map_to_states() {
        assert_eq!(state_of_phase(Some("Pending")), Pending);
        assert_eq!(state_of_phase(None), Pending);
        assert_eq!(state_of_phase(Some("Running")), Running);
        assert_eq!(state_of_phase(Some("Succeeded")), Completed);
        assert_eq!(state_of_phase(Some("Failed")), Failed);
        assert_eq!(state_of_phase(Some("Unknown")), Unknown);
    }

    #[test]
    fn observed_states_replace_known_ones_and_gone_executors_are_settled() {
        let known = map(&[("e1", Running), ("e2", Running), ("e3", Failed)]);
        let seen = [("e1".to_owned(), Running), ("e4".to_owned(), Pending)];
        assert_eq!(
            merge(Some(&known), &seen, Vanished::WhileDriverRuns),
            Some(map(&[
                ("e1", Running),
                ("e2", Unknown),
                ("e3", Failed),
                ("e4", Pending)
            ]))
        );
        let later = map(&[("e1", Unknown), ("e2", Running), ("e3", Failed)]);
        assert_eq!(
            merge(Some(&later), &[], Vanished::AppSucceeded),
            Some(map(&[("e1", Completed), ("e2", Completed), ("e3", Failed)]))
        );
        assert_eq!(
            merge(Some(&later), &[], Vanished::AppFailed),
            Some(map(&[("e1", Failed), ("e2", Failed), ("e3", Failed)]))
        );
    }

    #[test]
    fn nothing_known_and_nothing_seen_is_no_map() {
        assert_eq!(merge(None, &[], Vanished::WhileDriverRuns), None);
        assert_eq!(
            merge(None, &[("e1".into(), Running)], Vanished::AppFailed),
            Some(map(&[("e1", Running)]))
        );
    }

    #[test]
    fn the_map_is_bounded_and_drops_finished_executors_first() {
        let known: BTreeMap<String, ExecutorState> = (0..MAX_TRACKED)
            .map(|i| (format!("done-{i:04}"), Completed))
            .collect();
        let seen: Vec<(String, ExecutorState)> =
            (0..10).map(|i| (format!("live-{i}"), Running)).collect();
        let out = merge(Some(&known), &seen, Vanished::WhileDriverRuns).expect("map");
        assert_eq!(out.len(), MAX_TRACKED);
        assert!(
            seen.iter().all(|(n, _)| out[n] == Running),
            "live ones kept"
        );
        let live: Vec<(String, ExecutorState)> = (0..MAX_TRACKED + 5)
            .map(|i| (format!("live-{i:05}"), Running))
            .collect();
        let out = merge(None, &live, Vanished::WhileDriverRuns).expect("map");
        assert_eq!(out.len(), MAX_TRACKED);
    }
}
