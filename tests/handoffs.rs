//! Handoffs between organisations: A hands an idea with three contributors from two nodes to X,
//! X accepts it into its room and hands it on to S; every copy carries the credit, the terms and
//! the provenance chain; a rejected offer changes nothing; forged offers and answers are refused.

mod common;

use common::remote::RemoteActor;
use common::*;
use serde_json::{json, Value};

async fn incoming(node: &Node, token: &str) -> Value {
    eventually(20, "an offer arrives", || async {
        let (_, list) = node.get("/api/v1/handoffs?direction=incoming", token).await;
        list.as_array()?
            .iter()
            .rev()
            .find(|h| h["state"] == "pending")
            .cloned()
    })
    .await
}

async fn handoffs(backend: Backend) {
    let a = Node::start("A", backend).await;
    let x = Node::start("X", backend).await;
    let s = Node::start("S", backend).await;
    let alice = a.add_user("alice", true);
    let amir = a.add_user("amir", false);
    let xena = x.add_user("xena", true);
    let sara = s.add_user("sara", true);
    s.add_user("sam", false); // credited below as an improver on S
    a.post(
        "/api/v1/rooms",
        &alice,
        json!({"name": "widgets", "title": "Widgets"}),
    )
    .await;
    x.post(
        "/api/v1/rooms",
        &xena,
        json!({"name": "intake", "title": "Intake"}),
    )
    .await;
    s.post(
        "/api/v1/rooms",
        &sara,
        json!({"name": "lab", "title": "Lab"}),
    )
    .await;
    let (st, e) = a
        .put(
            "/api/v1/rooms/widgets/terms",
            &alice,
            json!({"spdx": "CC-BY-4.0", "version": "1"}),
        )
        .await;
    assert_eq!(st, 204, "{e}");

    // An idea with three contributors from two nodes: its author, a co-author, and an improver
    // on S whose comment was taken.
    let (_, idea) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &amir,
            json!({"title": "Refill station", "body": "Refill cartridges in store"}),
        )
        .await;
    assert_eq!(
        idea["terms"],
        json!({"id": "CC-BY-4.0", "version": "1"}),
        "{idea}"
    );
    let path = idea_path(&idea["id"]);
    let (st, e) = a
        .post(
            &format!("{path}/contributors"),
            &amir,
            json!({"handle": a.handle("alice"), "role": "co-author"}),
        )
        .await;
    assert_eq!(st, 403, "only stewards credit: {e}");
    a.post(
        &format!("{path}/contributors"),
        &alice,
        json!({"handle": a.handle("alice"), "role": "co-author"}),
    )
    .await;
    let (st, credited) = a
        .post(
            &format!("{path}/contributors"),
            &alice,
            json!({"handle": s.handle("sam"), "role": "improver"}),
        )
        .await;
    assert_eq!(st, 200, "{credited}");
    assert_eq!(credited["contributors"].as_array().unwrap().len(), 3);

    // Forged: an Offer of A's idea signed by an actor of another node is refused.
    let x_org = x.organization(&xena).await;
    let forger = RemoteActor::start("mallory").await;
    let forged = json!({"id": forger.new_id("offer"), "type": "Offer", "actor": forger.actor_id,
        "object": idea["ap_id"], "target": x_org["ap_id"], "to": [x_org["ap_id"]]});
    let (st, text) = forger
        .post_activity(&format!("{}/inbox", x.base), &forged)
        .await;
    assert_eq!(st, 403, "{text}");
    // Forged: an Accept of an offer A never made changes nothing (acknowledged as ignored).
    let fake_accept = json!({"id": forger.new_id("accept"), "type": "Accept", "actor": forger.actor_id,
        "object": {"id": format!("{}/activities/never", a.base), "type": "Offer"}, "result": forger.new_id("copy")});
    let (st, text) = forger
        .post_activity(&format!("{}/inbox", a.base), &fake_accept)
        .await;
    assert_eq!(st, 202, "{text}");
    assert!(text.contains("\"ignored\""), "{text}");

    // A hands the idea to X; X accepts it into its room.
    let (st, offer) = a
        .post(
            &format!("{path}/handoffs"),
            &alice,
            json!({"to": x_org["handle"], "message": "You have the stores"}),
        )
        .await;
    assert_eq!(st, 201, "{offer}");
    let (_, listed) = x.get("/api/v1/handoffs", &x.add_user("xavi", false)).await;
    assert_eq!(listed["status"], 403, "only staff handle offers");
    let received = incoming(&x, &xena).await;
    assert_eq!(received["title"], "Refill station");
    assert_eq!(received["message"], "You have the stores");
    let (st, accepted) = x
        .post(
            &format!("/api/v1/handoffs/{}/accept", received["id"]),
            &xena,
            json!({"room": "intake"}),
        )
        .await;
    assert_eq!(st, 200, "{accepted}");
    let copy_ap = accepted["result"].as_str().unwrap().to_string();
    let (_, copy) = x.get(&idea_path(&copy_ap), &xena).await;
    let credit: Vec<&str> = copy["contributors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(copy["contributors"].as_array().unwrap().len(), 3, "{copy}");
    assert!(
        credit.contains(&"author") && credit.contains(&"co-author") && credit.contains(&"improver")
    );
    assert_eq!(copy["terms"], json!({"id": "CC-BY-4.0", "version": "1"}));
    assert_eq!(copy["origin"], idea["ap_id"]);
    assert_eq!(copy["provenance"].as_array().unwrap().len(), 1);
    assert_eq!(
        copy["provenance"][0]["from"],
        a.organization(&alice).await["ap_id"]
    );
    assert_eq!(copy["provenance"][0]["to"], x_org["ap_id"]);

    // A's idea is handed off and links forward; the hop verifies by fetching the origin.
    a.get_until(&path, &alice, 20, "A's idea is handed off", |_, i| {
        i["stage"] == "handed_off" && i["handed_off_to"] == copy_ap.as_str()
    })
    .await;
    let (_, origin_page) = a.get_ap(idea["ap_id"].as_str().unwrap()).await;
    assert_eq!(origin_page["handedOffTo"], copy_ap.as_str());
    let (st, e) = a
        .post(
            &format!("{path}/handoffs"),
            &alice,
            json!({"to": x_org["handle"]}),
        )
        .await;
    assert_eq!(st, 409, "a handed-off idea cannot be offered again: {e}");

    // X hands it on to S: S's copy shows a chain of two handoffs.
    let s_org = s.organization(&sara).await;
    let (st, e) = x
        .post(
            &format!("{}/handoffs", idea_path(&copy["id"])),
            &xena,
            json!({"to": s_org["handle"], "message": "Better fit"}),
        )
        .await;
    assert_eq!(st, 201, "{e}");
    let received = incoming(&s, &sara).await;
    let (_, accepted) = s
        .post(
            &format!("/api/v1/handoffs/{}/accept", received["id"]),
            &sara,
            json!({"room": "lab"}),
        )
        .await;
    let (_, second) = s.get(&idea_path(&accepted["result"]), &sara).await;
    let chain = second["provenance"].as_array().unwrap();
    assert_eq!(chain.len(), 2, "{second}");
    assert_eq!(chain[1]["from"], x_org["ap_id"]);
    assert_eq!(chain[1]["origin"], copy_ap.as_str());
    assert_eq!(second["contributors"].as_array().unwrap().len(), 3);

    // A rejected offer leaves the idea unchanged on both sides, with the reason shown.
    let (_, other) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &amir,
            json!({"title": "Bulk lids", "body": ""}),
        )
        .await;
    a.post(
        &format!("{}/handoffs", idea_path(&other["id"])),
        &alice,
        json!({"to": s_org["handle"]}),
    )
    .await;
    let received = incoming(&s, &sara).await;
    let (st, _) = s
        .post(
            &format!("/api/v1/handoffs/{}/reject", received["id"]),
            &sara,
            json!({"reason": "not our market"}),
        )
        .await;
    assert_eq!(st, 200);
    a.get_until(
        "/api/v1/handoffs?direction=outgoing",
        &alice,
        20,
        "A shows the rejection",
        |_, list| {
            list.as_array().is_some_and(|l| {
                l.iter()
                    .any(|h| h["state"] == "rejected" && h["reason"] == "not our market")
            })
        },
    )
    .await;
    let (_, unchanged) = a.get(&idea_path(&other["id"]), &alice).await;
    assert_eq!(unchanged["stage"], "suggested");
    assert_eq!(unchanged["handed_off_to"], Value::Null);

    // An offer withdrawn before an answer is withdrawn on both sides.
    let (_, third) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &amir,
            json!({"title": "Deposit scheme", "body": ""}),
        )
        .await;
    let (_, offer3) = a
        .post(
            &format!("{}/handoffs", idea_path(&third["id"])),
            &alice,
            json!({"to": x_org["handle"]}),
        )
        .await;
    incoming(&x, &xena).await;
    let (st, w) = a
        .delete(&format!("/api/v1/handoffs/{}", offer3["id"]), &alice)
        .await;
    assert_eq!(st, 200, "{w}");
    assert_eq!(w["state"], "withdrawn");
    x.get_until(
        "/api/v1/handoffs?direction=incoming",
        &xena,
        20,
        "X sees the withdrawal",
        |_, list| {
            list.as_array().is_some_and(|l| {
                l.iter()
                    .any(|h| h["title"] == "Deposit scheme" && h["state"] == "withdrawn")
            })
        },
    )
    .await;
    assert_all_delivered(&a, &alice, 60).await;
}

backends!(handoffs);
