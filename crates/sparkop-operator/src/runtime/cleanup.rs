//! Finalizer-based clean-up. An application that has run a driver carries sparkop's
//! finalizer; when it is deleted, its current attempt's objects are deleted and the finalizer
//! is released only once the driver pod is gone. Owner references would collect the objects
//! too, but in the background: a new application of the same name could meet the old driver
//! pod under its deterministic name, and without the garbage collector nothing would remove it.

use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::core::DynamicObject;
use kube::runtime::controller::Action as Requeue;
use serde_json::json;
use sparkop_api::k8s_openapi::api::core::v1::Pod;

use super::{Ctx, RuntimeError, app_resource, delete_attempt, kube_err};
use crate::build::Names;

/// sparkop's finalizer on SparkApplications.
pub const FINALIZER: &str = "sparkoperator.k8s.io/sparkop-cleanup";

/// The application's finalizers, from its metadata.
fn finalizers(meta: &kube::core::ObjectMeta) -> Vec<String> {
    meta.finalizers.clone().unwrap_or_default()
}

/// Whether `meta` carries sparkop's finalizer.
pub fn has_finalizer(meta: &kube::core::ObjectMeta) -> bool {
    finalizers(meta).iter().any(|f| f == FINALIZER)
}

/// Writes `list` as the finalizers, if the application is still at `meta`'s resourceVersion
/// (a conflict means someone else changed it: the next reconcile sees their change).
async fn write(
    ctx: &Ctx,
    ns: &str,
    meta: &kube::core::ObjectMeta,
    list: Vec<String>,
) -> Result<Option<String>, RuntimeError> {
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), ns, &app_resource());
    let patch = json!({"metadata": {
        "finalizers": list,
        "resourceVersion": meta.resource_version,
    }});
    let written = api
        .patch(
            meta.name.as_deref().unwrap_or_default(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(kube_err("writing the application's finalizers"))?;
    Ok(written.metadata.resource_version)
}

/// Adds sparkop's finalizer before the first driver is created; returns the application's
/// new resourceVersion.
pub async fn add(
    ctx: &Ctx,
    ns: &str,
    meta: &kube::core::ObjectMeta,
) -> Result<Option<String>, RuntimeError> {
    let mut list = finalizers(meta);
    list.push(FINALIZER.to_owned());
    write(ctx, ns, meta, list).await
}

/// The deleted application's clean-up: delete attempt `attempt`'s objects, and release the
/// finalizer once its driver pod is gone (until then, look again shortly).
pub async fn finish(
    ctx: &Ctx,
    ns: &str,
    meta: &kube::core::ObjectMeta,
    attempt: u32,
) -> Result<Requeue, RuntimeError> {
    if !has_finalizer(meta) {
        return Ok(Requeue::await_change());
    }
    let names = Names::new(
        meta.name.as_deref().unwrap_or_default(),
        meta.uid.as_deref().unwrap_or_default(),
        attempt,
    );
    delete_attempt(ctx, ns, &names).await?;
    super::delete_if_present(
        Api::<sparkop_api::k8s_openapi::api::core::v1::Service>::namespaced(ctx.client.clone(), ns),
        &names.ui_service,
    )
    .await?;
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    if pods
        .get_metadata_opt(&names.driver_pod)
        .await
        .map_err(kube_err("reading the driver pod"))?
        .is_some()
    {
        return Ok(Requeue::requeue(Duration::from_secs(1)));
    }
    let rest: Vec<String> = finalizers(meta)
        .into_iter()
        .filter(|f| f != FINALIZER)
        .collect();
    write(ctx, ns, meta, rest).await?;
    Ok(Requeue::await_change())
}
