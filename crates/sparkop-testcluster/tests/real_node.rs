//! The real node's safety promises, checked against a running one (`sparkop-testcluster serve`,
//! what `scripts/test-cluster up` runs): pods resolve and reach the cluster and nothing off
//! this machine, nothing of the node network exists in the machine's own namespace, and a
//! SIGKILLed cluster leaves nothing behind (processes, network namespace, cgroups, the cluster
//! dir, the kernel settings the kubelet changed).
//!
//! Needs root and the real node's binaries, packages and image; skipped without them unless
//! SPARKOP_REQUIRE_REAL_NODE=1.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::{Api, LogParams, PostParams};
use serde_json::json;
use sparkop_api::k8s_openapi::api::core::v1::Pod;

fn required() -> bool {
    std::env::var("SPARKOP_REQUIRE_REAL_NODE").is_ok_and(|v| v == "1")
}

fn sysctl(key: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/{key}"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// `serve` started and ready: its process, state dir and exports.
struct Served {
    child: Child,
    _state: tempfile::TempDir,
    env: String,
}

fn serve() -> Option<Served> {
    let state = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sparkop-testcluster"))
        .arg("serve")
        .arg(state.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("sparkop-testcluster serve");
    let start = Instant::now();
    loop {
        if let Ok(env) = std::fs::read_to_string(state.path().join("env")) {
            return Some(Served {
                child,
                _state: state,
                env,
            });
        }
        if let Some(status) = child.try_wait().expect("wait") {
            let why = std::fs::read_to_string(state.path().join("error")).unwrap_or_default();
            assert!(!required(), "serve exited {status}: {why}");
            eprintln!("skipping: the real node cannot start here: {why}");
            return None;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "serve not ready"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn export(env: &str, name: &str) -> String {
    env.lines()
        .find_map(|l| l.strip_prefix(&format!("export {name}=")))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_else(|| panic!("no {name} in {env}"))
}

async fn client(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    kube::Client::try_from(config).expect("client")
}

/// Runs `script` in a pod of the Spark image (as the Spark user, restricted) and returns its
/// log once it has ended.
async fn run_in_pod(pods: &Api<Pod>, name: &str, script: &str) -> String {
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": false,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 185,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "check", "image": "apache/spark:4.3.0",
                "args": ["bash", "-c", script],
                "securityContext": {"allowPrivilegeEscalation": false,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
        },
    }))
    .expect("pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create");
    let start = Instant::now();
    loop {
        let phase = pods
            .get(name)
            .await
            .ok()
            .and_then(|p| p.status?.phase)
            .unwrap_or_default();
        if phase == "Succeeded" || phase == "Failed" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{name}: {phase}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    pods.logs(name, &LogParams::default()).await.expect("log")
}

#[test]
fn pods_reach_the_cluster_only_and_a_killed_cluster_leaves_nothing_behind() {
    let before: Vec<(&str, String)> = [
        "vm/overcommit_memory",
        "kernel/panic",
        "kernel/panic_on_oops",
    ]
    .iter()
    .map(|k| (*k, sysctl(k)))
    .collect();
    let host_forward = sysctl("net/ipv4/ip_forward");
    let absent: Vec<&str> = ["/var/lib/kubelet", "/run/containerd"]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    let Some(mut served) = serve() else { return };
    let netns = export(&served.env, "SPARKOP_TEST_NETNS");
    let kubeconfig = PathBuf::from(export(&served.env, "KUBECONFIG"));
    let cluster_dir = kubeconfig.parent().expect("cluster dir").to_owned();
    assert!(Path::new(&format!("/run/netns/{netns}")).exists());

    // Nothing of the node's network in the machine's own namespace.
    let links = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["-o", "addr"])
            .output()
            .expect("ip")
            .stdout,
    )
    .into_owned();
    assert!(
        !links.contains("10.244.0."),
        "a node or pod address on the machine: {links}"
    );
    assert_eq!(
        sysctl("net/ipv4/ip_forward"),
        host_forward,
        "ip_forward changed on the machine"
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let log = rt.block_on(async {
        let client = client(&kubeconfig).await;
        let pods: Api<Pod> = Api::namespaced(client, "default");
        // Cluster DNS and the kubernetes Service work; every other name is NXDOMAIN, and no
        // address off this machine can be reached (no uplink, FORWARD drops off the bridge).
        run_in_pod(
            &pods,
            "network-check",
            r#"getent hosts kubernetes.default.svc.cluster.local && echo dns-cluster-ok
               timeout 5 bash -c '</dev/tcp/kubernetes.default.svc/443' && echo api-ok
               getent hosts deb.debian.org || echo dns-outside-refused
               timeout 5 bash -c '</dev/tcp/1.1.1.1/443' 2>/dev/null || echo outside-unreachable
               timeout 5 bash -c '</dev/tcp/192.168.0.1/80' 2>/dev/null || echo lan-unreachable"#,
        )
        .await
    });
    for want in [
        "dns-cluster-ok",
        "api-ok",
        "dns-outside-refused",
        "outside-unreachable",
        "lan-unreachable",
    ] {
        assert!(
            log.contains(want),
            "{want} missing from the pod's log:\n{log}"
        );
    }

    // SIGKILL: no destructor runs; the guardian tears the node down.
    served.child.kill().expect("kill");
    let _ = served.child.wait();
    let start = Instant::now();
    loop {
        let netns_gone = !Path::new(&format!("/run/netns/{netns}")).exists();
        let dir_gone = !cluster_dir.exists();
        let cgroups_gone = std::fs::read_dir("/sys/fs/cgroup")
            .expect("cgroups")
            .flatten()
            .all(|h| !h.path().join(&netns).exists());
        let left = String::from_utf8_lossy(
            &Command::new("pgrep")
                .args(["-f", &cluster_dir.display().to_string()])
                .output()
                .expect("pgrep")
                .stdout,
        )
        .trim()
        .to_owned();
        if netns_gone && dir_gone && cgroups_gone && left.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "after 60 s: netns gone {netns_gone}, dir gone {dir_gone}, cgroups gone {cgroups_gone}, processes left: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    for (key, value) in before {
        assert_eq!(sysctl(key), value, "{key} not restored");
    }
    for path in absent {
        assert!(!Path::new(path).exists(), "{path} left behind");
    }
}
