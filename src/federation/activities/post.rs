//! The objects of `Create` and `Update`: posts that become ideas (a `Page`, or any post
//! addressed to a room) or comments (a reply to an idea or to a comment on it).
//!
//! Peers send many shapes (Mastodon `Note`, Lemmy `Page`, WordPress `Article`, polls as
//! `Question`, PeerTube `Video`, Mobilizon and Gancio `Event`), so every field is read leniently: a field of an unexpected shape counts as
//! absent instead of refusing the whole post. What a post may become is decided by the rules
//! below, in the order the spec gives: origin, authorship, type, then reply or idea.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{optional_id, optional_text, typed};
use crate::domain::lifecycle::Stage;
use crate::domain::text;
use crate::error::{Error, Result};
use crate::remote;
use crate::service::comments::{self, CommentEdit, IncomingComment, Threaded};
use crate::service::ideas::{self, IncomingIdea, MAX_TITLE};
use crate::service::inbound::{self, Applied, Inbound, ReadAhead};
use crate::service::policy;
use crate::state::Ctx;
use crate::store::models::Actor;
use crate::store::now;
use crate::vocab::{self, same_host};

/// The object types that may become ideas or comments.
const POST_TYPES: [&str; 6] = ["Note", "Page", "Article", "Question", "Video", "Event"];

/// A post as peers send it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Post {
    #[serde(default, deserialize_with = "optional_text")]
    pub id: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "first_type")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "optional_id")]
    pub attributed_to: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub content: Option<String>,
    /// A summary, which stands in for the content of posts that have none (videos, events).
    #[serde(default, deserialize_with = "optional_text")]
    pub summary: Option<String>,
    /// Where the post is shown: a URL, a `Link`, or a list of them (the HTML one is taken).
    #[serde(default, deserialize_with = "optional_link")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "optional_id")]
    pub in_reply_to: Option<String>,
    #[serde(default, deserialize_with = "optional_time")]
    pub published: Option<NaiveDateTime>,
    #[serde(default, deserialize_with = "optional_time")]
    pub updated: Option<NaiveDateTime>,
    #[serde(default, deserialize_with = "lenient")]
    pub source: Option<Source>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub tag: Vec<Tag>,
    #[serde(default, deserialize_with = "addresses")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub cc: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub audience: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub bto: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub bcc: Vec<String>,
    #[serde(default, deserialize_with = "optional_id")]
    pub context: Option<String>,
    #[serde(default, deserialize_with = "optional_id")]
    pub target: Option<String>,
    // Cocreate's own terms (spec/objects.md), sent by the room's node.
    #[serde(default, deserialize_with = "optional_text")]
    pub stage: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub stage_answer: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub contributors: Vec<Credit>,
    #[serde(default, deserialize_with = "json_object")]
    pub terms: Option<Value>,
    #[serde(default, deserialize_with = "json_array")]
    pub provenance: Option<Value>,
    #[serde(default, deserialize_with = "optional_id")]
    pub origin: Option<String>,
    #[serde(default, deserialize_with = "optional_id")]
    pub handed_off_to: Option<String>,
    #[serde(default, deserialize_with = "optional_id")]
    pub merged_into: Option<String>,
}

/// `source`: the text the HTML was made from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(default, deserialize_with = "optional_text")]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub media_type: Option<String>,
}

impl Source {
    /// The markdown source, if that is what it is.
    fn markdown(&self) -> Option<String> {
        (self.media_type.as_deref() == Some("text/markdown"))
            .then(|| self.content.clone())
            .flatten()
    }
}

/// A tag; only mentions matter here (a post mentioning a room is addressed to it).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Tag {
    #[serde(rename = "type", default, deserialize_with = "optional_text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub href: Option<String>,
}

/// A contributor credited on an idea.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Credit {
    #[serde(default, deserialize_with = "optional_id")]
    pub contributor: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub role: Option<String>,
}

/// `to`, `cc`, `audience`, `bto` and `bcc` of an activity or post: each a string or a list.
/// (Its fields are declared in the structs that carry them rather than flattened into them:
/// serde's `flatten` buffers the whole document, which costs the inbox measurably.)
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Addressing {
    #[serde(default, deserialize_with = "addresses")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub cc: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub audience: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub bto: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub bcc: Vec<String>,
}

impl Addressing {
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.audience)
            .chain(&self.bto)
            .chain(&self.bcc)
    }

    /// Whether the public collection (in any spelling) is addressed.
    pub fn is_public(&self) -> bool {
        self.all().any(|a| vocab::is_public(a))
    }
}

