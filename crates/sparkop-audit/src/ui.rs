//! `audit ui`: what Spark's web UI really accepts — TLS versions and suite, whether the
//! certificate verifies against a CA and for how long, whether the plain-HTTP port only
//! redirects, and whether a standalone master's REST submission server is open.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sparkop_api::Severity;

use crate::Finding;
use crate::tls::{self, Offer, TlsProbeError};

/// Finding ids of `audit ui` (explained in docs/audit.md).
pub mod ids {
    /// The UI serves content over plain HTTP (no TLS).
    pub const PLAIN_HTTP: &str = "SPK-AUD-UI-001";
    /// TLS 1.2 is accepted although TLS 1.3 only is intended.
    pub const TLS12_ACCEPTED: &str = "SPK-AUD-UI-002";
    /// The negotiated TLS version and suite (and that TLS 1.2 is refused).
    pub const TLS_FACTS: &str = "SPK-AUD-UI-003";
    /// The certificate does not verify against the CA (chain, host name or dates).
    pub const CERT_REJECTED: &str = "SPK-AUD-UI-004";
    /// The certificate was not verified (no CA given).
    pub const CERT_NOT_CHECKED: &str = "SPK-AUD-UI-005";
    /// The certificate expires soon.
    pub const CERT_EXPIRING: &str = "SPK-AUD-UI-006";
    /// The HTTP port serves content instead of redirecting to HTTPS.
    pub const HTTP_SERVES_CONTENT: &str = "SPK-AUD-UI-007";
    /// The HTTP port only redirects to HTTPS.
    pub const HTTP_REDIRECTS: &str = "SPK-AUD-UI-008";
    /// A standalone REST submission server answers without authentication.
    pub const REST_OPEN: &str = "SPK-AUD-UI-009";
    /// The UI could not be reached or the TLS handshake failed.
    pub const UNREACHABLE: &str = "SPK-AUD-UI-010";
    /// Every id.
    pub const ALL: &[&str] = &[
        PLAIN_HTTP,
        TLS12_ACCEPTED,
        TLS_FACTS,
        CERT_REJECTED,
        CERT_NOT_CHECKED,
        CERT_EXPIRING,
        HTTP_SERVES_CONTENT,
        HTTP_REDIRECTS,
        REST_OPEN,
        UNREACHABLE,
    ];
}

/// The UI endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiTarget {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `https://`.
    pub https: bool,
    /// The name the certificate must carry when it is not `host` (a UI reached through a
    /// port-forward on loopback); `None`: `host`.
    pub server_name: Option<String>,
}

impl UiTarget {
    /// Parses `http(s)://HOST[:PORT][/…]` (default ports 4440 for https, 4040 for http).
    pub fn parse(url: &str) -> Result<UiTarget, String> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("{url:?}: expected an http:// or https:// URL"));
        };
        let authority = rest.split('/').next().unwrap_or("");
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h.trim_start_matches('[').trim_end_matches(']'),
                p.parse::<u16>()
                    .map_err(|_| format!("{url:?}: bad port {p:?}"))?,
            ),
            _ => (authority, if https { 4440 } else { 4040 }),
        };
        if host.is_empty() {
            return Err(format!("{url:?}: no host"));
        }
        Ok(UiTarget {
            host: host.to_owned(),
            port,
            https,
            server_name: None,
        })
    }
}

/// What the UI audit checks.
#[derive(Clone, Debug)]
pub struct UiAuditOptions {
    /// CA certificate(s), PEM, to verify the UI's certificate against.
    pub ca_pem: Option<Vec<u8>>,
    /// Whether TLS 1.2 is acceptable (otherwise TLS 1.3 only is expected).
    pub allow_tls12: bool,
    /// The plain-HTTP port to check (default: the HTTPS port − 400, Spark's layout).
    pub http_port: Option<u16>,
    /// The standalone REST submission port to check (`None`: skip).
    pub rest_port: Option<u16>,
    /// Warn when the certificate expires within this many days.
    pub expiry_warning_days: u32,
    /// Time allowed per probe.
    pub timeout: Duration,
}

