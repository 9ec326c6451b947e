//! Real payloads from 19 fediverse programs, delivered signed to one node: each is understood or
//! refused with a clear 4xx, none gets a 5xx or stops the node, and the ones that mean a comment,
//! a support, a follow, an edit or a delete have that effect.
//!
//! The payloads are not part of this repository: they are read at run time from
//! `../shared/fixtures/fediverse-payloads` (its `SOURCES.md` names where each comes from) and
//! rewritten in memory only. Every payload gets its own test actor (a `RemoteActor` this process
//! serves, with a real key and real HTTP signatures): the original author and every id on the
//! author's host move to that actor's host, and the targets move to the node so that each payload
//! keeps its meaning: the post a reply answers becomes the node's idea, the liked post the idea,
//! the followed community the room, the community a post is addressed to the room, and the note a
//! Delete or Update names a comment the same actor wrote just before. Bare objects are posted once
//! as they are (an object is not an activity: a 4xx) and once wrapped in a `Create` (a
//! `Tombstone` in a `Delete`), as the fediverse would deliver them.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::remote::RemoteActor;
use common::*;
use serde_json::{json, Value};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/fixtures/fediverse-payloads"
);
const AS: &str = "https://www.w3.org/ns/activitystreams";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
/// Types that make a document with an `actor` an activity rather than an object.
const ACTIVITY_TYPES: &[&str] = &[
    "Accept",
    "Add",
    "Announce",
    "Block",
    "Create",
    "Delete",
    "Dislike",
    "EmojiReact",
    "Flag",
    "Follow",
    "Invite",
    "Join",
    "Leave",
    "Like",
    "Lock",
    "Move",
    "Offer",
    "Reject",
    "Remove",
    "Resolve",
    "TentativeAccept",
    "Undo",
    "Update",
    "View",
    "Warn",
];
/// Fewer JSON payloads than this means the fixtures were not really read.
const MIN_PAYLOADS: usize = 150;

