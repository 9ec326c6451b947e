//! Receiving activities: signature and origin checks, the idempotent inbox, and translation of
//! each activity into the service call that means the same thing.
//!
//! Every inbox route (people, rooms, the organisation, the shared inbox) lands here, because
//! Mastodon sends replies and likes to the author's inbox or the shared inbox, not the room's;
//! the target is found from the activity itself (`inReplyTo`, `object`, `audience`).
//! A request is answered 202 only after its effect is committed; anything we cannot verify gets
//! 401 (Fedify then falls back to cavage signatures), anything we do not handle a 4xx saying why.

use std::future::Future;
use std::pin::Pin;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Value};

use crate::domain::text;
use crate::error::{Error, Result};
use crate::federation::fetch::{self, id_of, same_host, type_of};
use crate::federation::signatures;
use crate::service::comments::{self, IncomingComment};
use crate::service::follows::{self, Applied, Receipt};
use crate::service::ideas::{self, IncomingIdea};
use crate::service::{handoffs, invitations, supports};
use crate::state::Ctx;
use crate::store::models::Actor;
use crate::store::{self, now};

/// POST handler of every inbox.
pub async fn post_inbox(
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match receive(&ctx, &method, &uri, &headers, &body).await {
        Ok(applied) => {
            let body = match applied {
                Applied::Done => json!({ "status": "accepted" }),
                Applied::Duplicate => json!({ "status": "duplicate" }),
                Applied::Refused(reason) => json!({ "status": "refused", "reason": reason }),
            };
            (StatusCode::ACCEPTED, axum::Json(body)).into_response()
        }
        Err(e) => {
            tracing::info!(error = %e, status = %e.status(), "inbox refused an activity");
            e.into_response()
        }
    }
}

