//! What this node serves when another server or a browser fetches one of its URLs: the local
//! actors, their outboxes and followers collections (and Lemmy's follower check), a room's
//! featured and moderators collections, the documents of ideas, comments and activities, an
//! idea's thread (its `context`) and the `replies` of ideas and comments, the actor a
//! WebFinger resource names and the counts NodeInfo publishes. One function per served thing;
//! [`crate::federation::routes`] and [`crate::web`] only translate HTTP around them.
//!
//! Outboxes, followers, threads and replies are paged alike ([`Part`]): the collection carries
//! its first page inline and links its pages, each of [`vocab::PAGE_SIZE`] items.
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
use crate::domain::membership::Role;
use crate::domain::Handle;
use crate::error::{Error, Result};
use crate::service::ideas::{self, IdeaDetail};
use crate::service::policy;
use crate::state::{Ctx, Urls};
use crate::store::activities::Listing;
use crate::store::models::{Actor, Idea};
use crate::store::{self, DbConnection};
use crate::vocab;

/// A served object: the object itself, or the Tombstone of one that was deleted (410 Gone).
#[derive(Debug)]
pub enum Document<T = Value> {
    Live(T),
    Gone(Value),
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

/// The outbox at `path` (like `/r/{name}/outbox`), or one of its pages, as `signer` may read
/// it: the actor's listed activities, newest first, embedded (a room's: only its `Announce`s of
/// activities; a non-public room's readers see all of them, everyone else the public ones).
pub async fn outbox(ctx: &Ctx, path: &str, part: Part, signer: Option<&Actor>) -> Result<Value> {
    let (path, signer, urls) = (path.to_string(), signer.cloned(), ctx.urls.clone());
    ctx.db
        .read(move |c| {
            let owner = collection_owner(c, &urls, &path)?;
            require_readable(c, &owner, signer.as_ref())?;
            // The outbox of a non-public room is served to its readers only, so it lists all.
            let listing = if policy::is_public(&owner) {
                Listing::Public
            } else {
                Listing::All
            };
            let total = store::activities::count_of_actor(c, owner.id, listing)?;
            let id = owner
                .outbox
                .clone()
                .unwrap_or_else(|| format!("{}/outbox", owner.ap_id));
            paged(&id, part, total, |offset, limit| {
                Ok(
                    store::activities::of_actor(c, owner.id, offset, limit, listing)?
                        .iter()
                        .filter_map(|a| serde_json::from_str::<Value>(&a.body).ok())
                        .map(vocab::embedded)
                        .collect(),
                )
            })
        })
        .await
}

/// The followers collection at `path` (like `/r/{name}/followers`), or one of its pages, as
/// `signer` may read it: ids of the actors whose follow is accepted, in the order this node
/// first stored them.
pub async fn followers(ctx: &Ctx, path: &str, part: Part, signer: Option<&Actor>) -> Result<Value> {
    let (path, signer, urls) = (path.to_string(), signer.cloned(), ctx.urls.clone());
    ctx.db
        .read(move |c| {
            let owner = collection_owner(c, &urls, &path)?;
            require_readable(c, &owner, signer.as_ref())?;
            let list = store::follows::followers_of(c, owner.id)?;
            let id = owner
                .followers
                .clone()
                .unwrap_or_else(|| format!("{}/followers", owner.ap_id));
            paged(&id, part, list.len() as i64, |offset, limit| {
                Ok(list
                    .iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .map(|a| Value::String(a.ap_id.clone()))
                    .collect())
            })
        })
        .await
}

/// Answers Lemmy's `GET {followers}?is_follower={actor}` (a signed GET by a member's node for
/// a non-public room): the collection narrowed to `actor` when `actor`'s node follows the
/// actor at `path` (for a non-public room: holds a member who may read it), else `NotFound`.
pub async fn is_follower(
    ctx: &Ctx,
    path: &str,
    actor: &str,
    signer: Option<&Actor>,
) -> Result<Value> {
    let (path, actor, signer, urls) = (
        path.to_string(),
        actor.to_string(),
        signer.cloned(),
        ctx.urls.clone(),
    );
    ctx.db
        .read(move |c| {
            let owner = collection_owner(c, &urls, &path)?;
            require_readable(c, &owner, signer.as_ref())?;
            let host = vocab::host_of(&actor)
                .ok_or_else(|| Error::bad_request(format!("{actor} is not an actor id")))?;
            if !policy::followed_from(c, &owner, &host)? {
                return Err(Error::not_found(format!("{actor} among the followers")));
            }
            let id = owner
                .followers
                .clone()
                .unwrap_or_else(|| format!("{}/followers", owner.ap_id));
            Ok(serde_json::json!({
                "id": format!(
                    "{id}?is_follower={}",
                    url::form_urlencoded::byte_serialize(actor.as_bytes()).collect::<String>()
                ),
                "type": "OrderedCollection",
                "partOf": id,
                "totalItems": 1,
                "orderedItems": [actor],
            }))
        })
        .await
}

/// A room's featured collection (Lemmy's pinned posts): always empty, rooms pin nothing.
pub async fn featured(ctx: &Ctx, path: &str, signer: Option<&Actor>) -> Result<Value> {
    let (path, signer, urls) = (path.to_string(), signer.cloned(), ctx.urls.clone());
    ctx.db
        .read(move |c| {
            let room = collection_owner(c, &urls, &path)?;
            if !room.is_room() {
                return Err(Error::not_found(format!("collection {path}")));
            }
            require_readable(c, &room, signer.as_ref())?;
            Ok(serde_json::json!({
                "id": vocab::featured_of(&room.ap_id),
                "type": "OrderedCollection",
                "totalItems": 0,
                "orderedItems": [],
            }))
        })
        .await
}

/// A room's moderators collection (its `attributedTo`, as Lemmy reads it): the people who
/// steward it, in the order they became stewards.
pub async fn moderators(ctx: &Ctx, path: &str, signer: Option<&Actor>) -> Result<Value> {
    let (path, signer, urls) = (path.to_string(), signer.cloned(), ctx.urls.clone());
    ctx.db
        .read(move |c| {
            let room = collection_owner(c, &urls, &path)?;
            if !room.is_room() {
                return Err(Error::not_found(format!("collection {path}")));
            }
            require_readable(c, &room, signer.as_ref())?;
            let stewards: Vec<String> = store::members::of_room(c, room.id)?
                .into_iter()
                .filter(|(m, a)| m.role == Role::Steward && a.kind == ActorKind::Person)
                .map(|(_, a)| a.ap_id)
                .collect();
            Ok(serde_json::json!({
                "id": vocab::moderators_of(&room.ap_id),
                "type": "OrderedCollection",
                "totalItems": stewards.len(),
                "orderedItems": stewards,
            }))
        })
        .await
}

/// The thread of the idea `ap_id` (its `context`, FEP-7888 / FEP-f228), or one of its pages,
/// as `signer` may read it: the idea, then its comments oldest first (ids; deleted ones left
/// out), owned by the room (FEP-11dd `attributedTo`). Only ideas written here have one.
pub async fn thread(ctx: &Ctx, ap_id: &str, part: Part, signer: Option<&Actor>) -> Result<Value> {
    let (ap_id, signer) = (ap_id.to_string(), signer.cloned());
    ctx.db
        .read(move |c| {
            let idea = store::ideas::by_ap_id(c, &ap_id)?
                .filter(|i| i.local)
                .ok_or_else(|| Error::not_found("thread"))?;
            let room = store::actors::by_id(c, idea.room_id)?;
            require_readable(c, &room, signer.as_ref())?;
            let id = vocab::thread_of(&idea).ok_or_else(|| Error::not_found("thread"))?;
            if idea.deleted {
                return Err(Error::not_found("thread of a deleted idea"));
            }
            let total = 1 + store::comments::count_of_idea(c, idea.id)?;
            let mut doc = paged(&id, part, total, |offset, limit| {
                // Item 0 is the idea itself, item n the n-th comment.
                let mut items = Vec::new();
                let (mut offset, mut limit) = (offset, limit);
                if offset == 0 {
                    items.push(Value::String(idea.ap_id.clone()));
                    limit -= 1;
                } else {
                    offset -= 1;
                }
                items.extend(
                    store::comments::ids_of_idea(c, idea.id, offset, limit)?
                        .into_iter()
                        .map(Value::String),
                );
                Ok(items)
            })?;
            if matches!(part, Part::Whole) {
                doc["attributedTo"] = Value::String(room.ap_id.clone());
            }
            Ok(doc)
        })
        .await
}

/// The `replies` collection of the idea or comment `ap_id` written here, or one of its pages,
/// as `signer` may read it: ids of the comments answering it directly, oldest first.
pub async fn replies(ctx: &Ctx, ap_id: &str, part: Part, signer: Option<&Actor>) -> Result<Value> {
    let (ap_id, signer) = (ap_id.to_string(), signer.cloned());
    ctx.db
        .read(move |c| {
            let idea = match store::ideas::by_ap_id(c, &ap_id)? {
                Some(i) if i.local => i,
                _ => {
                    let cm = store::comments::by_ap_id(c, &ap_id)?
                        .filter(|cm| cm.local)
                        .ok_or_else(|| Error::not_found("replies"))?;
                    store::ideas::by_id(c, cm.idea_id)?.ok_or_else(|| Error::not_found("idea"))?
                }
            };
            let room = store::actors::by_id(c, idea.room_id)?;
            require_readable(c, &room, signer.as_ref())?;
            let id = vocab::replies_of(&ap_id, true).unwrap_or_default();
            let total = store::comments::count_replies_to(c, &ap_id)?;
            paged(&id, part, total, |offset, limit| {
                Ok(store::comments::replies_to(c, &ap_id, offset, limit)?
                    .into_iter()
                    .map(Value::String)
                    .collect())
            })
        })
        .await
}

/// Which part of a paged collection a GET asks for (`?page=N`, from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The collection itself, with its first page inline.
    Whole,
    Page(u64),
}

