//! `sparkop run`: load the manifest and its Secrets, plan, make sure Java and Spark are there,
//! run with a live status line, and end with a summary of what the run proved.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anstyle::{AnsiColor, Style};
use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use sparkop_api::Severity;
use sparkop_api::manifest::{Object, SecretObject};
use sparkop_core::plan::{UiTlsPlan, secrets};
use sparkop_core::posture::Cipher;
use sparkop_core::spark_log::Fact;
use sparkop_local::run::{self, Event, Outcome, Role};
use tokio::sync::{mpsc, watch};

use crate::cli::RunArgs;
use crate::lint::load_checked;

/// Runs `sparkop run`.
pub fn run(args: &RunArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let mut paths: Vec<&Path> = vec![args.file.as_path()];
    paths.extend(args.secrets.iter().map(PathBuf::as_path));
    let sources = load_checked(&paths, "nothing was started")?;
    let mut apps = Vec::new();
    let mut secret_objects: Vec<&SecretObject> = Vec::new();
    for src in &sources {
        for doc in &src.loaded.documents {
            match &doc.object {
                Object::SparkApplication(a) if src.name == sources[0].name => apps.push(a),
                Object::Secret(s) => secret_objects.push(s),
                _ => {}
            }
        }
    }
    let app = match (&args.name, apps.as_slice()) {
        (_, []) => bail!("{} holds no SparkApplication", args.file.display()),
        (None, [one]) => *one,
        (None, many) => bail!(
            "{} holds {} SparkApplications ({}); choose one with --name",
            args.file.display(),
            many.len(),
            many.iter()
                .filter_map(|a| a.metadata.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (Some(name), all) => all
            .iter()
            .find(|a| a.metadata.name.as_deref() == Some(name))
            .copied()
            .with_context(|| {
                format!(
                    "no SparkApplication named {name:?} in {}",
                    args.file.display()
                )
            })?,
    };
    let plan = sparkop_core::plan(app).context("cannot plan the application")?;
    let secrets_owned: Vec<SecretObject> = secret_objects.into_iter().map(clone_secret).collect();
    let resolved = match secrets::resolve(&plan, &secrets_owned) {
        Ok(r) => r,
        Err(errs) => {
            let list: Vec<String> = errs.iter().map(|e| format!("  - {e}")).collect();
            bail!(
                "the application needs Secrets that were not given:\n{}",
                list.join("\n")
            );
        }
    };

    let java = sparkop_local::java::detect()?;
    let spark = crate::spark_cmd::ensure(args.spark_home.as_deref(), &app.spec.spark_version)?;
    let base_dir = args
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    let options = run::Options {
        run_base: sparkop_local::install::cache_dir().join("runs"),
        run_dir: args.run_dir.clone(),
        debug_auth: args.debug_auth,
        mounts: args.mounts.clone(),
        base_dir: std::fs::canonicalize(&base_dir).unwrap_or(base_dir),
    };
    let prepared = run::prepare(plan, &resolved, &spark, &java, &options)?;
    drop(resolved);
    drop(secrets_owned);
    let setup = started.elapsed();

    let runtime = crate::rt::runtime()?;
    let (outcome, seen) = runtime.block_on(watch_run(&prepared, &spark.version, args))?;
    let teardown_start = Instant::now();
    let run_dir = prepared.run_dir.root().to_owned();
    let plan = prepared.plan.clone();
    drop(prepared); // removes secrets/
    let secrets_removed = !run_dir.join("secrets").exists();
    summary(&plan, &outcome, &seen, &run_dir, secrets_removed)?;
    if args.timings {
        let teardown = teardown_start.elapsed();
        eprintln!(
            "{{\"setup_ms\":{:.1},\"spark_ms\":{:.1},\"teardown_ms\":{:.1},\"overhead_ms\":{:.1}}}",
            ms(setup),
            ms(outcome.duration),
            ms(teardown),
            ms(setup + teardown)
        );
    }
    let audit_failed = seen
        .audit
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f.severity == Severity::Error));
    Ok(if outcome.succeeded() && !audit_failed {
        crate::exit::OK
    } else if outcome.interrupted {
        crate::exit::INTERRUPTED
    } else {
        crate::exit::FAILED
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn clone_secret(s: &SecretObject) -> SecretObject {
    SecretObject {
        name: s.name.clone(),
        namespace: s.namespace.clone(),
        r#type: s.r#type.clone(),
        data: s
            .data
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    sparkop_api::manifest::SecretValue::new(v.expose().to_vec()),
                )
            })
            .collect(),
    }
}