/// Verifies the signature of a request and returns the signing actor.
pub async fn verify_request(
    ctx: &Ctx,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<Actor> {
    let unauthorized = |e: signatures::SignatureError| Error::Unauthorized(e.to_string());
    let sig = signatures::parse_header(headers).map_err(unauthorized)?;
    if let Some(body) = body {
        signatures::check_digest(headers, body).map_err(unauthorized)?;
    }
    signatures::check_coverage_and_freshness(&sig, headers, body.is_some(), Utc::now())
        .map_err(unauthorized)?;
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let key_id = sig.key_id.clone();
    let owner = |refresh| {
        let key_id = key_id.clone();
        async move {
            fetch::key_owner(ctx, &key_id, refresh)
                .await
                .map_err(|e| match e {
                    Error::Unauthorized(_) | Error::Unavailable(_) => e,
                    other => Error::Unauthorized(format!("cannot get key {key_id}: {other}")),
                })
        }
    };
    let signer = owner(false).await?;
    if signatures::verify(
        &sig,
        method.as_str(),
        target,
        headers,
        &signer.public_key_pem,
    )
    .is_ok()
    {
        return Ok(signer);
    }
    if signer.local {
        return Err(Error::Unauthorized(format!(
            "signature does not verify with the key of {}",
            signer.ap_id
        )));
    }
    // Keys rotate: fetch the key once more before refusing.
    let signer = owner(true).await?;
    signatures::verify(
        &sig,
        method.as_str(),
        target,
        headers,
        &signer.public_key_pem,
    )
    .map_err(unauthorized)?;
    Ok(signer)
}

async fn receive(
    ctx: &Ctx,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Applied> {
    let activity: Value = serde_json::from_slice(body)
        .map_err(|e| Error::bad_request(format!("body is not valid JSON: {e}")))?;
    if !activity.is_object() {
        return Err(Error::bad_request("an activity must be a JSON object"));
    }
    type_of(&activity).ok_or_else(|| Error::bad_request("activity has no type"))?;
    let id = activity["id"]
        .as_str()
        .ok_or_else(|| Error::bad_request("activity has no id"))?
        .to_string();
    let actor_id = id_of(&activity["actor"])
        .ok_or_else(|| Error::bad_request("activity has no actor"))?
        .to_string();
    let signer = verify_request(ctx, method, uri, headers, Some(body)).await?;
    if !same_host(&actor_id, &signer.ap_id) {
        return Err(Error::Unauthorized(format!(
            "signed by {} but the actor is {actor_id}: hosts differ",
            signer.ap_id
        )));
    }
    if !same_host(&id, &actor_id) {
        return Err(Error::bad_request(format!(
            "activity id {id} is not on the host of its actor {actor_id}"
        )));
    }
    let seen_id = id.clone();
    if ctx
        .db
        .read(move |c| store::receipts::exists(c, &seen_id))
        .await?
    {
        return Ok(Applied::Duplicate);
    }
    let actor = if actor_id == signer.ap_id {
        signer
    } else {
        fetch::actor(ctx, &actor_id).await?
    };
    dispatch(ctx, &actor, &activity, None).await
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Applies one activity from `actor`. `via` is the followed remote room that announced it.
pub fn dispatch<'a>(
    ctx: &'a Ctx,
    actor: &'a Actor,
    activity: &'a Value,
    via: Option<&'a Actor>,
) -> BoxFut<'a, Result<Applied>> {
    Box::pin(async move {
        let kind = type_of(activity).unwrap_or_default().to_string();
        let receipt = Receipt {
            id: activity["id"].as_str().unwrap_or_default().to_string(),
            actor: actor.ap_id.clone(),
            kind: kind.clone(),
        };
        if receipt.id.is_empty() {
            return Err(Error::bad_request(format!("{kind} has no id")));
        }
        if let Some(room) = via {
            ensure_in_room(ctx, activity, room).await?;
        }
        match kind.as_str() {
            "Follow" | "Join" if via.is_none() => {
                follows::receive_follow(ctx, actor, activity, receipt).await
            }
            "Remove" if actor.is_room() => {
                crate::service::members::receive_remove(ctx, actor, activity, receipt).await
            }
            "Offer" if via.is_none() => {
                handoffs::receive_offer(ctx, actor, activity, receipt).await
            }
            "Invite" if via.is_none() && actor.is_room() => {
                invitations::receive_invite(ctx, actor, activity, receipt).await
            }
            "Add" if via.is_none() && actor.is_room() => {
                let applied = invitations::receive_add(ctx, actor, activity, receipt).await?;
                if applied == Applied::Done {
                    let (ctx, room) = (ctx.clone(), actor.clone());
                    tokio::spawn(async move {
                        if let Err(e) = backfill(&ctx, &room).await {
                            tracing::warn!(room = %room.ap_id, error = %e, "could not fetch the room's earlier ideas");
                        }
                    });
                }
                Ok(applied)
            }
            "Accept" | "Reject" if via.is_none() => {
                let accepted = kind == "Accept";
                match answered_kind(ctx, activity).await?.as_deref() {
                    Some("Offer") => {
                        return handoffs::receive_answer(ctx, actor, activity, accepted, receipt)
                            .await
                    }
                    Some("Invite") => {
                        return invitations::receive_answer(ctx, actor, activity, accepted, receipt)
                            .await
                    }
                    Some("Follow" | "Join") | None => {}
                    Some(_) if !accepted => {
                        return ideas::receive_refusal(ctx, actor, activity, receipt).await
                    }
                    Some(other) => {
                        return Err(Error::Unsupported(format!(
                            "an Accept of a {other} means nothing here"
                        )))
                    }
                }
                let (applied, accepted) =
                    follows::receive_answer(ctx, actor, activity, accepted, receipt).await?;
                if let Some(room) = accepted.filter(|a| a.is_room()) {
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        if let Err(e) = backfill(&ctx, &room).await {
                            tracing::warn!(room = %room.ap_id, error = %e, "could not fetch the room's earlier ideas");
                        }
                    });
                }
                Ok(applied)
            }
            "Undo" => receive_undo(ctx, actor, activity, receipt).await,
            "Create" | "Update" => {
                receive_create_or_update(ctx, actor, activity, via, receipt).await
            }
            "Delete" => receive_delete(ctx, actor, activity, receipt).await,
            "Like" | "EmojiReact" => {
                let object = id_of(&activity["object"])
                    .ok_or_else(|| Error::bad_request("Like has no object"))?;
                supports::receive_like(
                    ctx,
                    actor,
                    object,
                    &receipt.id.clone(),
                    activity.clone(),
                    receipt,
                )
                .await
            }
            "Announce" if via.is_none() => receive_announce(ctx, actor, activity).await,
            other => Err(Error::Unsupported(format!(
                "activity type {other} is not supported here"
            ))),
        }
    })
}