/// How far up a thread the node fetches parents it never received.
const MAX_PARENTS: usize = 10;

/// A reply to a comment this node never received (the thread went on elsewhere, or a delivery
/// was lost): fetches the missing parents, each from its own server, up to one this node holds
/// (an idea or a comment on it), and stores them as comments, the oldest first, so the reply
/// has a place in the thread. Parents of a thread that reaches nothing held here are not kept.
async fn fetch_missing_parents(ctx: &Ctx, parent: &str) -> Result<()> {
    let mut missing: Vec<(Post, Value)> = Vec::new();
    let mut next = parent.to_string();
    loop {
        if inbound::holds_idea(ctx, &next).await? || inbound::holds_comment(ctx, &next).await? {
            break;
        }
        if missing.len() == MAX_PARENTS {
            return Err(Error::Unsupported(format!(
                "the thread above {parent} is deeper than {MAX_PARENTS} unknown replies"
            )));
        }
        let doc = remote::fetch_json(ctx, &next).await?;
        let post = Post::deserialize(&doc)
            .map_err(|e| Error::bad_request(format!("unusable parent {next}: {e}")))?;
        // Only what the object's own server serves under its id counts.
        if post.id.as_deref() != Some(next.as_str()) {
            return Err(Error::Forbidden(format!(
                "{next} answered with another id ({:?})",
                post.id
            )));
        }
        let up = post.in_reply_to.clone();
        missing.push((post, doc));
        match up {
            Some(up) => next = up,
            // A thread that starts elsewhere: nothing here to attach it to.
            None => return Ok(()),
        }
    }
    for (post, doc) in missing.into_iter().rev() {
        let (Some(id), Some(author), Some(in_reply_to)) = (
            post.id.clone(),
            post.attributed_to.clone(),
            post.in_reply_to.clone(),
        ) else {
            continue;
        };
        if !same_host(&id, &author) {
            return Err(Error::Forbidden(format!(
                "{id} is attributed to {author}, on another host"
            )));
        }
        let author = remote::actor(ctx, &author).await?;
        let reply = IncomingComment {
            ap_id: id.clone(),
            in_reply_to,
            content: post.content_or_summary(),
            source: post.source.as_ref().and_then(Source::markdown),
            published: post.published.unwrap_or_else(now),
            public: post.addressing().is_public(),
        };
        let fetched = Inbound {
            receipt: crate::service::inbound::Receipt {
                id,
                actor: author.ap_id.clone(),
                kind: "Create".into(),
            },
            actor: author,
            content: reply,
            original: doc,
        };
        comments::receive(ctx, fetched).await?;
    }
    Ok(())
}

/// Whether a Create or Update is a new post or a change of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
}

/// The address of a post's page: a string, a `Link` (its `href`), or the first of a list,
/// preferring the HTML one.
fn optional_link<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    fn href(v: &Value) -> Option<&str> {
        v.as_str().or_else(|| v["href"].as_str())
    }
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::Array(items)) => items
            .iter()
            .find(|i| i["mediaType"].as_str() == Some("text/html"))
            .or(items.first())
            .and_then(href)
            .map(String::from),
        Some(v) => href(&v).map(String::from),
        None => None,
    }
    .filter(|u| u.starts_with("https://") || u.starts_with("http://")))
}

impl Post {
    /// The post's HTML: its content, else its summary (PeerTube videos and Mobilizon events
    /// often have only that), with a link to its page when it had neither.
    pub fn content_or_summary(&self) -> String {
        let text = |s: &Option<String>| s.clone().filter(|t| !t.trim().is_empty());
        match (text(&self.content), text(&self.summary), &self.url) {
            (Some(c), _, _) => c,
            (None, Some(s), Some(url)) => format!("{s}<p><a href=\"{url}\">{url}</a></p>"),
            (None, Some(s), None) => s,
            (None, None, Some(url)) => format!("<p><a href=\"{url}\">{url}</a></p>"),
            (None, None, None) => String::new(),
        }
    }

    /// The object of a Create or Update: embedded, or fetched from its origin.
    pub async fn of(ctx: &Ctx, object: &Value) -> Result<Post> {
        let read = |doc: &Value| {
            Post::deserialize(doc).map_err(|e| Error::bad_request(format!("unusable object: {e}")))
        };
        match object {
            Value::Object(_) => read(object),
            Value::String(url) => read(&remote::fetch_json(ctx, url).await?),
            _ => Err(Error::bad_request("activity has no object")),
        }
    }

    /// The post's own addressees.
    pub fn addressing(&self) -> Addressing {
        Addressing {
            to: self.to.clone(),
            cc: self.cc.clone(),
            audience: self.audience.clone(),
            bto: self.bto.clone(),
            bcc: self.bcc.clone(),
        }
    }

