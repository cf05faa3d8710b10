//! Connections the driver refused, read from its log: Spark says so nowhere else (only its
//! `AuthRpcHandler`, at the DEBUG level sparkop's log4j2 configuration turns on). The runtime
//! fetches the log with the API server's timestamps; this module, pure, picks the refusals
//! after the last one already reported.

use sparkop_api::k8s_openapi::jiff::Timestamp;
use sparkop_core::spark_log::{self, Fact};

/// A connection the driver refused because it failed authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// When the kubelet recorded the log line.
    pub at: Timestamp,
    /// The peer, as Spark printed it (`10.244.0.7:41234`).
    pub peer: String,
}

/// The refusals in `log` (lines as `kubectl logs --timestamps` prints them) recorded after
/// `after`, oldest first, and the timestamp of the last line read (the next `after`).
pub fn refusals(log: &str, after: Option<Timestamp>) -> (Vec<Refusal>, Option<Timestamp>) {
    let mut out = Vec::new();
    let mut last = after;
    for line in log.lines() {
        let Some((stamp, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(at) = stamp.parse::<Timestamp>() else {
            continue;
        };
        if after.is_some_and(|a| at <= a) {
            continue;
        }
        last = Some(last.map_or(at, |l| l.max(at)));
        if let Some(Fact::AuthRefused { peer }) = spark_log::fact(&spark_log::parse(rest)) {
            out.push(Refusal { at, peer });
        }
    }
    (out, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
2026-12-02T04:21:36.873000000Z 04:21:36.873 DEBUG org.apache.spark.network.crypto.AuthRpcHandler: Authorization successful for client /10.244.0.23:57886.
2026-12-02T04:22:10.000000000Z 04:22:10.000 DEBUG org.apache.spark.network.crypto.AuthRpcHandler: Authentication failed for client /10.244.0.9:40102, closing channel.
2026-12-02T04:22:11.500000000Z    at org.apache.spark.network.crypto.AuthRpcHandler.receive(AuthRpcHandler.java:99)
not a log line
2026-12-02T04:22:30.000000000Z 04:22:30.000 DEBUG org.apache.spark.network.crypto.AuthRpcHandler: Authentication failed for client /10.244.0.9:40110.
";

    #[test]
    fn refusals_after_the_last_report_only() {
        let (all, last) = refusals(LOG, None);
        let peers: Vec<&str> = all.iter().map(|r| r.peer.as_str()).collect();
        assert_eq!(peers, ["10.244.0.9:40102", "10.244.0.9:40110"]);
        let last = last.expect("a timestamp");
        assert_eq!(
            last,
            "2026-12-02T04:22:30Z".parse::<Timestamp>().expect("ts")
        );
        // Read again from the last timestamp: nothing new.
        assert_eq!(refusals(LOG, Some(last)).0, []);
        // From the middle: only the later one.
        let mid = "2026-12-02T04:22:11Z".parse().expect("ts");
        assert_eq!(refusals(LOG, Some(mid)).0.len(), 1);
    }

    #[test]
    fn accepted_connections_and_garbage_are_no_refusals() {
        assert_eq!(refusals("", None), (vec![], None));
        let (r, _) = refusals(LOG.lines().next().unwrap_or_default(), None);
        assert!(r.is_empty());
    }
}
