//! Port-forwarding to simulated pods: kwok (the nodes' kubelet here) forwards a pod's port to
//! wherever a `kwok.x-k8s.io/v1alpha1` PortForward object says. Tests point a driver pod's
//! ports at a real Spark driver they started on loopback, so `pods/portforward` through the
//! API server ends at real Spark.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use serde_json::json;
use sparkop_api::k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use crate::{ClusterError, ControlPlane, User};

const CRD_FILE: &str = "kwok-portforward-crd.yaml";
const CRD_NAME: &str = "portforwards.kwok.x-k8s.io";

fn client_err(what: &str) -> impl FnOnce(kube::Error) -> ClusterError + '_ {
    move |e| ClusterError::Client(format!("{what}: {e}"))
}

impl ControlPlane {
    /// Applies kwok's PortForward CRD (copied next to the binaries by build-test-cluster) and
    /// waits until it is served: kwok watches it from its start.
    pub(crate) async fn install_kwok_port_forward_crd(&self) -> Result<(), ClusterError> {
        let path = self.bin.join(CRD_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ClusterError::NoBinaries(format!(
                "{}: {e} (rerun scripts/build-test-cluster)",
                path.display()
            ))
        })?;
        let crd: CustomResourceDefinition =
            serde_saphyr::from_str(&text).map_err(|e| ClusterError::Client(e.to_string()))?;
        let api: Api<CustomResourceDefinition> = Api::all(self.client(User::Admin)?);
        api.patch(
            CRD_NAME,
            &PatchParams::apply("sparkop-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .map_err(client_err("applying kwok's PortForward CRD"))?;
        let start = Instant::now();
        loop {
            let established = api
                .get(CRD_NAME)
                .await
                .map_err(client_err("reading kwok's PortForward CRD"))?
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(30) {
                return Err(ClusterError::Client(
                    "kwok's PortForward CRD was not established within 30 s".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Makes port-forwarding to `pod`'s `ports` reach `target` (each pod port to the target's
    /// port of the same index). Replaces an earlier rule for the pod.
    pub async fn forward_pod_ports(
        &self,
        namespace: &str,
        pod: &str,
        ports: &[(u16, SocketAddr)],
    ) -> Result<(), ClusterError> {
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("kwok.x-k8s.io", "v1alpha1", "PortForward"),
            "portforwards",
        );
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client(User::Admin)?, namespace, &ar);
        let forwards: Vec<_> = ports
            .iter()
            .map(|(port, target)| {
                json!({"ports": [port], "target": {"address": target.ip().to_string(), "port": target.port()}})
            })
            .collect();
        let body = json!({
            "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "PortForward",
            "metadata": {"name": pod, "namespace": namespace},
            "spec": {"forwards": forwards},
        });
        api.patch(
            pod,
            &PatchParams::apply("sparkop-tests").force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(client_err("applying a kwok PortForward"))?;
        Ok(())
    }
}
