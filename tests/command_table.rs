//! A user walks through every command of the original's table; the replies, the DynamoDB rows
//! and the S3 objects are checked at each step.

use aws_sdk_dynamodb::types::AttributeValue;
use cloud_ai_shared::domain::events::Role;
use cloud_ai_shared::domain::projection::{Row, rebuild_rows};
use cloud_ai_shared::store::EventStore;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fake_telegram::Sent;
use cloud_ai_tests::fixtures;

const ADA: i64 = 777001;

fn session_rows(
    rows: &cloud_ai_shared::domain::projection::Rows,
) -> Vec<cloud_ai_shared::domain::projection::SessionRow> {
    rows.values()
        .filter_map(|r| match r {
            Row::Session(s) => Some(s.clone()),
            Row::Message(_) => None,
        })
        .collect()
}

#[tokio::test]
async fn a_user_walks_through_the_whole_command_table() {
    let bot = TestBot::start().await;

    let hello = bot.say(ADA, "/start").await;
    assert!(hello.starts_with("Hello, Ada!"), "{hello}");
    assert!(hello.contains("/help lists the rest."), "{hello}");
    assert_eq!(
        bot.say(ADA, "/hello").await.lines().next(),
        Some(
            "Hello, Ada! I'm cloud-ai: chat with an AI model, and keep each conversation as a session you can come back to, archive and export."
        )
    );
    let help = bot.say(ADA, "/help").await;
    assert!(help.contains("/export <number>"), "{help}");
    assert!(help.contains("/listarchives"), "{help}");

    // Chat goes into the session /start opened.
    let saved = bot.say(ADA, "What is a monad?").await;
    assert_eq!(
        saved,
        "Saved to session 1. No model backend is configured yet, so there is no AI reply; /status says more."
    );
    bot.say(ADA, "Explain like I'm five").await;

    assert_eq!(
        bot.say(ADA, "/newsession").await,
        "Started session 2 (llama3). It is now active."
    );
    bot.say(ADA, "Second session message").await;

    let list = bot.say(ADA, "/listsessions").await;
    assert!(
        list.contains("1. \"What is a monad?\" · llama3 · 2 messages"),
        "{list}"
    );
    assert!(
        list.contains("2. \"Second session message\" · llama3 · 1 message")
            && list.contains("← active"),
        "{list}"
    );

    // The live rows are the original's: one active session, the attributes it listed.
    let rows = bot.live_rows(ADA).await;
    let sessions = session_rows(&rows);
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s.is_active).count(), 1);
    let raw = bot.raw_items(ADA).await;
    let session_item = raw
        .iter()
        .find(|i| matches!(i.get("sk"), Some(AttributeValue::S(sk)) if sk.starts_with("MODEL#llama3#SESSION#")))
        .expect("a session row with the original sort key");
    for attribute in [
        "user_id",
        "chat_id",
        "model_name",
        "session_id",
        "is_active",
        "last_message_ts",
        "s3_path",
    ] {
        assert!(
            session_item.contains_key(attribute),
            "session rows carry {attribute}"
        );
    }
    assert_eq!(session_item["user_id"], AttributeValue::N(ADA.to_string()));
    assert_eq!(session_item["chat_id"], AttributeValue::S(ADA.to_string()));
    assert!(
        raw.iter().all(|i| !i.contains_key("conversation")),
        "no item holds a whole conversation"
    );

    assert_eq!(
        bot.say(ADA, "/switch 1").await,
        "Switched to session 1 \"What is a monad?\" (llama3, 2 messages)."
    );
    let history = bot.say(ADA, "/history").await;
    assert!(
        history.starts_with("Last 2 of 2 messages in session 1:"),
        "{history}"
    );
    assert!(
        history.contains("You: What is a monad?") && history.contains("You: Explain like I'm five")
    );
    assert!(!history.contains("Second session message"));

    assert!(
        bot.say(ADA, "/switch 7")
            .await
            .starts_with("There is no session 7: you have 2 sessions")
    );
    assert!(
        bot.say(ADA, "/switch seven")
            .await
            .starts_with("\"seven\" is not a number.")
    );
    assert_eq!(bot.say(ADA, "/echo  hello   world").await, "hello   world");
    assert!(
        bot.say(ADA, "/status")
            .await
            .contains("Active session: 1 of 2 \"What is a monad?\" (llama3, 2 messages).")
    );
    assert_eq!(
        bot.say(ADA, "/dance").await,
        "I don't know the command /dance. Send /help for the list."
    );

    // Archive session 1: the object exists, in the original format, and its rows are gone.
    let menu = bot.say(ADA, "/archive").await;
    assert!(
        menu.starts_with(
            "Sessions you can archive:\n1. \"What is a monad?\" · llama3 · 2 messages"
        ),
        "{menu}"
    );
    let first_session = session_rows(&bot.live_rows(ADA).await)
        .into_iter()
        .find(|s| s.message_count == 2)
        .unwrap();
    let archived = bot.say(ADA, "/archive 1").await;
    assert_eq!(
        archived,
        "Archived session 1 \"What is a monad?\" (llama3, 2 messages). It is archive 1 in /listarchives. The sessions after it moved up one number."
    );
    let key = format!("archives/{ADA}/{}.json", first_session.session_id);
    assert_eq!(bot.object_keys().await, vec![key.clone()]);
    let document = bot.archive(&key).await.unwrap();
    assert_eq!(document.user_id, ADA);
    assert_eq!(document.session_id, first_session.session_id.to_string());
    assert_eq!(document.model_name, "llama3");
    assert_eq!(
        document.original_sk,
        format!("MODEL#llama3#SESSION#{}", first_session.session_id)
    );
    assert_eq!(document.archive_version, "1.0");
    let contents: Vec<(Role, &str)> = document
        .conversation
        .iter()
        .map(|m| (m.role, m.content.as_str()))
        .collect();
    assert_eq!(
        contents,
        vec![
            (Role::User, "What is a monad?"),
            (Role::User, "Explain like I'm five")
        ]
    );
    assert_eq!(document.last_message_ts, document.conversation[1].ts);
    let rows = bot.live_rows(ADA).await;
    assert!(
        rows.values().all(|r| match r {
            Row::Session(s) => s.session_id != first_session.session_id,
            Row::Message(m) => m.session_id != first_session.session_id,
        }),
        "the archived session's live rows are deleted"
    );
    assert_eq!(session_rows(&rows).len(), 1);

    let archives = bot.say(ADA, "/listarchives").await;
    assert!(
        archives.starts_with(
            "Your archives:\n1. \"What is a monad?\" · llama3 · 2 messages · archived "
        ),
        "{archives}"
    );

    // Export sends the stored archive back as a JSON document.
    bot.telegram.clear_sent();
    let update = fixtures::text(bot.next_update_id(), ADA, ADA, "/export 1");
    bot.handle(&update).await.unwrap();
    let sent = bot.telegram.sent();
    let [
        Sent::Document {
            chat_id,
            file_name,
            caption,
            bytes,
            ..
        },
    ] = sent.as_slice()
    else {
        panic!("expected one document, got {sent:?}");
    };
    assert_eq!(*chat_id, ADA);
    assert_eq!(
        file_name,
        &format!("llama3-{}.json", first_session.session_id)
    );
    assert_eq!(caption, "Archive 1: llama3, 2 messages.");
    let exported: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    assert_eq!(exported["conversation"][0]["content"], "What is a monad?");
    assert_eq!(exported["archive_version"], "1.0");
    assert!(
        bot.say(ADA, "/export 2")
            .await
            .starts_with("There is no archive 2: you have 1 archive.")
    );

    // The live rows are exactly what replaying the stream describes.
    let events: Vec<_> = bot.events(ADA).await.into_iter().map(|r| r.event).collect();
    assert_eq!(rebuild_rows(ADA, &events), bot.live_rows(ADA).await);
}

