//! Comments: threaded, edited and deleted by their author only.

use serde_json::{json, Value};

use crate::fixture::*;

fn comments_path(idea: &Value) -> String {
    format!("{}/comments", idea_path(&idea["id"]))
}

#[tokio::test]
async fn a_comment_is_shown_with_its_idea() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let (s, after) = fx
        .post(
            &comments_path(&idea),
            &bob,
            json!({"body": "We can *supply* it"}),
        )
        .await;
    assert_eq!(s, 201, "{after}");
    assert_eq!(after["comment_count"], 1);
    assert_eq!(
        after["comments"][0]["author"],
        format!("http://{DOMAIN}/u/bob")
    );
    assert!(after["comments"][0]["content"]
        .as_str()
        .unwrap()
        .contains("<em>supply</em>"));
}

#[tokio::test]
async fn a_comment_on_a_deleted_idea_is_refused() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    fx.delete(&idea_path(&idea["id"]), &fx.staff).await;
    let reply = fx
        .post(&comments_path(&idea), &bob, json!({"body": "Too late"}))
        .await;
    assert_refused(&reply, 409, "the idea was deleted");
}

#[tokio::test]
async fn a_comment_has_1_to_20000_bytes() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    for body in [" ".to_string(), "c".repeat(20_001)] {
        let reply = fx
            .post(&comments_path(&idea), &fx.staff, json!({"body": body}))
            .await;
        assert_refused(&reply, 400, "comment body must be 1-20000 bytes");
    }
}

#[tokio::test]
async fn only_the_author_edits_or_deletes_a_comment() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let (_, after) = fx
        .post(&comments_path(&idea), &bob, json!({"body": "Mine"}))
        .await;
    let path = format!("/api/v1/comments/{}", after["comments"][0]["id"]);
    let reply = fx.patch(&path, &fx.staff, json!({"body": "Staff's"})).await;
    assert_refused(&reply, 403, "only the author can change a comment");
    assert_refused(&fx.delete(&path, &fx.staff).await, 403, "only the author");
    assert_eq!(
        fx.patch(&path, &bob, json!({"body": "Still mine"})).await.0,
        204
    );
    assert_eq!(fx.delete(&path, &bob).await.0, 204);
}

#[tokio::test]
async fn a_deleted_comment_stays_as_a_tombstone_and_cannot_be_edited() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let (_, after) = fx
        .post(&comments_path(&idea), &bob, json!({"body": "Oops"}))
        .await;
    let path = format!("/api/v1/comments/{}", after["comments"][0]["id"]);
    fx.delete(&path, &bob).await;
    assert_refused(
        &fx.patch(&path, &bob, json!({"body": "Back"})).await,
        409,
        "deleted",
    );
    let (_, idea) = fx.get(&idea_path(&idea["id"]), &bob).await;
    assert_eq!(idea["comment_count"], 0, "{idea}");
    assert_eq!(idea["comments"][0]["deleted"], true, "{idea}");
}

#[tokio::test]
async fn a_reply_is_threaded_under_its_comment() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let (_, after) = fx
        .post(&comments_path(&idea), &fx.staff, json!({"body": "First"}))
        .await;
    let parent = after["comments"][0]["ap_id"].clone();
    let (s, after) = fx
        .post(
            &comments_path(&idea),
            &fx.staff,
            json!({"body": "Reply", "in_reply_to": parent}),
        )
        .await;
    assert_eq!(s, 201, "{after}");
    assert_eq!(after["comments"][0]["in_reply_to"], idea["ap_id"]);
    assert_eq!(after["comments"][1]["in_reply_to"], parent);
}

#[tokio::test]
async fn a_reply_to_a_comment_on_another_idea_is_refused() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let one = fx.idea("widgets", "Lighter casing").await;
    let other = fx.idea("widgets", "Modular battery").await;
    let (_, after) = fx
        .post(&comments_path(&one), &fx.staff, json!({"body": "On one"}))
        .await;
    let elsewhere = after["comments"][0]["ap_id"].clone();
    let reply = fx
        .post(
            &comments_path(&other),
            &fx.staff,
            json!({"body": "x", "in_reply_to": elsewhere}),
        )
        .await;
    assert_refused(&reply, 400, "comment on another idea");
}

#[tokio::test]
async fn a_phase_that_closes_comments_refuses_them() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    fx.set_phases(
        "widgets",
        json!([{"name": "quiet", "submit": [], "comment": [], "support": [], "see": ["customer"]}]),
    )
    .await;
    let reply = fx
        .post(&comments_path(&idea), &bob, json!({"body": "Hello?"}))
        .await;
    assert_refused(
        &reply,
        403,
        "in the phase 'quiet' a customer may not comment",
    );
}
