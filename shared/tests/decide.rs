//! Every command of the original's table, and every bad argument, through the decision function.

mod common;

use cloud_ai_shared::domain::archive_doc::ImportError;
use cloud_ai_shared::domain::backend::{BackendFacts, BackendStatus};
use cloud_ai_shared::domain::decide::{
    Context, ImportOutcome, Input, MAX_LIVE_SESSIONS, Reply, RestoreRead, StoredImport, decide,
};
use cloud_ai_shared::domain::events::{ChatMessage, Event, ImageRef, Role};
use cloud_ai_shared::domain::keys::archive_key;
use cloud_ai_shared::domain::persona::Persona;
use cloud_ai_shared::domain::usage::TokenUsage;
use common::{Bot, USER, text};
use uuid::Uuid;

fn names(decision: &cloud_ai_shared::domain::decide::Decision) -> Vec<&'static str> {
    decision.events.iter().map(Event::name).collect()
}

/// What a session's first message records: the session, the switch to it, the message, its title.
const FIRST_MESSAGE: [&str; 4] = [
    "SessionCreated",
    "Switched",
    "MessagePosted",
    "SessionTitled",
];

#[test]
fn start_greets_and_opens_the_first_session_once() {
    let mut bot = Bot::default();
    let first = bot.send("/start");
    assert_eq!(names(&first), ["SessionCreated", "Switched"]);
    assert!(text(&first).starts_with("Hello, Ada!"));
    assert!(text(&first).contains("/newsession"));
    let again = bot.send("/hello");
    assert!(
        again.events.is_empty(),
        "a second /hello must not open another session"
    );
    assert_eq!(bot.state.sessions.len(), 1);
}

#[test]
fn help_lists_every_command() {
    let reply = text(&Bot::default().send("/help"));
    for command in [
        "/start",
        "/hello",
        "/newsession",
        "/listsessions",
        "/switch",
        "/history",
        "/retry",
        "/persona",
        "/rename",
        "/delete",
        "/archive",
        "/restore",
        "/listarchives",
        "/export",
        "/status",
        "/usage",
        "/model",
        ".json file",
    ] {
        assert!(reply.contains(command), "/help lacks {command}");
    }
    assert!(!reply.contains("/echo"), "no test commands: {reply}");
}

#[test]
fn new_sessions_become_active_and_keep_the_active_model() {
    let mut bot = Bot::default();
    let reply = bot.send("/newsession");
    assert_eq!(names(&reply), ["SessionCreated", "Switched"]);
    assert_eq!(
        text(&reply),
        "Started session 1 (llama3). It is now active."
    );
    bot.send("/newsession");
    assert_eq!(bot.state.sessions.len(), 2);
    assert_eq!(bot.state.active, Some(bot.state.sessions[1].session_id));
    assert!(bot.state.sessions.iter().all(|s| s.model_name == "llama3"));
}

#[test]
fn listing_numbers_sessions_and_marks_the_active_one() {
    let mut bot = Bot::default();
    assert_eq!(
        text(&bot.send("/listsessions")),
        "You have no sessions yet. Send a message or /newsession to start one."
    );
    bot.send("/newsession");
    bot.send("hello");
    bot.send("/newsession");
    let list = text(&bot.send("/listsessions"));
    let lines: Vec<&str> = list.lines().collect();
    assert!(
        lines[1].starts_with("1. \"hello\" · llama3 · 1 message · last "),
        "{list}"
    );
    assert!(!lines[1].contains("active"));
    assert!(
        lines[2].starts_with("2. llama3 · 0 messages") && lines[2].ends_with("← active"),
        "{list}"
    );
}

#[test]
fn switch_moves_the_active_session_and_explains_bad_numbers() {
    let mut bot = Bot::default();
    assert_eq!(
        text(&bot.send("/switch 1")),
        "You have no sessions yet. Send a message or /newsession to start one."
    );
    bot.send("/newsession");
    bot.send("/newsession");
    let switched = bot.send("/switch 1");
    assert_eq!(names(&switched), ["Switched"]);
    assert_eq!(
        text(&switched),
        "Switched to session 1 (llama3, 0 messages)."
    );
    assert_eq!(bot.state.active, Some(bot.state.sessions[0].session_id));

    let same = bot.send("/switch 1");
    assert!(same.events.is_empty());
    assert_eq!(text(&same), "Session 1 is already active.");

    let cases = [
        (
            "/switch 99",
            "There is no session 99: you have 2 sessions, numbered 1 to 2. /listsessions shows them.",
        ),
        (
            "/switch 99999999999999999999999",
            "There is no session that large: you have 2 sessions, numbered 1 to 2. /listsessions shows them.",
        ),
        (
            "/switch x",
            "\"x\" is not a number. Usage: /switch <number> — the number from /listsessions",
        ),
        (
            "/switch",
            "/switch needs a number. Usage: /switch <number> — the number from /listsessions",
        ),
        (
            "/switch 0",
            "Numbers start at 1. Usage: /switch <number> — the number from /listsessions",
        ),
        (
            "/switch -1",
            "Numbers start at 1. Usage: /switch <number> — the number from /listsessions",
        ),
        (
            "/switch 1 2",
            "/switch takes one number. Usage: /switch <number> — the number from /listsessions",
        ),
    ];
    for (input, expected) in cases {
        let reply = bot.send(input);
        assert!(reply.events.is_empty(), "{input} must change nothing");
        assert_eq!(text(&reply), expected, "for {input}");
    }
}

