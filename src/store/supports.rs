//! Supports of ideas: one per actor and idea, remembered with the Like that made it.

use diesel::prelude::*;

use super::schema::*;
use super::{now, DbConnection};
use crate::error::Result;

/// Adds a support; false when the actor already supports the idea.
pub fn add(conn: &mut DbConnection, idea: i32, actor: i32, activity: &str) -> Result<bool> {
    let exists: i64 = supports::table
        .filter(supports::idea_id.eq(idea))
        .filter(supports::actor_id.eq(actor))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(supports::table)
        .values((
            supports::idea_id.eq(idea),
            supports::actor_id.eq(actor),
            supports::activity_ap_id.eq(activity),
            supports::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(true)
}

/// The Like activity id of an actor's support, if any.
pub fn activity_of(conn: &mut DbConnection, idea: i32, actor: i32) -> Result<Option<String>> {
    Ok(supports::table
        .filter(supports::idea_id.eq(idea))
        .filter(supports::actor_id.eq(actor))
        .select(supports::activity_ap_id)
        .first(conn)
        .optional()?)
}

pub fn remove(conn: &mut DbConnection, idea: i32, actor: i32) -> Result<usize> {
    Ok(diesel::delete(
        supports::table
            .filter(supports::idea_id.eq(idea))
            .filter(supports::actor_id.eq(actor)),
    )
    .execute(conn)?)
}

pub fn by_activity(conn: &mut DbConnection, activity: &str) -> Result<Option<(i32, i32)>> {
    Ok(supports::table
        .filter(supports::activity_ap_id.eq(activity))
        .select((supports::idea_id, supports::actor_id))
        .first(conn)
        .optional()?)
}

/// Carries the supports and credit of idea `from` over to idea `into`, counting each supporter
/// and each (contributor, role) once.
pub fn merge_with_credit(conn: &mut DbConnection, from: i32, into: i32) -> Result<()> {
    let supporters: Vec<(i32, String)> = supports::table
        .filter(supports::idea_id.eq(from))
        .select((supports::actor_id, supports::activity_ap_id))
        .load(conn)?;
    for (actor, activity) in supporters {
        add(conn, into, actor, &activity)?;
    }
    let credits: Vec<(i32, String)> = idea_contributors::table
        .filter(idea_contributors::idea_id.eq(from))
        .select((idea_contributors::actor_id, idea_contributors::role))
        .load(conn)?;
    for (actor, role) in credits {
        super::ideas::add_contributor(conn, into, actor, &role)?;
    }
    Ok(())
}

pub fn count_of_idea(conn: &mut DbConnection, idea: i32) -> Result<i64> {
    Ok(supports::table
        .filter(supports::idea_id.eq(idea))
        .count()
        .get_result(conn)?)
}

pub fn delete_all_of_actor(conn: &mut DbConnection, actor: i32) -> Result<usize> {
    Ok(diesel::delete(supports::table.filter(supports::actor_id.eq(actor))).execute(conn)?)
}
