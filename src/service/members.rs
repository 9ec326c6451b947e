//! Room membership: who belongs to a room, with which role, and how people and organisations get
//! in (a Follow or Join a steward approves) and out (Remove).
//!
//! A membership names a person or a whole organisation; an organisation's membership covers
//! every actor on that organisation's node. Staff of the node hosting a room are its stewards.

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::kinds::{ActorKind, FollowState, RequestState};
use crate::domain::membership::{PartnerKind, Role};
use crate::domain::Visibility;
use crate::error::{Error, Result};
use crate::remote;
use crate::service::follows::FollowRequest;
use crate::service::inbound::{Applied, Inbound};
use crate::service::{commit, policy, Tx};
use crate::state::Ctx;
use crate::store::models::{Actor, RoomSettings};
use crate::store::{self, DbConnection};
use crate::vocab::{self, ActivityKind};

/// The contribution terms of a local room as recorded with each contribution:
/// `{"id": SPDX id or the room's terms URL, "version": ...}` as JSON text; `None` when the room
/// declared none.
pub fn room_terms(c: &mut DbConnection, room: &Actor) -> Result<Option<String>> {
    if !room.local {
        return Ok(None);
    }
    Ok(terms_of(room, store::rooms::settings(c, room.id)?.as_ref()))
}

/// [`room_terms`] from the local room's settings, already read.
pub fn terms_of(room: &Actor, settings: Option<&RoomSettings>) -> Option<String> {
    let s = settings.filter(|_| room.local)?;
    let id = s.terms_spdx.clone().or(s
        .terms_text
        .as_ref()
        .map(|_| format!("{}#terms", room.ap_id)))?;
    Some(json!({"id": id, "version": s.terms_version}).to_string())
}

/// Makes `actor` a member of `room` with a role (or changes its role).
pub fn put_member(
    c: &mut DbConnection,
    room: &Actor,
    actor: &Actor,
    role: Role,
    kind: Option<PartnerKind>,
) -> Result<()> {
    store::members::put(c, room.id, actor.id, role, kind)
}

/// Parses a role and partner kind from an API request; partners need a kind.
pub fn parse_role(role: &str, kind: Option<&str>) -> Result<(Role, Option<PartnerKind>)> {
    let role = Role::parse(role).ok_or_else(|| {
        Error::bad_request(format!(
            "unknown role '{role}': steward, partner, customer or observer"
        ))
    })?;
    let kind = match (role, kind) {
        (Role::Partner, Some(k)) => Some(PartnerKind::parse(k).ok_or_else(|| {
            Error::bad_request(format!(
                "unknown partner_kind '{k}': supplier, agency, competitor or other"
            ))
        })?),
        (Role::Partner, None) => Some(PartnerKind::Other),
        (_, _) => None,
    };
    Ok((role, kind))
}

/// A Follow or Join of a local room. Public rooms accept at once (the caller's normal path);
/// a partners room records a request for its stewards; a private room refuses with a Reject.
pub fn receive_request(
    c: &mut Tx<'_>,
    room: &Actor,
    request: &Inbound<FollowRequest>,
) -> Result<Applied> {
    let Inbound {
        actor,
        receipt,
        content,
        original: activity,
    } = request;
    if !receipt.record(c)? {
        return Ok(Applied::Duplicate);
    }
    if policy::membership(c, room, actor)?.is_some() {
        // Already a member (invited, say): following is part of membership.
        store::follows::put(c, actor.id, room.id, FollowState::Accepted, &receipt.id)?;
        return accept(c, room, actor, activity).map(|_| Applied::Done);
    }
    match policy::visibility(room) {
        Visibility::Private => {
            let reason = "this room is private: members join by invitation only";
            refuse(c, room, actor, activity, reason)
        }
        _ => {
            let message = content.message.as_deref();
            store::requests::replace(c, room.id, actor.id, activity, message)?;
            store::follows::put(c, actor.id, room.id, FollowState::Pending, &receipt.id)?;
            Ok(Applied::Done)
        }
    }
}

/// The room accepts a request (Follow or Join), embedding it whole.
fn accept(c: &mut Tx<'_>, room: &Actor, actor: &Actor, request: &Value) -> Result<()> {
    let accept = vocab::accept(
        &c.new_activity_id(),
        &room.ap_id,
        request.clone(),
        &actor.ap_id,
    );
    c.publish(room, &accept, [actor.inbox.clone()])
}

