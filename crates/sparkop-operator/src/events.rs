//! Kubernetes Events (`events.k8s.io/v1`) for state transitions, written directly: one Event
//! per transition. kube's `Recorder` keeps every event it published for six minutes to
//! aggregate repeats, and scans that cache on each publish; with thousands of applications a
//! minute that cache is the operator's largest allocation and a CPU cost, while sparkop's
//! transitions do not repeat.

use kube::api::{Api, PostParams};
use sparkop_api::k8s_openapi::api::core::v1::ObjectReference;
use sparkop_api::k8s_openapi::api::events::v1::Event;
use sparkop_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use sparkop_api::k8s_openapi::jiff::Timestamp;

/// The longest note kept (the API server refuses more than 1 KiB).
const MAX_NOTE: usize = 1000;

/// Who reports the Events.
#[derive(Clone)]
pub struct Publisher {
    client: kube::Client,
    controller: String,
    instance: String,
}

/// One Event to publish.
pub struct Note<'a> {
    /// `Warning` rather than `Normal`.
    pub warning: bool,
    /// Short CamelCase reason.
    pub reason: &'a str,
    /// What the operator did (`Reconcile`, `Validate`).
    pub action: &'a str,
    /// The message; never a secret.
    pub note: &'a str,
}

impl Publisher {
    /// A publisher for `controller`, replica `instance` (the controller's name when empty).
    pub fn new(client: kube::Client, controller: &str, instance: &str) -> Publisher {
        let instance = if instance.is_empty() {
            controller
        } else {
            instance
        };
        Publisher {
            client,
            controller: controller.to_owned(),
            instance: instance.to_owned(),
        }
    }

    /// Creates the Event about `regarding` in its namespace.
    pub async fn publish(
        &self,
        n: &Note<'_>,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_deref().unwrap_or(&self.controller),
                    now.as_nanosecond()
                )),
                namespace: Some(namespace.clone()),
                ..Default::default()
            },
            event_time: Some(MicroTime(now)),
            action: Some(n.action.to_owned()),
            reason: Some(n.reason.to_owned()),
            note: Some(n.note.chars().take(MAX_NOTE).collect()),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(if n.warning { "Warning" } else { "Normal" }.to_owned()),
            ..Default::default()
        };
        Api::<Event>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await
            .map(|_| ())
    }
}
