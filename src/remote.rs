//! Outbound lookups on other servers: remote actors and objects by signed GET, handles by
//! WebFinger (signed too), and the cache of remote actors in the `actors` table. Use cases call
//! this to know who they deal with (a handle to follow, an offered idea to verify); the inbox
//! calls it to know who signed.
//!
//! Every GET is signed by the instance actor, with the scheme the host accepts
//! ([`crate::federation::knock`]): GoToSocial and Mastodon in authorized-fetch mode answer
//! nothing else. A fetched document must come with an ActivityPub content type and carry the
//! URL fetched as its `id`; one redirect is followed (of documents, WebFinger and NodeInfo
//! alike), and the redirect's target is checked as the first URL was.
//!
//! Outside development mode no request reaches an address that is not public ([`guard`]):
//! every URL and every redirect hop goes through [`check_remote_url`], and the shared HTTP
//! client resolves names through [`guard::GuardedResolver`], so a name that resolves to a
//! private address at the moment of connecting is refused too.

pub mod guard;

use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;
use thiserror::Error as ThisError;
use url::Url;

use crate::domain::peers::PeerSoftware;
use crate::domain::Handle;
use crate::error::{Error, Result};
use crate::federation::knock;
use crate::state::Ctx;
use crate::store::models::{Actor, NewActor};
use crate::store::{self, now};
use crate::vocab::{host_of, same_host, type_of};

/// Refuses URLs a node must not contact: on a blocked host, plain http outside development
/// mode, and (in production) hosts that are, or resolve only to, addresses that are not public
/// (loopback, private, link-local...: [`guard::check_url`]).
pub async fn check_remote_url(ctx: &Ctx, url: &Url) -> Result<()> {
    crate::service::blocks::refuse_blocked(ctx, url).await?;
    check_contactable(ctx, url).await
}

/// What [`check_remote_url`] refuses other than blocks (scheme and addresses), for a caller
/// that checked the blocks itself ([`crate::service::blocks::refuse_blocked_among`]).
pub async fn check_contactable(ctx: &Ctx, url: &Url) -> Result<()> {
    match url.scheme() {
        "https" => {}
        "http" if ctx.settings.dev => {}
        other => {
            return Err(Error::bad_request(format!(
                "refusing {other}:// URL {url}: only https is allowed outside development mode"
            )))
        }
    }
    guard::check_url(guard_of(ctx), url)
        .await
        .map_err(|e| Error::bad_request(format!("refusing {url}: {e}")))
}

/// The SSRF guard of this node: off in development mode only.
fn guard_of(ctx: &Ctx) -> guard::Guard {
    guard::Guard::for_dev(ctx.settings.dev)
}

/// Content types a fetched ActivityPub document may have (compared in lowercase).
const AP_CONTENT_TYPES: [&str; 3] = [
    "application/activity+json",
    r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#,
    "application/activity+json; charset=utf-8",
];

/// Why a fetch failed, as far as callers need to tell: a server that is down for a moment is
/// worth retrying later, a document that is gone is not.
#[derive(Debug, ThisError)]
pub enum FetchError {
    /// The URL may not be contacted (see [`check_remote_url`]).
    #[error("{0}")]
    NotAllowed(Error),
    /// No answer, a timeout, 429 or 5xx: the server may answer later.
    #[error("{url} cannot be reached right now: {reason}")]
    Unreachable { url: String, reason: String },
    /// 404 or 410.
    #[error("{url} answered {status}")]
    Gone { url: String, status: StatusCode },
    /// Any other answer that is not a usable document.
    #[error("{url}: {reason}")]
    Invalid { url: String, reason: String },
}

impl From<FetchError> for Error {
    fn from(e: FetchError) -> Error {
        match e {
            FetchError::NotAllowed(e) => e,
            other => Error::Remote(format!("fetching {other}")),
        }
    }
}

/// GETs a remote ActivityPub document, signed by the instance actor. The content type must be
/// an ActivityPub one and the document's `id` the URL fetched (when it is another URL on the
/// same host, that URL is fetched instead, once).
pub async fn fetch_json(ctx: &Ctx, url: &str) -> Result<Value> {
    Ok(fetch_document(ctx, url).await?)
}

