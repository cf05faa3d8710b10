//! The running driver of an application in the cluster, as `sparkop ui` and `sparkop audit
//! app` need it: its pod, the ports it serves, and the Secrets that hold its RPC secret and UI
//! keystore (the same choice the operator made, from `build::secret_choice`).

use anyhow::{Context as _, bail};
use kube::api::Api;
use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::api::core::v1::{Pod, Secret};
use sparkop_operator::build::{self, DRIVER_CONTAINER, SecretKeyName};
use zeroize::Zeroizing;

/// A driver pod that is running, and how to talk to it.
pub struct Driver {
    /// Namespace of the application and its pod.
    pub namespace: String,
    /// The driver pod.
    pub pod: String,
    /// The RPC port (`driver-rpc-port`).
    pub rpc_port: Option<u16>,
    /// The driver's block manager (`blockmanager`).
    pub block_port: Option<u16>,
    /// The attempt's `spark-app-selector` label, which its executor pods carry too.
    pub app_selector: Option<String>,
    /// The UI's HTTP port (`spark-ui`).
    pub ui_http_port: Option<u16>,
    /// The UI's HTTPS port (`spark-ui-https`).
    pub ui_https_port: Option<u16>,
    /// The UI Service, whose DNS name the UI certificate must carry.
    pub ui_service: Option<String>,
    /// The Secret key holding the RPC secret, when authentication is on.
    pub auth: Option<SecretKeyName>,
    /// The Secret holding the UI keystore (and `ca.crt`), when sparkop set up UI TLS.
    pub ui_keystore: Option<String>,
    /// The application accepts TLS 1.2 on its UI by intent.
    pub allow_tls12: bool,
    /// The pods API of the namespace (for port-forwards).
    pub pods: Api<Pod>,
    secrets: Api<Secret>,
}

/// Finds `name`'s current driver and checks it is running.
pub async fn find(client: kube::Client, ns: Option<&str>, name: &str) -> anyhow::Result<Driver> {
    let namespace = ns.unwrap_or(client.default_namespace()).to_owned();
    let apps: Api<SparkApplication> = Api::namespaced(client.clone(), &namespace);
    let app = apps
        .get_opt(name)
        .await
        .with_context(|| format!("reading SparkApplication {namespace}/{name}"))?
        .with_context(|| {
            format!("there is no SparkApplication {name:?} in namespace {namespace:?}")
        })?;
    let status = app.status.clone().unwrap_or_default();
    let Some(pod_name) = status.driver_info.pod_name.clone() else {
        bail!("{name} has no driver yet; `sparkop status {name}` shows its state");
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let pod = pods
        .get_opt(&pod_name)
        .await
        .with_context(|| format!("reading pod {pod_name}"))?
        .with_context(|| format!("the driver pod {pod_name} of {name} is gone; the application has ended or is being resubmitted"))?;
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Unknown".into());
    if phase != "Running" {
        bail!("the driver pod {pod_name} is {phase}, not Running: there is nothing to connect to");
    }
    let port = |wanted: &str| -> Option<u16> {
        let spec = pod.spec.as_ref()?;
        let c = spec
            .containers
            .iter()
            .find(|c| c.name == DRIVER_CONTAINER)?;
        let p = c
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(wanted))?;
        u16::try_from(p.container_port).ok()
    };
    let plan = sparkop_core::plan(&app).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let (auth, ui_keystore, _) = build::secret_choice(&plan);
    let app_selector = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(build::APP_SELECTOR_LABEL))
        .cloned();
    Ok(Driver {
        rpc_port: port("driver-rpc-port"),
        block_port: port("blockmanager"),
        app_selector,
        ui_http_port: port("spark-ui"),
        ui_https_port: port("spark-ui-https"),
        ui_service: status.driver_info.web_ui_service_name.clone(),
        auth,
        ui_keystore,
        allow_tls12: plan.posture.ui_min_tls == sparkop_api::types::security::TlsVersion::V1_2,
        secrets: Api::namespaced(client, &namespace),
        namespace,
        pod: pod_name,
        pods,
    })
}

/// A running executor of the application.
pub struct Executor {
    /// Its pod.
    pub pod: String,
    /// The pod's IP (the address its block manager binds).
    pub ip: Option<String>,
    /// Its block manager (`blockmanager`), the only port an executor listens on.
    pub block_port: Option<u16>,
}

/// The port a pod's container declares under `name`.
pub fn declared_port(pod: &Pod, name: &str) -> Option<u16> {
    let p = pod
        .spec
        .as_ref()?
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some(name))?;
    u16::try_from(p.container_port).ok()
}

impl Driver {
    /// The attempt's running executor pods, in name order.
    pub async fn executors(&self) -> anyhow::Result<Vec<Executor>> {
        let Some(selector) = &self.app_selector else {
            return Ok(Vec::new());
        };
        let lp = kube::api::ListParams::default().labels(&format!(
            "{}={selector},{}=executor",
            build::APP_SELECTOR_LABEL,
            build::ROLE_LABEL
        ));
        let mut out: Vec<Executor> = self
            .pods
            .list(&lp)
            .await
            .with_context(|| format!("listing the executors of {}", self.pod))?
            .items
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .map(|p| Executor {
                pod: p.metadata.name.clone().unwrap_or_default(),
                ip: p.status.as_ref().and_then(|s| s.pod_ip.clone()),
                block_port: declared_port(p, "blockmanager"),
            })
            .collect();
        out.sort_by(|a, b| a.pod.cmp(&b.pod));
        Ok(out)
    }

    /// The RPC secret as Spark derives it from the mounted file (base64 of the file's bytes,
    /// as the driver and executors read `spark.authenticate.secret.*.file`).
    pub async fn rpc_secret(&self) -> anyhow::Result<Option<Zeroizing<Vec<u8>>>> {
        let Some(r) = &self.auth else { return Ok(None) };
        let bytes = self.secret_key(&r.name, &r.key).await?;
        Ok(Some(spark_wire::auth::secret_of_spark_file(&bytes)))
    }

    /// The UI certificate's CA (`ca.crt` of the keystore Secret), when it has one.
    pub async fn ui_ca(&self) -> anyhow::Result<Option<Vec<u8>>> {
        let Some(name) = &self.ui_keystore else {
            return Ok(None);
        };
        let secret = self
            .secrets
            .get(name)
            .await
            .with_context(|| format!("reading Secret {}/{name}", self.namespace))?;
        Ok(secret
            .data
            .and_then(|mut d| d.remove("ca.crt"))
            .map(|b| b.0))
    }

    /// The DNS name clients in the cluster use for the UI.
    pub fn ui_host(&self) -> Option<String> {
        self.ui_service
            .as_ref()
            .map(|s| format!("{s}.{}.svc", self.namespace))
    }

    async fn secret_key(&self, name: &str, key: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let secret = self
            .secrets
            .get(name)
            .await
            .with_context(|| format!("reading Secret {}/{name}", self.namespace))?;
        let value = secret
            .data
            .and_then(|mut d| d.remove(key))
            .with_context(|| format!("Secret {}/{name} has no key {key:?}", self.namespace))?;
        Ok(Zeroizing::new(value.0))
    }
}
