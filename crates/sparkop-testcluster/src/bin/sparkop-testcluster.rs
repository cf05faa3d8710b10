//! `sparkop-testcluster serve STATE_DIR`: runs the cluster the real-node tests use (control
//! plane, the real node, CRDs, the chart's RBAC, namespace `spark-apps` with the driver
//! ServiceAccount `spark`, the Spark images) until SIGTERM or SIGINT, then tears it all down.
//! `scripts/test-cluster up|down` start and stop it in the background; this binary writes
//! `STATE_DIR/env` (the `export` lines a user's shell needs) once the cluster is ready, and
//! `STATE_DIR/error` if it cannot start.

use std::path::PathBuf;
use std::process::ExitCode;

use sparkop_testcluster::{ControlPlane, Options, SPARK_NAMESPACE, User};

fn usage() -> ExitCode {
    eprintln!("usage: sparkop-testcluster serve STATE_DIR");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cmd, state] = args.as_slice() else {
        return usage();
    };
    if cmd != "serve" {
        return usage();
    }
    let state = PathBuf::from(state);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sparkop-testcluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(&state)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = std::fs::write(state.join("error"), format!("{e}\n"));
            eprintln!("sparkop-testcluster: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(state: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let cp = ControlPlane::start(Options::real_node()).await?;
    cp.install_sparkop_for(SPARK_NAMESPACE).await?;
    let kubeconfig = cp.write_kubeconfig(User::Admin)?;
    let operator = cp.write_kubeconfig(User::Operator)?;
    let env = format!(
        "export KUBECONFIG={}\nexport PATH={}:\"$PATH\"\nexport SPARKOP_TEST_NETNS={}\n\
         # the operator's own identity (the chart's RBAC), for `sparkop operator`:\n\
         export SPARKOP_OPERATOR_KUBECONFIG={}\n# logs of every component: {}\n",
        kubeconfig.display(),
        cp.bin_dir().display(),
        cp.netns().unwrap_or_default(),
        operator.display(),
        cp.dir().join("logs").display(),
    );
    std::fs::write(state.join("env.tmp"), env)?;
    std::fs::rename(state.join("env.tmp"), state.join("env"))?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("sparkop-testcluster: stopping");
    drop(cp);
    Ok(())
}
