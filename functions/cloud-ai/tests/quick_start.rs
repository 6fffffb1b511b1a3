//! The README's quick start, followed as written: its commands (read from the README itself),
//! run in an empty folder with the fake Telegram and the fake Ollama in place of the real ones.
//! Only where those two live is added to the environment (`TELEGRAM_API_URL`, `OLLAMA_URL`).

use std::time::Duration;

use cloud_ai_tests::bot::TOKEN;
use cloud_ai_tests::bot_process::{BotProcess, Conversation, temp_data_dir};
use cloud_ai_tests::fake_model::FakeModel;
use cloud_ai_tests::fake_telegram::FakeTelegram;

const BINARY: &str = env!("CARGO_BIN_EXE_cloud-ai");
const README: &str = include_str!("../../../README.md");
/// The user id the quick start's examples use.
const OWNER: i64 = 123456789;

/// The quick start section.
fn quick_start() -> &'static str {
    let start = README
        .find("## Quick start")
        .expect("README has a quick start");
    let end = start + README[start..].find("\n## ").expect("a section after it");
    &README[start..end]
}

/// The environment of each `cargo run` command of the quick start, in order, with the token
/// the fake Telegram knows in place of the example.
fn run_commands(section: &str) -> Vec<Vec<(String, String)>> {
    section
        .lines()
        .map(str::trim)
        .filter(|line| line.contains("cargo run"))
        .map(|line| {
            line.split_whitespace()
                .take_while(|word| *word != "cargo")
                .map(|assignment| {
                    let (name, value) = assignment.split_once('=').expect("NAME=value");
                    let value = if name == "TELEGRAM_TOKEN" {
                        TOKEN
                    } else {
                        value
                    };
                    (name.to_string(), value.to_string())
                })
                .collect()
        })
        .collect()
}

/// The model the quick start pulls.
fn pulled_model(section: &str) -> &str {
    section
        .lines()
        .find_map(|line| line.trim().strip_prefix("ollama pull "))
        .expect("the quick start pulls a model")
        .trim()
}

/// The text between the first pair of quotes after `marker`, without a trailing " ...".
fn quoted_after(section: &str, marker: &str) -> String {
    let after = &section[section.find(marker).expect("the marker") + marker.len()..];
    let quoted = after.split('"').nth(1).expect("a quoted text");
    quoted
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(" ...")
        .to_string()
}

fn with_fakes(
    mut env: Vec<(String, String)>,
    telegram: &FakeTelegram,
    model: &FakeModel,
) -> Vec<(String, String)> {
    env.push(("TELEGRAM_API_URL".into(), telegram.base_url.clone()));
    env.push(("OLLAMA_URL".into(), model.base_url.clone()));
    env
}

#[tokio::test]
async fn the_quick_start_works_top_to_bottom_as_written() {
    let section = quick_start();
    let commands = run_commands(section);
    assert_eq!(
        commands.len(),
        2,
        "step 3 runs the bot, step 4 runs it as its admin"
    );
    let telegram = FakeTelegram::start(TOKEN).await;
    // Step 2: Ollama with the pulled model.
    let model = FakeModel::start(&[pulled_model(section)]).await;
    let folder = temp_data_dir();
    let conversation = Conversation::new(telegram.clone(), 1);

    // Step 3 and 4: the bot runs; the owner's /start is refused with their user id.
    let mut bot = BotProcess::start_in(
        BINARY,
        &with_fakes(commands[0].clone(), &telegram, &model),
        Some(&folder),
    );
    let refusal = conversation.ask(&bot, OWNER, "/start").await;
    let promised = quoted_after(section, "answers with your user id:");
    assert!(
        refusal.starts_with(&promised),
        "the README promises {promised:?}, the bot said {refusal:?}"
    );
    assert!(model.requests().is_empty());
    bot.terminate(Duration::from_secs(20)).await;

    // Step 4 again, as its admin; step 5: /start, then any message is answered.
    let bot = BotProcess::start_in(
        BINARY,
        &with_fakes(commands[1].clone(), &telegram, &model),
        Some(&folder),
    );
    let greeting = conversation.ask(&bot, OWNER, "/start").await;
    assert!(greeting.starts_with("Hello, Ada!"), "{greeting}");
    // Telegram's command menu is set; the owner's has the admin commands.
    let menu = |scope: &str| -> Vec<String> {
        telegram
            .menu(scope)
            .unwrap_or_default()
            .into_iter()
            .map(|(command, _)| command)
            .collect()
    };
    assert_eq!(&menu("default")[..2], ["start", "help"], "{}", bot.logs());
    assert!(menu(&format!("chat:{OWNER}")).contains(&"allow".to_string()));
    assert!(
        !greeting.contains("⚠️"),
        "the model the quick start pulls is the one it runs with: {greeting}"
    );
    conversation.send(OWNER, "What can you do?");
    conversation
        .wait_for_last_shown(&bot, OWNER, "Echo: What can you do?")
        .await;
    let help = conversation.ask(&bot, OWNER, "/help").await;
    for command in [
        "/newsession",
        "/listsessions",
        "/switch",
        "/archive",
        "/export",
    ] {
        assert!(
            section.contains(command) && help.contains(command),
            "{help}"
        );
    }
    // "What next": the data stays in ./cloud-ai-data.
    assert!(section.contains("`./cloud-ai-data`"));
    assert!(
        folder
            .join("cloud-ai-data")
            .join("cloud-ai.sqlite3")
            .exists(),
        "{}",
        bot.logs()
    );
}

#[tokio::test]
async fn a_default_model_not_pulled_is_named_at_start_up_and_in_the_greeting() {
    let section = quick_start();
    let commands = run_commands(section);
    let telegram = FakeTelegram::start(TOKEN).await;
    // Ollama runs, but the quick start's model was never pulled.
    let model = FakeModel::start(&["qwen2.5:0.5b"]).await;
    let folder = temp_data_dir();
    let conversation = Conversation::new(telegram.clone(), 1);
    let bot = BotProcess::start_in(
        BINARY,
        &with_fakes(commands[1].clone(), &telegram, &model),
        Some(&folder),
    );
    let greeting = conversation.ask(&bot, OWNER, "/start").await;
    let wanted = pulled_model(section);
    assert!(
        greeting.ends_with(&format!(
            "\n\n⚠️ The model {wanted} is not installed on the model backend: /model shows the ones that are."
        )),
        "{greeting}"
    );
    let logs = bot.logs();
    assert!(
        logs.contains(&format!("ollama pull {wanted}")) && logs.contains("qwen2.5:0.5b"),
        "the log says how to pull it and what is there: {logs}"
    );
    let failed = conversation.ask(&bot, OWNER, "Hello?").await;
    assert!(failed.contains("Installed: qwen2.5:0.5b."), "{failed}");
    let chosen = conversation.ask(&bot, OWNER, "/model qwen2.5:0.5b").await;
    assert!(chosen.contains("Your last message goes along"), "{chosen}");
    conversation
        .wait_for_last_shown(&bot, OWNER, "Echo: Hello?")
        .await;
}
