//! LocalStack as it is since March 2026: the compose file starts the last release that runs
//! without an account unless told otherwise, passes an auth token through, and turns persistence
//! on only when asked; `scripts/stack.sh ready` (and so `deploy`) waits for the services the stack
//! needs and says plainly what is missing. No Docker daemon runs here: the compose file is read
//! with its interpolation applied as Compose documents it, and LocalStack's health endpoint and
//! Docker's answers are played by the test.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use cloud_ai_tests::moto::MotoServer;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `docker-compose.yml` as YAML reads it (PyYAML, which comes with moto in `.venv/tools`).
fn compose_file() -> Value {
    let python = cloud_ai_tests::moto::python();
    let output = Command::new(&python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(repo().join("docker-compose.yml"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} (run scripts/setup.sh): {e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Compose's interpolation of `value` in the shell environment `env`: `${NAME:-default}` is
/// NAME when it is set and not empty, else the default; `${NAME}` is NAME or empty.
fn interpolate(value: &str, env: &HashMap<&str, &str>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed ${...}") + start;
        let inner = &rest[start + 2..end];
        let (name, default) = inner.split_once(":-").unwrap_or((inner, ""));
        match env.get(name).filter(|v| !v.is_empty()) {
            Some(v) => out.push_str(v),
            None => out.push_str(default),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The LocalStack service as Compose would start it in the shell environment `env`: its image
/// and its container environment.
fn localstack_as_started(env: &[(&str, &str)]) -> (String, HashMap<String, String>) {
    let env: HashMap<&str, &str> = env.iter().copied().collect();
    let compose = compose_file();
    let service = &compose["services"]["localstack"];
    let image = interpolate(service["image"].as_str().unwrap(), &env);
    let environment = service["environment"]
        .as_object()
        .expect("environment as a map")
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            (k.clone(), interpolate(&v, &env))
        })
        .collect();
    (image, environment)
}

/// The services `scripts/stack.sh` waits for.
fn services_the_stack_needs() -> Vec<String> {
    let script = std::fs::read_to_string(repo().join("scripts/stack.sh")).unwrap();
    let line = script
        .lines()
        .find_map(|l| l.strip_prefix("localstack_services="))
        .expect("stack.sh names the services it needs");
    line.trim_matches('"')
        .split(',')
        .map(str::to_string)
        .collect()
}

#[test]
fn the_compose_file_starts_the_free_release_and_passes_a_token_through() {
    // Nothing set: the last release that starts without an account, no token, no persistence.
    let (image, environment) = localstack_as_started(&[]);
    assert_eq!(image, "localstack/localstack:4.14.0");
    assert_eq!(environment["LOCALSTACK_AUTH_TOKEN"], "");
    assert_eq!(environment["PERSISTENCE"], "0", "the free image ignores it");

    // A user with an account: their image, their token, persistence when they ask.
    let (image, environment) = localstack_as_started(&[
        ("LOCALSTACK_IMAGE", "localstack/localstack:2026.11"),
        ("LOCALSTACK_AUTH_TOKEN", "ls-token-1234"),
        ("LOCALSTACK_PERSISTENCE", "1"),
    ]);
    assert_eq!(image, "localstack/localstack:2026.11");
    assert_eq!(environment["LOCALSTACK_AUTH_TOKEN"], "ls-token-1234");
    assert_eq!(environment["PERSISTENCE"], "1");

    let compose = compose_file();
    let service = &compose["services"]["localstack"];
    let health = service["healthcheck"]["test"].to_string();
    assert!(health.contains("/_localstack/health"), "{health}");
    let started: Vec<String> = localstack_as_started(&[]).1["SERVICES"]
        .split(',')
        .map(str::to_string)
        .collect();
    for needed in services_the_stack_needs() {
        assert!(
            started.contains(&needed),
            "stack.sh waits for {needed}, which the compose file does not start: {started:?}"
        );
    }
}

/// Runs `scripts/stack.sh <args>` against `endpoint` with `extra` in its environment; (exit
/// code, stdout, stderr). Its Terraform directory is an empty one of its own, so a wait that
/// wrongly let `deploy` through could change nothing.
fn stack_sh(args: &[&str], endpoint: &str, extra: &[(&str, &str)]) -> (i32, String, String) {
    let terraform = std::env::temp_dir().join(format!("stack-sh-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&terraform).unwrap();
    let mut command = Command::new("bash");
    command
        .env("TF_DIR", &terraform)
        .arg(repo().join("scripts/stack.sh"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("LOCALSTACK_WAIT_SECONDS", "1")
        .env_remove("TF_VAR_ingress");
    for (name, value) in extra {
        command.env(name, value);
    }
    let output = command.output().expect("run scripts/stack.sh");
    std::fs::remove_dir_all(&terraform).unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn deploy_against_an_endpoint_that_is_not_localstack_stops_before_terraform() {
    let moto = MotoServer::shared();
    let (code, stdout, stderr) = stack_sh(
        &["deploy"],
        &moto.endpoint,
        &[("TELEGRAM_TOKEN", "123456:not-a-real-token")],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "LocalStack at {} was not ready within 1 s: {} answers, but not /_localstack/health",
            moto.endpoint, moto.endpoint
        )),
        "{stderr}"
    );
    assert!(
        !stdout.contains("Terraform") && !stderr.contains("Terraform"),
        "terraform never ran: {stdout}\n{stderr}"
    );
}

/// A LocalStack health endpoint whose answer the test sets.
async fn fake_localstack(health: Value) -> (String, Arc<Mutex<Value>>) {
    let health = Arc::new(Mutex::new(health));
    let app = Router::new()
        .route(
            "/_localstack/health",
            get(
                |State(h): State<Arc<Mutex<Value>>>| async move { Json(h.lock().unwrap().clone()) },
            ),
        )
        .with_state(health.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), health)
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_names_the_services_localstack_has_not_started() {
    let mut services: serde_json::Map<String, Value> = services_the_stack_needs()
        .into_iter()
        .map(|s| (s, json!("available")))
        .collect();
    services.insert("lambda".into(), json!("error"));
    services.remove("ssm");
    let (endpoint, health) = fake_localstack(json!({
        "edition": "community", "version": "4.14.0", "services": services
    }))
    .await;
    let ready = |endpoint: String, extra: &'static [(&'static str, &'static str)]| {
        tokio::task::spawn_blocking(move || stack_sh(&["ready"], &endpoint, extra))
    };
    let (code, _, stderr) = ready(endpoint.clone(), &[]).await.unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "was not ready within 1 s: not ready: lambda (error), ssm (not in its SERVICES)"
        ),
        "{stderr}"
    );

    // Every service up: ready says which LocalStack it found.
    services.insert("lambda".into(), json!("running"));
    services.insert("ssm".into(), json!("available"));
    *health.lock().unwrap() = json!({
        "edition": "community", "version": "4.14.0", "services": services
    });
    let (code, stdout, stderr) = ready(endpoint.clone(), &[]).await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with(&format!(
            "LocalStack 4.14.0 (community) at {endpoint} serves dynamodb,"
        )),
        "{stdout}"
    );

    // Webhook ingress needs API Gateway v2, which the free image does not serve.
    let (code, _, stderr) = ready(endpoint, &[("TF_VAR_ingress", "webhook")])
        .await
        .unwrap();
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "webhook ingress needs API Gateway v2, which LocalStack serves only with an account"
        ),
        "{stderr}"
    );
}

#[test]
fn a_localstack_that_refused_to_start_for_want_of_a_token_is_named() {
    // Nothing listens; Docker (played by a script first on PATH) says the container exited with
    // LocalStack's code 55 and logged the account requirement.
    let bin = std::env::temp_dir().join(format!("fake-docker-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&bin).unwrap();
    let docker = bin.join("docker");
    std::fs::write(
        &docker,
        r#"#!/bin/sh
case "$1" in
  version) echo "27.0.0" ;;
  inspect) case "$3" in
             *ExitCode*) echo "exited 55" ;;
             *Image*) echo "localstack/localstack:latest" ;;
           esac ;;
  logs) echo "The license activation failed for the following reason:"
        echo "LocalStack requires an account to run." ;;
  *) exit 1 ;;
esac
"#,
    )
    .unwrap();
    std::fs::set_permissions(&docker, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let nowhere = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let (code, _, stderr) = stack_sh(&["ready"], &nowhere, &[("PATH", &path)]);
    std::fs::remove_dir_all(&bin).unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("nothing answers at {nowhere}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "LocalStack refused to start: localstack/localstack:latest needs an account. Set LOCALSTACK_AUTH_TOKEN"
        ) && stderr.contains("localstack/localstack:4.14.0, the last release that starts without one"),
        "{stderr}"
    );
}
