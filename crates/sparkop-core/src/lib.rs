//! sparkop's pure domain: Spark units and versions, Kubernetes name rules, the resolved
//! security posture, and the validation and security policy both backends obey.
//!
//! ```text
//!  typed object (sparkop-api) ─► check::check_object ─► findings (rule id, severity, path)
//!                              └► posture::resolve   ─► effective security settings
//!                              └► plan::plan         ─► LaunchPlan (both backends run it)
//! ```
//! Nothing here does IO or depends on a Kubernetes client.

pub mod check;
pub mod conf;
pub mod names;
pub mod plan;
pub mod posture;
pub mod rules;
pub mod spark_log;
pub mod units;
pub mod version;

pub use check::{check_loaded, check_object};
pub use plan::{LaunchPlan, PlanError, plan};
