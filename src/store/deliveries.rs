//! Queued deliveries of published activities, one row per activity and remote inbox, each
//! naming its inbox's `host[:port]`; what is sent is a row of `delivery_bodies`, one per
//! activity and form, which the deliveries share (a row without the body is cheap to update).
//!
//! Promises: deliveries to one host are claimed in `id` order, and only by the worker holding
//! that host ([`super::delivery_hosts::lock_ready`]); a claimed delivery carries a lease
//! (`claimed_until`), so a worker killed mid-send leaves a lease that simply expires, and a
//! leased delivery is not claimed again before its lease ends. A body stays as long as a
//! delivery uses it. Dead letters (`dead`) stay
//! until an operator retries or purges them. Outcomes can be written one at a time
//! ([`record_attempt`]) or a batch of successes in one statement ([`record_delivered`]).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::Delivery;
use super::schema::{deliveries, delivery_bodies};
use super::{delivery_hosts, now, DbConnection};
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
    enqueue_all(conn, activity_ap_id, signer, &[(inbox, body)])
}

/// Queues the deliveries of one activity, due now: one per `(inbox, body)`. Each distinct
/// body is stored once ([`bodies`]) and each host is marked queued
/// ([`delivery_hosts::mark_queued`]). On PostgreSQL all of it is one statement, whatever the
/// number of deliveries (so a change that sends is not a round trip per table slower); on
/// SQLite, one statement per body, one for the hosts and one per 500 deliveries.
pub fn enqueue_all(
    conn: &mut DbConnection,
    activity_ap_id: &str,
    signer: i32,
    targets: &[(&str, &str)],
) -> Result<()> {
    if targets.is_empty() {
        return Ok(());
    }
    let t = now();
    if let DbConnection::Postgresql(c) = conn {
        return enqueue_all_pg(c, activity_ap_id, signer, targets, t);
    }
    let mut body_ids: HashMap<&str, i32> = HashMap::new();
    for (_, body) in targets {
        if !body_ids.contains_key(body) {
            let insert = diesel::insert_into(delivery_bodies::table)
                .values(delivery_bodies::body.eq(*body))
                .returning(delivery_bodies::id);
            let id: i32 = match conn {
                DbConnection::Postgresql(c) => insert.get_result(c)?,
                DbConnection::Sqlite(c) => insert.get_result(c)?,
            };
            body_ids.insert(body, id);
        }
    }
    // An inbox with no host fails at its first try ("invalid inbox URL"), under host "".
    let hosts: Vec<String> = targets
        .iter()
        .map(|(inbox, _)| crate::vocab::host_of(inbox).unwrap_or_default())
        .collect();
    let names: Vec<&str> = hosts.iter().map(String::as_str).collect();
    delivery_hosts::mark_queued(conn, &names)?;
    let rows: Vec<_> = targets
        .iter()
        .zip(&hosts)
        .map(|((inbox, body), host)| {
            (
                deliveries::activity_ap_id.eq(activity_ap_id),
                deliveries::signer_id.eq(signer),
                deliveries::inbox.eq(*inbox),
                deliveries::body_id.eq(body_ids[body]),
                deliveries::state.eq(DeliveryState::Pending.as_str()),
                deliveries::attempts.eq(0),
                deliveries::next_attempt_at.eq(t),
                deliveries::created_at.eq(t),
                deliveries::host.eq(host),
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        let insert = diesel::insert_into(deliveries::table).values(chunk);
        match conn {
            DbConnection::Postgresql(c) => insert.execute(c)?,
            DbConnection::Sqlite(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

/// [`enqueue_all`] on PostgreSQL, as one statement ([`Enqueue`]).
fn enqueue_all_pg(
    c: &mut diesel::PgConnection,
    activity_ap_id: &str,
    signer: i32,
    targets: &[(&str, &str)],
    t: NaiveDateTime,
) -> Result<()> {
    let mut bodies: Vec<&str> = Vec::new();
    let mut forms: Vec<i64> = Vec::with_capacity(targets.len());
    for (_, body) in targets {
        let form = match bodies.iter().position(|b| b == body) {
            Some(i) => i,
            None => {
                bodies.push(body);
                bodies.len() - 1
            }
        };
        forms.push(form as i64 + 1);
    }
    let inboxes: Vec<&str> = targets.iter().map(|(inbox, _)| *inbox).collect();
    // An inbox with no host fails at its first try ("invalid inbox URL"), under host "".
    let hosts: Vec<String> = inboxes
        .iter()
        .map(|inbox| crate::vocab::host_of(inbox).unwrap_or_default())
        .collect();
    let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
    Enqueue {
        marked: delivery_hosts::lock_order(&hosts),
        t,
        bodies,
        activity_ap_id,
        signer,
        inboxes,
        hosts,
        forms,
    }
    .execute(c)?;
    Ok(())
}

/// The one statement of [`enqueue_all`] on PostgreSQL: the hosts `marked` queued (what
/// [`delivery_hosts::mark_queued`] does, in its lock order), the distinct `bodies` stored, and
/// one delivery per `inboxes[i]`, on `hosts[i]`, of the body numbered `forms[i]` (from 1), in
/// that order. Its text is the same whatever the numbers, so the connection prepares it once.
struct Enqueue<'a> {
    marked: Vec<&'a str>,
    t: NaiveDateTime,
    bodies: Vec<&'a str>,
    activity_ap_id: &'a str,
    signer: i32,
    inboxes: Vec<&'a str>,
    hosts: Vec<&'a str>,
    forms: Vec<i64>,
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for Enqueue<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Integer, Text, Timestamp};
        out.push_sql(
            "WITH hosts AS (INSERT INTO delivery_hosts (host, failures, updated_at, queued) \
             SELECT unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.marked)?;
        out.push_sql("), 0, ");
        out.push_bind_param::<Timestamp, _>(&self.t)?;
        out.push_sql(
            ", TRUE ON CONFLICT (host) DO UPDATE SET queued = TRUE \
             WHERE NOT delivery_hosts.queued), \
             bodies AS (INSERT INTO delivery_bodies (body) SELECT unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.bodies)?;
        out.push_sql(
            ") RETURNING id, body), \
             forms AS (SELECT bodies.id, u.n FROM bodies JOIN unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.bodies)?;
        out.push_sql(
            ") WITH ORDINALITY AS u(body, n) ON u.body = bodies.body) \
             INSERT INTO deliveries (activity_ap_id, signer_id, inbox, body_id, state, attempts, \
             next_attempt_at, created_at, host) SELECT ",
        );
        out.push_bind_param::<Text, _>(&self.activity_ap_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.signer)?;
        out.push_sql(", d.inbox, forms.id, ");
        out.push_bind_param::<Text, _>(DeliveryState::Pending.as_str())?;
        out.push_sql(", 0, ");
        out.push_bind_param::<Timestamp, _>(&self.t)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.t)?;
        out.push_sql(", d.host FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.inboxes)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.hosts)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.forms)?;
        out.push_sql(
            ") WITH ORDINALITY AS d(inbox, host, form, n) \
             JOIN forms ON forms.n = d.form ORDER BY d.n",
        );
        Ok(())
    }
}

impl diesel::query_builder::QueryId for Enqueue<'_> {
    type QueryId = Enqueue<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<diesel::PgConnection> for Enqueue<'_> {}

/// The bodies of `deliveries`, by `body_id`, each read once however many deliveries share it.
pub fn bodies(
    conn: &mut DbConnection,
    deliveries: &[Delivery],
) -> Result<HashMap<i32, std::sync::Arc<str>>> {
    let mut ids: Vec<i32> = deliveries.iter().map(|d| d.body_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i32, String)> = delivery_bodies::table
        .filter(delivery_bodies::id.eq_any(&ids))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, b)| (id, b.into())).collect())
}

/// Leases the first deliveries of several hosts at once: for each `(host, limit)` its first
/// pending deliveries in `id` order, up to `limit`, stopping before the first one that is not
/// due (so order holds) or is leased (sent by a worker that may still be running); returned
/// in `id` order. Call with the hosts' rows locked ([`delivery_hosts::lock_ready`]); these
/// statements' fresh snapshots then see every lease taken before that lock was obtained.
pub fn claim_for_hosts(
    conn: &mut DbConnection,
    runs: &[(&str, i64)],
    lease_until: NaiveDateTime,
    t: NaiveDateTime,
) -> Result<Vec<Delivery>> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
    /// The head of a host's queue, as far as the claim needs it.
    #[derive(QueryableByName, Queryable)]
    struct Head {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        id: i32,
        #[diesel(sql_type = Text)]
        host: String,
        #[diesel(sql_type = Timestamp)]
        next_attempt_at: NaiveDateTime,
        #[diesel(sql_type = Nullable<Timestamp>)]
        claimed_until: Option<NaiveDateTime>,
    }
    // PostgreSQL: one statement for all hosts. SQLite: one per host, each reading the first
    // rows of its index range (nothing travels between processes there).
    const POSTGRES: &str = "SELECT q.id, q.host, q.next_attempt_at, q.claimed_until \
        FROM unnest($1::text[], $2::bigint[]) AS r(host, n) CROSS JOIN LATERAL ( \
            SELECT d.id, d.host, d.next_attempt_at, d.claimed_until FROM deliveries d \
            WHERE d.host = r.host AND d.state = $3 ORDER BY d.id LIMIT r.n) q \
        ORDER BY q.host, q.id";
    let pending = DeliveryState::Pending.as_str();
    let heads: Vec<Head> = match conn {
        DbConnection::Postgresql(c) => {
            let (hosts, limits): (Vec<&str>, Vec<i64>) = runs.iter().copied().unzip();
            diesel::sql_query(POSTGRES)
                .bind::<Array<Text>, _>(&hosts)
                .bind::<Array<BigInt>, _>(&limits)
                .bind::<Text, _>(pending)
                .load(c)?
        }
        DbConnection::Sqlite(c) => {
            let mut heads = Vec::new();
            for (host, limit) in runs {
                heads.extend(
                    deliveries::table
                        .filter(deliveries::host.eq(host))
                        .filter(deliveries::state.eq(pending))
                        .order(deliveries::id.asc())
                        .limit(*limit)
                        .select((
                            deliveries::id,
                            deliveries::host,
                            deliveries::next_attempt_at,
                            deliveries::claimed_until,
                        ))
                        .load::<Head>(c)?,
                );
            }
            heads
        }
    };
    // Each host's heads come together, in id order.
    let mut ids = Vec::with_capacity(heads.len());
    let mut stopped: Option<&str> = None;
    for head in &heads {
        if stopped == Some(head.host.as_str()) {
            continue;
        }
        let leased = head.claimed_until.is_some_and(|until| until >= t);
        if head.next_attempt_at > t || leased {
            stopped = Some(head.host.as_str());
            continue;
        }
        ids.push(head.id);
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // By id alone: with the state in the condition too, the plan PostgreSQL keeps for this
    // prepared statement read every pending delivery (7 ms a claim during a large fan-out). A
    // delivery an operator ended meanwhile gets a lease that means nothing, and is not sent.
    let lease = diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
        .set(deliveries::claimed_until.eq(Some(lease_until)));
    let mut claimed: Vec<Delivery> = match conn {
        DbConnection::Postgresql(c) => lease.get_results(c)?,
        DbConnection::Sqlite(c) => lease.get_results(c)?,
    };
    claimed.retain(|d| d.state == DeliveryState::Pending);
    claimed.sort_unstable_by_key(|d| d.id);
    Ok(claimed)
}

/// Gives claimed deliveries back unattempted (their host's run stopped before them).
pub fn release(conn: &mut DbConnection, ids: &[i32]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::update(
        deliveries::table
            .filter(deliveries::id.eq_any(ids))
            .filter(deliveries::state.eq(DeliveryState::Pending.as_str())),
    )
    .set(deliveries::claimed_until.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    Ok(())
}

/// Gives back every leased pending delivery: for a process that knows it is the only one
/// serving (SQLite), the leases in the table are those of a process that died, and waiting for
/// them to expire would only hold up its deliveries. Returns how many were leased.
pub fn release_all(conn: &mut DbConnection) -> Result<usize> {
    Ok(diesel::update(
        deliveries::table
            .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
            .filter(deliveries::claimed_until.is_not_null()),
    )
    .set(deliveries::claimed_until.eq(None::<NaiveDateTime>))
    .execute(conn)?)
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

/// Records a successful attempt of each of `ids`, all at their `attempts`-th attempt:
/// `delivered`, lease released, no error. One statement for a whole batch of outcomes (the
/// delivery worker's recorder groups its batch by attempt count). Returns how many rows.
pub fn record_delivered(conn: &mut DbConnection, ids: &[i32], attempts: i32) -> Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(
        diesel::update(deliveries::table.filter(deliveries::id.eq_any(ids)))
            .set((
                deliveries::state.eq(DeliveryState::Delivered.as_str()),
                deliveries::attempts.eq(attempts),
                deliveries::claimed_until.eq(None::<NaiveDateTime>),
                deliveries::last_error.eq(None::<String>),
            ))
            .execute(conn)?,
    )
}

/// Which of `ids` are still queued or recorded (an operator may purge a delivery while it is
/// being sent), in one query.
pub fn existing(conn: &mut DbConnection, ids: &[i32]) -> Result<std::collections::HashSet<i32>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let found: Vec<i32> = deliveries::table
        .filter(deliveries::id.eq_any(ids))
        .select(deliveries::id)
        .load(conn)?;
    Ok(found.into_iter().collect())
}

/// Turns the pending deliveries to `host` queued before `cutoff` into dead letters, with
/// `reason`; returns how many. Leased ones are included (their worker's record then finds them
/// dead and leaves them so).
pub fn expire_queued_before(
    conn: &mut DbConnection,
    host: &str,
    cutoff: NaiveDateTime,
    reason: &str,
) -> Result<usize> {
    Ok(diesel::update(
        deliveries::table
            .filter(deliveries::host.eq(host))
            .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
            .filter(deliveries::created_at.lt(cutoff)),
    )
    .set((
        deliveries::state.eq(DeliveryState::Dead.as_str()),
        deliveries::claimed_until.eq(None::<NaiveDateTime>),
        deliveries::last_error.eq(Some(reason)),
    ))
    .execute(conn)?)
}

/// One delivery by id.
pub fn by_id(conn: &mut DbConnection, id: i32) -> Result<Option<Delivery>> {
    Ok(deliveries::table
        .filter(deliveries::id.eq(id))
        .first(conn)
        .optional()?)
}

/// Deliveries, newest first, in `state` when given, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    state: Option<DeliveryState>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    Ok(match state {
        Some(s) => deliveries::table
            .filter(deliveries::state.eq(s.as_str()))
            .order(deliveries::id.desc())
            .limit(limit)
            .load(conn)?,
        None => deliveries::table
            .order(deliveries::id.desc())
            .limit(limit)
            .load(conn)?,
    })
}

