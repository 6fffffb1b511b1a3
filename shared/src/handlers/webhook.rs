//! The webhook ingress role: Telegram POSTs each update to the bot's URL, and the update goes on
//! the same queue the poller fills (group = chat, deduplication = update id), so everything after
//! ingress is the same for both. Telegram retries a POST until it is answered with a 2xx, which
//! decides each answer: 200 once the update is queued or can never be (a body that is not an
//! update would otherwise come back forever), 401 for a request without the secret, and 500 when
//! the queue failed, so that Telegram sends the update again and nothing is lost.

use std::sync::Arc;

use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use base64::Engine as _;
use subtle::ConstantTimeEq;

use crate::config::Secret;
use crate::domain::update_text::for_log;
use crate::queue::{QueuedUpdate, UpdateQueue};

/// The header Telegram sends the webhook's `secret_token` in.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// What became of one POST, and the status it is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// On the queue (or already there: the queue deduplicates by update id).
    Queued { update_id: i64 },
    /// The secret header was missing or wrong: nothing was queued.
    Refused,
    /// Not an update; logged and dropped, since a retry would bring the same body.
    NotAnUpdate,
    /// The queue did not take it; Telegram will send it again.
    QueueFailed,
}

impl Received {
    pub fn status(&self) -> u16 {
        match self {
            Received::Queued { .. } | Received::NotAnUpdate => 200,
            Received::Refused => 401,
            Received::QueueFailed => 500,
        }
    }
}

pub struct WebhookIngress {
    queue: Arc<dyn UpdateQueue>,
    secret: Secret,
}

impl WebhookIngress {
    pub fn new(queue: Arc<dyn UpdateQueue>, secret: Secret) -> WebhookIngress {
        WebhookIngress { queue, secret }
    }

    /// Handles one POST: `secret` is the value of [`SECRET_HEADER`], if sent.
    pub async fn receive(&self, secret: Option<&str>, body: &str) -> Received {
        if !self.is_telegram(secret) {
            tracing::warn!(
                secret_sent = secret.is_some(),
                "a webhook request without the right secret was refused"
            );
            return Received::Refused;
        }
        let update = match QueuedUpdate::from_text(body) {
            Ok(update) => update,
            Err(error) => {
                tracing::error!(
                    %error,
                    body = for_log(body),
                    "a webhook body that is not an update was dropped"
                );
                return Received::NotAnUpdate;
            }
        };
        let update_id = update.update_id;
        match self.queue.send(std::slice::from_ref(&update)).await {
            Ok(outcome) if outcome.accepted.contains(&update_id) => Received::Queued { update_id },
            Ok(outcome) => {
                tracing::error!(update_id, rejected = ?outcome.rejected, "the queue refused a webhook update; Telegram will send it again");
                Received::QueueFailed
            }
            Err(error) => {
                tracing::error!(update_id, %error, "queueing a webhook update failed; Telegram will send it again");
                Received::QueueFailed
            }
        }
    }

    /// Handles one POST as an API Gateway HTTP API (payload 2.0) hands it to a Lambda. The
    /// answer has no body: Telegram would read a JSON body as a Bot API call to make.
    pub async fn receive_http_api(
        &self,
        request: &ApiGatewayV2httpRequest,
    ) -> ApiGatewayV2httpResponse {
        let secret = request
            .headers
            .get(SECRET_HEADER)
            .and_then(|value| value.to_str().ok());
        let raw = request.body.as_deref().unwrap_or_default();
        // A body that is not base64 goes on as empty: the secret is still checked first, so a
        // stranger learns nothing from the answer.
        let body = match request.is_base64_encoded {
            false => std::borrow::Cow::Borrowed(raw),
            true => match base64::engine::general_purpose::STANDARD.decode(raw) {
                Ok(bytes) => std::borrow::Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
                Err(error) => {
                    tracing::error!(%error, "a webhook body marked base64 is not base64");
                    std::borrow::Cow::Borrowed("")
                }
            },
        };
        let received = self.receive(secret, &body).await;
        let mut response = ApiGatewayV2httpResponse::default();
        response.status_code = i64::from(received.status());
        response
    }

    /// Compares in constant time, so the answer's timing tells nothing about the secret.
    fn is_telegram(&self, sent: Option<&str>) -> bool {
        sent.is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(self.secret.expose().as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::memory::MemoryQueue;
    use crate::testing::faults::{Fault, Faults};

    const SECRET: &str = "s3cret_token-1";

    fn ingress(queue: &Arc<MemoryQueue>) -> WebhookIngress {
        WebhookIngress::new(queue.clone(), Secret::new(SECRET))
    }

    fn update(id: i64) -> String {
        format!(r#"{{"update_id": {id}, "message": {{"chat": {{"id": 5}}, "text": "hi"}}}}"#)
    }

    #[tokio::test]
    async fn the_right_secret_queues_the_update_as_sent_once() {
        let queue = Arc::new(MemoryQueue::new(Arc::default()));
        let ingress = ingress(&queue);
        for _ in 0..2 {
            let received = ingress.receive(Some(SECRET), &update(7)).await;
            assert_eq!(
                (received.clone(), received.status()),
                (Received::Queued { update_id: 7 }, 200)
            );
        }
        let queued = queue.queued();
        assert_eq!(queued.len(), 1, "a redelivery is deduplicated by update id");
        assert_eq!(
            (queued[0].body.as_str(), queued[0].group_id.as_str()),
            (update(7).as_str(), "chat5")
        );
    }

    #[tokio::test]
    async fn a_wrong_or_missing_secret_queues_nothing() {
        let queue = Arc::new(MemoryQueue::new(Arc::default()));
        let ingress = ingress(&queue);
        for secret in [
            None,
            Some(""),
            Some("s3cret_token-"),
            Some("s3cret_token-12"),
        ] {
            let received = ingress.receive(secret, &update(7)).await;
            assert_eq!(
                (received.clone(), received.status()),
                (Received::Refused, 401),
                "{secret:?}"
            );
        }
        assert!(queue.queued().is_empty());
    }

    #[tokio::test]
    async fn a_body_that_is_not_an_update_is_answered_200_and_dropped() {
        let queue = Arc::new(MemoryQueue::new(Arc::default()));
        let ingress = ingress(&queue);
        for body in ["{not json", "[]", r#"{"message": {}}"#, ""] {
            let received = ingress.receive(Some(SECRET), body).await;
            assert_eq!(
                (received.clone(), received.status()),
                (Received::NotAnUpdate, 200),
                "{body:?}"
            );
        }
        assert!(queue.queued().is_empty());
    }

    #[tokio::test]
    async fn a_queue_failure_is_a_500_so_telegram_sends_it_again() {
        let faults = Arc::new(Faults::planned([(0, Fault::Before)]));
        let queue = Arc::new(MemoryQueue::new(faults));
        let ingress = ingress(&queue);
        let failed = ingress.receive(Some(SECRET), &update(8)).await;
        assert_eq!(
            (failed.clone(), failed.status()),
            (Received::QueueFailed, 500)
        );
        assert!(queue.queued().is_empty());
        let again = ingress.receive(Some(SECRET), &update(8)).await;
        assert_eq!(again, Received::Queued { update_id: 8 });
        assert_eq!(queue.queued().len(), 1);
    }
}