#[test]
fn history_shows_the_recent_messages_it_is_given() {
    let mut bot = Bot::default();
    assert_eq!(
        text(&bot.send("/history")),
        "No session is active. Pick one with /switch <number> (see /listsessions) or start one with /newsession."
    );
    bot.send("/newsession");
    assert_eq!(
        text(&bot.send("/history")),
        "Session 1 has no messages yet."
    );
    bot.send("first");
    bot.send("second");
    let recent = vec![
        ChatMessage::new(Role::User, "first", 0),
        ChatMessage::new(Role::Assistant, "x".repeat(600), 60),
    ];
    let ctx = Context {
        user_id: USER,
        sender_id: USER,
        in_group: false,
        chat_id: 1,
        update_id: 100,
        first_name: "Ada",
        date: 0,
        now: 0,
        default_model: "llama3",
        recent_messages: &recent,
        answering: false,
        backend: None,
        access: &cloud_ai_shared::domain::access::AccessPolicy::open(),
        is_admin: false,
        system_prompt: None,
        tokens_by_user: &[],
        sees_photos: false,
        hears_voice: false,
    };
    let reply = decide(
        &bot.state,
        &Input::Command(cloud_ai_shared::domain::command::Command::History),
        &ctx,
    );
    let shown = text(&reply);
    assert!(
        shown.starts_with("Last 2 of 2 messages in session 1:"),
        "{shown}"
    );
    assert!(shown.contains("[1970-01-01 00:00 UTC] You: first"));
    assert!(
        shown.contains(&format!("Assistant: {}…", "x".repeat(500))),
        "long messages are cut"
    );
}

#[test]
fn archive_lists_then_archives_by_the_same_numbers() {
    let mut bot = Bot::default();
    assert_eq!(
        text(&bot.send("/archive")),
        "You have no live sessions to archive."
    );
    bot.send("/newsession");
    bot.send("one");
    bot.send("/newsession");
    let menu = text(&bot.send("/archive"));
    assert!(
        menu.starts_with("Sessions you can archive:\n1. \"one\" · llama3 · 1 message"),
        "{menu}"
    );
    assert!(menu.ends_with("Archive one with /archive <number>."));

    let first = bot.state.sessions[0].session_id;
    let archived = bot.send("/archive 1");
    assert_eq!(
        archived.events,
        vec![Event::Archived {
            session_id: first,
            s3_key: archive_key(USER, first),
            archived_at: archived_at(&archived),
        }]
    );
    assert_eq!(
        text(&archived),
        "Archived session 1 \"one\" (llama3, 1 message). It is archive 1 in /listarchives. The sessions after it moved up one number."
    );
    assert_eq!(bot.state.sessions.len(), 1);
    assert_eq!(bot.state.archives.len(), 1);
    assert_eq!(
        text(&bot.send("/archive 5")),
        "There is no session 5: you have 1 session. /listsessions shows it."
    );
    assert!(
        text(&bot.send("/archive two"))
            .starts_with("\"two\" is not a number. Usage: /archive <number>")
    );
}

fn archived_at(decision: &cloud_ai_shared::domain::decide::Decision) -> String {
    match &decision.events[0] {
        Event::Archived { archived_at, .. } => {
            assert!(
                archived_at.ends_with('Z') && archived_at.contains('T'),
                "{archived_at} is RFC 3339"
            );
            archived_at.clone()
        }
        other => panic!("expected Archived, got {other:?}"),
    }
}

#[test]
fn archiving_the_active_session_leaves_none_active_and_chat_opens_a_new_one() {
    let mut bot = Bot::default();
    bot.send("hello");
    bot.send("/archive 1");
    assert_eq!(bot.state.active, None);
    let chat = bot.send("again");
    assert_eq!(names(&chat), FIRST_MESSAGE);
    assert_eq!(bot.state.sessions.len(), 1);
}

#[test]
fn the_greeting_is_short_and_points_to_help() {
    let first = text(&Bot::default().send("/start"));
    assert!(first.chars().count() < 400, "{first}");
    for pointer in ["/newsession", "/listsessions", "/help"] {
        assert!(first.contains(pointer), "{first}");
    }
    assert!(!first.contains("/echo"), "{first}");
}

#[test]
fn after_archiving_the_last_session_the_list_says_where_it_went_and_dates_read_alike() {
    let mut bot = Bot::default();
    bot.send("hi");
    bot.send("/archive 1");
    assert_eq!(
        text(&bot.send("/listsessions")),
        "You have no live sessions; your archived one is in /listarchives. Send a message or /newsession to start a new one."
    );
    bot.send("/newsession");
    let sessions = text(&bot.send("/listsessions"));
    let archives = text(&bot.send("/listarchives"));
    // "2026-11-25 10:00 UTC" in both lists, not an RFC 3339 stamp in one of them.
    let date_of = |list: &str| {
        let line = list.lines().nth(1).unwrap().to_string();
        let at = line.rfind(" 20").unwrap();
        line[at + 1..].trim_end_matches(" ← active").to_string()
    };
    for date in [date_of(&sessions), date_of(&archives)] {
        assert!(
            date.len() == "2026-11-25 10:00 UTC".len() && date.ends_with(" UTC"),
            "{sessions}\n{archives}"
        );
    }
}

#[test]
fn list_archives_and_export_by_archive_number() {
    let mut bot = Bot::default();
    let none = "You have no archives yet. Archive a session with /archive <number>, or send me an archive JSON file to import it.";
    assert_eq!(text(&bot.send("/listarchives")), none);
    assert_eq!(text(&bot.send("/export 1")), none);
    bot.send("hi");
    bot.send("/archive 1");
    let list = text(&bot.send("/listarchives"));
    assert!(
        list.starts_with("Your archives:\n1. \"hi\" · llama3 · 1 message · archived 20"),
        "{list}"
    );
    let archive = bot.state.archives[0].clone();
    let export = bot.send("/export 1");
    assert!(export.events.is_empty());
    assert_eq!(
        export.replies,
        vec![Reply::ArchiveFile {
            s3_key: archive.s3_key.clone(),
            file_name: format!("llama3-{}.json", archive.session_id),
            caption: "Archive 1: llama3, 1 message.".into(),
        }]
    );
    assert_eq!(
        text(&bot.send("/export 3")),
        "There is no archive 3: you have 1 archive. /listarchives shows it."
    );
    assert!(text(&bot.send("/export")).starts_with("/export needs a number."));
}

