//! Invitations: stewards bring a person or a whole organisation into a room with a role
//! (`Invite`); the invitee accepts (`Accept`, which the room confirms with `Add`) or declines
//! (`Reject`, with a reason).

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::kinds::{ActorKind, FollowState, InvitationState};
use crate::domain::membership::{PartnerKind, Role};
use crate::error::{Error, Result};
use crate::federation::fetch::{self, id_of};
use crate::federation::{objects, outbox};
use crate::service::follows::{Applied, Receipt};
use crate::service::{commit, members};
use crate::state::Ctx;
use crate::store::invitations::NewInvitation;
use crate::store::models::{Actor, Invitation};
use crate::store::{self, DbConnection};

/// An invitation as its invitee or the room's stewards see it.
#[derive(Debug, Serialize)]
pub struct InvitationView {
    pub id: i32,
    pub ap_id: String,
    pub room: String,
    pub room_handle: String,
    pub invitee: String,
    pub role: String,
    pub partner_kind: Option<String>,
    pub state: String,
    pub reason: Option<String>,
}

fn view(c: &mut DbConnection, inv: &Invitation) -> Result<InvitationView> {
    let room = store::actors::by_id(c, inv.room_id)?;
    let invitee = store::actors::by_id(c, inv.invitee_id)?;
    Ok(InvitationView {
        id: inv.id,
        ap_id: inv.ap_id.clone(),
        room: room.ap_id.clone(),
        room_handle: room.handle(),
        invitee: invitee.ap_id,
        role: inv.role.clone(),
        partner_kind: inv.partner_kind.clone(),
        state: inv.state.to_string(),
        reason: inv.reason.clone(),
    })
}

/// The Invite activity of an invitation, as sent and as embedded in answers.
fn invite_json(inv: &Invitation, room: &Actor, invitee: &Actor) -> Value {
    let mut invite = objects::activity(
        "Invite",
        &inv.ap_id,
        &room.ap_id,
        json!(room.ap_id),
        &[&invitee.ap_id],
        &[],
    );
    invite["target"] = json!(invitee.ap_id);
    invite["role"] = json!(inv.role);
    if let Some(k) = &inv.partner_kind {
        invite["partnerKind"] = json!(k);
    }
    invite
}

/// A steward invites a person or an organisation (`handle`) into a local room.
pub async fn invite(
    ctx: &Ctx,
    steward: &Actor,
    room_name: &str,
    handle: &str,
    role: Role,
    kind: Option<PartnerKind>,
) -> Result<InvitationView> {
    let invitee = fetch::known_or_resolve(ctx, handle).await?;
    if !matches!(invitee.kind.as_str(), "Person" | "Organization") {
        return Err(Error::bad_request(format!(
            "{handle} is a {}: invite a person or an organisation",
            invitee.kind
        )));
    }
    let (urls, steward, room_name) = (ctx.urls.clone(), steward.clone(), room_name.to_string());
    commit(ctx, move |c| {
        let room = members::steward_room(c, &steward, &room_name)?;
        if members::membership(c, &room, &invitee)?.is_some_and(|m| m.actor_id == invitee.id) {
            return Err(Error::Conflict(format!(
                "{} is already a member",
                invitee.handle()
            )));
        }
        let ap_id = urls.new_activity();
        let inv = store::invitations::insert(
            c,
            NewInvitation {
                ap_id: &ap_id,
                room: room.id,
                invitee: invitee.id,
                role,
                partner_kind: kind,
                incoming: false,
            },
        )?;
        outbox::publish(
            c,
            &urls,
            &room,
            &invite_json(&inv, &room, &invitee),
            [invitee.inbox.clone()],
        )?;
        view(c, &inv)
    })
    .await
}

