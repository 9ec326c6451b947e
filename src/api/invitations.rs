//! Invitations into rooms: stewards invite a person or an organisation into a local room and
//! list what the room sent; invitees list what they received and accept or decline. Promises:
//! `role` and `partner_kind` are parsed here (a `400` names the bad value) before the
//! service checks the caller's rights; a refusal's body may be empty.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::{parse, parse_or_default, ReasonBody, User};
use crate::error::Result;
use crate::service::{invitations, members};
use crate::state::Ctx;

routes! {
    "/api/v1/rooms/{name}/invitations" => post(invite).get(sent_invitations),
    "/api/v1/invitations" => get(received_invitations),
    "/api/v1/invitations/{id}/accept" => post(accept_invitation),
    "/api/v1/invitations/{id}/reject" => post(reject_invitation),
}

#[derive(Deserialize)]
struct InviteBody {
    handle: String,
    role: String,
    partner_kind: Option<String>,
}

async fn invite(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<invitations::InvitationView>)> {
    let b: InviteBody = parse(&body)?;
    let (role, kind) = members::parse_role(&b.role, b.partner_kind.as_deref())?;
    let view = invitations::invite(&ctx, u, name, &b.handle, role, kind).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn sent_invitations(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
) -> Result<Json<Vec<invitations::InvitationView>>> {
    Ok(Json(invitations::sent(&ctx, &u, &name).await?))
}

async fn received_invitations(
    State(ctx): State<Ctx>,
    User(u): User,
) -> Result<Json<Vec<invitations::InvitationView>>> {
    Ok(Json(invitations::received(&ctx, &u).await?))
}

async fn accept_invitation(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<i32>,
) -> Result<Json<invitations::InvitationView>> {
    Ok(Json(invitations::accept(&ctx, u, id).await?))
}

async fn reject_invitation(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<i32>,
    body: Bytes,
) -> Result<Json<invitations::InvitationView>> {
    let b: ReasonBody = parse_or_default(&body)?;
    Ok(Json(invitations::decline(&ctx, u, id, b.reason).await?))
}
