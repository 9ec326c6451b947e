//! Invitations across nodes: a competitor's organisation is invited and declines with a
//! reason; a supplier's person is invited into a private room, accepts, and receives its
//! content.

mod common;

use common::*;
use serde_json::json;

async fn invitations(backend: Backend) {
    let a = Node::start("A", backend).await;
    let s = Node::start("S", backend).await;
    let x = Node::start("X", backend).await;
    let staff = a.add_user("alice", true);
    let sam = s.add_user("sam", false);
    let xena = x.add_user("xena", true);
    let xavi = x.add_user("xavi", false);
    a.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "secret", "title": "Secret", "visibility": "private"}),
    )
    .await;
    let (_, idea) = a
        .post(
            "/api/v1/rooms/secret/ideas",
            &staff,
            json!({"title": "Stealth feature", "body": ""}),
        )
        .await;
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();

    // A private room refuses requests outright, with a reason.
    let (st, f) = s
        .post(
            "/api/v1/follows",
            &sam,
            json!({"handle": a.handle("secret")}),
        )
        .await;
    assert_eq!(st, 201, "{f}");
    s.get_until(
        "/api/v1/follows",
        &sam,
        20,
        "the private room refuses the follow",
        |_, list| {
            list.as_array().is_some_and(|l| {
                l.iter().any(|f| {
                    f["state"] == "rejected"
                        && f["reason"].as_str().unwrap_or("").contains("invitation")
                })
            })
        },
    )
    .await;

    // The competitor's organisation is invited and declines.
    let x_org = x.organization(&xena).await;
    let (st, inv) = a
        .post(
            "/api/v1/rooms/secret/invitations",
            &staff,
            json!({"handle": x_org["handle"], "role": "partner", "partner_kind": "competitor"}),
        )
        .await;
    assert_eq!(st, 201, "{inv}");
    let x_inv = x
        .get_until(
            "/api/v1/invitations",
            &xena,
            20,
            "X's staff sees the invitation",
            |_, list| list.as_array().is_some_and(|l| !l.is_empty()),
        )
        .await[0]
        .clone();
    assert_eq!(x_inv["partner_kind"], "competitor");
    let (_, others) = x.get("/api/v1/invitations", &xavi).await;
    assert_eq!(others, json!([]), "only staff answer for the organisation");
    let (st, e) = x
        .post(
            &format!("/api/v1/invitations/{}/reject", x_inv["id"]),
            &xena,
            json!({"reason": "we build our own"}),
        )
        .await;
    assert_eq!(st, 200, "{e}");
    a.get_until(
        "/api/v1/rooms/secret/invitations",
        &staff,
        20,
        "A records the refusal and its reason",
        |_, list| {
            list.as_array().is_some_and(|l| {
                l.iter()
                    .any(|i| i["state"] == "rejected" && i["reason"] == "we build our own")
            })
        },
    )
    .await;
    let (_, members) = a.get("/api/v1/rooms/secret/members", &staff).await;
    assert!(!members
        .to_string()
        .contains(x_org["ap_id"].as_str().unwrap()));

    // The supplier's person is invited, accepts, and receives the room's content.
    let (st, _) = a
        .post(
            "/api/v1/rooms/secret/invitations",
            &staff,
            json!({"handle": s.handle("sam"), "role": "partner", "partner_kind": "supplier"}),
        )
        .await;
    assert_eq!(st, 201);
    let s_inv = eventually(20, "sam sees the invitation", || async {
        let (_, list) = s.get("/api/v1/invitations", &sam).await;
        list.as_array()?
            .iter()
            .find(|i| i["state"] == "pending")
            .cloned()
    })
    .await;
    let (st, e) = s
        .post(
            &format!("/api/v1/invitations/{}/accept", s_inv["id"]),
            &sam,
            json!({}),
        )
        .await;
    assert_eq!(st, 200, "{e}");
    let (st, e) = s
        .post(
            &format!("/api/v1/invitations/{}/accept", s_inv["id"]),
            &sam,
            json!({}),
        )
        .await;
    assert_eq!(st, 409, "an invitation is answered once: {e}");
    s.get_until(
        &idea_path(&idea_ap),
        &sam,
        30,
        "sam receives the private room's idea",
        |st, _| st == 200,
    )
    .await;
    let (_, members) = a.get("/api/v1/rooms/secret/members", &staff).await;
    let m = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["handle"] == s.handle("sam"))
        .cloned()
        .unwrap();
    assert_eq!(m["role"], "partner");
    assert_eq!(m["partner_kind"], "supplier");
    assert_all_delivered(&a, &staff, 60).await;
}

backends!(invitations);
