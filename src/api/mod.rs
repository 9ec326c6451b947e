//! The REST API for clients under `/api/v1` (documented in `spec/openapi.yaml`), with bearer
//! tokens. Handlers parse and authenticate, then call one service function.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::federation::fetch;
use crate::service::{
    accounts, comments, follows, handoffs, ideas, invitations, members, rooms, supports,
};
use crate::state::Ctx;
use crate::store::models::Actor;
use crate::store::queries;

/// The local person behind the bearer token.
pub struct User(pub Actor);

impl FromRequestParts<Ctx> for User {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<User> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::Unauthorized("missing Authorization: Bearer TOKEN header".into())
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| Error::Unauthorized("Authorization must be 'Bearer TOKEN'".into()))?;
        Ok(User(accounts::authenticate(ctx, token.trim()).await?))
    }
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))
}

pub fn router() -> Router<Ctx> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/users", post(create_user))
        .route("/api/v1/organization", get(organization))
        .route("/api/v1/rooms", post(create_room).get(list_rooms))
        .route(
            "/api/v1/rooms/{name}/ideas",
            post(submit_idea).get(room_ideas),
        )
        .route("/api/v1/ideas", get(ideas_by_room))
        .route(
            "/api/v1/ideas/{id}",
            get(get_idea).patch(edit_idea).delete(delete_idea),
        )
        .route("/api/v1/ideas/{id}/comments", post(add_comment))
        .route(
            "/api/v1/comments/{id}",
            axum::routing::patch(edit_comment).delete(delete_comment),
        )
        .route(
            "/api/v1/ideas/{id}/support",
            post(support).delete(withdraw_support),
        )
        .route("/api/v1/ideas/{id}/stage", post(change_stage))
        .route("/api/v1/follows", post(follow).get(list_follows))
        .route("/api/v1/follows/{handle}", axum::routing::delete(unfollow))
        .route("/api/v1/joins", post(join))
        .route("/api/v1/rooms/{name}/requests", get(list_requests))
        .route(
            "/api/v1/rooms/{name}/requests/{id}/approve",
            post(approve_request),
        )
        .route(
            "/api/v1/rooms/{name}/requests/{id}/refuse",
            post(refuse_request),
        )
        .route("/api/v1/rooms/{name}/members", get(list_members))
        .route(
            "/api/v1/rooms/{name}/invitations",
            post(invite).get(sent_invitations),
        )
        .route("/api/v1/invitations", get(received_invitations))
        .route("/api/v1/invitations/{id}/accept", post(accept_invitation))
        .route("/api/v1/invitations/{id}/reject", post(reject_invitation))
        .route(
            "/api/v1/rooms/{name}/phases",
            get(get_phases).put(set_phases),
        )
        .route("/api/v1/rooms/{name}/phases/next", post(next_phase))
        .route("/api/v1/rooms/{name}/terms", axum::routing::put(set_terms))
        .route("/api/v1/ideas/{id}/contributors", post(add_contributor))
        .route("/api/v1/ideas/{id}/handoffs", post(offer_idea))
        .route("/api/v1/ideas/{id}/merge", post(merge_idea))
        .route("/api/v1/handoffs", get(list_handoffs))
        .route(
            "/api/v1/handoffs/{id}",
            axum::routing::delete(withdraw_handoff),
        )
        .route("/api/v1/handoffs/{id}/accept", post(accept_handoff))
        .route("/api/v1/handoffs/{id}/reject", post(reject_handoff))
        .route(
            "/api/v1/rooms/{name}/members/{handle}",
            axum::routing::delete(remove_member).put(change_role),
        )
        .route("/api/v1/admin/deliveries", get(deliveries))
        .fallback(not_found)
}

async fn not_found() -> Error {
    Error::NotFound("no such route".into())
}

fn actor_view(a: &Actor) -> Value {
    json!({
        "ap_id": a.ap_id, "handle": a.handle(), "name": a.name, "display_name": a.display_name,
        "kind": a.kind, "local": a.local, "staff": a.staff,
    })
}

fn room_view(a: &Actor) -> Value {
    json!({
        "name": a.name, "handle": a.handle(), "ap_id": a.ap_id, "title": a.display_name,
        "summary": a.summary, "visibility": a.visibility, "local": a.local,
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
    if !u.staff {
        return Err(Error::Forbidden("only staff can create accounts".into()));
    }
    let b: NewUserBody = parse(&body)?;
    let (actor, token) =
        accounts::create_user(&ctx.db, &ctx.urls, &ctx.settings.domain, &b.name, b.staff).await?;
    let mut v = actor_view(&actor);
    v["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(v)))
}

async fn organization(State(ctx): State<Ctx>) -> Result<Json<Value>> {
    let org = ctx
        .db
        .read(|c| queries::local_actor_of_kind(c, "Organization"))
        .await?
        .ok_or_else(|| Error::not_found("organization"))?;
    Ok(Json(
        json!({"handle": org.handle(), "ap_id": org.ap_id, "name": org.display_name}),
    ))
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
        Json(ideas::submit(&ctx, &u, &name, &b.title, &b.body).await?),
    ))
}

async fn room_ideas(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
) -> Result<Json<Vec<ideas::IdeaDetail>>> {
    let room = rooms::local_by_name(&ctx, &name).await?;
    Ok(Json(ideas::list_room(&ctx, Some(&u), &room).await?))
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
    let room = if q.room.starts_with("http://") || q.room.starts_with("https://") {
        let r = q.room.clone();
        ctx.db
            .read(move |c| queries::actor_by_ap_id(c, &r))
            .await?
            .ok_or_else(|| Error::not_found(format!("room {}", q.room)))?
    } else {
        fetch::known_or_resolve(&ctx, &q.room).await?
    };
    if !room.is_room() {
        return Err(Error::bad_request(format!("{} is not a room", q.room)));
    }
    Ok(Json(ideas::list_room(&ctx, Some(&u), &room).await?))
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
    Ok(Json(ideas::edit(&ctx, &u, &id, b.title, b.body).await?))
}

async fn delete_idea(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    ideas::delete(&ctx, &u, &id).await?;
    Ok(StatusCode::NO_CONTENT)
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
        Json(comments::add(&ctx, &u, &id, &b.body, b.in_reply_to).await?),
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
    comments::change(&ctx, &u, &id, Some(b.body)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_comment(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    comments::change(&ctx, &u, &id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn support(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
) -> Result<Json<ideas::IdeaDetail>> {
    Ok(Json(supports::set(&ctx, &u, &id, true).await?))
}

async fn withdraw_support(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<String>,
) -> Result<Json<ideas::IdeaDetail>> {
    Ok(Json(supports::set(&ctx, &u, &id, false).await?))
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
        ideas::change_stage(&ctx, &u, &id, &b.stage, &b.answer).await?,
    ))
}

#[derive(Deserialize)]
struct FollowBody {
    handle: String,
}

async fn follow(
    State(ctx): State<Ctx>,
    User(u): User,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let b: FollowBody = parse(&body)?;
    let (target, state) = follows::follow_handle(&ctx, &u, &b.handle).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"target": actor_view(&target), "state": state})),
    ))
}

