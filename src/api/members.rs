//! Membership of a local room: pending follow and join requests and their answers, the member
//! list, changing a member's role and removing a member. Promises: `role` and `partner_kind`
//! are parsed here (a `400` names the bad value); who may see or change membership is decided
//! in `service::members`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::{parse, parse_or_default, ReasonBody, User};
use crate::error::Result;
use crate::service::members;
use crate::state::Ctx;

routes! {
    "/api/v1/rooms/{name}/requests" => get(list_requests),
    "/api/v1/rooms/{name}/requests/{id}/approve" => post(approve_request),
    "/api/v1/rooms/{name}/requests/{id}/refuse" => post(refuse_request),
    "/api/v1/rooms/{name}/members" => get(list_members),
    "/api/v1/rooms/{name}/members/{handle}" => delete(remove_member).put(change_role),
}

/// A role, with the kind of partner for partners.
#[derive(Deserialize)]
struct RoleBody {
    role: String,
    partner_kind: Option<String>,
}

async fn list_requests(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
) -> Result<Json<Vec<members::RequestView>>> {
    Ok(Json(members::list_requests(&ctx, &u, &name).await?))
}

async fn approve_request(
    State(ctx): State<Ctx>,
    User(u): User,
    Path((name, id)): Path<(String, i32)>,
    body: Bytes,
) -> Result<StatusCode> {
    let b: RoleBody = parse(&body)?;
    let role = members::parse_role(&b.role, b.partner_kind.as_deref())?;
    members::approve_request(&ctx, u, name, id, role.0, role.1).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn refuse_request(
    State(ctx): State<Ctx>,
    User(u): User,
    Path((name, id)): Path<(String, i32)>,
    body: Bytes,
) -> Result<StatusCode> {
    let b: ReasonBody = parse_or_default(&body)?;
    members::refuse_request(&ctx, u, name, id, b.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_members(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
) -> Result<Json<Vec<members::MemberView>>> {
    Ok(Json(members::list_members(&ctx, &u, &name).await?))
}

async fn change_role(
    State(ctx): State<Ctx>,
    User(u): User,
    Path((name, handle)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<members::MemberView>> {
    let b: RoleBody = parse(&body)?;
    let (role, kind) = members::parse_role(&b.role, b.partner_kind.as_deref())?;
    Ok(Json(
        members::change_role(&ctx, &u, &name, &handle, role, kind).await?,
    ))
}

async fn remove_member(
    State(ctx): State<Ctx>,
    User(u): User,
    Path((name, handle)): Path<(String, String)>,
) -> Result<StatusCode> {
    members::remove_member(&ctx, &u, &name, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}
