//! Rooms of this node: creating and listing them, their phases and their terms (stewards).
//! Membership of a room is in `members.rs`, its invitations in `invitations.rs`, its ideas in
//! `ideas.rs`. Promises: `{name}` is always a local room; who may change what is decided in
//! `service::rooms`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse, User};
use crate::error::Result;
use crate::service::rooms;
use crate::state::Ctx;
use crate::store::models::Actor;

routes! {
    "/api/v1/rooms" => post(create_room).get(list_rooms),
    "/api/v1/rooms/{name}/phases" => get(get_phases).put(set_phases),
    "/api/v1/rooms/{name}/phases/next" => post(next_phase),
    "/api/v1/rooms/{name}/terms" => put(set_terms),
}

fn room_view(a: &Actor) -> Value {
    json!({
        "name": a.name, "handle": a.handle(), "ap_id": a.ap_id, "title": a.display_name,
        "summary": a.summary, "visibility": a.visibility, "local": a.local,
    })
}

#[derive(Deserialize)]
struct NewRoomBody {
    name: String,
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default = "public")]
    visibility: String,
}

fn public() -> String {
    "public".into()
}

async fn create_room(
    State(ctx): State<Ctx>,
    User(u): User,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let b: NewRoomBody = parse(&body)?;
    let room = rooms::create(
        &ctx,
        &u,
        rooms::NewRoom {
            name: b.name,
            title: b.title,
            summary: b.summary,
            visibility: b.visibility,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(room_view(&room))))
}

async fn list_rooms(State(ctx): State<Ctx>, User(_): User) -> Result<Json<Value>> {
    let list = rooms::list_local(&ctx).await?;
    Ok(Json(json!(list.iter().map(room_view).collect::<Vec<_>>())))
}

async fn get_phases(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
) -> Result<Json<rooms::PhasesView>> {
    Ok(Json(rooms::get_phases(&ctx, &u, &name).await?))
}

async fn set_phases(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<rooms::PhasesView>> {
    let phases: Vec<crate::domain::membership::Phase> = parse(&body)?;
    Ok(Json(rooms::set_phases(&ctx, &u, &name, phases).await?))
}

async fn next_phase(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
) -> Result<Json<rooms::PhasesView>> {
    Ok(Json(rooms::next_phase(&ctx, &u, &name).await?))
}

#[derive(Deserialize)]
struct TermsBody {
    spdx: Option<String>,
    text: Option<String>,
    version: String,
}

async fn set_terms(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let b: TermsBody = parse(&body)?;
    rooms::set_terms(&ctx, &u, &name, b.spdx, b.text, b.version).await?;
    Ok(StatusCode::NO_CONTENT)
}
