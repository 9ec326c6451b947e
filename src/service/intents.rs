//! Acting from one's own server: Activity Intents (FEP-3b86) and Mastodon's remote
//! interaction (`/authorize_interaction`), in both directions.
//!
//! As the *remote server*: a visitor with no account here follows a room, or supports or
//! answers an idea, from their own server. [`interactable`] admits only rooms and ideas of this
//! node that anyone may see; [`remote_url`] looks the visitor's handle up by WebFinger and builds
//! the address on their server where they do it: the FEP-3b86 intent their server advertises
//! for it, else the OStatus `subscribe` template Mastodon advertises, else Mastodon's
//! `/authorize_interaction` on their host. The choice ([`template_for`]) and the filling
//! ([`fill`]) are pure functions.
//!
//! As the *home server*: the WebFinger answer for each person of this node advertises this
//! node's own intents ([`links`]). Their pages open what another server points at ([`open`])
//! and let a signed-in person follow it ([`follow`]), support it ([`support`]) or answer it
//! ([`reply`]) through the same use cases as the API. An idea of another node that this node
//! does not hold yet is fetched from its server and kept like the ideas of a followed room.
//!
//! Promises: nothing here changes data for a visitor who is not signed in; the addresses built
//! are http(s) only (https outside development mode), every value percent-encoded; a WebFinger
//! look-up that fails names the host and says why.

use chrono::{DateTime, NaiveDateTime};
use serde_json::{json, Value};
use url::Url;

use crate::domain::kinds::{text_enum, ActorKind, FollowState};
use crate::domain::lifecycle::Stage;
use crate::domain::{text, Handle};
use crate::error::{Error, Result};
use crate::remote;
use crate::service::documents::{self, Document};
use crate::service::ideas::{self, IdeaDetail, IncomingIdea, MAX_TITLE};
use crate::service::inbound::{Applied, Inbound, Receipt};
use crate::service::{comments, follows, supports};
use crate::state::{Ctx, Urls};
use crate::store;
use crate::store::models::Actor;
use crate::store::now;
use crate::vocab::{self, same_host, ActivityKind};

text_enum! {
    /// What a visitor who is not signed in here wants to do from their own server.
    Intent ("intent") {
        /// Follow a room.
        Follow = "follow",
        /// Support (like) an idea.
        Like = "like",
        /// Answer an idea.
        Reply = "reply",
    }
}

/// The prefix of the FEP-3b86 link relations: `{FEP_3B86}Follow`, `{FEP_3B86}Like`, ...
pub const FEP_3B86: &str = "https://w3id.org/fep/3b86/";
/// The OStatus remote-follow relation Mastodon advertises, with a `{uri}` template.
pub const OSTATUS_SUBSCRIBE: &str = "http://ostatus.org/schema/1.0/subscribe";

/// What the handle field asks for.
const HANDLE_FORMAT: &str = "type your handle as name@your.server, for example ana@social.example";

// ---- this node as the remote server: sending visitors home ----

/// The handle a visitor typed: `@name@host`, `name@host` or `acct:name@host`.
pub fn parse_handle(input: &str) -> Result<Handle> {
    let h = Handle::parse(input).map_err(|_| Error::bad_request(HANDLE_FORMAT))?;
    let name_ok = h
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '~'));
    let host_ok = !h.host.starts_with(['.', '-', ':']) && !h.host.ends_with(['.', '-', ':']);
    if name_ok && host_ok {
        Ok(h)
    } else {
        Err(Error::bad_request(HANDLE_FORMAT))
    }
}

/// Checks that `object` is something a visitor may act on from their own server with `intent`:
/// a room of this node to follow, or an idea of this node that anyone may read to support or
/// answer. Returns its title. Anything else (another server's URL above all) is refused, so
/// that the form sends nobody anywhere for an object this node does not show.
pub async fn interactable(ctx: &Ctx, intent: Intent, object: &str) -> Result<String> {
    if !ctx.urls.is_local(object) {
        return Err(Error::bad_request(
            "only rooms and ideas of this node can be followed, supported or answered from here",
        ));
    }
    match intent {
        Intent::Follow => {
            let id = object.to_string();
            let room = ctx
                .db
                .read(move |c| store::actors::by_ap_id(c, &id))
                .await?
                .filter(|a| a.local && a.is_room())
                .ok_or_else(|| Error::not_found(format!("room {object}")))?;
            Ok(room.display_name)
        }
        Intent::Like | Intent::Reply => match documents::idea_detail(ctx, object, None).await {
            Ok(Document::Live(idea)) => Ok(idea.title),
            Ok(Document::Gone(_)) | Err(Error::Unauthorized(_)) => {
                Err(Error::not_found(format!("idea {object}")))
            }
            Err(e) => Err(e),
        },
    }
}

