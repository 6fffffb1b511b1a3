//! A bot wired to moto (a table and a bucket of its own) and to a fake Telegram.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use cloud_ai_shared::archive::ArchiveStore;
use cloud_ai_shared::archive::s3::S3ArchiveStore;
use cloud_ai_shared::aws;
use cloud_ai_shared::domain::archive_doc::ArchiveDocument;
use cloud_ai_shared::domain::events::{Event, RecordedEvent, Role};
use cloud_ai_shared::domain::projection::Rows;
use cloud_ai_shared::handlers::{CommandHandler, HandleError, Outcome, Settings, StoragePorts};
use cloud_ai_shared::store::dynamodb::DynamoDbStore;
use cloud_ai_shared::store::{EventStore, SessionRows};
use cloud_ai_shared::telegram::http::HttpTelegram;
use serde_json::Value;

use crate::fake_telegram::FakeTelegram;
use crate::fixtures;
use crate::moto::MotoServer;

pub const TOKEN: &str = "123456789:AAH-test-token_do-not-log";
/// The bot's own user id: the token's first part.
pub const BOT_ID: i64 = 123456789;
/// The test bot's admin.
pub const ADMIN: i64 = 900;

pub struct TestBot {
    pub telegram: FakeTelegram,
    pub table: String,
    pub bucket: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub store: Arc<DynamoDbStore>,
    pub archives: Arc<S3ArchiveStore>,
    pub handler: CommandHandler,
    next_update: AtomicI64,
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn attribute(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .unwrap()
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .unwrap()
}

fn index(name: &str, hash: &str, range: &str) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash))
        .key_schema(key(range, KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .unwrap()
}

/// Creates the original's `chatbot-sessions` table under `name`: keys, both GSIs and TTL.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    use ScalarAttributeType::{N, S};
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk", N))
        .attribute_definitions(attribute("sk", S))
        .attribute_definitions(attribute("model_name", S))
        .attribute_definitions(attribute("session_id", S))
        .attribute_definitions(attribute("is_active", N))
        .attribute_definitions(attribute("last_message_ts", N))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(index("model_index", "model_name", "session_id"))
        .global_secondary_indexes(index(
            "active_sessions_index",
            "is_active",
            "last_message_ts",
        ))
        .send()
        .await
        .expect("create the sessions table");
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("ttl")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL");
}

/// The test bot's settings: `@cloudaibot` (id 123456789, from [`TOKEN`]), open to everyone, with
/// [`ADMIN`] as its admin, and no practical limit on messages a minute. Access tests build handlers with a private policy instead.
pub fn settings() -> Settings {
    Settings {
        default_model: "llama3".into(),
        bot_username: Some("cloudaibot".into()),
        bot_id: Some(BOT_ID),
        access: cloud_ai_shared::domain::access::AccessPolicy {
            admins: vec![cloud_ai_shared::domain::access::Who::Id(ADMIN)],
            ..cloud_ai_shared::domain::access::AccessPolicy::open()
        },
        // Tests send faster than people; the limit tests set their own.
        limits: cloud_ai_shared::domain::limits::Limits {
            messages_per_minute: 10_000,
            ..cloud_ai_shared::domain::limits::Limits::default()
        },
    }
}

impl TestBot {
    /// Another command handler on this bot's table, bucket and fake Telegram (add a bus to it
    /// with `publishing_to`).
    pub fn new_handler(&self) -> CommandHandler {
        self.handler_with(settings())
    }

    /// A command handler on this bot's stores with other settings (another access policy).
    pub fn handler_with(&self, settings: Settings) -> CommandHandler {
        CommandHandler::new(
            StoragePorts::of(self.store.clone(), self.archives.clone()),
            Arc::new(HttpTelegram::new(&self.telegram.base_url, TOKEN)),
            settings,
        )
    }

    pub async fn start() -> TestBot {
        let moto = MotoServer::shared();
        let config = moto.sdk_config().await;
        let table = unique("chatbot-sessions");
        let bucket = unique("chatbot-conversations");
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        create_table(&dynamodb, &table).await;
        let archives = Arc::new(aws::s3_archive_store(&config, &bucket));
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create the bucket");
        let store = Arc::new(aws::dynamodb_store(&config, &table));
        let telegram = FakeTelegram::start(TOKEN).await;
        let handler = CommandHandler::new(
            StoragePorts::of(store.clone(), archives.clone()),
            Arc::new(HttpTelegram::new(&telegram.base_url, TOKEN)),
            settings(),
        );
        TestBot {
            telegram,
            table,
            bucket,
            dynamodb,
            s3,
            store,
            archives,
            handler,
            next_update: AtomicI64::new(1000),
        }
    }

