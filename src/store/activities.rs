//! Activities this node published, kept to serve them and to answer outbox reads.

use diesel::prelude::*;

use super::models::*;
use super::schema::*;
use super::{now, DbConnection};
use crate::error::Result;

/// An activity this node publishes, as stored: served at its id, listed in its actor's outbox
/// when `listed`.
#[derive(Debug, Clone, Copy)]
pub struct NewActivity<'a> {
    pub ap_id: &'a str,
    pub actor_id: i32,
    pub kind: &'a str,
    pub body: &'a str,
    pub public: bool,
    pub listed: bool,
}

pub fn insert(conn: &mut DbConnection, new: &NewActivity<'_>) -> Result<()> {
    let insert = diesel::insert_into(activities::table).values((
        activities::ap_id.eq(new.ap_id),
        activities::actor_id.eq(new.actor_id),
        activities::kind.eq(new.kind),
        activities::body.eq(new.body),
        activities::public.eq(new.public),
        activities::published.eq(now()),
        activities::listed.eq(new.listed),
    ));
    per_backend!(conn, |c| insert.execute(c))?;
    Ok(())
}

pub fn by_ap_id(conn: &mut DbConnection, ap_id: &str) -> Result<Option<StoredActivity>> {
    Ok(activities::table
        .filter(activities::ap_id.eq(ap_id))
        .first(conn)
        .optional()?)
}

/// Which of an actor's activities a listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Those addressed to the public.
    Public,
    /// All of them (for the members of a non-public room).
    All,
}

/// The activities an actor's outbox lists, newest first: `limit` of them after skipping the
/// `offset` newest.
pub fn of_actor(
    conn: &mut DbConnection,
    actor: i32,
    offset: i64,
    limit: i64,
    listing: Listing,
) -> Result<Vec<StoredActivity>> {
    let mut q = activities::table
        .filter(activities::actor_id.eq(actor))
        .filter(activities::listed.eq(true))
        .into_boxed();
    if listing == Listing::Public {
        q = q.filter(activities::public.eq(true));
    }
    Ok(q.order(activities::id.desc())
        .offset(offset)
        .limit(limit)
        .load(conn)?)
}

/// How many activities an actor's outbox lists.
pub fn count_of_actor(conn: &mut DbConnection, actor: i32, listing: Listing) -> Result<i64> {
    let mut q = activities::table
        .filter(activities::actor_id.eq(actor))
        .filter(activities::listed.eq(true))
        .into_boxed();
    if listing == Listing::Public {
        q = q.filter(activities::public.eq(true));
    }
    Ok(q.count().get_result(conn)?)
}
