//! Ideas: the views clients show, and what local users do with their ideas (submit, edit,
//! delete, list, read). What stewards and staff do with ideas is in [`curation`]; ideas and
//! changes from other nodes in [`received`].

pub mod board;
mod curation;
mod received;

pub use curation::{add_contributor, change_stage, merge, CREDIT_ROLES};
pub use received::{
    receive, receive_delete, receive_refusal, receive_update, IncomingIdea, RejectedActivity,
};

use serde::Serialize;
use serde_json::Value;

use crate::domain::lifecycle::Stage;
use crate::domain::membership::Action;
use crate::domain::text;
use crate::error::{Error, Result};
use crate::service::{commit, members, policy, Tx};
use crate::state::Ctx;
use crate::store::models::{Actor, Idea, NewIdea};
use crate::store::{self, now, DbConnection};
use crate::vocab::{self, ActivityKind, IdeaView};

pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 50_000;

/// An idea with everything a client shows.
#[derive(Debug, Serialize)]
pub struct IdeaDetail {
    pub id: i32,
    pub ap_id: String,
    pub title: String,
    pub body: String,
    pub content: String,
    pub stage: String,
    pub stage_answer: Option<String>,
    pub next_stages: Vec<String>,
    pub room: RoomRef,
    pub author: String,
    pub contributors: Vec<Contributor>,
    pub support_count: i64,
    pub comment_count: i64,
    pub comments: Vec<CommentView>,
    pub local: bool,
    pub deleted: bool,
    pub published: String,
    pub updated: String,
    /// Set when the room's node refused this submission.
    pub refused: Option<Refusal>,
    /// The contribution terms it was made under: `{id, version}`.
    pub terms: Option<Value>,
    /// Earlier handoffs, oldest first: `[{from, to, at, terms, origin}]`.
    pub provenance: Vec<Value>,
    /// The idea this one was handed on from.
    pub origin: Option<String>,
    pub handed_off_to: Option<String>,
    pub merged_into: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Refusal {
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct RoomRef {
    pub ap_id: String,
    pub handle: String,
    pub title: String,
}

#[derive(Debug, Serialize)]
pub struct Contributor {
    pub actor: String,
    pub role: String,
}

#[derive(Debug, Serialize)]
pub struct CommentView {
    pub id: i32,
    pub ap_id: String,
    pub author: String,
    pub in_reply_to: String,
    pub content: String,
    pub deleted: bool,
    pub published: String,
}

/// The client view of an idea with its comment thread.
pub fn detail(c: &mut DbConnection, idea: &Idea) -> Result<IdeaDetail> {
    view(c, idea, Thread::Included)
}

/// The client view of an idea without its comments (lists of ideas).
pub fn summary(c: &mut DbConnection, idea: &Idea) -> Result<IdeaDetail> {
    view(c, idea, Thread::Omitted)
}

/// Whether a view of an idea carries its comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Thread {
    Included,
    Omitted,
}

fn view(c: &mut DbConnection, idea: &Idea, thread: Thread) -> Result<IdeaDetail> {
    let room = store::actors::by_id(c, idea.room_id)?;
    let author = store::actors::by_id(c, idea.author_id)?;
    let contributors = store::ideas::contributors_of(c, idea.id)?;
    let comments = if thread == Thread::Included {
        store::comments::of_idea(c, idea.id)?
            .into_iter()
            .map(|(cm, author)| CommentView {
                id: cm.id,
                ap_id: cm.ap_id,
                author,
                in_reply_to: cm.in_reply_to,
                content: cm.content,
                deleted: cm.deleted,
                published: vocab::timestamp(cm.published),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(IdeaDetail {
        id: idea.id,
        ap_id: idea.ap_id.clone(),
        title: idea.title.clone(),
        body: idea.source.clone(),
        content: idea.content.clone(),
        stage: idea.stage.to_string(),
        stage_answer: idea.stage_answer.clone(),
        // Merging and handing off have their own flows, not a stage change.
        next_stages: crate::domain::lifecycle::next_stages(idea.stage)
            .into_iter()
            .filter(|s| !matches!(s, Stage::Merged | Stage::HandedOff))
            .map(|s| s.to_string())
            .collect(),
        room: RoomRef {
            ap_id: room.ap_id.clone(),
            handle: room.handle(),
            title: room.display_name.clone(),
        },
        author: author.ap_id,
        contributors: contributors
            .into_iter()
            .map(|(actor, role)| Contributor { actor, role })
            .collect(),
        support_count: store::supports::count_of_idea(c, idea.id)?,
        comment_count: store::comments::count_of_idea(c, idea.id)?,
        comments,
        local: idea.local,
        deleted: idea.deleted,
        published: vocab::timestamp(idea.published),
        updated: vocab::timestamp(idea.updated),
        refused: idea.refused_reason.clone().map(|reason| Refusal { reason }),
        terms: idea.terms.0.clone(),
        provenance: idea.provenance.0.clone().unwrap_or_default(),
        origin: idea.origin.clone(),
        handed_off_to: idea.handed_off_to.clone(),
        merged_into: idea.merged_into.clone(),
    })
}

/// The `Page` document of an idea.
pub fn page_json(c: &mut DbConnection, idea: &Idea) -> Result<Value> {
    let room = store::actors::by_id(c, idea.room_id)?;
    let author = store::actors::by_id(c, idea.author_id)?;
    let contributors = store::ideas::contributors_of(c, idea.id)?;
    let support_count = store::supports::count_of_idea(c, idea.id)?;
    Ok(vocab::idea_json(&IdeaView {
        idea,
        room: &room,
        author_ap_id: &author.ap_id,
        contributors: &contributors,
        support_count,
    }))
}

/// Finds an idea by local id or ActivityPub id.
pub fn find(c: &mut DbConnection, key: &str) -> Result<Idea> {
    let found = match key.parse::<i32>() {
        Ok(id) => store::ideas::by_id(c, id)?,
        Err(_) => store::ideas::by_ap_id(c, key)?,
    };
    found.ok_or_else(|| Error::not_found(format!("idea {key}")))
}

fn check_text(title: &str, body: &str) -> Result<()> {
    if title.trim().is_empty() || title.chars().count() > MAX_TITLE {
        return Err(Error::bad_request(format!(
            "title must be 1-{MAX_TITLE} characters"
        )));
    }
    if body.len() > MAX_BODY {
        return Err(Error::bad_request(format!(
            "body must be at most {MAX_BODY} bytes"
        )));
    }
    Ok(())
}

/// A local user submits an idea to a room: a local one by name, or a room of another node by
/// handle (`room@host`), which answers with an Announce or a Reject saying why.
pub async fn submit(
    ctx: &Ctx,
    author: Actor,
    room_name: &str,
    title: &str,
    body: &str,
) -> Result<IdeaDetail> {
    check_text(title, body)?;
    let room = if room_name.contains('@') {
        let r = crate::remote::known_or_resolve(ctx, room_name).await?;
        if !r.is_room() {
            return Err(Error::bad_request(format!("{room_name} is not a room")));
        }
        // A room on a server that takes no `Page` gets the idea as an `Article`.
        crate::service::peers::learn(ctx, &r.host).await;
        r
    } else {
        crate::service::rooms::local_by_name(ctx, room_name).await?
    };
    let t = now();
    let new = NewIdea {
        ap_id: ctx.urls.idea(&uuid::Uuid::new_v4().to_string()),
        room_id: room.id,
        author_id: author.id,
        title: title.trim().to_string(),
        source: body.to_string(),
        content: text::markdown_to_html(body),
        stage: Stage::Suggested,
        stage_answer: None,
        local: true,
        deleted: false,
        published: t,
        updated: t,
        terms: None,
        provenance: None,
        origin: None,
    };
    commit(ctx, move |c| {
        let mut new = new;
        if room.local {
            policy::require(c, &room, &author, Action::Submit)?;
            // Submitting means accepting the room's contribution terms as they are now.
            new.terms = members::room_terms(c, &room)?;
        }
        let idea = store::ideas::insert(c, &new)?;
        store::ideas::add_contributor(c, idea.id, author.id, "author")?;
        let page = page_json(c, &idea)?;
        let id = c.new_activity_id();
        let create = vocab::room_activity(
            ActivityKind::Create,
            &id,
            &author.ap_id,
            page.clone(),
            &room,
        );
        c.distribute(&author, &room, &create, Some(page), vec![])?;
        detail(c, &idea)
    })
    .await
}

/// The author edits title or body.
pub async fn edit(
    ctx: &Ctx,
    actor: Actor,
    key: String,
    title: Option<String>,
    body: Option<String>,
) -> Result<IdeaDetail> {
    commit(ctx, move |c| {
        let idea = find(c, &key)?;
        if !policy::may_edit_idea(&actor, &idea) {
            return Err(Error::Forbidden("only the author can edit an idea".into()));
        }
        policy::require_live_idea(&idea)?;
        let title = title.unwrap_or(idea.title.clone());
        let body = body.unwrap_or(idea.source.clone());
        check_text(&title, &body)?;
        store::ideas::update_content(
            c,
            idea.id,
            title.trim(),
            &body,
            &text::markdown_to_html(&body),
            now(),
        )?;
        announce_update(c, &actor, idea.id)
    })
    .await
}

/// Sends an `Update` of the idea (its Page as it now is) by `actor`, announced by the room.
pub fn announce_update(c: &mut Tx<'_>, actor: &Actor, idea_id: i32) -> Result<IdeaDetail> {
    let idea = store::ideas::by_id(c, idea_id)?.ok_or_else(|| Error::not_found("idea"))?;
    let room = store::actors::by_id(c, idea.room_id)?;
    let page = page_json(c, &idea)?;
    let id = c.new_activity_id();
    let update = vocab::room_activity(ActivityKind::Update, &id, &actor.ap_id, page, &room);
    c.distribute(actor, &room, &update, None, vec![])?;
    detail(c, &idea)
}

/// The author, or staff of the room's node, deletes an idea.
pub async fn delete(ctx: &Ctx, actor: Actor, key: String) -> Result<()> {
    commit(ctx, move |c| {
        let idea = find(c, &key)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        if !policy::may_delete_idea(&actor, &idea, &room) {
            return Err(Error::Forbidden(
                "only the author or staff can delete an idea".into(),
            ));
        }
        if idea.deleted {
            return Ok(());
        }
        store::ideas::mark_deleted(c, idea.id)?;
        let id = c.new_activity_id();
        let tombstone = vocab::tombstone(&idea.ap_id, "Page");
        let del = vocab::room_activity(ActivityKind::Delete, &id, &actor.ap_id, tombstone, &room);
        c.distribute(&actor, &room, &del, None, vec![])
    })
    .await
}

/// Which part of a long list to return: page `number` (from 1) of `size` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub number: u32,
    pub size: u32,
}

impl Paging {
    /// The most items one page may hold: a room of 100,000 ideas is read page by page, never
    /// into memory at once.
    pub const MAX_SIZE: u32 = 500;
    /// The page size when none is asked for.
    pub const DEFAULT_SIZE: u32 = 100;

    /// The first `size` items.
    pub fn first(size: u32) -> Paging {
        Paging { number: 1, size }
    }

    /// Page `number` of `size` (the defaults when absent), refused in words when out of range.
    pub fn of(number: Option<u32>, size: Option<u32>) -> Result<Paging> {
        let number = number.unwrap_or(1);
        let size = size.unwrap_or(Paging::DEFAULT_SIZE);
        if number == 0 {
            return Err(Error::bad_request("page: pages count from 1"));
        }
        if size == 0 || size > Paging::MAX_SIZE {
            return Err(Error::bad_request(format!(
                "per_page: give 1 to {} (default {})",
                Paging::MAX_SIZE,
                Paging::DEFAULT_SIZE
            )));
        }
        Ok(Paging { number, size })
    }

    fn offset(self) -> i64 {
        i64::from(self.number - 1) * i64::from(self.size)
    }
}

/// The ideas of a local room by name, for a local user, one page.
pub async fn list_local_room(
    ctx: &Ctx,
    viewer: &Actor,
    name: &str,
    paging: Paging,
) -> Result<Vec<IdeaDetail>> {
    let room = crate::service::rooms::local_by_name(ctx, name).await?;
    list_room(ctx, Some(viewer), &room, paging).await
}

/// The ideas of a local or followed remote room, named by handle (`room@host`) or by its
/// ActivityPub id, for a local user. A URL must name a room this node already knows.
pub async fn list_room_by_ref(
    ctx: &Ctx,
    viewer: &Actor,
    room_ref: &str,
    paging: Paging,
) -> Result<Vec<IdeaDetail>> {
    let room = if room_ref.starts_with("http://") || room_ref.starts_with("https://") {
        let r = room_ref.to_string();
        ctx.db
            .read(move |c| store::actors::by_ap_id(c, &r))
            .await?
            .ok_or_else(|| Error::not_found(format!("room {room_ref}")))?
    } else {
        crate::remote::known_or_resolve(ctx, room_ref).await?
    };
    if !room.is_room() {
        return Err(Error::bad_request(format!("{room_ref} is not a room")));
    }
    list_room(ctx, Some(viewer), &room, paging).await
}

/// One page of the ideas of a room, newest first, for `viewer` (a local user; `None` for an
/// anonymous web page).
pub async fn list_room(
    ctx: &Ctx,
    viewer: Option<&Actor>,
    room: &Actor,
    paging: Paging,
) -> Result<Vec<IdeaDetail>> {
    let (room, viewer) = (room.clone(), viewer.cloned());
    let (limit, offset) = (i64::from(paging.size), paging.offset());
    ctx.db
        .read(move |c| {
            check_visible(c, &room, viewer.as_ref())?;
            store::ideas::in_room(c, room.id, limit, offset)?
                .iter()
                .map(|i| summary(c, i))
                .collect()
        })
        .await
}

/// Ideas of partners and private rooms are shown only to those who may see them; to everyone
/// else they do not exist.
fn check_visible(c: &mut DbConnection, room: &Actor, viewer: Option<&Actor>) -> Result<()> {
    let visible = match viewer {
        Some(v) => policy::may_see(c, room, v)?,
        None => policy::is_public(room),
    };
    if visible {
        Ok(())
    } else {
        Err(Error::not_found(format!("room {}", room.handle())))
    }
}

pub async fn get(ctx: &Ctx, viewer: &Actor, key: &str) -> Result<IdeaDetail> {
    let (key, viewer) = (key.to_string(), viewer.clone());
    ctx.db
        .read(move |c| {
            let i = find(c, &key)?;
            let room = store::actors::by_id(c, i.room_id)?;
            check_visible(c, &room, Some(&viewer))
                .map_err(|_| Error::not_found(format!("idea {key}")))?;
            detail(c, &i)
        })
        .await
}

/// An idea with its thread for its page, as `viewer` (a local user, or `None` when not signed
/// in) may see it; `None` when it was deleted.
pub async fn read(ctx: &Ctx, viewer: Option<&Actor>, key: &str) -> Result<Option<IdeaDetail>> {
    let (key, viewer) = (key.to_string(), viewer.cloned());
    ctx.db
        .read(move |c| {
            let i = find(c, &key)?;
            let room = store::actors::by_id(c, i.room_id)?;
            check_visible(c, &room, viewer.as_ref())
                .map_err(|_| Error::not_found(format!("idea {key}")))?;
            if i.deleted {
                return Ok(None);
            }
            detail(c, &i).map(Some)
        })
        .await
}