/// Puts a `dead` or `failed` delivery back in the queue, due now, with its attempts reset;
/// false when `id` is in neither state.
pub fn requeue(conn: &mut DbConnection, id: i32) -> Result<bool> {
    let n = diesel::update(
        deliveries::table.filter(deliveries::id.eq(id)).filter(
            deliveries::state
                .eq(DeliveryState::Dead.as_str())
                .or(deliveries::state.eq(DeliveryState::Failed.as_str())),
        ),
    )
    .set(requeued())
    .execute(conn)?;
    if n == 1 {
        let host: String = deliveries::table
            .find(id)
            .select(deliveries::host)
            .first(conn)?;
        delivery_hosts::mark_queued(conn, &[&host])?;
    }
    Ok(n == 1)
}

/// Puts every dead letter back in the queue; returns the hosts concerned, with how many each.
pub fn requeue_dead(conn: &mut DbConnection) -> Result<Vec<(String, i64)>> {
    let dead = || deliveries::table.filter(deliveries::state.eq(DeliveryState::Dead.as_str()));
    let hosts: Vec<(String, i64)> = dead()
        .group_by(deliveries::host)
        .select((deliveries::host, diesel::dsl::count_star()))
        .load(conn)?;
    diesel::update(dead()).set(requeued()).execute(conn)?;
    let names: Vec<&str> = hosts.iter().map(|(h, _)| h.as_str()).collect();
    delivery_hosts::mark_queued(conn, &names)?;
    Ok(hosts)
}

