//! Webhook ingress of the one-process bot: the `cloud-ai` binary with `WEBHOOK_URL`, sent a burst
//! of updates as Telegram sends them (POSTs with the secret header, at most `max_connections`
//! = 40 at once). Reports the time from each POST to its answer (200 = the update is durably
//! queued) as p50 and p99, the updates accepted per second, and the time until every update was
//! answered by the fake model in one piece (the throughput bench's polling burst, so the two
//! compare).
//!
//! `cargo bench -p cloud-ai --bench webhook` (`BENCH_USERS` × `BENCH_MESSAGES`, default 200 × 10;
//! `CLOUD_AI_BIN` to measure another build, such as target/release/cloud-ai).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud_ai_tests::bot::TOKEN;
use cloud_ai_tests::bot_process::{BotProcess, chat_bot_env, eventually, temp_data_dir};
use cloud_ai_tests::fake_model::{FakeModel, Script};
use cloud_ai_tests::fake_telegram::FakeTelegram;
use cloud_ai_tests::fixtures;
use tokio::sync::Semaphore;

const SECRET: &str = "bench-webhook-secret";
const ANSWER: &str = "Noted: that is a fine message.";
/// Telegram's default `max_connections`, which the bot asks for.
const CONNECTIONS: usize = 40;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let users = setting("BENCH_USERS", 200);
    let messages = setting("BENCH_MESSAGES", 10);
    let telegram = FakeTelegram::start(TOKEN).await;
    let model = FakeModel::start(&["llama3:latest"]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let local = format!("http://127.0.0.1:{port}");
    telegram.proxy("https://bot.example", &local);
    let data_dir = temp_data_dir();
    let env = chat_bot_env(
        &telegram,
        &data_dir,
        &model,
        &[
            ("RUST_LOG", "warn".to_string()),
            ("WEBHOOK_URL", "https://bot.example/telegram".to_string()),
            ("LISTEN_ADDR", format!("127.0.0.1:{port}")),
            ("WEBHOOK_SECRET", SECRET.to_string()),
        ],
    );
    let binary = std::env::var("CLOUD_AI_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_cloud-ai").to_string());
    let mut bot = BotProcess::start(&binary, &env);
    eventually(
        Duration::from_secs(30),
        "the webhook to be set",
        || telegram.webhook(),
        || bot.logs(),
    )
    .await;

    // The bench POSTs itself, as Telegram would, so the fake's own pacing is not measured.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let post = |update: String| {
        let http = http.clone();
        let url = format!("{local}/telegram");
        async move {
            let started = Instant::now();
            let status = http
                .post(url)
                .header("content-type", "application/json")
                .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                .body(update)
                .send()
                .await
                .expect("the bot answers")
                .status();
            assert_eq!(status.as_u16(), 200);
            started.elapsed()
        }
    };
    // Warm up: one update, so start-up is not measured.
    post(fixtures::text(1, 1, 1, "/start").to_string()).await;
    eventually(
        Duration::from_secs(30),
        "the warm-up reply",
        || (telegram.sent().len() == 1).then_some(()),
        || bot.logs(),
    )
    .await;

    let total = users * messages;
    for _ in 0..total {
        model.script(Script::text(ANSWER, ANSWER.len(), Duration::ZERO));
    }
    let slots = Arc::new(Semaphore::new(CONNECTIONS));
    let started = Instant::now();
    let mut posts = Vec::with_capacity(total);
    for message in 0..messages {
        for user in 0..users {
            let update_id = 10 + (message * users + user) as i64;
            let chat = 1000 + user as i64;
            let update = fixtures::text(update_id, chat, chat, &format!("message {message}"));
            let permit = slots.clone().acquire_owned().await.unwrap();
            let sent = post(update.to_string());
            posts.push(tokio::spawn(async move {
                let took = sent.await;
                drop(permit);
                took
            }));
        }
    }
    let mut latencies = Vec::with_capacity(total);
    for handle in posts {
        latencies.push(handle.await.unwrap());
    }
    let accepted = started.elapsed();
    eventually(
        Duration::from_secs(600),
        "every update answered",
        || (telegram.sent().len() == total + 1).then_some(()),
        || format!("{} of {total} answered", telegram.sent().len() - 1),
    )
    .await;
    let answered = started.elapsed();
    let peak = bot.peak_memory_kib().unwrap_or(0);
    assert!(bot.terminate(Duration::from_secs(30)).await.success());
    latencies.sort();

    println!(
        "webhook ingress: {users} users × {messages} messages = {total} POSTs, {CONNECTIONS} at once"
    );
    println!(
        "POST → queued (answered 200): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0
    );
    println!(
        "accepted: {:.0} updates/s ({:.2} s for all)",
        total as f64 / accepted.as_secs_f64(),
        accepted.as_secs_f64()
    );
    println!(
        "answered: {:.0} updates/s end to end ({:.2} s to the last reply); peak memory {:.1} MiB",
        total as f64 / answered.as_secs_f64(),
        answered.as_secs_f64(),
        peak as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}
