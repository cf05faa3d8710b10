//! A throwaway Kubernetes cluster for sparkop's integration tests: etcd, kube-apiserver (RBAC
//! on, token authentication), kube-controller-manager (garbage collection, namespaces, service
//! accounts), kube-scheduler, and either kwok (simulated nodes, for lifecycles at scale) or a
//! real node (containerd, runc, the kubelet, a CNI bridge and CoreDNS: real pods, real Spark),
//! built from the Go module proxy by `scripts/build-test-cluster`.
//!
//! Every process is started by this crate, logs into the cluster's temp dir, and is stopped by
//! its PID when the [`ControlPlane`] is dropped. Nothing binds outside 127.0.0.1. A cluster
//! with a real node runs entirely inside a network namespace of its own (`netns.rs`); its API
//! server is forwarded to the same port on the machine's 127.0.0.1 through a unix socket, so
//! clients and kubeconfigs look the same in both modes.

pub mod apps;
mod install;
mod netns;
pub mod node;
mod pki;
mod port_forward;
pub mod recorder;

pub use install::{SPARK_NAMESPACE, install_sparkop};

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The control-plane binaries (or the real node's packages) are not there.
    #[error("test cluster binaries not found: run scripts/build-test-cluster ({0})")]
    NoBinaries(String),
    /// A set-up command failed.
    #[error("{what}: {detail}")]
    Command {
        /// What was being done.
        what: String,
        /// Its error output and exit status.
        detail: String,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A component did not become ready in time.
    #[error("{component} did not become ready within {seconds} s; its log ends with:\n{log}")]
    NotReady {
        /// The component.
        component: String,
        /// The limit.
        seconds: u64,
        /// The last lines of its log.
        log: String,
    },
    /// Certificate generation failed.
    #[error("certificates: {0}")]
    Pki(String),
    /// The Kubernetes client could not be configured.
    #[error("client: {0}")]
    Client(String),
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

/// Where the binaries are: `$SPARKOP_K8S_BIN`, else the newest complete build in the cache.
pub fn binaries() -> Result<PathBuf, ClusterError> {
    if let Some(dir) = std::env::var_os("SPARKOP_K8S_BIN").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let root = cache_dir().join("k8s");
    let mut found: Vec<PathBuf> = fs::read_dir(&root)
        .map_err(|e| ClusterError::NoBinaries(format!("{}: {e}", root.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join(".complete").exists())
        .collect();
    found.sort();
    found.pop().ok_or_else(|| {
        ClusterError::NoBinaries(format!("nothing complete under {}", root.display()))
    })
}

/// Which identity a client uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum User {
    /// `system:masters`: everything.
    Admin,
    /// The operator's ServiceAccount (`sparkop-system/sparkop-operator`): only what RBAC grants.
    Operator,
}

/// The operator's ServiceAccount namespace and name, as the token authenticates it.
pub const OPERATOR_NAMESPACE: &str = "sparkop-system";
/// The operator's ServiceAccount name.
pub const OPERATOR_SERVICE_ACCOUNT: &str = "sparkop-operator";

/// What to start besides etcd and the API server.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// kube-controller-manager (garbage collection, namespace deletion, service accounts).
    pub controller_manager: bool,
    /// kube-scheduler and kwok with one simulated node, so pods get scheduled and run.
    pub nodes: bool,
    /// kube-scheduler and a real node ([`node`]): the whole cluster then runs in a network
    /// namespace of its own. Needs root and the Debian packages `scripts/test-all` installs.
    pub real_node: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            controller_manager: true,
            nodes: true,
            real_node: false,
        }
    }
}

impl Options {
    /// A cluster with a real node and no simulated one.
    pub fn real_node() -> Options {
        Options {
            controller_manager: true,
            nodes: false,
            real_node: true,
        }
    }
}

struct Proc {
    name: &'static str,
    child: Child,
}

/// A running control plane. Dropping it stops every process and deletes its files.
pub struct ControlPlane {
    dir: tempfile::TempDir,
    bin: PathBuf,
    procs: Vec<Proc>,
    api_port: u16,
    etcd_port: u16,
    ca_pem: String,
    admin_token: SecretString,
    operator_token: SecretString,
    kubelet_token: SecretString,
    /// The network namespace of a cluster with a real node.
    netns: Option<netns::Isolation>,
}

/// The cache root: `$SPARKOP_CACHE`, else `~/.cache/sparkop`.
fn cache_dir() -> PathBuf {
    match std::env::var_os("SPARKOP_CACHE").filter(|d| !d.is_empty()) {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/sparkop"),
    }
}

pub(crate) fn free_port() -> Result<u16, ClusterError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(io("picking a free port"))
}

