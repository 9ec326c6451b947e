//! Handoffs of ideas between nodes: stewards offer an idea to another node's organisation;
//! the receiving node's staff accept it into one of their rooms or reject it; the offer can be
//! withdrawn while pending. Promises: every answer is the handoff as `HandoffView`; `{id}` is
//! the local integer id (anything else answers `400`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::{parse, parse_or_default, ReasonBody, User};
use crate::error::{Error, Result};
use crate::service::handoffs;
use crate::state::Ctx;

routes! {
    "/api/v1/ideas/{id}/handoffs" => post(offer_idea),
    "/api/v1/handoffs" => get(list_handoffs),
    "/api/v1/handoffs/{id}" => delete(withdraw_handoff),
    "/api/v1/handoffs/{id}/accept" => post(accept_handoff),
    "/api/v1/handoffs/{id}/reject" => post(reject_handoff),
}

#[derive(Deserialize)]
struct OfferBody {
    to: String,
    #[serde(default)]
    message: String,
}

async fn offer_idea(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<handoffs::HandoffView>)> {
    let b: OfferBody = parse(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(handoffs::offer(&ctx, u, id, &b.to, b.message).await?),
    ))
}

#[derive(Deserialize)]
struct HandoffQuery {
    direction: Option<String>,
}

async fn list_handoffs(
    State(ctx): State<Ctx>,
    User(u): User,
    Query(q): Query<HandoffQuery>,
) -> Result<Json<Vec<handoffs::HandoffView>>> {
    let incoming = match q.direction.as_deref() {
        None => None,
        Some("incoming") => Some(true),
        Some("outgoing") => Some(false),
        Some(other) => {
            return Err(Error::bad_request(format!(
                "direction '{other}': incoming or outgoing"
            )))
        }
    };
    Ok(Json(handoffs::list(&ctx, &u, incoming).await?))
}

#[derive(Deserialize)]
struct AcceptHandoffBody {
    room: String,
}

async fn accept_handoff(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<i32>,
    body: Bytes,
) -> Result<Json<handoffs::HandoffView>> {
    let b: AcceptHandoffBody = parse(&body)?;
    Ok(Json(handoffs::accept(&ctx, u, id, &b.room).await?))
}

async fn reject_handoff(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<i32>,
    body: Bytes,
) -> Result<Json<handoffs::HandoffView>> {
    let b: ReasonBody = parse_or_default(&body)?;
    Ok(Json(
        handoffs::reject(&ctx, u, id, b.reason.as_deref().unwrap_or_default()).await?,
    ))
}

async fn withdraw_handoff(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<i32>,
) -> Result<Json<handoffs::HandoffView>> {
    Ok(Json(handoffs::withdraw(&ctx, u, id).await?))
}
