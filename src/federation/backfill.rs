//! Backfill: when a room accepts this node (a follow accepted, a membership added), fetch what
//! the room already announced, from its outbox and all its pages, so that earlier ideas appear
//! here too.

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

/// The most pages of an outbox a backfill reads (at 50 items a page, the room's 2,000 newest
/// announced activities).
const MAX_PAGES: usize = 40;

/// Applies the `Announce` items of the room's outbox, all its pages (from `first`, following
/// `next`; an outbox without pages: its inline `orderedItems`), oldest first so that updates
/// land after creates; returns how many changed something here.
pub async fn backfill(ctx: &Ctx, room: &Actor) -> Result<usize> {
    let outbox = room
        .outbox
        .clone()
        .ok_or_else(|| Error::bad_request("room has no outbox"))?;
    let items = outbox_items(ctx, &outbox).await?;
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

/// The items of a remote outbox, newest first, each once: those of its pages when it has
/// any, else those it lists inline.
async fn outbox_items(ctx: &Ctx, outbox: &str) -> Result<Vec<Value>> {
    let collection = remote::fetch_json(ctx, outbox).await?;
    let mut page = match collection.get("first").cloned() {
        Some(first @ Value::Object(_)) => first,
        Some(Value::String(url)) => remote::fetch_json(ctx, &url).await?,
        _ => collection,
    };
    let mut items = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for n in 1.. {
        let listed = page
            .get("orderedItems")
            .or_else(|| page.get("items"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for item in listed {
            if seen.insert(vocab::id_of(&item).unwrap_or_default().to_string()) {
                items.push(item);
            }
        }
        let next = match page.get("next") {
            Some(Value::String(url)) if n < MAX_PAGES => url.clone(),
            Some(Value::Object(o)) if n < MAX_PAGES => match o.get("id") {
                Some(Value::String(url)) => url.clone(),
                _ => break,
            },
            _ => break,
        };
        page = match remote::fetch_json(ctx, &next).await {
            Ok(p) => p,
            Err(e) => {
                // What was read so far is still worth applying.
                tracing::info!(page = %next, error = %e, "stopped reading a room's outbox");
                break;
            }
        };
    }
    Ok(items)
}
