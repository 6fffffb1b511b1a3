//! What the answer path adds between the model's first token and the first text the user sees,
//! and how many Telegram calls a reply costs, against the fake Ollama at a fixed token rate and
//! the fake Telegram (both local), with the store on moto. Run: `cargo bench -p cloud-ai-tests`.

use std::sync::Arc;
use std::time::Duration;

use cloud_ai_shared::handlers::answer::{AnswerSettings, Answerer};
use cloud_ai_shared::model::ollama::Ollama;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fake_model::{FakeModel, Script};
use cloud_ai_tests::fixtures;

const REPLIES: usize = 8;
const TOKENS: usize = 100;
const TOKENS_PER_SECOND: u64 = 25;

#[tokio::main]
async fn main() {
    let bot = TestBot::start().await;
    let model = FakeModel::start(&["llama3:latest"]).await;
    let handler = bot.new_handler().answering_with(Answerer::new(
        Arc::new(Ollama::new(model.base_url.clone())),
        AnswerSettings::default(),
    ));
    let answer = "token ".repeat(TOKENS);
    let mut delays = Vec::new();
    let mut calls = Vec::new();
    for reply in 0..REPLIES {
        let user = 10_000 + reply as i64;
        model.script(Script::text(
            &answer,
            6,
            Duration::from_millis(1000 / TOKENS_PER_SECOND),
        ));
        handler
            .handle(&fixtures::text(reply as i64 + 1, user, user, "Go"))
            .await
            .expect("handled");
        let first_token = *model.first_piece_times().last().expect("a first token");
        let messages = bot.telegram.chat_messages(user);
        let shown = messages.first().expect("an answer message");
        assert_eq!(shown.text, answer.trim_end(), "the whole answer is shown");
        delays.push(shown.sent_at.duration_since(first_token));
        calls.push(messages.len() + messages.iter().map(|m| m.edited_at.len()).sum::<usize>());
    }
    delays.sort();
    let mean = delays.iter().sum::<Duration>() / delays.len() as u32;
    let edits: Vec<usize> = calls.iter().map(|c| c - 1).collect();
    println!(
        "answer latency: {REPLIES} replies of {TOKENS} tokens at {TOKENS_PER_SECOND} tokens/s (4 s each)"
    );
    println!(
        "first token → first visible text: median {:.1} ms, mean {:.1} ms, max {:.1} ms",
        delays[delays.len() / 2].as_secs_f64() * 1000.0,
        mean.as_secs_f64() * 1000.0,
        delays[delays.len() - 1].as_secs_f64() * 1000.0
    );
    println!(
        "edits per reply: min {}, max {} (one sendMessage each; at most one call per second)",
        edits.iter().min().unwrap(),
        edits.iter().max().unwrap()
    );
}
