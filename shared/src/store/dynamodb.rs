//! The event store on DynamoDB's `chatbot-sessions` table (pk N = user id, sk S).
//!
//! Per user (partition): `STATE` (folded state and stream version, the concurrency guard),
//! `EVENT#<version>` (the stream), `UPDATE#<update_id>` (receipts, expiring through `ttl`),
//! `MODEL#<model>#SESSION#<id>` (the original's session rows) and `MSG#<id>#<seq>` (messages).

pub mod items;
mod original;

use std::time::Duration;

use async_trait::async_trait;

use crate::error::{BackendError, Retry};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, TransactWriteItem, WriteRequest,
};
use uuid::Uuid;

use self::items::{Item, key, n, s};
use super::{
    Allowance, Append, EventStore, FINISH_LEASE_SECONDS, OffsetStore, Quotas, Receipt,
    ReceiptWrite, Receipts, SessionRows, StoreError, largest_first,
};
use crate::domain::events::{ChatMessage, RecordedEvent};
use crate::domain::limits::Window;
use crate::domain::projection::{RowChange, Rows, message_prefix};
use crate::domain::state::UserState;

pub use self::items::RECEIPT_TTL_SECONDS;

/// DynamoDB's limit on items in one `BatchWriteItem`.
const BATCH_WRITE_LIMIT: usize = 25;

#[derive(Clone, Debug)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

fn backend<E, R>(operation: &str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    BackendError::sdk(operation, error).into()
}

/// Whether an SDK error is a failed condition (the expected "no").
fn condition_failed<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    error.code() == Some("ConditionalCheckFailedException")
}

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoDbStore {
        DynamoDbStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get(&self, user_id: i64, sk: String) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(user_id, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem", e))?;
        Ok(output.item)
    }

    /// Every item a scan of the whole table returns, page after page; `filter` sets what the scan
    /// keeps and projects. For rare reads across users only (adoption, an admin's `/usage`).
    pub(super) async fn scan_all(
        &self,
        filter: impl Fn(ScanFluentBuilder) -> ScanFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = filter(self.client.scan().table_name(&self.table))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| backend("Scan", e))?;
            found.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// Every item of the partition whose sort key starts with `prefix`, in key order.
    async fn query_prefix(
        &self,
        user_id: i64,
        prefix: &str,
        newest_first: bool,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let rest = limit.map(|l| l - found.len());
            let (items, next) = self
                .prefix_page(user_id, prefix, newest_first, rest, start)
                .await?;
            found.extend(items);
            start = next;
            let full = limit.is_some_and(|l| found.len() >= l);
            if start.is_none() || full {
                return Ok(found);
            }
        }
    }

    /// One page of [`Self::query_prefix`] (at most `limit` items, from `start`), and where the
    /// next begins, if anywhere.
    async fn prefix_page(
        &self,
        user_id: i64,
        prefix: &str,
        newest_first: bool,
        limit: Option<usize>,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", n(user_id))
            .expression_attribute_values(":prefix", s(prefix))
            .scan_index_forward(!newest_first)
            .consistent_read(true)
            .set_limit(limit.map(|l| l.min(i32::MAX as usize) as i32))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| backend("Query", e))?;
        Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
    }

    fn put(
        &self,
        item: Item,
        condition: Option<(&str, Option<(&str, AttributeValue)>)>,
    ) -> TransactWriteItem {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some((expression, value)) = condition {
            put = put.condition_expression(expression);
            if let Some((name, value)) = value {
                put = put.expression_attribute_values(name, value);
            }
        }
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }

    /// The transaction's writes, each named by what it writes (DynamoDB gives cancellation
    /// reasons by position; the names say which check failed).
    fn transaction(&self, append: &Append, now: i64) -> Vec<(Write, TransactWriteItem)> {
        let recorded_at = crate::domain::time::rfc3339(now);
        let state_condition = if append.expected_version == 0 {
            ("attribute_not_exists(pk)", None)
        } else {
            (
                "version = :expected",
                Some((":expected", n(append.expected_version))),
            )
        };
        let mut writes = vec![(
            Write::State,
            self.put(
                items::state_item(append.user_id, &append.state),
                Some(state_condition),
            ),
        )];
        if let Some(receipt) = append.receipt.receipt() {
            let condition = match append.receipt {
                ReceiptWrite::Create(_) => "attribute_not_exists(sk)",
                _ => "attribute_exists(sk)",
            };
            writes.push((
                Write::Receipt,
                self.put(
                    items::receipt_item(append.user_id, receipt, now, now + FINISH_LEASE_SECONDS),
                    Some((condition, None)),
                ),
            ));
        }
        writes.extend(append.events.iter().map(|event| {
            (
                Write::Event,
                self.put(
                    items::event_item(append.user_id, event, &recorded_at),
                    Some(("attribute_not_exists(sk)", None)),
                ),
            )
        }));
        writes.extend(append.changes.iter().map(|change| {
            let item = match change {
                RowChange::Put(row) => self.put(items::row_item(row), None),
                RowChange::Delete(sk) => TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(append.user_id, sk.clone())))
                            .build()
                            .expect("table and key are set"),
                    )
                    .build(),
            };
            (Write::Row, item)
        }));
        writes
    }

    /// Deletes rows by sort key in batches, retrying what DynamoDB leaves unprocessed.
    async fn delete_rows(&self, user_id: i64, sort_keys: &[String]) -> Result<(), StoreError> {
        for chunk in sort_keys.chunks(BATCH_WRITE_LIMIT) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|sk| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key(user_id, sk.clone())))
                        .build()
                        .expect("key is set");
                    WriteRequest::builder().delete_request(delete).build()
                })
                .collect();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
                }
                attempt += 1;
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| backend("BatchWriteItem", e))?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut by_table| by_table.remove(&self.table))
                    .unwrap_or_default();
                if attempt > 10 && !pending.is_empty() {
                    return Err(BackendError::message(
                        "BatchWriteItem",
                        Retry::Transient,
                        format!(
                            "{} deletes left unprocessed after {attempt} attempts",
                            pending.len()
                        ),
                    )
                    .into());
                }
            }
        }
        Ok(())
    }
}

