//! Telegram's command menu, set from the command table when the bot starts: private chats,
//! groups, and each admin's private chat. A menu Telegram refuses is logged and left as it was:
//! the bot answers typed commands either way.

use crate::domain::access::{AccessPolicy, Who};
use crate::domain::command::table::menus;
use crate::telegram::Telegram;

/// Sets every menu; returns how many Telegram took.
pub async fn set_command_menus(telegram: &dyn Telegram, access: &AccessPolicy) -> usize {
    let admin_ids: Vec<i64> = access
        .admins
        .iter()
        .filter_map(|who| match who {
            Who::Id(id) => Some(*id),
            Who::Name(_) => None,
        })
        .collect();
    let mut set = 0;
    for (scope, entries) in menus(&admin_ids) {
        match telegram.set_my_commands(scope, &entries).await {
            Ok(()) => set += 1,
            // An admin who never opened a chat with the bot has no chat to set a menu in yet.
            Err(error) => tracing::warn!(%error, ?scope, "Telegram did not take a command menu"),
        }
    }
    set
}
