//! What became of an update, as the queue and the logs see it.

/// What became of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Decided, recorded and answered now.
    Handled,
    /// Seen before and finished then: nothing was done.
    Duplicate,
    /// Seen before but left unfinished (a crash): its recorded replies and jobs were finished.
    Resumed,
    /// Not for the bot to answer (edits, callback queries, other bots, unknown kinds, group
    /// messages not addressed to it).
    Ignored,
    /// From someone who may not use the bot: nothing stored, at most one polite reply an hour.
    Refused,
    /// Over one of the sender's limits: nothing stored or sent to the model, told once a window.
    Limited,
}
