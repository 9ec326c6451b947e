//! The inbox refuses what it cannot trust, with the right status, and changes nothing:
//! unsigned, badly signed, wrong digest, stale, replayed, oversized, malformed, unknown types,
//! and activities whose actor is not on the signer's host. Both signature schemes are taken
//! (draft-cavage and RFC 9421) and sent (with double-knocking and a memory per host).

mod common;

use common::remote::{Accepts, RemoteActor};
use common::*;
use serde_json::{json, Value};
use sha2::Digest;

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
    // On a client of its own: the node answers 413 without reading the body and closes the
    // connection, which a shared client could otherwise pick up again for the next request
    // (and fail on, now and then, as "connection closed before message completed").
    let mut req = reqwest::Client::new()
        .post(&inbox)
        .header("content-type", "application/activity+json")
        .body(huge.clone().into_bytes());
    for (k, v) in remote.signed_headers(&inbox, huge.as_bytes()) {
        req = req.header(k, v);
    }
    let s = req.send().await.unwrap().status();
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

const ACCEPT_SIGNATURE_POST: &str =
    "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created;alg=\"rsa-v1_5-sha256\"";
const ACCEPT_SIGNATURE_GET: &str =
    "sig1=(\"@method\" \"@target-uri\");created;alg=\"rsa-v1_5-sha256\"";

/// Answers of `peer`'s inbox to the node's deliveries of activities of `kind`, as
/// `(scheme, status)`, in order.
fn knocks(peer: &RemoteActor, kind: &str) -> Vec<(&'static str, u16)> {
    peer.requests()
        .iter()
        .filter(|r| r.body["type"] == kind)
        .map(|r| (r.scheme, r.status))
        .collect()
}

async fn remembered(node: &Node, host: &str) -> Option<String> {
    internals::peer_schemes(&node.database_url)
        .await
        .into_iter()
        .find(|(h, _)| h == host)
        .map(|(_, s)| s)
}