/// The type of the activity an Accept or Reject answers: embedded, or the one this node
/// published under that id (Follow, Join, Invite, Offer, Create, Like...).
async fn answered_kind(ctx: &Ctx, answer: &Value) -> Result<Option<String>> {
    let object = &answer["object"];
    if let Some(t) = type_of(object) {
        return Ok(Some(t.to_string()));
    }
    let Some(id) = id_of(object).map(String::from) else {
        return Ok(None);
    };
    Ok(ctx
        .db
        .read(move |c| store::activities::by_ap_id(c, &id))
        .await?
        .map(|a| a.kind))
}

/// A room may only relay activities about its own ideas and their comments.
async fn ensure_in_room(ctx: &Ctx, activity: &Value, room: &Actor) -> Result<()> {
    let object = &activity["object"];
    let mut targets: Vec<String> = id_of(object).into_iter().map(String::from).collect();
    targets.extend(id_of(&object["object"]).map(String::from));
    targets.extend(id_of(&object["inReplyTo"]).map(String::from));
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

async fn receive_undo(
    ctx: &Ctx,
    actor: &Actor,
    activity: &Value,
    receipt: Receipt,
) -> Result<Applied> {
    let inner = &activity["object"];
    let inner_id = id_of(inner).map(String::from);
    if let Some(inner_actor) = id_of(&inner["actor"]) {
        if inner_actor != actor.ap_id {
            return Err(Error::Forbidden(
                "an actor can only undo its own activities".into(),
            ));
        }
    }
    let inner_type = match type_of(inner) {
        Some(t) => t.to_string(),
        None => {
            // Only an id: find what it was.
            let id = inner_id
                .clone()
                .ok_or_else(|| Error::bad_request("Undo has no object"))?;
            let (id2, id3) = (id.clone(), id.clone());
            if ctx
                .db
                .read(move |c| store::follows::by_activity(c, &id2))
                .await?
                .is_some()
            {
                "Follow".to_string()
            } else if ctx
                .db
                .read(move |c| store::supports::by_activity(c, &id3))
                .await?
                .is_some()
            {
                "Like".to_string()
            } else if ctx
                .db
                .read({
                    let id = id.clone();
                    move |c| handoffs::received_offer_exists(c, &id)
                })
                .await?
            {
                "Offer".to_string()
            } else {
                return Err(Error::Unsupported(format!(
                    "Undo of {id}, which this node does not hold"
                )));
            }
        }
    };
    match inner_type.as_str() {
        "Offer" => {
            let offer_id = inner_id.ok_or_else(|| Error::bad_request("Undo has no object"))?;
            handoffs::receive_withdrawal(ctx, actor, &offer_id, receipt).await
        }
        "Follow" => {
            let follow = if inner.is_object() {
                inner.clone()
            } else {
                json!({"id": inner_id})
            };
            follows::receive_unfollow(ctx, actor, &follow, receipt).await
        }
        "Like" | "EmojiReact" => {
            let idea = id_of(&inner["object"]).map(String::from);
            supports::receive_unlike(ctx, actor, inner_id, idea, activity.clone(), receipt).await
        }
        other => Err(Error::Unsupported(format!(
            "Undo of {other} is not supported here"
        ))),
    }
}

/// The object of a Create/Update/Announce: embedded, or fetched from its origin.
async fn object_of(ctx: &Ctx, v: &Value) -> Result<Value> {
    match v {
        Value::Object(_) => Ok(v.clone()),
        Value::String(url) => fetch::fetch_json(ctx, url).await,
        _ => Err(Error::bad_request("activity has no object")),
    }
}

fn parse_time(v: &Value) -> Option<NaiveDateTime> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc).naive_utc())
}

