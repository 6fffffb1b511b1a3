//! Every command in one table: its name and aliases, how its argument is read, its usage line,
//! its line in `/help` and whether Telegram's command menu offers it. Parsing, usage replies,
//! `/help` and the menu are all made from this table, so a command is added in one place.

use super::arguments::{
    number_and_confirmation, number_and_text, optional_number, required_number, text_as_typed, user,
};
use super::{Command, UsageProblem};

/// Where `/help` lists a command (in this order), and whether it does at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Chat,
    Sessions,
    Archives,
    More,
    /// For the bot's admins: in their menu, not in everyone's `/help`.
    Admin,
    /// A check or a command every Telegram client knows already: neither in `/help` nor listed
    /// for it.
    Unlisted,
}

/// Who sees a command in Telegram's menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Menu {
    /// Private chats and groups.
    Everywhere,
    /// Private chats only (in a group, only the bot's admins may use it, and the menu cannot
    /// tell them apart from members).
    Private,
    /// The bot's admins, in their private chats.
    Admins,
    Hidden,
}

/// What a command's text after its name turns into: the command, or why it cannot.
/// `args` is that text trimmed; `typed` is it as typed (inner spacing and new lines kept).
type Build = fn(args: &str, typed: &str) -> Result<Command, UsageProblem>;

pub struct CommandSpec {
    pub name: &'static str,
    /// Other names, shown in `/help` (`/hello`, from the original's table).
    pub aliases: &'static [&'static str],
    /// Other names accepted but not shown (a plural people type).
    pub accepted: &'static [&'static str],
    /// The argument as usage and `/help` show it (`<number>`), or empty.
    pub argument: &'static str,
    /// After the usage line's dash, what the argument is (empty: nothing to add).
    pub usage_note: &'static str,
    /// What the command does, in `/help` and in the menu.
    pub description: &'static str,
    pub section: Section,
    pub menu: Menu,
    build: Build,
}

impl CommandSpec {
    /// `/switch <number> — the number from /listsessions`.
    pub fn usage(&self) -> String {
        let mut line = format!("/{}", self.name);
        if !self.argument.is_empty() {
            line = format!("{line} {}", self.argument);
        }
        if !self.usage_note.is_empty() {
            line = format!("{line} — {}", self.usage_note);
        }
        line
    }

    /// The command's line in `/help`: `/start or /hello — the greeting`.
    pub fn help_line(&self) -> String {
        let mut names = format!("/{}", self.name);
        for alias in self.aliases {
            names = format!("{names} or /{alias}");
        }
        if !self.argument.is_empty() {
            names = format!("{names} {}", self.argument);
        }
        format!("{names} — {}", self.description)
    }