/// What one write of an append's transaction writes, so a cancellation reason (given by
/// position) is read by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    /// The folded state, guarded by the expected version.
    State,
    /// The update's receipt: created once, or replaced.
    Receipt,
    /// One event, at a version no one has written.
    Event,
    /// A live row, unconditional.
    Row,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[async_trait]
impl EventStore for DynamoDbStore {
    async fn load(&self, user_id: i64) -> Result<UserState, StoreError> {
        match self.get(user_id, items::STATE_SK.to_string()).await? {
            Some(item) => items::parse_state(&item),
            None => Ok(UserState::default()),
        }
    }

    async fn append(&self, append: Append) -> Result<(), StoreError> {
        let now = now();
        if append.events.is_empty()
            && append.changes.is_empty()
            && let ReceiptWrite::Create(receipt) = &append.receipt
        {
            return self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(items::receipt_item(
                    append.user_id,
                    receipt,
                    now,
                    now + FINISH_LEASE_SECONDS,
                )))
                .condition_expression("attribute_not_exists(sk)")
                .send()
                .await
                .map(|_| ())
                .map_err(|e| match e.as_service_error() {
                    Some(se) if se.is_conditional_check_failed_exception() => {
                        StoreError::AlreadyRecorded {
                            update_id: receipt.update_id,
                        }
                    }
                    _ => backend("PutItem", e),
                });
        }
        let (names, writes): (Vec<Write>, Vec<TransactWriteItem>) =
            self.transaction(&append, now).into_iter().unzip();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        if let SdkError::ServiceError(context) = &error
            && let TransactWriteItemsError::TransactionCanceledException(cancelled) = context.err()
        {
            let reasons = cancelled.cancellation_reasons();
            let failed = |write: Write| {
                names.iter().zip(reasons).any(|(name, reason)| {
                    *name == write && reason.code() == Some("ConditionalCheckFailed")
                })
            };
            // A transaction in flight on the same items means the stream is moving.
            let moving = reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"));
            match append.receipt {
                ReceiptWrite::Update(receipt) if failed(Write::Receipt) => {
                    return Err(StoreError::Corrupt(format!(
                        "the receipt of update {} is gone",
                        receipt.update_id
                    )));
                }
                ReceiptWrite::Create(receipt) if failed(Write::Receipt) => {
                    return Err(StoreError::AlreadyRecorded {
                        update_id: receipt.update_id,
                    });
                }
                _ => {}
            }
            if failed(Write::State) || failed(Write::Event) || moving || reasons.is_empty() {
                return Err(StoreError::VersionConflict {
                    user_id: append.user_id,
                    expected: append.expected_version,
                });
            }
        }
        // Cancelled for another reason (throttling, capacity) or failed outright.
        Err(backend("TransactWriteItems", error))
    }

    async fn events(&self, user_id: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        self.query_prefix(user_id, items::EVENT_PREFIX, false, None)
            .await?
            .iter()
            .map(items::parse_event)
            .collect()
    }
}

