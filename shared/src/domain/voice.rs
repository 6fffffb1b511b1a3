//! Voice messages: what the bot heard in one, and the bounds on what it transcribes.

use serde::{Deserialize, Serialize};

/// The longest voice message transcribed (the service's time and cost grow with it).
pub const MAX_VOICE_SECONDS: u64 = 600;

/// The largest recording downloaded: the Bot API serves files up to 20 MB.
pub const MAX_VOICE_BYTES: u64 = 20 * 1000 * 1000;

/// What a voice message said, as far as the bot could hear it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Heard {
    /// Its words: a chat message.
    Words(String),
    /// No transcription service is configured.
    NoTranscriber,
    /// Longer than [`MAX_VOICE_SECONDS`] or [`MAX_VOICE_BYTES`].
    TooLong,
    /// The recording could not be fetched, or the service failed (sending it again may work).
    Failed,
    /// The service heard no words.
    Silence,
}
