//! The one-process bot answering with a real model: llama.cpp's server and Gemma 3 270M (both
//! installed by scripts/setup.sh), behind a recording proxy, so what the model streamed is held
//! against what the chat shows and what the store keeps. The fake model server stays for the
//! faults a real server cannot produce on demand (tests/chat.rs, faults.rs).

use std::time::Duration;

use cloud_ai_shared::domain::events::{Event, Role};
use cloud_ai_shared::sqlite::Database;
use cloud_ai_shared::store::EventStore;
use cloud_ai_shared::store::sqlite::SqliteStore;
use cloud_ai_tests::bot::TOKEN;
use cloud_ai_tests::bot_process::{BotProcess, Conversation, bot_env, eventually, temp_data_dir};
use cloud_ai_tests::fake_telegram::FakeTelegram;
use cloud_ai_tests::llama_server::{CONTEXT_TOKENS, LlamaServer, MODEL};
use cloud_ai_tests::model_tap::{Exchange, ModelTap};

const BINARY: &str = env!("CARGO_BIN_EXE_cloud-ai");
const ADA: i64 = 515151;
/// A real model at 270M parameters on two cores writes about 80 tokens a second; an answer of
/// the tests' length takes seconds, a cold first one a little more.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

struct RealBot {
    telegram: FakeTelegram,
    conversation: Conversation,
    server: LlamaServer,
    tap: ModelTap,
    data_dir: std::path::PathBuf,
    bot: BotProcess,
    max_answer_tokens: u32,
}

impl RealBot {
    /// The bot on a fresh data folder, answering with the real server through the tap, each
    /// answer at most `max_answer_tokens` long.
    async fn start(max_answer_tokens: u32) -> RealBot {
        let server = LlamaServer::start().await;
        let tap = ModelTap::start(&server.base_url).await;
        let telegram = FakeTelegram::start(TOKEN).await;
        let data_dir = temp_data_dir();
        let env = bot_env(
            &telegram,
            &data_dir,
            &[
                ("MODEL_BACKEND", "openai".to_string()),
                ("OPENAI_BASE_URL", format!("{}/v1", tap.base_url)),
                ("DEFAULT_MODEL", MODEL.to_string()),
                ("MAX_ANSWER_TOKENS", max_answer_tokens.to_string()),
            ],
        );
        let bot = BotProcess::start(BINARY, &env);
        RealBot {
            conversation: Conversation::new(telegram.clone(), 1),
            telegram,
            server,
            tap,
            data_dir,
            bot,
            max_answer_tokens,
        }
    }

    async fn ask(&self, text: &str) -> String {
        self.conversation.ask(&self.bot, ADA, text).await
    }

    /// Waits until chat request number `n` (from 1) has streamed to its end and the chat's last
    /// message shows all of it; that exchange.
    async fn answered(&self, n: usize) -> Exchange {
        eventually(
            ANSWER_TIMEOUT,
            &format!("answer {n}, whole in the chat"),
            || {
                let exchange = self.tap.chats().get(n - 1).cloned()?;
                let shown = self.telegram.chat_messages(ADA).pop()?;
                (exchange.finished()
                    && shown.raw.trim() == exchange.as_shown(self.max_answer_tokens))
                .then_some(exchange)
            },
            || self.context(),
        )
        .await
    }

    fn context(&self) -> String {
        format!(
            "chat: {:#?}\nmodel exchanges: {:#?}\nbot logs:\n{}\nserver logs:\n{}",
            self.telegram.chat_messages(ADA),
            self.tap.chats(),
            self.bot.logs(),
            self.server.logs()
        )
    }

    /// Stops the bot; the assistant messages its store keeps, in order.
    async fn stored_answers(mut self) -> Vec<String> {
        assert!(self.bot.terminate(Duration::from_secs(30)).await.success());
        let store =
            SqliteStore::new(Database::open(&self.data_dir.join("cloud-ai.sqlite3")).unwrap());
        let answers = store
            .events(ADA)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|e| match e.event {
                Event::MessagePosted {
                    role: Role::Assistant,
                    content,
                    ..
                } => Some(content),
                _ => None,
            })
            .collect();
        std::fs::remove_dir_all(&self.data_dir).unwrap();
        answers
    }
}