/// [`fetch_json`] with the reason of a failure kept.
pub async fn fetch_document(ctx: &Ctx, url: &str) -> std::result::Result<Value, FetchError> {
    let mut url = url.to_string();
    for hop in 0..2 {
        let (fetched, doc) = get_document(ctx, &url).await?;
        let id = doc["id"].as_str().and_then(|id| Url::parse(id).ok());
        match id {
            Some(id) if id == fetched => return Ok(doc),
            Some(id) if hop == 0 && id.host_str() == fetched.host_str() => {
                url = id.to_string();
            }
            _ => {
                return Err(FetchError::Invalid {
                    url: fetched.to_string(),
                    reason: "the document's id is not the URL fetched".into(),
                })
            }
        }
    }
    Err(FetchError::Invalid {
        url,
        reason: "the document's id is not the URL fetched".into(),
    })
}

/// Refuses a URL a fetch must not contact: what [`check_remote_url`] refuses, an explicit port
/// outside development mode, and this node's own URLs.
async fn check_fetch_url(ctx: &Ctx, url: &Url) -> std::result::Result<(), FetchError> {
    check_remote_url(ctx, url)
        .await
        .map_err(FetchError::NotAllowed)?;
    if !ctx.settings.dev && url.port().is_some() {
        return Err(FetchError::NotAllowed(Error::bad_request(format!(
            "refusing {url}: explicit ports are allowed only in development mode"
        ))));
    }
    if ctx.urls.is_local(url.as_str()) {
        return Err(FetchError::Invalid {
            url: url.to_string(),
            reason: "a URL of this node is never fetched".into(),
        });
    }
    Ok(())
}

/// What each hop of a GET must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hop {
    /// An ActivityPub document: [`check_fetch_url`].
    Document,
    /// WebFinger and NodeInfo, on the host a handle names: [`check_remote_url`].
    Discovery,
}

async fn check_hop(ctx: &Ctx, url: &Url, hop: Hop) -> std::result::Result<(), FetchError> {
    match hop {
        Hop::Document => check_fetch_url(ctx, url).await,
        Hop::Discovery => check_remote_url(ctx, url)
            .await
            .map_err(FetchError::NotAllowed),
    }
}

/// Where a redirect answer of `from` leads, checked as an ActivityPub document's URL is (the
/// SSRF guard included): the redirect of a public host to `http://169.254.169.254/` is
/// refused like that URL itself.
pub async fn redirect_target(
    ctx: &Ctx,
    from: &Url,
    status: StatusCode,
    headers: &HeaderMap,
) -> std::result::Result<Url, FetchError> {
    next_hop(ctx, from, status, headers, Hop::Document).await
}

async fn next_hop(
    ctx: &Ctx,
    from: &Url,
    status: StatusCode,
    headers: &HeaderMap,
    hop: Hop,
) -> std::result::Result<Url, FetchError> {
    let location = headers
        .get(http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| from.join(l).ok())
        .ok_or_else(|| FetchError::Invalid {
            url: from.to_string(),
            reason: format!("answered {status} without a usable Location"),
        })?;
    check_hop(ctx, &location, hop).await?;
    Ok(location)
}

/// A signed GET of `url`, checked first, following one redirect (checked too): the URL that
/// answered and its answer.
async fn get_checked(
    ctx: &Ctx,
    url: Url,
    accept: &str,
    hop: Hop,
) -> std::result::Result<(Url, knock::Answer), FetchError> {
    check_hop(ctx, &url, hop).await?;
    let answer = signed_get(ctx, &url, accept).await?;
    if !answer.status.is_redirection() {
        return Ok((url, answer));
    }
    let next = next_hop(ctx, &url, answer.status, &answer.headers, hop).await?;
    let answer = signed_get(ctx, &next, accept).await?;
    Ok((next, answer))
}

