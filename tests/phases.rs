//! Phases as switches: what a room accepts depends on its current phase, for local and remote
//! actions alike, and a remote actor is told why with a Reject that its node records.

mod common;

use common::*;
use serde_json::json;

async fn phases(backend: Backend) {
    let a = Node::start("A", backend).await;
    let b = Node::start("B", backend).await;
    let staff = a.add_user("alice", true);
    let amir = a.add_user("amir", false);
    let bob = b.add_user("bob", false);
    a.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "widgets", "title": "Widgets"}),
    )
    .await;
    let phases = json!([
        {"name": "ideation", "submit": ["steward", "partner", "customer"], "comment": ["steward", "partner", "customer"],
         "support": ["steward", "partner", "customer"], "see": ["steward", "partner", "customer", "observer"]},
        {"name": "review", "submit": [], "comment": ["partner"], "support": ["partner", "customer"],
         "see": ["steward", "partner", "customer", "observer"], "stages": ["under_review"]}
    ]);
    let (s, e) = a
        .put("/api/v1/rooms/widgets/phases", &amir, phases.clone())
        .await;
    assert_eq!(s, 403, "only stewards set phases: {e}");
    let (s, e) = a
        .put(
            "/api/v1/rooms/widgets/phases",
            &staff,
            json!([{"name": "x", "submit": ["boss"]}]),
        )
        .await;
    assert_eq!(s, 400, "unknown roles are refused: {e}");
    let (s, view) = a.put("/api/v1/rooms/widgets/phases", &staff, phases).await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["current_name"], "ideation");

    let room = a.handle("widgets");
    b.post("/api/v1/follows", &bob, json!({"handle": room}))
        .await;
    let submit_path = format!("/api/v1/rooms/{}/ideas", encode(&room));

    // In ideation a customer on another node submits an idea to the room.
    let (s, first) = b
        .post(
            &submit_path,
            &bob,
            json!({"title": "Foldable handle", "body": "for travel"}),
        )
        .await;
    assert_eq!(s, 201, "{first}");
    let first_ap = first["ap_id"].as_str().unwrap().to_string();
    a.get_until(
        &idea_path(&first_ap),
        &staff,
        20,
        "the remote submission reaches A",
        |s, _| s == 200,
    )
    .await;

    // The stewards move on to review: submissions close.
    let (s, view) = a
        .post("/api/v1/rooms/widgets/phases/next", &staff, json!({}))
        .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["current_name"], "review");
    let (s, e) = a
        .post("/api/v1/rooms/widgets/phases/next", &staff, json!({}))
        .await;
    assert_eq!(s, 409, "{e}");
    let (s, e) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &amir,
            json!({"title": "Too late", "body": ""}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("may not submit ideas"),
        "{e}"
    );

    // A remote submission is refused with a Reject that B records and shows its user.
    let (s, late) = b
        .post(
            &submit_path,
            &bob,
            json!({"title": "Late idea", "body": "still good"}),
        )
        .await;
    assert_eq!(s, 201, "{late}");
    let refused = b
        .get_until(
            &idea_path(&late["id"]),
            &bob,
            20,
            "B records the refusal",
            |_, i| i["refused"]["reason"].is_string(),
        )
        .await;
    let refused = refused["refused"]["reason"].as_str().unwrap();
    assert!(
        refused.contains("in the phase 'review' a customer may not submit ideas"),
        "{refused}"
    );
    let (s, _) = a.get(&idea_path(&late["ap_id"]), &staff).await;
    assert_eq!(s, 404, "the refused idea does not exist on A");

    // Review covers ideas under review only, and only partners comment: B's comment and its
    // support of a suggested idea are refused and withdrawn on B.
    let on_b = idea_path(&first_ap);
    let (s, _) = b
        .post(
            &format!("{on_b}/comments"),
            &bob,
            json!({"body": "Any news?"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = b.post(&format!("{on_b}/support"), &bob, json!({})).await;
    assert_eq!(s, 200);
    b.get_until(
        &on_b,
        &bob,
        20,
        "B withdraws the refused comment and support",
        |_, i| i["comment_count"] == 0 && i["support_count"] == 0,
    )
    .await;
    let (_, on_a) = a.get(&idea_path(&first_ap), &staff).await;
    assert_eq!(on_a["comment_count"], 0);
    assert_eq!(on_a["support_count"], 0);
    assert_all_delivered(&a, &staff, 60).await;
}

backends!(phases);
