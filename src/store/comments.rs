//! Comments on ideas (replies to an idea or to another comment).

use diesel::prelude::*;

use super::activities::NewActivity;
use super::follows::{parse_recipients, Recipient};
use super::models::*;
use super::schema::*;
use super::{now, DbConnection};
use crate::domain::kinds::ActorKind;
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
    /// The room's memberships that may apply to the author, with the kind of each member:
    /// the author's own and those of `Organization`s on the author's host (which one applies
    /// is [`crate::service::policy::membership_among`]'s rule).
    pub memberships: Vec<(RoomMember, ActorKind)>,
    /// The room's accepted followers, to whom a local room announces the reply.
    pub recipients: Vec<Recipient>,
}

/// The columns of a reply target in [`reply_target_query!`]'s rows (all empty when the idea
/// is not there).
pub type TargetColumns = (
    Option<Idea>,
    Option<Actor>,
    Option<RoomSettings>,
    bool,
    String,
    Option<RoomMember>,
    Option<String>,
);

/// The query of a reply target, from the `actors` row of the reply's author (the caller
/// filters `actors` to that one row): the idea `$in_reply_to` with its room, the room's
/// settings, whether the comment `$ap_id` is held, the room's followers, and one row per
/// membership in the room that may apply to the author (its own, and those of organisations
/// on `$host`, the author's host), or one row without. A row is `(lead, target)` where `lead`
/// is what `$lead` selects (none: `(target,)`) and `target` is [`TargetColumns`]; read the
/// targets with [`target_of`]. The inbox reads a
/// reply's target together with the screening of its sender
/// ([`super::inbound::screen`]), one round trip instead of two.
macro_rules! reply_target_query {
    ($in_reply_to:expr, $ap_id:expr, $host:expr $(, $lead:expr)?) => {{
        use $crate::store::follows::RoomRecipientsOfIdea;
        use $crate::store::schema::{actors, comments, ideas, room_members, room_settings};
        let (rooms, members, orgs) =
            diesel::alias!(actors as rooms, actors as members, actors as orgs);
        let held = diesel::dsl::exists(comments::table.filter(comments::ap_id.eq($ap_id)));
        let organisations = orgs
            .filter(orgs.field(actors::host).eq($host))
            .filter(
                orgs.field(actors::kind)
                    .eq($crate::domain::kinds::ActorKind::Organization.as_str()),
            )
            .select(orgs.field(actors::id));
        actors::table
            .left_join(ideas::table.on(ideas::ap_id.eq($in_reply_to)))
            .left_join(rooms.on(rooms.field(actors::id).eq(ideas::room_id)))
            .left_join(room_settings::table.on(room_settings::room_id.eq(ideas::room_id)))
            .left_join(
                room_members::table.on(room_members::room_id.eq(ideas::room_id).and(
                    room_members::actor_id
                        .eq(actors::id)
                        .or(room_members::actor_id.eq_any(organisations)),
                )),
            )
            .left_join(members.on(members.field(actors::id).eq(room_members::actor_id)))
            .select((
                $($lead,)?
                (
                    ideas::all_columns.nullable(),
                    rooms.fields(actors::all_columns).nullable(),
                    room_settings::all_columns.nullable(),
                    held,
                    RoomRecipientsOfIdea,
                    room_members::all_columns.nullable(),
                    members.field(actors::kind).nullable(),
                ),
            ))
    }};
}
pub(crate) use reply_target_query;

/// The reply target in the rows of a [`reply_target_query!`]; `None` when the idea is not
/// there.
pub fn target_of(rows: impl IntoIterator<Item = TargetColumns>) -> Result<Option<ReplyTarget>> {
    let mut rows = rows.into_iter();
    let Some((Some(idea), Some(room), settings, held, recipients, member, kind)) = rows.next()
    else {
        return Ok(None);
    };
    let recipients = parse_recipients(&recipients)?;
    let memberships = std::iter::once((member, kind))
        .chain(rows.map(|row| (row.5, row.6)))
        .filter_map(|(m, kind)| Some((m?, ActorKind::parse(kind?.as_str())?)))
        .collect();
    Ok(Some(ReplyTarget {
        idea,
        room,
        settings,
        held,
        memberships,
        recipients,
    }))
}

/// The idea `idea_ap_id` with its room, the room's settings, whether the comment `ap_id` is
/// held, the memberships in the room that may apply to `author` and the room's followers, in
/// one query; `None` when there is no such idea.
pub fn reply_target(
    conn: &mut DbConnection,
    idea_ap_id: &str,
    ap_id: &str,
    author: &Actor,
) -> Result<Option<ReplyTarget>> {
    // Owned binds: a query with aliases must not borrow (diesel asks `'static` of it).
    let (idea_ap_id, ap_id) = (idea_ap_id.to_string(), ap_id.to_string());
    let query = reply_target_query!(idea_ap_id, ap_id, author.host.clone())
        .filter(actors::id.eq(author.id));
    let rows: Vec<(TargetColumns,)> = per_backend!(conn, |c| query.load(c))?;
    target_of(rows.into_iter().map(|(target,)| target))
}

pub fn by_id(conn: &mut DbConnection, id: i32) -> Result<Option<Comment>> {
    Ok(comments::table.find(id).first(conn).optional()?)
}

pub fn by_ap_id(conn: &mut DbConnection, ap_id: &str) -> Result<Option<Comment>> {
    let query = comments::table.filter(comments::ap_id.eq(ap_id));
    Ok(per_backend!(conn, |c| query.first(c).optional())?)
}

