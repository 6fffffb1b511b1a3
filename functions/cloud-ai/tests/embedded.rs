//! The one-process bot end to end, as a user runs it: the `cloud-ai` binary with a data folder,
//! the fake Telegram and the fake Ollama. The whole command table, a streamed answer, archive,
//! export and import; then SIGTERM and a restart that keeps everything and answers nothing twice.

use std::time::Duration;

use cloud_ai_shared::domain::archive_doc::ArchiveDocument;
use cloud_ai_shared::domain::events::Event;
use cloud_ai_shared::sqlite::Database;
use cloud_ai_shared::store::EventStore;
use cloud_ai_shared::store::sqlite::SqliteStore;
use cloud_ai_tests::bot::TOKEN;
use cloud_ai_tests::bot_process::{
    BotProcess, Conversation, REPLY_TIMEOUT, chat_bot_env, eventually, temp_data_dir,
};
use cloud_ai_tests::fake_model::{FakeModel, Gate, Script};
use cloud_ai_tests::fake_telegram::{FakeTelegram, Sent};

const ADA: i64 = 424242;
const BINARY: &str = env!("CARGO_BIN_EXE_cloud-ai");

fn env(
    telegram: &FakeTelegram,
    model: &FakeModel,
    data_dir: &std::path::Path,
) -> Vec<(String, String)> {
    chat_bot_env(telegram, data_dir, model, &[])
}

