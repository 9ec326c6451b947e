//! Following rooms (and other actors) across nodes: Follow and Join, their Accept or Reject,
//! and Undo.

use serde_json::Value;

use crate::domain::kinds::{ActorKind, FollowState};
use crate::domain::text;
use crate::error::{Error, Result};
use crate::remote;
use crate::service::inbound::{Applied, Inbound, Receipt};
use crate::service::{commit, members, peers, policy, Tx};
use crate::state::Ctx;
use crate::store;
use crate::store::models::{Actor, Follow};
use crate::vocab::{self, ActivityKind};

/// A local user follows an actor by handle. Local targets are followed at once (a local
/// partners room takes it as a request); remote ones get a `Follow` and stay `pending` until
/// their answer arrives.
pub async fn follow(ctx: &Ctx, user: Actor, handle: &str) -> Result<(Actor, FollowState)> {
    let target = remote::resolve_handle(ctx, handle).await?;
    send_request(ctx, user, target, ActivityKind::Follow, None).await
}

/// A local user follows an actor already known by its id (from [`remote::actor`], say), as
/// [`follow`] does by handle.
pub async fn follow_actor(ctx: &Ctx, user: Actor, target: Actor) -> Result<(Actor, FollowState)> {
    send_request(ctx, user, target, ActivityKind::Follow, None).await
}

/// A local user asks to join a room by handle, with a message for its stewards (a `Join`).
pub async fn join(
    ctx: &Ctx,
    user: Actor,
    handle: &str,
    message: Option<String>,
) -> Result<(Actor, FollowState)> {
    let target = remote::resolve_handle(ctx, handle).await?;
    if !target.is_room() {
        return Err(Error::bad_request(format!("{handle} is not a room")));
    }
    send_request(ctx, user, target, ActivityKind::Join, message).await
}

async fn send_request(
    ctx: &Ctx,
    user: Actor,
    target: Actor,
    kind: ActivityKind,
    message: Option<String>,
) -> Result<(Actor, FollowState)> {
    if target.id == user.id {
        return Err(Error::bad_request("you cannot follow yourself"));
    }
    if !target.local {
        crate::service::blocks::refuse_blocked_actor(ctx, &target.ap_id).await?;
        peers::learn(ctx, &target.host).await;
    }
    let follow_id = ctx.urls.new_activity();
    let mut follow = vocab::activity(
        kind,
        &follow_id,
        &user.ap_id,
        Value::String(target.ap_id.clone()),
        &[&target.ap_id],
        &[],
    );
    let message = message.map(|m| text::sanitize_html(&m));
    if let Some(m) = &message {
        follow["content"] = Value::String(m.clone());
    }
    let target2 = target.clone();
    let state = commit(ctx, move |c| {
        let target = target2;
        if let Some(f) = store::follows::between(c, user.id, target.id)? {
            if f.state == FollowState::Accepted {
                return Ok(f.state);
            }
        }
        if target.local && target.is_room() && !policy::is_public(&target) {
            let request = Inbound {
                receipt: Receipt {
                    id: follow_id,
                    actor: user.ap_id.clone(),
                    kind: kind.to_string(),
                },
                actor: user.clone(),
                content: FollowRequest {
                    target: target.ap_id.clone(),
                    message,
                },
                original: follow,
            };
            members::receive_request(c, &target, &request)?;
            return Ok(store::follows::between(c, user.id, target.id)?
                .map(|f| f.state)
                .unwrap_or(FollowState::Rejected));
        }
        let state = if target.local {
            FollowState::Accepted
        } else {
            FollowState::Pending
        };
        store::follows::put(c, user.id, target.id, state, &follow_id)?;
        c.publish(&user, &follow, [target.inbox.clone()])?;
        Ok(state)
    })
    .await?;
    Ok((target, state))
}

/// What a local user follows (rooms, usually), with the state of each follow.
pub async fn following(ctx: &Ctx, user: &Actor) -> Result<Vec<(Actor, Follow)>> {
    let id = user.id;
    ctx.db
        .read(move |c| store::follows::following_of(c, id))
        .await
}

/// A local user stops following an actor: the follow is removed and the target gets an
/// `Undo` of the original Follow.
pub async fn unfollow(ctx: &Ctx, user: Actor, handle: &str) -> Result<()> {
    // The cache first: unfollowing must work when the other server is gone.
    let target = remote::known_or_resolve(ctx, handle).await?;
    commit(ctx, move |c| {
        let follow = store::follows::between(c, user.id, target.id)?
            .ok_or_else(|| Error::not_found(format!("a follow of {}", target.handle())))?;
        store::follows::delete(c, user.id, target.id)?;
        let original = serde_json::json!({
            "id": follow.activity_ap_id, "type": ActivityKind::Follow.as_str(),
            "actor": user.ap_id, "object": target.ap_id,
        });
        let undo = vocab::undo(
            &c.new_activity_id(),
            &user.ap_id,
            original,
            &[&target.ap_id],
            &[],
        );
        c.publish(&user, &undo, [target.inbox.clone()])
    })
    .await?;
    Ok(())
}

