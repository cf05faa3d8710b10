//! How Spark logs under sparkop: one log4j2 configuration for both backends, so a pod's log
//! and a local run's show the same records (refused and accepted peers among them).

/// `log4j2.properties` for a driver and its executors (a local run's conf dir, a driver pod's
/// ConfigMap): INFO to stderr in the pattern sparkop-local's log reader parses; the server
/// side of RPC authentication always at DEBUG (it is the only place Spark says that a peer was
/// refused, or that an executor authenticated), and with `debug_auth` all of Spark's
/// authentication and transport logs.
pub fn log4j_config(debug_auth: bool) -> String {
    let mut text = String::from(
        "# Written by sparkop.\n\
         rootLogger.level = info\n\
         rootLogger.appenderRef.stderr.ref = console\n\
         appender.console.type = Console\n\
         appender.console.name = console\n\
         appender.console.target = SYSTEM_ERR\n\
         appender.console.layout.type = PatternLayout\n\
         appender.console.layout.pattern = %d{HH:mm:ss.SSS} %-5p %c: %m%n%ex\n\
         logger.authserver.name = org.apache.spark.network.crypto.AuthRpcHandler\n\
         logger.authserver.level = debug\n\
         logger.jetty.name = org.sparkproject.jetty\n\
         logger.jetty.level = warn\n\
         logger.hadoop.name = org.apache.hadoop.util.NativeCodeLoader\n\
         logger.hadoop.level = error\n",
    );
    if debug_auth {
        for (id, name) in [
            ("crypto", "org.apache.spark.network.crypto"),
            ("sasl", "org.apache.spark.network.sasl"),
            ("secmgr", "org.apache.spark.SecurityManager"),
            (
                "clientfactory",
                "org.apache.spark.network.client.TransportClientFactory",
            ),
            ("server", "org.apache.spark.network.server.TransportServer"),
        ] {
            text.push_str(&format!(
                "logger.{id}.name = {name}\nlogger.{id}.level = debug\n"
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log4j_keeps_refusals_visible_and_debug_auth_adds_the_rest() {
        let base = log4j_config(false);
        assert!(base.contains(
            "org.apache.spark.network.crypto.AuthRpcHandler\nlogger.authserver.level = debug"
        ));
        assert!(!base.contains("org.apache.spark.network.sasl"));
        assert!(log4j_config(true).contains("logger.sasl.level = debug"));
    }
}
