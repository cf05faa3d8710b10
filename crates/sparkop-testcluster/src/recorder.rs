//! A recording Kubernetes API server for the spark-submit conformance test: enough of the REST
//! protocol for `spark-submit --deploy-mode cluster` (fabric8 client) to create a driver, and
//! every request kept (method, path, body). Plain HTTP on 127.0.0.1; no storage beyond echoing.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The query string.
    pub query: String,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

/// The running server; stops when dropped.
pub struct RecordingServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

/// The uid the server gives every created object.
pub const UID: &str = "2f0c3c1e-9d1b-4c55-9a51-6e1d3c2b1a00";

impl RecordingServer {
    /// Starts the server.
    pub async fn start() -> std::io::Result<RecordingServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let store = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, store).await;
                });
            }
        });
        Ok(RecordingServer {
            port,
            requests,
            task,
        })
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for RecordingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: TcpStream, store: Arc<Mutex<Vec<Recorded>>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("/").to_owned();
        let mut content_length = 0usize;
        let mut chunked = false;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                if k == "content-length" {
                    content_length = v.parse().unwrap_or(0);
                } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size).await?;
                let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                    .unwrap_or(0);
                let mut chunk = vec![0u8; n + 2];
                reader.read_exact(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else if content_length > 0 {
            body.resize(content_length.min(16 << 20), 0);
            reader.read_exact(&mut body).await?;
        }
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (code, response) = respond(&method, path, &json_body);
        if let Ok(mut r) = store.lock() {
            r.push(Recorded {
                method: method.clone(),
                path: path.to_owned(),
                query: query.to_owned(),
                body: json_body,
            });
        }
        let text = response.to_string();
        let reason = match code {
            200 => "OK",
            201 => "Created",
            _ => "Not Found",
        };
        let head = format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            text.len()
        );
        let stream = reader.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(text.as_bytes()).await?;
    }
}

fn respond(method: &str, path: &str, body: &Value) -> (u16, Value) {
    if path == "/version" {
        return (
            200,
            json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-sparkop-recorder"}),
        );
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let namespace = segments
        .iter()
        .position(|s| *s == "namespaces")
        .and_then(|i| segments.get(i + 1))
        .copied();
    let with_meta = |mut v: Value| {
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("uid".into(), UID.into());
            meta.insert("resourceVersion".into(), "1".into());
            if let Some(ns) = namespace {
                meta.entry("namespace").or_insert(ns.into());
            }
        }
        v
    };
    match method {
        "POST" => (201, with_meta(body.clone())),
        "PATCH" | "PUT" => (200, with_meta(body.clone())),
        "DELETE" => (
            200,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
        ),
        _ if segments.len() % 2 == 1 || segments.last() == Some(&"pods") => (
            200,
            json!({"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []}),
        ),
        _ => (
            404,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}),
        ),
    }
}
