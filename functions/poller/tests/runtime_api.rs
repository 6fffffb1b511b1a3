//! The poller binary through the Lambda Runtime API: configuration from the environment, the
//! scheduled event in, updates on the FIFO queue out, JSON logs without the token.

use std::time::Duration;

use cloud_ai_tests::bot::{TOKEN, TestBot};
use cloud_ai_tests::fixtures;
use cloud_ai_tests::lambda::{LambdaProcess, error_message};
use cloud_ai_tests::moto::MotoServer;
use cloud_ai_tests::queues::{create_fifo_queue, drain};

/// The poller's environment, as Terraform gives it, on this bot's table and fake Telegram.
fn poller_env(bot: &TestBot, queue_url: &str, moto: &MotoServer) -> [(&'static str, String); 6] {
    [
        ("TELEGRAM_TOKEN", TOKEN.to_string()),
        ("TELEGRAM_API_URL", bot.telegram.base_url.clone()),
        ("TABLE_NAME", bot.table.clone()),
        ("QUEUE_URL", queue_url.to_string()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("ADMIN_USERS", format!("{ADMIN}, @boss")),
    ]
}

/// The admin of [`poller_env`], who has written to the bot.
const ADMIN: i64 = 7;

fn commands(menu: Option<Vec<(String, String)>>) -> Vec<String> {
    menu.expect("a menu is set")
        .into_iter()
        .map(|(command, _)| command)
        .collect()
}

#[tokio::test]
async fn the_scheduled_event_queues_telegrams_updates() {
    let bot = TestBot::start().await;
    let moto = MotoServer::shared();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let queue_url =
        create_fifo_queue(&sqs, &format!("updates-{}", uuid::Uuid::new_v4().simple())).await;
    bot.telegram
        .queue_update(fixtures::text(42, ADMIN, ADMIN, "hello from the binary"));

    let env = poller_env(&bot, &queue_url, moto);
    let mut function =
        LambdaProcess::start(env!("CARGO_BIN_EXE_poller"), &env, Duration::from_secs(7)).await;
    let response = function
        .invoke(fixtures::event_file("scheduled-event.json"))
        .await
        .unwrap();
    assert_eq!(response["queued"], 1, "{response}");
    let queued = drain(&sqs, &queue_url).await;
    assert_eq!(queued.len(), 1);
    assert!(queued[0].body.contains("hello from the binary"));

    // At its start, the poller set Telegram's command menus from the command table.
    let private = commands(bot.telegram.menu("default"));
    assert_eq!(&private[..2], ["start", "help"]);
    assert!(private.contains(&"newsession".to_string()));
    let group = commands(bot.telegram.menu("all_group_chats"));
    assert!(group.contains(&"history".to_string()) && !group.contains(&"newsession".to_string()));
    let admin = commands(bot.telegram.menu(&format!("chat:{ADMIN}")));
    assert!(admin.contains(&"allow".to_string()), "{admin:?}");

    let logs = function.logs();
    assert!(!logs.contains(TOKEN), "the token leaked into the logs");
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the function logs");
    for line in lines {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
    }
}

#[tokio::test]
async fn missing_configuration_stops_the_start_with_the_variable_named() {
    let env = [
        ("TELEGRAM_TOKEN", TOKEN.to_string()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_string()),
    ];
    let mut function =
        LambdaProcess::start(env!("CARGO_BIN_EXE_poller"), &env, Duration::from_secs(5)).await;
    assert!(!function.exit_status().await.success());
    let logs = function.logs();
    assert!(logs.contains("QUEUE_URL is not set"), "{logs}");
    assert!(!logs.contains(TOKEN));
}

/// A webhook set on the token makes Telegram refuse `getUpdates` with 409: each run says so as an
/// error naming the fix, rather than retrying quietly.
#[tokio::test]
async fn a_webhook_on_the_token_is_an_error_each_run_naming_the_fix() {
    let bot = TestBot::start().await;
    let moto = MotoServer::shared();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let queue_url =
        create_fifo_queue(&sqs, &format!("updates-{}", uuid::Uuid::new_v4().simple())).await;
    bot.telegram.fail_next(
        "getUpdates",
        2,
        cloud_ai_tests::fake_telegram::Failure::webhook_set(),
    );
    let env = poller_env(&bot, &queue_url, moto);
    let mut function =
        LambdaProcess::start(env!("CARGO_BIN_EXE_poller"), &env, Duration::from_secs(7)).await;
    for _ in 0..2 {
        let error = function
            .invoke(fixtures::event_file("scheduled-event.json"))
            .await
            .unwrap_err();
        assert!(
            error_message(&error).contains("deleteWebhook"),
            "the invocation error names the fix: {error}"
        );
    }
    let logs = function.logs();
    let errors: Vec<&str> = logs
        .lines()
        .filter(|l| {
            l.contains("\"level\":\"ERROR\"")
                && l.contains("\"target\":\"poller\"")
                && l.contains("remove it with the Bot API's deleteWebhook")
        })
        .collect();
    assert_eq!(errors.len(), 2, "one error line per run: {logs}");
    assert!(!logs.contains(TOKEN));
}
