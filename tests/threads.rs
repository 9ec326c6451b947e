//! Posts as the wider fediverse sends them: a reply to comments this node never received
//! (their parents are fetched from their servers, up to the idea), a PeerTube-style `Video`
//! posted to a room (a suggested idea read from its summary and link), and a `Dislike`
//! (acknowledged, not counted).

mod common;

use common::remote::RemoteActor;
use common::*;
use serde_json::{json, Value};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

async fn wider_fediverse(backend: Backend) {
    let node = Node::start("A", backend).await;
    let staff = node.add_user("alice", true);
    node.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "lab", "title": "Lab"}),
    )
    .await;
    let (_, idea) = node
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "Quieter fan", "body": "x"}),
        )
        .await;
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    let room = format!("{}/r/lab", node.base);
    let inbox = format!("{}/inbox", node.base);

    // Two comments on another server that never reached this node: c1 replies to the idea,
    // c2 to c1. Then someone on a third server replies to c2.
    let ana = RemoteActor::start("ana").await;
    let (c1, c2) = (ana.new_id("note"), ana.new_id("note"));
    for (id, parent, text) in [(&c1, &idea_ap, "first"), (&c2, &c1, "second")] {
        ana.serve(
            json!({"id": id, "type": "Note", "attributedTo": ana.actor_id,
            "inReplyTo": parent, "content": format!("<p>{text}</p>"), "to": [PUBLIC]}),
        );
    }
    let ben = RemoteActor::start("ben").await;
    let c3 = ben.new_id("note");
    let reply = json!({"id": ben.new_id("create"), "type": "Create", "actor": ben.actor_id, "to": [PUBLIC],
        "object": {"id": c3, "type": "Note", "attributedTo": ben.actor_id, "inReplyTo": c2,
                   "content": "<p>third</p>", "to": [PUBLIC]}});
    let (s, text) = ben.post_activity(&inbox, &reply).await;
    assert_eq!(s, 202, "{text}");
    assert!(text.contains("accepted"), "{text}");
    let (_, after) = node
        .get(&format!("/api/v1/ideas/{}", idea["id"]), &staff)
        .await;
    let comments = after["comments"].as_array().unwrap();
    let parent_of = |id: &str| -> Value {
        comments
            .iter()
            .find(|c| c["ap_id"] == id)
            .map(|c| c["in_reply_to"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(comments.len(), 3, "{after}");
    assert_eq!(parent_of(&c1), json!(idea_ap));
    assert_eq!(parent_of(&c2), json!(c1));
    assert_eq!(parent_of(&c3), json!(c2));

    // A reply in a thread that reaches nothing here is ignored, and nothing of it is kept.
    let stray = ana.new_id("note");
    ana.serve(
        json!({"id": stray, "type": "Note", "attributedTo": ana.actor_id,
        "content": "<p>elsewhere</p>", "to": [PUBLIC]}),
    );
    let off = json!({"id": ben.new_id("create"), "type": "Create", "actor": ben.actor_id, "to": [PUBLIC],
        "object": {"id": ben.new_id("note"), "type": "Note", "attributedTo": ben.actor_id, "inReplyTo": stray,
                   "content": "<p>off topic</p>", "to": [PUBLIC]}});
    let (s, text) = ben.post_activity(&inbox, &off).await;
    assert_eq!(s, 202, "{text}");
    assert!(text.contains("ignored"), "{text}");
    let (_, after) = node
        .get(&format!("/api/v1/ideas/{}", idea["id"]), &staff)
        .await;
    assert_eq!(after["comments"].as_array().unwrap().len(), 3);

    // A video posted to the room becomes a suggested idea, read from its summary and page.
    let tube = RemoteActor::start("tube").await;
    let video = json!({"id": tube.new_id("create"), "type": "Create", "actor": tube.actor_id,
        "to": [PUBLIC], "cc": [room],
        "object": {"id": tube.new_id("video"), "type": "Video", "attributedTo": tube.actor_id,
                   "name": "Fan teardown", "summary": "<p>What makes the noise</p>",
                   "url": [{"type": "Link", "mediaType": "text/html", "href": "https://tube.example/w/1"}],
                   "to": [PUBLIC], "cc": [room]}});
    let (s, text) = tube.post_activity(&inbox, &video).await;
    assert_eq!(s, 202, "{text}");
    assert!(text.contains("accepted"), "{text}");
    let (_, ideas) = node.get("/api/v1/rooms/lab/ideas", &staff).await;
    let teardown = ideas
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Fan teardown")
        .unwrap_or_else(|| panic!("no idea from the video: {ideas}"));
    assert_eq!(teardown["stage"], "suggested");
    let content = teardown["content"].as_str().unwrap();
    assert!(
        content.contains("What makes the noise") && content.contains("https://tube.example/w/1"),
        "{content}"
    );

    // A Dislike is acknowledged and counted nowhere.
    let dislike = json!({"id": ben.new_id("dislike"), "type": "Dislike", "actor": ben.actor_id, "object": idea_ap});
    let (s, text) = ben.post_activity(&inbox, &dislike).await;
    assert_eq!(s, 202, "{text}");
    assert!(
        text.contains("ignored") && text.contains("Dislike"),
        "{text}"
    );
    let (_, after) = node
        .get(&format!("/api/v1/ideas/{}", idea["id"]), &staff)
        .await;
    assert_eq!(after["support_count"], 0);
}

backends!(threads => wider_fediverse);
