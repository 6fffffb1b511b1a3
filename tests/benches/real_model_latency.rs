//! What a user waits for with a real model: llama.cpp's server and Gemma 3 270M (Q4_K_M, CPU,
//! installed by scripts/setup.sh) answering through the command handler into the fake Telegram,
//! the store on moto. For 200-token answers (the cap stops each): the time from the user's
//! message to the first visible text and to the last edit, and the edits per answer.
//! Run: `cargo bench -p cloud-ai-tests --bench real_model_latency`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud_ai_shared::handlers::answer::{AnswerSettings, Answerer};
use cloud_ai_shared::model::openai::OpenAiCompatible;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fixtures;
use cloud_ai_tests::llama_server::{LlamaServer, MODEL};
use cloud_ai_tests::model_tap::ModelTap;

const ANSWER_TOKENS: u32 = 200;
/// Each answer asks about something else, so none starts from another's cached prompt.
const TOPICS: [&str; 6] = [
    "a lighthouse keeper and a storm",
    "a baker who opens a shop on the moon",
    "two friends crossing a desert",
    "a robot learning to paint",
    "a village that forgot how to sing",
    "a cat that guards a library",
];

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median, mean and max of `values`, in milliseconds.
fn summary(mut values: Vec<Duration>) -> String {
    values.sort();
    let mean = values.iter().sum::<Duration>() / values.len() as u32;
    format!(
        "median {:.0} ms, mean {:.0} ms, max {:.0} ms",
        ms(values[values.len() / 2]),
        ms(mean),
        ms(values[values.len() - 1])
    )
}

#[tokio::main]
async fn main() {
    let server = LlamaServer::start().await;
    let tap = ModelTap::start(&server.base_url).await;
    let bot = TestBot::start().await;
    let settings = AnswerSettings {
        max_answer_tokens: Some(ANSWER_TOKENS),
        ..AnswerSettings::default()
    };
    let handler = bot.new_handler().answering_with(Answerer::new(
        Arc::new(OpenAiCompatible::new(format!("{}/v1", tap.base_url), None)),
        settings,
    ));
    let (mut first_text, mut last_edit, mut edits, mut rates) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, topic) in TOPICS.iter().enumerate() {
        let user = 20_000 + i as i64;
        let update = fixtures::text(
            i as i64 + 1,
            user,
            user,
            &format!("Write a long story about {topic}."),
        );
        let asked = Instant::now();
        handler.handle(&update).await.expect("handled");
        let exchange = tap.chats().pop().expect("the model was asked");
        let (_, completion) = exchange.usage().expect("the server reports usage");
        assert_eq!(
            completion, ANSWER_TOKENS as u64,
            "a {ANSWER_TOKENS}-token answer"
        );
        let messages = bot.telegram.chat_messages(user);
        assert_eq!(messages.len(), 1, "one message, edited as it grows");
        let shown = &messages[0];
        assert_eq!(shown.raw.trim(), exchange.as_shown(ANSWER_TOKENS));
        first_text.push(shown.sent_at.duration_since(asked));
        last_edit.push(
            shown
                .edited_at
                .last()
                .unwrap_or(&shown.sent_at)
                .duration_since(asked),
        );
        edits.push(shown.edited_at.len());
        if let Some(rate) = exchange
            .timings()
            .and_then(|t| t["predicted_per_second"].as_f64())
        {
            rates.push(rate);
        }
    }
    let rate = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    println!(
        "real model: {MODEL} (Gemma 3 270M, Q4_K_M) on llama.cpp's llama-server, CPU; {} answers of {ANSWER_TOKENS} tokens",
        TOPICS.len()
    );
    println!("the server wrote {rate:.0} tokens/s on average (its own timings)");
    println!("message → first visible text: {}", summary(first_text));
    println!(
        "message → last edit (the whole answer): {}",
        summary(last_edit)
    );
    println!(
        "edits per answer: min {}, max {} (one sendMessage each; at most one edit a second)",
        edits.iter().min().unwrap(),
        edits.iter().max().unwrap()
    );
}
