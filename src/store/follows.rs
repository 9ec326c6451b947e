//! Follows between actors, with their state (pending, accepted, rejected).

use diesel::prelude::*;

use super::models::*;
use super::schema::*;
use super::{now, DbConnection};
use crate::domain::kinds::{ActorKind, FollowState};
use crate::error::{Error, Result};

pub fn between(conn: &mut DbConnection, follower: i32, target: i32) -> Result<Option<Follow>> {
    Ok(follows::table
        .filter(follows::follower_id.eq(follower))
        .filter(follows::target_id.eq(target))
        .first(conn)
        .optional()?)
}

pub fn by_activity(conn: &mut DbConnection, activity: &str) -> Result<Option<Follow>> {
    Ok(follows::table
        .filter(follows::activity_ap_id.eq(activity))
        .first(conn)
        .optional()?)
}

/// Records a follow (or replaces an earlier one between the same actors).
pub fn put(
    conn: &mut DbConnection,
    follower: i32,
    target: i32,
    state: FollowState,
    activity: &str,
) -> Result<Follow> {
    let updated = diesel::update(
        follows::table
            .filter(follows::follower_id.eq(follower))
            .filter(follows::target_id.eq(target)),
    )
    .set((
        follows::state.eq(state.as_str()),
        follows::activity_ap_id.eq(activity),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(follows::table)
            .values((
                follows::follower_id.eq(follower),
                follows::target_id.eq(target),
                follows::state.eq(state.as_str()),
                follows::activity_ap_id.eq(activity),
                follows::created_at.eq(now()),
            ))
            .execute(conn)?;
    }
    between(conn, follower, target)?.ok_or_else(|| Error::Internal("follow vanished".into()))
}

pub fn set_state(conn: &mut DbConnection, id: i32, state: FollowState) -> Result<()> {
    diesel::update(follows::table.find(id))
        .set(follows::state.eq(state.as_str()))
        .execute(conn)?;
    Ok(())
}

pub fn set_reason(conn: &mut DbConnection, id: i32, reason: Option<&str>) -> Result<()> {
    diesel::update(follows::table.find(id))
        .set(follows::reason.eq(reason))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, follower: i32, target: i32) -> Result<usize> {
    Ok(diesel::delete(
        follows::table
            .filter(follows::follower_id.eq(follower))
            .filter(follows::target_id.eq(target)),
    )
    .execute(conn)?)
}

/// Accepted followers of an actor.
pub fn followers_of(conn: &mut DbConnection, target: i32) -> Result<Vec<Actor>> {
    Ok(follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::follower_id)))
        .filter(follows::target_id.eq(target))
        .filter(follows::state.eq(FollowState::Accepted.as_str()))
        .select(actors::all_columns)
        .order(actors::id.asc())
        .load(conn)?)
}

/// Ids of the accepted followers of an actor who live on `host` (`host[:port]`), sorted.
pub fn follower_ids_on_host(
    conn: &mut DbConnection,
    target: i32,
    host: &str,
) -> Result<Vec<String>> {
    Ok(follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::follower_id)))
        .filter(follows::target_id.eq(target))
        .filter(follows::state.eq(FollowState::Accepted.as_str()))
        .filter(actors::host.eq(host))
        .select(actors::ap_id)
        .order(actors::ap_id.asc())
        .load(conn)?)
}

/// Rooms (and other actors) that `follower` follows, with the follow state.
pub fn following_of(conn: &mut DbConnection, follower: i32) -> Result<Vec<(Actor, Follow)>> {
    Ok(follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::target_id)))
        .filter(follows::follower_id.eq(follower))
        .select((actors::all_columns, follows::all_columns))
        .load(conn)?)
}

/// Whether any local actor follows `target` (an accepted follow).
pub fn followed_locally(conn: &mut DbConnection, target: i32) -> Result<bool> {
    let n: i64 = follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::follower_id)))
        .filter(follows::target_id.eq(target))
        .filter(follows::state.eq(FollowState::Accepted.as_str()))
        .filter(actors::local.eq(true))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn delete_all_of(conn: &mut DbConnection, actor: i32) -> Result<usize> {
    Ok(diesel::delete(follows::table.filter(follows::follower_id.eq(actor))).execute(conn)?)
}

/// Remote rooms that some local actor follows (accepted), by title.
pub fn remote_rooms_followed_locally(conn: &mut DbConnection) -> Result<Vec<Actor>> {
    let (followers, targets) = diesel::alias!(actors as followers, actors as targets);
    Ok(follows::table
        .inner_join(followers.on(followers.field(actors::id).eq(follows::follower_id)))
        .inner_join(targets.on(targets.field(actors::id).eq(follows::target_id)))
        .filter(follows::state.eq(FollowState::Accepted.as_str()))
        .filter(followers.field(actors::local).eq(true))
        .filter(targets.field(actors::local).eq(false))
        .filter(targets.field(actors::kind).eq(ActorKind::Group.as_str()))
        .select(targets.fields(actors::all_columns))
        .distinct()
        .order(targets.field(actors::display_name).asc())
        .load(conn)?)
}
