//! Per-user limits: messages a minute and model tokens a day (counted in fixed windows), and
//! answers being written at once (held back by the dispatcher, see `embedded/dispatch_updates`).

/// The configured limits (`MESSAGES_PER_MINUTE`, `TOKENS_PER_DAY`, `ANSWERS_IN_FLIGHT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub messages_per_minute: u64,
    pub tokens_per_day: u64,
    pub answers_in_flight: usize,
}

impl Default for Limits {
    /// Generous for a person, tight for a script: 20 messages a minute, 200,000 tokens a day
    /// (about a hundred long answers), 2 answers at once.
    fn default() -> Limits {
        Limits {
            messages_per_minute: 20,
            tokens_per_day: 200_000,
            answers_in_flight: 2,
        }
    }
}

/// One fixed window of a counter: when it started and when the next one starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub resets_at: i64,
}

impl Window {
    /// The minute (UTC) `now` falls in.
    pub fn minute(now: i64) -> Window {
        let start = now - now.rem_euclid(60);
        Window {
            start,
            resets_at: start + 60,
        }
    }

    /// The day (UTC) `now` falls in.
    pub fn day(now: i64) -> Window {
        let start = now - now.rem_euclid(86_400);
        Window {
            start,
            resets_at: start + 86_400,
        }
    }
}

/// The counters kept per user.
pub const MESSAGES: &str = "messages";
pub const TOKENS: &str = "tokens";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_minutes_and_days() {
        let now = 1_764_064_801; // 2025-11-25 10:00:01 UTC
        assert_eq!(Window::minute(now).start, 1_764_064_800);
        assert_eq!(Window::minute(now).resets_at, 1_764_064_860);
        assert_eq!(Window::day(now).start, 1_764_028_800);
        assert_eq!(Window::day(now + 86_400).start, 1_764_028_800 + 86_400);
    }
}
