//! Stewards curate ideas: merging duplicates and crediting contributors.

use serde_json::{json, Value};

use crate::fixture::*;

fn merge_path(idea: &Value) -> String {
    format!("{}/merge", idea_path(&idea["id"]))
}

#[tokio::test]
async fn only_stewards_merge() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let dup = fx.idea_by(&bob, "widgets", "Cup holder").await;
    let keep = fx.idea("widgets", "Holder for cups").await;
    let reply = fx
        .post(&merge_path(&dup), &bob, json!({"into": keep["ap_id"]}))
        .await;
    assert_refused(&reply, 403, "only stewards");
}

#[tokio::test]
async fn an_idea_merges_only_into_another_idea_of_the_same_room() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    fx.public_room("gadgets").await;
    let dup = fx.idea("widgets", "Cup holder").await;
    let elsewhere = fx.idea("gadgets", "Holder for cups").await;
    for into in [&dup["ap_id"], &elsewhere["ap_id"]] {
        let reply = fx
            .post(&merge_path(&dup), &fx.staff, json!({"into": into}))
            .await;
        assert_refused(&reply, 400, "another idea of the same room");
    }
}

#[tokio::test]
async fn merging_carries_support_over_once_and_is_final() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let carol = fx.user("carol").await;
    let dup = fx.idea_by(&bob, "widgets", "Cup holder").await;
    let keep = fx.idea_by(&carol, "widgets", "Holder for cups").await;
    for (who, idea) in [(&bob, &dup), (&bob, &keep), (&carol, &dup)] {
        fx.post(
            &format!("{}/support", idea_path(&idea["id"])),
            who,
            json!({}),
        )
        .await;
    }
    let (s, survivor) = fx
        .post(&merge_path(&dup), &fx.staff, json!({"into": keep["ap_id"]}))
        .await;
    assert_eq!(s, 200, "{survivor}");
    assert_eq!(
        survivor["support_count"], 2,
        "bob once, carol once: {survivor}"
    );
    assert!(
        survivor["contributors"].to_string().contains("/u/bob"),
        "{survivor}"
    );
    let (_, merged) = fx.get(&idea_path(&dup["id"]), &fx.staff).await;
    assert_eq!(
        (&merged["stage"], &merged["merged_into"]),
        (&json!("merged"), &keep["ap_id"])
    );
    let reply = fx
        .post(&merge_path(&dup), &fx.staff, json!({"into": keep["ap_id"]}))
        .await;
    assert_refused(&reply, 409, "both ideas must be open");
}

#[tokio::test]
async fn stewards_credit_contributors_with_known_roles() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    fx.user("carol").await;
    let idea = fx.idea_by(&bob, "widgets", "Refill station").await;
    let path = format!("{}/contributors", idea_path(&idea["id"]));
    let carol = Fixture::handle("carol");
    let reply = fx
        .post(&path, &bob, json!({"handle": carol, "role": "tester"}))
        .await;
    assert_refused(&reply, 403, "only stewards");
    let reply = fx
        .post(&path, &fx.staff, json!({"handle": carol, "role": "fan"}))
        .await;
    assert_refused(&reply, 400, "unknown credit role 'fan'");
    let (s, credited) = fx
        .post(&path, &fx.staff, json!({"handle": carol, "role": "tester"}))
        .await;
    assert_eq!(s, 200, "{credited}");
    let roles: Vec<&Value> = credited["contributors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["role"])
        .collect();
    assert_eq!(roles, [&json!("author"), &json!("tester")], "{credited}");
}
