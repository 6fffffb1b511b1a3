//! The test harness: moto's AWS server started on a free port, a fake Telegram Bot API, update
//! fixtures, and a bot wired to both with a table and bucket of its own.

pub mod bot;
pub mod bot_process;
pub mod child_logs;
pub mod fake_model;
pub mod fake_telegram;
pub mod fake_transcriber;
pub mod fixtures;
pub mod lambda;
pub mod llama_server;
pub mod model_tap;
pub mod moto;
pub mod observed_bus;
pub mod original_bot;
pub mod queues;
pub mod terraform;
