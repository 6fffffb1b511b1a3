//! Who may use the bot, and groups, through the command handler on moto's DynamoDB and S3 with
//! the fake Telegram: a stranger gets one reply and leaves nothing behind; admins change the list
//! at run time; nothing private reaches a group chat.

use cloud_ai_shared::domain::access::{AccessPolicy, BOT_STREAM, Who};
use cloud_ai_shared::domain::events::Event;
use cloud_ai_shared::domain::state::UserState;
use cloud_ai_shared::handlers::{CommandHandler, Outcome, Settings};
use cloud_ai_tests::bot::{ADMIN, BOT_ID, TestBot, settings};
use cloud_ai_tests::fake_telegram::Sent;
use cloud_ai_tests::fixtures;
use serde_json::Value;

const STRANGER: i64 = 5001;
const GROUP: i64 = -1001234;

/// The test bot as an owner runs it: private (no `ALLOWED_USERS`), [`ADMIN`] its admin.
fn private_settings() -> Settings {
    Settings {
        access: AccessPolicy::parse(None, Some(&ADMIN.to_string())).unwrap(),
        ..settings()
    }
}

async fn say(bot: &TestBot, handler: &CommandHandler, user: i64, text: &str) -> Outcome {
    let update = fixtures::text(bot.next_update_id(), user, user, text);
    handler.handle(&update).await.expect("handled")
}

