//! The ActivityStreams vocabulary as this node speaks it: the JSON forms of its actors, ideas,
//! comments and activities, the builders of every activity it sends, and the readers of the
//! loose shapes peers send (an id or an embedded object, one type or several).
//!
//! Everything here is a pure function of values and stored rows, with no I/O: services build
//! what they publish with it, the federation edge serves and reads with it. `spec/` documents
//! each shape.

use chrono::{NaiveDateTime, SecondsFormat};
use serde_json::{json, Value};

use crate::domain::kinds::ActorKind;
use crate::domain::Visibility;
use crate::state::Urls;
use crate::store::models::{Actor, Comment, Idea};

pub const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
/// Namespace of the project's own terms; `spec/context.jsonld` defines them.
pub const NS: &str = "https://cocreate.dev/ns#";

/// `@context` of every document: ActivityStreams, security (keys) and the project's terms,
/// inlined so that JSON-LD processors need not fetch anything.
pub fn context() -> Value {
    json!([
        AS_CONTEXT,
        "https://w3id.org/security/v1",
        {
            "cocreate": NS,
            "toot": "http://joinmastodon.org/ns#",
            "lemmy": "https://join-lemmy.org/ns#",
            "discoverable": "toot:discoverable",
            "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
            "stage": "cocreate:stage",
            "stageAnswer": "cocreate:stageAnswer",
            "contributors": {"@id": "cocreate:contributors", "@type": "@id"},
            "contributor": {"@id": "cocreate:contributor", "@type": "@id"},
            "role": "cocreate:role",
            "supportCount": "cocreate:supportCount",
            "visibility": "cocreate:visibility",
            "terms": "cocreate:terms",
            "version": "cocreate:version",
            "provenance": {"@id": "cocreate:provenance", "@container": "@list"},
            "origin": {"@id": "cocreate:origin", "@type": "@id"},
            "handedOffTo": {"@id": "cocreate:handedOffTo", "@type": "@id"},
            "mergedInto": {"@id": "cocreate:mergedInto", "@type": "@id"},
            "partnerKind": "cocreate:partnerKind",
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "webfinger": {"@id": "https://purl.archive.org/socialweb/webfinger#webfinger", "@type": "http://www.w3.org/2001/XMLSchema#string"},
            "implements": {"@id": "https://w3id.org/fep/844e/implements", "@type": "@id", "@container": "@list"}
        }
    ])
}

/// Every spelling of the public collection that peers use.
pub fn is_public(iri: &str) -> bool {
    matches!(iri, PUBLIC | "as:Public" | "Public")
}

