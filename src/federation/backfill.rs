//! Backfill: when a room accepts this node (a follow accepted, a membership added), fetch what
//! the room already announced, from its outbox, so that earlier ideas appear here too.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::federation::activities::announce;
use crate::remote;
use crate::service::inbound::Applied;
use crate::state::Ctx;
use crate::store::models::Actor;
use crate::vocab::{self, ActivityKind};

/// Backfills `room` in the background; a failure is logged, never lost silently, and the
/// room's later deliveries arrive anyway.
pub fn spawn(ctx: &Ctx, room: Actor) {
    let ctx = ctx.clone();
    tokio::spawn(async move {
        if let Err(e) = backfill(&ctx, &room).await {
            tracing::warn!(room = %room.ap_id, error = %e, "could not fetch the room's earlier ideas");
        }
    });
}

/// Applies the `Announce` items of the room's outbox (its first page), oldest first so that
/// updates land after creates; returns how many changed something here.
pub async fn backfill(ctx: &Ctx, room: &Actor) -> Result<usize> {
    let outbox = room
        .outbox
        .clone()
        .ok_or_else(|| Error::bad_request("room has no outbox"))?;
    let mut collection = remote::fetch_json(ctx, &outbox).await?;
    if collection.get("orderedItems").is_none() {
        if let Some(first) = collection.get("first").cloned() {
            collection = match first {
                Value::Object(_) => first,
                Value::String(url) => remote::fetch_json(ctx, &url).await?,
                _ => return Err(Error::bad_request("outbox has no usable first page")),
            };
        }
    }
    let items: Vec<Value> = collection["orderedItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut applied = 0;
    for item in items.iter().rev() {
        if vocab::type_of(item) != Some(ActivityKind::Announce.as_str()) {
            continue;
        }
        let id = item["id"].as_str().unwrap_or_default();
        match announce::apply(ctx, room, &item["object"], id).await {
            Ok(Applied::Done) => applied += 1,
            Ok(Applied::Duplicate) | Ok(Applied::Refused(_)) => {}
            Err(e) => {
                tracing::info!(item = id, error = %e, "skipped an outbox item of a followed room")
            }
        }
    }
    Ok(applied)
}
