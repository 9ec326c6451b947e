//! Following rooms (and other actors) across nodes: Follow, Accept, Reject, Undo.

use serde_json::Value;

use crate::domain::kinds::ActorKind;
use crate::domain::kinds::FollowState;
use crate::domain::Visibility;
use crate::error::{Error, Result};
use crate::federation::{fetch, objects, outbox};
use crate::service::{commit, members};
use crate::state::Ctx;
use crate::store;
use crate::store::models::Actor;

/// What the inbox is told about an inbound activity that was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done,
    Duplicate,
    /// Understood and answered with a `Reject` giving this reason (a room rule refused it).
    Refused(String),
}

/// The inbound activity being applied; recorded in the same transaction as its effect.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub id: String,
    pub actor: String,
    pub kind: String,
}

impl Receipt {
    /// Records the receipt; false when the activity was already applied.
    pub fn record(&self, c: &mut crate::store::DbConnection) -> Result<bool> {
        store::receipts::record(c, &self.id, &self.actor, &self.kind)
    }
}

/// A local user follows an actor by handle. Local targets are followed at once; remote ones
/// get a Follow and stay `pending` until their Accept arrives.
pub async fn follow_handle(ctx: &Ctx, user: &Actor, handle: &str) -> Result<(Actor, FollowState)> {
    request(ctx, user, handle, "Follow", None).await
}

/// Sends a `Follow`, or a `Join` with a message, to an actor (a room, usually). Local public
/// rooms are followed at once; local partners rooms get a request like remote ones do.
pub async fn request(
    ctx: &Ctx,
    user: &Actor,
    handle: &str,
    kind: &str,
    message: Option<String>,
) -> Result<(Actor, FollowState)> {
    let target = fetch::resolve_handle(ctx, handle).await?;
    if target.id == user.id {
        return Err(Error::bad_request("you cannot follow yourself"));
    }
    if kind == "Join" && !target.is_room() {
        return Err(Error::bad_request(format!("{handle} is not a room")));
    }
    let follow_id = ctx.urls.new_activity();
    let mut follow = objects::activity(
        kind,
        &follow_id,
        &user.ap_id,
        Value::String(target.ap_id.clone()),
        &[&target.ap_id],
        &[],
    );
    if let Some(m) = message {
        follow["content"] = Value::String(crate::domain::text::sanitize_html(&m));
    }
    let (urls, user2, target2, kind) = (
        ctx.urls.clone(),
        user.clone(),
        target.clone(),
        kind.to_string(),
    );
    let state = commit(ctx, move |c| {
        if let Some(f) = store::follows::between(c, user2.id, target2.id)? {
            if f.state == FollowState::Accepted {
                return Ok(f.state);
            }
        }
        if target2.local && target2.is_room() && members::visibility(&target2) != Visibility::Public
        {
            let receipt = Receipt {
                id: follow_id.clone(),
                actor: user2.ap_id.clone(),
                kind,
            };
            members::receive_request(c, &urls, &target2, &user2, &follow, &receipt)?;
            return Ok(store::follows::between(c, user2.id, target2.id)?
                .map(|f| f.state)
                .unwrap_or(FollowState::Rejected));
        }
        let state = if target2.local {
            FollowState::Accepted
        } else {
            FollowState::Pending
        };
        store::follows::put(c, user2.id, target2.id, state, &follow_id)?;
        outbox::publish(c, &urls, &user2, &follow, [target2.inbox.clone()])?;
        Ok(state)
    })
    .await?;
    Ok((target, state))
}

/// A local user stops following an actor: the follow is removed and the target gets an
/// `Undo` of the original Follow.
pub async fn unfollow(ctx: &Ctx, user: &Actor, handle: &str) -> Result<()> {
    // The cache first: unfollowing must work when the other server is gone.
    let target = fetch::known_or_resolve(ctx, handle).await?;
    let (urls, user, undo_id) = (ctx.urls.clone(), user.clone(), ctx.urls.new_activity());
    commit(ctx, move |c| {
        let follow = store::follows::between(c, user.id, target.id)?
            .ok_or_else(|| Error::not_found(format!("a follow of {}", target.handle())))?;
        store::follows::delete(c, user.id, target.id)?;
        let original = serde_json::json!({
            "id": follow.activity_ap_id, "type": "Follow",
            "actor": user.ap_id, "object": target.ap_id,
        });
        let undo = objects::activity(
            "Undo",
            &undo_id,
            &user.ap_id,
            original,
            &[&target.ap_id],
            &[],
        );
        outbox::publish(c, &urls, &user, &undo, [target.inbox.clone()])
    })
    .await?;
    Ok(())
}

