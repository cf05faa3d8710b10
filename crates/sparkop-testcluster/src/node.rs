//! A real node for the test cluster: Debian's containerd and runc, the kubelet built from the
//! pinned `k8s.io/kubernetes` module, a CNI bridge, and CoreDNS (answering `cluster.local`
//! only), all inside the cluster's network namespace (see `netns.rs`). Pods reach the API
//! server as `kubernetes.default.svc` (a DNAT of the Service IP to the API server's loopback
//! port, no kube-proxy) and nothing off this machine: the namespace has no uplink, forwarded
//! traffic leaving the bridge is dropped, and DNS has no upstream.
//!
//! The configuration files are pure functions of [`NodeLayout`], tested below; `start` is the IO.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use sparkop_api::k8s_openapi::api::core::v1::Node;

use crate::netns::which;
use crate::{ClusterError, ControlPlane, io};

/// The node's name.
pub const NODE_NAME: &str = "sparkop-node";
/// The label every real node carries (pods that must run Spark can select it).
pub const REAL_NODE_LABEL: &str = "sparkop.io/real-node";
/// The CNI bridge; its address is the node IP, the pods' gateway and the DNS server.
pub const BRIDGE: &str = "sparkop0";
/// The node IP (on the bridge).
pub const NODE_IP: &str = "10.244.0.1";
/// The pod subnet.
pub const POD_CIDR: &str = "10.244.0.0/24";
/// The `kubernetes` Service's ClusterIP (first address of the service range).
pub const KUBERNETES_SERVICE_IP: &str = "10.96.0.1";
/// The sandbox image containerd runs for every pod (built from Kubernetes' pause.c).
pub const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.10";

/// Where the node's files go, under the cluster dir.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NodeLayout {
    /// `DIR/node`.
    pub root: PathBuf,
    /// The cluster CA (client CA of the kubelet's API).
    pub ca: PathBuf,
    /// The admin kubeconfig CoreDNS reads the API with.
    pub admin_kubeconfig: PathBuf,
    /// The node's cgroup root name.
    pub cgroup: String,
}

impl NodeLayout {
    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
    /// containerd's socket.
    pub fn containerd_socket(&self) -> PathBuf {
        self.path("containerd.sock")
    }
}

/// containerd 1.6's configuration: private root, state and socket; runc with cgroupfs; no OOM
/// score below the kubelet's reach (the machine lacks CAP_SYS_RESOURCE); pod network
/// namespaces under the state dir; streaming on loopback only.
pub(crate) fn containerd_config(l: &NodeLayout) -> String {
    let p = |n: &str| l.path(n).display().to_string();
    format!(
        r#"version = 2
root = "{root}"
state = "{state}"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{runc}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni}"
"#,
        root = p("containerd/root"),
        state = p("containerd/state"),
        sock = l.containerd_socket().display(),
        opt = p("containerd/opt"),
        runc = p("runc"),
        cni = p("cni"),
    )
}

/// The CNI network: one bridge, host-local addresses, no masquerading (nothing to masquerade
/// to: the namespace has no uplink).
pub(crate) fn cni_conflist(l: &NodeLayout) -> String {
    json!({
        "cniVersion": "1.0.0",
        "name": "sparkop",
        "plugins": [{
            "type": "bridge",
            "bridge": BRIDGE,
            "isGateway": true,
            "ipMasq": false,
            "hairpinMode": true,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                "routes": [{"dst": "0.0.0.0/0"}],
                "dataDir": l.path("cni-ipam"),
            },
        }],
    })
    .to_string()
}

/// The kubelet's configuration (field names of kubelet.config.k8s.io/v1beta1, as the pinned
/// module has them). What this machine needs: cgroup v1 with cgroupfs, no OOM score changes,
/// no swap check; what the tier needs: DNS on the bridge with no upstream resolver, no image
/// GC (there is no registry to pull from again), only CA-signed clients (the API server) on
/// its port.
pub(crate) fn kubelet_config(l: &NodeLayout, healthz_port: u16) -> String {
    let sock = format!("unix://{}", l.containerd_socket().display());
    format!(
        r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: /{cgroup}
oomScoreAdj: 0
containerRuntimeEndpoint: {sock}
imageServiceEndpoint: {sock}
address: {NODE_IP}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {healthz_port}
clusterDNS: [{NODE_IP}]
clusterDomain: cluster.local
resolvConf: {resolv}
podLogsDir: {logs}
volumePluginDir: {plugins}
evictionHard: {{memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 30
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: false}}
  x509: {{clientCAFile: {ca}}}
authorization: {{mode: AlwaysAllow}}
"#,
        cgroup = l.cgroup,
        resolv = l.path("resolv.conf").display(),
        logs = l.path("pod-logs").display(),
        plugins = l.path("volume-plugins").display(),
        ca = l.ca.display(),
    )
}

