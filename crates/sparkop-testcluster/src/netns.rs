//! The real-node tier's isolation: a network namespace of its own for the control plane, the
//! node and its pods, so no node or pod address, bridge, iptables rule or `net.*` sysctl
//! (`ip_forward` included) ever exists in the machine's own namespace; and one teardown that
//! undoes everything else the node touches (its processes, cgroups, mounts, the global sysctls
//! the kubelet writes, the few paths it hard-codes).
//!
//! The teardown is a script written at start ([`teardown_script`], pure) and run by whichever
//! comes first: the [`Isolation`]'s `Drop`, or a guardian process in a session of its own that
//! waits for the test process to die (a failed, aborted or SIGKILLed test).

use std::fs::{self, File};
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::{ClusterError, io};

/// Global (not per-namespace) sysctls the kubelet writes at start; restored at teardown.
pub(crate) const KUBELET_SYSCTLS: [&str; 3] = [
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
];

/// Paths outside the cluster dir that the kubelet or containerd create whatever they are told
/// (hard-coded in them); removed at teardown when they did not exist before.
pub(crate) const HARD_CODED_PATHS: [&str; 4] = [
    "/var/lib/kubelet",
    "/var/log/containers",
    "/var/log/pods",
    "/run/containerd",
];

/// What the teardown needs to know, captured before the node starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TeardownPlan {
    /// The network namespace's name (`/run/netns/NAME`).
    pub netns: String,
    /// The cluster dir: every process group started is listed in `DIR/pgids`, every mount
    /// under it is unmounted, and it is removed last.
    pub dir: PathBuf,
    /// The node's cgroup root (a directory name under each cgroup v1 hierarchy).
    pub cgroup: String,
    /// The values of [`KUBELET_SYSCTLS`] before the node started.
    pub sysctls: Vec<(String, String)>,
    /// Which of [`HARD_CODED_PATHS`] did not exist before.
    pub created: Vec<String>,
    /// Whether the cluster dir itself goes at the end (the guardian's case; `Drop` leaves it
    /// to the `TempDir`).
    pub remove_dir: bool,
}

/// The teardown as a POSIX shell script. Idempotent: every step tolerates what is already gone.
pub(crate) fn teardown_script(p: &TeardownPlan) -> String {
    let dir = p.dir.display();
    let mut s = format!(
        "#!/bin/sh\n# sparkop-testcluster: tears the real node down (written at start).\n\
         ns='{ns}'; dir='{dir}'; cg='{cg}'\n",
        ns = p.netns,
        cg = p.cgroup
    );
    s.push_str(
        r#"# 1. every process group the harness started (watchdogs and their components)
for pg in $(cat "$dir/pgids" 2>/dev/null); do kill -KILL -- "-$pg" 2>/dev/null; done
# 2. whatever is left in the node's network namespace (containerd shims, socat)
for _ in 1 2 3 4 5; do
  pids=$(ip netns pids "$ns" 2>/dev/null)
  [ -z "$pids" ] && break
  kill -KILL $pids 2>/dev/null; sleep 0.2
done
# 3. pod processes, found by the node's cgroups, then the cgroups themselves
for _ in 1 2 3 4 5 6 7 8 9 10; do
  pids=$(cat /sys/fs/cgroup/*/"$cg"/cgroup.procs /sys/fs/cgroup/*/"$cg"/*/cgroup.procs \
    /sys/fs/cgroup/*/"$cg"/*/*/cgroup.procs /sys/fs/cgroup/*/"$cg"/*/*/*/cgroup.procs \
    /sys/fs/cgroup/*/"$cg"/*/*/*/*/cgroup.procs 2>/dev/null | sort -u)
  [ -z "$pids" ] && break
  kill -KILL $pids 2>/dev/null; sleep 0.3
done
for h in /sys/fs/cgroup/*/; do
  [ -d "$h$cg" ] && find "$h$cg" -depth -type d -exec rmdir {} + 2>/dev/null
done
# 4. mounts under the cluster dir (pod volumes, the kubelet's bind mount of its root dir,
#    pod network namespaces under containerd's state dir), deepest first
awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null
done
# 5. the network namespace: bridge, addresses, iptables rules, net.* sysctls go with it
ip netns del "$ns" 2>/dev/null
"#,
    );
    s.push_str("# 6. the global sysctls the kubelet set\n");
    for (key, value) in &p.sysctls {
        s.push_str(&format!("echo '{value}' > /proc/sys/{key} 2>/dev/null\n"));
    }
    s.push_str(
        "# 7. paths the kubelet and containerd hard-code, when they were not there before\n",
    );
    for path in &p.created {
        s.push_str(&format!(
            "awk -v d='{path}/' 'index($2, d) == 1 {{ print $2 }}' /proc/self/mounts | sort -r | \
             while read -r m; do umount -l \"$m\" 2>/dev/null; done\nrm -rf '{path}'\n"
        ));
    }
    if p.remove_dir {
        s.push_str("# 8. the cluster dir\nrm -rf \"$dir\"\n");
    }
    s.push_str("exit 0\n");
    s
}

/// A network namespace and the guarantee that everything is undone.
pub(crate) struct Isolation {
    plan: TeardownPlan,
    guardian: Child,
    _lock: nix::fcntl::Flock<File>,
}

fn run(what: &str, cmd: &mut Command) -> Result<(), ClusterError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("{what}: starting {:?}", cmd.get_program())))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ClusterError::Command {
            what: what.to_owned(),
            detail: format!(
                "{} ({})",
                String::from_utf8_lossy(&out.stderr).trim(),
                out.status
            ),
        })
    }
}

