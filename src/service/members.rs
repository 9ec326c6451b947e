//! Room membership: who belongs to a room, with which role, and how people and organisations get
//! in (a Follow or Join a steward approves) and out (Remove).
//!
//! A membership names a person or a whole organisation; an organisation's membership covers
//! every actor on that organisation's node. Staff of the node hosting a room are its stewards.

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::kinds::{ActorKind, FollowState, RequestState};
use crate::domain::membership::{self as rules, Action, PartnerKind, Phase, Role};
use crate::domain::Visibility;
use crate::error::{Error, Result};
use crate::federation::{fetch, objects, outbox};
use crate::service::commit;
use crate::service::follows::{Applied, Receipt};
use crate::state::{Ctx, Urls};
use crate::store::models::{Actor, RoomMember};
use crate::store::{self, DbConnection};

pub fn visibility(room: &Actor) -> Visibility {
    room.visibility
        .as_deref()
        .and_then(Visibility::parse)
        .unwrap_or(Visibility::Public)
}

/// The membership that applies to `actor` in `room`: its own, or its organisation's (an
/// `Organization` member on the actor's host).
pub fn membership(c: &mut DbConnection, room: &Actor, actor: &Actor) -> Result<Option<RoomMember>> {
    let rows = store::members::on_host(c, room.id, &actor.host)?;
    let own = rows.iter().find(|(_, a)| a.id == actor.id);
    let org = rows.iter().find(|(_, a)| a.kind == ActorKind::Organization);
    Ok(own.or(org).map(|(m, _)| m.clone()))
}

/// The role `actor` has by membership, with staff of the room's own node as stewards.
pub fn member_role(c: &mut DbConnection, room: &Actor, actor: &Actor) -> Result<Option<Role>> {
    if room.local && actor.local && actor.staff {
        return Ok(Some(Role::Steward));
    }
    Ok(membership(c, room, actor)?.and_then(|m| Role::parse(&m.role)))
}

/// The room's current phase (all switches open when the room has none).
pub fn current_phase(c: &mut DbConnection, room: &Actor) -> Result<Phase> {
    Ok(store::rooms::settings(c, room.id)?
        .and_then(|s| s.phases.0.into_iter().nth(s.current_phase.max(0) as usize))
        .unwrap_or_else(Phase::open))
}

/// The contribution terms of a local room as recorded with each contribution:
/// `{"id": SPDX id or the room's terms URL, "version": ...}` as JSON text; `None` when the room
/// declared none.
pub fn room_terms(c: &mut DbConnection, room: &Actor) -> Result<Option<String>> {
    if !room.local {
        return Ok(None);
    }
    Ok(store::rooms::settings(c, room.id)?.and_then(|s| {
        let id = s
            .terms_spdx
            .or(s.terms_text.map(|_| format!("{}#terms", room.ap_id)))?;
        Some(json!({"id": id, "version": s.terms_version}).to_string())
    }))
}

/// Decides an action of `actor` in a local `room`; the error text is the reason to show.
pub fn authorize(
    c: &mut DbConnection,
    room: &Actor,
    actor: &Actor,
    action: Action,
) -> Result<std::result::Result<(), String>> {
    let role = member_role(c, room, actor)?;
    let phase = current_phase(c, room)?;
    Ok(rules::check(visibility(room), &phase, role, action))
}

/// Whether a signed fetch by `signer` may read content of `room`: public rooms are readable by
/// anyone; otherwise the signer must be a member, or an actor of a member's node (the node
/// fetches on behalf of its member), and have `See` in the current phase.
pub fn may_read(c: &mut DbConnection, room: &Actor, signer: Option<&Actor>) -> Result<bool> {
    if visibility(room) == Visibility::Public {
        return Ok(true);
    }
    let Some(signer) = signer else {
        return Ok(false);
    };
    if signer.local {
        return Ok(signer.staff || member_role(c, room, signer)?.is_some());
    }
    let members = store::members::on_host(c, room.id, &signer.host)?;
    let phase = current_phase(c, room)?;
    Ok(members.iter().any(|(m, _)| {
        rules::check(visibility(room), &phase, Role::parse(&m.role), Action::See).is_ok()
    }))
}

