//! Queries used by services and federation code, written once for both backends.
//!
//! Upserts are update-then-insert inside the caller's transaction because the multi-backend
//! connection type does not support `ON CONFLICT`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::*;
use super::schema::*;
use super::{now, DbConnection};
use crate::error::{Error, Result};

// ---- actors ----

pub fn actor_by_id(conn: &mut DbConnection, id: i32) -> Result<Actor> {
    Ok(actors::table.find(id).first(conn)?)
}

pub fn actor_by_ap_id(conn: &mut DbConnection, ap_id: &str) -> Result<Option<Actor>> {
    Ok(actors::table
        .filter(actors::ap_id.eq(ap_id))
        .first(conn)
        .optional()?)
}

pub fn actor_by_key_id(conn: &mut DbConnection, key_id: &str) -> Result<Option<Actor>> {
    Ok(actors::table
        .filter(actors::key_id.eq(key_id))
        .first(conn)
        .optional()?)
}

/// A known actor by `name@host`; the instance actor is never meant by a handle.
pub fn actor_by_handle(conn: &mut DbConnection, name: &str, host: &str) -> Result<Option<Actor>> {
    Ok(actors::table
        .filter(actors::name.eq(name))
        .filter(actors::host.eq(host))
        .filter(actors::kind.ne("Application"))
        .first(conn)
        .optional()?)
}

pub fn local_actor_by_name(conn: &mut DbConnection, name: &str) -> Result<Option<Actor>> {
    Ok(actors::table
        .filter(actors::local.eq(true))
        .filter(actors::name.eq(name))
        .first(conn)
        .optional()?)
}

pub fn local_actor_of_kind(conn: &mut DbConnection, kind: &str) -> Result<Option<Actor>> {
    Ok(actors::table
        .filter(actors::local.eq(true))
        .filter(actors::kind.eq(kind))
        .order(actors::id.asc())
        .first(conn)
        .optional()?)
}

pub fn local_rooms(conn: &mut DbConnection) -> Result<Vec<Actor>> {
    Ok(actors::table
        .filter(actors::local.eq(true))
        .filter(actors::kind.eq("Group"))
        .order(actors::name.asc())
        .load(conn)?)
}

pub fn count_local_people(conn: &mut DbConnection) -> Result<i64> {
    Ok(actors::table
        .filter(actors::local.eq(true))
        .filter(actors::kind.eq("Person"))
        .count()
        .get_result(conn)?)
}

pub fn insert_actor(conn: &mut DbConnection, new: &NewActor) -> Result<Actor> {
    diesel::insert_into(actors::table)
        .values(new)
        .execute(conn)?;
    actor_by_ap_id(conn, &new.ap_id)?
        .ok_or_else(|| Error::Internal("inserted actor vanished".into()))
}

/// Stores a remote actor as last fetched, keeping its row id stable.
pub fn upsert_remote_actor(conn: &mut DbConnection, new: &NewActor) -> Result<Actor> {
    let updated = diesel::update(actors::table.filter(actors::ap_id.eq(&new.ap_id)))
        .set((
            actors::kind.eq(&new.kind),
            actors::name.eq(&new.name),
            actors::display_name.eq(&new.display_name),
            actors::summary.eq(&new.summary),
            actors::inbox.eq(&new.inbox),
            actors::shared_inbox.eq(&new.shared_inbox),
            actors::outbox.eq(&new.outbox),
            actors::followers.eq(&new.followers),
            actors::public_key_pem.eq(&new.public_key_pem),
            actors::key_id.eq(&new.key_id),
            actors::visibility.eq(&new.visibility),
            actors::fetched_at.eq(new.fetched_at),
        ))
        .execute(conn)?;
    if updated == 0 {
        return insert_actor(conn, new);
    }
    actor_by_ap_id(conn, &new.ap_id)?
        .ok_or_else(|| Error::Internal("updated actor vanished".into()))
}

// ---- tokens ----

