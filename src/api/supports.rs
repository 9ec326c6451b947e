//! Support of ideas: giving and withdrawing the caller's support. Promises: both are
//! idempotent and answer the idea with its support count.

use axum::extract::{Path, State};
use axum::Json;

use super::User;
use crate::error::Result;
use crate::service::{ideas, supports};
use crate::state::Ctx;

routes! {
    "/api/v1/ideas/{id}/support" => post(support).delete(withdraw_support),
}

async fn support(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
) -> Result<Json<ideas::IdeaDetail>> {
    Ok(Json(supports::give(&ctx, u, id).await?))
}

async fn withdraw_support(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
) -> Result<Json<ideas::IdeaDetail>> {
    Ok(Json(supports::withdraw(&ctx, u, id).await?))
}
