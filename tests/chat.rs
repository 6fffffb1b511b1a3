//! AI chat through the command handler, with a fake model server (Ollama's API, and the
//! OpenAI-compatible one) and the fake Telegram recording sends, edits and their times.

use std::sync::Arc;
use std::time::Duration;

use cloud_ai_shared::domain::backend::ContextBudget;
use cloud_ai_shared::domain::events::{Event, Role};
use cloud_ai_shared::domain::usage::TokenUsage;
use cloud_ai_shared::domain::vision::VisionModels;
use cloud_ai_shared::handlers::answer::{AnswerSettings, Answerer};
use cloud_ai_shared::handlers::{CommandHandler, Settings};
use cloud_ai_shared::model::ModelBackend;
use cloud_ai_shared::model::ollama::Ollama;
use cloud_ai_shared::model::openai::OpenAiCompatible;
use cloud_ai_shared::telegram::live_message::LiveSettings;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fake_model::{self, Ending, FakeModel, Script, unreachable_url};
use cloud_ai_tests::fake_telegram::{Failure, Shown};
use cloud_ai_tests::fixtures;

const ADA: i64 = 123456789;

#[derive(Clone, Copy, Debug)]
enum Api {
    Ollama,
    OpenAi,
}

const APIS: [Api; 2] = [Api::Ollama, Api::OpenAi];

fn backend(api: Api, base_url: &str) -> Arc<dyn ModelBackend> {
    match api {
        Api::Ollama => Arc::new(Ollama::new(base_url)),
        Api::OpenAi => Arc::new(OpenAiCompatible::new(format!("{base_url}/v1"), None)),
    }
}

fn settings(min_interval: Duration) -> AnswerSettings {
    AnswerSettings {
        live: LiveSettings {
            min_interval,
            ..LiveSettings::default()
        },
        stall: Duration::from_secs(5),
        typing_every: Duration::from_millis(200),
        ..AnswerSettings::default()
    }
}

struct Chat {
    bot: TestBot,
    model: FakeModel,
    handler: CommandHandler,
}

impl Chat {
    async fn start(api: Api, settings: AnswerSettings) -> Chat {
        let model = FakeModel::start(&["llama3:latest", "qwen2.5:7b"]).await;
        Chat::on(api, settings, model).await
    }

    /// A chat whose only model, `llama3`, sees photos.
    async fn seeing(api: Api, settings: AnswerSettings) -> Chat {
        let model = FakeModel::start(&[]).await;
        model.install_vision("llama3:latest");
        Chat::on(api, settings, model).await
    }

    async fn on(api: Api, settings: AnswerSettings, model: FakeModel) -> Chat {
        let bot = TestBot::start().await;
        let handler = bot
            .new_handler()
            .answering_with(Answerer::new(backend(api, &model.base_url), settings));
        Chat {
            bot,
            model,
            handler,
        }
    }

    /// Sends `text` from Ada and handles it; the update.
    async fn say(&self, text: &str) -> serde_json::Value {
        let update = fixtures::text(self.bot.next_update_id(), ADA, ADA, text);
        self.handler.handle(&update).await.expect("handled");
        update
    }

    /// Sends a photo (`file_id` its larger size) from Ada and handles it.
    async fn send_photo(&self, file_id: &str, caption: Option<&str>) {
        let update = photo(self.bot.next_update_id(), file_id, caption);
        self.handler.handle(&update).await.expect("handled");
    }

    fn messages(&self) -> Vec<Shown> {
        self.bot.telegram.chat_messages(ADA)
    }

    /// The texts the chat shows from message `before` on.
    fn shown_since(&self, before: usize) -> Vec<String> {
        self.messages()[before..]
            .iter()
            .map(|m| m.text.clone())
            .collect()
    }

    fn last_message(&self) -> String {
        self.messages().pop().expect("a message").text
    }

    async fn assistant_messages(&self) -> Vec<String> {
        self.bot.posted(ADA, Role::Assistant).await
    }
}

