//! The IO shell around the pure parts: a kube-rs controller that observes each
//! SparkApplication's current driver pod, asks [`reconcile::next`] what to do, carries out the
//! actions (get-or-create Secrets, server-side apply of the built objects, deletes, Events)
//! and writes the status. Nothing here decides anything the pure parts could.

mod cleanup;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use kube::runtime::controller::{Action as Requeue, Config as ControllerConfig, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, Resource, ResourceExt};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sparkop_api::k8s_openapi::ByteString;
use sparkop_api::k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret, Service};
use sparkop_api::k8s_openapi::api::networking::v1::NetworkPolicy;
use sparkop_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use sparkop_api::k8s_openapi::jiff::Timestamp;
use sparkop_api::manifest::Object;
use sparkop_api::types::status::{DriverInfo, SparkApplicationStatus};
use sparkop_api::{Severity, SparkApplication};
use sparkop_core::LaunchPlan;
use sparkop_core::plan::{AuthSecret, KEYSTORE_KEY, KEYSTORE_PASSWORD_KEY};
use sparkop_core::posture::Cipher;

use crate::build::{self, Context as BuildContext, Generated, Names};
use crate::events::{Note, Publisher};
use crate::metrics::Metrics;
use crate::reconcile::{self, Action, Decision, DriverPhase, Observed, executors};

/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "sparkop";

/// Errors of the runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A Kubernetes API call failed.
    #[error("{what}: {}", api_message(source))]
    Kube {
        /// What was being done.
        what: String,
        /// The cause.
        source: kube::Error,
    },
    /// The object lacks metadata the operator needs.
    #[error("{0}")]
    Object(String),
}

/// The API server's own message (not the whole Status) for status fields and Events.
fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        other => other.to_string(),
    }
}

fn kube_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> RuntimeError {
    let what = what.into();
    move |source| RuntimeError::Kube { what, source }
}

/// How to run the operator.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Watch only namespaces with these labels (a label selector, e.g. `spark=enabled`);
    /// followed live, so labelling a namespace brings its applications in.
    pub namespace_selector: Option<String>,
    /// State machine tunables.
    pub config: reconcile::Config,
    /// At most this many reconciles at once (0: unbounded).
    pub concurrency: u16,
    /// This replica's name (Events' reporting instance).
    pub instance: String,
}

/// Shared by every reconcile.
pub struct Ctx {
    client: Client,
    recorder: Publisher,
    config: reconcile::Config,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The selected namespaces, when a selector is in use.
    selected: Option<reflector::Store<PartialObjectMeta<Namespace>>>,
    /// Per running driver pod (`namespace/name`): the timestamp of the last log line read for
    /// refused connections. In memory: a new operator reads each running driver's log from its
    /// start once more, so a refusal may be reported twice, never missed.
    log_marks: std::sync::Mutex<BTreeMap<String, Timestamp>>,
}

