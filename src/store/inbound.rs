//! What the inbox reads of an activity before its signature is checked: whether a claimed
//! sender's host is blocked, the actor of the claimed key, and whether the activity id was
//! applied before ([`crate::service::inbound::precheck`]); for a reply, also its target
//! (read ahead: only used once the signature proves that the key's actor sent it). On
//! PostgreSQL, where each query is a round trip, the common case (a known key) is one query,
//! the reply's target included; everything else, and every read on SQLite (in-process, no
//! round trips; a reply's target is read when it is stored), takes the three plain lookups.

use diesel::dsl::exists;
use diesel::prelude::*;

use super::blocked_hosts::{self as blocks, BlockedHost};
use super::comments::{reply_target_query, target_of, ReplyTarget, TargetColumns};
use super::models::Actor;
use super::schema::*;
use super::{actors as actor_rows, receipts, DbConnection};
use crate::error::Result;

/// A reply an activity carries: the post `ap_id` answering `in_reply_to`, sent (as claimed,
/// not yet verified) by an actor of `host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyProbe {
    pub in_reply_to: String,
    pub ap_id: String,
    pub host: String,
}

/// A reply's target, read with the screening for the actor of the claimed key.
#[derive(Debug)]
pub struct ReadAhead {
    /// The actor the target was read for (the owner of the claimed key).
    pub author: i32,
    /// The reply it was read for.
    pub reply: ReplyProbe,
    pub target: ReplyTarget,
}

impl ReadAhead {
    /// The target, if it was read for this reply by `author`.
    pub fn target_for(self, author: &Actor, reply: &ReplyProbe) -> Option<ReplyTarget> {
        (self.author == author.id && self.reply == *reply).then_some(self.target)
    }
}

/// What [`screen`] found.
#[derive(Debug, Default)]
pub struct Screened {
    /// The block covering one of the hosts (the first by name), if any.
    pub block: Option<BlockedHost>,
    /// The actor of the key id; not looked up when a host is blocked.
    pub signer: Option<Actor>,
    /// Whether the activity id has a receipt; not looked up when a host is blocked.
    pub seen: bool,
    /// The target of the reply asked about, when it was read along (PostgreSQL, a known key, an
    /// idea this node holds).
    pub reply: Option<ReadAhead>,
}

/// Reads the block of any of `hosts`, the actor of `key_id` and the receipt of `id`, and on
/// PostgreSQL the target of `reply` for the actor of `key_id`.
pub fn screen(
    conn: &mut DbConnection,
    hosts: &[String],
    key_id: Option<&str>,
    id: Option<&str>,
    reply: Option<ReplyProbe>,
) -> Result<Screened> {
    if let (DbConnection::Postgresql(c), Some(key_id), Some(id)) = (&mut *conn, key_id, id) {
        let blocked = exists(blocked_hosts::table.filter(blocked_hosts::host.eq_any(hosts)));
        let seen = exists(inbox_receipts::table.filter(inbox_receipts::ap_id.eq(id)));
        let found: Option<(Actor, bool, bool, Option<ReadAhead>)> = match reply {
            Some(reply) => {
                let query = reply_target_query!(
                    reply.in_reply_to.clone(),
                    reply.ap_id.clone(),
                    reply.host.clone(),
                    (actors::all_columns, blocked, seen)
                )
                .filter(actors::key_id.eq(key_id.to_string()));
                let rows: Vec<((Actor, bool, bool), TargetColumns)> = query.load(c)?;
                let mut rows = rows.into_iter();
                match rows.next() {
                    None => None,
                    Some(((signer, blocked, seen), first)) => {
                        let target = target_of(std::iter::once(first).chain(rows.map(|r| r.1)))?;
                        let read = target.map(|target| ReadAhead {
                            author: signer.id,
                            reply,
                            target,
                        });
                        Some((signer, blocked, seen, read))
                    }
                }
            }
            None => actors::table
                .filter(actors::key_id.eq(key_id))
                .select((actors::all_columns, blocked, seen))
                .first::<(Actor, bool, bool)>(c)
                .optional()?
                .map(|(signer, blocked, seen)| (signer, blocked, seen, None)),
        };
        // A blocked host is rare: its block is read below, with the reason to give.
        if let Some((signer, false, seen, reply)) = found {
            return Ok(Screened {
                block: None,
                signer: Some(signer),
                seen,
                reply,
            });
        }
    }
    let block = blocks::any_of(conn, hosts)?;
    if block.is_some() {
        return Ok(Screened {
            block,
            ..Screened::default()
        });
    }
    let signer = match key_id {
        Some(k) => actor_rows::by_key_id(conn, k)?,
        None => None,
    };
    let seen = match id {
        Some(id) => receipts::exists(conn, id)?,
        None => false,
    };
    Ok(Screened {
        block,
        signer,
        seen,
        reply: None,
    })
}
