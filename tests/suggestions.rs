//! Customers suggest from any fediverse client: a public post addressed to a room (as a
//! Mastodon user writes "@widgets@node ...") becomes an idea with a clean title; a private
//! message never does; the room's stage changes on such an idea still reach other followers.

mod common;

use common::remote::RemoteActor;
use common::*;
use serde_json::json;

async fn suggestions(backend: Backend) {
    let mut a = Node::start("A", backend).await;
    let b = Node::start("B", backend).await;
    let staff = a.add_user("alice", true);
    let bob = b.add_user("bob", false);
    a.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "widgets", "title": "Widgets"}),
    )
    .await;
    let (s, _) = b
        .post(
            "/api/v1/follows",
            &bob,
            json!({"handle": a.handle("widgets")}),
        )
        .await;
    assert_eq!(s, 201);
    let room = format!("{}/r/widgets", a.base);
    let customer = RemoteActor::start("customer").await;

    // A private message to the room is acknowledged as ignored and creates nothing.
    let dm = json!({"id": customer.new_id("create"), "type": "Create", "actor": customer.actor_id, "to": [room],
        "object": {"id": customer.new_id("note"), "type": "Note", "attributedTo": customer.actor_id, "to": [room],
                   "content": "<p>@widgets secret plan</p>"}});
    let (s, text) = customer
        .post_activity(&format!("{}/inbox", a.base), &dm)
        .await;
    assert_eq!(s, 202, "{text}");
    assert!(
        text.contains("\"ignored\"") && text.contains("not addressed to the public"),
        "{text}"
    );

    // A public post mentioning the room becomes an idea (Mastodon's shape: Public in cc).
    let note_id = customer.new_id("note");
    let post = json!({"id": customer.new_id("create"), "type": "Create", "actor": customer.actor_id,
        "to": [room], "cc": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": note_id, "type": "Note", "attributedTo": customer.actor_id,
                   "to": [room], "cc": ["https://www.w3.org/ns/activitystreams#Public"],
                   "tag": [{"type": "Mention", "href": room, "name": "@widgets"}],
                   "content": "<p><span class=\"h-card\"><a href=\"x\">@widgets</a></span> Charging station</p><p>So that the tools stay charged.</p>"}});
    let (s, text) = customer
        .post_activity(&format!("{}/u/alice/inbox", a.base), &post)
        .await;
    assert_eq!(s, 202, "{text}");
    let (s, idea) = a.get(&idea_path(&note_id), &staff).await;
    assert_eq!(s, 200, "{idea}");
    assert_eq!(idea["title"], "Charging station");
    assert_eq!(idea["stage"], "suggested");
    assert_eq!(idea["author"], customer.actor_id.as_str());
    assert_eq!(idea["room"]["ap_id"], room.as_str());

    // B, another follower, sees it; the room's stage change reaches B although the idea's id
    // lives on the customer's server.
    let on_b = idea_path(&note_id);
    b.get_until(&on_b, &bob, 20, "the suggestion reaches B", |s, _| s == 200)
        .await;
    let on_a = idea_path(&idea["id"]);
    let (s, e) = a
        .post(
            &format!("{on_a}/stage"),
            &staff,
            json!({"stage": "under_review", "answer": "Good point"}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    b.get_until(&on_b, &bob, 20, "the stage change reaches B", |_, i| {
        i["stage"] == "under_review" && i["stage_answer"] == "Good point"
    })
    .await;

    // The author may edit its words, not the stage: only the room's node sets stages.
    let mut edited = post["object"].clone();
    edited["content"] = json!("<p>@widgets Charging station, solar</p>");
    edited["stage"] = json!("launched");
    edited["updated"] = json!(chrono::Utc::now().to_rfc3339());
    let update = json!({"id": customer.new_id("update"), "type": "Update", "actor": customer.actor_id,
        "to": [room], "cc": ["https://www.w3.org/ns/activitystreams#Public"], "object": edited});
    let (s, text) = customer
        .post_activity(&format!("{}/inbox", a.base), &update)
        .await;
    assert_eq!(s, 202, "{text}");
    for (node, token) in [(&a, &staff), (&b, &bob)] {
        node.get_until(
            &on_b,
            token,
            20,
            "the edit reaches the node with the stage unchanged",
            |_, i| {
                i["content"].as_str().unwrap_or("").contains("solar")
                    && i["stage"] == "under_review"
            },
        )
        .await;
    }

    // Nothing A sent is left undelivered or refused.
    assert_all_delivered(&a, &staff, 60).await;
    // B unfollows while A is down: it works from B's cache, and A learns it when it is back.
    a.kill();
    let (s, _) = b
        .delete(
            &format!("/api/v1/follows/{}", encode(&a.handle("widgets"))),
            &bob,
        )
        .await;
    assert_eq!(s, 204);
    a.launch().await;
    eventually(30, "the room drops B's follower", || async {
        let (_, f) = a.get_ap(&format!("{room}/followers")).await;
        (f["totalItems"] == 0).then_some(())
    })
    .await;

    // A deleted suggestion stays deleted: a late Update changes nothing, a stage change is refused.
    let delete = json!({"id": customer.new_id("delete"), "type": "Delete", "actor": customer.actor_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"], "object": note_id});
    let (s, text) = customer
        .post_activity(&format!("{}/inbox", a.base), &delete)
        .await;
    assert_eq!(s, 202, "{text}");
    let mut late = update.clone();
    late["id"] = json!(customer.new_id("update"));
    let (s, text) = customer
        .post_activity(&format!("{}/inbox", a.base), &late)
        .await;
    assert_eq!(s, 202, "a late Update is acknowledged and ignored: {text}");
    let (s, e) = a
        .post(
            &format!("{on_a}/stage"),
            &staff,
            json!({"stage": "in_design", "answer": "x"}),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    let (_, i) = a.get(&on_a, &staff).await;
    assert_eq!(i["deleted"], true);
    assert_eq!(i["title"], "");
}

backends!(suggestions);