/// The receipt of an inbound activity: its id, its actor's id and its type.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptOf<'a> {
    pub ap_id: &'a str,
    pub actor: &'a str,
    pub kind: &'a str,
}

/// Records the receipt of the activity that carried the comment `new`, inserts the comment
/// and stores `relay`, the activity this node publishes about it (a local room's `Announce`),
/// unless the receipt was there already (a duplicate: nothing is inserted, and the answer is
/// false). One statement on PostgreSQL (a data-modifying `WITH`; the inbox stores many
/// replies, and each statement is a round trip), [`super::receipts::record`], [`insert`] and
/// [`super::activities::insert`] on SQLite.
pub fn insert_received(
    conn: &mut DbConnection,
    receipt: ReceiptOf<'_>,
    new: &NewComment,
    relay: Option<&NewActivity<'_>>,
) -> Result<bool> {
    match conn {
        DbConnection::Postgresql(c) => {
            let received_at = now();
            let inserted = match relay {
                Some(relay) => ReceivedComment::<true> {
                    receipt,
                    received_at,
                    new,
                    relay: Some(relay),
                }
                .execute(c)?,
                None => ReceivedComment::<false> {
                    receipt,
                    received_at,
                    new,
                    relay: None,
                }
                .execute(c)?,
            };
            Ok(inserted > 0)
        }
        DbConnection::Sqlite(_) => {
            if !super::receipts::record(conn, receipt.ap_id, receipt.actor, receipt.kind)? {
                return Ok(false);
            }
            insert(conn, new)?;
            if let Some(relay) = relay {
                super::activities::insert(conn, relay)?;
            }
            Ok(true)
        }
    }
}

/// [`insert_received`]'s statement on PostgreSQL, `RELAYED` when it also stores the relayed
/// activity (then `relay` is given). Its text is the same for every reply of its kind, so
/// the connection prepares it once (`QueryId`), as it does diesel's own queries.
struct ReceivedComment<'a, const RELAYED: bool> {
    receipt: ReceiptOf<'a>,
    received_at: chrono::NaiveDateTime,
    new: &'a NewComment,
    relay: Option<&'a NewActivity<'a>>,
}

impl<const RELAYED: bool> diesel::query_builder::QueryFragment<diesel::pg::Pg>
    for ReceivedComment<'_, RELAYED>
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamp};
        /// Binds values as a comma-separated list, each with its SQL type.
        macro_rules! binds {
            ($out:ident; $first_ty:ty => $first:expr $(, $ty:ty => $value:expr)* $(,)?) => {
                $out.push_bind_param::<$first_ty, _>($first)?;
                $(
                    $out.push_sql(", ");
                    $out.push_bind_param::<$ty, _>($value)?;
                )*
            };
        }
        if RELAYED && self.relay.is_none() {
            // Would be an unfinished `WITH`: said plainly instead of by the server.
            return Err(diesel::result::Error::QueryBuilderError(
                "a relayed reply's statement needs the relayed activity".into(),
            ));
        }
        let (receipt, new) = (&self.receipt, self.new);
        out.push_sql(
            "WITH receipt AS (INSERT INTO inbox_receipts (ap_id, actor, kind, received_at) \
             VALUES (",
        );
        binds!(out; Text => receipt.ap_id, Text => receipt.actor, Text => receipt.kind,
            Timestamp => &self.received_at);
        out.push_sql(") ON CONFLICT DO NOTHING RETURNING 1)");
        if RELAYED {
            out.push_sql(", reply AS (");
        } else {
            out.push_sql(" ");
        }
        out.push_sql(
            "INSERT INTO comments (ap_id, idea_id, author_id, in_reply_to, content, source, \
             local, deleted, published, updated, terms) SELECT ",
        );
        binds!(out;
            Text => &new.ap_id,
            Integer => &new.idea_id,
            Integer => &new.author_id,
            Text => &new.in_reply_to,
            Text => &new.content,
            Nullable<Text> => &new.source,
            Bool => &new.local,
            Bool => &new.deleted,
            Timestamp => &new.published,
            Timestamp => &new.updated,
            Nullable<Text> => &new.terms,
        );
        out.push_sql(" FROM receipt");
        if let (true, Some(relay)) = (RELAYED, self.relay) {
            out.push_sql(
                " RETURNING 1) INSERT INTO activities (ap_id, actor_id, kind, body, public, \
                 published, listed) SELECT ",
            );
            binds!(out;
                Text => relay.ap_id,
                Integer => &relay.actor_id,
                Text => relay.kind,
                Text => relay.body,
                Bool => &relay.public,
                Timestamp => &self.received_at,
                Bool => &relay.listed,
            );
            out.push_sql(" FROM reply");
        }
        Ok(())
    }
}

impl<const RELAYED: bool> diesel::query_builder::QueryId for ReceivedComment<'_, RELAYED> {
    type QueryId = ReceivedCommentQuery<RELAYED>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// The identity of [`ReceivedComment`]'s statement in the connection's statement cache.
struct ReceivedCommentQuery<const RELAYED: bool>;

impl<const RELAYED: bool> RunQueryDsl<diesel::PgConnection> for ReceivedComment<'_, RELAYED> {}

pub fn insert(conn: &mut DbConnection, new: &NewComment) -> Result<Comment> {
    let insert = diesel::insert_into(comments::table).values(new);
    Ok(per_backend!(conn, |c| insert.get_result(c))?)
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
