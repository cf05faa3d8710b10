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
use kube::core::DynamicObject;
use kube::core::PartialObjectMeta;
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
use sparkop_api::k8s_openapi::jiff::Timestamp;
use sparkop_api::manifest::Object;
use sparkop_api::types::status::{ApplicationStateType, SparkApplicationStatus};
use sparkop_api::{Severity, SparkApplication};
use sparkop_core::LaunchPlan;
use sparkop_core::plan::{AuthSecret, KEYSTORE_KEY, KEYSTORE_PASSWORD_KEY};

use crate::build::{self, Context as BuildContext, Generated, Names};
use crate::events::{Note, Publisher};
use crate::metrics::Metrics;
use crate::reconcile::{self, Action, Decision, DriverPhase, Input, Observed, executors};

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
    /// The object lacks metadata the API server always sets.
    #[error("the application has no {0}")]
    MissingMetadata(&'static str),
    /// The objects of an attempt could not be built (the plan and the Secrets disagree).
    #[error("building the driver's objects: {0}")]
    Build(#[from] build::BuildError),
    /// A generated Secret could not be made.
    #[error("generating a Secret: {0}")]
    Pki(#[from] sparkop_pki::PkiError),
    /// A referenced Secret lacks what the application needs from it.
    #[error("{0}")]
    Secret(String),
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
    /// Consecutive failed reconciles per application (`namespace/name`), for the backoff;
    /// cleared by a reconcile that succeeds.
    failures: std::sync::Mutex<BTreeMap<String, u32>>,
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
        failures: Default::default(),
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
    // From the type's own derive: one place for group, version, kind and plural.
    ApiResource::erase::<SparkApplication>(&())
}

fn error_policy(
    app: Arc<PartialObjectMeta<SparkApplication>>,
    err: &RuntimeError,
    ctx: Arc<Ctx>,
) -> Requeue {
    ctx.metrics.reconcile_error();
    let key = format!("{}/{}", app.namespace().unwrap_or_default(), app.name_any());
    let failures = {
        let mut f = ctx.failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = f.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        *n
    };
    let delay = err.category().retry_after(failures);
    tracing::warn!(
        namespace = app.namespace().unwrap_or_default(),
        name = app.name_any(),
        error = %err,
        category = ?err.category(),
        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        "reconcile failed"
    );
    Requeue::requeue(delay)
}

/// What kind of failure a reconcile met, which decides when it is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Someone else changed the object first (409): read it again at once.
    Conflict,
    /// The API server or the network failed for now (429, 5xx, a broken connection), or a
    /// referenced Secret is not there yet: back off and retry.
    Transient,
    /// Retrying as is cannot succeed (403 from RBAC, 400/422 from validation, a Secret
    /// without its key): retry rarely, in case an administrator fixes it.
    Permanent,
}

impl Category {
    /// The delay before the `n`-th consecutive retry (1-based): exponential from 1 s for
    /// transient failures up to 5 min, 500 ms for conflicts, 5 min for permanent ones.
    pub fn retry_after(self, n: u32) -> Duration {
        match self {
            Category::Conflict => Duration::from_millis(500),
            Category::Transient => {
                reconcile::backoff(Duration::from_secs(1), n, Duration::from_secs(300))
            }
            Category::Permanent => Duration::from_secs(300),
        }
    }
}

impl RuntimeError {
    /// The failure's category.
    pub fn category(&self) -> Category {
        match self {
            RuntimeError::Kube { source, .. } => match source {
                kube::Error::Api(s) if s.code == 409 => Category::Conflict,
                kube::Error::Api(s) if s.code == 429 || s.code >= 500 => Category::Transient,
                kube::Error::Api(_) => Category::Permanent,
                _ => Category::Transient,
            },
            RuntimeError::Secret(_) => Category::Transient,
            RuntimeError::MissingMetadata(_) | RuntimeError::Build(_) | RuntimeError::Pki(_) => {
                Category::Permanent
            }
        }
    }
}

/// How long ago the application was created.
fn age(app: &SparkApplication, now: Timestamp) -> Duration {
    app.creation_timestamp()
        .and_then(|t| Duration::try_from(now.duration_since(t.0)).ok())
        .unwrap_or_default()
}

/// One reconcile, in a span naming the application (its fields reach every log line below).
async fn reconcile_app(
    meta: Arc<PartialObjectMeta<SparkApplication>>,
    ctx: Arc<Ctx>,
) -> Result<Requeue, RuntimeError> {
    use tracing::Instrument as _;
    let span = tracing::info_span!(
        "reconcile",
        namespace = meta.namespace().unwrap_or_default(),
        name = meta.name_any(),
        attempt = tracing::field::Empty,
    );
    reconcile_app_in_span(meta, ctx).instrument(span).await
}

async fn reconcile_app_in_span(
    meta: Arc<PartialObjectMeta<SparkApplication>>,
    ctx: Arc<Ctx>,
) -> Result<Requeue, RuntimeError> {
    let started = Instant::now();
    let ns = meta
        .namespace()
        .ok_or(RuntimeError::MissingMetadata("namespace"))?;
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
    // A DynamicObject always serializes.
    let value = serde_json::to_value(&obj).unwrap_or_default();
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

    let status = app.status.clone().unwrap_or_default();
    let uid = app.uid().ok_or(RuntimeError::MissingMetadata("uid"))?;
    let attempt = reconcile::current_attempt(&status);
    tracing::Span::current().record("attempt", attempt);
    let names = Names::new(&name, &uid, attempt);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let observed = match &plan {
        Ok(_) => observe(&ctx, &app, &status, &pods, &ns, &names, now).await?,
        // A refused application is not looked at further.
        Err(_) => Observed {
            now,
            driver: DriverPhase::Missing,
            spec_hash: reconcile::status::spec_hash(&app),
            executors: None,
            refused: Vec::new(),
        },
    };
    let input = Input {
        app: &app,
        plan: plan.as_ref().map_err(String::as_str),
        observed: &observed,
        has_finalizer: cleanup::has_finalizer(&app.metadata),
        submit_error: None,
    };
    let mut decision = reconcile::next(&input, &ctx.config);
    let mut submit_failure: Option<String> = None;
    let mut resource_version = app.metadata.resource_version.clone();
    for action in decision.actions.clone() {
        match action {
            Action::AddFinalizer => {
                resource_version = cleanup::add(&ctx, &ns, &app.metadata).await?;
            }
            Action::Submit { attempt } => {
                // `next` asked for it, so there is a plan.
                let Ok(plan) = &plan else { break };
                if let Err(e) = submit(&ctx, &app, plan, attempt).await {
                    if e.category() != Category::Permanent {
                        // The API server or a Secret is not ready yet: no failed submission
                        // is recorded, the same one is tried again after the backoff.
                        let note = Note {
                            warning: true,
                            reason: "SubmissionDelayed",
                            action: "Submit",
                            note: &format!("{e}; trying again"),
                        };
                        let _ = ctx.recorder.publish(&note, &app.object_ref(&())).await;
                        return Err(e);
                    }
                    tracing::warn!(attempt, error = %e, "submission failed");
                    submit_failure = Some(e.to_string());
                    break;
                }
                tracing::info!(attempt, "submitted the driver's objects");
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
            Action::Event { .. } | Action::RequeueAfter(_) => {}
        }
    }
    if let Some(error) = &submit_failure {
        // The decision again, knowing the submission failed.
        decision = reconcile::next(
            &Input {
                submit_error: Some(error),
                ..input
            },
            &ctx.config,
        );
    }
    publish_events(&ctx, &app.object_ref(&()), &decision, age(&app, now)).await;
    if app.status.as_ref() != Some(&decision.status) {
        // The whole status as decided: what it no longer has is removed, and a status read
        // at an older resourceVersion is refused (409) rather than overwritten.
        let old = serde_json::to_value(&app.status).unwrap_or_default();
        let new = serde_json::to_value(&decision.status).unwrap_or_default();
        let patch = json!({
            "metadata": {"resourceVersion": resource_version},
            "status": reconcile::status::merge_patch(&old, &new),
        });
        apps.patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(kube_err("writing the status"))?;
    }
    ctx.metrics.reconciled(started.elapsed());
    ctx.failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&format!("{ns}/{name}"));
    Ok(requeue_of(&decision))
}

/// When to look again: the soonest `RequeueAfter` of the decision, else on the next change.
fn requeue_of(decision: &Decision) -> Requeue {
    decision
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::RequeueAfter(d) => Some(*d),
            _ => None,
        })
        .min()
        .map_or_else(Requeue::await_change, |d| {
            Requeue::requeue(d.max(Duration::from_millis(200)))
        })
}

