//! The decision function: current state + what the user sent → new events + replies. No I/O.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::access::{AccessPolicy, Who};
use super::archive_doc::ImportError;
use super::backend::BackendStatus;
use super::command::{Command, UsageError, UsageProblem};
use super::events::{ChatMessage, Event, ImageRef, Role};
use super::keys::{archive_key, derived_session_id};
use super::persona::{Persona, PersonaProblem, parse_persona};
use super::replies;
use super::state::{ArchiveSummary, UserState};
use super::title::{TitleProblem, check_title, title_from};
use super::voice::Heard;

/// The most live sessions a user may hold (the folded state lives in one item).
pub const MAX_LIVE_SESSIONS: usize = 200;
/// The most archives a user may hold.
pub const MAX_ARCHIVES: usize = 1000;
/// How many messages `/history` shows.
pub const HISTORY_LENGTH: usize = 10;

/// What the user sent, after any I/O it needed (an import file is validated and stored first).
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Command(Command),
    Import(ImportOutcome),
    /// A photo, with its caption if it has one.
    Photo {
        caption: Option<String>,
        image: ImageRef,
    },
    /// `/restore <n>`, with what archive n held when it was read.
    Restore {
        number: usize,
        read: RestoreRead,
    },
    /// A voice message, as far as it was heard.
    Voice(Heard),
    Unsupported(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImportOutcome {
    /// Validated and stored at `s3_key` under the sender's prefix.
    Stored(StoredImport),
    Rejected(ImportError),
    /// Not fetched: a group member who is not an admin sent it, which the decision refuses.
    NotFetched,
}

/// What reading an archive to restore found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreRead {
    /// It can be restored: its messages (a leading system message aside) and whether it has a
    /// persona.
    Readable { messages: u64, persona: bool },
    /// It cannot; the reason the user reads.
    Unreadable(String),
    /// Not read: there is no such archive, or a group member who is not an admin asked.
    NotRead,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImport {
    pub session_id: Uuid,
    pub model_name: String,
    pub message_count: u64,
    pub last_message_ts: i64,
    pub s3_key: String,
    pub imported_at: String,
    pub title: Option<String>,
}

/// Facts about the update and the few reads a decision may need.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The stream's owner: the sender in a private chat, the group chat in a group, the bot for
    /// access commands. Archive keys and derived session ids are the owner's.
    pub user_id: i64,
    /// Who sent the update.
    pub sender_id: i64,
    /// Whether the update came from a group chat (the group's own sessions).
    pub in_group: bool,
    pub chat_id: i64,
    pub update_id: i64,
    pub first_name: &'a str,
    /// The message's date (Unix seconds).
    pub date: i64,
    /// The handler's clock (Unix seconds): what "today" is for totals counted by answer times,
    /// which the same clock stamps.
    pub now: i64,
    pub default_model: &'a str,
    /// The last messages of the active session, oldest first (read only for `/history`).
    pub recent_messages: &'a [ChatMessage],
    /// Whether a model backend answers chat messages.
    pub answering: bool,
    /// The backend's state, read only for the commands that show or check it.
    pub backend: Option<&'a BackendStatus>,
    /// The configured access lists (access commands decide on the bot-level stream's state).
    pub access: &'a AccessPolicy,
    /// Whether the sender is one of the bot's admins.
    pub is_admin: bool,
    /// The bot's `SYSTEM_PROMPT`: what a session with the default persona is told.
    pub system_prompt: Option<&'a str>,
    /// Every user's tokens charged today, largest first (read only for an admin's `/usage` in
    /// a private chat).
    pub tokens_by_user: &'a [(i64, u64)],
    /// Whether the model that would answer sees photos (asked only for a photo and `/status`).
    pub sees_photos: bool,
    /// Whether voice messages are transcribed.
    pub hears_voice: bool,
}

/// Something to send back to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    Text {
        text: String,
    },
    /// The model's answer to the session's conversation, streamed as it is generated. It is
    /// recorded as the session's next message once shown.
    Answer {
        session_id: Uuid,
        model: String,
        /// The message (its 1-based number in the session) an answer given before holds: the
        /// new answer, generated without it, takes its place (`/retry`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces: Option<u64>,
        /// The session's system prompt, as decided.
        #[serde(default, skip_serializing_if = "Persona::is_default")]
        persona: Persona,
    },
    /// The stored archive at `s3_key`, sent as a JSON document.
    ArchiveFile {
        s3_key: String,
        file_name: String,
        caption: String,
    },
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::Text { text: text.into() }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub events: Vec<Event>,
    pub replies: Vec<Reply>,
}

