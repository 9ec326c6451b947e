//! Handoffs: offers of ideas between organisations, sent (`incoming = false`) and received.

use diesel::prelude::*;

use super::models::Handoff;
use super::schema::handoffs;
use super::{now, DbConnection};
use crate::domain::kinds::HandoffState;
use crate::error::Result;

/// A new offer, sent or received; it starts `pending`.
pub struct NewHandoff<'a> {
    pub ap_id: &'a str,
    pub idea_ap_id: &'a str,
    pub from_org: &'a str,
    pub to_org: &'a str,
    pub message: &'a str,
    pub incoming: bool,
    pub offer: &'a serde_json::Value,
}

pub fn insert(conn: &mut DbConnection, new: NewHandoff<'_>) -> Result<()> {
    diesel::insert_into(handoffs::table)
        .values((
            handoffs::ap_id.eq(new.ap_id),
            handoffs::idea_ap_id.eq(new.idea_ap_id),
            handoffs::from_org.eq(new.from_org),
            handoffs::to_org.eq(new.to_org),
            handoffs::message.eq(new.message),
            handoffs::incoming.eq(new.incoming),
            handoffs::state.eq(HandoffState::Pending.as_str()),
            handoffs::offer.eq(new.offer.to_string()),
            handoffs::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn by_id(conn: &mut DbConnection, id: i32) -> Result<Option<Handoff>> {
    Ok(handoffs::table.find(id).first(conn).optional()?)
}

/// The offer with this id that this node sent (`incoming = false`) or received.
pub fn by_ap_id(conn: &mut DbConnection, ap_id: &str, incoming: bool) -> Result<Option<Handoff>> {
    Ok(handoffs::table
        .filter(handoffs::ap_id.eq(ap_id))
        .filter(handoffs::incoming.eq(incoming))
        .first(conn)
        .optional()?)
}

/// Sent or received offers (or both), oldest first.
pub fn list(conn: &mut DbConnection, incoming: Option<bool>) -> Result<Vec<Handoff>> {
    let mut q = handoffs::table.into_boxed();
    if let Some(i) = incoming {
        q = q.filter(handoffs::incoming.eq(i));
    }
    Ok(q.order(handoffs::id.asc()).load(conn)?)
}

/// Whether this node has sent an offer of the idea that still waits for an answer.
pub fn has_pending_offer(conn: &mut DbConnection, idea_ap_id: &str) -> Result<bool> {
    let n: i64 = handoffs::table
        .filter(handoffs::idea_ap_id.eq(idea_ap_id))
        .filter(handoffs::incoming.eq(false))
        .filter(handoffs::state.eq(HandoffState::Pending.as_str()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn set_state(
    conn: &mut DbConnection,
    id: i32,
    state: HandoffState,
    reason: Option<&str>,
    result: Option<&str>,
) -> Result<()> {
    diesel::update(handoffs::table.find(id))
        .set((
            handoffs::state.eq(state.as_str()),
            handoffs::reason.eq(reason),
            handoffs::result.eq(result),
        ))
        .execute(conn)?;
    Ok(())
}
