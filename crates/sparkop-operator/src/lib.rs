//! The Kubernetes backend: pure builders from a `LaunchPlan` to Kubernetes objects, the
//! v1beta2 state machine, and a thin kube-rs runtime shell.
//!
//! Empty for now: the operator issue fills it.