impl Decision {
    fn reply(text: impl Into<String>) -> Decision {
        Decision {
            events: Vec::new(),
            replies: vec![Reply::text(text)],
        }
    }

    fn nothing() -> Decision {
        Decision::default()
    }
}

/// Why an import may not be stored at all, asked before the file is fetched or written.
pub fn import_refusal(state: &UserState) -> Option<ImportError> {
    (state.archives.len() >= MAX_ARCHIVES).then_some(ImportError::TooManyArchives {
        limit: MAX_ARCHIVES,
    })
}

/// Whether a decision needs the model backend's state.
pub fn needs_backend_status(input: &Input) -> bool {
    matches!(
        input,
        Input::Command(Command::Start | Command::Status | Command::Model(_))
    )
}

/// Whether a decision needs to know if the answering model sees photos.
pub fn needs_vision(input: &Input) -> bool {
    matches!(input, Input::Photo { .. } | Input::Command(Command::Status))
}

/// Whether a decision needs every user's tokens today: an admin's `/usage`, privately.
pub fn needs_tokens_by_user(input: &Input, is_admin: bool, in_group: bool) -> bool {
    is_admin && !in_group && matches!(input, Input::Command(Command::Usage))
}

/// Whether a command needs the active session's recent messages (`/model <name>` looks for an
/// unanswered last message to carry along).
pub fn needs_recent_messages(input: &Input) -> bool {
    matches!(
        input,
        Input::Command(Command::History | Command::Retry | Command::Model(Some(_)))
    )
}

pub fn decide(state: &UserState, input: &Input, ctx: &Context) -> Decision {
    if !may_change_sessions(ctx.in_group, ctx.is_admin) && changes_group_sessions(input) {
        return Decision::reply(replies::group_admins_only());
    }
    match input {
        Input::Unsupported(kind) => Decision::reply(replies::unsupported(kind)),
        Input::Import(ImportOutcome::Rejected(error)) => {
            Decision::reply(replies::import_rejected(&error.to_string()))
        }
        Input::Import(ImportOutcome::Stored(stored)) => import(state, stored),
        Input::Import(ImportOutcome::NotFetched) => Decision::reply(replies::group_admins_only()),
        Input::Restore { number, read } => restore(state, *number, read, ctx),
        Input::Photo { caption, image } => photo(state, caption.as_deref(), image, ctx),
        Input::Voice(heard) => voice(state, heard, ctx),
        Input::Command(command) => decide_command(state, command, ctx),
    }
}

fn decide_command(state: &UserState, command: &Command, ctx: &Context) -> Decision {
    match command {
        Command::Start => start(state, ctx),
        Command::Help => Decision::reply(replies::help()),
        Command::NewSession => new_session(state, ctx),
        Command::ListSessions => Decision::reply(replies::session_list(state)),
        Command::Switch(number) => switch(state, *number),
        Command::History => history(state, ctx),
        Command::Retry => retry(state, ctx),
        Command::Rename(number, title) => rename(state, *number, title),
        Command::Delete { number, confirmed } => delete(state, *number, *confirmed),
        // Read first by the handler (as `Input::Restore`); unread, it can only be refused.
        Command::Restore(number) => restore(state, *number, &RestoreRead::NotRead, ctx),
        Command::Persona(argument) => persona(state, argument.as_deref(), ctx),
        Command::ArchiveMenu => Decision::reply(replies::archive_menu(state)),
        Command::Archive(number) => archive(state, *number, ctx),
        Command::ListArchives => Decision::reply(replies::archive_list(state)),
        Command::Export(number) => export(state, *number),
        Command::Echo(text) => Decision::reply(text.clone()),
        Command::Usage => {
            // Other users' figures only ever go to an admin's private chat.
            let by_user = if ctx.is_admin && !ctx.in_group {
                ctx.tokens_by_user
            } else {
                &[]
            };
            Decision::reply(replies::token_usage(state, ctx.now, by_user))
        }
        Command::Status => Decision::reply(match ctx.backend {
            Some(backend) if ctx.answering => {
                let model = state
                    .active_session()
                    .map_or(ctx.default_model, |s| s.model_name.as_str());
                let media = replies::Media {
                    model,
                    sees_photos: ctx.sees_photos,
                    hears_voice: ctx.hears_voice,
                };
                replies::status_with_backend(state, backend, &media)
            }
            _ => replies::status(state),
        }),
        Command::Model(name) => model(state, name.as_deref(), ctx),
        Command::Chat(text) => chat(state, text, ctx),
        Command::Allow(_) | Command::Deny(_) | Command::Users if !ctx.is_admin => {
            Decision::reply(replies::admins_only())
        }
        Command::Allow(who) => allow(state, who, ctx),
        Command::Deny(who) => deny(state, who, ctx),
        Command::Users => Decision::reply(replies::users(ctx.access, &state.access)),
        Command::ForAnotherBot | Command::Blank => Decision::nothing(),
        Command::Unknown(name) => Decision::reply(replies::unknown_command(name)),
        Command::BadUsage(error) => Decision::reply(replies::usage(error)),
    }
}

