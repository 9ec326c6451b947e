//! Who sees and takes part in partners and private rooms; following and joining rooms.

use serde_json::json;

use crate::fixture::*;

#[tokio::test]
async fn a_partners_rooms_ideas_are_not_listed_to_a_non_member_but_are_to_a_member() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    let carol = fx.user("carol").await;
    fx.idea("lab", "Cheaper alloy").await;
    let reply = fx.get("/api/v1/rooms/lab/ideas", &carol).await;
    assert_refused(&reply, 404, "not found");
    let (s, list) = fx.get("/api/v1/rooms/lab/ideas", &lab.member).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list[0]["title"], "Cheaper alloy", "{list}");
}

#[tokio::test]
async fn a_partners_idea_does_not_exist_for_a_non_member() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    let carol = fx.user("carol").await;
    let idea = fx.idea("lab", "Cheaper alloy").await;
    for key in [&idea["id"], &idea["ap_id"]] {
        assert_refused(&fx.get(&idea_path(key), &carol).await, 404, "not found");
        assert_eq!(fx.get(&idea_path(key), &lab.member).await.0, 200);
    }
}

#[tokio::test]
async fn a_non_member_cannot_take_part_in_a_partners_room() {
    let fx = Fixture::new().await;
    fx.partners_room_with_member().await;
    let carol = fx.user("carol").await;
    let idea = fx.idea("lab", "Cheaper alloy").await;
    let path = idea_path(&idea["id"]);
    let why = "this room is partners: only its members may take part";
    let submit = fx
        .post("/api/v1/rooms/lab/ideas", &carol, json!({"title": "Mine"}))
        .await;
    assert_refused(&submit, 403, why);
    let comment = fx
        .post(&format!("{path}/comments"), &carol, json!({"body": "Hi"}))
        .await;
    assert_refused(&comment, 403, why);
    assert_refused(
        &fx.post(&format!("{path}/support"), &carol, json!({})).await,
        403,
        why,
    );
}

#[tokio::test]
async fn a_member_takes_part_in_a_partners_room() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    let idea = fx.idea_by(&lab.member, "lab", "Thinner walls").await;
    let path = idea_path(&idea["id"]);
    let (s, e) = fx
        .post(
            &format!("{path}/comments"),
            &lab.member,
            json!({"body": "7075"}),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    let (s, e) = fx
        .post(&format!("{path}/support"), &lab.member, json!({}))
        .await;
    assert_eq!(s, 200, "{e}");
}

#[tokio::test]
async fn a_public_rooms_ideas_are_listed_to_every_user() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    fx.idea("widgets", "Lighter casing").await;
    let (s, list) = fx.get("/api/v1/rooms/widgets/ideas", &bob).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn following_a_local_public_room_is_accepted_at_once() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let (s, f) = fx
        .post(
            "/api/v1/follows",
            &bob,
            json!({"handle": Fixture::handle("widgets")}),
        )
        .await;
    assert_eq!(s, 201, "{f}");
    assert_eq!(f["state"], "accepted");
    let (_, list) = fx.get("/api/v1/follows", &bob).await;
    assert_eq!(
        list[0]["target"]["handle"],
        Fixture::handle("widgets"),
        "{list}"
    );
}

#[tokio::test]
async fn nobody_follows_themselves() {
    let fx = Fixture::new().await;
    let bob = fx.user("bob").await;
    let reply = fx
        .post(
            "/api/v1/follows",
            &bob,
            json!({"handle": Fixture::handle("bob")}),
        )
        .await;
    assert_refused(&reply, 400, "cannot follow yourself");
}

#[tokio::test]
async fn unfollowing_what_one_does_not_follow_is_404() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let path = format!("/api/v1/follows/{}", encode(&Fixture::handle("widgets")));
    assert_refused(&fx.delete(&path, &bob).await, 404, "not found");
}

