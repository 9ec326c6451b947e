//! Room members: people or whole organisations with a role (and a partner kind).

use diesel::prelude::*;

use super::models::{Actor, RoomMember};
use super::schema::{actors, room_members};
use super::{now, DbConnection};
use crate::domain::membership::{PartnerKind, Role};
use crate::error::Result;

/// Members of a room whose actor lives on `host`, with their actors.
pub fn on_host(conn: &mut DbConnection, room: i32, host: &str) -> Result<Vec<(RoomMember, Actor)>> {
    Ok(room_members::table
        .inner_join(actors::table.on(actors::id.eq(room_members::actor_id)))
        .filter(room_members::room_id.eq(room))
        .filter(actors::host.eq(host))
        .select((room_members::all_columns, actors::all_columns))
        .load(conn)?)
}

/// All members of a room with their actors, in the order they joined.
pub fn of_room(conn: &mut DbConnection, room: i32) -> Result<Vec<(RoomMember, Actor)>> {
    Ok(room_members::table
        .inner_join(actors::table.on(actors::id.eq(room_members::actor_id)))
        .filter(room_members::room_id.eq(room))
        .select((room_members::all_columns, actors::all_columns))
        .order(room_members::id.asc())
        .load(conn)?)
}

/// Whether `actor` itself (not its organisation) is a member of `room`.
pub fn is_member(conn: &mut DbConnection, room: i32, actor: i32) -> Result<bool> {
    let n: i64 = room_members::table
        .filter(room_members::room_id.eq(room))
        .filter(room_members::actor_id.eq(actor))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Makes `actor` a member of `room` with a role, or changes its role.
pub fn put(
    conn: &mut DbConnection,
    room: i32,
    actor: i32,
    role: Role,
    kind: Option<PartnerKind>,
) -> Result<()> {
    let kind = kind.map(|k| k.as_str());
    let updated = diesel::update(
        room_members::table
            .filter(room_members::room_id.eq(room))
            .filter(room_members::actor_id.eq(actor)),
    )
    .set((
        room_members::role.eq(role.as_str()),
        room_members::partner_kind.eq(kind),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(room_members::table)
            .values((
                room_members::room_id.eq(room),
                room_members::actor_id.eq(actor),
                room_members::role.eq(role.as_str()),
                room_members::partner_kind.eq(kind),
                room_members::created_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes a member; the number of rows removed (0 when it was not a member).
pub fn remove(conn: &mut DbConnection, room: i32, actor: i32) -> Result<usize> {
    Ok(diesel::delete(
        room_members::table
            .filter(room_members::room_id.eq(room))
            .filter(room_members::actor_id.eq(actor)),
    )
    .execute(conn)?)
}
