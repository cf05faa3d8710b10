//! What a line of Spark's log means for the user: pure classification of the lines the
//! [`crate::plan::log4j_config`] pattern produces (`HH:mm:ss.SSS LEVEL logger: message`).

/// Severity of a log line; `None` for lines not written by log4j (the application's stdout,
/// stack traces).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// TRACE.
    Trace,
    /// DEBUG.
    Debug,
    /// INFO.
    Info,
    /// WARN.
    Warn,
    /// ERROR or FATAL.
    Error,
}

/// A parsed log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// Level, if the line came from log4j.
    pub level: Option<Level>,
    /// Logger name, if the line came from log4j.
    pub logger: Option<&'a str>,
    /// The message (or the whole line).
    pub message: &'a str,
}

/// Splits a log4j line; other lines come back whole with no level.
pub fn parse(line: &str) -> Line<'_> {
    let plain = Line {
        level: None,
        logger: None,
        message: line,
    };
    let mut it = line.splitn(3, ' ');
    let (Some(time), Some(_)) = (it.next(), it.clone().next()) else {
        return plain;
    };
    let timestamp = time.len() == 12 && time.as_bytes()[2] == b':' && time.as_bytes()[8] == b'.';
    if !timestamp {
        return plain;
    }
    let rest = line[time.len()..].trim_start();
    let Some((level, rest)) = rest.split_once(' ') else {
        return plain;
    };
    let level = match level {
        "TRACE" => Level::Trace,
        "DEBUG" => Level::Debug,
        "INFO" => Level::Info,
        "WARN" => Level::Warn,
        "ERROR" | "FATAL" => Level::Error,
        _ => return plain,
    };
    let rest = rest.trim_start();
    match rest.split_once(": ") {
        Some((logger, message)) if !logger.contains(' ') => Line {
            level: Some(level),
            logger: Some(logger),
            message,
        },
        _ => Line {
            level: Some(level),
            logger: None,
            message: rest,
        },
    }
}

/// A fact about the run, learned from a log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// The driver's RPC endpoint is listening.
    DriverPort(u16),
    /// The web UI is listening (HTTP, or HTTPS when `tls`).
    Ui {
        /// The port.
        port: u16,
        /// Whether this is the HTTPS listener.
        tls: bool,
    },
    /// The application id Spark assigned.
    AppId(String),
    /// An executor registered with the driver (which requires passing authentication).
    ExecutorRegistered(String),
    /// An executor went away.
    ExecutorLost(String),
    /// The driver accepted an authenticated connection.
    AuthAccepted,
    /// The driver refused a connection that failed authentication.
    AuthRefused {
        /// The peer, as Spark printed it.
        peer: String,
    },
    /// A job finished.
    JobSucceeded(u32),
    /// A job failed.
    JobFailed(u32),
}

fn port_after(message: &str, marker: &str) -> Option<u16> {
    let rest = &message[message.find(marker)? + marker.len()..];
    rest.trim_end_matches('.').trim().parse().ok()
}