/// What the run showed, for the status line and the summary.
#[derive(Default, Debug)]
struct Seen {
    app_id: Option<String>,
    driver_port: Option<u16>,
    ui_http: Option<u16>,
    ui_https: Option<u16>,
    executors: std::collections::BTreeSet<String>,
    lost: usize,
    auth_accepted: usize,
    refused: Vec<String>,
    ui_tls: Option<Result<sparkop_audit::tls::Negotiated, String>>,
    jobs_ok: usize,
    jobs_failed: usize,
    /// sparkop's own audit probes are connecting (their refusals are expected).
    auditing: bool,
    probe_refusals: usize,
    audit: Option<Vec<sparkop_audit::Finding>>,
    /// Hiding the driver's error record (and its stack trace) about sparkop's own probe RPC.
    hiding_probe_error: bool,
}

fn prefix(role: &Role) -> (String, Style) {
    match role {
        Role::Driver => (
            "driver".into(),
            Style::new().fg_color(Some(AnsiColor::Cyan.into())),
        ),
        Role::Executor(id) => (
            format!("exec {id}"),
            Style::new().fg_color(Some(AnsiColor::Magenta.into())),
        ),
    }
}

async fn watch_run(
    prepared: &run::Prepared,
    version: &str,
    args: &RunArgs,
) -> anyhow::Result<(Outcome, Seen)> {
    let plan = &prepared.plan;
    let expected = plan.executor_instances.max(1);
    let mut err = anstream::stderr();
    writeln!(
        err,
        "sparkop: running {} with Spark {version} ({}, driver and executors on 127.0.0.1)\n\
         sparkop: run dir {}",
        plan.name,
        prepared.submit.master,
        prepared.run_dir.root().display()
    )?;

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        crate::rt::shutdown_signal().await;
        let _ = stop_tx.send(true);
    });

    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(150));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (probe_tx, mut probe_rx) = mpsc::unbounded_channel();
    let (audit_tx, mut audit_rx) = mpsc::unbounded_channel::<Vec<sparkop_audit::Finding>>();
    let mut audit_started = false;
    let exec = run::execute(prepared, tx, stop_rx);
    tokio::pin!(exec);
    let mut seen = Seen::default();
    let mut state = "STARTING";
    let ca = prepared.ui_ca.clone();
    let status = |seen: &Seen, state: &str| {
        let mut s = format!("{state} · executors {}/{expected}", seen.executors.len());
        if let Some(p) = seen.ui_https.or(seen.ui_http) {
            let scheme = if seen.ui_https.is_some() {
                "https"
            } else {
                "http"
            };
            s.push_str(&format!(" · UI {scheme}://127.0.0.1:{p}"));
        }
        s
    };
    bar.set_message(status(&seen, state));
    let outcome = loop {
        tokio::select! {
            out = &mut exec => break out?,
            Some(ev) = rx.recv() => {
                handle(&ev, &mut seen, &bar, args, &probe_tx, ca.as_deref());
                if seen.app_id.is_some() && state == "STARTING" {
                    state = "RUNNING";
                    if bar.is_hidden() {
                        eprintln!("sparkop: {}", status(&seen, state));
                    }
                }
                bar.set_message(status(&seen, state));
            }
            Some(res) = probe_rx.recv() => seen.ui_tls = Some(res),
            Some(findings) = audit_rx.recv() => {
                bar.suspend(|| {
                    let _ = write!(
                        anstream::stderr(),
                        "sparkop: audit of the running application:\n{}",
                        sparkop_audit::report::table(&findings)
                    );
                });
                seen.auditing = false;
                seen.audit = Some(findings);
            }
        }
        let ready = seen.driver_port.is_some()
            && seen.executors.len() >= expected as usize
            && (plan.ui.is_none() || seen.ui_https.or(seen.ui_http).is_some());
        if args.audit && !audit_started && ready {
            audit_started = true;
            seen.auditing = true;
            spawn_audit(prepared, &seen, audit_tx.clone());
        }
    };
    while let Ok(ev) = rx.try_recv() {
        handle(&ev, &mut seen, &bar, args, &probe_tx, ca.as_deref());
    }
    while let Ok(res) = probe_rx.try_recv() {
        seen.ui_tls = Some(res);
    }
    if audit_started && seen.audit.is_none() {
        // The application ended while the audit ran; its result is still worth reporting.
        if let Ok(Some(findings)) =
            tokio::time::timeout(Duration::from_secs(30), audit_rx.recv()).await
        {
            let _ = write!(
                anstream::stderr(),
                "sparkop: audit of the running application:\n{}",
                sparkop_audit::report::table(&findings)
            );
            seen.audit = Some(findings);
        }
    }
    bar.finish_and_clear();
    Ok((outcome, seen))
}