#[tokio::test]
async fn a_streamed_reply_ends_with_exactly_the_models_text_and_is_recorded_once() {
    for api in APIS {
        let chat = Chat::start(api, settings(Duration::from_millis(100))).await;
        let answer = "Event sourcing stores every change as an event; the state is their fold.";
        chat.model
            .script(Script::text(answer, 7, Duration::from_millis(20)));
        chat.say("/start").await;
        let update = chat.say("What is event sourcing?").await;

        assert_eq!(chat.last_message(), answer, "{api:?}");
        assert_eq!(chat.messages().len(), 2, "the greeting and one answer");
        assert!(
            !chat.messages()[1].edited_at.is_empty(),
            "the answer was edited in as it streamed ({api:?})"
        );
        assert!(
            chat.bot
                .telegram
                .actions()
                .contains(&(ADA, "typing".into()))
        );
        assert_eq!(chat.assistant_messages().await, [answer]);
        let request = &chat.model.requests()[0];
        assert_eq!(request["model"], "llama3");
        assert_eq!(
            request["messages"].as_array().unwrap().last().unwrap()["content"],
            "What is event sourcing?"
        );

        // The same update again (redelivery): no second answer, no second event.
        chat.handler.handle(&update).await.unwrap();
        assert_eq!(chat.messages().len(), 2);
        assert_eq!(chat.assistant_messages().await.len(), 1);
        assert_eq!(chat.model.requests().len(), 1);
    }
}

#[tokio::test]
async fn edits_are_throttled_to_one_a_second_and_the_last_shows_everything() {
    let chat = Chat::start(Api::Ollama, settings(Duration::from_secs(1))).await;
    let answer = "word ".repeat(60);
    chat.model
        .script(Script::text(&answer, 5, Duration::from_millis(50)));
    chat.say("Count words").await;
    let message = chat.messages().pop().unwrap();
    assert_eq!(message.text, answer.trim_end());
    let mut times = vec![message.sent_at];
    times.extend(message.edited_at.iter().copied());
    assert!(
        times.len() >= 3,
        "several edits over three seconds: {times:?}"
    );
    // The edits while the answer streams are a second apart; the last, once it is written, is
    // not held back.
    times.pop();
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(950),
            "edits {gap:?} apart, under a second"
        );
    }
}

#[tokio::test]
async fn a_429_is_honoured_before_the_next_edit() {
    let chat = Chat::start(Api::Ollama, settings(Duration::from_millis(300))).await;
    chat.bot
        .telegram
        .fail_next("editMessageText", 1, Failure::too_many_requests(2));
    let answer = "slow ".repeat(20);
    chat.model
        .script(Script::text(&answer, 5, Duration::from_millis(50)));
    chat.say("Go slowly").await;
    let message = chat.messages().pop().unwrap();
    assert_eq!(message.text, answer.trim_end());
    let first_edit = message.edited_at[0] - message.sent_at;
    assert!(
        first_edit >= Duration::from_millis(2200),
        "the edit after the 429 waited retry_after (2 s): {first_edit:?}"
    );
}

#[tokio::test]
async fn a_10000_character_answer_arrives_whole_across_several_messages() {
    for api in APIS {
        let chat = Chat::start(api, settings(Duration::from_millis(50))).await;
        let answer: String = (0..1000)
            .map(|i| {
                if i % 10 == 9 {
                    format!("line{i:05}\n")
                } else {
                    format!("word{i:05} ")
                }
            })
            .collect();
        assert_eq!(answer.chars().count(), 10_000);
        chat.model
            .script(Script::text(&answer, 250, Duration::from_millis(2)));
        chat.say("Write a lot").await;
        let messages = chat.messages();
        assert!(messages.len() >= 3, "{} messages", messages.len());
        for message in &messages {
            assert!(message.text.encode_utf16().count() <= 4096);
        }
        let shown: Vec<String> = messages
            .iter()
            .flat_map(|m| m.text.split_whitespace().map(str::to_string))
            .collect();
        let expected: Vec<&str> = answer.split_whitespace().collect();
        assert_eq!(shown, expected, "{api:?}: every word, in order");
        assert_eq!(chat.assistant_messages().await, [answer]);
    }
}

