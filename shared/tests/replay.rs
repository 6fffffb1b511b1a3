//! Property: whatever a user does, replaying their stream rebuilds exactly the live rows that the
//! incremental projection (batched and coalesced as the store writes it) left, and the folded
//! state equals the state kept along the way.

mod common;

use cloud_ai_shared::domain::projection::{Row, rebuild_rows};
use cloud_ai_shared::domain::state::UserState;
use common::{Bot, USER};
use proptest::prelude::*;

fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z ]{1,12}".prop_map(|t| format!("chat {t}")),
        1 => "[a-z ]{1,12}".prop_map(|t| format!("answer:{t}")),
        1 => "[a-z ]{1,12}".prop_map(|t| format!("replace:{t}")),
        1 => Just("/newsession".to_string()),
        1 => Just("/start".to_string()),
        1 => (0usize..6).prop_map(|n| format!("/switch {n}")),
        1 => (0usize..6).prop_map(|n| format!("/archive {n}")),
        1 => (0usize..6).prop_map(|n| format!("/delete {n} confirm")),
        1 => (0usize..4).prop_map(|n| format!("/export {n}")),
        1 => Just("/listsessions".to_string()),
        1 => Just("/history".to_string()),
        1 => ((0usize..4), "[a-z]{1,8}").prop_map(|(n, t)| format!("/rename {n} {t}")),
        1 => prop_oneof![Just("off"), Just("tutor"), Just("default"), Just("be brief")]
            .prop_map(|p| format!("/persona {p}")),
    ]
}

/// A command, or the model's answer (`answer:`) or a retried answer (`replace:`, taking the
/// place of the active session's last message) as the handler records them.
fn play(bot: &mut Bot, action: &str) {
    let active = bot.state.active_session().map(|s| s.message_count);
    if let Some(text) = action.strip_prefix("answer:") {
        if active.is_some() {
            bot.answered(text);
        }
    } else if let Some(text) = action.strip_prefix("replace:") {
        if let Some(count @ 1..) = active {
            bot.answer_replaced(count, text);
        }
    } else {
        bot.send(action);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn replay_rebuilds_the_projection(actions in prop::collection::vec(action(), 0..60)) {
        let mut bot = Bot::default();
        for text in &actions {
            play(&mut bot, text);
        }
        let events: Vec<_> = bot.events.iter().map(|r| r.event.clone()).collect();
        prop_assert_eq!(&rebuild_rows(USER, &events), &bot.rows);
        prop_assert_eq!(&UserState::replay(&bot.events), &bot.state);

        let active: Vec<_> = bot.rows.values().filter_map(|row| match row {
            Row::Session(s) if s.is_active => Some(s.session_id),
            _ => None,
        }).collect();
        prop_assert_eq!(active, bot.state.active.into_iter().collect::<Vec<_>>());
        let versions: Vec<u64> = bot.events.iter().map(|r| r.version).collect();
        prop_assert_eq!(versions, (1..=bot.events.len() as u64).collect::<Vec<_>>());
    }
}