/// CoreDNS: `cluster.local` (and reverse lookups) from the API server, NXDOMAIN for every other
/// name. The binary links no forward plugin at all.
pub(crate) fn corefile(l: &NodeLayout) -> String {
    format!(
        r#".:53 {{
    bind {NODE_IP}
    errors
    kubernetes cluster.local in-addr.arpa {{
        kubeconfig {kubeconfig} test
        fallthrough in-addr.arpa
    }}
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
"#,
        kubeconfig = l.admin_kubeconfig.display()
    )
}

/// The image archives to import: `$SPARKOP_IMAGES` (colon-separated), else every archive
/// `scripts/build-spark-image` and `scripts/build-sparkop-image` left in the cache
/// (`NAME-VERSION-KEY.oci.tar`), the newest build of each name and version.
pub(crate) fn image_archives(cache: &Path) -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os("SPARKOP_IMAGES").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&list).collect();
    }
    let mut newest: std::collections::BTreeMap<String, (std::time::SystemTime, PathBuf)> =
        Default::default();
    for e in fs::read_dir(cache.join("images"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((image, _key)) = name
            .strip_suffix(".oci.tar")
            .and_then(|r| r.rsplit_once('-'))
        else {
            continue;
        };
        let modified = e
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        if newest.get(image).is_none_or(|(t, _)| *t < modified) {
            newest.insert(image.to_owned(), (modified, e.path()));
        }
    }
    newest.into_values().map(|(_, p)| p).collect()
}

fn tool(name: &str) -> Result<PathBuf, ClusterError> {
    which(name).ok_or_else(|| {
        ClusterError::NoBinaries(format!(
            "{name} is not installed (scripts/test-all installs containerd, runc and the CNI \
             plugins from Debian)"
        ))
    })
}

