//! The operator's view of the outbound delivery queue: how many deliveries are pending,
//! delivered or failed. Staff only; read-only.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::service::policy;
use crate::state::Ctx;
use crate::store;
use crate::store::models::Actor;

/// Delivery counts by state, for staff.
pub async fn stats(ctx: &Ctx, user: &Actor) -> Result<BTreeMap<String, i64>> {
    policy::require_staff(user, "see the delivery queue")?;
    let rows = ctx.db.read(store::deliveries::count_by_state).await?;
    Ok(rows.into_iter().collect())
}
