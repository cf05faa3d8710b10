//! `sparkop audit`: run the probes or checks, render the findings, pick the exit status.

use std::io::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::Context as _;
use sparkop_api::Severity;
use sparkop_api::manifest::{self, LoadOptions};
use sparkop_audit::rpc::{RpcAuditOptions, audit_rpc};
use sparkop_audit::{Finding, report};
use zeroize::Zeroizing;

use crate::cli::{
    AuditAppArgs, AuditManifestArgs, AuditOutput, AuditOutputArgs, AuditRpcArgs, AuditUiArgs,
    FailOn,
};

const DOCS: &str = "docs/audit.md";

/// `audit rpc`.
pub fn rpc(args: &AuditRpcArgs) -> anyhow::Result<i32> {
    let addrs = args
        .endpoints
        .iter()
        .map(|e| {
            e.to_socket_addrs()
                .with_context(|| format!("cannot resolve {e:?} (expected HOST:PORT)"))?
                .next()
                .with_context(|| format!("{e:?} resolves to no address"))
        })
        .collect::<anyhow::Result<Vec<SocketAddr>>>()?;
    let read = |path: &std::path::Path| -> anyhow::Result<Zeroizing<Vec<u8>>> {
        Ok(Zeroizing::new(std::fs::read(path).with_context(|| {
            format!("cannot read the secret file {}", path.display())
        })?))
    };
    let secret = match (&args.secret_file, &args.spark_secret_file) {
        (Some(path), _) => {
            let bytes = read(path)?;
            let trimmed: &[u8] = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
            Some(Zeroizing::new(trimmed.to_vec()))
        }
        (None, Some(path)) => Some(spark_wire::auth::secret_of_spark_file(&read(path)?)),
        (None, None) => None,
    };
    let opts = RpcAuditOptions {
        secret,
        app_id: args.app_id.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let runtime = crate::rt::runtime()?;
    let findings = runtime.block_on(async {
        let mut all = Vec::new();
        for addr in addrs {
            all.extend(audit_rpc(addr, &opts).await);
        }
        all
    });
    emit(&findings, &args.out, None)
}

/// `audit ui`.
pub fn ui(args: &AuditUiArgs) -> anyhow::Result<i32> {
    let target = sparkop_audit::ui::UiTarget::parse(&args.url).map_err(anyhow::Error::msg)?;
    let ca_pem = match &args.ca {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?),
        None => None,
    };
    let opts = sparkop_audit::ui::UiAuditOptions {
        ca_pem,
        allow_tls12: args.allow_tls12,
        http_port: args.http_port,
        rest_port: (!args.no_rest).then_some(args.rest_port),
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..Default::default()
    };
    let runtime = crate::rt::runtime()?;
    let findings = runtime.block_on(sparkop_audit::ui::audit_ui(&target, &opts));
    emit(&findings, &args.out, None)
}