fn addressees(activity: &Value, object: &Value) -> Vec<String> {
    let mut out = crate::federation::outbox::audience_of(activity);
    out.extend(crate::federation::outbox::audience_of(object));
    for key in ["context", "target"] {
        if let Some(id) = id_of(&object[key]) {
            out.push(id.to_string());
        }
    }
    if let Some(tags) = object["tag"].as_array() {
        out.extend(
            tags.iter()
                .filter(|t| t["type"] == "Mention")
                .filter_map(|t| t["href"].as_str().map(String::from)),
        );
    }
    out
}

/// Whether an activity or its object names the public collection (in any spelling) in `to`,
/// `cc` or `audience`: only public posts may become ideas or comments, which are public.
fn addressed_publicly(activity: &Value, object: &Value) -> bool {
    crate::federation::outbox::audience_of(activity)
        .iter()
        .chain(crate::federation::outbox::audience_of(object).iter())
        .any(|a| crate::federation::objects::is_public(a))
}

async fn receive_create_or_update(
    ctx: &Ctx,
    actor: &Actor,
    activity: &Value,
    via: Option<&Actor>,
    receipt: Receipt,
) -> Result<Applied> {
    let is_create = receipt.kind == "Create";
    let object = object_of(ctx, &activity["object"]).await?;
    let object_id = object["id"]
        .as_str()
        .ok_or_else(|| Error::bad_request("object has no id"))?
        .to_string();
    let object_type = type_of(&object).unwrap_or_default().to_string();
    // The node hosting a room moderates its ideas: it may update (a stage change, say) an idea
    // whose author lives elsewhere, and the room relays that update.
    let moderated = !is_create
        && !same_host(&object_id, &actor.ap_id)
        && match via {
            Some(room) if same_host(&actor.ap_id, &room.ap_id) => {
                let (oid, room_id) = (object_id.clone(), room.id);
                ctx.db
                    .read(move |c| store::ideas::by_ap_id(c, &oid))
                    .await?
                    .is_some_and(|i| i.room_id == room_id)
            }
            _ => false,
        };
    if !moderated && !same_host(&object_id, &actor.ap_id) {
        return Err(Error::Forbidden(format!(
            "{} cannot create or update {object_id}: hosts differ",
            actor.ap_id
        )));
    }
    // Whether a non-public post may count depends on its room (members of a partners room
    // address the room's followers); the services decide once the room is known.
    let public = addressed_publicly(activity, &object);
    if let Some(author) = id_of(&object["attributedTo"]).filter(|_| !moderated) {
        if author != actor.ap_id && !same_host(author, &actor.ap_id) {
            return Err(Error::Forbidden(format!(
                "{object_id} is attributed to {author}, not to {}",
                actor.ap_id
            )));
        }
    }
    if !matches!(
        object_type.as_str(),
        "Note" | "Page" | "Article" | "Question"
    ) {
        return Err(Error::Unsupported(format!(
            "{} of {object_type} is not supported here",
            receipt.kind
        )));
    }
    let content = object["content"].as_str().unwrap_or_default().to_string();
    let in_reply_to = id_of(&object["inReplyTo"]).map(String::from);
    let published = parse_time(&object["published"]).unwrap_or_else(now);

    // Replies: comments on an idea.
    let oid = object_id.clone();
    let existing_comment = ctx
        .db
        .read(move |c| store::comments::by_ap_id(c, &oid))
        .await?;
    if existing_comment.is_some() && !is_create {
        return comments::receive_change(
            ctx,
            actor,
            &object_id,
            Some(content),
            activity.clone(),
            receipt,
        )
        .await;
    }
    if let Some(parent) = in_reply_to {
        let source = (object["source"]["mediaType"] == "text/markdown")
            .then(|| object["source"]["content"].as_str().map(String::from))
            .flatten();
        let incoming = IncomingComment {
            ap_id: object_id,
            author: actor.clone(),
            in_reply_to: parent,
            content,
            source,
            published,
            public,
        };
        return comments::receive(ctx, incoming, activity.clone(), receipt).await;
    }

    // Ideas: a Page (or a plain post) addressed to a room.
    let candidates = addressees(activity, &object);
    let via_id = via.map(|r| r.id);
    let room = ctx
        .db
        .read(move |c| {
            for id in &candidates {
                if let Some(a) = store::actors::by_ap_id(c, id)? {
                    if a.is_room() && (a.local || Some(a.id) == via_id) {
                        return Ok(Some(a));
                    }
                }
            }
            Ok(None)
        })
        .await?
        .ok_or_else(|| {
            Error::Unsupported(format!(
                "{object_id} is neither a reply to an idea nor addressed to a room of this node"
            ))
        })?;
    let plain = text::strip_leading_mentions(&text::html_to_text(&content));
    let title = object["name"]
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .unwrap_or_else(|| text::title_from_text(&plain));
    let source = match (&object["source"]["content"], &object["source"]["mediaType"]) {
        (Value::String(s), m) if m == "text/markdown" => s.clone(),
        _ => plain,
    };
    let incoming = IncomingIdea {
        ap_id: object_id.clone(),
        author: actor.clone(),
        title: title.chars().take(ideas::MAX_TITLE).collect(),
        source,
        content: text::sanitize_html(&content),
        stage: object["stage"].as_str().map(String::from),
        stage_answer: object["stageAnswer"].as_str().map(String::from),
        contributors: object["contributors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some((
                    id_of(&c["contributor"])?.to_string(),
                    c["role"].as_str()?.to_string(),
                ))
            })
            .collect(),
        published,
        updated: parse_time(&object["updated"]).unwrap_or(published),
        public,
        terms: object
            .get("terms")
            .filter(|t| t.is_object())
            .map(|t| t.to_string()),
        provenance: object
            .get("provenance")
            .filter(|p| p.is_array())
            .map(|p| p.to_string()),
        origin: id_of(&object["origin"]).map(String::from),
        handed_off_to: id_of(&object["handedOffTo"]).map(String::from),
        merged_into: id_of(&object["mergedInto"]).map(String::from),
    };
    for (contributor, _) in &incoming.contributors {
        if via.is_some() && contributor != &actor.ap_id {
            // Credit names actors of other nodes; know them before storing the credit.
            if let Err(e) = fetch::actor(ctx, contributor).await {
                tracing::info!(contributor = %contributor, error = %e, "contributor not reachable; credit kept without it");
            }
        }
    }
    if is_create {
        ideas::receive(ctx, &room, incoming, activity.clone(), receipt).await
    } else {
        ideas::receive_update(ctx, &room, incoming, activity.clone(), receipt).await
    }
}

