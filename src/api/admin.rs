//! Staff-only views of the node's own workings: the outbound delivery queue by state.
//! Promises: read-only; a caller who is not staff gets `403` and learns nothing.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::User;
use crate::error::{Error, Result};
use crate::state::Ctx;

routes! {
    "/api/v1/admin/deliveries" => get(deliveries),
}

async fn deliveries(State(ctx): State<Ctx>, User(u): User) -> Result<Json<Value>> {
    // TODO(policy): staff check in the handler; belongs with the other rules.
    if !u.staff {
        return Err(Error::Forbidden("staff only".into()));
    }
    // TODO(policy): reads the database directly (through the outbox) instead of calling a
    // service function.
    let stats = ctx
        .db
        .read(crate::federation::outbox::delivery_stats)
        .await?;
    Ok(Json(json!(stats
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>())))
}