    pub fn next_update_id(&self) -> i64 {
        self.next_update.fetch_add(1, Ordering::SeqCst)
    }

    /// Sends `text` from `user_id` in their private chat (chat id = user id) and handles it.
    pub async fn say(&self, user_id: i64, text: &str) -> String {
        self.telegram.clear_sent();
        let update = fixtures::text(self.next_update_id(), user_id, user_id, text);
        self.handle(&update).await.expect("the update is handled");
        self.telegram.texts().join("\n")
    }

    pub async fn handle(&self, update: &Value) -> Result<Outcome, HandleError> {
        self.handler.handle(update).await
    }

    /// Uploads `bytes` as a document from `user_id` and handles it; returns the reply text.
    pub async fn send_file(&self, user_id: i64, file_name: &str, bytes: Vec<u8>) -> String {
        self.telegram.clear_sent();
        let size = bytes.len() as u64;
        let file_id = self.telegram.add_file(bytes);
        let update = fixtures::document(
            self.next_update_id(),
            user_id,
            user_id,
            &file_id,
            file_name,
            size,
        );
        self.handle(&update)
            .await
            .expect("the document update is handled");
        self.telegram.texts().join("\n")
    }

    pub async fn events(&self, user_id: i64) -> Vec<RecordedEvent> {
        self.store.events(user_id).await.expect("read the stream")
    }

    /// The texts `user_id`'s stream posted by `role` (`MessagePosted`), oldest first.
    pub async fn posted(&self, user_id: i64, role: Role) -> Vec<String> {
        self.events(user_id)
            .await
            .into_iter()
            .filter_map(|e| match e.event {
                Event::MessagePosted {
                    role: posted,
                    content,
                    ..
                } if posted == role => Some(content),
                _ => None,
            })
            .collect()
    }

    pub async fn live_rows(&self, user_id: i64) -> Rows {
        self.store
            .live_rows(user_id)
            .await
            .expect("read the live rows")
    }

    /// Every object key in the bucket.
    pub async fn object_keys(&self) -> Vec<String> {
        self.archives.list("").await.expect("list the bucket")
    }

    pub async fn archive(&self, key: &str) -> Option<ArchiveDocument> {
        let bytes = self.archives.get(key).await.expect("read the bucket")?;
        Some(serde_json::from_slice(&bytes).expect("a stored archive is valid"))
    }

    /// Every item of a user's partition, raw, as DynamoDB holds it.
    pub async fn raw_items(
        &self,
        user_id: i64,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::N(user_id.to_string()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("query the partition");
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }
}

impl TestBot {
    /// Writes a stream of `count` chat messages in one session straight into the table as the
    /// store lays it out (events, folded state, rebuilt rows) with `BatchWriteItem`. moto copies
    /// the whole table for every item of a transaction, so thousands of transactional appends are
    /// quadratic there; this seeds a large session in seconds.
    pub async fn seed_session(
        &self,
        user_id: i64,
        count: usize,
        content: impl Fn(usize) -> String,
    ) {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        use cloud_ai_shared::domain::events::{Event, Role};
        use cloud_ai_shared::domain::projection::rebuild_rows;
        use cloud_ai_shared::domain::state::UserState;
        use cloud_ai_shared::store::dynamodb::items;

        let session_id = uuid::Uuid::new_v4();
        let mut events = vec![
            Event::SessionCreated {
                session_id,
                model_name: "llama3".into(),
                chat_id: user_id,
                created_at: 1_700_000_000,
            },
            Event::Switched { session_id },
        ];
        events.extend((0..count).map(|i| Event::MessagePosted {
            session_id,
            role: Role::User,
            content: content(i),
            ts: 1_700_000_000 + i as i64,
            usage: None,
            image: None,
        }));
        let recorded: Vec<RecordedEvent> = events
            .iter()
            .enumerate()
            .map(|(i, event)| RecordedEvent {
                version: i as u64 + 1,
                update_id: i as i64 + 1,
                event: event.clone(),
            })
            .collect();
        let state = UserState::replay(&recorded);
        let mut all: Vec<_> = recorded
            .iter()
            .map(|r| items::event_item(user_id, r, "2026-11-25T00:00:00Z"))
            .collect();
        all.extend(rebuild_rows(user_id, &events).values().map(items::row_item));
        all.push(items::state_item(user_id, &state));
        for chunk in all.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item.clone()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            while !pending.is_empty() {
                let output = self
                    .dynamodb
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .unwrap();
                pending = output
                    .unprocessed_items
                    .and_then(|mut t| t.remove(&self.table))
                    .unwrap_or_default();
            }
        }
    }
}