#[tokio::test]
async fn markup_telegram_would_reject_still_arrives() {
    let chat = Chat::start(Api::Ollama, settings(Duration::from_millis(50))).await;
    let answer = "Use <b>tags & a < b **bold** and `x<y>`\n```rust\nlet a = 1 < 2;\n```";
    chat.model
        .script(Script::text(answer, 6, Duration::from_millis(5)));
    chat.say("Show markup").await;
    let message = chat.messages().pop().unwrap();
    assert!(message.html, "sent as HTML");
    assert_eq!(
        message.text,
        "Use <b>tags & a < b bold and x<y>\nlet a = 1 < 2;"
    );

    // When Telegram refuses the markup anyway, the text arrives plain.
    chat.bot
        .telegram
        .fail_next("sendMessage", 1, Failure::bad_markup());
    chat.model
        .script(Script::text("**Plain** fallback", 50, Duration::ZERO));
    chat.say("Again").await;
    let message = chat.messages().pop().unwrap();
    assert!(!message.html);
    assert_eq!(message.text, "**Plain** fallback");
}

#[tokio::test]
async fn formatting_never_drops_a_character_of_the_answer() {
    let chat = Chat::start(Api::Ollama, settings(Duration::from_millis(50))).await;
    // Model outputs that trip Markdown renderers, streamed three characters at a time (so the
    // first piece of several is a bare fence), and what the user must see of each: every
    // character but the formatting marks.
    let cases = [
        (
            "```python\nprint(1)\n``` and that is all.\nMore text",
            "print(1)\nand that is all.\nMore text",
        ),
        (
            "```not a language name\ncode\n```",
            "not a language name\ncode",
        ),
        (
            "Stray < and > and & and * and _ and ` and </b>",
            "Stray < and > and & and * and _ and ` and </b>",
        ),
        (
            "Unclosed ```fence mid-line and **bold",
            "Unclosed ```fence mid-line and **bold",
        ),
        ("a **b `c` d** e", "a b c d e"),
        ("```\nopen fence < to the end", "open fence < to the end"),
        // Nothing but a fence: shown as the characters it is, not refused as an empty message.
        ("```", "```"),
    ];
    for (answer, seen) in cases {
        chat.model
            .script(Script::text(answer, 3, Duration::from_millis(5)));
        chat.say("Show it").await;
        let message = chat.messages().pop().unwrap();
        assert_eq!(message.text, seen, "the model wrote {answer:?}");
    }
}

/// The user's messages and the assistant's, as recorded.
async fn recorded(chat: &Chat) -> (usize, usize) {
    let events = chat.bot.events(ADA).await;
    let count = |role| {
        events
            .iter()
            .filter(|e| matches!(&e.event, Event::MessagePosted { role: r, .. } if *r == role))
            .count()
    };
    (count(Role::User), count(Role::Assistant))
}

#[tokio::test]
async fn failures_give_a_clear_message_and_keep_the_users_message() {
    for api in APIS {
        // The backend is down.
        let bot = TestBot::start().await;
        let handler = bot.new_handler().answering_with(Answerer::new(
            backend(api, &unreachable_url().await),
            settings(Duration::from_millis(50)),
        ));
        handler
            .handle(&fixtures::text(1, ADA, ADA, "Anyone there?"))
            .await
            .unwrap();
        assert_eq!(
            bot.telegram.chat_messages(ADA).pop().unwrap().text,
            "⚠️ The model backend cannot be reached right now. Your message is saved in the session; /retry answers it."
        );
        assert_eq!(
            bot.live_rows(ADA).await.len(),
            2,
            "the session and the message"
        );

        // An error line in the middle of the stream.
        let chat = Chat::start(api, settings(Duration::from_millis(50))).await;
        chat.model.script(
            Script::text("The answer is", 4, Duration::from_millis(5))
                .ending(Ending::Error("out of memory".into())),
        );
        chat.say("Tell me").await;
        assert_eq!(
            chat.last_message(),
            "The answer is\n\n⚠️ The model failed: out of memory. Your message is saved in the session; /retry answers it."
        );
        assert_eq!(recorded(&chat).await, (1, 0), "{api:?}");

        // A stalled stream.
        let chat = Chat::start(
            api,
            AnswerSettings {
                stall: Duration::from_millis(400),
                ..settings(Duration::from_millis(50))
            },
        )
        .await;
        chat.model
            .script(Script::text("Thinking", 4, Duration::from_millis(5)).ending(Ending::Stall));
        chat.say("Hello?").await;
        assert!(
            chat.last_message()
                .starts_with("Thinking\n\n⚠️ The model stopped sending text."),
            "{}",
            chat.last_message()
        );
        assert_eq!(recorded(&chat).await, (1, 0));
    }
}