/// Runs controllers for the configured namespaces until `shutdown` resolves.
pub async fn run(
    client: Client,
    opts: Options,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + Clone + 'static,
) {
    let recorder = Publisher::new(client.clone(), "sparkop", &opts.instance);
    // With a namespace selector: one cluster-wide controller, and a metadata watch of the
    // selected namespaces that gates reconciles and brings a namespace's applications in
    // when it starts matching.
    let ns_watch = opts.namespace_selector.as_ref().map(|selector| {
        let (reader, writer) = reflector::store::<PartialObjectMeta<Namespace>>();
        let stream = watcher(
            Api::<PartialObjectMeta<Namespace>>::all(client.clone()),
            watcher::Config::default().labels(selector),
        )
        .default_backoff()
        .modify(|m: &mut PartialObjectMeta<Namespace>| m.metadata.managed_fields = None)
        .reflect(writer)
        .touched_objects();
        (reader, stream)
    });
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder,
        config: opts.config.clone(),
        metrics,
        selected: ns_watch.as_ref().map(|(r, _)| r.clone()),
        log_marks: Default::default(),
    });
    let namespaces: Vec<Option<String>> =
        if opts.namespaces.is_empty() || opts.namespace_selector.is_some() {
            vec![None]
        } else {
            opts.namespaces.iter().cloned().map(Some).collect()
        };
    let mut ns_stream = ns_watch.map(|(_, s)| s);
    let pods_cfg = watcher::Config::default().labels(&format!("{}=true", build::LAUNCHED_BY_LABEL));
    // Only metadata is watched and cached (applications and their driver pods, managedFields
    // dropped): memory stays small with many applications, and an application whose spec does
    // not deserialize cannot stall the watch. Each reconcile reads its application in full.
    let controllers = namespaces.into_iter().map(|ns| {
        type Meta<K> = PartialObjectMeta<K>;
        let (apps, pods): (Api<Meta<SparkApplication>>, Api<Meta<Pod>>) = match &ns {
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
            ),
            None => (Api::all(client.clone()), Api::all(client.clone())),
        };
        let (reader, writer) = reflector::store::<PartialObjectMeta<SparkApplication>>();
        let app_stream = watcher(apps, watcher::Config::default().any_semantic())
            .default_backoff()
            .modify(|m: &mut PartialObjectMeta<SparkApplication>| {
                // Nothing reads these from the cache; kubectl's last-applied annotation alone
                // can be as large as the whole spec.
                m.metadata.managed_fields = None;
                m.metadata.annotations = None;
            })
            .reflect(writer)
            .touched_objects();
        let pod_stream = watcher(pods, pods_cfg.clone())
            .default_backoff()
            .touched_objects();
        // Driver and executor pods carry the application's name as a label (executors are
        // owned by the driver pod, not by the application).
        let to_app = |pod: PartialObjectMeta<Pod>| {
            let app = pod.labels().get(build::APP_NAME_LABEL).cloned();
            let ns = pod.namespace();
            app.map(|name| {
                ObjectRef::<PartialObjectMeta<SparkApplication>>::new_with(&name, ())
                    .within(ns.as_deref().unwrap_or_default())
            })
        };
        let mut controller =
            Controller::for_stream(app_stream, reader.clone()).watches_stream(pod_stream, to_app);
        if let Some(stream) = ns_stream.take() {
            let apps_in = move |ns: PartialObjectMeta<Namespace>| {
                let name = ns.name_any();
                reader
                    .state()
                    .iter()
                    .filter(|a| a.namespace().as_deref() == Some(name.as_str()))
                    .map(|a| ObjectRef::from_obj(a.as_ref()))
                    .collect::<Vec<_>>()
            };
            controller = controller.watches_stream(stream, apps_in);
        }
        Box::pin(
            controller
                .with_config(ControllerConfig::default().concurrency(opts.concurrency))
                .graceful_shutdown_on(shutdown.clone())
                .run(reconcile_app, error_policy, ctx.clone())
                .for_each(|_| async {}),
        )
    });
    futures::future::join_all(controllers).await;
}

/// The SparkApplication resource, for untyped access.
pub fn app_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("sparkoperator.k8s.io", "v1beta2", "SparkApplication"),
        "sparkapplications",
    )
}

fn error_policy(
    _app: Arc<PartialObjectMeta<SparkApplication>>,
    err: &RuntimeError,
    ctx: Arc<Ctx>,
) -> Requeue {
    ctx.metrics.reconcile_error();
    eprintln!(
        "{{\"level\":\"warn\",\"msg\":\"reconcile failed\",\"error\":{}}}",
        json!(err.to_string())
    );
    Requeue::requeue(Duration::from_secs(5))
}

/// Hash of what a run depends on: the spec without `suspend`.
pub fn spec_hash(app: &SparkApplication) -> String {
    use sha2::{Digest, Sha256};
    let mut v = serde_json::to_value(&app.spec).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("suspend");
    }
    hex::encode(&Sha256::digest(v.to_string().as_bytes())[..8])
}

/// How long ago the application was created.
fn age(app: &SparkApplication, now: Timestamp) -> Duration {
    app.creation_timestamp()
        .and_then(|t| Duration::try_from(now.duration_since(t.0)).ok())
        .unwrap_or_default()
}

