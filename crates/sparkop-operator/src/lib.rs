//! The Kubernetes backend. Today: the pure builders that turn a `LaunchPlan` into the objects
//! of one driver attempt (what `spark-submit` would create, secured). The state machine and the
//! kube-rs runtime shell come next (see the operator issue).

pub mod build;
pub mod reconcile;