impl ControlPlane {
    /// Starts the real node inside the cluster's network namespace and waits until it is
    /// Ready, its images are imported and cluster DNS answers.
    pub(crate) async fn start_real_node(&mut self, cache: &Path) -> Result<(), ClusterError> {
        let start = Instant::now();
        let containerd = tool("containerd")?;
        let ctr = tool("ctr")?;
        tool("runc")?;
        if !Path::new("/usr/lib/cni/bridge").exists() {
            return Err(ClusterError::NoBinaries(
                "/usr/lib/cni/bridge is missing (apt-get install containernetworking-plugins)"
                    .into(),
            ));
        }
        let (netns_name, cgroup) = {
            let iso = self.isolation()?;
            (iso.name().to_owned(), iso.cgroup().to_owned())
        };
        let layout = NodeLayout {
            root: self.path("node"),
            ca: self.path("ca.crt"),
            admin_kubeconfig: self.path("kubeconfig-admin"),
            cgroup: cgroup.clone(),
        };
        for d in [
            "",
            "cni",
            "pod-logs",
            "volume-plugins",
            "kubelet",
            "kubelet-pki",
        ] {
            fs::create_dir_all(layout.path(d)).map_err(io("node dirs"))?;
        }
        // The node's cgroup root in every v1 hierarchy (the kubelet requires it to exist).
        for h in fs::read_dir("/sys/fs/cgroup").map_err(io("/sys/fs/cgroup"))? {
            let h = h.map_err(io("/sys/fs/cgroup"))?.path();
            if h.join("cgroup.procs").exists() {
                fs::create_dir_all(h.join(&cgroup)).map_err(io("creating the node's cgroup"))?;
            }
        }

        // The bridge first: its address is the node IP the kubelet registers.
        let iso = self.isolation()?;
        iso.run(
            "the bridge",
            "ip",
            &["link", "add", BRIDGE, "type", "bridge"],
        )?;
        iso.run(
            "the bridge address",
            "ip",
            &["addr", "add", &format!("{NODE_IP}/24"), "dev", BRIDGE],
        )?;
        iso.run("the bridge up", "ip", &["link", "set", BRIDGE, "up"])?;
        // Pods reach nothing but the bridge and this namespace: forwarded traffic that would
        // leave the bridge is dropped before the first pod starts.
        iso.run(
            "the FORWARD drop rule",
            "iptables",
            &[
                "-I", "FORWARD", "1", "-i", BRIDGE, "!", "-o", BRIDGE, "-j", "DROP",
            ],
        )?;
        // The kubernetes Service without kube-proxy: its IP goes to the API server's loopback.
        iso.run(
            "route_localnet on the bridge",
            "sysctl",
            &[
                "-q",
                "-w",
                &format!("net.ipv4.conf.{BRIDGE}.route_localnet=1"),
            ],
        )?;
        let api = format!("127.0.0.1:{}", self.api_port);
        iso.run(
            "the kubernetes Service DNAT",
            "iptables",
            &[
                "-t",
                "nat",
                "-A",
                "PREROUTING",
                "-i",
                BRIDGE,
                "-d",
                &format!("{KUBERNETES_SERVICE_IP}/32"),
                "-p",
                "tcp",
                "--dport",
                "443",
                "-j",
                "DNAT",
                "--to-destination",
                &api,
            ],
        )?;

        fs::write(layout.path("containerd.toml"), containerd_config(&layout))
            .map_err(io("containerd.toml"))?;
        fs::write(
            layout.path("cni/10-sparkop.conflist"),
            cni_conflist(&layout),
        )
        .map_err(io("the CNI conflist"))?;
        fs::write(
            layout.path("resolv.conf"),
            "# no upstream resolver: pods resolve cluster.local names only\noptions ndots:5\n",
        )
        .map_err(io("resolv.conf"))?;
        let config = layout.path("containerd.toml").display().to_string();
        self.spawn_program("containerd", &containerd, &["--config".into(), config])?;
        let sock = layout.containerd_socket();
        let limit = Instant::now() + Duration::from_secs(30);
        while !sock.exists() {
            if Instant::now() > limit || self.exited("containerd").is_some() {
                return Err(self.not_ready("containerd", 30));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Images: the sandbox image and the Spark images, without any registry.
        let mut archives = vec![self.bin.join("pause.oci.tar")];
        archives.extend(image_archives(cache));
        for a in &archives {
            let t = Instant::now();
            let out = Command::new(&ctr)
                .arg("--address")
                .arg(&sock)
                .args(["-n", "k8s.io", "images", "import"])
                .arg(a)
                .stdin(Stdio::null())
                .output()
                .map_err(io("ctr images import"))?;
            if !out.status.success() {
                return Err(ClusterError::Command {
                    what: format!("importing {}", a.display()),
                    detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                });
            }
            eprintln!(
                "sparkop-testcluster: imported {} in {:.1} s",
                a.display(),
                t.elapsed().as_secs_f64()
            );
        }

        // The kubelet: its identity is system:node:NAME with the system:node role.
        let admin = self.client(crate::User::Admin)?;
        let binding = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "sparkop-test-node"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:node"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": format!("system:node:{NODE_NAME}")}],
        });
        let crbs: Api<kube::core::DynamicObject> = Api::all_with(
            admin.clone(),
            &kube::discovery::ApiResource::from_gvk_with_plural(
                &kube::core::GroupVersionKind::gvk(
                    "rbac.authorization.k8s.io",
                    "v1",
                    "ClusterRoleBinding",
                ),
                "clusterrolebindings",
            ),
        );
        crbs.patch(
            "sparkop-test-node",
            &PatchParams::apply("sparkop-tests").force(),
            &Patch::Apply(&binding),
        )
        .await
        .map_err(|e| ClusterError::Client(format!("the node's RBAC: {e}")))?;
        let kubeconfig = self.write_kubeconfig_for("kubelet", &self.kubelet_token.clone())?;
        let healthz = crate::free_port()?;
        fs::write(
            layout.path("kubelet.yaml"),
            kubelet_config(&layout, healthz),
        )
        .map_err(io("kubelet.yaml"))?;
        let args = vec![
            format!("--config={}", layout.path("kubelet.yaml").display()),
            format!("--kubeconfig={}", kubeconfig.display()),
            format!("--root-dir={}", layout.path("kubelet").display()),
            format!("--cert-dir={}", layout.path("kubelet-pki").display()),
            format!("--hostname-override={NODE_NAME}"),
            format!("--node-ip={NODE_IP}"),
            format!("--node-labels={REAL_NODE_LABEL}=true"),
        ];
        self.spawn("kubelet", &args)?;

        // Cluster DNS.
        fs::write(layout.path("Corefile"), corefile(&layout)).map_err(io("Corefile"))?;
        let corefile_arg = layout.path("Corefile").display().to_string();
        self.spawn("coredns", &["-conf".into(), corefile_arg])?;

        // Ready: the node reports Ready, and DNS answers for the kubernetes Service.
        let nodes: Api<Node> = Api::all(admin);
        let limit = Duration::from_secs(90);
        let t = Instant::now();
        loop {
            if let Some(why) = self.exited("kubelet").or_else(|| self.exited("coredns")) {
                return Err(ClusterError::NotReady {
                    component: format!("the real node ({why})"),
                    seconds: limit.as_secs(),
                    log: self.log_tail("kubelet", 30) + "\n" + &self.log_tail("coredns", 10),
                });
            }
            let ready = nodes
                .get_opt(NODE_NAME)
                .await
                .ok()
                .flatten()
                .is_some_and(|n| {
                    n.status
                        .and_then(|s| s.conditions)
                        .into_iter()
                        .flatten()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
                });
            if ready && self.dns_answers(&netns_name) {
                break;
            }
            if t.elapsed() > limit {
                return Err(self.not_ready("kubelet", limit.as_secs()));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        eprintln!(
            "sparkop-testcluster: real node {NODE_NAME} Ready in {:.1} s (namespace {netns_name})",
            start.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Whether CoreDNS resolves the kubernetes Service (busybox's nslookup in the namespace).
    fn dns_answers(&self, netns: &str) -> bool {
        let Some(busybox) = which("busybox") else {
            return true;
        };
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{netns}"))
            .arg("--")
            .arg(busybox)
            .args(["nslookup", "kubernetes.default.svc.cluster.local", NODE_IP])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn not_ready(&self, component: &str, seconds: u64) -> ClusterError {
        ClusterError::NotReady {
            component: component.to_owned(),
            seconds,
            log: self.log_tail(component, 30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> NodeLayout {
        NodeLayout {
            root: "/tmp/c/node".into(),
            ca: "/tmp/c/ca.crt".into(),
            admin_kubeconfig: "/tmp/c/kubeconfig-admin".into(),
            cgroup: "sparkop-1-abc".into(),
        }
    }

    #[test]
    fn containerd_keeps_everything_private_and_fits_this_machine() {
        let c = containerd_config(&layout());
        for needle in [
            "root = \"/tmp/c/node/containerd/root\"",
            "address = \"/tmp/c/node/containerd.sock\"",
            "restrict_oom_score_adj = true",
            "SystemdCgroup = false",
            "netns_mounts_under_state_dir = true",
            "stream_server_address = \"127.0.0.1\"",
            "conf_dir = \"/tmp/c/node/cni\"",
            PAUSE_IMAGE,
        ] {
            assert!(c.contains(needle), "{needle}\n{c}");
        }
    }

    #[test]
    fn the_kubelet_accepts_only_ca_signed_clients_and_has_no_upstream_dns() {
        let k = kubelet_config(&layout(), 12345);
        for needle in [
            "failCgroupV1: false",
            "cgroupDriver: cgroupfs",
            "cgroupRoot: /sparkop-1-abc",
            "oomScoreAdj: 0",
            "readOnlyPort: 0",
            "anonymous: {enabled: false}",
            "clientCAFile: /tmp/c/ca.crt",
            "clusterDNS: [10.244.0.1]",
            "resolvConf: /tmp/c/node/resolv.conf",
            "healthzPort: 12345",
            "imageGCHighThresholdPercent: 100",
        ] {
            assert!(k.contains(needle), "{needle}\n{k}");
        }
    }

    #[test]
    fn dns_answers_cluster_names_only_and_never_forwards() {
        let f = corefile(&layout());
        assert!(f.contains("kubernetes cluster.local in-addr.arpa"));
        assert!(f.contains("rcode NXDOMAIN"));
        assert!(f.contains(&format!("bind {NODE_IP}")));
        assert!(!f.contains("forward"));
        let cni: serde_json::Value = serde_json::from_str(&cni_conflist(&layout())).expect("json");
        assert_eq!(cni["plugins"][0]["ipMasq"], false);
        assert_eq!(cni["plugins"][0]["bridge"], BRIDGE);
    }
}
