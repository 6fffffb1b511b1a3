//! End-to-end throughput of the one-process bot: the `cloud-ai` binary, the fake Telegram and a
//! fake Ollama that answers at once. A burst of chat messages from many users is queued in
//! Telegram; the clock runs from the burst to the last answer shown. Then the process's peak
//! memory (VmHWM).
//!
//! `cargo bench -p cloud-ai --bench throughput` (set `BENCH_USERS`, `BENCH_MESSAGES` to change
//! the burst: users × messages each; `BENCH_ANSWER=words` for answers streamed word by word
//! instead of in one piece; `WORKERS`, `COMMAND_WORKERS` are passed to the bot; `CLOUD_AI_BIN`
//! to measure another build of the binary).

use std::time::{Duration, Instant};

use cloud_ai_tests::bot::TOKEN;
use cloud_ai_tests::bot_process::{
    BotProcess, Conversation, chat_bot_env, eventually, temp_data_dir,
};
use cloud_ai_tests::fake_model::{FakeModel, Script};
use cloud_ai_tests::fake_telegram::FakeTelegram;

const ANSWER: &str = "Noted: that is a fine message.";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let users = setting("BENCH_USERS", 50);
    let messages = setting("BENCH_MESSAGES", 20);
    let telegram = FakeTelegram::start(TOKEN).await;
    let model = FakeModel::start(&["llama3:latest"]).await;
    let data_dir = temp_data_dir();
    let mut settings = vec![("RUST_LOG", "warn".to_string())];
    // The bot's own settings worth comparing, passed through when given.
    for name in ["WORKERS", "COMMAND_WORKERS"] {
        if let Ok(value) = std::env::var(name) {
            settings.push((name, value));
        }
    }
    let env = chat_bot_env(&telegram, &data_dir, &model, &settings);
    // CLOUD_AI_BIN measures another build (say target/release/cloud-ai) with this harness.
    let binary = std::env::var("CLOUD_AI_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_cloud-ai").to_string());
    let mut bot = BotProcess::start(&binary, &env);
    // Warm up: one exchange, so start-up is not measured.
    let conversation = Conversation::new(telegram.clone(), 1);
    conversation.ask(&bot, 1, "/start").await;

    let total = users * messages;
    // Instant answers: the whole text in one piece, at once; or streamed a word at a time, as
    // fast as the model server writes them.
    let word_by_word = std::env::var("BENCH_ANSWER").is_ok_and(|v| v == "words");
    let piece_chars = if word_by_word { 6 } else { ANSWER.len() };
    for _ in 0..total {
        model.script(Script::text(ANSWER, piece_chars, Duration::ZERO));
    }
    let chats: Vec<i64> = (0..users).map(|user| 1000 + user as i64).collect();
    let answered = || {
        telegram
            .shown_texts(&chats)
            .iter()
            .filter(|((_, text), _)| text == ANSWER)
            .map(|(_, count)| count)
            .sum::<usize>()
    };
    let started = Instant::now();
    for k in 0..messages {
        for user in 0..users {
            conversation.send(1000 + user as i64, &format!("message {k}"));
        }
    }
    eventually(
        Duration::from_secs(600),
        "every answer",
        || (answered() >= total).then_some(()),
        || bot.logs(),
    )
    .await;
    let elapsed = started.elapsed();
    let peak_kib = bot.peak_memory_kib().unwrap_or(0);
    assert!(bot.terminate(Duration::from_secs(30)).await.success());
    assert_eq!(answered(), total, "every message was answered once");
    println!(
        "{total} chat messages from {users} users, answers {}: {:.1} s, {:.0} updates/s end to end; peak memory {:.1} MiB",
        if word_by_word {
            "word by word"
        } else {
            "in one piece"
        },
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        peak_kib as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}
