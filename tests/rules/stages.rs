//! The idea life cycle through the API: staff move ideas one step at a time, with an answer.

use serde_json::json;

use crate::fixture::*;

async fn change(
    fx: &Fixture,
    token: &str,
    idea: &serde_json::Value,
    stage: &str,
) -> (axum::http::StatusCode, serde_json::Value) {
    fx.post(
        &format!("{}/stage", idea_path(&idea["id"])),
        token,
        json!({"stage": stage, "answer": "because"}),
    )
    .await
}

#[tokio::test]
async fn a_new_idea_is_suggested_and_may_go_to_review_or_be_declined() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    assert_eq!(idea["stage"], "suggested");
    assert_eq!(idea["next_stages"], json!(["under_review", "declined"]));
}

#[tokio::test]
async fn a_stage_change_to_a_stage_not_allowed_from_the_current_one_is_refused() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let reply = change(&fx, &fx.staff, &idea, "in_design").await;
    assert_refused(&reply, 409, "cannot move from suggested to in_design");
}

#[tokio::test]
async fn only_staff_change_stages() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea_by(&bob, "widgets", "Lighter casing").await;
    let reply = change(&fx, &bob, &idea, "under_review").await;
    assert_refused(&reply, 403, "only staff");
}

#[tokio::test]
async fn a_stage_change_needs_an_answer() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let reply = fx
        .post(
            &format!("{}/stage", idea_path(&idea["id"])),
            &fx.staff,
            json!({"stage": "under_review", "answer": "  "}),
        )
        .await;
    assert_refused(&reply, 400, "needs an answer");
}

#[tokio::test]
async fn an_unknown_stage_is_400() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    assert_refused(
        &change(&fx, &fx.staff, &idea, "shipped").await,
        400,
        "unknown stage",
    );
}

#[tokio::test]
async fn merged_and_handed_off_are_not_stage_changes() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    for stage in ["merged", "handed_off"] {
        let reply = change(&fx, &fx.staff, &idea, stage).await;
        assert_refused(&reply, 400, "merge and handoff flows");
    }
}

#[tokio::test]
async fn a_stage_change_records_the_answer() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let (s, moved) = fx
        .post(
            &format!("{}/stage", idea_path(&idea["id"])),
            &fx.staff,
            json!({"stage": "under_review", "answer": "Engineering will look"}),
        )
        .await;
    assert_eq!(s, 200, "{moved}");
    assert_eq!(moved["stage"], "under_review");
    assert_eq!(moved["stage_answer"], "Engineering will look");
}

#[tokio::test]
async fn a_declined_idea_may_only_be_reopened_for_review() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let declined = fx.stage(&idea, "declined").await;
    assert_eq!(declined["next_stages"], json!(["under_review"]));
    assert_eq!(change(&fx, &fx.staff, &idea, "in_design").await.0, 409);
    assert_eq!(change(&fx, &fx.staff, &idea, "under_review").await.0, 200);
}

#[tokio::test]
async fn a_launched_idea_is_final() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    for stage in [
        "under_review",
        "in_design",
        "in_development",
        "beta",
        "launched",
    ] {
        fx.stage(&idea, stage).await;
    }
    let reply = change(&fx, &fx.staff, &idea, "declined").await;
    assert_refused(&reply, 409, "cannot move from launched to declined");
}

#[tokio::test]
async fn a_deleted_idea_keeps_its_stage() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    fx.delete(&idea_path(&idea["id"]), &fx.staff).await;
    assert_refused(
        &change(&fx, &fx.staff, &idea, "under_review").await,
        409,
        "deleted",
    );
}
