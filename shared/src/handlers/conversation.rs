//! The conversation an answer is asked for: the session's newest messages within the budget,
//! after the session's system prompt, with its newest photos for a model that sees them, and
//! the answer's length limit.

use crate::domain::backend::{WindowExceeded, messages_fitting};
use crate::domain::events::Role;
use crate::model::{AnswerStream, ChatRequest, ModelError, ModelMessage};

use super::answer::{AnswerPorts, Answerer, Question};
use super::error::HandleError;
use super::photos::attach_photos;

/// How many times a conversation over the model's window is sent again, shorter each time.
const FIT_ATTEMPTS: usize = 2;

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

    /// Starts the model's answer to `request`. A server that says the conversation is over its
    /// context window (`CONTEXT_MAX_CHARS` counts characters; the window counts the model's
    /// tokens) is asked again with as many of the newest messages as its own count says fit.
    pub(super) async fn chat_fitting(
        &self,
        request: &ChatRequest,
    ) -> Result<Box<dyn AnswerStream>, ModelError> {
        let mut shorter: Option<ChatRequest> = None;
        for _ in 0..FIT_ATTEMPTS {
            let sent = shorter.as_ref().unwrap_or(request);
            match self.model.chat(sent).await {
                Err(ModelError::WindowExceeded(exceeded)) => {
                    let Some(fewer) = fewer_messages(sent, exceeded) else {
                        return Err(ModelError::WindowExceeded(exceeded));
                    };
                    tracing::info!(
                        prompt_tokens = exceeded.prompt_tokens,
                        window_tokens = exceeded.window_tokens,
                        messages = fewer.messages.len(),
                        "the conversation was over the model's context window; sending its newest part"
                    );
                    shorter = Some(fewer);
                }
                started => return started,
            }
        }
        self.model.chat(shorter.as_ref().unwrap_or(request)).await
    }
}

/// `request` with fewer of its oldest messages, as many as fit the window `exceeded` names (the
/// system prompt always goes); `None` when only the message answered is left.
fn fewer_messages(request: &ChatRequest, exceeded: WindowExceeded) -> Option<ChatRequest> {
    let system = request
        .messages
        .iter()
        .take_while(|m| m.role == Role::System.as_str())
        .count();
    let (prompt, conversation) = request.messages.split_at(system);
    let chars = |m: &ModelMessage| m.content.chars().count();
    let sizes: Vec<usize> = conversation.iter().map(chars).collect();
    let fixed = prompt.iter().map(chars).sum();
    let answer_tokens = request.max_tokens.unwrap_or(0).into();
    let kept = messages_fitting(&sizes, fixed, exceeded, answer_tokens)?;
    let mut messages = prompt.to_vec();
    messages.extend_from_slice(&conversation[conversation.len() - kept..]);
    Some(ChatRequest {
        messages,
        ..request.clone()
    })
}
