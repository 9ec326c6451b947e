//! Merging duplicates: supports and credit carry over without double counting, the merged idea
//! points to the survivor, and followers' copies show the same.

mod common;

use common::*;
use serde_json::json;

async fn merge(backend: Backend) {
    let a = Node::start("A", backend).await;
    let b = Node::start("B", backend).await;
    let alice = a.add_user("alice", true);
    let amir = a.add_user("amir", false);
    let ana = a.add_user("ana", false);
    let bob = b.add_user("bob", false);
    a.post(
        "/api/v1/rooms",
        &alice,
        json!({"name": "widgets", "title": "Widgets"}),
    )
    .await;
    b.post(
        "/api/v1/follows",
        &bob,
        json!({"handle": a.handle("widgets")}),
    )
    .await;
    let (_, dup) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &amir,
            json!({"title": "Cup holder", "body": ""}),
        )
        .await;
    let (_, keep) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &ana,
            json!({"title": "Holder for cups", "body": ""}),
        )
        .await;
    let (dup_ap, keep_ap) = (
        dup["ap_id"].as_str().unwrap().to_string(),
        keep["ap_id"].as_str().unwrap().to_string(),
    );
    // bob supports both (he would count twice if merged naively); amir supports the duplicate.
    for ap in [&dup_ap, &keep_ap] {
        let path = idea_path(ap);
        b.get_until(&path, &bob, 20, "the ideas reach B", |st, _| st == 200)
            .await;
        let (st, _) = b.post(&format!("{path}/support"), &bob, json!({})).await;
        assert_eq!(st, 200);
    }
    let (dup_path, keep_path) = (idea_path(&dup["id"]), idea_path(&keep["id"]));
    a.post(&format!("{dup_path}/support"), &amir, json!({}))
        .await;
    eventually(20, "B's supports reach A", || async {
        let (_, k) = a.get(&keep_path, &alice).await;
        let (_, d) = a.get(&dup_path, &alice).await;
        (k["support_count"] == 1 && d["support_count"] == 2).then_some(())
    })
    .await;

    let (st, e) = a
        .post(
            &format!("{dup_path}/merge"),
            &amir,
            json!({"into": keep_ap}),
        )
        .await;
    assert_eq!(st, 403, "only stewards merge: {e}");
    let (st, survivor) = a
        .post(
            &format!("{dup_path}/merge"),
            &alice,
            json!({"into": keep_ap}),
        )
        .await;
    assert_eq!(st, 200, "{survivor}");
    assert_eq!(
        survivor["support_count"], 2,
        "bob once, amir once: {survivor}"
    );
    let authors: Vec<&str> = survivor["contributors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["actor"].as_str().unwrap())
        .collect();
    assert!(
        authors.contains(&format!("{}/u/amir", a.base).as_str()),
        "the duplicate's author is credited"
    );
    let (_, merged) = a.get(&dup_path, &alice).await;
    assert_eq!(merged["stage"], "merged");
    assert_eq!(merged["merged_into"], keep_ap.as_str());
    let (st, e) = a
        .post(
            &format!("{dup_path}/merge"),
            &alice,
            json!({"into": keep_ap}),
        )
        .await;
    assert_eq!(st, 409, "a merged idea is final: {e}");

    // Followers' copies update the same way.
    eventually(20, "B shows the merge", || async {
        let (_, d) = b.get(&idea_path(&dup_ap), &bob).await;
        let (_, k) = b.get(&idea_path(&keep_ap), &bob).await;
        (d["stage"] == "merged" && d["merged_into"] == keep_ap.as_str() && k["support_count"] == 2)
            .then_some(())
    })
    .await;
    assert_all_delivered(&a, &alice, 60).await;
}

backends!(merge);
