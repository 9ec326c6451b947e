//! Phases: stewards configure them; the current one decides what each role may do.

use serde_json::json;

use crate::fixture::*;

#[tokio::test]
async fn a_room_needs_at_least_one_phase_and_every_phase_a_name() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let path = "/api/v1/rooms/widgets/phases";
    assert_refused(
        &fx.put(path, &fx.staff, json!([])).await,
        400,
        "at least one phase",
    );
    let unnamed = json!([{"name": " ", "submit": [], "comment": [], "support": [], "see": []}]);
    assert_refused(&fx.put(path, &fx.staff, unnamed).await, 400, "needs a name");
}

#[tokio::test]
async fn unknown_roles_in_phases_are_refused() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let (s, e) = fx
        .put(
            "/api/v1/rooms/widgets/phases",
            &fx.staff,
            json!([{"name": "x", "submit": ["boss"], "comment": [], "support": [], "see": []}]),
        )
        .await;
    assert_eq!(s, 400, "{e}");
}

#[tokio::test]
async fn the_room_starts_at_the_first_phase_and_the_last_has_no_next() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let phase =
        |name: &str| json!({"name": name, "submit": [], "comment": [], "support": [], "see": []});
    let view = fx
        .set_phases("widgets", json!([phase("one"), phase("two")]))
        .await;
    assert_eq!(
        (&view["current"], &view["current_name"]),
        (&json!(0), &json!("one"))
    );
    let view = fx.next_phase("widgets").await;
    assert_eq!(view["current_name"], "two");
    let reply = fx
        .post("/api/v1/rooms/widgets/phases/next", &fx.staff, json!({}))
        .await;
    assert_refused(&reply, 409, "'two' is the room's last phase");
}

#[tokio::test]
async fn a_phase_that_closes_submissions_refuses_ideas_with_the_reason() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    fx.set_phases(
        "widgets",
        json!([{"name": "review", "submit": [], "comment": ["customer"], "support": ["customer"],
                "see": ["customer"]}]),
    )
    .await;
    let reply = fx
        .post(
            "/api/v1/rooms/widgets/ideas",
            &bob,
            json!({"title": "Too late"}),
        )
        .await;
    assert_refused(
        &reply,
        403,
        "in the phase 'review' a customer may not submit ideas",
    );
    let (s, e) = fx
        .post(
            "/api/v1/rooms/widgets/ideas",
            &fx.staff,
            json!({"title": "Stewards may"}),
        )
        .await;
    assert_eq!(s, 201, "{e}");
}

#[tokio::test]
async fn a_partner_takes_part_as_the_phase_allows_partners() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    fx.set_phases(
        "lab",
        json!([{"name": "observe", "submit": ["steward"], "comment": ["partner"], "support": [],
                "see": ["partner"]}]),
    )
    .await;
    let reply = fx
        .post(
            "/api/v1/rooms/lab/ideas",
            &lab.member,
            json!({"title": "Mine"}),
        )
        .await;
    assert_refused(&reply, 403, "a partner may not submit ideas");
    let idea = fx.idea("lab", "Cheaper alloy").await;
    let path = idea_path(&idea["id"]);
    let (s, e) = fx
        .post(
            &format!("{path}/comments"),
            &lab.member,
            json!({"body": "ok"}),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    let reply = fx
        .post(&format!("{path}/support"), &lab.member, json!({}))
        .await;
    assert_refused(&reply, 403, "a partner may not support ideas");
}