    pub(super) fn build(&self, args: &str, typed: &str) -> Result<Command, UsageProblem> {
        (self.build)(args, typed)
    }
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "history",
        aliases: &[],
        accepted: &[],
        argument: "",
        usage_note: "",
        description: "the last messages of the active session",
        section: Section::Chat,
        menu: Menu::Everywhere,
        build: |_, _| Ok(Command::History),
    },
    CommandSpec {
        name: "retry",
        aliases: &[],
        accepted: &[],
        argument: "",
        usage_note: "",
        description: "answer your last message again (a new answer replaces the last one)",
        section: Section::Chat,
        menu: Menu::Everywhere,
        build: |_, _| Ok(Command::Retry),
    },
    CommandSpec {
        name: "persona",
        aliases: &[],
        accepted: &["system"],
        argument: "",
        usage_note: "",
        description: "the active session's system prompt and presets; /persona <text or preset> sets it",
        section: Section::Chat,
        menu: Menu::Private,
        build: |_, typed| Ok(Command::Persona(text_as_typed(typed).ok())),
    },
    CommandSpec {
        name: "model",
        aliases: &[],
        accepted: &["models"],
        argument: "",
        usage_note: "",
        description: "the models you can chat with; /model <name> chats with one",
        section: Section::Chat,
        menu: Menu::Everywhere,
        build: |args, _| Ok(Command::Model((!args.is_empty()).then(|| args.to_string()))),
    },
    CommandSpec {
        name: "newsession",
        aliases: &[],
        accepted: &[],
        argument: "",
        usage_note: "",
        description: "start a new conversation",
        section: Section::Sessions,
        menu: Menu::Private,
        build: |_, _| Ok(Command::NewSession),
    },
    CommandSpec {
        name: "listsessions",
        aliases: &[],
        accepted: &[],
        argument: "",
        usage_note: "",
        description: "your sessions, numbered",
        section: Section::Sessions,
        menu: Menu::Everywhere,
        build: |_, _| Ok(Command::ListSessions),
    },
    CommandSpec {
        name: "switch",
        aliases: &[],
        accepted: &[],
        argument: "<number>",
        usage_note: "the number from /listsessions",
        description: "go back to a session",
        section: Section::Sessions,
        menu: Menu::Private,
        build: |args, _| required_number(args).map(Command::Switch),
    },
    CommandSpec {
        name: "rename",
        aliases: &[],
        accepted: &[],
        argument: "<number> <title>",
        usage_note: "the number from /listsessions, then the title",
        description: "give a session a title",
        section: Section::Sessions,
        menu: Menu::Private,
        build: |args, _| number_and_text(args).map(|(n, title)| Command::Rename(n, title)),
    },
    CommandSpec {
        name: "delete",
        aliases: &[],
        accepted: &[],
        argument: "<number>",
        usage_note: "the number from /listsessions (then /delete <number> confirm)",
        description: "delete a session for good, after you confirm",
        section: Section::Sessions,
        menu: Menu::Private,
        build: |args, _| {
            number_and_confirmation(args)
                .map(|(number, confirmed)| Command::Delete { number, confirmed })
        },
    },
    CommandSpec {
        name: "archive",
        aliases: &[],
        accepted: &[],
        argument: "<number>",
        usage_note: "the number from /listsessions (or /archive to see them)",
        description: "move a session to your archives (/archive alone lists them)",
        section: Section::Archives,
        menu: Menu::Private,
        build: |args, _| {
            optional_number(args).map(|n| n.map_or(Command::ArchiveMenu, Command::Archive))
        },
    },
    CommandSpec {
        name: "restore",
        aliases: &[],
        accepted: &[],
        argument: "<number>",
        usage_note: "the number from /listarchives",
        description: "continue an archive as a live session (the archive stays)",
        section: Section::Archives,
        menu: Menu::Private,
        build: |args, _| required_number(args).map(Command::Restore),
    },
    CommandSpec {
        name: "listarchives",
        aliases: &[],
        accepted: &[],
        argument: "",
        usage_note: "",
        description: "your archives, numbered",
        section: Section::Archives,
        menu: Menu::Everywhere,
        build: |_, _| Ok(Command::ListArchives),
    },
    CommandSpec {
        name: "export",
        aliases: &[],
        accepted: &[],
        argument: "<number>",
        usage_note: "the number from /listarchives",
        description: "get an archive as a .json file",
        section: Section::Archives,
        menu: Menu::Everywhere,
        build: |args, _| required_number(args).map(Command::Export),
    },
    CommandSpec {
        name: "status",
        aliases: &[],
        accepted: &[],
        argument: "",
        usage_note: "",
        description: "the model backend and your data",
        section: Section::More,
        menu: Menu::Everywhere,
        build: |_, _| Ok(Command::Status),
    },
    CommandSpec {
        name: "usage",
        aliases: &[],
        accepted: &[],
        argument: "",
        usage_note: "",
        description: "the tokens your answers took: this session, today, this month, all time",
        section: Section::More,
        menu: Menu::Everywhere,
        build: |_, _| Ok(Command::Usage),
    },
    CommandSpec {
        name: "start",
        aliases: &["hello"],
        accepted: &[],
        argument: "",
        usage_note: "",
        description: "the greeting",
        section: Section::More,
        menu: Menu::Everywhere,
        build: |_, _| Ok(Command::Start),
    },
    CommandSpec {
        name: "help",
        aliases: &[],
        accepted: &[],
        argument: "",
        usage_note: "",
        description: "every command, grouped by task",
        section: Section::Unlisted,
        menu: Menu::Everywhere,
        build: |_, _| Ok(Command::Help),
    },
    CommandSpec {
        name: "users",
        aliases: &[],
        accepted: &[],
        argument: "",
        usage_note: "",
        description: "who may use the bot",
        section: Section::Admin,
        menu: Menu::Admins,
        build: |_, _| Ok(Command::Users),
    },
    CommandSpec {
        name: "allow",
        aliases: &[],
        accepted: &[],
        argument: "<user id or @username>",
        usage_note: "",
        description: "let a user in",
        section: Section::Admin,
        menu: Menu::Admins,
        build: |args, _| user(args).map(Command::Allow),
    },
    CommandSpec {
        name: "deny",
        aliases: &[],
        accepted: &[],
        argument: "<user id or @username>",
        usage_note: "",
        description: "shut a user out",
        section: Section::Admin,
        menu: Menu::Admins,
        build: |args, _| user(args).map(Command::Deny),
    },
    CommandSpec {
        name: "echo",
        aliases: &[],
        accepted: &[],
        argument: "<text>",
        usage_note: "",
        description: "repeats the text (a check that the bot answers)",
        section: Section::Unlisted,
        menu: Menu::Hidden,
        build: |_, typed| text_as_typed(typed).map(Command::Echo),
    },
];

/// The command a name or alias (lower case, without `/`) stands for.
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS
        .iter()
        .find(|c| c.name == name || c.aliases.contains(&name) || c.accepted.contains(&name))
}

/// The commands `/help` lists under `section`, in table order.
pub fn in_section(section: Section) -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter().filter(move |c| c.section == section)
}

