//! The real-node tier: `sparkop apply` + `sparkop operator` (with exactly the chart's RBAC)
//! on a cluster with a real kubelet, containerd and CNI bridge, running the Spark 4.3.0 image
//! that `scripts/build-spark-image` builds. Every promise of the product is checked where it
//! matters: in real driver and executor pods that sparkop (and Spark, from sparkop's executor
//! template) created.
//!
//! One cluster serves every scenario (its start costs ~30 s), and scenarios run one at a time
//! (the node has two CPUs). `harness = false`: `main` starts the cluster, runs the scenarios
//! through libtest-mimic (filters and `--list` work as usual) and tears the cluster down.
//!
//! Needs root and the real node's binaries, packages and image (scripts/test-all provides
//! them); without them it is skipped unless SPARKOP_REQUIRE_REAL_NODE=1.

use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

#[path = "../support/mod.rs"]
mod support;

mod cases;
mod env;

use env::Env;

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    // The node has two CPUs: one Spark application at a time.
    args.test_threads = Some(1);
    let cases = cases::all();
    if args.list {
        let trials = cases
            .into_iter()
            .map(|(name, _)| Trial::test(name, || Ok(())))
            .collect();
        return libtest_mimic::run(&args, trials).exit_code();
    }
    let env = match Env::start() {
        Ok(env) => Arc::new(env),
        Err(why) if !env::required() => {
            eprintln!("skipping the real-node tier: {why}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("the real-node tier cannot start: {why}");
            return ExitCode::FAILURE;
        }
    };
    let trials = cases
        .into_iter()
        .map(|(name, case)| {
            let env = env.clone();
            Trial::test(name, move || {
                case(&env).map_err(|e| Failed::from(format!("{e:#}")))
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if conclusion.has_failed() {
        env.dump_logs();
    }
    drop(env);
    conclusion.exit_code()
}