/// The address on the visitor's own server where they do `intent` with `object` (the URL of a
/// room or an idea): from the WebFinger answer for their `handle`, see [`intent_url`]. A handle
/// of this node gets this node's own intents, without a look-up.
pub async fn remote_url(ctx: &Ctx, handle: &str, intent: Intent, object: &str) -> Result<String> {
    let h = parse_handle(handle)?;
    let links = if h.host == ctx.settings.domain {
        let name = h.name.clone();
        ctx.db
            .read(move |c| store::actors::local_by_name(c, &name))
            .await?
            .filter(|a| a.kind == ActorKind::Person)
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "there is no account {} on {}: check your handle",
                    h.name, h.host
                ))
            })?;
        Value::Array(links(&ctx.urls))
    } else {
        let jrd = remote::webfinger(ctx, &h).await.map_err(|e| match e {
            Error::NotFound(_) => Error::bad_request(format!(
                "{} does not know the account {}@{}: check your handle",
                h.host, h.name, h.host
            )),
            e => Error::Remote(format!(
                "could not reach {} to find your account: {}",
                h.host,
                message(&e)
            )),
        })?;
        jrd["links"].clone()
    };
    intent_url(&links, intent, object, &h.host, ctx.settings.dev)
}

/// An error's words without the prefix of its kind.
fn message(e: &Error) -> String {
    match e {
        Error::Remote(m) | Error::BadRequest(m) | Error::NotFound(m) => m.clone(),
        other => other.to_string(),
    }
}

/// The FEP-3b86 intents that serve `intent`, best first, each with the template parameter it
/// must carry: the activity itself, then `Object` (open it at home, where every action is).
fn fep_choices(intent: Intent) -> [(&'static str, &'static str); 2] {
    match intent {
        Intent::Follow => [("Follow", "object"), ("Object", "object")],
        Intent::Like => [("Like", "object"), ("Object", "object")],
        Intent::Reply => [("Create", "inReplyTo"), ("Object", "object")],
    }
}

/// The template among a WebFinger answer's `links` that serves `intent`: the FEP-3b86 intent
/// for it, else `Object`, else the OStatus `subscribe` template. A template that lacks the
/// parameter the object goes in (`{object}`, `{inReplyTo}`, `{uri}`) is passed over, since it
/// would lose the object.
pub fn template_for(links: &Value, intent: Intent) -> Option<String> {
    let links = links.as_array()?;
    let find = |rel: &str, parameter: &str| {
        let placeholder = format!("{{{parameter}}}");
        links
            .iter()
            .filter(|l| l["rel"].as_str() == Some(rel))
            .filter_map(|l| l["template"].as_str())
            .find(|t| t.contains(&placeholder))
            .map(String::from)
    };
    fep_choices(intent)
        .iter()
        .find_map(|(kind, parameter)| find(&format!("{FEP_3B86}{kind}"), parameter))
        .or_else(|| find(OSTATUS_SUBSCRIBE, "uri"))
}

/// The address where the owner of an account on `host` does `intent` with `object`, from the
/// `links` of its WebFinger answer ([`template_for`]); Mastodon's
/// `/authorize_interaction?uri=` on `host` when none fits. Only http(s) addresses are given,
/// plain http only in development mode (`dev`).
pub fn intent_url(
    links: &Value,
    intent: Intent,
    object: &str,
    host: &str,
    dev: bool,
) -> Result<String> {
    let scheme = if dev { "http" } else { "https" };
    let template = template_for(links, intent)
        .unwrap_or_else(|| format!("{scheme}://{host}/authorize_interaction?uri={{uri}}"));
    let reply_to = if intent == Intent::Reply { object } else { "" };
    let address = fill(
        &template,
        &[("object", object), ("uri", object), ("inReplyTo", reply_to)],
    );
    let usable = Url::parse(&address)
        .ok()
        .is_some_and(|u| u.scheme() == "https" || (dev && u.scheme() == "http"));
    if !usable {
        return Err(Error::Remote(format!(
            "{host} names an address for this that is not a {scheme} web address ({address}); \
             open {object} on your server by hand instead"
        )));
    }
    Ok(address)
}

