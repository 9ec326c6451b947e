//! The operator's view of the outbound delivery queue, for staff through the admin API and
//! for whoever runs `cocreate deliveries` on the server: counts by state, the deliveries
//! themselves, hosts that are backing off or parked, and the dead letters (retry, purge).
//!
//! Promises: through the API only staff get in ([`Operator::Staff`]); a retried delivery is
//! due at once and its host is tried at once (a parked host gets one probe); nothing here
//! sends anything itself, the delivery worker does.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::domain::kinds::DeliveryState;
use crate::error::{Error, Result};
use crate::service::policy;
use crate::state::Ctx;
use crate::store;
use crate::store::models::{Actor, Delivery, DeliveryHost};

/// Who is asking: a staff member through the API, or the server's operator on its console
/// (`cocreate deliveries`), who holds the database already.
#[derive(Debug, Clone, Copy)]
pub enum Operator<'a> {
    Staff(&'a Actor),
    Console,
}

impl Operator<'_> {
    fn check(self, what: &str) -> Result<()> {
        match self {
            Operator::Staff(user) => policy::require_staff(user, what),
            Operator::Console => Ok(()),
        }
    }
}

/// Most deliveries one listing returns.
pub const MAX_LIMIT: i64 = 1000;
/// Deliveries a listing returns when not told.
pub const DEFAULT_LIMIT: i64 = 50;

/// A delivery as the operator sees it (without its body).
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub id: i32,
    pub state: DeliveryState,
    pub activity: String,
    pub inbox: String,
    pub host: String,
    pub attempts: i32,
    /// When a pending delivery is tried next (its host may make it wait longer).
    pub next_attempt_at: NaiveDateTime,
    /// The peer's answer or the error of the last attempt.
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        DeliveryView {
            id: d.id,
            state: d.state,
            activity: d.activity_ap_id,
            inbox: d.inbox,
            host: d.host,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_error: d.last_error,
            created_at: d.created_at,
        }
    }
}

/// Delivery counts by state, for staff.
pub async fn stats(ctx: &Ctx, user: &Actor) -> Result<BTreeMap<String, i64>> {
    policy::require_staff(user, "see the delivery queue")?;
    let rows = ctx.db.read(store::deliveries::count_by_state).await?;
    Ok(rows.into_iter().collect())
}

/// Reads a state name as the API and the CLI take it.
pub fn parse_state(s: &str) -> Result<DeliveryState> {
    DeliveryState::parse(s.trim()).ok_or_else(|| {
        let names: Vec<&str> = DeliveryState::ALL.iter().map(|s| s.as_str()).collect();
        Error::bad_request(format!("state '{s}': use one of {}", names.join(", ")))
    })
}

/// Deliveries, newest first, in `state` when given; `limit` defaults to [`DEFAULT_LIMIT`].
pub async fn list(
    ctx: &Ctx,
    by: Operator<'_>,
    state: Option<DeliveryState>,
    limit: Option<i64>,
) -> Result<Vec<DeliveryView>> {
    by.check("see the delivery queue")?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::bad_request(format!(
            "limit {limit}: use a number from 1 to {MAX_LIMIT}"
        )));
    }
    let rows = ctx
        .db
        .read(move |c| store::deliveries::list(c, state, limit))
        .await?;
    Ok(rows.into_iter().map(DeliveryView::from).collect())
}

/// Hosts with failures in a row (backing off, or parked), most failures first.
pub async fn troubled_hosts(ctx: &Ctx, by: Operator<'_>) -> Result<Vec<DeliveryHost>> {
    by.check("see the delivery queue")?;
    ctx.db.read(store::delivery_hosts::troubled).await
}

/// Puts one `dead` (or `failed`) delivery back in the queue, due now; its host is tried at
/// once. 404 for an unknown id, 409 for a delivery in another state.
pub async fn retry(ctx: &Ctx, by: Operator<'_>, id: i32) -> Result<DeliveryView> {
    by.check("retry deliveries")?;
    let view = ctx
        .db
        .write(move |c| {
            let d = store::deliveries::by_id(c, id)?
                .ok_or_else(|| Error::not_found(format!("delivery {id}")))?;
            if !store::deliveries::requeue(c, id)? {
                return Err(Error::Conflict(format!(
                    "delivery {id} is {}: only dead or failed deliveries can be retried",
                    d.state
                )));
            }
            store::delivery_hosts::try_now(c, &d.host)?;
            let d = store::deliveries::by_id(c, id)?
                .ok_or_else(|| Error::not_found(format!("delivery {id}")))?;
            Ok(DeliveryView::from(d))
        })
        .await?;
    tracing::info!(delivery = id, host = %view.host, "delivery queued again by an operator");
    ctx.delivery_wake.notify_one();
    Ok(view)
}

/// Puts every dead letter back in the queue; returns how many.
pub async fn retry_all_dead(ctx: &Ctx, by: Operator<'_>) -> Result<i64> {
    by.check("retry deliveries")?;
    let hosts = ctx
        .db
        .write(|c| {
            let hosts = store::deliveries::requeue_dead(c)?;
            for (host, _) in &hosts {
                store::delivery_hosts::try_now(c, host)?;
            }
            Ok(hosts)
        })
        .await?;
    let n = hosts.iter().map(|(_, n)| n).sum();
    tracing::info!(
        deliveries = n,
        hosts = hosts.len(),
        "dead letters queued again by an operator"
    );
    ctx.delivery_wake.notify_one();
    Ok(n)
}

/// Deletes every dead letter; returns how many.
pub async fn purge_dead(ctx: &Ctx, by: Operator<'_>) -> Result<usize> {
    by.check("purge dead deliveries")?;
    let n = ctx.db.write(store::deliveries::purge_dead).await?;
    tracing::info!(deliveries = n, "dead letters purged by an operator");
    Ok(n)
}
