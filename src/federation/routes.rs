//! HTTP routes of the federation side: actors, objects, collections, WebFinger, NodeInfo and
//! every inbox. Objects are served as `application/activity+json` to clients asking for
//! ActivityPub, and as a small HTML page to browsers.

use std::future::Future;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::kinds::ActorKind;
use crate::error::{Error, Result};
use crate::federation::inbox::post_inbox;
use crate::federation::signatures::verify_request;
use crate::service::documents::{self, Document, Part};
use crate::state::Ctx;
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
        .route("/r/{name}/featured", get(room_collection))
        .route("/r/{name}/moderators", get(room_collection))
        .route("/ideas/{id}", get(idea))
        .route("/ideas/{id}/context", get(idea_thread))
        .route("/ideas/{id}/replies", get(replies))
        .route("/comments/{id}", get(comment))
        .route("/comments/{id}/replies", get(replies))
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

async fn serve_actor(
    ctx: &Ctx,
    headers: &HeaderMap,
    query: Option<&str>,
    actor: Result<Actor>,
) -> Response {
    match actor {
        Ok(a) if wants_activitypub(headers) => {
            ap_json(StatusCode::OK, &vocab::actor_json(&a, &ctx.urls))
        }
        Ok(a) => crate::web::actor_page(ctx, headers, query, &a).await,
        Err(e) => e.into_response(),
    }
}

async fn person(State(ctx): State<Ctx>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let a = documents::local_actor(&ctx, &name, ActorKind::Person).await;
    serve_actor(&ctx, &headers, None, a).await
}

async fn room(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let a = documents::local_actor(&ctx, &name, ActorKind::Group).await;
    serve_actor(&ctx, &headers, uri.query(), a).await
}

async fn organization(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let a = documents::local_actor(&ctx, &name, ActorKind::Organization).await;
    serve_actor(&ctx, &headers, None, a).await
}

async fn instance_actor(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    let a = documents::instance_actor(&ctx).await;
    serve_actor(&ctx, &headers, None, a).await
}

/// The instance actor's document, which the site root `/` answers to ActivityPub requests
/// (Lemmy fetches a peer's root to learn its software); browsers get the home page there.
pub async fn instance_actor_json(ctx: &Ctx) -> Response {
    match documents::instance_actor(ctx).await {
        Ok(a) => ap_json(StatusCode::OK, &vocab::actor_json(&a, &ctx.urls)),
        Err(e) => e.into_response(),
    }
}