async fn receive_delete(
    ctx: &Ctx,
    actor: &Actor,
    activity: &Value,
    receipt: Receipt,
) -> Result<Applied> {
    let target = id_of(&activity["object"])
        .ok_or_else(|| Error::bad_request("Delete has no object"))?
        .to_string();
    if target == actor.ap_id {
        // The account itself is gone: drop its supports and follows, blank its comments.
        let actor_id = actor.id;
        return ctx
            .db
            .write(move |c| {
                if !receipt.record(c)? {
                    return Ok(Applied::Duplicate);
                }
                store::supports::delete_all_of_actor(c, actor_id)?;
                store::follows::delete_all_of(c, actor_id)?;
                store::comments::mark_all_of_actor_deleted(c, actor_id)?;
                Ok(Applied::Done)
            })
            .await;
    }
    let (t1, t2) = (target.clone(), target.clone());
    if ctx
        .db
        .read(move |c| store::comments::by_ap_id(c, &t1))
        .await?
        .is_some()
    {
        return comments::receive_change(ctx, actor, &target, None, activity.clone(), receipt)
            .await;
    }
    if let Some(idea) = ctx.db.read(move |c| store::ideas::by_ap_id(c, &t2)).await? {
        return ideas::receive_delete(ctx, actor, idea, activity.clone(), receipt).await;
    }
    // Deleting what this node never held leaves it as it is: nothing to do, nothing lost.
    Ok(Applied::Done)
}