/// Whether a local user may see the ideas of `room` through this node's API: public rooms are
/// open; a remote non-public room is visible to local members (people, or everyone when the
/// organisation is a member), who are the ones following it; a local one per [`may_read`].
pub fn may_see_locally(c: &mut DbConnection, room: &Actor, user: &Actor) -> Result<bool> {
    if visibility(room) == Visibility::Public {
        return Ok(true);
    }
    if room.local {
        return may_read(c, room, Some(user));
    }
    let org = store::actors::local_of_kind(c, ActorKind::Organization)?;
    for follower in [Some(user.id), org.map(|o| o.id)].into_iter().flatten() {
        if store::follows::between(c, follower, room.id)?
            .is_some_and(|f| f.state == FollowState::Accepted)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A local room by name, if `steward` stewards it.
pub fn steward_room(c: &mut DbConnection, steward: &Actor, room_name: &str) -> Result<Actor> {
    let room = store::actors::local_by_name(c, room_name)?
        .filter(|a| a.is_room())
        .ok_or_else(|| Error::not_found(format!("room '{room_name}'")))?;
    if member_role(c, &room, steward)? != Some(Role::Steward) {
        return Err(Error::Forbidden(format!(
            "only stewards of '{room_name}' can do this"
        )));
    }
    Ok(room)
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
    c: &mut DbConnection,
    urls: &Urls,
    room: &Actor,
    actor: &Actor,
    activity: &Value,
    receipt: &Receipt,
) -> Result<Applied> {
    if !receipt.record(c)? {
        return Ok(Applied::Duplicate);
    }
    if membership(c, room, actor)?.is_some() {
        // Already a member (invited, say): following is part of membership.
        store::follows::put(c, actor.id, room.id, FollowState::Accepted, &receipt.id)?;
        return accept(c, urls, room, actor, activity).map(|_| Applied::Done);
    }
    match visibility(room) {
        Visibility::Private => {
            let reason = "this room is private: members join by invitation only";
            reject(c, urls, room, actor, activity, reason)?;
            Ok(Applied::Refused(reason.into()))
        }
        _ => {
            let message = activity["content"]
                .as_str()
                .or(activity["summary"].as_str())
                .map(String::from);
            store::requests::replace(c, room.id, actor.id, activity, message.as_deref())?;
            store::follows::put(c, actor.id, room.id, FollowState::Pending, &receipt.id)?;
            Ok(Applied::Done)
        }
    }
}

fn accept(
    c: &mut DbConnection,
    urls: &Urls,
    room: &Actor,
    actor: &Actor,
    request: &Value,
) -> Result<()> {
    let accept = objects::activity(
        "Accept",
        &urls.new_activity(),
        &room.ap_id,
        objects::embedded(request.clone()),
        &[&actor.ap_id],
        &[],
    );
    outbox::publish(c, urls, room, &accept, [actor.inbox.clone()])
}

fn reject(
    c: &mut DbConnection,
    urls: &Urls,
    room: &Actor,
    actor: &Actor,
    request: &Value,
    reason: &str,
) -> Result<()> {
    let mut reject = objects::activity(
        "Reject",
        &urls.new_activity(),
        &room.ap_id,
        objects::embedded(request.clone()),
        &[&actor.ap_id],
        &[],
    );
    reject["summary"] = json!(reason);
    outbox::publish(c, urls, room, &reject, [actor.inbox.clone()])
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
            let room = steward_room(c, &steward, &room_name)?;
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

/// A steward answers a request: approve with a role (Accept) or refuse with a reason (Reject).
pub async fn answer_request(
    ctx: &Ctx,
    steward: &Actor,
    room_name: &str,
    request_id: i32,
    approve: Option<(Role, Option<PartnerKind>)>,
    reason: Option<String>,
) -> Result<()> {
    let (urls, steward, room_name) = (ctx.urls.clone(), steward.clone(), room_name.to_string());
    commit(ctx, move |c| {
        let room = steward_room(c, &steward, &room_name)?;
        let request = store::requests::in_room(c, room.id, request_id)?
            .ok_or_else(|| Error::not_found(format!("request {request_id}")))?;
        if request.state != RequestState::Pending {
            return Err(Error::Conflict(format!(
                "request {request_id} was already answered"
            )));
        }
        let actor = store::actors::by_id(c, request.actor_id)?;
        let activity = request.activity.0;
        let state = match approve {
            Some((role, kind)) => {
                put_member(c, &room, &actor, role, kind)?;
                store::follows::put(
                    c,
                    actor.id,
                    room.id,
                    FollowState::Accepted,
                    activity["id"].as_str().unwrap_or_default(),
                )?;
                accept(c, &urls, &room, &actor, &activity)?;
                RequestState::Approved
            }
            None => {
                let reason = reason
                    .clone()
                    .unwrap_or_else(|| "the stewards declined the request".into());
                store::follows::delete(c, actor.id, room.id)?;
                reject(c, &urls, &room, &actor, &activity, &reason)?;
                RequestState::Refused
            }
        };
        store::requests::answer(c, request_id, state, reason.as_deref())
    })
    .await
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
            if member_role(c, &room, &user)?.is_none() {
                return Err(Error::Forbidden("only members see the member list".into()));
            }
            let rows = store::members::of_room(c, room.id)?;
            Ok(rows
                .into_iter()
                .map(|(m, a)| MemberView {
                    actor: a.ap_id.clone(),
                    handle: a.handle(),
                    kind: a.kind.to_string(),
                    role: m.role,
                    partner_kind: m.partner_kind,
                })
                .collect())
        })
        .await
}

/// A steward removes a member: its access ends at once, and it and the other members get a
/// `Remove`.
pub async fn remove_member(
    ctx: &Ctx,
    steward: &Actor,
    room_name: &str,
    handle: &str,
) -> Result<()> {
    let target = fetch::known_or_resolve(ctx, handle).await?;
    let (urls, steward, room_name) = (ctx.urls.clone(), steward.clone(), room_name.to_string());
    commit(ctx, move |c| {
        let room = steward_room(c, &steward, &room_name)?;
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
        let mut remove = objects::activity(
            "Remove",
            &urls.new_activity(),
            &room.ap_id,
            json!(target.ap_id),
            &[&target.ap_id, &followers],
            &[],
        );
        remove["target"] = json!(room.ap_id);
        outbox::publish(c, &urls, &room, &remove, inboxes)
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
    let target = fetch::known_or_resolve(ctx, handle).await?;
    let (urls, steward, room_name) = (ctx.urls.clone(), steward.clone(), room_name.to_string());
    commit(ctx, move |c| {
        let room = steward_room(c, &steward, &room_name)?;
        if !store::members::is_member(c, room.id, target.id)? {
            return Err(Error::not_found(format!("member {}", target.handle())));
        }
        put_member(c, &room, &target, role, kind)?;
        let mut add = objects::activity(
            "Add",
            &urls.new_activity(),
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
        outbox::publish(c, &urls, &room, &add, [target.inbox.clone()])?;
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

/// A room removed an actor of this node (or this node's organisation): stop following it.
pub async fn receive_remove(
    ctx: &Ctx,
    room: &Actor,
    activity: &Value,
    receipt: Receipt,
) -> Result<Applied> {
    let removed = fetch::id_of(&activity["object"])
        .ok_or_else(|| Error::bad_request("Remove has no object"))?
        .to_string();
    let target = fetch::id_of(&activity["target"]).map(String::from);
    if target.as_deref() != Some(room.ap_id.as_str()) {
        return Err(Error::Unsupported(
            "Remove is only understood for members of the room sending it".into(),
        ));
    }
    let room = room.clone();
    commit(ctx, move |c| {
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
    c: &mut DbConnection,
    urls: &Urls,
    room: &Actor,
    actor: &Actor,
    activity: &Value,
    reason: &str,
) -> Result<Applied> {
    reject(c, urls, room, actor, activity, reason)?;
    Ok(Applied::Refused(reason.to_string()))
}