/// One signed GET of an ActivityPub document (one redirect followed): the URL that answered
/// and the parsed body.
async fn get_document(ctx: &Ctx, url: &str) -> std::result::Result<(Url, Value), FetchError> {
    let url = Url::parse(url).map_err(|e| {
        FetchError::NotAllowed(Error::bad_request(format!("invalid URL {url}: {e}")))
    })?;
    let (url, answer) = get_checked(ctx, url, "application/activity+json", Hop::Document).await?;
    let status = answer.status;
    if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
        return Err(FetchError::Gone {
            url: url.to_string(),
            status,
        });
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(FetchError::Unreachable {
            url: url.to_string(),
            reason: format!("answered {status}"),
        });
    }
    if !status.is_success() {
        let text: String = answer.text().chars().take(200).collect();
        return Err(FetchError::Invalid {
            url: url.to_string(),
            reason: format!("answered {status}: {text}"),
        });
    }
    let content_type = answer
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    if !AP_CONTENT_TYPES.contains(&content_type.as_str()) {
        return Err(FetchError::Invalid {
            url: url.to_string(),
            reason: format!("content type '{content_type}' is not an ActivityPub one"),
        });
    }
    let doc = serde_json::from_slice(&answer.body).map_err(|e| FetchError::Invalid {
        url: url.to_string(),
        reason: format!("not JSON: {e}"),
    })?;
    Ok((url, doc))
}

/// A GET signed by the instance actor, with the scheme the host accepts. Callers check the
/// URL first ([`check_remote_url`]); IP literals are checked once more here, since the
/// guarded resolver never sees them, and a name the resolver refuses is `NotAllowed`.
async fn signed_get(
    ctx: &Ctx,
    url: &Url,
    accept: &str,
) -> std::result::Result<knock::Answer, FetchError> {
    let refused = |e: &guard::Refused| {
        FetchError::NotAllowed(Error::bad_request(format!("refusing {url}: {e}")))
    };
    guard::check_literal(guard_of(ctx), url).map_err(|e| refused(&e))?;
    let headers = [("accept", accept.to_string())];
    knock::send(
        ctx,
        &ctx.fetch_signer,
        knock::Request {
            method: Method::GET,
            url,
            body: None,
            headers: &headers,
        },
    )
    .await
    .map_err(|e| match e {
        knock::KnockError::Transport(e) => match guard::refusal_in(&e) {
            Some(r) => refused(r),
            None => FetchError::Unreachable {
                url: url.to_string(),
                reason: e.to_string(),
            },
        },
        other => FetchError::Invalid {
            url: url.to_string(),
            reason: other.to_string(),
        },
    })
}

/// Turns a fetched actor document into an `actors` row.
pub fn actor_from_json(doc: &Value) -> Result<NewActor> {
    let bad = |what: &str| Error::bad_request(format!("actor document has no usable {what}"));
    let ap_id = doc["id"].as_str().ok_or_else(|| bad("id"))?.to_string();
    let type_ = type_of(doc).ok_or_else(|| bad("type"))?;
    let kind = crate::domain::kinds::ActorKind::parse(type_)
        .ok_or_else(|| Error::bad_request(format!("{ap_id} is a {type_}, not an actor")))?;
    let inbox = doc["inbox"]
        .as_str()
        .ok_or_else(|| bad("inbox"))?
        .to_string();
    let key = match &doc["publicKey"] {
        Value::Array(keys) => keys.iter().find(|k| k["publicKeyPem"].is_string()).cloned(),
        k @ Value::Object(_) => Some(k.clone()),
        _ => None,
    }
    .ok_or_else(|| bad("publicKey"))?;
    let pem = key["publicKeyPem"]
        .as_str()
        .ok_or_else(|| bad("publicKeyPem"))?
        .to_string();
    let key_id = key["id"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| format!("{ap_id}#main-key"));
    let host = host_of(&ap_id).ok_or_else(|| bad("host in its id"))?;
    let name = doc["preferredUsername"]
        .as_str()
        .map(String::from)
        .or_else(|| {
            ap_id
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .map(String::from)
        })
        .unwrap_or_default();
    let t = now();
    Ok(NewActor {
        display_name: doc["name"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| name.clone()),
        summary: doc["summary"]
            .as_str()
            .map(crate::domain::text::sanitize_html)
            .unwrap_or_default(),
        shared_inbox: doc["endpoints"]["sharedInbox"].as_str().map(String::from),
        outbox: doc["outbox"].as_str().map(String::from),
        followers: doc["followers"].as_str().map(String::from),
        visibility: doc["visibility"].as_str().map(String::from),
        ap_id,
        kind,
        local: false,
        name,
        inbox,
        public_key_pem: pem,
        key_id,
        private_key_pem: None,
        staff: false,
        host,
        fetched_at: t,
        created_at: t,
    })
}

