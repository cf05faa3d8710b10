//! The Kubernetes backend: pure builders (`LaunchPlan` → the objects of one driver attempt),
//! the pure v1beta2 state machine (`reconcile::next`), and the kube-rs runtime shell that
//! observes, acts and writes status, with Prometheus metrics.

pub mod build;
pub mod events;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod runtime;