/// A room of another node invites a local person or this node's organisation.
pub async fn receive_invite(
    ctx: &Ctx,
    room: &Actor,
    invite: &Value,
    receipt: Receipt,
) -> Result<Applied> {
    let target = id_of(&invite["target"])
        .ok_or_else(|| Error::bad_request("Invite has no target"))?
        .to_string();
    if id_of(&invite["object"]) != Some(room.ap_id.as_str()) {
        return Err(Error::Unsupported(
            "a room can only invite into itself".into(),
        ));
    }
    let role = invite["role"]
        .as_str()
        .and_then(Role::parse)
        .unwrap_or(Role::Partner);
    let kind = invite["partnerKind"].as_str().and_then(PartnerKind::parse);
    let room = room.clone();
    commit(ctx, move |c| {
        let invitee = store::actors::by_ap_id(c, &target)?
            .filter(|a| a.local && matches!(a.kind, ActorKind::Person | ActorKind::Organization))
            .ok_or_else(|| Error::not_found(format!("local person or organisation {target}")))?;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        store::invitations::insert(
            c,
            NewInvitation {
                ap_id: &receipt.id,
                room: room.id,
                invitee: invitee.id,
                role,
                partner_kind: kind,
                incoming: true,
            },
        )?;
        Ok(Applied::Done)
    })
    .await
}

/// Invitations a local room sent, for its stewards.
pub async fn sent(ctx: &Ctx, steward: &Actor, room_name: &str) -> Result<Vec<InvitationView>> {
    let (steward, room_name) = (steward.clone(), room_name.to_string());
    ctx.db
        .read(move |c| {
            let room = members::steward_room(c, &steward, &room_name)?;
            let rows = store::invitations::sent_by_room(c, room.id)?;
            rows.iter().map(|inv| view(c, inv)).collect()
        })
        .await
}

/// Whether `user` answers for invitations addressed to `invitee`: its own, or its
/// organisation's when the user is staff.
fn answers_for(user: &Actor, invitee: &Actor) -> bool {
    invitee.id == user.id
        || (invitee.local && invitee.kind == ActorKind::Organization && user.staff)
}

/// Invitations received by the user (and, for staff, by the organisation).
pub async fn received(ctx: &Ctx, user: &Actor) -> Result<Vec<InvitationView>> {
    let user = user.clone();
    ctx.db
        .read(move |c| {
            let rows = store::invitations::all(c)?;
            let mut out = Vec::new();
            for inv in rows {
                let invitee = store::actors::by_id(c, inv.invitee_id)?;
                let room = store::actors::by_id(c, inv.room_id)?;
                // Outgoing rows of a local room double as the local invitee's received ones.
                if (inv.incoming || room.local) && answers_for(&user, &invitee) {
                    out.push(view(c, &inv)?);
                }
            }
            Ok(out)
        })
        .await
}

/// The invitee accepts or declines. For a room of another node, the answer is sent to the
/// room; for a local room, the membership is made here.
pub async fn answer(
    ctx: &Ctx,
    user: &Actor,
    id: i32,
    accept: bool,
    reason: Option<String>,
) -> Result<InvitationView> {
    let (urls, user) = (ctx.urls.clone(), user.clone());
    commit(ctx, move |c| {
        let inv = store::invitations::by_id(c, id)?
            .ok_or_else(|| Error::not_found(format!("invitation {id}")))?;
        let invitee = store::actors::by_id(c, inv.invitee_id)?;
        let room = store::actors::by_id(c, inv.room_id)?;
        if !answers_for(&user, &invitee) || !(inv.incoming || room.local) {
            return Err(Error::not_found(format!("invitation {id}")));
        }
        if inv.state != InvitationState::Pending {
            return Err(Error::Conflict(format!(
                "invitation {id} was already answered"
            )));
        }
        if room.local {
            if accept {
                join_room(c, &room, &invitee, &inv)?;
            }
        } else {
            let kind = if accept { "Accept" } else { "Reject" };
            let mut answer = objects::activity(
                kind,
                &urls.new_activity(),
                &invitee.ap_id,
                objects::embedded(invite_json(&inv, &room, &invitee)),
                &[&room.ap_id],
                &[],
            );
            if let (false, Some(r)) = (accept, &reason) {
                answer["summary"] = json!(r);
            }
            if accept {
                // Followed once the room confirms the membership with Add.
                store::follows::put(c, invitee.id, room.id, FollowState::Pending, &inv.ap_id)?;
            }
            outbox::publish(c, &urls, &invitee, &answer, [room.inbox.clone()])?;
        }
        store::invitations::answer(c, id, answer_state(accept), reason.as_deref())?;
        let inv = store::invitations::by_id(c, id)?
            .ok_or_else(|| Error::not_found(format!("invitation {id}")))?;
        view(c, &inv)
    })
    .await
}

