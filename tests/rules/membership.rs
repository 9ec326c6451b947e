//! Members of a room: stewards invite, answer requests, change roles and remove; members see
//! the member list.

use axum::http::Method;
use serde_json::json;

use crate::fixture::*;

#[tokio::test]
async fn invitations_requests_members_phases_and_terms_refuse_non_stewards() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    let bob = encode(&lab.member_handle);
    let role = json!({"role": "partner", "partner_kind": "agency"});
    let phases = json!([{"name": "x", "submit": [], "comment": [], "support": [], "see": []}]);
    let cases = [
        (Method::GET, "/api/v1/rooms/lab/requests".to_string(), None),
        (
            Method::POST,
            "/api/v1/rooms/lab/requests/1/approve".into(),
            Some(role.clone()),
        ),
        (
            Method::POST,
            "/api/v1/rooms/lab/requests/1/refuse".into(),
            Some(json!({})),
        ),
        (Method::GET, "/api/v1/rooms/lab/invitations".into(), None),
        (
            Method::POST,
            "/api/v1/rooms/lab/invitations".into(),
            Some(json!({"handle": Fixture::handle("alice"), "role": "observer"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/rooms/lab/members/{bob}"),
            Some(role),
        ),
        (
            Method::DELETE,
            format!("/api/v1/rooms/lab/members/{bob}"),
            None,
        ),
        (Method::GET, "/api/v1/rooms/lab/phases".into(), None),
        (Method::PUT, "/api/v1/rooms/lab/phases".into(), Some(phases)),
        (
            Method::POST,
            "/api/v1/rooms/lab/phases/next".into(),
            Some(json!({})),
        ),
        (
            Method::PUT,
            "/api/v1/rooms/lab/terms".into(),
            Some(json!({"spdx": "MIT", "version": "1"})),
        ),
    ];
    for (method, path, body) in cases {
        let (s, e) = fx.call(method.clone(), &path, &lab.member, body).await;
        assert_eq!(s, 403, "{method} {path}: {e}");
        assert!(
            e["error"]
                .as_str()
                .unwrap()
                .contains("only stewards of 'lab'"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn the_member_list_is_for_members() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    let carol = fx.user("carol").await;
    let reply = fx.get("/api/v1/rooms/lab/members", &carol).await;
    assert_refused(&reply, 403, "only members");
    let (s, members) = fx.get("/api/v1/rooms/lab/members", &lab.member).await;
    assert_eq!(s, 200, "{members}");
    assert_eq!(
        members,
        json!([
            {"actor": format!("http://{DOMAIN}/u/alice"), "handle": Fixture::handle("alice"),
             "kind": "Person", "role": "steward", "partner_kind": null},
            {"actor": format!("http://{DOMAIN}/u/bob"), "handle": lab.member_handle,
             "kind": "Person", "role": "partner", "partner_kind": "supplier"},
        ])
    );
}

#[tokio::test]
async fn a_steward_can_change_a_members_role() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    let path = format!("/api/v1/rooms/lab/members/{}", encode(&lab.member_handle));
    let (s, changed) = fx
        .put(
            &path,
            &fx.staff,
            json!({"role": "partner", "partner_kind": "agency"}),
        )
        .await;
    assert_eq!(s, 200, "{changed}");
    assert_eq!(changed["partner_kind"], "agency");
    let (_, members) = fx.get("/api/v1/rooms/lab/members", &fx.staff).await;
    assert_eq!(members[1]["partner_kind"], "agency", "{members}");
}

#[tokio::test]
async fn a_role_change_for_someone_who_is_not_a_member_is_404() {
    let fx = Fixture::new().await;
    fx.partners_room_with_member().await;
    fx.user("carol").await;
    let path = format!(
        "/api/v1/rooms/lab/members/{}",
        encode(&Fixture::handle("carol"))
    );
    let reply = fx.put(&path, &fx.staff, json!({"role": "observer"})).await;
    assert_refused(&reply, 404, "not found");
    assert_refused(&fx.delete(&path, &fx.staff).await, 404, "not found");
}

#[tokio::test]
async fn roles_and_partner_kinds_are_checked() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    let path = format!("/api/v1/rooms/lab/members/{}", encode(&lab.member_handle));
    let reply = fx.put(&path, &fx.staff, json!({"role": "boss"})).await;
    assert_refused(&reply, 400, "unknown role 'boss'");
    let reply = fx
        .put(
            &path,
            &fx.staff,
            json!({"role": "partner", "partner_kind": "friend"}),
        )
        .await;
    assert_refused(&reply, 400, "unknown partner_kind 'friend'");
}

#[tokio::test]
async fn a_partner_without_a_kind_is_other() {
    let fx = Fixture::new().await;
    fx.room("secret", "private").await;
    fx.user("carol").await;
    let invitation = fx
        .invite(
            "secret",
            &Fixture::handle("carol"),
            json!({"role": "partner"}),
        )
        .await;
    assert_eq!(invitation["partner_kind"], "other", "{invitation}");
}

#[tokio::test]
async fn a_removed_member_loses_access_at_once() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    let idea = fx.idea("lab", "Cheaper alloy").await;
    let path = format!("/api/v1/rooms/lab/members/{}", encode(&lab.member_handle));
    assert_eq!(fx.delete(&path, &fx.staff).await.0, 204);
    assert_eq!(fx.get(&idea_path(&idea["id"]), &lab.member).await.0, 404);
    assert_eq!(fx.get("/api/v1/rooms/lab/ideas", &lab.member).await.0, 404);
}

#[tokio::test]
async fn an_invitee_sees_and_accepts_an_invitation_once() {
    let fx = Fixture::new().await;
    fx.room("secret", "private").await;
    let carol = fx.user("carol").await;
    fx.invite(
        "secret",
        &Fixture::handle("carol"),
        json!({"role": "observer"}),
    )
    .await;
    let (_, invitations) = fx.get("/api/v1/invitations", &carol).await;
    assert_eq!(invitations[0]["state"], "pending", "{invitations}");
    assert_eq!(invitations[0]["room_handle"], Fixture::handle("secret"));
    let accept = format!("/api/v1/invitations/{}/accept", invitations[0]["id"]);
    let (s, accepted) = fx.post(&accept, &carol, json!({})).await;
    assert_eq!(s, 200, "{accepted}");
    assert_eq!(accepted["state"], "accepted");
    assert_refused(
        &fx.post(&accept, &carol, json!({})).await,
        409,
        "already answered",
    );
}

#[tokio::test]
async fn only_the_invitee_answers_an_invitation_not_even_staff() {
    let fx = Fixture::new().await;
    fx.room("secret", "private").await;
    fx.user("carol").await;
    let invitation = fx
        .invite(
            "secret",
            &Fixture::handle("carol"),
            json!({"role": "observer"}),
        )
        .await;
    let (_, seen_by_staff) = fx.get("/api/v1/invitations", &fx.staff).await;
    assert_eq!(seen_by_staff, json!([]));
    let accept = format!("/api/v1/invitations/{}/accept", invitation["id"]);
    assert_refused(
        &fx.post(&accept, &fx.staff, json!({})).await,
        404,
        "not found",
    );
}

#[tokio::test]
async fn a_declined_invitation_makes_no_member() {
    let fx = Fixture::new().await;
    fx.room("secret", "private").await;
    let carol = fx.user("carol").await;
    let idea = fx.idea("secret", "Stealth feature").await;
    let invitation = fx
        .invite(
            "secret",
            &Fixture::handle("carol"),
            json!({"role": "observer"}),
        )
        .await;
    let reject = format!("/api/v1/invitations/{}/reject", invitation["id"]);
    let (s, rejected) = fx.post(&reject, &carol, json!({"reason": "busy"})).await;
    assert_eq!(s, 200, "{rejected}");
    assert_eq!(
        (&rejected["state"], &rejected["reason"]),
        (&json!("rejected"), &json!("busy"))
    );
    assert_eq!(fx.get(&idea_path(&idea["id"]), &carol).await.0, 404);
    let (_, sent) = fx.get("/api/v1/rooms/secret/invitations", &fx.staff).await;
    assert_eq!(sent[0]["state"], "rejected", "{sent}");
}

#[tokio::test]
async fn a_member_is_not_invited_again() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    let reply = fx
        .post(
            "/api/v1/rooms/lab/invitations",
            &fx.staff,
            json!({"handle": lab.member_handle, "role": "observer"}),
        )
        .await;
    assert_refused(&reply, 409, "already a member");
}

#[tokio::test]
async fn only_people_and_organisations_are_invited() {
    let fx = Fixture::new().await;
    fx.room("secret", "private").await;
    let reply = fx
        .post(
            "/api/v1/rooms/secret/invitations",
            &fx.staff,
            json!({"handle": Fixture::handle("secret"), "role": "observer"}),
        )
        .await;
    assert_refused(&reply, 400, "invite a person or an organisation");
}
