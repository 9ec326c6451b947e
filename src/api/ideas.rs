//! Ideas: submitting to and listing a room's ideas, reading, editing and deleting one, moving
//! it through its stages, crediting contributors and merging it into another. Comments,
//! support and handoffs of an idea have their own files. Promises: every answer about an idea
//! is the full `IdeaDetail`; `{id}` is a local id or a percent-encoded ActivityPub id.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::LINK;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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

/// `page` and `per_page` of a list request.
#[derive(Deserialize)]
struct PageQuery {
    page: Option<u32>,
    per_page: Option<u32>,
}

impl PageQuery {
    fn paging(&self) -> Result<ideas::Paging> {
        ideas::Paging::of(self.page, self.per_page)
    }
}

/// A page of ideas, with `Link: <...>; rel="next"` when the page is full (RFC 8288, as
/// GitHub and Mastodon page their lists).
fn page_of(
    ctx: &Ctx,
    path_and_query: String,
    paging: ideas::Paging,
    items: Vec<ideas::IdeaDetail>,
) -> Response {
    let mut headers = HeaderMap::new();
    if items.len() == paging.size as usize {
        let sep = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        let next = format!(
            "<{}{path_and_query}{sep}page={}&per_page={}>; rel=\"next\"",
            ctx.urls.base,
            paging.number + 1,
            paging.size
        );
        if let Ok(v) = HeaderValue::from_str(&next) {
            headers.insert(LINK, v);
        }
    }
    (headers, Json(items)).into_response()
}

async fn room_ideas(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
    Query(p): Query<PageQuery>,
) -> Result<Response> {
    let paging = p.paging()?;
    let items = ideas::list_local_room(&ctx, &u, &name, paging).await?;
    let path = format!("/api/v1/rooms/{}/ideas", urlencoding(&name));
    Ok(page_of(&ctx, path, paging, items))
}

#[derive(Deserialize)]
struct RoomQuery {
    room: String,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// Ideas of a local or followed remote room, by handle or URL, one page.
async fn ideas_by_room(
    State(ctx): State<Ctx>,
    User(u): User,
    Query(q): Query<RoomQuery>,
) -> Result<Response> {
    let paging = ideas::Paging::of(q.page, q.per_page)?;
    let items = ideas::list_room_by_ref(&ctx, &u, &q.room, paging).await?;
    let path = format!("/api/v1/ideas?room={}", urlencoding(&q.room));
    Ok(page_of(&ctx, path, paging, items))
}

/// Percent-encodes a query or path value.
fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
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
