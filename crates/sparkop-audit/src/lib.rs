//! Audits that prove what a Spark application really accepts: live RPC probes through
//! `spark-wire` and manifest checks through `sparkop-core`'s policy, reported as findings with
//! evidence and fixes (table, JSON, SARIF).
//!
//! ```text
//!  host:port ─► rpc::audit_rpc ──┐
//!  host:port ─► tls::handshake ──┤   (web UI: version, suite, verification)
//!  manifests ─► manifest::audit ─┴─► Vec<Finding> ─► report::{table, json, sarif}
//! ```

pub mod finding;
pub mod manifest;
pub mod report;
pub mod rpc;
pub mod tls;

pub use finding::Finding;