fn answer_state(accepted: bool) -> InvitationState {
    if accepted {
        InvitationState::Accepted
    } else {
        InvitationState::Rejected
    }
}

fn join_room(c: &mut DbConnection, room: &Actor, invitee: &Actor, inv: &Invitation) -> Result<()> {
    let (role, kind) = members::parse_role(&inv.role, inv.partner_kind.as_deref())?;
    members::put_member(c, room, invitee, role, kind)?;
    store::follows::put(c, invitee.id, room.id, FollowState::Accepted, &inv.ap_id)?;
    Ok(())
}

/// The invitee's answer reaches the room: a member is made (and told with `Add`), or the
/// refusal and its reason are kept for the stewards.
pub async fn receive_answer(
    ctx: &Ctx,
    actor: &Actor,
    answer: &Value,
    accepted: bool,
    receipt: Receipt,
) -> Result<Applied> {
    let invite_id = id_of(&answer["object"])
        .ok_or_else(|| Error::bad_request("answer has no object"))?
        .to_string();
    let reason = answer["summary"]
        .as_str()
        .or(answer["content"].as_str())
        .map(String::from);
    let (urls, actor) = (ctx.urls.clone(), actor.clone());
    commit(ctx, move |c| {
        let inv = store::invitations::by_ap_id(c, &invite_id, false)?.ok_or_else(|| {
            Error::Unsupported(format!(
                "answer to an invitation this node never sent: {invite_id}"
            ))
        })?;
        if inv.invitee_id != actor.id {
            return Err(Error::Forbidden(
                "only the invitee answers an invitation".into(),
            ));
        }
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        if inv.state != InvitationState::Pending {
            return Ok(Applied::Done);
        }
        let room = store::actors::by_id(c, inv.room_id)?;
        if accepted {
            join_room(c, &room, &actor, &inv)?;
            let mut add = objects::activity(
                "Add",
                &urls.new_activity(),
                &room.ap_id,
                json!(actor.ap_id),
                &[&actor.ap_id],
                &[],
            );
            add["target"] = json!(room.ap_id);
            add["role"] = json!(inv.role);
            outbox::publish(c, &urls, &room, &add, [actor.inbox.clone()])?;
        }
        store::invitations::answer(c, inv.id, answer_state(accepted), reason.as_deref())?;
        Ok(Applied::Done)
    })
    .await
}

/// A room confirms that a local person or this node's organisation is now a member: follow it.
/// Returns true when a follow was confirmed, so the caller can fetch the room's content.
pub async fn receive_add(
    ctx: &Ctx,
    room: &Actor,
    add: &Value,
    receipt: Receipt,
) -> Result<Applied> {
    let member = id_of(&add["object"])
        .ok_or_else(|| Error::bad_request("Add has no object"))?
        .to_string();
    if id_of(&add["target"]) != Some(room.ap_id.as_str()) {
        return Err(Error::Unsupported(
            "Add is only understood for members of the room sending it".into(),
        ));
    }
    let room = room.clone();
    commit(ctx, move |c| {
        let actor = store::actors::by_ap_id(c, &member)?
            .filter(|a| a.local)
            .ok_or_else(|| Error::not_found(format!("local actor {member}")))?;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        let follow_activity = store::follows::between(c, actor.id, room.id)?
            .map(|f| f.activity_ap_id)
            .unwrap_or_else(|| receipt.id.clone());
        store::follows::put(
            c,
            actor.id,
            room.id,
            FollowState::Accepted,
            &follow_activity,
        )?;
        Ok(Applied::Done)
    })
    .await
}
