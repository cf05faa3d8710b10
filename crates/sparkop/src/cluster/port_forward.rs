//! Port-forwarding to a pod through the API server (`pods/portforward`, as `kubectl
//! port-forward` does): a local listener on loopback whose every connection becomes a stream
//! to the pod's port. `sparkop ui` and `sparkop audit app` use it to reach a driver.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use kube::api::Api;
use sparkop_api::k8s_openapi::api::core::v1::Pod;
use tokio::net::{TcpListener, TcpStream};

/// A pod port reachable on a local address while this value lives.
pub struct Forward {
    /// Where to connect locally.
    pub local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on `bind` (port 0: any free port) and forwards each connection to `pod`'s `port`.
pub async fn start(
    pods: Api<Pod>,
    pod: &str,
    port: u16,
    bind: SocketAddr,
) -> anyhow::Result<Forward> {
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (is the port in use? try --port)"))?;
    let local = listener.local_addr()?;
    let pod = pod.to_owned();
    let task = tokio::spawn(async move {
        loop {
            let conn = match listener.accept().await {
                Ok((conn, _)) => conn,
                Err(e) => {
                    // E.g. out of file descriptors: report, and do not spin.
                    eprintln!("sparkop: accepting a local connection: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let (pods, pod) = (pods.clone(), pod.clone());
            tokio::spawn(async move {
                if let Err(e) = forward_one(&pods, &pod, port, conn).await {
                    eprintln!("sparkop: forwarding a connection to pod {pod} port {port}: {e:#}");
                }
            });
        }
    });
    Ok(Forward { local, task })
}

/// Whether the pod's port can be forwarded to: the kubelet reports a failure (nothing
/// listening, no such pod) on the session's error channel as soon as it tries to connect, so
/// a session that stays quiet for `grace` counts as reachable. Through a forward every local
/// connect succeeds, so this is the only way to tell "unreachable" apart.
pub async fn probe(pods: &Api<Pod>, pod: &str, port: u16, grace: Duration) -> Result<(), String> {
    let mut session = pods
        .portforward(pod, &[port])
        .await
        .map_err(|e| format!("the API server refused the port-forward: {e}"))?;
    let error = session
        .take_error(port)
        .ok_or("the port-forward session has no error channel")?;
    let verdict = match tokio::time::timeout(grace, error).await {
        Ok(Some(message)) => Err(message),
        Ok(None) | Err(_) => Ok(()),
    };
    session.abort();
    verdict
}

/// One local connection: its own port-forward session, copied both ways until either side
/// closes. An error the kubelet reports for the port (nothing listening, pod gone) is returned.
async fn forward_one(
    pods: &Api<Pod>,
    pod: &str,
    port: u16,
    mut conn: TcpStream,
) -> anyhow::Result<()> {
    let mut session = pods
        .portforward(pod, &[port])
        .await
        .context("the API server refused the port-forward")?;
    let mut upstream = session
        .take_stream(port)
        .context("the port-forward session has no stream")?;
    let error = session
        .take_error(port)
        .context("the port-forward session has no error channel")?;
    // Either side finishing ends the connection: a port-forward does not carry a half-close,
    // so waiting for both directions would keep finished connections open.
    let (mut conn_read, mut conn_write) = conn.split();
    let (mut up_read, mut up_write) = tokio::io::split(&mut upstream);
    tokio::select! {
        done = tokio::io::copy(&mut conn_read, &mut up_write) => {
            done.context("the local connection broke")?;
        }
        done = tokio::io::copy(&mut up_read, &mut conn_write) => {
            done.context("the pod's side broke")?;
        }
        Some(message) = error => anyhow::bail!("{message}"),
    }
    session.abort();
    Ok(())
}
