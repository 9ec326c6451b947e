//! How deliveries to each remote host are going: one row per `host[:port]` a delivery was ever
//! queued for, with its retryable failures in a row, the time before which it is not tried
//! (`retry_at`) and whether it is parked (only a probe is sent).
//!
//! Promises: a host row exists, marked `queued`, before any delivery to that host is queued or
//! queued again ([`mark_queued`], called by [`super::deliveries`]); a host is unmarked only
//! by [`lock_ready`], after it found the host's queue empty; [`lock_ready`] is how a delivery worker takes hosts to
//! work on, and on PostgreSQL it locks their rows with `FOR UPDATE SKIP LOCKED`, so two workers
//! claiming at the same moment never take the same host.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use diesel::sql_types::{Array, Text, Timestamp};

use super::models::DeliveryHost;
use super::schema::{deliveries, delivery_hosts};
use super::{now, DbConnection};
use crate::domain::kinds::DeliveryState;
use crate::error::Result;

/// Makes sure `host` has a row, marked `queued` ([`mark_queued`]).
pub fn ensure(conn: &mut DbConnection, host: &str) -> Result<()> {
    mark_queued(conn, &[host])
}

/// Makes sure each of `hosts` has a row (a new host starts healthy) marked `queued`: called in
/// the transaction that queues deliveries to them. One statement whatever their number.
///
/// On PostgreSQL the row of a host that is marked already is not written but is still locked
/// (an `ON CONFLICT DO UPDATE` whose condition fails locks the row it conflicted with) until
/// the queuing transaction ends. That lock is what keeps [`lock_ready`] from unmarking a host
/// whose new delivery it cannot see yet: it unmarks only hosts whose rows it holds.
pub fn mark_queued(conn: &mut DbConnection, hosts: &[&str]) -> Result<()> {
    let hosts = lock_order(hosts);
    if hosts.is_empty() {
        return Ok(());
    }
    let t = now();
    // One statement whatever the number of hosts.
    match conn {
        DbConnection::Postgresql(c) => {
            // Also a part of `deliveries::enqueue_all`'s one statement on PostgreSQL.
            diesel::sql_query(
                "INSERT INTO delivery_hosts (host, failures, updated_at, queued) \
                 SELECT unnest($1::text[]), 0, $2, TRUE \
                 ON CONFLICT (host) DO UPDATE SET queued = TRUE WHERE NOT delivery_hosts.queued",
            )
            .bind::<Array<Text>, _>(&hosts)
            .bind::<Timestamp, _>(t)
            .execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            let list = serde_json::to_string(&hosts)
                .map_err(|e| crate::error::Error::Internal(format!("host list: {e}")))?;
            // `WHERE TRUE` tells SQLite's parser that `ON CONFLICT` belongs to the insert.
            diesel::sql_query(
                "INSERT INTO delivery_hosts (host, failures, updated_at, queued) \
                 SELECT value, 0, ?, 1 FROM json_each(?) WHERE TRUE \
                 ON CONFLICT (host) DO UPDATE SET queued = 1 WHERE NOT delivery_hosts.queued",
            )
            .bind::<Timestamp, _>(t)
            .bind::<Text, _>(list)
            .execute(c)?;
        }
    }
    Ok(())
}