pub fn timestamp(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// What this node speaks, as FEP-844e `implements` lists it on the instance actor.
pub fn implements() -> Value {
    json!([
        {"name": "ActivityPub", "href": "https://www.w3.org/TR/activitypub/"},
        {"name": "RFC-9421: HTTP Message Signatures", "href": "https://datatracker.ietf.org/doc/html/rfc9421"},
        {"name": "draft-cavage-http-signatures-12", "href": "https://datatracker.ietf.org/doc/html/draft-cavage-http-signatures-12"},
        {"name": "FEP-1b12: Group federation", "href": "https://w3id.org/fep/1b12"},
        {"name": "FEP-7888: Demystifying the context property", "href": "https://w3id.org/fep/7888"},
        {"name": "FEP-f228: Backfilling conversations", "href": "https://w3id.org/fep/f228"},
        {"name": "FEP-2c59: Discovery of a Webfinger address from an ActivityPub actor", "href": "https://w3id.org/fep/2c59"},
        {"name": "FEP-3b86: Activity Intents", "href": "https://w3id.org/fep/3b86"},
    ])
}

/// A room's featured collection (FEP-1b12 / Lemmy `featured`).
pub fn featured_of(room: &str) -> String {
    format!("{room}/featured")
}

/// A room's moderators collection (its stewards), the room's `attributedTo` as Lemmy reads it.
pub fn moderators_of(room: &str) -> String {
    format!("{room}/moderators")
}

/// The context collection of an idea's thread (FEP-7888 / FEP-f228), for ideas whose document
/// this node serves (written here).
pub fn thread_of(idea: &Idea) -> Option<String> {
    idea.local.then(|| format!("{}/context", idea.ap_id))
}

/// The `replies` collection of an idea or comment whose document this node serves.
pub fn replies_of(ap_id: &str, local: bool) -> Option<String> {
    local.then(|| format!("{ap_id}/replies"))
}

/// An actor document for any local actor kind.
pub fn actor_json(actor: &Actor, urls: &Urls) -> Value {
    let mut doc = json!({
        "@context": context(),
        "id": actor.ap_id,
        "type": actor.kind,
        "preferredUsername": actor.name,
        "name": actor.display_name,
        "summary": actor.summary,
        "inbox": actor.inbox,
        "outbox": actor.outbox,
        "followers": actor.followers,
        "url": actor.ap_id,
        "endpoints": {"sharedInbox": urls.shared_inbox()},
        "publicKey": {
            "id": actor.key_id,
            "owner": actor.ap_id,
            "publicKeyPem": actor.public_key_pem,
        },
        "manuallyApprovesFollowers": actor.visibility.is_some() && actor.room_visibility() != Visibility::Public,
        // Rooms are listed in directories, except private ones; people and the node are not.
        "discoverable": actor.kind == ActorKind::Group && actor.room_visibility() != Visibility::Private,
        // FEP-2c59: the WebFinger address that names this actor.
        "webfinger": format!("{}@{}", actor.name, actor.host),
    });
    if let Some(v) = &actor.visibility {
        doc["visibility"] = json!(v);
    }
    if actor.kind == ActorKind::Group {
        // FEP-1b12 as Lemmy, PieFed and Mbin read it: the moderators as `attributedTo`, a
        // featured collection, and anyone may post (the room's own rules decide).
        doc["attributedTo"] = json!(moderators_of(&actor.ap_id));
        doc["featured"] = json!(featured_of(&actor.ap_id));
        doc["postingRestrictedToMods"] = json!(false);
    }
    if actor.kind == ActorKind::Application {
        doc["implements"] = implements();
    }
    doc
}

/// What the idea's JSON needs besides the row itself.
pub struct IdeaView<'a> {
    pub idea: &'a Idea,
    pub room: &'a Actor,
    pub author_ap_id: &'a str,
    pub contributors: &'a [(String, String)],
    pub support_count: i64,
}

/// Who an object or activity of `room` is addressed to: public rooms address the public and
/// copy the room and its followers; partners and private rooms address their followers (the
/// members) only and never the public.
pub fn room_addressing(room: &Actor) -> (Vec<String>, Vec<String>) {
    let followers = room.followers.clone().unwrap_or_default();
    if room.room_visibility() == Visibility::Public {
        (
            vec![PUBLIC.to_string()],
            vec![room.ap_id.clone(), followers],
        )
    } else {
        (vec![followers], vec![room.ap_id.clone()])
    }
}

/// The longest pitch (`summary`) of an idea, in characters.
pub const PITCH_CHARS: usize = 280;

/// An idea's pitch: the first paragraph of its text as plain text, cut at a word, without the
/// `@mentions` a suggested post starts with; else its title.
pub fn pitch_of(idea: &Idea) -> String {
    use crate::domain::text;
    let p = text::strip_leading_mentions(&text::pitch(&idea.content, PITCH_CHARS));
    if p.is_empty() {
        idea.title.clone()
    } else {
        p
    }
}

/// An idea as a `Page` with the project's terms.
pub fn idea_json(v: &IdeaView<'_>) -> Value {
    let i = v.idea;
    let (to, cc) = room_addressing(v.room);
    let mut doc = json!({
        "id": i.ap_id,
        "type": "Page",
        "attributedTo": v.author_ap_id,
        "name": i.title,
        "summary": pitch_of(i),
        "content": i.content,
        "mediaType": "text/html",
        "source": {"content": i.source, "mediaType": "text/markdown"},
        "to": to,
        "cc": cc,
        "audience": v.room.ap_id,
        "url": i.ap_id,
        "published": timestamp(i.published),
        "updated": timestamp(i.updated),
        "stage": i.stage,
        "contributors": v.contributors.iter().map(|(actor, role)| json!({
            "type": "cocreate:Contribution", "contributor": actor, "role": role
        })).collect::<Vec<_>>(),
        "supportCount": v.support_count,
        "likes": {"type": "Collection", "totalItems": v.support_count},
    });
    if let Some(thread) = thread_of(i) {
        doc["context"] = json!(thread);
    }
    if let Some(replies) = replies_of(&i.ap_id, i.local) {
        doc["replies"] = json!(replies);
    }
    if let Some(a) = &i.stage_answer {
        doc["stageAnswer"] = json!(a);
    }
    if let Some(t) = i.terms.as_ref() {
        doc["terms"] = t.clone();
    }
    if let Some(p) = i.provenance.as_ref() {
        doc["provenance"] = json!(p);
    }
    for (key, value) in [
        ("origin", &i.origin),
        ("handedOffTo", &i.handed_off_to),
        ("mergedInto", &i.merged_into),
    ] {
        if let Some(v) = value {
            doc[key] = json!(v);
        }
    }
    doc
}

