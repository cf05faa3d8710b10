//! sparkop's local backend: runs a [`sparkop_core::LaunchPlan`] on this machine with real
//! Spark — driver and executors as separate JVMs (`local-cluster`), loopback only — from a
//! private run directory whose secret files exist only while the run does.
//!
//! ```text
//! install (pyspark from PyPI → synthetic SPARK_HOME)   java (17+)
//!        └──────────────┬───────────────────────────────┘
//! LaunchPlan ─► run::prepare (run dir, secrets, keystore) ─► submit::command (pure argv/env)
//!            ─► run::execute (process group, logs, facts via sparkop_core::spark_log) ─► Outcome
//! ```

pub mod install;
pub mod java;
pub mod run;
pub mod rundir;
pub mod submit;

use std::path::PathBuf;

/// Errors of the local backend.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// No usable Java.
    #[error("{0}")]
    Java(String),
    /// Spark could not be installed or found.
    #[error("{0}")]
    Install(String),
    /// The plan cannot run here as it is.
    #[error("{0}")]
    Plan(String),
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Starting or watching a process failed.
    #[error("{0}")]
    Process(String),
}