#[test]
fn echo_status_unknown_and_other_bots() {
    let mut bot = Bot::default();
    assert_eq!(text(&bot.send("/echo  spaced   out ")), "spaced   out");
    assert_eq!(
        text(&bot.send("/echo")),
        "/echo needs some text. Usage: /echo <text>"
    );
    let status = text(&bot.send("/status"));
    assert!(
        status.starts_with("Model backend: not configured."),
        "{status}"
    );
    assert!(status.contains("No active session (0 live).") && status.ends_with("Archives: 0."));
    bot.send("hi");
    assert!(
        text(&bot.send("/status")).contains("Active session: 1 of 1 \"hi\" (llama3, 1 message).")
    );
    assert_eq!(
        text(&bot.send("/frobnicate")),
        "I don't know the command /frobnicate. Send /help for the list."
    );
    let other = bot.send("/help@some_other_bot");
    assert!(other.events.is_empty() && other.replies.is_empty());
}

#[test]
fn chat_is_stored_in_the_active_session_and_says_no_backend_is_configured() {
    let mut bot = Bot::default();
    let first = bot.send("What is Rust?");
    assert_eq!(names(&first), FIRST_MESSAGE);
    assert_eq!(
        text(&first),
        "Saved to session 1. No model backend is configured yet, so there is no AI reply; /status says more."
    );
    let second = bot.send("And Cargo?");
    assert_eq!(names(&second), ["MessagePosted"]);
    assert_eq!(bot.state.sessions[0].message_count, 2);
}

#[test]
fn unsupported_content_gets_a_polite_reply() {
    let reply = Bot::default().input(Input::Unsupported("sticker"));
    assert!(reply.events.is_empty());
    assert_eq!(
        text(&reply),
        "Sorry, I can't use a sticker. Send text to chat, or a JSON archive file to import it."
    );
}

#[test]
fn imports_become_archives_and_rejections_say_why() {
    let mut bot = Bot::default();
    let rejected = bot.input(Input::Import(ImportOutcome::Rejected(ImportError::NotUtf8)));
    assert!(rejected.events.is_empty());
    assert_eq!(
        text(&rejected),
        "I couldn't import that file: the file is not UTF-8 text. Nothing was stored."
    );
    let id = Uuid::from_u128(5);
    let stored = bot.input(Input::Import(ImportOutcome::Stored(StoredImport {
        session_id: id,
        model_name: "mistral".into(),
        message_count: 3,
        last_message_ts: 10,
        s3_key: archive_key(USER, id),
        imported_at: "2026-11-25T00:00:00Z".into(),
        title: Some("Packing for Rome".into()),
    })));
    assert_eq!(names(&stored), ["ArchiveImported"]);
    assert_eq!(
        text(&stored),
        "Imported the archive as archive 1 \"Packing for Rome\" (mistral, 3 messages). /export 1 sends it back."
    );
    assert!(bot.state.archives[0].imported);
    assert!(
        text(&bot.send("/listarchives")).contains("1. \"Packing for Rome\" · mistral · 3 messages"),
        "{}",
        text(&bot.send("/listarchives"))
    );
}

#[test]
fn the_session_limit_is_explained() {
    let mut bot = Bot::default();
    for _ in 0..MAX_LIVE_SESSIONS {
        bot.send("/newsession");
    }
    let refused = bot.send("/newsession");
    assert!(refused.events.is_empty());
    assert!(text(&refused).starts_with(&format!("You have {MAX_LIVE_SESSIONS} live sessions")));
}

fn with_backend(models: &[&str]) -> Bot {
    Bot {
        backend: Some(BackendStatus {
            kind: "Ollama".into(),
            facts: Ok(BackendFacts {
                version: Some("0.5.7".into()),
                models: models.iter().map(|m| m.to_string()).collect(),
            }),
        }),
        ..Bot::default()
    }
}

#[test]
fn with_a_backend_a_chat_message_is_stored_and_answered_by_the_session_model() {
    let mut bot = with_backend(&["llama3:latest"]);
    let decision = bot.send("What is an event store?");
    assert_eq!(text(&decision), "<answer by llama3>");
    assert!(matches!(
        decision.events.iter().rev().nth(1),
        Some(Event::MessagePosted {
            role: Role::User,
            ..
        })
    ));
}

#[test]
fn model_lists_switches_and_opens_sessions_per_model() {
    let mut bot = with_backend(&["llama3:latest", "qwen2.5:7b"]);
    bot.send("/start");
    let list = text(&bot.send("/model"));
    assert!(list.contains("• llama3:latest (current)"), "{list}");
    assert!(list.contains("• qwen2.5:7b"), "{list}");

    let unknown = text(&bot.send("/model mistral"));
    assert_eq!(
        unknown,
        "The model backend has no model \"mistral\". Available: llama3:latest, qwen2.5:7b."
    );
    assert_eq!(bot.state.sessions.len(), 1, "nothing changed");

    assert_eq!(
        text(&bot.send("/model qwen2.5:7b")),
        "Started session 2 (qwen2.5:7b). It is now active."
    );
    assert_eq!(text(&bot.send("hello")), "<answer by qwen2.5:7b>");
    // The answer failed: asking for the same model again answers it in place.
    let again = bot.send("/model qwen2.5:7b");
    assert_eq!(
        text(&again),
        "Your active session already uses qwen2.5:7b. It answers your last message now.\n<answer by qwen2.5:7b>"
    );
    assert!(again.events.is_empty(), "the message is not posted twice");
    bot.answered("Hello!");
    assert_eq!(
        text(&bot.send("/model qwen2.5:7b")),
        "Your active session already uses qwen2.5:7b."
    );
    // Back to the first session, which is llama3's (named without its tag when it was opened).
    bot.send("/switch 1");
    assert!(
        text(&bot.send("/model qwen2.5:7b"))
            .starts_with("Switched to session 2, your latest with qwen2.5:7b")
    );
    assert_eq!(bot.state.sessions.len(), 2);
}

