//! Fairness under a flood: 200 users each send a chat message whose answer streams slowly
//! (`BENCH_ANSWER_SECONDS`, default 4 s), then ten other users each send `/echo`, a quarter second
//! apart. The latency of each `/echo` (sent → reply shown) is measured with every worker free
//! for answers (`COMMAND_WORKERS=0`, the dispatcher before the fix) and with the default share
//! kept for commands. WORKERS is the default, 16.
//!
//! `cargo bench -p cloud-ai --bench flood` (`BENCH_FLOOD` changes the 200).

use std::time::{Duration, Instant};

use cloud_ai_tests::bot::TOKEN;
use cloud_ai_tests::bot_process::{
    BotProcess, Conversation, chat_bot_env, eventually, temp_data_dir,
};
use cloud_ai_tests::fake_model::{FakeModel, Script};
use cloud_ai_tests::fake_telegram::FakeTelegram;

const SLOW: &str = "a slow answer, streamed piece by piece";
const PROBES: i64 = 10;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `/echo` latencies, sorted, with `extra` settings.
async fn probe(flood: i64, answer: Duration, extra: &[(&str, String)]) -> Vec<Duration> {
    let telegram = FakeTelegram::start(TOKEN).await;
    let model = FakeModel::start(&["llama3:latest"]).await;
    let data_dir = temp_data_dir();
    let mut settings = vec![("RUST_LOG", "warn".to_string())];
    settings.extend(extra.iter().cloned());
    let env = chat_bot_env(&telegram, &data_dir, &model, &settings);
    let binary = std::env::var("CLOUD_AI_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_cloud-ai").to_string());
    let mut bot = BotProcess::start(&binary, &env);
    let conversation = Conversation::new(telegram.clone(), 1);
    conversation.ask(&bot, 1, "/echo warm").await;

    let pieces = SLOW.len() / 4 + 1;
    let delay = answer / pieces as u32;
    for _ in 0..flood {
        model.script(Script::text(SLOW, 4, delay));
    }
    for user in 0..flood {
        conversation.send(10_000 + user, "tell me a long story");
    }
    // Let the flood take the workers, then probe.
    eventually(
        Duration::from_secs(60),
        "answers being written",
        || (!model.requests().is_empty()).then_some(()),
        || bot.logs(),
    )
    .await;
    let mut sent = Vec::new();
    for probe in 0..PROBES {
        let user = 500 + probe;
        sent.push((user, Instant::now()));
        conversation.send(user, &format!("/echo probe {probe}"));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut latencies = Vec::new();
    for (user, at) in sent {
        // The fake Telegram notes when each message arrived.
        let shown = eventually(
            Duration::from_secs(600),
            "the probe's reply",
            || telegram.chat_messages(user).first().cloned(),
            || bot.logs(),
        )
        .await;
        latencies.push(shown.sent_at.duration_since(at));
    }
    bot.kill().await;
    let _ = std::fs::remove_dir_all(&data_dir);
    latencies.sort();
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main]
async fn main() {
    let flood = setting("BENCH_FLOOD", 200) as i64;
    let answer = Duration::from_secs(setting("BENCH_ANSWER_SECONDS", 4));
    for (label, extra) in [
        (
            "every worker for answers (before)",
            vec![("COMMAND_WORKERS", "0".to_string())],
        ),
        ("a quarter kept for commands (default)", vec![]),
    ] {
        let latencies = probe(flood, answer, &extra).await;
        println!(
            "{flood} users streaming {:.0} s answers, {label}: /echo p50 {:.2} s, p99 {:.2} s",
            answer.as_secs_f64(),
            percentile(&latencies, 0.5).as_secs_f64(),
            percentile(&latencies, 0.99).as_secs_f64(),
        );
    }
}
