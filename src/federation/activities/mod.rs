//! Inbound activities, typed: one file per activity, each with its serde struct, its `verify`
//! (origin and shape checks that need no database) and its `receive` (the one service call
//! that means the same thing), as Lemmy's `crates/apub` does it.
//!
//! What may arrive at an inbox directly and what a followed room may relay inside an
//! `Announce` are two enums, [`DirectActivity`] and [`RelayedActivity`]: an activity outside
//! the enum is refused with a 422 that names its type, before anything is read from it. The
//! structs are lenient where peers differ (an id, an embedded object or a one-element array;
//! a string or a list of addressees) and strict where a missing field means the activity
//! cannot be applied (a 400 naming the field).

pub mod accept;
pub mod add;
pub mod announce;
pub mod create;
pub mod delete;
pub mod follow;
pub mod invite;
pub mod like;
pub mod offer;
pub mod post;
pub mod reject;
pub mod remove;
pub mod undo;
pub mod update;

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::service::comments;
use crate::service::inbound::{Applied, Inbound, ReadAhead, Receipt};
use crate::state::Ctx;
use crate::store::models::Actor;
use crate::vocab::{self, ActivityKind};

/// What may arrive at an inbox directly, signed by its actor's server.
#[derive(Debug)]
pub enum DirectActivity {
    Follow(follow::Follow),
    Accept(accept::Accept),
    Reject(reject::Reject),
    Undo(undo::Undo),
    Create(create::Create),
    Update(update::Update),
    Delete(delete::Delete),
    Like(like::Like),
    Announce(announce::Announce),
    Offer(offer::Offer),
    Invite(invite::Invite),
    Add(add::Add),
    Remove(remove::Remove),
}

/// What a followed room may relay inside an `Announce`: what its members and followers did
/// in it. Follows, answers, offers and membership changes are never taken from a relay.
#[derive(Debug)]
pub enum RelayedActivity {
    Undo(undo::Undo),
    Create(create::Create),
    Update(update::Update),
    Delete(delete::Delete),
    Like(like::Like),
    Remove(remove::Remove),
}

impl DirectActivity {
    /// Reads an activity `actor` sent to an inbox into its struct. Membership activities
    /// (`Invite`, `Add`, `Remove`) are only taken from rooms.
    pub fn parse(activity: &Value, actor: &Actor) -> Result<DirectActivity> {
        use ActivityKind as K;
        let kind = kind_of(activity)?;
        if matches!(kind, K::Invite | K::Add | K::Remove) && !actor.is_room() {
            return Err(Error::Unsupported(format!(
                "activity type {kind} is not supported here"
            )));
        }
        Ok(match kind {
            K::Follow | K::Join => DirectActivity::Follow(parse(activity)?),
            K::Accept => DirectActivity::Accept(parse(activity)?),
            K::Reject => DirectActivity::Reject(parse(activity)?),
            K::Undo => DirectActivity::Undo(parse(activity)?),
            K::Create => DirectActivity::Create(parse(activity)?),
            K::Update => DirectActivity::Update(parse(activity)?),
            K::Delete => DirectActivity::Delete(parse(activity)?),
            K::Like | K::EmojiReact => DirectActivity::Like(parse(activity)?),
            K::Announce => DirectActivity::Announce(parse(activity)?),
            K::Offer => DirectActivity::Offer(parse(activity)?),
            K::Invite => DirectActivity::Invite(parse(activity)?),
            K::Add => DirectActivity::Add(parse(activity)?),
            K::Remove => DirectActivity::Remove(parse(activity)?),
        })
    }

    /// Checks and applies an activity `actor` (verified) sent; `ahead` is what the inbox read
    /// ahead about it (a reply's target), for the use case to take if it fits.
    pub async fn receive(
        self,
        ctx: &Ctx,
        actor: Actor,
        original: Value,
        ahead: Option<ReadAhead>,
    ) -> Result<Applied> {
        let inbound = Envelope::new(actor, &original)?;
        match self {
            DirectActivity::Follow(a) => a.receive(ctx, inbound.with(original)).await,
            DirectActivity::Accept(a) => a.receive(ctx, inbound.with(original)).await,
            DirectActivity::Reject(a) => a.receive(ctx, inbound.with(original)).await,
            DirectActivity::Undo(a) => a.receive(ctx, inbound.with(original)).await,
            DirectActivity::Create(a) => a.receive(ctx, inbound.with(original), None, ahead).await,
            DirectActivity::Update(a) => a.receive(ctx, inbound.with(original), None).await,
            DirectActivity::Delete(a) => a.receive(ctx, inbound.with(original)).await,
            DirectActivity::Like(a) => a.receive(ctx, inbound.with(original)).await,
            DirectActivity::Announce(a) => a.receive(ctx, inbound.actor, original).await,
            DirectActivity::Offer(a) => a.receive(ctx, inbound.with(original)).await,
            DirectActivity::Invite(a) => a.receive(ctx, inbound.with(original)).await,
            DirectActivity::Add(a) => a.receive(ctx, inbound.with(original)).await,
            DirectActivity::Remove(a) => a.receive(ctx, inbound.with(original)).await,
        }
    }
}