impl Part {
    /// Reads the `page` query parameter: absent is the whole collection, else a page number
    /// from 1.
    pub fn parse(page: Option<&str>) -> Result<Part> {
        match page {
            None => Ok(Part::Whole),
            Some(p) => p
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= 1)
                .map(Part::Page)
                .ok_or_else(|| {
                    Error::bad_request(format!("page must be a number from 1, not {p}"))
                }),
        }
    }
}

/// The document a paged collection of `total` items serves for `part`; `load(offset, limit)`
/// reads the items of a page.
fn paged(
    id: &str,
    part: Part,
    total: i64,
    load: impl FnOnce(i64, i64) -> Result<Vec<Value>>,
) -> Result<Value> {
    let total = total.max(0) as u64;
    let page = match part {
        Part::Whole => 1,
        Part::Page(n) => n,
    };
    let size = vocab::PAGE_SIZE;
    let offset = (page - 1).saturating_mul(size);
    let items = if offset < total {
        load(offset as i64, size as i64)?
    } else {
        Vec::new()
    };
    Ok(match part {
        Part::Whole => vocab::ordered_collection(id, total, items),
        Part::Page(n) => vocab::collection_page(id, n, total, items),
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
                    &idea,
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

/// Whether a WebFinger `resource` is this server's own URL (`{base}` or `{base}/`), which
/// names its instance actor (FEP-d556).
pub fn names_this_server(ctx: &Ctx, resource: &str) -> bool {
    resource.trim_end_matches('/') == ctx.urls.base
}

/// The local actor a WebFinger `resource` names: its id (a URL), or `acct:name@domain`, where
/// the node's own domain as name, or the node's own URL, means the instance actor.
pub async fn webfinger(ctx: &Ctx, resource: &str) -> Result<Actor> {
    let (r, domain) = (resource.to_string(), ctx.settings.domain.clone());
    let this_server = names_this_server(ctx, resource);
    ctx.db
        .read(move |c| {
            if this_server {
                return store::actors::local_of_kind(c, ActorKind::Application);
            }
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
