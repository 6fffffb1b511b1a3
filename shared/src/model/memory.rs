//! A model backend in memory, for tests (feature `testing`): it has the models it is given and
//! answers "Echo: <the last message>" in pieces of a few characters, as a streamed answer comes:
//! one at a time (each after a pause), or all at once (a model faster than the chat).

use std::collections::VecDeque;

use async_trait::async_trait;

use super::{AnswerStream, ChatRequest, ModelBackend, ModelError};

pub struct MemoryModel {
    models: Vec<String>,
    piece_chars: usize,
    one_at_a_time: bool,
}

impl MemoryModel {
    /// A model whose pieces arrive one at a time.
    pub fn new(models: &[&str], piece_chars: usize) -> MemoryModel {
        MemoryModel {
            models: models.iter().map(|m| m.to_string()).collect(),
            piece_chars: piece_chars.max(1),
            one_at_a_time: true,
        }
    }

    /// The same model, with the whole answer there before it is first read.
    pub fn all_at_once(mut self) -> MemoryModel {
        self.one_at_a_time = false;
        self
    }
}

struct Pieces {
    pieces: VecDeque<String>,
    one_at_a_time: bool,
}

#[async_trait]
impl AnswerStream for Pieces {
    async fn next(&mut self) -> Option<Result<String, ModelError>> {
        if self.one_at_a_time {
            // Not ready when first asked, as a piece still on its way.
            tokio::task::yield_now().await;
        }
        self.pieces.pop_front().map(Ok)
    }
}

#[async_trait]
impl ModelBackend for MemoryModel {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn chat(&self, request: &ChatRequest) -> Result<Box<dyn AnswerStream>, ModelError> {
        if super::resolve_model(&self.models, &request.model).is_none() {
            return Err(ModelError::UnknownModel {
                model: request.model.clone(),
                detail: "not installed".into(),
            });
        }
        let last = request.messages.last().map_or("", |m| m.content.as_str());
        let answer: Vec<char> = format!("Echo: {last}").chars().collect();
        let pieces = answer
            .chunks(self.piece_chars)
            .map(|c| c.iter().collect())
            .collect();
        Ok(Box::new(Pieces {
            pieces,
            one_at_a_time: self.one_at_a_time,
        }))
    }

    async fn models(&self) -> Result<Vec<String>, ModelError> {
        Ok(self.models.clone())
    }

    async fn version(&self) -> Result<Option<String>, ModelError> {
        Ok(Some("memory".into()))
    }
}
