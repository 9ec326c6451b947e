//! What the inbox hands to a use case: an activity from another server, already verified
//! (signature, origin, shape) and parsed by its file in [`crate::federation::activities`].
//!
//! A use case receives an [`Inbound`]: the verified sender, the [`Receipt`] that makes the
//! inbox idempotent (recorded in the same transaction as the effect), the typed content, and
//! the original JSON, which travels only to be embedded or re-announced as it was sent.

use serde_json::Value;

use crate::error::Result;
use crate::service::blocks;
use crate::state::Ctx;
use crate::store::models::{Actor, Idea};
use crate::store::{self, DbConnection};
use crate::vocab::ActivityKind;

/// What the inbox answers about an inbound activity that was applied.
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
    pub fn record(&self, c: &mut DbConnection) -> Result<bool> {
        store::receipts::record(c, &self.id, &self.actor, &self.kind)
    }
}

/// An activity from another server, as a use case receives it.
#[derive(Debug, Clone)]
pub struct Inbound<T> {
    /// Who sent it: the verified signer, or the author of what a followed room relayed.
    pub actor: Actor,
    pub receipt: Receipt,
    /// The typed content of the activity.
    pub content: T,
    /// The activity as sent, only to embed in an answer or to re-announce.
    pub original: Value,
}

/// What this node holds under the id of an activity another server sent earlier and now
/// undoes by id alone: a follow of a local actor, a support, or an offer it received.
pub async fn undone_kind(ctx: &Ctx, id: &str) -> Result<Option<ActivityKind>> {
    let id = id.to_string();
    ctx.db
        .read(move |c| {
            Ok(if store::follows::by_activity(c, &id)?.is_some() {
                Some(ActivityKind::Follow)
            } else if store::supports::by_activity(c, &id)?.is_some() {
                Some(ActivityKind::Like)
            } else if store::handoffs::by_ap_id(c, &id, true)?.is_some() {
                Some(ActivityKind::Offer)
            } else {
                None
            })
        })
        .await
}

/// Remembers an activity as applied (an `Announce`, whose effect is that of what it relays).
pub async fn remember(ctx: &Ctx, receipt: Receipt) -> Result<()> {
    ctx.db.write(move |c| receipt.record(c).map(|_| ())).await
}

/// What the inbox reads about an activity before it checks the signature
/// ([`store::inbound::Screened`]): whether the claimed sender's host is blocked, the known
/// owner of the claimed key, and whether the activity was already applied. Nothing here is
/// trusted yet: the block refuses, the owner is used only for a key id that the signature
/// then proves, and `seen` answers a duplicate only after the signature verified (the
/// transaction that applies an activity records its receipt again, so a race between two
/// deliveries of one activity still applies it once).
pub type Precheck = store::inbound::Screened;

/// A reply an activity carries, whose target the [`precheck`] reads ahead where that saves a
/// round trip (PostgreSQL).
pub type ReplyProbe = store::inbound::ReplyProbe;

/// A reply's target as the [`precheck`] read it ahead, for the owner of the claimed key.
pub type ReadAhead = store::inbound::ReadAhead;

/// Reads the [`Precheck`] of an activity: `urls` are the claimed sender's ids (key id,
/// actor), `key_id` the signature's claimed key, `id` the activity's id, `reply` the reply it
/// carries, if any.
pub async fn precheck(
    ctx: &Ctx,
    urls: &[&str],
    key_id: Option<String>,
    id: Option<String>,
    reply: Option<ReplyProbe>,
) -> Result<Precheck> {
    let hosts = blocks::covering(urls);
    ctx.db
        .read_point(move |c| {
            store::inbound::screen(c, &hosts, key_id.as_deref(), id.as_deref(), reply)
        })
        .await
}

/// Whether a local actor follows `room` (accepted): only followed rooms are listened to.
pub async fn followed_here(ctx: &Ctx, room: &Actor) -> Result<bool> {
    let room_id = room.id;
    ctx.db
        .read(move |c| store::follows::followed_locally(c, room_id))
        .await
}

/// Whether this node holds an idea with this id.
pub async fn holds_idea(ctx: &Ctx, id: &str) -> Result<bool> {
    let id = id.to_string();
    Ok(ctx
        .db
        .read(move |c| store::ideas::by_ap_id(c, &id))
        .await?
        .is_some())
}

/// What this node holds under an object id that an activity names.
#[derive(Debug, Clone)]
pub enum Held {
    Comment,
    Idea(Box<Idea>),
    Nothing,
}

/// What this node holds under `id`: a comment, an idea, or nothing.
pub async fn held(ctx: &Ctx, id: &str) -> Result<Held> {
    let id = id.to_string();
    ctx.db
        .read(move |c| {
            if store::comments::by_ap_id(c, &id)?.is_some() {
                return Ok(Held::Comment);
            }
            Ok(match store::ideas::by_ap_id(c, &id)? {
                Some(idea) => Held::Idea(Box::new(idea)),
                None => Held::Nothing,
            })
        })
        .await
}

/// Whether this node holds a comment with this id.
pub async fn holds_comment(ctx: &Ctx, id: &str) -> Result<bool> {
    let id = id.to_string();
    Ok(ctx
        .db
        .read(move |c| store::comments::by_ap_id(c, &id))
        .await?
        .is_some())
}

/// Whether the idea `id` is one of `room`'s (as this node holds it).
pub async fn idea_in_room(ctx: &Ctx, id: &str, room: &Actor) -> Result<bool> {
    let (id, room_id) = (id.to_string(), room.id);
    Ok(ctx
        .db
        .read(move |c| store::ideas::by_ap_id(c, &id))
        .await?
        .is_some_and(|i| i.room_id == room_id))
}

/// The type of the activity this node published under `id`, if it did.
pub async fn published_kind(ctx: &Ctx, id: &str) -> Result<Option<String>> {
    let id = id.to_string();
    Ok(ctx
        .db
        .read(move |c| store::activities::by_ap_id(c, &id))
        .await?
        .map(|a| a.kind))
}

/// The first of `candidates` that is a room a post may be addressed to: a local room, or the
/// followed remote room (`via`) that relayed it.
pub async fn addressed_room(
    ctx: &Ctx,
    candidates: Vec<String>,
    via: Option<&Actor>,
) -> Result<Option<Actor>> {
    let via_id = via.map(|r| r.id);
    ctx.db
        .read(move |c| {
            for id in &candidates {
                if let Some(a) = store::actors::by_ap_id(c, id)? {
                    if a.is_room() && (a.local || Some(a.id) == via_id) {
                        return Ok(Some(a));
                    }
                }
            }
            Ok(None)
        })
        .await
}
