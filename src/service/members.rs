//! Room membership: who belongs to a room, with which role, and how people and organisations get
//! in (a Follow or Join a steward approves) and out (Remove).
//!
//! A membership names a person or a whole organisation; an organisation's membership covers
//! every actor on that organisation's node. Staff of the node hosting a room are its stewards.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::membership::{self as rules, Action, PartnerKind, Phase, Role};
use crate::domain::Visibility;
use crate::error::{Error, Result};
use crate::federation::{fetch, objects, outbox};
use crate::service::commit;
use crate::service::follows::{Applied, Receipt};
use crate::state::{Ctx, Urls};
use crate::store::models::{Actor, RoomMember, RoomRequest};
use crate::store::schema::{actors, room_members, room_requests, room_settings};
use crate::store::{now, queries, DbConnection};

pub fn visibility(room: &Actor) -> Visibility {
    room.visibility
        .as_deref()
        .and_then(Visibility::parse)
        .unwrap_or(Visibility::Public)
}

/// The membership that applies to `actor` in `room`: its own, or its organisation's (an
/// `Organization` member on the actor's host).
pub fn membership(c: &mut DbConnection, room: &Actor, actor: &Actor) -> Result<Option<RoomMember>> {
    let rows: Vec<(RoomMember, Actor)> = room_members::table
        .inner_join(actors::table.on(actors::id.eq(room_members::actor_id)))
        .filter(room_members::room_id.eq(room.id))
        .filter(actors::host.eq(&actor.host))
        .select((room_members::all_columns, actors::all_columns))
        .load(c)?;
    let own = rows.iter().find(|(_, a)| a.id == actor.id);
    let org = rows.iter().find(|(_, a)| a.kind == "Organization");
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
    let settings: Option<(String, i32)> = room_settings::table
        .find(room.id)
        .select((room_settings::phases, room_settings::current_phase))
        .first(c)
        .optional()?;
    Ok(settings
        .and_then(|(phases, current)| {
            let list: Vec<Phase> = serde_json::from_str(&phases).ok()?;
            list.into_iter().nth(current.max(0) as usize)
        })
        .unwrap_or_else(Phase::open))
}

