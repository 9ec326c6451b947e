//! Delivery that survives a peer's troubles, with real nodes and a real remote server whose
//! inbox is told to fail: a peer down for a while is parked and probed (not hammered) and
//! gets everything, in order, when it is back; `Retry-After` is honoured; a 4xx ends a
//! delivery as `failed` with the peer's answer; a delivery out of attempts is a dead letter
//! that `cocreate deliveries` and the admin API list, retry and purge.

mod common;

use std::time::{Duration, Instant};

use common::remote::RemoteActor;
use common::*;
use serde_json::{json, Value};

/// A node with a staff user and a public room `lab` that `remote` follows (its `Accept`
/// received).
async fn followed_room(node: &Node, remote: &RemoteActor) -> String {
    let staff = node.add_user("alice", true);
    let (s, room) = node
        .post(
            "/api/v1/rooms",
            &staff,
            json!({"name": "lab", "title": "Lab"}),
        )
        .await;
    assert_eq!(s, 201, "{room}");
    let follow = json!({"id": remote.new_id("follow"), "type": "Follow", "actor": remote.actor_id, "object": format!("{}/r/lab", node.base)});
    let (s, text) = remote
        .post_activity(&format!("{}/r/lab/inbox", node.base), &follow)
        .await;
    assert_eq!(s, 202, "{text}");
    eventually(20, "the room's Accept reaches the follower", || async {
        remote
            .received()
            .iter()
            .any(|a| a["type"] == "Accept")
            .then_some(())
    })
    .await;
    assert_all_delivered(node, &staff, 20).await;
    staff
}

async fn new_idea(node: &Node, staff: &str, title: &str) -> Value {
    let (s, idea) = node
        .post(
            "/api/v1/rooms/lab/ideas",
            staff,
            json!({"title": title, "body": "x"}),
        )
        .await;
    assert_eq!(s, 201, "{idea}");
    idea
}

async fn comment(node: &Node, staff: &str, idea: &Value, body: &str) {
    let (s, c) = node
        .post(
            &format!("{}/comments", idea_path(&idea["id"])),
            staff,
            json!({ "body": body }),
        )
        .await;
    assert_eq!(s, 201, "{c}");
}

async fn counts(node: &Node, staff: &str) -> Value {
    let (s, d) = node.get("/api/v1/admin/deliveries", staff).await;
    assert_eq!(s, 200, "{d}");
    d
}

fn count(d: &Value, state: &str) -> i64 {
    d[state].as_i64().unwrap_or(0)
}

/// Waits until nothing is pending and returns the counts.
async fn settled(node: &Node, staff: &str, secs: u64) -> Value {
    node.get_until(
        "/api/v1/admin/deliveries",
        staff,
        secs,
        "no delivery pending",
        |s, d| s == 200 && d.get("pending").is_none(),
    )
    .await
}