#[test]
fn a_bare_model_name_finds_the_sessions_opened_with_it() {
    // DEFAULT_MODEL is "llama3"; the backend names it "llama3:latest".
    let mut bot = with_backend(&["llama3:latest", "qwen2.5:7b"]);
    bot.send("/start");
    assert_eq!(
        text(&bot.send("/model llama3")),
        "Your active session already uses llama3:latest."
    );
    bot.send("/model qwen2.5:7b");
    let back = bot.send("/model llama3");
    assert!(
        text(&back).starts_with("Switched to session 1, your latest with llama3"),
        "{}",
        text(&back)
    );
    assert_eq!(bot.state.sessions.len(), 2, "no third session");
}

#[test]
fn model_and_status_say_when_the_backend_is_down() {
    let mut bot = Bot {
        backend: Some(BackendStatus {
            kind: "Ollama".into(),
            facts: Err("connection refused".into()),
        }),
        ..Bot::default()
    };
    bot.send("/start");
    assert_eq!(
        text(&bot.send("/model llama3")),
        "The model backend (Ollama) is not answering right now. Send the command again in a few minutes; /status tells when it answers."
    );
    let status = text(&bot.send("/status"));
    assert!(
        status.starts_with("Model backend: Ollama is not answering right now.")
            && !status.contains("connection refused"),
        "{status}"
    );
    assert!(
        status.contains("Active session: 1 of 1 (llama3, 0 messages)."),
        "{status}"
    );
}

#[test]
fn status_shows_the_backend_version_and_models() {
    let mut bot = with_backend(&["llama3:latest"]);
    bot.send("/start");
    let status = text(&bot.send("/status"));
    assert!(
        status.starts_with("Model backend: Ollama 0.5.7, answering.\nModels: llama3:latest.\nPhotos: llama3 answers their captions only (it can't see them).\nVoice messages: no transcription service is configured.\n"),
        "{status}"
    );
    bot.sees_photos = true;
    bot.hears_voice = true;
    let status = text(&bot.send("/status"));
    assert!(
        status.contains("\nPhotos: llama3 sees them.\nVoice messages: transcribed and answered.\n"),
        "{status}"
    );
}

#[test]
fn a_long_model_argument_is_not_echoed_back_whole_and_blank_text_is_ignored() {
    let mut bot = with_backend(&["llama3:latest"]);
    bot.send("/start");
    let words = "word ".repeat(10_000);
    let reply = text(&bot.send(&format!("/model {words}")));
    assert!(reply.chars().count() < 300, "{} characters", reply.len());
    assert!(reply.contains("…\". Available: llama3:latest."), "{reply}");

    let blank = bot.send(" \n\t ");
    assert!(blank.events.is_empty() && blank.replies.is_empty());
}

#[test]
fn admins_allow_and_deny_as_events_and_others_are_refused() {
    use cloud_ai_shared::domain::access::{AccessPolicy, Sender, Who};
    // Given the bot-level stream, and a policy with one admin.
    let mut bot = Bot {
        access: AccessPolicy::parse(None, Some(&USER.to_string())).unwrap(),
        ..Bot::default()
    };
    let eve = Sender {
        id: 77,
        username: Some("eve".into()),
    };
    // When someone who is not an admin tries, nothing changes.
    let refused = bot.send("/allow 77");
    assert!(refused.events.is_empty());
    assert_eq!(text(&refused), "Only the bot's admins can do that.");
    assert!(text(&bot.send("/users")).contains("Only the bot's admins"));

    // When the admin allows Eve, she may use the bot, once.
    bot.is_admin = true;
    let allowed = bot.send("/allow @Eve");
    assert_eq!(names(&allowed), ["AccessGranted"]);
    assert_eq!(text(&allowed), "@eve may use the bot now.");
    assert!(bot.access.may_use(&bot.state.access, &eve));
    assert!(bot.send("/allow @eve").events.is_empty(), "already allowed");

    // Then /users shows the change, /deny takes it back, and an admin cannot be denied.
    assert!(text(&bot.send("/users")).contains("Allowed with /allow: @eve"));
    assert_eq!(names(&bot.send("/deny @eve")), ["AccessRevoked"]);
    assert!(!bot.access.may_use(&bot.state.access, &eve));
    let admin = bot.send(&format!("/deny {USER}"));
    assert!(admin.events.is_empty());
    assert!(text(&admin).contains("is an admin"));

    // And replaying the stream gives the same list.
    let replayed = cloud_ai_shared::domain::state::UserState::replay(&bot.events);
    assert_eq!(replayed.access, bot.state.access);
    assert_eq!(
        replayed.access.revoked.iter().collect::<Vec<_>>(),
        [&Who::Name("eve".into())]
    );
}

#[test]
fn in_a_group_members_chat_and_read_but_only_admins_change_sessions() {
    let mut bot = Bot {
        in_group: true,
        ..Bot::default()
    };
    // A member's message opens the group's session, labelled with who wrote it.
    let chat = bot.send("what is rust?");
    assert_eq!(names(&chat), FIRST_MESSAGE);
    assert!(
        matches!(&chat.events[2], Event::MessagePosted { content, .. } if content == "Ada: what is rust?")
    );
    assert!(text(&bot.send("/listsessions")).contains("1."));
    for command in ["/newsession", "/switch 1", "/archive 1", "/model llama3"] {
        let refused = bot.send(command);
        assert!(refused.events.is_empty(), "{command}");
        assert!(
            text(&refused).starts_with("In a group, only the bot's admins"),
            "{command}"
        );
    }
    let import = bot.input(Input::Import(ImportOutcome::NotFetched));
    assert!(import.events.is_empty());
    // An admin may.
    bot.is_admin = true;
    assert_eq!(
        names(&bot.send("/newsession")),
        ["SessionCreated", "Switched"]
    );
    assert_eq!(names(&bot.send("/archive 1")), ["Archived"]);
}

