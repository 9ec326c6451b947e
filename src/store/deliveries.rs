//! Queued deliveries of published activities, one row per activity and remote inbox.
//!
//! A delivery is leased with a conditional UPDATE (`claimed_until`), so several node processes
//! sharing one database never send the same row at once, and a process killed mid-send leaves
//! a lease that simply expires.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::Delivery;
use super::schema::deliveries;
use super::{now, DbConnection};
use crate::domain::kinds::DeliveryState;
use crate::error::Result;

/// Queues a delivery of `body` to `inbox`, due now.
pub fn enqueue(
    conn: &mut DbConnection,
    activity_ap_id: &str,
    signer: i32,
    inbox: &str,
    body: &str,
) -> Result<()> {
    let t = now();
    diesel::insert_into(deliveries::table)
        .values((
            deliveries::activity_ap_id.eq(activity_ap_id),
            deliveries::signer_id.eq(signer),
            deliveries::inbox.eq(inbox),
            deliveries::body.eq(body),
            deliveries::state.eq(DeliveryState::Pending.as_str()),
            deliveries::attempts.eq(0),
            deliveries::next_attempt_at.eq(t),
            deliveries::created_at.eq(t),
        ))
        .execute(conn)?;
    Ok(())
}

/// Leases up to `limit` due deliveries until `lease_until`; rows leased by another worker are
/// skipped, so two processes never send the same delivery at once.
pub fn claim_due(
    conn: &mut DbConnection,
    limit: i64,
    lease_until: NaiveDateTime,
) -> Result<Vec<Delivery>> {
    let t = now();
    let due: Vec<Delivery> = deliveries::table
        .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
        .filter(deliveries::next_attempt_at.le(t))
        .filter(
            deliveries::claimed_until
                .is_null()
                .or(deliveries::claimed_until.lt(t)),
        )
        .order(deliveries::next_attempt_at.asc())
        .limit(limit)
        .load(conn)?;
    let mut claimed = Vec::with_capacity(due.len());
    for d in due {
        let won = diesel::update(
            deliveries::table
                .filter(deliveries::id.eq(d.id))
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(
                    deliveries::claimed_until
                        .is_null()
                        .or(deliveries::claimed_until.lt(t)),
                ),
        )
        .set(deliveries::claimed_until.eq(Some(lease_until)))
        .execute(conn)?;
        if won == 1 {
            claimed.push(d);
        }
    }
    Ok(claimed)
}

/// Records an attempt: the new state, the attempt count, when to try next (for `pending`) and
/// the peer's answer or the error; the lease is released.
pub fn record_attempt(
    conn: &mut DbConnection,
    id: i32,
    state: DeliveryState,
    attempts: i32,
    next_attempt_at: Option<NaiveDateTime>,
    last_error: Option<&str>,
) -> Result<()> {
    let row = deliveries::table.filter(deliveries::id.eq(id));
    match next_attempt_at {
        Some(at) => diesel::update(row)
            .set((
                deliveries::state.eq(state.as_str()),
                deliveries::attempts.eq(attempts),
                deliveries::next_attempt_at.eq(at),
                deliveries::claimed_until.eq(None::<NaiveDateTime>),
                deliveries::last_error.eq(last_error),
            ))
            .execute(conn)?,
        None => diesel::update(row)
            .set((
                deliveries::state.eq(state.as_str()),
                deliveries::attempts.eq(attempts),
                deliveries::claimed_until.eq(None::<NaiveDateTime>),
                deliveries::last_error.eq(last_error),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// Delivery counts by state, for the operator and tests.
pub fn count_by_state(conn: &mut DbConnection) -> Result<Vec<(String, i64)>> {
    Ok(deliveries::table
        .group_by(deliveries::state)
        .select((deliveries::state, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Deliveries not yet done (`pending`, including those waiting for a retry) and when the
/// oldest of them was queued; for the metrics.
pub fn pending_summary(conn: &mut DbConnection) -> Result<(i64, Option<NaiveDateTime>)> {
    let pending =
        || deliveries::table.filter(deliveries::state.eq(DeliveryState::Pending.as_str()));
    let count: i64 = pending().count().get_result(conn)?;
    let oldest: Option<NaiveDateTime> = pending()
        .select(diesel::dsl::min(deliveries::created_at))
        .first(conn)?;
    Ok((count, oldest))
}
