//! Comments on ideas: adding one (or a reply), editing and deleting one's own. Promises:
//! adding answers the commented idea with its comments; editing and deleting answer `204`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::{parse, User};
use crate::error::Result;
use crate::service::{comments, ideas};
use crate::state::Ctx;

routes! {
    "/api/v1/ideas/{id}/comments" => post(add_comment),
    "/api/v1/comments/{id}" => patch(edit_comment).delete(delete_comment),
}

#[derive(Deserialize)]
struct CommentBody {
    body: String,
    in_reply_to: Option<String>,
}

async fn add_comment(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<ideas::IdeaDetail>)> {
    let b: CommentBody = parse(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(comments::add(&ctx, u, id, b.body, b.in_reply_to).await?),
    ))
}

#[derive(Deserialize)]
struct EditCommentBody {
    body: String,
}

async fn edit_comment(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode> {
    let b: EditCommentBody = parse(&body)?;
    comments::edit(&ctx, u, id, b.body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_comment(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    comments::delete(&ctx, u, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