#[test]
fn start_says_in_one_line_when_the_model_it_would_use_is_not_installed() {
    let mut bot = with_backend(&["qwen2.5:7b", "phi3:mini"]);
    let greeting = text(&bot.send("/start"));
    let warnings: Vec<&str> = greeting.lines().filter(|l| l.contains("llama3")).collect();
    assert_eq!(
        warnings,
        [
            "⚠️ The model llama3 is not installed on the model backend: /model shows the ones that are."
        ],
        "{greeting}"
    );
    assert!(greeting.chars().count() < 500, "{greeting}");

    // Once the active session's model is there, the greeting says nothing of it.
    bot.send("/model qwen2.5:7b");
    let again = text(&bot.send("/start"));
    assert!(!again.contains("⚠️"), "{again}");
    // Without any model at all, it says so instead.
    let mut empty = with_backend(&[]);
    let bare = text(&empty.send("/start"));
    assert!(
        bare.contains("⚠️ The model backend has no models installed yet, so I cannot answer."),
        "{bare}"
    );
    // The backend being down, or absent, is /status's business: the greeting stays short.
    let mut down = Bot {
        backend: Some(BackendStatus {
            kind: "Ollama".into(),
            facts: Err("connection refused".into()),
        }),
        ..Bot::default()
    };
    assert!(!text(&down.send("/start")).contains("⚠️"));
    assert!(!text(&Bot::default().send("/start")).contains("⚠️"));
}

#[test]
fn choosing_a_model_carries_the_unanswered_message_along_and_answers_it_there() {
    // DEFAULT_MODEL llama3 is missing: the first message is stored, its answer failed.
    let mut bot = with_backend(&["qwen2.5:7b", "phi3:mini"]);
    bot.send("/start");
    bot.send("What is a monad?");
    let chosen = bot.send("/model qwen2.5:7b");
    assert_eq!(
        text(&chosen),
        "Started session 2 (qwen2.5:7b). It is now active.\nYour last message goes along: qwen2.5:7b answers it now.\n<answer by qwen2.5:7b>"
    );
    assert_eq!(names(&chosen), FIRST_MESSAGE);
    let new_session = bot.state.active.unwrap();
    assert!(matches!(
        &chosen.events[2],
        Event::MessagePosted { session_id, role: Role::User, content, .. }
            if *session_id == new_session && content == "What is a monad?"
    ));
    assert!(matches!(
        &chosen.replies[1],
        Reply::Answer { session_id, .. } if *session_id == new_session
    ));
    bot.answered("A monoid in the category of endofunctors.");

    // An answered conversation carries nothing: back to session 1 ... whose message is
    // unanswered, so going to phi3's new session takes it along again; an existing session
    // for the model takes it too.
    bot.send("/switch 1");
    let to_phi = bot.send("/model phi3:mini");
    assert_eq!(names(&to_phi), FIRST_MESSAGE);
    bot.answered("It is a pattern.");
    bot.send("/switch 1");
    let to_qwen = bot.send("/model qwen2.5:7b");
    assert_eq!(
        text(&to_qwen),
        "Switched to session 2, your latest with qwen2.5:7b (2 messages).\nYour last message goes along: qwen2.5:7b answers it now.\n<answer by qwen2.5:7b>"
    );
    assert_eq!(names(&to_qwen), ["Switched", "MessagePosted"]);
    bot.answered("Still a monoid.");
    let settled = bot.send("/model phi3:mini");
    assert_eq!(
        names(&settled),
        ["Switched"],
        "qwen's session ends answered"
    );
    assert_eq!(
        text(&settled),
        "Switched to session 3, your latest with phi3:mini (2 messages)."
    );
}

#[test]
fn retry_answers_the_last_message_again_and_a_new_answer_replaces_the_old_one() {
    // Without a backend there is nothing to answer with.
    let mut offline = Bot::default();
    offline.send("hello");
    let refused = offline.send("/retry");
    assert!(refused.events.is_empty());
    assert_eq!(
        text(&refused),
        "No model backend is configured, so there is nothing to answer with."
    );

    let mut bot = with_backend(&["llama3:latest"]);
    assert_eq!(
        text(&bot.send("/retry")),
        "No session is active. Pick one with /switch <number> (see /listsessions) or start one with /newsession."
    );
    bot.send("/newsession");
    assert_eq!(
        text(&bot.send("/retry")),
        "Session 1 has no message to answer yet: send one first."
    );

    // The model never answered: /retry answers the saved message, storing nothing again.
    bot.send("What is an event store?");
    let retry = bot.send("/retry");
    assert!(retry.events.is_empty(), "the message is not stored twice");
    let session_id = bot.state.active.unwrap();
    assert_eq!(
        retry.replies,
        [Reply::Answer {
            session_id,
            model: "llama3".into(),
            replaces: None,
            persona: Persona::Default,
        }]
    );

    // Answered: /retry asks for a new answer that takes the old one's place (message 2).
    bot.answered("An append-only log.");
    let retry = bot.send("/retry@cloudaibot");
    assert!(retry.events.is_empty());
    assert_eq!(
        retry.replies,
        [Reply::Answer {
            session_id,
            model: "llama3".into(),
            replaces: Some(2),
            persona: Persona::Default,
        }]
    );
    bot.answer_replaced(2, "A log of events, the only truth.");
    assert_eq!(bot.state.sessions[0].message_count, 2);
    let history = text(&bot.send("/history"));
    assert!(
        history.contains("A log of events, the only truth."),
        "{history}"
    );
    assert!(!history.contains("An append-only log."), "{history}");
    // The earlier answer stays in the stream.
    assert!(bot.events.iter().any(|e| matches!(
        &e.event,
        Event::MessagePosted { content, .. } if content == "An append-only log."
    )));
}