/// A comment as a `Note` reply, in the thread of `idea`.
pub fn comment_json(
    c: &Comment,
    author_ap_id: &str,
    room: &Actor,
    idea: &Idea,
    idea_author: &str,
) -> Value {
    let (to, mut cc) = room_addressing(room);
    if idea_author != author_ap_id {
        cc.push(idea_author.to_string());
    }
    let mut doc = json!({
        "id": c.ap_id,
        "type": "Note",
        "attributedTo": author_ap_id,
        "inReplyTo": c.in_reply_to,
        "content": c.content,
        "mediaType": "text/html",
        "to": to,
        "cc": cc,
        "audience": room.ap_id,
        "published": timestamp(c.published),
        "updated": timestamp(c.updated),
        "url": c.ap_id,
    });
    if let Some(s) = &c.source {
        doc["source"] = json!({"content": s, "mediaType": "text/markdown"});
    }
    if let Some(thread) = thread_of(idea) {
        doc["context"] = json!(thread);
    }
    if let Some(replies) = replies_of(&c.ap_id, c.local) {
        doc["replies"] = json!(replies);
    }
    doc
}

/// The same activity with every idea in it as an `Article` instead of a `Page` (and the
/// Tombstone of a deleted one formerly an `Article`), for servers that cannot take a `Page`
/// (Discourse). Ids and everything else stay.
pub fn as_article(activity: &Value) -> Value {
    fn rewrite(v: &mut Value, depth: usize) {
        let Some(o) = v.as_object_mut() else { return };
        for key in ["type", "formerType"] {
            if o.get(key).and_then(Value::as_str) == Some("Page") {
                o.insert(key.into(), json!("Article"));
            }
        }
        if depth < 2 {
            if let Some(inner) = o.get_mut("object") {
                rewrite(inner, depth + 1);
            }
        }
    }
    let mut out = activity.clone();
    if let Some(inner) = out.get_mut("object") {
        rewrite(inner, 0);
    }
    out
}

/// How many items a page of a collection holds.
pub const PAGE_SIZE: u64 = 50;

/// The page `page` (from 1) of a collection of `total` items.
pub fn page_url(collection: &str, page: u64) -> String {
    format!("{collection}?page={page}")
}

/// How many pages a collection of `total` items has (at least one, empty when `total` is 0).
pub fn page_count(total: u64) -> u64 {
    total.div_ceil(PAGE_SIZE).max(1)
}

/// A paged `OrderedCollection` as Mastodon and Lemmy serve them: `totalItems`, links to its
/// `first` and `last` pages, and the items of its first page inline, for readers that do not
/// follow pages (Lemmy reads an outbox this way).
pub fn ordered_collection(id: &str, total: u64, first_items: Vec<Value>) -> Value {
    json!({
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": page_url(id, 1),
        "last": page_url(id, page_count(total)),
        "orderedItems": first_items,
    })
}

/// Page `page` of the collection `collection`: an `OrderedCollectionPage` with `partOf`,
/// `next` and `prev` where there are such pages.
pub fn collection_page(collection: &str, page: u64, total: u64, items: Vec<Value>) -> Value {
    let mut doc = json!({
        "id": page_url(collection, page),
        "type": "OrderedCollectionPage",
        "partOf": collection,
        "totalItems": total,
        "orderedItems": items,
    });
    if page < page_count(total) {
        doc["next"] = json!(page_url(collection, page + 1));
    }
    if page > 1 {
        doc["prev"] = json!(page_url(collection, page - 1));
    }
    doc
}

/// A `Tombstone` for a deleted object.
pub fn tombstone(ap_id: &str, former_type: &str) -> Value {
    json!({"id": ap_id, "type": "Tombstone", "formerType": former_type})
}