/// A handler whose DEFAULT_MODEL the fake backend does not have.
fn handler_defaulting_to(chat: &Chat, api: Api, default_model: &str) -> CommandHandler {
    chat.bot
        .handler_with(Settings {
            default_model: default_model.into(),
            ..cloud_ai_tests::bot::settings()
        })
        .answering_with(Answerer::new(
            backend(api, &chat.model.base_url),
            settings(Duration::from_millis(50)),
        ))
}

#[tokio::test]
async fn a_missing_model_offers_the_installed_ones_and_model_answers_the_message_there() {
    for api in APIS {
        let chat = Chat::start(api, settings(Duration::from_millis(50))).await;
        let mistral = handler_defaulting_to(&chat, api, "mistral");
        mistral
            .handle(&fixtures::text(1, ADA, ADA, "/start"))
            .await
            .unwrap();
        assert!(
            chat.last_message().ends_with(
                "\n\n⚠️ The model mistral is not installed on the model backend: /model shows the ones that are."
            ),
            "{}",
            chat.last_message()
        );
        mistral
            .handle(&fixtures::text(2, ADA, ADA, "Hello mistral"))
            .await
            .unwrap();
        assert_eq!(
            chat.last_message(),
            "⚠️ The model backend has no model \"mistral\". Installed: llama3:latest, qwen2.5:7b. Choose one with /model <name>, and it answers your message there."
        );
        assert_eq!(recorded(&chat).await, (1, 0));

        // Asking for a model the backend lacks changes nothing.
        chat.say("/model mistral").await;
        assert_eq!(
            chat.last_message(),
            "The model backend has no model \"mistral\". Available: llama3:latest, qwen2.5:7b."
        );

        // Choosing one answers the message that was left unanswered, in the chosen session.
        let shown_before = chat.messages().len();
        chat.say("/model qwen2.5:7b").await;
        assert_eq!(
            chat.shown_since(shown_before),
            [
                "Started session 2 (qwen2.5:7b). It is now active.\nYour last message goes along: qwen2.5:7b answers it now.",
                "Echo: Hello mistral",
            ]
        );
        assert_eq!(chat.model.requests().last().unwrap()["model"], "qwen2.5:7b");
        assert_eq!(recorded(&chat).await, (2, 1), "carried once, answered once");
    }
}

#[tokio::test]
async fn a_model_installed_later_answers_the_waiting_message_in_place() {
    let chat = Chat::start(Api::Ollama, settings(Duration::from_millis(50))).await;
    let phi = handler_defaulting_to(&chat, Api::Ollama, "phi3");
    phi.handle(&fixtures::text(1, ADA, ADA, "Hello phi"))
        .await
        .unwrap();
    assert!(chat.last_message().contains("no model \"phi3\""));
    // The operator runs `ollama pull phi3`; the user asks for it by name.
    chat.model.install("phi3:latest");
    let shown_before = chat.messages().len();
    phi.handle(&fixtures::text(2, ADA, ADA, "/model phi3"))
        .await
        .unwrap();
    assert_eq!(
        chat.shown_since(shown_before),
        [
            "Your active session already uses phi3:latest. It answers your last message now.",
            "Echo: Hello phi",
        ]
    );
    assert_eq!(
        recorded(&chat).await,
        (1, 1),
        "answered in place, not posted again"
    );
}

