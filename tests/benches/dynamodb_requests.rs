//! What each chat message costs in DynamoDB: requests, write requests, item writes and bytes, for
//! the command role as the Lambda runs it (DynamoDB on moto, EventBridge on moto, the fake
//! Telegram), with and without a model answering. Counted in the SDK client, so the figures do
//! not depend on the emulator's speed (moto copies the whole table for each item of a
//! `TransactWriteItems`, so times there say little).
//!
//! `cargo bench -p cloud-ai-tests --bench dynamodb_requests` (`--profile dev` reuses the test
//! build). `BENCH_SHAPES=5x20,1x1000` picks the bursts (users × messages each; default
//! 5x20,5x100,1x300: moto's whole-table copies make longer ones slow); `BENCH_TRACE=1`
//! prints each request's operation and the sort keys it names.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use cloud_ai_shared::bus::eventbridge::EventBridgeBus;
use cloud_ai_shared::handlers::answer::{AnswerSettings, Answerer};
use cloud_ai_shared::handlers::{CommandHandler, StoragePorts};
use cloud_ai_shared::model::ollama::Ollama;
use cloud_ai_shared::store::dynamodb::DynamoDbStore;
use cloud_ai_shared::telegram::http::HttpTelegram;
use cloud_ai_tests::bot::{TOKEN, TestBot, create_table, settings};
use cloud_ai_tests::fake_model::{FakeModel, Script};
use cloud_ai_tests::fixtures;
use cloud_ai_tests::moto::MotoServer;

/// A message and an answer of the sizes people write and models answer (about 200 and 400
/// characters), so the context read meets its budget in a long session.
const QUESTION: &str = "Could you explain how event sourcing keeps every change as an event, and why the current state is only a fold of them? I would like a short example with a bank account, please.";
const ANSWER: &str =
    "An event store keeps facts such as Deposited and Withdrawn; the balance is their sum. ";

const WRITES: [&str; 5] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "BatchWriteItem",
];

#[derive(Debug, Default, Clone)]
struct Tally {
    /// Requests by operation.
    requests: BTreeMap<String, u64>,
    item_writes: u64,
    request_bytes: u64,
    response_bytes: u64,
}

impl Tally {
    fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    fn writes(&self) -> u64 {
        WRITES
            .iter()
            .map(|op| self.requests.get(*op).copied().unwrap_or(0))
            .sum()
    }
}

/// Counts every DynamoDB request the client sends, from the wire request and response.
#[derive(Debug, Clone, Default)]
struct Counter(Arc<Mutex<Tally>>);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_string();
        let body = request.body().bytes().unwrap_or_default();
        let items = match operation.as_str() {
            "TransactWriteItems" => json_len(body, &["TransactItems"]),
            "BatchWriteItem" => serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| {
                    v["RequestItems"]
                        .as_object()
                        .map(|t| t.values().filter_map(|w| w.as_array()).map(Vec::len).sum())
                })
                .unwrap_or(0) as u64,
            op if WRITES.contains(&op) => 1,
            _ => 0,
        };
        if std::env::var_os("BENCH_TRACE").is_some() {
            // Which items each request touches (keys only), to see where requests come from.
            let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let mut keys = Vec::new();
            collect_sort_keys(&value, &mut keys);
            eprintln!("{operation} {}", keys.join(" "));
        }
        let mut tally = self.0.lock().unwrap();
        *tally.requests.entry(operation).or_default() += 1;
        tally.item_writes += items;
        tally.request_bytes += body.len() as u64;
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.response().body();
        let bytes = body
            .bytes()
            .map(|b| b.len() as u64)
            .or_else(|| body.content_length())
            .unwrap_or(0);
        self.0.lock().unwrap().response_bytes += bytes;
        Ok(())
    }
}

fn collect_sort_keys(value: &serde_json::Value, keys: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(sk) = map.get("sk").and_then(|v| v["S"].as_str()) {
                keys.push(sk.to_string());
            }
            for (name, inner) in map {
                if name != "sk" {
                    collect_sort_keys(inner, keys);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_sort_keys(v, keys)),
        _ => {}
    }
}

fn json_len(body: &[u8], path: &[&str]) -> u64 {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    path.iter()
        .fold(&value, |v, key| &v[*key])
        .as_array()
        .map_or(0, |a| a.len() as u64)
}

fn shapes() -> Vec<(usize, usize)> {
    std::env::var("BENCH_SHAPES")
        .unwrap_or_else(|_| "5x20,5x100,1x300".into())
        .split(',')
        .filter_map(|shape| {
            let (users, messages) = shape.split_once('x')?;
            Some((users.trim().parse().ok()?, messages.trim().parse().ok()?))
        })
        .collect()
}

#[tokio::main]
async fn main() {
    // The bot's archives and fake Telegram; each run gets its own table and counting client.
    let bot = TestBot::start().await;
    let config = MotoServer::shared().sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let bus_name = format!("bench-{}", uuid::Uuid::new_v4().simple());
    events
        .create_event_bus()
        .name(&bus_name)
        .send()
        .await
        .expect("create the bus");
    let model = FakeModel::start(&["llama3:latest"]).await;
    println!(
        "| burst | model | requests / message | write requests / message | item writes / message | request bytes / message | response bytes / message | by operation (whole burst) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (users, messages) in shapes() {
        for answering in [false, true] {
            let counter = Counter::default();
            let client = aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&config)
                    .interceptor(counter.clone())
                    .build(),
            );
            let table = format!("bench-{}", uuid::Uuid::new_v4().simple());
            create_table(&client, &table).await;
            *counter.0.lock().unwrap() = Tally::default();
            let store = Arc::new(DynamoDbStore::new(client, &table));
            let mut handler = CommandHandler::new(
                StoragePorts::of(store, bot.archives.clone()),
                Arc::new(HttpTelegram::new(&bot.telegram.base_url, TOKEN)),
                settings(),
            )
            .publishing_to(Arc::new(EventBridgeBus::new(events.clone(), &bus_name)));
            if answering {
                handler = handler.answering_with(Answerer::new(
                    Arc::new(Ollama::new(model.base_url.clone())),
                    AnswerSettings::default(),
                ));
                for _ in 0..users * messages {
                    model.script(Script::text(&ANSWER.repeat(4), 40, Duration::ZERO));
                }
            }
            let mut update_id = 1;
            for k in 0..messages {
                for user in 0..users {
                    let user = 5000 + user as i64;
                    let text = format!("message {k}: {}", QUESTION);
                    let update = fixtures::text(update_id, user, user, &text);
                    update_id += 1;
                    handler.handle(&update).await.expect("handled");
                }
            }
            let tally = counter.0.lock().unwrap().clone();
            let per = (users * messages) as f64;
            println!(
                "| {users} × {messages} | {} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {} |",
                if answering { "answers" } else { "none" },
                tally.total() as f64 / per,
                tally.writes() as f64 / per,
                tally.item_writes as f64 / per,
                tally.request_bytes as f64 / per,
                tally.response_bytes as f64 / per,
                tally
                    .requests
                    .iter()
                    .map(|(op, n)| format!("{op} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
}
