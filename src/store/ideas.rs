//! Ideas and their credited contributors.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::*;
use super::schema::*;
use super::{now, DbConnection};
use crate::domain::lifecycle::Stage;
use crate::error::{Error, Result};

pub fn by_id(conn: &mut DbConnection, id: i32) -> Result<Option<Idea>> {
    Ok(ideas::table.find(id).first(conn).optional()?)
}

pub fn by_ap_id(conn: &mut DbConnection, ap_id: &str) -> Result<Option<Idea>> {
    let query = ideas::table.filter(ideas::ap_id.eq(ap_id));
    Ok(per_backend!(conn, |c| query.first(c).optional())?)
}

pub fn insert(conn: &mut DbConnection, new: &NewIdea) -> Result<Idea> {
    diesel::insert_into(ideas::table)
        .values(new.clone())
        .execute(conn)?;
    let idea = by_ap_id(conn, &new.ap_id)?
        .ok_or_else(|| Error::Internal("inserted idea vanished".into()))?;
    diesel::insert_into(idea_stages::table)
        .values((
            idea_stages::idea_id.eq(idea.id),
            idea_stages::stage.eq(idea.stage.as_str()),
            idea_stages::answer.eq(idea.stage_answer.as_deref()),
            idea_stages::changed_at.eq(idea.published),
        ))
        .execute(conn)?;
    Ok(idea)
}

