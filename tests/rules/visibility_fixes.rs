//! Two bugs the first run of this tier found, fixed with the policy module: withdrawing
//! support revealed a partners idea to a non-member, and a phase's `see` switch was applied to
//! remote members' fetches but not to local members reading through the API.

use serde_json::json;

use crate::fixture::*;

#[tokio::test]
async fn withdrawing_support_does_not_reveal_a_partners_idea_to_a_non_member() {
    let fx = Fixture::new().await;
    fx.partners_room_with_member().await;
    let carol = fx.user("carol").await;
    let idea = fx.idea("lab", "Cheaper alloy").await;
    let (s, body) = fx
        .delete(&format!("{}/support", idea_path(&idea["id"])), &carol)
        .await;
    assert_eq!(s, 404, "{body}");
}

#[tokio::test]
async fn a_phase_that_hides_ideas_from_partners_hides_them_from_local_partners_too() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    fx.set_phases(
        "lab",
        json!([{"name": "stewards only", "submit": [], "comment": [], "support": [],
                "see": ["steward"]}]),
    )
    .await;
    let idea = fx.idea("lab", "Cheaper alloy").await;
    assert_eq!(fx.get(&idea_path(&idea["id"]), &lab.member).await.0, 404);
    assert_eq!(fx.get("/api/v1/rooms/lab/ideas", &lab.member).await.0, 404);
}
