//! Comments: threaded `Note` replies to ideas, from local users or any fediverse account.

use serde_json::{json, Value};

use crate::domain::membership::Action;
use crate::domain::text;
use crate::error::{Error, Result};
use crate::service::inbound::{Applied, Inbound, ReadAhead, ReplyProbe};
use crate::service::{commit, commit_each, ideas, members, policy, Tx};
use crate::state::Ctx;
use crate::store::models::{Actor, Comment, Idea, NewComment};
use crate::store::{self, now, DbConnection};
use crate::vocab::{self, ActivityKind};

pub const MAX_COMMENT: usize = 20_000;

/// The idea a reply target belongs to: the idea itself or a comment on it.
pub fn thread_of(c: &mut DbConnection, in_reply_to: &str) -> Result<Option<Idea>> {
    if let Some(idea) = store::ideas::by_ap_id(c, in_reply_to)? {
        return Ok(Some(idea));
    }
    match store::comments::by_ap_id(c, in_reply_to)? {
        Some(cm) => store::ideas::by_id(c, cm.idea_id),
        None => Ok(None),
    }
}

/// What storing the reply `ap_id` by `author` to `in_reply_to` (an idea, or a comment on one)
/// reads: the idea, its room and the room's settings, whether the reply is held already, and
/// the memberships that may apply to the author.
fn reply_target(
    c: &mut DbConnection,
    in_reply_to: &str,
    ap_id: &str,
    author: &Actor,
) -> Result<Option<store::comments::ReplyTarget>> {
    if let Some(found) = store::comments::reply_target(c, in_reply_to, ap_id, author)? {
        return Ok(Some(found));
    }
    let Some(parent) = store::comments::by_ap_id(c, in_reply_to)? else {
        return Ok(None);
    };
    let Some(idea) = store::ideas::by_id(c, parent.idea_id)? else {
        return Ok(None);
    };
    store::comments::reply_target(c, &idea.ap_id, ap_id, author)
}

/// Finds a comment by local id or ActivityPub id.
pub fn find_comment(c: &mut DbConnection, key: &str) -> Result<Comment> {
    let found = match key.parse::<i32>() {
        Ok(id) => store::comments::by_id(c, id)?,
        Err(_) => store::comments::by_ap_id(c, key)?,
    };
    found.ok_or_else(|| Error::not_found(format!("comment {key}")))
}

fn note_json(
    c: &mut DbConnection,
    comment: &Comment,
    author: &Actor,
    idea: &Idea,
) -> Result<Value> {
    let room = store::actors::by_id(c, idea.room_id)?;
    let idea_author = store::actors::by_id(c, idea.author_id)?;
    Ok(vocab::comment_json(
        comment,
        &author.ap_id,
        &room,
        idea,
        &idea_author.ap_id,
    ))
}

/// A local user comments on an idea (or replies to a comment on it), if the room's current
/// phase lets its role.
pub async fn add(
    ctx: &Ctx,
    author: Actor,
    idea_key: String,
    body: String,
    in_reply_to: Option<String>,
) -> Result<ideas::IdeaDetail> {
    check_body(&body)?;
    commit(ctx, move |c| {
        let idea = ideas::find(c, &idea_key)?;
        policy::require_live_idea(&idea)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        if room.local {
            policy::require(c, &room, &author, Action::Comment { stage: idea.stage })?;
        }
        let parent = match in_reply_to {
            Some(p) if p != idea.ap_id => {
                let parent = find_comment(c, &p)?;
                if parent.idea_id != idea.id {
                    return Err(Error::bad_request(
                        "in_reply_to is a comment on another idea",
                    ));
                }
                parent.ap_id
            }
            _ => idea.ap_id.clone(),
        };
        let t = now();
        let terms = members::room_terms(c, &room)?;
        let ap_id = c.urls.comment(&uuid::Uuid::new_v4().to_string());
        let comment = store::comments::insert(
            c,
            &NewComment {
                ap_id,
                idea_id: idea.id,
                author_id: author.id,
                in_reply_to: parent,
                content: text::markdown_to_html(&body),
                source: Some(body),
                local: true,
                deleted: false,
                published: t,
                updated: t,
                terms,
            },
        )?;
        let idea_author = store::actors::by_id(c, idea.author_id)?;
        let note = note_json(c, &comment, &author, &idea)?;
        let id = c.new_activity_id();
        let mut create =
            vocab::room_activity(ActivityKind::Create, &id, &author.ap_id, note, &room);
        if let Some(cc) = create["cc"].as_array_mut() {
            cc.push(json!(idea_author.ap_id));
        }
        let extra = if idea_author.local {
            vec![]
        } else {
            vec![idea_author.delivery_inbox().to_string()]
        };
        c.distribute(&author, &room, &create, None, extra)?;
        ideas::detail(c, &idea)
    })
    .await
}