/// The fact a driver log line states, if any.
pub fn fact(line: &Line<'_>) -> Option<Fact> {
    let m = line.message;
    let logger = line.logger.unwrap_or("");
    if m.starts_with("Successfully started service 'sparkDriver' on port") {
        return port_after(m, " on port ").map(Fact::DriverPort);
    }
    if m.starts_with("Successfully started service 'SparkUI (HTTPS)' on port") {
        return port_after(m, " on port ").map(|port| Fact::Ui { port, tls: true });
    }
    if m.starts_with("Successfully started service 'SparkUI' on port") {
        return port_after(m, " on port ").map(|port| Fact::Ui { port, tls: false });
    }
    if let Some(rest) = m.strip_prefix("Connected to Spark cluster with app ID ") {
        return Some(Fact::AppId(rest.trim().to_owned()));
    }
    if m.starts_with("Registered executor ")
        && let Some(id) = m.rsplit_once(" with ID ").map(|(_, id)| id)
    {
        let id = id.split(',').next().unwrap_or(id).trim();
        return Some(Fact::ExecutorRegistered(id.to_owned()));
    }
    if let Some(rest) = m.strip_prefix("Lost executor ") {
        let id = rest.split_whitespace().next().unwrap_or("");
        return Some(Fact::ExecutorLost(id.to_owned()));
    }
    if logger.ends_with("AuthRpcHandler") {
        if let Some(rest) = m.strip_prefix("Authentication failed for client ") {
            let peer = rest
                .split([',', ' '])
                .next()
                .unwrap_or("")
                .trim_end_matches('.');
            return Some(Fact::AuthRefused {
                peer: peer.trim_start_matches('/').to_owned(),
            });
        }
        if m.starts_with("Authorization successful for client") {
            return Some(Fact::AuthAccepted);
        }
    }
    if let Some(rest) = m.strip_prefix("Job ")
        && let Some((id, tail)) = rest.split_once(' ')
        && let Ok(id) = id.parse()
    {
        if tail.starts_with("finished") {
            return Some(Fact::JobSucceeded(id));
        }
        if tail.starts_with("failed") {
            return Some(Fact::JobFailed(id));
        }
    }
    None
}

/// Whether a line is worth showing on the console by default: the application's own output,
/// warnings and errors, and (with `debug_auth`) Spark's authentication traces.
pub fn shown(line: &Line<'_>, debug_auth: bool) -> bool {
    // Executors log their normal end (the worker stops them) at ERROR.
    if line.message == "RECEIVED SIGNAL TERM" {
        return false;
    }
    match line.level {
        None => true,
        Some(l) if l >= Level::Warn => true,
        Some(_) if debug_auth => line.logger.is_some_and(|lg| {
            lg.starts_with("org.apache.spark.network.crypto")
                || lg.starts_with("org.apache.spark.network.sasl")
                || lg == "org.apache.spark.SecurityManager"
                || lg.ends_with("TransportClientFactory")
        }),
        Some(_) => false,
    }
}

/// Whether a line without a log4j prefix continues the previous record: a stack frame, a
/// `Caused by:`, or the `pkg.Exception: message` head of a stack trace.
pub fn is_continuation(line: &str) -> bool {
    if line.starts_with('\t') || line.starts_with("Caused by:") || line.starts_with("Suppressed:") {
        return true;
    }
    let head = line.split(": ").next().unwrap_or(line);
    let mut parts = head.split('.');
    let first = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    !rest.is_empty()
        && first.chars().all(|c| c.is_ascii_lowercase())
        && !first.is_empty()
        && rest.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
        && rest.last().is_some_and(|l| {
            l.ends_with("Exception") || l.ends_with("Error") || l.ends_with("Throwable")
        })
}

/// Console visibility of the lines of one stream, carrying a record's visibility over to its
/// stack trace.
#[derive(Debug, Default)]
pub struct Visibility {
    last: bool,
}

