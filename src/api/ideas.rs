//! Ideas: submitting to and listing a room's ideas, reading, editing and deleting one, moving
//! it through its stages, crediting contributors and merging it into another. Comments,
//! support and handoffs of an idea have their own files. Promises: every answer about an idea
//! is the full `IdeaDetail`; `{id}` is a local id or a percent-encoded ActivityPub id.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::{parse, User};
use crate::error::Result;
use crate::service::ideas;
use crate::state::Ctx;

routes! {
    "/api/v1/rooms/{name}/ideas" => post(submit_idea).get(room_ideas),
    "/api/v1/ideas" => get(ideas_by_room),
    "/api/v1/ideas/{id}" => get(get_idea).patch(edit_idea).delete(delete_idea),
    "/api/v1/ideas/{id}/stage" => post(change_stage),
    "/api/v1/ideas/{id}/contributors" => post(add_contributor),
    "/api/v1/ideas/{id}/merge" => post(merge_idea),
}

#[derive(Deserialize)]
struct NewIdeaBody {
    title: String,
    #[serde(default)]
    body: String,
}

async fn submit_idea(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<ideas::IdeaDetail>)> {
    let b: NewIdeaBody = parse(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(ideas::submit(&ctx, u, &name, &b.title, &b.body).await?),
    ))
}

async fn room_ideas(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
) -> Result<Json<Vec<ideas::IdeaDetail>>> {
    Ok(Json(ideas::list_local_room(&ctx, &u, &name).await?))
}

#[derive(Deserialize)]
struct RoomQuery {
    room: String,
}

/// Ideas of a local or followed remote room, by handle or URL.
async fn ideas_by_room(
    State(ctx): State<Ctx>,
    User(u): User,
    Query(q): Query<RoomQuery>,
) -> Result<Json<Vec<ideas::IdeaDetail>>> {
    Ok(Json(ideas::list_room_by_ref(&ctx, &u, &q.room).await?))
}

async fn get_idea(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
) -> Result<Json<ideas::IdeaDetail>> {
    Ok(Json(ideas::get(&ctx, &u, &id).await?))
}

#[derive(Deserialize)]
struct EditIdeaBody {
    title: Option<String>,
    body: Option<String>,
}

async fn edit_idea(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<ideas::IdeaDetail>> {
    let b: EditIdeaBody = parse(&body)?;
    Ok(Json(ideas::edit(&ctx, u, id, b.title, b.body).await?))
}

async fn delete_idea(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    ideas::delete(&ctx, u, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct StageBody {
    stage: String,
    #[serde(default)]
    answer: String,
}

async fn change_stage(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<ideas::IdeaDetail>> {
    let b: StageBody = parse(&body)?;
    Ok(Json(
        ideas::change_stage(&ctx, u, id, &b.stage, &b.answer).await?,
    ))
}

#[derive(Deserialize)]
struct ContributorBody {
    handle: String,
    role: String,
}

async fn add_contributor(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<ideas::IdeaDetail>> {
    let b: ContributorBody = parse(&body)?;
    Ok(Json(
        ideas::add_contributor(&ctx, u, id, &b.handle, b.role).await?,
    ))
}

#[derive(Deserialize)]
struct MergeBody {
    into: String,
}

async fn merge_idea(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<ideas::IdeaDetail>> {
    let b: MergeBody = parse(&body)?;
    Ok(Json(ideas::merge(&ctx, u, id, b.into).await?))
}
