//! Commands against a cluster (kubeconfig): apply, get, status, logs, delete — and
//! `apply --dry-run`, which needs no cluster.

use std::io::Write as _;

use anyhow::Context as _;
use futures::{AsyncBufReadExt as _, TryStreamExt as _};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams};
use sparkop_api::SparkApplication;
use sparkop_api::manifest::Object;
use std::path::PathBuf;

use crate::cli::{ApplyArgs, GetArgs, LogsArgs, NameArgs, ObjectsOutput, UiArgs};
use crate::cluster::client;
use crate::lint::load_checked;

/// The field manager of `sparkop apply`.
const FIELD_MANAGER: &str = "sparkop-cli";

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(crate::rt::runtime()?)
}

/// `sparkop apply`.
pub fn apply(args: &ApplyArgs) -> anyhow::Result<i32> {
    let paths: Vec<&std::path::Path> = args.files.iter().map(PathBuf::as_path).collect();
    let sources = load_checked(&paths, "nothing was applied")?;
    let mut apps: Vec<&SparkApplication> = Vec::new();
    let mut secrets = Vec::new();
    for src in &sources {
        for doc in &src.loaded.documents {
            match &doc.object {
                Object::SparkApplication(a) => apps.push(a),
                Object::Secret(s) => secrets.push(s),
                _ => {}
            }
        }
    }
    if args.dry_run {
        let mut objects = Vec::new();
        for app in &apps {
            objects.extend(sparkop_operator::build::preview(app)?);
        }
        let mut out = std::io::stdout().lock();
        match args.output {
            ObjectsOutput::Json => writeln!(out, "{}", serde_json::to_string_pretty(&objects)?)?,
            ObjectsOutput::Yaml => {
                writeln!(
                    out,
                    "# What the operator creates for attempt 0 (uid {} stands for the one the API server assigns).\n# Generated Secrets are created once at submission with random values; their keys are listed.",
                    sparkop_operator::build::PREVIEW_UID
                )?;
                for o in &objects {
                    writeln!(out, "---\n{}", serde_saphyr::to_string(o)?.trim_end())?;
                }
            }
        }
        return Ok(0);
    }
    runtime()?.block_on(async {
        let client = client().await?;
        let pp = PatchParams::apply(FIELD_MANAGER);
        for s in &secrets {
            let ns = s.namespace.clone().unwrap_or_else(|| client.default_namespace().to_owned());
            let data: serde_json::Map<String, serde_json::Value> = s
                .data
                .iter()
                .map(|(k, v)| {
                    use base64::Engine as _;
                    (k.clone(), base64::engine::general_purpose::STANDARD.encode(v.expose()).into())
                })
                .collect();
            let body = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": s.name, "namespace": ns}, "type": s.r#type.clone().unwrap_or_else(|| "Opaque".into()), "data": data});
            let api: Api<sparkop_api::k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), &ns);
            api.patch(&s.name, &pp, &Patch::Apply(&body)).await.with_context(|| format!("applying Secret {ns}/{}", s.name))?;
            println!("secret/{} applied", s.name);
        }
        for app in &apps {
            let ns = app.metadata.namespace.clone().unwrap_or_else(|| client.default_namespace().to_owned());
            let name = app.metadata.name.clone().unwrap_or_default();
            let mut body = serde_json::to_value(app)?;
            if let Some(o) = body.as_object_mut() {
                o.remove("status");
            }
            let api: Api<SparkApplication> = Api::namespaced(client.clone(), &ns);
            api.patch(&name, &pp, &Patch::Apply(&body))
                .await
                .with_context(|| format!("applying SparkApplication {ns}/{name}"))?;
            println!("sparkapplication/{name} applied");
        }
        Ok(0)
    })
}

fn state_name(app: &SparkApplication) -> String {
    app.status
        .as_ref()
        .map_or("NEW", |s| s.application_state.state.label())
        .to_owned()
}

/// `sparkop get`.
pub fn get(args: &GetArgs) -> anyhow::Result<i32> {
    runtime()?.block_on(async {
        let client = client().await?;
        let api: Api<SparkApplication> = if args.all_namespaces {
            Api::all(client)
        } else {
            match &args.namespace {
                Some(ns) => Api::namespaced(client, ns),
                None => Api::default_namespaced(client),
            }
        };
        let list = api
            .list(&ListParams::default())
            .await
            .context("listing SparkApplications")?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{:<16} {:<40} {:<18} {:>8} DRIVER",
            "NAMESPACE", "NAME", "STATE", "ATTEMPTS"
        )?;
        for app in list.items {
            let status = app.status.clone().unwrap_or_default();
            writeln!(
                out,
                "{:<16} {:<40} {:<18} {:>8} {}",
                app.metadata.namespace.clone().unwrap_or_default(),
                app.metadata.name.clone().unwrap_or_default(),
                state_name(&app),
                status.execution_attempts,
                status.driver_info.pod_name.unwrap_or_default()
            )?;
        }
        Ok(0)
    })
}

fn api_for(client: kube::Client, ns: &Option<String>) -> Api<SparkApplication> {
    match ns {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::default_namespaced(client),
    }
}

