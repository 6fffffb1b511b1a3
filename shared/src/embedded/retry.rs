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

#[cfg(test)]
mod tests {
    use super::*;

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
