//! The idempotent inbox: ids of inbound activities already applied.

use diesel::prelude::*;

use super::schema::*;
use super::{now, DbConnection};
use crate::error::Result;

/// Records an inbound activity id; false when it was seen before. The primary key makes this
/// hold across processes sharing one database: a concurrent duplicate fails its transaction.
pub fn record(conn: &mut DbConnection, ap_id: &str, actor: &str, kind: &str) -> Result<bool> {
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

pub fn exists(conn: &mut DbConnection, ap_id: &str) -> Result<bool> {
    let seen: i64 = inbox_receipts::table
        .filter(inbox_receipts::ap_id.eq(ap_id))
        .count()
        .get_result(conn)?;
    Ok(seen > 0)
}
