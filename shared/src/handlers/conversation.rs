//! The conversation an answer is asked for: the session's newest messages within the budget,
//! after the session's system prompt, with its newest photos for a model that sees them, and
//! the answer's length limit.

use crate::domain::events::Role;
use crate::model::{ChatRequest, ModelMessage};

use super::answer::{AnswerPorts, Answerer, Question};
use super::error::HandleError;
use super::photos::attach_photos;

/// How long the backend's word on a model's vision holds (a model pulled again may change it).
const VISION_SAID_FOR: std::time::Duration = std::time::Duration::from_secs(300);

impl Answerer {
    /// Whether `model` sees photos: as `VISION_MODELS` lists, else as the backend says (a backend
    /// that cannot say, or does not answer, gets captions alone). The backend's word is kept for
    /// [`VISION_SAID_FOR`], so a photo's decision and its answer ask once.
    pub async fn sees_photos(&self, model: &str) -> bool {
        if let Some(configured) = self.settings.vision.configured(model) {
            return configured;
        }
        let said = self
            .vision_said
            .lock()
            .expect("unpoisoned")
            .get(model)
            .copied();
        if let Some((sees, at)) = said
            && at.elapsed() < VISION_SAID_FOR
        {
            return sees;
        }
        match self.model.sees_images(model).await {
            Ok(sees) => {
                let sees = sees.unwrap_or(false);
                self.vision_said
                    .lock()
                    .expect("unpoisoned")
                    .insert(model.to_string(), (sees, std::time::Instant::now()));
                sees
            }
            Err(error) => {
                tracing::warn!(%error, model, "the backend did not say whether the model sees photos");
                false
            }
        }
    }

    /// The conversation sent for an answer in `session_id` (without the answer it replaces),
    /// with its newest photos for a model that sees them.
    pub(super) async fn request(
        &self,
        ports: &AnswerPorts<'_>,
        question: &Question<'_>,
    ) -> Result<ChatRequest, HandleError> {
        let budget = self.settings.budget.max_chars;
        let mut context = ports
            .rows
            .context_messages(
                question.user_id,
                question.session_id,
                self.settings.max_context_messages,
                budget,
            )
            .await?;
        // The answer being replaced is the last message (one chat's updates are handled in
        // order, so nothing came after it); the model answers what preceded it.
        if question.replaces.is_some() && context.last().is_some_and(|m| m.role == Role::Assistant)
        {
            context.pop();
        }
        let mut messages: Vec<ModelMessage> = question
            .persona
            .prompt(self.system_prompt())
            .map(|prompt| ModelMessage::new(Role::System, prompt.to_string()))
            .into_iter()
            .collect();
        let offset = messages.len();
        messages.extend(
            context
                .iter()
                .map(|m| ModelMessage::new(m.role, m.content.clone())),
        );
        if context.iter().any(|m| m.image.is_some()) && self.sees_photos(question.model).await {
            attach_photos(ports.telegram, &context, &mut messages, offset).await;
        }
        Ok(ChatRequest {
            model: question.model.to_string(),
            messages,
            max_tokens: self.settings.max_answer_tokens,
        })
    }
}
