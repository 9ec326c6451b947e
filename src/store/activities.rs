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

/// The newest activities of an actor, newest first: public ones only, or all of them (for the
/// members of a non-public room).
pub fn of_actor(
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

pub fn count_of_actor(conn: &mut DbConnection, actor: i32, everything: bool) -> Result<i64> {
    let mut q = activities::table
        .filter(activities::actor_id.eq(actor))
        .into_boxed();
    if !everything {
        q = q.filter(activities::public.eq(true));
    }
    Ok(q.count().get_result(conn)?)
}
