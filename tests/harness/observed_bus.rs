//! An EventBridge rule on moto whose target is an SQS queue, so a test can collect what would
//! reach a Lambda target (moto runs no Lambda, and its `PutEvents` fails with HTTP 500 when a
//! matching rule targets one).

use aws_config::SdkConfig;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::queues::drain;

pub struct ObservedBus {
    pub name: String,
    pub queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

/// A new standard queue: its URL and ARN.
async fn observation_queue(sqs: &aws_sdk_sqs::Client) -> (String, String) {
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("observed-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .expect("create the observation queue")
        .queue_url
        .expect("a queue URL");
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("read the queue's ARN")
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .expect("a queue ARN");
    (queue_url, queue_arn)
}

/// Points the target `target_id` of `rule` on `bus` at `arn` (a new target, or in place of the
/// one with that id).
async fn target(sdk: &SdkConfig, bus: &str, rule: &str, target_id: &str, arn: String) {
    let output = aws_sdk_eventbridge::Client::new(sdk)
        .put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id(target_id)
                .arn(arn)
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect("target the queue");
    assert_eq!(output.failed_entry_count, 0, "{output:?}");
}

impl ObservedBus {
    /// A new bus and a rule with `pattern` (an EventBridge event pattern) targeting a new queue.
    pub async fn create(sdk: &SdkConfig, pattern: &str) -> ObservedBus {
        let events = aws_sdk_eventbridge::Client::new(sdk);
        let name = format!("cloud-ai-{}", uuid::Uuid::new_v4().simple());
        events
            .create_event_bus()
            .name(&name)
            .send()
            .await
            .expect("create the bus");
        events
            .put_rule()
            .name("observe")
            .event_bus_name(&name)
            .event_pattern(pattern)
            .send()
            .await
            .expect("create the rule");
        ObservedBus::redirect(sdk, &name, "observe", "observe").await
    }

    /// Keeps an existing bus and rule (pattern and all) and swaps the rule's target `target_id`
    /// for a new queue: the one step of the deployed wiring moto cannot play.
    pub async fn redirect(sdk: &SdkConfig, bus: &str, rule: &str, target_id: &str) -> ObservedBus {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let (queue_url, queue_arn) = observation_queue(&sqs).await;
        target(sdk, bus, rule, target_id, queue_arn).await;
        ObservedBus {
            name: bus.to_string(),
            queue_url,
            sqs,
        }
    }

    /// The events delivered so far (taken off the queue), as a Lambda target would get them.
    pub async fn take(&self) -> Vec<EventBridgeEvent<serde_json::Value>> {
        drain(&self.sqs, &self.queue_url)
            .await
            .into_iter()
            .map(|m| serde_json::from_str(&m.body).expect("an EventBridge event"))
            .collect()
    }

    /// Deletes the observation queue.
    pub async fn delete(self) {
        self.sqs
            .delete_queue()
            .queue_url(&self.queue_url)
            .send()
            .await
            .expect("delete the observation queue");
    }
}