/// Fetches an actor by id and stores (or refreshes) it.
pub async fn refresh_actor(ctx: &Ctx, ap_id: &str) -> Result<Actor> {
    let doc = fetch_json(ctx, ap_id).await?;
    let new = actor_from_json(&doc)?;
    if !same_host(&new.ap_id, ap_id) {
        return Err(Error::bad_request(format!(
            "{ap_id} answered with an actor of another host"
        )));
    }
    ctx.db
        .write(move |c| store::actors::upsert_remote(c, &new))
        .await
}

/// An actor from the cache, fetched when unknown.
pub async fn actor(ctx: &Ctx, ap_id: &str) -> Result<Actor> {
    let id = ap_id.to_string();
    if let Some(a) = ctx
        .db
        .read(move |c| store::actors::by_ap_id(c, &id))
        .await?
    {
        return Ok(a);
    }
    if ctx.urls.is_local(ap_id) {
        return Err(Error::not_found(format!("local actor {ap_id}")));
    }
    refresh_actor(ctx, ap_id).await
}

/// The actor owning a signature key. With `refresh`, the key is fetched again even if cached
/// (keys rotate).
pub async fn key_owner(ctx: &Ctx, key_id: &str, refresh: bool) -> Result<Actor> {
    if !refresh {
        let k = key_id.to_string();
        if let Some(a) = ctx
            .db
            .read(move |c| store::actors::by_key_id(c, &k))
            .await?
        {
            return Ok(a);
        }
    }
    let mut url = Url::parse(key_id)
        .map_err(|_| Error::Unauthorized(format!("keyId {key_id} is not a URL")))?;
    url.set_fragment(None);
    if ctx.urls.is_local(url.as_str()) {
        let k = key_id.to_string();
        return ctx
            .db
            .read(move |c| store::actors::by_key_id(c, &k))
            .await?
            .ok_or_else(|| Error::Unauthorized(format!("unknown local key {key_id}")));
    }
    // A key server that is down is worth a retry (503); a key that is gone or unusable is not.
    let fetch_key = |e: FetchError| match e {
        FetchError::Unreachable { .. } => Error::RemoteUnavailable(format!(
            "the key {key_id} cannot be fetched right now, retry later: {e}"
        )),
        other => Error::Unauthorized(format!("cannot get key {key_id}: {other}")),
    };
    let doc = fetch_document(ctx, url.as_str()).await.map_err(fetch_key)?;
    // The key URL serves either the actor itself or a key document naming its owner.
    let actor_doc = if doc.get("inbox").is_some() {
        doc
    } else if let Some(owner) = doc["owner"].as_str() {
        if !same_host(owner, key_id) {
            return Err(Error::Unauthorized(format!(
                "key {key_id} names an owner on another host"
            )));
        }
        fetch_document(ctx, owner).await.map_err(fetch_key)?
    } else {
        return Err(Error::Unauthorized(format!(
            "{url} is neither an actor nor a key"
        )));
    };
    let new = actor_from_json(&actor_doc)?;
    if !same_host(&new.ap_id, key_id) {
        return Err(Error::Unauthorized(format!(
            "key {key_id} belongs to an actor on another host"
        )));
    }
    ctx.db
        .write(move |c| store::actors::upsert_remote(c, &new))
        .await
}

/// An actor by handle from the cache when it is known (no network), by WebFinger otherwise.
pub async fn known_or_resolve(ctx: &Ctx, handle: &str) -> Result<Actor> {
    let h = Handle::parse(handle).map_err(Error::BadRequest)?;
    let known = ctx
        .db
        .read(move |c| store::actors::by_handle(c, &h.name, &h.host))
        .await?;
    match known {
        Some(a) => Ok(a),
        None => resolve_handle(ctx, handle).await,
    }
}

