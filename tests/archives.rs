//! Import and export of archives in the original's format, hostile files, and archiving that
//! survives a crash between its steps.

use std::sync::Arc;
use std::time::Duration;

use cloud_ai_shared::domain::archive_doc::{ArchiveDocument, MAX_IMPORT_BYTES};
use cloud_ai_shared::domain::archive_job::ArchiveJob;
use cloud_ai_shared::domain::events::{Event, Role};
use cloud_ai_shared::domain::persona::Persona;
use cloud_ai_shared::domain::projection::{rebuild_rows, session_messages};
use cloud_ai_shared::handlers::answer::{AnswerSettings, Answerer};
use cloud_ai_shared::handlers::{Archiver, Outcome};
use cloud_ai_shared::model::ollama::Ollama;
use cloud_ai_shared::store::EventStore;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fake_model::{self, FakeModel, Script};
use cloud_ai_tests::fake_telegram::Sent;
use cloud_ai_tests::fixtures::{self, REFERENCE_ARCHIVE};

/// `/export 1` from `user`: the one document sent, as sent and read.
async fn export_first(bot: &TestBot, user: i64) -> (Vec<u8>, ArchiveDocument) {
    bot.telegram.clear_sent();
    bot.handle(&fixtures::text(
        bot.next_update_id(),
        user,
        user,
        "/export 1",
    ))
    .await
    .unwrap();
    let sent = bot.telegram.sent();
    let [Sent::Document { bytes, .. }] = sent.as_slice() else {
        panic!("expected a document, got {sent:?}")
    };
    (bytes.clone(), serde_json::from_slice(bytes).unwrap())
}

#[tokio::test]
async fn the_reference_archive_imports_under_a_new_id_and_exports_back() {
    let bot = TestBot::start().await;
    let user = 990001;
    let reply = bot
        .send_file(user, "archive.json", REFERENCE_ARCHIVE.as_bytes().to_vec())
        .await;
    assert_eq!(
        reply,
        "Imported the archive as archive 1 \"Hello!\" (llama3, 2 messages). /export 1 sends it back."
    );

    let keys = bot.object_keys().await;
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert!(
        key.starts_with(&format!("archives/{user}/")) && key.ends_with(".json"),
        "{key}"
    );
    let stored = bot.archive(key).await.unwrap();
    assert_eq!(
        stored.user_id, user,
        "stored under the sender, whatever the file claimed"
    );
    assert_ne!(
        stored.session_id, "uuid-string",
        "a new session id prevents conflicts"
    );
    assert_eq!(key, &format!("archives/{user}/{}.json", stored.session_id));
    let from = stored.imported_from.as_ref().unwrap();
    assert_eq!(
        from.session_id,
        Some(serde_json::json!("uuid-string")),
        "original metadata is kept"
    );
    assert_eq!(from.user_id, Some(serde_json::json!(123456789)));

    assert!(
        bot.say(user, "/listarchives")
            .await
            .contains("1. \"Hello!\" · llama3 · 2 messages · imported")
    );

    let (bytes, exported) = export_first(&bot, user).await;
    let original: serde_json::Value = serde_json::from_str(REFERENCE_ARCHIVE).unwrap();
    assert_eq!(
        serde_json::to_value(&exported.conversation).unwrap(),
        original["conversation"]
    );
    assert_eq!(exported.model_name, "llama3");
    assert_eq!(exported.last_message_ts, 1234567891);
    assert_eq!(exported.archive_version, "1.0");

    // What we export imports again, as a second archive.
    let again = bot.send_file(user, "again.json", bytes.clone()).await;
    assert_eq!(
        again,
        "Imported the archive as archive 2 \"Hello!\" (llama3, 2 messages). /export 2 sends it back."
    );
    assert_eq!(bot.object_keys().await.len(), 2);
}