#[async_trait]
impl Receipts for DynamoDbStore {
    async fn receipt(&self, user_id: i64, update_id: i64) -> Result<Option<Receipt>, StoreError> {
        self.get(user_id, items::receipt_sk(update_id))
            .await?
            .map(|item| items::parse_receipt(&item))
            .transpose()
    }

    async fn save_progress(&self, user_id: i64, receipt: &Receipt) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_id, items::receipt_sk(receipt.update_id))))
            .update_expression("SET receipt = :receipt")
            .condition_expression("attribute_exists(sk)")
            .expression_attribute_values(":receipt", items::receipt_value(receipt))
            .send()
            .await
            .map_err(|e| backend("UpdateItem", e))?;
        Ok(())
    }

    async fn claim(
        &self,
        user_id: i64,
        update_id: i64,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_id, items::receipt_sk(update_id))))
            .update_expression("SET lease_until = :until")
            .condition_expression("attribute_exists(sk) AND (attribute_not_exists(lease_until) OR lease_until < :now)")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(backend("UpdateItem", e)),
        }
    }

    async fn release(&self, user_id: i64, update_id: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_id, items::receipt_sk(update_id))))
            .update_expression("SET lease_until = :zero")
            .condition_expression("attribute_exists(sk)")
            .expression_attribute_values(":zero", n(0))
            .send()
            .await
            .map_err(|e| backend("UpdateItem", e))?;
        Ok(())
    }
}

#[async_trait]
impl SessionRows for DynamoDbStore {
    async fn recent_messages(
        &self,
        user_id: i64,
        session_id: Uuid,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut newest = self
            .query_prefix(user_id, &message_prefix(session_id), true, Some(limit))
            .await?
            .iter()
            .map(items::parse_message)
            .collect::<Result<Vec<_>, _>>()?;
        newest.truncate(limit);
        newest.reverse();
        Ok(newest)
    }

    /// Reads newest first in pages that grow (32, 128, 512 messages...), and stops as soon as
    /// the budget is spent, so a long session costs what the budget needs, not `limit` rows.
    async fn context_messages(
        &self,
        user_id: i64,
        session_id: Uuid,
        limit: usize,
        max_chars: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let prefix = message_prefix(session_id);
        let mut newest: Vec<ChatMessage> = Vec::new();
        let mut chars = 0;
        let mut page_size = 32;
        let mut start = None;
        while newest.len() < limit && chars < max_chars {
            let size = page_size.min(limit - newest.len());
            let (page, next) = self
                .prefix_page(user_id, &prefix, true, Some(size), start)
                .await?;
            for item in page {
                let message = items::parse_message(&item)?;
                chars += message.content.chars().count();
                newest.push(message);
            }
            start = next;
            if start.is_none() {
                break;
            }
            page_size *= 4;
        }
        newest.reverse();
        Ok(crate::domain::backend::trim_to_budget(&newest, max_chars))
    }

