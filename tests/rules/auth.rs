//! Tokens, accounts, and the shape of errors and request bodies.

use axum::body::Body;
use axum::http::{header, Method, Request};
use serde_json::json;

use crate::fixture::*;

#[tokio::test]
async fn a_request_without_a_token_gets_401_json() {
    let fx = Fixture::new().await;
    let response = fx
        .respond(Request::get("/api/v1/me").body(Body::empty()).unwrap())
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let reply = fx.raw(Method::GET, "/api/v1/me", None, "").await;
    assert_refused(&reply, 401, "missing Authorization");
}

#[tokio::test]
async fn an_unknown_token_gets_401() {
    let fx = Fixture::new().await;
    assert_refused(
        &fx.get("/api/v1/me", "nope").await,
        401,
        "invalid API token",
    );
}

#[tokio::test]
async fn an_authorization_that_is_not_a_bearer_token_gets_401() {
    let fx = Fixture::new().await;
    let request = Request::get("/api/v1/me")
        .header(header::AUTHORIZATION, format!("Basic {}", fx.staff))
        .body(Body::empty())
        .unwrap();
    assert_refused(&fx.send(request).await, 401, "Bearer TOKEN");
}

#[tokio::test]
async fn me_is_the_owner_of_the_token() {
    let fx = Fixture::new().await;
    let (s, me) = fx.get("/api/v1/me", &fx.staff).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["handle"], Fixture::handle("alice"));
    assert_eq!(me["staff"], true);
}

#[tokio::test]
async fn only_staff_create_accounts() {
    let fx = Fixture::new().await;
    let bob = fx.user("bob").await;
    let reply = fx.post("/api/v1/users", &bob, json!({"name": "eve"})).await;
    assert_refused(&reply, 403, "only staff");
}

#[tokio::test]
async fn account_names_are_lowercase_and_not_reserved() {
    let fx = Fixture::new().await;
    for (name, why) in [("Bob", "invalid name"), ("admin", "reserved")] {
        let reply = fx
            .post("/api/v1/users", &fx.staff, json!({"name": name}))
            .await;
        assert_refused(&reply, 400, why);
    }
}

#[tokio::test]
async fn a_taken_name_is_409() {
    let fx = Fixture::new().await;
    fx.user("bob").await;
    let reply = fx
        .post("/api/v1/users", &fx.staff, json!({"name": "bob"}))
        .await;
    assert_refused(&reply, 409, "taken");
}

#[tokio::test]
async fn a_malformed_json_body_gets_400_with_a_message() {
    let fx = Fixture::new().await;
    let reply = fx
        .raw(
            Method::POST,
            "/api/v1/rooms",
            Some(&fx.staff),
            r#"{"name": "lab","#,
        )
        .await;
    assert_refused(&reply, 400, "invalid JSON body");
}

#[tokio::test]
async fn a_missing_field_gets_400_naming_it() {
    let fx = Fixture::new().await;
    let reply = fx
        .post("/api/v1/rooms", &fx.staff, json!({"name": "lab"}))
        .await;
    assert_refused(&reply, 400, "title");
}

#[tokio::test]
async fn an_oversized_body_gets_413_json() {
    let fx = Fixture::new().await;
    let huge = format!(
        r#"{{"name": "lab", "title": "{}"}}"#,
        "a".repeat(2 * 1024 * 1024)
    );
    let reply = fx
        .raw(Method::POST, "/api/v1/rooms", Some(&fx.staff), huge)
        .await;
    assert_eq!(reply.0, 413, "{}", reply.1);
    assert_eq!(reply.1["status"], 413, "{}", reply.1);
}

#[tokio::test]
async fn an_unknown_route_gets_404_json() {
    let fx = Fixture::new().await;
    assert_refused(
        &fx.get("/api/v1/nothing", &fx.staff).await,
        404,
        "no such route",
    );
}

#[tokio::test]
async fn a_method_a_route_does_not_have_gets_405_json() {
    let fx = Fixture::new().await;
    let (s, e) = fx.delete("/api/v1/rooms", &fx.staff).await;
    assert_eq!(s, 405, "{e}");
    assert_eq!(e["status"], 405, "{e}");
}

#[tokio::test]
async fn delivery_statistics_are_for_staff() {
    let fx = Fixture::new().await;
    let bob = fx.user("bob").await;
    assert_refused(
        &fx.get("/api/v1/admin/deliveries", &bob).await,
        403,
        "staff",
    );
    let (s, stats) = fx.get("/api/v1/admin/deliveries", &fx.staff).await;
    assert_eq!(s, 200, "{stats}");
}
