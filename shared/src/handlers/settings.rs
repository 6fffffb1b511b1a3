//! What the roles are told at start: the default model, who the bot is, who may use it and how
//! much; how answers are generated and shown.

use std::sync::Arc;
use std::time::Duration;

use crate::bus::EventBus;
use crate::domain::access::AccessPolicy;
use crate::domain::backend::ContextBudget;
use crate::domain::limits::Limits;
use crate::domain::vision::VisionModels;
use crate::telegram::live_message::LiveSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub default_model: String,
    /// The bot's `@username`: tells `/cmd@this_bot` from other bots' commands, and mentions of
    /// the bot in groups.
    pub bot_username: Option<String>,
    /// The bot's user id (the token's first part): replies to its messages address it.
    pub bot_id: Option<i64>,
    pub access: AccessPolicy,
    pub limits: Limits,
}

/// `MAX_ANSWER_TOKENS` unless set: a long answer, not a model running on until its context fills.
pub const DEFAULT_MAX_ANSWER_TOKENS: u32 = 1024;

#[derive(Debug, Clone)]
pub struct AnswerSettings {
    pub budget: ContextBudget,
    /// The most messages read from the session before trimming to the budget.
    pub max_context_messages: usize,
    /// How long the model may send nothing, once it has started, before the answer is given up.
    pub stall: Duration,
    /// How long the model may take to send its first text (loading included).
    pub first_token: Duration,
    pub typing_every: Duration,
    pub live: LiveSettings,
    /// Time kept back from the invocation's deadline to finish and record the answer.
    pub reserve: Duration,
    /// The longest an answer may take when the caller sets no deadline.
    pub time_limit: Duration,
    /// Which models are sent the conversation's photos.
    pub vision: VisionModels,
    /// The most tokens an answer may take (`None`: as many as the backend gives).
    pub max_answer_tokens: Option<u32>,
}

impl Default for AnswerSettings {
    fn default() -> AnswerSettings {
        AnswerSettings {
            budget: ContextBudget {
                max_chars: 24_000,
                system_prompt: None,
            },
            max_context_messages: 200,
            stall: Duration::from_secs(60),
            first_token: Duration::from_secs(60),
            typing_every: Duration::from_secs(4),
            live: LiveSettings::default(),
            reserve: Duration::from_secs(8),
            time_limit: Duration::from_secs(600),
            vision: VisionModels::AskBackend,
            max_answer_tokens: Some(DEFAULT_MAX_ANSWER_TOKENS),
        }
    }
}

/// Where an update's events go, and so who runs its archive jobs.
#[derive(Clone)]
pub enum Pipeline {
    /// Everything in this process: archive jobs run here; nothing is published.
    Local,
    /// Events are published on the bus; archive jobs are the archiver role's, which runs them
    /// when it receives the `Archived` event.
    Bus(Arc<dyn EventBus>),
}
