//! Comments on ideas (replies to an idea or to another comment).

use diesel::prelude::*;

use super::models::*;
use super::schema::*;
use super::{now, DbConnection};
use crate::error::Result;

/// What storing a reply to an idea reads, in one query (the inbox stores many).
#[derive(Debug)]
pub struct ReplyTarget {
    pub idea: Idea,
    pub room: Actor,
    /// The room's settings; only local rooms have them.
    pub settings: Option<RoomSettings>,
    /// Whether a comment with the reply's id is held already.
    pub held: bool,
}

/// The idea `idea_ap_id` with its room, the room's settings and whether the comment `ap_id`
/// is held, in one query; `None` when there is no such idea.
pub fn reply_target(
    conn: &mut DbConnection,
    idea_ap_id: &str,
    ap_id: &str,
) -> Result<Option<ReplyTarget>> {
    let held = diesel::dsl::exists(comments::table.filter(comments::ap_id.eq(ap_id)));
    let found: Option<(Idea, Actor, Option<RoomSettings>, bool)> = ideas::table
        .inner_join(actors::table.on(actors::id.eq(ideas::room_id)))
        .left_join(room_settings::table.on(room_settings::room_id.eq(ideas::room_id)))
        .filter(ideas::ap_id.eq(idea_ap_id))
        .select((
            ideas::all_columns,
            actors::all_columns,
            room_settings::all_columns.nullable(),
            held,
        ))
        .first(conn)
        .optional()?;
    Ok(found.map(|(idea, room, settings, held)| ReplyTarget {
        idea,
        room,
        settings,
        held,
    }))
}

pub fn by_id(conn: &mut DbConnection, id: i32) -> Result<Option<Comment>> {
    Ok(comments::table.find(id).first(conn).optional()?)
}

pub fn by_ap_id(conn: &mut DbConnection, ap_id: &str) -> Result<Option<Comment>> {
    Ok(comments::table
        .filter(comments::ap_id.eq(ap_id))
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, new: &NewComment) -> Result<Comment> {
    Ok(diesel::insert_into(comments::table)
        .values(new)
        .get_result(conn)?)
}

pub fn of_idea(conn: &mut DbConnection, idea: i32) -> Result<Vec<(Comment, String)>> {
    Ok(comments::table
        .inner_join(actors::table.on(actors::id.eq(comments::author_id)))
        .filter(comments::idea_id.eq(idea))
        .select((comments::all_columns, actors::ap_id))
        .order((comments::published.asc(), comments::id.asc()))
        .load(conn)?)
}

pub fn count_of_idea(conn: &mut DbConnection, idea: i32) -> Result<i64> {
    Ok(comments::table
        .filter(comments::idea_id.eq(idea))
        .filter(comments::deleted.eq(false))
        .count()
        .get_result(conn)?)
}

pub fn update(conn: &mut DbConnection, id: i32, content: &str, source: Option<&str>) -> Result<()> {
    diesel::update(comments::table.find(id))
        .set((
            comments::content.eq(content),
            comments::source.eq(source),
            comments::updated.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_deleted(conn: &mut DbConnection, id: i32) -> Result<()> {
    diesel::update(comments::table.find(id))
        .set((
            comments::deleted.eq(true),
            comments::content.eq(""),
            comments::source.eq(None::<String>),
            comments::updated.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_all_of_actor_deleted(conn: &mut DbConnection, actor: i32) -> Result<usize> {
    Ok(
        diesel::update(comments::table.filter(comments::author_id.eq(actor)))
            .set((
                comments::deleted.eq(true),
                comments::content.eq(""),
                comments::source.eq(None::<String>),
            ))
            .execute(conn)?,
    )
}

/// Ids of the live (not deleted) comments on an idea, oldest first: `limit` of them after
/// skipping `offset`.
pub fn ids_of_idea(
    conn: &mut DbConnection,
    idea: i32,
    offset: i64,
    limit: i64,
) -> Result<Vec<String>> {
    Ok(comments::table
        .filter(comments::idea_id.eq(idea))
        .filter(comments::deleted.eq(false))
        .select(comments::ap_id)
        .order((comments::published.asc(), comments::id.asc()))
        .offset(offset)
        .limit(limit)
        .load(conn)?)
}

/// Ids of the live comments answering `in_reply_to` (an idea or a comment) directly, oldest
/// first: `limit` of them after skipping `offset`.
pub fn replies_to(
    conn: &mut DbConnection,
    in_reply_to: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<String>> {
    Ok(comments::table
        .filter(comments::in_reply_to.eq(in_reply_to))
        .filter(comments::deleted.eq(false))
        .select(comments::ap_id)
        .order((comments::published.asc(), comments::id.asc()))
        .offset(offset)
        .limit(limit)
        .load(conn)?)
}

pub fn count_replies_to(conn: &mut DbConnection, in_reply_to: &str) -> Result<i64> {
    Ok(comments::table
        .filter(comments::in_reply_to.eq(in_reply_to))
        .filter(comments::deleted.eq(false))
        .count()
        .get_result(conn)?)
}
