//! Accounts: the caller's own account, creating local accounts (staff), and the node's
//! organisation (the one route open without a token). Promises: a new account's token is
//! answered once, in the `201` of `POST /api/v1/users`, and never again.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse, User};
use crate::error::Result;
use crate::service::accounts;
use crate::state::Ctx;
use crate::store::models::Actor;

routes! {
    "/api/v1/me" => get(me),
    "/api/v1/users" => post(create_user),
    "/api/v1/organization" => get(organization),
}

/// The JSON shape of an actor (a person, an organisation, a room) in API answers.
pub(super) fn actor_view(a: &Actor) -> Value {
    json!({
        "ap_id": a.ap_id, "handle": a.handle(), "name": a.name, "display_name": a.display_name,
        "kind": a.kind, "local": a.local, "staff": a.staff,
    })
}

async fn me(User(u): User) -> Json<Value> {
    Json(actor_view(&u))
}

#[derive(Deserialize)]
struct NewUserBody {
    name: String,
    #[serde(default)]
    staff: bool,
}

async fn create_user(
    State(ctx): State<Ctx>,
    User(u): User,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let b: NewUserBody = parse(&body)?;
    let (actor, token) = accounts::create_account(&ctx, &u, &b.name, b.staff).await?;
    let mut v = actor_view(&actor);
    v["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(v)))
}

async fn organization(State(ctx): State<Ctx>) -> Result<Json<Value>> {
    let org = accounts::organization(&ctx).await?;
    Ok(Json(
        json!({"handle": org.handle(), "ap_id": org.ap_id, "name": org.display_name}),
    ))
}
