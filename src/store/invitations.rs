//! Invitations into rooms: sent by this node's rooms (`incoming = false`) or received by its
//! people and organisation.

use diesel::prelude::*;

use super::models::Invitation;
use super::schema::invitations;
use super::{now, DbConnection};
use crate::domain::kinds::InvitationState;
use crate::domain::membership::{PartnerKind, Role};
use crate::error::{Error, Result};

/// A new invitation; it starts `pending`.
pub struct NewInvitation<'a> {
    pub ap_id: &'a str,
    pub room: i32,
    pub invitee: i32,
    pub role: Role,
    pub partner_kind: Option<PartnerKind>,
    pub incoming: bool,
}

pub fn insert(conn: &mut DbConnection, new: NewInvitation<'_>) -> Result<Invitation> {
    diesel::insert_into(invitations::table)
        .values((
            invitations::ap_id.eq(new.ap_id),
            invitations::room_id.eq(new.room),
            invitations::invitee_id.eq(new.invitee),
            invitations::role.eq(new.role.as_str()),
            invitations::partner_kind.eq(new.partner_kind.map(|k| k.as_str())),
            invitations::incoming.eq(new.incoming),
            invitations::state.eq(InvitationState::Pending.as_str()),
            invitations::created_at.eq(now()),
        ))
        .execute(conn)?;
    by_ap_id(conn, new.ap_id, new.incoming)?
        .ok_or_else(|| Error::Internal("inserted invitation vanished".into()))
}

pub fn by_id(conn: &mut DbConnection, id: i32) -> Result<Option<Invitation>> {
    Ok(invitations::table.find(id).first(conn).optional()?)
}

/// The invitation with this id that this node sent (`incoming = false`) or received.
pub fn by_ap_id(
    conn: &mut DbConnection,
    ap_id: &str,
    incoming: bool,
) -> Result<Option<Invitation>> {
    Ok(invitations::table
        .filter(invitations::ap_id.eq(ap_id))
        .filter(invitations::incoming.eq(incoming))
        .first(conn)
        .optional()?)
}

/// Invitations a local room sent, oldest first.
pub fn sent_by_room(conn: &mut DbConnection, room: i32) -> Result<Vec<Invitation>> {
    Ok(invitations::table
        .filter(invitations::room_id.eq(room))
        .filter(invitations::incoming.eq(false))
        .order(invitations::id.asc())
        .load(conn)?)
}

/// Every invitation, oldest first.
pub fn all(conn: &mut DbConnection) -> Result<Vec<Invitation>> {
    Ok(invitations::table.order(invitations::id.asc()).load(conn)?)
}

pub fn answer(
    conn: &mut DbConnection,
    id: i32,
    state: InvitationState,
    reason: Option<&str>,
) -> Result<()> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::state.eq(state.as_str()),
            invitations::reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}
