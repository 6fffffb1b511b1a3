//! Per-user limits through the command handler on moto with the fake Telegram and model: over a
//! limit, the user is told once (with when it resets), nothing is stored, the model is not called.

use std::sync::Arc;
use std::time::Duration;

use cloud_ai_shared::clock::ManualClock;
use cloud_ai_shared::domain::events::Role;
use cloud_ai_shared::domain::limits::{Limits, Window};
use cloud_ai_shared::handlers::answer::{AnswerSettings, Answerer};
use cloud_ai_shared::handlers::{Outcome, Settings};
use cloud_ai_shared::model::ModelBackend;
use cloud_ai_shared::model::ollama::Ollama;
use cloud_ai_shared::model::openai::OpenAiCompatible;
use cloud_ai_tests::bot::{TestBot, settings};
use cloud_ai_tests::fake_model::{FakeModel, Script};
use cloud_ai_tests::fixtures;

const ADA: i64 = 4711;

fn limited(limits: Limits) -> Settings {
    Settings {
        limits,
        ..settings()
    }
}

async fn user_messages(bot: &TestBot) -> Vec<String> {
    bot.posted(ADA, Role::User).await
}

/// A clock standing at the start of the current minute: the test's messages all fall in one
/// window, however long they take.
fn the_start_of_a_minute() -> Arc<ManualClock> {
    let now = chrono::Utc::now().timestamp();
    Arc::new(ManualClock::at(Window::minute(now).resets_at - 60))
}

#[tokio::test]
async fn a_user_over_the_messages_a_minute_is_told_once_and_nothing_is_stored() {
    let bot = TestBot::start().await;
    let handler = bot
        .handler_with(limited(Limits {
            messages_per_minute: 3,
            ..Limits::default()
        }))
        .with_clock(the_start_of_a_minute());
    let mut outcomes = Vec::new();
    for n in 1..=6 {
        bot.telegram.clear_sent();
        let update = fixtures::text(bot.next_update_id(), ADA, ADA, &format!("message {n}"));
        outcomes.push((handler.handle(&update).await.unwrap(), bot.telegram.texts()));
    }
    assert!(outcomes[..3].iter().all(|(o, _)| *o == Outcome::Handled));
    let (outcome, told) = &outcomes[3];
    assert_eq!(*outcome, Outcome::Limited);
    assert_eq!(told.len(), 1);
    assert!(
        told[0].starts_with("You're sending messages faster than I take them (3 a minute)")
            && told[0].contains("Send it again after"),
        "{told:?}"
    );
    for (outcome, told) in &outcomes[4..] {
        assert_eq!(*outcome, Outcome::Limited);
        assert!(told.is_empty(), "told once a window: {told:?}");
    }
    assert_eq!(
        user_messages(&bot).await,
        ["message 1", "message 2", "message 3"]
    );
    // Another user is not held back by Ada's count.
    bot.telegram.clear_sent();
    let other = fixtures::text(bot.next_update_id(), ADA + 1, ADA + 1, "/echo hi");
    assert_eq!(handler.handle(&other).await.unwrap(), Outcome::Handled);
    assert_eq!(bot.telegram.texts(), ["hi"]);
}

#[tokio::test]
async fn a_user_out_of_tokens_today_is_told_once_and_the_model_is_not_called() {
    for openai in [false, true] {
        let bot = TestBot::start().await;
        let model = FakeModel::start(&["llama3:latest"]).await;
        let backend: Arc<dyn ModelBackend> = if openai {
            Arc::new(OpenAiCompatible::new(
                format!("{}/v1", model.base_url),
                None,
            ))
        } else {
            Arc::new(Ollama::new(model.base_url.clone()))
        };
        // The fake reports 10 prompt tokens plus one per piece: 13 for this answer.
        model.script(Script::text("one two three", 5, Duration::ZERO));
        let handler = bot
            .handler_with(limited(Limits {
                tokens_per_day: 12,
                ..settings().limits
            }))
            .answering_with(Answerer::new(backend, AnswerSettings::default()));
        let say = |text: &str| fixtures::text(bot.next_update_id(), ADA, ADA, text);
        assert_eq!(
            handler.handle(&say("hello")).await.unwrap(),
            Outcome::Handled
        );
        let shown = bot.telegram.chat_messages(ADA);
        assert_eq!(shown.last().unwrap().text, "one two three");

        bot.telegram.clear_sent();
        assert_eq!(
            handler.handle(&say("more?")).await.unwrap(),
            Outcome::Limited
        );
        let told = bot.telegram.texts();
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(
            told[0].starts_with("You've used today's 12 model tokens")
                && told[0].contains("00:00:00 UTC"),
            "{told:?}"
        );
        bot.telegram.clear_sent();
        assert_eq!(
            handler.handle(&say("please?")).await.unwrap(),
            Outcome::Limited
        );
        assert!(bot.telegram.texts().is_empty(), "told once a day");
        // Commands still work.
        handler.handle(&say("/echo still here")).await.unwrap();
        assert_eq!(bot.telegram.texts(), ["still here"]);

        assert_eq!(model.requests().len(), 1, "openai={openai}: one model call");
        assert_eq!(user_messages(&bot).await, ["hello"], "openai={openai}");
    }
}