/// The distinct hosts of `hosts` in the one order in which every transaction locks their rows
/// (so that two transactions that queue to shared hosts cannot deadlock).
pub(super) fn lock_order<'a>(hosts: &[&'a str]) -> Vec<&'a str> {
    let mut hosts = hosts.to_vec();
    hosts.sort_unstable();
    hosts.dedup();
    hosts
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
/// claiming transaction ends, and rows another worker holds are skipped (on SQLite, which has
/// one writer at a time, the claiming transaction is the lock).
///
/// It walks the `queued` hosts in turn (an index holds them in that order) and looks at the
/// first pending delivery of each, stopping once it has enough: a host is ready when that
/// delivery is due and not leased. Its cost follows the hosts it looks at, not the deliveries
/// queued; before, it read every due delivery, 11 ms a claim on PostgreSQL and half of
/// SQLite's writing time during a fan-out of 30 ideas to 1,000 servers.
///
/// The walk also takes queued hosts whose queue is empty; a second statement unmarks them,
/// while their rows are held, if it still finds nothing pending (it sees every delivery
/// committed before it; one queued later marks the host again).
pub fn lock_ready(
    conn: &mut DbConnection,
    limit: i64,
    t: NaiveDateTime,
) -> Result<Vec<DeliveryHost>> {
    use diesel::sql_types::BigInt;
    // The inner `LIMIT` takes twice `limit` candidates, so that hosts another worker has
    // locked (skipped by the outer query) leave others to take.
    const POSTGRES: &str = "SELECT h.*, c.empty FROM delivery_hosts h JOIN ( \
           SELECT q.host, f.id IS NULL AS empty FROM delivery_hosts q \
           LEFT JOIN LATERAL ( \
               SELECT d.id, d.next_attempt_at, d.claimed_until FROM deliveries d \
               WHERE d.host = q.host AND d.state = $2 ORDER BY d.id LIMIT 1) f ON TRUE \
           WHERE q.queued AND (q.retry_at IS NULL OR q.retry_at <= $1) \
             AND (f.id IS NULL OR (f.next_attempt_at <= $1 \
                  AND (f.claimed_until IS NULL OR f.claimed_until < $1))) \
           ORDER BY q.updated_at, q.host LIMIT $3) c ON c.host = h.host \
       ORDER BY h.updated_at, h.host LIMIT $4 FOR UPDATE OF h SKIP LOCKED";
    const SQLITE: &str = "SELECT h.*, f.id IS NULL AS empty FROM delivery_hosts h \
           LEFT JOIN deliveries f ON f.id = ( \
               SELECT d.id FROM deliveries d \
               WHERE d.host = h.host AND d.state = ?2 ORDER BY d.id LIMIT 1) \
           WHERE h.queued AND (h.retry_at IS NULL OR h.retry_at <= ?1) \
             AND (f.id IS NULL OR (f.next_attempt_at <= ?1 \
                  AND (f.claimed_until IS NULL OR f.claimed_until < ?1))) \
           ORDER BY h.updated_at, h.host LIMIT ?3";
    let pending = DeliveryState::Pending.as_str();
    let found: Vec<Candidate> = match conn {
        DbConnection::Postgresql(c) => diesel::sql_query(POSTGRES)
            .bind::<Timestamp, _>(t)
            .bind::<Text, _>(pending)
            .bind::<BigInt, _>(limit.saturating_mul(2))
            .bind::<BigInt, _>(limit)
            .load(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(SQLITE)
            .bind::<Timestamp, _>(t)
            .bind::<Text, _>(pending)
            .bind::<BigInt, _>(limit)
            .load(c)?,
    };
    let (empty, ready): (Vec<Candidate>, Vec<Candidate>) = found.into_iter().partition(|c| c.empty);
    if !empty.is_empty() {
        let hosts: Vec<&str> = empty.iter().map(|c| c.host_row.host.as_str()).collect();
        let pending = deliveries::table
            .filter(deliveries::host.eq(delivery_hosts::host))
            .filter(deliveries::state.eq(pending));
        diesel::update(
            delivery_hosts::table
                .filter(delivery_hosts::host.eq_any(&hosts))
                .filter(diesel::dsl::not(diesel::dsl::exists(pending))),
        )
        .set(delivery_hosts::queued.eq(false))
        .execute(conn)?;
    }
    Ok(ready.into_iter().map(|c| c.host_row).collect())
}

/// A host row as the claim reads it: with whether its queue was empty.
#[derive(QueryableByName)]
struct Candidate {
    #[diesel(embed)]
    host_row: DeliveryHost,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    empty: bool,
}

/// Marks `hosts` as just served, so that the next claim starts with other hosts.
pub fn touch(conn: &mut DbConnection, hosts: &[&str], t: NaiveDateTime) -> Result<()> {
    if hosts.is_empty() {
        return Ok(());
    }
    diesel::update(delivery_hosts::table.filter(delivery_hosts::host.eq_any(hosts)))
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
