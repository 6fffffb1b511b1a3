//! The test kit (feature `testing`): in-memory adapters for every port (`store::memory`,
//! `archive::memory`, `bus::memory`, `telegram::memory`), crash injection between any two port
//! calls ([`faults`]), Telegram updates ([`updates`]), and a given/when/then harness for the
//! command role ([`kit`]) that runs in microseconds, so properties such as exactly-once events
//! can be checked over thousands of random runs.

pub mod faults;
pub mod kit;
pub mod updates;
