//! An EventBridge bus on moto whose rule routes matching events to an SQS queue, so a test can
//! collect what would reach a Lambda target (moto runs no Lambda).

use aws_config::SdkConfig;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::queues::drain;

pub struct ObservedBus {
    pub name: String,
    pub queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl ObservedBus {
    /// A new bus and a rule with `pattern` (an EventBridge event pattern) targeting a new queue.
    pub async fn create(sdk: &SdkConfig, pattern: &str) -> ObservedBus {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("observed-{suffix}"))
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
        let events = aws_sdk_eventbridge::Client::new(sdk);
        let name = format!("cloud-ai-{suffix}");
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
        events
            .put_targets()
            .rule("observe")
            .event_bus_name(&name)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("observe")
                    .arn(queue_arn)
                    .build()
                    .expect("a target"),
            )
            .send()
            .await
            .expect("target the queue");
        ObservedBus {
            name,
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
}