impl RelayedActivity {
    /// Reads an activity a room relayed into its struct.
    pub fn parse(activity: &Value, actor: &Actor) -> Result<RelayedActivity> {
        use ActivityKind as K;
        let kind = kind_of(activity)?;
        if kind == K::Remove && !actor.is_room() {
            return Err(Error::Unsupported(format!(
                "activity type {kind} is not supported here"
            )));
        }
        Ok(match kind {
            K::Undo => RelayedActivity::Undo(parse(activity)?),
            K::Create => RelayedActivity::Create(parse(activity)?),
            K::Update => RelayedActivity::Update(parse(activity)?),
            K::Delete => RelayedActivity::Delete(parse(activity)?),
            K::Like | K::EmojiReact => RelayedActivity::Like(parse(activity)?),
            K::Remove => RelayedActivity::Remove(parse(activity)?),
            other => {
                return Err(Error::Unsupported(format!(
                    "activity type {other} is not supported here"
                )))
            }
        })
    }

    /// Applies an activity of `actor` that the followed `room` relayed: only about the room's
    /// own ideas and their comments, and trusted on the room's signature (as Lemmy does).
    pub fn receive<'a>(
        ctx: &'a Ctx,
        room: &'a Actor,
        actor: Actor,
        original: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Applied>> + Send + 'a>> {
        Box::pin(async move {
            let inbound = Envelope::new(actor, &original)?;
            ensure_in_room(ctx, &original, room).await?;
            let relayed = RelayedActivity::parse(&original, &inbound.actor)?;
            let inbound = inbound.with(original);
            match relayed {
                RelayedActivity::Undo(a) => a.receive(ctx, inbound).await,
                RelayedActivity::Create(a) => a.receive(ctx, inbound, Some(room), None).await,
                RelayedActivity::Update(a) => a.receive(ctx, inbound, Some(room)).await,
                RelayedActivity::Delete(a) => a.receive(ctx, inbound).await,
                RelayedActivity::Like(a) => a.receive(ctx, inbound).await,
                RelayedActivity::Remove(a) => a.receive(ctx, inbound).await,
            }
        })
    }
}

/// The type of an activity, among those this node understands.
fn kind_of(activity: &Value) -> Result<ActivityKind> {
    let kind =
        vocab::type_of(activity).ok_or_else(|| Error::bad_request("activity has no type"))?;
    if kind == "Dislike" {
        // Lemmy and Mbin downvotes: acknowledged (202 ignored), never counted against an idea.
        return Err(Error::Unsupported(
            "a Dislike is not counted: ideas gather support, not votes against".into(),
        ));
    }
    ActivityKind::parse(kind)
        .ok_or_else(|| Error::Unsupported(format!("activity type {kind} is not supported here")))
}

/// Reads an activity into its struct; a missing or unusable field is a 400 naming it.
fn parse<T: DeserializeOwned>(activity: &Value) -> Result<T> {
    let kind = vocab::type_of(activity).unwrap_or("activity");
    T::deserialize(activity).map_err(|e| Error::bad_request(format!("{kind} is not usable: {e}")))
}

/// The verified sender and receipt of an activity, before its content is typed.
struct Envelope {
    actor: Actor,
    receipt: Receipt,
}

impl Envelope {
    fn new(actor: Actor, activity: &Value) -> Result<Envelope> {
        let id = activity["id"].as_str().unwrap_or_default().to_string();
        let kind = vocab::type_of(activity).unwrap_or_default().to_string();
        if id.is_empty() {
            return Err(Error::bad_request(format!("{kind} has no id")));
        }
        let receipt = Receipt {
            id,
            actor: actor.ap_id.clone(),
            kind,
        };
        Ok(Envelope { actor, receipt })
    }

    fn with(self, original: Value) -> Inbound<Value> {
        Inbound {
            actor: self.actor,
            receipt: self.receipt,
            content: Value::Null,
            original,
        }
    }
}

/// Gives an inbound activity its typed content for the service call.
pub(crate) fn typed<T>(inbound: Inbound<Value>, content: T) -> Inbound<T> {
    Inbound {
        actor: inbound.actor,
        receipt: inbound.receipt,
        content,
        original: inbound.original,
    }
}

/// A room may only relay activities about its own ideas and their comments.
async fn ensure_in_room(ctx: &Ctx, activity: &Value, room: &Actor) -> Result<()> {
    let object = &activity["object"];
    let mut targets: Vec<String> = vocab::id_of(object).into_iter().map(String::from).collect();
    targets.extend(vocab::id_of(&object["object"]).map(String::from));
    targets.extend(vocab::id_of(&object["inReplyTo"]).map(String::from));
    let room_id = room.id;
    let foreign = ctx
        .db
        .read(move |c| {
            for t in &targets {
                if let Some(idea) = comments::thread_of(c, t)? {
                    if idea.room_id != room_id {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        })
        .await?;
    if foreign {
        return Err(Error::Forbidden(format!(
            "{} relayed an activity about another room's idea",
            room.ap_id
        )));
    }
    Ok(())
}

// ---- lenient field types ----

/// A reference to an object: its id, read from a string, an embedded object's `id`, or the
/// first item of an array (peers use all three).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectId(pub String);

impl<'de> Deserialize<'de> for ObjectId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<ObjectId, D::Error> {
        let v = Value::deserialize(d)?;
        vocab::id_of(&v)
            .map(|s| ObjectId(s.to_string()))
            .ok_or_else(|| serde::de::Error::custom("expected an id or an object with an id"))
    }
}

impl ObjectId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional reference: absent, null or unusable values read as `None`.
pub fn optional_id<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(vocab::id_of).map(String::from))
}