#[test]
fn in_a_group_any_member_may_retry_the_groups_last_answer() {
    let mut bot = with_backend(&["llama3:latest"]);
    bot.in_group = true;
    bot.is_admin = true;
    bot.send("/newsession");
    bot.is_admin = false;
    bot.send("Who won?");
    bot.answered("Nobody yet.");
    let retry = bot.send("/retry");
    assert!(matches!(
        retry.replies.as_slice(),
        [Reply::Answer {
            replaces: Some(2),
            ..
        }]
    ));
}

#[test]
fn a_session_is_titled_by_its_first_message_and_renamed_by_number() {
    let mut bot = Bot::default();
    let first = bot.send("Plan a  three-day trip to Rome for two people in spring, please");
    assert_eq!(names(&first), FIRST_MESSAGE);
    let titled = "\"Plan a three-day trip to Rome for two…\"";
    let list = text(&bot.send("/listsessions"));
    assert!(
        list.contains(&format!("1. {titled} · llama3 · 1 message")),
        "{list}"
    );
    // Later messages keep the first title.
    assert_eq!(names(&bot.send("And a packing list")), ["MessagePosted"]);

    assert_eq!(
        text(&bot.send("/rename")),
        "/rename needs a number. Usage: /rename <number> <title> — the number from /listsessions, then the title"
    );
    assert!(text(&bot.send("/rename 1")).starts_with("/rename needs some text."));
    assert!(text(&bot.send("/rename 3 Rome")).starts_with("There is no session 3"));
    let long = format!("/rename 1 {}", "a".repeat(65));
    assert_eq!(
        text(&bot.send(&long)),
        "A title may be at most 64 characters; that one has 65. Usage: /rename <number> <title>"
    );
    let renamed = bot.send("/rename 1   Rome,\n spring");
    assert_eq!(names(&renamed), ["SessionTitled"]);
    assert_eq!(text(&renamed), "Session 1 is now called \"Rome, spring\".");
    assert!(
        bot.send("/rename 1 Rome, spring").events.is_empty(),
        "no change, no event"
    );

    // A renamed empty session keeps its name when its first message arrives.
    bot.send("/newsession");
    bot.send("/rename 2 Scratch");
    assert_eq!(names(&bot.send("hello")), ["MessagePosted"]);
    let status = text(&bot.send("/status"));
    assert!(
        status.contains("Active session: 2 of 2 \"Scratch\" (llama3, 1 message)."),
        "{status}"
    );

    // The title goes with the session into the archives.
    let archived = text(&bot.send("/archive 1"));
    assert!(
        archived.starts_with("Archived session 1 \"Rome, spring\" (llama3, 2 messages)."),
        "{archived}"
    );
    let archives = text(&bot.send("/listarchives"));
    assert!(
        archives.contains("1. \"Rome, spring\" · llama3 · 2 messages"),
        "{archives}"
    );
}

#[test]
fn in_a_group_only_admins_rename_and_titles_leave_out_the_senders_name() {
    let mut bot = Bot {
        in_group: true,
        ..Bot::default()
    };
    bot.send("what should we cook tonight");
    assert_eq!(
        bot.state.sessions[0].title.as_deref(),
        Some("what should we cook tonight")
    );
    let refused = bot.send("/rename 1 Dinner");
    assert!(refused.events.is_empty());
    bot.is_admin = true;
    assert_eq!(names(&bot.send("/rename 1 Dinner")), ["SessionTitled"]);
}

fn answered_with(decision: &cloud_ai_shared::domain::decide::Decision) -> Persona {
    match decision.replies.last() {
        Some(Reply::Answer { persona, .. }) => persona.clone(),
        other => panic!("not an answer: {other:?}"),
    }
}

#[test]
fn persona_shows_presets_then_sets_and_clears_the_active_sessions_system_prompt() {
    let mut bot = with_backend(&["llama3:latest"]);
    assert_eq!(
        text(&bot.send("/persona concise")),
        "No session is active. Pick one with /switch <number> (see /listsessions) or start one with /newsession."
    );
    bot.send("/newsession");
    let shown = text(&bot.send("/persona"));
    assert!(
        shown.starts_with("Session 1 uses the bot's default system prompt (the bot has none)."),
        "{shown}"
    );
    for preset in ["concise", "tutor", "coder", "translator"] {
        assert!(shown.contains(&format!("• {preset} — ")), "{shown}");
    }
    assert!(shown.contains("/persona off"), "{shown}");

    let set = bot.send("/persona Tutor");
    assert_eq!(names(&set), ["PersonaSet"]);
    assert_eq!(text(&set), "Session 1 now answers as the tutor preset.");
    assert!(
        bot.send("/persona tutor").events.is_empty(),
        "no change, no event"
    );
    assert!(matches!(
        answered_with(&bot.send("What is a monad?")),
        Persona::Custom { preset: Some(p), .. } if p == "tutor"
    ));
    let list = text(&bot.send("/listsessions"));
    assert!(
        list.contains("llama3 · persona tutor · 1 message"),
        "{list}"
    );

    let own = bot.send("/persona You are a pirate.\nAnswer like one.");
    assert_eq!(
        text(&own),
        "Session 1 now has your own system prompt (34 characters)."
    );
    let status = text(&bot.send("/status"));
    assert!(
        status.contains("Persona: your own: \"You are a pirate. Answer like one.\""),
        "{status}"
    );
    assert!(text(&bot.send("/listsessions")).contains("llama3 · own persona · "));

    assert_eq!(
        text(&bot.send("/persona off")),
        "Session 1 now has no system prompt."
    );
    assert_eq!(answered_with(&bot.send("hello")), Persona::Off);
    assert!(text(&bot.send("/status")).contains("Persona: none."));
    assert_eq!(
        text(&bot.send("/persona default")),
        "Session 1 is back to the bot's default system prompt."
    );
    assert_eq!(answered_with(&bot.send("hello")), Persona::Default);

    let long = bot.send(&format!("/persona {}", "x".repeat(2_001)));
    assert!(long.events.is_empty());
    assert_eq!(
        text(&long),
        "A system prompt may be at most 2000 characters; that one has 2001."
    );
    // Each session has its own.
    bot.send("/persona coder");
    bot.send("/newsession");
    assert!(text(&bot.send("/persona")).starts_with("Session 2 uses the bot's default"));

    let names_in_stream: Vec<&str> = bot.events.iter().map(|e| e.event.name()).collect();
    assert_eq!(
        names_in_stream
            .iter()
            .filter(|n| **n == "PersonaSet")
            .count(),
        5
    );
}

