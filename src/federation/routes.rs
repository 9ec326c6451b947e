//! HTTP routes of the federation side: actors, objects, collections, WebFinger, NodeInfo and
//! every inbox. Objects are served as `application/activity+json` to clients asking for
//! ActivityPub, and as a small HTML page to browsers.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::kinds::ActorKind;
use crate::domain::Visibility;
use crate::error::{Error, Result};
use crate::federation::inbox::post_inbox;
use crate::federation::signatures::verify_request;
use crate::service::ideas;
use crate::service::policy;
use crate::state::Ctx;
use crate::store;
use crate::store::models::Actor;
use crate::vocab;

pub const AP_CONTENT_TYPE: &str = "application/activity+json";

pub fn router() -> Router<Ctx> {
    Router::new()
        .route("/.well-known/webfinger", get(webfinger))
        .route("/.well-known/nodeinfo", get(nodeinfo_links))
        .route("/nodeinfo/2.1", get(nodeinfo))
        .route("/inbox", post(post_inbox))
        .route("/actor", get(instance_actor))
        .route("/actor/inbox", post(post_inbox))
        .route("/actor/outbox", get(outbox))
        .route("/actor/followers", get(followers))
        .route("/u/{name}", get(person))
        .route("/r/{name}", get(room))
        .route("/o/{name}", get(organization))
        .route("/u/{name}/inbox", post(post_inbox))
        .route("/r/{name}/inbox", post(post_inbox))
        .route("/o/{name}/inbox", post(post_inbox))
        .route("/u/{name}/outbox", get(outbox))
        .route("/r/{name}/outbox", get(outbox))
        .route("/o/{name}/outbox", get(outbox))
        .route("/u/{name}/followers", get(followers))
        .route("/r/{name}/followers", get(followers))
        .route("/o/{name}/followers", get(followers))
        .route("/ideas/{id}", get(idea))
        .route("/comments/{id}", get(comment))
        .route("/activities/{id}", get(activity))
}

/// Whether the client asked for ActivityPub JSON rather than a web page.
pub fn wants_activitypub(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.contains("activity+json") || a.contains("ld+json") || a.contains("application/json")
        })
}

pub fn ap_json(status: StatusCode, doc: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, AP_CONTENT_TYPE)],
        doc.to_string(),
    )
        .into_response()
}

fn with_context(mut doc: Value) -> Value {
    if let Some(o) = doc.as_object_mut() {
        o.insert("@context".into(), vocab::context());
    }
    doc
}

async fn local_actor(ctx: &Ctx, name: &str, kind: &str) -> Result<Actor> {
    let n = name.to_string();
    ctx.db
        .read(move |c| store::actors::local_by_name(c, &n))
        .await?
        .filter(|a| a.kind == kind)
        .ok_or_else(|| Error::not_found(format!("{kind} {name}")))
}

async fn serve_actor(ctx: &Ctx, headers: &HeaderMap, actor: Result<Actor>) -> Response {
    match actor {
        Ok(a) if wants_activitypub(headers) => {
            ap_json(StatusCode::OK, &vocab::actor_json(&a, &ctx.urls))
        }
        Ok(a) => crate::web::actor_page(ctx, &a).await,
        Err(e) => e.into_response(),
    }
}

async fn person(State(ctx): State<Ctx>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let a = local_actor(&ctx, &name, "Person").await;
    serve_actor(&ctx, &headers, a).await
}

async fn room(State(ctx): State<Ctx>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let a = local_actor(&ctx, &name, "Group").await;
    serve_actor(&ctx, &headers, a).await
}

async fn organization(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let a = local_actor(&ctx, &name, "Organization").await;
    serve_actor(&ctx, &headers, a).await
}

async fn instance_actor(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    let a = ctx
        .db
        .read(|c| store::actors::local_of_kind(c, ActorKind::Application))
        .await
        .and_then(|a| a.ok_or_else(|| Error::not_found("instance actor")));
    serve_actor(&ctx, &headers, a).await
}

/// The local actor whose collection a path like `/r/{name}/outbox` names: the actor's id is
/// the collection's URL without its last segment.
async fn collection_owner(ctx: &Ctx, uri: &axum::http::Uri) -> Result<Actor> {
    let path = uri.path();
    let actor_path = path.rsplit_once('/').map(|(p, _)| p).unwrap_or(path);
    let ap_id = format!("{}{actor_path}", ctx.urls.base);
    ctx.db
        .read(move |c| store::actors::by_ap_id(c, &ap_id))
        .await?
        .filter(|a| a.local)
        .ok_or_else(|| Error::not_found(format!("collection {path}")))
}

