//! What this node serves when another server or a browser fetches one of its URLs: the local
//! actors, their outboxes and followers collections, the documents of ideas, comments and
//! activities, the actor a WebFinger resource names and the counts NodeInfo publishes. One
//! function per served thing; [`crate::federation::routes`] and [`crate::web`] only translate
//! HTTP around them.
//!
//! Nothing here writes. Content of a room is served only to a reader who may read it, decided
//! once by [`policy::may_read`] for the signer the route verified (`None` for an unsigned
//! request): content of a public room goes to anyone; content of a partners or private room
//! answers [`Error::Unauthorized`] when there is no signer (the request must be signed by a
//! member, or a member's node) and [`Error::NotFound`] to a signer who may not read it, so
//! that guessing URLs reveals nothing. A deleted idea or comment is a [`Document::Gone`]
//! Tombstone, behind the same check. Lookups happen before the check, so an id that does not
//! exist is a 404 to everyone.

use serde_json::Value;

use crate::domain::kinds::ActorKind;
use crate::domain::Handle;
use crate::error::{Error, Result};
use crate::service::ideas::{self, IdeaDetail};
use crate::service::policy;
use crate::state::{Ctx, Urls};
use crate::store::activities::Listing;
use crate::store::models::{Actor, Idea};
use crate::store::{self, DbConnection};
use crate::vocab;

/// The newest activities an outbox shows.
const OUTBOX_PAGE: i64 = 50;

/// A served object: the object itself, or the Tombstone of one that was deleted (410 Gone).
#[derive(Debug)]
pub enum Document<T = Value> {
    Live(T),
    Gone(Value),
}

/// What an outbox shows its reader: the newest activities, embedded, and how many there are.
/// A non-public room's members see all of its activities, everyone else the public ones.
#[derive(Debug)]
pub struct OutboxPage {
    /// The outbox's id.
    pub id: Option<String>,
    pub total: i64,
    pub items: Vec<Value>,
}

/// A followers collection: its id and the ids of the followers.
#[derive(Debug)]
pub struct Followers {
    pub id: Option<String>,
    pub items: Vec<String>,
}

/// What NodeInfo's `usage` reports.
#[derive(Debug)]
pub struct NodeCounts {
    /// Local people.
    pub users: i64,
    /// Ideas submitted on this node.
    pub local_posts: i64,
}

/// A local actor by name, if it is of `kind`.
pub async fn local_actor(ctx: &Ctx, name: &str, kind: ActorKind) -> Result<Actor> {
    let n = name.to_string();
    ctx.db
        .read(move |c| store::actors::local_by_name(c, &n))
        .await?
        .filter(|a| a.kind == kind)
        .ok_or_else(|| Error::not_found(format!("{kind} {name}")))
}

/// This node's instance actor.
pub async fn instance_actor(ctx: &Ctx) -> Result<Actor> {
    ctx.db
        .read(|c| store::actors::local_of_kind(c, ActorKind::Application))
        .await?
        .ok_or_else(|| Error::not_found("instance actor"))
}

/// The outbox at `path` (like `/r/{name}/outbox`), as `signer` may read it.
pub async fn outbox(ctx: &Ctx, path: &str, signer: Option<&Actor>) -> Result<OutboxPage> {
    let (path, signer, urls) = (path.to_string(), signer.cloned(), ctx.urls.clone());
    let (owner, stored, total) = ctx
        .db
        .read(move |c| {
            let owner = collection_owner(c, &urls, &path)?;
            require_readable(c, &owner, signer.as_ref())?;
            // The outbox of a non-public room is served to its readers only, so it lists all.
            let listing = if policy::is_public(&owner) {
                Listing::Public
            } else {
                Listing::All
            };
            let stored = store::activities::of_actor(c, owner.id, OUTBOX_PAGE, listing)?;
            let total = store::activities::count_of_actor(c, owner.id, listing)?;
            Ok((owner, stored, total))
        })
        .await?;
    let items = stored
        .iter()
        .filter_map(|a| serde_json::from_str::<Value>(&a.body).ok())
        .map(vocab::embedded)
        .collect();
    Ok(OutboxPage {
        id: owner.outbox,
        total,
        items,
    })
}

/// The followers collection at `path` (like `/r/{name}/followers`), as `signer` may read it.
pub async fn followers(ctx: &Ctx, path: &str, signer: Option<&Actor>) -> Result<Followers> {
    let (path, signer, urls) = (path.to_string(), signer.cloned(), ctx.urls.clone());
    let (owner, list) = ctx
        .db
        .read(move |c| {
            let owner = collection_owner(c, &urls, &path)?;
            require_readable(c, &owner, signer.as_ref())?;
            let list = store::follows::followers_of(c, owner.id)?;
            Ok((owner, list))
        })
        .await?;
    Ok(Followers {
        id: owner.followers,
        items: list.into_iter().map(|a| a.ap_id).collect(),
    })
}

/// The `Page` of the idea `ap_id`, as `signer` may read it.
pub async fn idea_document(ctx: &Ctx, ap_id: &str, signer: Option<&Actor>) -> Result<Document> {
    idea_as(ctx, ap_id, signer, ideas::page_json).await
}

/// The idea `ap_id` with its comments, for its web page, as `signer` may read it.
pub async fn idea_detail(
    ctx: &Ctx,
    ap_id: &str,
    signer: Option<&Actor>,
) -> Result<Document<IdeaDetail>> {
    idea_as(ctx, ap_id, signer, ideas::detail).await
}

