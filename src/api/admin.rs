//! Staff-only views of the node's own workings: the outbound delivery queue by state.
//! Promises: read-only; a caller who is not staff gets `403` and learns nothing.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;

use super::User;
use crate::error::Result;
use crate::service::deliveries;
use crate::state::Ctx;

routes! {
    "/api/v1/admin/deliveries" => get(deliveries),
}

async fn deliveries(State(ctx): State<Ctx>, User(u): User) -> Result<Json<BTreeMap<String, i64>>> {
    Ok(Json(deliveries::stats(&ctx, &u).await?))
}