/// A pending request as stewards see it.
#[derive(Debug, Serialize)]
pub struct RequestView {
    pub id: i32,
    pub actor: String,
    pub handle: String,
    pub kind: String,
    pub message: Option<String>,
    pub state: String,
}

pub async fn list_requests(
    ctx: &Ctx,
    steward: &Actor,
    room_name: &str,
) -> Result<Vec<RequestView>> {
    let (steward, room_name) = (steward.clone(), room_name.to_string());
    ctx.db
        .read(move |c| {
            let room = policy::steward_room(c, &steward, &room_name)?;
            let rows = store::requests::pending_of_room(c, room.id)?;
            Ok(rows
                .into_iter()
                .map(|(r, a)| RequestView {
                    id: r.id,
                    kind: r.activity.0["type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    actor: a.ap_id.clone(),
                    handle: a.handle(),
                    message: r.message,
                    state: r.state.to_string(),
                })
                .collect())
        })
        .await
}

/// A steward approves a request with a role: the requester becomes a member and follower,
/// and gets an `Accept`.
pub async fn approve_request(
    ctx: &Ctx,
    steward: Actor,
    room_name: String,
    request_id: i32,
    role: Role,
    kind: Option<PartnerKind>,
) -> Result<()> {
    commit(ctx, move |c| {
        let (room, actor, activity) = pending_request(c, &steward, &room_name, request_id)?;
        put_member(c, &room, &actor, role, kind)?;
        let follow_id = activity["id"].as_str().unwrap_or_default();
        store::follows::put(c, actor.id, room.id, FollowState::Accepted, follow_id)?;
        accept(c, &room, &actor, &activity)?;
        store::requests::answer(c, request_id, RequestState::Approved, None)
    })
    .await
}

/// A steward refuses a request; the requester gets a `Reject` with the reason.
pub async fn refuse_request(
    ctx: &Ctx,
    steward: Actor,
    room_name: String,
    request_id: i32,
    reason: Option<String>,
) -> Result<()> {
    commit(ctx, move |c| {
        let (room, actor, activity) = pending_request(c, &steward, &room_name, request_id)?;
        let reason = reason.unwrap_or_else(|| "the stewards declined the request".into());
        store::follows::delete(c, actor.id, room.id)?;
        refuse(c, &room, &actor, &activity, &reason)?;
        store::requests::answer(c, request_id, RequestState::Refused, Some(&reason))
    })
    .await
}

/// A request of a room `steward` stewards that still waits for an answer, with who asked and
/// what they sent.
fn pending_request(
    c: &mut DbConnection,
    steward: &Actor,
    room_name: &str,
    request_id: i32,
) -> Result<(Actor, Actor, Value)> {
    let room = policy::steward_room(c, steward, room_name)?;
    let request = store::requests::in_room(c, room.id, request_id)?
        .ok_or_else(|| Error::not_found(format!("request {request_id}")))?;
    if request.state != RequestState::Pending {
        return Err(Error::Conflict(format!(
            "request {request_id} was already answered"
        )));
    }
    let actor = store::actors::by_id(c, request.actor_id)?;
    Ok((room, actor, request.activity.0))
}

/// A member as shown to stewards and members.
#[derive(Debug, Serialize)]
pub struct MemberView {
    pub actor: String,
    pub handle: String,
    pub kind: String,
    pub role: String,
    pub partner_kind: Option<String>,
}

pub async fn list_members(ctx: &Ctx, user: &Actor, room_name: &str) -> Result<Vec<MemberView>> {
    let (user, room_name) = (user.clone(), room_name.to_string());
    ctx.db
        .read(move |c| {
            let room = store::actors::local_by_name(c, &room_name)?
                .filter(|a| a.is_room())
                .ok_or_else(|| Error::not_found(format!("room '{room_name}'")))?;
            if policy::role_in(c, &room, &user)?.is_none() {
                return Err(Error::Forbidden("only members see the member list".into()));
            }
            member_views(c, &room)
        })
        .await
}

/// The members of a room as clients show them.
pub fn member_views(c: &mut DbConnection, room: &Actor) -> Result<Vec<MemberView>> {
    Ok(store::members::of_room(c, room.id)?
        .into_iter()
        .map(|(m, a)| MemberView {
            actor: a.ap_id.clone(),
            handle: a.handle(),
            kind: a.kind.to_string(),
            role: m.role.to_string(),
            partner_kind: m.partner_kind,
        })
        .collect())
}

/// A steward removes a member: its access ends at once, and it and the other members get a
/// `Remove`.
pub async fn remove_member(
    ctx: &Ctx,
    steward: &Actor,
    room_name: &str,
    handle: &str,
) -> Result<()> {
    let target = remote::known_or_resolve(ctx, handle).await?;
    let (steward, room_name) = (steward.clone(), room_name.to_string());
    commit(ctx, move |c| {
        let room = policy::steward_room(c, &steward, &room_name)?;
        let removed = store::members::remove(c, room.id, target.id)?;
        if removed == 0 {
            return Err(Error::not_found(format!("member {}", target.handle())));
        }
        // The member (and, for an organisation, everyone on its node) stops receiving.
        let on_host: Vec<i32> = if target.kind == ActorKind::Organization {
            store::actors::ids_on_host(c, &target.host)?
        } else {
            vec![target.id]
        };
        for id in on_host {
            store::follows::delete(c, id, room.id)?;
        }
        let mut inboxes: Vec<String> = store::follows::followers_of(c, room.id)?
            .iter()
            .map(|a| a.delivery_inbox().to_string())
            .collect();
        inboxes.push(target.inbox.clone());
        let followers = room.followers.clone().unwrap_or_default();
        let mut remove = vocab::activity(
            ActivityKind::Remove,
            &c.new_activity_id(),
            &room.ap_id,
            json!(target.ap_id),
            &[&target.ap_id, &followers],
            &[],
        );
        remove["target"] = json!(room.ap_id);
        c.publish(&room, &remove, inboxes)
    })
    .await
}

/// A steward changes a member's role; the member is told with an `Add` carrying the new role.
pub async fn change_role(
    ctx: &Ctx,
    steward: &Actor,
    room_name: &str,
    handle: &str,
    role: Role,
    kind: Option<PartnerKind>,
) -> Result<MemberView> {
    let target = remote::known_or_resolve(ctx, handle).await?;
    let (steward, room_name) = (steward.clone(), room_name.to_string());
    commit(ctx, move |c| {
        let room = policy::steward_room(c, &steward, &room_name)?;
        if !store::members::is_member(c, room.id, target.id)? {
            return Err(Error::not_found(format!("member {}", target.handle())));
        }
        put_member(c, &room, &target, role, kind)?;
        let mut add = vocab::activity(
            ActivityKind::Add,
            &c.new_activity_id(),
            &room.ap_id,
            json!(target.ap_id),
            &[&target.ap_id],
            &[],
        );
        add["target"] = json!(room.ap_id);
        add["role"] = json!(role.as_str());
        if let Some(k) = kind {
            add["partnerKind"] = json!(k.as_str());
        }
        c.publish(&room, &add, [target.inbox.clone()])?;
        Ok(MemberView {
            actor: target.ap_id.clone(),
            handle: target.handle(),
            kind: target.kind.to_string(),
            role: role.as_str().to_string(),
            partner_kind: kind.map(|k| k.as_str().to_string()),
        })
    })
    .await
}

/// A room removed an actor of this node (`removed`), or this node's organisation: stop
/// following the room for it (for everyone here, when it is the organisation).
pub async fn receive_remove(ctx: &Ctx, remove: Inbound<String>) -> Result<Applied> {
    commit(ctx, move |c| {
        let Inbound {
            actor: room,
            receipt,
            content: removed,
            ..
        } = remove;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        let Some(actor) = store::actors::by_ap_id(c, &removed)? else {
            return Ok(Applied::Done);
        };
        let affected: Vec<Actor> = if actor.local && actor.kind == ActorKind::Organization {
            store::actors::all_local(c)?
        } else {
            vec![actor]
        };
        for a in affected.iter().filter(|a| a.local) {
            store::follows::delete(c, a.id, room.id)?;
        }
        Ok(Applied::Done)
    })
    .await
}

/// Answers an activity a room rule refused: a `Reject` embedding it, with the reason as
/// `summary`, to the actor's inbox.
pub fn refuse(
    c: &mut Tx<'_>,
    room: &Actor,
    actor: &Actor,
    activity: &Value,
    reason: &str,
) -> Result<Applied> {
    let reject = vocab::reject(
        &c.new_activity_id(),
        &room.ap_id,
        activity.clone(),
        &actor.ap_id,
        Some(reason),
    );
    c.publish(room, &reject, [actor.inbox.clone()])?;
    Ok(Applied::Refused(reason.to_string()))
}