#[tokio::test]
async fn fediverse_payloads_are_understood_or_refused_cleanly() {
    let dir = Path::new(FIXTURES);
    assert!(
        dir.is_dir(),
        "the fediverse payload fixtures are missing: expected the directory {FIXTURES} \
         (CI checks out the shared fixtures next to the repository, as ../shared)"
    );
    let files = json_files(dir);
    assert!(
        files.len() >= MIN_PAYLOADS,
        "only {} JSON payloads under {FIXTURES}, expected at least {MIN_PAYLOADS}",
        files.len()
    );

    let node = Node::start("A", Backend::Sqlite).await;
    let token = node.add_user("alice", true);
    let (s, room) = node
        .post(
            "/api/v1/rooms",
            &token,
            json!({"name": "lab", "title": "Lab", "summary": "Where the fediverse takes part", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{room}");
    let (s, idea) = node
        .post(
            "/api/v1/rooms/lab/ideas",
            &token,
            json!({"title": "Quieter fans", "body": "Slower, larger fans for the lab machines"}),
        )
        .await;
    assert_eq!(s, 201, "{idea}");
    let mut lab = Lab {
        idea_id: idea["id"].as_i64().expect("idea id"),
        idea_ap: idea["ap_id"].as_str().expect("idea ap_id").to_string(),
        room_ap: format!("{}/r/lab", node.base),
        node,
        token,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        actors: Vec::new(),
    };

    let mut outcomes = Vec::new();
    for (i, path) in files.iter().enumerate() {
        outcomes.push(lab.replay(i, path).await);
    }
    report(&lab, &outcomes);
}

/// Every `*.json` file under `dir`, sorted; other files (SOURCES.md) are skipped.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// What a payload means, and so what the node must show after it.
#[derive(Debug)]
enum Expect {
    Nothing,
    /// A reply to the idea: a comment with this id.
    Comment(String),
    /// A reply addressed to no public collection: it must not become a public comment.
    PrivateReply(String),
    /// A post addressed to the room: an idea with this id.
    Idea(String),
    /// An edit of the actor's comment `id`, whose content was `before`.
    Edit {
        id: String,
        before: String,
    },
    /// One more support.
    Support {
        before: i64,
    },
    /// The support the actor gave (in setup) is withdrawn.
    UndoSupport {
        before: i64,
    },
    /// The actor follows the room and receives an Accept embedding the Follow `id`.
    Follow(String),
    /// The actor no longer follows the room.
    Unfollow,
    /// The actor's own comment is blanked.
    DeleteOwn(String),
    /// Somebody else's comment (a moderator's removal from another server): it must stay.
    DeleteOthers(String),
    /// The account is gone: its follow, support and comments too.
    DeleteSelf {
        comment: String,
        before: i64,
    },
}

#[derive(Debug, Default)]
struct Outcome {
    file: String,
    program: String,
    label: String,
    inbox: &'static str,
    status: Option<u16>,
    body: String,
    /// The bare object posted unchanged: status.
    as_is: Option<u16>,
    /// What was checked, when the payload has a meaning to check.
    effect: Option<String>,
    problems: Vec<String>,
}

struct Lab {
    node: Node,
    token: String,
    idea_id: i64,
    idea_ap: String,
    room_ap: String,
    http: reqwest::Client,
    /// Kept so their ports stay unique for the whole run.
    actors: Vec<RemoteActor>,
}

impl Lab {
    async fn replay(&mut self, index: usize, path: &Path) -> Outcome {
        let rel = path.strip_prefix(FIXTURES).unwrap_or(path);
        let mut out = Outcome {
            file: rel.display().to_string(),
            program: rel
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .unwrap_or_default(),
            ..Outcome::default()
        };
        let raw: Value = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()))
        {
            Ok(v) if v.is_object() => v,
            Ok(_) => {
                out.problems.push("not a JSON object".into());
                return out;
            }
            Err(e) => {
                out.problems.push(format!("unreadable: {e}"));
                return out;
            }
        };
        let remote = RemoteActor::start(&format!("p{index}")).await;
        let is_activity = raw.get("actor").is_some()
            && type_of(&raw).is_some_and(|t| ACTIVITY_TYPES.contains(&t));
        let mut activity = if is_activity {
            out.label = label_of(&raw);
            self.rewrite(&raw, &raw["actor"], &remote)
        } else {
            out.label = format!("object {}", type_of(&raw).unwrap_or("?"));
            let object = self.rewrite(&raw, &raw["attributedTo"], &remote);
            wrap(&remote, object)
        };
        retarget(&mut activity, &self.idea_ap, &self.room_ap);
        let expect = match self.prepare(&mut activity, &raw, &out.file, &remote).await {
            Ok(e) => e,
            Err(why) => {
                out.problems.push(format!("setup failed: {why}"));
                Expect::Nothing
            }
        };
        let (inbox, url) = if index.is_multiple_of(2) {
            ("room", format!("{}/inbox", self.room_ap))
        } else {
            ("shared", format!("{}/inbox", self.node.base))
        };
        out.inbox = inbox;
        match self.send(&remote, &url, &activity).await {
            Ok((s, body)) => {
                out.status = Some(s);
                out.body = body;
                if !(200..300).contains(&s) && !(400..500).contains(&s) {
                    out.problems
                        .push(format!("answered {s}, neither 2xx nor 4xx"));
                } else if ignored(&out.body) && !clear_error(&out.body) {
                    out.problems
                        .push("ignored without a reason saying why".into());
                } else if (400..500).contains(&s) && !clear_error(&out.body) {
                    out.problems
                        .push("refused without a JSON error saying why".into());
                } else if s == 401 {
                    out.problems.push(
                        "401 for a correctly signed request: the node could not verify it".into(),
                    );
                }
            }
            Err(e) => out.problems.push(e),
        }
        self.check_alive(&mut out).await;

        if out.status.is_some() {
            if let Err(why) = self.check(&expect, &remote, &out).await {
                out.problems.push(why);
            }
            out.effect = describe(&expect);
        }

        if !is_activity {
            // The same object unchanged and not wrapped: not an activity, so a clear 4xx.
            match self.send(&remote, &url, &raw).await {
                Ok((s, body)) => {
                    out.as_is = Some(s);
                    // 400 (no actor), or 401 when the object names an author on its own host,
                    // which did not sign the request.
                    if !(400..500).contains(&s) || !clear_error(&body) {
                        out.problems.push(format!(
                            "the bare object posted as is answered {s} (expected a 4xx saying why): {}",
                            short(&body)
                        ));
                    }
                }
                Err(e) => out.problems.push(format!("bare object: {e}")),
            }
            self.check_alive(&mut out).await;
        }
        self.actors.push(remote);
        out
    }

    /// Moves the author (`actor`, a string or an embedded actor) and everything on its host to
    /// `remote`, and the community the document is addressed to (`audience`) to the room.
    fn rewrite(&self, doc: &Value, actor: &Value, remote: &RemoteActor) -> Value {
        let actor = id_of(actor).map(String::from);
        let origin = actor
            .as_deref()
            .or_else(|| id_of(&doc["id"]))
            .and_then(host_of);
        let communities = [&doc["audience"], &doc["object"]["audience"]]
            .into_iter()
            .filter_map(|v| v.as_str().and_then(schemeless).map(String::from))
            .collect();
        let mut r = Rewriter {
            remote,
            actor,
            origin,
            communities,
            room: self.room_ap.clone(),
            map: HashMap::new(),
        };
        let mut doc = doc.clone();
        r.value(&mut doc);
        doc
    }

    /// Gives Deletes and Updates a comment to act on, Undos the activity they undo, and says
    /// what the payload must change.
    async fn prepare(
        &self,
        a: &mut Value,
        raw: &Value,
        file: &str,
        remote: &RemoteActor,
    ) -> Result<Expect, String> {
        if !a["id"].is_string() {
            // A documentation example without an id: it cannot be applied (nor undone).
            return Ok(Expect::Nothing);
        }
        let shared = format!("{}/inbox", self.node.base);
        let room_inbox = format!("{}/inbox", self.room_ap);
        let kind = type_of(a).unwrap_or_default().to_string();
        let object = a["object"].clone();
        let object_type = if object.is_object() {
            type_of(&object).unwrap_or_default().to_string()
        } else {
            String::new()
        };
        let replies_to_idea = object["inReplyTo"] == self.idea_ap.as_str();
        let to_room = [
            &a["to"],
            &a["cc"],
            &a["audience"],
            &object["to"],
            &object["cc"],
            &object["audience"],
        ]
        .iter()
        .any(|v| mentions(v, &self.room_ap));
        Ok(match kind.as_str() {
            // A direct message (Mastodon's "mentioned people only") that replies to the idea.
            "Create"
                if object_type == "Note"
                    && replies_to_idea
                    && has_content(&object)
                    && !addressed_publicly(a) =>
            {
                Expect::PrivateReply(id_of(&object).unwrap_or_default().to_string())
            }
            "Create" if object_type == "Note" && replies_to_idea && has_content(&object) => {
                Expect::Comment(id_of(&object).unwrap_or_default().to_string())
            }
            // The node takes a post addressed to a room (a Lemmy or Mbin post in a community,
            // a Discourse topic in a category) as an idea suggested there.
            "Create"
                if matches!(
                    object_type.as_str(),
                    "Note" | "Page" | "Article" | "Question"
                ) && object["inReplyTo"].is_null()
                    && to_room =>
            {
                Expect::Idea(id_of(&object).unwrap_or_default().to_string())
            }
            "Update" if object_type == "Note" && replies_to_idea => {
                let id = id_of(&object).unwrap_or_default().to_string();
                let before = "<p>what the comment said before the edit</p>";
                self.setup(remote, &shared, &note(remote, &id, &self.idea_ap, before))
                    .await?;
                let stored = self
                    .comment(&id)
                    .await
                    .ok_or("the comment to edit was not stored")?;
                Expect::Edit {
                    id,
                    before: stored["content"].as_str().unwrap_or_default().to_string(),
                }
            }
            "Like" | "EmojiReact" => Expect::Support {
                before: self.support_count().await,
            },
            "Follow" => Expect::Follow(a["id"].as_str().unwrap_or_default().to_string()),
            "Undo" if matches!(object_type.as_str(), "Like" | "EmojiReact") => {
                let before = self.support_count().await;
                self.setup(remote, &shared, &with_context(object)).await?;
                let after = self.support_count().await;
                if after != before + 1 {
                    return Err(format!(
                        "the Like to undo did not count: support {before} -> {after}"
                    ));
                }
                Expect::UndoSupport { before }
            }
            "Undo" if object_type == "Follow" => {
                self.setup(remote, &room_inbox, &with_context(object))
                    .await?;
                if !self.followers().await.contains(&remote.actor_id) {
                    return Err("the Follow to undo did not make a follower".into());
                }
                Expect::Unfollow
            }
            "Delete" => {
                let raw_actor = id_of(&raw["actor"]).unwrap_or_default();
                let raw_target = id_of(&raw["object"]).unwrap_or_default();
                let deletes_account = id_of(&a["object"]) == Some(remote.actor_id.as_str())
                    || file.contains("delete_user");
                let by_moderator = file.contains("moderator")
                    || (raw_target.starts_with("http")
                        && host_of(raw_target) != host_of(raw_actor));
                if deletes_account {
                    a["object"] = json!(remote.actor_id);
                    let before = self.support_count().await;
                    self.setup(remote, &room_inbox, &follow(remote, &self.room_ap))
                        .await?;
                    self.setup(remote, &shared, &like(remote, &self.idea_ap))
                        .await?;
                    let comment = remote.new_id("note");
                    self.setup(
                        remote,
                        &shared,
                        &note(remote, &comment, &self.idea_ap, "<p>soon gone</p>"),
                    )
                    .await?;
                    Expect::DeleteSelf { comment, before }
                } else if by_moderator {
                    let author = RemoteActor::start("author").await;
                    let comment = author.new_id("note");
                    self.setup(
                        &author,
                        &shared,
                        &note(
                            &author,
                            &comment,
                            &self.idea_ap,
                            "<p>someone else's words</p>",
                        ),
                    )
                    .await?;
                    set_target(a, &comment);
                    Expect::DeleteOthers(comment)
                } else {
                    let comment = remote.new_id("note");
                    self.setup(
                        remote,
                        &shared,
                        &note(
                            remote,
                            &comment,
                            &self.idea_ap,
                            "<p>about to be deleted</p>",
                        ),
                    )
                    .await?;
                    set_target(a, &comment);
                    Expect::DeleteOwn(comment)
                }
            }
            _ => Expect::Nothing,
        })
    }

    /// Checks that the payload had the effect it means.
    async fn check(
        &self,
        expect: &Expect,
        remote: &RemoteActor,
        out: &Outcome,
    ) -> Result<(), String> {
        let refused = |what: &str| {
            format!(
                "{what}, but the node answered {}: {}",
                out.status.unwrap_or_default(),
                short(&out.body)
            )
        };
        let ok = out.status.is_some_and(|s| (200..300).contains(&s)) && !ignored(&out.body);
        let after = self.idea().await;
        let count = |v: &Value| v["support_count"].as_i64().unwrap_or(-1);
        match expect {
            Expect::Nothing => Ok(()),
            Expect::Comment(id) => match find_comment(&after, id) {
                Some(c) if c["deleted"] != true => Ok(()),
                _ if !ok => Err(refused("a reply to the idea must become a comment")),
                _ => Err(format!("accepted, but no comment {id} on the idea")),
            },
            // Comments are public and the room announces them to every follower: a direct
            // message (mastodon/object_private_message.json) must not become one (202 ignored).
            Expect::PrivateReply(id) => match find_comment(&after, id) {
                Some(_) => Err(format!(
                    "a reply addressed to nobody public (to/cc without the Public \
                     collection) became the public comment {id}, which the room announces"
                )),
                None => Ok(()),
            },
            Expect::Idea(id) => {
                let (s, idea) = self.node.get(&idea_path(id), &self.token).await;
                match (s.as_u16(), ok) {
                    (200, _) if idea["room"]["ap_id"] == self.room_ap.as_str() => Ok(()),
                    (200, _) => Err(format!("idea {id} stored outside the room: {idea}")),
                    (_, false) => Err(refused("a post addressed to the room must become an idea")),
                    _ => Err(format!("accepted, but GET idea {id} answered {s}: {idea}")),
                }
            }
            Expect::Edit { id, before } => match find_comment(&after, id) {
                Some(c) if c["content"].as_str() != Some(before.as_str()) => Ok(()),
                _ if !ok => Err(refused("an Update of one's own comment must edit it")),
                _ => Err(format!("accepted, but comment {id} still reads {before:?}")),
            },
            Expect::Support { before: b } if count(&after) == b + 1 => Ok(()),
            Expect::Support { .. } if !ok => {
                Err(refused("a Like of the idea must count as support"))
            }
            Expect::Support { before: b } => Err(format!(
                "accepted, but support went {b} -> {}",
                count(&after)
            )),
            Expect::UndoSupport { before: b } if count(&after) == *b => Ok(()),
            Expect::UndoSupport { .. } if !ok => {
                Err(refused("Undo(Like) must withdraw the support"))
            }
            Expect::UndoSupport { before: b } => Err(format!(
                "accepted, but support is {} instead of {b}",
                count(&after)
            )),
            Expect::Follow(follow_id) => {
                if !self.followers().await.contains(&remote.actor_id) {
                    return Err(if ok {
                        "accepted, but the actor is not among the room's followers".into()
                    } else {
                        refused("a Follow of the public room must make a follower")
                    });
                }
                let deadline = Instant::now() + Duration::from_secs(15);
                loop {
                    let answered = remote.received().iter().any(|v| {
                        type_of(v) == Some("Accept")
                            && id_of(&v["object"]) == Some(follow_id.as_str())
                    });
                    if answered {
                        return Ok(());
                    }
                    if Instant::now() > deadline {
                        return Err(format!(
                            "follower stored, but no Accept of {follow_id} reached the actor's inbox"
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            }
            Expect::Unfollow => {
                if self.followers().await.contains(&remote.actor_id) {
                    Err(if ok {
                        "accepted, but the actor still follows the room".into()
                    } else {
                        refused("Undo(Follow) must end the follow")
                    })
                } else {
                    Ok(())
                }
            }
            Expect::DeleteOwn(id) => match find_comment(&after, id) {
                Some(c) if blanked(c) => Ok(()),
                _ if !ok => Err(refused("a Delete of one's own comment must blank it")),
                Some(c) => Err(format!(
                    "accepted, but comment {id} still shows {}",
                    c["content"]
                )),
                None => Err(format!("comment {id} vanished instead of being blanked")),
            },
            Expect::DeleteOthers(id) => match find_comment(&after, id) {
                Some(c) if !blanked(c) => Ok(()),
                _ => Err(format!(
                    "another server's actor blanked a comment it did not write (answered {})",
                    out.status.unwrap_or_default()
                )),
            },
            Expect::DeleteSelf { comment, before: b } => {
                let mut missing = Vec::new();
                if self.followers().await.contains(&remote.actor_id) {
                    missing.push("still follows the room".to_string());
                }
                if count(&after) != *b {
                    missing.push(format!("support is {} instead of {b}", count(&after)));
                }
                if !find_comment(&after, comment).is_some_and(blanked) {
                    missing.push(format!("comment {comment} not blanked"));
                }
                match (missing.is_empty(), ok) {
                    (true, _) => Ok(()),
                    (false, false) => {
                        Err(refused("a Delete of the account must remove its traces"))
                    }
                    (false, true) => Err(format!("accepted, but {}", missing.join("; "))),
                }
            }
        }
    }

    async fn send(
        &self,
        from: &RemoteActor,
        inbox: &str,
        activity: &Value,
    ) -> Result<(u16, String), String> {
        let body = activity.to_string().into_bytes();
        let headers = from.signed_headers(inbox, &body);
        let mut req = self
            .http
            .post(inbox)
            .header("content-type", "application/activity+json")
            .body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("POST {inbox} failed: {e}"))?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await.unwrap_or_default()))
    }

    /// Sends an activity a payload builds on; it must be accepted.
    async fn setup(&self, from: &RemoteActor, inbox: &str, activity: &Value) -> Result<(), String> {
        let (s, body) = self.send(from, inbox, activity).await?;
        if (200..300).contains(&s) {
            Ok(())
        } else {
            Err(format!(
                "{} sent first answered {s}: {}",
                label_of(activity),
                short(&body)
            ))
        }
    }

    async fn check_alive(&mut self, out: &mut Outcome) {
        let alive = self
            .http
            .get(format!("{}/.well-known/nodeinfo", self.node.base))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if !alive {
            out.problems.push(format!(
                "the node stopped answering; its log ends with:\n{}",
                tail(&self.node.log(), 20)
            ));
            self.node.restart().await;
        }
    }

    async fn idea(&self) -> Value {
        let (s, v) = self.node.get(&idea_path(&self.idea_id), &self.token).await;
        assert_eq!(s, 200, "the test idea must stay readable: {v}");
        v
    }

    async fn support_count(&self) -> i64 {
        self.idea().await["support_count"].as_i64().unwrap_or(-1)
    }

    async fn comment(&self, id: &str) -> Option<Value> {
        find_comment(&self.idea().await, id).cloned()
    }

    async fn followers(&self) -> Vec<String> {
        let (s, v) = self
            .node
            .get_ap(&format!("{}/followers", self.room_ap))
            .await;
        assert_eq!(s, 200, "the room's followers must stay readable: {v}");
        v["orderedItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| id_of(f).map(String::from))
            .collect()
    }
}

/// Rewrites string values: the author, ids on its host and the addressed community.
struct Rewriter<'a> {
    remote: &'a RemoteActor,
    actor: Option<String>,
    origin: Option<String>,
    communities: Vec<String>,
    room: String,
    /// Same original id, same new id, within one payload.
    map: HashMap<String, String>,
}

impl Rewriter<'_> {
    fn value(&mut self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.string(s),
            Value::Array(items) => {
                for item in items {
                    self.value(item);
                }
            }
            Value::Object(o) => {
                for (k, item) in o.iter_mut() {
                    if k != "@context" {
                        self.value(item);
                    }
                }
            }
            _ => {}
        }
    }

    fn string(&mut self, s: &str) -> String {
        match s {
            // Mbin's snapshot test scrubbed ids and dates; give them fresh real ones.
            "SCRUBBED_ID" => return self.remote.new_id("scrubbed"),
            "SCRUBBED_DATE" => {
                return chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }
            _ => {}
        }
        if let Some(url) = self.url(s) {
            return url;
        }
        match &self.actor {
            // Mentions and links to the author inside HTML content.
            Some(a) if s.contains(a.as_str()) => s.replace(a.as_str(), &self.remote.actor_id),
            _ => s.to_string(),
        }
    }

    fn url(&mut self, s: &str) -> Option<String> {
        let bare = schemeless(s)?;
        if let Some(actor) = self.actor.as_deref().and_then(schemeless) {
            if bare == actor {
                return Some(self.remote.actor_id.clone());
            }
            if let Some(rest) = bare.strip_prefix(actor) {
                if rest.starts_with('#') {
                    return Some(format!("{}{rest}", self.remote.actor_id));
                }
                let name = rest.trim_start_matches('/');
                if matches!(name, "followers" | "following" | "inbox" | "outbox") {
                    return Some(format!("{}/{name}", self.remote.actor_id));
                }
            }
        }
        if self.communities.iter().any(|c| c == bare) {
            return Some(self.room.clone());
        }
        if self.origin.is_some() && host_of(s) == self.origin {
            let remote = self.remote;
            return Some(
                self.map
                    .entry(bare.to_string())
                    .or_insert_with(|| remote.new_id("o"))
                    .clone(),
            );
        }
        None
    }
}

