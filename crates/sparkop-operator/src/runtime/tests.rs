//! The IO shell against scripted API responses (tower-test): the answers a real API server
//! gives only under faults — 404 where an object vanished, 409 on a create race or a stale
//! write, 500 — and what the operator does with each. The same paths run against a real API
//! server in tests/cluster.rs; these pin the fault handling exactly.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

use super::*;

type Scripted = Handle<Request<Body>, Response<Body>>;

fn status_body(code: u16, reason: &str) -> Body {
    Body::from(
        serde_json::to_vec(&json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("scripted {reason}"), "reason": reason, "code": code,
        }))
        .expect("json"),
    )
}

fn answer(code: u16, reason: &str) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(status_body(code, reason))
        .expect("response")
}

fn ok_json(v: Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&v).expect("json")))
        .expect("response")
}

fn ctx() -> (Arc<Ctx>, Scripted) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let recorder = Publisher::new(client.clone(), "sparkop-test", "");
    let ctx = Arc::new(Ctx {
        client,
        recorder,
        config: reconcile::Config::default(),
        metrics: Arc::new(Metrics::default()),
        selected: None,
        log_marks: Default::default(),
        failures: Default::default(),
    });
    (ctx, handle)
}

/// Expects the next request to be `method` on a path ending with `path_end`, answers it.
async fn expect(handle: &mut Scripted, method: Method, path_end: &str, response: Response<Body>) {
    let (request, send) = handle.next_request().await.expect("a request");
    assert_eq!(request.method(), method, "{}", request.uri());
    let path = request.uri().path().to_owned();
    assert!(
        path.ends_with(path_end),
        "{method} {path} (wanted …{path_end})"
    );
    send.send_response(response);
}

/// The clean-up's deletes after the driver pod's (attempt 0 of `app`), each already gone.
async fn expect_deletes_after_the_pod(handle: &mut Scripted) {
    for (kind, name) in [
        ("configmaps", "app-0-driver-conf"),
        ("services", "app-0-driver-svc"),
        ("networkpolicies", "app-0-policy"),
        ("services", "app-ui-svc"),
    ] {
        expect(
            handle,
            Method::DELETE,
            &format!("/{kind}/{name}"),
            answer(404, "NotFound"),
        )
        .await;
    }
}

fn app_meta(name: &str) -> Arc<PartialObjectMeta<SparkApplication>> {
    Arc::new(
        serde_json::from_value(json!({
            "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
            "metadata": {"name": name, "namespace": "default"},
        }))
        .expect("metadata"),
    )
}

fn app_json(name: &str, finalizers: &[&str], deleting: bool) -> Value {
    let mut v = json!({
        "apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication",
        "metadata": {"name": name, "namespace": "default", "uid": "369ebfaf-7f27-4ead-bd82-1ccb987b2f95",
                      "resourceVersion": "7", "finalizers": finalizers},
        "spec": {"type": "Python", "sparkVersion": "4.3.0", "image": "apache/spark:4.3.0",
                  "mainApplicationFile": "local:///opt/spark/examples/src/main/python/pi.py",
                  "driver": {}, "executor": {}},
        "status": {"submissionAttempts": 1, "executionAttempts": 1,
                    "applicationState": {"state": "RUNNING"}},
    });
    if deleting {
        v["metadata"]["deletionTimestamp"] = "2026-11-30T00:00:00Z".into();
    }
    v
}

#[tokio::test]
async fn an_application_gone_before_its_reconcile_is_left_alone() {
    let (ctx, mut handle) = ctx();
    let api = tokio::spawn(async move {
        expect(
            &mut handle,
            Method::GET,
            "/sparkapplications/vanished",
            answer(404, "NotFound"),
        )
        .await;
        handle
    });
    let result = reconcile_app(app_meta("vanished"), ctx).await;
    assert!(matches!(result, Ok(r) if r == Requeue::await_change()));
    api.await.expect("script");
}

#[tokio::test]
async fn a_server_error_reading_the_application_is_an_error_to_retry() {
    let (ctx, mut handle) = ctx();
    let api = tokio::spawn(async move {
        expect(
            &mut handle,
            Method::GET,
            "/sparkapplications/busy",
            answer(500, "InternalError"),
        )
        .await;
    });
    let err = reconcile_app(app_meta("busy"), ctx)
        .await
        .expect_err("an error");
    assert!(err.to_string().contains("reading the application"), "{err}");
    api.await.expect("script");
}