#[tokio::test]
async fn users_only_ever_see_their_own_sessions_and_archives() {
    let bot = TestBot::start().await;
    let (ada, bob) = (777101, 777102);
    bot.say(ada, "ada's secret").await;
    bot.say(ada, "/archive 1").await;
    bot.say(bob, "bob's note").await;

    assert!(
        bot.say(bob, "/listsessions")
            .await
            .contains("1. \"bob's note\" · llama3 · 1 message")
    );
    assert!(
        bot.say(bob, "/listarchives")
            .await
            .starts_with("You have no archives yet.")
    );
    assert!(
        bot.say(bob, "/export 1")
            .await
            .starts_with("You have no archives yet.")
    );
    assert!(!bot.say(bob, "/history").await.contains("ada's secret"));
    assert!(
        bot.object_keys()
            .await
            .iter()
            .all(|k| k.starts_with(&format!("archives/{ada}/")))
    );
}

#[tokio::test]
async fn rename_persona_and_a_confirmed_delete_reach_the_table() {
    let bot = TestBot::start().await;
    let user = 777201;
    bot.say(user, "Groceries for the week").await;
    bot.say(user, "milk, eggs").await;
    bot.say(user, "/newsession").await;
    bot.say(user, "Keep this one").await;
    assert_eq!(
        bot.say(user, "/rename 2 Notes").await,
        "Session 2 is now called \"Notes\"."
    );
    assert_eq!(
        bot.say(user, "/persona tutor").await,
        "Session 2 now answers as the tutor preset."
    );
    let list = bot.say(user, "/listsessions").await;
    assert!(
        list.contains("1. \"Groceries for the week\" · llama3 · 2 messages")
            && list.contains("2. \"Notes\" · llama3 · persona tutor · 1 message"),
        "{list}"
    );

    let doomed = bot.store.load(user).await.unwrap().sessions[0].session_id;
    assert!(
        bot.say(user, "/delete 1")
            .await
            .ends_with("send /delete 1 confirm")
    );
    assert_eq!(bot.live_rows(user).await.len(), 5, "asking deletes nothing");
    let update = fixtures::text(bot.next_update_id(), user, user, "/delete 1 confirm");
    bot.handle(&update).await.unwrap();
    assert_eq!(
        bot.telegram.texts().last().unwrap(),
        "Deleted session 1 \"Groceries for the week\" (llama3, 2 messages). The sessions after it moved up one number."
    );
    let rows = bot.live_rows(user).await;
    assert!(
        rows.keys().all(|key| !key.contains(&doomed.to_string())),
        "no row of the deleted session is left: {rows:?}"
    );
    assert_eq!(rows.len(), 2, "the other session and its message");
    let events = bot.events(user).await;
    assert_eq!(rebuild_rows(user, events.iter().map(|e| &e.event)), rows);
    assert_eq!(events.last().unwrap().event.name(), "SessionDeleted");
    // Delivered again, it neither records nor says anything more.
    let sent = bot.telegram.sent().len();
    bot.handle(&update).await.unwrap();
    assert_eq!(bot.events(user).await.len(), events.len());
    assert_eq!(bot.telegram.sent().len(), sent);
}