fn check_body(body: &str) -> Result<()> {
    if body.trim().is_empty() || body.len() > MAX_COMMENT {
        return Err(Error::bad_request(format!(
            "comment body must be 1-{MAX_COMMENT} bytes"
        )));
    }
    Ok(())
}

/// A local user edits their own comment; followers get an `Update`.
pub async fn edit(ctx: &Ctx, author: Actor, comment_key: String, body: String) -> Result<()> {
    check_body(&body)?;
    commit(ctx, move |c| {
        let (comment, idea, room) = own_comment(c, &author, &comment_key)?;
        let html = text::markdown_to_html(&body);
        store::comments::update(c, comment.id, &html, Some(&body))?;
        let updated = find_comment(c, &comment.id.to_string())?;
        let note = note_json(c, &updated, &author, &idea)?;
        let id = c.new_activity_id();
        let update = vocab::room_activity(ActivityKind::Update, &id, &author.ap_id, note, &room);
        c.distribute(&author, &room, &update, None, vec![])
    })
    .await
}

/// A local user deletes their own comment; followers get a `Delete` of its tombstone.
pub async fn delete(ctx: &Ctx, author: Actor, comment_key: String) -> Result<()> {
    commit(ctx, move |c| {
        let (comment, _idea, room) = own_comment(c, &author, &comment_key)?;
        store::comments::mark_deleted(c, comment.id)?;
        let id = c.new_activity_id();
        let tombstone = vocab::tombstone(&comment.ap_id, "Note");
        let delete =
            vocab::room_activity(ActivityKind::Delete, &id, &author.ap_id, tombstone, &room);
        c.distribute(&author, &room, &delete, None, vec![])
    })
    .await
}

/// A live comment `author` wrote on this node, with its idea and room.
fn own_comment(c: &mut Tx<'_>, author: &Actor, key: &str) -> Result<(Comment, Idea, Actor)> {
    let comment = find_comment(c, key)?;
    if !comment.local || !policy::may_change_comment(author, &comment) {
        return Err(Error::Forbidden(
            "only the author can change a comment".into(),
        ));
    }
    policy::require_live_comment(&comment)?;
    let idea = store::ideas::by_id(c, comment.idea_id)?.ok_or_else(|| Error::not_found("idea"))?;
    let room = store::actors::by_id(c, idea.room_id)?;
    Ok((comment, idea, room))
}

/// A reply from another server to an idea or to a comment on it.
#[derive(Debug, Clone)]
pub struct IncomingComment {
    pub ap_id: String,
    pub in_reply_to: String,
    pub content: String,
    pub source: Option<String>,
    pub published: chrono::NaiveDateTime,
    /// Whether the reply was addressed to the public.
    pub public: bool,
}

/// Stores a reply from another server; in a local room the room announces it to followers.
pub async fn receive(ctx: &Ctx, reply: Inbound<IncomingComment>) -> Result<Applied> {
    match receive_in_thread(ctx, reply, None).await? {
        Threaded::Applied(applied) => Ok(applied),
        Threaded::NoThread(reply) => Err(Error::Unsupported(format!(
            "{} does not reply to an idea on this node",
            reply.content.ap_id
        ))),
    }
}

/// What became of a reply offered to [`receive_in_thread`].
#[derive(Debug)]
pub enum Threaded {
    Applied(Applied),
    /// It answers nothing this node holds (no idea, no comment on one): handed back unchanged,
    /// for the caller to fetch the thread and offer it again.
    NoThread(Box<Inbound<IncomingComment>>),
}