/// The application has ended (its executors are settled).
fn finished(status: &SparkApplicationStatus) -> bool {
    use sparkop_api::types::status::ApplicationStateType as S;
    matches!(
        status.application_state.state,
        S::Completed | S::Failed | S::SubmissionFailed | S::Suspended
    )
}

fn phase_of(pod: Option<&Pod>) -> DriverPhase {
    let Some(status) = pod.and_then(|p| p.status.as_ref()) else {
        return if pod.is_some() {
            DriverPhase::Pending
        } else {
            DriverPhase::Missing
        };
    };
    match status.phase.as_deref() {
        Some("Running") => DriverPhase::Running,
        Some("Succeeded") => DriverPhase::Succeeded,
        Some("Failed") => {
            let terminated = status
                .container_statuses
                .iter()
                .flatten()
                .find(|c| c.name == build::DRIVER_CONTAINER)
                .and_then(|c| c.state.as_ref()?.terminated.as_ref());
            let why = match terminated {
                Some(t) => format!(
                    "driver exited with code {}{}",
                    t.exit_code,
                    t.reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
                None => status
                    .reason
                    .clone()
                    .unwrap_or_else(|| "driver pod failed".into()),
            };
            DriverPhase::Failed(why)
        }
        Some("Unknown") => DriverPhase::Unknown,
        _ => DriverPhase::Pending,
    }
}

async fn reconcile_app(
    meta: Arc<PartialObjectMeta<SparkApplication>>,
    ctx: Arc<Ctx>,
) -> Result<Requeue, RuntimeError> {
    let started = Instant::now();
    let ns = meta
        .namespace()
        .ok_or_else(|| RuntimeError::Object("no namespace".into()))?;
    let name = meta.name_any();
    let deleting = meta.metadata.deletion_timestamp.is_some();
    if let Some(selected) = &ctx.selected
        && !(deleting && cleanup::has_finalizer(&meta.metadata))
        && selected
            .get(&ObjectRef::<PartialObjectMeta<Namespace>>::new(&ns))
            .is_none()
    {
        // Not (or no longer) a selected namespace: its applications are left alone.
        return Ok(Requeue::await_change());
    }
    let apps: Api<SparkApplication> = Api::namespaced(ctx.client.clone(), &ns);
    let now = Timestamp::now();
    // Read untyped first: a spec that does not deserialize is reported, not retried forever.
    let raw: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &app_resource());
    let Some(obj) = raw
        .get_opt(&name)
        .await
        .map_err(kube_err("reading the application"))?
    else {
        return Ok(Requeue::await_change());
    };
    if obj.metadata.deletion_timestamp.is_some() {
        let submissions = obj
            .data
            .pointer("/status/submissionAttempts")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let attempt = u32::try_from(submissions.max(1) - 1).unwrap_or(0);
        return cleanup::finish(&ctx, &ns, &obj.metadata, attempt).await;
    }
    ctx.metrics.seen(&format!("{ns}/{name}"));
    let value = serde_json::to_value(&obj).map_err(|e| RuntimeError::Object(e.to_string()))?;
    let app: SparkApplication = match serde_path_to_error::deserialize(value) {
        Ok(a) => a,
        Err(e) => {
            // serde's own text quotes the offending value, which may be a secret written as a
            // literal: status and Events get only the path.
            let message = format!(
                "cannot read the application: {} does not have the expected type or shape",
                e.path()
            );
            return reject_raw(&obj, &ctx, &message, now).await;
        }
    };
    let app = Arc::new(app);

    // The API server's CEL rules catch most invalid specs; the rest of the policy runs here.
    let diagnostics =
        sparkop_core::check_object(&Object::SparkApplication(Box::new((*app).clone())));
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("[{}] {}", d.rule, d.message))
        .collect();
    let plan = if errors.is_empty() {
        sparkop_core::plan(&app).map_err(|e| e.to_string())
    } else {
        Err(errors.join("; "))
    };
    let plan = match plan {
        Ok(p) => p,
        Err(message) => return reject(&app, &apps, &ctx, &message, now).await,
    };

    let status = app.status.clone().unwrap_or_default();
    let uid = app
        .uid()
        .ok_or_else(|| RuntimeError::Object("no uid".into()))?;
    let attempt = reconcile::current_attempt(&status);
    let names = Names::new(&name, &uid, attempt);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let pod = if status.submission_attempts > 0 {
        pods.get_opt(&names.driver_pod)
            .await
            .map_err(kube_err("reading the driver pod"))?
    } else {
        None
    };
    // Executors exist only while a driver runs; after that, only known ones need settling.
    let driver = phase_of(pod.as_ref());
    let executors_matter = driver == DriverPhase::Running
        || status
            .executor_state
            .as_ref()
            .is_some_and(|e| !e.is_empty());
    let executors = if status.submission_attempts > 0 && !finished(&status) && executors_matter {
        let selector = format!(
            "spark-app-selector={},spark-role=executor",
            names.app_selector
        );
        let list = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(kube_err("listing the executor pods"))?;
        Some(
            list.items
                .iter()
                .map(|p| {
                    let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
                    (p.name_any(), executors::state_of_phase(phase))
                })
                .collect(),
        )
    } else {
        None
    };
    let refused = observe_refusals(&ctx, &pods, &ns, &names.driver_pod, &driver).await;
    let obs = Observed {
        now,
        driver,
        spec_hash: spec_hash(&app),
        executors,
        refused,
    };
    let mut decision = reconcile::next(&app, &obs, &ctx.config);
    let mut requeue: Option<Duration> = None;
    for action in decision.actions.clone() {
        match action {
            Action::Submit { attempt } => {
                if !cleanup::has_finalizer(&app.metadata) {
                    cleanup::add(&ctx, &ns, &app.metadata).await?;
                }
                if let Err(e) = submit(&ctx, &app, &plan, attempt).await {
                    let failed = reconcile::submission_failed(
                        &app,
                        &decision.status,
                        now,
                        &e.to_string(),
                        &ctx.config,
                    );
                    decision = Decision {
                        status: failed.status,
                        actions: decision
                            .actions
                            .iter()
                            .filter(|a| matches!(a, Action::Event { .. }))
                            .cloned()
                            .chain(failed.actions)
                            .collect(),
                    };
                    for a in &decision.actions {
                        if let Action::RequeueAfter(d) = a {
                            requeue = Some(requeue.map_or(*d, |r| r.min(*d)));
                        }
                    }
                    break;
                }
                ctx.metrics.submitted();
                if attempt == 0 {
                    ctx.metrics.first_submission(age(&app, now));
                }
            }
            Action::DeleteAttempt { attempt } => {
                delete_attempt(&ctx, &ns, &Names::new(&name, &uid, attempt)).await?
            }
            Action::DeleteApplication => {
                apps.delete(&name, &DeleteParams::background())
                    .await
                    .map_err(kube_err("deleting the application (timeToLiveSeconds)"))?;
            }
            Action::Event { .. } => {}
            Action::RequeueAfter(d) => requeue = Some(requeue.map_or(d, |r| r.min(d))),
        }
    }
    for action in &decision.actions {
        if let Action::Event {
            warning,
            reason,
            message,
        } = action
        {
            ctx.metrics.transition(reason);
            if reason == "SparkApplicationRunning" && decision.status.execution_attempts == 1 {
                ctx.metrics.started(age(&app, now));
            }
            let note = Note {
                warning: *warning,
                reason,
                action: "Reconcile",
                note: message,
            };
            let _ = ctx.recorder.publish(&note, &app.object_ref(&())).await;
        }
    }
    let current = Names::new(&name, &uid, reconcile::current_attempt(&decision.status));
    decision.status.driver_info = driver_info(&plan, &current, &ns);
    decision.status.conditions = Some(conditions(&plan, status.conditions.as_deref(), now));
    if app.status.as_ref() != Some(&decision.status) {
        apps.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": decision.status})),
        )
        .await
        .map_err(kube_err("writing the status"))?;
    }
    ctx.metrics.reconciled(started.elapsed());
    Ok(requeue.map_or_else(Requeue::await_change, |d| {
        Requeue::requeue(d.max(Duration::from_millis(200)))
    }))
}

