//! The original Python bot's table and bucket on moto: `tests/original_bot/seed.py` writes what
//! its `handler.py` writes for each step (see the README there).

use serde_json::Value;

use crate::bot::TestBot;
use crate::moto::MotoServer;

/// Seeds `scenario` (`all`, or `small` for `user_id`) into the bot's table and bucket; returns
/// what each user should see (`users.<id>.sessions` in the original's order, `.archives`).
pub fn seed(bot: &TestBot, scenario: &str, user_id: Option<i64>) -> Value {
    seed_into(&bot.table, &bot.bucket, scenario, user_id)
}

pub fn seed_into(table: &str, bucket: &str, scenario: &str, user_id: Option<i64>) -> Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("original_bot/seed.py");
    let mut args = vec![
        script.display().to_string(),
        table.to_string(),
        bucket.to_string(),
        scenario.to_string(),
    ];
    args.extend(user_id.map(|id| id.to_string()));
    MotoServer::shared().python(&args)
}