/// In a group, what changes which sessions the group has or uses is for the bot's admins:
/// one member cannot archive, switch or replace the conversation of everyone else. Asked also
/// before an import file is fetched.
pub fn may_change_sessions(in_group: bool, is_admin: bool) -> bool {
    !in_group || is_admin
}

fn changes_group_sessions(input: &Input) -> bool {
    match input {
        Input::Import(_) | Input::Restore { .. } => true,
        Input::Command(command) => matches!(
            command,
            Command::NewSession
                | Command::Switch(_)
                | Command::Archive(_)
                | Command::Rename(..)
                | Command::Delete { .. }
                | Command::Restore(_)
                | Command::Persona(Some(_))
                | Command::Model(Some(_))
        ),
        Input::Unsupported(_) | Input::Photo { .. } | Input::Voice(_) => false,
    }
}

/// Whether a command acts on the bot-level stream (access) rather than the sender's own.
pub fn is_access_command(input: &Input) -> bool {
    matches!(
        input,
        Input::Command(Command::Allow(_) | Command::Deny(_) | Command::Users)
    )
}

fn allow(state: &UserState, who: &Who, ctx: &Context) -> Decision {
    if state.access.granted.contains(who) {
        return Decision::reply(replies::access_granted(who, true));
    }
    Decision {
        events: vec![Event::AccessGranted {
            who: who.clone(),
            by: ctx.sender_id,
        }],
        replies: vec![Reply::text(replies::access_granted(who, false))],
    }
}

fn deny(state: &UserState, who: &Who, ctx: &Context) -> Decision {
    if ctx.access.admins.contains(who) {
        return Decision::reply(replies::admin_cannot_be_denied(who));
    }
    if state.access.revoked.contains(who) {
        return Decision::reply(replies::access_revoked(who, true));
    }
    Decision {
        events: vec![Event::AccessRevoked {
            who: who.clone(),
            by: ctx.sender_id,
        }],
        replies: vec![Reply::text(replies::access_revoked(who, false))],
    }
}

/// The events that open a new active session.
fn open_session(state: &UserState, ctx: &Context) -> Vec<Event> {
    let model_name = state
        .active_session()
        .map_or_else(|| ctx.default_model.to_string(), |s| s.model_name.clone());
    open_session_with(model_name, ctx)
}

fn open_session_with(model_name: String, ctx: &Context) -> Vec<Event> {
    let session_id = derived_session_id(ctx.user_id, ctx.update_id, "session");
    vec![
        Event::SessionCreated {
            session_id,
            model_name,
            chat_id: ctx.chat_id,
            created_at: ctx.date,
        },
        Event::Switched { session_id },
    ]
}

fn start(state: &UserState, ctx: &Context) -> Decision {
    let first = state.sessions.is_empty() && state.archives.is_empty();
    let mut greeting = replies::greeting(ctx.first_name, first);
    if let Some(warning) = missing_model_warning(state, ctx) {
        greeting = format!("{greeting}\n\n{warning}");
    }
    Decision {
        events: if first {
            open_session(state, ctx)
        } else {
            Vec::new()
        },
        replies: vec![Reply::text(greeting)],
    }
}

