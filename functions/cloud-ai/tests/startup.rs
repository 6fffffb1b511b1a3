//! What a user sees when the one-process bot cannot start: one clear line naming the problem, a
//! failure exit code, no panic and never the token.

use std::time::Duration;

use cloud_ai_tests::bot::TOKEN;
use cloud_ai_tests::bot_process::{BotProcess, bot_env, eventually, temp_data_dir};
use cloud_ai_tests::fake_model::unreachable_url;
use cloud_ai_tests::fake_telegram::FakeTelegram;

const BINARY: &str = env!("CARGO_BIN_EXE_cloud-ai");

/// Runs the bot with `env` until it exits by itself; its stderr.
async fn failed_start(env: &[(String, String)]) -> String {
    let mut bot = BotProcess::start(BINARY, env);
    let status = bot
        .wait(Duration::from_secs(60))
        .await
        .unwrap_or_else(|| panic!("the bot kept running:\n{}", bot.logs()));
    let logs = bot.logs();
    assert_eq!(status.code(), Some(1), "{logs}");
    assert!(!logs.contains("panicked"), "{logs}");
    assert!(!logs.contains(TOKEN), "the token leaked: {logs}");
    assert!(
        !logs.contains('\x1b'),
        "no colour codes off a terminal: {logs}"
    );
    // The error line is printed once, not also as a log line.
    let error_line = logs
        .lines()
        .find(|l| l.starts_with("cloud-ai: "))
        .unwrap_or_else(|| panic!("no error line: {logs}"));
    let message = error_line.trim_start_matches("cloud-ai: ");
    assert_eq!(
        logs.matches(message).count(),
        1,
        "said more than once: {logs}"
    );
    logs
}

fn without(env: Vec<(String, String)>, name: &str) -> Vec<(String, String)> {
    env.into_iter().filter(|(k, _)| k != name).collect()
}

#[tokio::test]
async fn a_missing_token_is_named() {
    let telegram = FakeTelegram::start(TOKEN).await;
    let data_dir = temp_data_dir();
    let env = without(bot_env(&telegram, &data_dir, &[]), "TELEGRAM_TOKEN");
    let logs = failed_start(&env).await;
    assert!(
        logs.contains("cloud-ai: configuration: TELEGRAM_TOKEN is not set"),
        "{logs}"
    );
}

#[tokio::test]
async fn an_unreachable_telegram_is_named_with_its_address() {
    let telegram = FakeTelegram::start(TOKEN).await;
    let data_dir = temp_data_dir();
    let url = unreachable_url().await;
    let logs = failed_start(&bot_env(
        &telegram,
        &data_dir,
        &[("TELEGRAM_API_URL", url.clone())],
    ))
    .await;
    assert!(
        logs.contains(&format!("cloud-ai: cannot reach Telegram at {url}")),
        "{logs}"
    );
    // The cause, not just "error sending request".
    assert!(logs.to_lowercase().contains("connection refused"), "{logs}");
}

#[tokio::test]
async fn a_token_telegram_refuses_is_reported_without_printing_it() {
    let telegram = FakeTelegram::start("999:another-bot").await;
    let data_dir = temp_data_dir();
    let logs = failed_start(&bot_env(&telegram, &data_dir, &[])).await;
    assert!(
        logs.contains(
            "cloud-ai: Telegram refused the bot token (401 Unauthorized): check TELEGRAM_TOKEN"
        ),
        "{logs}"
    );
}

#[tokio::test]
async fn an_unwritable_data_folder_is_named() {
    let telegram = FakeTelegram::start(TOKEN).await;
    // A folder inside a regular file cannot be made, whoever runs the test (root included).
    let file = temp_data_dir().join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let data_dir = file.join("data");
    let logs = failed_start(&bot_env(&telegram, &data_dir, &[])).await;
    assert!(
        logs.contains(&format!(
            "cloud-ai: cannot use the data folder {}",
            data_dir.display()
        )),
        "{logs}"
    );
}

#[tokio::test]
async fn a_second_bot_on_the_same_data_folder_is_refused() {
    let telegram = FakeTelegram::start(TOKEN).await;
    let data_dir = temp_data_dir();
    let env = bot_env(&telegram, &data_dir, &[]);
    let mut first = BotProcess::start(BINARY, &env);
    eventually(
        Duration::from_secs(30),
        "the first bot to start",
        || first.logs().contains("cloud-ai started").then_some(()),
        || first.logs(),
    )
    .await;
    let logs = failed_start(&env).await;
    assert!(
        logs.contains("another cloud-ai is already running on the data folder"),
        "{logs}"
    );
    assert!(first.terminate(Duration::from_secs(30)).await.success());
}

#[tokio::test]
async fn a_damaged_database_is_named_at_start() {
    let telegram = FakeTelegram::start(TOKEN).await;
    let data_dir = temp_data_dir();
    let env = bot_env(&telegram, &data_dir, &[]);
    let mut bot = BotProcess::start(BINARY, &env);
    let chat = cloud_ai_tests::bot_process::Conversation::new(telegram.clone(), 1);
    for n in 0..30 {
        chat.ask(
            &bot,
            77,
            &format!("/echo fill page {n} {}", "x".repeat(500)),
        )
        .await;
    }
    assert!(bot.terminate(Duration::from_secs(20)).await.success());
    // Scribble over the middle of the file, past its header.
    let file = data_dir.join("cloud-ai.sqlite3");
    let mut bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() > 3 * 4096, "{} bytes", bytes.len());
    let middle = bytes.len() / 2;
    bytes[middle..middle + 2048].fill(0xA5);
    std::fs::write(&file, bytes).unwrap();

    let logs = failed_start(&env).await;
    assert!(logs.contains("cloud-ai.sqlite3 is damaged"), "{logs}");
}