/// Fills the simple `{name}` expressions of a URI template (RFC 6570, level 1): a name in
/// `values` with its value, percent-encoded; any other expression with nothing (FEP-3b86
/// §3.2). An unclosed `{` is kept as it is.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..open + close];
        if let Some((_, value)) = values.iter().find(|(n, _)| *n == name) {
            out.push_str(&percent_encode(value));
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Percent-encodes everything but the unreserved characters of RFC 3986 (letters, digits,
/// `-`, `.`, `_`, `~`), so that a value is safe anywhere in a URL.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---- this node as the home server: its own intents ----

/// The intents this node advertises in the WebFinger answer for each of its people: FEP-3b86
/// `Follow`, `Like`, `Create` (a reply) and `Object`, and the OStatus `subscribe` template that
/// Mastodon and its kin look for.
pub fn links(urls: &Urls) -> Vec<Value> {
    let base = &urls.base;
    let intent = |kind: &str, template: String| json!({"rel": format!("{FEP_3B86}{kind}"), "template": template});
    vec![
        intent("Follow", format!("{base}/intents/follow?object={{object}}")),
        intent("Like", format!("{base}/intents/like?object={{object}}")),
        intent(
            "Create",
            format!("{base}/intents/create?inReplyTo={{inReplyTo}}&content={{content}}"),
        ),
        intent("Object", format!("{base}/intents/object?object={{object}}")),
        json!({
            "rel": OSTATUS_SUBSCRIBE,
            "template": format!("{base}/authorize_interaction?uri={{uri}}"),
        }),
    ]
}

/// What another server points a person of this node at.
#[derive(Debug)]
pub enum Target {
    /// An actor (a room, usually), with the state of the person's follow of it, if any.
    Actor {
        actor: Box<Actor>,
        follow: Option<FollowState>,
        /// False for the person themself and for a server's own actor.
        followable: bool,
    },
    /// An idea to support or answer; `reply_to` is the comment on it being answered, if any.
    Idea {
        idea: Box<IdeaDetail>,
        reply_to: Option<String>,
    },
}

/// What `reference` names, for `user`: an actor (by its id, or by a handle `name@host` as
/// Mastodon's `/authorize_interaction` also takes), an idea, or a comment of an idea this node
/// holds. An actor or an idea this node does not know yet is fetched from its server; ideas of
/// rooms `user` may not see do not exist for them.
pub async fn open(ctx: &Ctx, user: &Actor, reference: &str) -> Result<Target> {
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(Error::bad_request(
            "the link names nothing to open: it needs the address of a room or an idea",
        ));
    }
    if !(reference.starts_with("https://") || reference.starts_with("http://")) {
        let actor = remote::resolve_handle(ctx, reference).await?;
        return actor_target(ctx, user, actor).await;
    }
    let r = reference.to_string();
    let known = ctx
        .db
        .read(move |c| {
            if let Some(a) = store::actors::by_ap_id(c, &r)? {
                return Ok(Known::Actor(Box::new(a)));
            }
            if let Some(i) = store::ideas::by_ap_id(c, &r)? {
                return Ok(Known::Idea(i.ap_id, None));
            }
            if let Some(cm) = store::comments::by_ap_id(c, &r)? {
                if let Some(i) = store::ideas::by_id(c, cm.idea_id)? {
                    return Ok(Known::Idea(i.ap_id, Some(cm.ap_id)));
                }
            }
            Ok(Known::Nothing)
        })
        .await?;
    match known {
        Known::Actor(actor) => actor_target(ctx, user, *actor).await,
        Known::Idea(idea, reply_to) => Ok(Target::Idea {
            idea: Box::new(ideas::get(ctx, user, &idea).await?),
            reply_to,
        }),
        Known::Nothing if ctx.urls.is_local(reference) => Err(Error::not_found(reference)),
        Known::Nothing => {
            let doc = remote::fetch_json(ctx, reference).await?;
            let kind = vocab::type_of(&doc).unwrap_or_default();
            if ActorKind::parse(kind).is_some() {
                let actor = remote::actor(ctx, reference).await?;
                return actor_target(ctx, user, actor).await;
            }
            let idea = fetch_idea(ctx, doc).await?;
            Ok(Target::Idea {
                idea: Box::new(ideas::get(ctx, user, &idea).await?),
                reply_to: None,
            })
        }
    }
}

/// What this node already holds under a URL.
enum Known {
    Actor(Box<Actor>),
    /// An idea's id, and the comment on it that the URL names, if it names one.
    Idea(String, Option<String>),
    Nothing,
}

async fn actor_target(ctx: &Ctx, user: &Actor, actor: Actor) -> Result<Target> {
    let follow = follows::following(ctx, user)
        .await?
        .into_iter()
        .find(|(a, _)| a.id == actor.id)
        .map(|(_, f)| f.state);
    let followable = actor.id != user.id && actor.kind != ActorKind::Application;
    Ok(Target::Actor {
        actor: Box::new(actor),
        follow,
        followable,
    })
}

/// `user` follows what `reference` names (see [`open`]): a room, or another actor.
pub async fn follow(ctx: &Ctx, user: Actor, reference: &str) -> Result<(Actor, FollowState)> {
    match open(ctx, &user, reference).await? {
        Target::Actor {
            actor,
            followable: true,
            ..
        } => follows::follow_actor(ctx, user, *actor).await,
        Target::Actor { actor, .. } => Err(Error::bad_request(format!(
            "{} cannot be followed",
            actor.handle()
        ))),
        Target::Idea { .. } => Err(Error::bad_request(
            "this is an idea, not a room: support it or answer it instead",
        )),
    }
}

/// `user` supports the idea `reference` names (see [`open`]), as the API does.
pub async fn support(ctx: &Ctx, user: Actor, reference: &str) -> Result<IdeaDetail> {
    match open(ctx, &user, reference).await? {
        Target::Idea { idea, .. } => supports::give(ctx, user, idea.ap_id).await,
        Target::Actor { .. } => Err(Error::bad_request(
            "only ideas can be supported; follow a room instead",
        )),
    }
}

/// `user` answers the idea, or the comment on an idea, that `in_reply_to` names (see
/// [`open`]) with `body` (markdown), as the API does.
pub async fn reply(ctx: &Ctx, user: Actor, in_reply_to: &str, body: String) -> Result<IdeaDetail> {
    match open(ctx, &user, in_reply_to).await? {
        Target::Idea { idea, reply_to } => {
            comments::add(ctx, user, idea.ap_id, body, reply_to).await
        }
        Target::Actor { .. } => Err(Error::bad_request(
            "only ideas and their comments can be answered here",
        )),
    }
}

/// Keeps an idea fetched from another node (`doc`, its `Page`, whose id the fetch checked) as
/// the ideas of a followed room are kept; returns its id. Only an idea served by its room's own
/// node is taken, since only that node speaks for the room: an idea suggested to a room from
/// another server is reached by following the room.
async fn fetch_idea(ctx: &Ctx, doc: Value) -> Result<String> {
    let id = doc["id"]
        .as_str()
        .ok_or_else(|| Error::bad_request("the fetched object has no id"))?
        .to_string();
    let kind = vocab::type_of(&doc).unwrap_or("object");
    if !["Page", "Article", "Note", "Question"].contains(&kind) {
        return Err(Error::bad_request(format!(
            "{id} is a {kind}: only rooms and ideas can be followed, supported or answered here"
        )));
    }
    if vocab::id_of(&doc["inReplyTo"]).is_some() {
        return Err(Error::bad_request(format!(
            "{id} is a reply: open the idea it answers to support or answer it"
        )));
    }
    let room_id = ["audience", "context"]
        .iter()
        .find_map(|k| vocab::id_of(&doc[*k]))
        .ok_or_else(|| {
            Error::bad_request(format!(
                "{id} belongs to no room: only ideas of rooms can be supported or answered here"
            ))
        })?
        .to_string();
    let author_id = vocab::id_of(&doc["attributedTo"])
        .ok_or_else(|| Error::bad_request(format!("{id} names no author")))?
        .to_string();
    if !same_host(&room_id, &id) || !same_host(&author_id, &id) {
        return Err(Error::bad_request(format!(
            "{id} is not served by the node of its room {room_id}: follow the room to support \
             or answer its ideas"
        )));
    }
    let room = remote::actor(ctx, &room_id).await?;
    if !room.is_room() {
        return Err(Error::bad_request(format!(
            "{id} belongs to {room_id}, which is not a room"
        )));
    }
    let author = remote::actor(ctx, &author_id).await?;
    let content = doc["content"].as_str().unwrap_or_default();
    let plain = text::html_to_text(content);
    let title = doc["name"]
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .unwrap_or_else(|| text::title_from_text(&plain));
    let source = match (&doc["source"]["content"], &doc["source"]["mediaType"]) {
        (Value::String(s), Value::String(t)) if t == "text/markdown" => s.clone(),
        _ => plain,
    };
    let time = |key: &str| -> Option<NaiveDateTime> {
        DateTime::parse_from_rfc3339(doc[key].as_str()?)
            .ok()
            .map(|t| t.naive_utc().min(now()))
    };
    let published = time("published").unwrap_or_else(now);
    let reference = |key: &str| vocab::id_of(&doc[key]).map(String::from);
    let incoming = IncomingIdea {
        room,
        ap_id: id.clone(),
        title: title.chars().take(MAX_TITLE).collect(),
        source,
        content: text::sanitize_html(content),
        stage: doc["stage"].as_str().and_then(Stage::parse),
        stage_answer: doc["stageAnswer"].as_str().map(String::from),
        contributors: doc["contributors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let who = vocab::id_of(&c["contributor"])?;
                Some((who.to_string(), c["role"].as_str()?.to_string()))
            })
            .collect(),
        published,
        updated: time("updated").unwrap_or(published),
        public: vocab::audience_of(&doc).iter().any(|a| vocab::is_public(a)),
        terms: doc.get("terms").filter(|t| t.is_object()).cloned(),
        provenance: doc.get("provenance").filter(|p| p.is_array()).cloned(),
        origin: reference("origin"),
        handed_off_to: reference("handedOffTo"),
        merged_into: reference("mergedInto"),
    };
    let receipt = Receipt {
        // The fetch stands for the Create the room would have announced.
        id: format!("{id}#fetched"),
        actor: author.ap_id.clone(),
        kind: ActivityKind::Create.to_string(),
    };
    let applied = ideas::receive(
        ctx,
        Inbound {
            actor: author,
            receipt,
            content: incoming,
            original: doc,
        },
    )
    .await?;
    if let Applied::Refused(reason) = applied {
        return Err(Error::Forbidden(reason));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDEA: &str = "https://a.example/ideas/1";

    #[test]
    fn the_intent_for_the_activity_comes_first() {
        let links = json!([
            {"rel": OSTATUS_SUBSCRIBE, "template": "https://b.example/authorize_interaction?uri={uri}"},
            {"rel": "https://w3id.org/fep/3b86/Object", "template": "https://b.example/o?id={object}"},
            {"rel": "https://w3id.org/fep/3b86/Like", "template": "https://b.example/like?id={object}"},
            {"rel": "https://w3id.org/fep/3b86/Follow", "template": "https://b.example/follow?id={object}"},
            {"rel": "https://w3id.org/fep/3b86/Create", "template": "https://b.example/new?re={inReplyTo}&text={content}"},
        ]);
        let url = |intent| intent_url(&links, intent, IDEA, "b.example", false).unwrap();
        assert_eq!(
            url(Intent::Like),
            "https://b.example/like?id=https%3A%2F%2Fa.example%2Fideas%2F1"
        );
        assert_eq!(
            url(Intent::Follow),
            "https://b.example/follow?id=https%3A%2F%2Fa.example%2Fideas%2F1"
        );
        assert_eq!(
            url(Intent::Reply),
            "https://b.example/new?re=https%3A%2F%2Fa.example%2Fideas%2F1&text="
        );
    }

    #[test]
    fn object_then_subscribe_then_authorize_interaction() {
        let object_only = json!([
            {"rel": OSTATUS_SUBSCRIBE, "template": "https://b.example/authorize_interaction?uri={uri}"},
            {"rel": "https://w3id.org/fep/3b86/Object", "template": "https://b.example/o?id={object}"},
        ]);
        assert_eq!(
            template_for(&object_only, Intent::Like).as_deref(),
            Some("https://b.example/o?id={object}")
        );
        let mastodon = json!([
            {"rel": "self", "type": "application/activity+json", "href": "https://b.example/users/ana"},
            {"rel": OSTATUS_SUBSCRIBE, "template": "https://b.example/authorize_interaction?uri={uri}"},
        ]);
        assert_eq!(
            intent_url(&mastodon, Intent::Reply, IDEA, "b.example", false).unwrap(),
            "https://b.example/authorize_interaction?uri=https%3A%2F%2Fa.example%2Fideas%2F1"
        );
        for nothing in [
            json!([]),
            Value::Null,
            json!([{"rel": "self", "href": "x"}]),
        ] {
            assert_eq!(
                intent_url(&nothing, Intent::Follow, IDEA, "b.example:8080", false).unwrap(),
                "https://b.example:8080/authorize_interaction?uri=https%3A%2F%2Fa.example%2Fideas%2F1"
            );
        }
        assert!(
            intent_url(&Value::Null, Intent::Follow, IDEA, "localhost:1", true)
                .unwrap()
                .starts_with("http://localhost:1/authorize_interaction?uri=")
        );
    }

    #[test]
    fn a_template_without_the_objects_parameter_is_passed_over() {
        // Mastodon's share page takes text, not the post answered: a reply would lose its idea.
        let links = json!([
            {"rel": "https://w3id.org/fep/3b86/Create", "template": "https://b.example/share?text={content}"},
            {"rel": "https://w3id.org/fep/3b86/Like", "template": "https://b.example/like"},
            {"rel": OSTATUS_SUBSCRIBE, "template": "https://b.example/authorize_interaction?uri={uri}"},
        ]);
        for intent in [Intent::Reply, Intent::Like] {
            assert_eq!(
                template_for(&links, intent).as_deref(),
                Some("https://b.example/authorize_interaction?uri={uri}"),
                "{intent}"
            );
        }
    }

    #[test]
    fn only_web_addresses_are_given() {
        for template in [
            "javascript:alert({object})",
            "ftp://b.example/{object}",
            "/relative?x={object}",
        ] {
            let links = json!([{"rel": "https://w3id.org/fep/3b86/Like", "template": template}]);
            assert!(
                intent_url(&links, Intent::Like, IDEA, "b.example", true).is_err(),
                "{template}"
            );
        }
        let http = json!([{"rel": "https://w3id.org/fep/3b86/Like", "template": "http://b.example/l?o={object}"}]);
        assert!(intent_url(&http, Intent::Like, IDEA, "b.example", false).is_err());
        assert!(intent_url(&http, Intent::Like, IDEA, "b.example", true).is_ok());
    }

    #[test]
    fn templates_are_filled_with_encoded_values_and_nothing_for_unknown_names() {
        assert_eq!(
            fill(
                "https://b.example/i?o={object}&s={on-success}&t={type}",
                &[("object", "https://a.example/r/x?a=1&b=2 c#d")]
            ),
            "https://b.example/i?o=https%3A%2F%2Fa.example%2Fr%2Fx%3Fa%3D1%26b%3D2%20c%23d&s=&t="
        );
        assert_eq!(
            fill("https://b.example/{object", &[("object", "x")]),
            "https://b.example/{object"
        );
        assert_eq!(percent_encode("a-b.c_d~é"), "a-b.c_d~%C3%A9");
    }

    #[test]
    fn handles_are_name_at_server() {
        for ok in [
            "@ana@social.example",
            "ana@social.example",
            "acct:ana@b.example:8080",
            " ana.b-c@x.y ",
        ] {
            assert!(parse_handle(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ana",
            "https://social.example/@ana",
            "ana@",
            "@social.example",
            "ana smith@social.example",
            "ana&x=1@social.example",
            "ana@social.example/x",
            "ana@.example",
        ] {
            let e = parse_handle(bad).unwrap_err();
            assert!(e.to_string().contains("name@your.server"), "{bad}: {e}");
        }
    }

    #[test]
    fn this_node_advertises_its_intents() {
        let urls = Urls {
            base: "https://a.example".into(),
        };
        let links = Value::Array(links(&urls));
        assert_eq!(
            intent_url(
                &links,
                Intent::Follow,
                "https://c.example/r/x",
                "a.example",
                false
            )
            .unwrap(),
            "https://a.example/intents/follow?object=https%3A%2F%2Fc.example%2Fr%2Fx"
        );
        assert_eq!(
            intent_url(&links, Intent::Reply, IDEA, "a.example", false).unwrap(),
            "https://a.example/intents/create?inReplyTo=https%3A%2F%2Fa.example%2Fideas%2F1&content="
        );
        assert_eq!(
            template_for(&json!([links[4]]), Intent::Follow).as_deref(),
            Some("https://a.example/authorize_interaction?uri={uri}")
        );
    }
}
