//! The same binary on the cloud's storage (`STORAGE=aws`): sessions and events in the DynamoDB
//! table, archives in the S3 bucket (moto here; LocalStack or AWS alike), with no Lambda deployed.

use std::time::Duration;

use cloud_ai_shared::domain::events::Event;
use cloud_ai_shared::store::OffsetStore;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::bot_process::{BotProcess, Conversation, bot_env, stdout_of, temp_data_dir};
use cloud_ai_tests::moto::MotoServer;

const GRACE: i64 = 515151;

/// `STORAGE=aws` on the test's table and bucket, on moto.
fn on_the_cloud(cloud: &TestBot) -> Vec<(&'static str, String)> {
    vec![
        ("STORAGE", "aws".into()),
        ("TABLE_NAME", cloud.table.clone()),
        ("BUCKET_NAME", cloud.bucket.clone()),
        ("AWS_ENDPOINT_URL", MotoServer::shared().endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
    ]
}

#[tokio::test]
async fn the_one_process_bot_drives_the_dynamodb_table_and_the_s3_bucket() {
    let cloud = TestBot::start().await;
    let data_dir = temp_data_dir();
    let env = bot_env(&cloud.telegram, &data_dir, &on_the_cloud(&cloud));
    let mut bot = BotProcess::start(env!("CARGO_BIN_EXE_cloud-ai"), &env);
    let conversation = Conversation::new(cloud.telegram.clone(), 9000);

    assert!(
        conversation
            .ask(&bot, GRACE, "/start")
            .await
            .starts_with("Hello, Ada!")
    );
    assert!(
        conversation
            .ask(&bot, GRACE, "Remember the milk")
            .await
            .starts_with("Saved to session 1.")
    );
    assert_eq!(
        conversation.ask(&bot, GRACE, "/archive 1").await,
        "Archived session 1 \"Remember the milk\" (llama3, 1 message). It is archive 1 in /listarchives."
    );
    assert!(
        bot.terminate(Duration::from_secs(30)).await.success(),
        "{}",
        bot.logs()
    );

    // Everything landed in the cloud's table and bucket, where the Lambdas would look.
    let names: Vec<&str> = cloud
        .events(GRACE)
        .await
        .iter()
        .map(|e| e.event.name())
        .collect();
    assert_eq!(
        names,
        [
            "SessionCreated",
            "Switched",
            "MessagePosted",
            "SessionTitled",
            "Archived"
        ]
    );
    let keys = cloud.object_keys().await;
    assert_eq!(keys.len(), 1);
    let document = cloud.archive(&keys[0]).await.unwrap();
    assert_eq!(document.conversation[0].content, "Remember the milk");
    assert!(matches!(
        cloud.events(GRACE).await.last().unwrap().event,
        Event::Archived { ref s3_key, .. } if *s3_key == keys[0]
    ));
    assert_eq!(
        cloud.store.last_update_id().await.unwrap(),
        Some(9002),
        "the poller's offset is the table's row"
    );
    assert!(
        !data_dir.join("archives").exists(),
        "no archive was written locally"
    );
    std::fs::remove_dir_all(&data_dir).unwrap();
}

/// Runs `cloud-ai adopt` on the cloud's storage; returns its standard output.
fn adopt(cloud: &TestBot) -> String {
    stdout_of(
        std::process::Command::new(env!("CARGO_BIN_EXE_cloud-ai"))
            .arg("adopt")
            .env_clear()
            .envs(on_the_cloud(cloud))
            .env("DATA_DIR", temp_data_dir()),
    )
}

/// Every item of the users' partitions, as DynamoDB holds them.
async fn items(cloud: &TestBot, users: &[i64]) -> Vec<String> {
    let mut all = Vec::new();
    for user in users {
        all.extend(cloud.raw_items(*user).await.iter().map(|i| {
            let mut fields: Vec<String> = i.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            fields.sort();
            fields.join(",")
        }));
    }
    all
}

#[tokio::test]
async fn the_one_process_bot_and_cloud_ai_adopt_take_over_the_original_bots_table() {
    let cloud = TestBot::start().await;
    cloud_ai_tests::original_bot::seed(&cloud, "all", None);
    let data_dir = temp_data_dir();
    let env = bot_env(&cloud.telegram, &data_dir, &on_the_cloud(&cloud));
    // The original saved 5001 as the next offset; the conversation starts there.
    let mut bot = BotProcess::start(env!("CARGO_BIN_EXE_cloud-ai"), &env);
    let conversation = Conversation::new(cloud.telegram.clone(), 5001);
    let listed = conversation.ask(&bot, 1001, "/listsessions").await;
    assert!(
        listed.contains("1. \"hello from the first session\" · llama3 · 4 messages"),
        "{listed}"
    );
    let logs = bot.logs();
    assert!(
        logs.contains("the offset row was last written by the original bot")
            && logs.contains("If the original still runs, stop it"),
        "the start-up log tells whose offset it goes on from: {logs}"
    );
    assert!(
        bot.terminate(Duration::from_secs(30)).await.success(),
        "{}",
        bot.logs()
    );
    std::fs::remove_dir_all(&data_dir).unwrap();

    // The rest at once: 1001 was adopted by the bot already (its archive makes it a candidate).
    let first = adopt(&cloud);
    assert!(
        first.contains("user 1002: adopted 1 sessions, 500 messages, 0 archives"),
        "{first}"
    );
    assert!(
        first.contains("user 1001: has a cloud-ai stream of its own"),
        "{first}"
    );
    assert!(
        first.contains("user 1003: adopted 0 sessions, 0 messages, 1 archives"),
        "{first}"
    );
    assert!(
        first.contains("3 users looked at, 2 adopted now, 1 already on cloud-ai; found 1 sessions, 500 messages, 1 archives; wrote 1 sessions, 500 messages, 1 archives"),
        "{first}"
    );
    let before = items(&cloud, &[1001, 1002, 1003]).await;
    let second = adopt(&cloud);
    assert!(
        second.contains("2 users looked at, 0 adopted now, 2 already on cloud-ai; found 0 sessions, 0 messages, 0 archives; wrote 0 sessions, 0 messages, 0 archives in 0 events and 0 appends"),
        "{second}"
    );
    assert_eq!(
        items(&cloud, &[1001, 1002, 1003]).await,
        before,
        "the second run wrote nothing"
    );
}