impl Default for UiAuditOptions {
    fn default() -> Self {
        UiAuditOptions {
            ca_pem: None,
            allow_tls12: false,
            http_port: None,
            rest_port: Some(6066),
            expiry_warning_days: 14,
            timeout: Duration::from_secs(5),
        }
    }
}

const FIX_TLS: &str = "set spec.security.ui.tls.enabled: true (sparkop's default), or in sparkConf \
     spark.ssl.enabled=true with a PKCS12 spark.ssl.keyStore";
const FIX_TLS13: &str = "set spec.security.ui.tls.minVersion: \"1.3\" (sparkop's default), or \
     spark.ssl.enabledAlgorithms=TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256 \
     (spark.ssl.protocol=TLSv1.3 alone still accepts TLS 1.2)";

/// Audits the UI at `target`.
pub async fn audit_ui(target: &UiTarget, o: &UiAuditOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    let name = format!("{}:{}", target.host, target.port);
    if target.https {
        audit_tls(target, &name, o, &mut out).await;
        let http = o.http_port.or_else(|| target.port.checked_sub(400));
        if let Some(port) = http {
            audit_http_port(&target.host, port, o, &mut out).await;
        }
    } else {
        match tls::http_get_root(&target.host, target.port, o.timeout).await {
            Ok(a) if a.redirects_to_https() => out.push(Finding::new(
                ids::HTTP_REDIRECTS,
                Severity::Info,
                &name,
                "the HTTP port only redirects to HTTPS; audit the HTTPS URL for the TLS facts",
                format!(
                    "GET / -> {} Location: {}",
                    a.status,
                    a.location.unwrap_or_default()
                ),
            )),
            Ok(a) => out.push(
                Finding::new(
                    ids::PLAIN_HTTP,
                    Severity::Error,
                    &name,
                    "the web UI is served over plain HTTP: job details, environment and logs \
                     travel unencrypted",
                    format!(
                        "GET / -> {} with {} bytes of content, no TLS",
                        a.status, a.body_len
                    ),
                )
                .fix(FIX_TLS),
            ),
            Err(e) => out.push(unreachable(&name, &e)),
        }
    }
    if let Some(port) = o.rest_port {
        audit_rest(&target.host, port, o, &mut out).await;
    }
    out
}

fn unreachable(name: &str, e: &TlsProbeError) -> Finding {
    Finding::new(
        ids::UNREACHABLE,
        Severity::Error,
        name,
        "the UI could not be audited",
        e.to_string(),
    )
}

