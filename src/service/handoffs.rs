//! Handoffs: a room's steward offers an idea to another organisation (`Offer` of the idea, with
//! its credit, terms and provenance, to that node's Organization actor); the receiving staff
//! accept it into one of their rooms (`Accept` whose `result` is their own copy) or reject it
//! with a reason; an offer can be withdrawn before an answer (`Undo(Offer)`). The copy carries
//! the whole chain of earlier handoffs and links back to its origin, which links forward.

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::kinds::{ActorKind, HandoffState};
use crate::domain::lifecycle::Stage;
use crate::domain::text;
use crate::error::{Error, Result};
use crate::remote;
use crate::service::inbound::{Applied, Inbound};
use crate::service::{commit, ideas, policy, Tx};
use crate::state::Ctx;
use crate::store::handoffs::NewHandoff;
use crate::store::models::{Actor, Handoff, NewIdea};
use crate::store::{self, now, DbConnection};
use crate::vocab::{self, id_of, same_host, ActivityKind};

#[derive(Debug, Serialize)]
pub struct HandoffView {
    pub id: i32,
    pub ap_id: String,
    pub idea: String,
    pub title: String,
    pub from: String,
    pub to: String,
    pub message: String,
    pub direction: &'static str,
    pub state: HandoffState,
    pub reason: Option<String>,
    pub result: Option<String>,
}