/// [`receive`], handing the reply back when its thread is not here, so that the inbox needs
/// no separate read to know whether to fetch the thread first. `ahead` is the reply's target
/// if the inbox read it ahead ([`ReadAhead`]); it is taken only if it was read for this reply
/// and this author.
pub async fn receive_in_thread(
    ctx: &Ctx,
    reply: Inbound<IncomingComment>,
    ahead: Option<ReadAhead>,
) -> Result<Threaded> {
    if reply.content.content.len() > MAX_COMMENT * 4 {
        return Err(Error::TooLarge("comment content".into()));
    }
    // Sanitised before the transaction: the write lock is held for database work only.
    let content = text::sanitize_html(&reply.content.content);
    let ahead = ahead.and_then(|read| {
        let probe = ReplyProbe {
            in_reply_to: reply.content.in_reply_to.clone(),
            ap_id: reply.content.ap_id.clone(),
            host: reply.actor.host.clone(),
        };
        read.target_for(&reply.actor, &probe)
    });
    // Each statement on its own: the reply target is read without locks (nothing a
    // transaction would hold still; read ahead on PostgreSQL, it was read the same way a
    // moment earlier), and the common case stores the reply in one statement.
    commit_each(ctx, move |c| {
        let target = match ahead {
            Some(target) => Some(target),
            None => reply_target(
                c,
                &reply.content.in_reply_to,
                &reply.content.ap_id,
                &reply.actor,
            )?,
        };
        let Some(store::comments::ReplyTarget {
            idea,
            room,
            settings,
            held,
            memberships,
            recipients,
        }) = target
        else {
            return Ok(Threaded::NoThread(Box::new(reply)));
        };
        let Inbound {
            actor: author,
            receipt,
            content: incoming,
            original,
        } = reply;
        let private = !incoming.public && policy::is_public(&room);
        // A local room's settings decide the comment (its phase) and travel with it (terms).
        let refusal = if room.local {
            let action = Action::Comment { stage: idea.stage };
            policy::authorize_among(&room, settings.as_ref(), &author, memberships, action).err()
        } else {
            None
        };
        if held || private || refusal.is_some() {
            // Not stored: the receipt is recorded, so that the activity counts as applied
            // (a repeat is a duplicate), and the reason is given.
            return c
                .atomically(|c| {
                    if !receipt.record(c)? || held {
                        return Ok(Applied::Duplicate);
                    }
                    if let Some(reason) = refusal.filter(|_| !private) {
                        return members::refuse(c, &room, &author, &original, &reason);
                    }
                    Err(Error::Unsupported(format!(
                        "{} is not addressed to the public: private messages never become comments",
                        incoming.ap_id
                    )))
                })
                .map(Threaded::Applied);
        }
        let terms = members::terms_of(&room, settings.as_ref());
        let comment = NewComment {
            ap_id: incoming.ap_id.clone(),
            idea_id: idea.id,
            author_id: author.id,
            in_reply_to: incoming.in_reply_to.clone(),
            content,
            source: incoming.source.clone(),
            local: false,
            deleted: false,
            published: incoming.published,
            updated: incoming.published,
            terms,
        };
        let receipt = store::comments::ReceiptOf {
            ap_id: &receipt.id,
            actor: &receipt.actor,
            kind: &receipt.kind,
        };
        // The receipt, the comment and the room's Announce of it in one statement (the
        // common case in a busy inbox); its deliveries, if it has any, are queued once it is
        // stored, in the same transaction.
        let relay = c.relay(&author, &room, &recipients, &original)?;
        let row = relay.as_ref().map(|r| r.row());
        let stored = match relay.as_ref().filter(|r| c.sends(r)) {
            Some(relay) => c.atomically(|c| {
                let stored = store::comments::insert_received(c, receipt, &comment, row.as_ref())?;
                if stored {
                    c.send(relay)?;
                }
                Ok(stored)
            })?,
            None => store::comments::insert_received(c, receipt, &comment, row.as_ref())?,
        };
        Ok(Threaded::Applied(if stored {
            Applied::Done
        } else {
            Applied::Duplicate
        }))
    })
    .await
}

/// An `Update` of a comment this node holds, with its new HTML content.
#[derive(Debug, Clone)]
pub struct CommentEdit {
    pub ap_id: String,
    pub content: String,
}

/// The author of a remote comment edited it. An edit of a deleted comment is acknowledged and
/// changes nothing (deletion wins, as for ideas).
pub async fn receive_edit(ctx: &Ctx, edit: Inbound<CommentEdit>) -> Result<Applied> {
    let html = text::sanitize_html(&edit.content.content);
    commit(ctx, move |c| {
        let comment = authored_comment(c, &edit.actor, &edit.content.ap_id)?;
        if comment.deleted {
            return Ok(Applied::Done);
        }
        if !edit.receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        store::comments::update(c, comment.id, &html, None)?;
        relay_change(c, &edit.actor, &comment, &edit.original)
    })
    .await
}

/// The author of a remote comment deleted it (`ap_id`).
pub async fn receive_delete(ctx: &Ctx, delete: Inbound<String>) -> Result<Applied> {
    commit(ctx, move |c| {
        let comment = authored_comment(c, &delete.actor, &delete.content)?;
        if !delete.receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        store::comments::mark_deleted(c, comment.id)?;
        relay_change(c, &delete.actor, &comment, &delete.original)
    })
    .await
}

/// A comment this node holds, if `actor` wrote it.
fn authored_comment(c: &mut Tx<'_>, actor: &Actor, ap_id: &str) -> Result<Comment> {
    let comment = store::comments::by_ap_id(c, ap_id)?
        .ok_or_else(|| Error::not_found(format!("comment {ap_id}")))?;
    if !policy::may_change_comment(actor, &comment) {
        return Err(Error::Forbidden(
            "only the author can change a comment".into(),
        ));
    }
    Ok(comment)
}

/// A local room relays a change of a comment in it to its followers.
fn relay_change(
    c: &mut Tx<'_>,
    actor: &Actor,
    comment: &Comment,
    original: &Value,
) -> Result<Applied> {
    let idea = store::ideas::by_id(c, comment.idea_id)?.ok_or_else(|| Error::not_found("idea"))?;
    let room = store::actors::by_id(c, idea.room_id)?;
    c.distribute(actor, &room, original, None, vec![])?;
    Ok(Applied::Done)
}