impl Isolation {
    /// Creates the namespace `sparkop-PID-N` after taking the machine-wide real-node lock (one
    /// real node at a time: they share the cgroup hierarchies and the hard-coded paths), and
    /// starts the guardian.
    pub(crate) fn create(dir: &Path, cache: &Path) -> Result<Isolation, ClusterError> {
        for tool in ["ip", "nsenter", "iptables", "socat"] {
            if which(tool).is_none() {
                return Err(ClusterError::NoBinaries(format!(
                    "{tool} is not installed (scripts/test-all installs the real node's packages)"
                )));
            }
        }
        fs::create_dir_all(cache).map_err(io("creating the cache dir"))?;
        let lock_file = File::create(cache.join("real-node.lock")).map_err(io("the lock file"))?;
        let lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| ClusterError::Io {
                what: "locking the real node".into(),
                source: e.into(),
            })?;
        let mut rnd = [0u8; 3];
        getrandom::fill(&mut rnd).map_err(|e| ClusterError::Pki(e.to_string()))?;
        let id = format!("{}-{}", std::process::id(), hex::encode(rnd));
        let plan = TeardownPlan {
            netns: format!("sparkop-{id}"),
            dir: dir.to_owned(),
            cgroup: format!("sparkop-{id}"),
            sysctls: KUBELET_SYSCTLS
                .iter()
                .map(|k| {
                    let v = fs::read_to_string(format!("/proc/sys/{k}")).unwrap_or_default();
                    (k.to_string(), v.trim().to_owned())
                })
                .filter(|(_, v)| !v.is_empty())
                .collect(),
            created: HARD_CODED_PATHS
                .iter()
                .filter(|p| !Path::new(p).exists())
                .map(|p| p.to_string())
                .collect(),
            remove_dir: false,
        };
        let script = dir.join("teardown.sh");
        let guardian_script = dir.join("teardown-guardian.sh");
        fs::write(&script, teardown_script(&plan)).map_err(io("writing teardown.sh"))?;
        let guardian_plan = TeardownPlan {
            remove_dir: true,
            ..plan.clone()
        };
        fs::write(&guardian_script, teardown_script(&guardian_plan))
            .map_err(io("writing teardown-guardian.sh"))?;
        File::create(dir.join("pgids")).map_err(io("pgids"))?;
        // The guardian: its own session, so a signal to the test's process group spares it.
        let guardian = Command::new("sh")
            .arg("-c")
            .arg(r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec sh "$2""#)
            .arg("sh")
            .arg(std::process::id().to_string())
            .arg(&guardian_script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(io("starting the teardown guardian"))?;
        let iso = Isolation {
            plan,
            guardian,
            _lock: lock,
        };
        run(
            "creating the network namespace",
            Command::new("ip").args(["netns", "add", &iso.plan.netns]),
        )?;
        run(
            "bringing up lo in the network namespace",
            Command::new("ip").args(["-n", &iso.plan.netns, "link", "set", "lo", "up"]),
        )?;
        Ok(iso)
    }

    /// The namespace's name.
    pub(crate) fn name(&self) -> &str {
        &self.plan.netns
    }

    /// The node's cgroup root name.
    pub(crate) fn cgroup(&self) -> &str {
        &self.plan.cgroup
    }

    /// `nsenter` arguments that run a program inside the namespace (network only: the mount
    /// namespace stays the machine's, so containerd and the kubelet see each other's mounts and
    /// the cgroup hierarchies).
    pub(crate) fn enter(&self) -> Vec<String> {
        vec![
            format!("--net=/run/netns/{}", self.plan.netns),
            "--".to_owned(),
        ]
    }

    /// Runs a command inside the namespace and waits for it.
    pub(crate) fn run(&self, what: &str, program: &str, args: &[&str]) -> Result<(), ClusterError> {
        run(
            what,
            Command::new("nsenter")
                .args(self.enter())
                .arg(program)
                .args(args),
        )
    }

    /// Records a process group for the teardown.
    pub(crate) fn record_group(&self, pgid: u32) -> Result<(), ClusterError> {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(self.plan.dir.join("pgids"))
            .map_err(io("pgids"))?;
        writeln!(f, "{pgid}").map_err(io("pgids"))
    }
}

impl Drop for Isolation {
    fn drop(&mut self) {
        let _ = self.guardian.kill();
        let _ = self.guardian.wait();
        let _ = Command::new("sh")
            .arg(self.plan.dir.join("teardown.sh"))
            .stdin(Stdio::null())
            .status();
    }
}

/// The path of `tool` on `PATH` (and the sbin directories root's PATH may lack).
pub(crate) fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> TeardownPlan {
        TeardownPlan {
            netns: "sparkop-1-abc".into(),
            dir: "/tmp/sparkop-cluster-x".into(),
            cgroup: "sparkop-1-abc".into(),
            sysctls: vec![("kernel/panic".into(), "0".into())],
            created: vec!["/var/lib/kubelet".into()],
            remove_dir: true,
        }
    }