#[allow(clippy::type_complexity)]
fn requeued() -> (
    diesel::dsl::Eq<deliveries::state, &'static str>,
    diesel::dsl::Eq<deliveries::attempts, i32>,
    diesel::dsl::Eq<deliveries::next_attempt_at, NaiveDateTime>,
    diesel::dsl::Eq<deliveries::claimed_until, Option<NaiveDateTime>>,
) {
    (
        deliveries::state.eq(DeliveryState::Pending.as_str()),
        deliveries::attempts.eq(0),
        deliveries::next_attempt_at.eq(now()),
        deliveries::claimed_until.eq(None::<NaiveDateTime>),
    )
}

/// Deletes every dead letter, and the bodies no delivery uses any more; returns how many
/// deliveries.
pub fn purge_dead(conn: &mut DbConnection) -> Result<usize> {
    let n = diesel::delete(
        deliveries::table.filter(deliveries::state.eq(DeliveryState::Dead.as_str())),
    )
    .execute(conn)?;
    if n > 0 {
        let used = deliveries::table
            .filter(deliveries::body_id.eq(delivery_bodies::id))
            .select(deliveries::id);
        diesel::delete(delivery_bodies::table.filter(diesel::dsl::not(diesel::dsl::exists(used))))
            .execute(conn)?;
    }
    Ok(n)
}

/// Delivery counts by state, for the operator and tests.
pub fn count_by_state(conn: &mut DbConnection) -> Result<Vec<(String, i64)>> {
    Ok(deliveries::table
        .group_by(deliveries::state)
        .select((deliveries::state, diesel::dsl::count_star()))
        .load(conn)?)
}

/// How many deliveries are in `state`.
pub fn count_in_state(conn: &mut DbConnection, state: DeliveryState) -> Result<i64> {
    Ok(deliveries::table
        .filter(deliveries::state.eq(state.as_str()))
        .count()
        .get_result(conn)?)
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