/// `sparkop status`.
pub fn status(args: &NameArgs) -> anyhow::Result<i32> {
    runtime()?.block_on(async {
        let client = client().await?;
        let api = api_for(client, &args.namespace);
        let app = api
            .get(&args.name)
            .await
            .with_context(|| format!("reading {}", args.name))?;
        let s = app.status.clone().unwrap_or_default();
        let mut out = std::io::stdout().lock();
        writeln!(out, "name:        {}", args.name)?;
        writeln!(out, "state:       {}", state_name(&app))?;
        if let Some(e) = &s.application_state.error_message {
            writeln!(out, "error:       {e}")?;
        }
        writeln!(
            out,
            "attempts:    {} run(s), {} submission(s)",
            s.execution_attempts, s.submission_attempts
        )?;
        if let Some(p) = &s.driver_info.pod_name {
            writeln!(out, "driver pod:  {p}")?;
        }
        if let Some(a) = &s.driver_info.web_ui_address {
            let scheme = if s.driver_info.web_ui_https_port.is_some() {
                "https"
            } else {
                "http"
            };
            writeln!(out, "web UI:      {scheme}://{a} (in the cluster)")?;
        }
        if let Some(ex) = &s.executor_state {
            let mut by_state: std::collections::BTreeMap<String, usize> = Default::default();
            for state in ex.values() {
                let name = serde_json::to_value(state)?
                    .as_str()
                    .unwrap_or("?")
                    .to_owned();
                *by_state.entry(name).or_default() += 1;
            }
            let counts: Vec<String> = by_state.iter().map(|(s, n)| format!("{n} {s}")).collect();
            writeln!(out, "executors:   {} ({})", ex.len(), counts.join(", "))?;
        }
        for c in s.conditions.iter().flatten() {
            let mark = if c.status == "True" { "✓" } else { "✗" };
            writeln!(out, "security:    {mark} {} ({})", c.message, c.reason)?;
        }
        Ok(0)
    })
}

/// `sparkop delete`.
pub fn delete(args: &NameArgs) -> anyhow::Result<i32> {
    runtime()?.block_on(async {
        let client = client().await?;
        let api = api_for(client, &args.namespace);
        api.delete(&args.name, &DeleteParams::background())
            .await
            .with_context(|| format!("deleting {}", args.name))?;
        println!("sparkapplication/{} deleted", args.name);
        Ok(0)
    })
}

/// `sparkop logs`.
pub fn logs(args: &LogsArgs) -> anyhow::Result<i32> {
    runtime()?.block_on(async {
        let client = client().await?;
        let api = api_for(client.clone(), &args.app.namespace);
        let app = api
            .get(&args.app.name)
            .await
            .with_context(|| format!("reading {}", args.app.name))?;
        let pod = app
            .status
            .and_then(|s| s.driver_info.pod_name)
            .with_context(|| format!("{} has no driver yet", args.app.name))?;
        let ns = app.metadata.namespace.unwrap_or_default();
        let pods: Api<sparkop_api::k8s_openapi::api::core::v1::Pod> = Api::namespaced(client, &ns);
        let lp = LogParams {
            container: Some("spark-kubernetes-driver".into()),
            follow: args.follow,
            ..Default::default()
        };
        let mut lines = pods
            .log_stream(&pod, &lp)
            .await
            .with_context(|| format!("reading the log of {pod}"))?
            .lines();
        let mut out = std::io::stdout().lock();
        while let Some(line) = lines.try_next().await? {
            writeln!(out, "{line}")?;
        }
        Ok(0)
    })
}

/// `sparkop ui`: forwards 127.0.0.1:PORT to the driver's UI until Ctrl-C.
pub fn ui(args: &UiArgs) -> anyhow::Result<i32> {
    let runtime = crate::rt::runtime()?;
    runtime.block_on(async {
        let client = client().await?;
        let driver =
            crate::cluster::driver::find(client, args.app.namespace.as_deref(), &args.app.name)
                .await?;
        let (port, scheme) = match (driver.ui_https_port, driver.ui_http_port) {
            (Some(p), _) => (p, "https"),
            (None, Some(p)) => (p, "http"),
            (None, None) => {
                anyhow::bail!("{} has no web UI (spark.ui.enabled=false)", args.app.name)
            }
        };
        if let Some(path) = &args.ca_out {
            let ca = driver.ui_ca().await?.with_context(|| {
                format!(
                    "the UI keystore Secret of {} has no ca.crt to write",
                    args.app.name
                )
            })?;
            std::fs::write(path, ca).with_context(|| format!("writing {}", path.display()))?;
        }
        let bind = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
        let fwd = crate::cluster::port_forward::start(driver.pods.clone(), &driver.pod, port, bind)
            .await?;
        let mut message = format!(
            "web UI of {}: {scheme}://{} -> pod/{}:{port} (Ctrl-C to stop)\n",
            args.app.name, fwd.local, driver.pod
        );
        if scheme == "http" {
            message.push_str("warning: this UI is served without TLS\n");
        } else if let Some(path) = &args.ca_out {
            message.push_str(&format!("its CA certificate is in {}\n", path.display()));
        }
        let mut out = std::io::stdout().lock();
        out.write_all(message.as_bytes())?;
        out.flush()?;
        drop(out);
        crate::rt::shutdown_signal().await;
        drop(fwd);
        Ok(0)
    })
}