    fn addressees(&self, activity: &Addressing) -> Vec<String> {
        let own = self.addressing();
        let mut out: Vec<String> = activity.all().chain(own.all()).cloned().collect();
        out.extend(self.context.iter().chain(&self.target).cloned());
        out.extend(
            self.tag
                .iter()
                .filter(|t| t.kind.as_deref() == Some("Mention"))
                .filter_map(|t| t.href.clone()),
        );
        out
    }
}

/// Applies a post `inbound.actor` created or changed; `via` is the followed room that relayed
/// it, if any; `ahead` what the inbox read ahead about it.
pub async fn receive(
    ctx: &Ctx,
    inbound: Inbound<Value>,
    change: Change,
    activity: &Addressing,
    post: Post,
    via: Option<&Actor>,
    ahead: Option<ReadAhead>,
) -> Result<Applied> {
    let actor = &inbound.actor;
    let object_id = post
        .id
        .clone()
        .ok_or_else(|| Error::bad_request("object has no id"))?;
    let object_type = post.kind.clone().unwrap_or_default();
    let kind = inbound.receipt.kind.clone();
    // The node hosting a room moderates its ideas: it may update (a stage change, say) an idea
    // whose author lives elsewhere, and the room relays that update.
    let moderated = change == Change::Update
        && !same_host(&object_id, &actor.ap_id)
        && match via {
            Some(room) if policy::moderates(actor, room) => {
                inbound::idea_in_room(ctx, &object_id, room).await?
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
    let public = activity.is_public() || post.addressing().is_public();
    if let Some(author) = post.attributed_to.as_deref().filter(|_| !moderated) {
        if author != actor.ap_id && !same_host(author, &actor.ap_id) {
            return Err(Error::Forbidden(format!(
                "{object_id} is attributed to {author}, not to {}",
                actor.ap_id
            )));
        }
    }
    if !POST_TYPES.contains(&object_type.as_str()) {
        return Err(Error::Unsupported(format!(
            "{kind} of {object_type} is not supported here"
        )));
    }
    let content = post.content_or_summary();
    let published = post.published.unwrap_or_else(now);

    // Replies: comments on an idea.
    if change == Change::Update && inbound::holds_comment(ctx, &object_id).await? {
        let edit = CommentEdit {
            ap_id: object_id,
            content,
        };
        return comments::receive_edit(ctx, typed(inbound, edit)).await;
    }
    if let Some(parent) = post.in_reply_to.clone() {
        let reply = IncomingComment {
            ap_id: object_id,
            in_reply_to: parent.clone(),
            content,
            source: post.source.as_ref().and_then(Source::markdown),
            published,
            public,
        };
        // Most replies answer what this node holds: the thread is fetched only when it is not.
        let reply = match comments::receive_in_thread(ctx, typed(inbound, reply), ahead).await? {
            Threaded::Applied(applied) => return Ok(applied),
            Threaded::NoThread(reply) => reply,
        };
        if let Err(e) = fetch_missing_parents(ctx, &parent).await {
            tracing::info!(parent = %parent, error = %e, "the missing parents of a reply could not be fetched");
        }
        return comments::receive(ctx, *reply).await;
    }

    // Ideas: a Page (or a plain post) addressed to a room.
    let candidates = post.addressees(activity);
    let room = inbound::addressed_room(ctx, candidates, via)
        .await?
        .ok_or_else(|| {
            Error::Unsupported(format!(
                "{object_id} is neither a reply to an idea nor addressed to a room of this node"
            ))
        })?;
    let plain = text::strip_leading_mentions(&text::html_to_text(&content));
    let title = post
        .name
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .unwrap_or_else(|| text::title_from_text(&plain));
    let source = post
        .source
        .as_ref()
        .and_then(Source::markdown)
        .unwrap_or(plain);
    let contributors: Vec<(String, String)> = post
        .contributors
        .iter()
        .filter_map(|c| Some((c.contributor.clone()?, c.role.clone()?)))
        .collect();
    if via.is_some() {
        // Credit names actors of other nodes; know them before storing the credit.
        for (contributor, _) in contributors.iter().filter(|(c, _)| *c != actor.ap_id) {
            if let Err(e) = remote::actor(ctx, contributor).await {
                tracing::info!(contributor = %contributor, error = %e, "contributor not reachable; credit kept without it");
            }
        }
    }
    let idea = IncomingIdea {
        room,
        ap_id: object_id,
        title: title.chars().take(MAX_TITLE).collect(),
        source,
        content: text::sanitize_html(&content),
        stage: post.stage.as_deref().and_then(Stage::parse),
        stage_answer: post.stage_answer.clone(),
        contributors,
        published,
        updated: post.updated.unwrap_or(published),
        public,
        terms: post.terms.clone(),
        provenance: post.provenance.clone(),
        origin: post.origin.clone(),
        handed_off_to: post.handed_off_to.clone(),
        merged_into: post.merged_into.clone(),
    };
    match change {
        Change::Create => ideas::receive(ctx, typed(inbound, idea)).await,
        Change::Update => ideas::receive_update(ctx, typed(inbound, idea)).await,
    }
}

// ---- lenient readers ----

/// `type`, which may be a list of types: the first string.
fn first_type<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.and_then(|v| match v {
        Value::String(s) => Some(s),
        Value::Array(items) => items.into_iter().find_map(|i| i.as_str().map(String::from)),
        _ => None,
    }))
}

