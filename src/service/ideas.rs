//! Ideas: submission, editing, stage changes and deletion, local and from other nodes.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use crate::domain::lifecycle::Stage;
use crate::domain::membership::Action;
use crate::domain::text;
use crate::error::{Error, Result};
use crate::service::inbound::{Applied, Inbound};
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

/// A steward merges a duplicate into another idea of the same room: supports and credit carry
/// over without double counting, and the duplicate moves to `merged`, pointing to the survivor.
pub async fn merge(ctx: &Ctx, steward: Actor, key: String, into: String) -> Result<IdeaDetail> {
    commit(ctx, move |c| {
        let dup = find(c, &key)?;
        let survivor = find(c, &into)?;
        let room = store::actors::by_id(c, dup.room_id)?;
        policy::require_steward(c, &room, &steward, "merge ideas")?;
        if dup.id == survivor.id || survivor.room_id != dup.room_id {
            return Err(Error::bad_request(
                "an idea merges into another idea of the same room",
            ));
        }
        if !policy::is_open(&dup) || !policy::is_open(&survivor) {
            return Err(Error::Conflict("both ideas must be open to merge".into()));
        }
        store::supports::merge_with_credit(c, dup.id, survivor.id)?;
        store::ideas::update_stage(
            c,
            dup.id,
            Stage::Merged,
            Some(&format!("Merged into \"{}\"", survivor.title)),
            now(),
        )?;
        store::ideas::update_links(
            c,
            dup.id,
            dup.terms.to_text().as_deref(),
            dup.provenance.to_text().as_deref(),
            None,
            Some(&survivor.ap_id),
        )?;
        store::ideas::touch(c, survivor.id)?;
        announce_update(c, &steward, dup.id)?;
        announce_update(c, &steward, survivor.id)
    })
    .await
}

/// Credit roles stewards can give.
pub const CREDIT_ROLES: [&str; 4] = ["author", "co-author", "improver", "tester"];

/// A steward of the idea's room credits a contributor (a commenter whose improvement was taken,
/// a tester, a co-author); the credit travels with the idea.
pub async fn add_contributor(
    ctx: &Ctx,
    steward: Actor,
    key: String,
    handle: &str,
    role: String,
) -> Result<IdeaDetail> {
    if !CREDIT_ROLES.contains(&role.as_str()) {
        return Err(Error::bad_request(format!(
            "unknown credit role '{role}': one of {}",
            CREDIT_ROLES.join(", ")
        )));
    }
    let contributor = crate::remote::known_or_resolve(ctx, handle).await?;
    commit(ctx, move |c| {
        let idea = find(c, &key)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        policy::require_steward(c, &room, &steward, "credit contributors")?;
        policy::require_live_idea(&idea)?;
        store::ideas::add_contributor(c, idea.id, contributor.id, &role)?;
        store::ideas::touch(c, idea.id)?;
        announce_update(c, &steward, idea.id)
    })
    .await
}