/// Points what a payload acts on at the node: replies at the idea, likes at the idea, follows
/// at the room, and the same inside an Undo.
fn retarget(a: &mut Value, idea: &str, room: &str) {
    match type_of(a).unwrap_or_default() {
        "Create" | "Update" => {
            let objects: Vec<&mut Value> = match &mut a["object"] {
                Value::Array(items) => items.iter_mut().collect(),
                o @ Value::Object(_) => vec![o],
                _ => vec![],
            };
            for o in objects {
                let replies = !o["inReplyTo"].is_null();
                // A poll vote (a Note with a name and no content) answers a Question, not an idea.
                let vote = o["name"].is_string() && !has_content(o);
                if replies && !vote {
                    o["inReplyTo"] = json!(idea);
                }
            }
        }
        "Like" | "Dislike" | "EmojiReact" => a["object"] = json!(idea),
        "Follow" => a["object"] = json!(room),
        "Undo" => {
            let inner = &mut a["object"];
            if inner.is_object()
                && matches!(
                    type_of(inner),
                    Some("Like" | "Dislike" | "EmojiReact" | "Follow")
                )
            {
                retarget(inner, idea, room);
            }
        }
        _ => {}
    }
}

/// A bare object as the fediverse delivers it: in a `Create` (a `Tombstone` in a `Delete`).
fn wrap(remote: &RemoteActor, object: Value) -> Value {
    let kind = if type_of(&object) == Some("Tombstone") {
        "Delete"
    } else {
        "Create"
    };
    json!({
        "@context": object.get("@context").cloned().unwrap_or(json!(AS)),
        "id": remote.new_id(&kind.to_lowercase()),
        "type": kind,
        "actor": remote.actor_id,
        "to": object.get("to").cloned().unwrap_or(json!([PUBLIC])),
        "cc": object.get("cc").cloned().unwrap_or(json!([])),
        "object": object,
    })
}

