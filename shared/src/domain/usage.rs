//! Tokens the model backend reports for each answer, and the totals `/usage` shows: per session,
//! and per stream today, this month and all time (UTC days and months, by the answers' times).

use serde::{Deserialize, Serialize};

use super::time::{day_start, month_of};

/// The tokens one answer took, or a sum of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// The conversation read (the prompt).
    pub prompt: u64,
    /// The answer written.
    pub answer: u64,
}

impl TokenUsage {
    pub fn total(self) -> u64 {
        self.prompt + self.answer
    }

    pub fn is_zero(&self) -> bool {
        self.total() == 0
    }

    fn add(&mut self, other: TokenUsage) {
        self.prompt += other.prompt;
        self.answer += other.answer;
    }
}

/// A stream's totals: all time, and the latest UTC day and month an answer fell in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageTotals {
    pub all_time: TokenUsage,
    pub answers: u64,
    /// The start (Unix seconds) of the day of the latest answer, and that day's sum.
    pub day: (i64, TokenUsage),
    /// The month (`YYYY-MM`) of the latest answer, and that month's sum.
    pub month: (String, TokenUsage),
}

impl UsageTotals {
    pub fn is_empty(&self) -> bool {
        self.answers == 0
    }

    /// Counts an answer made at `ts`.
    pub fn add(&mut self, usage: TokenUsage, ts: i64) {
        self.all_time.add(usage);
        self.answers += 1;
        let day = day_start(ts);
        if day > self.day.0 {
            self.day = (day, TokenUsage::default());
        }
        if day == self.day.0 {
            self.day.1.add(usage);
        }
        let month = month_of(ts);
        if month > self.month.0 {
            self.month = (month.clone(), TokenUsage::default());
        }
        if month == self.month.0 {
            self.month.1.add(usage);
        }
    }

    /// Today's sum, as of `now`.
    pub fn today(&self, now: i64) -> TokenUsage {
        if self.day.0 == day_start(now) {
            self.day.1
        } else {
            TokenUsage::default()
        }
    }

    /// This month's sum, as of `now`.
    pub fn this_month(&self, now: i64) -> TokenUsage {
        if self.month.0 == month_of(now) {
            self.month.1
        } else {
            TokenUsage::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    // 2026-12-04 10:00 UTC.
    const NOW: i64 = 1_796_378_400;

    fn usage(prompt: u64, answer: u64) -> TokenUsage {
        TokenUsage { prompt, answer }
    }

    #[test]
    fn totals_roll_over_by_utc_day_and_month() {
        let mut totals = UsageTotals::default();
        totals.add(usage(100, 10), NOW - 5 * DAY); // 2026-11-29
        totals.add(usage(200, 20), NOW - DAY);
        totals.add(usage(300, 30), NOW);
        totals.add(usage(1, 1), NOW + 3600);
        assert_eq!(totals.all_time, usage(601, 61));
        assert_eq!(totals.answers, 4);
        assert_eq!(totals.today(NOW), usage(301, 31));
        assert_eq!(totals.this_month(NOW), usage(501, 51), "December only");
        assert_eq!(
            totals.today(NOW + DAY),
            usage(0, 0),
            "a day without answers"
        );
        assert_eq!(totals.this_month(NOW + 40 * DAY), usage(0, 0));
        // An answer recorded late (an earlier time) counts in all time only.
        totals.add(usage(5, 5), NOW - 40 * DAY);
        assert_eq!(totals.all_time.total(), 672);
        assert_eq!(totals.today(NOW).total(), 332);
    }
}