/// A `Follow` or `Join` of a local actor.
#[derive(Debug, Clone)]
pub struct FollowRequest {
    /// The actor to follow.
    pub target: String,
    /// What the requester says to a room's stewards (a `Join`'s `content` or `summary`).
    pub message: Option<String>,
}

/// Someone follows a local actor: public rooms, people and the organisation accept at once,
/// with an `Accept` that embeds the whole Follow (Lemmy needs it); non-public rooms take it as
/// a request (see [`members::receive_request`]). Any kind of actor may follow: people,
/// services, applications, organisations and groups (NodeBB categories and Lemmy communities
/// follow groups). The follower's server's software is learned first (see [`peers`]).
pub async fn receive_follow(ctx: &Ctx, follow: Inbound<FollowRequest>) -> Result<Applied> {
    // What the follower's server is decides what the room sends it (see `peers`).
    if !follow.actor.local {
        peers::learn(ctx, &follow.actor.host).await;
    }
    commit(ctx, move |c| {
        let target = store::actors::by_ap_id(c, &follow.content.target)?
            .filter(|a| a.local)
            .ok_or_else(|| Error::not_found(format!("local actor {}", follow.content.target)))?;
        if target.kind == ActorKind::Application {
            return Err(Error::Unsupported(
                "the instance actor cannot be followed".into(),
            ));
        }
        if target.is_room() && !policy::is_public(&target) {
            return members::receive_request(c, &target, &follow);
        }
        let Inbound {
            actor: follower,
            receipt,
            original,
            ..
        } = follow;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        store::follows::put(
            c,
            follower.id,
            target.id,
            FollowState::Accepted,
            &receipt.id,
        )?;
        let accept = vocab::accept(
            &c.new_activity_id(),
            &target.ap_id,
            original,
            &follower.ap_id,
        );
        c.publish(&target, &accept, [follower.inbox.clone()])?;
        Ok(Applied::Done)
    })
    .await
}

/// An `Accept` or `Reject` of a Follow this node sent: by the Follow's id, or by who followed.
#[derive(Debug, Clone)]
pub struct FollowAnswer {
    pub follow_id: Option<String>,
    pub follower: Option<String>,
    /// Why it was refused (a `Reject`'s `summary` or `content`).
    pub reason: Option<String>,
}

/// A followed actor accepted our Follow. Returns the followed actor, so the caller can fetch
/// what a room already holds.
pub async fn receive_acceptance(
    ctx: &Ctx,
    answer: Inbound<FollowAnswer>,
) -> Result<(Applied, Option<Actor>)> {
    commit(ctx, move |c| {
        let applied = apply_answer(c, &answer, FollowState::Accepted)?;
        Ok((
            applied.clone(),
            (applied == Applied::Done).then_some(answer.actor),
        ))
    })
    .await
}

/// A followed actor refused our Follow; the reason is kept to show.
pub async fn receive_rejection(ctx: &Ctx, answer: Inbound<FollowAnswer>) -> Result<Applied> {
    commit(ctx, move |c| {
        apply_answer(c, &answer, FollowState::Rejected)
    })
    .await
}

fn apply_answer(
    c: &mut Tx<'_>,
    answer: &Inbound<FollowAnswer>,
    state: FollowState,
) -> Result<Applied> {
    let answerer = &answer.actor;
    let mut follow = match &answer.content.follow_id {
        Some(id) => store::follows::by_activity(c, id)?,
        None => None,
    };
    if follow.is_none() {
        if let Some(fid) = &answer.content.follower {
            if let Some(f) = store::actors::by_ap_id(c, fid)? {
                follow = store::follows::between(c, f.id, answerer.id)?;
            }
        }
    }
    let follow = follow
        .ok_or_else(|| Error::Unsupported("answer to a Follow this node never sent".into()))?;
    if follow.target_id != answerer.id {
        return Err(Error::Forbidden(
            "only the followed actor can answer a Follow".into(),
        ));
    }
    if !answer.receipt.record(c)? {
        return Ok(Applied::Duplicate);
    }
    store::follows::set_state(c, follow.id, state)?;
    if state == FollowState::Rejected {
        store::follows::set_reason(c, follow.id, answer.content.reason.as_deref())?;
    }
    Ok(Applied::Done)
}

/// An `Undo(Follow)`: by the Follow's id, or by what it followed.
#[derive(Debug, Clone)]
pub struct Unfollow {
    pub follow_id: Option<String>,
    pub target: Option<String>,
}

/// The follower withdrew its Follow.
pub async fn receive_unfollow(ctx: &Ctx, undo: Inbound<Unfollow>) -> Result<Applied> {
    commit(ctx, move |c| {
        let follower = &undo.actor;
        let by_activity = match &undo.content.follow_id {
            Some(id) => store::follows::by_activity(c, id)?,
            None => None,
        };
        let target = match (by_activity, &undo.content.target) {
            (Some(f), _) if f.follower_id == follower.id => f.target_id,
            (_, Some(t)) => store::actors::by_ap_id(c, t)?
                .map(|a| a.id)
                .ok_or_else(|| Error::not_found(format!("actor {t}")))?,
            _ => return Err(Error::not_found("the follow to undo")),
        };
        if !undo.receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        store::follows::delete(c, follower.id, target)?;
        Ok(Applied::Done)
    })
    .await
}