/// An optional text: anything but a string reads as `None`.
pub fn optional_text<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.and_then(|v| v.as_str().map(String::from)))
}

/// An activity an `Accept`, `Reject` or `Undo` is about: embedded, or only its id.
#[derive(Debug, Clone, Default)]
pub struct ActivityRef {
    pub id: Option<String>,
    /// The embedded activity's type.
    pub kind: Option<String>,
    /// The embedded activity's actor (who followed, for a Follow).
    pub actor: Option<String>,
    /// The embedded activity's object (what was followed or liked).
    pub object: Option<String>,
    /// Whether the activity was embedded (not only named by its id).
    pub embedded: bool,
}

impl<'de> Deserialize<'de> for ActivityRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<ActivityRef, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(ActivityRef {
            id: vocab::id_of(&v).map(String::from),
            kind: vocab::type_of(&v).map(String::from),
            actor: v["actor"].as_str().map(String::from),
            object: vocab::id_of(&v["object"]).map(String::from),
            embedded: v.is_object(),
        })
    }
}

/// The kind of activity an answer is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    FollowOrJoin,
    Invite,
    Offer,
    /// Anything else this node sent (a Create, a Like...), or a type it does not know.
    Other(String),
}

impl ActivityRef {
    /// What is answered: the embedded activity's type, or the type of the activity this node
    /// published under that id; `None` when neither tells.
    pub async fn answered(&self, ctx: &Ctx) -> Result<Option<Answered>> {
        let kind = match (&self.kind, &self.id) {
            (Some(k), _) => Some(k.clone()),
            (None, Some(id)) => crate::service::inbound::published_kind(ctx, id).await?,
            (None, None) => None,
        };
        Ok(kind.map(|k| match ActivityKind::parse(&k) {
            Some(ActivityKind::Follow | ActivityKind::Join) => Answered::FollowOrJoin,
            Some(ActivityKind::Invite) => Answered::Invite,
            Some(ActivityKind::Offer) => Answered::Offer,
            _ => Answered::Other(k),
        }))
    }

    /// The id of what is answered, which the answer cannot do without.
    pub fn required_id(&self) -> Result<String> {
        self.id
            .clone()
            .ok_or_else(|| Error::bad_request("the answer has no object"))
    }
}

#[cfg(test)]
fn test_actor(kind: crate::domain::kinds::ActorKind) -> Actor {
    crate::store::models::test_actor("https://a.example/u/a", kind, false, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_read_from_strings_objects_and_arrays() {
        for v in [
            json!("https://a.example/x"),
            json!({"id": "https://a.example/x", "type": "Note"}),
            json!(["https://a.example/x", "https://a.example/y"]),
        ] {
            let id: ObjectId = serde_json::from_value(v).unwrap();
            assert_eq!(id.as_str(), "https://a.example/x");
        }
        assert!(serde_json::from_value::<ObjectId>(json!(42)).is_err());
    }

    #[test]
    fn only_the_relayable_kinds_are_taken_from_a_room() {
        let person = test_actor(crate::domain::kinds::ActorKind::Person);
        let follow = json!({"id": "https://a.example/f", "type": "Follow",
            "actor": "https://a.example/u/a", "object": "https://b.example/r/x"});
        assert!(matches!(
            DirectActivity::parse(&follow, &person),
            Ok(DirectActivity::Follow(_))
        ));
        let e = RelayedActivity::parse(&follow, &person).unwrap_err();
        assert_eq!(e.status(), 422, "{e}");
        let unknown = json!({"id": "https://a.example/q", "type": "Move", "actor": "x"});
        assert_eq!(
            DirectActivity::parse(&unknown, &person)
                .unwrap_err()
                .status(),
            422
        );
        let add = json!({"id": "https://a.example/a", "type": "Add", "actor": "x",
            "object": "https://b.example/u/b", "target": "https://a.example/r/x"});
        assert_eq!(
            DirectActivity::parse(&add, &person).unwrap_err().status(),
            422
        );
        let room = test_actor(crate::domain::kinds::ActorKind::Group);
        assert!(matches!(
            DirectActivity::parse(&add, &room),
            Ok(DirectActivity::Add(_))
        ));
    }

    #[test]
    fn a_missing_field_is_a_400_naming_it() {
        let like =
            json!({"id": "https://a.example/l", "type": "Like", "actor": "https://a.example/u/a"});
        let e = DirectActivity::parse(&like, &test_actor(crate::domain::kinds::ActorKind::Person))
            .unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("object"), "{e}");
    }
}