/// One page of a room's live ideas, newest first: `limit` ideas after skipping `offset`.
pub fn in_room(
    conn: &mut DbConnection,
    room_id: i32,
    limit: i64,
    offset: i64,
) -> Result<Vec<Idea>> {
    Ok(ideas::table
        .filter(ideas::room_id.eq(room_id))
        .filter(ideas::deleted.eq(false))
        .order((ideas::published.desc(), ideas::id.desc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?)
}

pub fn update_content(
    conn: &mut DbConnection,
    id: i32,
    title: &str,
    source: &str,
    content: &str,
    updated: NaiveDateTime,
) -> Result<()> {
    diesel::update(ideas::table.find(id))
        .set((
            ideas::title.eq(title),
            ideas::source.eq(source),
            ideas::content.eq(content),
            ideas::updated.eq(updated),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_stage(
    conn: &mut DbConnection,
    id: i32,
    stage: Stage,
    answer: Option<&str>,
    updated: NaiveDateTime,
) -> Result<()> {
    diesel::update(ideas::table.find(id))
        .set((
            ideas::stage.eq(stage.as_str()),
            ideas::stage_answer.eq(answer),
            ideas::updated.eq(updated),
        ))
        .execute(conn)?;
    diesel::insert_into(idea_stages::table)
        .values((
            idea_stages::idea_id.eq(id),
            idea_stages::stage.eq(stage.as_str()),
            idea_stages::answer.eq(answer),
            idea_stages::changed_at.eq(updated),
        ))
        .execute(conn)?;
    Ok(())
}

/// One step of an idea's life cycle: the stage it moved to, the answer given, and when.
#[derive(Debug, Clone, Queryable)]
pub struct StageStep {
    #[diesel(deserialize_as = String)]
    pub stage: Stage,
    pub answer: Option<String>,
    pub changed_at: NaiveDateTime,
}

/// Every stage an idea has been in, oldest first (the stage it was submitted in included).
pub fn stage_history(conn: &mut DbConnection, idea: i32) -> Result<Vec<StageStep>> {
    Ok(idea_stages::table
        .filter(idea_stages::idea_id.eq(idea))
        .order((idea_stages::changed_at.asc(), idea_stages::id.asc()))
        .select((
            idea_stages::stage,
            idea_stages::answer,
            idea_stages::changed_at,
        ))
        .load(conn)?)
}

/// The ideas of a room with what a board shows of them, in three queries whatever their
/// number: the live ideas (newest first), then the counts of supports and live comments per
/// idea.
pub fn board_of_room(conn: &mut DbConnection, room_id: i32) -> Result<Vec<(Idea, i64, i64)>> {
    let list: Vec<Idea> = ideas::table
        .filter(ideas::room_id.eq(room_id))
        .filter(ideas::deleted.eq(false))
        .order((ideas::published.desc(), ideas::id.desc()))
        .load(conn)?;
    let supports: std::collections::HashMap<i32, i64> = supports::table
        .inner_join(ideas::table)
        .filter(ideas::room_id.eq(room_id))
        .group_by(supports::idea_id)
        .select((supports::idea_id, diesel::dsl::count_star()))
        .load::<(i32, i64)>(conn)?
        .into_iter()
        .collect();
    let comments: std::collections::HashMap<i32, i64> = comments::table
        .inner_join(ideas::table)
        .filter(ideas::room_id.eq(room_id))
        .filter(comments::deleted.eq(false))
        .group_by(comments::idea_id)
        .select((comments::idea_id, diesel::dsl::count_star()))
        .load::<(i32, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(list
        .into_iter()
        .map(|i| {
            let (s, c) = (
                supports.get(&i.id).copied().unwrap_or(0),
                comments.get(&i.id).copied().unwrap_or(0),
            );
            (i, s, c)
        })
        .collect())
}

pub fn set_refused(conn: &mut DbConnection, id: i32, reason: &str) -> Result<()> {
    diesel::update(ideas::table.find(id))
        .set(ideas::refused_reason.eq(Some(reason)))
        .execute(conn)?;
    Ok(())
}

/// Marks an idea as changed now (its credit, say), so that peers apply the update.
pub fn touch(conn: &mut DbConnection, id: i32) -> Result<()> {
    diesel::update(ideas::table.find(id))
        .set(ideas::updated.eq(now()))
        .execute(conn)?;
    Ok(())
}

/// Terms, provenance and forward links of an idea as the room's node states them.
pub fn update_links(
    conn: &mut DbConnection,
    id: i32,
    terms: Option<&str>,
    provenance: Option<&str>,
    handed_off_to: Option<&str>,
    merged_into: Option<&str>,
) -> Result<()> {
    diesel::update(ideas::table.find(id))
        .set((
            ideas::terms.eq(terms),
            ideas::provenance.eq(provenance),
            ideas::handed_off_to.eq(handed_off_to),
            ideas::merged_into.eq(merged_into),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_deleted(conn: &mut DbConnection, id: i32) -> Result<()> {
    diesel::update(ideas::table.find(id))
        .set((
            ideas::deleted.eq(true),
            ideas::title.eq(""),
            ideas::source.eq(""),
            ideas::content.eq(""),
            ideas::updated.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn add_contributor(conn: &mut DbConnection, idea: i32, actor: i32, role: &str) -> Result<()> {
    let exists: i64 = idea_contributors::table
        .filter(idea_contributors::idea_id.eq(idea))
        .filter(idea_contributors::actor_id.eq(actor))
        .filter(idea_contributors::role.eq(role))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(idea_contributors::table)
            .values((
                idea_contributors::idea_id.eq(idea),
                idea_contributors::actor_id.eq(actor),
                idea_contributors::role.eq(role),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn contributors_of(conn: &mut DbConnection, idea: i32) -> Result<Vec<(String, String)>> {
    Ok(idea_contributors::table
        .inner_join(actors::table.on(actors::id.eq(idea_contributors::actor_id)))
        .filter(idea_contributors::idea_id.eq(idea))
        .select((actors::ap_id, idea_contributors::role))
        .order((idea_contributors::role.asc(), actors::ap_id.asc()))
        .load(conn)?)
}

/// Ideas submitted on this node (NodeInfo's `localPosts`).
pub fn count_local(conn: &mut DbConnection) -> Result<i64> {
    Ok(ideas::table
        .filter(ideas::local.eq(true))
        .count()
        .get_result(conn)?)
}

/// How many live ideas a room has.
/// When something last changed among a room's live ideas (submitted, edited, moved on).
pub fn latest_in_room(conn: &mut DbConnection, room_id: i32) -> Result<Option<NaiveDateTime>> {
    Ok(ideas::table
        .filter(ideas::room_id.eq(room_id))
        .filter(ideas::deleted.eq(false))
        .select(diesel::dsl::max(ideas::updated))
        .first(conn)?)
}

pub fn count_in_room(conn: &mut DbConnection, room_id: i32) -> Result<i64> {
    Ok(ideas::table
        .filter(ideas::room_id.eq(room_id))
        .filter(ideas::deleted.eq(false))
        .count()
        .get_result(conn)?)
}