/// One line for the greeting when the model the next chat message goes to is not installed
/// (nothing when the backend is absent or down: /status says that).
fn missing_model_warning(state: &UserState, ctx: &Context) -> Option<String> {
    let facts = match ctx.backend {
        Some(BackendStatus {
            facts: Ok(facts), ..
        }) if ctx.answering => facts,
        _ => return None,
    };
    if facts.models.is_empty() {
        return Some(replies::no_models_installed());
    }
    let model = state
        .active_session()
        .map_or(ctx.default_model, |s| s.model_name.as_str());
    super::backend::resolve_model(&facts.models, model)
        .is_none()
        .then(|| replies::model_not_installed(model))
}

fn new_session(state: &UserState, ctx: &Context) -> Decision {
    if state.sessions.len() >= MAX_LIVE_SESSIONS {
        return Decision::reply(replies::too_many_sessions(MAX_LIVE_SESSIONS));
    }
    let events = open_session(state, ctx);
    let model = match &events[0] {
        Event::SessionCreated { model_name, .. } => model_name.clone(),
        _ => unreachable!("open_session starts with SessionCreated"),
    };
    Decision {
        events,
        replies: vec![Reply::text(replies::session_created(
            state.sessions.len() + 1,
            &model,
        ))],
    }
}

fn switch(state: &UserState, number: usize) -> Decision {
    let Some(session) = state.session_numbered(number) else {
        return Decision::reply(replies::no_such_session(number, state.sessions.len()));
    };
    if state.active == Some(session.session_id) {
        return Decision::reply(replies::already_active(number));
    }
    Decision {
        events: vec![Event::Switched {
            session_id: session.session_id,
        }],
        replies: vec![Reply::text(replies::switched(number, session))],
    }
}

fn history(state: &UserState, ctx: &Context) -> Decision {
    match state.active_session() {
        None => Decision::reply(replies::no_active_session()),
        Some(session) => Decision::reply(replies::history(
            state.session_number(session.session_id).unwrap_or(0),
            session.message_count,
            ctx.recent_messages,
        )),
    }
}

/// `/retry`: the active session's last message is answered again. If the model answered it
/// already, the new answer takes that answer's place; nothing is stored until it is complete.
fn retry(state: &UserState, ctx: &Context) -> Decision {
    if !ctx.answering {
        return Decision::reply(replies::nothing_to_answer_with());
    }
    let Some(session) = state.active_session() else {
        return Decision::reply(replies::no_active_session());
    };
    let number = state.session_number(session.session_id).unwrap_or(0);
    let replaces = match ctx.recent_messages {
        [.., last] if last.role == Role::User => None,
        [.., asked, last] if asked.role == Role::User && last.role == Role::Assistant => {
            Some(session.message_count)
        }
        _ => return Decision::reply(replies::nothing_to_retry(number)),
    };
    Decision {
        events: Vec::new(),
        replies: vec![Reply::Answer {
            session_id: session.session_id,
            model: session.model_name.clone(),
            replaces,
            persona: session.persona.clone(),
        }],
    }
}

/// `/persona`: the active session's system prompt and the presets; `/persona <argument>` sets it.
fn persona(state: &UserState, argument: Option<&str>, ctx: &Context) -> Decision {
    let Some(session) = state.active_session() else {
        return Decision::reply(replies::no_active_session());
    };
    let number = state.session_number(session.session_id).unwrap_or(0);
    let Some(argument) = argument else {
        return Decision::reply(replies::persona_shown(
            number,
            &session.persona,
            ctx.system_prompt,
        ));
    };
    let persona = match parse_persona(argument) {
        Ok(persona) => persona,
        Err(PersonaProblem::TooLong { chars }) => {
            return Decision::reply(replies::persona_too_long(chars));
        }
    };
    let reply = replies::persona_set(number, &persona);
    if persona == session.persona {
        return Decision::reply(reply);
    }
    Decision {
        events: vec![Event::PersonaSet {
            session_id: session.session_id,
            persona,
        }],
        replies: vec![Reply::text(reply)],
    }
}

/// `/delete <n>`: what would go, and how to confirm; `/delete <n> confirm`: session n leaves
/// the live table for good.
fn delete(state: &UserState, number: usize, confirmed: bool) -> Decision {
    let Some(session) = state.session_numbered(number) else {
        return Decision::reply(replies::no_such_session(number, state.sessions.len()));
    };
    if !confirmed {
        return Decision::reply(replies::delete_asked(number, session));
    }
    Decision {
        events: vec![Event::SessionDeleted {
            session_id: session.session_id,
        }],
        replies: vec![Reply::text(replies::deleted(
            number,
            session,
            number < state.sessions.len(),
        ))],
    }
}

