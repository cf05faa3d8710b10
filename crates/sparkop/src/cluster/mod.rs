//! The cluster as the CLI's commands use it: a client from the user's kubeconfig, the running
//! driver of an application, port-forwards through the API server, and the audit's probe pod.
//! Commands use these services; they do not use each other.

pub mod driver;
pub mod port_forward;
pub mod probe_pod;

/// A client from KUBECONFIG or ~/.kube/config (or, inside a pod, its ServiceAccount). Without
/// any, one short line says so and how to point sparkop at a cluster.
pub async fn client() -> anyhow::Result<kube::Client> {
    match kube::Client::try_default().await {
        Ok(c) => Ok(c),
        Err(kube::Error::InferConfig(_)) => anyhow::bail!(
            "no cluster is configured: set KUBECONFIG to a kubeconfig file or create \
             ~/.kube/config (scripts/test-cluster up starts a local one)"
        ),
        Err(e) => Err(anyhow::Error::new(e).context("cannot reach the cluster")),
    }
}