#[tokio::test]
async fn joining_a_partners_room_waits_for_a_steward() {
    let fx = Fixture::new().await;
    fx.partners_room_with_member().await;
    let carol = fx.user("carol").await;
    let (s, j) = fx
        .post(
            "/api/v1/joins",
            &carol,
            json!({"handle": Fixture::handle("lab"), "message": "We design packaging"}),
        )
        .await;
    assert_eq!(s, 201, "{j}");
    assert_eq!(j["state"], "pending");
    let (_, requests) = fx.get("/api/v1/rooms/lab/requests", &fx.staff).await;
    assert_eq!(
        requests[0]["handle"],
        Fixture::handle("carol"),
        "{requests}"
    );
    assert_eq!(requests[0]["kind"], "Join");
    assert_eq!(requests[0]["message"], "We design packaging");
}

#[tokio::test]
async fn an_approved_request_makes_a_member_with_the_role_given() {
    let fx = Fixture::new().await;
    fx.partners_room_with_member().await;
    let carol = fx.user("carol").await;
    let idea = fx.idea("lab", "Cheaper alloy").await;
    fx.post(
        "/api/v1/joins",
        &carol,
        json!({"handle": Fixture::handle("lab")}),
    )
    .await;
    let (_, requests) = fx.get("/api/v1/rooms/lab/requests", &fx.staff).await;
    let approve = format!("/api/v1/rooms/lab/requests/{}/approve", requests[0]["id"]);
    let (s, e) = fx
        .post(&approve, &fx.staff, json!({"role": "observer"}))
        .await;
    assert_eq!(s, 204, "{e}");
    assert_eq!(fx.get(&idea_path(&idea["id"]), &carol).await.0, 200);
    let (_, members) = fx.get("/api/v1/rooms/lab/members", &carol).await;
    let carol_member = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["handle"] == Fixture::handle("carol"))
        .cloned()
        .unwrap();
    assert_eq!(carol_member["role"], "observer");
    let reply = fx
        .post(&approve, &fx.staff, json!({"role": "observer"}))
        .await;
    assert_refused(&reply, 409, "already answered");
}

#[tokio::test]
async fn a_refused_request_gives_no_access() {
    let fx = Fixture::new().await;
    fx.partners_room_with_member().await;
    let carol = fx.user("carol").await;
    let idea = fx.idea("lab", "Cheaper alloy").await;
    fx.post(
        "/api/v1/joins",
        &carol,
        json!({"handle": Fixture::handle("lab")}),
    )
    .await;
    let (_, requests) = fx.get("/api/v1/rooms/lab/requests", &fx.staff).await;
    let refuse = format!("/api/v1/rooms/lab/requests/{}/refuse", requests[0]["id"]);
    let (s, e) = fx
        .post(&refuse, &fx.staff, json!({"reason": "not now"}))
        .await;
    assert_eq!(s, 204, "{e}");
    assert_eq!(fx.get(&idea_path(&idea["id"]), &carol).await.0, 404);
    let (_, requests) = fx.get("/api/v1/rooms/lab/requests", &fx.staff).await;
    assert_eq!(requests, json!([]), "only pending requests are listed");
}

#[tokio::test]
async fn a_private_room_refuses_requests_members_come_by_invitation() {
    let fx = Fixture::new().await;
    fx.room("secret", "private").await;
    let carol = fx.user("carol").await;
    let (s, j) = fx
        .post(
            "/api/v1/joins",
            &carol,
            json!({"handle": Fixture::handle("secret")}),
        )
        .await;
    assert_eq!(s, 201, "{j}");
    assert_eq!(j["state"], "rejected");
    let (_, requests) = fx.get("/api/v1/rooms/secret/requests", &fx.staff).await;
    assert_eq!(requests, json!([]));
}

#[tokio::test]
async fn only_rooms_are_joined() {
    let fx = Fixture::new().await;
    let bob = fx.user("bob").await;
    let reply = fx
        .post(
            "/api/v1/joins",
            &bob,
            json!({"handle": Fixture::handle("alice")}),
        )
        .await;
    assert_refused(&reply, 400, "is not a room");
}
