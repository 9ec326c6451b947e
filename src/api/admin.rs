//! Staff-only views and actions on the node's own workings: the outbound delivery queue (counts
//! by state, the deliveries, hosts backing off or parked) and its dead letters (retry, purge).
//! Promises: a caller who is not staff gets `403` and learns nothing; each handler calls one
//! function of [`crate::service::deliveries`], the same the `cocreate deliveries` command uses.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::User;
use crate::error::Result;
use crate::service::deliveries::{self, DeliveryView, Operator};
use crate::state::Ctx;
use crate::store::models::DeliveryHost;

routes! {
    "/api/v1/admin/deliveries" => get(counts),
    "/api/v1/admin/deliveries/list" => get(list),
    "/api/v1/admin/deliveries/hosts" => get(hosts),
    "/api/v1/admin/deliveries/retry" => post(retry_all_dead),
    "/api/v1/admin/deliveries/dead" => delete(purge_dead),
    "/api/v1/admin/deliveries/{id}/retry" => post(retry),
}

async fn counts(State(ctx): State<Ctx>, User(u): User) -> Result<Json<BTreeMap<String, i64>>> {
    Ok(Json(deliveries::stats(&ctx, &u).await?))
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(ctx): State<Ctx>,
    User(u): User,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<DeliveryView>>> {
    let state = q
        .state
        .as_deref()
        .map(deliveries::parse_state)
        .transpose()?;
    Ok(Json(
        deliveries::list(&ctx, Operator::Staff(&u), state, q.limit).await?,
    ))
}

async fn hosts(State(ctx): State<Ctx>, User(u): User) -> Result<Json<Vec<DeliveryHost>>> {
    Ok(Json(
        deliveries::troubled_hosts(&ctx, Operator::Staff(&u)).await?,
    ))
}

async fn retry(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<i32>,
) -> Result<Json<DeliveryView>> {
    Ok(Json(
        deliveries::retry(&ctx, Operator::Staff(&u), id).await?,
    ))
}

async fn retry_all_dead(State(ctx): State<Ctx>, User(u): User) -> Result<Json<Value>> {
    let n = deliveries::retry_all_dead(&ctx, Operator::Staff(&u)).await?;
    Ok(Json(json!({ "retried": n })))
}

async fn purge_dead(State(ctx): State<Ctx>, User(u): User) -> Result<Json<Value>> {
    let n = deliveries::purge_dead(&ctx, Operator::Staff(&u)).await?;
    Ok(Json(json!({ "purged": n })))
}
