//! The Bot API client against the fake server: the documented error shapes are parsed, unknown
//! fields are ignored, downloads are capped, and the token never appears in errors.

use cloud_ai_shared::telegram::http::HttpTelegram;
use cloud_ai_shared::telegram::{Telegram, TelegramError};
use cloud_ai_tests::fake_telegram::{Failure, FakeTelegram};
use cloud_ai_tests::fixtures;

const TOKEN: &str = "987654:SECRET-token-value";

#[tokio::test]
async fn updates_arrive_raw_with_unknown_kinds_intact() {
    let fake = FakeTelegram::start(TOKEN).await;
    fake.queue_update(fixtures::text(1, 5, 5, "hi"));
    fake.queue_update(serde_json::json!({"update_id": 2, "message_reaction": {"chat": {"id": 5}, "new_reaction": []}}));
    let client = HttpTelegram::new(&fake.base_url, TOKEN);
    let updates = client.get_updates(None, 0, 100).await.unwrap();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1]["message_reaction"]["chat"]["id"], 5);
    let after = client.get_updates(Some(2), 0, 100).await.unwrap();
    assert_eq!(after.len(), 1, "an offset confirms earlier updates");
}

#[tokio::test]
async fn api_errors_are_parsed_with_their_retry_after() {
    let fake = FakeTelegram::start(TOKEN).await;
    let client = HttpTelegram::new(&fake.base_url, TOKEN);
    fake.fail_next("sendMessage", 1, Failure::too_many_requests(7));
    let error = client.send_message(1, "hi").await.unwrap_err();
    assert_eq!(
        error,
        TelegramError::Api {
            method: "sendMessage",
            code: 429,
            description: "Too Many Requests: retry after 7".into(),
            retry_after: Some(7),
        }
    );
    assert!(error.is_transient());
    let error = client.send_message(1, "").await.unwrap_err();
    assert!(
        matches!(&error, TelegramError::Api { code: 400, description, .. } if description == "Bad Request: message text is empty")
    );
    assert!(!error.is_transient());
    let error = client.get_file("nope").await.unwrap_err();
    assert!(matches!(error, TelegramError::Api { code: 400, .. }));
}

#[tokio::test]
async fn the_token_never_appears_in_errors_or_debug_output() {
    let fake = FakeTelegram::start(TOKEN).await;
    let wrong = HttpTelegram::new(&fake.base_url, "111:WRONG-token");
    let error = wrong.send_message(1, "hi").await.unwrap_err();
    assert!(
        matches!(error, TelegramError::Api { code: 401, .. }),
        "{error}"
    );

    // Nothing listens on this port: the transport error must not carry the URL.
    let unreachable = HttpTelegram::new("http://127.0.0.1:9", TOKEN);
    let error = unreachable.send_message(1, "hi").await.unwrap_err();
    assert!(
        matches!(error, TelegramError::Transport { .. }),
        "{error:?}"
    );
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{unreachable:?}"),
    ] {
        assert!(!text.contains("SECRET"), "the token leaked: {text}");
    }
    let error = unreachable
        .download_file("documents/x.json", 10)
        .await
        .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("SECRET"));
}

#[tokio::test]
async fn documents_upload_and_downloads_are_capped() {
    let fake = FakeTelegram::start(TOKEN).await;
    let client = HttpTelegram::new(&fake.base_url, TOKEN);
    client
        .send_document(9, "a.json", b"{\"a\":1}".to_vec(), "caption")
        .await
        .unwrap();
    assert_eq!(
        fake.sent(),
        vec![cloud_ai_tests::fake_telegram::Sent::Document {
            chat_id: 9,
            file_name: "a.json".into(),
            caption: "caption".into(),
            bytes: b"{\"a\":1}".to_vec(),
        }]
    );
    let file_id = fake.add_file(vec![b'x'; 1000]);
    let file = client.get_file(&file_id).await.unwrap();
    assert_eq!(file.file_size, Some(1000));
    let path = file.file_path.unwrap();
    assert_eq!(client.download_file(&path, 1000).await.unwrap().len(), 1000);
    assert_eq!(
        client.download_file(&path, 999).await.unwrap_err(),
        TelegramError::FileTooLarge { limit: 999 }
    );
}
