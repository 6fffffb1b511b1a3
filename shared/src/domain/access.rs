//! Who may use the bot: the configured lists (`ALLOWED_USERS`, `ADMIN_USERS`) and the changes
//! admins make at run time (`/allow`, `/deny`), which are events in the bot-level stream.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The stream that holds the bot's own events (access changes). Telegram user ids are positive
/// and group chat ids negative, so 0 names no user and no chat.
pub const BOT_STREAM: i64 = 0;

/// A user as an admin or the configuration names them: a numeric id or a `@username`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Who {
    Id(i64),
    /// Without the `@`, lower case (Telegram usernames are case-insensitive).
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is neither a user id nor a @username")]
pub struct NotAUser(pub String);

impl Who {
    pub fn parse(text: &str) -> Result<Who, NotAUser> {
        let text = text.trim();
        if let Ok(id) = text.parse::<i64>()
            && id > 0
        {
            return Ok(Who::Id(id));
        }
        let name = text.strip_prefix('@').unwrap_or(text);
        // Telegram usernames: 4 to 32 of a-z, 0-9 and _ (5 for new ones; older ones are shorter).
        let valid = (3..=32).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.bytes().all(|b| b.is_ascii_digit());
        if valid {
            Ok(Who::Name(name.to_ascii_lowercase()))
        } else {
            Err(NotAUser(text.chars().take(40).collect()))
        }
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Who::Id(id) => write!(f, "{id}"),
            Who::Name(name) => write!(f, "@{name}"),
        }
    }
}

impl TryFrom<String> for Who {
    type Error = NotAUser;
    fn try_from(text: String) -> Result<Who, NotAUser> {
        Who::parse(&text)
    }
}

impl From<Who> for String {
    fn from(who: Who) -> String {
        who.to_string()
    }
}

/// The sender of an update, as far as access is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub id: i64,
    pub username: Option<String>,
}

impl Sender {
    fn is(&self, who: &Who) -> bool {
        match who {
            Who::Id(id) => *id == self.id,
            Who::Name(name) => self
                .username
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(name)),
        }
    }
}

/// `ALLOWED_USERS`: nobody but the admins (unset), everyone (`*`), or the users listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Allowed {
    #[default]
    Private,
    Everyone,
    Listed(Vec<Who>),
}

/// The configured lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessPolicy {
    pub allowed: Allowed,
    pub admins: Vec<Who>,
}

impl AccessPolicy {
    /// Everyone may use the bot (`ALLOWED_USERS=*`), nobody administers it.
    pub fn open() -> AccessPolicy {
        AccessPolicy {
            allowed: Allowed::Everyone,
            admins: Vec::new(),
        }
    }

    /// Reads `ALLOWED_USERS` and `ADMIN_USERS` (comma- or space-separated ids and @usernames).
    pub fn parse(allowed: Option<&str>, admins: Option<&str>) -> Result<AccessPolicy, NotAUser> {
        let list = |text: &str| -> Result<Vec<Who>, NotAUser> {
            text.split([',', ' ', '\n'])
                .filter(|w| !w.trim().is_empty())
                .map(Who::parse)
                .collect()
        };
        let allowed = match allowed.map(str::trim).filter(|t| !t.is_empty()) {
            None => Allowed::Private,
            Some("*") => Allowed::Everyone,
            Some(text) => Allowed::Listed(list(text)?),
        };
        Ok(AccessPolicy {
            allowed,
            admins: list(admins.unwrap_or(""))?,
        })
    }

    pub fn is_admin(&self, sender: &Sender) -> bool {
        self.admins.iter().any(|who| sender.is(who))
    }

    /// Whether `sender` may use the bot, given the admins' changes so far.
    pub fn may_use(&self, changes: &AccessChanges, sender: &Sender) -> bool {
        if self.is_admin(sender) {
            return true;
        }
        if changes.revoked.iter().any(|who| sender.is(who)) {
            return false;
        }
        let configured = match &self.allowed {
            Allowed::Private => false,
            Allowed::Everyone => true,
            Allowed::Listed(list) => list.iter().any(|who| sender.is(who)),
        };
        configured || changes.granted.iter().any(|who| sender.is(who))
    }
}

/// What admins changed at run time, folded from the bot-level stream. The latest word on a
/// user wins: `/allow` undoes a `/deny` and the other way round.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessChanges {
    #[serde(default)]
    pub granted: BTreeSet<Who>,
    #[serde(default)]
    pub revoked: BTreeSet<Who>,
}

impl AccessChanges {
    pub fn is_empty(&self) -> bool {
        self.granted.is_empty() && self.revoked.is_empty()
    }

    pub fn grant(&mut self, who: &Who) {
        self.revoked.remove(who);
        self.granted.insert(who.clone());
    }

    pub fn revoke(&mut self, who: &Who) {
        self.granted.remove(who);
        self.revoked.insert(who.clone());
    }
}

/// How long a stranger waits for a second refusal: one reply an hour, however much they send.
pub const REFUSAL_QUIET_SECONDS: i64 = 3600;

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(id: i64, username: Option<&str>) -> Sender {
        Sender {
            id,
            username: username.map(str::to_string),
        }
    }

    #[test]
    fn unset_means_private_and_star_means_everyone() {
        let private = AccessPolicy::parse(None, Some("42")).unwrap();
        let none = AccessChanges::default();
        assert!(!private.may_use(&none, &sender(7, None)));
        assert!(private.may_use(&none, &sender(42, None)), "admins may");
        let open = AccessPolicy::parse(Some(" * "), None).unwrap();
        assert!(open.may_use(&none, &sender(7, None)));
    }

    #[test]
    fn ids_and_usernames_are_matched_and_changes_win_in_order() {
        let policy = AccessPolicy::parse(Some("7, @Ada_L"), Some("@boss")).unwrap();
        let mut changes = AccessChanges::default();
        assert!(policy.may_use(&changes, &sender(7, None)));
        assert!(policy.may_use(&changes, &sender(8, Some("ada_l"))));
        assert!(!policy.may_use(&changes, &sender(9, Some("eve"))));
        assert!(policy.is_admin(&sender(1, Some("BOSS"))));
        changes.grant(&Who::parse("@eve").unwrap());
        assert!(policy.may_use(&changes, &sender(9, Some("eve"))));
        changes.revoke(&Who::parse("7").unwrap());
        assert!(!policy.may_use(&changes, &sender(7, None)));
        changes.revoke(&Who::parse("@eve").unwrap());
        assert!(!policy.may_use(&changes, &sender(9, Some("eve"))));
        changes.grant(&Who::parse("7").unwrap());
        assert!(policy.may_use(&changes, &sender(7, None)));
        changes.revoke(&Who::parse("@boss").unwrap());
        assert!(
            policy.may_use(&changes, &sender(1, Some("boss"))),
            "configured admins cannot be locked out at run time"
        );
    }

    #[test]
    fn bad_entries_are_named() {
        assert_eq!(
            AccessPolicy::parse(Some("7, @x!"), None),
            Err(NotAUser("@x!".into()))
        );
        assert!(Who::parse("-5").is_err());
        assert!(Who::parse("@a").is_err());
        assert_eq!(Who::parse("@Ada").unwrap().to_string(), "@ada");
    }
}