/// Both signature schemes in, and both out: RFC 9421 (as Fedify signs) is accepted at the
/// first knock; a refused signature gets 401 with `Accept-Signature`; a key server that is
/// down gets 503; the node double-knocks on peers that take only one scheme and remembers
/// which; a partners room's deliveries carry FEP-8fcf `Collection-Synchronization`, whose
/// partial collection answers signed GETs only.
async fn both_signature_schemes(backend: Backend) {
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
    let inbox = format!("{}/inbox", node.base);
    let remote = RemoteActor::start("fedi").await;
    let like = |id: String| {
        json!({"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Like", "actor": remote.actor_id, "object": idea_ap}).to_string()
    };

    // RFC 9421 with Content-Digest is accepted at the first knock.
    let body = like(remote.new_id("like"));
    let (s, _, text) = remote.post_rfc9421(&inbox, body.as_bytes()).await;
    assert_eq!(s, 202, "RFC 9421: {text}");
    assert_eq!(support_count(&node, &staff, &idea["id"]).await, 1);

    // Refusals: 401 with Accept-Signature and the JSON error body; nothing changes.
    let body = like(remote.new_id("like"));
    let for_other_body =
        internals::sign_rfc9421("POST", &inbox, Some(b"{}"), &remote.key_id, &remote.key);
    let for_other_inbox = internals::sign_rfc9421(
        "POST",
        &format!("{}/u/alice/inbox", node.base),
        Some(body.as_bytes()),
        &remote.key_id,
        &remote.key,
    );
    let impostor = RemoteActor::start("impostor").await;
    let by_other_key = internals::sign_rfc9421(
        "POST",
        &inbox,
        Some(body.as_bytes()),
        &remote.key_id,
        &impostor.key,
    );
    for (what, headers, says) in [
        ("unsigned", vec![], "not signed"),
        ("digest of another body", for_other_body, "Digest"),
        (
            "signed for another inbox",
            for_other_inbox,
            "does not verify",
        ),
        ("signed by another key", by_other_key, "does not verify"),
    ] {
        let (s, h, text) = remote
            .post_with_headers_full(&inbox, body.as_bytes(), &headers)
            .await;
        assert_eq!(s, 401, "{what}: {text}");
        assert_eq!(h["accept-signature"], ACCEPT_SIGNATURE_POST, "{what}");
        let e: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(e["status"], 401, "{what}: {text}");
        assert!(
            e["error"].as_str().unwrap().contains(says),
            "{what}: {text}"
        );
    }
    assert_eq!(support_count(&node, &staff, &idea["id"]).await, 1);

    // A key that does not exist is 401; a key server that is down is 503, retry later.
    let missing = internals::sign_rfc9421(
        "POST",
        &inbox,
        Some(body.as_bytes()),
        &format!("{}/keys/none", remote.base),
        &remote.key,
    );
    let (s, h, text) = remote
        .post_with_headers_full(&inbox, body.as_bytes(), &missing)
        .await;
    assert_eq!(s, 401, "missing key: {text}");
    assert!(h.contains_key("accept-signature"));
    let ghost = format!("http://localhost:{}/users/ghost", free_port());
    let ghost_like = json!({"id": format!("{ghost}/likes/1"), "type": "Like", "actor": ghost, "object": idea_ap}).to_string();
    for sign in [internals::sign, internals::sign_rfc9421] {
        let headers = sign(
            "POST",
            &inbox,
            Some(ghost_like.as_bytes()),
            &format!("{ghost}#main-key"),
            &remote.key,
        );
        let (s, h, text) = remote
            .post_with_headers_full(&inbox, ghost_like.as_bytes(), &headers)
            .await;
        assert_eq!(s, 503, "key server down: {text}");
        assert_eq!(h["retry-after"], "60");
        assert!(text.contains("retry later"), "{text}");
    }

    // A peer that takes only RFC 9421: the room's Accept is refused with cavage, delivered
    // with RFC 9421 at the second knock, and the host is remembered as RFC 9421.
    let picky = RemoteActor::start("picky").await;
    picky.accept_only(Accepts::Rfc9421);
    let follow = json!({"id": picky.new_id("follow"), "type": "Follow", "actor": picky.actor_id, "object": format!("{}/r/lab", node.base)});
    let (s, _, text) = picky
        .post_rfc9421(
            &format!("{}/r/lab/inbox", node.base),
            follow.to_string().as_bytes(),
        )
        .await;
    assert_eq!(s, 202, "{text}");
    eventually(20, "the Accept reaches the RFC 9421-only peer", || async {
        picky
            .received()
            .iter()
            .any(|a| a["type"] == "Accept")
            .then_some(())
    })
    .await;
    assert_eq!(
        knocks(&picky, "Accept"),
        [("cavage", 401), ("rfc9421", 202)]
    );
    assert_eq!(
        remembered(&node, &picky.domain).await.as_deref(),
        Some("rfc9421")
    );
    // Later deliveries get RFC 9421 at the first knock.
    node.post(
        "/api/v1/rooms/lab/ideas",
        &staff,
        json!({"title": "Second", "body": ""}),
    )
    .await;
    eventually(20, "the idea reaches the RFC 9421-only peer", || async {
        picky
            .received()
            .iter()
            .any(|a| a["type"] == "Announce")
            .then_some(())
    })
    .await;
    assert!(knocks(&picky, "Announce")
        .iter()
        .all(|k| *k == ("rfc9421", 202)));
    // The peer goes back to cavage only: one refused RFC 9421 knock per delivery in flight,
    // then cavage, remembered.
    picky.accept_only(Accepts::Cavage);
    let before = picky.requests().len();
    node.post(
        "/api/v1/rooms/lab/ideas",
        &staff,
        json!({"title": "Third", "body": ""}),
    )
    .await;
    eventually(20, "the idea reaches the cavage-only peer", || async {
        picky
            .received()
            .iter()
            .any(|a| a.to_string().contains("Third"))
            .then_some(())
    })
    .await;
    let after: Vec<_> = picky.requests()[before..]
        .iter()
        .map(|r| (r.scheme, r.status))
        .collect();
    assert!(after.contains(&("rfc9421", 401)), "{after:?}");
    assert!(
        after
            .iter()
            .all(|k| *k == ("rfc9421", 401) || *k == ("cavage", 202)),
        "{after:?}"
    );
    assert_eq!(
        remembered(&node, &picky.domain).await.as_deref(),
        Some("cavage")
    );

    // FEP-8fcf: a partners room's deliveries to a member's host say who follows it there.
    node.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "club", "title": "Club", "visibility": "partners"}),
    )
    .await;
    let pat = RemoteActor::start("pat").await;
    let join = json!({"id": pat.new_id("join"), "type": "Join", "actor": pat.actor_id, "object": format!("{}/r/club", node.base)});
    let (s, _, text) = pat
        .post_rfc9421(
            &format!("{}/r/club/inbox", node.base),
            join.to_string().as_bytes(),
        )
        .await;
    assert_eq!(s, 202, "{text}");
    let request = eventually(20, "the request reaches the stewards", || async {
        let (_, list) = node.get("/api/v1/rooms/club/requests", &staff).await;
        list.as_array()?
            .iter()
            .find(|r| r["actor"] == pat.actor_id.as_str())
            .map(|r| r["id"].clone())
    })
    .await;
    node.post(
        &format!("/api/v1/rooms/club/requests/{request}/approve"),
        &staff,
        json!({"role": "observer"}),
    )
    .await;
    node.post(
        "/api/v1/rooms/club/ideas",
        &staff,
        json!({"title": "Members only", "body": ""}),
    )
    .await;
    let sync = eventually(
        20,
        "a delivery carries Collection-Synchronization",
        || async {
            pat.requests()
                .iter()
                .find_map(|r| r.headers.get("collection-synchronization").cloned())
        },
    )
    .await;
    let digest: String = sha2::Sha256::digest(pat.actor_id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sync_url = format!("{}/r/club/followers_synchronization", node.base);
    assert_eq!(
        sync,
        format!(
            "collectionId=\"{}/r/club/followers\", url=\"{sync_url}\", digest=\"{digest}\"",
            node.base
        )
    );
    assert!(
        knocks(&remote, "Announce").is_empty(),
        "a public room's deliveries carry no such header"
    );
    // Its partial collection: signed GETs only, each host sees its own followers.
    let resp = node
        .http
        .get(&sync_url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["accept-signature"], ACCEPT_SIGNATURE_GET);
    let (s, _, doc) = pat.get_rfc9421(&sync_url).await;
    assert_eq!(s, 200, "{doc}");
    assert_eq!(doc["id"], sync_url.as_str());
    assert_eq!(doc["orderedItems"], json!([pat.actor_id]));
    let (s, doc) = remote.get_signed(&sync_url).await;
    assert_eq!(s, 200, "{doc}");
    assert_eq!(doc["orderedItems"], json!([]), "another host sees nobody");
}

backends!(signature_schemes => both_signature_schemes);

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