fn view(h: &Handoff) -> HandoffView {
    let offer = &h.offer.0;
    HandoffView {
        id: h.id,
        ap_id: h.ap_id.clone(),
        idea: h.idea_ap_id.clone(),
        title: offer["object"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        from: h.from_org.clone(),
        to: h.to_org.clone(),
        message: h.message.clone(),
        direction: if h.incoming { "incoming" } else { "outgoing" },
        state: h.state,
        reason: h.reason.clone(),
        result: h.result.clone(),
    }
}

fn organization(c: &mut DbConnection) -> Result<Actor> {
    store::actors::local_of_kind(c, ActorKind::Organization)?
        .ok_or_else(|| Error::Internal("this node has no organisation actor".into()))
}

use store::handoffs::{by_ap_id, set_state};

fn reload(c: &mut DbConnection, id: i32) -> Result<Handoff> {
    store::handoffs::by_id(c, id)?.ok_or_else(|| Error::not_found(format!("handoff {id}")))
}

/// A steward of the idea's room offers it to another organisation.
pub async fn offer(
    ctx: &Ctx,
    steward: Actor,
    idea_key: String,
    to: &str,
    message: String,
) -> Result<HandoffView> {
    let target = remote::known_or_resolve(ctx, to).await?;
    if target.kind != ActorKind::Organization || target.local {
        return Err(Error::bad_request(format!(
            "{to} is not another node's organisation"
        )));
    }
    commit(ctx, move |c| {
        let idea = ideas::find(c, &idea_key)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        policy::require_steward(c, &room, &steward, "hand its ideas off")?;
        if !policy::is_open(&idea) {
            return Err(Error::Conflict(format!(
                "an idea that is {} cannot be handed off",
                idea.stage
            )));
        }
        if store::handoffs::has_pending_offer(c, &idea.ap_id)? {
            return Err(Error::Conflict(
                "the idea already has an offer waiting for an answer".into(),
            ));
        }
        let org = organization(c)?;
        let page = ideas::page_json(c, &idea)?;
        let id = c.new_activity_id();
        let mut offer = vocab::activity(
            ActivityKind::Offer,
            &id,
            &steward.ap_id,
            page,
            &[&target.ap_id],
            &[],
        );
        offer["target"] = json!(target.ap_id);
        // The steward offers on behalf of its organisation, which provenance names.
        offer["attributedTo"] = json!(org.ap_id);
        offer["content"] = json!(text::sanitize_html(&message));
        store::handoffs::insert(
            c,
            NewHandoff {
                ap_id: &id,
                idea_ap_id: &idea.ap_id,
                from_org: &org.ap_id,
                to_org: &target.ap_id,
                message: &message,
                incoming: false,
                offer: &offer,
            },
        )?;
        c.publish(&steward, &offer, [target.inbox.clone()])?;
        Ok(view(
            &by_ap_id(c, &id, false)?.ok_or_else(|| Error::Internal("offer vanished".into()))?,
        ))
    })
    .await
}

/// An `Offer` of an idea to this node's organisation, from the node hosting the idea.
#[derive(Debug, Clone)]
pub struct IncomingOffer {
    /// The organisation it is offered to.
    pub target: String,
    /// The offered idea, to be fetched again from its origin.
    pub idea: String,
    /// The offer's message, as HTML.
    pub message: Option<String>,
    /// The offering organisation, when the offer names one on the sender's host.
    pub from_org: Option<String>,
}

/// An Offer reaches this node's organisation. The idea is fetched again from its origin
/// (signed), so that what is stored is what the origin really holds: an open idea, not yet
/// handed off, in a room of the offering node.
pub async fn receive_offer(ctx: &Ctx, offer: Inbound<IncomingOffer>) -> Result<Applied> {
    let Inbound {
        actor,
        receipt,
        content,
        original,
    } = offer;
    let t = content.target.clone();
    let org = ctx
        .db
        .read(move |c| store::actors::by_ap_id(c, &t))
        .await?
        .filter(|a| a.local && a.kind == ActorKind::Organization)
        .ok_or_else(|| {
            Error::Unsupported(format!(
                "offers are made to this node's organisation, not to {}",
                content.target
            ))
        })?;
    let idea_id = content.idea;
    let verified = remote::fetch_json(ctx, &idea_id).await?;
    if type_is_not_page(&verified) || verified["id"] != idea_id.as_str() {
        return Err(Error::bad_request(format!("{idea_id} is not an idea")));
    }
    if verified.get("handedOffTo").is_some()
        || !verified["stage"]
            .as_str()
            .and_then(Stage::parse)
            .is_some_and(|s| s.is_open())
    {
        return Err(Error::Conflict(format!(
            "{idea_id} is not open for a handoff"
        )));
    }
    let room = id_of(&verified["audience"]).unwrap_or_default().to_string();
    if !same_host(&room, &idea_id) {
        return Err(Error::Forbidden(
            "the idea's room is not on the offering node".into(),
        ));
    }
    let mut stored = original;
    stored["object"] = verified;
    let message = content
        .message
        .as_deref()
        .map(text::html_to_text)
        .unwrap_or_default();
    let from_org = content.from_org.unwrap_or_else(|| actor.ap_id.clone());
    commit(ctx, move |c| {
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        store::handoffs::insert(
            c,
            NewHandoff {
                ap_id: &receipt.id,
                idea_ap_id: &idea_id,
                from_org: &from_org,
                to_org: &org.ap_id,
                message: &message,
                incoming: true,
                offer: &stored,
            },
        )?;
        Ok(Applied::Done)
    })
    .await
}

fn type_is_not_page(v: &Value) -> bool {
    vocab::type_of(v) != Some("Page")
}

/// Handoffs are handled by staff of the organisation.
fn staff_only(user: &Actor) -> Result<()> {
    policy::require_staff(user, "handle handoffs of the organisation")
}

pub async fn list(ctx: &Ctx, user: &Actor, incoming: Option<bool>) -> Result<Vec<HandoffView>> {
    staff_only(user)?;
    ctx.db
        .read(move |c| {
            let rows = store::handoffs::list(c, incoming)?;
            Ok(rows.iter().map(view).collect())
        })
        .await
}

fn pending_incoming(c: &mut DbConnection, id: i32) -> Result<(Handoff, Value)> {
    let h = store::handoffs::by_id(c, id)?
        .filter(|h| h.incoming)
        .ok_or_else(|| Error::not_found(format!("handoff {id}")))?;
    if h.state != HandoffState::Pending {
        return Err(Error::Conflict(format!("handoff {id} is {}", h.state)));
    }
    let offer: Value = h.offer.0.clone();
    Ok((h, offer))
}

/// Staff accept an offered idea into one of their rooms: this node hosts its own copy, with the
/// credit, the terms and the provenance chain (one more hop), and tells the origin.
pub async fn accept(ctx: &Ctx, user: Actor, id: i32, room_name: &str) -> Result<HandoffView> {
    staff_only(&user)?;
    let room = crate::service::rooms::local_by_name(ctx, room_name).await?;
    // Know every credited contributor before the transaction (fetching is network work).
    let (from_org, offer_json) = {
        let (h, offer) = ctx.db.read(move |c| pending_incoming(c, id)).await?;
        (h.from_org, offer)
    };
    let offerer = remote::actor(ctx, id_of(&offer_json["actor"]).unwrap_or_default()).await?;
    for credit in offer_json["object"]["contributors"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(actor) = id_of(&credit["contributor"]) {
            if let Err(e) = remote::actor(ctx, actor).await {
                tracing::info!(contributor = actor, error = %e, "a credited contributor is unreachable; credit kept where known");
            }
        }
    }
    // And the organisations of its path, which the idea's page names.
    let mut orgs: Vec<String> = offer_json["object"]["provenance"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|step| [id_of(&step["from"]), id_of(&step["to"])])
        .flatten()
        .map(String::from)
        .collect();
    orgs.push(from_org);
    orgs.sort();
    orgs.dedup();
    for org in orgs {
        if let Err(e) = remote::actor(ctx, &org).await {
            tracing::info!(organisation = %org, error = %e, "an organisation of the idea's path is unreachable; shown by its address");
        }
    }
    commit(ctx, move |c| {
        let (h, offer) = pending_incoming(c, id)?;
        let org = organization(c)?;
        let object = &offer["object"];
        let at = vocab::timestamp(now());
        let mut chain: Vec<Value> = object["provenance"].as_array().cloned().unwrap_or_default();
        chain.push(json!({"from": h.from_org, "to": org.ap_id, "at": at, "terms": object["terms"], "origin": h.idea_ap_id}));
        let content = text::sanitize_html(object["content"].as_str().unwrap_or_default());
        let t = now();
        let ap_id = c.urls.idea(&uuid::Uuid::new_v4().to_string());
        let copy = store::ideas::insert(
            c,
            &NewIdea {
                ap_id,
                room_id: room.id,
                author_id: org.id,
                title: object["name"].as_str().unwrap_or("Handed-off idea").to_string(),
                source: object["source"]["content"].as_str().map(String::from).unwrap_or_else(|| text::html_to_text(&content)),
                content,
                stage: Stage::Suggested,
                stage_answer: None,
                local: true,
                deleted: false,
                published: t,
                updated: t,
                terms: object.get("terms").filter(|v| v.is_object()).map(|v| v.to_string()),
                provenance: Some(Value::Array(chain).to_string()),
                origin: Some(h.idea_ap_id.clone()),
            },
        )?;
        for credit in object["contributors"].as_array().into_iter().flatten() {
            let (Some(actor), Some(role)) = (id_of(&credit["contributor"]), credit["role"].as_str()) else { continue };
            if let Some(a) = store::actors::by_ap_id(c, actor)? {
                store::ideas::add_contributor(c, copy.id, a.id, role)?;
            }
        }
        let id = c.new_activity_id();
        let mut answer = vocab::accept(&id, &org.ap_id, offer, &offerer.ap_id);
        answer["result"] = json!(copy.ap_id);
        c.publish(&org, &answer, [offerer.inbox.clone()])?;
        let page = ideas::page_json(c, &copy)?;
        let id = c.new_activity_id();
        let create =
            vocab::room_activity(ActivityKind::Create, &id, &org.ap_id, page.clone(), &room);
        c.distribute(&org, &room, &create, Some(page), vec![])?;
        set_state(c, h.id, HandoffState::Accepted, None, Some(&copy.ap_id))?;
        Ok(view(&reload(c, h.id)?))
    })
    .await
}

/// Staff decline an offered idea, with a reason the offering node shows.
pub async fn reject(ctx: &Ctx, user: Actor, id: i32, reason: &str) -> Result<HandoffView> {
    staff_only(&user)?;
    let reason = if reason.trim().is_empty() {
        "declined without a reason".to_string()
    } else {
        reason.trim().to_string()
    };
    let (h, offer) = ctx.db.read(move |c| pending_incoming(c, id)).await?;
    let offerer = remote::actor(ctx, id_of(&offer["actor"]).unwrap_or_default()).await?;
    commit(ctx, move |c| {
        let org = organization(c)?;
        let id = c.new_activity_id();
        let answer = vocab::reject(&id, &org.ap_id, offer, &offerer.ap_id, Some(&reason));
        c.publish(&org, &answer, [offerer.inbox.clone()])?;
        set_state(c, h.id, HandoffState::Rejected, Some(&reason), None)?;
        Ok(view(&reload(c, h.id)?))
    })
    .await
}

/// The receiving organisation's `Accept` or `Reject` of an offer this node made.
#[derive(Debug, Clone)]
pub struct OfferAnswer {
    pub offer_id: String,
    /// The receiver's copy of the idea (an `Accept`'s `result`).
    pub result: Option<String>,
    /// Why it was declined (a `Reject`'s `summary` or `content`).
    pub reason: Option<String>,
}

/// The receiving organisation accepted an offer of ours: the idea moves to `handed_off` and
/// links forward to the receiver's copy.
pub async fn receive_acceptance(ctx: &Ctx, answer: Inbound<OfferAnswer>) -> Result<Applied> {
    commit(ctx, move |c| {
        let h = match answered_offer(c, &answer)? {
            Ok(h) => h,
            Err(applied) => return Ok(applied),
        };
        let actor = &answer.actor;
        let result = answer
            .content
            .result
            .clone()
            .filter(|r| same_host(r, &actor.ap_id))
            .ok_or_else(|| {
                Error::bad_request("an Accept of an offer names the receiver's copy as its result")
            })?;
        let idea = store::ideas::by_ap_id(c, &h.idea_ap_id)?
            .ok_or_else(|| Error::not_found("the offered idea"))?;
        store::ideas::update_stage(
            c,
            idea.id,
            Stage::HandedOff,
            Some(&format!("Handed off to {}", actor.display_name)),
            now(),
        )?;
        store::ideas::update_links(
            c,
            idea.id,
            idea.terms.to_text().as_deref(),
            idea.provenance.to_text().as_deref(),
            Some(&result),
            None,
        )?;
        let org = organization(c)?;
        ideas::announce_update(c, &org, idea.id)?;
        set_state(c, h.id, HandoffState::Accepted, None, Some(&result))?;
        Ok(Applied::Done)
    })
    .await
}

/// The receiving organisation declined an offer of ours: the idea stays as it was and the
/// reason is kept.
pub async fn receive_rejection(ctx: &Ctx, answer: Inbound<OfferAnswer>) -> Result<Applied> {
    commit(ctx, move |c| {
        let h = match answered_offer(c, &answer)? {
            Ok(h) => h,
            Err(applied) => return Ok(applied),
        };
        let reason = answer.content.reason.as_deref();
        set_state(c, h.id, HandoffState::Rejected, reason, None)?;
        Ok(Applied::Done)
    })
    .await
}

/// The pending offer an answer is about, checked against who answers; `Err` carries what to
/// tell a sender whose answer was already applied.
fn answered_offer(
    c: &mut Tx<'_>,
    answer: &Inbound<OfferAnswer>,
) -> Result<std::result::Result<Handoff, Applied>> {
    let offer_id = &answer.content.offer_id;
    let h = by_ap_id(c, offer_id, false)?
        .ok_or_else(|| Error::Unsupported(format!("{offer_id} is not an offer this node made")))?;
    if h.to_org != answer.actor.ap_id {
        return Err(Error::Forbidden(
            "only the organisation an idea was offered to answers the offer".into(),
        ));
    }
    if h.state != HandoffState::Pending {
        return Err(Error::Conflict(format!("the offer is already {}", h.state)));
    }
    if !answer.receipt.record(c)? {
        return Ok(Err(Applied::Duplicate));
    }
    Ok(Ok(h))
}

/// The offering steward withdraws an offer that has no answer yet.
pub async fn withdraw(ctx: &Ctx, user: Actor, id: i32) -> Result<HandoffView> {
    let to = ctx
        .db
        .read(move |c| {
            Ok(store::handoffs::by_id(c, id)?
                .filter(|h| !h.incoming)
                .map(|h| h.to_org))
        })
        .await?
        .ok_or_else(|| Error::not_found(format!("handoff {id}")))?;
    let target = remote::actor(ctx, &to).await?;
    commit(ctx, move |c| {
        let h = reload(c, id)?;
        let offer: Value = h.offer.0.clone();
        if !policy::may_withdraw_offer(&user, id_of(&offer["actor"])) {
            return Err(Error::Forbidden(
                "only who made the offer, or staff, withdraw it".into(),
            ));
        }
        if h.state != HandoffState::Pending {
            return Err(Error::Conflict(format!("the offer is already {}", h.state)));
        }
        let offerer = store::actors::by_ap_id(c, id_of(&offer["actor"]).unwrap_or_default())?
            .ok_or_else(|| Error::Internal("the offering steward is gone".into()))?;
        let id = c.new_activity_id();
        let undo = vocab::undo(&id, &offerer.ap_id, offer, &[&target.ap_id], &[]);
        c.publish(&offerer, &undo, [target.inbox.clone()])?;
        set_state(c, h.id, HandoffState::Withdrawn, None, None)?;
        Ok(view(&reload(c, h.id)?))
    })
    .await
}

/// The offering node withdrew an offer before this node answered.
pub async fn receive_withdrawal(ctx: &Ctx, undo: Inbound<String>) -> Result<Applied> {
    commit(ctx, move |c| {
        let Inbound {
            actor,
            receipt,
            content: offer_id,
            ..
        } = undo;
        let h = by_ap_id(c, &offer_id, true)?
            .ok_or_else(|| Error::not_found(format!("offer {offer_id}")))?;
        let offer: Value = h.offer.0.clone();
        if id_of(&offer["actor"]) != Some(actor.ap_id.as_str()) {
            return Err(Error::Forbidden(
                "only who made an offer withdraws it".into(),
            ));
        }
        if !receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        if h.state == HandoffState::Pending {
            set_state(c, h.id, HandoffState::Withdrawn, None, None)?;
        }
        Ok(Applied::Done)
    })
    .await
}

/// Whether this node received an offer with this id (for `Undo` of it).
pub fn received_offer_exists(c: &mut DbConnection, id: &str) -> Result<bool> {
    Ok(by_ap_id(c, id, true)?.is_some())
}
