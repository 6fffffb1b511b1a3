//! The sort keys of the `chatbot-sessions` table and the S3 keys of archives, in one place.

use uuid::Uuid;

/// `MODEL#<model>#SESSION#<session_id>`: the original's live session row.
pub fn session_sort_key(model_name: &str, session_id: Uuid) -> String {
    format!("MODEL#{model_name}#SESSION#{session_id}")
}

/// `archives/{user_id}/{session_id}.json`.
pub fn archive_key(user_id: i64, session_id: Uuid) -> String {
    format!("archives/{user_id}/{session_id}.json")
}

/// The prefix under which one user's archives live.
pub fn archive_prefix(user_id: i64) -> String {
    format!("archives/{user_id}/")
}

/// Session ids derived from the update that creates them, so that re-handling the same update
/// (after a crash or a lost race) names the same session and the same archive object.
pub fn derived_session_id(user_id: i64, update_id: i64, purpose: &str) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6c0d_a1a1_5e55_4f0a_9b1e_c10d_a1c0_0001);
    Uuid::new_v5(
        &NAMESPACE,
        format!("{user_id}/{update_id}/{purpose}").as_bytes(),
    )
}