#[test]
fn the_bots_default_prompt_is_shown_and_in_a_group_only_admins_set_a_persona() {
    let mut bot = with_backend(&["llama3:latest"]);
    bot.system_prompt = Some("Always answer in haiku.".into());
    bot.send("/newsession");
    assert!(text(&bot.send("/persona")).starts_with(
        "Session 1 uses the bot's default system prompt: \"Always answer in haiku.\""
    ),);
    bot.in_group = true;
    let refused = bot.send("/persona concise");
    assert!(refused.events.is_empty());
    assert!(
        text(&bot.send("/persona")).starts_with("Session 1 uses"),
        "members may look"
    );
    bot.is_admin = true;
    assert_eq!(names(&bot.send("/persona concise")), ["PersonaSet"]);
}

#[test]
fn delete_asks_first_then_removes_the_session_and_its_messages() {
    let mut bot = Bot::default();
    bot.send("Groceries for the week");
    bot.send("milk, eggs");
    bot.send("/newsession");
    bot.send("Keep this one");
    assert!(text(&bot.send("/delete")).starts_with("/delete needs a number."));
    assert!(text(&bot.send("/delete 3")).starts_with("There is no session 3"));
    assert!(
        text(&bot.send("/delete 1 now"))
            .starts_with("/delete takes a number, then the word confirm.")
    );

    let asked = bot.send("/delete 1");
    assert!(
        asked.events.is_empty(),
        "nothing happens before the confirmation"
    );
    assert_eq!(
        text(&asked),
        "Delete session 1 \"Groceries for the week\" (llama3, 2 messages) for good? Its messages leave your sessions and cannot be brought back with a command (/archive 1 keeps them instead). To delete it, send /delete 1 confirm"
    );
    let deleted_id = bot.state.sessions[0].session_id;
    let deleted = bot.send("/delete 1 CONFIRM");
    assert_eq!(names(&deleted), ["SessionDeleted"]);
    assert_eq!(
        text(&deleted),
        "Deleted session 1 \"Groceries for the week\" (llama3, 2 messages). The sessions after it moved up one number."
    );
    assert_eq!(bot.state.sessions.len(), 1);
    assert!(bot.state.archives.is_empty(), "nothing is archived");
    assert!(
        bot.rows
            .keys()
            .all(|key| !key.contains(&deleted_id.to_string())),
        "no row of the deleted session is left"
    );
    let list = text(&bot.send("/listsessions"));
    assert!(list.contains("1. \"Keep this one\""), "{list}");

    // Deleting the active one leaves none active; the next message opens a new session.
    bot.send("/delete 1 confirm");
    assert_eq!(bot.state.active, None);
    assert_eq!(names(&bot.send("hello")), FIRST_MESSAGE);
}

#[test]
fn in_a_group_only_admins_delete() {
    let mut bot = Bot {
        in_group: true,
        ..Bot::default()
    };
    bot.send("team notes");
    assert!(bot.send("/delete 1 confirm").events.is_empty());
    bot.is_admin = true;
    assert_eq!(names(&bot.send("/delete 1 confirm")), ["SessionDeleted"]);
}

#[test]
fn restore_opens_an_archive_as_a_new_active_session_and_keeps_the_archive() {
    let mut bot = Bot::default();
    bot.send("Packing for Rome");
    bot.send("/archive 1");
    let readable = RestoreRead::Readable {
        messages: 1,
        persona: true,
    };
    let restore = |bot: &mut Bot, number, read: &RestoreRead| {
        bot.input(Input::Restore {
            number,
            read: read.clone(),
        })
    };
    assert!(
        text(&restore(&mut bot, 2, &RestoreRead::NotRead)).starts_with("There is no archive 2")
    );
    let refused = restore(
        &mut bot,
        1,
        &RestoreRead::Unreadable("the file is not UTF-8 text".into()),
    );
    assert!(refused.events.is_empty());
    assert_eq!(
        text(&refused),
        "I couldn't restore archive 1: the file is not UTF-8 text. Nothing was changed."
    );

    let restored = restore(&mut bot, 1, &readable);
    assert_eq!(names(&restored), ["SessionRestored", "Switched"]);
    assert_eq!(
        text(&restored),
        "Restored archive 1 \"Packing for Rome\" as session 1 (llama3, 1 message, with its persona). It is now active; the archive stays in /listarchives."
    );
    assert_eq!(bot.state.archives.len(), 1, "the archive stays");
    let session = bot.state.active_session().unwrap();
    assert_eq!(session.title.as_deref(), Some("Packing for Rome"));
    assert_eq!(session.message_count, 0, "its messages follow the decision");
    // Restoring again makes another session (a second copy to continue differently).
    restore(&mut bot, 1, &readable);
    assert_eq!(bot.state.sessions.len(), 2);

    // In a group, only admins restore.
    let mut group = Bot {
        in_group: true,
        is_admin: true,
        ..Bot::default()
    };
    group.send("plans");
    group.send("/archive 1");
    group.is_admin = false;
    assert!(restore(&mut group, 1, &readable).events.is_empty());
    assert!(group.send("/restore 1").events.is_empty());
}