#[tokio::test]
async fn an_answer_that_would_outlive_the_invocation_is_explained() {
    let chat = Chat::start(Api::Ollama, settings(Duration::from_millis(50))).await;
    chat.say("/start").await;
    chat.model
        .script(Script::text("Long thought", 2, Duration::from_millis(300)));
    let update = fixtures::text(chat.bot.next_update_id(), ADA, ADA, "Think hard");
    let deadline = tokio::time::Instant::now()
        + AnswerSettings::default().reserve
        + Duration::from_millis(700);
    chat.handler
        .handle_until(&update, Some(deadline))
        .await
        .unwrap();
    let last = chat.last_message();
    assert!(
        last.ends_with("⚠️ The answer took longer than the bot may wait. Your message is saved in the session; /retry answers it."),
        "{last}"
    );
    assert_eq!(recorded(&chat).await, (1, 0));
}

#[tokio::test]
async fn the_context_keeps_the_newest_messages_within_the_budget_after_the_system_prompt() {
    let bot = TestBot::start().await;
    // Twenty stored messages, without a model.
    for i in 0..20 {
        bot.say(ADA, &format!("message number {i:02}")).await; // 17 characters each
    }
    let model = FakeModel::start(&["llama3:latest"]).await;
    let handler = bot.new_handler().answering_with(Answerer::new(
        backend(Api::Ollama, &model.base_url),
        AnswerSettings {
            budget: ContextBudget {
                max_chars: 60,
                system_prompt: Some("You are terse.".into()),
            },
            ..settings(Duration::from_millis(50))
        },
    ));
    handler
        .handle(&fixtures::text(
            bot.next_update_id(),
            ADA,
            ADA,
            "and the last one",
        ))
        .await
        .unwrap();
    let request = &model.requests()[0];
    let sent: Vec<(String, String)> = request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("system".to_string(), "You are terse.".to_string()),
            ("user".to_string(), "message number 18".to_string()),
            ("user".to_string(), "message number 19".to_string()),
            ("user".to_string(), "and the last one".to_string()),
        ]
    );
}

#[tokio::test]
async fn model_and_status_talk_to_the_backend() {
    for api in APIS {
        let chat = Chat::start(api, settings(Duration::from_millis(50))).await;
        chat.say("/start").await;
        chat.say("/model").await;
        let list = chat.last_message();
        assert!(list.contains("• llama3:latest (current)"), "{list}");
        assert!(list.contains("• qwen2.5:7b"), "{list}");

        chat.say("/model qwen2.5:7b").await;
        assert_eq!(
            chat.last_message(),
            "Started session 2 (qwen2.5:7b). It is now active."
        );
        chat.say("Hi qwen").await;
        assert_eq!(chat.last_message(), "Echo: Hi qwen");
        assert_eq!(chat.model.requests().last().unwrap()["model"], "qwen2.5:7b");

        chat.say("/status").await;
        let status = chat.last_message();
        match api {
            Api::Ollama => assert!(
                status.starts_with(
                    "Model backend: Ollama 0.5.7, answering.\nModels: llama3:latest, qwen2.5:7b."
                ),
                "{status}"
            ),
            Api::OpenAi => assert!(
                status.starts_with("Model backend: OpenAI-compatible server, answering."),
                "{status}"
            ),
        }
        assert!(
            status.contains("Active session: 2 of 2 \"Hi qwen\" (qwen2.5:7b, 2 messages)."),
            "{status}"
        );
    }
}