fn note(remote: &RemoteActor, id: &str, idea: &str, html: &str) -> Value {
    json!({
        "@context": AS,
        "id": remote.new_id("create"),
        "type": "Create",
        "actor": remote.actor_id,
        "to": [PUBLIC],
        "object": {
            "id": id, "type": "Note", "attributedTo": remote.actor_id, "inReplyTo": idea,
            "content": html, "to": [PUBLIC],
        },
    })
}

fn follow(remote: &RemoteActor, room: &str) -> Value {
    json!({"@context": AS, "id": remote.new_id("follow"), "type": "Follow", "actor": remote.actor_id, "object": room})
}

fn like(remote: &RemoteActor, idea: &str) -> Value {
    json!({"@context": AS, "id": remote.new_id("like"), "type": "Like", "actor": remote.actor_id, "object": idea})
}

fn with_context(mut v: Value) -> Value {
    if v.get("@context").is_none() {
        v["@context"] = json!(AS);
    }
    v
}

/// Points a Delete at `id`, keeping an embedded Tombstone embedded.
fn set_target(a: &mut Value, id: &str) {
    if a["object"].is_object() {
        a["object"]["id"] = json!(id);
    } else {
        a["object"] = json!(id);
    }
}

fn describe(e: &Expect) -> Option<String> {
    Some(
        match e {
            Expect::Nothing => return None,
            Expect::Comment(_) => "comment",
            Expect::PrivateReply(_) => "private reply kept private",
            Expect::Idea(_) => "idea",
            Expect::Edit { .. } => "edit",
            Expect::Support { .. } => "support",
            Expect::UndoSupport { .. } => "support withdrawn",
            Expect::Follow(_) => "follower+Accept",
            Expect::Unfollow => "unfollowed",
            Expect::DeleteOwn(_) => "comment blanked",
            Expect::DeleteOthers(_) => "others' comment kept",
            Expect::DeleteSelf { .. } => "account traces gone",
        }
        .to_string(),
    )
}

