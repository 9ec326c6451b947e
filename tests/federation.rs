//! Two companies co-create on one idea across three real nodes (A hosts the room, B and C follow
//! it), on SQLite and on PostgreSQL.

mod common;

use common::*;
use serde_json::json;

async fn rooms_ideas_comments_support_and_stages_cross_nodes(backend: Backend) {
    let mut a = Node::start("A", backend).await;
    let mut b = Node::start("B", backend).await;
    let mut c = Node::start("C", backend).await;
    let a_staff = a.add_user("alice", true);
    let a_member = a.add_user("amir", false);
    let b_user = b.add_user("bob", false);
    let c_user = c.add_user("carol", false);

    // On A, staff creates a public room and a member submits an idea.
    let (s, room) = a
        .post("/api/v1/rooms", &a_staff, json!({"name": "widgets", "title": "Widgets 2027", "summary": "Next-gen widgets", "visibility": "public"}))
        .await;
    assert_eq!(s, 201, "{room}");
    let (s, _) = a
        .post(
            "/api/v1/rooms",
            &a_member,
            json!({"name": "nope", "title": "x"}),
        )
        .await;
    assert_eq!(s, 403, "members who are not staff cannot create rooms");
    let (s, first) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &a_member,
            json!({"title": "Lighter casing", "body": "Use **recycled** aluminium"}),
        )
        .await;
    assert_eq!(s, 201, "{first}");
    let first_ap = first["ap_id"].as_str().unwrap().to_string();
    assert_eq!(first["stage"], "suggested");
    assert!(first["content"]
        .as_str()
        .unwrap()
        .contains("<strong>recycled</strong>"));

    // On B, a user follows A's room by handle; the earlier idea appears on B.
    let room_handle = a.handle("widgets");
    let (s, f) = b
        .post("/api/v1/follows", &b_user, json!({"handle": room_handle}))
        .await;
    assert_eq!(s, 201, "{f}");
    let (s, f) = c
        .post("/api/v1/follows", &c_user, json!({"handle": room_handle}))
        .await;
    assert_eq!(s, 201, "{f}");
    let q = format!("/api/v1/ideas?room={}", encode(&room_handle));
    for (node, token) in [(&b, &b_user), (&c, &c_user)] {
        node.get_until(
            &q,
            token,
            20,
            "the earlier idea reaches the follower",
            |s, list| {
                s == 200
                    && list
                        .as_array()
                        .is_some_and(|l| l.iter().any(|i| i["ap_id"] == first_ap.as_str()))
            },
        )
        .await;
    }

    // Later ideas arrive by push.
    let (_, second) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &a_member,
            json!({"title": "Modular battery", "body": "Swap it without tools"}),
        )
        .await;
    let second_ap = second["ap_id"].as_str().unwrap().to_string();
    let second_path = idea_path(&second_ap);
    b.get_until(
        &second_path,
        &b_user,
        20,
        "the new idea reaches B",
        |s, i| s == 200 && i["title"] == "Modular battery",
    )
    .await;

    // B comments and supports; A shows both.
    let (s, after) = b
        .post(
            &format!("{second_path}/comments"),
            &b_user,
            json!({"body": "We can supply the cells"}),
        )
        .await;
    assert_eq!(s, 201, "{after}");
    let (s, after) = b
        .post(&format!("{second_path}/support"), &b_user, json!({}))
        .await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["support_count"], 1);
    let on_a = idea_path(&second["id"]);
    a.get_until(
        &on_a,
        &a_staff,
        20,
        "B's comment and support reach A",
        |_, i| {
            let has_comment = i["comments"].as_array().is_some_and(|cs| {
                cs.iter().any(|c| {
                    c["content"]
                        .as_str()
                        .unwrap_or("")
                        .contains("supply the cells")
                })
            });
            has_comment && i["support_count"] == 1
        },
    )
    .await;

    // C follows the room and sees B's comment through the room's Announce.
    c.get_until(
        &second_path,
        &c_user,
        20,
        "B's comment reaches C through the room",
        |_, i| {
            let ok = i["comments"].as_array().is_some_and(|cs| {
                cs.iter().any(|c| {
                    c["content"]
                        .as_str()
                        .unwrap_or("")
                        .contains("supply the cells")
                })
            });
            ok && i["support_count"] == 1
        },
    )
    .await;

    // Support is one per actor and can be withdrawn.
    let (_, again) = b
        .post(&format!("{second_path}/support"), &b_user, json!({}))
        .await;
    assert_eq!(
        again["support_count"], 1,
        "a second support by the same person does not count"
    );

    // A stage change on A (staff only, allowed transitions only) reaches B and C with its answer.
    let (s, _) = a
        .post(
            &format!("{on_a}/stage"),
            &a_member,
            json!({"stage": "under_review", "answer": "x"}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, e) = a
        .post(
            &format!("{on_a}/stage"),
            &a_staff,
            json!({"stage": "launched", "answer": "skip"}),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    let (s, staged) = a
        .post(
            &format!("{on_a}/stage"),
            &a_staff,
            json!({"stage": "under_review", "answer": "Engineering will size the cells"}),
        )
        .await;
    assert_eq!(s, 200, "{staged}");
    for (node, token) in [(&b, &b_user), (&c, &c_user)] {
        node.get_until(
            &second_path,
            token,
            20,
            "the stage change reaches the followers",
            |_, i| {
                i["stage"] == "under_review"
                    && i["stage_answer"] == "Engineering will size the cells"
            },
        )
        .await;
    }

    // Withdrawing support federates.
    let (_, w) = b.delete(&format!("{second_path}/support"), &b_user).await;
    assert_eq!(w["support_count"], 0);
    a.get_until(
        &on_a,
        &a_staff,
        20,
        "the withdrawn support reaches A",
        |_, i| i["support_count"] == 0,
    )
    .await;

    // Edits and deletions federate: B edits then deletes its comment; A's member edits the idea.
    let (_, b_view) = b.get(&second_path, &b_user).await;
    let comment_id = b_view["comments"][0]["id"].clone();
    let (s, _) = b
        .patch(
            &format!("/api/v1/comments/{comment_id}"),
            &b_user,
            json!({"body": "We can supply the cells by March"}),
        )
        .await;
    assert_eq!(s, 204);
    a.get_until(
        &on_a,
        &a_staff,
        20,
        "the edited comment reaches A",
        |_, i| i["comments"].to_string().contains("by March"),
    )
    .await;
    let (s, _) = a
        .patch(
            &on_a,
            &a_member,
            json!({"title": "Modular, swappable battery"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = a.patch(&on_a, &a_staff, json!({"title": "Not mine"})).await;
    assert_eq!(s, 403, "only the author edits an idea");
    for (node, token) in [(&b, &b_user), (&c, &c_user)] {
        node.get_until(
            &second_path,
            token,
            20,
            "the edited idea reaches the followers",
            |_, i| i["title"] == "Modular, swappable battery" && i["stage"] == "under_review",
        )
        .await;
    }
    let (s, _) = b
        .delete(&format!("/api/v1/comments/{comment_id}"), &b_user)
        .await;
    assert_eq!(s, 204);
    eventually(20, "the deleted comment is gone on A and C", || async {
        let (_, on_a_view) = a.get(&on_a, &a_staff).await;
        let (_, on_c_view) = c.get(&second_path, &c_user).await;
        (on_a_view["comment_count"] == 0
            && on_c_view["comment_count"] == 0
            && !on_a_view["comments"].to_string().contains("March"))
        .then_some(())
    })
    .await;

    // A node that is down gets what it missed once it is back (the outbox retries).
    c.kill();
    let (_, offline) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &a_member,
            json!({"title": "Sent while C was down", "body": ""}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    c.launch().await;
    let offline_path = idea_path(&offline["ap_id"]);
    c.get_until(
        &offline_path,
        &c_user,
        30,
        "C receives the idea it missed",
        |s, _| s == 200,
    )
    .await;
    let (s, _) = a.delete(&idea_path(&offline["id"]), &a_member).await;
    assert_eq!(s, 204);
    c.get_until(
        &offline_path,
        &c_user,
        20,
        "the deleted idea is deleted on C",
        |_, i| i["deleted"] == true,
    )
    .await;

    // Nothing A sent is left failed or pending: B and C accepted everything, including the
    // room's echoes of B's own comment edits.
    assert_all_delivered(&a, &a_staff, 90).await;

    // Restart every node (killed, not stopped): nothing is lost.
    a.restart().await;
    b.restart().await;
    c.restart().await;
    let (_, i) = a.get(&on_a, &a_staff).await;
    assert_eq!(i["stage"], "under_review");
    assert_eq!(
        i["comments"].as_array().map(|c| c.len()),
        Some(1),
        "the deleted comment stays as a tombstone"
    );
    let (_, i) = b.get(&second_path, &b_user).await;
    assert_eq!(i["stage"], "under_review");
    let (_, list) = c.get(&q, &c_user).await;
    assert_eq!(list.as_array().map(|l| l.len()), Some(2), "{list}");

    // After the restart, federation goes on.
    let (s, _) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &a_member,
            json!({"title": "Solar lid", "body": ""}),
        )
        .await;
    assert_eq!(s, 201);
    c.get_until(
        &q,
        &c_user,
        20,
        "an idea after restart reaches C",
        |_, list| list.as_array().map(|l| l.len()) == Some(3),
    )
    .await;
}

backends!(federation => rooms_ideas_comments_support_and_stages_cross_nodes);