#[tokio::test]
async fn retry_answers_a_failed_message_without_storing_it_twice_and_replaces_an_answer() {
    for api in APIS {
        let chat = Chat::start(api, settings(Duration::from_millis(50))).await;
        chat.model.script(
            Script::text("The answer is", 4, Duration::from_millis(5))
                .ending(Ending::Error("out of memory".into())),
        );
        chat.say("Tell me a fact").await;
        assert!(
            chat.last_message().ends_with("/retry answers it."),
            "{api:?}"
        );

        // The saved message is answered; nothing is stored again.
        chat.model.script(Script::text(
            "Honey never spoils.",
            4,
            Duration::from_millis(5),
        ));
        chat.say("/retry").await;
        assert_eq!(chat.last_message(), "Honey never spoils.");
        assert_eq!(recorded(&chat).await, (1, 1), "{api:?}");

        // Answered: a new answer, generated without the old one, takes its place.
        chat.model.script(Script::text(
            "Octopuses have three hearts.",
            4,
            Duration::from_millis(5),
        ));
        let before = chat.messages().len();
        let update = chat.say("/retry").await;
        assert_eq!(chat.shown_since(before), ["Octopuses have three hearts."]);
        let asked = chat.model.requests().pop().expect("a chat request");
        let contents = fake_model::contents(&asked);
        assert_eq!(contents, ["Tell me a fact"], "{api:?}");
        assert_eq!(recorded(&chat).await, (1, 1), "{api:?}");
        let names: Vec<&str> = chat
            .bot
            .events(ADA)
            .await
            .iter()
            .map(|e| e.event.name())
            .collect();
        assert_eq!(names.last(), Some(&"AnswerReplaced"));
        chat.say("/history").await;
        let history = chat.last_message();
        assert!(
            history.contains("Octopuses have three hearts."),
            "{history}"
        );
        assert!(!history.contains("Honey"), "{history}");

        // A redelivered /retry neither answers nor records again.
        let shown = chat.messages().len();
        let events = chat.bot.events(ADA).await.len();
        chat.handler.handle(&update).await.expect("handled");
        assert_eq!(chat.messages().len(), shown);
        assert_eq!(chat.bot.events(ADA).await.len(), events);
    }
}

#[tokio::test]
async fn a_sessions_persona_goes_to_the_model_before_the_conversation() {
    for api in APIS {
        let bot = TestBot::start().await;
        let model = FakeModel::start(&["llama3:latest"]).await;
        let answers = AnswerSettings {
            budget: ContextBudget {
                system_prompt: Some("You are the bot's default.".into()),
                ..settings(Duration::from_millis(50)).budget
            },
            ..settings(Duration::from_millis(50))
        };
        let handler = bot
            .new_handler()
            .answering_with(Answerer::new(backend(api, &model.base_url), answers));
        let say = |text: &str| {
            let update = fixtures::text(bot.next_update_id(), ADA, ADA, text);
            let handler = handler.clone();
            async move { handler.handle(&update).await.expect("handled") }
        };
        let system_of_last_request = || {
            let request = model.requests().pop().expect("a chat request");
            let first = &request["messages"][0];
            (first["role"] == "system").then(|| first["content"].as_str().unwrap().to_string())
        };
        say("/newsession").await;
        say("first").await;
        assert_eq!(
            system_of_last_request().as_deref(),
            Some("You are the bot's default.")
        );
        say("/persona You are a pirate.").await;
        say("second").await;
        assert_eq!(
            system_of_last_request().as_deref(),
            Some("You are a pirate."),
            "{api:?}"
        );
        say("/persona off").await;
        say("third").await;
        assert_eq!(system_of_last_request(), None, "{api:?}");
        // Another session keeps its own.
        say("/persona concise").await;
        say("/newsession").await;
        say("fourth").await;
        assert_eq!(
            system_of_last_request().as_deref(),
            Some("You are the bot's default.")
        );
        say("/switch 1").await;
        say("/retry").await;
        assert!(
            system_of_last_request()
                .unwrap()
                .starts_with("You are a concise assistant."),
            "{api:?}"
        );
    }
}

