//! Invitations: stewards bring a person or a whole organisation into a room with a role
//! (`Invite`); the invitee accepts (`Accept`, which the room confirms with `Add`) or declines
//! (`Reject`, with a reason).

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::kinds::{ActorKind, FollowState, InvitationState};
use crate::domain::membership::{PartnerKind, Role};
use crate::error::{Error, Result};
use crate::remote;
use crate::service::inbound::{Applied, Inbound};
use crate::service::{commit, members, policy, Tx};
use crate::state::Ctx;
use crate::store::invitations::NewInvitation;
use crate::store::models::{Actor, Invitation};
use crate::store::{self, DbConnection};
use crate::vocab::{self, ActivityKind};

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
    let mut invite = vocab::activity(
        ActivityKind::Invite,
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
    steward: Actor,
    room_name: String,
    handle: &str,
    role: Role,
    kind: Option<PartnerKind>,
) -> Result<InvitationView> {
    let invitee = remote::known_or_resolve(ctx, handle).await?;
    if !matches!(invitee.kind, ActorKind::Person | ActorKind::Organization) {
        return Err(Error::bad_request(format!(
            "{handle} is a {}: invite a person or an organisation",
            invitee.kind
        )));
    }
    commit(ctx, move |c| {
        let room = policy::steward_room(c, &steward, &room_name)?;
        if policy::membership(c, &room, &invitee)?.is_some_and(|m| m.actor_id == invitee.id) {
            return Err(Error::Conflict(format!(
                "{} is already a member",
                invitee.handle()
            )));
        }
        let ap_id = c.new_activity_id();
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
        let invite = invite_json(&inv, &room, &invitee);
        c.publish(&room, &invite, [invitee.inbox.clone()])?;
        view(c, &inv)
    })
    .await
}

/// An `Invite` from a room of another node into itself.
#[derive(Debug, Clone)]
pub struct IncomingInvite {
    /// The local person or organisation invited.
    pub invitee: String,
    pub role: Role,
    pub partner_kind: Option<PartnerKind>,
}

/// A room of another node invites a local person or this node's organisation.
pub async fn receive_invite(ctx: &Ctx, invite: Inbound<IncomingInvite>) -> Result<Applied> {
    commit(ctx, move |c| {
        let Inbound {
            actor: room,
            receipt,
            content,
            ..
        } = invite;
        let invitee = store::actors::by_ap_id(c, &content.invitee)?
            .filter(|a| a.local && matches!(a.kind, ActorKind::Person | ActorKind::Organization))
            .ok_or_else(|| {
                Error::not_found(format!("local person or organisation {}", content.invitee))
            })?;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        store::invitations::insert(
            c,
            NewInvitation {
                ap_id: &receipt.id,
                room: room.id,
                invitee: invitee.id,
                role: content.role,
                partner_kind: content.partner_kind,
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
            let room = policy::steward_room(c, &steward, &room_name)?;
            let rows = store::invitations::sent_by_room(c, room.id)?;
            rows.iter().map(|inv| view(c, inv)).collect()
        })
        .await
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
                if (inv.incoming || room.local) && policy::answers_for(&user, &invitee) {
                    out.push(view(c, &inv)?);
                }
            }
            Ok(out)
        })
        .await
}

/// The invitee accepts. For a room of another node, the `Accept` goes to the room (which
/// confirms with `Add`); for a local room, the membership is made here.
pub async fn accept(ctx: &Ctx, user: Actor, id: i32) -> Result<InvitationView> {
    commit(ctx, move |c| {
        let (inv, invitee, room) = pending_for(c, &user, id)?;
        if room.local {
            join_room(c, &room, &invitee, &inv)?;
        } else {
            let invite = invite_json(&inv, &room, &invitee);
            let answer = vocab::accept(&c.new_activity_id(), &invitee.ap_id, invite, &room.ap_id);
            // Followed once the room confirms the membership with Add.
            store::follows::put(c, invitee.id, room.id, FollowState::Pending, &inv.ap_id)?;
            c.publish(&invitee, &answer, [room.inbox.clone()])?;
        }
        store::invitations::answer(c, id, InvitationState::Accepted, None)?;
        reload_view(c, id)
    })
    .await
}

/// The invitee declines, with a reason the room's stewards see.
pub async fn decline(
    ctx: &Ctx,
    user: Actor,
    id: i32,
    reason: Option<String>,
) -> Result<InvitationView> {
    commit(ctx, move |c| {
        let (inv, invitee, room) = pending_for(c, &user, id)?;
        if !room.local {
            let invite = invite_json(&inv, &room, &invitee);
            let id = c.new_activity_id();
            let answer = vocab::reject(&id, &invitee.ap_id, invite, &room.ap_id, reason.as_deref());
            c.publish(&invitee, &answer, [room.inbox.clone()])?;
        }
        store::invitations::answer(c, inv.id, InvitationState::Rejected, reason.as_deref())?;
        reload_view(c, inv.id)
    })
    .await
}