#[tokio::test]
async fn a_real_models_streamed_answer_arrives_whole_is_stored_once_and_its_tokens_counted() {
    let bot = RealBot::start(200).await;
    let hello = bot.ask("/start").await;
    assert!(hello.starts_with("Hello, Ada!"), "{hello}");
    assert!(
        !hello.contains("not installed") && !hello.contains("⚠️"),
        "the server's model is the default: {hello}"
    );

    bot.conversation
        .send(ADA, "Explain in three sentences why the sky is blue.");
    let exchange = bot.answered(1).await;
    let answer = exchange.streamed_text();
    assert!(answer.split_whitespace().count() > 5, "{answer:?}");
    let request = &exchange.request;
    assert_eq!(request["model"], MODEL);
    assert_eq!(request["max_tokens"], 200);
    assert_eq!(request["stream"], true);

    // /model and /status ask the real server.
    let models = bot.ask("/model").await;
    assert!(models.contains(&format!("• {MODEL} (current)")), "{models}");
    let status = bot.ask("/status").await;
    assert!(
        status.contains("Model backend: OpenAI-compatible server, answering.")
            && status.contains(&format!("Models: {MODEL}.")),
        "{status}"
    );

    // The tokens the server counted for the answer are the ones /usage shows.
    let (prompt, completion) = exchange.usage().expect("the server reports usage");
    assert!(prompt > 10 && completion > 5, "{prompt} + {completion}");
    let usage = bot.ask("/usage").await;
    assert!(
        usage.contains(&format!("({prompt} + {completion})")),
        "/usage shows the server's counts {prompt} + {completion}: {usage}"
    );

    assert_eq!(bot.tap.chats().len(), 1, "one request for one message");
    assert_eq!(
        bot.stored_answers().await,
        [answer],
        "the answer is stored once, as the model wrote it"
    );
}

#[tokio::test]
async fn a_server_killed_mid_answer_keeps_what_was_shown_and_retry_answers_on_its_return() {
    let mut bot = RealBot::start(300).await;
    bot.ask("/start").await;
    bot.conversation.send(
        ADA,
        "Write a long story about a lighthouse keeper and a storm.",
    );
    // Some of the answer has reached the chat: the server dies in the middle of writing.
    eventually(
        ANSWER_TIMEOUT,
        "part of the answer in the chat",
        || {
            let streamed = bot.tap.chats().first()?.streamed_text();
            let shown = bot.telegram.chat_messages(ADA).pop()?;
            (streamed.split_whitespace().count() >= 20 && shown.text.len() > 20).then_some(())
        },
        || bot.context(),
    )
    .await;
    bot.server.kill().await;
    let exchange = bot.tap.chats()[0].clone();
    assert!(!exchange.finished(), "the stream was cut before its end");
    let partial = exchange.streamed_text();

    let failure = eventually(
        ANSWER_TIMEOUT,
        "the answer's failure in the chat",
        || {
            let shown = bot.telegram.chat_messages(ADA).pop()?;
            shown.text.contains("⚠️").then_some(shown)
        },
        || bot.context(),
    )
    .await;
    assert!(
        failure
            .text
            .ends_with("Your message is saved in the session; /retry answers it."),
        "{}",
        failure.text
    );
    // What the model had written is still there, above the warning.
    let first_words: String = partial
        .split_whitespace()
        .take(5)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        failure.text.contains(&first_words),
        "{first_words:?} in {:?}",
        failure.text
    );

    // The server is back (on another port, behind the same address): /retry answers the message.
    bot.server = LlamaServer::start().await;
    bot.tap.point_at(&bot.server.base_url);
    bot.conversation.send(ADA, "/retry");
    let retried = bot.answered(2).await;
    let last_question = retried.request["messages"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(
        last_question["content"],
        "Write a long story about a lighthouse keeper and a storm."
    );
    assert_eq!(
        bot.stored_answers().await,
        [retried.streamed_text()],
        "only the retried answer is stored; the broken one never was"
    );
}

/// An archive of `messages` long messages, alternately Ada's and the model's.
fn long_archive(messages: usize) -> Vec<u8> {
    let conversation: Vec<serde_json::Value> = (0..messages)
        .map(|i| {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            let content = format!(
                "Note {i}. The harbour master counted {i} boats at dawn, logged the tide, the wind \
                 from the north-east, the colour of the water and the gulls on the breakwater, \
                 then wrote a line about the ferry that was late again because of fog. "
            )
            .repeat(2);
            serde_json::json!({"role": role, "content": content, "ts": 1_700_000_000 + i})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "user_id": ADA,
        "session_id": "harbour-log",
        "model_name": MODEL,
        "conversation": conversation,
        "original_sk": "SESSION#harbour-log",
        "last_message_ts": 1_700_000_000 + messages,
        "archived_at": "2026-12-01T10:00:00Z",
        "archive_version": "1.0",
    }))
    .unwrap()
}