#[tokio::test]
async fn the_tokens_the_backend_reports_are_recorded_with_each_answer_and_shown_by_usage() {
    for api in APIS {
        let chat = Chat::start(api, settings(Duration::from_millis(50))).await;
        // Seven pieces: the fake server counts a token a piece, and 10 for the prompt.
        chat.model.script(Script::text(
            "Tokens are counted.",
            3,
            Duration::from_millis(2),
        ));
        chat.say("Count this").await;
        let usage = chat
            .bot
            .events(ADA)
            .await
            .into_iter()
            .find_map(|e| match e.event {
                Event::MessagePosted {
                    role: Role::Assistant,
                    usage,
                    ..
                } => usage,
                _ => None,
            });
        assert_eq!(
            usage,
            Some(TokenUsage {
                prompt: 10,
                answer: 7
            }),
            "{api:?}"
        );
        chat.say("/usage").await;
        assert_eq!(
            chat.last_message(),
            "Tokens the model read + wrote, as the backend reports them:\nSession 1 \"Count this\": 17 (10 + 7)\nToday: 17 · this month: 17 · all time: 17 (10 + 7) in 1 answer",
            "{api:?}"
        );
    }
}

#[tokio::test]
async fn an_answer_stops_at_max_answer_tokens_and_says_so_in_one_line() {
    for api in APIS {
        let capped = AnswerSettings {
            max_answer_tokens: Some(4),
            ..settings(Duration::from_millis(50))
        };
        let chat = Chat::start(api, capped).await;
        // Twelve pieces of three characters: the fake server counts a token a piece.
        chat.model.script(Script::text(
            "One two three four five six seven eight nine ten.",
            3,
            Duration::from_millis(2),
        ));
        chat.say("Count to ten, slowly").await;
        let request = chat.model.requests().pop().unwrap();
        let limit = match api {
            Api::Ollama => &request["options"]["num_predict"],
            Api::OpenAi => &request["max_tokens"],
        };
        assert_eq!(limit, 4, "{api:?}");
        assert_eq!(
            chat.last_message(),
            "One two thre\n\n✂️ Cut at the answer length limit (4 tokens). Say \"go on\" for more.",
            "{api:?}"
        );
        assert_eq!(
            chat.assistant_messages().await,
            ["One two thre"],
            "{api:?}: the note is not part of the answer"
        );
        // An answer within the limit has no note.
        chat.model
            .script(Script::text("Done.", 3, Duration::from_millis(2)));
        chat.say("Short, please").await;
        assert_eq!(chat.last_message(), "Done.", "{api:?}");
    }
}

/// A photo from Ada in two sizes (the larger is `file_id`), with `caption`.
fn photo(update_id: i64, file_id: &str, caption: Option<&str>) -> serde_json::Value {
    let mut message = serde_json::json!({
        "message_id": update_id, "date": 1_764_064_819,
        "from": {"id": ADA, "is_bot": false, "first_name": "Ada"},
        "chat": {"id": ADA, "type": "private"},
        "photo": [
            {"file_id": "small-id", "file_unique_id": "s", "file_size": 1_200, "width": 90, "height": 60},
            {"file_id": file_id, "file_unique_id": "l", "file_size": 61_000, "width": 800, "height": 533}
        ]
    });
    if let Some(caption) = caption {
        message["caption"] = caption.into();
    }
    serde_json::json!({"update_id": update_id, "message": message})
}

#[tokio::test]
async fn a_photos_caption_is_answered_with_a_note_and_the_photo_kept_by_reference() {
    let chat = Chat::start(Api::Ollama, settings(Duration::from_millis(50))).await;
    chat.send_photo("large-id", None).await;
    assert!(
        chat.last_message()
            .starts_with("This model can't see photos, so there is nothing to answer.")
    );
    assert!(chat.bot.events(ADA).await.is_empty(), "nothing stored");

    chat.send_photo("large-id", Some("What bird is this?"))
        .await;
    assert_eq!(
        chat.shown_since(1),
        [
            "🖼 This model can't see photos, so it answers your caption.",
            "Echo: What bird is this?"
        ]
    );
    let kept = chat
        .bot
        .events(ADA)
        .await
        .into_iter()
        .find_map(|e| match e.event {
            Event::MessagePosted {
                role: Role::User,
                image,
                ..
            } => image,
            _ => None,
        });
    assert_eq!(
        kept.map(|i| (i.file_id, i.file_size)),
        Some(("large-id".to_string(), Some(61_000)))
    );
}

