//! The one-process bot with webhook ingress (`WEBHOOK_URL`, `LISTEN_ADDR`), end to end through
//! the fake Telegram, which POSTs each update to the bot through a stand-in reverse proxy, with
//! the secret header, and retries until it is answered 2xx, as Telegram does.

use std::time::Duration;

use cloud_ai_tests::bot::TOKEN;
use cloud_ai_tests::bot_process::{BotProcess, bot_env, eventually, temp_data_dir};
use cloud_ai_tests::fake_telegram::FakeTelegram;
use cloud_ai_tests::fixtures::REFERENCE_ARCHIVE;
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_cloud-ai");
/// The public address the user's reverse proxy serves (Telegram posts only to HTTPS).
const PUBLIC: &str = "https://bot.example";
const WEBHOOK_URL: &str = "https://bot.example/telegram";
const SECRET: &str = "webhook_secret-for-tests";
const WAIT: Duration = Duration::from_secs(30);

/// A port nothing listens on now, for `LISTEN_ADDR`.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct WebhookBot {
    telegram: FakeTelegram,
    data_dir: std::path::PathBuf,
    local: String,
    env: Vec<(String, String)>,
}

impl WebhookBot {
    async fn new() -> WebhookBot {
        let telegram = FakeTelegram::start(TOKEN).await;
        let port = free_port();
        let local = format!("http://127.0.0.1:{port}");
        telegram.proxy(PUBLIC, &local);
        let data_dir = temp_data_dir();
        let env = bot_env(
            &telegram,
            &data_dir,
            &[
                ("WEBHOOK_URL", WEBHOOK_URL.to_string()),
                ("LISTEN_ADDR", format!("127.0.0.1:{port}")),
                ("WEBHOOK_SECRET", SECRET.to_string()),
            ],
        );
        WebhookBot {
            telegram,
            data_dir,
            local,
            env,
        }
    }

    /// Starts the bot and waits until its webhook is set.
    async fn start(&self) -> BotProcess {
        let bot = BotProcess::start(BINARY, &self.env);
        eventually(
            WAIT,
            "the webhook to be set",
            || self.telegram.webhook(),
            || bot.logs(),
        )
        .await;
        bot
    }

    async fn post(&self, secret: Option<&str>, body: &str) -> u16 {
        let mut request = reqwest::Client::new()
            .post(format!("{}/telegram", self.local))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.send().await.unwrap().status().as_u16()
    }
}

/// The update fixtures of `events/updates`, in update order (they walk the command table).
fn fixtures() -> Vec<(String, Value)> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/updates");
    let mut all: Vec<(String, Value)> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            let update = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            (name, update)
        })
        .collect();
    all.sort_by_key(|(_, update)| update["update_id"].as_i64().unwrap());
    all
}

#[tokio::test]
async fn the_command_table_runs_through_the_webhook_and_strangers_are_refused() {
    let setup = WebhookBot::new().await;
    setup.telegram.add_file_with_id(
        "BQACAgIAAxkBAAIBFixture",
        REFERENCE_ARCHIVE.as_bytes().to_vec(),
    );
    let mut bot = setup.start().await;
    assert_eq!(
        setup.telegram.webhook(),
        Some((WEBHOOK_URL.to_string(), Some(SECRET.to_string())))
    );
    assert_eq!(
        setup.telegram.webhook_allowed_updates(),
        ["message"],
        "only what the bot handles"
    );
    let health = reqwest::get(format!("{}/healthz", setup.local))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    // Someone who found the URL, without the secret or with a wrong one.
    let forged = r#"{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 666, "type": "private"}, "from": {"id": 666, "is_bot": false, "first_name": "Eve"}, "text": "/start"}}"#;
    assert_eq!(setup.post(None, forged).await, 401);
    assert_eq!(
        setup.post(Some("webhook_secret-for-test"), forged).await,
        401
    );
    assert_eq!(setup.post(Some(SECRET), "{not an update").await, 200);

    let all = fixtures();
    assert!(all.len() >= 20, "fixtures for every command");
    for (_, update) in &all {
        setup.telegram.queue_update(update.clone());
    }
    // Edits and callback queries are not asked for, so Telegram never sends them.
    let answered = all.len() - 2;
    let sent = eventually(
        WAIT,
        "a reply to every message fixture",
        || {
            let sent = setup.telegram.sent();
            (sent.len() >= answered && setup.telegram.pending_updates() == 0).then_some(sent)
        },
        || format!("sent {:?}\n{}", setup.telegram.sent(), bot.logs()),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        setup.telegram.sent().len(),
        answered,
        "one reply each: {sent:?}"
    );
    assert!(sent.iter().all(|s| s.chat_id() != 666), "Eve got nothing");
    let texts = setup.telegram.texts();
    for expected in [
        "Archived session 1",
        "Imported the archive as archive 2",
        "I don't know the command /dance.",
        "hello from a fixture",
    ] {
        assert!(
            texts.iter().any(|t| t.starts_with(expected)),
            "{expected}: {texts:?}"
        );
    }
    let deliveries = setup.telegram.webhook_deliveries();
    assert_eq!(deliveries.len(), answered, "{deliveries:?}");
    assert!(deliveries.iter().all(|d| d.status == 200), "{deliveries:?}");

    // A clean stop removes the webhook; the updates sent meanwhile wait at Telegram.
    assert!(bot.terminate(WAIT).await.success(), "{}", bot.logs());
    assert_eq!(setup.telegram.webhook(), None);
    let logs = bot.logs();
    assert!(!logs.contains(SECRET), "the secret shows in the logs");
    assert!(!logs.contains(TOKEN), "the token shows in the logs");
    let _ = std::fs::remove_dir_all(&setup.data_dir);
}

