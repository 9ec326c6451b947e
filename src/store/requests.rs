//! Requests to follow or join a non-public room, waiting for a steward's answer.

use diesel::prelude::*;

use super::models::{Actor, RoomRequest};
use super::schema::{actors, room_requests};
use super::{now, DbConnection};
use crate::domain::kinds::RequestState;
use crate::error::Result;

/// Records a request, replacing an earlier one of the same actor for the same room.
pub fn replace(
    conn: &mut DbConnection,
    room: i32,
    actor: i32,
    activity: &serde_json::Value,
    message: Option<&str>,
) -> Result<()> {
    diesel::delete(
        room_requests::table
            .filter(room_requests::room_id.eq(room))
            .filter(room_requests::actor_id.eq(actor)),
    )
    .execute(conn)?;
    diesel::insert_into(room_requests::table)
        .values((
            room_requests::room_id.eq(room),
            room_requests::actor_id.eq(actor),
            room_requests::activity.eq(activity.to_string()),
            room_requests::message.eq(message),
            room_requests::state.eq(RequestState::Pending.as_str()),
            room_requests::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Requests of a room still waiting for an answer, oldest first, with who asked.
pub fn pending_of_room(conn: &mut DbConnection, room: i32) -> Result<Vec<(RoomRequest, Actor)>> {
    Ok(room_requests::table
        .inner_join(actors::table.on(actors::id.eq(room_requests::actor_id)))
        .filter(room_requests::room_id.eq(room))
        .filter(room_requests::state.eq(RequestState::Pending.as_str()))
        .select((room_requests::all_columns, actors::all_columns))
        .order(room_requests::id.asc())
        .load(conn)?)
}

/// A request of `room` by id.
pub fn in_room(conn: &mut DbConnection, room: i32, id: i32) -> Result<Option<RoomRequest>> {
    Ok(room_requests::table
        .find(id)
        .filter(room_requests::room_id.eq(room))
        .first(conn)
        .optional()?)
}

pub fn answer(
    conn: &mut DbConnection,
    id: i32,
    state: RequestState,
    reason: Option<&str>,
) -> Result<()> {
    diesel::update(room_requests::table.find(id))
        .set((
            room_requests::state.eq(state.as_str()),
            room_requests::reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}
