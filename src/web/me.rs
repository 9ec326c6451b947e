//! The signed-in person's page (`/me`): who they are, the rooms they steward (with a link to
//! manage each), the invitations waiting for their answer (accept, or decline with a reason),
//! and, for staff, who answer for the organisation, the ideas other organisations offer to it
//! (accept into a local room, or reject with a reason) and the offers it made that wait for an
//! answer (withdraw).
//!
//! Promises: a visitor who is not signed in is sent to the sign-in page; what is listed and
//! who may answer is decided by the services (`invitations`, `handoffs`, `rooms`). Each post
//! carries the session's CSRF token (403 and nothing changed without it), calls one service
//! function, and answers 303 back to `/me`; a refusal shows the page again with its status and
//! the reason in words next to the item, the input kept.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::i18n::Tr;
use super::manage::{non_blank, refusal, shown_on_page, state_label, with_status};
use super::session::Visitor;
use super::signed_form;
use super::{me_of, refused, render, Me};
use crate::domain::kinds::HandoffState;
use crate::error::Error;
use crate::service::{handoffs, invitations, policy, rooms};
use crate::state::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/me", get(me_page))
        .route("/me/invitations/{id}/accept", post(accept_invitation))
        .route("/me/invitations/{id}/decline", post(decline_invitation))
        .route("/me/handoffs/{id}/accept", post(accept_handoff))
        .route("/me/handoffs/{id}/reject", post(reject_handoff))
        .route("/me/handoffs/{id}/withdraw", post(withdraw_handoff))
}

struct RoomLink {
    title: String,
    url: String,
    manage_url: String,
}

struct InvitationItem {
    id: i32,
    room_url: String,
    room_handle: String,
    role: String,
    partner_kind: String,
    state: String,
    /// The decline reason: as posted when the answer was refused, else as given.
    reason: String,
    problem: Option<String>,
}

/// A local room to accept an offered idea into.
struct RoomChoice {
    value: String,
    label: String,
    selected: bool,
}

struct OfferItem {
    id: i32,
    title: String,
    idea_url: String,
    from: String,
    to: String,
    message: String,
    rooms: Vec<RoomChoice>,
    reason: String,
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    tr: Tr,
    me: Option<Me>,
    csrf: String,
    name: String,
    handle: String,
    url: String,
    stewarded: Vec<RoomLink>,
    waiting: Vec<InvitationItem>,
    answered: Vec<InvitationItem>,
    staff: bool,
    offers_in: Vec<OfferItem>,
    offers_out: Vec<OfferItem>,
    /// A refusal that belongs to no item still listed.
    general: Option<String>,
    /// The refused item's problem, for the notice at the top of the page.
    problem_anchor: Option<String>,
}

/// What a refused answer posted: the item (`invitation-{id}` or `handoff-{id}`), the room
/// chosen and the reason typed.
#[derive(Default)]
struct Kept {
    item: String,
    room: String,
    reason: String,
}

async fn me_page(State(ctx): State<Ctx>, headers: HeaderMap, visitor: Visitor) -> Response {
    let tr = Tr::from_headers(&headers);
    if visitor.me.is_none() {
        return Redirect::to("/login").into_response();
    }
    show(&ctx, tr, &visitor, Kept::default(), None).await
}

async fn show(
    ctx: &Ctx,
    tr: Tr,
    visitor: &Visitor,
    kept: Kept,
    refusal: Option<(StatusCode, String)>,
) -> Response {
    let status = refusal.as_ref().map(|r| r.0).unwrap_or(StatusCode::OK);
    match load(ctx, &tr, visitor, kept, refusal.map(|r| r.1)).await {
        Ok(page) => with_status(render(&page), status),
        Err(e) => refused(&tr, e),
    }
}

