//! Activities this node published, kept to serve them and to answer outbox reads.

use diesel::prelude::*;

use super::models::*;
use super::schema::*;
use super::{now, DbConnection};
use crate::error::Result;

pub fn insert(
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

/// The newest activities of an actor, newest first.
pub fn of_actor(
    conn: &mut DbConnection,
    actor: i32,
    limit: i64,
    listing: Listing,
) -> Result<Vec<StoredActivity>> {
    let mut q = activities::table
        .filter(activities::actor_id.eq(actor))
        .into_boxed();
    if listing == Listing::Public {
        q = q.filter(activities::public.eq(true));
    }
    Ok(q.order(activities::id.desc()).limit(limit).load(conn)?)
}

pub fn count_of_actor(conn: &mut DbConnection, actor: i32, listing: Listing) -> Result<i64> {
    let mut q = activities::table
        .filter(activities::actor_id.eq(actor))
        .into_boxed();
    if listing == Listing::Public {
        q = q.filter(activities::public.eq(true));
    }
    Ok(q.count().get_result(conn)?)
}
