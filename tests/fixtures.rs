//! Every update fixture in `events/updates/` is a valid Telegram update that the bot handles:
//! fed in order, they walk the command table for one user.

use std::path::PathBuf;

use cloud_ai_shared::handlers::Outcome;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fixtures::REFERENCE_ARCHIVE;

fn fixtures() -> Vec<(String, serde_json::Value)> {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/updates");
    let mut all: Vec<(String, serde_json::Value)> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            (
                name,
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            )
        })
        .collect();
    all.sort_by_key(|(_, update)| {
        update["update_id"]
            .as_i64()
            .expect("every fixture has an update_id")
    });
    all
}

#[tokio::test]
async fn every_update_fixture_is_handled() {
    let bot = TestBot::start().await;
    bot.telegram.add_file_with_id(
        "BQACAgIAAxkBAAIBFixture",
        REFERENCE_ARCHIVE.as_bytes().to_vec(),
    );
    let all = fixtures();
    assert!(
        all.len() >= 20,
        "fixtures for every command and the other kinds"
    );
    for (name, update) in all {
        bot.telegram.clear_sent();
        let outcome = bot
            .handle(&update)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let sent = bot.telegram.sent();
        match name.as_str() {
            "edited-message" | "callback-query" => {
                assert_eq!(outcome, Outcome::Ignored, "{name}");
                assert!(sent.is_empty(), "{name} gets no reply");
            }
            _ => {
                assert_eq!(outcome, Outcome::Handled, "{name}");
                assert_eq!(sent.len(), 1, "{name} gets one reply: {sent:?}");
            }
        }
        let text = bot.telegram.last_text();
        let expected = match name.as_str() {
            "archive" => "Archived session 1",
            "document-json" => "Imported the archive as archive 2",
            "sticker" => "Sorry, I can't use a sticker.",
            "photo" => "This model can't see photos, so there is nothing to answer.",
            "photo-caption" => "Saved to session",
            "voice" => {
                "I can't listen to voice messages here: no transcription service is configured."
            }
            "switch-bad-number" => "\"x\" is not a number.",
            "unknown-command" => "I don't know the command /dance.",
            "echo" => "hello from a fixture",
            _ => "",
        };
        assert!(text.starts_with(expected), "{name}: {text}");
    }
}

#[tokio::test]
async fn a_file_telegram_will_not_serve_gets_a_reply_not_endless_retries() {
    let bot = TestBot::start().await;
    let update = fixtures()
        .into_iter()
        .find(|(n, _)| n == "document-json")
        .unwrap()
        .1;
    assert_eq!(bot.handle(&update).await.unwrap(), Outcome::Handled);
    assert_eq!(
        bot.telegram.last_text(),
        "I couldn't import that file: Telegram would not hand the file over (Bad Request: invalid file_id). Nothing was stored."
    );
}