/// The images of each message of the last model request, base64, in either API's shape.
fn images_sent(request: &serde_json::Value) -> Vec<Vec<String>> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| match &m["content"] {
            serde_json::Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["image_url"]["url"].as_str())
                .map(|url| {
                    url.strip_prefix("data:image/jpeg;base64,")
                        .expect("a JPEG data URL")
                        .to_string()
                })
                .collect(),
            _ => m["images"]
                .as_array()
                .map(|i| i.iter().map(|i| i.as_str().unwrap().to_string()).collect())
                .unwrap_or_default(),
        })
        .collect()
}

#[tokio::test]
async fn a_model_that_sees_photos_gets_them_with_the_conversation_and_later_questions() {
    use base64::Engine;
    let jpeg = |n: u8| [0xFF, 0xD8, 0xFF, 0xE0, n, n, n, 0xFF, 0xD9].to_vec();
    let encoded = |n: u8| base64::engine::general_purpose::STANDARD.encode(jpeg(n));
    for api in APIS {
        // Ollama says so in /api/show; an OpenAI-compatible server cannot, so VISION_MODELS does.
        let settings = AnswerSettings {
            vision: match api {
                Api::Ollama => VisionModels::AskBackend,
                Api::OpenAi => VisionModels::parse(Some("llama3")),
            },
            ..settings(Duration::from_millis(50))
        };
        let chat = Chat::seeing(api, settings).await;
        chat.bot.telegram.add_file_with_id("bird-id", jpeg(1));
        chat.bot.telegram.add_file_with_id("nest-id", jpeg(2));

        chat.send_photo("bird-id", Some("What bird is this?")).await;
        assert_eq!(
            chat.shown_since(0),
            ["Echo: What bird is this? [1 photo]"],
            "{api:?}: no note"
        );
        chat.send_photo("nest-id", None).await;
        assert_eq!(
            chat.last_message(),
            "Echo: Describe this photo. [1 photo]",
            "{api:?}"
        );
        chat.say("Which of the two is older?").await;
        assert_eq!(
            chat.last_message(),
            "Echo: Which of the two is older?",
            "{api:?}"
        );
        let requests = chat.model.requests();
        assert_eq!(
            images_sent(requests.last().unwrap()),
            [vec![encoded(1)], vec![], vec![encoded(2)], vec![], vec![]],
            "{api:?}: both photos go with the later question, each with its message"
        );
        chat.say("/status").await;
        assert!(
            chat.last_message()
                .contains("\nPhotos: llama3 sees them.\n"),
            "{api:?}: {}",
            chat.last_message()
        );
    }
}

#[tokio::test]
async fn a_photo_telegram_no_longer_serves_leaves_its_caption_to_answer() {
    let chat = Chat::seeing(Api::Ollama, settings(Duration::from_millis(50))).await;
    // No file under "gone-id": getFile answers "Bad Request: invalid file_id".
    chat.send_photo("gone-id", Some("And this one?")).await;
    assert_eq!(chat.shown_since(0), ["Echo: And this one?"]);
}

#[tokio::test]
async fn photos_never_go_to_a_model_that_does_not_see_them() {
    let chat = Chat::start(Api::Ollama, settings(Duration::from_millis(50))).await;
    chat.bot
        .telegram
        .add_file_with_id("bird-id", vec![0xFF, 0xD8, 0xFF, 0xD9]);
    chat.send_photo("bird-id", Some("What bird is this?")).await;
    chat.say("And now?").await;
    assert_eq!(chat.last_message(), "Echo: And now?");
    let requests = chat.model.requests();
    assert!(
        requests
            .iter()
            .all(|r| images_sent(r).iter().all(Vec::is_empty)),
        "a model without vision would refuse the request"
    );
}