fn token() -> Result<SecretString, ClusterError> {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).map_err(|e| ClusterError::Pki(e.to_string()))?;
    Ok(SecretString::from(hex::encode(b)))
}

impl ControlPlane {
    /// Starts a control plane and waits until the API server is ready.
    pub async fn start(opts: Options) -> Result<ControlPlane, ClusterError> {
        let bin = binaries()?;
        let dir = tempfile::Builder::new()
            .prefix("sparkop-cluster-")
            .tempdir()
            .map_err(io("creating the cluster dir"))?;
        let p = dir.path();
        fs::create_dir_all(p.join("logs")).map_err(io("logs dir"))?;
        let certs = pki::generate().map_err(|e| ClusterError::Pki(e.to_string()))?;
        for (name, text) in [
            ("ca.crt", &certs.ca_pem),
            ("apiserver.crt", &certs.server_cert_pem),
            ("apiserver.key", &certs.server_key_pem),
            ("sa.key", &certs.sa_key_pem),
            ("sa.pub", &certs.sa_pub_pem),
            ("kubelet-client.crt", &certs.kubelet_client_cert_pem),
            ("kubelet-client.key", &certs.kubelet_client_key_pem),
        ] {
            fs::write(p.join(name), text).map_err(io(format!("writing {name}")))?;
        }
        let admin_token = token()?;
        let operator_token = token()?;
        let kubelet_token = token()?;
        let tokens = format!(
            "{},admin,admin-uid,\"system:masters\"\n{},system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT},operator-uid,\"system:serviceaccounts,system:serviceaccounts:{OPERATOR_NAMESPACE},system:authenticated\"\n{},system:node:{},node-uid,\"system:nodes,system:authenticated\"\n",
            admin_token.expose_secret(),
            operator_token.expose_secret(),
            kubelet_token.expose_secret(),
            node::NODE_NAME,
        );
        fs::write(p.join("tokens.csv"), tokens).map_err(io("writing tokens.csv"))?;

        let netns = if opts.real_node {
            Some(netns::Isolation::create(p, &cache_dir())?)
        } else {
            None
        };
        let mut cp = ControlPlane {
            dir,
            bin,
            procs: Vec::new(),
            api_port: free_port()?,
            etcd_port: free_port()?,
            ca_pem: certs.ca_pem,
            admin_token,
            operator_token,
            kubelet_token,
            netns,
        };
        cp.start_etcd()?;
        cp.start_apiserver()?;
        if cp.netns.is_some() {
            cp.forward_api()?;
        }
        cp.wait_ready(Duration::from_secs(120)).await?;
        let kubeconfig = cp.write_kubeconfig(User::Admin)?;
        if opts.controller_manager {
            let args = vec![
                format!("--kubeconfig={}", kubeconfig.display()),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={}", free_port()?),
                "--controllers=*".into(),
                format!(
                    "--service-account-private-key-file={}",
                    cp.path("sa.key").display()
                ),
                format!("--root-ca-file={}", cp.path("ca.crt").display()),
                "--use-service-account-credentials=false".into(),
            ];
            cp.spawn("kube-controller-manager", &args)?;
        }
        if opts.nodes || opts.real_node {
            let args = vec![
                format!("--kubeconfig={}", kubeconfig.display()),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={}", free_port()?),
            ];
            cp.spawn("kube-scheduler", &args)?;
        }
        if opts.real_node {
            cp.start_real_node(&cache_dir()).await?;
        }
        if opts.nodes {
            cp.install_kwok_port_forward_crd().await?;
            let stages = cp.bin.join("kwok-stages.yaml");
            // kwok's server is the simulated nodes' kubelet: the node's InternalIP and kubelet
            // port point at it, so the API server's pods/portforward reaches kwok, which
            // forwards as its PortForward objects say (see `forward_pod_port`).
            let kubelet_port = free_port()?;
            let args = vec![
                format!("--kubeconfig={}", kubeconfig.display()),
                format!("--config={}", stages.display()),
                "--manage-all-nodes=true".into(),
                "--disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom".into(),
                format!("--server-address=127.0.0.1:{kubelet_port}"),
                format!("--node-port={kubelet_port}"),
                "--node-ip=127.0.0.1".into(),
                "--cidr=10.244.0.1/24".into(),
                "--enable-crds=PortForward".into(),
            ];
            cp.spawn("kwok", &args)?;
        }
        Ok(cp)
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The network namespace of a cluster with a real node.
    pub(crate) fn isolation(&self) -> Result<&netns::Isolation, ClusterError> {
        self.netns
            .as_ref()
            .ok_or_else(|| ClusterError::Client("this cluster has no real node".into()))
    }

    /// The name of the network namespace the cluster runs in, if it has a real node (to run a
    /// command next to it: `nsenter --net=/run/netns/NAME`, e.g. a packet capture on the bridge).
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_ref().map(netns::Isolation::name)
    }