/// One entry of Telegram's command menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    pub command: &'static str,
    pub description: &'static str,
}

/// Which chats a menu is for (Telegram's `BotCommandScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuScope {
    /// Every chat without a narrower menu: private chats.
    Default,
    AllGroupChats,
    /// One chat: an admin's private chat with the bot.
    Chat(i64),
}

/// The menus to set: private chats, groups, and each admin's private chat (the admins named by
/// user id; a `@username` has no chat id to set a menu for).
pub fn menus(admin_ids: &[i64]) -> Vec<(MenuScope, Vec<MenuEntry>)> {
    let entries = |shown: &dyn Fn(Menu) -> bool| -> Vec<MenuEntry> {
        // The menu's order is the order people begin in: the greeting and help first.
        let (first, rest): (Vec<_>, Vec<_>) = COMMANDS
            .iter()
            .filter(|c| shown(c.menu))
            .partition(|c| matches!(c.name, "start" | "help"));
        first
            .into_iter()
            .chain(rest)
            .map(|c| MenuEntry {
                command: c.name,
                description: c.description,
            })
            .collect()
    };
    let private = |menu| matches!(menu, Menu::Everywhere | Menu::Private);
    let mut menus = vec![
        (MenuScope::Default, entries(&private)),
        (
            MenuScope::AllGroupChats,
            entries(&|menu| menu == Menu::Everywhere),
        ),
    ];
    for id in admin_ids {
        menus.push((
            MenuScope::Chat(*id),
            entries(&|menu| private(menu) || menu == Menu::Admins),
        ));
    }
    menus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_fit_telegrams_menu() {
        let mut seen = std::collections::HashSet::new();
        for spec in COMMANDS {
            for name in std::iter::once(&spec.name)
                .chain(spec.aliases)
                .chain(spec.accepted)
            {
                assert!(seen.insert(*name), "/{name} twice");
                // BotCommand.command: 1-32 characters, lower-case letters, digits, underscores.
                assert!(
                    (1..=32).contains(&name.len())
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "/{name}"
                );
            }
            // BotCommand.description: 1-256 characters.
            assert!((1..=256).contains(&spec.description.chars().count()));
        }
    }

    #[test]
    fn menus_offer_each_place_what_may_be_used_there() {
        let menus = menus(&[42]);
        let names = |scope: MenuScope| -> Vec<&str> {
            menus
                .iter()
                .find(|(s, _)| *s == scope)
                .map(|(_, entries)| entries.iter().map(|e| e.command).collect())
                .unwrap()
        };
        let private = names(MenuScope::Default);
        assert_eq!(&private[..2], ["start", "help"]);
        assert!(private.contains(&"newsession") && private.contains(&"switch"));
        assert!(!private.contains(&"echo") && !private.contains(&"allow"));
        let group = names(MenuScope::AllGroupChats);
        assert!(group.contains(&"history") && !group.contains(&"newsession"));
        let admin = names(MenuScope::Chat(42));
        assert!(admin.contains(&"allow") && admin.contains(&"newsession"));
        assert_eq!(menus.len(), 3);
    }

    #[test]
    fn help_is_made_from_the_table_grouped_by_task() {
        let help = crate::domain::replies::help();
        assert_eq!(
            help,
            "Chat\n\
             Any text goes into your active session, and its model answers.\n\
             /history — the last messages of the active session\n\
             /retry — answer your last message again (a new answer replaces the last one)\n\
             /persona — the active session's system prompt and presets; /persona <text or preset> sets it\n\
             /model — the models you can chat with; /model <name> chats with one\n\
             \n\
             Sessions\n\
             /newsession — start a new conversation\n\
             /listsessions — your sessions, numbered\n\
             /switch <number> — go back to a session\n\
             /rename <number> <title> — give a session a title\n\
             /delete <number> — delete a session for good, after you confirm\n\
             \n\
             Archives\n\
             /archive <number> — move a session to your archives (/archive alone lists them)\n\
             /restore <number> — continue an archive as a live session (the archive stays)\n\
             /listarchives — your archives, numbered\n\
             /export <number> — get an archive as a .json file\n\
             Send such a file to import it.\n\
             \n\
             More\n\
             /status — the model backend and your data\n\
             /usage — the tokens your answers took: this session, today, this month, all time\n\
             /start or /hello — the greeting"
        );
        for spec in COMMANDS {
            let listed = help.contains(&format!("/{} ", spec.name));
            assert_eq!(
                listed,
                !matches!(spec.section, Section::Admin | Section::Unlisted),
                "/{}",
                spec.name
            );
        }
    }

    #[test]
    fn usage_lines_come_from_the_table() {
        assert_eq!(
            find("switch").unwrap().usage(),
            "/switch <number> — the number from /listsessions"
        );
        assert_eq!(find("echo").unwrap().usage(), "/echo <text>");
        assert_eq!(
            find("hello").map(|c| c.name),
            Some("start"),
            "an alias finds its command"
        );
    }
}
