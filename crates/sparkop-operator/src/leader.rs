//! Leader election with a `coordination.k8s.io/v1` Lease: only the holder reconciles. A
//! replica takes the Lease when it is free or expired, renews it every third of its duration,
//! and stops (the process exits and restarts) when it cannot renew — never two leaders acting.

use std::time::Duration;

use kube::api::{Api, PostParams};
use sparkop_api::k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use sparkop_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use sparkop_api::k8s_openapi::jiff::{SignedDuration, Timestamp};

/// Which Lease, who we are, and for how long a Lease is valid.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Namespace of the Lease (the operator's own).
    pub namespace: String,
    /// Lease name.
    pub name: String,
    /// This replica's identity (its pod name).
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub duration: Duration,
}

/// Whether `lease` may be taken by `me` at `now`: free, ours, or expired.
pub fn may_take(lease: &LeaseSpec, me: &str, now: Timestamp) -> bool {
    let holder = lease.holder_identity.as_deref().unwrap_or("");
    if holder.is_empty() || holder == me {
        return true;
    }
    let Some(renewed) = lease.renew_time.as_ref() else {
        return true;
    };
    let secs = i64::from(lease.lease_duration_seconds.unwrap_or(15));
    renewed.0 + SignedDuration::from_secs(secs) < now
}

fn spec_for(cfg: &LeaseConfig, previous: Option<&LeaseSpec>, now: Timestamp) -> LeaseSpec {
    let ours = previous.and_then(|p| p.holder_identity.as_deref()) == Some(cfg.identity.as_str());
    LeaseSpec {
        holder_identity: Some(cfg.identity.clone()),
        lease_duration_seconds: Some(i32::try_from(cfg.duration.as_secs()).unwrap_or(15)),
        acquire_time: if ours {
            previous.and_then(|p| p.acquire_time.clone())
        } else {
            Some(MicroTime(now))
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(
            previous.and_then(|p| p.lease_transitions).unwrap_or(0) + i32::from(!ours),
        ),
        ..Default::default()
    }
}

/// One attempt to take or renew the Lease; `Ok(true)` when we hold it afterwards. Conflicts
/// (another replica wrote first) are `Ok(false)`.
pub async fn try_acquire(api: &Api<Lease>, cfg: &LeaseConfig) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    match api.get_opt(&cfg.name).await? {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(cfg.name.clone()),
                    namespace: Some(cfg.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(spec_for(cfg, None, now)),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
        Some(mut lease) => {
            let spec = lease.spec.clone().unwrap_or_default();
            if !may_take(&spec, &cfg.identity, now) {
                return Ok(false);
            }
            lease.spec = Some(spec_for(cfg, Some(&spec), now));
            // resourceVersion is kept: a concurrent writer makes this a 409.
            match api.replace(&cfg.name, &PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

/// Waits until this replica holds the Lease.
pub async fn acquire(api: &Api<Lease>, cfg: &LeaseConfig) {
    loop {
        match try_acquire(api, cfg).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot take the lease"),
        }
        tokio::time::sleep(cfg.duration / 3).await;
    }
}

/// Renews the Lease until a renewal fails for longer than the Lease lasts; then returns (the
/// caller must stop acting as leader).
pub async fn keep(api: &Api<Lease>, cfg: &LeaseConfig) {
    let mut last_ok = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(cfg.duration / 3).await;
        match try_acquire(api, cfg).await {
            Ok(true) => last_ok = tokio::time::Instant::now(),
            Ok(false) => return,
            Err(_) if last_ok.elapsed() < cfg.duration * 2 / 3 => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("time")
    }

    #[test]
    fn a_lease_is_taken_only_when_free_ours_or_expired() {
        let held = LeaseSpec {
            holder_identity: Some("a".into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(t(0))),
            ..Default::default()
        };
        assert!(may_take(&held, "a", t(1)));
        assert!(!may_take(&held, "b", t(14)));
        assert!(may_take(&held, "b", t(16)));
        assert!(may_take(&LeaseSpec::default(), "b", t(0)));
        let cfg = LeaseConfig {
            namespace: "ns".into(),
            name: "sparkop".into(),
            identity: "b".into(),
            duration: Duration::from_secs(15),
        };
        let taken = spec_for(&cfg, Some(&held), t(20));
        assert_eq!(taken.holder_identity.as_deref(), Some("b"));
        assert_eq!(taken.lease_transitions, Some(1));
        let renewed = spec_for(&cfg, Some(&taken), t(25));
        assert_eq!(renewed.lease_transitions, Some(1));
        assert_eq!(renewed.acquire_time, taken.acquire_time);
    }
}