/// Someone follows a local actor: public rooms, people and the organisation accept at once,
/// with an Accept that embeds the whole Follow (Lemmy needs it).
pub async fn receive_follow(
    ctx: &Ctx,
    follower: &Actor,
    follow: &Value,
    receipt: Receipt,
) -> Result<Applied> {
    let target_id = fetch::id_of(&follow["object"])
        .ok_or_else(|| Error::bad_request("Follow has no object"))?
        .to_string();
    let follow_id = receipt.id.clone();
    let urls = ctx.urls.clone();
    let (follower, follow) = (follower.clone(), follow.clone());
    let applied = commit(ctx, move |c| {
        let target = store::actors::by_ap_id(c, &target_id)?
            .filter(|a| a.local)
            .ok_or_else(|| Error::not_found(format!("local actor {target_id}")))?;
        if target.kind == ActorKind::Application {
            return Err(Error::Unsupported(
                "the instance actor cannot be followed".into(),
            ));
        }
        if target.is_room() && members::visibility(&target) != Visibility::Public {
            return members::receive_request(c, &urls, &target, &follower, &follow, &receipt);
        }
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        store::follows::put(c, follower.id, target.id, FollowState::Accepted, &follow_id)?;
        let accept = objects::activity(
            "Accept",
            &urls.new_activity(),
            &target.ap_id,
            objects::embedded(follow),
            &[&follower.ap_id],
            &[],
        );
        outbox::publish(c, &urls, &target, &accept, [follower.inbox.clone()])?;
        Ok(Applied::Done)
    })
    .await?;
    Ok(applied)
}

/// A followed actor answered our Follow. Returns the target when it was accepted, so the caller
/// can fetch what the room already holds.
pub async fn receive_answer(
    ctx: &Ctx,
    answerer: &Actor,
    answer: &Value,
    accepted: bool,
    receipt: Receipt,
) -> Result<(Applied, Option<Actor>)> {
    let object = &answer["object"];
    let follow_id = fetch::id_of(object).map(String::from);
    let follower_id = object["actor"].as_str().map(String::from);
    let answerer = answerer.clone();
    let reason = answer["summary"]
        .as_str()
        .or(answer["content"].as_str())
        .map(String::from);
    commit(ctx, move |c| {
        let mut follow = match &follow_id {
            Some(id) => store::follows::by_activity(c, id)?,
            None => None,
        };
        if follow.is_none() {
            if let Some(fid) = &follower_id {
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
        if !receipt.record(c)? {
            return Ok((Applied::Duplicate, None));
        }
        store::follows::set_state(
            c,
            follow.id,
            if accepted {
                FollowState::Accepted
            } else {
                FollowState::Rejected
            },
        )?;
        if !accepted {
            store::follows::set_reason(c, follow.id, reason.as_deref())?;
        }
        Ok((Applied::Done, accepted.then_some(answerer)))
    })
    .await
}

/// The follower withdrew its Follow.
pub async fn receive_unfollow(
    ctx: &Ctx,
    follower: &Actor,
    follow: &Value,
    receipt: Receipt,
) -> Result<Applied> {
    let target_id = fetch::id_of(&follow["object"]).map(String::from);
    let follow_activity = fetch::id_of(follow).map(String::from);
    let follower = follower.clone();
    commit(ctx, move |c| {
        let by_activity = match &follow_activity {
            Some(id) => store::follows::by_activity(c, id)?,
            None => None,
        };
        let target = match (by_activity, &target_id) {
            (Some(f), _) if f.follower_id == follower.id => f.target_id,
            (_, Some(t)) => store::actors::by_ap_id(c, t)?
                .map(|a| a.id)
                .ok_or_else(|| Error::not_found(format!("actor {t}")))?,
            _ => return Err(Error::not_found("the follow to undo")),
        };
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        store::follows::delete(c, follower.id, target)?;
        Ok(Applied::Done)
    })
    .await
}