/// `/restore <n>`: archive n opens again as a new live session, which becomes active; its
/// messages are appended after the decision (see `restore`). The archive stays.
fn restore(state: &UserState, number: usize, read: &RestoreRead, ctx: &Context) -> Decision {
    let Some(archive) = state.archive_numbered(number) else {
        return Decision::reply(replies::no_such_archive(number, state.archives.len()));
    };
    if state.sessions.len() >= MAX_LIVE_SESSIONS {
        return Decision::reply(replies::too_many_sessions(MAX_LIVE_SESSIONS));
    }
    let (messages, persona) = match read {
        RestoreRead::Readable { messages, persona } => (*messages, *persona),
        RestoreRead::Unreadable(reason) => {
            return Decision::reply(replies::restore_refused(number, reason));
        }
        RestoreRead::NotRead => {
            return Decision::reply(replies::restore_refused(number, "it was not read"));
        }
    };
    let session_id = derived_session_id(ctx.user_id, ctx.update_id, "restore");
    Decision {
        events: vec![
            Event::SessionRestored {
                session_id,
                s3_key: archive.s3_key.clone(),
                model_name: archive.model_name.clone(),
                chat_id: ctx.chat_id,
                created_at: ctx.date,
                title: archive.title.clone(),
            },
            Event::Switched { session_id },
        ],
        replies: vec![Reply::text(replies::restored(
            number,
            archive,
            state.sessions.len() + 1,
            messages,
            persona,
        ))],
    }
}

/// `/rename <n> <title>`: session n's title, as given.
fn rename(state: &UserState, number: usize, title: &str) -> Decision {
    let Some(session) = state.session_numbered(number) else {
        return Decision::reply(replies::no_such_session(number, state.sessions.len()));
    };
    let title = match check_title(title) {
        Ok(title) => title,
        Err(TitleProblem::TooLong { chars }) => {
            return Decision::reply(replies::title_too_long(chars));
        }
        Err(TitleProblem::Empty) => {
            return Decision::reply(replies::usage(&UsageError {
                command: "rename",
                problem: UsageProblem::MissingText,
            }));
        }
    };
    if session.title.as_deref() == Some(title.as_str()) {
        return Decision::reply(replies::renamed(number, &title));
    }
    Decision {
        events: vec![Event::SessionTitled {
            session_id: session.session_id,
            title: title.clone(),
        }],
        replies: vec![Reply::text(replies::renamed(number, &title))],
    }
}

fn archive(state: &UserState, number: usize, ctx: &Context) -> Decision {
    let Some(session) = state.session_numbered(number) else {
        return Decision::reply(replies::no_such_session(number, state.sessions.len()));
    };
    if state.archives.len() >= MAX_ARCHIVES {
        return Decision::reply(replies::too_many_archives(MAX_ARCHIVES));
    }
    Decision {
        events: vec![Event::Archived {
            session_id: session.session_id,
            s3_key: archive_key(ctx.user_id, session.session_id),
            archived_at: super::time::rfc3339(ctx.date),
        }],
        replies: vec![Reply::text(replies::archived(
            number,
            session,
            state.archives.len() + 1,
            number < state.sessions.len(),
        ))],
    }
}

fn export(state: &UserState, number: usize) -> Decision {
    let Some(archive) = state.archive_numbered(number) else {
        return Decision::reply(replies::no_such_archive(number, state.archives.len()));
    };
    Decision {
        events: Vec::new(),
        replies: vec![Reply::ArchiveFile {
            s3_key: archive.s3_key.clone(),
            file_name: format!(
                "{}-{}.json",
                archive.model_name.replace(['/', ':'], "_"),
                archive.session_id
            ),
            caption: replies::export_caption(number, archive),
        }],
    }
}

