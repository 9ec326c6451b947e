//! Support for ideas: one per person, withdrawn at will, switched by the room's phase.

use serde_json::{json, Value};

use crate::fixture::*;

fn support_path(idea: &Value) -> String {
    format!("{}/support", idea_path(&idea["id"]))
}

/// Support closed in the first phase, open to customers in the second.
fn listening_then_voting() -> Value {
    json!([
        {"name": "listening", "submit": ["customer"], "comment": ["customer"], "support": [],
         "see": ["customer"]},
        {"name": "voting", "submit": [], "comment": ["customer"], "support": ["customer"],
         "see": ["customer"]}
    ])
}

#[tokio::test]
async fn supporting_twice_counts_once() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let (s, first) = fx.post(&support_path(&idea), &bob, json!({})).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["support_count"], 1);
    let (s, again) = fx.post(&support_path(&idea), &bob, json!({})).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["support_count"], 1);
}

#[tokio::test]
async fn withdrawn_support_no_longer_counts() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    fx.post(&support_path(&idea), &bob, json!({})).await;
    let (s, after) = fx.delete(&support_path(&idea), &bob).await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["support_count"], 0);
    let (s, again) = fx.delete(&support_path(&idea), &bob).await;
    assert_eq!(
        (s.as_u16(), &again["support_count"]),
        (200, &json!(0)),
        "withdrawing twice is harmless"
    );
}

#[tokio::test]
async fn supports_of_different_people_add_up() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let carol = fx.user("carol").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    fx.post(&support_path(&idea), &bob, json!({})).await;
    let (_, after) = fx.post(&support_path(&idea), &carol, json!({})).await;
    assert_eq!(after["support_count"], 2);
}

#[tokio::test]
async fn a_phase_that_forbids_support_refuses_it_while_another_phase_allows_it() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    fx.set_phases("widgets", listening_then_voting()).await;
    let reply = fx.post(&support_path(&idea), &bob, json!({})).await;
    assert_refused(
        &reply,
        403,
        "in the phase 'listening' a customer may not support ideas",
    );
    fx.next_phase("widgets").await;
    let (s, supported) = fx.post(&support_path(&idea), &bob, json!({})).await;
    assert_eq!(s, 200, "{supported}");
    assert_eq!(supported["support_count"], 1);
}

#[tokio::test]
async fn a_phase_refuses_support_for_ideas_in_stages_it_does_not_cover() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    fx.set_phases(
        "widgets",
        json!([{"name": "review", "submit": [], "comment": ["customer"], "support": ["customer"],
                "see": ["customer"], "stages": ["under_review"]}]),
    )
    .await;
    let reply = fx.post(&support_path(&idea), &bob, json!({})).await;
    assert_refused(&reply, 403, "does not work on ideas that are suggested");
    fx.stage(&idea, "under_review").await;
    assert_eq!(fx.post(&support_path(&idea), &bob, json!({})).await.0, 200);
}

#[tokio::test]
async fn stewards_take_part_whatever_the_phase() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    fx.set_phases("widgets", listening_then_voting()).await;
    assert_eq!(
        fx.post(&support_path(&idea), &fx.staff, json!({})).await.0,
        200
    );
}

#[tokio::test]
async fn a_deleted_idea_cannot_be_supported() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    fx.delete(&idea_path(&idea["id"]), &fx.staff).await;
    assert_refused(
        &fx.post(&support_path(&idea), &bob, json!({})).await,
        409,
        "deleted",
    );
}