/// The connections a running driver refused since the last look (its log, read from the last
/// line seen on). A log that cannot be read (a simulated node, a driver just gone) is no
/// refusal; the next reconcile tries again.
async fn observe_refusals(
    ctx: &Ctx,
    pods: &Api<Pod>,
    ns: &str,
    pod: &str,
    driver: &DriverPhase,
) -> Vec<reconcile::refusals::Refusal> {
    let key = format!("{ns}/{pod}");
    let mark = {
        let mut marks = ctx.log_marks.lock().unwrap_or_else(|e| e.into_inner());
        if *driver != DriverPhase::Running || ctx.config.driver_log_interval.is_none() {
            marks.remove(&key);
            return Vec::new();
        }
        marks.get(&key).copied()
    };
    let lp = kube::api::LogParams {
        timestamps: true,
        since_time: mark,
        container: Some(build::DRIVER_CONTAINER.into()),
        ..Default::default()
    };
    let Ok(log) = pods.logs(pod, &lp).await else {
        return Vec::new();
    };
    let (refused, last) = reconcile::refusals::refusals(&log, mark);
    if let Some(last) = last {
        ctx.log_marks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, last);
    }
    refused
}

/// A Warning Event saying why an application is refused.
async fn publish_invalid(
    ctx: &Ctx,
    message: &str,
    reference: &sparkop_api::k8s_openapi::api::core::v1::ObjectReference,
) {
    let note = Note {
        warning: true,
        reason: "SparkApplicationInvalid",
        action: "Validate",
        note: message,
    };
    let _ = ctx.recorder.publish(&note, reference).await;
}

