//! Submitting, reading, editing and deleting ideas.

use axum::http::Method;
use serde_json::json;

use crate::fixture::*;

#[tokio::test]
async fn an_unknown_idea_is_404() {
    let fx = Fixture::new().await;
    for key in ["999999", &format!("http://{DOMAIN}/ideas/nope")] {
        let reply = fx.get(&idea_path(key), &fx.staff).await;
        assert_refused(&reply, 404, "not found");
    }
}

#[tokio::test]
async fn an_idea_is_found_by_its_id_or_its_activitypub_id() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    for key in [&idea["id"], &idea["ap_id"]] {
        let (s, found) = fx.get(&idea_path(key), &fx.staff).await;
        assert_eq!(s, 200, "{found}");
        assert_eq!(found["ap_id"], idea["ap_id"]);
    }
}

#[tokio::test]
async fn a_title_over_200_characters_is_refused() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let submit = |title: String| {
        fx.post(
            "/api/v1/rooms/widgets/ideas",
            &fx.staff,
            json!({"title": title}),
        )
    };
    assert_refused(&submit("t".repeat(201)).await, 400, "title must be 1-200");
    assert_eq!(submit("t".repeat(200)).await.0, 201);
}

#[tokio::test]
async fn a_blank_title_is_refused() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let reply = fx
        .post(
            "/api/v1/rooms/widgets/ideas",
            &fx.staff,
            json!({"title": "  "}),
        )
        .await;
    assert_refused(&reply, 400, "title must be 1-200");
}

#[tokio::test]
async fn a_body_over_50000_bytes_is_refused() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let reply = fx
        .post(
            "/api/v1/rooms/widgets/ideas",
            &fx.staff,
            json!({"title": "Long", "body": "b".repeat(50_001)}),
        )
        .await;
    assert_refused(&reply, 400, "body must be at most 50000 bytes");
}

#[tokio::test]
async fn submitting_to_an_unknown_room_is_404() {
    let fx = Fixture::new().await;
    let reply = fx
        .post(
            "/api/v1/rooms/nowhere/ideas",
            &fx.staff,
            json!({"title": "Lost"}),
        )
        .await;
    assert_refused(&reply, 404, "room 'nowhere' not found");
}

#[tokio::test]
async fn a_body_is_rendered_from_markdown_without_scripts() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let (s, idea) = fx
        .post(
            "/api/v1/rooms/widgets/ideas",
            &fx.staff,
            json!({"title": "Safe", "body": "Use **recycled** <script>alert(1)</script>"}),
        )
        .await;
    assert_eq!(s, 201, "{idea}");
    let content = idea["content"].as_str().unwrap();
    assert!(content.contains("<strong>recycled</strong>"), "{content}");
    assert!(!content.contains("<script"), "{content}");
}

#[tokio::test]
async fn its_author_is_credited_as_author() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea_by(&bob, "widgets", "Lighter casing").await;
    assert_eq!(idea["author"], format!("http://{DOMAIN}/u/bob"));
    assert_eq!(
        idea["contributors"],
        json!([{"actor": format!("http://{DOMAIN}/u/bob"), "role": "author"}])
    );
}

#[tokio::test]
async fn only_the_author_edits_an_idea() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea_by(&bob, "widgets", "Lighter casing").await;
    let path = idea_path(&idea["id"]);
    let reply = fx
        .patch(&path, &fx.staff, json!({"title": "Staff's"}))
        .await;
    assert_refused(&reply, 403, "only the author can edit");
    let (s, edited) = fx
        .patch(&path, &bob, json!({"title": "Lighter, recycled casing"}))
        .await;
    assert_eq!(s, 200, "{edited}");
    assert_eq!(edited["title"], "Lighter, recycled casing");
}

#[tokio::test]
async fn another_user_cannot_delete_an_idea() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let carol = fx.user("carol").await;
    let idea = fx.idea_by(&bob, "widgets", "Lighter casing").await;
    let reply = fx.delete(&idea_path(&idea["id"]), &carol).await;
    assert_refused(&reply, 403, "only the author or staff can delete");
}

#[tokio::test]
async fn the_author_or_staff_delete_an_idea() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let by_author = fx.idea_by(&bob, "widgets", "Lighter casing").await;
    let by_staff = fx.idea_by(&bob, "widgets", "Modular battery").await;
    assert_eq!(fx.delete(&idea_path(&by_author["id"]), &bob).await.0, 204);
    assert_eq!(
        fx.delete(&idea_path(&by_staff["id"]), &fx.staff).await.0,
        204
    );
}

#[tokio::test]
async fn a_deleted_idea_stays_as_a_blank_tombstone() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let path = idea_path(&idea["id"]);
    assert_eq!(fx.delete(&path, &fx.staff).await.0, 204);
    assert_eq!(
        fx.delete(&path, &fx.staff).await.0,
        204,
        "deleting again is harmless"
    );
    let (s, gone) = fx.get(&path, &fx.staff).await;
    assert_eq!(s, 200, "{gone}");
    assert_eq!(gone["deleted"], true);
    assert_eq!(gone["title"], "");
    assert_eq!(gone["body"], "");
}

#[tokio::test]
async fn a_deleted_idea_cannot_be_edited() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let path = idea_path(&idea["id"]);
    fx.delete(&path, &fx.staff).await;
    let reply = fx.patch(&path, &fx.staff, json!({"title": "Back"})).await;
    assert_refused(&reply, 409, "deleted");
}

#[tokio::test]
async fn a_room_s_ideas_come_in_pages_with_a_link_to_the_next() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    for n in 1..=5 {
        fx.idea("widgets", &format!("Idea {n}")).await;
    }
    let page = |query: &str| {
        let path = format!("/api/v1/rooms/widgets/ideas{query}");
        let fx = &fx;
        async move {
            let response = fx
                .respond(build(Method::GET, &path, Some(&fx.staff), ""))
                .await;
            let link = response
                .headers()
                .get("link")
                .map(|v| v.to_str().unwrap().to_string());
            let (status, body) = read(response).await;
            (status, body, link)
        }
    };
    let titles = |body: &serde_json::Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect()
    };

    // Newest first, two at a time, each full page pointing at the next.
    let (s, first, link) = page("?per_page=2").await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(titles(&first), ["Idea 5", "Idea 4"]);
    let link = link.expect("a full page links to the next");
    assert!(
        link.ends_with("/api/v1/rooms/widgets/ideas?page=2&per_page=2>; rel=\"next\""),
        "{link}"
    );
    let (_, third, link) = page("?page=3&per_page=2").await;
    assert_eq!(titles(&third), ["Idea 1"]);
    assert_eq!(link, None, "the last page links nowhere");

    // The same pages by handle, and the default page holds all five.
    let by_handle = format!(
        "/api/v1/ideas?room={}&page=2&per_page=2",
        Fixture::handle("widgets").replace('@', "%40")
    );
    let (s, second) = fx.get(&by_handle, &fx.staff).await;
    assert_eq!(s, 200, "{second}");
    assert_eq!(titles(&second), ["Idea 3", "Idea 2"]);
    let (_, all, link) = page("").await;
    assert_eq!(all.as_array().unwrap().len(), 5);
    assert_eq!(link, None);

    // Out of range: refused in words, not clamped.
    for (query, words) in [
        ("?per_page=0", "per_page: give 1 to 500"),
        ("?per_page=501", "per_page: give 1 to 500"),
        ("?page=0", "page: pages count from 1"),
    ] {
        let (s, body, _) = page(query).await;
        assert_refused(&(s, body), 400, words);
    }
}
