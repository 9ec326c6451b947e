//! Handoffs are handled by staff, and only to other nodes' organisations.

use axum::http::Method;
use serde_json::json;

use crate::fixture::*;

#[tokio::test]
async fn handoff_routes_are_staff_only() {
    let fx = Fixture::new().await;
    let bob = fx.user("bob").await;
    let cases = [
        (Method::GET, "/api/v1/handoffs", None),
        (Method::GET, "/api/v1/handoffs?direction=incoming", None),
        (
            Method::POST,
            "/api/v1/handoffs/1/accept",
            Some(json!({"room": "widgets"})),
        ),
        (
            Method::POST,
            "/api/v1/handoffs/1/reject",
            Some(json!({"reason": "no"})),
        ),
    ];
    for (method, path, body) in cases {
        let reply = fx.call(method.clone(), path, &bob, body).await;
        assert_refused(&reply, 403, "only staff can handle handoffs");
    }
}

#[tokio::test]
async fn a_new_node_has_no_handoffs() {
    let fx = Fixture::new().await;
    let (s, list) = fx
        .get("/api/v1/handoffs?direction=outgoing", &fx.staff)
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn an_unknown_direction_is_400() {
    let fx = Fixture::new().await;
    let reply = fx
        .get("/api/v1/handoffs?direction=sideways", &fx.staff)
        .await;
    assert_refused(&reply, 400, "incoming or outgoing");
}

#[tokio::test]
async fn unknown_handoffs_are_404() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    assert_refused(
        &fx.delete("/api/v1/handoffs/999", &fx.staff).await,
        404,
        "handoff 999",
    );
    let accept = fx
        .post(
            "/api/v1/handoffs/999/accept",
            &fx.staff,
            json!({"room": "widgets"}),
        )
        .await;
    assert_refused(&accept, 404, "handoff 999");
    let reject = fx
        .post("/api/v1/handoffs/999/reject", &fx.staff, json!({}))
        .await;
    assert_refused(&reject, 404, "handoff 999");
}

#[tokio::test]
async fn an_idea_is_not_handed_to_this_nodes_own_organisation() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Refill station").await;
    let (_, org) = fx.get("/api/v1/organization", &fx.staff).await;
    let reply = fx
        .post(
            &format!("{}/handoffs", idea_path(&idea["id"])),
            &fx.staff,
            json!({"to": org["handle"]}),
        )
        .await;
    assert_refused(&reply, 400, "is not another node's organisation");
}