/// The contribution terms of a local room as recorded with each contribution:
/// `{"id": SPDX id or the room's terms URL, "version": ...}` as JSON text; `None` when the room
/// declared none.
pub fn room_terms(c: &mut DbConnection, room: &Actor) -> Result<Option<String>> {
    if !room.local {
        return Ok(None);
    }
    let row: Option<(Option<String>, Option<String>, Option<String>)> = room_settings::table
        .find(room.id)
        .select((
            room_settings::terms_spdx,
            room_settings::terms_text,
            room_settings::terms_version,
        ))
        .first(c)
        .optional()?;
    Ok(row.and_then(|(spdx, text, version)| {
        let id = spdx.or(text.map(|_| format!("{}#terms", room.ap_id)))?;
        Some(json!({"id": id, "version": version}).to_string())
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
    let hosts: Vec<(String, String)> = room_members::table
        .inner_join(actors::table.on(actors::id.eq(room_members::actor_id)))
        .filter(room_members::room_id.eq(room.id))
        .select((actors::host, room_members::role))
        .load(c)?;
    let phase = current_phase(c, room)?;
    Ok(hosts.iter().any(|(host, role)| {
        host == &signer.host
            && rules::check(visibility(room), &phase, Role::parse(role), Action::See).is_ok()
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
    let org = queries::local_actor_of_kind(c, "Organization")?;
    for follower in [Some(user.id), org.map(|o| o.id)].into_iter().flatten() {
        if queries::follow_between(c, follower, room.id)?.is_some_and(|f| f.state == "accepted") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A local room by name, if `steward` stewards it.
pub fn steward_room(c: &mut DbConnection, steward: &Actor, room_name: &str) -> Result<Actor> {
    let room = queries::local_actor_by_name(c, room_name)?
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
    let kind = kind.map(|k| k.as_str().to_string());
    let updated = diesel::update(
        room_members::table
            .filter(room_members::room_id.eq(room.id))
            .filter(room_members::actor_id.eq(actor.id)),
    )
    .set((
        room_members::role.eq(role.as_str()),
        room_members::partner_kind.eq(&kind),
    ))
    .execute(c)?;
    if updated == 0 {
        diesel::insert_into(room_members::table)
            .values((
                room_members::room_id.eq(room.id),
                room_members::actor_id.eq(actor.id),
                room_members::role.eq(role.as_str()),
                room_members::partner_kind.eq(&kind),
                room_members::created_at.eq(now()),
            ))
            .execute(c)?;
    }
    Ok(())
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
        queries::put_follow(c, actor.id, room.id, "accepted", &receipt.id)?;
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
            diesel::delete(
                room_requests::table
                    .filter(room_requests::room_id.eq(room.id))
                    .filter(room_requests::actor_id.eq(actor.id)),
            )
            .execute(c)?;
            diesel::insert_into(room_requests::table)
                .values((
                    room_requests::room_id.eq(room.id),
                    room_requests::actor_id.eq(actor.id),
                    room_requests::activity.eq(activity.to_string()),
                    room_requests::message.eq(message),
                    room_requests::state.eq("pending"),
                    room_requests::created_at.eq(now()),
                ))
                .execute(c)?;
            queries::put_follow(c, actor.id, room.id, "pending", &receipt.id)?;
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
            let rows: Vec<(RoomRequest, Actor)> = room_requests::table
                .inner_join(actors::table.on(actors::id.eq(room_requests::actor_id)))
                .filter(room_requests::room_id.eq(room.id))
                .filter(room_requests::state.eq("pending"))
                .select((room_requests::all_columns, actors::all_columns))
                .order(room_requests::id.asc())
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(r, a)| RequestView {
                    id: r.id,
                    kind: serde_json::from_str::<Value>(&r.activity)
                        .ok()
                        .and_then(|v| v["type"].as_str().map(String::from))
                        .unwrap_or_default(),
                    actor: a.ap_id.clone(),
                    handle: a.handle(),
                    message: r.message,
                    state: r.state,
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
        let request: RoomRequest = room_requests::table
            .find(request_id)
            .filter(room_requests::room_id.eq(room.id))
            .first(c)
            .optional()?
            .ok_or_else(|| Error::not_found(format!("request {request_id}")))?;
        if request.state != "pending" {
            return Err(Error::Conflict(format!(
                "request {request_id} was already answered"
            )));
        }
        let actor = queries::actor_by_id(c, request.actor_id)?;
        let activity: Value =
            serde_json::from_str(&request.activity).map_err(|e| Error::Internal(e.to_string()))?;
        let state = match approve {
            Some((role, kind)) => {
                put_member(c, &room, &actor, role, kind)?;
                queries::put_follow(
                    c,
                    actor.id,
                    room.id,
                    "accepted",
                    activity["id"].as_str().unwrap_or_default(),
                )?;
                accept(c, &urls, &room, &actor, &activity)?;
                "approved"
            }
            None => {
                let reason = reason
                    .clone()
                    .unwrap_or_else(|| "the stewards declined the request".into());
                queries::delete_follow(c, actor.id, room.id)?;
                reject(c, &urls, &room, &actor, &activity, &reason)?;
                "refused"
            }
        };
        diesel::update(room_requests::table.find(request_id))
            .set((
                room_requests::state.eq(state),
                room_requests::reason.eq(reason),
            ))
            .execute(c)?;
        Ok(())
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
            let room = queries::local_actor_by_name(c, &room_name)?
                .filter(|a| a.is_room())
                .ok_or_else(|| Error::not_found(format!("room '{room_name}'")))?;
            if member_role(c, &room, &user)?.is_none() {
                return Err(Error::Forbidden("only members see the member list".into()));
            }
            let rows: Vec<(RoomMember, Actor)> = room_members::table
                .inner_join(actors::table.on(actors::id.eq(room_members::actor_id)))
                .filter(room_members::room_id.eq(room.id))
                .select((room_members::all_columns, actors::all_columns))
                .order(room_members::id.asc())
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(m, a)| MemberView {
                    actor: a.ap_id.clone(),
                    handle: a.handle(),
                    kind: a.kind.clone(),
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
        let removed = diesel::delete(
            room_members::table
                .filter(room_members::room_id.eq(room.id))
                .filter(room_members::actor_id.eq(target.id)),
        )
        .execute(c)?;
        if removed == 0 {
            return Err(Error::not_found(format!("member {}", target.handle())));
        }
        // The member (and, for an organisation, everyone on its node) stops receiving.
        let on_host: Vec<i32> = if target.kind == "Organization" {
            actors::table
                .filter(actors::host.eq(&target.host))
                .select(actors::id)
                .load(c)?
        } else {
            vec![target.id]
        };
        for id in on_host {
            queries::delete_follow(c, id, room.id)?;
        }
        let mut inboxes: Vec<String> = queries::followers_of(c, room.id)?
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
        let is_member: i64 = room_members::table
            .filter(room_members::room_id.eq(room.id))
            .filter(room_members::actor_id.eq(target.id))
            .count()
            .get_result(c)?;
        if is_member == 0 {
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
            kind: target.kind.clone(),
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
        let Some(actor) = queries::actor_by_ap_id(c, &removed)? else {
            return Ok(Applied::Done);
        };
        let affected: Vec<Actor> = if actor.local && actor.kind == "Organization" {
            actors::table.filter(actors::local.eq(true)).load(c)?
        } else {
            vec![actor]
        };
        for a in affected.iter().filter(|a| a.local) {
            queries::delete_follow(c, a.id, room.id)?;
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