async fn metrics(node: &Node) -> String {
    node.http
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Ids of the deliveries in `state`, from the admin API.
async fn ids_in(node: &Node, staff: &str, state: &str) -> Vec<i64> {
    let (s, list) = node
        .get(
            &format!("/api/v1/admin/deliveries/list?state={state}&limit=1000"),
            staff,
        )
        .await;
    assert_eq!(s, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect()
}

async fn peer_down_then_up(backend: Backend) {
    let node = Node::start_with_config(
        "A",
        backend,
        "delivery_park_after = 3\ndelivery_max_retry_delay_secs = 1.5",
    )
    .await;
    let remote = RemoteActor::start("rita").await;
    let staff = followed_room(&node, &remote).await;
    let delivered_before = count(&counts(&node, &staff).await, "delivered");
    let received_before = remote.received().len();
    let requests_before = remote.requests().len();

    // The peer goes down while the room publishes two ideas and comments on both.
    remote.answer_with(503, &[], "down for maintenance");
    let down = Instant::now();
    let alpha = new_idea(&node, &staff, "Idea Alpha").await;
    let beta = new_idea(&node, &staff, "Idea Beta").await;
    let markers = [
        "comment-alpha-1",
        "comment-beta-1",
        "comment-alpha-2",
        "comment-beta-2",
        "comment-alpha-3",
        "comment-beta-3",
    ];
    for m in markers {
        let idea = if m.contains("alpha") { &alpha } else { &beta };
        comment(&node, &staff, idea, m).await;
    }

    // The host is parked, and operators see it.
    let hosts = node
        .get_until(
            "/api/v1/admin/deliveries/hosts",
            &staff,
            20,
            "the failing host is parked",
            |s, h| {
                s == 200
                    && h.as_array().is_some_and(|hs| {
                        hs.iter()
                            .any(|h| h["host"] == remote.domain && h["parked_since"].is_string())
                    })
            },
        )
        .await;
    assert!(
        hosts[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("503 Service Unavailable: down for maintenance"),
        "{hosts}"
    );
    assert_eq!(
        sample(&metrics(&node).await, "cocreate_parked_hosts"),
        Some(1.0)
    );
    let queued = count(&counts(&node, &staff).await, "pending");
    assert!(
        queued >= 8,
        "two ideas and six comments are queued: {queued}"
    );

    // Down for 6 s in all.
    tokio::time::sleep(Duration::from_secs(6).saturating_sub(down.elapsed())).await;
    let attempts: Vec<_> = remote.requests()[requests_before..].to_vec();
    remote.answer_normally();
    let down_for = down.elapsed().as_secs_f64();

    // Probed, not hammered: 3 tries before parking (0.3 s backoff base, doubling, jittered),
    // then one probe at a time, at least 0.6 s apart (the interval grows to 1.5 s).
    assert!(attempts.iter().all(|r| r.status == 503));
    let first = &attempts[0].body["id"];
    assert!(
        attempts.iter().all(|r| &r.body["id"] == first),
        "only the oldest delivery is tried while the host fails: {:?}",
        attempts.iter().map(|r| &r.body["id"]).collect::<Vec<_>>()
    );
    let bound = 3 + (down_for / 0.6).ceil() as usize;
    assert!(
        attempts.len() >= 4 && attempts.len() <= bound,
        "{} attempts in {down_for:.1}s (bound {bound}) for {queued} queued deliveries",
        attempts.len()
    );
    for pair in attempts[2..].windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(550),
            "a parked host is probed at intervals, not hammered: {gap:?}"
        );
    }

    // Back up: everything arrives, once, in the order it was published.
    assert_all_delivered(&node, &staff, 30).await;
    let after = counts(&node, &staff).await;
    let items: Vec<Value> = remote.received()[received_before..].to_vec();
    assert_eq!(
        items.len() as i64,
        count(&after, "delivered") - delivered_before,
        "every delivery arrives exactly once"
    );
    let mut ids: Vec<&str> = items.iter().map(|a| a["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), items.len(), "no activity arrives twice");
    let position = |needle: &str| {
        items
            .iter()
            .position(|a| a.to_string().contains(needle))
            .unwrap_or_else(|| panic!("{needle} never arrived: {items:?}"))
    };
    let positions: Vec<usize> = markers.iter().map(|m| position(m)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "comments arrive in the order they were made: {positions:?}"
    );
    assert!(position("Idea Alpha") < positions[0]);
    assert!(position("Idea Beta") < positions[1]);
    assert!(position("Idea Alpha") < position("Idea Beta"));

    // The host is unparked.
    let (_, hosts) = node.get("/api/v1/admin/deliveries/hosts", &staff).await;
    assert_eq!(hosts, json!([]), "the host answers again");
    assert_eq!(
        sample(&metrics(&node).await, "cocreate_parked_hosts"),
        Some(0.0)
    );
}

backends!(peer_down_then_up);

/// Makes the peer answer 503 and publishes an idea; waits until its deliveries are dead
/// letters and returns their ids.
async fn dead_letters(node: &Node, staff: &str, remote: &RemoteActor, title: &str) -> Vec<i64> {
    let dead_before = ids_in(node, staff, "dead").await;
    remote.answer_with(503, &[], "down");
    new_idea(node, staff, title).await;
    let d = settled(node, staff, 30).await;
    assert!(count(&d, "dead") > 0, "{d}");
    let mut ids: Vec<i64> = ids_in(node, staff, "dead")
        .await
        .into_iter()
        .filter(|i| !dead_before.contains(i))
        .collect();
    ids.sort();
    assert!(!ids.is_empty());
    ids
}

async fn answers_and_dead_letters(backend: Backend) {
    // Waits are capped at 2.5 s: the host fails again and again across the rounds below.
    let node = Node::start_with_config(
        "A",
        backend,
        "delivery_max_attempts = 2\ndelivery_max_retry_delay_secs = 2.5",
    )
    .await;
    let remote = RemoteActor::start("rita").await;
    let staff = followed_room(&node, &remote).await;

    // (b) 429 with Retry-After: 2 — nothing before two seconds.
    let n0 = remote.requests().len();
    remote.answer_with(429, &[("retry-after", "2")], "slow down");
    new_idea(&node, &staff, "Idea Busy").await;
    eventually(20, "the busy peer is asked once", || async {
        (remote.requests().len() > n0).then_some(())
    })
    .await;
    remote.answer_normally();
    assert_all_delivered(&node, &staff, 30).await;
    let reqs: Vec<_> = remote.requests()[n0..].to_vec();
    assert_eq!(reqs[0].status, 429);
    assert_eq!(reqs[1].status, 202);
    let gap = reqs[1].at - reqs[0].at;
    assert!(
        gap >= Duration::from_millis(1950),
        "Retry-After: 2 honoured: {gap:?}"
    );

    // (c) A 410 ends the delivery as failed, with the answer kept and logged; no retry.
    let n1 = remote.requests().len();
    remote.answer_with(410, &[], "gone for good");
    new_idea(&node, &staff, "Idea Gone").await;
    let d = settled(&node, &staff, 30).await;
    let failed = count(&d, "failed");
    assert!(failed >= 1, "{d}");
    let (_, list) = node
        .get("/api/v1/admin/deliveries/list?state=failed", &staff)
        .await;
    for f in list.as_array().unwrap() {
        assert_eq!(f["attempts"], 1, "{f}");
        assert!(
            f["last_error"]
                .as_str()
                .unwrap()
                .starts_with("410 Gone: gone for good"),
            "{f}"
        );
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        remote.requests().len() - n1,
        failed as usize,
        "a refused delivery is not retried"
    );
    let log = node.log();
    assert!(
        log.contains("delivery refused by the peer") && log.contains("gone for good"),
        "{log}"
    );

    // (d) Out of attempts: dead letters, listed, retried and purged by the CLI.
    let dead = dead_letters(&node, &staff, &remote, "Idea Dead").await;
    let metrics_text = metrics(&node).await;
    assert_eq!(
        sample(&metrics_text, "cocreate_dead_deliveries"),
        Some(dead.len() as f64),
        "{metrics_text}"
    );
    let out = node.cli(&["deliveries", "list", "--state", "dead"]);
    for id in &dead {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{id} dead attempts=2 ")))
            .unwrap_or_else(|| panic!("delivery {id} not listed: {out}"));
        assert!(
            line.contains("last error: 503 Service Unavailable: down"),
            "{line}"
        );
    }
    assert!(
        out.contains(&format!("host {} backing off", remote.domain)),
        "{out}"
    );
    assert!(
        log_has(&node, "dead letter now"),
        "giving up is logged: {}",
        node.log()
    );

    remote.answer_normally();
    let out = node.cli(&["deliveries", "retry", &dead[0].to_string()]);
    assert!(
        out.starts_with(&format!("delivery {} queued again", dead[0])),
        "{out}"
    );
    eventually(20, "the retried delivery arrives", || async {
        ids_in(&node, &staff, "delivered")
            .await
            .contains(&dead[0])
            .then_some(())
    })
    .await;
    let out = node.cli(&["deliveries", "retry", "--all"]);
    assert_eq!(
        out.trim(),
        format!("{} dead deliveries queued again", dead.len() - 1)
    );
    drained(&node, &staff).await;

    let dead = dead_letters(&node, &staff, &remote, "Idea Purged By CLI").await;
    let out = node.cli(&["deliveries", "purge"]);
    assert_eq!(out.trim(), format!("purged {} dead deliveries", dead.len()));
    let out = node.cli(&["deliveries", "list", "--state", "dead"]);
    assert_eq!(out.lines().next(), Some("no dead deliveries"), "{out}");

    // The same through the admin API, staff only.
    let dead = dead_letters(&node, &staff, &remote, "Idea Api").await;
    let bob = node.add_user("bob", false);
    let (s, _) = node
        .get("/api/v1/admin/deliveries/list?state=dead", &bob)
        .await;
    assert_eq!(s, 403);
    let (s, _) = node
        .post(
            &format!("/api/v1/admin/deliveries/{}/retry", dead[0]),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, body) = node
        .get("/api/v1/admin/deliveries/list?state=lost", &staff)
        .await;
    assert_eq!(s, 400, "{body}");
    remote.answer_normally();
    let (s, d) = node
        .post(
            &format!("/api/v1/admin/deliveries/{}/retry", dead[0]),
            &staff,
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["state"], "pending");
    assert_eq!(d["attempts"], 0);
    eventually(20, "the retried delivery arrives", || async {
        ids_in(&node, &staff, "delivered")
            .await
            .contains(&dead[0])
            .then_some(())
    })
    .await;
    let (s, d) = node
        .post(
            &format!("/api/v1/admin/deliveries/{}/retry", dead[0]),
            &staff,
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "a delivered delivery is not retried: {d}");
    let (s, d) = node
        .post("/api/v1/admin/deliveries/999999/retry", &staff, json!({}))
        .await;
    assert_eq!(s, 404, "{d}");
    let (s, d) = node
        .post("/api/v1/admin/deliveries/retry", &staff, json!({}))
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d, json!({"retried": dead.len() - 1}));
    drained(&node, &staff).await;

    let dead = dead_letters(&node, &staff, &remote, "Idea Purged By API").await;
    let (s, d) = node.delete("/api/v1/admin/deliveries/dead", &staff).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d, json!({"purged": dead.len()}));
    assert!(ids_in(&node, &staff, "dead").await.is_empty());
}

/// Waits until nothing is pending and checks that no dead letter is left.
async fn drained(node: &Node, staff: &str) {
    let d = settled(node, staff, 30).await;
    assert!(d.get("dead").is_none(), "{d}");
}

fn log_has(node: &Node, text: &str) -> bool {
    node.log().contains(text)
}

backends!(answers_and_dead_letters);

/// Two workers on one PostgreSQL: a host whose row another worker holds (mid-claim) is
/// skipped at once (`FOR UPDATE SKIP LOCKED`), not waited for and not claimed twice; a host's
/// deliveries are claimed together, in order, by one worker.
#[tokio::test]
async fn claims_skip_locked_hosts_on_postgres() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    if !backend_available(Backend::Postgres) {
        return;
    }
    let url = fresh_postgres_db();
    let db = common::internals::OutboxProbe::open(&url).await;
    let activity = |n: u32| json!({"id": format!("http://localhost:1/activities/{n}"), "type": "Like", "to": ["https://www.w3.org/ns/activitystreams#Public"]});
    db.publish(activity(1), &["http://b.localhost:2/inbox"])
        .await;
    db.publish(activity(2), &["http://c.localhost:3/inbox"])
        .await;
    db.publish(activity(3), &["http://b.localhost:2/inbox"])
        .await;

    let mut other = diesel::PgConnection::establish(&url).unwrap();
    other
        .batch_execute(
            "BEGIN; SELECT host FROM delivery_hosts WHERE host = 'b.localhost:2' FOR UPDATE;",
        )
        .unwrap();
    let claimed = tokio::time::timeout(Duration::from_secs(10), db.claim_batch())
        .await
        .expect("a host locked by another worker is skipped, not waited for");
    assert_eq!(claimed, 1, "only the delivery to c.localhost:3 is free");
    other.batch_execute("COMMIT;").unwrap();
    assert_eq!(
        db.claim_batch().await,
        2,
        "b.localhost:2's two deliveries, together"
    );
    assert_eq!(db.claim_batch().await, 0, "nothing is claimed twice");
}
