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

/// Where an accepted follower gets what the actor it follows sends: what a fan-out needs of
/// it, and nothing more (a follower's row also holds its key and profile).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Recipient {
    /// The follower's server, `host[:port]`.
    pub host: String,
    /// Its delivery inbox: its server's shared inbox, else its own.
    pub inbox: String,
    pub kind: ActorKind,
}

/// The accepted followers of an actor as [`Recipient`]s, in the order they first appeared.
pub fn recipients_of(conn: &mut DbConnection, target: i32) -> Result<Vec<Recipient>> {
    let rows: Vec<(String, Option<String>, String, String)> = follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::follower_id)))
        .filter(follows::target_id.eq(target))
        .filter(follows::state.eq(FollowState::Accepted.as_str()))
        .select((
            actors::host,
            actors::shared_inbox,
            actors::inbox,
            actors::kind,
        ))
        .order(actors::id.asc())
        .load(conn)?;
    rows.into_iter()
        .map(|(host, shared_inbox, inbox, kind)| {
            Ok(Recipient {
                host,
                inbox: shared_inbox.unwrap_or(inbox),
                kind: ActorKind::try_from(kind).map_err(|e| Error::Internal(e.to_string()))?,
            })
        })
        .collect()
}

/// The recipients of the room of the idea a query reads (the `ideas` row in its `FROM`), as
/// one JSON column: `[[host, inbox, kind], ...]`, what [`recipients_of`] reads for that room.
/// A query that needs an idea and its room's followers thus makes one round trip, not two
/// (the inbox announces every reply it stores). Read it with [`parse_recipients`].
#[derive(Debug, Clone, Copy)]
pub struct RoomRecipientsOfIdea;

/// The rows of a [`RoomRecipientsOfIdea`] column.
pub fn parse_recipients(json: &str) -> Result<Vec<Recipient>> {
    let rows: Vec<(String, String, ActorKind)> = serde_json::from_str(json)
        .map_err(|e| Error::Internal(format!("the room's recipients as read: {e}")))?;
    Ok(rows
        .into_iter()
        .map(|(host, inbox, kind)| Recipient { host, inbox, kind })
        .collect())
}

mod recipients_column {
    use diesel::backend::Backend;
    use diesel::expression::ValidGrouping;
    use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
    use diesel::query_builder::{AstPass, QueryFragment, QueryId};
    use diesel::QueryResult;

    use super::RoomRecipientsOfIdea;
    use crate::domain::kinds::FollowState;
    use crate::store::MultiBackend;

    /// The same subquery on both backends but for the JSON aggregate, which PostgreSQL calls
    /// `json_agg` (NULL over no rows) and SQLite `json_group_array`.
    fn walk<DB: Backend>(mut out: AstPass<'_, '_, DB>, aggregate: &str) -> QueryResult<()> {
        out.push_sql("(SELECT ");
        out.push_sql(aggregate);
        out.push_sql(
            " FROM follows AS rf INNER JOIN actors AS ra ON ra.id = rf.follower_id \
             WHERE rf.target_id = ideas.room_id AND rf.state = '",
        );
        out.push_sql(FollowState::Accepted.as_str());
        out.push_sql("')");
        Ok(())
    }

    /// A recipient's JSON array: host, delivery inbox, kind.
    macro_rules! row {
        () => {
            "(ra.host, COALESCE(ra.shared_inbox, ra.inbox), ra.kind)"
        };
    }

    impl QueryFragment<diesel::pg::Pg> for RoomRecipientsOfIdea {
        fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
            walk(
                out,
                concat!(
                    "COALESCE(json_agg(json_build_array",
                    row!(),
                    " ORDER BY ra.id), '[]')::text"
                ),
            )
        }
    }

    impl QueryFragment<diesel::sqlite::Sqlite> for RoomRecipientsOfIdea {
        fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
            walk(
                out,
                concat!("json_group_array(json_array", row!(), " ORDER BY ra.id)"),
            )
        }
    }

    impl QueryFragment<MultiBackend> for RoomRecipientsOfIdea {
        fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
            MultiBackend::walk_variant_ast(self, pass)
        }
    }

    impl QueryId for RoomRecipientsOfIdea {
        type QueryId = RoomRecipientsOfIdea;
        const HAS_STATIC_QUERY_ID: bool = true;
    }

    impl Expression for RoomRecipientsOfIdea {
        type SqlType = diesel::sql_types::Text;
    }

    impl<QS> AppearsOnTable<QS> for RoomRecipientsOfIdea {}
    impl<QS> SelectableExpression<QS> for RoomRecipientsOfIdea {}
    impl<GB> ValidGrouping<GB> for RoomRecipientsOfIdea {
        type IsAggregate = is_aggregate::Never;
    }
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