fn sort_keys(
    items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
) -> Vec<String> {
    items
        .iter()
        .map(|item| item["sk"].as_s().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn a_stranger_gets_one_reply_with_their_id_and_nothing_is_stored() {
    let bot = TestBot::start().await;
    let handler = bot.handler_with(private_settings());

    assert_eq!(
        say(&bot, &handler, STRANGER, "hello?").await,
        Outcome::Refused
    );
    assert_eq!(
        bot.telegram.texts(),
        [
            "Sorry, this bot is private. To use it, ask the owner to add 5001 (your Telegram user id)."
        ]
    );
    // However much they send, and whatever: no second reply within the hour.
    for text in ["/start", "/history", "/export 1", "tell me a secret"] {
        assert_eq!(say(&bot, &handler, STRANGER, text).await, Outcome::Refused);
    }
    let file_id = bot
        .telegram
        .add_file(fixtures::REFERENCE_ARCHIVE.as_bytes().to_vec());
    let document = fixtures::document(
        bot.next_update_id(),
        STRANGER,
        STRANGER,
        &file_id,
        "a.json",
        10,
    );
    assert_eq!(handler.handle(&document).await.unwrap(), Outcome::Refused);
    assert_eq!(bot.telegram.texts().len(), 1, "{:?}", bot.telegram.texts());
    assert!(
        !bot.telegram.calls().contains(&"getFile".to_string()),
        "the file is not fetched"
    );

    // Nothing of theirs is stored: no stream, no state, no receipt, no text, no archive.
    assert!(bot.events(STRANGER).await.is_empty());
    assert_eq!(sort_keys(&bot.raw_items(STRANGER).await), ["REFUSED"]);
    assert!(bot.object_keys().await.is_empty());
}

#[tokio::test]
async fn an_admin_lets_a_stranger_in_on_their_next_message_and_the_list_replays() {
    let bot = TestBot::start().await;
    let handler = bot.handler_with(private_settings());
    say(&bot, &handler, STRANGER, "hi").await;

    // Someone allowed by name but not an admin cannot change the list.
    let ada = bot.handler_with(Settings {
        access: AccessPolicy::parse(Some("@ada"), Some(&ADMIN.to_string())).unwrap(),
        ..settings()
    });
    bot.telegram.clear_sent();
    say(&bot, &ada, 42, "/allow 5001").await;
    assert_eq!(bot.telegram.texts(), ["Only the bot's admins can do that."]);

    bot.telegram.clear_sent();
    say(&bot, &handler, ADMIN, "/allow 5001").await;
    assert_eq!(bot.telegram.texts(), ["5001 may use the bot now."]);
    // Another instance of the role (another Lambda) sees it on the stranger's next message.
    let other = bot.handler_with(private_settings());
    bot.telegram.clear_sent();
    assert_eq!(
        say(&bot, &other, STRANGER, "/start").await,
        Outcome::Handled
    );
    assert!(bot.telegram.last_text().starts_with("Hello, Ada!"));

    bot.telegram.clear_sent();
    say(&bot, &handler, ADMIN, "/users").await;
    let users = bot.telegram.last_text();
    assert!(users.contains("Admins: 900"), "{users}");
    assert!(users.contains("Allowed with /allow: 5001"), "{users}");

    say(&bot, &handler, ADMIN, "/deny 5001").await;
    bot.telegram.clear_sent();
    assert_eq!(
        say(&bot, &other, STRANGER, "still here?").await,
        Outcome::Refused
    );
    assert!(
        bot.telegram.texts().is_empty(),
        "refused within the hour already"
    );

    // The changes are events of the bot-level stream, and replaying it rebuilds the list.
    let stream = bot.events(BOT_STREAM).await;
    let names: Vec<&str> = stream.iter().map(|e| e.event.name()).collect();
    assert_eq!(names, ["AccessGranted", "AccessRevoked"]);
    assert!(matches!(
        &stream[0].event,
        Event::AccessGranted { by: ADMIN, .. }
    ));
    let replayed = UserState::replay(&stream);
    assert!(replayed.access.revoked.contains(&Who::Id(STRANGER)));
    assert!(replayed.access.granted.is_empty());
}

/// Everything the bot sent to the group chat, as text (documents by name and caption).
fn group_output(bot: &TestBot) -> Vec<String> {
    bot.telegram
        .sent()
        .iter()
        .filter(|s| s.chat_id() == GROUP)
        .map(|s| match s {
            Sent::Message { text, .. } => text.clone(),
            Sent::Document {
                file_name,
                caption,
                bytes,
                ..
            } => format!("{file_name} {caption} {}", String::from_utf8_lossy(bytes)),
        })
        .collect()
}

#[tokio::test]
async fn nothing_private_reaches_a_group_and_the_group_keeps_its_own_sessions() {
    let bot = TestBot::start().await;
    let handler = bot.new_handler();
    let ada = fixtures::member(42, "ada");
    let bob = fixtures::member(43, "bob");
    let group = |from: &Value, text: &str, reply_to: Option<Value>| {
        fixtures::group_text(bot.next_update_id(), from.clone(), GROUP, text, reply_to)
    };

    // Ada's private life: a session with a secret, and an archive.
    say(&bot, &handler, 42, "my secret diary entry").await;
    say(&bot, &handler, 42, "/newsession").await;
    say(&bot, &handler, 42, "/archive 1").await;
    let private_session = bot.events(42).await[0].event.clone();
    let Event::SessionCreated { session_id, .. } = private_session else {
        panic!("the first event opens a session")
    };
    bot.telegram.clear_sent();

    // In the group: chatter not addressed to the bot is ignored and stored nowhere.
    for (from, text) in [(&ada, "lunch at noon?"), (&bob, "sure, @ada")] {
        assert_eq!(
            handler.handle(&group(from, text, None)).await.unwrap(),
            Outcome::Ignored
        );
    }
    assert!(bot.events(GROUP).await.is_empty());
    assert!(bot.telegram.sent().is_empty());

    // Addressed: a mention, a reply to the bot, commands with and without @cloudaibot.
    let asked = group(&bob, "@cloudaibot what is rust?", None);
    handler.handle(&asked).await.unwrap();
    let bot_user = serde_json::json!({"id": BOT_ID, "is_bot": true, "first_name": "cloud-ai", "username": "cloudaibot"});
    handler
        .handle(&group(&ada, "and cargo?", Some(bot_user)))
        .await
        .unwrap();
    for text in [
        "/history",
        "/listsessions@cloudaibot",
        "/listarchives",
        "/export 1",
        "/status",
    ] {
        handler.handle(&group(&ada, text, None)).await.unwrap();
    }
    // A member who is no admin cannot archive or open the group's sessions.
    handler
        .handle(&group(&ada, "/archive 1", None))
        .await
        .unwrap();
    handler
        .handle(&group(&bob, "/newsession", None))
        .await
        .unwrap();

    let said = group_output(&bot);
    let every_call = format!("{:?}", bot.telegram.sent());
    assert!(!every_call.contains("secret diary"), "{every_call}");
    for text in &said {
        assert!(!text.contains(&session_id.to_string()), "{text}");
    }
    assert!(
        said.iter()
            .any(|t| t.starts_with("You have no archives yet")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .filter(|t| t.starts_with("In a group, only the bot's admins"))
            .count()
            == 2,
        "{said:?}"
    );
    // Every reply in the group quotes the message that asked.
    let asked_id = asked["message"]["message_id"].as_i64().unwrap();
    let first = bot
        .telegram
        .sent()
        .into_iter()
        .find(|s| s.chat_id() == GROUP)
        .unwrap();
    assert_eq!(first.reply_to(), Some(asked_id));
    assert!(
        bot.telegram
            .sent()
            .iter()
            .filter(|s| s.chat_id() == GROUP)
            .all(|s| s.reply_to().is_some())
    );

    // The group's context holds only what was said there, with who said it.
    let contents: Vec<String> = bot
        .events(GROUP)
        .await
        .iter()
        .filter_map(|e| match &e.event {
            Event::MessagePosted { content, .. } => Some(content.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        contents,
        ["Bob: @cloudaibot what is rust?", "Ada: and cargo?"]
    );
    // Ada's own sessions are untouched by the group.
    let ada_state = bot.store.as_ref();
    let state = cloud_ai_shared::store::EventStore::load(ada_state, 42)
        .await
        .unwrap();
    assert_eq!(state.sessions.len(), 1);
    assert_eq!(state.archives.len(), 1);

    // An admin may archive the group's session; its archive is the group's, not a member's.
    let admin = fixtures::member(ADMIN, "boss");
    handler
        .handle(&group(&admin, "/archive 1", None))
        .await
        .unwrap();
    let keys = bot.object_keys().await;
    assert!(
        keys.iter()
            .any(|k| k.starts_with(&format!("archives/{GROUP}/"))),
        "{keys:?}"
    );
    bot.telegram.clear_sent();
    handler
        .handle(&group(&bob, "/export 1", None))
        .await
        .unwrap();
    let exported = group_output(&bot);
    assert_eq!(exported.len(), 1);
    assert!(exported[0].contains("what is rust?") && !exported[0].contains("secret"));
}
