//! What the inbox reads of an activity before its signature is checked: whether a claimed
//! sender's host is blocked, the actor of the claimed key, and whether the activity id was
//! applied before ([`crate::service::inbound::precheck`]). On PostgreSQL, where each query
//! is a round trip, the common case (a known key) is one query; everything else, and every
//! read on SQLite (in-process, no round trips), takes the three plain lookups.

use diesel::dsl::exists;
use diesel::prelude::*;

use super::blocked_hosts::{self as blocks, BlockedHost};
use super::models::Actor;
use super::schema::*;
use super::{actors as actor_rows, receipts, DbConnection};
use crate::error::Result;

/// What [`screen`] found.
#[derive(Debug, Default)]
pub struct Screened {
    /// The block covering one of the hosts (the first by name), if any.
    pub block: Option<BlockedHost>,
    /// The actor of the key id; not looked up when a host is blocked.
    pub signer: Option<Actor>,
    /// Whether the activity id has a receipt; not looked up when a host is blocked.
    pub seen: bool,
}

/// Reads the block of any of `hosts`, the actor of `key_id` and the receipt of `id`.
pub fn screen(
    conn: &mut DbConnection,
    hosts: &[String],
    key_id: Option<&str>,
    id: Option<&str>,
) -> Result<Screened> {
    if let (DbConnection::Postgresql(_), Some(key_id), Some(id)) = (&*conn, key_id, id) {
        let blocked = exists(blocked_hosts::table.filter(blocked_hosts::host.eq_any(hosts)));
        let seen = exists(inbox_receipts::table.filter(inbox_receipts::ap_id.eq(id)));
        let found: Option<(Actor, bool, bool)> = actors::table
            .filter(actors::key_id.eq(key_id))
            .select((actors::all_columns, blocked, seen))
            .first(conn)
            .optional()?;
        // A blocked host is rare: its block is read below, with the reason to give.
        if let Some((signer, false, seen)) = found {
            return Ok(Screened {
                block: None,
                signer: Some(signer),
                seen,
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
    })
}
