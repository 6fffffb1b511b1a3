//! Runs a function binary as Lambda does: a local Runtime API (`/2018-06-01/runtime/...`, as
//! documented for custom runtimes) hands it events and collects its responses and errors.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

type Outcome = Result<Value, Value>;

#[derive(Clone)]
struct Api {
    next: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    init_error: Arc<Mutex<Option<Value>>>,
    deadline_ms: u64,
    /// When the function first asked for an event: the end of its cold start.
    first_next: Arc<std::sync::OnceLock<std::time::Instant>>,
}

pub struct LambdaProcess {
    child: tokio::process::Child,
    invocations: mpsc::UnboundedSender<(String, Value)>,
    api: Api,
    stderr: Arc<Mutex<String>>,
    /// Copies the process's stderr into `stderr` until the process closes it.
    reader: Option<tokio::task::JoinHandle<()>>,
    /// Just before the process was started.
    started: std::time::Instant,
}

async fn next(State(api): State<Api>) -> Response {
    api.first_next.get_or_init(std::time::Instant::now);
    let Some((id, event)) = api.next.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + api.deadline_ms;
    let mut headers = HeaderMap::new();
    headers.insert(
        "Lambda-Runtime-Aws-Request-Id",
        HeaderValue::from_str(&id).unwrap(),
    );
    headers.insert("Lambda-Runtime-Deadline-Ms", HeaderValue::from(deadline));
    headers.insert(
        "Lambda-Runtime-Invoked-Function-Arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:000000000000:function:under-test"),
    );
    headers.insert(
        "Lambda-Runtime-Trace-Id",
        HeaderValue::from_static("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700"),
    );
    (StatusCode::OK, headers, axum::Json(event)).into_response()
}

fn finish(api: &Api, id: &str, outcome: Outcome) -> Response {
    match api.waiting.lock().unwrap().remove(id) {
        Some(waiter) => {
            let _ = waiter.send(outcome);
            (
                StatusCode::ACCEPTED,
                axum::Json(serde_json::json!({"status": "OK"})),
            )
                .into_response()
        }
        None => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn json_or_text(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&api, &id, Ok(json_or_text(&body)))
}

async fn error(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&api, &id, Err(json_or_text(&body)))
}

async fn init_error(State(api): State<Api>, body: Bytes) -> Response {
    *api.init_error.lock().unwrap() = Some(json_or_text(&body));
    StatusCode::ACCEPTED.into_response()
}

/// The `errorMessage` of an invocation error the function reported.
pub fn error_message(error: &serde_json::Value) -> &str {
    error["errorMessage"].as_str().unwrap_or_default()
}

impl LambdaProcess {
    /// Starts `binary` against a fresh Runtime API, with Lambda's variables and `env`.
    /// Each invocation gets `deadline` to run.
    pub async fn start(binary: &str, env: &[(&str, String)], deadline: Duration) -> LambdaProcess {
        let (invocations, receiver) = mpsc::unbounded_channel();
        let api = Api {
            next: Arc::new(tokio::sync::Mutex::new(receiver)),
            waiting: Arc::default(),
            init_error: Arc::default(),
            deadline_ms: deadline.as_millis() as u64,
            first_next: Arc::default(),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });

        let mut command = tokio::process::Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "under-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/under-test")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/25/[$LATEST]0")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = std::time::Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let (stderr, reader) = crate::child_logs::collect(child.stderr.take().unwrap(), usize::MAX);
        LambdaProcess {
            child,
            invocations,
            api,
            stderr,
            reader: Some(reader),
            started,
        }
    }

    /// Its cold start: from starting the process to its first request for an event.
    pub async fn cold_start(&self) -> Duration {
        for _ in 0..3000 {
            if let Some(ready) = self.api.first_next.get() {
                return *ready - self.started;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("the function never asked for an event:\n{}", self.logs());
    }

    /// The process's peak resident memory so far, in KiB (`VmHWM` of `/proc/<pid>/status`).
    pub fn peak_memory_kib(&self) -> u64 {
        let pid = self.child.id().expect("the function is running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }

    /// Invokes the function with `event`; the function's response, or the error it reported.
    pub async fn invoke(&mut self, event: Value) -> Outcome {
        let id = uuid::Uuid::new_v4().to_string();
        let (sender, receiver) = oneshot::channel();
        self.api.waiting.lock().unwrap().insert(id.clone(), sender);
        self.invocations.send((id, event)).unwrap();
        tokio::select! {
            outcome = receiver => outcome.expect("the runtime API answered"),
            status = self.child.wait() => panic!("the function exited ({status:?}) while invoked:\n{}", self.logs()),
            _ = tokio::time::sleep(Duration::from_secs(120)) => panic!("the invocation timed out:\n{}", self.logs()),
        }
    }

    /// Waits for the process to exit (it should, when its start-up fails) and for the last of
    /// its logs.
    pub async fn exit_status(&mut self) -> std::process::ExitStatus {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the function exits")
            .unwrap();
        if let Some(reader) = self.reader.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        status
    }

    /// What the function logged (stderr), so far.
    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}
