//! How the one-process bot retries what failed: the wait doubles from a second up to a cap,
//! and after the last try the entry goes to the dead letters (as SQS's `maxReceiveCount` and
//! EventBridge's retry policy do in the cloud).

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    pub first_wait: Duration,
    pub longest_wait: Duration,
}

/// What to do after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryIn(Duration),
    GiveUp,
}

impl RetryPolicy {
    /// Updates: ten tries over about eight minutes (a Telegram or model outage passes).
    pub const UPDATES: RetryPolicy = RetryPolicy {
        max_attempts: 10,
        first_wait: Duration::from_secs(1),
        longest_wait: Duration::from_secs(120),
    };

    /// Archive events: twenty tries, as the `Archived` rule's retry policy. The first retry
    /// comes soon: an event often arrives before the command role has given its update back.
    pub const EVENTS: RetryPolicy = RetryPolicy {
        max_attempts: 20,
        first_wait: Duration::from_millis(250),
        longest_wait: Duration::from_secs(300),
    };

    /// After the `failed_before + 1`-th failed try.
    pub fn after_failure(&self, failed_before: u32) -> AfterFailure {
        if failed_before + 1 >= self.max_attempts {
            return AfterFailure::GiveUp;
        }
        let wait = self
            .first_wait
            .saturating_mul(1u32 << failed_before.min(20))
            .min(self.longest_wait);
        AfterFailure::RetryIn(wait)
    }
}

/// The pause after the database itself failed (a full disk, an I/O error): nothing can be
/// recorded, so nothing is handed out until it passes. It doubles from a quarter second up to
/// ten seconds while the trouble lasts, so a long outage costs a log line per step, and the
/// first success resets it, so work resumes within seconds once writes succeed again.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    failures_in_a_row: u32,
    /// The end of the pause the last failure began.
    until: Option<std::time::Instant>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(250);
    const LONGEST: Duration = Duration::from_secs(10);

    /// Another failure: how long to pause.
    pub fn failed(&mut self) -> Duration {
        let wait = Self::FIRST
            .saturating_mul(1u32 << self.failures_in_a_row.min(16))
            .min(Self::LONGEST);
        self.failures_in_a_row += 1;
        self.until = Some(std::time::Instant::now() + wait);
        wait
    }

    /// What is left of the current pause, if one is running.
    pub fn pause_left(&self) -> Option<Duration> {
        self.until
            .map(|until| until.saturating_duration_since(std::time::Instant::now()))
            .filter(|left| !left.is_zero())
    }

    /// A success; true when it ends a run of failures (worth saying so).
    pub fn succeeded(&mut self) -> bool {
        std::mem::take(&mut self.failures_in_a_row) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_pauses_double_to_ten_seconds_and_reset_on_success() {
        let mut backoff = Backoff::default();
        let waits: Vec<u64> = (0..8)
            .map(|_| backoff.failed().as_millis() as u64)
            .collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 8000, 10000, 10000]);
        assert!(backoff.pause_left().is_some());
        assert!(backoff.succeeded());
        assert!(!backoff.succeeded());
        assert_eq!(backoff.failed(), Duration::from_millis(250));
    }

    #[test]
    fn waits_double_up_to_the_cap_then_give_up() {
        let policy = RetryPolicy::UPDATES;
        let waits: Vec<AfterFailure> = (0..10).map(|n| policy.after_failure(n)).collect();
        assert_eq!(waits[0], AfterFailure::RetryIn(Duration::from_secs(1)));
        assert_eq!(waits[3], AfterFailure::RetryIn(Duration::from_secs(8)));
        assert_eq!(waits[8], AfterFailure::RetryIn(Duration::from_secs(120)));
        assert_eq!(waits[9], AfterFailure::GiveUp);
    }
}
