//! The domain, free of I/O: events, the state they fold to, command parsing, the decision
//! function, the projection rows, the archive format and the reply texts.

pub mod access;
pub mod adoption;
pub mod archive_doc;
pub mod archive_job;
pub mod backend;
pub mod command;
pub mod decide;
pub mod deletion;
pub mod events;
pub mod keys;
pub mod limits;
pub mod persona;
pub mod projection;
pub mod record;
pub mod replies;
pub mod restore;
pub mod state;
pub mod time;
pub mod title;
pub mod update;
pub mod update_text;
pub mod usage;
pub mod vision;
pub mod voice;