/// Killed with the webhook still set: Telegram's POSTs fail and are retried until the bot is
/// back, and the update is answered once.
#[tokio::test]
async fn updates_sent_while_the_bot_is_down_are_answered_once_it_is_back() {
    let setup = WebhookBot::new().await;
    let mut bot = setup.start().await;
    bot.kill().await;
    setup.telegram.queue_update(cloud_ai_tests::fixtures::text(
        77,
        5150,
        5150,
        "/echo still there",
    ));
    eventually(
        WAIT,
        "a failed POST",
        || {
            setup
                .telegram
                .webhook_deliveries()
                .iter()
                .any(|d| d.status != 200)
                .then_some(())
        },
        String::new,
    )
    .await;
    let bot = setup.start().await;
    eventually(
        WAIT,
        "the answer",
        || (setup.telegram.texts() == ["still there"]).then_some(()),
        || format!("{:?}\n{}", setup.telegram.texts(), bot.logs()),
    )
    .await;
    let failed = setup
        .telegram
        .webhook_deliveries()
        .iter()
        .filter(|d| d.status != 200)
        .count();
    assert!(failed >= 1, "Telegram retried");
    let _ = std::fs::remove_dir_all(&setup.data_dir);
}

/// Another program's webhook on the token: neither mode starts, each saying why in one line.
#[tokio::test]
async fn a_webhook_that_is_not_ours_stops_either_start() {
    let setup = WebhookBot::new().await;
    let set = reqwest::Client::new()
        .post(format!("{}/bot{TOKEN}/setWebhook", setup.telegram.base_url))
        .json(&serde_json::json!({"url": "https://other.example/hook"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 200);

    let mut webhook_bot = BotProcess::start(BINARY, &setup.env);
    let status = webhook_bot.wait(WAIT).await.expect("the start ends");
    assert!(!status.success());
    let logs = webhook_bot.logs();
    assert!(
        logs.contains("already has a webhook at https://other.example/hook"),
        "{logs}"
    );

    let polling_env: Vec<(String, String)> = setup
        .env
        .iter()
        .filter(|(k, _)| !k.starts_with("WEBHOOK_") && k != "LISTEN_ADDR")
        .cloned()
        .collect();
    let mut polling_bot = BotProcess::start(BINARY, &polling_env);
    let status = polling_bot.wait(WAIT).await.expect("the start ends");
    assert!(!status.success());
    assert!(
        polling_bot.logs().contains("deleteWebhook"),
        "{}",
        polling_bot.logs()
    );
    assert_eq!(
        setup.telegram.webhook().map(|(url, _)| url).as_deref(),
        Some("https://other.example/hook"),
        "the other program's webhook is left alone"
    );
    let _ = std::fs::remove_dir_all(&setup.data_dir);
}

/// A port already taken, and a webhook URL Telegram refuses: each stops the start in one line.
#[tokio::test]
async fn a_taken_port_or_a_refused_url_stops_the_start() {
    let setup = WebhookBot::new().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut env = setup.env.clone();
    env.retain(|(k, _)| k != "LISTEN_ADDR");
    env.push((
        "LISTEN_ADDR".into(),
        taken.local_addr().unwrap().to_string(),
    ));
    let mut bot = BotProcess::start(BINARY, &env);
    assert!(!bot.wait(WAIT).await.expect("the start ends").success());
    assert!(
        bot.logs().contains("cannot listen on LISTEN_ADDR"),
        "{}",
        bot.logs()
    );
    assert_eq!(setup.telegram.webhook(), None, "nothing registered");

    let mut env = setup.env.clone();
    env.retain(|(k, _)| k != "WEBHOOK_URL");
    env.push((
        "WEBHOOK_URL".into(),
        "https://bot.example:9999/telegram".into(),
    ));
    let mut bot = BotProcess::start(BINARY, &env);
    assert!(!bot.wait(WAIT).await.expect("the start ends").success());
    let logs = bot.logs();
    assert!(
        logs.contains("Telegram refused the webhook https://bot.example:9999/telegram")
            && logs.contains("ports 80, 88, 443 or 8443"),
        "{logs}"
    );
    assert!(!logs.contains(SECRET));
    let _ = std::fs::remove_dir_all(&setup.data_dir);
}
