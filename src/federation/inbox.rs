//! The inbox: every inbox route (people, rooms, the organisation, the shared inbox) lands
//! here, because Mastodon sends replies and likes to the author's inbox or the shared inbox,
//! not the room's; the target is found from the activity itself.
//!
//! Checks run in the order `spec/README.md` gives: the body is within the JSON limits of
//! [`crate::limits`] (400 naming the limit) and is JSON (400); the claimed sender's host (of
//! the signature's key id, else of the actor) is within its rate limit (429 with
//! `Retry-After`) and is not blocked (403, counted `refused`), both before any signature work
//! or fetch; the body is an object with a type, an id and an actor (400); the HTTP signature, draft-cavage or RFC 9421, verifies (401 with
//! `Accept-Signature`, so that a double-knocking sender can retry with the other scheme; 503
//! when the signer's key server is down for a moment); the signer and the actor share a host (401) and so do the actor and the activity
//! id (400); an id already applied is answered as a duplicate; then the activity's own file in
//! [`super::activities`] checks and applies it. A request is answered 202 only after its
//! effect is committed. A signed activity about nothing this node acts on is answered 202
//! `ignored` with the reason (the way Mastodon answers); malformed input is a 400, a bad
//! signature a 401, and other refusals a 4xx saying why. Every answer is counted in
//! `cocreate_inbox_activities_total` ([`crate::metrics`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::federation::activities::DirectActivity;
use crate::federation::signatures;
use crate::limits::{self, RateLimiter};
use crate::metrics::InboxResult;
use crate::remote;
use crate::service::blocks;
use crate::service::inbound::{self, Applied, Precheck, ReplyProbe};
use crate::state::Ctx;
use crate::vocab::{self, same_host};

/// POST handler of every inbox.
pub async fn post_inbox(
    State(ctx): State<Ctx>,
    Extension(limiter): Extension<Arc<RateLimiter>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let activity: Result<Value> = limits::check_json(&body).and_then(|()| {
        serde_json::from_slice(&body)
            .map_err(|e| Error::bad_request(format!("body is not valid JSON: {e}")))
    });
    let kind = activity
        .as_ref()
        .ok()
        .and_then(vocab::type_of)
        .map(str::to_string);
    let count = |result| ctx.metrics.inbox(kind.as_deref(), result);
    // A body that is not JSON (or over the limits) is answered 400 below, unscreened.
    let screened = match &activity {
        Ok(a) => screen(&ctx, &limiter, &headers, a).await,
        Err(_) => Ok(Precheck::default()),
    };
    let precheck = match screened {
        Ok(precheck) => precheck,
        Err(Screened::Throttled(t)) => {
            tracing::info!(who = %t.who, "inbox rate limit: activity refused");
            count(InboxResult::Rejected);
            return t.into_response();
        }
        Err(Screened::Blocked(e)) => {
            tracing::info!(error = %e, "inbox refused an activity from a blocked host");
            count(InboxResult::Refused);
            return e.into_response();
        }
        Err(Screened::Failed(e)) => {
            count(InboxResult::Error);
            return e.into_response();
        }
    };
    match receive(&ctx, &method, &uri, &headers, &body, activity, precheck).await {
        Ok(applied) => {
            let body = match applied {
                Applied::Done => {
                    count(InboxResult::Accepted);
                    json!({ "status": "accepted" })
                }
                Applied::Duplicate => {
                    count(InboxResult::Duplicate);
                    json!({ "status": "duplicate" })
                }
                Applied::Refused(reason) => {
                    count(InboxResult::Refused);
                    json!({ "status": "refused", "reason": reason })
                }
            };
            (StatusCode::ACCEPTED, axum::Json(body)).into_response()
        }
        // Understood, correctly signed, but about nothing this node acts on (a Like of another
        // server's post, an Announce from a group nobody here follows, a type it does not
        // handle): acknowledged, as Mastodon does, so that senders do not log a failure.
        Err(Error::Unsupported(reason)) => {
            tracing::info!(%reason, "inbox ignored an activity");
            count(InboxResult::Ignored);
            let body = json!({ "status": "ignored", "reason": reason });
            (StatusCode::ACCEPTED, axum::Json(body)).into_response()
        }
        Err(e) => {
            tracing::info!(error = %e, status = %e.status(), "inbox refused an activity");
            count(if e.status().is_server_error() {
                InboxResult::Error
            } else {
                InboxResult::Rejected
            });
            e.into_response()
        }
    }
}

