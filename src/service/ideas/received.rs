//! Ideas from other nodes: suggestions posted to a local room, mirrors of followed remote
//! rooms and their updates, deletions, and refusals of what this node sent to a room.

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::domain::lifecycle::Stage;
use crate::domain::membership::Action;
use crate::error::{Error, Result};
use crate::service::inbound::{Applied, Inbound};
use crate::service::{commit, members, policy, Tx};
use crate::state::Ctx;
use crate::store::models::{Actor, Idea, NewIdea};
use crate::store::{self, now};
use crate::vocab::{self, ActivityKind};

use super::page_json;

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
