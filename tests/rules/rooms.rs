//! Creating and listing rooms.

use serde_json::json;

use crate::fixture::*;

#[tokio::test]
async fn a_non_staff_user_cannot_create_a_room() {
    let fx = Fixture::new().await;
    let bob = fx.user("bob").await;
    let reply = fx
        .post(
            "/api/v1/rooms",
            &bob,
            json!({"name": "lab", "title": "Lab"}),
        )
        .await;
    assert_refused(&reply, 403, "only staff can create rooms");
}

#[tokio::test]
async fn the_creator_stewards_the_room() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let (s, members) = fx.get("/api/v1/rooms/widgets/members", &fx.staff).await;
    assert_eq!(s, 200, "{members}");
    assert_eq!(members[0]["handle"], Fixture::handle("alice"));
    assert_eq!(members[0]["role"], "steward");
}

#[tokio::test]
async fn rooms_and_people_share_one_namespace() {
    let fx = Fixture::new().await;
    let reply = fx
        .post(
            "/api/v1/rooms",
            &fx.staff,
            json!({"name": "alice", "title": "Clash"}),
        )
        .await;
    assert_refused(&reply, 409, "taken");
}

#[tokio::test]
async fn a_room_name_is_a_valid_local_name() {
    let fx = Fixture::new().await;
    for name in ["Widgets", "-x", "inbox"] {
        let (s, e) = fx
            .post(
                "/api/v1/rooms",
                &fx.staff,
                json!({"name": name, "title": "T"}),
            )
            .await;
        assert_eq!(s, 400, "{name}: {e}");
    }
}

#[tokio::test]
async fn an_unknown_visibility_is_refused() {
    let fx = Fixture::new().await;
    let reply = fx
        .post(
            "/api/v1/rooms",
            &fx.staff,
            json!({"name": "lab", "title": "Lab", "visibility": "secret"}),
        )
        .await;
    assert_refused(&reply, 400, "visibility 'secret' is unknown");
}

#[tokio::test]
async fn a_room_title_has_1_to_200_characters() {
    let fx = Fixture::new().await;
    for title in ["  ".to_string(), "t".repeat(201)] {
        let reply = fx
            .post(
                "/api/v1/rooms",
                &fx.staff,
                json!({"name": "lab", "title": title}),
            )
            .await;
        assert_refused(&reply, 400, "title must be 1-200 characters");
    }
}

#[tokio::test]
async fn every_local_room_is_listed_to_every_user() {
    let fx = Fixture::new().await;
    fx.room("secret", "private").await;
    let carol = fx.user("carol").await;
    fx.public_room("widgets").await;
    let (s, rooms) = fx.get("/api/v1/rooms", &carol).await;
    assert_eq!(s, 200, "{rooms}");
    let names: Vec<&str> = rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{rooms}");
    assert!(
        names.contains(&"widgets") && names.contains(&"secret"),
        "{rooms}"
    );
}

#[tokio::test]
async fn a_room_without_phases_is_in_the_open_phase() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let (s, view) = fx.get("/api/v1/rooms/widgets/phases", &fx.staff).await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["current_name"], "open");
    assert_eq!(view["phases"], json!([]));
}

#[tokio::test]
async fn ideas_record_the_terms_in_force_when_submitted() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let terms = |version: &str| json!({"spdx": "CC-BY-4.0", "version": version});
    let (s, e) = fx
        .put("/api/v1/rooms/widgets/terms", &fx.staff, terms("1"))
        .await;
    assert_eq!(s, 204, "{e}");
    let first = fx.idea("widgets", "Under version 1").await;
    fx.put("/api/v1/rooms/widgets/terms", &fx.staff, terms("2"))
        .await;
    let second = fx.idea("widgets", "Under version 2").await;
    let (_, first) = fx.get(&idea_path(&first["id"]), &fx.staff).await;
    assert_eq!(first["terms"], json!({"id": "CC-BY-4.0", "version": "1"}));
    assert_eq!(second["terms"], json!({"id": "CC-BY-4.0", "version": "2"}));
}

#[tokio::test]
async fn terms_need_a_version_and_a_licence_id_or_a_text() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    for (body, why) in [
        (
            json!({"spdx": "CC-BY-4.0", "version": " "}),
            "need a version",
        ),
        (json!({"version": "1"}), "spdx licence id or a text"),
        (
            json!({"spdx": "CC BY", "version": "1"}),
            "not an SPDX licence id",
        ),
    ] {
        let reply = fx.put("/api/v1/rooms/widgets/terms", &fx.staff, body).await;
        assert_refused(&reply, 400, why);
    }
}