/// Staff of the room's node move an idea along its life cycle, with an answer saying why.
pub async fn change_stage(
    ctx: &Ctx,
    actor: Actor,
    key: String,
    stage: &str,
    answer: &str,
) -> Result<IdeaDetail> {
    let to = Stage::parse(stage).ok_or_else(|| {
        Error::bad_request(format!(
            "unknown stage '{stage}': one of {}",
            Stage::ALL.map(|s| s.as_str()).join(", ")
        ))
    })?;
    if matches!(to, Stage::Merged | Stage::HandedOff) {
        return Err(Error::bad_request(format!(
            "'{to}' is set by the merge and handoff flows, not by a stage change"
        )));
    }
    if answer.trim().is_empty() {
        return Err(Error::bad_request(
            "a stage change needs an answer text saying why",
        ));
    }
    policy::require_staff(&actor, "change the stage of an idea")?;
    let answer = answer.trim().to_string();
    commit(ctx, move |c| {
        let idea = find(c, &key)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        if !room.local {
            return Err(Error::Forbidden(
                "stages are changed by the node hosting the room".into(),
            ));
        }
        policy::require_live_idea(&idea)?;
        let from = idea.stage;
        if !policy::may_move_stage(&actor, &room, from, to) {
            return Err(Error::Conflict(format!(
                "an idea cannot move from {from} to {to}"
            )));
        }
        store::ideas::update_stage(c, idea.id, to, Some(&answer), now())?;
        announce_update(c, &actor, idea.id)
    })
    .await
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

/// The ideas of a local room by name, for a local user.
pub async fn list_local_room(ctx: &Ctx, viewer: &Actor, name: &str) -> Result<Vec<IdeaDetail>> {
    let room = crate::service::rooms::local_by_name(ctx, name).await?;
    list_room(ctx, Some(viewer), &room).await
}

/// The ideas of a local or followed remote room, named by handle (`room@host`) or by its
/// ActivityPub id, for a local user. A URL must name a room this node already knows.
pub async fn list_room_by_ref(
    ctx: &Ctx,
    viewer: &Actor,
    room_ref: &str,
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
    list_room(ctx, Some(viewer), &room).await
}

/// The ideas of a room, for `viewer` (a local user; `None` for an anonymous web page).
pub async fn list_room(ctx: &Ctx, viewer: Option<&Actor>, room: &Actor) -> Result<Vec<IdeaDetail>> {
    let (room, viewer) = (room.clone(), viewer.cloned());
    ctx.db
        .read(move |c| {
            check_visible(c, &room, viewer.as_ref())?;
            store::ideas::in_room(c, room.id)?
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

/// A `Reject` of something this node sent to a room (a submission, a comment, a like).
#[derive(Debug, Clone)]
pub struct RejectedActivity {
    /// The id of the refused activity.
    pub refused: String,
    pub reason: String,
}

/// The room's node refused something this node sent: a submission is marked refused with the
/// reason, so that its author sees it; a comment is withdrawn; a like is no longer counted.
pub async fn receive_refusal(ctx: &Ctx, refusal: Inbound<RejectedActivity>) -> Result<Applied> {
    commit(ctx, move |c| {
        let Inbound {
            actor: room,
            receipt,
            content: RejectedActivity { refused, reason },
            ..
        } = refusal;
        let sent = store::activities::by_ap_id(c, &refused)?.ok_or_else(|| {
            Error::Unsupported(format!("Reject of {refused}, which this node never sent"))
        })?;
        let body: Value = serde_json::from_str(&sent.body)
            .map_err(|e| Error::Internal(format!("stored activity {refused} is not JSON: {e}")))?;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        let object = vocab::id_of(&body["object"])
            .unwrap_or_default()
            .to_string();
        match vocab::type_of(&body).and_then(ActivityKind::parse) {
            Some(ActivityKind::Create) => {
                if let Some(idea) =
                    store::ideas::by_ap_id(c, &object)?.filter(|i| i.room_id == room.id)
                {
                    store::ideas::set_refused(c, idea.id, &reason)?;
                } else if let Some(comment) = store::comments::by_ap_id(c, &object)? {
                    store::comments::mark_deleted(c, comment.id)?;
                }
            }
            Some(ActivityKind::Like) => {
                if let Some(idea) = store::ideas::by_ap_id(c, &object)? {
                    store::supports::remove(c, idea.id, sent.actor_id)?;
                }
            }
            _ => {}
        }
        tracing::info!(activity = %refused, %reason, "the room refused an activity of this node");
        Ok(Applied::Done)
    })
    .await
}

/// An idea as another node sent it, for `room` (local: a suggestion from outside; remote: the
/// mirror of a room this node follows).
#[derive(Debug, Clone)]
pub struct IncomingIdea {
    pub room: Actor,
    pub ap_id: String,
    pub title: String,
    pub source: String,
    pub content: String,
    /// The stage the sender states; only the room's node is believed.
    pub stage: Option<Stage>,
    pub stage_answer: Option<String>,
    /// `(contributor, role)` credit; only the room's node is believed on updates.
    pub contributors: Vec<(String, String)>,
    pub published: NaiveDateTime,
    pub updated: NaiveDateTime,
    /// Whether the post was addressed to the public.
    pub public: bool,
    /// `{id, version}` of the terms (mirrors of remote rooms).
    pub terms: Option<Value>,
    /// The handoff chain (mirrors of remote rooms).
    pub provenance: Option<Value>,
    pub origin: Option<String>,
    pub handed_off_to: Option<String>,
    pub merged_into: Option<String>,
}

impl IncomingIdea {
    /// Times from a server whose clock runs ahead are taken as now, so that they cannot make
    /// later updates look older.
    fn clamped_to_now(mut self) -> IncomingIdea {
        let t = now();
        self.published = self.published.min(t);
        self.updated = self.updated.min(t);
        self
    }
}

/// Stores an idea from another node. In a local room this is a suggestion from outside
/// (stage `suggested`, announced to followers); in a followed remote room it mirrors the
/// room's copy, stage included.
pub async fn receive(ctx: &Ctx, idea: Inbound<IncomingIdea>) -> Result<Applied> {
    let Inbound {
        actor: author,
        receipt,
        content: incoming,
        original,
    } = idea;
    if incoming.title.trim().is_empty() && incoming.content.trim().is_empty() {
        return Err(Error::bad_request("idea has neither a title nor content"));
    }
    let incoming = incoming.clamped_to_now();
    commit(ctx, move |c| {
        let room = &incoming.room;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        if store::ideas::by_ap_id(c, &incoming.ap_id)?.is_some() {
            // A Create of an idea this node holds (the room announces both the activity and the
            // Page; deliveries are retried) changes nothing: changes come as Updates, and a late
            // Create must not overwrite a newer edit.
            return Ok(Applied::Duplicate);
        }
        if !incoming.public && policy::is_public(room) {
            return Err(Error::Unsupported(format!(
                "{} is not addressed to the public: private messages never become ideas",
                incoming.ap_id
            )));
        }
        if room.local {
            if let Err(reason) = policy::authorize(c, room, &author, Action::Submit)? {
                return members::refuse(c, room, &author, &original, &reason);
            }
        }
        let room_speaks = policy::moderates(&author, room);
        let terms = if room.local {
            members::room_terms(c, room)?
        } else {
            incoming.terms.as_ref().map(Value::to_string)
        };
        let idea = store::ideas::insert(
            c,
            &NewIdea {
                ap_id: incoming.ap_id.clone(),
                room_id: room.id,
                author_id: author.id,
                title: incoming.title.clone(),
                source: incoming.source.clone(),
                content: incoming.content.clone(),
                stage: incoming
                    .stage
                    .filter(|_| room_speaks)
                    .unwrap_or(Stage::Suggested),
                stage_answer: incoming.stage_answer.clone().filter(|_| room_speaks),
                local: false,
                deleted: false,
                published: incoming.published,
                updated: incoming.updated,
                terms,
                provenance: incoming.provenance.as_ref().map(Value::to_string),
                origin: incoming.origin.clone(),
            },
        )?;
        store::ideas::add_contributor(c, idea.id, author.id, "author")?;
        if !room.local {
            for (actor, role) in &incoming.contributors {
                if let Some(a) = store::actors::by_ap_id(c, actor)? {
                    store::ideas::add_contributor(c, idea.id, a.id, role)?;
                }
            }
        }
        if room.local {
            let page = page_json(c, &idea)?;
            c.distribute(&author, room, &original, Some(page), vec![])?;
        }
        Ok(Applied::Done)
    })
    .await
}

/// An Update of an idea from its author (local room) or from the room's node (mirror).
pub async fn receive_update(ctx: &Ctx, update: Inbound<IncomingIdea>) -> Result<Applied> {
    let Inbound {
        actor,
        receipt,
        content: incoming,
        original,
    } = update;
    let incoming = incoming.clamped_to_now();
    commit(ctx, move |c| {
        let existing = store::ideas::by_ap_id(c, &incoming.ap_id)?
            .ok_or_else(|| Error::not_found(format!("idea {}", incoming.ap_id)))?;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        apply_remote_update(c, &actor, existing, &incoming, &original)
    })
    .await
}

fn apply_remote_update(
    c: &mut Tx<'_>,
    actor: &Actor,
    existing: Idea,
    incoming: &IncomingIdea,
    original: &Value,
) -> Result<Applied> {
    let room = &incoming.room;
    if existing.room_id != room.id {
        return Err(Error::Forbidden(
            "an idea cannot move to another room".into(),
        ));
    }
    let room_speaks = policy::moderates(actor, room);
    if existing.author_id != actor.id && !room_speaks {
        return Err(Error::Forbidden(
            "only the author can update an idea".into(),
        ));
    }
    if existing.deleted {
        // Deletion wins: a late Create, re-announce or Update of a deleted idea is acknowledged
        // and changes nothing (answering 4xx would only make its sender log a failure).
        tracing::info!(idea = %existing.ap_id, "ignored an update of a deleted idea");
        return Ok(Applied::Done);
    }
    // An older version arriving late changes nothing. Documents carry whole seconds, so compare
    // at that precision: an update within the same second as the stored copy still applies.
    if incoming.updated.and_utc().timestamp() < existing.updated.and_utc().timestamp() {
        return Ok(Applied::Done);
    }
    store::ideas::update_content(
        c,
        existing.id,
        &incoming.title,
        &incoming.source,
        &incoming.content,
        incoming.updated,
    )?;
    if room_speaks {
        // The room's node speaks for credit, terms and handoffs too.
        for (contributor, role) in &incoming.contributors {
            if let Some(a) = store::actors::by_ap_id(c, contributor)? {
                store::ideas::add_contributor(c, existing.id, a.id, role)?;
            }
        }
        if let (None, Some(into)) = (&existing.merged_into, &incoming.merged_into) {
            // The room merged this idea: mirror the merge, so that counts agree here too.
            if let Some(survivor) =
                store::ideas::by_ap_id(c, into)?.filter(|i| i.room_id == room.id)
            {
                store::supports::merge_with_credit(c, existing.id, survivor.id)?;
            }
        }
        store::ideas::update_links(
            c,
            existing.id,
            incoming.terms.as_ref().map(Value::to_string).as_deref(),
            incoming
                .provenance
                .as_ref()
                .map(Value::to_string)
                .as_deref(),
            incoming.handed_off_to.as_deref(),
            incoming.merged_into.as_deref(),
        )?;
        if let Some(stage) = incoming.stage {
            store::ideas::update_stage(
                c,
                existing.id,
                stage,
                incoming.stage_answer.as_deref(),
                incoming.updated,
            )?;
        }
    } else {
        c.distribute(actor, room, original, None, vec![])?;
    }
    Ok(Applied::Done)
}

/// A Delete of an idea by its author, or by the node hosting the room (which moderates its
/// ideas).
pub async fn receive_delete(ctx: &Ctx, delete: Inbound<Idea>) -> Result<Applied> {
    commit(ctx, move |c| {
        let Inbound {
            actor,
            receipt,
            content: idea,
            original,
        } = delete;
        let room = store::actors::by_id(c, idea.room_id)?;
        if !policy::may_delete_idea(&actor, &idea, &room) {
            return Err(Error::Forbidden(
                "only the author can delete an idea".into(),
            ));
        }
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        store::ideas::mark_deleted(c, idea.id)?;
        if room.local {
            c.distribute(&actor, &room, &original, None, vec![])?;
        }
        Ok(Applied::Done)
    })
    .await
}
