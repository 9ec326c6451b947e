//! How deliveries to each remote host are going: one row per `host[:port]` a delivery was ever
//! queued for, with its retryable failures in a row, the time before which it is not tried
//! (`retry_at`) and whether it is parked (only a probe is sent).
//!
//! Promises: a host row exists before any delivery to that host is queued ([`ensure`], called
//! by [`super::deliveries::enqueue`]); [`lock_ready`] is how a delivery worker takes hosts to
//! work on, and on PostgreSQL it locks their rows with `FOR UPDATE SKIP LOCKED`, so two workers
//! claiming at the same moment never take the same host.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::DeliveryHost;
use super::schema::{deliveries, delivery_hosts};
use super::{now, DbConnection};
use crate::domain::kinds::DeliveryState;
use crate::error::Result;

/// Makes sure `host` has a row (a new host starts healthy).
pub fn ensure(conn: &mut DbConnection, host: &str) -> Result<()> {
    let insert = diesel::insert_into(delivery_hosts::table).values((
        delivery_hosts::host.eq(host),
        delivery_hosts::failures.eq(0),
        delivery_hosts::updated_at.eq(now()),
    ));
    // `ON CONFLICT` is written per backend, as diesel's multi-backend connection lacks it; on
    // PostgreSQL a concurrent insert of the same host waits and then inserts nothing.
    match conn {
        DbConnection::Postgresql(c) => insert.on_conflict_do_nothing().execute(c)?,
        DbConnection::Sqlite(c) => insert.on_conflict_do_nothing().execute(c)?,
    };
    Ok(())
}

/// Adds a row for every host with pending deliveries that has none (a database written by an
/// older version); returns how many were added.
pub fn ensure_all_pending(conn: &mut DbConnection) -> Result<usize> {
    let missing: Vec<String> = deliveries::table
        .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
        .filter(diesel::dsl::not(
            deliveries::host.eq_any(delivery_hosts::table.select(delivery_hosts::host)),
        ))
        .select(deliveries::host)
        .distinct()
        .load(conn)?;
    for host in &missing {
        ensure(conn, host)?;
    }
    Ok(missing.len())
}

/// Up to `limit` hosts that have a due, unleased pending delivery and are not waiting for
/// their `retry_at`, least recently served first. On PostgreSQL the rows are locked until the
/// claiming transaction ends, and rows another worker holds are skipped.
pub fn lock_ready(
    conn: &mut DbConnection,
    limit: i64,
    t: NaiveDateTime,
) -> Result<Vec<DeliveryHost>> {
    if let DbConnection::Postgresql(c) = conn {
        return lock_ready_postgres(c, limit, t);
    }
    let due_hosts = deliveries::table
        .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
        .filter(deliveries::next_attempt_at.le(t))
        .filter(
            deliveries::claimed_until
                .is_null()
                .or(deliveries::claimed_until.lt(t)),
        )
        .select(deliveries::host);
    let query = delivery_hosts::table
        .filter(
            delivery_hosts::retry_at
                .is_null()
                .or(delivery_hosts::retry_at.le(t)),
        )
        .filter(delivery_hosts::host.eq_any(due_hosts))
        .order((delivery_hosts::updated_at.asc(), delivery_hosts::host.asc()))
        .limit(limit);
    // SQLite has one writer at a time: the claiming transaction is the lock.
    Ok(query.load(conn)?)
}

/// [`lock_ready`] on PostgreSQL. Written as a query of the hosts in turn that stops once it
/// has enough: the planner otherwise checks the queue of every host (a join of all hosts with
/// all due deliveries) and only then sorts and takes the first, 2.6 ms a claim with 1,000
/// hosts during a fan-out. The `LIMIT` of the inner query keeps it from being merged into
/// the outer one; it takes twice `limit` candidates, so that hosts another worker has locked
/// (skipped by the outer query) leave others to take.
fn lock_ready_postgres(
    conn: &mut diesel::PgConnection,
    limit: i64,
    t: NaiveDateTime,
) -> Result<Vec<DeliveryHost>> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    const SQL: &str = "SELECT * FROM delivery_hosts WHERE host IN ( \
           SELECT h.host FROM delivery_hosts h \
           WHERE (h.retry_at IS NULL OR h.retry_at <= $1) AND EXISTS ( \
               SELECT 1 FROM deliveries d WHERE d.host = h.host AND d.state = $2 \
               AND d.next_attempt_at <= $1 AND (d.claimed_until IS NULL OR d.claimed_until < $1)) \
           ORDER BY h.updated_at, h.host LIMIT $3) \
       ORDER BY updated_at, host LIMIT $4 FOR UPDATE SKIP LOCKED";
    Ok(diesel::sql_query(SQL)
        .bind::<Timestamp, _>(t)
        .bind::<Text, _>(DeliveryState::Pending.as_str())
        .bind::<BigInt, _>(limit.saturating_mul(2))
        .bind::<BigInt, _>(limit)
        .load(conn)?)
}