    /// The API server on the machine's 127.0.0.1 at the port it has inside the namespace: a
    /// socat in the namespace serves a unix socket in the cluster dir, one outside listens on
    /// the port and connects to that socket.
    fn forward_api(&mut self) -> Result<(), ClusterError> {
        let sock = self.path("apiserver.sock").display().to_string();
        let socat = netns::which("socat")
            .ok_or_else(|| ClusterError::NoBinaries("socat is not installed".into()))?;
        let inside = vec![
            format!("UNIX-LISTEN:{sock},fork,mode=600"),
            format!("TCP:127.0.0.1:{}", self.api_port),
        ];
        self.spawn_program("apiserver-forward-inside", &socat, &inside)?;
        let outside = vec![
            format!("TCP-LISTEN:{},bind=127.0.0.1,fork,reuseaddr", self.api_port),
            format!("UNIX-CONNECT:{sock}"),
        ];
        self.spawn_in("apiserver-forward-outside", &socat, &outside, false)
    }

    /// The API server URL.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.api_port)
    }

    /// The cluster CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Where the cluster's binaries are (kubectl and helm among them).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// The cluster's directory (logs under `logs/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn spawn(&mut self, name: &'static str, args: &[String]) -> Result<(), ClusterError> {
        let program = self.bin.join(name);
        self.spawn_program(name, &program, args)
    }

    /// Starts `program` under a watchdog, inside the cluster's network namespace if it has one.
    pub(crate) fn spawn_program(
        &mut self,
        name: &'static str,
        program: &Path,
        args: &[String],
    ) -> Result<(), ClusterError> {
        self.spawn_in(name, program, args, true)
    }

    fn spawn_in(
        &mut self,
        name: &'static str,
        program: &Path,
        args: &[String],
        in_netns: bool,
    ) -> Result<(), ClusterError> {
        let log = fs::File::create(self.path(&format!("logs/{name}.log")))
            .map_err(io(format!("{name} log")))?;
        let err = log.try_clone().map_err(io(format!("{name} log")))?;
        // A watchdog shell in its own process group runs the component: when the test process
        // dies without running destructors (abort, SIGKILL) or the component exits, it kills
        // the whole group, so no control-plane process outlives its test.
        let watchdog = r#"parent=$1; shift; "$@" & c=$!
while kill -0 "$parent" 2>/dev/null && kill -0 "$c" 2>/dev/null; do sleep 1; done
kill -KILL 0"#;
        let mut cmd = match self.netns.as_ref().filter(|_| in_netns) {
            Some(iso) => {
                let mut c = Command::new("nsenter");
                c.args(iso.enter()).arg("sh");
                c
            }
            None => Command::new("sh"),
        };
        let child = cmd
            .arg("-c")
            .arg(watchdog)
            .arg("sh")
            .arg(std::process::id().to_string())
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(io(format!("starting {name}")))?;
        if let Some(iso) = &self.netns {
            iso.record_group(child.id())?;
        }
        self.procs.push(Proc { name, child });
        Ok(())
    }

    fn start_etcd(&mut self) -> Result<(), ClusterError> {
        let peer = free_port()?;
        let url = format!("http://127.0.0.1:{}", self.etcd_port);
        let args = vec![
            format!("--data-dir={}", self.path("etcd").display()),
            format!("--listen-client-urls={url}"),
            format!("--advertise-client-urls={url}"),
            format!("--listen-peer-urls=http://127.0.0.1:{peer}"),
            format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer}"),
            format!("--initial-cluster=default=http://127.0.0.1:{peer}"),
            "--unsafe-no-fsync=true".into(),
            "--log-level=warn".into(),
        ];
        self.spawn("etcd", &args)
    }

    fn apiserver_args(&self) -> Vec<String> {
        let f = |n: &str| self.path(n).display().to_string();
        vec![
            format!("--etcd-servers=http://127.0.0.1:{}", self.etcd_port),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            // The default reconciler refuses a loopback address for the kubernetes Service.
            "--endpoint-reconciler-type=none".into(),
            format!("--secure-port={}", self.api_port),
            format!("--cert-dir={}", f("apiserver-certs")),
            format!("--tls-cert-file={}", f("apiserver.crt")),
            format!("--tls-private-key-file={}", f("apiserver.key")),
            format!("--client-ca-file={}", f("ca.crt")),
            format!("--token-auth-file={}", f("tokens.csv")),
            "--authorization-mode=RBAC".into(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", f("sa.pub")),
            format!("--service-account-signing-key-file={}", f("sa.key")),
            // Room for the UI Services of a 10k-application scale run.
            "--service-cluster-ip-range=10.96.0.0/12".into(),
            "--allow-privileged=true".into(),
            // Simulated nodes have no resolvable host name; their InternalIP is kwok's server.
            "--kubelet-preferred-address-types=InternalIP".into(),
            // A real kubelet accepts only clients with a certificate from the cluster CA.
            format!("--kubelet-client-certificate={}", f("kubelet-client.crt")),
            format!("--kubelet-client-key={}", f("kubelet-client.key")),
        ]
    }

    fn start_apiserver(&mut self) -> Result<(), ClusterError> {
        let args = self.apiserver_args();
        self.spawn("kube-apiserver", &args)
    }

    /// Stops and restarts the API server (same etcd, same port): for fault tests.
    pub async fn restart_apiserver(&mut self) -> Result<(), ClusterError> {
        if let Some(i) = self.procs.iter().position(|p| p.name == "kube-apiserver") {
            let mut p = self.procs.remove(i);
            stop(&mut p.child);
        }
        // The killed server (a grandchild) lets go of its port a moment after its watchdog.
        // (Inside a namespace the forwarder holds the machine's port: give it a second.)
        let start = Instant::now();
        if self.netns.is_some() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        while self.netns.is_none()
            && TcpListener::bind(("127.0.0.1", self.api_port)).is_err()
            && start.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.start_apiserver()?;
        self.wait_ready(Duration::from_secs(120)).await
    }

    /// A client authenticated as `user`.
    pub fn client(&self, user: User) -> Result<kube::Client, ClusterError> {
        let mut config = kube::Config::new(
            self.url()
                .parse()
                .map_err(|e| ClusterError::Client(format!("{e}")))?,
        );
        config.root_cert = Some(vec![
            pki::pem_to_der(&self.ca_pem).map_err(ClusterError::Client)?,
        ]);
        config.auth_info.token = Some(match user {
            User::Admin => self.admin_token.clone(),
            User::Operator => self.operator_token.clone(),
        });
        config.default_namespace = "default".into();
        kube::Client::try_from(config).map_err(|e| ClusterError::Client(e.to_string()))
    }

    /// Writes a kubeconfig for `user` into the cluster dir and returns its path.
    pub fn write_kubeconfig(&self, user: User) -> Result<PathBuf, ClusterError> {
        let (name, token) = match user {
            User::Admin => ("admin", &self.admin_token),
            User::Operator => ("operator", &self.operator_token),
        };
        self.write_kubeconfig_for(name, token)
    }

    pub(crate) fn write_kubeconfig_for(
        &self,
        name: &str,
        token: &SecretString,
    ) -> Result<PathBuf, ClusterError> {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority: {}\nusers:\n- name: {name}\n  user:\n    token: {}\ncontexts:\n- name: test\n  context: {{cluster: test, user: {name}, namespace: default}}\ncurrent-context: test\n",
            self.url(),
            self.path("ca.crt").display(),
            token.expose_secret()
        );
        let path = self.path(&format!("kubeconfig-{name}"));
        fs::write(&path, text).map_err(io("writing a kubeconfig"))?;
        Ok(path)
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), ClusterError> {
        let client = self.client(User::Admin)?;
        let start = Instant::now();
        let mut why = String::new();
        while start.elapsed() < limit {
            if let Some(status) = self
                .exited("kube-apiserver")
                .or_else(|| self.exited("etcd"))
            {
                why = format!(" (a process exited: {status})");
                break;
            }
            let req = http::Request::get("/readyz")
                .body(Vec::new())
                .map_err(|e| ClusterError::Client(e.to_string()))?;
            if let Ok(text) = client.request_text(req).await
                && text.trim() == "ok"
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(ClusterError::NotReady {
            component: format!("kube-apiserver{why}"),
            seconds: limit.as_secs(),
            log: self.log_tail("kube-apiserver", 30) + &self.log_tail("etcd", 10),
        })
    }

    /// `Some(description)` when the component is not running.
    pub(crate) fn exited(&mut self, name: &str) -> Option<String> {
        match self.procs.iter_mut().find(|p| p.name == name) {
            None => Some(format!("{name} was never started")),
            Some(p) => match p.child.try_wait() {
                Ok(None) => None,
                Ok(Some(status)) => Some(format!("{name} {status}")),
                Err(e) => Some(format!("{name}: {e}")),
            },
        }
    }

    /// The last `n` lines of a component's log.
    pub fn log_tail(&self, name: &str, n: usize) -> String {
        let text = fs::read_to_string(self.path(&format!("logs/{name}.log"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// Kills a component's whole process group (watchdog and component) and reaps the watchdog.
fn stop(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        while let Some(mut p) = self.procs.pop() {
            stop(&mut p.child);
        }
        // The namespace's teardown before the TempDir goes (it unmounts what is inside it).
        self.netns.take();
    }
}
