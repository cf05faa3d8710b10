//! Scale run: N SparkApplications through a real API server (etcd, kube-apiserver,
//! controller-manager, scheduler, kwok) with `sparkop operator` (release build) as its own
//! process. Reports applications/min to SUBMITTED and to COMPLETED, submit latency
//! percentiles, and the operator's CPU time and peak RSS; writes an SVG plot.
//!
//! `SPARKOP_SCALE_N=1000 cargo bench -p sparkop --bench scale` (needs scripts/build-test-cluster).
//! Results go to stdout (Markdown) and target/scale-N.svg.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::WatchStreamExt as _;
use serde_json::json;
use sparkop_api::SparkApplication;
use sparkop_api::k8s_openapi::api::core::v1::{Node, Pod};
use sparkop_testcluster::{ControlPlane, User};

fn proc_stats(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the name.
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    (cpu, hwm)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn svg(n: usize, series: &[(f64, usize, usize)]) -> String {
    let (w, h, pad) = (720.0, 360.0, 50.0);
    let tmax = series.last().map_or(1.0, |s| s.0).max(1.0);
    let x = |t: f64| pad + t / tmax * (w - 2.0 * pad);
    let y = |c: usize| h - pad - c as f64 / n.max(1) as f64 * (h - 2.0 * pad);
    let line = |pick: &dyn Fn(&(f64, usize, usize)) -> usize| {
        series
            .iter()
            .map(|s| format!("{:.1},{:.1}", x(s.0), y(pick(s))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{pad}" y="20">{n} SparkApplications through a real API server (sparkop operator, 2 cores)</text>
<line x1="{pad}" y1="{b}" x2="{r}" y2="{b}" stroke="black"/><line x1="{pad}" y1="{pad}" x2="{pad}" y2="{b}" stroke="black"/>
<text x="{r}" y="{tb}" text-anchor="end">{tmax:.0} s</text><text x="5" y="{pad}">{n}</text><text x="5" y="{b}">0</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{sub}"/>
<polyline fill="none" stroke="#2ca02c" stroke-width="2" points="{done}"/>
<text x="{lx}" y="{ly1}" fill="#1f77b4">submitted (or later)</text><text x="{lx}" y="{ly2}" fill="#2ca02c">COMPLETED</text>
</svg>
"##,
        b = h - pad,
        r = w - pad,
        tb = h - pad + 16.0,
        sub = line(&|s| s.1),
        done = line(&|s| s.2),
        lx = w - 200.0,
        ly1 = h - pad - 40.0,
        ly2 = h - pad - 24.0,
    )
}

async fn scenario(n: usize) {
    let cp = ControlPlane::start(Default::default())
        .await
        .expect("control plane (run scripts/build-test-cluster)");
    let admin = cp.client(User::Admin).expect("admin");
    sparkop_testcluster::install_sparkop(&admin)
        .await
        .expect("install");
    let nodes: Api<Node> = Api::all(admin.clone());
    for i in 1..=(n / 900 + 1) {
        let node: Node = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("kwok-node-{i}"), "labels": {"type": "kwok"}},
            "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
                       "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"}}
        }))
        .expect("node");
        nodes
            .create(&PostParams::default(), &node)
            .await
            .expect("node");
    }
    let kubeconfig = cp.write_kubeconfig(User::Operator).expect("kubeconfig");
    let log = std::fs::File::create(cp.dir().join("logs/operator.log")).expect("log");
    let mut operator = Command::new(env!("CARGO_BIN_EXE_sparkop"))
        .args([
            "operator",
            "--namespace",
            "default",
            "--metrics-addr",
            "127.0.0.1:0",
            "--concurrency",
            "32",
        ])
        .env("KUBECONFIG", kubeconfig)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("operator");
    let pid = operator.id();

    let apps: Api<SparkApplication> = Api::namespaced(admin.clone(), "default");
    let base =
        sparkop_testcluster::apps::app_json(include_str!("../../../examples/secure-pi.yaml"));
    let start = Instant::now();
    futures::stream::iter(0..n)
        .for_each_concurrent(32, |i| {
            let apps = apps.clone();
            let mut v = base.clone();
            v["metadata"]["name"] = format!("scale-{i:05}").into();
            async move {
                let app: SparkApplication = serde_json::from_value(v).expect("app");
                apps.create(&PostParams::default(), &app)
                    .await
                    .expect("create");
            }
        })
        .await;
    let created = start.elapsed();

    // The load generator follows the applications with a watch (a LIST of every application
    // each second would load the API server more than the operator does) and plays each
    // driver's exit once it runs.
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    let states: std::sync::Arc<std::sync::Mutex<BTreeMap<String, String>>> = Default::default();
    let follower = {
        let states = states.clone();
        let apps = apps.clone();
        tokio::spawn(async move {
            let mut finished_pods = std::collections::BTreeSet::new();
            let mut events =
                kube::runtime::watcher(apps, kube::runtime::watcher::Config::default())
                    .default_backoff()
                    .boxed();
            while let Some(event) = events.next().await {
                let Ok(
                    kube::runtime::watcher::Event::Apply(a)
                    | kube::runtime::watcher::Event::InitApply(a),
                ) = event
                else {
                    continue;
                };
                let name = a.metadata.name.clone().unwrap_or_default();
                let state = a
                    .status
                    .as_ref()
                    .map(|s| serde_json::to_value(s.application_state.state).unwrap_or_default())
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                if state == "RUNNING" {
                    let pod = format!("{name}-0-driver");
                    if finished_pods.insert(pod.clone()) {
                        let pods = pods.clone();
                        tokio::spawn(async move {
                            let pp = PatchParams::default();
                            let _ = pods.patch(&pod, &pp, &Patch::Merge(json!({"metadata": {"annotations": {"kwok.x-k8s.io/status": "custom"}}}))).await;
                            let _ = pods
                                .patch_status(
                                    &pod,
                                    &pp,
                                    &Patch::Merge(json!({"status": {"phase": "Succeeded"}})),
                                )
                                .await;
                        });
                    }
                }
                if let Ok(mut s) = states.lock() {
                    s.insert(name, state);
                }
            }
        })
    };
    let mut series = Vec::new();
    let mut all_submitted_at = None;
    let mut all_completed_at = None;
    let limit = Duration::from_secs(60 * 60);
    while start.elapsed() < limit {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut submitted = 0;
        for state in states
            .lock()
            .map(|s| s.values().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if !state.is_empty() {
                submitted += 1;
            }
            *counts.entry(state).or_default() += 1;
        }
        let completed = counts.get("COMPLETED").copied().unwrap_or(0);
        let failed = counts.get("FAILED").copied().unwrap_or(0);
        series.push((start.elapsed().as_secs_f64(), submitted, completed));
        if completed + failed == n && failed > 0 {
            eprintln!("{failed} application(s) FAILED; states: {counts:?}");
            break;
        }
        if submitted == n && all_submitted_at.is_none() {
            all_submitted_at = Some(start.elapsed());
        }
        if completed == n {
            all_completed_at = Some(start.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    follower.abort();
    let (cpu, hwm_kib) = proc_stats(pid);
    let list = apps.list(&ListParams::default()).await.expect("list");
    let mut latencies: Vec<f64> = list
        .items
        .iter()
        .filter_map(|a| {
            let created = a.metadata.creation_timestamp.as_ref()?.0;
            let submitted = a.status.as_ref()?.last_submission_attempt_time.as_ref()?.0;
            Some(submitted.duration_since(created).as_secs_f64())
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let _ = operator.kill();
    let _ = operator.wait();
    let per_min = |d: Option<Duration>| {
        d.map_or("not reached".to_owned(), |d| {
            format!("{:.0}", n as f64 / d.as_secs_f64() * 60.0)
        })
    };
    println!(
        "| applications | created in | all SUBMITTED after | apps/min to SUBMITTED | all COMPLETED after | apps/min to COMPLETED | submit latency p50 | p99 | operator CPU | operator peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {n} | {:.1} s | {} | {} | {} | {} | {:.2} s | {:.2} s | {:.1} s | {:.1} MiB |",
        created.as_secs_f64(),
        all_submitted_at.map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64())),
        per_min(all_submitted_at),
        all_completed_at.map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64())),
        per_min(all_completed_at),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        cpu,
        hwm_kib as f64 / 1024.0
    );
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../target/scale-{n}.svg"));
    let _ = std::fs::create_dir_all(out.parent().expect("dir"));
    std::fs::write(&out, svg(n, &series)).expect("svg");
    eprintln!("plot: {}", out.display());
}

fn main() {
    let n: usize = std::env::var("SPARKOP_SCALE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(scenario(n));
}