#[tokio::test]
async fn a_conversation_longer_than_the_models_window_is_answered_from_its_newest_part() {
    let bot = RealBot::start(64).await;
    bot.ask("/start").await;
    // 40 messages of about 560 characters: 22,000 characters, within the default
    // CONTEXT_MAX_CHARS (24,000) but more tokens than the server's 4,096-token window.
    let imported = bot
        .conversation
        .send_file(&bot.bot, ADA, "harbour.json", long_archive(40))
        .await;
    assert!(
        imported.starts_with("Imported the archive as archive 1"),
        "{imported}"
    );
    let restored = bot.ask("/restore 1").await;
    assert!(restored.contains("40 messages"), "{restored}");

    bot.conversation
        .send(ADA, "How many boats were counted in the last note?");
    let answered = eventually(
        ANSWER_TIMEOUT,
        "an answer after the window's refusal",
        || {
            let chats = bot.tap.chats();
            (chats.len() >= 2 && chats.last()?.finished()).then_some(chats)
        },
        || bot.context(),
    )
    .await;
    let refused = &answered[0];
    assert_eq!(refused.status, 400, "{}", refused.response);
    assert!(
        refused.response.contains("exceed_context_size_error"),
        "{}",
        refused.response
    );
    let sent = &answered[answered.len() - 1];
    let exchange = bot.answered(answered.len()).await;
    let (prompt, _) = exchange.usage().expect("the server reports usage");
    assert!(
        prompt < CONTEXT_TOKENS,
        "the conversation sent again fits the window: {prompt} tokens"
    );
    let first = refused.request["messages"].as_array().unwrap();
    let again = sent.request["messages"].as_array().unwrap();
    assert!(
        again.len() < first.len(),
        "{} < {}",
        again.len(),
        first.len()
    );
    assert_eq!(
        again[again.len() - 1]["content"],
        "How many boats were counted in the last note?"
    );
    assert_eq!(
        again[..],
        first[first.len() - again.len()..],
        "the newest messages, in order, as they were"
    );
    let answers = bot.stored_answers().await;
    assert_eq!(
        answers.len(),
        20 + 1,
        "the archive's 20 answers, restored, and one new"
    );
    assert_eq!(answers.last(), Some(&exchange.streamed_text()));
}

/// A server that crashes at start (as a llama.cpp built for another CPU does, with SIGILL) fails
/// the test at once with its signal and last log lines, not after the two minutes a model may
/// take to load.
#[tokio::test]
async fn a_model_server_that_dies_at_start_is_reported_at_once_with_its_signal_and_last_words() {
    let dir = temp_data_dir();
    let binary = dir.join("llama-server");
    std::fs::write(
        &binary,
        "#!/bin/sh\necho 'llama threadpool init, n_threads = 2' >&2\nkill -ILL $$\n",
    )
    .unwrap();
    std::fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let start = tokio::spawn(async move {
        LlamaServer::start_binary(&binary, std::path::Path::new("unused.gguf"), &[]).await
    });
    let Err(failure) = tokio::time::timeout(Duration::from_secs(60), start)
        .await
        .expect("reported long before the two-minute load timeout")
    else {
        panic!("a server that died was taken as ready");
    };
    let message = failure
        .into_panic()
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default();
    assert!(message.contains("signal 4 (SIGILL"), "{message}");
    assert!(message.contains("llama threadpool init"), "{message}");
}

/// The model server set-up builds runs on any x86_64 processor with AVX2: its CPU library reports
/// (in the `system_info` line it logs at start with `-lv 4`) AVX2 and nothing newer, such as
/// AVX-512 or AMX, which a build for the building machine takes where it has them, and a machine
/// without them (or whose kernel has not enabled them) dies on with SIGILL.
#[cfg(target_arch = "x86_64")]
#[tokio::test]
async fn the_model_server_is_built_for_any_x86_64_processor_with_avx2() {
    let server = LlamaServer::start_with(&["-lv", "4"]).await;
    let logs = server.logs();
    let system_info = logs
        .lines()
        .find(|line| line.contains("system_info:"))
        .unwrap_or_else(|| panic!("no system_info line in:\n{logs}"));
    assert!(system_info.contains("AVX2 = 1"), "{system_info}");
    for newer in ["AVX512", "AMX", "AVX_VNNI"] {
        assert!(
            !system_info.contains(&format!("{newer} = 1"))
                && !system_info.contains(&format!("{newer}_")),
            "{newer} in {system_info}"
        );
    }
}
