//! The time the roles decide by (leases, usage windows, an answer's timestamp), as a port: the
//! system clock in Lambda and in the one-process bot, a clock a test moves by hand in the kit.

/// Unix seconds now.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// A clock that stands still until moved (feature `testing`).
#[cfg(feature = "testing")]
#[derive(Debug)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

#[cfg(feature = "testing")]
impl ManualClock {
    /// Starts at `ts` (Unix seconds), so that two runs of a test see the same times.
    pub fn at(ts: i64) -> ManualClock {
        ManualClock(std::sync::atomic::AtomicI64::new(ts))
    }

    pub fn advance(&self, seconds: i64) {
        self.0
            .fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(feature = "testing")]
impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
