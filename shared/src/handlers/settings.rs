//! What the command role is told at start: the default model, who the bot is, who may use it
//! and how much.

use crate::domain::access::AccessPolicy;
use crate::domain::limits::Limits;

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