/// An application that does not even deserialize: FAILED by a merge patch of the raw status.
async fn reject_raw(
    obj: &DynamicObject,
    ctx: &Ctx,
    message: &str,
    now: Timestamp,
) -> Result<Requeue, RuntimeError> {
    let current = obj
        .data
        .pointer("/status/applicationState/errorMessage")
        .and_then(Value::as_str);
    if current != Some(message) {
        let ns = obj.namespace().unwrap_or_default();
        let api: Api<DynamicObject> =
            Api::namespaced_with(ctx.client.clone(), &ns, &app_resource());
        let patch = json!({"status": {
            "applicationState": {"state": "FAILED", "errorMessage": message},
            "terminationTime": Time(now),
        }});
        api.patch_status(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
        .map_err(kube_err("writing the status"))?;
        publish_invalid(ctx, message, &obj.object_ref(&app_resource())).await;
    }
    Ok(Requeue::await_change())
}

/// An application the policy refuses: FAILED with the reasons, no retry until it changes.
async fn reject(
    app: &SparkApplication,
    apps: &Api<SparkApplication>,
    ctx: &Ctx,
    message: &str,
    now: Timestamp,
) -> Result<Requeue, RuntimeError> {
    let mut status = app.status.clone().unwrap_or_default();
    let state = sparkop_api::ApplicationStateType::Failed;
    if status.application_state.state != state
        || status.application_state.error_message.as_deref() != Some(message)
    {
        status.application_state.state = state;
        status.application_state.error_message = Some(message.to_owned());
        status.termination_time = Some(Time(now));
        apps.patch_status(
            &app.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
        .map_err(kube_err("writing the status"))?;
        publish_invalid(ctx, message, &app.object_ref(&())).await;
    }
    Ok(Requeue::await_change())
}

fn driver_info(plan: &LaunchPlan, names: &Names, ns: &str) -> DriverInfo {
    let ui = plan.ui.as_ref();
    let port = ui.map(|u| u.https_port.unwrap_or(u.http_port));
    DriverInfo {
        web_ui_service_name: ui.map(|_| names.ui_service.clone()),
        web_ui_address: port.map(|p| format!("{}.{ns}.svc:{p}", names.ui_service)),
        web_ui_port: ui.map(|u| i32::from(u.http_port)),
        web_ui_https_port: ui.and_then(|u| u.https_port).map(i32::from),
        pod_name: Some(names.driver_pod.clone()),
        ..Default::default()
    }
}

/// Conditions recording the security posture (kept stable across reconciles).
fn conditions(plan: &LaunchPlan, old: Option<&[Condition]>, now: Timestamp) -> Vec<Condition> {
    let p = &plan.posture;
    let want = [
        (
            "Authenticated",
            p.authentication,
            if p.authentication {
                "SharedSecret"
            } else {
                "Disabled"
            },
            "RPC authentication",
        ),
        (
            "Encrypted",
            p.cipher != Cipher::None,
            match p.cipher {
                Cipher::AesGcm => "AesGcm",
                Cipher::AesCtr => "AesCtr",
                Cipher::Tls => "Tls",
                Cipher::None => "Disabled",
            },
            "RPC encryption",
        ),
        (
            "UiTls",
            p.ui_tls,
            if p.ui_tls { "Tls" } else { "Disabled" },
            "web UI TLS",
        ),
    ];
    want.iter()
        .map(|(ty, ok, reason, what)| {
            let status = if *ok { "True" } else { "False" };
            let previous = old.and_then(|o| o.iter().find(|c| c.type_ == *ty));
            let unchanged = previous.is_some_and(|c| c.status == status && c.reason == *reason);
            Condition {
                type_: (*ty).into(),
                status: status.into(),
                reason: (*reason).into(),
                message: format!(
                    "{what}: {}",
                    if *ok { "on" } else { "off (explicit opt-out)" }
                ),
                last_transition_time: match previous {
                    Some(c) if unchanged => c.last_transition_time.clone(),
                    _ => Time(now),
                },
                observed_generation: None,
            }
        })
        .collect()
}

fn owner(app: &SparkApplication) -> serde_json::Value {
    json!([crate::owner_reference(
        &app.name_any(),
        app.uid().as_deref().unwrap_or_default()
    )])
}

/// Creates a Secret unless it exists (never replaces: the values must stay stable).
async fn create_secret_once(
    secrets: &Api<Secret>,
    name: &str,
    app: &SparkApplication,
    data: BTreeMap<String, Vec<u8>>,
) -> Result<(), RuntimeError> {
    if secrets
        .get_metadata_opt(name)
        .await
        .map_err(kube_err("reading a Secret"))?
        .is_some()
    {
        return Ok(());
    }
    let secret = Secret {
        metadata: serde_json::from_value(json!({
            "name": name,
            "labels": {"sparkoperator.k8s.io/app-name": app.name_any()},
            "ownerReferences": owner(app),
        }))
        .map_err(|e| RuntimeError::Object(e.to_string()))?,
        data: Some(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(kube_err(format!("creating Secret {name}"))(e)),
    }
}

/// Everything of one attempt: generated Secrets (once), then the built objects by
/// server-side apply (idempotent: a restarted operator re-applies the same objects).
async fn submit(
    ctx: &Ctx,
    app: &SparkApplication,
    plan: &LaunchPlan,
    attempt: u32,
) -> Result<(), RuntimeError> {
    let ns = plan.namespace.as_str();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let (auth_secret, ui_keystore_secret, generated) = build::secret_choice(plan);
    if let Some(AuthSecret::FromSecret(r)) = &plan.auth_secret {
        let s = secrets
            .get_opt(&r.secret)
            .await
            .map_err(kube_err("reading the auth Secret"))?;
        let has_key = s
            .as_ref()
            .and_then(|s| s.data.as_ref())
            .is_some_and(|d| d.contains_key(&r.key));
        if !has_key {
            return Err(RuntimeError::Object(format!(
                "Secret {:?} with key {:?} (the RPC authentication secret) not found in namespace {ns}",
                r.secret, r.key
            )));
        }
    }
    for g in generated {
        match g {
            Generated::Auth(s) => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| RuntimeError::Object(e.to_string()))?;
                let value = hex::encode(bytes).into_bytes();
                create_secret_once(&secrets, &s.name, app, BTreeMap::from([(s.key, value)]))
                    .await?;
            }
            Generated::UiKeystore(name) => {
                if secrets
                    .get_metadata_opt(&name)
                    .await
                    .map_err(kube_err("reading a Secret"))?
                    .is_some()
                {
                    continue;
                }
                let names = Names::new(&plan.name, &app.uid().unwrap_or_default(), attempt);
                let host = format!("{}.{ns}.svc", names.ui_service);
                let req = sparkop_pki::Request {
                    common_name: host.clone(),
                    hosts: vec![
                        host.clone(),
                        format!("{host}.cluster.local"),
                        "localhost".into(),
                        "127.0.0.1".into(),
                    ],
                    days: 365,
                };
                let m =
                    sparkop_pki::generate(&req).map_err(|e| RuntimeError::Object(e.to_string()))?;
                let password = m.keystore_password.expose_secret().as_bytes().to_vec();
                let data = BTreeMap::from([
                    (KEYSTORE_KEY.to_owned(), m.keystore.to_vec()),
                    (KEYSTORE_PASSWORD_KEY.to_owned(), password.clone()),
                    ("key-password".to_owned(), password),
                    ("ca.crt".to_owned(), m.ca_pem.into_bytes()),
                ]);
                create_secret_once(&secrets, &name, app, data).await?;
            }
        }
    }
    let bctx = BuildContext {
        uid: app.uid().unwrap_or_default(),
        attempt,
        auth_secret,
        ui_keystore_secret,
    };
    let objects =
        build::driver_objects(app, plan, &bctx).map_err(|e| RuntimeError::Object(e.to_string()))?;
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let c = &ctx.client;
    let n = &objects.names;
    Api::<ConfigMap>::namespaced(c.clone(), ns)
        .patch(&n.config_map, &pp, &Patch::Apply(&objects.config_map))
        .await
        .map_err(kube_err("applying the driver ConfigMap"))?;
    Api::<Service>::namespaced(c.clone(), ns)
        .patch(
            &n.driver_service,
            &pp,
            &Patch::Apply(&objects.driver_service),
        )
        .await
        .map_err(kube_err("applying the driver Service"))?;
    if let Some(ui) = &objects.ui_service {
        Api::<Service>::namespaced(c.clone(), ns)
            .patch(&n.ui_service, &pp, &Patch::Apply(ui))
            .await
            .map_err(kube_err("applying the UI Service"))?;
    }
    if let Some(np) = &objects.network_policy {
        Api::<NetworkPolicy>::namespaced(c.clone(), ns)
            .patch(&n.network_policy, &pp, &Patch::Apply(np))
            .await
            .map_err(kube_err("applying the NetworkPolicy"))?;
    }
    Api::<Pod>::namespaced(c.clone(), ns)
        .patch(&n.driver_pod, &pp, &Patch::Apply(&objects.pod))
        .await
        .map_err(kube_err("applying the driver pod"))?;
    Ok(())
}

async fn delete_attempt(ctx: &Ctx, ns: &str, names: &Names) -> Result<(), RuntimeError> {
    let c = &ctx.client;
    delete_if_present(Api::<Pod>::namespaced(c.clone(), ns), &names.driver_pod).await?;
    delete_if_present(
        Api::<ConfigMap>::namespaced(c.clone(), ns),
        &names.config_map,
    )
    .await?;
    // The UI Service is the application's (the next attempt re-points it); it goes with the
    // application (owner reference, finalizer).
    delete_if_present(
        Api::<Service>::namespaced(c.clone(), ns),
        &names.driver_service,
    )
    .await?;
    delete_if_present(
        Api::<NetworkPolicy>::namespaced(c.clone(), ns),
        &names.network_policy,
    )
    .await
}

/// Deletes `name`; already gone is fine.
async fn delete_if_present<K>(api: Api<K>, name: &str) -> Result<(), RuntimeError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(kube_err(format!("deleting {name}"))(e)),
    }
}
