//! Ideas: submission, editing, stage changes and deletion, local and from other nodes.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use crate::domain::lifecycle::{transition_allowed, Stage};
use crate::domain::membership::Action;
use crate::domain::text;
use crate::domain::Visibility;
use crate::error::{Error, Result};
use crate::federation::objects::{self, IdeaView};
use crate::service::commit;
use crate::service::distribute;
use crate::service::follows::{Applied, Receipt};
use crate::service::members;
use crate::state::{Ctx, Urls};
use crate::store::models::{Actor, Idea, NewIdea};
use crate::store::{self, now, DbConnection};

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

/// Loads the client view of an idea; `with_comments` adds the thread.
pub fn detail(c: &mut DbConnection, idea: &Idea, with_comments: bool) -> Result<IdeaDetail> {
    let room = store::actors::by_id(c, idea.room_id)?;
    let author = store::actors::by_id(c, idea.author_id)?;
    let contributors = store::ideas::contributors_of(c, idea.id)?;
    let comments = if with_comments {
        store::comments::of_idea(c, idea.id)?
            .into_iter()
            .map(|(cm, author)| CommentView {
                id: cm.id,
                ap_id: cm.ap_id,
                author,
                in_reply_to: cm.in_reply_to,
                content: cm.content,
                deleted: cm.deleted,
                published: objects::timestamp(cm.published),
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
        stage: idea.stage.clone(),
        stage_answer: idea.stage_answer.clone(),
        next_stages: Stage::parse(&idea.stage)
            .map(|s| {
                // Merging and handing off have their own flows, not a stage change.
                crate::domain::lifecycle::next_stages(s)
                    .into_iter()
                    .filter(|s| !matches!(s, Stage::Merged | Stage::HandedOff))
                    .map(|s| s.to_string())
                    .collect()
            })
            .unwrap_or_default(),
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
        published: objects::timestamp(idea.published),
        updated: objects::timestamp(idea.updated),
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
    Ok(objects::idea_json(&IdeaView {
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
    author: &Actor,
    room_name: &str,
    title: &str,
    body: &str,
) -> Result<IdeaDetail> {
    check_text(title, body)?;
    let room = if room_name.contains('@') {
        let r = crate::federation::fetch::known_or_resolve(ctx, room_name).await?;
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
        stage: Stage::Suggested.to_string(),
        stage_answer: None,
        local: true,
        deleted: false,
        published: t,
        updated: t,
        terms: None,
        provenance: None,
        origin: None,
    };
    let (urls, author) = (ctx.urls.clone(), author.clone());
    let detail = commit(ctx, move |c| {
        let mut new = new;
        if room.local {
            members::authorize(c, &room, &author, Action::Submit)?.map_err(Error::Forbidden)?;
            // Submitting means accepting the room's contribution terms as they are now.
            new.terms = members::room_terms(c, &room)?;
        }
        let idea = store::ideas::insert(c, &new)?;
        store::ideas::add_contributor(c, idea.id, author.id, "author")?;
        let page = page_json(c, &idea)?;
        let create = create_activity(&urls, &author, &room, page.clone());
        distribute(c, &urls, &author, &room, &create, Some(page), vec![])?;
        detail(c, &idea, true)
    })
    .await?;
    Ok(detail)
}

fn create_activity(urls: &Urls, actor: &Actor, room: &Actor, object: Value) -> Value {
    objects::room_activity("Create", &urls.new_activity(), &actor.ap_id, object, room)
}

/// The author edits title or body.
pub async fn edit(
    ctx: &Ctx,
    actor: &Actor,
    key: &str,
    title: Option<String>,
    body: Option<String>,
) -> Result<IdeaDetail> {
    let (urls, actor, key) = (ctx.urls.clone(), actor.clone(), key.to_string());
    let d = commit(ctx, move |c| {
        let idea = find(c, &key)?;
        if idea.author_id != actor.id || !idea.local {
            return Err(Error::Forbidden("only the author can edit an idea".into()));
        }
        if idea.deleted {
            return Err(Error::Conflict("the idea was deleted".into()));
        }
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
        announce_update(c, &urls, &actor, idea.id)
    })
    .await?;
    Ok(d)
}

/// Sends an `Update` of the idea (its Page as it now is) by `actor`, announced by the room.
pub fn announce_update(
    c: &mut DbConnection,
    urls: &Urls,
    actor: &Actor,
    idea_id: i32,
) -> Result<IdeaDetail> {
    let idea = store::ideas::by_id(c, idea_id)?.ok_or_else(|| Error::not_found("idea"))?;
    let room = store::actors::by_id(c, idea.room_id)?;
    let page = page_json(c, &idea)?;
    let update = objects::room_activity("Update", &urls.new_activity(), &actor.ap_id, page, &room);
    distribute(c, urls, actor, &room, &update, None, vec![])?;
    detail(c, &idea, true)
}

/// A steward merges a duplicate into another idea of the same room: supports and credit carry
/// over without double counting, and the duplicate moves to `merged`, pointing to the survivor.
pub async fn merge(ctx: &Ctx, steward: &Actor, key: &str, into: &str) -> Result<IdeaDetail> {
    let (urls, steward, key, into) = (
        ctx.urls.clone(),
        steward.clone(),
        key.to_string(),
        into.to_string(),
    );
    commit(ctx, move |c| {
        let dup = find(c, &key)?;
        let survivor = find(c, &into)?;
        let room = store::actors::by_id(c, dup.room_id)?;
        if !room.local
            || members::member_role(c, &room, &steward)?
                != Some(crate::domain::membership::Role::Steward)
        {
            return Err(Error::Forbidden(
                "only stewards of the idea's room merge ideas".into(),
            ));
        }
        if dup.id == survivor.id || survivor.room_id != dup.room_id {
            return Err(Error::bad_request(
                "an idea merges into another idea of the same room",
            ));
        }
        let open = |i: &Idea| !i.deleted && Stage::parse(&i.stage).is_some_and(|s| s.is_open());
        if !open(&dup) || !open(&survivor) {
            return Err(Error::Conflict("both ideas must be open to merge".into()));
        }
        store::supports::merge_with_credit(c, dup.id, survivor.id)?;
        store::ideas::update_stage(
            c,
            dup.id,
            Stage::Merged.as_str(),
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
        announce_update(c, &urls, &steward, dup.id)?;
        announce_update(c, &urls, &steward, survivor.id)
    })
    .await
}

/// Credit roles stewards can give.
pub const CREDIT_ROLES: [&str; 4] = ["author", "co-author", "improver", "tester"];

/// A steward of the idea's room credits a contributor (a commenter whose improvement was taken,
/// a tester, a co-author); the credit travels with the idea.
pub async fn add_contributor(
    ctx: &Ctx,
    steward: &Actor,
    key: &str,
    handle: &str,
    role: &str,
) -> Result<IdeaDetail> {
    if !CREDIT_ROLES.contains(&role) {
        return Err(Error::bad_request(format!(
            "unknown credit role '{role}': one of {}",
            CREDIT_ROLES.join(", ")
        )));
    }
    let contributor = crate::federation::fetch::known_or_resolve(ctx, handle).await?;
    let (urls, steward, key, role) = (
        ctx.urls.clone(),
        steward.clone(),
        key.to_string(),
        role.to_string(),
    );
    commit(ctx, move |c| {
        let idea = find(c, &key)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        if !room.local
            || members::member_role(c, &room, &steward)?
                != Some(crate::domain::membership::Role::Steward)
        {
            return Err(Error::Forbidden(
                "only stewards of the idea's room credit contributors".into(),
            ));
        }
        if idea.deleted {
            return Err(Error::Conflict("the idea was deleted".into()));
        }
        store::ideas::add_contributor(c, idea.id, contributor.id, &role)?;
        store::ideas::touch(c, idea.id)?;
        announce_update(c, &urls, &steward, idea.id)
    })
    .await
}

/// Staff of the room's node move an idea along its life cycle, with an answer saying why.
pub async fn change_stage(
    ctx: &Ctx,
    actor: &Actor,
    key: &str,
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
    if !actor.staff {
        return Err(Error::Forbidden(
            "only staff can change the stage of an idea".into(),
        ));
    }
    let (urls, actor, key, answer) = (
        ctx.urls.clone(),
        actor.clone(),
        key.to_string(),
        answer.trim().to_string(),
    );
    let d = commit(ctx, move |c| {
        let idea = find(c, &key)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        if !room.local {
            return Err(Error::Forbidden(
                "stages are changed by the node hosting the room".into(),
            ));
        }
        if idea.deleted {
            return Err(Error::Conflict("the idea was deleted".into()));
        }
        let from = Stage::parse(&idea.stage).unwrap_or(Stage::Suggested);
        if !transition_allowed(from, to) {
            return Err(Error::Conflict(format!(
                "an idea cannot move from {from} to {to}"
            )));
        }
        store::ideas::update_stage(c, idea.id, to.as_str(), Some(&answer), now())?;
        announce_update(c, &urls, &actor, idea.id)
    })
    .await?;
    Ok(d)
}

/// The author, or staff of the room's node, deletes an idea.
pub async fn delete(ctx: &Ctx, actor: &Actor, key: &str) -> Result<()> {
    let (urls, actor, key) = (ctx.urls.clone(), actor.clone(), key.to_string());
    commit(ctx, move |c| {
        let idea = find(c, &key)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        let may = (idea.author_id == actor.id && idea.local) || (actor.staff && room.local);
        if !may {
            return Err(Error::Forbidden(
                "only the author or staff can delete an idea".into(),
            ));
        }
        if idea.deleted {
            return Ok(());
        }
        store::ideas::mark_deleted(c, idea.id)?;
        let del = objects::room_activity(
            "Delete",
            &urls.new_activity(),
            &actor.ap_id,
            objects::tombstone(&idea.ap_id, "Page"),
            &room,
        );
        distribute(c, &urls, &actor, &room, &del, None, vec![])
    })
    .await?;
    Ok(())
}

/// The ideas of a room, for `viewer` (a local user; `None` for an anonymous web page).
pub async fn list_room(ctx: &Ctx, viewer: Option<&Actor>, room: &Actor) -> Result<Vec<IdeaDetail>> {
    let (room, viewer) = (room.clone(), viewer.cloned());
    ctx.db
        .read(move |c| {
            check_visible(c, &room, viewer.as_ref())?;
            store::ideas::in_room(c, room.id)?
                .iter()
                .map(|i| detail(c, i, false))
                .collect()
        })
        .await
}

/// Ideas of partners and private rooms are shown only to those who may see them; to everyone
/// else they do not exist.
fn check_visible(c: &mut DbConnection, room: &Actor, viewer: Option<&Actor>) -> Result<()> {
    let visible = match viewer {
        Some(v) => members::may_see_locally(c, room, v)?,
        None => members::visibility(room) == Visibility::Public,
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
            detail(c, &i, true)
        })
        .await
}

/// The room's node refused something this node sent (a submission, usually): remember why,
/// so that its author sees it.
pub async fn receive_refusal(
    ctx: &Ctx,
    room: &Actor,
    reject: &Value,
    receipt: Receipt,
) -> Result<Applied> {
    let refused = crate::federation::fetch::id_of(&reject["object"])
        .ok_or_else(|| Error::bad_request("Reject has no object"))?
        .to_string();
    let reason = reject["summary"]
        .as_str()
        .or(reject["content"].as_str())
        .unwrap_or("refused without a reason")
        .to_string();
    let room = room.clone();
    commit(ctx, move |c| {
        let sent = store::activities::by_ap_id(c, &refused)?.ok_or_else(|| {
            Error::Unsupported(format!("Reject of {refused}, which this node never sent"))
        })?;
        let body: Value =
            serde_json::from_str(&sent.body).map_err(|e| Error::Internal(e.to_string()))?;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        let object = crate::federation::fetch::id_of(&body["object"])
            .unwrap_or_default()
            .to_string();
        match body["type"].as_str() {
            Some("Create") => {
                if let Some(idea) =
                    store::ideas::by_ap_id(c, &object)?.filter(|i| i.room_id == room.id)
                {
                    store::ideas::set_refused(c, idea.id, &reason)?;
                } else if let Some(comment) = store::comments::by_ap_id(c, &object)? {
                    store::comments::mark_deleted(c, comment.id)?;
                }
            }
            Some("Like") => {
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

/// An idea as another node sent it.
#[derive(Debug, Clone)]
pub struct IncomingIdea {
    pub ap_id: String,
    pub author: Actor,
    pub title: String,
    pub source: String,
    pub content: String,
    pub stage: Option<String>,
    pub stage_answer: Option<String>,
    pub contributors: Vec<(String, String)>,
    pub published: NaiveDateTime,
    pub updated: NaiveDateTime,
    /// Whether the post was addressed to the public.
    pub public: bool,
    /// `{id, version}` of the terms, as JSON text (mirrors of remote rooms).
    pub terms: Option<String>,
    /// The handoff chain, as JSON text (mirrors of remote rooms).
    pub provenance: Option<String>,
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
pub async fn receive(
    ctx: &Ctx,
    room: &Actor,
    incoming: IncomingIdea,
    original: Value,
    receipt: Receipt,
) -> Result<Applied> {
    if incoming.title.trim().is_empty() && incoming.content.trim().is_empty() {
        return Err(Error::bad_request("idea has neither a title nor content"));
    }
    let (urls, room) = (ctx.urls.clone(), room.clone());
    let incoming = incoming.clamped_to_now();
    let applied = commit(ctx, move |c| {
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        if store::ideas::by_ap_id(c, &incoming.ap_id)?.is_some() {
            // A Create of an idea this node holds (the room announces both the activity and the
            // Page; deliveries are retried) changes nothing: changes come as Updates, and a late
            // Create must not overwrite a newer edit.
            return Ok(Applied::Duplicate);
        }
        if !incoming.public && members::visibility(&room) == Visibility::Public {
            return Err(Error::Unsupported(format!(
                "{} is not addressed to the public: private messages never become ideas",
                incoming.ap_id
            )));
        }
        if room.local {
            if let Err(reason) = members::authorize(c, &room, &incoming.author, Action::Submit)? {
                return members::refuse(c, &urls, &room, &incoming.author, &original, &reason);
            }
        }
        let stage = if !speaks_for_room(&incoming.author, &room) {
            Stage::Suggested.to_string()
        } else {
            incoming
                .stage
                .clone()
                .filter(|s| Stage::parse(s).is_some())
                .unwrap_or_else(|| Stage::Suggested.to_string())
        };
        let terms = if room.local {
            members::room_terms(c, &room)?
        } else {
            incoming.terms.clone()
        };
        let idea = store::ideas::insert(
            c,
            &NewIdea {
                ap_id: incoming.ap_id.clone(),
                room_id: room.id,
                author_id: incoming.author.id,
                title: incoming.title.clone(),
                source: incoming.source.clone(),
                content: incoming.content.clone(),
                stage,
                stage_answer: if speaks_for_room(&incoming.author, &room) {
                    incoming.stage_answer.clone()
                } else {
                    None
                },
                local: false,
                deleted: false,
                published: incoming.published,
                updated: incoming.updated,
                terms,
                provenance: incoming.provenance.clone(),
                origin: incoming.origin.clone(),
            },
        )?;
        store::ideas::add_contributor(c, idea.id, incoming.author.id, "author")?;
        if !room.local {
            for (actor, role) in &incoming.contributors {
                if let Some(a) = store::actors::by_ap_id(c, actor)? {
                    store::ideas::add_contributor(c, idea.id, a.id, role)?;
                }
            }
        }
        if room.local {
            let page = page_json(c, &idea)?;
            distribute(
                c,
                &urls,
                &incoming.author,
                &room,
                &original,
                Some(page),
                vec![],
            )?;
        }
        Ok(Applied::Done)
    })
    .await?;
    Ok(applied)
}

/// Whether `actor` speaks for a remote `room`: it lives on the node that hosts the room. Only
/// such actors set an idea's stage and answer on mirrors.
fn speaks_for_room(actor: &Actor, room: &Actor) -> bool {
    !room.local && crate::federation::fetch::same_host(&actor.ap_id, &room.ap_id)
}

fn apply_remote_update(
    c: &mut DbConnection,
    urls: &Urls,
    room: &Actor,
    existing: Idea,
    incoming: &IncomingIdea,
    original: &Value,
) -> Result<Applied> {
    if existing.room_id != room.id {
        return Err(Error::Forbidden(
            "an idea cannot move to another room".into(),
        ));
    }
    let from_room_host = speaks_for_room(&incoming.author, room);
    if existing.author_id != incoming.author.id && !from_room_host {
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
    if from_room_host {
        // The room's node speaks for credit, terms and handoffs too.
        for (actor, role) in &incoming.contributors {
            if let Some(a) = store::actors::by_ap_id(c, actor)? {
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
            incoming.terms.as_deref(),
            incoming.provenance.as_deref(),
            incoming.handed_off_to.as_deref(),
            incoming.merged_into.as_deref(),
        )?;
        if let Some(stage) = incoming
            .stage
            .as_deref()
            .filter(|s| Stage::parse(s).is_some())
        {
            store::ideas::update_stage(
                c,
                existing.id,
                stage,
                incoming.stage_answer.as_deref(),
                incoming.updated,
            )?;
        }
    } else {
        distribute(c, urls, &incoming.author, room, original, None, vec![])?;
    }
    Ok(Applied::Done)
}

/// An Update of an idea from its author (local room) or from the room (mirror).
pub async fn receive_update(
    ctx: &Ctx,
    room: &Actor,
    incoming: IncomingIdea,
    original: Value,
    receipt: Receipt,
) -> Result<Applied> {
    let (urls, room) = (ctx.urls.clone(), room.clone());
    let incoming = incoming.clamped_to_now();
    let applied = commit(ctx, move |c| {
        let existing = store::ideas::by_ap_id(c, &incoming.ap_id)?
            .ok_or_else(|| Error::not_found(format!("idea {}", incoming.ap_id)))?;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        apply_remote_update(c, &urls, &room, existing, &incoming, &original)
    })
    .await?;
    Ok(applied)
}

/// A Delete of an idea by its author, or by an actor of the node hosting the room (which
/// moderates its ideas).
pub async fn receive_delete(
    ctx: &Ctx,
    actor: &Actor,
    idea: Idea,
    original: Value,
    receipt: Receipt,
) -> Result<Applied> {
    let (urls, actor) = (ctx.urls.clone(), actor.clone());
    let applied = commit(ctx, move |c| {
        let room = store::actors::by_id(c, idea.room_id)?;
        let allowed = idea.author_id == actor.id
            || (!room.local && crate::federation::fetch::same_host(&actor.ap_id, &room.ap_id));
        if !allowed {
            return Err(Error::Forbidden(
                "only the author can delete an idea".into(),
            ));
        }
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        store::ideas::mark_deleted(c, idea.id)?;
        if room.local {
            distribute(c, &urls, &actor, &room, &original, None, vec![])?;
        }
        Ok(Applied::Done)
    })
    .await?;
    Ok(applied)
}