impl Visibility {
    /// Whether to show `line`. `loose` lines (neither log4j records nor continuations) are
    /// shown when `show_loose` (the driver's stderr carries Python tracebacks and JVM warnings;
    /// an executor's stderr only fragments).
    pub fn shown(&mut self, line: &Line<'_>, debug_auth: bool, show_loose: bool) -> bool {
        let shown = if line.level.is_some() {
            shown(line, debug_auth)
        } else if is_continuation(line.message) {
            self.last
        } else {
            return show_loose;
        };
        self.last = shown;
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f(text: &str) -> Option<Fact> {
        fact(&parse(text))
    }

    #[test]
    fn spark_lines_become_facts() {
        let cases = [
            (
                "12:00:01.100 INFO  org.apache.spark.util.Utils: Successfully started service 'sparkDriver' on port 40100.",
                Fact::DriverPort(40100),
            ),
            (
                "12:00:01.100 INFO  org.apache.spark.util.Utils: Successfully started service 'SparkUI (HTTPS)' on port 4440.",
                Fact::Ui {
                    port: 4440,
                    tls: true,
                },
            ),
            (
                "12:00:01.100 INFO  org.apache.spark.util.Utils: Successfully started service 'SparkUI' on port 4040.",
                Fact::Ui {
                    port: 4040,
                    tls: false,
                },
            ),
            (
                "12:00:02.000 INFO  org.apache.spark.scheduler.cluster.StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261130-0000",
                Fact::AppId("app-20261130-0000".into()),
            ),
            (
                "12:00:09.000 INFO  org.apache.spark.scheduler.cluster.StandaloneSchedulerBackend$StandaloneDriverEndpoint: Registered executor NettyRpcEndpointRef(spark-client://Executor) (127.0.0.1:35122) with ID 1,  ResourceProfileId 0",
                Fact::ExecutorRegistered("1".into()),
            ),
            (
                "12:00:09.000 DEBUG org.apache.spark.network.crypto.AuthRpcHandler: Authentication failed for client /127.0.0.1:52644, closing channel.",
                Fact::AuthRefused {
                    peer: "127.0.0.1:52644".into(),
                },
            ),
            (
                "12:00:09.000 DEBUG org.apache.spark.network.crypto.AuthRpcHandler: Authorization successful for client /127.0.0.1:47718.",
                Fact::AuthAccepted,
            ),
            (
                "12:00:12.000 INFO  org.apache.spark.scheduler.DAGScheduler: Job 0 finished: count at X.java:10, took 1.2 s",
                Fact::JobSucceeded(0),
            ),
            (
                "12:00:12.000 INFO  org.apache.spark.scheduler.DAGScheduler: Job 3 failed: count at X.java:10, took 1.2 s",
                Fact::JobFailed(3),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(f(line), Some(want), "{line}");
        }
        assert_eq!(f("Pi is roughly 3.14"), None);
        // Only the auth handler's own line counts as a refusal.
        assert_eq!(
            f("12:00:09.000 INFO  some.Other: Authentication failed for client /1.2.3.4:5"),
            None
        );
    }

    #[test]
    fn what_the_console_shows() {
        let app = parse("Pi is roughly 3.14");
        let info =
            parse("12:00:01.100 INFO  org.apache.spark.SparkContext: Running Spark version 4.3.0");
        let warn = parse("12:00:01.100 WARN  org.apache.spark.SparkContext: careful");
        let auth = parse(
            "12:00:01.100 DEBUG org.apache.spark.network.crypto.AuthRpcHandler: Received new auth challenge",
        );
        assert!(shown(&app, false) && shown(&warn, false));
        assert!(!shown(&info, false) && !shown(&auth, false));
        assert!(shown(&auth, true) && !shown(&info, true));
        assert_eq!(info.logger, Some("org.apache.spark.SparkContext"));
        assert_eq!(info.level, Some(Level::Info));
    }

    #[test]
    fn stack_traces_follow_their_record() {
        for l in [
            "\tat org.apache.spark.network.X.y(X.java:1)",
            "Caused by: java.io.IOException: boom",
            "java.lang.IllegalArgumentException: Authentication failed.",
            "org.apache.spark.SparkException: Exception thrown in awaitResult:",
        ] {
            assert!(is_continuation(l), "{l}");
        }
        for l in [
            "Pi is roughly 3.14",
            "Traceback (most recent call last):",
            "  File \"x.py\"",
            "es result sent to driver",
            "a.b",
        ] {
            assert!(!is_continuation(l), "{l}");
        }
        let mut v = Visibility::default();
        let info = parse("12:00:01.100 INFO  org.apache.spark.X: hidden");
        let warn = parse("12:00:01.100 WARN  org.apache.spark.X: shown");
        let frame = parse("\tat a.b.C.d(C.java:1)");
        let loose = parse("Traceback (most recent call last):");
        assert!(!v.shown(&info, false, true) && !v.shown(&frame, false, true));
        assert!(v.shown(&warn, false, true) && v.shown(&frame, false, true));
        assert!(v.shown(&loose, false, true) && !v.shown(&loose, false, false));
    }

    proptest! {
        #[test]
        fn any_line_parses_without_panicking(line in ".{0,200}") {
            let parsed = parse(&line);
            let _ = fact(&parsed);
            let _ = shown(&parsed, true);
        }
    }
}