async fn unfollow(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(handle): Path<String>,
) -> Result<StatusCode> {
    follows::unfollow(&ctx, &u, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct JoinBody {
    handle: String,
    message: Option<String>,
}

async fn join(
    State(ctx): State<Ctx>,
    User(u): User,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let b: JoinBody = parse(&body)?;
    let (target, state) = follows::request(&ctx, &u, &b.handle, "Join", b.message).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"target": actor_view(&target), "state": state})),
    ))
}

async fn list_requests(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(name): Path<String>,
) -> Result<Json<Vec<members::RequestView>>> {
    Ok(Json(members::list_requests(&ctx, &u, &name).await?))
}

#[derive(Deserialize)]
struct ApproveBody {
    role: String,
    partner_kind: Option<String>,
}

async fn approve_request(
    State(ctx): State<Ctx>,
    User(u): User,
    Path((name, id)): Path<(String, i32)>,
    body: Bytes,
) -> Result<StatusCode> {
    let b: ApproveBody = parse(&body)?;
    let role = members::parse_role(&b.role, b.partner_kind.as_deref())?;
    members::answer_request(&ctx, &u, &name, id, Some(role), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct RefuseBody {
    reason: Option<String>,
}

async fn refuse_request(
    State(ctx): State<Ctx>,
    User(u): User,
    Path((name, id)): Path<(String, i32)>,
    body: Bytes,
) -> Result<StatusCode> {
    let b: RefuseBody = if body.is_empty() {
        RefuseBody::default()
    } else {
        parse(&body)?
    };
    members::answer_request(&ctx, &u, &name, id, None, b.reason).await?;
    Ok(StatusCode::NO_CONTENT)
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
        ideas::add_contributor(&ctx, &u, &id, &b.handle, &b.role).await?,
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
    Ok(Json(ideas::merge(&ctx, &u, &id, &b.into).await?))
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
        Json(handoffs::offer(&ctx, &u, &id, &b.to, &b.message).await?),
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
    Ok(Json(handoffs::accept(&ctx, &u, id, &b.room).await?))
}

async fn reject_handoff(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<i32>,
    body: Bytes,
) -> Result<Json<handoffs::HandoffView>> {
    let b: RefuseBody = if body.is_empty() {
        RefuseBody::default()
    } else {
        parse(&body)?
    };
    Ok(Json(
        handoffs::reject(&ctx, &u, id, b.reason.as_deref().unwrap_or_default()).await?,
    ))
}

async fn withdraw_handoff(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<i32>,
) -> Result<Json<handoffs::HandoffView>> {
    Ok(Json(handoffs::withdraw(&ctx, &u, id).await?))
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
    let view = invitations::invite(&ctx, &u, &name, &b.handle, role, kind).await?;
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
    Ok(Json(invitations::answer(&ctx, &u, id, true, None).await?))
}

async fn reject_invitation(
    State(ctx): State<Ctx>,
    User(u): User,
    Path(id): Path<i32>,
    body: Bytes,
) -> Result<Json<invitations::InvitationView>> {
    let b: RefuseBody = if body.is_empty() {
        RefuseBody::default()
    } else {
        parse(&body)?
    };
    Ok(Json(
        invitations::answer(&ctx, &u, id, false, b.reason).await?,
    ))
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
    let b: ApproveBody = parse(&body)?;
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

async fn list_follows(State(ctx): State<Ctx>, User(u): User) -> Result<Json<Value>> {
    let id = u.id;
    let list = ctx.db.read(move |c| queries::following_of(c, id)).await?;
    Ok(Json(json!(list
        .iter()
        .map(|(a, f)| json!({"target": actor_view(a), "state": f.state, "reason": f.reason}))
        .collect::<Vec<_>>())))
}

async fn deliveries(State(ctx): State<Ctx>, User(u): User) -> Result<Json<Value>> {
    if !u.staff {
        return Err(Error::Forbidden("staff only".into()));
    }
    let stats = ctx
        .db
        .read(crate::federation::outbox::delivery_stats)
        .await?;
    Ok(Json(json!(stats
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>())))
}