pub fn insert_token(conn: &mut DbConnection, token_hash: &str, actor_id: i32) -> Result<()> {
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::token_hash.eq(token_hash),
            api_tokens::actor_id.eq(actor_id),
            api_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn actor_by_token_hash(conn: &mut DbConnection, token_hash: &str) -> Result<Option<Actor>> {
    Ok(api_tokens::table
        .inner_join(actors::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .select(actors::all_columns)
        .first(conn)
        .optional()?)
}

// ---- follows ----

pub fn follow_between(
    conn: &mut DbConnection,
    follower: i32,
    target: i32,
) -> Result<Option<Follow>> {
    Ok(follows::table
        .filter(follows::follower_id.eq(follower))
        .filter(follows::target_id.eq(target))
        .first(conn)
        .optional()?)
}

pub fn follow_by_activity(conn: &mut DbConnection, activity: &str) -> Result<Option<Follow>> {
    Ok(follows::table
        .filter(follows::activity_ap_id.eq(activity))
        .first(conn)
        .optional()?)
}

/// Records a follow (or replaces an earlier one between the same actors).
pub fn put_follow(
    conn: &mut DbConnection,
    follower: i32,
    target: i32,
    state: &str,
    activity: &str,
) -> Result<Follow> {
    let updated = diesel::update(
        follows::table
            .filter(follows::follower_id.eq(follower))
            .filter(follows::target_id.eq(target)),
    )
    .set((
        follows::state.eq(state),
        follows::activity_ap_id.eq(activity),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(follows::table)
            .values((
                follows::follower_id.eq(follower),
                follows::target_id.eq(target),
                follows::state.eq(state),
                follows::activity_ap_id.eq(activity),
                follows::created_at.eq(now()),
            ))
            .execute(conn)?;
    }
    follow_between(conn, follower, target)?.ok_or_else(|| Error::Internal("follow vanished".into()))
}

pub fn set_follow_state(conn: &mut DbConnection, id: i32, state: &str) -> Result<()> {
    diesel::update(follows::table.find(id))
        .set(follows::state.eq(state))
        .execute(conn)?;
    Ok(())
}

pub fn set_follow_reason(conn: &mut DbConnection, id: i32, reason: Option<&str>) -> Result<()> {
    diesel::update(follows::table.find(id))
        .set(follows::reason.eq(reason))
        .execute(conn)?;
    Ok(())
}

pub fn delete_follow(conn: &mut DbConnection, follower: i32, target: i32) -> Result<usize> {
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
        .filter(follows::state.eq("accepted"))
        .select(actors::all_columns)
        .order(actors::id.asc())
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
        .filter(follows::state.eq("accepted"))
        .filter(actors::local.eq(true))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

// ---- ideas ----

pub fn idea_by_id(conn: &mut DbConnection, id: i32) -> Result<Option<Idea>> {
    Ok(ideas::table.find(id).first(conn).optional()?)
}

pub fn idea_by_ap_id(conn: &mut DbConnection, ap_id: &str) -> Result<Option<Idea>> {
    Ok(ideas::table
        .filter(ideas::ap_id.eq(ap_id))
        .first(conn)
        .optional()?)
}

pub fn insert_idea(conn: &mut DbConnection, new: &NewIdea) -> Result<Idea> {
    diesel::insert_into(ideas::table)
        .values(new)
        .execute(conn)?;
    idea_by_ap_id(conn, &new.ap_id)?.ok_or_else(|| Error::Internal("inserted idea vanished".into()))
}

pub fn ideas_in_room(conn: &mut DbConnection, room_id: i32) -> Result<Vec<Idea>> {
    Ok(ideas::table
        .filter(ideas::room_id.eq(room_id))
        .filter(ideas::deleted.eq(false))
        .order(ideas::published.desc())
        .load(conn)?)
}

pub fn update_idea_content(
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

pub fn update_idea_stage(
    conn: &mut DbConnection,
    id: i32,
    stage: &str,
    answer: Option<&str>,
    updated: NaiveDateTime,
) -> Result<()> {
    diesel::update(ideas::table.find(id))
        .set((
            ideas::stage.eq(stage),
            ideas::stage_answer.eq(answer),
            ideas::updated.eq(updated),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_idea_refused(conn: &mut DbConnection, id: i32, reason: &str) -> Result<()> {
    diesel::update(ideas::table.find(id))
        .set(ideas::refused_reason.eq(Some(reason)))
        .execute(conn)?;
    Ok(())
}

/// Marks an idea as changed now (its credit, say), so that peers apply the update.
pub fn touch_idea(conn: &mut DbConnection, id: i32) -> Result<()> {
    diesel::update(ideas::table.find(id))
        .set(ideas::updated.eq(now()))
        .execute(conn)?;
    Ok(())
}

/// Terms, provenance and forward links of an idea as the room's node states them.
pub fn update_idea_links(
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

pub fn mark_idea_deleted(conn: &mut DbConnection, id: i32) -> Result<()> {
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

// ---- comments ----

pub fn comment_by_id(conn: &mut DbConnection, id: i32) -> Result<Option<Comment>> {
    Ok(comments::table.find(id).first(conn).optional()?)
}

pub fn comment_by_ap_id(conn: &mut DbConnection, ap_id: &str) -> Result<Option<Comment>> {
    Ok(comments::table
        .filter(comments::ap_id.eq(ap_id))
        .first(conn)
        .optional()?)
}

pub fn insert_comment(conn: &mut DbConnection, new: &NewComment) -> Result<Comment> {
    diesel::insert_into(comments::table)
        .values(new)
        .execute(conn)?;
    comment_by_ap_id(conn, &new.ap_id)?
        .ok_or_else(|| Error::Internal("inserted comment vanished".into()))
}

pub fn comments_of(conn: &mut DbConnection, idea: i32) -> Result<Vec<(Comment, String)>> {
    Ok(comments::table
        .inner_join(actors::table.on(actors::id.eq(comments::author_id)))
        .filter(comments::idea_id.eq(idea))
        .select((comments::all_columns, actors::ap_id))
        .order((comments::published.asc(), comments::id.asc()))
        .load(conn)?)
}

pub fn count_comments(conn: &mut DbConnection, idea: i32) -> Result<i64> {
    Ok(comments::table
        .filter(comments::idea_id.eq(idea))
        .filter(comments::deleted.eq(false))
        .count()
        .get_result(conn)?)
}

pub fn update_comment(
    conn: &mut DbConnection,
    id: i32,
    content: &str,
    source: Option<&str>,
) -> Result<()> {
    diesel::update(comments::table.find(id))
        .set((
            comments::content.eq(content),
            comments::source.eq(source),
            comments::updated.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_comment_deleted(conn: &mut DbConnection, id: i32) -> Result<()> {
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

// ---- supports ----

/// Adds a support; false when the actor already supports the idea.
pub fn add_support(conn: &mut DbConnection, idea: i32, actor: i32, activity: &str) -> Result<bool> {
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
pub fn support_activity(conn: &mut DbConnection, idea: i32, actor: i32) -> Result<Option<String>> {
    Ok(supports::table
        .filter(supports::idea_id.eq(idea))
        .filter(supports::actor_id.eq(actor))
        .select(supports::activity_ap_id)
        .first(conn)
        .optional()?)
}

pub fn remove_support(conn: &mut DbConnection, idea: i32, actor: i32) -> Result<usize> {
    Ok(diesel::delete(
        supports::table
            .filter(supports::idea_id.eq(idea))
            .filter(supports::actor_id.eq(actor)),
    )
    .execute(conn)?)
}

pub fn support_by_activity(conn: &mut DbConnection, activity: &str) -> Result<Option<(i32, i32)>> {
    Ok(supports::table
        .filter(supports::activity_ap_id.eq(activity))
        .select((supports::idea_id, supports::actor_id))
        .first(conn)
        .optional()?)
}

/// Carries the supports and credit of idea `from` over to idea `into`, counting each supporter
/// and each (contributor, role) once.
pub fn merge_supports_and_credit(conn: &mut DbConnection, from: i32, into: i32) -> Result<()> {
    let supporters: Vec<(i32, String)> = supports::table
        .filter(supports::idea_id.eq(from))
        .select((supports::actor_id, supports::activity_ap_id))
        .load(conn)?;
    for (actor, activity) in supporters {
        add_support(conn, into, actor, &activity)?;
    }
    let credits: Vec<(i32, String)> = idea_contributors::table
        .filter(idea_contributors::idea_id.eq(from))
        .select((idea_contributors::actor_id, idea_contributors::role))
        .load(conn)?;
    for (actor, role) in credits {
        add_contributor(conn, into, actor, &role)?;
    }
    Ok(())
}

pub fn count_supports(conn: &mut DbConnection, idea: i32) -> Result<i64> {
    Ok(supports::table
        .filter(supports::idea_id.eq(idea))
        .count()
        .get_result(conn)?)
}

pub fn delete_actor_supports(conn: &mut DbConnection, actor: i32) -> Result<usize> {
    Ok(diesel::delete(supports::table.filter(supports::actor_id.eq(actor))).execute(conn)?)
}

pub fn mark_actor_comments_deleted(conn: &mut DbConnection, actor: i32) -> Result<usize> {
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

pub fn delete_actor_follows(conn: &mut DbConnection, actor: i32) -> Result<usize> {
    Ok(diesel::delete(follows::table.filter(follows::follower_id.eq(actor))).execute(conn)?)
}

// ---- published activities ----

pub fn insert_activity(
    conn: &mut DbConnection,
    ap_id: &str,
    actor: i32,
    kind: &str,
    body: &str,
    public: bool,
) -> Result<()> {
    diesel::insert_into(activities::table)
        .values((
            activities::ap_id.eq(ap_id),
            activities::actor_id.eq(actor),
            activities::kind.eq(kind),
            activities::body.eq(body),
            activities::public.eq(public),
            activities::published.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn activity_by_ap_id(conn: &mut DbConnection, ap_id: &str) -> Result<Option<StoredActivity>> {
    Ok(activities::table
        .filter(activities::ap_id.eq(ap_id))
        .first(conn)
        .optional()?)
}

/// The newest activities of an actor, newest first: public ones only, or all of them (for the
/// members of a non-public room).
pub fn activities_of(
    conn: &mut DbConnection,
    actor: i32,
    limit: i64,
    everything: bool,
) -> Result<Vec<StoredActivity>> {
    let mut q = activities::table
        .filter(activities::actor_id.eq(actor))
        .into_boxed();
    if !everything {
        q = q.filter(activities::public.eq(true));
    }
    Ok(q.order(activities::id.desc()).limit(limit).load(conn)?)
}

pub fn count_activities(conn: &mut DbConnection, actor: i32, everything: bool) -> Result<i64> {
    let mut q = activities::table
        .filter(activities::actor_id.eq(actor))
        .into_boxed();
    if !everything {
        q = q.filter(activities::public.eq(true));
    }
    Ok(q.count().get_result(conn)?)
}

// ---- idempotent inbox ----

/// Records an inbound activity id; false when it was seen before. The primary key makes this
/// hold across processes sharing one database: a concurrent duplicate fails its transaction.
pub fn record_receipt(
    conn: &mut DbConnection,
    ap_id: &str,
    actor: &str,
    kind: &str,
) -> Result<bool> {
    let seen: i64 = inbox_receipts::table
        .filter(inbox_receipts::ap_id.eq(ap_id))
        .count()
        .get_result(conn)?;
    if seen > 0 {
        return Ok(false);
    }
    diesel::insert_into(inbox_receipts::table)
        .values((
            inbox_receipts::ap_id.eq(ap_id),
            inbox_receipts::actor.eq(actor),
            inbox_receipts::kind.eq(kind),
            inbox_receipts::received_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(true)
}

pub fn receipt_exists(conn: &mut DbConnection, ap_id: &str) -> Result<bool> {
    let seen: i64 = inbox_receipts::table
        .filter(inbox_receipts::ap_id.eq(ap_id))
        .count()
        .get_result(conn)?;
    Ok(seen > 0)
}