/// An invitation `user` answers for that still waits for an answer, with its invitee and room
/// (404 for invitations the user does not answer for).
fn pending_for(c: &mut Tx<'_>, user: &Actor, id: i32) -> Result<(Invitation, Actor, Actor)> {
    let inv = store::invitations::by_id(c, id)?
        .ok_or_else(|| Error::not_found(format!("invitation {id}")))?;
    let invitee = store::actors::by_id(c, inv.invitee_id)?;
    let room = store::actors::by_id(c, inv.room_id)?;
    if !policy::answers_for(user, &invitee) || !(inv.incoming || room.local) {
        return Err(Error::not_found(format!("invitation {id}")));
    }
    if inv.state != InvitationState::Pending {
        return Err(Error::Conflict(format!(
            "invitation {id} was already answered"
        )));
    }
    Ok((inv, invitee, room))
}

fn reload_view(c: &mut Tx<'_>, id: i32) -> Result<InvitationView> {
    let inv = store::invitations::by_id(c, id)?
        .ok_or_else(|| Error::not_found(format!("invitation {id}")))?;
    view(c, &inv)
}

fn join_room(c: &mut DbConnection, room: &Actor, invitee: &Actor, inv: &Invitation) -> Result<()> {
    let (role, kind) = members::parse_role(&inv.role, inv.partner_kind.as_deref())?;
    members::put_member(c, room, invitee, role, kind)?;
    store::follows::put(c, invitee.id, room.id, FollowState::Accepted, &inv.ap_id)?;
    Ok(())
}

/// An invitee's `Accept` or `Reject` of an invitation a local room sent.
#[derive(Debug, Clone)]
pub struct InviteAnswer {
    pub invite_id: String,
    /// Why it was declined (a `Reject`'s `summary` or `content`).
    pub reason: Option<String>,
}

/// The invitee accepted: it becomes a member, and is told with `Add`.
pub async fn receive_acceptance(ctx: &Ctx, answer: Inbound<InviteAnswer>) -> Result<Applied> {
    // The new member's node becomes a follower: what its server is decides what it is sent.
    crate::service::peers::learn(ctx, &answer.actor.host).await;
    commit(ctx, move |c| {
        let inv = match answered_invitation(c, &answer)? {
            Ok(inv) => inv,
            Err(applied) => return Ok(applied),
        };
        let actor = &answer.actor;
        let room = store::actors::by_id(c, inv.room_id)?;
        join_room(c, &room, actor, &inv)?;
        let mut add = vocab::activity(
            ActivityKind::Add,
            &c.new_activity_id(),
            &room.ap_id,
            json!(actor.ap_id),
            &[&actor.ap_id],
            &[],
        );
        add["target"] = json!(room.ap_id);
        add["role"] = json!(inv.role);
        c.publish(&room, &add, [actor.inbox.clone()])?;
        store::invitations::answer(c, inv.id, InvitationState::Accepted, None)?;
        Ok(Applied::Done)
    })
    .await
}

/// The invitee declined; the reason is kept for the stewards.
pub async fn receive_decline(ctx: &Ctx, answer: Inbound<InviteAnswer>) -> Result<Applied> {
    commit(ctx, move |c| {
        let inv = match answered_invitation(c, &answer)? {
            Ok(inv) => inv,
            Err(applied) => return Ok(applied),
        };
        let reason = answer.content.reason.as_deref();
        store::invitations::answer(c, inv.id, InvitationState::Rejected, reason)?;
        Ok(Applied::Done)
    })
    .await
}

/// The invitation an answer is about, if it still waits for one; otherwise what to tell the
/// sender (a duplicate, or an invitation already answered: acknowledged, nothing changes).
fn answered_invitation(
    c: &mut Tx<'_>,
    answer: &Inbound<InviteAnswer>,
) -> Result<std::result::Result<Invitation, Applied>> {
    let invite_id = &answer.content.invite_id;
    let inv = store::invitations::by_ap_id(c, invite_id, false)?.ok_or_else(|| {
        Error::Unsupported(format!(
            "answer to an invitation this node never sent: {invite_id}"
        ))
    })?;
    if inv.invitee_id != answer.actor.id {
        return Err(Error::Forbidden(
            "only the invitee answers an invitation".into(),
        ));
    }
    if !answer.receipt.record(c)? {
        return Ok(Err(Applied::Duplicate));
    }
    if inv.state != InvitationState::Pending {
        return Ok(Err(Applied::Done));
    }
    Ok(Ok(inv))
}

/// A room confirms that a local person or this node's organisation (`member`) is now a
/// member: follow it.
pub async fn receive_add(ctx: &Ctx, add: Inbound<String>) -> Result<Applied> {
    commit(ctx, move |c| {
        let Inbound {
            actor: room,
            receipt,
            content: member,
            ..
        } = add;
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