#[tokio::test]
async fn a_secret_created_by_a_racing_operator_is_accepted() {
    let (ctx, mut handle) = ctx();
    let api = tokio::spawn(async move {
        expect(
            &mut handle,
            Method::GET,
            "/secrets/app-sparkop-auth",
            answer(404, "NotFound"),
        )
        .await;
        expect(
            &mut handle,
            Method::POST,
            "/secrets",
            answer(409, "AlreadyExists"),
        )
        .await;
    });
    let app: SparkApplication = serde_json::from_value(app_json("app", &[], false)).expect("app");
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), "default");
    let data = BTreeMap::from([("secret".to_owned(), b"x".to_vec())]);
    create_secret_once(&secrets, "app-sparkop-auth", &app, data)
        .await
        .expect("409 on create means it exists: fine");
    api.await.expect("script");
}

#[tokio::test]
async fn deleting_what_is_already_gone_is_fine_but_a_server_error_is_not() {
    let (ctx, mut handle) = ctx();
    let api = tokio::spawn(async move {
        expect(
            &mut handle,
            Method::DELETE,
            "/pods/gone",
            answer(404, "NotFound"),
        )
        .await;
        expect(
            &mut handle,
            Method::DELETE,
            "/pods/stuck",
            answer(500, "InternalError"),
        )
        .await;
    });
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), "default");
    delete_if_present(pods.clone(), "gone")
        .await
        .expect("404 is done");
    let err = delete_if_present(pods, "stuck").await.expect_err("500");
    assert!(err.to_string().contains("deleting stuck"), "{err}");
    api.await.expect("script");
}

#[tokio::test]
async fn a_deleted_application_keeps_its_finalizer_until_its_driver_is_gone() {
    let (ctx, mut handle) = ctx();
    let deleting = app_json("app", &[cleanup::FINALIZER], true);
    let script = {
        let deleting = deleting.clone();
        tokio::spawn(async move {
            expect(
                &mut handle,
                Method::GET,
                "/sparkapplications/app",
                ok_json(deleting),
            )
            .await;
            // The attempt's objects: the driver pod first.
            expect(
                &mut handle,
                Method::DELETE,
                "/pods/app-0-driver",
                ok_json(json!({})),
            )
            .await;
            expect_deletes_after_the_pod(&mut handle).await;
            // The pod is still terminating: no finalizer write, look again soon.
            expect(
                &mut handle,
                Method::GET,
                "/pods/app-0-driver",
                ok_json(json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app-0-driver"}})),
            )
            .await;
            handle
        })
    };
    let r = reconcile_app(app_meta("app"), ctx.clone())
        .await
        .expect("ok");
    assert_eq!(r, Requeue::requeue(std::time::Duration::from_secs(1)));
    let mut handle = script.await.expect("script");

    // Next time the pod is gone: the finalizer is removed with the version read (a stale
    // write would get 409 and be retried).
    let script = tokio::spawn(async move {
        expect(
            &mut handle,
            Method::GET,
            "/sparkapplications/app",
            ok_json(deleting),
        )
        .await;
        expect(
            &mut handle,
            Method::DELETE,
            "/pods/app-0-driver",
            answer(404, "NotFound"),
        )
        .await;
        expect_deletes_after_the_pod(&mut handle).await;
        expect(
            &mut handle,
            Method::GET,
            "/pods/app-0-driver",
            answer(404, "NotFound"),
        )
        .await;
        let (request, send) = handle.next_request().await.expect("finalizer write");
        assert_eq!(request.method(), Method::PATCH);
        let body = request.into_body().collect_bytes().await.expect("body");
        let patch: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(patch["metadata"]["finalizers"], json!([]));
        assert_eq!(patch["metadata"]["resourceVersion"], "7");
        send.send_response(answer(409, "Conflict"));
    });
    let err = reconcile_app(app_meta("app"), ctx).await.expect_err("409");
    assert!(err.to_string().contains("finalizers"), "{err}");
    script.await.expect("script");
}