    async fn all_messages(
        &self,
        user_id: i64,
        session_id: Uuid,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.query_prefix(user_id, &message_prefix(session_id), false, None)
            .await?
            .iter()
            .map(items::parse_message)
            .collect()
    }

    async fn delete_session(
        &self,
        user_id: i64,
        session_sort_key: &str,
        session_id: Uuid,
    ) -> Result<(), StoreError> {
        let message_keys: Vec<String> = self
            .query_prefix(user_id, &message_prefix(session_id), false, None)
            .await?
            .iter()
            .map(|item| items::sk_of(item).to_string())
            .collect();
        self.delete_rows(user_id, &message_keys).await?;
        self.delete_rows(user_id, &[session_sort_key.to_string()])
            .await
    }

    async fn live_rows(&self, user_id: i64) -> Result<Rows, StoreError> {
        let mut rows = Rows::new();
        for prefix in [items::SESSION_PREFIX, items::MESSAGE_PREFIX] {
            for item in self.query_prefix(user_id, prefix, false, None).await? {
                if let Some(row) = items::parse_row(user_id, &item)? {
                    rows.insert(row.sort_key(), row);
                }
            }
        }
        Ok(rows)
    }
}

/// The bot's own row: partition 0 is no Telegram user.
const BOT_PARTITION: i64 = 0;
const OFFSET_SK: &str = "last_update_id";

#[async_trait]
impl OffsetStore for DynamoDbStore {
    async fn last_update_id(&self) -> Result<Option<i64>, StoreError> {
        let Some(item) = self.get(BOT_PARTITION, OFFSET_SK.to_string()).await? else {
            return Ok(None);
        };
        let number = |name: &str| match item.get(name) {
            Some(AttributeValue::N(value)) => value
                .parse::<i64>()
                .map(Some)
                .map_err(|_| StoreError::Corrupt(format!("bad {name} in the offset row"))),
            _ => Ok(None),
        };
        match (number(OFFSET_SK)?, number(ORIGINAL_OFFSET)?) {
            (Some(last), _) => Ok(Some(last)),
            // The original bot's row: the next offset (update id + 1); 0 means none yet. It
            // puts the whole row, so a row without our attribute was last written by it.
            (None, Some(next)) => {
                let written = number(ORIGINAL_WRITTEN_AT)?.map(crate::domain::time::rfc3339);
                tracing::warn!(
                    next_offset = next,
                    written_at = written.as_deref().unwrap_or("?"),
                    "the offset row was last written by the original bot: cloud-ai polls on from its offset. If the original still runs, stop it: two bots on one token each get only some of the updates"
                );
                Ok((next > 0).then_some(next - 1))
            }
            (None, None) => Err(StoreError::Corrupt(
                "the offset row has neither last_update_id nor last_offset".into(),
            )),
        }
    }

    async fn advance(&self, update_id: i64) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(BOT_PARTITION, OFFSET_SK)))
            .update_expression(SET_OFFSET)
            .condition_expression("attribute_not_exists(last_update_id) OR last_update_id < :id")
            .set_expression_attribute_values(Some(offset_values(update_id)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already at or past it (another poller got further): nothing to do.
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(backend("UpdateItem", e)),
        }
    }

    async fn restart(&self, update_id: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(BOT_PARTITION, OFFSET_SK)))
            .update_expression(SET_OFFSET)
            .set_expression_attribute_values(Some(offset_values(update_id)))
            .send()
            .await
            .map_err(|e| backend("UpdateItem", e))?;
        Ok(())
    }
}