/// What a GET handler needs to check a signature; an extractor, so handlers take it whole.
struct Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Request {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> std::result::Result<Request, Self::Rejection> {
        Ok(Request {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}

impl Request {
    /// Whether the request carries an HTTP signature (authorized fetch).
    fn is_signed(&self) -> bool {
        self.headers.contains_key("signature")
            || self
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("Signature "))
    }
}

/// Runs `read`, a service read of served content, for the reader behind `req`. The content
/// decides whether a signature is needed: `read` runs first without a signer, and only when
/// it answers `Unauthorized` (content of a partners or private room) to a signed request is
/// the signature verified and `read` run again with the verified signer. So a signature is
/// checked only where it matters (verifying may fetch the signer's key, and a bad signature
/// on a public object does not refuse it); an unsigned request keeps the 401.
async fn as_reader<T, F, Fut>(ctx: &Ctx, req: &Request, read: F) -> Result<T>
where
    F: Fn(Option<Actor>) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    match read(None).await {
        Err(Error::Unauthorized(_)) if req.is_signed() => {
            let signer = verify_request(ctx, &req.method, &req.uri, &req.headers, None).await?;
            read(Some(signer)).await
        }
        other => other,
    }
}

fn respond(result: Result<(StatusCode, Value)>) -> Response {
    match result {
        Ok((status, doc)) => ap_json(status, &with_context(doc)),
        Err(e) => e.into_response(),
    }
}

/// An object's document with 200, or its Tombstone with 410 Gone.
fn serve_document(result: Result<Document>) -> Response {
    respond(result.map(|doc| match doc {
        Document::Live(doc) => (StatusCode::OK, doc),
        Document::Gone(tombstone) => (StatusCode::GONE, tombstone),
    }))
}

/// The query of a collection GET: which page (`?page=N`), or Lemmy's follower check
/// (`?is_follower={actor}`, followers collections only).
#[derive(Deserialize)]
struct CollectionQuery {
    page: Option<String>,
    is_follower: Option<String>,
}

impl CollectionQuery {
    fn part(&self) -> Result<Part> {
        Part::parse(self.page.as_deref())
    }
}

async fn outbox(
    State(ctx): State<Ctx>,
    Query(q): Query<CollectionQuery>,
    req: Request,
) -> Response {
    let (ctx, path) = (&ctx, req.uri.path());
    let part = match q.part() {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let doc = as_reader(ctx, &req, |signer| async move {
        documents::outbox(ctx, path, part, signer.as_ref()).await
    })
    .await;
    respond(doc.map(|d| (StatusCode::OK, d)))
}

async fn followers(
    State(ctx): State<Ctx>,
    Query(q): Query<CollectionQuery>,
    req: Request,
) -> Response {
    let (ctx, path) = (&ctx, req.uri.path());
    let part = match q.part() {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let doc = match &q.is_follower {
        Some(actor) => {
            as_reader(ctx, &req, |signer| async move {
                documents::is_follower(ctx, path, actor, signer.as_ref()).await
            })
            .await
        }
        None => {
            as_reader(ctx, &req, |signer| async move {
                documents::followers(ctx, path, part, signer.as_ref()).await
            })
            .await
        }
    };
    respond(doc.map(|d| (StatusCode::OK, d)))
}

/// A room's featured collection (empty) and its moderators (stewards).
async fn room_collection(State(ctx): State<Ctx>, req: Request) -> Response {
    let (ctx, path) = (&ctx, req.uri.path());
    let doc = as_reader(ctx, &req, |signer| async move {
        if path.ends_with("/featured") {
            documents::featured(ctx, path, signer.as_ref()).await
        } else {
            documents::moderators(ctx, path, signer.as_ref()).await
        }
    })
    .await;
    respond(doc.map(|d| (StatusCode::OK, d)))
}

/// The thread of an idea written here (its `context`), or a page of it.
async fn idea_thread(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    Query(q): Query<CollectionQuery>,
    req: Request,
) -> Response {
    let part = match q.part() {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let (ctx, ap_id) = (&ctx, &ctx.urls.idea(&id));
    let doc = as_reader(ctx, &req, |signer| async move {
        documents::thread(ctx, ap_id, part, signer.as_ref()).await
    })
    .await;
    respond(doc.map(|d| (StatusCode::OK, d)))
}

/// The direct replies to an idea or comment written here, or a page of them.
async fn replies(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    Query(q): Query<CollectionQuery>,
    req: Request,
) -> Response {
    let ap_id = if req.uri.path().starts_with("/ideas/") {
        ctx.urls.idea(&id)
    } else {
        ctx.urls.comment(&id)
    };
    let part = match q.part() {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let (ctx, ap_id) = (&ctx, &ap_id);
    let doc = as_reader(ctx, &req, |signer| async move {
        documents::replies(ctx, ap_id, part, signer.as_ref()).await
    })
    .await;
    respond(doc.map(|d| (StatusCode::OK, d)))
}

/// An idea: its `Page` to ActivityPub clients, its web page to browsers; a deleted idea is a
/// Tombstone with 410 for both.
async fn idea(State(ctx): State<Ctx>, Path(id): Path<String>, req: Request) -> Response {
    let (ctx, ap_id) = (&ctx, &ctx.urls.idea(&id));
    if wants_activitypub(&req.headers) {
        return serve_kept_document(ctx, &req, |signer| async move {
            documents::idea_document(ctx, ap_id, signer.as_ref()).await
        })
        .await;
    }
    crate::web::idea_page(ctx, &req.headers, req.uri.query(), ap_id).await
}

async fn comment(State(ctx): State<Ctx>, Path(id): Path<String>, req: Request) -> Response {
    let (ctx, ap_id) = (&ctx, &ctx.urls.comment(&id));
    serve_kept_document(ctx, &req, |signer| async move {
        documents::comment_document(ctx, ap_id, signer.as_ref()).await
    })
    .await
}

/// [`serve_document`] of what [`as_reader`] reads, through the cache of documents served to
/// anonymous readers ([`crate::federation::cache`]): what any reader may see is kept, and
/// served again while nothing was written; what needed a signature is read each time.
async fn serve_kept_document<F, Fut>(ctx: &Ctx, req: &Request, read: F) -> Response
where
    F: Fn(Option<Actor>) -> Fut,
    Fut: Future<Output = Result<Document>>,
{
    let path = req.uri.path();
    let changes = ctx.db.changes();
    if let Some((status, body)) = changes.and_then(|n| ctx.documents.get(path, n)) {
        return (status, [(header::CONTENT_TYPE, AP_CONTENT_TYPE)], body).into_response();
    }
    let (status, doc) = match read(None).await {
        Ok(Document::Live(doc)) => (StatusCode::OK, doc),
        Ok(Document::Gone(tombstone)) => (StatusCode::GONE, tombstone),
        Err(Error::Unauthorized(_)) if req.is_signed() => {
            return serve_document(
                match verify_request(ctx, &req.method, &req.uri, &req.headers, None).await {
                    Ok(signer) => read(Some(signer)).await,
                    Err(e) => Err(e),
                },
            );
        }
        Err(e) => return e.into_response(),
    };
    let body = Bytes::from(with_context(doc).to_string());
    if let Some(n) = changes {
        ctx.documents.put(path, n, status, body.clone());
    }
    (status, [(header::CONTENT_TYPE, AP_CONTENT_TYPE)], body).into_response()
}

/// An activity as it was sent (its own `@context`).
async fn activity(State(ctx): State<Ctx>, Path(id): Path<String>, req: Request) -> Response {
    let (ctx, ap_id) = (&ctx, &ctx.urls.activity(&id));
    let doc = as_reader(ctx, &req, |signer| async move {
        documents::activity_document(ctx, ap_id, signer.as_ref()).await
    })
    .await;
    match doc {
        Ok(doc) => ap_json(StatusCode::OK, &doc),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct WebfingerQuery {
    resource: Option<String>,
}

async fn webfinger(State(ctx): State<Ctx>, Query(q): Query<WebfingerQuery>) -> Response {
    let result = async {
        let resource = q
            .resource
            .ok_or_else(|| Error::bad_request("resource parameter is required"))?;
        let actor = documents::webfinger(&ctx, &resource).await?;
        // Lemmy tells a room from a person of the same name by the type on the self link.
        let kind = json!({"https://www.w3.org/ns/activitystreams#type": actor.kind.as_str()});
        let mut links = vec![
            json!({"rel": "self", "type": AP_CONTENT_TYPE, "href": actor.ap_id, "properties": kind}),
            json!({"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": actor.ap_id}),
        ];
        // People act from here on what other servers show them (FEP-3b86, Mastodon's remote
        // interaction); rooms and the organisation do not.
        if actor.kind == ActorKind::Person {
            links.extend(crate::service::intents::links(&ctx.urls));
        }
        // FEP-d556: the server itself, asked by its URL, is its instance actor.
        let subject = if documents::names_this_server(&ctx, &resource) {
            links.push(json!({"rel": "https://www.w3.org/ns/activitystreams#Application", "type": AP_CONTENT_TYPE, "href": actor.ap_id}));
            resource.clone()
        } else {
            format!("acct:{}@{}", actor.name, ctx.settings.domain)
        };
        Ok(json!({
            "subject": subject,
            "aliases": [actor.ap_id],
            "properties": kind,
            "links": links,
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

/// NodeInfo's discovery document: the 2.1 schema, and the instance actor (FEP-2677).
async fn nodeinfo_links(State(ctx): State<Ctx>) -> Response {
    axum::Json(json!({
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": format!("{}/nodeinfo/2.1", ctx.urls.base),
            },
            {
                "rel": "https://www.w3.org/ns/activitystreams#Application",
                "href": ctx.urls.instance_actor(),
            },
        ]
    }))
    .into_response()
}

async fn nodeinfo(State(ctx): State<Ctx>) -> Response {
    let counts = documents::nodeinfo_counts(&ctx).await;
    match counts {
        Ok(counts) => {
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
                "usage": {"users": {"total": counts.users}, "localPosts": counts.local_posts},
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
