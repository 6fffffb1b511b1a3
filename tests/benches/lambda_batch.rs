//! How long the command Lambda takes over one SQS batch of ten chats whose answers stream from
//! the model, against the time of one such answer alone and of the same ten records handled one
//! after another (how the batch ran before chats were handled at once). The store is on moto, the
//! model and Telegram are the local fakes. Run:
//! `cargo bench -p cloud-ai-tests --bench lambda_batch --profile dev`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use cloud_ai_shared::handlers::CommandHandler;
use cloud_ai_shared::handlers::answer::{AnswerSettings, Answerer};
use cloud_ai_shared::handlers::sqs_batch::handle_batch;
use cloud_ai_shared::model::ollama::Ollama;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fake_model::{FakeModel, Script};
use cloud_ai_tests::fixtures;
use cloud_ai_tests::queues::sqs_event_in_groups;

const CHATS: i64 = 10;
const WORDS: usize = 20;
const WORD_DELAY: Duration = Duration::from_millis(50);

/// One record per chat, each its own message group (as the poller queues them).
fn batch(first_chat: i64, chats: i64) -> SqsEvent {
    let bodies: Vec<(String, String, String)> = (first_chat..first_chat + chats)
        .map(|chat| {
            (
                format!("m{chat}"),
                format!("chat{chat}"),
                fixtures::text(chat, chat, chat, "Tell me a story").to_string(),
            )
        })
        .collect();
    let records: Vec<(&str, &str, &str)> = bodies
        .iter()
        .map(|(id, group, body)| (id.as_str(), group.as_str(), body.as_str()))
        .collect();
    sqs_event_in_groups(&records)
}

fn script_answers(model: &FakeModel, answers: i64) {
    let answer = "word ".repeat(WORDS);
    for _ in 0..answers {
        model.script(Script::text(&answer, 5, WORD_DELAY));
    }
}

async fn timed(handler: &CommandHandler, event: &SqsEvent) -> Duration {
    timed_with_streams(handler, event, None).await.0
}

/// The batch's time, and when the last of its answers began to stream (the part of the batch
/// spent before the model: reading and appending the users' messages).
async fn timed_with_streams(
    handler: &CommandHandler,
    event: &SqsEvent,
    model: Option<&FakeModel>,
) -> (Duration, Duration) {
    let firsts_before = model.map_or(0, |m| m.first_piece_times().len());
    let started = Instant::now();
    let response = handle_batch(handler, event).await;
    let elapsed = started.elapsed();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let last_stream_began = model
        .and_then(|m| m.first_piece_times()[firsts_before..].iter().max().copied())
        .map_or(Duration::ZERO, |first| first.duration_since(started));
    (elapsed, last_stream_began)
}

fn assert_answered(bot: &TestBot, first_chat: i64, chats: i64) {
    let answer = "word ".repeat(WORDS);
    for chat in first_chat..first_chat + chats {
        let shown: Vec<String> = bot
            .telegram
            .chat_messages(chat)
            .iter()
            .map(|m| m.text.clone())
            .collect();
        assert_eq!(
            shown,
            [answer.trim_end()],
            "chat {chat} got its answer once"
        );
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let bot = TestBot::start().await;
    let model = FakeModel::start(&["llama3:latest"]).await;
    let handler = bot.new_handler().answering_with(Answerer::new(
        Arc::new(Ollama::new(&model.base_url)),
        AnswerSettings::default(),
    ));

    // Warm the clients and the table first, so no run pays for the first connection.
    script_answers(&model, 1);
    timed(&handler, &batch(1, 1)).await;

    script_answers(&model, 1);
    let (alone, alone_began) = timed_with_streams(&handler, &batch(100, 1), Some(&model)).await;
    assert_answered(&bot, 100, 1);

    script_answers(&model, CHATS);
    let (together, together_began) =
        timed_with_streams(&handler, &batch(200, CHATS), Some(&model)).await;
    assert_answered(&bot, 200, CHATS);
    let at_once = model.most_at_once();

    script_answers(&model, CHATS);
    let mut one_by_one = Duration::ZERO;
    for chat in 300..300 + CHATS {
        one_by_one += timed(&handler, &batch(chat, 1)).await;
    }
    assert_answered(&bot, 300, CHATS);

    println!(
        "command Lambda batch: {CHATS} chats, each answer {WORDS} words streamed {} ms apart",
        WORD_DELAY.as_millis()
    );
    println!(
        "one answer alone:              {:7.0} ms (its stream began after {:.0} ms)",
        ms(alone),
        ms(alone_began)
    );
    println!(
        "{CHATS} chats in one batch:        {:7.0} ms ({:.2} x one answer; {at_once} answers streamed at once)",
        ms(together),
        together.as_secs_f64() / alone.as_secs_f64()
    );
    println!(
        "  the last of its streams began after {:.0} ms",
        ms(together_began)
    );
    println!(
        "{CHATS} chats one after another:   {:7.0} ms ({:.2} x one answer)",
        ms(one_by_one),
        one_by_one.as_secs_f64() / alone.as_secs_f64()
    );
}
