//! The idempotent inbox: ids of inbound activities already applied.

use diesel::prelude::*;

use super::schema::*;
use super::{now, DbConnection};
use crate::error::Result;

/// Records an inbound activity id; false when it was seen before. The primary key makes this
/// hold across processes sharing one database: a concurrent duplicate fails its transaction.
pub fn record(conn: &mut DbConnection, ap_id: &str, actor: &str, kind: &str) -> Result<bool> {
    let row = (
        inbox_receipts::ap_id.eq(ap_id),
        inbox_receipts::actor.eq(actor),
        inbox_receipts::kind.eq(kind),
        inbox_receipts::received_at.eq(now()),
    );
    // An id seen before inserts nothing. So does a concurrent delivery of the same activity
    // (bovine sends a reply to each addressee's inbox at once) that inserted the receipt first:
    // PostgreSQL waits for it to commit, so this one is a duplicate, not a failure. `ON CONFLICT` is written per
    // backend, as diesel's multi-backend connection does not offer it.
    let insert = diesel::insert_into(inbox_receipts::table).values(row);
    let inserted = match conn {
        DbConnection::Postgresql(c) => insert.on_conflict_do_nothing().execute(c)?,
        DbConnection::Sqlite(c) => insert.on_conflict_do_nothing().execute(c)?,
    };
    Ok(inserted > 0)
}

pub fn exists(conn: &mut DbConnection, ap_id: &str) -> Result<bool> {
    let query = inbox_receipts::table
        .filter(inbox_receipts::ap_id.eq(ap_id))
        .count();
    let seen: i64 = per_backend!(conn, |c| query.get_result(c))?;
    Ok(seen > 0)
}
