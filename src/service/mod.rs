//! Use cases: the only place where product rules live. A REST call and an inbound activity that
//! mean the same thing end in the same function here; transport code only translates.
//!
//! Each state change and the activities it sends are written in one transaction (see
//! [`crate::federation::outbox`]).

pub mod accounts;
pub mod comments;
pub mod follows;
pub mod handoffs;
pub mod ideas;
pub mod invitations;
pub mod members;
pub mod rooms;
pub mod supports;

use serde_json::Value;

use crate::error::Result;
use crate::federation::objects;
use crate::federation::outbox;
use crate::state::{Ctx, Urls};
use crate::store::models::Actor;
use crate::store::{self, DbConnection};

/// Runs a state change and the activities it sends in one transaction, then wakes the delivery
/// worker. Every use case that changes state goes through here.
pub async fn commit<T, F>(ctx: &Ctx, change: F) -> Result<T>
where
    F: FnOnce(&mut DbConnection) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let out = ctx.db.write(change).await?;
    ctx.delivery_wake.notify_one();
    Ok(out)
}

/// Sends an activity about something in `room`: to the room's inbox when the room is remote;
/// when the room is local, the room Announces it to its followers (FEP-1b12). `object_for_plain`
/// is also announced on its own, for followers such as Mastodon that ignore announced
/// activities (used for new ideas only, so comments do not flood their timelines).
pub fn distribute(
    conn: &mut DbConnection,
    urls: &Urls,
    actor: &Actor,
    room: &Actor,
    activity: &Value,
    object_for_plain: Option<Value>,
    extra_inboxes: Vec<String>,
) -> Result<()> {
    let mut inboxes = extra_inboxes;
    if !room.local {
        inboxes.push(room.delivery_inbox().to_string());
    }
    if actor.local {
        outbox::publish(conn, urls, actor, activity, inboxes)?;
    }
    if room.local {
        announce(conn, urls, room, objects::embedded(activity.clone()))?;
        if let Some(obj) = object_for_plain {
            announce(conn, urls, room, obj)?;
        }
    }
    Ok(())
}

/// The room Announces `object` to its followers, one delivery per server.
pub fn announce(conn: &mut DbConnection, urls: &Urls, room: &Actor, object: Value) -> Result<()> {
    let followers = store::follows::followers_of(conn, room.id)?;
    let inboxes: Vec<String> = followers
        .iter()
        .map(|f| f.delivery_inbox().to_string())
        .collect();
    let (to, _) = objects::room_addressing(room);
    let mut activity = objects::activity(
        "Announce",
        &urls.new_activity(),
        &room.ap_id,
        object,
        &[],
        &[],
    );
    activity["to"] = serde_json::json!(to);
    activity["cc"] = serde_json::json!([room.followers]);
    outbox::publish(conn, urls, room, &activity, inboxes)
}