async fn audit_tls(target: &UiTarget, name: &str, o: &UiAuditOptions, out: &mut Vec<Finding>) {
    let any = tls::handshake(&target.host, target.port, None, Offer::Any, o.timeout).await;
    let negotiated = match any {
        Ok(n) => n,
        Err(e) => {
            out.push(unreachable(name, &e));
            return;
        }
    };
    let tls12 = tls::handshake(&target.host, target.port, None, Offer::Tls12Only, o.timeout).await;
    let facts = format!(
        "offered TLS 1.2+1.3: {} {}; offered only TLS 1.2: {}",
        negotiated.version,
        negotiated.suite,
        match &tls12 {
            Ok(n) => format!("accepted ({})", n.suite),
            Err(_) => "refused".into(),
        }
    );
    match (&tls12, o.allow_tls12) {
        (Ok(_), false) => out.push(
            Finding::new(
                ids::TLS12_ACCEPTED,
                Severity::Warning,
                name,
                "TLS 1.2 is accepted although TLS 1.3 only is intended",
                facts.clone(),
            )
            .fix(FIX_TLS13),
        ),
        _ => out.push(Finding::new(
            ids::TLS_FACTS,
            Severity::Info,
            name,
            if tls12.is_err() {
                "TLS 1.3 only: a client offering only TLS 1.2 is refused"
            } else {
                "TLS 1.2 and 1.3 accepted (allowed by --allow-tls12)"
            },
            facts.clone(),
        )),
    }

    match &o.ca_pem {
        Some(ca) => {
            let server_name = target.server_name.as_deref().unwrap_or(&target.host);
            match tls::handshake_named(
                &target.host,
                target.port,
                server_name,
                Some(ca),
                Offer::Any,
                o.timeout,
            )
            .await
            {
                Ok(_) => {}
                Err(e) => out.push(
                    Finding::new(
                        ids::CERT_REJECTED,
                        Severity::Error,
                        name,
                        format!(
                            "the certificate does not verify against the given CA for {server_name:?}"
                        ),
                        e.to_string(),
                    )
                    .fix(
                        "serve a certificate signed by that CA whose names include the host \
                          (sparkop keystore create NAME --host HOST), or audit with the right --ca",
                    ),
                ),
            }
        }
        None => out.push(Finding::new(
            ids::CERT_NOT_CHECKED,
            Severity::Info,
            name,
            "the certificate chain was not verified: pass --ca FILE to check it",
            "handshake with verification disabled",
        )),
    }
    if let Some(end) = negotiated.not_after {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let days = (end - now).div_euclid(86_400);
        if days < i64::from(o.expiry_warning_days) {
            let expired = end <= now;
            out.push(
                Finding::new(
                    ids::CERT_EXPIRING,
                    if expired {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    name,
                    if expired {
                        "the certificate has expired".to_owned()
                    } else {
                        format!("the certificate expires in {days} day(s)")
                    },
                    format!("notAfter = {end} (Unix seconds)"),
                )
                .fix("renew the keystore (sparkop keystore create) and restart the application"),
            );
        }
    }
}

async fn audit_http_port(host: &str, port: u16, o: &UiAuditOptions, out: &mut Vec<Finding>) {
    let name = format!("{host}:{port}");
    match tls::http_get_root(host, port, o.timeout).await {
        Ok(a) if a.redirects_to_https() => out.push(Finding::new(
            ids::HTTP_REDIRECTS,
            Severity::Info,
            &name,
            "the HTTP port only redirects to HTTPS",
            format!(
                "GET / -> {} Location: {}",
                a.status,
                a.location.unwrap_or_default()
            ),
        )),
        Ok(a) if a.status != 0 => out.push(
            Finding::new(
                ids::HTTP_SERVES_CONTENT,
                Severity::Error,
                &name,
                "the HTTP port serves content instead of redirecting to HTTPS",
                format!("GET / -> {} with {} bytes", a.status, a.body_len),
            )
            .fix(FIX_TLS),
        ),
        // Closed or not HTTP: nothing is served in cleartext there.
        _ => {}
    }
}

async fn audit_rest(host: &str, port: u16, o: &UiAuditOptions, out: &mut Vec<Finding>) {
    let path = "/v1/submissions/status/sparkop-audit-probe";
    if let Ok((a, body)) = tls::http_get(host, port, path, o.timeout).await
        && body.contains("serverSparkVersion")
    {
        out.push(
            Finding::new(
                ids::REST_OPEN,
                Severity::Error,
                &format!("{host}:{port}"),
                "a standalone REST submission server answers without authentication: anyone who \
                 reaches it can submit applications (even with spark.authenticate=true)",
                format!("GET {path} -> {} with a Spark REST response", a.status),
            )
            .fix(
                "set spark.master.rest.enabled=false on the standalone master (sparkop's local \
                  runner does)",
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_spark_default_ports() {
        let t = UiTarget::parse("https://127.0.0.1:4440/jobs/").expect("url");
        assert_eq!(
            (t.host.as_str(), t.port, t.https),
            ("127.0.0.1", 4440, true)
        );
        let t = UiTarget::parse("http://localhost").expect("url");
        assert_eq!((t.port, t.https), (4040, false));
        let t = UiTarget::parse("https://[::1]:8443").expect("url");
        assert_eq!((t.host.as_str(), t.port), ("::1", 8443));
        assert!(UiTarget::parse("ftp://x").is_err());
        assert!(UiTarget::parse("https://:4440").is_err());
        assert!(UiTarget::parse("https://h:99999").is_err());
    }

    #[test]
    fn every_id_is_documented() {
        crate::finding::assert_documented(ids::ALL);
    }
}