/// Why [`screen`] turned a request away.
enum Screened {
    /// The claimed sender's host is over its rate limit.
    Throttled(limits::Throttled),
    /// The claimed sender's host is blocked (a 403 to answer).
    Blocked(Error),
    /// The block list could not be read (a 5xx: the sender retries).
    Failed(Error),
}

/// What is checked of the claimed sender before any signature work or fetch (which could
/// contact its server): the host of the signature's key id and of the activity's actor. The
/// claim is not verified yet; that is enough to throttle or refuse, never to accept. The same
/// database read fetches what the rest of the inbox needs from it ([`Precheck`]).
async fn screen(
    ctx: &Ctx,
    limiter: &RateLimiter,
    headers: &HeaderMap,
    activity: &Value,
) -> std::result::Result<Precheck, Screened> {
    let key_id = limits::claimed_key_id(headers);
    let signer_host = key_id.as_deref().and_then(vocab::host_of);
    let actor = vocab::id_of(&activity["actor"]);
    if let Some(host) = signer_host
        .clone()
        .or_else(|| actor.and_then(vocab::host_of))
    {
        limiter.check_host(&host).map_err(Screened::Throttled)?;
    }
    // The key id's host stands for the key id (the block check looks at hosts only).
    let signer_url = signer_host.as_deref().map(|h| format!("https://{h}/"));
    let urls: Vec<&str> = signer_url.as_deref().into_iter().chain(actor).collect();
    let id = activity["id"].as_str().map(str::to_string);
    let reply = signer_host.and_then(|host| reply_probe(activity, host));
    match inbound::precheck(ctx, &urls, key_id, id, reply).await {
        Ok(Precheck {
            block: Some(block), ..
        }) => Err(Screened::Blocked(blocks::inbox_refusal(&block))),
        Ok(precheck) => Ok(precheck),
        Err(e) => Err(Screened::Failed(e)),
    }
}

/// The reply a `Create` carries (an embedded post answering something), as claimed by a
/// sender of `host`: its target is read with the screening ([`inbound::precheck`]).
fn reply_probe(activity: &Value, host: String) -> Option<ReplyProbe> {
    if vocab::type_of(activity) != Some("Create") {
        return None;
    }
    let post = &activity["object"];
    Some(ReplyProbe {
        in_reply_to: vocab::id_of(&post["inReplyTo"])?.to_string(),
        ap_id: post["id"].as_str()?.to_string(),
        host,
    })
}

async fn receive(
    ctx: &Ctx,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    activity: Result<Value>,
    precheck: Precheck,
) -> Result<Applied> {
    let activity = activity?;
    if !activity.is_object() {
        return Err(Error::bad_request("an activity must be a JSON object"));
    }
    vocab::type_of(&activity).ok_or_else(|| Error::bad_request("activity has no type"))?;
    let id = activity["id"]
        .as_str()
        .ok_or_else(|| Error::bad_request("activity has no id"))?
        .to_string();
    let actor_id = vocab::id_of(&activity["actor"])
        .ok_or_else(|| Error::bad_request("activity has no actor"))?
        .to_string();
    let signer =
        signatures::verify_request_by(ctx, method, uri, headers, Some(body), precheck.signer)
            .await?;
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
    if precheck.seen {
        return Ok(Applied::Duplicate);
    }
    let actor = if actor_id == signer.ap_id {
        signer
    } else {
        remote::actor(ctx, &actor_id).await?
    };
    DirectActivity::parse(&activity, &actor)?
        .receive(ctx, actor, activity, precheck.reply)
        .await
}