fn find_comment<'a>(idea: &'a Value, id: &str) -> Option<&'a Value> {
    idea["comments"]
        .as_array()?
        .iter()
        .find(|c| c["ap_id"] == id)
}

fn blanked(c: &Value) -> bool {
    c["deleted"] == true || c["content"].as_str().is_some_and(|s| s.trim().is_empty())
}

/// Whether an activity or its object is addressed to the public collection, in any of the
/// spellings the fediverse uses.
fn addressed_publicly(a: &Value) -> bool {
    let public = |v: &Value| {
        let mut all = Vec::new();
        match v {
            Value::String(s) => all.push(s.as_str()),
            Value::Array(items) => all.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        }
        all.iter()
            .any(|s| matches!(*s, PUBLIC | "as:Public" | "Public"))
    };
    [a, &a["object"]]
        .iter()
        .any(|v| ["to", "cc", "audience"].iter().any(|k| public(&v[*k])))
}

/// A refusal that says why: `{"error": "..."}`.
/// A JSON answer saying why: an `error`, or the `reason` an activity was ignored.
fn clear_error(body: &str) -> bool {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v["error"]
                .as_str()
                .or(v["reason"].as_str())
                .map(|e| !e.trim().is_empty())
        })
        .unwrap_or(false)
}

/// Whether the node acknowledged an activity as about nothing it acts on.
fn ignored(body: &str) -> bool {
    serde_json::from_str::<Value>(body).is_ok_and(|v| v["status"] == "ignored")
}