#[tokio::test]
async fn the_one_process_bot_serves_every_command_and_keeps_everything_across_a_restart() {
    let telegram = FakeTelegram::start(TOKEN).await;
    let model = FakeModel::start(&["llama3:latest", "qwen2.5:7b"]).await;
    let data_dir = temp_data_dir();
    let conversation = Conversation::new(telegram.clone(), 5000);
    let bot = BotProcess::start(BINARY, &env(&telegram, &model, &data_dir));

    let hello = conversation.ask(&bot, ADA, "/start").await;
    assert!(hello.starts_with("Hello, Ada!"), "{hello}");
    assert!(
        conversation
            .ask(&bot, ADA, "/help")
            .await
            .contains("/export <number>")
    );

    // A chat message is answered by the model, streamed into one message that grows.
    let monad = "A monad is a monoid in the category of endofunctors, said nobody helpfully.";
    model.script(Script::text(monad, 12, Duration::from_millis(250)));
    conversation.send(ADA, "What is a monad?");
    conversation.wait_for_last_shown(&bot, ADA, monad).await;
    let shown = telegram.chat_messages(ADA).last().cloned().unwrap();
    assert!(
        !shown.edited_at.is_empty(),
        "the answer was shown while written, then edited to the whole text"
    );

    assert_eq!(
        conversation.ask(&bot, ADA, "/newsession").await,
        "Started session 2 (llama3). It is now active."
    );
    conversation.send(ADA, "Second session message");
    conversation
        .wait_for_last_shown(&bot, ADA, "Echo: Second session message")
        .await;
    let list = conversation.ask(&bot, ADA, "/listsessions").await;
    assert!(
        list.contains("1. \"What is a monad?\" · llama3 · 2 messages"),
        "{list}"
    );
    assert!(
        list.contains("2. \"Second session message\" · llama3 · 2 messages")
            && list.contains("← active"),
        "{list}"
    );
    assert_eq!(
        conversation.ask(&bot, ADA, "/switch 1").await,
        "Switched to session 1 \"What is a monad?\" (llama3, 2 messages)."
    );
    let history = conversation.ask(&bot, ADA, "/history").await;
    assert!(history.contains("You: What is a monad?"), "{history}");
    assert!(history.contains("A monad is a monoid"), "{history}");
    assert!(
        conversation
            .ask(&bot, ADA, "/switch seven")
            .await
            .starts_with("\"seven\" is not a number.")
    );
    assert_eq!(
        conversation.ask(&bot, ADA, "/echo hi there").await,
        "hi there"
    );
    assert_eq!(
        conversation.ask(&bot, ADA, "/dance").await,
        "I don't know the command /dance. Send /help for the list."
    );
    let status = conversation.ask(&bot, ADA, "/status").await;
    assert!(
        status.contains("Active session: 1 of 2 \"What is a monad?\" (llama3, 2 messages)."),
        "{status}"
    );
    let models = conversation.ask(&bot, ADA, "/model").await;
    assert!(models.contains("qwen2.5:7b"), "{models}");

    // Archive: the confirmation comes once the file exists, in the bucket's layout.
    let menu = conversation.ask(&bot, ADA, "/archive").await;
    assert!(
        menu.starts_with(
            "Sessions you can archive:\n1. \"What is a monad?\" · llama3 · 2 messages"
        ),
        "{menu}"
    );
    assert_eq!(
        conversation.ask(&bot, ADA, "/archive 1").await,
        "Archived session 1 \"What is a monad?\" (llama3, 2 messages). It is archive 1 in /listarchives. The sessions after it moved up one number."
    );
    let folder = data_dir.join("archives").join(ADA.to_string());
    let files: Vec<_> = std::fs::read_dir(&folder)
        .expect("the archive folder exists")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let document: ArchiveDocument =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(document.user_id, ADA);
    assert_eq!(document.archive_version, "1.0");
    assert_eq!(
        files[0].file_name().unwrap().to_string_lossy(),
        format!("{}.json", document.session_id)
    );
    assert_eq!(document.conversation.len(), 2);
    assert_eq!(document.conversation[1].content, monad);
    assert!(
        conversation
            .ask(&bot, ADA, "/listarchives")
            .await
            .starts_with(
                "Your archives:\n1. \"What is a monad?\" · llama3 · 2 messages · archived "
            )
    );

    // Export sends the file; importing it back makes a second archive.
    let before = conversation.sent_to(ADA).len();
    conversation.send(ADA, "/export 1");
    let Sent::Document {
        bytes, file_name, ..
    } = conversation
        .wait_for_sent(&bot, ADA, before, "/export 1")
        .await
    else {
        panic!("/export 1 sends a document")
    };
    assert_eq!(file_name, format!("llama3-{}.json", document.session_id));
    let exported: ArchiveDocument = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(exported.conversation, document.conversation);
    assert_eq!(
        conversation.send_file(&bot, ADA, "mine.json", bytes).await,
        "Imported the archive as archive 2 \"What is a monad?\" (llama3, 2 messages). /export 2 sends it back."
    );
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        2,
        "the import is stored beside the archive"
    );

    // SIGTERM stops the bot cleanly, without the token in its logs.
    let mut bot = bot;
    let status = bot.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status:?}:\n{}", bot.logs());
    assert!(bot.logs().contains("stopped"), "{}", bot.logs());
    assert!(
        !bot.logs().contains(TOKEN),
        "the token leaked into the logs"
    );

    // Everything is on disk: one stream, no update recorded twice.
    let store = SqliteStore::new(Database::open(&data_dir.join("cloud-ai.sqlite3")).unwrap());
    let events = store.events(ADA).await.unwrap();
    let archived = events
        .iter()
        .filter(|e| matches!(e.event, Event::Archived { .. }))
        .count();
    assert_eq!(archived, 1);
    let sent_before_restart = telegram.sent().len();

    // A restart resumes from the stored offset: nothing is answered again, and all is there.
    let bot = BotProcess::start(BINARY, &env(&telegram, &model, &data_dir));
    let list = conversation.ask(&bot, ADA, "/listsessions").await;
    assert!(
        list.starts_with("Your sessions:\n1. \"Second session message\" · llama3 · 2 messages"),
        "{list}"
    );
    assert_eq!(
        telegram.sent().len(),
        sent_before_restart + 1,
        "only the new update was answered: {:#?}",
        &telegram.sent()[sent_before_restart..]
    );
    let archives = conversation.ask(&bot, ADA, "/listarchives").await;
    assert!(
        archives.contains("\n2. \"What is a monad?\" · llama3 · 2 messages"),
        "{archives}"
    );
    // Archiving the active session left none active; the other session moved up to number 1.
    assert_eq!(
        conversation.ask(&bot, ADA, "/switch 1").await,
        "Switched to session 1 \"Second session message\" (llama3, 2 messages)."
    );
    let history = conversation.ask(&bot, ADA, "/history").await;
    assert!(history.contains("You: Second session message"), "{history}");
    conversation.send(ADA, "Still there?");
    conversation
        .wait_for_last_shown(&bot, ADA, "Echo: Still there?")
        .await;
    let request = model.requests().last().cloned().unwrap();
    let context: Vec<&str> = request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(
        context.contains(&"Second session message") && context.contains(&"Still there?"),
        "the model is given the session's earlier messages after the restart: {context:?}"
    );
    let mut bot = bot;
    assert!(bot.terminate(Duration::from_secs(30)).await.success());
    std::fs::remove_dir_all(&data_dir).unwrap();
}