fn handle(
    ev: &Event,
    seen: &mut Seen,
    bar: &ProgressBar,
    args: &RunArgs,
    probe_tx: &mpsc::UnboundedSender<Result<sparkop_audit::tls::Negotiated, String>>,
    ca: Option<&Path>,
) {
    match ev {
        Event::Log { role, line, shown } => {
            if *role == Role::Driver && seen.auditing {
                let parsed = sparkop_core::spark_log::parse(line);
                if parsed.level.is_some() {
                    // The audit's encrypted probe RPC is not a message the driver knows.
                    seen.hiding_probe_error = parsed
                        .logger
                        .is_some_and(|l| l.ends_with("TransportRequestHandler"))
                        && parsed
                            .message
                            .starts_with("Error while invoking RpcHandler");
                } else if !sparkop_core::spark_log::is_continuation(line) {
                    seen.hiding_probe_error = false;
                }
                if seen.hiding_probe_error && !args.verbose {
                    return;
                }
            }
            if *shown || args.verbose {
                let (name, style) = prefix(role);
                bar.suspend(|| {
                    let _ = writeln!(anstream::stdout(), "{style}{name:>7} │{style:#} {line}");
                });
            }
        }
        Event::Fact(fact) => match fact {
            Fact::DriverPort(p) => seen.driver_port = Some(*p),
            Fact::AppId(id) => seen.app_id = Some(id.clone()),
            Fact::Ui { port, tls: false } => seen.ui_http = Some(*port),
            Fact::Ui { port, tls: true } => {
                seen.ui_https = Some(*port);
                let port = *port;
                let tx = probe_tx.clone();
                let ca = ca.and_then(|p| std::fs::read(p).ok());
                tokio::spawn(async move {
                    let mut last = String::new();
                    for _ in 0..20 {
                        match sparkop_audit::tls::handshake(
                            "127.0.0.1",
                            port,
                            ca.as_deref(),
                            sparkop_audit::tls::Offer::Any,
                            Duration::from_secs(3),
                        )
                        .await
                        {
                            Ok(n) => {
                                let _ = tx.send(Ok(n));
                                return;
                            }
                            Err(e) => last = e.to_string(),
                        }
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    let _ = tx.send(Err(last));
                });
            }
            Fact::ExecutorRegistered(id) => {
                seen.executors.insert(id.clone());
            }
            Fact::ExecutorLost(_) => seen.lost += 1,
            Fact::AuthAccepted => seen.auth_accepted += 1,
            Fact::AuthRefused { peer } if seen.auditing => {
                seen.probe_refusals += 1;
                bar.suspend(|| {
                    let _ = writeln!(
                        anstream::stderr(),
                        "sparkop: the driver refused {peer}: sparkop's audit probe with a wrong \
                         secret, as expected"
                    );
                });
            }
            Fact::AuthRefused { peer } => {
                seen.refused.push(peer.clone());
                bar.suspend(|| {
                    let red = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
                    let _ = writeln!(
                        anstream::stderr(),
                        "sparkop: {red}refused{red:#} a connection from {peer}: it failed \
                         authentication (wrong or missing secret). The application is unaffected."
                    );
                });
            }
            Fact::JobSucceeded(_) => seen.jobs_ok += 1,
            Fact::JobFailed(_) => seen.jobs_failed += 1,
        },
    }
}

/// Runs `audit rpc` against the driver (with the run's secret) and `audit ui` against the UI.
fn spawn_audit(
    prepared: &run::Prepared,
    seen: &Seen,
    tx: mpsc::UnboundedSender<Vec<sparkop_audit::Finding>>,
) {
    use sparkop_audit::{rpc, ui};
    let secret = prepared
        .rpc_secret()
        .map(|s| zeroize::Zeroizing::new(s.as_bytes().to_vec()));
    let driver = seen
        .driver_port
        .map(|p| std::net::SocketAddr::from(([127, 0, 0, 1], p)));
    let ui_target = match (seen.ui_https, seen.ui_http) {
        (Some(port), _) => Some(ui::UiTarget {
            host: "127.0.0.1".into(),
            port,
            https: true,
            server_name: None,
        }),
        (None, Some(port)) => Some(ui::UiTarget {
            host: "127.0.0.1".into(),
            port,
            https: false,
            server_name: None,
        }),
        (None, None) => None,
    };
    let ui_opts = ui::UiAuditOptions {
        ca_pem: prepared.ui_ca.as_ref().and_then(|p| std::fs::read(p).ok()),
        allow_tls12: prepared.plan.posture.ui_min_tls
            == sparkop_api::types::security::TlsVersion::V1_2,
        http_port: seen.ui_http,
        ..Default::default()
    };
    tokio::spawn(async move {
        let mut findings = Vec::new();
        if let Some(addr) = driver {
            let o = rpc::RpcAuditOptions {
                secret,
                ..Default::default()
            };
            findings.extend(rpc::audit_rpc(addr, &o).await);
        }
        if let Some(t) = ui_target {
            findings.extend(ui::audit_ui(&t, &ui_opts).await);
        }
        let _ = tx.send(findings);
    });
}

fn summary(
    plan: &sparkop_core::LaunchPlan,
    outcome: &Outcome,
    seen: &Seen,
    run_dir: &Path,
    secrets_removed: bool,
) -> anyhow::Result<()> {
    let mut out = anstream::stderr().lock();
    let ok = Style::new().fg_color(Some(AnsiColor::Green.into())).bold();
    let bad = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    let warn = Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold();
    let (state, st) = if outcome.succeeded() {
        ("COMPLETED", ok)
    } else if outcome.interrupted {
        ("INTERRUPTED", warn)
    } else {
        ("FAILED", bad)
    };
    let code = outcome
        .exit_code
        .map_or_else(|| "killed by a signal".to_owned(), |c| format!("exit {c}"));
    writeln!(
        out,
        "\n{st}{state}{st:#} {} in {:.1}s ({code}), {} job(s) succeeded, {} failed",
        plan.name,
        outcome.duration.as_secs_f64(),
        seen.jobs_ok,
        seen.jobs_failed
    )?;
    let p = &plan.posture;
    let check = |good: bool| {
        if good {
            format!("{ok}✓{ok:#}")
        } else {
            format!("{bad}✗{bad:#}")
        }
    };
    let auth = if p.authentication {
        format!(
            "{} shared secret ({}); {} executor(s) registered through authenticated connections",
            check(true),
            match &plan.auth_secret {
                Some(sparkop_core::plan::AuthSecret::FromSecret(r)) =>
                    format!("from Secret {}/{}", r.secret, r.key),
                _ => "generated for this run".into(),
            },
            seen.executors.len()
        )
    } else {
        format!(
            "{} off (spec.security.authentication.enabled: false)",
            check(false)
        )
    };
    writeln!(out, "  authentication  {auth}")?;
    let enc = match p.cipher {
        Cipher::AesGcm => format!("{} AES-GCM (spark.network.crypto)", check(true)),
        Cipher::AesCtr => format!(
            "{} AES-CTR (spark.network.crypto; no integrity protection)",
            check(true)
        ),
        Cipher::Tls => format!("{} TLS", check(true)),
        Cipher::None => format!("{} off: RPC traffic is in cleartext", check(false)),
    };
    let io = if p.authentication && p.io_encryption {
        ", I/O encryption on"
    } else {
        ""
    };
    writeln!(out, "  encryption      {enc}{io}")?;
    let ui = match (&plan.ui, &seen.ui_tls) {
        (None, _) => "disabled".to_owned(),
        (Some(u), _) if u.tls.is_none() => format!(
            "{} plain HTTP on {}",
            check(false),
            seen.ui_http.unwrap_or(u.http_port)
        ),
        (Some(_), Some(Ok(n))) => format!(
            "{} {} ({}) on https://127.0.0.1:{}{}",
            check(
                n.version == "TLSv1.3"
                    || matches!(p.ui_min_tls, sparkop_api::types::security::TlsVersion::V1_2)
            ),
            n.version,
            n.suite,
            seen.ui_https.unwrap_or(0),
            if n.verified {
                ", certificate verified against the run CA"
            } else {
                ""
            }
        ),
        (Some(u), Some(Err(e))) => {
            format!("{} could not check TLS: {e}", check(false))
                + &match &u.tls {
                    Some(UiTlsPlan::UserConfigured) => " (keystore from sparkConf)".to_owned(),
                    _ => String::new(),
                }
        }
        (Some(_), None) => "TLS on (the UI did not come up while the application ran)".to_owned(),
    };
    writeln!(out, "  web UI          {ui}")?;
    if !seen.refused.is_empty() {
        writeln!(
            out,
            "  refused         {} connection(s) that failed authentication: {}",
            seen.refused.len(),
            seen.refused.join(", ")
        )?;
    }
    if seen.probe_refusals > 0 {
        writeln!(
            out,
            "  audit probes    {} wrong-secret probe(s) refused, as they should be",
            seen.probe_refusals
        )?;
    }
    if let Some(findings) = &seen.audit {
        let count = |sev| findings.iter().filter(|f| f.severity == sev).count();
        let (e, w, i) = (
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info),
        );
        writeln!(
            out,
            "  audit           {} {e} error(s), {w} warning(s), {i} info (table above)",
            check(e == 0 && w == 0)
        )?;
    }
    writeln!(
        out,
        "  run dir         {} (logs/driver.log, work/ for executor logs)",
        run_dir.display()
    )?;
    if run_dir.join("ui-ca.crt").exists() {
        writeln!(
            out,
            "  UI CA           {}",
            run_dir.join("ui-ca.crt").display()
        )?;
    }
    writeln!(
        out,
        "  secrets         {}",
        if secrets_removed {
            "removed"
        } else {
            "NOT removed: delete the run dir's secrets/ by hand"
        }
    )?;
    if outcome.stragglers_stopped {
        writeln!(
            out,
            "  processes       some Spark processes outlived the driver and were stopped"
        )?;
    }
    Ok(())
}
