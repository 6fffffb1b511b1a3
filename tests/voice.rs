//! Voice messages through the command handler: the recording fetched from the fake Telegram,
//! heard by a fake speech-to-text server speaking OpenAI's API, and answered by the fake model.

use std::sync::Arc;

use cloud_ai_shared::config::Secret;
use cloud_ai_shared::domain::events::Role;
use cloud_ai_shared::handlers::CommandHandler;
use cloud_ai_shared::handlers::answer::{AnswerSettings, Answerer};
use cloud_ai_shared::model::ollama::Ollama;
use cloud_ai_shared::transcriber::openai::OpenAiTranscriber;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fake_model::FakeModel;
use cloud_ai_tests::fake_transcriber::FakeTranscriber;

const ADA: i64 = 123456789;
/// An Opus-in-OGG recording, as far as anyone here looks.
const RECORDING: &[u8] = b"OggS\x00\x02voice of Ada";

struct Voice {
    bot: TestBot,
    transcriber: FakeTranscriber,
    handler: CommandHandler,
}

impl Voice {
    async fn start(hears: bool) -> Voice {
        let bot = TestBot::start().await;
        let model = FakeModel::start(&["llama3:latest"]).await;
        let transcriber = FakeTranscriber::start().await;
        let mut handler = bot.new_handler().answering_with(Answerer::new(
            Arc::new(Ollama::new(model.base_url.clone())),
            AnswerSettings::default(),
        ));
        if hears {
            handler = handler.transcribing_with(Arc::new(OpenAiTranscriber::new(
                transcriber.base_url.clone(),
                "whisper-1",
                Some(Secret::new("sk-voice")),
            )));
        }
        bot.telegram
            .add_file_with_id("voice-id", RECORDING.to_vec());
        Voice {
            bot,
            transcriber,
            handler,
        }
    }

    /// A voice message from Ada of `seconds`; the update.
    async fn speak(&self, seconds: u64) -> serde_json::Value {
        let update_id = self.bot.next_update_id();
        let update = serde_json::json!({"update_id": update_id, "message": {
            "message_id": update_id, "date": 1_764_064_819,
            "from": {"id": ADA, "is_bot": false, "first_name": "Ada"},
            "chat": {"id": ADA, "type": "private"},
            "voice": {"file_id": "voice-id", "file_unique_id": "v", "duration": seconds,
                      "mime_type": "audio/ogg", "file_size": RECORDING.len()}
        }});
        self.handler.handle(&update).await.expect("handled");
        update
    }

    fn shown(&self) -> Vec<String> {
        self.bot
            .telegram
            .chat_messages(ADA)
            .into_iter()
            .map(|m| m.text)
            .collect()
    }

    async fn user_messages(&self) -> Vec<String> {
        self.bot.posted(ADA, Role::User).await
    }
}

#[tokio::test]
async fn a_voice_message_is_heard_shown_and_answered_once() {
    let voice = Voice::start(true).await;
    voice
        .transcriber
        .says(RECORDING, " What is the capital of France? ");
    let update = voice.speak(4).await;
    assert_eq!(
        voice.shown(),
        [
            "🎙 \u{201c}What is the capital of France?\u{201d}",
            "Echo: What is the capital of France?"
        ]
    );
    assert_eq!(
        voice.user_messages().await,
        ["What is the capital of France?"]
    );
    let heard = voice.transcriber.requests();
    assert_eq!(heard.len(), 1);
    assert_eq!(heard[0].bytes, RECORDING);
    assert_eq!(heard[0].file_name, "voice.ogg");
    assert_eq!(heard[0].content_type.as_deref(), Some("audio/ogg"));
    assert_eq!(heard[0].model, "whisper-1");
    assert_eq!(heard[0].authorization.as_deref(), Some("Bearer sk-voice"));

    // Delivered again: not heard again, not answered again.
    voice.handler.handle(&update).await.unwrap();
    assert_eq!(voice.transcriber.requests().len(), 1);
    assert_eq!(voice.shown().len(), 2);

    let status = serde_json::json!({"update_id": voice.bot.next_update_id(), "message": {
        "message_id": 9, "date": 1_764_064_900, "text": "/status",
        "from": {"id": ADA, "is_bot": false, "first_name": "Ada"},
        "chat": {"id": ADA, "type": "private"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}]
    }});
    voice.handler.handle(&status).await.unwrap();
    assert!(
        voice.shown()[2].contains("\nVoice messages: transcribed and answered.\n"),
        "{:?}",
        voice.shown()
    );
}

#[tokio::test]
async fn a_voice_message_not_heard_gets_a_reply_that_says_what_to_do_and_stores_nothing() {
    let voice = Voice::start(true).await;
    voice.transcriber.says(RECORDING, "Hello there");
    voice.transcriber.failing(true);
    voice.speak(4).await;
    assert_eq!(
        voice.shown(),
        [
            "I couldn't transcribe that voice message just now, and nothing was stored. Send it again to try once more, or type it."
        ]
    );
    // Sent again once the service is back, as the reply says.
    voice.transcriber.failing(false);
    voice.speak(4).await;
    assert_eq!(voice.user_messages().await, ["Hello there"]);

    // Too long: refused before anything is downloaded or sent.
    let before = voice.transcriber.requests().len();
    voice.speak(601).await;
    assert_eq!(
        voice.shown().last().unwrap(),
        "That voice message is too long for me: I transcribe up to 10 minutes (20 MB). Please send a shorter one, or type it."
    );
    assert_eq!(voice.transcriber.requests().len(), before);

    // Nothing said.
    voice.transcriber.says(RECORDING, "  ");
    voice.speak(2).await;
    assert_eq!(
        voice.shown().last().unwrap(),
        "I heard no words in that voice message, so nothing was stored."
    );
    assert_eq!(voice.user_messages().await, ["Hello there"]);
}

#[tokio::test]
async fn without_a_transcription_service_a_voice_message_gets_a_polite_reply() {
    let voice = Voice::start(false).await;
    voice.speak(4).await;
    assert_eq!(
        voice.shown(),
        [
            "I can't listen to voice messages here: no transcription service is configured. Please type it."
        ]
    );
    assert!(voice.bot.events(ADA).await.is_empty());
}

#[tokio::test]
async fn a_transcription_that_would_outlast_the_invocation_is_given_up_with_a_reply() {
    let voice = Voice::start(true).await;
    voice.transcriber.says(RECORDING, "Hello there");
    voice.transcriber.slow(std::time::Duration::from_secs(30));
    let update_id = voice.bot.next_update_id();
    let update = serde_json::json!({"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_764_064_819,
        "from": {"id": ADA, "is_bot": false, "first_name": "Ada"},
        "chat": {"id": ADA, "type": "private"},
        "voice": {"file_id": "voice-id", "file_unique_id": "v", "duration": 3}
    }});
    // The invocation ends in 21 s, and 20 are kept back to decide and reply.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(21);
    let started = std::time::Instant::now();
    voice
        .handler
        .handle_until(&update, Some(deadline))
        .await
        .unwrap();
    // The budget is 1 s against a 30 s service: 10 s is room for a busy machine, not a race.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "not waited out"
    );
    assert_eq!(
        voice.shown(),
        [
            "I couldn't transcribe that voice message just now, and nothing was stored. Send it again to try once more, or type it."
        ]
    );
}
