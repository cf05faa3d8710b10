//! Audits that prove what a Spark application really accepts: live RPC probes through
//! `spark-wire` and manifest checks through `sparkop-core`'s policy, reported as findings with
//! evidence and fixes (table, JSON, SARIF).
//!
//! ```text
//!  host:port ─► rpc::audit_rpc ──┐
//!  UI URL    ─► ui::audit_ui ────┤   (tls: version, suite, verification, expiry)
//!  manifests ─► manifest::audit ─┴─► Vec<Finding> ─► report::{table, json, sarif}
//! ```

mod cert;
pub mod finding;
pub mod manifest;
pub mod report;
pub mod rpc;
pub mod tls;
pub mod ui;

pub use finding::Finding;