/// The actor behind a signed GET, if the request is signed (authorized fetch).
async fn reader(
    ctx: &Ctx,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Option<Actor>> {
    let signed = headers.contains_key("signature")
        || headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Signature "));
    if !signed {
        return Ok(None);
    }
    verify_request(ctx, method, uri, headers, None)
        .await
        .map(Some)
}

/// Content of a partners or private room is served only to a signed GET by a member (or a
/// member's node); everyone else gets 401 (unsigned) or 404 (signed, not a member), so that
/// guessing URLs reveals nothing.
async fn check_read(ctx: &Ctx, room: &Actor, req: &Request) -> Result<()> {
    if policy::visibility(room) == Visibility::Public {
        return Ok(());
    }
    let signer = reader(ctx, &req.method, &req.uri, &req.headers).await?;
    let (room2, signer2) = (room.clone(), signer.clone());
    let allowed = ctx
        .db
        .read(move |c| policy::may_read(c, &room2, signer2.as_ref()))
        .await?;
    match (allowed, signer) {
        (true, _) => Ok(()),
        (false, None) => Err(Error::Unauthorized(
            "this content needs a signed request from a member of its room".into(),
        )),
        (false, Some(_)) => Err(Error::not_found("object")),
    }
}

/// What a GET handler needs to check a signature.
struct Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

fn respond(result: Result<(StatusCode, Value)>) -> Response {
    match result {
        Ok((status, doc)) => ap_json(status, &with_context(doc)),
        Err(e) => e.into_response(),
    }
}

async fn outbox(State(ctx): State<Ctx>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let req = Request {
        method,
        uri,
        headers,
    };
    respond(
        async {
            let owner = collection_owner(&ctx, &req.uri).await?;
            check_read(&ctx, &owner, &req).await?;
            let (id, everything) = (owner.id, policy::visibility(&owner) != Visibility::Public);
            let (items, total) = ctx
                .db
                .read(move |c| {
                    Ok((store::activities::of_actor(c, id, 50, everything)?, store::activities::count_of_actor(c, id, everything)?))
                })
                .await?;
            let items: Vec<Value> = items
                .iter()
                .filter_map(|a| serde_json::from_str::<Value>(&a.body).ok())
                .map(vocab::embedded)
                .collect();
            Ok((
                StatusCode::OK,
                json!({"id": owner.outbox, "type": "OrderedCollection", "totalItems": total, "orderedItems": items}),
            ))
        }
        .await,
    )
}

async fn followers(
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Request {
        method,
        uri,
        headers,
    };
    respond(
        async {
            let owner = collection_owner(&ctx, &req.uri).await?;
            check_read(&ctx, &owner, &req).await?;
            let id = owner.id;
            let list = ctx
                .db
                .read(move |c| store::follows::followers_of(c, id))
                .await?;
            Ok((
                StatusCode::OK,
                json!({
                    "id": owner.followers,
                    "type": "OrderedCollection",
                    "totalItems": list.len(),
                    "orderedItems": list.iter().map(|a| a.ap_id.clone()).collect::<Vec<_>>(),
                }),
            ))
        }
        .await,
    )
}

async fn idea(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Request {
        method,
        uri,
        headers,
    };
    let ap_id = ctx.urls.idea(&id);
    let found = ctx
        .db
        .read(move |c| {
            let i = store::ideas::by_ap_id(c, &ap_id)?.ok_or_else(|| Error::not_found("idea"))?;
            let room = store::actors::by_id(c, i.room_id)?;
            let doc = if i.deleted {
                vocab::tombstone(&i.ap_id, "Page")
            } else {
                ideas::page_json(c, &i)?
            };
            Ok((i, room, doc))
        })
        .await;
    let (idea, room, doc) = match found {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = check_read(&ctx, &room, &req).await {
        return e.into_response();
    }
    if idea.deleted {
        return respond(Ok((StatusCode::GONE, doc)));
    }
    if wants_activitypub(&req.headers) {
        respond(Ok((StatusCode::OK, doc)))
    } else {
        crate::web::idea_page(&ctx, idea.id).await
    }
}

async fn comment(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Request {
        method,
        uri,
        headers,
    };
    let ap_id = ctx.urls.comment(&id);
    respond(
        async {
            let (room, status, doc) = ctx
                .db
                .read(move |c| {
                    let cm = store::comments::by_ap_id(c, &ap_id)?
                        .ok_or_else(|| Error::not_found("comment"))?;
                    let idea = store::ideas::by_id(c, cm.idea_id)?
                        .ok_or_else(|| Error::not_found("idea"))?;
                    let room = store::actors::by_id(c, idea.room_id)?;
                    if cm.deleted {
                        return Ok((room, StatusCode::GONE, vocab::tombstone(&cm.ap_id, "Note")));
                    }
                    let author = store::actors::by_id(c, cm.author_id)?;
                    let idea_author = store::actors::by_id(c, idea.author_id)?;
                    let doc = vocab::comment_json(&cm, &author.ap_id, &room, &idea_author.ap_id);
                    Ok((room, StatusCode::OK, doc))
                })
                .await?;
            check_read(&ctx, &room, &req).await?;
            Ok((status, doc))
        }
        .await,
    )
}

async fn activity(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Request {
        method,
        uri,
        headers,
    };
    let ap_id = ctx.urls.activity(&id);
    let result = async {
        let a = ctx
            .db
            .read(move |c| store::activities::by_ap_id(c, &ap_id))
            .await?
            .ok_or_else(|| Error::not_found("activity"))?;
        let doc: Value =
            serde_json::from_str(&a.body).map_err(|e| Error::Internal(e.to_string()))?;
        if !a.public {
            // Non-public activities belong to a room: its audience, or the room itself.
            let room_id = vocab::id_of(&doc["audience"])
                .unwrap_or(doc["actor"].as_str().unwrap_or_default())
                .to_string();
            let room = ctx
                .db
                .read(move |c| store::actors::by_ap_id(c, &room_id))
                .await?
                .filter(|r| r.is_room() && r.local)
                .ok_or_else(|| Error::not_found("activity"))?;
            check_read(&ctx, &room, &req).await?;
        }
        Ok(doc)
    }
    .await;
    match result {
        Ok(doc) => ap_json(StatusCode::OK, &doc),
        Err(e) => Error::into_response(e),
    }
}

#[derive(Deserialize)]
struct WebfingerQuery {
    resource: Option<String>,
}

async fn webfinger(State(ctx): State<Ctx>, Query(q): Query<WebfingerQuery>) -> Response {
    let result = async {
        let resource = q.resource.ok_or_else(|| Error::bad_request("resource parameter is required"))?;
        let r = resource.clone();
        let domain = ctx.settings.domain.clone();
        let actor = ctx
            .db
            .read(move |c| {
                if r.starts_with("http://") || r.starts_with("https://") {
                    return store::actors::by_ap_id(c, &r).map(|a| a.filter(|a| a.local));
                }
                let h = crate::domain::Handle::parse(&r).map_err(Error::BadRequest)?;
                if h.host != domain {
                    return Ok(None);
                }
                if h.name == domain {
                    return store::actors::local_of_kind(c, ActorKind::Application);
                }
                store::actors::local_by_name(c, &h.name)
            })
            .await?
            .ok_or_else(|| Error::not_found(&resource))?;
        Ok(json!({
            "subject": format!("acct:{}@{}", actor.name, ctx.settings.domain),
            "aliases": [actor.ap_id],
            "links": [
                {"rel": "self", "type": AP_CONTENT_TYPE, "href": actor.ap_id},
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": actor.ap_id},
            ],
        }))
    }
    .await;
    match result {
        Ok(doc) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/jrd+json")],
            doc.to_string(),
        )
            .into_response(),
        Err(e) => Error::into_response(e),
    }
}

async fn nodeinfo_links(State(ctx): State<Ctx>) -> Response {
    axum::Json(json!({
        "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": format!("{}/nodeinfo/2.1", ctx.urls.base),
        }]
    }))
    .into_response()
}

async fn nodeinfo(State(ctx): State<Ctx>) -> Response {
    let counts = ctx
        .db
        .read(|c| {
            let users = store::actors::count_local_people(c)?;
            let posts = store::ideas::count_local(c)?;
            Ok((users, posts))
        })
        .await;
    match counts {
        Ok((users, posts)) => {
            let doc = json!({
                "version": "2.1",
                "software": {
                    "name": "cocreate",
                    "version": env!("CARGO_PKG_VERSION"),
                    "homepage": "https://cocreate.dev",
                },
                "protocols": ["activitypub"],
                "services": {"inbound": [], "outbound": []},
                "openRegistrations": false,
                "usage": {"users": {"total": users}, "localPosts": posts},
                "metadata": {"nodeName": ctx.settings.org_display_name},
            });
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"")],
                doc.to_string(),
            )
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}