async fn load(
    ctx: &Ctx,
    tr: &Tr,
    visitor: &Visitor,
    kept: Kept,
    problem: Option<String>,
) -> Result<MePage, Error> {
    let (user, session) = visitor.require()?;
    let staff = policy::is_staff(user);
    let local_rooms = rooms::list_local(ctx).await?;
    // The rooms the person stewards: those whose stewards' settings open to them.
    let mut stewarded = Vec::new();
    for room in &local_rooms {
        if rooms::get_phases(ctx, user, &room.name).await.is_ok() {
            stewarded.push(RoomLink {
                title: room.display_name.clone(),
                url: room.ap_id.clone(),
                manage_url: format!("/r/{}/manage", room.name),
            });
        }
    }
    let mut placed = false;
    let mut problem_for = |key: String| {
        if kept.item == key && problem.is_some() {
            placed = true;
            problem.clone()
        } else {
            None
        }
    };
    let (mut waiting, mut answered) = (Vec::new(), Vec::new());
    for inv in invitations::received(ctx, user).await? {
        let key = format!("invitation-{}", inv.id);
        let pending = inv.state == "pending";
        let item = InvitationItem {
            id: inv.id,
            problem: if pending {
                problem_for(key.clone())
            } else {
                None
            },
            reason: if kept.item == key {
                kept.reason.clone()
            } else {
                inv.reason.clone().unwrap_or_default()
            },
            room_url: inv.room,
            room_handle: inv.room_handle,
            role: tr.t(&format!("manage-role-{}", inv.role)),
            partner_kind: inv
                .partner_kind
                .as_deref()
                .map(|k| tr.t(&format!("manage-kind-{k}")))
                .unwrap_or_default(),
            state: state_label(tr, &inv.state),
        };
        if pending {
            waiting.push(item);
        } else {
            answered.push(item);
        }
    }
    let (mut offers_in, mut offers_out) = (Vec::new(), Vec::new());
    if staff {
        for h in handoffs::list(ctx, user, None).await? {
            if h.state != HandoffState::Pending {
                continue;
            }
            let key = format!("handoff-{}", h.id);
            let chosen = if kept.item == key {
                kept.room.clone()
            } else {
                String::new()
            };
            let item = OfferItem {
                id: h.id,
                problem: problem_for(key.clone()),
                reason: if kept.item == key {
                    kept.reason.clone()
                } else {
                    String::new()
                },
                rooms: local_rooms
                    .iter()
                    .map(|r| RoomChoice {
                        value: r.name.clone(),
                        label: format!("{} ({})", r.display_name, r.handle()),
                        selected: r.name == chosen,
                    })
                    .collect(),
                title: h.title,
                idea_url: h.idea,
                from: h.from,
                to: h.to,
                message: h.message,
            };
            if h.direction == "incoming" {
                offers_in.push(item);
            } else {
                offers_out.push(item);
            }
        }
    }
    Ok(MePage {
        tr: tr.clone(),
        me: me_of(visitor),
        csrf: session.csrf_token.clone(),
        name: user.display_name.clone(),
        handle: user.handle(),
        url: user.ap_id.clone(),
        stewarded,
        waiting,
        answered,
        staff,
        offers_in,
        offers_out,
        problem_anchor: placed.then(|| format!("{}-error", kept.item)),
        general: if placed { None } else { problem },
    })
}

/// The answer to a post: back to `/me`, or the page again with the refusal at `item`.
async fn answer<T>(
    ctx: &Ctx,
    tr: Tr,
    visitor: &Visitor,
    result: Result<T, Error>,
    kept: Kept,
) -> Response {
    match result {
        Ok(_) => Redirect::to("/me").into_response(),
        Err(e) if shown_on_page(&e) => {
            let r = (e.status(), refusal(&tr, &e));
            show(ctx, tr, visitor, kept, Some(r)).await
        }
        Err(e) => refused(&tr, e),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
struct ReasonForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
struct RoomForm {
    #[serde(default)]
    room: String,
    #[serde(default)]
    csrf: String,
}

async fn accept_invitation(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(id): Path<i32>,
    Form(form): Form<TokenForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let result = invitations::accept(&ctx, user, id).await;
    let kept = Kept {
        item: format!("invitation-{id}"),
        ..Kept::default()
    };
    answer(&ctx, tr, &visitor, result, kept).await
}

async fn decline_invitation(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(id): Path<i32>,
    Form(form): Form<ReasonForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let result = invitations::decline(&ctx, user, id, non_blank(&form.reason)).await;
    let kept = Kept {
        item: format!("invitation-{id}"),
        reason: form.reason,
        ..Kept::default()
    };
    answer(&ctx, tr, &visitor, result, kept).await
}

async fn accept_handoff(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(id): Path<i32>,
    Form(form): Form<RoomForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let result = handoffs::accept(&ctx, user, id, form.room.trim()).await;
    let kept = Kept {
        item: format!("handoff-{id}"),
        room: form.room,
        ..Kept::default()
    };
    answer(&ctx, tr, &visitor, result, kept).await
}

async fn reject_handoff(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(id): Path<i32>,
    Form(form): Form<ReasonForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let result = handoffs::reject(&ctx, user, id, &form.reason).await;
    let kept = Kept {
        item: format!("handoff-{id}"),
        reason: form.reason,
        ..Kept::default()
    };
    answer(&ctx, tr, &visitor, result, kept).await
}

async fn withdraw_handoff(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(id): Path<i32>,
    Form(form): Form<TokenForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let result = handoffs::withdraw(&ctx, user, id).await;
    let kept = Kept {
        item: format!("handoff-{id}"),
        ..Kept::default()
    };
    answer(&ctx, tr, &visitor, result, kept).await
}
