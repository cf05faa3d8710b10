//! Installs what a real deployment of sparkop has, minus the operator Deployment (tests run
//! the operator themselves): the CRDs, the Helm chart's namespaces, ServiceAccounts and RBAC,
//! and either a kwok node for driver pods to land on (simulated clusters) or, next to a real
//! node, the Spark namespace the chart was rendered for (by the real `helm template`).

use std::path::Path;
use std::process::{Command, Stdio};

use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use serde_json::{Value, json};
use sparkop_api::k8s_openapi::api::core::v1::Node;
use sparkop_api::k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use crate::{ClusterError, ControlPlane, OPERATOR_NAMESPACE, io};

const MANIFESTS: &str = include_str!("../../../deploy/manifests/sparkop.yaml");
const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/helm/sparkop");

/// The namespace Spark applications run in on a cluster with a real node, as
/// `scripts/test-cluster up` sets it up: the chart's `spark` ServiceAccount and driver Role
/// are rendered for it, and it enforces the `restricted` Pod Security profile.
pub const SPARK_NAMESPACE: &str = "spark-apps";

fn client_err(what: &str) -> impl FnOnce(kube::Error) -> ClusterError + '_ {
    move |e| ClusterError::Client(format!("{what}: {e}"))
}

/// Applies the CRDs and the chart's RBAC (as rendered into `deploy/manifests`, Spark
/// namespace `default`) with `admin`, and creates a kwok node.
pub async fn install_sparkop(admin: &kube::Client) -> Result<(), ClusterError> {
    apply_crds(admin).await?;
    apply_manifests(admin, MANIFESTS).await?;
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

impl ControlPlane {
    /// Installs sparkop for Spark applications in `spark_namespace` (created, labelled
    /// `pod-security.kubernetes.io/enforce=restricted`): the CRDs and the chart rendered by
    /// the real Helm with `spark.namespace` set.
    pub async fn install_sparkop_for(&self, spark_namespace: &str) -> Result<(), ClusterError> {
        let admin = self.client(crate::User::Admin)?;
        apply_crds(&admin).await?;
        let pp = PatchParams::apply("sparkop-tests").force();
        let namespaces: Api<sparkop_api::k8s_openapi::api::core::v1::Namespace> =
            Api::all(admin.clone());
        for (name, labels) in [
            (OPERATOR_NAMESPACE, json!({})),
            (
                spark_namespace,
                json!({
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                }),
            ),
        ] {
            let ns = json!({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": name, "labels": labels}});
            namespaces
                .patch(name, &pp, &Patch::Apply(&ns))
                .await
                .map_err(client_err("creating a namespace"))?;
        }
        let rendered = helm_template(&self.bin, spark_namespace)?;
        apply_manifests(&admin, &rendered).await
    }
}

/// `helm template` of the chart for `spark_namespace`, release namespace `sparkop-system`.
pub(crate) fn helm_template(bin: &Path, spark_namespace: &str) -> Result<String, ClusterError> {
    let helm = bin.join("helm");
    let out = Command::new(&helm)
        .args([
            "template",
            "sparkop",
            CHART,
            "--namespace",
            OPERATOR_NAMESPACE,
        ])
        .arg("--set")
        .arg(format!("spark.namespace={spark_namespace}"))
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("running {}", helm.display())))?;
    if !out.status.success() {
        return Err(ClusterError::Command {
            what: "helm template".into(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    String::from_utf8(out.stdout).map_err(|e| ClusterError::Client(e.to_string()))
}

async fn apply_crds(admin: &kube::Client) -> Result<(), ClusterError> {
    let pp = PatchParams::apply("sparkop-tests").force();
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    for crd in sparkop_api::crd::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(&name, &pp, &Patch::Apply(&crd))
            .await
            .map_err(client_err("applying a CRD"))?;
    }
    Ok(())
}

/// Applies the namespaces, ServiceAccounts and RBAC of rendered manifests (the operator's
/// Deployment is left out: tests run the operator themselves).
async fn apply_manifests(admin: &kube::Client, manifests: &str) -> Result<(), ClusterError> {
    let pp = PatchParams::apply("sparkop-tests").force();
    for doc in manifests.split("\n---") {
        let content = doc.lines().any(|l| {
            let l = l.trim();
            !l.is_empty() && !l.starts_with('#') && l != "---"
        });
        if !content {
            continue;
        }
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
    Ok(())
}