/// The bot as an owner first runs it: private (no `ALLOWED_USERS`), the token in a file (as a
/// container or systemd secret), the owner an admin. A stranger learns their id and nothing is
/// kept of them; the owner lets them in at run time; the change survives a restart.
#[tokio::test]
async fn a_private_bot_refuses_a_stranger_until_the_owner_allows_them() {
    const OWNER: i64 = 700;
    const STRANGER: i64 = 701;
    let telegram = FakeTelegram::start(TOKEN).await;
    let model = FakeModel::start(&["llama3:latest"]).await;
    let data_dir = temp_data_dir();
    let token_file = data_dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let env: Vec<(String, String)> = chat_bot_env(
        &telegram,
        &data_dir,
        &model,
        &[("ADMIN_USERS", OWNER.to_string())],
    )
    .into_iter()
    .filter(|(k, _)| k != "TELEGRAM_TOKEN" && k != "ALLOWED_USERS")
    .chain([(
        "TELEGRAM_TOKEN_FILE".to_string(),
        token_file.display().to_string(),
    )])
    .collect();
    let conversation = Conversation::new(telegram.clone(), 9000);
    let mut bot = BotProcess::start(BINARY, &env);

    let refusal = conversation.ask(&bot, STRANGER, "hello?").await;
    assert_eq!(
        refusal,
        "Sorry, this bot is private. To use it, ask the owner to add 701 (your Telegram user id)."
    );
    conversation.send(STRANGER, "please?");
    let allowed = conversation.ask(&bot, OWNER, "/allow 701").await;
    assert_eq!(allowed, "701 may use the bot now.");
    assert_eq!(
        conversation.sent_to(STRANGER).len(),
        1,
        "no second refusal within the hour"
    );
    assert!(model.requests().is_empty(), "no model call for a stranger");

    bot.terminate(Duration::from_secs(20)).await;
    let bot = BotProcess::start(BINARY, &env);
    let greeting = conversation.ask(&bot, STRANGER, "/start").await;
    assert!(greeting.starts_with("Hello, Ada!"), "{greeting}");
    assert!(!bot.logs().contains(TOKEN), "the token never shows");
    drop(bot);
    // Nothing was kept of the refused messages.
    let store = SqliteStore::new(Database::open(&data_dir.join("cloud-ai.sqlite3")).unwrap());
    let events = store.events(STRANGER).await.unwrap();
    assert!(
        events.iter().all(|e| !matches!(&e.event, Event::MessagePosted { content, .. } if content.contains("hello?") || content.contains("please?"))),
        "{events:?}"
    );
}

/// Many users' slow answers cannot hold every worker: another user's command is answered while
/// all of them are still being written (before the fix it waited for one to finish), and every
/// answer still arrives once. The answers are held back until the command is answered, so the
/// test does not depend on how fast the machine writes them.
#[tokio::test]
async fn a_flood_of_slow_answers_does_not_hold_back_another_users_command() {
    const SLOW: &str = "a slow answer, written word by word";
    let telegram = FakeTelegram::start(TOKEN).await;
    let model = FakeModel::start(&["llama3:latest"]).await;
    let data_dir = temp_data_dir();
    let env = chat_bot_env(&telegram, &data_dir, &model, &[("WORKERS", "4".into())]);
    let bot = BotProcess::start(BINARY, &env);
    let conversation = Conversation::new(telegram.clone(), 7000);
    conversation.ask(&bot, 1, "/echo warm").await;

    let flood: Vec<i64> = (2000..2012).collect();
    let still_writing = Gate::shut();
    for _ in &flood {
        model.script(Script::text(SLOW, 3, Duration::from_millis(50)).held_until(&still_writing));
    }
    for user in &flood {
        conversation.send(*user, "tell me something");
    }
    eventually(
        REPLY_TIMEOUT,
        "answers being written",
        || (model.requests().len() >= 3).then_some(()),
        || bot.logs(),
    )
    .await;
    // No answer can finish before the gate opens: a command held behind them would never come.
    let echo = conversation.ask(&bot, 1, "/echo still quick").await;
    assert_eq!(echo, "still quick");
    still_writing.open();
    let finished = || {
        flood
            .iter()
            .filter(|user| {
                telegram
                    .chat_messages(**user)
                    .iter()
                    .any(|m| m.text == SLOW)
            })
            .count()
    };
    eventually(
        Duration::from_secs(120),
        "every answer of the flood",
        || (finished() == flood.len()).then_some(()),
        || bot.logs(),
    )
    .await;
    assert_eq!(model.requests().len(), flood.len(), "each answered once");
}
