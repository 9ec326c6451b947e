//! The inbox refuses what it cannot trust, with the right status, and changes nothing:
//! unsigned, badly signed, wrong digest, stale, replayed, oversized, malformed, unknown types,
//! and activities whose actor is not on the signer's host.

mod common;

use common::remote::RemoteActor;
use common::*;
use serde_json::{json, Value};

async fn support_count(node: &Node, token: &str, idea_id: &Value) -> i64 {
    let (_, i) = node.get(&idea_path(idea_id), token).await;
    i["support_count"].as_i64().unwrap()
}

async fn refused_requests_change_nothing(backend: Backend) {
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
    let remote = RemoteActor::start("mallory").await;
    let inbox = format!("{}/inbox", node.base);
    let like = |id: String| json!({"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Like", "actor": remote.actor_id, "object": idea_ap});

    // Unsigned.
    let body = like(remote.new_id("like")).to_string();
    let (s, text) = remote.post_with_headers(&inbox, body.as_bytes(), &[]).await;
    assert_eq!(s, 401, "unsigned: {text}");
    assert!(text.contains("not signed"), "{text}");

    // Signed by another key under our key id.
    let impostor = RemoteActor::start("impostor").await;
    let mut headers = impostor.signed_headers(&inbox, body.as_bytes());
    let sig = headers.iter_mut().find(|(k, _)| *k == "signature").unwrap();
    sig.1 = sig.1.replace(&impostor.key_id, &remote.key_id);
    let (s, text) = remote
        .post_with_headers(&inbox, body.as_bytes(), &headers)
        .await;
    assert_eq!(s, 401, "bad signature: {text}");

    // Digest of another body.
    let headers = remote.signed_headers(&inbox, b"{}");
    let (s, text) = remote
        .post_with_headers(&inbox, body.as_bytes(), &headers)
        .await;
    assert_eq!(s, 401, "wrong digest: {text}");
    assert!(text.contains("Digest"), "{text}");

    // A date outside the window.
    let old = chrono::Utc::now() - chrono::Duration::hours(13);
    let headers = internals::sign_at(
        "POST",
        &inbox,
        Some(body.as_bytes()),
        &remote.key_id,
        &remote.key,
        old,
    );
    let (s, text) = remote
        .post_with_headers(&inbox, body.as_bytes(), &headers)
        .await;
    assert_eq!(s, 401, "stale: {text}");

    // The actor claims another host than the signer's.
    let forged = json!({"id": "http://other.localhost:1/likes/1", "type": "Like", "actor": "http://other.localhost:1/users/eve", "object": idea_ap});
    let (s, text) = remote.post_activity(&inbox, &forged).await;
    assert_eq!(s, 401, "actor host differs from signer: {text}");

    // A Note created for an object on another host.
    let foreign = json!({"id": remote.new_id("create"), "type": "Create", "actor": remote.actor_id,
        "object": {"id": "http://other.localhost:1/notes/1", "type": "Note", "attributedTo": remote.actor_id, "inReplyTo": idea_ap, "content": "hi"}});
    let (s, text) = remote.post_activity(&inbox, &foreign).await;
    assert_eq!(s, 403, "object on another host: {text}");

    // Malformed JSON, even when properly signed.
    let (s, text) = remote.post_signed(&inbox, b"{\"type\": \"Like\",").await;
    assert_eq!(s, 400, "malformed: {text}");
    let (s, text) = remote.post_signed(&inbox, b"[1, 2, 3]").await;
    assert_eq!(s, 400, "not an object: {text}");
    let (s, text) = remote
        .post_activity(
            &inbox,
            &json!({"type": "Like", "actor": remote.actor_id, "object": idea_ap}),
        )
        .await;
    assert_eq!(s, 400, "no id: {text}");

    // Unknown activity types, correctly signed, are acknowledged as ignored, with the reason.
    let (s, text) = remote.post_activity(&inbox, &json!({"id": remote.new_id("x"), "type": "Rearrange", "actor": remote.actor_id, "object": idea_ap})).await;
    assert_eq!(s, 202, "unknown type: {text}");
    assert!(
        text.contains("\"ignored\"") && text.contains("Rearrange"),
        "{text}"
    );

    // Oversized bodies.
    let huge = format!(
        "{{\"id\": \"x\", \"content\": \"{}\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let (s, _) = remote.post_signed(&inbox, huge.as_bytes()).await;
    assert_eq!(s, 413, "oversized");

    assert_eq!(
        support_count(&node, &staff, &idea["id"]).await,
        0,
        "no refused request changed anything"
    );

    // A good Like counts once; replaying the exact request changes nothing.
    let good = like(remote.new_id("like")).to_string();
    let headers = remote.signed_headers(&inbox, good.as_bytes());
    let (s, text) = remote
        .post_with_headers(&inbox, good.as_bytes(), &headers)
        .await;
    assert_eq!(s, 202, "{text}");
    assert_eq!(support_count(&node, &staff, &idea["id"]).await, 1);
    let (s, text) = remote
        .post_with_headers(&inbox, good.as_bytes(), &headers)
        .await;
    assert_eq!(s, 202, "{text}");
    assert!(text.contains("duplicate"), "{text}");
    // The same headers with another body: the digest no longer matches.
    let other = like(remote.new_id("like")).to_string();
    let (s, _) = remote
        .post_with_headers(&inbox, other.as_bytes(), &headers)
        .await;
    assert_eq!(s, 401);
    assert_eq!(
        support_count(&node, &staff, &idea["id"]).await,
        1,
        "replays change nothing"
    );

    // Keys rotate: a signature by the new key verifies after one fresh fetch of the key.
    let mut remote = remote;
    remote.rotate_key();
    let after_rotation = json!({"id": remote.new_id("undo"), "type": "Undo", "actor": remote.actor_id,
        "object": {"id": "unknown-like", "type": "Like", "actor": remote.actor_id, "object": idea_ap}});
    let (s, text) = remote.post_activity(&inbox, &after_rotation).await;
    assert_eq!(s, 202, "rotated key: {text}");
    assert_eq!(
        support_count(&node, &staff, &idea["id"]).await,
        0,
        "the Undo signed with the new key applied"
    );

    // Objects are served by content negotiation; unknown ones are 404 JSON.
    let (s, page) = node.get_ap(&idea_ap).await;
    assert_eq!(s, 200);
    assert_eq!(page["type"], "Page");
    assert_eq!(page["likes"]["totalItems"], 0);
    let (s, _) = node.get_ap(&format!("{}/ideas/nope", node.base)).await;
    assert_eq!(s, 404);
}

backends!(inbox_security => refused_requests_change_nothing);

/// The same activity delivered to two inboxes at once (bovine sends a reply to each
/// addressee's inbox in parallel) is applied once; the other delivery is a 202 duplicate, never
/// a 5xx that the sender would log or retry.
async fn one_activity_at_two_inboxes_at_once(backend: Backend) {
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
    let remote = RemoteActor::start("twice").await;
    let (shared, room) = (
        format!("{}/inbox", node.base),
        format!("{}/r/lab/inbox", node.base),
    );
    const ROUNDS: usize = 8;
    for _ in 0..ROUNDS {
        let reply = json!({"id": remote.new_id("create"), "type": "Create", "actor": remote.actor_id,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {"id": remote.new_id("note"), "type": "Note", "attributedTo": remote.actor_id,
                       "inReplyTo": idea_ap, "content": "<p>twice</p>",
                       "to": ["https://www.w3.org/ns/activitystreams#Public"]}});
        let ((s1, t1), (s2, t2)) = tokio::join!(
            remote.post_activity(&shared, &reply),
            remote.post_activity(&room, &reply)
        );
        assert_eq!((s1.as_u16(), s2.as_u16()), (202, 202), "{t1} / {t2}");
        let statuses =
            [t1, t2].map(|t| serde_json::from_str::<Value>(&t).unwrap()["status"].clone());
        assert!(
            statuses.contains(&json!("accepted")) && statuses.contains(&json!("duplicate")),
            "{statuses:?}"
        );
    }
    let (_, after) = node
        .get(&format!("/api/v1/ideas/{}", idea["id"]), &staff)
        .await;
    assert_eq!(after["comment_count"], ROUNDS, "{after}");
}

backends!(concurrent_deliveries => one_activity_at_two_inboxes_at_once);
