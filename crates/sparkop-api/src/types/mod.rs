//! The v1beta2 API types.

pub mod pod;
pub mod scheduled;
mod schema;
pub mod security;
pub mod spark_application;
pub mod status;

pub use pod::{DriverSpec, ExecutorSpec};
pub use scheduled::{ScheduledSparkApplication, ScheduledSparkApplicationSpec};
pub use security::{EncryptionMode, SecuritySpec};
pub use spark_application::{SparkApplication, SparkApplicationSpec, SparkApplicationType};
pub use status::{ApplicationStateType, SparkApplicationStatus};
