//! Deterministic object names per application attempt: re-running the builders after a crash
//! yields the same names, so get-or-create / server-side apply never makes a second driver.

use sha2::{Digest, Sha256};

/// Kubernetes object names can be 253 characters, but pod host names and Service names are DNS
/// labels: 63.
const MAX_LABEL: usize = 63;

/// The names of one attempt's objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// `spark-app-selector` label value (also `spark.app.id`).
    pub app_selector: String,
    /// Driver pod.
    pub driver_pod: String,
    /// Driver ConfigMap (`spark.properties`, executor pod template).
    pub config_map: String,
    /// Headless driver Service.
    pub driver_service: String,
    /// UI Service (HTTP redirect + HTTPS). One per application, not per attempt: its address
    /// and the UI certificate's name stay valid across reruns; each attempt points it at its
    /// own driver.
    pub ui_service: String,
    /// NetworkPolicy for the executors.
    pub network_policy: String,
}

/// `base` + `suffix`, shortened with a hash of the full name when too long for a DNS label.
fn fit(base: &str, suffix: &str) -> String {
    let full = format!("{base}{suffix}");
    if full.len() <= MAX_LABEL {
        return full;
    }
    let hash = hex::encode(&Sha256::digest(full.as_bytes())[..4]);
    let keep = MAX_LABEL - suffix.len() - hash.len() - 1;
    let mut head: String = base.chars().take(keep).collect();
    while head.ends_with('-') {
        head.pop();
    }
    format!("{head}-{hash}{suffix}")
}

/// `name` as a DNS label (volume names, …): as is when short enough, else shortened with a
/// hash of the whole, so two long names never collide and none ends with `-`.
pub fn dns_label(name: &str) -> String {
    fit(name, "")
}

impl Names {
    /// Names for attempt `attempt` (0-based) of application `name` with uid `uid`.
    pub fn new(name: &str, uid: &str, attempt: u32) -> Names {
        let base = format!("{name}-{attempt}");
        let uid_hex: String = uid.chars().filter(char::is_ascii_hexdigit).collect();
        Names {
            app_selector: format!("spark-{}-{attempt}", &uid_hex[..uid_hex.len().min(32)]),
            driver_pod: fit(&base, "-driver"),
            config_map: fit(&base, "-driver-conf"),
            driver_service: fit(&base, "-driver-svc"),
            ui_service: fit(name, "-ui-svc"),
            network_policy: fit(&base, "-policy"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic_and_fit_dns_labels() {
        let a = Names::new("spark-pi", "369ebfaf-7f27-4ead-bd82-1ccb987b2f95", 0);
        assert_eq!(
            a,
            Names::new("spark-pi", "369ebfaf-7f27-4ead-bd82-1ccb987b2f95", 0)
        );
        assert_eq!(a.driver_pod, "spark-pi-0-driver");
        assert_eq!(a.app_selector, "spark-369ebfaf7f274eadbd821ccb987b2f95-0");
        assert_ne!(
            a.driver_pod,
            Names::new("spark-pi", "369ebfaf", 1).driver_pod
        );
        let long = Names::new(&"x".repeat(200), "u", 3);
        for n in [
            &long.driver_pod,
            &long.config_map,
            &long.driver_service,
            &long.ui_service,
        ] {
            assert!(n.len() <= 63, "{n}");
        }
        assert!(long.driver_service.ends_with("-driver-svc"));
    }
}
