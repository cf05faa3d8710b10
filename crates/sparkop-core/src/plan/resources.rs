//! Spark's resource rules, in one place for both backends: how much memory a driver or
//! executor container needs beyond its heap, and what a GPU request means.

use sparkop_api::SparkApplicationType;

use super::{PlanError, RolePlan};

/// Spark's heap when a role sets no memory (`spark.{driver,executor}.memory`).
pub const DEFAULT_HEAP_BYTES: u64 = 1 << 30;
/// Spark's smallest memory overhead.
pub const MIN_MEMORY_OVERHEAD_BYTES: u64 = 384 << 20;

/// The overhead factor: `memoryOverheadFactor` when given (a number in (0, 1]), else Spark's
/// default, 0.1 for JVM applications and 0.4 for Python and R (their workers live outside
/// the heap).
pub(super) fn overhead_factor(
    given: Option<&str>,
    app_type: SparkApplicationType,
) -> Result<f64, PlanError> {
    match given {
        Some(text) => match text.trim().parse::<f64>() {
            Ok(f) if f > 0.0 && f <= 1.0 => Ok(f),
            _ => Err(PlanError::Invalid {
                field: "spec.memoryOverheadFactor".into(),
                message: format!("{text:?} is not a number between 0 and 1"),
            }),
        },
        None => Ok(match app_type {
            SparkApplicationType::Java | SparkApplicationType::Scala => 0.1,
            SparkApplicationType::Python | SparkApplicationType::R => 0.4,
        }),
    }
}

/// Heap plus overhead: `memoryOverhead` when given, else `factor` of the heap, at least
/// [`MIN_MEMORY_OVERHEAD_BYTES`].
pub(super) fn container_memory_bytes(role: &RolePlan, factor: f64) -> u64 {
    let heap = role.memory_bytes.unwrap_or(DEFAULT_HEAP_BYTES);
    let overhead = role.memory_overhead_bytes.unwrap_or_else(|| {
        // Whole bytes, as Spark computes it (`(heap * factor).toLong`).
        let scaled = (heap as f64 * factor) as u64;
        scaled.max(MIN_MEMORY_OVERHEAD_BYTES)
    });
    heap + overhead
}

/// GPUs for a role: an extended resource (`nvidia.com/gpu`) and its vendor (`nvidia.com`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuPlan {
    /// The Kubernetes resource name.
    pub resource: String,
    /// The vendor Spark's resource scheduling names (the resource name's domain).
    pub vendor: String,
    /// How many.
    pub amount: i64,
}

impl GpuPlan {
    /// Validates `name` (`DOMAIN/NAME`) and `quantity` (at least 1).
    pub(super) fn new(field: &str, name: &str, quantity: i64) -> Result<GpuPlan, PlanError> {
        let Some((vendor, _)) = name
            .rsplit_once('/')
            .filter(|(v, n)| !v.is_empty() && !n.is_empty())
        else {
            return Err(PlanError::Invalid {
                field: format!("{field}.name"),
                message: format!("{name:?} is not a resource name like nvidia.com/gpu"),
            });
        };
        if quantity < 1 {
            return Err(PlanError::Invalid {
                field: format!("{field}.quantity"),
                message: "must be at least 1".into(),
            });
        }
        Ok(GpuPlan {
            resource: name.into(),
            vendor: vendor.into(),
            amount: quantity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(heap_mib: Option<u64>, overhead_mib: Option<u64>) -> RolePlan {
        RolePlan {
            memory_bytes: heap_mib.map(|m| m << 20),
            memory_overhead_bytes: overhead_mib.map(|m| m << 20),
            ..Default::default()
        }
    }

    #[test]
    fn overhead_is_a_share_of_the_heap_with_a_floor_unless_given() {
        let jvm = overhead_factor(None, SparkApplicationType::Scala).expect("factor");
        let py = overhead_factor(None, SparkApplicationType::Python).expect("factor");
        // 512 MiB heap: 10 % is below the 384 MiB floor.
        assert_eq!(
            container_memory_bytes(&role(Some(512), None), jvm),
            (512 + 384) << 20
        );
        // 8 GiB heap: 10 % of it.
        assert_eq!(
            container_memory_bytes(&role(Some(8192), None), jvm),
            (8192u64 << 20) + ((8192u64 << 20) as f64 * 0.1) as u64
        );
        // Python: 40 %.
        assert_eq!(
            container_memory_bytes(&role(Some(2048), None), py),
            (2048 + 819) * (1 << 20) + 209_715
        );
        // No heap given: Spark's 1 GiB.
        assert_eq!(
            container_memory_bytes(&role(None, None), jvm),
            (1024 + 384) << 20
        );
        // An explicit overhead wins over the factor and the floor.
        assert_eq!(
            container_memory_bytes(&role(Some(512), Some(100)), jvm),
            612 << 20
        );
        // memoryOverheadFactor replaces the default.
        let f = overhead_factor(Some("0.5"), SparkApplicationType::Scala).expect("factor");
        assert_eq!(
            container_memory_bytes(&role(Some(4096), None), f),
            6144 << 20
        );
        for bad in ["0", "1.5", "x", "-0.1"] {
            assert!(
                overhead_factor(Some(bad), SparkApplicationType::Java).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn gpus_need_a_domain_and_a_count() {
        let g = GpuPlan::new("spec.driver.gpu", "nvidia.com/gpu", 2).expect("gpu");
        assert_eq!((g.vendor.as_str(), g.amount), ("nvidia.com", 2));
        assert!(GpuPlan::new("f", "gpu", 1).is_err());
        assert!(GpuPlan::new("f", "nvidia.com/gpu", 0).is_err());
    }
}