/// `audit app`: every RPC endpoint of the application (the driver's RpcEnv and block manager,
/// each running executor's block manager) and the driver's UI, through port-forwards, with the
/// application's own secret and CA. Findings name the pod and its port, not the local forward.
pub fn app(args: &AuditAppArgs) -> anyhow::Result<i32> {
    let runtime = crate::rt::runtime()?;
    let findings = runtime.block_on(async {
        let client = crate::cluster::client().await?;
        let driver =
            crate::cluster::driver::find(client, args.app.namespace.as_deref(), &args.app.name).await?;
        let timeout = Duration::from_secs(args.timeout.max(1));
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut findings = Vec::new();
        let label = |port: u16| format!("pod/{}:{port}", driver.pod);
        let relabel = |found: Vec<Finding>, local: SocketAddr, port: u16| {
            found.into_iter().map(move |mut f| {
                f.target = f.target.replace(&local.to_string(), &label(port));
                f
            })
        };
        let Some(rpc_port) = driver.rpc_port else {
            anyhow::bail!(
                "the driver pod {} declares no driver-rpc-port; is it a sparkop driver?",
                driver.pod
            );
        };
        let grace = Duration::from_secs(2);
        let opts = RpcAuditOptions {
            secret: driver.rpc_secret().await?,
            timeout,
            ..Default::default()
        };
        // The driver's RpcEnv and block manager through port-forwards (it binds every
        // address of its pod)...
        let mut ports = vec![rpc_port];
        ports.extend(driver.block_port);
        for port in ports {
            let target = label(port);
            match crate::cluster::port_forward::probe(&driver.pods, &driver.pod, port, grace).await {
                Ok(()) => {
                    let fwd = crate::cluster::port_forward::start(
                        driver.pods.clone(),
                        &driver.pod,
                        port,
                        loopback,
                    )
                    .await?;
                    findings.extend(relabel(audit_rpc(fwd.local, &opts).await, fwd.local, port));
                }
                Err(why) => findings.push(unreachable(
                    sparkop_audit::rpc::ids::UNREACHABLE,
                    &target,
                    why,
                )),
            }
        }
        // ... and every running executor's block manager from a probe pod inside the cluster
        // (an executor binds only its pod IP, which no port-forward reaches).
        let executors = driver.executors().await?;
        let mut endpoints = Vec::new();
        let mut names = Vec::new();
        for e in &executors {
            match (&e.ip, e.block_port) {
                (Some(ip), Some(port)) => {
                    endpoints.push(format!("{ip}:{port}"));
                    names.push(format!("pod/{}:{port}", e.pod));
                }
                _ => findings.push(unreachable(
                    sparkop_audit::rpc::ids::UNREACHABLE,
                    &format!("pod/{}", e.pod),
                    "the executor pod has no IP or declares no blockmanager port".into(),
                )),
            }
        }
        if !endpoints.is_empty() {
            let probe_name = format!("{}-sparkop-audit-{}", args.app.name, random_suffix());
            let probe = crate::cluster::probe_pod::Probe {
                name: &probe_name,
                namespace: &driver.namespace,
                image: &args.probe_image,
                app_selector: driver.app_selector.as_deref().unwrap_or_default(),
                auth: driver.auth.as_ref(),
                endpoints: &endpoints,
                timeout: timeout.as_secs(),
            };
            match crate::cluster::probe_pod::run(&driver.pods, &probe).await {
                Ok(found) => findings.extend(found.into_iter().map(|mut f| {
                    for (endpoint, name) in endpoints.iter().zip(&names) {
                        f.target = f.target.replace(endpoint, name);
                    }
                    f
                })),
                Err(why) => findings.push(
                    unreachable(
                        sparkop_audit::rpc::ids::UNREACHABLE,
                        &names.join(", "),
                        format!("{why:#}"),
                    )
                    .fix("the executors are audited from a pod of the sparkop image in the application's namespace: make the image available there (--probe-image) and allow creating pods and reading their logs"),
                ),
            }
        }
        let ui = match (driver.ui_https_port, driver.ui_http_port) {
            (Some(p), _) => Some((p, true)),
            (None, Some(p)) => Some((p, false)),
            (None, None) => None,
        };
        let ui = match ui {
            Some((port, https)) => {
                match crate::cluster::port_forward::probe(&driver.pods, &driver.pod, port, grace).await {
                    Ok(()) => Some((port, https)),
                    Err(why) => {
                        findings.push(unreachable(
                            sparkop_audit::ui::ids::UNREACHABLE,
                            &label(port),
                            why,
                        ));
                        None
                    }
                }
            }
            None => None,
        };
        if let Some((port, https)) = ui {
            let fwd = crate::cluster::port_forward::start(driver.pods.clone(), &driver.pod, port, loopback)
                .await?;
            let http = match (https, driver.ui_http_port) {
                (true, Some(p)) => {
                    match crate::cluster::port_forward::probe(&driver.pods, &driver.pod, p, grace).await {
                        Ok(()) => Some(
                            crate::cluster::port_forward::start(
                                driver.pods.clone(),
                                &driver.pod,
                                p,
                                loopback,
                            )
                            .await?,
                        ),
                        Err(why) => {
                            findings.push(unreachable(
                                sparkop_audit::ui::ids::UNREACHABLE,
                                &label(p),
                                why,
                            ));
                            None
                        }
                    }
                }
                _ => None,
            };
            let target = sparkop_audit::ui::UiTarget {
                host: "127.0.0.1".into(),
                port: fwd.local.port(),
                https,
                server_name: driver.ui_host(),
            };
            let opts = sparkop_audit::ui::UiAuditOptions {
                ca_pem: driver.ui_ca().await?,
                allow_tls12: driver.allow_tls12,
                http_port: http.as_ref().map(|h| h.local.port()),
                // A driver in a pod runs no standalone master.
                rest_port: None,
                timeout,
                ..Default::default()
            };
            let mut found: Vec<Finding> = relabel(
                sparkop_audit::ui::audit_ui(&target, &opts).await,
                fwd.local,
                port,
            )
            .collect();
            if let (Some(h), Some(p)) = (&http, driver.ui_http_port) {
                found = relabel(found, h.local, p).collect();
            }
            findings.extend(found);
        }
        anyhow::Ok(findings)
    })?;
    emit(&findings, &args.out, None)
}

/// Six random hex digits (probe pod names).
fn random_suffix() -> String {
    let mut b = [0u8; 3];
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

/// A driver port the kubelet could not forward to.
fn unreachable(id: &'static str, target: &str, why: String) -> Finding {
    Finding::new(
        id,
        Severity::Error,
        target,
        "the port cannot be reached through a port-forward",
        why,
    )
    .fix("check that the driver is running and serving this port (`sparkop logs NAME`)")
}

/// `audit manifest`.
pub fn manifest(args: &AuditManifestArgs) -> anyhow::Result<i32> {
    let mut findings = Vec::new();
    for path in crate::lint::expand(&args.files)? {
        let name = path.display().to_string();
        let bytes =
            Zeroizing::new(std::fs::read(&path).with_context(|| format!("cannot read {name}"))?);
        let loaded = manifest::load_bytes(&name, &bytes, LoadOptions::default());
        findings.extend(sparkop_audit::manifest::audit_loaded(&name, &loaded));
    }
    let score = sparkop_audit::manifest::score(&findings);
    emit(&findings, &args.out, Some(score))
}

fn emit(findings: &[Finding], out: &AuditOutputArgs, score: Option<u32>) -> anyhow::Result<i32> {
    let mut stdout = anstream::stdout().lock();
    match out.output {
        AuditOutput::Table => {
            write!(stdout, "{}", report::table(findings))?;
            if let Some(s) = score {
                writeln!(stdout, "score: {s}/100")?;
            }
        }
        AuditOutput::Json => {
            let mut v = report::json(findings);
            if let Some(s) = score {
                v["score"] = s.into();
            }
            writeln!(stdout, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        AuditOutput::Sarif => writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&report::sarif(findings, DOCS))?
        )?,
    }
    let threshold = match out.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    Ok(match (threshold, report::worst(findings)) {
        (Some(t), Some(w)) if w >= t => crate::exit::FAILED,
        _ => crate::exit::OK,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn spark_secret_files_are_base64_of_their_bytes_including_newlines() {
        assert_eq!(
            &*spark_wire::auth::secret_of_spark_file(b"abc\n"),
            b"YWJjCg=="
        );
    }
}
