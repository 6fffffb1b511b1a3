//! Each Lambda binary as Lambda starts it, through a local Runtime API: the cold start (from
//! starting the process to its first request for an event: configuration, the token read from
//! SSM, the AWS clients built) and the peak resident memory (`VmHWM`) after one invocation of
//! its fixture from `events/`, on moto and the fake Telegram. Then each zip's size.
//!
//! `bash scripts/build-lambdas.sh` first (the release binaries the zips hold, in
//! `<target>/lambda/<function>/`; `LAMBDA_DIR` names another folder), then
//! `cargo bench -p cloud-ai-tests --bench cold_start` (`--profile dev` reuses the test build;
//! `BENCH_RUNS` starts of each, default 5).

use std::path::PathBuf;
use std::time::Duration;

use cloud_ai_tests::bot::{TOKEN, TestBot};
use cloud_ai_tests::fixtures;
use cloud_ai_tests::lambda::LambdaProcess;
use cloud_ai_tests::moto::MotoServer;
use cloud_ai_tests::queues::create_fifo_queue;

const FUNCTIONS: [&str; 4] = ["poller", "webhook", "command", "archiver"];

fn lambda_dir() -> PathBuf {
    std::env::var("LAMBDA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let metadata = std::process::Command::new(env!("CARGO"))
                .args(["metadata", "--format-version", "1", "--no-deps"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .expect("cargo metadata runs");
            let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
            PathBuf::from(metadata["target_directory"].as_str().unwrap()).join("lambda")
        })
}

/// The function's environment as the stack gives it, on a fresh table, bucket, queue and bus.
async fn environment(
    function: &str,
    bot: &TestBot,
    moto: &MotoServer,
) -> Vec<(&'static str, String)> {
    let sdk = moto.sdk_config().await;
    let name = uuid::Uuid::new_v4().simple().to_string();
    if function == "webhook" {
        // It holds no token and no table: only its secret and the queue.
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        return vec![
            (
                "WEBHOOK_SECRET_PARAMETER",
                moto.secure_parameter("example-webhook-secret").await,
            ),
            (
                "QUEUE_URL",
                create_fifo_queue(&sqs, &format!("updates-{name}")).await,
            ),
            ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ];
    }
    let mut env = vec![
        (
            "TELEGRAM_TOKEN_PARAMETER",
            moto.secure_parameter(TOKEN).await,
        ),
        ("TELEGRAM_API_URL", bot.telegram.base_url.clone()),
        ("TABLE_NAME", bot.table.clone()),
        ("BUCKET_NAME", bot.bucket.clone()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("ALLOWED_USERS", "@ada_l".to_string()),
    ];
    match function {
        "poller" => {
            let sqs = aws_sdk_sqs::Client::new(&sdk);
            env.push((
                "QUEUE_URL",
                create_fifo_queue(&sqs, &format!("updates-{name}")).await,
            ));
        }
        "command" => {
            let events = aws_sdk_eventbridge::Client::new(&sdk);
            let bus = format!("cloud-ai-{name}");
            events.create_event_bus().name(&bus).send().await.unwrap();
            env.push(("EVENT_BUS_NAME", bus));
        }
        _ => {}
    }
    env
}

/// The `bootstrap` of a zip, unpacked into a folder of its own (Python's zipfile, which the
/// machine has for the tools anyway), executable as Lambda makes it.
fn unzipped_bootstrap(zip: &std::path::Path) -> PathBuf {
    assert!(
        zip.exists(),
        "{} is missing: run `bash scripts/build-lambdas.sh` first",
        zip.display()
    );
    let folder = std::env::temp_dir().join(format!("cloud-ai-zip-{}", uuid::Uuid::new_v4()));
    let unpacked = std::process::Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(zip)
        .arg(&folder)
        .status()
        .expect("python3 unpacks the zip");
    assert!(unpacked.success(), "cannot unpack {}", zip.display());
    let binary = folder.join("bootstrap");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    binary
}

fn fixture(function: &str) -> serde_json::Value {
    let mut event = fixtures::event_file(match function {
        "poller" => "scheduled-event.json",
        "webhook" => "webhook-update.json",
        "command" => "sqs-command.json",
        _ => "archived-event.json",
    });
    if let Some(event) = event.as_object_mut() {
        event.remove("account"); // as moto's events arrive
    }
    event
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = lambda_dir();
    let moto = MotoServer::shared();
    println!(
        "| function | cold start (median, min–max of {runs}) | peak memory after one invocation | zip |"
    );
    println!("| --- | --- | --- | --- |");
    for function in FUNCTIONS {
        let zip = dir.join(function).join("bootstrap.zip");
        let binary = unzipped_bootstrap(&zip);
        let mut starts = Vec::new();
        let mut memory = Vec::new();
        for _ in 0..runs {
            let bot = TestBot::start().await;
            let env = environment(function, &bot, moto).await;
            let mut process =
                LambdaProcess::start(binary.to_str().unwrap(), &env, Duration::from_secs(7)).await;
            starts.push(process.cold_start().await.as_secs_f64() * 1000.0);
            // Its outcome is not the point (the archiver's fixture names no stored session); the
            // memory an invocation takes is.
            let _ = process.invoke(fixture(function)).await;
            memory.push(process.peak_memory_kib() as f64 / 1024.0);
        }
        let _ = std::fs::remove_dir_all(binary.parent().unwrap());
        let zip = std::fs::metadata(&zip).unwrap().len() as f64 / 1e6;
        let low = starts.iter().copied().fold(f64::INFINITY, f64::min);
        let high = starts.iter().copied().fold(0.0, f64::max);
        println!(
            "| {function} | {:.1} ms ({low:.1}–{high:.1}) | {:.1} MiB | {zip:.2} MB |",
            median(starts.clone()),
            median(memory),
        );
    }
}