/// An RFC 3339 time as stored (naive UTC); anything else reads as absent.
fn optional_time<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<NaiveDateTime>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref()
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc).naive_utc()))
}

/// Addressees: a string, or the strings of a list.
pub(super) fn addresses<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|i| i.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    })
}

/// A value of type `T`, or `None` when it has another shape.
fn lenient<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
}

/// A list of `T` (or a single one), skipping items of another shape.
fn lenient_list<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> std::result::Result<Vec<T>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect(),
        Some(v @ Value::Object(_)) => serde_json::from_value(v).ok().into_iter().collect(),
        _ => Vec::new(),
    })
}

/// A JSON object kept as it is (terms).
fn json_object<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Value>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.filter(Value::is_object))
}

/// A JSON array kept as it is (provenance).
fn json_array<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Value>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.filter(Value::is_array))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn videos_and_events_without_content_read_their_summary_and_link() {
        let video: Post = serde_json::from_value(json!({
            "type": "Video", "name": "Cordless drill teardown",
            "summary": "<p>What is inside</p>",
            "url": [{"type": "Link", "mediaType": "video/mp4", "href": "https://tube.example/v.mp4"},
                    {"type": "Link", "mediaType": "text/html", "href": "https://tube.example/w/1"}]
        }))
        .unwrap();
        assert_eq!(
            video.content_or_summary(),
            "<p>What is inside</p><p><a href=\"https://tube.example/w/1\">https://tube.example/w/1</a></p>"
        );
        let event: Post = serde_json::from_value(json!({
            "type": "Event", "name": "Workshop", "url": "https://events.example/e/7",
            "content": "<p>Bring drills</p>", "startTime": "2027-01-10T10:00:00Z"
        }))
        .unwrap();
        assert_eq!(event.content_or_summary(), "<p>Bring drills</p>");
        assert!(POST_TYPES.contains(&"Event") && POST_TYPES.contains(&"Video"));
        let bare: Post =
            serde_json::from_value(json!({"type": "Video", "url": "javascript:x"})).unwrap();
        assert_eq!(
            bare.content_or_summary(),
            "",
            "only web addresses are linked"
        );
    }

    #[test]
    fn odd_shapes_read_as_absent_rather_than_refusing_the_post() {
        let post: Post = serde_json::from_value(json!({
            "id": "https://a.example/n/1",
            "type": ["Note", "Extra"],
            "content": {"en": "a contentMap by mistake"},
            "published": "yesterday",
            "to": "https://www.w3.org/ns/activitystreams#Public",
            "cc": ["https://a.example/followers", 7],
            "tag": {"type": "Mention", "href": "https://b.example/r/room"},
            "source": "plain text source",
            "contributors": [{"contributor": "https://a.example/u/a", "role": "author"}, 3],
            "terms": "not an object",
        }))
        .unwrap();
        assert_eq!(post.kind.as_deref(), Some("Note"));
        assert_eq!(post.content, None);
        assert_eq!(post.published, None);
        assert!(post.addressing().is_public());
        assert_eq!(post.cc, vec!["https://a.example/followers"]);
        assert_eq!(post.tag.len(), 1);
        assert!(post.source.is_none());
        assert_eq!(post.contributors.len(), 1);
        assert!(post.terms.is_none());
    }

    #[test]
    fn markdown_source_is_used_only_when_it_says_so() {
        let md = Source {
            content: Some("**x**".into()),
            media_type: Some("text/markdown".into()),
        };
        assert_eq!(md.markdown().as_deref(), Some("**x**"));
        let html = Source {
            content: Some("<b>x</b>".into()),
            media_type: Some("text/html".into()),
        };
        assert_eq!(html.markdown(), None);
    }
}