/// The decision's Events, and the metrics their transitions count.
async fn publish_events(
    ctx: &Ctx,
    reference: &sparkop_api::k8s_openapi::api::core::v1::ObjectReference,
    decision: &Decision,
    age: Duration,
) {
    for action in &decision.actions {
        let Action::Event {
            warning,
            reason,
            message,
            to,
        } = action
        else {
            continue;
        };
        if let Some(state) = to {
            ctx.metrics.transition(*state);
            if *state == ApplicationStateType::Running && decision.status.execution_attempts == 1 {
                ctx.metrics.started(age);
            }
        }
        if *warning {
            tracing::warn!(reason = %reason, "{message}");
        } else {
            tracing::info!(reason = %reason, "{message}");
        }
        let note = Note {
            warning: *warning,
            reason,
            action: "Reconcile",
            note: message,
        };
        let _ = ctx.recorder.publish(&note, reference).await;
    }
}

/// What `next` needs to know about a planned application: its current driver, its executors
/// while they matter, the connections its driver refused.
async fn observe(
    ctx: &Ctx,
    app: &SparkApplication,
    status: &SparkApplicationStatus,
    pods: &Api<Pod>,
    ns: &str,
    names: &Names,
    now: Timestamp,
) -> Result<Observed, RuntimeError> {
    let pod = if status.submission_attempts > 0 {
        pods.get_opt(&names.driver_pod)
            .await
            .map_err(kube_err("reading the driver pod"))?
    } else {
        None
    };
    // Executors exist only while a driver runs; after that, only known ones need settling.
    let driver = reconcile::status::phase_of(pod.as_ref());
    let executors_matter = driver == DriverPhase::Running
        || status
            .executor_state
            .as_ref()
            .is_some_and(|e| !e.is_empty());
    let executors = if status.submission_attempts > 0
        && !reconcile::status::finished(status)
        && executors_matter
    {
        let selector = format!(
            "{}={},{}=executor",
            build::APP_SELECTOR_LABEL,
            names.app_selector,
            build::ROLE_LABEL
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
    let refused = observe_refusals(ctx, pods, ns, &names.driver_pod, &driver).await;
    Ok(Observed {
        now,
        driver,
        spec_hash: reconcile::status::spec_hash(app),
        executors,
        refused,
    })
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

/// An application that does not even deserialize: the refusal `reconcile::reject` decides,
/// written by a merge patch of the raw status.
async fn reject_raw(
    obj: &DynamicObject,
    ctx: &Ctx,
    message: &str,
    now: Timestamp,
) -> Result<Requeue, RuntimeError> {
    let status: SparkApplicationStatus = obj
        .data
        .get("status")
        .cloned()
        .and_then(|s| serde_json::from_value(s).ok())
        .unwrap_or_default();
    let decision = reconcile::reject(&status, message, now);
    if decision.actions.is_empty() {
        return Ok(Requeue::await_change());
    }
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &app_resource());
    let patch = json!({"status": {
        "applicationState": decision.status.application_state,
        "terminationTime": decision.status.termination_time,
    }});
    api.patch_status(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await
    .map_err(kube_err("writing the status"))?;
    publish_events(
        ctx,
        &obj.object_ref(&app_resource()),
        &decision,
        Duration::ZERO,
    )
    .await;
    Ok(Requeue::await_change())
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
        metadata: kube::core::ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(BTreeMap::from([(
                build::APP_NAME_LABEL.to_owned(),
                app.name_any(),
            )])),
            owner_references: serde_json::from_value(owner(app)).ok(),
            ..Default::default()
        },
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
            return Err(RuntimeError::Secret(format!(
                "Secret {:?} with key {:?} (the RPC authentication secret) not found in namespace {ns}",
                r.secret, r.key
            )));
        }
    }
    for g in generated {
        match g {
            Generated::Auth(s) => {
                let secret = sparkop_pki::random_rpc_secret()?;
                let value = secret.as_bytes().to_vec();
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
                let m = sparkop_pki::generate(&req)?;
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
    let objects = build::driver_objects(app, plan, &bctx)?;
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
