//! Follows and joins: following and unfollowing people and rooms (here or on other nodes),
//! listing whom the caller follows, and asking to join a room. Promises: a follow or join
//! answers the target and the follow's state (`accepted`, `pending` or `rejected`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::accounts::actor_view;
use super::{parse, User};
use crate::error::Result;
use crate::service::follows;
use crate::state::Ctx;

routes! {
    "/api/v1/follows" => post(follow).get(list_follows),
    "/api/v1/follows/{handle}" => delete(unfollow),
    "/api/v1/joins" => post(join),
}

#[derive(Deserialize)]
struct FollowBody {
    handle: String,
}

async fn follow(
    State(ctx): State<Ctx>,
    User(u): User,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let b: FollowBody = parse(&body)?;
    let (target, state) = follows::follow(&ctx, u, &b.handle).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"target": actor_view(&target), "state": state})),
    ))
}

async fn list_follows(State(ctx): State<Ctx>, User(u): User) -> Result<Json<Value>> {
    let list = follows::following(&ctx, &u).await?;
    Ok(Json(json!(list
        .iter()
        .map(|(a, f)| json!({"target": actor_view(a), "state": f.state, "reason": f.reason}))
        .collect::<Vec<_>>())))
}

async fn unfollow(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(handle): Path<String>,
) -> Result<StatusCode> {
    follows::unfollow(&ctx, u, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct JoinBody {
    handle: String,
    message: Option<String>,
}

async fn join(
    State(ctx): State<Ctx>,
    User(u): User,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let b: JoinBody = parse(&body)?;
    let (target, state) = follows::join(&ctx, u, &b.handle, b.message).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"target": actor_view(&target), "state": state})),
    ))
}
