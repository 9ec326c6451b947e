//! Actors: local people, rooms, the organisation and the instance actor, and remote actors as last fetched.

use diesel::prelude::*;

use super::models::*;
use super::schema::*;
use super::DbConnection;
use crate::domain::kinds::ActorKind;
use crate::error::{Error, Result};

pub fn by_id(conn: &mut DbConnection, id: i32) -> Result<Actor> {
    Ok(actors::table.find(id).first(conn)?)
}

pub fn by_ap_id(conn: &mut DbConnection, ap_id: &str) -> Result<Option<Actor>> {
    Ok(actors::table
        .filter(actors::ap_id.eq(ap_id))
        .first(conn)
        .optional()?)
}

/// The known actors among `ap_ids` (unknown ones are left out), in one query.
pub fn by_ap_ids(conn: &mut DbConnection, ap_ids: &[String]) -> Result<Vec<Actor>> {
    if ap_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(actors::table
        .filter(actors::ap_id.eq_any(ap_ids))
        .load(conn)?)
}

/// The actors among `ids`, in one query.
pub fn by_ids(conn: &mut DbConnection, ids: &[i32]) -> Result<Vec<Actor>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(actors::table.filter(actors::id.eq_any(ids)).load(conn)?)
}

pub fn by_key_id(conn: &mut DbConnection, key_id: &str) -> Result<Option<Actor>> {
    let query = actors::table.filter(actors::key_id.eq(key_id));
    Ok(per_backend!(conn, |c| query.first(c).optional())?)
}

/// A known actor by `name@host`; the instance actor is never meant by a handle.
pub fn by_handle(conn: &mut DbConnection, name: &str, host: &str) -> Result<Option<Actor>> {
    Ok(actors::table
        .filter(actors::name.eq(name))
        .filter(actors::host.eq(host))
        .filter(actors::kind.ne(ActorKind::Application.as_str()))
        .first(conn)
        .optional()?)
}

pub fn local_by_name(conn: &mut DbConnection, name: &str) -> Result<Option<Actor>> {
    Ok(actors::table
        .filter(actors::local.eq(true))
        .filter(actors::name.eq(name))
        .first(conn)
        .optional()?)
}

pub fn local_of_kind(conn: &mut DbConnection, kind: ActorKind) -> Result<Option<Actor>> {
    Ok(actors::table
        .filter(actors::local.eq(true))
        .filter(actors::kind.eq(kind.as_str()))
        .order(actors::id.asc())
        .first(conn)
        .optional()?)
}

pub fn local_rooms(conn: &mut DbConnection) -> Result<Vec<Actor>> {
    Ok(actors::table
        .filter(actors::local.eq(true))
        .filter(actors::kind.eq(ActorKind::Group.as_str()))
        .order(actors::name.asc())
        .load(conn)?)
}

pub fn count_local_people(conn: &mut DbConnection) -> Result<i64> {
    Ok(actors::table
        .filter(actors::local.eq(true))
        .filter(actors::kind.eq(ActorKind::Person.as_str()))
        .count()
        .get_result(conn)?)
}

pub fn insert(conn: &mut DbConnection, new: &NewActor) -> Result<Actor> {
    diesel::insert_into(actors::table)
        .values(new.clone())
        .execute(conn)?;
    by_ap_id(conn, &new.ap_id)?.ok_or_else(|| Error::Internal("inserted actor vanished".into()))
}

/// Stores a remote actor as last fetched, keeping its row id stable.
/// Stores a remote actor as just fetched: updates the known row, or inserts it. Two requests
/// that fetch the same unknown actor at once both end with the row (the later copy wins).
pub fn upsert_remote(conn: &mut DbConnection, new: &NewActor) -> Result<Actor> {
    if update_remote(conn, new)? == 0 {
        let insert = diesel::insert_into(actors::table).values(new.clone());
        // `ON CONFLICT` is written per backend: diesel's multi-backend connection lacks it.
        let inserted = match conn {
            DbConnection::Postgresql(c) => insert.on_conflict_do_nothing().execute(c)?,
            DbConnection::Sqlite(c) => insert.on_conflict_do_nothing().execute(c)?,
        };
        if inserted == 0 {
            // A concurrent fetch inserted it first (PostgreSQL waited for it to commit).
            update_remote(conn, new)?;
        }
    }
    by_ap_id(conn, &new.ap_id)?.ok_or_else(|| Error::Internal("stored actor vanished".into()))
}

fn update_remote(conn: &mut DbConnection, new: &NewActor) -> Result<usize> {
    Ok(
        diesel::update(actors::table.filter(actors::ap_id.eq(&new.ap_id)))
            .set((
                actors::kind.eq(new.kind.as_str()),
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
            .execute(conn)?,
    )
}

/// Ids of every actor this node knows on `host`.
pub fn ids_on_host(conn: &mut DbConnection, host: &str) -> Result<Vec<i32>> {
    Ok(actors::table
        .filter(actors::host.eq(host))
        .select(actors::id)
        .load(conn)?)
}

/// Every local actor: people, rooms, the organisation and the instance actor.
pub fn all_local(conn: &mut DbConnection) -> Result<Vec<Actor>> {
    Ok(actors::table.filter(actors::local.eq(true)).load(conn)?)
}

/// Sets (or, with `None`, removes) the web sign-in password hash of an actor.
pub fn set_password_hash(conn: &mut DbConnection, id: i32, hash: Option<&str>) -> Result<()> {
    diesel::update(actors::table.find(id))
        .set(actors::password_hash.eq(hash))
        .execute(conn)?;
    Ok(())
}
