//! Support for ideas: one `Like` per actor, withdrawn with `Undo(Like)`.

use serde_json::{json, Value};

use crate::domain::membership::Action;
use crate::error::{Error, Result};
use crate::service::inbound::{Applied, Inbound};
use crate::service::{commit, ideas, members, policy};
use crate::state::Ctx;
use crate::store;
use crate::store::models::Actor;
use crate::vocab::{self, ActivityKind, PUBLIC};

/// A Like of an idea: to the room and the idea's author; public rooms copy the public.
fn like_json(id: &str, user: &Actor, idea_ap_id: &str, room: &Actor, idea_author: &Actor) -> Value {
    let cc: &[&str] = if policy::is_public(room) {
        &[PUBLIC]
    } else {
        &[]
    };
    let mut like = vocab::activity(
        ActivityKind::Like,
        id,
        &user.ap_id,
        json!(idea_ap_id),
        &[&room.ap_id, &idea_author.ap_id],
        cc,
    );
    like["audience"] = json!(room.ap_id);
    like
}

/// A local user supports an idea (once: supporting again changes nothing), if the room's
/// current phase lets its role.
pub async fn give(ctx: &Ctx, user: Actor, idea_key: String) -> Result<ideas::IdeaDetail> {
    commit(ctx, move |c| {
        let idea = ideas::find(c, &idea_key)?;
        policy::require_live_idea(&idea)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        if room.local {
            policy::require(c, &room, &user, Action::Support { stage: idea.stage })?;
        }
        let idea_author = store::actors::by_id(c, idea.author_id)?;
        let like_id = c.new_activity_id();
        if store::supports::add(c, idea.id, user.id, &like_id)? {
            let like = like_json(&like_id, &user, &idea.ap_id, &room, &idea_author);
            let extra = remote_inbox(&idea_author);
            c.distribute(&user, &room, &like, None, extra)?;
        }
        ideas::detail(c, &idea)
    })
    .await
}

/// A local user withdraws support (nothing happens when there was none).
pub async fn withdraw(ctx: &Ctx, user: Actor, idea_key: String) -> Result<ideas::IdeaDetail> {
    commit(ctx, move |c| {
        let idea = ideas::find(c, &idea_key)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        if !policy::may_see(c, &room, &user)? {
            // Ideas of rooms the user may not see do not exist for them.
            return Err(Error::not_found(format!("idea {idea_key}")));
        }
        policy::require_live_idea(&idea)?;
        let idea_author = store::actors::by_id(c, idea.author_id)?;
        if let Some(like_id) = store::supports::activity_of(c, idea.id, user.id)? {
            store::supports::remove(c, idea.id, user.id)?;
            let like = like_json(&like_id, &user, &idea.ap_id, &room, &idea_author);
            let mut undo = like.clone();
            undo["id"] = json!(c.new_activity_id());
            undo["type"] = json!(ActivityKind::Undo.as_str());
            undo["object"] = vocab::embedded(like);
            let extra = remote_inbox(&idea_author);
            c.distribute(&user, &room, &undo, None, extra)?;
        }
        ideas::detail(c, &idea)
    })
    .await
}

/// The author of a remote idea hears of its support directly, besides its room.
fn remote_inbox(author: &Actor) -> Vec<String> {
    if author.local {
        vec![]
    } else {
        vec![author.delivery_inbox().to_string()]
    }
}

/// A `Like` (or `EmojiReact`) from another server.
#[derive(Debug, Clone)]
pub struct Like {
    /// What was liked: an idea counts; a comment is refused with a reason.
    pub object: String,
}

/// A Like from another server; its id identifies it for a later Undo.
pub async fn receive_like(ctx: &Ctx, like: Inbound<Like>) -> Result<Applied> {
    commit(ctx, move |c| {
        let Inbound {
            actor,
            receipt,
            content,
            original,
        } = like;
        let idea = store::ideas::by_ap_id(c, &content.object)?.ok_or_else(|| {
            if store::comments::by_ap_id(c, &content.object)
                .ok()
                .flatten()
                .is_some()
            {
                Error::Unsupported(
                    "only ideas can be supported; likes of comments are not counted".into(),
                )
            } else {
                Error::Unsupported(format!("{} is not an idea on this node", content.object))
            }
        })?;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        let room = store::actors::by_id(c, idea.room_id)?;
        if room.local {
            let action = Action::Support { stage: idea.stage };
            if let Err(reason) = policy::authorize(c, &room, &actor, action)? {
                return members::refuse(c, &room, &actor, &original, &reason);
            }
        }
        if store::supports::add(c, idea.id, actor.id, &receipt.id)? {
            c.distribute(&actor, &room, &original, None, vec![])?;
        }
        Ok(Applied::Done)
    })
    .await
}

/// An `Undo(Like)`: by the Like's id, or by the idea it liked.
#[derive(Debug, Clone)]
pub struct Unlike {
    pub like_id: Option<String>,
    pub idea: Option<String>,
}

/// An Undo(Like) from another server: by the Like's id, or by actor and idea.
pub async fn receive_unlike(ctx: &Ctx, undo: Inbound<Unlike>) -> Result<Applied> {
    commit(ctx, move |c| {
        let Inbound {
            actor,
            receipt,
            content,
            original,
        } = undo;
        let by_like = match &content.like_id {
            Some(id) => store::supports::by_activity(c, id)?,
            None => None,
        };
        let idea_id = match (by_like, &content.idea) {
            (Some((idea, who)), _) if who == actor.id => idea,
            (_, Some(ap)) => store::ideas::by_ap_id(c, ap)?
                .map(|i| i.id)
                .ok_or_else(|| Error::Unsupported(format!("{ap} is not an idea on this node")))?,
            _ => {
                return Err(Error::Unsupported(
                    "Undo of a Like this node never counted".into(),
                ))
            }
        };
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        if store::supports::remove(c, idea_id, actor.id)? > 0 {
            let idea = store::ideas::by_id(c, idea_id)?.ok_or_else(|| Error::not_found("idea"))?;
            let room = store::actors::by_id(c, idea.room_id)?;
            c.distribute(&actor, &room, &original, None, vec![])?;
        }
        Ok(Applied::Done)
    })
    .await
}
