//! Support for ideas: one `Like` per actor, withdrawn with `Undo(Like)`.

use serde_json::{json, Value};

use crate::domain::lifecycle::Stage;
use crate::domain::membership::Action;
use crate::error::{Error, Result};
use crate::federation::objects::{self, PUBLIC};
use crate::service::commit;
use crate::service::follows::{Applied, Receipt};
use crate::service::{distribute, ideas, members};
use crate::state::Ctx;
use crate::store;
use crate::store::models::Actor;

/// A Like of an idea: to the room and the idea's author; public rooms copy the public.
fn like_json(id: &str, user: &Actor, idea_ap_id: &str, room: &Actor, idea_author: &Actor) -> Value {
    let public_room = room.visibility.as_deref().is_none_or(|v| v == "public");
    let cc: &[&str] = if public_room { &[PUBLIC] } else { &[] };
    let mut like = objects::activity(
        "Like",
        id,
        &user.ap_id,
        json!(idea_ap_id),
        &[&room.ap_id, &idea_author.ap_id],
        cc,
    );
    like["audience"] = json!(room.ap_id);
    like
}

/// A local user supports (`true`) or withdraws support (`false`) for an idea.
pub async fn set(
    ctx: &Ctx,
    user: &Actor,
    idea_key: &str,
    support: bool,
) -> Result<ideas::IdeaDetail> {
    let (urls, user, key) = (ctx.urls.clone(), user.clone(), idea_key.to_string());
    let d = commit(ctx, move |c| {
        let idea = ideas::find(c, &key)?;
        if idea.deleted {
            return Err(Error::Conflict("the idea was deleted".into()));
        }
        let room = store::actors::by_id(c, idea.room_id)?;
        if room.local && support {
            let stage = Stage::parse(&idea.stage).unwrap_or(Stage::Suggested);
            members::authorize(c, &room, &user, Action::Support { stage })?
                .map_err(Error::Forbidden)?;
        }
        let idea_author = store::actors::by_id(c, idea.author_id)?;
        let extra = if idea_author.local {
            vec![]
        } else {
            vec![idea_author.delivery_inbox().to_string()]
        };
        if support {
            let like_id = urls.new_activity();
            if store::supports::add(c, idea.id, user.id, &like_id)? {
                let like = like_json(&like_id, &user, &idea.ap_id, &room, &idea_author);
                distribute(c, &urls, &user, &room, &like, None, extra)?;
            }
        } else if let Some(like_id) = store::supports::activity_of(c, idea.id, user.id)? {
            store::supports::remove(c, idea.id, user.id)?;
            let like = like_json(&like_id, &user, &idea.ap_id, &room, &idea_author);
            let mut undo = like.clone();
            undo["id"] = json!(urls.new_activity());
            undo["type"] = json!("Undo");
            undo["object"] = objects::embedded(like);
            distribute(c, &urls, &user, &room, &undo, None, extra)?;
        }
        ideas::detail(c, &idea, true)
    })
    .await?;
    Ok(d)
}

/// A Like from another server; `like_id` identifies it for a later Undo.
pub async fn receive_like(
    ctx: &Ctx,
    actor: &Actor,
    idea_ap_id: &str,
    like_id: &str,
    original: Value,
    receipt: Receipt,
) -> Result<Applied> {
    let (urls, actor, idea_ap_id, like_id) = (
        ctx.urls.clone(),
        actor.clone(),
        idea_ap_id.to_string(),
        like_id.to_string(),
    );
    let applied = commit(ctx, move |c| {
        let idea = store::ideas::by_ap_id(c, &idea_ap_id)?.ok_or_else(|| {
            if store::comments::by_ap_id(c, &idea_ap_id)
                .ok()
                .flatten()
                .is_some()
            {
                Error::Unsupported(
                    "only ideas can be supported; likes of comments are not counted".into(),
                )
            } else {
                Error::Unsupported(format!("{idea_ap_id} is not an idea on this node"))
            }
        })?;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        let room = store::actors::by_id(c, idea.room_id)?;
        if room.local {
            let stage = Stage::parse(&idea.stage).unwrap_or(Stage::Suggested);
            if let Err(reason) = members::authorize(c, &room, &actor, Action::Support { stage })? {
                return members::refuse(c, &urls, &room, &actor, &original, &reason);
            }
        }
        if store::supports::add(c, idea.id, actor.id, &like_id)? {
            distribute(c, &urls, &actor, &room, &original, None, vec![])?;
        }
        Ok(Applied::Done)
    })
    .await?;
    Ok(applied)
}

/// An Undo(Like) from another server: by the Like's id, or by actor and idea.
pub async fn receive_unlike(
    ctx: &Ctx,
    actor: &Actor,
    like_id: Option<String>,
    idea_ap_id: Option<String>,
    original: Value,
    receipt: Receipt,
) -> Result<Applied> {
    let (urls, actor) = (ctx.urls.clone(), actor.clone());
    let applied = commit(ctx, move |c| {
        let by_like = match &like_id {
            Some(id) => store::supports::by_activity(c, id)?,
            None => None,
        };
        let idea_id = match (by_like, &idea_ap_id) {
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
            distribute(c, &urls, &actor, &room, &original, None, vec![])?;
        }
        Ok(Applied::Done)
    })
    .await?;
    Ok(applied)
}
