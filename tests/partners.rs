//! Partners rooms: a supplier's node asks to join and a steward approves it with a role; a
//! customer's request is refused with a reason; content is addressed to members only and served
//! only to a member's signed GET; a removed member loses access at once.

mod common;

use common::remote::RemoteActor;
use common::*;
use serde_json::{json, Value};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

async fn request_id(a: &Node, staff: &str, actor: &str) -> Value {
    eventually(20, "the request reaches the stewards", || async {
        let (_, list) = a.get("/api/v1/rooms/lab/requests", staff).await;
        list.as_array()?
            .iter()
            .find(|r| r["actor"] == actor)
            .map(|r| r["id"].clone())
    })
    .await
}

async fn partners_room(backend: Backend) {
    let a = Node::start("A", backend).await;
    let s = Node::start("S", backend).await;
    let c = Node::start("C", backend).await;
    let staff = a.add_user("alice", true);
    let amir = a.add_user("amir", false);
    let sam = s.add_user("sam", false);
    let sue = s.add_user("sue", false);
    let carl = c.add_user("carl", false);
    let (st, room) = a
        .post(
            "/api/v1/rooms",
            &staff,
            json!({"name": "lab", "title": "Partner lab", "visibility": "partners"}),
        )
        .await;
    assert_eq!(st, 201, "{room}");
    a.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "widgets", "title": "Widgets"}),
    )
    .await;
    let (st, e) = a
        .post(
            "/api/v1/rooms/lab/ideas",
            &amir,
            json!({"title": "x", "body": ""}),
        )
        .await;
    assert_eq!(
        st, 403,
        "a non-member cannot submit to a partners room: {e}"
    );
    let (st, p1) = a
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "Cheaper alloy", "body": "Supplier input needed"}),
        )
        .await;
    assert_eq!(st, 201, "{p1}");
    let p1_ap = p1["ap_id"].as_str().unwrap().to_string();

    let (st, _) = a.get_ap(&p1_ap).await;
    assert_eq!(st, 401, "unsigned fetches of partners content are refused");

    // The customer follows the public room, and asks for the partners room.
    let (st, _) = c
        .post(
            "/api/v1/follows",
            &carl,
            json!({"handle": a.handle("widgets")}),
        )
        .await;
    assert_eq!(st, 201);
    let (st, f) = c
        .post("/api/v1/follows", &carl, json!({"handle": a.handle("lab")}))
        .await;
    assert_eq!(st, 201);
    assert_eq!(f["state"], "pending");
    // The supplier asks to join with a message.
    let (st, j) = s
        .post(
            "/api/v1/joins",
            &sam,
            json!({"handle": a.handle("lab"), "message": "We make the alloy"}),
        )
        .await;
    assert_eq!(st, 201, "{j}");
    assert_eq!(j["state"], "pending");

    let sam_ap = format!("{}/u/sam", s.base);
    let carl_ap = format!("{}/u/carl", c.base);
    let sam_request = request_id(&a, &staff, &sam_ap).await;
    let carl_request = request_id(&a, &staff, &carl_ap).await;
    let (st, _) = a
        .post(
            &format!("/api/v1/rooms/lab/requests/{sam_request}/approve"),
            &amir,
            json!({"role": "partner"}),
        )
        .await;
    assert_eq!(st, 403, "only stewards answer requests");
    let (st, e) = a
        .post(
            &format!("/api/v1/rooms/lab/requests/{sam_request}/approve"),
            &staff,
            json!({"role": "partner", "partner_kind": "supplier"}),
        )
        .await;
    assert_eq!(st, 204, "{e}");
    let (st, e) = a
        .post(
            &format!("/api/v1/rooms/lab/requests/{carl_request}/refuse"),
            &staff,
            json!({"reason": "customers join the public room"}),
        )
        .await;
    assert_eq!(st, 204, "{e}");

    // The customer sees the refusal and its reason; it cannot see the partners idea.
    c.get_until(
        "/api/v1/follows",
        &carl,
        20,
        "the refusal reaches C",
        |_, list| {
            list.as_array().is_some_and(|l| {
                l.iter().any(|f| {
                    f["target"]["handle"] == a.handle("lab")
                        && f["state"] == "rejected"
                        && f["reason"] == "customers join the public room"
                })
            })
        },
    )
    .await;
    let (st, _) = c.get(&idea_path(&p1_ap), &carl).await;
    assert_eq!(st, 404);
    // Not even with a signed GET from the customer's own node, nor by guessing URLs.
    for url in [
        p1_ap.clone(),
        format!("{}/r/lab/outbox", a.base),
        format!("{}/r/lab/followers", a.base),
        format!("{}/ideas/guessed", a.base),
    ] {
        let (st, _) = c.signed_get_as_node(&url).await;
        assert_eq!(st, 404, "C's signed GET of {url}");
    }

    // The supplier's node receives the room's earlier idea (fetched with a signature, as a
    // member's node); only the member sees it there.
    let on_s = idea_path(&p1_ap);
    s.get_until(
        &on_s,
        &sam,
        30,
        "the partners idea reaches the supplier",
        |st, _| st == 200,
    )
    .await;
    let (st, _) = s.get(&on_s, &sue).await;
    assert_eq!(
        st, 404,
        "another user of the supplier's node is not a member"
    );
    let (_, members) = a.get("/api/v1/rooms/lab/members", &staff).await;
    let sam_member = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["actor"] == sam_ap.as_str())
        .cloned()
        .unwrap();
    assert_eq!(sam_member["role"], "partner");
    assert_eq!(sam_member["partner_kind"], "supplier");

    // A steward changes the supplier's role; the change is recorded and federated.
    let (st, changed) = a
        .put(
            &format!("/api/v1/rooms/lab/members/{}", encode(&s.handle("sam"))),
            &staff,
            json!({"role": "partner", "partner_kind": "agency"}),
        )
        .await;
    assert_eq!(st, 200, "{changed}");
    assert_eq!(changed["partner_kind"], "agency");

    // New ideas and comments flow between the members, addressed to the room's followers only.
    let (_, p2) = a
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "Thinner walls", "body": ""}),
        )
        .await;
    let p2_ap = p2["ap_id"].as_str().unwrap().to_string();
    s.get_until(
        &idea_path(&p2_ap),
        &sam,
        20,
        "the new idea reaches the supplier",
        |st, _| st == 200,
    )
    .await;
    let (st, e) = s
        .post(
            &format!("{on_s}/comments"),
            &sam,
            json!({"body": "Alloy 7075 would do"}),
        )
        .await;
    assert_eq!(st, 201, "{e}");
    a.get_until(
        &idea_path(&p1["id"]),
        &staff,
        20,
        "the supplier's comment reaches A",
        |_, i| i["comments"].to_string().contains("7075"),
    )
    .await;

    // Authorized fetch with a real signature: a member's GET works; after its removal, the same
    // actor's GET of the ideas is refused at once.
    let partner = RemoteActor::start("pat").await;
    let join = json!({"id": partner.new_id("join"), "type": "Join", "actor": partner.actor_id, "object": room["ap_id"]});
    let (st, t) = partner
        .post_activity(&format!("{}/r/lab/inbox", a.base), &join)
        .await;
    assert_eq!(st, 202, "{t}");
    let (st, _) = partner.get_signed(&p1_ap).await;
    assert_eq!(st, 404, "a requester is not a member yet");
    let pat_request = request_id(&a, &staff, &partner.actor_id).await;
    a.post(
        &format!("/api/v1/rooms/lab/requests/{pat_request}/approve"),
        &staff,
        json!({"role": "observer"}),
    )
    .await;
    let (st, doc) = partner.get_signed(&p1_ap).await;
    assert_eq!(st, 200, "{doc}");
    // Member-only addressing: the idea names the room's followers, never the public.
    assert_eq!(doc["to"], json!([format!("{}/r/lab/followers", a.base)]));
    assert!(!doc.to_string().contains(PUBLIC), "{doc}");
    let stranger = RemoteActor::start("guess").await;
    for url in [
        &p1_ap,
        &p2_ap,
        &format!("{}/r/lab/outbox", a.base),
        &format!("{}/r/lab/followers", a.base),
    ] {
        let (st, _) = stranger.get_signed(url).await;
        assert_eq!(
            st, 404,
            "a signed GET by a non-member reveals nothing: {url}"
        );
    }
    let (st, e) = a
        .delete(
            &format!(
                "/api/v1/rooms/lab/members/{}",
                encode(&format!("pat@{}", partner.domain))
            ),
            &staff,
        )
        .await;
    assert_eq!(st, 204, "{e}");
    let (st, _) = partner.get_signed(&p2_ap).await;
    assert_eq!(st, 404, "a removed member loses access at once");
    eventually(20, "the removed partner is told", || async {
        partner
            .received()
            .iter()
            .any(|a| a["type"] == "Remove" && a["object"] == partner.actor_id.as_str())
            .then_some(())
    })
    .await;

    // The supplier's node itself may fetch the room's content while sam is a member.
    let (st, _) = s.signed_get_as_node(&p2_ap).await;
    assert_eq!(st, 200);

    // Removing the supplier: its node stops following, and new ideas no longer reach it.
    let (st, _) = a
        .delete(
            &format!("/api/v1/rooms/lab/members/{}", encode(&s.handle("sam"))),
            &staff,
        )
        .await;
    assert_eq!(st, 204);
    s.get_until(
        "/api/v1/follows",
        &sam,
        20,
        "the supplier's node drops the follow",
        |_, list| !list.to_string().contains("lab@"),
    )
    .await;
    let (_, p3) = a
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "After removal", "body": ""}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (st, _) = s.signed_get_as_node(p3["ap_id"].as_str().unwrap()).await;
    assert_eq!(st, 404, "after the removal the supplier's node is refused");
    let (st, _) = s.get(&idea_path(&p3["ap_id"]), &sam).await;
    assert_eq!(st, 404, "a removed member's node gets nothing new");
    assert_all_delivered(&a, &staff, 60).await;
}

backends!(partners_room);
