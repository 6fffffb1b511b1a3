//! Turns the text of a message into a command, or says why it cannot. Which commands there are,
//! and how each reads its argument, is in [`table`].

mod arguments;
pub mod table;

use super::access::Who;

/// What a text message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start,
    Help,
    NewSession,
    ListSessions,
    Switch(usize),
    History,
    /// `/retry`: answer the active session's last message again.
    Retry,
    /// `/rename <n> <title>`: session n's title.
    Rename(usize, String),
    /// `/delete <n>` (asks to confirm) or `/delete <n> confirm`.
    Delete {
        number: usize,
        confirmed: bool,
    },
    /// `/usage`: the tokens the answers took.
    Usage,
    /// `/restore <n>`: archive n as a live session again.
    Restore(usize),
    /// `/persona` (show it and the presets) or `/persona <text|preset|off|default>`.
    Persona(Option<String>),
    /// `/archive` with no number: list what can be archived.
    ArchiveMenu,
    Archive(usize),
    ListArchives,
    Export(usize),
    Echo(String),
    Status,
    /// `/model` (list the models) or `/model <name>` (move to a session for that model).
    Model(Option<String>),
    /// `/allow <id|@name>`: an admin lets a user in.
    Allow(Who),
    /// `/deny <id|@name>`: an admin shuts a user out.
    Deny(Who),
    /// `/users`: who may use the bot (for admins).
    Users,
    /// Text that is not a command: a chat message for the active session.
    Chat(String),
    /// A command for another bot in a group chat (`/help@other_bot`): not ours to answer.
    ForAnotherBot,
    /// Nothing but white space: nothing to store, send to the model or answer.
    Blank,
    Unknown(String),
    /// A known command with a missing or bad argument.
    BadUsage(UsageError),
}

/// Why a known command's argument was rejected; the reply explains the right usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    pub command: &'static str,
    pub problem: UsageProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageProblem {
    MissingNumber,
    NotANumber(String),
    NumberTooSmall,
    TooManyArguments,
    MissingText,
    MissingUser,
    NotAUser(String),
}

impl UsageError {
    /// The command's usage line, from the table.
    pub fn usage(&self) -> String {
        table::find(self.command).map_or_else(|| "/help".to_string(), table::CommandSpec::usage)
    }
}