/// Resolves `name@host[:port]` to an actor: local by name, remote by WebFinger.
pub async fn resolve_handle(ctx: &Ctx, handle: &str) -> Result<Actor> {
    let h = Handle::parse(handle).map_err(Error::BadRequest)?;
    if h.host == ctx.settings.domain {
        let name = h.name.clone();
        return ctx
            .db
            .read(move |c| store::actors::local_by_name(c, &name))
            .await?
            .ok_or_else(|| Error::not_found(handle));
    }
    let jrd = webfinger(ctx, &h).await?;
    let href = jrd["links"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| {
            l["rel"] == "self"
                && l["type"].as_str().is_some_and(|t| {
                    t == "application/activity+json" || t.starts_with("application/ld+json")
                })
        })
        .and_then(|l| l["href"].as_str())
        .ok_or_else(|| Error::Remote(format!("WebFinger for {handle} has no ActivityPub link")))?
        .to_string();
    refresh_actor(ctx, &href).await
}

/// The WebFinger document (JRD) of the account `name@host` on another server: `NotFound` when
/// the server does not know it, `Remote` when the server cannot be reached or answers nonsense.
pub async fn webfinger(ctx: &Ctx, h: &Handle) -> Result<Value> {
    let handle = format!("{}@{}", h.name, h.host);
    let url = format!(
        "{}://{}/.well-known/webfinger?resource=acct:{handle}",
        ctx.settings.scheme(),
        h.host,
    );
    let parsed =
        Url::parse(&url).map_err(|e| Error::bad_request(format!("bad handle {handle}: {e}")))?;
    let (_, resp) = get_checked(
        ctx,
        parsed,
        "application/jrd+json, application/json",
        Hop::Discovery,
    )
    .await
    .map_err(|e| match e {
        FetchError::NotAllowed(e) => e,
        e => Error::Remote(format!("WebFinger for {handle} failed: {e}")),
    })?;
    if resp.status == StatusCode::NOT_FOUND {
        return Err(Error::not_found(format!("{handle} (WebFinger)")));
    }
    if !resp.status.is_success() {
        return Err(Error::Remote(format!(
            "WebFinger for {handle} answered {}",
            resp.status
        )));
    }
    serde_json::from_slice(&resp.body)
        .map_err(|e| Error::Remote(format!("WebFinger for {handle} is not JSON: {e}")))
}

/// What `host` says of its software in NodeInfo (signed GETs of `/.well-known/nodeinfo` and
/// of the newest 2.x schema it links): `None` when it links no NodeInfo document or that
/// document names no software; `Remote` when the server cannot be reached or answers nonsense.
pub async fn nodeinfo(ctx: &Ctx, host: &str) -> Result<Option<PeerSoftware>> {
    let get_json = |url: String| async move {
        let parsed =
            Url::parse(&url).map_err(|e| Error::bad_request(format!("bad URL {url}: {e}")))?;
        // Signed like every GET this node makes (authorized-fetch servers may require it).
        let (_, resp) = get_checked(ctx, parsed, "application/json", Hop::Discovery)
            .await
            .map_err(|e| match e {
                FetchError::NotAllowed(e) => e,
                e => Error::Remote(format!("NodeInfo of {host} failed: {e}")),
            })?;
        if !resp.status.is_success() {
            return Ok(None);
        }
        serde_json::from_slice::<Value>(&resp.body)
            .map(Some)
            .map_err(|e| Error::Remote(format!("NodeInfo of {host} is not JSON: {e}")))
    };
    let links = get_json(format!(
        "{}://{host}/.well-known/nodeinfo",
        ctx.settings.scheme()
    ))
    .await?;
    let href = links
        .as_ref()
        .and_then(|l| l["links"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|l| {
            let version = l["rel"]
                .as_str()?
                .strip_prefix("http://nodeinfo.diaspora.software/ns/schema/")
                .or_else(|| {
                    l["rel"]
                        .as_str()?
                        .strip_prefix("https://nodeinfo.diaspora.software/ns/schema/")
                })?
                .to_string();
            Some((version, l["href"].as_str()?.to_string()))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, href)| href);
    let Some(mut href) = href else {
        return Ok(None);
    };
    if href.starts_with('/') {
        href = format!("{}://{host}{href}", ctx.settings.scheme());
    }
    let info = get_json(href).await?;
    Ok(info.as_ref().and_then(|i| {
        let name = i["software"]["name"]
            .as_str()
            .filter(|n| !n.trim().is_empty())?;
        Some(PeerSoftware::new(name, i["software"]["version"].as_str()))
    }))
}
