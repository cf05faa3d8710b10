//! The Kubernetes backend: pure builders (`LaunchPlan` → the objects of one driver attempt),
//! the pure v1beta2 state machine (`reconcile::next`), and the kube-rs runtime shell that
//! observes, acts and writes status, with Prometheus metrics.

pub mod build;
pub mod events;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod runtime;

/// The owner reference of every object sparkop makes for an application: deleting the
/// application deletes them (garbage collection), and the controller flag marks them as its.
pub fn owner_reference(app_name: &str, app_uid: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": sparkop_api::manifest::API_VERSION,
        "kind": "SparkApplication",
        "name": app_name,
        "uid": app_uid,
        "controller": true,
        "blockOwnerDeletion": true,
    })
}
