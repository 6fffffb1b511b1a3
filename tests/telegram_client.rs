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
    let second: serde_json::Value = serde_json::from_str(updates[1].get()).unwrap();
    assert_eq!(second["message_reaction"]["chat"]["id"], 5);
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
        .send_document(-9, Some(4), "a.json", b"{\"a\":1}".to_vec(), "caption")
        .await
        .unwrap();
    assert_eq!(
        fake.sent(),
        vec![cloud_ai_tests::fake_telegram::Sent::Document {
            chat_id: -9,
            reply_to: Some(4),
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

#[tokio::test]
async fn one_update_no_strict_parser_takes_leaves_the_others_readable() {
    let fake = FakeTelegram::start(TOKEN).await;
    fake.queue_update(fixtures::text(1, 5, 5, "before"));
    let lone = r#"{"update_id":2,"message":{"message_id":2,"date":1700000000,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"Ada"},"text":"half \ud800 a pair"}}"#;
    fake.queue_raw_update(2, lone);
    fake.queue_update(fixtures::text(3, 5, 5, "after"));
    let client = HttpTelegram::new(&fake.base_url, TOKEN);
    let updates = client.get_updates(None, 0, 100).await.unwrap();
    assert_eq!(updates.len(), 3);
    assert_eq!(updates[1].get(), lone, "the update's text arrives as sent");
}

#[tokio::test]
async fn answers_that_are_not_the_bot_apis_are_transient() {
    use cloud_ai_tests::fake_telegram::Shape;
    let fake = FakeTelegram::start(TOKEN).await;
    let client = HttpTelegram::new(&fake.base_url, TOKEN);
    for shape in [Shape::HtmlPage { status: 502 }, Shape::CutOff, Shape::Reset] {
        fake.fail_next("sendMessage", 1, Failure::shaped(shape.clone()));
        let error = client.send_message(1, "hi").await.unwrap_err();
        assert!(error.is_transient(), "{shape:?} gave {error}");
        assert!(!error.to_string().contains(TOKEN));
    }
    // An edit answered `true`, or `ok` with no result, is done.
    let sent = client.send_message(1, "hi").await.unwrap();
    fake.fail_next("editMessageText", 1, Failure::shaped(Shape::OkTrue));
    fake.fail_next(
        "editMessageText",
        1,
        Failure::shaped(Shape::OkWithoutResult),
    );
    for text in ["edited once", "edited twice"] {
        client
            .edit_text(
                1,
                sent.message_id,
                text,
                cloud_ai_shared::telegram::TextFormat::Plain,
            )
            .await
            .unwrap();
    }
    let edited = fake.chat_messages(1);
    let edited = edited.iter().find(|m| m.message_id == sent.message_id);
    assert_eq!(edited.unwrap().text, "edited twice");
}