/// Marks `host` as just served, so that the next claim starts with other hosts.
pub fn touch(conn: &mut DbConnection, host: &str, t: NaiveDateTime) -> Result<()> {
    diesel::update(delivery_hosts::table.filter(delivery_hosts::host.eq(host)))
        .set(delivery_hosts::updated_at.eq(t))
        .execute(conn)?;
    Ok(())
}

/// The row of `host`, if any.
pub fn get(conn: &mut DbConnection, host: &str) -> Result<Option<DeliveryHost>> {
    Ok(delivery_hosts::table
        .filter(delivery_hosts::host.eq(host))
        .first(conn)
        .optional()?)
}

/// The host answered (2xx, or a final 4xx): its failures are forgotten and it is unparked.
/// Returns the row as it was before, when there was anything to forget.
pub fn record_answer(conn: &mut DbConnection, host: &str) -> Result<Option<DeliveryHost>> {
    Ok(record_answers(conn, &[host])?.pop())
}

/// Several hosts answered: [`record_answer`] for each of `hosts`, in two statements whatever
/// their number (hosts with nothing to forget are not written). Returns the rows, as they were
/// before, of the hosts that had failures, a retry time or parking.
pub fn record_answers(conn: &mut DbConnection, hosts: &[&str]) -> Result<Vec<DeliveryHost>> {
    if hosts.is_empty() {
        return Ok(Vec::new());
    }
    let before: Vec<DeliveryHost> = delivery_hosts::table
        .filter(delivery_hosts::host.eq_any(hosts))
        .filter(
            delivery_hosts::failures
                .ne(0)
                .or(delivery_hosts::parked_since.is_not_null())
                .or(delivery_hosts::retry_at.is_not_null()),
        )
        .load(conn)?;
    if before.is_empty() {
        return Ok(before);
    }
    let t = now();
    let names: Vec<&str> = before.iter().map(|h| h.host.as_str()).collect();
    diesel::update(delivery_hosts::table.filter(delivery_hosts::host.eq_any(&names)))
        .set((
            delivery_hosts::failures.eq(0),
            delivery_hosts::retry_at.eq(None::<NaiveDateTime>),
            delivery_hosts::parked_since.eq(None::<NaiveDateTime>),
            delivery_hosts::last_attempt_at.eq(Some(t)),
            delivery_hosts::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(before)
}

/// A retryable failure: `failures` in a row now, no try before `retry_at`, parked since
/// `parked_since` (kept when already parked).
pub fn record_failure(
    conn: &mut DbConnection,
    host: &str,
    failures: i32,
    retry_at: NaiveDateTime,
    parked_since: Option<NaiveDateTime>,
    error: &str,
) -> Result<()> {
    ensure(conn, host)?;
    let t = now();
    diesel::update(delivery_hosts::table.filter(delivery_hosts::host.eq(host)))
        .set((
            delivery_hosts::failures.eq(failures),
            delivery_hosts::retry_at.eq(Some(retry_at)),
            delivery_hosts::parked_since.eq(parked_since),
            delivery_hosts::last_error.eq(Some(error)),
            delivery_hosts::last_attempt_at.eq(Some(t)),
            delivery_hosts::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(())
}

/// Lets `host` be tried at once (an operator retried one of its deliveries); its failure count
/// and parking stay, so a parked host gets one probe.
pub fn try_now(conn: &mut DbConnection, host: &str) -> Result<()> {
    diesel::update(
        delivery_hosts::table
            .filter(delivery_hosts::host.eq(host))
            .filter(delivery_hosts::retry_at.is_not_null()),
    )
    .set(delivery_hosts::retry_at.eq(Some(now())))
    .execute(conn)?;
    Ok(())
}

/// Hosts that are parked or backing off, most failures first: what an operator looks at.
pub fn troubled(conn: &mut DbConnection) -> Result<Vec<DeliveryHost>> {
    Ok(delivery_hosts::table
        .filter(delivery_hosts::failures.gt(0))
        .order((delivery_hosts::failures.desc(), delivery_hosts::host.asc()))
        .load(conn)?)
}

/// How many hosts are parked; for the metrics.
pub fn count_parked(conn: &mut DbConnection) -> Result<i64> {
    Ok(delivery_hosts::table
        .filter(delivery_hosts::parked_since.is_not_null())
        .count()
        .get_result(conn)?)
}
