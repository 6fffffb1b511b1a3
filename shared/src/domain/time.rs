//! How times are stored: Unix seconds in events and rows, RFC 3339 text (`2026-11-25T11:50:33Z`)
//! where the original's archive format and the stores keep text. (How replies show a time is the
//! replies' business: `replies::time`.)

use chrono::{DateTime, Utc};

/// `ts` (Unix seconds) as RFC 3339 in UTC, to the second.
pub fn rfc3339(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The start (Unix seconds) of the UTC day `ts` falls in.
pub fn day_start(ts: i64) -> i64 {
    ts - ts.rem_euclid(86_400)
}

/// The UTC month `ts` falls in, as `YYYY-MM` (sorts as time does).
pub fn month_of(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .format("%Y-%m")
        .to_string()
}