#[tokio::test]
async fn an_archive_written_by_this_bot_reads_as_the_original_format() {
    let bot = TestBot::start().await;
    let user = 990002;
    bot.say(user, "Hello!").await;
    bot.say(user, "/archive 1").await;
    let key = bot.object_keys().await.remove(0);
    let bytes = cloud_ai_shared::archive::ArchiveStore::get(bot.archives.as_ref(), &key)
        .await
        .unwrap()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let mut fields: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "archive_version",
            "archived_at",
            "conversation",
            "last_message_ts",
            "model_name",
            "original_sk",
            "session_id",
            "title",
            "user_id"
        ],
        "the original's fields, and the title (which readers of the original ignore)"
    );
    assert_eq!(json["title"], "Hello!");
    assert!(json["user_id"].is_i64() && json["last_message_ts"].is_i64());
    assert_eq!(
        json["conversation"][0],
        serde_json::json!({"role": "user", "content": "Hello!", "ts": json["last_message_ts"]})
    );
    assert!(chrono::DateTime::parse_from_rfc3339(json["archived_at"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn hostile_imports_are_refused_with_a_reason_and_store_nothing() {
    let bot = TestBot::start().await;
    let user = 990003;
    let valid_message = r#"{"role":"user","content":"hi","ts":1}"#;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not json", b"this is not JSON".to_vec(), "the file is not valid JSON (line 1, column "),
        ("binary", vec![0xff, 0xfe, 0xfd, 0x00], "the file is not UTF-8 text"),
        ("array", b"[1, 2, 3]".to_vec(), "the JSON is not an object with a \"conversation\" field"),
        ("no conversation", br#"{"user_id": 1}"#.to_vec(), "the archive has no \"conversation\" field"),
        ("conversation string", br#"{"conversation": "hello"}"#.to_vec(), "\"conversation\" is not an array of messages"),
        ("wrong types", br#"{"conversation": [{"role": "user", "content": ["x"], "ts": 1}]}"#.to_vec(), "message 1 of the conversation has content that is not text"),
        ("string ts", format!(r#"{{"conversation": [{valid_message}, {{"role": "user", "content": "x", "ts": "now"}}]}}"#).into_bytes(), "message 2 of the conversation has a ts that is not a number"),
        ("path in model", format!(r#"{{"model_name": "../../../etc", "conversation": [{valid_message}]}}"#).into_bytes(), "\"model_name\" must be 1 to 100 letters, digits or . _ : / - characters"),
        ("deep nesting", format!(r#"{{"conversation": {}{}}}"#, "[".repeat(5000), "]".repeat(5000)).into_bytes(), "the file is not valid JSON"),
        ("huge", format!(r#"{{"conversation": [{{"role": "user", "content": "{}", "ts": 1}}]}}"#, "x".repeat(MAX_IMPORT_BYTES)).into_bytes(), "the file is larger than the 5 MiB an archive may be"),
    ];
    for (name, bytes, reason) in cases {
        let reply = bot.send_file(user, &format!("{name}.json"), bytes).await;
        assert!(
            reply.starts_with(&format!("I couldn't import that file: {reason}")),
            "{name}: {reply}"
        );
        assert!(reply.ends_with("Nothing was stored."), "{name}: {reply}");
    }
    assert!(
        bot.object_keys().await.is_empty(),
        "nothing reached the bucket"
    );
    let state = cloud_ai_shared::store::EventStore::load(bot.store.as_ref(), user)
        .await
        .unwrap();
    assert!(state.archives.is_empty());
    assert!(bot.events(user).await.is_empty(), "no event was appended");
}

#[tokio::test]
async fn a_file_that_is_not_an_archive_is_told_what_to_send_and_never_fetched() {
    let bot = TestBot::start().await;
    let user = 990007;
    let file_id = bot.telegram.add_file(b"shopping list".to_vec());
    let mut update = fixtures::document(900701, user, user, &file_id, "notes.txt", 13);
    update["message"]["document"]["mime_type"] = "text/plain".into();
    bot.telegram.clear_sent();
    bot.handle(&update).await.unwrap();
    assert_eq!(
        bot.telegram.texts(),
        [
            "I couldn't import that file: it is not an archive. Send an archive exported with /export (a .json file). Nothing was stored."
        ]
    );
    assert!(
        !bot.telegram.calls().iter().any(|c| c == "getFile"),
        "{:?}",
        bot.telegram.calls()
    );
    assert!(bot.events(user).await.is_empty());
}

#[tokio::test]
async fn claimed_ids_never_place_an_archive_outside_the_senders_prefix() {
    let bot = TestBot::start().await;
    let user = 990004;
    let claims =
        br#"{"user_id": 1, "session_id": "../../1/evil", "original_sk": "MODEL#x#SESSION#../../y",
                      "conversation": [{"role": "assistant", "content": "hi", "ts": 5}]}"#;
    let reply = bot
        .send_file(user, "../../evil.json", claims.to_vec())
        .await;
    assert!(
        reply.starts_with("Imported the archive as archive 1"),
        "{reply}"
    );
    let keys = bot.object_keys().await;
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    let id = key
        .strip_prefix(&format!("archives/{user}/"))
        .and_then(|k| k.strip_suffix(".json"))
        .unwrap();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "the key is the sender's prefix and a fresh UUID: {key}"
    );
    assert_eq!(bot.archive(key).await.unwrap().user_id, user);
}

#[tokio::test]
async fn an_oversized_file_is_refused_before_it_is_downloaded() {
    let bot = TestBot::start().await;
    let user = 990005;
    let update = fixtures::document(
        bot.next_update_id(),
        user,
        user,
        "never-fetched",
        "big.json",
        50 * 1024 * 1024,
    );
    assert_eq!(bot.handle(&update).await.unwrap(), Outcome::Handled);
    assert!(bot.telegram.last_text().contains("larger than the 5 MiB"));
    assert!(
        !bot.telegram.calls().contains(&"getFile".to_string()),
        "no download was attempted"
    );
}

#[tokio::test]
async fn importing_the_same_update_twice_stores_one_archive() {
    let bot = TestBot::start().await;
    let user = 990006;
    let file_id = bot.telegram.add_file(REFERENCE_ARCHIVE.as_bytes().to_vec());
    let update = fixtures::document(
        4242,
        user,
        user,
        &file_id,
        "a.json",
        REFERENCE_ARCHIVE.len() as u64,
    );
    bot.handle(&update).await.unwrap();
    bot.handle(&update).await.unwrap();
    assert_eq!(bot.object_keys().await.len(), 1);
    let imported = bot
        .events(user)
        .await
        .iter()
        .filter(|r| matches!(r.event, Event::ArchiveImported { .. }))
        .count();
    assert_eq!(imported, 1);
}

#[tokio::test]
async fn archiving_finishes_after_a_crash_between_the_s3_write_and_the_deletes() {
    let bot = TestBot::start().await;
    let user = 990007;
    for i in 0..30 {
        bot.say(user, &format!("message {i}")).await;
    }
    let state = cloud_ai_shared::store::EventStore::load(bot.store.as_ref(), user)
        .await
        .unwrap();
    let session = state.sessions[0].clone();
    let job = ArchiveJob {
        user_id: user,
        session_id: session.session_id,
        model_name: session.model_name.clone(),
        s3_key: format!("archives/{user}/{}.json", session.session_id),
        archived_at: "2026-11-25T10:00:00Z".into(),
        last_message_ts: session.last_message_ts,
        title: session.title.clone(),
        persona: session.persona.clone(),
    };
    // The first run wrote the object and deleted some message rows, then died.
    let archiver = Archiver::new(bot.store.clone(), bot.archives.clone());
    let complete = {
        let messages = cloud_ai_shared::store::SessionRows::all_messages(
            bot.store.as_ref(),
            user,
            session.session_id,
        )
        .await
        .unwrap();
        let document = ArchiveDocument {
            user_id: user,
            session_id: session.session_id.to_string(),
            model_name: session.model_name.clone(),
            conversation: messages,
            original_sk: job.session_sort_key(),
            last_message_ts: session.last_message_ts,
            archived_at: job.archived_at.clone(),
            archive_version: "1.0".into(),
            title: job.title.clone(),
            imported_from: None,
        };
        cloud_ai_shared::archive::ArchiveStore::put(
            bot.archives.as_ref(),
            &job.s3_key,
            serde_json::to_vec(&document).unwrap(),
        )
        .await
        .unwrap();
        document
    };
    let some: Vec<String> = (1..=10)
        .map(|seq| cloud_ai_shared::domain::projection::message_sort_key(session.session_id, seq))
        .collect();
    let client = &bot.dynamodb;
    for sk in &some {
        client
            .delete_item()
            .table_name(&bot.table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::N(user.to_string()),
            )
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk.clone()))
            .send()
            .await
            .unwrap();
    }
    // The rerun keeps the complete archive (it does not rewrite it from the remaining rows) and
    // finishes the deletes.
    archiver.run(&job).await.unwrap();
    assert_eq!(
        bot.archive(&job.s3_key).await.unwrap().conversation,
        complete.conversation
    );
    assert_eq!(complete.conversation.len(), 30);
    assert!(
        bot.live_rows(user).await.is_empty(),
        "every live row is gone"
    );
    archiver.run(&job).await.unwrap();
    assert_eq!(
        bot.archive(&job.s3_key).await.unwrap().conversation.len(),
        30,
        "a third run changes nothing"
    );
}

/// What the original bot's `handle_document` (handler.py at d4609ba) asks of a file before it
/// imports it: JSON whose object has a `conversation` list; each message it lists by `role`,
/// `content` and `ts`.
fn the_original_would_import(bytes: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(archive)) = serde_json::from_slice::<serde_json::Value>(bytes)
    else {
        return false;
    };
    archive
        .get("conversation")
        .and_then(|c| c.as_array())
        .is_some_and(|messages| {
            messages.iter().all(|m| {
                ["user", "assistant", "system"].contains(&m["role"].as_str().unwrap_or(""))
                    && m["content"].is_string()
                    && m["ts"].is_i64()
            })
        })
}

#[tokio::test]
async fn a_session_with_a_persona_and_a_retried_answer_travels_out_and_back_equal() {
    let mut bot = TestBot::start().await;
    let model = FakeModel::start(&["llama3:latest"]).await;
    bot.handler = bot.new_handler().answering_with(Answerer::new(
        Arc::new(Ollama::new(&model.base_url)),
        AnswerSettings::default(),
    ));
    let user = 990010;
    bot.say(user, "/newsession").await;
    bot.say(user, "/persona You are a pirate.").await;
    bot.say(user, "Where is the treasure?").await;
    model.script(Script::text(
        "Under the palm tree.",
        5,
        Duration::from_millis(1),
    ));
    bot.say(user, "/retry").await;
    bot.say(user, "/rename 1 Treasure hunt").await;
    let state = bot.store.load(user).await.unwrap();
    let kept = session_messages(&bot.live_rows(user).await, state.sessions[0].session_id);
    assert_eq!(kept.len(), 2);
    assert_eq!(
        kept[1].content, "Under the palm tree.",
        "the retried answer"
    );

    bot.say(user, "/archive 1").await;
    let (bytes, exported) = export_first(&bot, user).await;
    assert_eq!(exported.title.as_deref(), Some("Treasure hunt"));
    assert_eq!(
        (
            exported.conversation[0].role,
            exported.conversation[0].content.as_str()
        ),
        (Role::System, "You are a pirate."),
        "the persona leads the conversation"
    );
    assert_eq!(exported.conversation[1..], kept[..]);
    assert!(the_original_would_import(&bytes));

    assert_eq!(
        bot.send_file(user, "treasure.json", bytes.clone()).await,
        "Imported the archive as archive 2 \"Treasure hunt\" (llama3, 3 messages). /export 2 sends it back."
    );
    assert_eq!(
        bot.say(user, "/restore 2").await,
        "Restored archive 2 \"Treasure hunt\" as session 1 (llama3, 2 messages, with its persona). It is now active; the archive stays in /listarchives."
    );
    let state = bot.store.load(user).await.unwrap();
    let restored = state.active_session().unwrap();
    assert_eq!(restored.title.as_deref(), Some("Treasure hunt"));
    assert_eq!(
        restored.persona,
        Persona::Custom {
            prompt: "You are a pirate.".into(),
            preset: None
        }
    );
    assert_eq!(restored.message_count, 2);
    let rows = bot.live_rows(user).await;
    assert_eq!(
        session_messages(&rows, restored.session_id),
        kept,
        "an equal session"
    );
    let events = bot.events(user).await;
    assert_eq!(
        rebuild_rows(user, events.iter().map(|e| &e.event)),
        rows,
        "the stream alone holds the restored session"
    );
    assert_eq!(state.archives.len(), 2, "the archives stay");

    // The conversation goes on where it was, as the pirate.
    bot.say(user, "And the map?").await;
    let asked = model.requests().pop().unwrap();
    let contents = fake_model::contents(&asked);
    assert_eq!(
        contents,
        [
            "You are a pirate.",
            "Where is the treasure?",
            "Under the palm tree.",
            "And the map?"
        ]
    );
}

#[tokio::test]
async fn a_long_archive_is_restored_in_bounded_appends_and_an_unreadable_one_is_refused() {
    let bot = TestBot::start().await;
    let user = 990011;
    let conversation: Vec<serde_json::Value> = (0..95)
        .map(|i| serde_json::json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": format!("message {i}"), "ts": 1_700_000_000 + i}))
        .collect();
    let file = serde_json::json!({"model_name": "llama3", "conversation": conversation});
    bot.send_file(user, "long.json", serde_json::to_vec(&file).unwrap())
        .await;
    assert!(
        bot.say(user, "/restore 1")
            .await
            .starts_with("Restored archive 1 \"message 0\" as session 1 (llama3, 95 messages).")
    );
    let state = bot.store.load(user).await.unwrap();
    assert_eq!(state.sessions[0].message_count, 95);
    let history = bot.say(user, "/history").await;
    assert!(history.contains("message 94"), "{history}");
    let versions: Vec<u64> = bot.events(user).await.iter().map(|e| e.version).collect();
    assert_eq!(
        versions.len(),
        1 + 2 + 95,
        "import, restore + switch, 95 messages"
    );

    // An archive whose object is gone (removed by hand) is refused and nothing changes.
    let key = state.archives[0].s3_key.clone();
    bot.s3
        .delete_object()
        .bucket(&bot.bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let events = bot.events(user).await.len();
    assert_eq!(
        bot.say(user, "/restore 1").await,
        "I couldn't restore archive 1: its file is missing from the archive store. Nothing was changed."
    );
    assert_eq!(bot.events(user).await.len(), events);
}
