//! The binary's async runtime and its shutdown signal: one of each, for every command.

/// A runtime for a command: two worker threads (the machine sparkop targets has two cores) and
/// room on their stacks for kube-rs' deeply nested futures.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(8 << 20)
        .enable_all()
        .build()
}

/// Resolves on Ctrl-C or SIGTERM (what `kubectl delete pod` and a terminal send).
pub async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending().await,
            }
        } => {}
    }
}