    #[test]
    fn the_teardown_undoes_every_kind_of_leftover() {
        let s = teardown_script(&plan());
        for needle in [
            "kill -KILL -- \"-$pg\"",
            "ip netns pids \"$ns\"",
            "cgroup.procs",
            "rmdir",
            "umount -l",
            "ip netns del \"$ns\"",
            "echo '0' > /proc/sys/kernel/panic",
            "rm -rf '/var/lib/kubelet'",
            "rm -rf \"$dir\"",
        ] {
            assert!(s.contains(needle), "missing {needle:?} in\n{s}");
        }
        // Processes go before their mounts and namespace, the namespace before the files.
        let at = |n: &str| s.find(n).unwrap_or(usize::MAX);
        assert!(at("kill -KILL --") < at("umount -l"));
        assert!(at("umount -l") < at("ip netns del"));
        assert!(at("ip netns del") < at("rm -rf \"$dir\""));
    }

    #[test]
    fn drop_leaves_the_dir_to_its_owner_and_paths_that_existed_stay() {
        let s = teardown_script(&TeardownPlan {
            remove_dir: false,
            created: vec![],
            ..plan()
        });
        assert!(!s.contains("rm -rf \"$dir\""));
        assert!(!s.contains("/var/lib/kubelet"));
    }
}