fn has_content(o: &Value) -> bool {
    o["content"].as_str().is_some_and(|s| !s.trim().is_empty())
}

fn mentions(v: &Value, id: &str) -> bool {
    match v {
        Value::String(s) => s == id,
        Value::Array(items) => items.iter().any(|i| mentions(i, id)),
        Value::Object(_) => id_of(v) == Some(id),
        _ => false,
    }
}

fn type_of(v: &Value) -> Option<&str> {
    match &v["type"] {
        Value::String(s) => Some(s),
        Value::Array(a) => a.iter().find_map(Value::as_str),
        _ => None,
    }
}

fn id_of(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        Value::Array(a) => a.first().and_then(id_of),
        _ => None,
    }
}

/// `Undo(Follow)`, `Create(Note)`, `Like`.
fn label_of(v: &Value) -> String {
    let kind = type_of(v).unwrap_or("?");
    match &v["object"] {
        o @ Value::Object(_) => format!("{kind}({})", type_of(o).unwrap_or("?")),
        Value::Array(items) => format!(
            "{kind}([{}])",
            items
                .iter()
                .map(|i| type_of(i).unwrap_or("url"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        _ => kind.to_string(),
    }
}

fn schemeless(s: &str) -> Option<&str> {
    s.strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
}

/// `host[:port]`, the unit of the node's origin checks.
fn host_of(s: &str) -> Option<String> {
    let u = url::Url::parse(s).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    Some(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

fn short(s: &str) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() > 160 {
        format!("{}...", one_line.chars().take(160).collect::<String>())
    } else {
        one_line
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Prints the table and the summary, then fails with every problem found.
fn report(lab: &Lab, outcomes: &[Outcome]) {
    eprintln!(
        "\n{:<50} {:<26} {:<6} {:>6} {:>6}  effect / answer",
        "payload", "type", "inbox", "status", "as-is"
    );
    for o in outcomes {
        let status = o.status.map_or("-".into(), |s| s.to_string());
        let as_is = o.as_is.map_or(String::new(), |s| s.to_string());
        let note = match (&o.effect, o.status) {
            (Some(e), _) => e.clone(),
            (None, Some(s)) if s >= 400 || ignored(&o.body) => short(&o.body),
            _ => String::new(),
        };
        let flag = if o.problems.is_empty() {
            ""
        } else {
            "  <-- PROBLEM"
        };
        eprintln!(
            "{:<50} {:<26} {:<6} {:>6} {:>6}  {note}{flag}",
            o.file, o.label, o.inbox, status, as_is
        );
    }

    // Applied (2xx), acknowledged but ignored (202 `ignored`: signed, about nothing here),
    // refused (4xx), failed (5xx), no answer.
    let class = |o: &Outcome| match o.status {
        Some(200..=299) if ignored(&o.body) => 1,
        Some(200..=299) => 0,
        Some(400..=499) => 2,
        Some(500..=599) => 3,
        _ => 4,
    };
    let mut by_program: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    let mut by_type: BTreeMap<String, [usize; 5]> = BTreeMap::new();
    for o in outcomes {
        by_program.entry(&o.program).or_default()[class(o)] += 1;
        let kind = o.label.split('(').next().unwrap_or_default().to_string();
        by_type.entry(kind).or_default()[class(o)] += 1;
    }
    let header = |first: &str| {
        eprintln!(
            "\n{first:<26} {:>7} {:>7} {:>5} {:>5} {:>5}",
            "applied", "ignored", "4xx", "5xx", "none"
        )
    };
    header("program");
    for (p, c) in &by_program {
        eprintln!(
            "{p:<26} {:>7} {:>7} {:>5} {:>5} {:>5}",
            c[0], c[1], c[2], c[3], c[4]
        );
    }
    header("type");
    for (t, c) in &by_type {
        eprintln!(
            "{t:<26} {:>7} {:>7} {:>5} {:>5} {:>5}",
            c[0], c[1], c[2], c[3], c[4]
        );
    }
    let checked: Vec<&Outcome> = outcomes.iter().filter(|o| o.effect.is_some()).collect();
    let answered = outcomes.iter().filter(|o| o.status.is_some()).count();
    let count = |k: usize| outcomes.iter().filter(|o| class(o) == k).count();
    eprintln!(
        "\n{} payloads, {answered} answered: {} applied, {} ignored (202, about nothing here), \
         {} refused (4xx), {} failed (5xx); {} with an effect checked, {} with a problem",
        outcomes.len(),
        count(0),
        count(1),
        count(2),
        count(3),
        checked.len(),
        outcomes.iter().filter(|o| !o.problems.is_empty()).count()
    );

    let log = lab.node.log();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    eprintln!(
        "node log ({}): {} ERROR lines{}",
        lab.node.log_path().display(),
        errors.len(),
        if errors.is_empty() {
            String::new()
        } else {
            format!(", the last ones:\n{}", tail(&errors.join("\n"), 10))
        }
    );

    let problems: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.problems.is_empty())
        .map(|o| {
            format!(
                "{} [{}] -> {}: {}",
                o.file,
                o.label,
                o.status.map_or("no answer".into(), |s| s.to_string()),
                o.problems.join(" | ")
            )
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{} of {} payloads went wrong:\n{}\n\nnode errors (log at {}):\n{}",
        problems.len(),
        outcomes.len(),
        problems.join("\n"),
        lab.node.log_path().display(),
        tail(&errors.join("\n"), 30)
    );
    assert!(
        answered >= MIN_PAYLOADS,
        "only {answered} payloads were answered by the node; expected at least {MIN_PAYLOADS}"
    );
    for kind in [
        "comment",
        "support",
        "support withdrawn",
        "follower+Accept",
        "unfollowed",
        "comment blanked",
    ] {
        assert!(
            checked.iter().any(|o| o.effect.as_deref() == Some(kind)),
            "no payload exercised the effect {kind:?}"
        );
    }
    for required in [
        "mastodon/create_note.json",
        "lemmy/create_comment.json",
        "pleroma/create_note.json",
    ] {
        assert!(
            outcomes
                .iter()
                .any(|o| o.file == required && o.effect.as_deref() == Some("comment")),
            "{required} must be checked as a comment"
        );
    }
}