#[test]
fn usage_shows_the_active_sessions_tokens_and_the_streams_totals() {
    let mut bot = with_backend(&["llama3:latest"]);
    assert_eq!(
        text(&bot.send("/usage")),
        "No answers yet, so no tokens used."
    );
    bot.send("Plan a trip");
    bot.answered_using(
        "Sure.",
        TokenUsage {
            prompt: 1_200,
            answer: 34,
        },
    );
    bot.send("/newsession");
    bot.send("hi");
    bot.answered_using(
        "Hello.",
        TokenUsage {
            prompt: 10,
            answer: 5,
        },
    );
    let usage = bot.send("/usage");
    assert!(usage.events.is_empty());
    assert_eq!(
        text(&usage),
        "Tokens the model read + wrote, as the backend reports them:\nSession 2 \"hi\": 15 (10 + 5)\nToday: 1,249 · this month: 1,249 · all time: 1,249 (1,210 + 39) in 2 answers"
    );
    // Archived sessions leave the totals as they were.
    bot.send("/archive 1");
    assert!(text(&bot.send("/usage")).ends_with("all time: 1,249 (1,210 + 39) in 2 answers"));
}

#[test]
fn admins_see_every_users_tokens_today_but_only_in_their_private_chat() {
    let mut bot = with_backend(&["llama3:latest"]);
    bot.tokens_by_user = (1..=22)
        .map(|user| (user, 1_000 * (23 - user) as u64))
        .collect();
    assert!(
        !text(&bot.send("/usage")).contains("by user"),
        "not for others"
    );
    bot.is_admin = true;
    let shown = text(&bot.send("/usage"));
    assert!(
        shown.starts_with(
            "No answers yet, so no tokens used.\n\nToday by user (tokens charged, for admins):\n1: 22,000\n2: 21,000\n"
        ),
        "{shown}"
    );
    assert!(shown.ends_with("20: 3,000\nand 2 more"), "{shown}");
    bot.in_group = true;
    assert!(
        !text(&bot.send("/usage")).contains("by user"),
        "nothing private in a group"
    );
}

fn photo_ref(file_id: &str) -> ImageRef {
    ImageRef {
        file_id: file_id.into(),
        file_size: Some(60_000),
        width: 800,
        height: 533,
    }
}

fn photo_input(image: &ImageRef, caption: Option<&str>) -> Input {
    Input::Photo {
        caption: caption.map(str::to_string),
        image: image.clone(),
    }
}

#[test]
fn a_photos_caption_is_the_message_the_photo_is_kept_by_reference_and_the_note_says_so() {
    let image = photo_ref("AgAD-photo");
    let photo = |caption: Option<&str>| photo_input(&image, caption);
    let mut bot = with_backend(&["llama3:latest"]);
    let bare = bot.input(photo(None));
    assert!(bare.events.is_empty(), "nothing to answer, nothing stored");
    assert_eq!(
        text(&bare),
        "This model can't see photos, so there is nothing to answer. Send the photo again with a caption and the model answers the caption, or pick a model that sees photos with /model."
    );
    let captioned = bot.input(photo(Some("What bird is this?")));
    assert_eq!(names(&captioned), FIRST_MESSAGE);
    assert!(matches!(
        &captioned.events[2],
        Event::MessagePosted { content, image: Some(kept), .. }
            if content == "What bird is this?" && *kept == image
    ));
    assert_eq!(
        text(&captioned),
        "🖼 This model can't see photos, so it answers your caption.\n<answer by llama3>"
    );
    // Without a backend it is saved like any message.
    let mut offline = Bot::default();
    assert!(text(&offline.input(photo(Some("later")))).starts_with("Saved to session 1."));
}

#[test]
fn a_model_that_sees_photos_answers_them_without_a_note_and_describes_a_bare_one() {
    let image = photo_ref("AgAD-seen");
    let photo = |caption: Option<&str>| photo_input(&image, caption);
    let mut bot = with_backend(&["llava:latest"]);
    bot.sees_photos = true;
    let captioned = bot.input(photo(Some("What bird is this?")));
    assert_eq!(text(&captioned), "<answer by llama3>", "no note before it");
    let bare = bot.input(photo(None));
    assert_eq!(names(&bare), ["MessagePosted"]);
    assert!(matches!(
        &bare.events[0],
        Event::MessagePosted { content, image: Some(kept), .. }
            if content == "Describe this photo." && *kept == image
    ));
    assert_eq!(text(&bare), "<answer by llama3>");
}

#[test]
fn a_voice_messages_words_are_the_message_shown_before_the_answer_and_failures_store_nothing() {
    use cloud_ai_shared::domain::voice::Heard;
    let mut bot = with_backend(&["llama3:latest"]);
    let heard = bot.input(Input::Voice(Heard::Words(
        "Remind me what a monad is".into(),
    )));
    assert_eq!(
        text(&heard),
        "🎙 \u{201c}Remind me what a monad is\u{201d}\n<answer by llama3>"
    );
    assert!(heard.events.iter().any(|e| matches!(
        e,
        Event::MessagePosted { content, role: Role::User, .. } if content == "Remind me what a monad is"
    )));
    for (heard, says) in [
        (
            Heard::NoTranscriber,
            "I can't listen to voice messages here: no transcription service is configured. Please type it.",
        ),
        (
            Heard::TooLong,
            "That voice message is too long for me: I transcribe up to 10 minutes (20 MB). Please send a shorter one, or type it.",
        ),
        (
            Heard::Failed,
            "I couldn't transcribe that voice message just now, and nothing was stored. Send it again to try once more, or type it.",
        ),
        (
            Heard::Silence,
            "I heard no words in that voice message, so nothing was stored.",
        ),
    ] {
        let decision = bot.input(Input::Voice(heard));
        assert!(decision.events.is_empty());
        assert_eq!(text(&decision), says);
    }
}