/// The idea `ap_id` as `show` presents it, or its Tombstone when it was deleted.
async fn idea_as<T: Send + 'static>(
    ctx: &Ctx,
    ap_id: &str,
    signer: Option<&Actor>,
    show: fn(&mut DbConnection, &Idea) -> Result<T>,
) -> Result<Document<T>> {
    let (ap_id, signer) = (ap_id.to_string(), signer.cloned());
    ctx.db
        .read(move |c| {
            let i = store::ideas::by_ap_id(c, &ap_id)?.ok_or_else(|| Error::not_found("idea"))?;
            let room = store::actors::by_id(c, i.room_id)?;
            let doc = if i.deleted {
                Document::Gone(vocab::tombstone(&i.ap_id, "Page"))
            } else {
                Document::Live(show(c, &i)?)
            };
            require_readable(c, &room, signer.as_ref())?;
            Ok(doc)
        })
        .await
}

/// The `Note` of the comment `ap_id`, as `signer` may read it.
pub async fn comment_document(ctx: &Ctx, ap_id: &str, signer: Option<&Actor>) -> Result<Document> {
    let (ap_id, signer) = (ap_id.to_string(), signer.cloned());
    ctx.db
        .read(move |c| {
            let cm =
                store::comments::by_ap_id(c, &ap_id)?.ok_or_else(|| Error::not_found("comment"))?;
            let idea =
                store::ideas::by_id(c, cm.idea_id)?.ok_or_else(|| Error::not_found("idea"))?;
            let room = store::actors::by_id(c, idea.room_id)?;
            let doc = if cm.deleted {
                Document::Gone(vocab::tombstone(&cm.ap_id, "Note"))
            } else {
                let author = store::actors::by_id(c, cm.author_id)?;
                let idea_author = store::actors::by_id(c, idea.author_id)?;
                Document::Live(vocab::comment_json(
                    &cm,
                    &author.ap_id,
                    &room,
                    &idea_author.ap_id,
                ))
            };
            require_readable(c, &room, signer.as_ref())?;
            Ok(doc)
        })
        .await
}

/// An activity this node published, as it was sent, if `signer` may read it: public ones to
/// anyone; the others belong to a local room (their audience, or the room itself as actor),
/// whose readers see them.
pub async fn activity_document(ctx: &Ctx, ap_id: &str, signer: Option<&Actor>) -> Result<Value> {
    let (ap_id, signer) = (ap_id.to_string(), signer.cloned());
    ctx.db
        .read(move |c| {
            let a = store::activities::by_ap_id(c, &ap_id)?
                .ok_or_else(|| Error::not_found("activity"))?;
            let doc: Value =
                serde_json::from_str(&a.body).map_err(|e| Error::Internal(e.to_string()))?;
            if !a.public {
                let room_id = vocab::id_of(&doc["audience"])
                    .unwrap_or(doc["actor"].as_str().unwrap_or_default());
                let room = store::actors::by_ap_id(c, room_id)?
                    .filter(|r| r.is_room() && r.local)
                    .ok_or_else(|| Error::not_found("activity"))?;
                require_readable(c, &room, signer.as_ref())?;
            }
            Ok(doc)
        })
        .await
}

/// The local actor a WebFinger `resource` names: its id (a URL), or `acct:name@domain`, where
/// the node's own domain as name means the instance actor.
pub async fn webfinger(ctx: &Ctx, resource: &str) -> Result<Actor> {
    let (r, domain) = (resource.to_string(), ctx.settings.domain.clone());
    ctx.db
        .read(move |c| {
            if r.starts_with("http://") || r.starts_with("https://") {
                return store::actors::by_ap_id(c, &r).map(|a| a.filter(|a| a.local));
            }
            let h = Handle::parse(&r).map_err(Error::BadRequest)?;
            if h.host != domain {
                return Ok(None);
            }
            if h.name == domain {
                return store::actors::local_of_kind(c, ActorKind::Application);
            }
            store::actors::local_by_name(c, &h.name)
        })
        .await?
        .ok_or_else(|| Error::not_found(resource))
}

/// The usage NodeInfo reports.
pub async fn nodeinfo_counts(ctx: &Ctx) -> Result<NodeCounts> {
    ctx.db
        .read(|c| {
            Ok(NodeCounts {
                users: store::actors::count_local_people(c)?,
                local_posts: store::ideas::count_local(c)?,
            })
        })
        .await
}

/// The local actor whose collection a path like `/r/{name}/outbox` names: the actor's id is
/// the collection's URL without its last segment.
fn collection_owner(c: &mut DbConnection, urls: &Urls, path: &str) -> Result<Actor> {
    let actor_path = path.rsplit_once('/').map(|(p, _)| p).unwrap_or(path);
    let ap_id = format!("{}{actor_path}", urls.base);
    store::actors::by_ap_id(c, &ap_id)?
        .filter(|a| a.local)
        .ok_or_else(|| Error::not_found(format!("collection {path}")))
}

/// Refuses content of `room` to a reader who may not read it: `Unauthorized` without a signer
/// (a member's signature would be needed), `NotFound` for a signer who is not a reader.
fn require_readable(c: &mut DbConnection, room: &Actor, signer: Option<&Actor>) -> Result<()> {
    if policy::may_read(c, room, signer)? {
        return Ok(());
    }
    match signer {
        None => Err(Error::Unauthorized(
            "this content needs a signed request from a member of its room".into(),
        )),
        Some(_) => Err(Error::not_found("object")),
    }
}