/// Parses a message's text. `bot_username` (without `@`) lets `/cmd@name` addressed to another
/// bot be told apart; without it, any `@name` is accepted.
pub fn parse(text: &str, bot_username: Option<&str>) -> Command {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Command::Blank;
    }
    let Some(rest) = trimmed.strip_prefix('/') else {
        return Command::Chat(trimmed.to_string());
    };
    let (head, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    let (name, addressee) = match head.split_once('@') {
        Some((name, bot)) => (name, Some(bot)),
        None => (head, None),
    };
    if let (Some(addressee), Some(ours)) = (addressee, bot_username)
        && !addressee.eq_ignore_ascii_case(ours.trim_start_matches('@'))
    {
        return Command::ForAnotherBot;
    }
    let name = name.to_ascii_lowercase();
    let Some(spec) = table::find(&name) else {
        return Command::Unknown(format!("/{name}"));
    };
    spec.build(args, &rest[head.len()..])
        .unwrap_or_else(|problem| {
            Command::BadUsage(UsageError {
                command: spec.name,
                problem,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(command: &'static str, problem: UsageProblem) -> Command {
        Command::BadUsage(UsageError { command, problem })
    }

    #[test]
    fn every_command_of_the_table_parses() {
        assert_eq!(parse("/start", None), Command::Start);
        assert_eq!(parse("/hello", None), Command::Start);
        assert_eq!(parse("/help", None), Command::Help);
        assert_eq!(parse("/newsession", None), Command::NewSession);
        assert_eq!(parse("/listsessions", None), Command::ListSessions);
        assert_eq!(parse("/switch 2", None), Command::Switch(2));
        assert_eq!(parse("/history", None), Command::History);
        assert_eq!(parse("/archive", None), Command::ArchiveMenu);
        assert_eq!(parse("/archive 3", None), Command::Archive(3));
        assert_eq!(parse("/listarchives", None), Command::ListArchives);
        assert_eq!(parse("/export 1", None), Command::Export(1));
        assert_eq!(
            parse("/echo hi there", None),
            Command::Echo("hi there".into())
        );
        assert_eq!(parse("/status", None), Command::Status);
        assert_eq!(parse("/models", None), Command::Model(None));
        assert_eq!(parse("/users", None), Command::Users);
        assert_eq!(
            parse("/allow 123456789", None),
            Command::Allow(Who::Id(123456789))
        );
        assert_eq!(
            parse("/deny @Eve_X", None),
            Command::Deny(Who::Name("eve_x".into()))
        );
        assert_eq!(
            parse("/allow", None),
            usage("allow", UsageProblem::MissingUser)
        );
        assert_eq!(
            parse("/deny me!", None),
            usage("deny", UsageProblem::NotAUser("me!".into()))
        );
        assert_eq!(
            parse("what is rust?", None),
            Command::Chat("what is rust?".into())
        );
    }

    #[test]
    fn case_spaces_and_bot_suffix_are_tolerated() {
        assert_eq!(parse("  /SWITCH   2  ", None), Command::Switch(2));
        assert_eq!(parse("/Switch\t#2", None), Command::Switch(2));
        assert_eq!(parse("/help@CloudAiBot", Some("cloudaibot")), Command::Help);
        assert_eq!(parse("/help@CloudAiBot", None), Command::Help);
        assert_eq!(
            parse("/switch@cloudaibot 4", Some("@CloudAiBot")),
            Command::Switch(4)
        );
        assert_eq!(
            parse("/help@other_bot", Some("cloudaibot")),
            Command::ForAnotherBot
        );
    }

    #[test]
    fn echo_keeps_the_text_as_typed() {
        assert_eq!(
            parse("/echo  a  b\nc ", None),
            Command::Echo("a  b\nc".into())
        );
        assert_eq!(parse("/echo\nline", None), Command::Echo("line".into()));
        assert_eq!(
            parse("/echo", None),
            usage("echo", UsageProblem::MissingText)
        );
        assert_eq!(
            parse("/echo    ", None),
            usage("echo", UsageProblem::MissingText)
        );
    }

    #[test]
    fn bad_numbers_are_usage_errors() {
        assert_eq!(
            parse("/switch", None),
            usage("switch", UsageProblem::MissingNumber)
        );
        assert_eq!(
            parse("/switch x", None),
            usage("switch", UsageProblem::NotANumber("x".into()))
        );
        assert_eq!(
            parse("/switch 0", None),
            usage("switch", UsageProblem::NumberTooSmall)
        );
        assert_eq!(
            parse("/switch -3", None),
            usage("switch", UsageProblem::NumberTooSmall)
        );
        assert_eq!(
            parse("/switch 1.5", None),
            usage("switch", UsageProblem::NotANumber("1.5".into()))
        );
        assert_eq!(
            parse("/switch 1 2", None),
            usage("switch", UsageProblem::TooManyArguments)
        );
        assert_eq!(
            parse("/export", None),
            usage("export", UsageProblem::MissingNumber)
        );
        assert_eq!(
            parse("/archive two", None),
            usage("archive", UsageProblem::NotANumber("two".into()))
        );
        assert_eq!(
            parse("/switch 99999999999999999999999999", None),
            Command::Switch(usize::MAX)
        );
    }

    #[test]
    fn unknown_commands_are_named() {
        assert_eq!(
            parse("/frobnicate now", None),
            Command::Unknown("/frobnicate".into())
        );
        assert_eq!(parse("/", None), Command::Unknown("/".into()));
        assert_eq!(parse(" \n\t\u{3000} ", None), Command::Blank);
    }
}