fn chat(state: &UserState, text: &str, ctx: &Context) -> Decision {
    let mut events = Vec::new();
    let session_id = match state.active {
        Some(id) => id,
        None => {
            if state.sessions.len() >= MAX_LIVE_SESSIONS {
                return Decision::reply(replies::no_active_session());
            }
            events = open_session(state, ctx);
            derived_session_id(ctx.user_id, ctx.update_id, "session")
        }
    };
    let number = state
        .session_number(session_id)
        .unwrap_or(state.sessions.len() + 1);
    let model = match &events.first() {
        Some(Event::SessionCreated { model_name, .. }) => model_name.clone(),
        _ => state
            .sessions
            .iter()
            .find(|s| s.session_id == session_id)
            .map_or_else(|| ctx.default_model.to_string(), |s| s.model_name.clone()),
    };
    // In a group, the model sees who said what.
    let content = if ctx.in_group {
        format!("{}: {text}", display_name(ctx.first_name))
    } else {
        text.to_string()
    };
    events.push(Event::MessagePosted {
        session_id,
        role: Role::User,
        content,
        ts: ctx.date,
        usage: None,
        image: None,
    });
    events.extend(title_if_untitled(state, session_id, text));
    let reply = if ctx.answering {
        Reply::Answer {
            session_id,
            model,
            replaces: None,
            persona: state
                .session(session_id)
                .map(|s| s.persona.clone())
                .unwrap_or_default(),
        }
    } else {
        Reply::text(replies::chat_saved(number))
    };
    Decision {
        events,
        replies: vec![reply],
    }
}

/// A session with no title yet takes one from its first message.
fn title_if_untitled(state: &UserState, session_id: Uuid, text: &str) -> Option<Event> {
    let untitled = state
        .session(session_id)
        .is_none_or(|session| session.title.is_none());
    untitled
        .then(|| title_from(text))
        .flatten()
        .map(|title| Event::SessionTitled { session_id, title })
}

/// A photo: its caption is the message (the event keeps the photo's `file_id`, which goes to a
/// model that sees photos); a model that does not gets the caption alone, and the answer comes
/// after a one-line note saying so. Without a caption, a model that sees photos is asked to
/// describe it; for one that does not there is nothing to answer, and nothing is stored.
fn photo(state: &UserState, caption: Option<&str>, image: &ImageRef, ctx: &Context) -> Decision {
    let caption = match caption {
        Some(caption) => caption,
        // What people mean by a bare photo to a bot that sees it; stored as their message.
        None if ctx.sees_photos => replies::DESCRIBE_PHOTO,
        None => return Decision::reply(replies::photo_without_caption()),
    };
    let mut decision = chat(state, caption, ctx);
    for event in &mut decision.events {
        if let Event::MessagePosted { image: kept, .. } = event {
            *kept = Some(image.clone());
        }
    }
    if !ctx.sees_photos && matches!(decision.replies.first(), Some(Reply::Answer { .. })) {
        decision
            .replies
            .insert(0, Reply::text(replies::photo_not_seen()));
    }
    decision
}

/// A voice message: its words are a chat message, shown back first (so a mishearing is seen);
/// when it could not be heard, a reply says why, and nothing is stored.
fn voice(state: &UserState, heard: &Heard, ctx: &Context) -> Decision {
    let words = match heard {
        Heard::Words(words) => words,
        Heard::NoTranscriber => return Decision::reply(replies::voice_not_heard()),
        Heard::TooLong => return Decision::reply(replies::voice_too_long()),
        Heard::Failed => return Decision::reply(replies::voice_failed()),
        Heard::Silence => return Decision::reply(replies::voice_silent()),
    };
    let mut decision = chat(state, words, ctx);
    if decision
        .events
        .iter()
        .any(|e| matches!(e, Event::MessagePosted { .. }))
    {
        decision
            .replies
            .insert(0, Reply::text(replies::heard(words)));
    }
    decision
}

fn display_name(first_name: &str) -> &str {
    match first_name.trim() {
        "" => "Someone",
        name => name,
    }
}

