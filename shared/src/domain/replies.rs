//! The texts users read. Plain text (no parse mode), so nothing a user typed can break markup.

use chrono::{DateTime, Utc};

use super::access::{AccessChanges, AccessPolicy, Allowed, Who};
use super::backend::{AnswerFailure, BackendStatus};
use super::command::{UsageError, UsageProblem};
use super::events::{ChatMessage, Role};
use super::persona::{MAX_PERSONA_CHARS, PRESETS, Persona};
use super::state::{ArchiveSummary, SessionSummary, UserState};
use super::title::MAX_TITLE_CHARS;
use super::voice::{MAX_VOICE_BYTES, MAX_VOICE_SECONDS};

/// How much of each message `/history` shows.
pub const HISTORY_PREVIEW_CHARS: usize = 500;

/// Every command a user has, grouped by what they want to do (from the command table).
pub fn help() -> String {
    use super::command::table::{Section, in_section};
    let sections = [
        (
            Section::Chat,
            "Chat",
            Some("Any text goes into your active session, and its model answers."),
            None,
        ),
        (Section::Sessions, "Sessions", None, None),
        (
            Section::Archives,
            "Archives",
            None,
            Some("Send such a file to import it."),
        ),
        (Section::More, "More", None, None),
    ];
    sections
        .into_iter()
        .map(|(section, title, intro, outro)| {
            let lines = std::iter::once(title.to_string())
                .chain(intro.map(str::to_string))
                .chain(in_section(section).map(|c| c.help_line()))
                .chain(outro.map(str::to_string));
            lines.collect::<Vec<_>>().join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

pub fn greeting(first_name: &str, created_first_session: bool) -> String {
    let name = if first_name.trim().is_empty() {
        "there"
    } else {
        first_name.trim()
    };
    let session = if created_first_session {
        "I opened your first session.\n\n"
    } else {
        ""
    };
    format!(
        "Hello, {name}! I'm cloud-ai: chat with an AI model, and keep each conversation as a session you can come back to, archive and export.\n\n{session}To begin:\n• write anything, and the model answers\n• /newsession starts a fresh conversation\n• /listsessions shows your sessions\n\n/help lists the rest."
    )
}

pub fn time(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0).map_or_else(
        || ts.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

fn messages(count: u64) -> String {
    if count == 1 {
        "1 message".to_string()
    } else {
        format!("{count} messages")
    }
}

/// `"title" · ` before a line's model, when there is a title.
fn titled(title: Option<&str>) -> String {
    title.map_or_else(String::new, |t| format!("\"{t}\" · "))
}

/// ` "title"` after a session's number in a sentence, when there is a title.
fn called(title: Option<&str>) -> String {
    title.map_or_else(String::new, |t| format!(" \"{t}\""))
}

fn session_line(number: usize, session: &SessionSummary, active: bool) -> String {
    format!(
        "{number}. {}{}{} · {} · last {}{}",
        titled(session.title.as_deref()),
        session.model_name,
        persona_tag(&session.persona),
        messages(session.message_count),
        time(session.last_message_ts),
        if active { " ← active" } else { "" }
    )
}

/// An archive's stored time (RFC 3339) in the replies' one format; other text as it is.
fn archive_time(archived_at: &str) -> String {
    DateTime::parse_from_rfc3339(archived_at)
        .map_or_else(|_| archived_at.to_string(), |t| time(t.timestamp()))
}

fn archive_line(number: usize, archive: &ArchiveSummary) -> String {
    format!(
        "{number}. {}{} · {} · {} {}",
        titled(archive.title.as_deref()),
        archive.model_name,
        messages(archive.message_count),
        if archive.imported {
            "imported"
        } else {
            "archived"
        },
        archive_time(&archive.archived_at)
    )
}

/// The live sessions, one numbered line each (the numbers `/switch` and `/archive` take).
fn numbered_sessions(state: &UserState) -> String {
    let lines: Vec<String> = state
        .sessions
        .iter()
        .enumerate()
        .map(|(i, s)| session_line(i + 1, s, state.active == Some(s.session_id)))
        .collect();
    lines.join("\n")
}

pub fn session_list(state: &UserState) -> String {
    if state.sessions.is_empty() && !state.archives.is_empty() {
        let where_they_are = match state.archives.len() {
            1 => "your archived one is in /listarchives".to_string(),
            n => format!("your {n} archived ones are in /listarchives"),
        };
        return format!(
            "You have no live sessions; {where_they_are}. Send a message or /newsession to start a new one."
        );
    }
    if state.sessions.is_empty() {
        return no_sessions();
    }
    format!(
        "Your sessions:\n{}\n\nSwitch with /switch <number>.",
        numbered_sessions(state)
    )
}

pub fn archive_menu(state: &UserState) -> String {
    if state.sessions.is_empty() {
        return "You have no live sessions to archive.".to_string();
    }
    format!(
        "Sessions you can archive:\n{}\n\nArchive one with /archive <number>.",
        numbered_sessions(state)
    )
}

pub fn archive_list(state: &UserState) -> String {
    if state.archives.is_empty() {
        return no_archives();
    }
    let lines: Vec<String> = state
        .archives
        .iter()
        .enumerate()
        .map(|(i, a)| archive_line(i + 1, a))
        .collect();
    format!(
        "Your archives:\n{}\n\nGet one as a file with /export <number>.",
        lines.join("\n")
    )
}

pub fn no_sessions() -> String {
    "You have no sessions yet. Send a message or /newsession to start one.".to_string()
}

pub fn no_archives() -> String {
    "You have no archives yet. Archive a session with /archive <number>, or send me an archive JSON file to import it.".to_string()
}

pub fn no_active_session() -> String {
    "No session is active. Pick one with /switch <number> (see /listsessions) or start one with /newsession.".to_string()
}

pub fn no_such_session(number: usize, count: usize) -> String {
    let shown = shown_number(number);
    match count {
        0 => no_sessions(),
        1 => format!("There is no session {shown}: you have 1 session. /listsessions shows it."),
        _ => format!(
            "There is no session {shown}: you have {count} sessions, numbered 1 to {count}. /listsessions shows them."
        ),
    }
}

pub fn no_such_archive(number: usize, count: usize) -> String {
    let shown = shown_number(number);
    match count {
        0 => no_archives(),
        1 => format!("There is no archive {shown}: you have 1 archive. /listarchives shows it."),
        _ => format!(
            "There is no archive {shown}: you have {count} archives, numbered 1 to {count}. /listarchives shows them."
        ),
    }
}

fn shown_number(number: usize) -> String {
    if number == usize::MAX {
        "that large".to_string()
    } else {
        number.to_string()
    }
}

pub fn session_created(number: usize, model: &str) -> String {
    format!("Started session {number} ({model}). It is now active.")
}

pub fn switched(number: usize, session: &SessionSummary) -> String {
    format!(
        "Switched to session {number}{} ({}, {}).",
        called(session.title.as_deref()),
        session.model_name,
        messages(session.message_count)
    )
}

pub fn already_active(number: usize) -> String {
    format!("Session {number} is already active.")
}

pub fn archived(
    number: usize,
    session: &SessionSummary,
    archive_number: usize,
    renumbered: bool,
) -> String {
    let later = if renumbered {
        " The sessions after it moved up one number."
    } else {
        ""
    };
    format!(
        "Archived session {number}{} ({}, {}). It is archive {archive_number} in /listarchives.{later}",
        called(session.title.as_deref()),
        session.model_name,
        messages(session.message_count)
    )
}

pub fn delete_asked(number: usize, session: &SessionSummary) -> String {
    format!(
        "Delete session {number}{} ({}, {}) for good? Its messages leave your sessions and cannot be brought back with a command (/archive {number} keeps them instead). To delete it, send /delete {number} confirm",
        called(session.title.as_deref()),
        session.model_name,
        messages(session.message_count)
    )
}

pub fn deleted(number: usize, session: &SessionSummary, renumbered: bool) -> String {
    let later = if renumbered {
        " The sessions after it moved up one number."
    } else {
        ""
    };
    format!(
        "Deleted session {number}{} ({}, {}).{later}",
        called(session.title.as_deref()),
        session.model_name,
        messages(session.message_count)
    )
}

pub fn restored(
    archive_number: usize,
    archive: &ArchiveSummary,
    session_number: usize,
    messages_restored: u64,
    persona: bool,
) -> String {
    let persona = if persona { ", with its persona" } else { "" };
    format!(
        "Restored archive {archive_number}{} as session {session_number} ({}, {}{persona}). It is now active; the archive stays in /listarchives.",
        called(archive.title.as_deref()),
        archive.model_name,
        messages(messages_restored)
    )
}

pub fn restore_refused(archive_number: usize, reason: &str) -> String {
    format!("I couldn't restore archive {archive_number}: {reason}. Nothing was changed.")
}

pub fn history(number: usize, total: u64, recent: &[ChatMessage]) -> String {
    if recent.is_empty() {
        return format!("Session {number} has no messages yet.");
    }
    let lines: Vec<String> = recent
        .iter()
        .map(|m| {
            let who = match m.role {
                Role::User => "You",
                Role::Assistant => "Assistant",
                Role::System => "System",
            };
            let mut content: String = m.content.chars().take(HISTORY_PREVIEW_CHARS).collect();
            if m.content.chars().count() > HISTORY_PREVIEW_CHARS {
                content.push('…');
            }
            format!("[{}] {who}: {content}", time(m.ts))
        })
        .collect();
    format!(
        "Last {} of {} in session {number}:\n\n{}",
        recent.len(),
        messages(total),
        lines.join("\n\n")
    )
}

pub fn chat_saved(number: usize) -> String {
    format!(
        "Saved to session {number}. No model backend is configured yet, so there is no AI reply; /status says more."
    )
}

/// The active session as `/status` shows it.
fn active_session_line(state: &UserState) -> String {
    match state.active_session() {
        Some(s) => format!(
            "Active session: {} of {}{} ({}, {}).\n{}",
            state.session_number(s.session_id).unwrap_or(0),
            state.sessions.len(),
            called(s.title.as_deref()),
            s.model_name,
            messages(s.message_count),
            persona_line(&s.persona)
        ),
        None => format!("No active session ({} live).", state.sessions.len()),
    }
}

pub fn status(state: &UserState) -> String {
    let active = active_session_line(state);
    format!(
        "Model backend: not configured. Your messages are stored, but no AI model answers them yet.\n{active}\nArchives: {}.",
        state.archives.len()
    )
}

/// What the answering model does with photos and voice, for `/status`.
pub struct Media<'a> {
    /// The model that answers the active session (or a new one).
    pub model: &'a str,
    pub sees_photos: bool,
    pub hears_voice: bool,
}

/// `/status` with a model backend.
pub fn status_with_backend(state: &UserState, backend: &BackendStatus, media: &Media) -> String {
    let backend_line = match &backend.facts {
        Ok(facts) => {
            let version = facts
                .version
                .as_ref()
                .map_or_else(String::new, |v| format!(" {v}"));
            let models = if facts.models.is_empty() {
                "none installed".to_string()
            } else {
                facts.models.join(", ")
            };
            let photos = if media.sees_photos {
                format!("Photos: {} sees them.", media.model)
            } else {
                format!(
                    "Photos: {} answers their captions only (it can't see them).",
                    media.model
                )
            };
            let voice = if media.hears_voice {
                "Voice messages: transcribed and answered."
            } else {
                "Voice messages: no transcription service is configured."
            };
            format!(
                "Model backend: {}{version}, answering.\nModels: {models}.\n{photos}\n{voice}",
                backend.kind
            )
        }
        // The reason (an address, a library's error) is for the log, not the chat.
        Err(_) => format!(
            "Model backend: {} is not answering right now. Your messages are still saved.",
            backend.kind
        ),
    };
    let active = active_session_line(state);
    format!(
        "{backend_line}\n{active}\nArchives: {}.",
        state.archives.len()
    )
}

/// `/persona` alone: what the session's model is told, and what else there is.
pub fn persona_shown(number: usize, persona: &Persona, bot_default: Option<&str>) -> String {
    let current = match persona {
        Persona::Default => match bot_default {
            Some(prompt) => format!(
                "Session {number} uses the bot's default system prompt: \"{}\"",
                preview(prompt, 300)
            ),
            None => {
                format!("Session {number} uses the bot's default system prompt (the bot has none).")
            }
        },
        Persona::Off => format!("Session {number} has no system prompt."),
        Persona::Custom {
            preset: Some(name), ..
        } => format!("Session {number} answers as the {name} preset."),
        Persona::Custom { prompt, .. } => format!(
            "Session {number} has your own system prompt: \"{}\"",
            preview(prompt, 300)
        ),
    };
    let presets: Vec<String> = PRESETS
        .iter()
        .map(|p| format!("• {} — {}", p.name, p.summary))
        .collect();
    format!(
        "{current}\n\nPresets:\n{}\n\n/persona <preset> or /persona <your own text> sets it for this session; /persona off for none, /persona default for the bot's.",
        presets.join("\n")
    )
}

pub fn persona_set(number: usize, persona: &Persona) -> String {
    match persona {
        Persona::Default => format!("Session {number} is back to the bot's default system prompt."),
        Persona::Off => format!("Session {number} now has no system prompt."),
        Persona::Custom {
            preset: Some(name), ..
        } => format!("Session {number} now answers as the {name} preset."),
        Persona::Custom { prompt, .. } => format!(
            "Session {number} now has your own system prompt ({} characters).",
            prompt.chars().count()
        ),
    }
}

pub fn persona_too_long(chars: usize) -> String {
    format!("A system prompt may be at most {MAX_PERSONA_CHARS} characters; that one has {chars}.")
}

/// A persona in a session's line (nothing for the default).
fn persona_tag(persona: &Persona) -> String {
    match persona {
        Persona::Default => String::new(),
        Persona::Off => " · no persona".to_string(),
        Persona::Custom {
            preset: Some(name), ..
        } => format!(" · persona {name}"),
        Persona::Custom { .. } => " · own persona".to_string(),
    }
}

/// A persona in `/status`.
fn persona_line(persona: &Persona) -> String {
    match persona {
        Persona::Default => "Persona: the bot's default.".to_string(),
        Persona::Off => "Persona: none.".to_string(),
        Persona::Custom {
            preset: Some(name), ..
        } => format!("Persona: the {name} preset."),
        Persona::Custom { prompt, .. } => {
            format!("Persona: your own: \"{}\"", preview(prompt, 100))
        }
    }
}

/// Text on one line, cut at `chars` with "…".
fn preview(text: &str, chars: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= chars {
        return line;
    }
    let cut: String = line.chars().take(chars).collect();
    format!("{cut}…")
}

pub fn renamed(number: usize, title: &str) -> String {
    format!("Session {number} is now called \"{title}\".")
}

pub fn title_too_long(chars: usize) -> String {
    format!(
        "A title may be at most {MAX_TITLE_CHARS} characters; that one has {chars}. Usage: /rename <number> <title>"
    )
}

pub fn photo_without_caption() -> String {
    "This model can't see photos, so there is nothing to answer. Send the photo again with a caption and the model answers the caption, or pick a model that sees photos with /model.".to_string()
}

pub fn photo_not_seen() -> String {
    "🖼 This model can't see photos, so it answers your caption.".to_string()
}

/// What a voice message was heard to say, shown before the answer.
pub fn heard(words: &str) -> String {
    format!("🎙 \u{201c}{}\u{201d}", preview(words, 300))
}

pub fn voice_not_heard() -> String {
    "I can't listen to voice messages here: no transcription service is configured. Please type it."
        .to_string()
}

pub fn voice_too_long() -> String {
    format!(
        "That voice message is too long for me: I transcribe up to {} minutes ({} MB). Please send a shorter one, or type it.",
        MAX_VOICE_SECONDS / 60,
        MAX_VOICE_BYTES / 1_000_000
    )
}

pub fn voice_failed() -> String {
    "I couldn't transcribe that voice message just now, and nothing was stored. Send it again to try once more, or type it.".to_string()
}

pub fn voice_silent() -> String {
    "I heard no words in that voice message, so nothing was stored.".to_string()
}

/// The message a photo without a caption stands for, for a model that sees it.
pub const DESCRIBE_PHOTO: &str = "Describe this photo.";

pub fn nothing_to_answer_with() -> String {
    "No model backend is configured, so there is nothing to answer with.".to_string()
}

pub fn nothing_to_retry(number: usize) -> String {
    format!("Session {number} has no message to answer yet: send one first.")
}

pub fn no_backend() -> String {
    "No model backend is configured, so there are no models to choose from.".to_string()
}

pub fn backend_down(kind: &str) -> String {
    format!(
        "The model backend ({kind}) is not answering right now. Send the command again in a few minutes; /status tells when it answers."
    )
}

pub fn model_list(models: &[String], current: &str) -> String {
    if models.is_empty() {
        return "The model backend has no models installed yet (with Ollama: ollama pull llama3)."
            .to_string();
    }
    let lines: Vec<String> = models
        .iter()
        .map(|m| {
            let marker = if m == current || m.strip_suffix(":latest") == Some(current) {
                " (current)"
            } else {
                ""
            };
            format!("• {m}{marker}")
        })
        .collect();
    format!(
        "Models:\n{}\n\nUse /model <name> to chat with one.",
        lines.join("\n")
    )
}

pub fn unknown_model(name: &str, models: &[String]) -> String {
    let available = if models.is_empty() {
        "none".to_string()
    } else {
        models.join(", ")
    };
    // A name is short; anything longer is not echoed back whole.
    let shown: String = name.chars().take(64).collect();
    let cut = if shown.len() < name.len() { "…" } else { "" };
    format!("The model backend has no model \"{shown}{cut}\". Available: {available}.")
}

/// The greeting's line when the model the next message goes to is missing.
pub fn model_not_installed(model: &str) -> String {
    format!(
        "⚠️ The model {model} is not installed on the model backend: /model shows the ones that are."
    )
}

/// The greeting's line when the backend has no model at all.
pub fn no_models_installed() -> String {
    "⚠️ The model backend has no models installed yet, so I cannot answer.".to_string()
}

/// Under `/model <name>`'s reply when the last message had no answer.
pub fn carried_along(model: &str) -> String {
    format!("Your last message goes along: {model} answers it now.")
}

/// `/model <name>` for the active session's own model, whose last message had no answer.
pub fn model_already_answering(model: &str) -> String {
    format!("{} It answers your last message now.", model_already(model))
}

pub fn model_already(model: &str) -> String {
    format!("Your active session already uses {model}.")
}

pub fn model_switched(number: usize, session: &SessionSummary) -> String {
    format!(
        "Switched to session {number}, your latest with {} ({}).",
        session.model_name,
        messages(session.message_count)
    )
}

/// Why an answer stopped; shown under what the model wrote so far.
pub fn answer_failed(reason: &AnswerFailure) -> String {
    let why = match reason {
        AnswerFailure::Unreachable => "The model backend cannot be reached right now.".to_string(),
        AnswerFailure::UnknownModel { model, installed } => {
            return format!("⚠️ {}", missing_model(model, installed.as_deref()));
        }
        AnswerFailure::Backend(detail) => format!("The model failed: {detail}."),
        AnswerFailure::Stalled => "The model stopped sending text.".to_string(),
        AnswerFailure::OutOfTime => "The answer took longer than the bot may wait.".to_string(),
        AnswerFailure::NotStarted(seconds) => {
            format!("The model did not start answering within {seconds} s.")
        }
        AnswerFailure::Refused => "Telegram refused the rest of the answer.".to_string(),
    };
    format!("⚠️ {why} Your message is saved in the session; /retry answers it.")
}

/// A chat message's model is missing: what there is instead, and that `/model` answers it.
fn missing_model(model: &str, installed: Option<&[String]>) -> String {
    match installed {
        Some([]) => "The model backend has no models installed yet. Your message is saved in the session; once one is, /model <name> answers it.".to_string(),
        Some(models) => format!(
            "The model backend has no model \"{model}\". Installed: {}. Choose one with /model <name>, and it answers your message there.",
            models.join(", ")
        ),
        None => format!(
            "The model backend has no model \"{model}\". /model lists the installed ones; choosing one with /model <name> answers your message there."
        ),
    }
}

/// `/export` of an archive whose file is gone from the archive store.
pub fn archive_file_missing() -> String {
    "That archive's file is missing from storage, so I can't send it. Nothing else was changed."
        .to_string()
}

/// The line under an answer the length limit stopped.
pub fn answer_cut(max_tokens: Option<u32>) -> String {
    match max_tokens {
        Some(max) => {
            format!("✂️ Cut at the answer length limit ({max} tokens). Say \"go on\" for more.")
        }
        None => "✂️ Cut at the model's length limit. Say \"go on\" for more.".to_string(),
    }
}

pub fn empty_answer() -> String {
    "(The model answered with no text.)".to_string()
}

pub fn usage(error: &UsageError) -> String {
    let problem = match &error.problem {
        UsageProblem::MissingNumber => format!("/{} needs a number.", error.command),
        UsageProblem::NotANumber(word) => format!("\"{word}\" is not a number."),
        UsageProblem::NumberTooSmall => "Numbers start at 1.".to_string(),
        UsageProblem::TooManyArguments => match error.command {
            "allow" | "deny" => format!("/{} takes one user.", error.command),
            "delete" => "/delete takes a number, then the word confirm.".to_string(),
            _ => format!("/{} takes one number.", error.command),
        },
        UsageProblem::MissingText => format!("/{} needs some text.", error.command),
        UsageProblem::MissingUser => format!("/{} needs a user.", error.command),
        UsageProblem::NotAUser(word) => {
            format!("\"{word}\" is neither a user id nor a @username.")
        }
    };
    format!("{problem} Usage: {}", error.usage())
}

pub fn unknown_command(name: &str) -> String {
    let shown: String = name.chars().take(64).collect();
    format!("I don't know the command {shown}. Send /help for the list.")
}

pub fn unsupported(kind: &str) -> String {
    format!("Sorry, I can't use a {kind}. Send text to chat, or a JSON archive file to import it.")
}

pub fn import_rejected(reason: &str) -> String {
    format!("I couldn't import that file: {reason}. Nothing was stored.")
}

pub fn imported(archive_number: usize, archive: &ArchiveSummary) -> String {
    format!(
        "Imported the archive as archive {archive_number}{} ({}, {}). /export {archive_number} sends it back.",
        called(archive.title.as_deref()),
        archive.model_name,
        messages(archive.message_count)
    )
}

pub fn too_many_sessions(limit: usize) -> String {
    format!(
        "You have {limit} live sessions, the most allowed. Archive some with /archive <number> first."
    )
}

pub fn too_many_archives(limit: usize) -> String {
    format!("You have {limit} archives, the most allowed; nothing was changed.")
}

pub fn export_caption(number: usize, archive: &ArchiveSummary) -> String {
    format!(
        "Archive {number}: {}, {}.",
        archive.model_name,
        messages(archive.message_count)
    )
}

/// The one reply a stranger gets (at most once an hour): their id, for the owner's list.
pub fn stranger(user_id: i64) -> String {
    format!(
        "Sorry, this bot is private. To use it, ask the owner to add {user_id} (your Telegram user id)."
    )
}

pub fn admins_only() -> String {
    "Only the bot's admins can do that.".to_string()
}

pub fn access_granted(who: &Who, already: bool) -> String {
    if already {
        format!("{who} may already use the bot.")
    } else {
        format!("{who} may use the bot now.")
    }
}

pub fn access_revoked(who: &Who, already: bool) -> String {
    if already {
        format!("{who} is already shut out.")
    } else {
        format!("{who} may no longer use the bot. Their sessions and archives are kept.")
    }
}

pub fn admin_cannot_be_denied(who: &Who) -> String {
    format!("{who} is an admin (ADMIN_USERS); change the configuration to remove them.")
}

/// `/users`: the configured lists and the admins' changes.
pub fn users(policy: &AccessPolicy, changes: &AccessChanges) -> String {
    let list = |whos: &mut dyn Iterator<Item = &Who>| {
        let names: Vec<String> = whos.map(Who::to_string).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    let allowed = match &policy.allowed {
        Allowed::Private => "only the admins and those allowed below".to_string(),
        Allowed::Everyone => "everyone (ALLOWED_USERS=*)".to_string(),
        Allowed::Listed(whos) => list(&mut whos.iter()),
    };
    format!(
        "Admins: {}\nAllowed by configuration: {allowed}\nAllowed with /allow: {}\nShut out with /deny: {}\n\n/allow <id|@name> and /deny <id|@name> change this at once.",
        list(&mut policy.admins.iter()),
        list(&mut changes.granted.iter()),
        list(&mut changes.revoked.iter()),
    )
}

pub fn group_admins_only() -> String {
    "In a group, only the bot's admins can open, switch, archive or import the group's sessions."
        .to_string()
}

/// A time of day, to the second (limits reset within the minute).
fn clock(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map_or_else(|| ts.to_string(), |t| t.format("%H:%M:%S UTC").to_string())
}

pub fn too_many_messages(limit: u64, resets_at: i64) -> String {
    format!(
        "You're sending messages faster than I take them ({limit} a minute), so I'm skipping them for now. Send it again after {}.",
        clock(resets_at)
    )
}

/// `/usage`: the active session's tokens, and the stream's today, this month and all time.
pub fn token_usage(state: &UserState, now: i64, by_user: &[(i64, u64)]) -> String {
    let totals = &state.usage;
    let by_user = tokens_by_user(by_user);
    if totals.is_empty() {
        return format!("No answers yet, so no tokens used.{by_user}");
    }
    let mut lines = vec!["Tokens the model read + wrote, as the backend reports them:".to_string()];
    if let Some(session) = state.active_session() {
        lines.push(format!(
            "Session {}{}: {} ({} + {})",
            state.session_number(session.session_id).unwrap_or(0),
            called(session.title.as_deref()),
            thousands(session.usage.total()),
            thousands(session.usage.prompt),
            thousands(session.usage.answer)
        ));
    }
    let answers = if totals.answers == 1 {
        "1 answer".to_string()
    } else {
        format!("{} answers", thousands(totals.answers))
    };
    lines.push(format!(
        "Today: {} · this month: {} · all time: {} ({} + {}) in {answers}",
        thousands(totals.today(now).total()),
        thousands(totals.this_month(now).total()),
        thousands(totals.all_time.total()),
        thousands(totals.all_time.prompt),
        thousands(totals.all_time.answer)
    ));
    format!("{}{by_user}", lines.join("\n"))
}

/// How many users an admin's `/usage` lists.
const USERS_LISTED: usize = 20;

/// For admins: each user's tokens charged today (nothing when there are none to show).
fn tokens_by_user(counts: &[(i64, u64)]) -> String {
    if counts.is_empty() {
        return String::new();
    }
    let mut lines: Vec<String> = counts
        .iter()
        .take(USERS_LISTED)
        .map(|(user, used)| format!("{user}: {}", thousands(*used)))
        .collect();
    if counts.len() > USERS_LISTED {
        lines.push(format!("and {} more", counts.len() - USERS_LISTED));
    }
    format!(
        "\n\nToday by user (tokens charged, for admins):\n{}",
        lines.join("\n")
    )
}

/// 1234567 as "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

pub fn tokens_used_up(limit: u64, resets_at: i64, now: i64) -> String {
    let left = (resets_at - now).max(0);
    format!(
        "You've used today's {limit} model tokens, so I won't send messages to the model until {} (in {} h {} min). Commands still work; send your message again then.",
        clock(resets_at),
        left / 3600,
        left % 3600 / 60
    )
}