/// An Announce from a followed remote room: apply what it announces as if its author had sent
/// it, trusting the room's signature for content it relays (as Lemmy does).
async fn receive_announce(ctx: &Ctx, room: &Actor, announce: &Value) -> Result<Applied> {
    let room_id = room.id;
    let followed = room.is_room()
        && ctx
            .db
            .read(move |c| store::follows::followed_locally(c, room_id))
            .await?;
    if !followed {
        return Err(Error::Unsupported(
            "Announce is only processed from rooms this node follows".into(),
        ));
    }
    let announce_id = announce["id"].as_str().unwrap_or_default().to_string();
    let applied = apply_announced(ctx, room, &announce["object"], &announce_id).await?;
    let (rid, rap) = (announce_id.clone(), room.ap_id.clone());
    ctx.db
        .write(move |c| store::receipts::record(c, &rid, &rap, "Announce"))
        .await?;
    Ok(applied)
}

async fn apply_announced(
    ctx: &Ctx,
    room: &Actor,
    object: &Value,
    announce_id: &str,
) -> Result<Applied> {
    // A room relaying what this node's own users did: already applied here.
    if id_of(object).is_some_and(|id| ctx.urls.is_local(id))
        || id_of(&object["actor"]).is_some_and(|a| ctx.urls.is_local(a))
    {
        return Ok(Applied::Duplicate);
    }
    if let Some(id) = object.as_str() {
        let known = id.to_string();
        if ctx
            .db
            .read(move |c| store::ideas::by_ap_id(c, &known))
            .await?
            .is_some()
        {
            return Ok(Applied::Duplicate);
        }
    }
    let inner = object_of(ctx, object).await?;
    let is_activity = inner.get("actor").is_some() && inner.get("object").is_some();
    let (inner_actor_id, activity) = if is_activity {
        let a = id_of(&inner["actor"])
            .ok_or_else(|| Error::bad_request("announced activity has no actor"))?
            .to_string();
        (a, inner)
    } else {
        // A bare object (Page or Note): treat it as its author's Create.
        let author = id_of(&inner["attributedTo"])
            .ok_or_else(|| Error::bad_request("announced object has no author"))?
            .to_string();
        let create = json!({ "id": format!("{announce_id}#create"), "type": "Create", "actor": author, "object": inner });
        (author, create)
    };
    if !same_host(activity["id"].as_str().unwrap_or_default(), &inner_actor_id) && is_activity {
        return Err(Error::bad_request(
            "announced activity id is not on its actor's host",
        ));
    }
    let inner_actor = if inner_actor_id == room.ap_id {
        room.clone()
    } else {
        fetch::actor(ctx, &inner_actor_id).await?
    };
    dispatch(ctx, &inner_actor, &activity, Some(room)).await
}

/// After a room accepted our follow, fetch what it already announced (its outbox) so that
/// earlier ideas appear too.
pub async fn backfill(ctx: &Ctx, room: &Actor) -> Result<usize> {
    let outbox = room
        .outbox
        .clone()
        .ok_or_else(|| Error::bad_request("room has no outbox"))?;
    let mut collection = fetch::fetch_json(ctx, &outbox).await?;
    if collection.get("orderedItems").is_none() {
        if let Some(first) = collection.get("first").cloned() {
            collection = object_of(ctx, &first).await?;
        }
    }
    let items: Vec<Value> = collection["orderedItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut applied = 0;
    // Outboxes list newest first; apply oldest first so updates land after creates.
    for item in items.iter().rev() {
        if type_of(item) != Some("Announce") {
            continue;
        }
        let id = item["id"].as_str().unwrap_or_default();
        match apply_announced(ctx, room, &item["object"], id).await {
            Ok(Applied::Done) => applied += 1,
            Ok(Applied::Duplicate) | Ok(Applied::Refused(_)) => {}
            Err(e) => {
                tracing::info!(item = id, error = %e, "skipped an outbox item of a followed room")
            }
        }
    }
    Ok(applied)
}
