//! Installs what a real deployment of sparkop has, minus the operator Deployment (tests run
//! the operator themselves): the CRDs, the rendered Helm chart's namespaces, ServiceAccounts
//! and RBAC, and one kwok node for driver pods to land on.

use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use serde_json::{Value, json};
use sparkop_api::k8s_openapi::api::core::v1::Node;
use sparkop_api::k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use crate::ClusterError;

const MANIFESTS: &str = include_str!("../../../deploy/manifests/sparkop.yaml");

fn client_err(what: &str) -> impl FnOnce(kube::Error) -> ClusterError + '_ {
    move |e| ClusterError::Client(format!("{what}: {e}"))
}

/// Applies the CRDs and the chart's RBAC with `admin`, and creates a kwok node.
pub async fn install_sparkop(admin: &kube::Client) -> Result<(), ClusterError> {
    let pp = PatchParams::apply("sparkop-tests").force();
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    for crd in sparkop_api::crd::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(&name, &pp, &Patch::Apply(&crd))
            .await
            .map_err(client_err("applying a CRD"))?;
    }
    for doc in MANIFESTS.split("\n---\n") {
        let v: Value =
            serde_saphyr::from_str(doc).map_err(|e| ClusterError::Client(e.to_string()))?;
        let kind = v["kind"].as_str().unwrap_or_default();
        let plural = match kind {
            "Namespace" => "namespaces",
            "ServiceAccount" => "serviceaccounts",
            "ClusterRole" => "clusterroles",
            "ClusterRoleBinding" => "clusterrolebindings",
            "Role" => "roles",
            "RoleBinding" => "rolebindings",
            // The operator runs in the test, not as a Deployment.
            _ => continue,
        };
        let (group, version) = match v["apiVersion"].as_str().unwrap_or("v1").split_once('/') {
            Some((g, ver)) => (g.to_owned(), ver.to_owned()),
            None => (String::new(), "v1".to_owned()),
        };
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(&group, &version, kind),
            plural,
        );
        let name = v["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let api: Api<DynamicObject> = match v["metadata"]["namespace"].as_str() {
            Some(ns) => Api::namespaced_with(admin.clone(), ns, &ar),
            None => Api::all_with(admin.clone(), &ar),
        };
        api.patch(&name, &pp, &Patch::Apply(&v))
            .await
            .map_err(client_err("applying the chart"))?;
    }
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "kwok-node-0", "labels": {"type": "kwok"}},
        "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
                   "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"}}
    }))
    .map_err(|e| ClusterError::Client(e.to_string()))?;
    match Api::<Node>::all(admin.clone())
        .create(&PostParams::default(), &node)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(client_err("creating the kwok node")(e)),
    }
}
