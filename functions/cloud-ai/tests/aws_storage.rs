//! The same binary on the cloud's storage (`STORAGE=aws`): sessions and events in the DynamoDB
//! table, archives in the S3 bucket (moto here; LocalStack or AWS alike), with no Lambda deployed.

use std::time::Duration;

use cloud_ai_shared::domain::events::Event;
use cloud_ai_shared::store::OffsetStore;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::bot_process::{BotProcess, Conversation, bot_env, temp_data_dir};
use cloud_ai_tests::moto::MotoServer;

const GRACE: i64 = 515151;

#[tokio::test]
async fn the_one_process_bot_drives_the_dynamodb_table_and_the_s3_bucket() {
    let cloud = TestBot::start().await;
    let moto = MotoServer::shared();
    let data_dir = temp_data_dir();
    let env = bot_env(
        &cloud.telegram,
        &data_dir,
        &[
            ("STORAGE", "aws".into()),
            ("TABLE_NAME", cloud.table.clone()),
            ("BUCKET_NAME", cloud.bucket.clone()),
            ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ],
    );
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
        "Archived session 1 (llama3, 1 message). It is archive 1 in /listarchives."
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
        ["SessionCreated", "Switched", "MessagePosted", "Archived"]
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
