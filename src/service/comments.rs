//! Comments: threaded `Note` replies to ideas, from local users or any fediverse account.

use serde_json::{json, Value};

use crate::domain::lifecycle::Stage;
use crate::domain::membership::Action;
use crate::domain::text;
use crate::domain::Visibility;
use crate::error::{Error, Result};
use crate::federation::objects;
use crate::service::commit;
use crate::service::follows::{Applied, Receipt};
use crate::service::{distribute, ideas, members};
use crate::state::Ctx;
use crate::store::models::{Actor, Comment, Idea, NewComment};
use crate::store::{self, now, DbConnection};

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
    Ok(objects::comment_json(
        comment,
        &author.ap_id,
        &room,
        &idea_author.ap_id,
    ))
}

/// A local user comments on an idea (or replies to a comment on it).
pub async fn add(
    ctx: &Ctx,
    author: &Actor,
    idea_key: &str,
    body: &str,
    in_reply_to: Option<String>,
) -> Result<ideas::IdeaDetail> {
    if body.trim().is_empty() || body.len() > MAX_COMMENT {
        return Err(Error::bad_request(format!(
            "comment body must be 1-{MAX_COMMENT} bytes"
        )));
    }
    let (urls, author, key, body) = (
        ctx.urls.clone(),
        author.clone(),
        idea_key.to_string(),
        body.to_string(),
    );
    let d = commit(ctx, move |c| {
        let idea = ideas::find(c, &key)?;
        if idea.deleted {
            return Err(Error::Conflict("the idea was deleted".into()));
        }
        let idea_room = store::actors::by_id(c, idea.room_id)?;
        if idea_room.local {
            let stage = Stage::parse(&idea.stage).unwrap_or(Stage::Suggested);
            members::authorize(c, &idea_room, &author, Action::Comment { stage })?
                .map_err(Error::Forbidden)?;
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
        let terms = members::room_terms(c, &idea_room)?;
        let comment = store::comments::insert(
            c,
            &NewComment {
                ap_id: urls.comment(&uuid::Uuid::new_v4().to_string()),
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
        let room = store::actors::by_id(c, idea.room_id)?;
        let idea_author = store::actors::by_id(c, idea.author_id)?;
        let note = note_json(c, &comment, &author, &idea)?;
        let mut create =
            objects::room_activity("Create", &urls.new_activity(), &author.ap_id, note, &room);
        if let Some(cc) = create["cc"].as_array_mut() {
            cc.push(json!(idea_author.ap_id));
        }
        let extra = if idea_author.local {
            vec![]
        } else {
            vec![idea_author.delivery_inbox().to_string()]
        };
        distribute(c, &urls, &author, &room, &create, None, extra)?;
        ideas::detail(c, &idea, true)
    })
    .await?;
    Ok(d)
}

/// Edits (`body = Some`) or deletes (`None`) a local user's own comment.
pub async fn change(
    ctx: &Ctx,
    author: &Actor,
    comment_key: &str,
    body: Option<String>,
) -> Result<()> {
    let (urls, author, key) = (ctx.urls.clone(), author.clone(), comment_key.to_string());
    commit(ctx, move |c| {
        let comment = find_comment(c, &key)?;
        if comment.author_id != author.id || !comment.local {
            return Err(Error::Forbidden(
                "only the author can change a comment".into(),
            ));
        }
        if comment.deleted {
            return Err(Error::Conflict("the comment was deleted".into()));
        }
        let idea =
            store::ideas::by_id(c, comment.idea_id)?.ok_or_else(|| Error::not_found("idea"))?;
        let room = store::actors::by_id(c, idea.room_id)?;
        let activity = match body {
            Some(body) => {
                if body.trim().is_empty() || body.len() > MAX_COMMENT {
                    return Err(Error::bad_request(format!(
                        "comment body must be 1-{MAX_COMMENT} bytes"
                    )));
                }
                store::comments::update(
                    c,
                    comment.id,
                    &text::markdown_to_html(&body),
                    Some(&body),
                )?;
                let updated = find_comment(c, &comment.id.to_string())?;
                let note = note_json(c, &updated, &author, &idea)?;
                objects::room_activity("Update", &urls.new_activity(), &author.ap_id, note, &room)
            }
            None => {
                store::comments::mark_deleted(c, comment.id)?;
                objects::room_activity(
                    "Delete",
                    &urls.new_activity(),
                    &author.ap_id,
                    objects::tombstone(&comment.ap_id, "Note"),
                    &room,
                )
            }
        };
        distribute(c, &urls, &author, &room, &activity, None, vec![])
    })
    .await?;
    Ok(())
}

/// A comment as another server sent it.
#[derive(Debug, Clone)]
pub struct IncomingComment {
    pub ap_id: String,
    pub author: Actor,
    pub in_reply_to: String,
    pub content: String,
    pub source: Option<String>,
    pub published: chrono::NaiveDateTime,
    /// Whether the reply was addressed to the public.
    pub public: bool,
}

/// Stores a reply from another server; in a local room the room announces it to followers.
pub async fn receive(
    ctx: &Ctx,
    incoming: IncomingComment,
    original: Value,
    receipt: Receipt,
) -> Result<Applied> {
    if incoming.content.len() > MAX_COMMENT * 4 {
        return Err(Error::TooLarge("comment content".into()));
    }
    let urls = ctx.urls.clone();
    let applied = commit(ctx, move |c| {
        let idea = thread_of(c, &incoming.in_reply_to)?.ok_or_else(|| {
            Error::Unsupported(format!(
                "{} does not reply to an idea on this node",
                incoming.ap_id
            ))
        })?;
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        if store::comments::by_ap_id(c, &incoming.ap_id)?.is_some() {
            return Ok(Applied::Duplicate);
        }
        let room = store::actors::by_id(c, idea.room_id)?;
        if !incoming.public && members::visibility(&room) == Visibility::Public {
            return Err(Error::Unsupported(format!(
                "{} is not addressed to the public: private messages never become comments",
                incoming.ap_id
            )));
        }
        if room.local {
            let stage = Stage::parse(&idea.stage).unwrap_or(Stage::Suggested);
            if let Err(reason) =
                members::authorize(c, &room, &incoming.author, Action::Comment { stage })?
            {
                return members::refuse(c, &urls, &room, &incoming.author, &original, &reason);
            }
        }
        let terms = members::room_terms(c, &room)?;
        store::comments::insert(
            c,
            &NewComment {
                ap_id: incoming.ap_id.clone(),
                idea_id: idea.id,
                author_id: incoming.author.id,
                in_reply_to: incoming.in_reply_to.clone(),
                content: text::sanitize_html(&incoming.content),
                source: incoming.source.clone(),
                local: false,
                deleted: false,
                published: incoming.published,
                updated: incoming.published,
                terms,
            },
        )?;
        distribute(c, &urls, &incoming.author, &room, &original, None, vec![])?;
        Ok(Applied::Done)
    })
    .await?;
    Ok(applied)
}

/// Update or Delete (`content = None`) of a remote comment by its author.
pub async fn receive_change(
    ctx: &Ctx,
    actor: &Actor,
    ap_id: &str,
    content: Option<String>,
    original: Value,
    receipt: Receipt,
) -> Result<Applied> {
    let (urls, actor, ap_id) = (ctx.urls.clone(), actor.clone(), ap_id.to_string());
    let applied = commit(ctx, move |c| {
        let comment = store::comments::by_ap_id(c, &ap_id)?
            .ok_or_else(|| Error::not_found(format!("comment {ap_id}")))?;
        if comment.author_id != actor.id {
            return Err(Error::Forbidden(
                "only the author can change a comment".into(),
            ));
        }
        if comment.deleted && content.is_some() {
            // Deletion wins, as for ideas: acknowledged, nothing changes.
            return Ok(Applied::Done);
        }
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        match content {
            Some(html) => {
                store::comments::update(c, comment.id, &text::sanitize_html(&html), None)?
            }
            None => store::comments::mark_deleted(c, comment.id)?,
        }
        let idea =
            store::ideas::by_id(c, comment.idea_id)?.ok_or_else(|| Error::not_found("idea"))?;
        let room = store::actors::by_id(c, idea.room_id)?;
        distribute(c, &urls, &actor, &room, &original, None, vec![])?;
        Ok(Applied::Done)
    })
    .await?;
    Ok(applied)
}