crate::domain::kinds::text_enum! {
    /// The activity types this node sends, and those it understands when they arrive.
    ActivityKind ("activity type") {
        Create = "Create",
        Update = "Update",
        Delete = "Delete",
        Like = "Like",
        EmojiReact = "EmojiReact",
        Undo = "Undo",
        Follow = "Follow",
        Join = "Join",
        Accept = "Accept",
        Reject = "Reject",
        Announce = "Announce",
        Add = "Add",
        Remove = "Remove",
        Invite = "Invite",
        Offer = "Offer",
    }
}

/// An activity with the standard fields; `object` may be an id or an embedded document.
pub fn activity(
    kind: ActivityKind,
    id: &str,
    actor: &str,
    object: Value,
    to: &[&str],
    cc: &[&str],
) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": kind.as_str(),
        "actor": actor,
        "object": object,
        "to": to,
        "cc": cc,
        "published": timestamp(crate::store::now()),
    })
}

/// An activity about something in `room`: public, copied to the room and its followers, with
/// the room as `audience` (FEP-1b12).
pub fn room_activity(
    kind: ActivityKind,
    id: &str,
    actor: &str,
    object: Value,
    room: &Actor,
) -> Value {
    let (to, cc) = room_addressing(room);
    let mut a = activity(kind, id, actor, object, &[], &[]);
    a["to"] = json!(to);
    a["cc"] = json!(cc);
    a["audience"] = json!(room.ap_id);
    a
}

/// `room` announces `object` (an activity, embedded without `@context`, or an idea's `Page`) to
/// its followers (FEP-1b12): addressed like everything in the room, with the room as
/// `audience`.
pub fn announce(id: &str, room: &Actor, object: Value) -> Value {
    room_activity(ActivityKind::Announce, id, &room.ap_id, object, room)
}

/// `actor` accepts `object` (a Follow, Join, Invite or Offer, embedded whole: Lemmy and
/// Mastodon match the answer by the embedded activity), addressed to whoever sent it.
pub fn accept(id: &str, actor: &str, object: Value, to: &str) -> Value {
    activity(
        ActivityKind::Accept,
        id,
        actor,
        embedded(object),
        &[to],
        &[],
    )
}

/// `actor` refuses `object` (embedded whole), with the reason, if any, as `summary`.
pub fn reject(id: &str, actor: &str, object: Value, to: &str, reason: Option<&str>) -> Value {
    let mut r = activity(
        ActivityKind::Reject,
        id,
        actor,
        embedded(object),
        &[to],
        &[],
    );
    if let Some(reason) = reason {
        r["summary"] = json!(reason);
    }
    r
}

/// `actor` takes back one of its own activities (embedded whole).
pub fn undo(id: &str, actor: &str, object: Value, to: &[&str], cc: &[&str]) -> Value {
    activity(ActivityKind::Undo, id, actor, embedded(object), to, cc)
}

/// Strips `@context` from an activity before it is embedded in another one.
pub fn embedded(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("@context");
    }
    v
}

/// `host[:port]` of a URL, the unit of origin checks.
pub fn host_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    Some(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

/// Whether two URLs are on the same host (and port).
pub fn same_host(a: &str, b: &str) -> bool {
    matches!((host_of(a), host_of(b)), (Some(x), Some(y)) if x == y)
}

/// Reads a string, or the id of an embedded object, or the first of an array.
pub fn id_of(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        Value::Array(a) => a.first().and_then(id_of),
        _ => None,
    }
}

/// Reads `type`, which may be an array of types.
pub fn type_of(v: &Value) -> Option<&str> {
    match &v["type"] {
        Value::String(s) => Some(s),
        Value::Array(a) => a.iter().find_map(Value::as_str),
        _ => None,
    }
}

/// `to`, `cc`, `audience`, `bto` and `bcc` of an activity or object, flattened.
pub fn audience_of(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["to", "cc", "audience", "bto", "bcc"] {
        match &v[key] {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => {
                out.extend(items.iter().filter_map(|i| i.as_str().map(String::from)))
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_spelling_is_recognised() {
        assert!(is_public(PUBLIC));
        assert!(is_public("as:Public"));
        assert!(is_public("Public"));
        assert!(!is_public("https://example.com/followers"));
    }
}
