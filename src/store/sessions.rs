//! Web sessions: one row per signed-in browser, keyed by the hash of its cookie token (the
//! token itself is never stored), with its CSRF token and expiry.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::*;
use super::schema::*;
use super::DbConnection;
use crate::error::Result;

pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    actor_id: i32,
    csrf_token: &str,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<Session> {
    Ok(diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::actor_id.eq(actor_id),
            sessions::csrf_token.eq(csrf_token),
            sessions::created_at.eq(created_at),
            sessions::expires_at.eq(expires_at),
        ))
        .get_result(conn)?)
}

/// The session with this id and its actor, unless it expired before `now`.
pub fn live_with_actor(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<Option<(Actor, Session)>> {
    Ok(sessions::table
        .inner_join(actors::table)
        .filter(sessions::id.eq(id))
        .filter(sessions::expires_at.gt(now))
        .select((actors::all_columns, sessions::all_columns))
        .first(conn)
        .optional()?)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<()> {
    diesel::delete(sessions::table.find(id)).execute(conn)?;
    Ok(())
}

/// Removes the sessions that expired before `now`.
pub fn delete_expired(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize> {
    Ok(diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?)
}

/// Moves a session's expiry (tests set it in the past).
pub fn set_expires_at(conn: &mut DbConnection, id: &str, expires_at: NaiveDateTime) -> Result<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::expires_at.eq(expires_at))
        .execute(conn)?;
    Ok(())
}

/// Ends every session of an actor (its password changed).
pub fn delete_for_actor(conn: &mut DbConnection, actor_id: i32) -> Result<()> {
    diesel::delete(sessions::table.filter(sessions::actor_id.eq(actor_id))).execute(conn)?;
    Ok(())
}
