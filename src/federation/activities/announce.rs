//! `Announce` from a followed remote room (FEP-1b12): what the room relays is applied as if
//! its author had sent it, trusting the room's signature for the content it relays (as Lemmy
//! does), and only about the room's own ideas and their comments. A room may announce the
//! activity (`Announce(Create(Page))`) or, for plain followers, the object (`Announce(Page)`).

use serde::Deserialize;
use serde_json::{json, Value};

use super::RelayedActivity;
use crate::error::{Error, Result};
use crate::remote;
use crate::service::inbound::{self, Applied, Receipt};
use crate::state::Ctx;
use crate::store::models::Actor;
use crate::vocab::{self, same_host, ActivityKind};

#[derive(Debug, Deserialize)]
pub struct Announce {
    /// What is relayed: an activity or an object, embedded or by id.
    #[serde(default)]
    pub object: Value,
}

impl Announce {
    pub async fn receive(self, ctx: &Ctx, room: Actor, original: Value) -> Result<Applied> {
        if !room.is_room() || !inbound::followed_here(ctx, &room).await? {
            return Err(Error::Unsupported(
                "Announce is only processed from rooms this node follows".into(),
            ));
        }
        let announce_id = original["id"].as_str().unwrap_or_default().to_string();
        let applied = apply(ctx, &room, &self.object, &announce_id).await?;
        let receipt = Receipt {
            id: announce_id,
            actor: room.ap_id.clone(),
            kind: ActivityKind::Announce.to_string(),
        };
        inbound::remember(ctx, receipt).await?;
        Ok(applied)
    }
}

/// Applies what a followed `room` announced under `announce_id` (from its inbox delivery or
/// from its outbox, when backfilling).
pub async fn apply(ctx: &Ctx, room: &Actor, object: &Value, announce_id: &str) -> Result<Applied> {
    // A room relaying what this node's own users did: already applied here.
    if vocab::id_of(object).is_some_and(|id| ctx.urls.is_local(id))
        || vocab::id_of(&object["actor"]).is_some_and(|a| ctx.urls.is_local(a))
    {
        return Ok(Applied::Duplicate);
    }
    if let Some(id) = object.as_str() {
        if inbound::holds_idea(ctx, id).await? {
            return Ok(Applied::Duplicate);
        }
    }
    let inner = match object {
        Value::Object(_) => object.clone(),
        Value::String(url) => remote::fetch_json(ctx, url).await?,
        _ => return Err(Error::bad_request("activity has no object")),
    };
    let is_activity = inner.get("actor").is_some() && inner.get("object").is_some();
    let (inner_actor_id, activity) = if is_activity {
        let a = vocab::id_of(&inner["actor"])
            .ok_or_else(|| Error::bad_request("announced activity has no actor"))?
            .to_string();
        if !same_host(inner["id"].as_str().unwrap_or_default(), &a) {
            return Err(Error::bad_request(
                "announced activity id is not on its actor's host",
            ));
        }
        (a, inner)
    } else {
        // A bare object (Page or Note): treat it as its author's Create.
        let author = vocab::id_of(&inner["attributedTo"])
            .ok_or_else(|| Error::bad_request("announced object has no author"))?
            .to_string();
        let create = json!({
            "id": format!("{announce_id}#create"),
            "type": ActivityKind::Create.as_str(),
            "actor": author,
            "object": inner,
        });
        (author, create)
    };
    let inner_actor = if inner_actor_id == room.ap_id {
        room.clone()
    } else {
        remote::actor(ctx, &inner_actor_id).await?
    };
    RelayedActivity::receive(ctx, room, inner_actor, activity).await
}