/// The original bot's attribute on the same row: the next offset to ask Telegram for.
const ORIGINAL_OFFSET: &str = "last_offset";
/// When the original (or, in step with it, this bot) last wrote the row: Unix seconds.
const ORIGINAL_WRITTEN_AT: &str = "last_updated_ts";

/// Ours and the original's attributes, kept in step so either bot can poll from the row.
const SET_OFFSET: &str = "SET last_update_id = :id, last_offset = :next, last_updated_ts = :now";

fn offset_values(update_id: i64) -> std::collections::HashMap<String, AttributeValue> {
    std::collections::HashMap::from([
        (":id".to_string(), n(update_id)),
        (":next".to_string(), n(update_id + 1)),
        (":now".to_string(), n(chrono::Utc::now().timestamp())),
    ])
}

/// The stranger's own partition: only their id, the quiet period's end and the table's `ttl`.
const REFUSAL_SK: &str = "REFUSED";

/// A counter's item: `LIMIT#<counter>#<window start>`, with `used`, `told` and `ttl`.
fn counter_sk(counter: &str, window: Window) -> String {
    format!("LIMIT#{counter}#{}", window.start)
}

#[async_trait]
impl Quotas for DynamoDbStore {
    /// A scan of the whole table for one window's counters: for an admin's occasional look, not
    /// for a hot path (a GSI on the counters would make it a query).
    async fn counts_in_window(
        &self,
        counter: &str,
        window: Window,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        let sk = counter_sk(counter, window);
        let items = self
            .scan_all(|scan| {
                scan.filter_expression("sk = :sk")
                    .expression_attribute_values(":sk", s(sk.clone()))
                    .projection_expression("pk, used")
            })
            .await?;
        let counts = items
            .iter()
            .map(|item| {
                Ok((
                    items::get_n::<i64>(item, "pk")?,
                    items::get_n::<u64>(item, "used")?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(largest_first(counts))
    }

    async fn take(
        &self,
        user_id: i64,
        counter: &str,
        window: Window,
        amount: u64,
        limit: u64,
    ) -> Result<Allowance, StoreError> {
        let sk = counter_sk(counter, window);
        if amount == 0 {
            // Only a look (a check before the model is asked): a read, not a write unit.
            let used = match self.get(user_id, sk.clone()).await? {
                Some(item) if item.contains_key("used") => items::get_n::<u64>(&item, "used")?,
                _ => 0,
            };
            if used < limit {
                return Ok(Allowance::Granted);
            }
        }
        // Kept a day past the window, then DynamoDB's TTL removes it.
        let expires = n(window.resets_at + 86_400);
        let added = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_id, sk.clone())))
            .update_expression("ADD used :amount SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(used) OR used < :limit")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":amount", n(amount as i64))
            .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
            .expression_attribute_values(":ttl", expires)
            .send()
            .await;
        match added {
            Ok(_) => return Ok(Allowance::Granted),
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(backend("UpdateItem", e)),
        }
        let told = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_id, sk)))
            .update_expression("SET told = :yes")
            .condition_expression("attribute_not_exists(told)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        match told {
            Ok(_) => Ok(Allowance::Refused { first: true }),
            Err(e) if condition_failed(&e) => Ok(Allowance::Refused { first: false }),
            Err(e) => Err(backend("UpdateItem", e)),
        }
    }

    async fn note_refusal(
        &self,
        user_id: i64,
        now: i64,
        quiet_seconds: i64,
    ) -> Result<bool, StoreError> {
        let mut item = key(user_id, REFUSAL_SK);
        item.insert("quiet_until".into(), n(now + quiet_seconds));
        item.insert("ttl".into(), n(now + quiet_seconds));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR quiet_until <= :now")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(backend("PutItem", e)),
        }
    }
}