/// `/model`: the backend's models; `/model <name>`: the latest live session for that model
/// becomes active, or a new one is opened for it.
fn model(state: &UserState, name: Option<&str>, ctx: &Context) -> Decision {
    let current = state.active_session().map(|s| s.model_name.as_str());
    let backend = match ctx.backend {
        Some(backend) if ctx.answering => backend,
        _ => return Decision::reply(replies::no_backend()),
    };
    let facts = match &backend.facts {
        Ok(facts) => facts,
        Err(_) => return Decision::reply(replies::backend_down(&backend.kind)),
    };
    let Some(name) = name else {
        return Decision::reply(replies::model_list(
            &facts.models,
            current.unwrap_or(ctx.default_model),
        ));
    };
    let Some(model) = super::backend::resolve_model(&facts.models, name) else {
        return Decision::reply(replies::unknown_model(name, &facts.models));
    };
    // A session's model as the backend names it: "llama3" (DEFAULT_MODEL) is "llama3:latest".
    let is_model = |name: &str| super::backend::resolve_model(&facts.models, name) == Some(model);
    if let Some(active) = state.active_session().filter(|s| is_model(&s.model_name)) {
        // Its model may have been installed since the last message went unanswered.
        return match unanswered(ctx) {
            Some(_) => Decision {
                events: Vec::new(),
                replies: vec![
                    Reply::text(replies::model_already_answering(model)),
                    Reply::Answer {
                        session_id: active.session_id,
                        model: model.clone(),
                        replaces: None,
                        persona: active.persona.clone(),
                    },
                ],
            },
            None => Decision::reply(replies::model_already(model)),
        };
    }
    let existing = state
        .sessions
        .iter()
        .enumerate()
        .filter(|(_, s)| is_model(&s.model_name))
        .max_by_key(|(_, s)| s.last_message_ts);
    let mut decision = if let Some((index, session)) = existing {
        Decision {
            events: vec![Event::Switched {
                session_id: session.session_id,
            }],
            replies: vec![Reply::text(replies::model_switched(index + 1, session))],
        }
    } else if state.sessions.len() >= MAX_LIVE_SESSIONS {
        return Decision::reply(replies::too_many_sessions(MAX_LIVE_SESSIONS));
    } else {
        Decision {
            events: open_session_with(model.clone(), ctx),
            replies: vec![Reply::text(replies::session_created(
                state.sessions.len() + 1,
                model,
            ))],
        }
    };
    carry_unanswered(state, &mut decision, model, ctx);
    decision
}

/// The active session's last message, when the model never answered it.
fn unanswered<'a>(ctx: &Context<'a>) -> Option<&'a ChatMessage> {
    ctx.recent_messages.last().filter(|m| m.role == Role::User)
}

/// A last message the model never answered (its model was missing, the backend down) goes
/// along to the session `/model` chose, and is answered there instead of being left behind.
fn carry_unanswered(state: &UserState, decision: &mut Decision, model: &str, ctx: &Context) {
    let Some(last) = unanswered(ctx) else {
        return;
    };
    // The session the decision makes active, opened or existing.
    let Some(session_id) = decision.events.iter().find_map(|e| match e {
        Event::Switched { session_id } => Some(*session_id),
        _ => None,
    }) else {
        return;
    };
    decision.events.push(Event::MessagePosted {
        session_id,
        role: Role::User,
        content: last.content.clone(),
        ts: ctx.date,
        usage: None,
        image: None,
    });
    decision
        .events
        .extend(title_if_untitled(state, session_id, &last.content));
    if let Some(Reply::Text { text }) = decision.replies.first_mut() {
        text.push('\n');
        text.push_str(&replies::carried_along(model));
    }
    decision.replies.push(Reply::Answer {
        session_id,
        model: model.to_string(),
        replaces: None,
        persona: state
            .session(session_id)
            .map(|s| s.persona.clone())
            .unwrap_or_default(),
    });
}

fn import(state: &UserState, stored: &StoredImport) -> Decision {
    if let Some(refusal) = import_refusal(state) {
        return Decision::reply(replies::import_rejected(&refusal.to_string()));
    }
    let summary = ArchiveSummary {
        session_id: stored.session_id,
        model_name: stored.model_name.clone(),
        s3_key: stored.s3_key.clone(),
        archived_at: stored.imported_at.clone(),
        message_count: stored.message_count,
        last_message_ts: stored.last_message_ts,
        imported: true,
        title: stored.title.clone(),
    };
    Decision {
        events: vec![Event::ArchiveImported {
            session_id: stored.session_id,
            model_name: stored.model_name.clone(),
            message_count: stored.message_count,
            last_message_ts: stored.last_message_ts,
            s3_key: stored.s3_key.clone(),
            imported_at: stored.imported_at.clone(),
            title: stored.title.clone(),
        }],
        replies: vec![Reply::text(replies::imported(
            state.archives.len() + 1,
            &summary,
        ))],
    }
}
