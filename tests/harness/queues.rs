//! SQS FIFO queues on moto for the pipeline tests.

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

/// A message as the command function's event source mapping would hand it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub group_id: String,
    pub deduplication_id: String,
}

pub async fn create_fifo_queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
    client
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::VisibilityTimeout, "60")
        .send()
        .await
        .expect("create the FIFO queue")
        .queue_url
        .expect("a queue URL")
}

/// Receives (and deletes) everything waiting on the queue, in delivery order.
pub async fn drain(client: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Received> {
    let mut all = Vec::new();
    loop {
        let output = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive from the queue");
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        for message in messages {
            let attributes = message.attributes.clone().unwrap_or_default();
            let attribute = |name: MessageSystemAttributeName| {
                attributes.get(&name).cloned().unwrap_or_default()
            };
            let received = Received {
                message_id: message.message_id.clone().unwrap_or_default(),
                receipt_handle: message.receipt_handle.clone().unwrap_or_default(),
                body: message.body.clone().unwrap_or_default(),
                group_id: attribute(MessageSystemAttributeName::MessageGroupId),
                deduplication_id: attribute(MessageSystemAttributeName::MessageDeduplicationId),
            };
            client
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(&received.receipt_handle)
                .send()
                .await
                .expect("delete a received message");
            all.push(received);
        }
    }
}

/// An `SqsEvent` as Lambda's event source mapping delivers it, one record per (id, body), all
/// of one message group.
pub fn sqs_event(records: &[(&str, &str)]) -> aws_lambda_events::event::sqs::SqsEvent {
    let grouped: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|(id, body)| (*id, "chat1", *body))
        .collect();
    sqs_event_in_groups(&grouped)
}

/// An `SqsEvent` of records (id, message group, body), in that order.
pub fn sqs_event_in_groups(
    records: &[(&str, &str, &str)],
) -> aws_lambda_events::event::sqs::SqsEvent {
    let records: Vec<serde_json::Value> = records
        .iter()
        .map(|(id, group, body)| {
            serde_json::json!({
                "messageId": id, "receiptHandle": format!("handle-{id}"), "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764064800000",
                               "MessageGroupId": group, "MessageDeduplicationId": id,
                               "SequenceNumber": "1", "SenderId": "AIDA", "ApproximateFirstReceiveTimestamp": "1764064800001"},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:cloud-ai-updates.fifo", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("a valid SQS event")
}
