//! Staff-only domain blocks: list, add and lift blocks of other hosts (the same use cases as
//! `cocreate block add|remove|list`, in [`crate::service::blocks`]). Promises: a caller who is
//! not staff gets `403` and changes nothing.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::{parse, User};
use crate::error::Result;
use crate::service::blocks::{self, By};
use crate::state::Ctx;
use crate::store::blocked_hosts::BlockedHost;

routes! {
    "/api/v1/admin/blocks" => get(list).post(add),
    "/api/v1/admin/blocks/{host}" => delete(remove),
}

#[derive(Deserialize)]
struct BlockBody {
    host: String,
    reason: Option<String>,
}

async fn list(State(ctx): State<Ctx>, User(u): User) -> Result<Json<Vec<BlockedHost>>> {
    Ok(Json(blocks::list(&ctx, By::User(&u)).await?))
}

/// `201` with the new block, `200` with the existing one (its reason replaced when given).
async fn add(
    State(ctx): State<Ctx>,
    User(u): User,
    body: Bytes,
) -> Result<(StatusCode, Json<BlockedHost>)> {
    let b: BlockBody = parse(&body)?;
    let (block, new) = blocks::add(&ctx, By::User(&u), &b.host, b.reason).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(block)))
}

async fn remove(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(host): Path<String>,
) -> Result<StatusCode> {
    blocks::remove(&ctx, By::User(&u), &host).await?;
    Ok(StatusCode::NO_CONTENT)
}
