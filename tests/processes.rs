//! Node processes that die and processes that share a database (issue 9), with real
//! `cocreate serve` processes and a fleet of remote servers in the test process
//! ([`common::fleet`]):
//!
//! - SIGKILL in the middle of a fan-out to 30 servers (SQLite and PostgreSQL): after a restart
//!   every follower's server has every activity that was acknowledged before the kill, and the
//!   only duplicates are deliveries whose lease the kill cut short.
//! - Two processes on one PostgreSQL with one domain, as behind a load balancer: a fan-out of
//!   ten ideas to 50 servers is shared by both delivery workers with no POST sent twice; inbox
//!   traffic spread over both, the same activity sent to both included, is applied once; tokens
//!   and web sessions made through one process work on the other.
//!
//! - Kept documents on two processes: a change committed through one is served by the next
//!   anonymous read through the other, also while the other's listening session is cut.
//!
//! That an SQLite database refuses a second `cocreate serve` is shown in tests/cli.rs
//! (`an_sqlite_database_takes_one_serving_process`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::fleet::{Fleet, Post};
use common::*;
use serde_json::{json, Value};

/// How many hosts one worker serves at a time, and how many deliveries of one host it leases
/// (`HOSTS_IN_FLIGHT` and `RUN_LENGTH` in src/federation/outbox.rs).
const HOSTS_IN_FLIGHT: usize = 64;
const RUN_LENGTH: usize = 16;

// ---------------------------------------------------------------------------------------------
// Helpers.

/// One sample of a Prometheus series of `node`, e.g.
/// `cocreate_deliveries_total{result="delivered"}`; 0 when the series is absent.
async fn metric(node: &Node, series: &str) -> f64 {
    let text = node
        .http
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

/// Deliveries by state as `GET /api/v1/admin/deliveries` counts them.
async fn delivery_counts(node: &Node, staff: &str) -> BTreeMap<String, i64> {
    let (s, d) = node.get("/api/v1/admin/deliveries", staff).await;
    assert_eq!(s, 200, "{d}");
    serde_json::from_value(d).unwrap()
}

/// How many `Announce`s of the idea `idea` a server received: of its `Create`, and of the
/// `Page` itself (a `Person` on a server of unknown software gets both).
fn announces_of_idea(posts: &[Post], idea: &str) -> (usize, usize) {
    let of = |p: &&Post, kind: &str| {
        p.kind == "Announce"
            && p.object_kind() == kind
            && (p.body["object"]["id"] == idea || p.body["object"]["object"]["id"] == idea)
    };
    (
        posts.iter().filter(|p| of(p, "Create")).count(),
        posts.iter().filter(|p| of(p, "Page")).count(),
    )
}

/// Whether every server of `fleet` received both announces of every idea.
fn fleet_has_all(fleet: &Fleet, ideas: &[String]) -> bool {
    fleet.servers.iter().all(|s| {
        let posts = s.posts();
        ideas.iter().all(|i| {
            let (c, p) = announces_of_idea(&posts, i);
            c >= 1 && p >= 1
        })
    })
}

/// What the fleet still misses, for a failure message.
fn missing(fleet: &Fleet, ideas: &[String]) -> String {
    let mut out = Vec::new();
    for s in &fleet.servers {
        let posts = s.posts();
        for i in ideas {
            let (c, p) = announces_of_idea(&posts, i);
            if c == 0 || p == 0 {
                out.push(format!("{} lacks {i} (create {c}, page {p})", s.inbox));
            }
        }
    }
    out.join("\n")
}

/// Waits until every server of `fleet` has both announces of every idea; after `secs` fails
/// with what is missing and the logs of `nodes`.
async fn wait_for_all(fleet: &Fleet, ideas: &[String], secs: u64, nodes: &[&Node]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !fleet_has_all(fleet, ideas) {
        if std::time::Instant::now() > deadline {
            let logs: Vec<String> = nodes
                .iter()
                .map(|n| format!("{}: {}", n.name, n.log()))
                .collect();
            panic!(
                "after {secs}s the fleet still misses:\n{}\n{}",
                missing(fleet, ideas),
                logs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Rows of the `deliveries` table of the database at `url`, read with SQL as an operator
/// would (the test looks at the queue a killed process left behind).
#[derive(diesel::QueryableByName, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct QueuedDelivery {
    #[diesel(sql_type = diesel::sql_types::Text)]
    activity_ap_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    inbox: String,
}

/// Runs `f` on a plain diesel connection to the node's database (SQLite file or PostgreSQL).
fn with_db<T>(
    url: &str,
    sqlite: impl FnOnce(&mut diesel::SqliteConnection) -> T,
    pg: impl FnOnce(&mut diesel::PgConnection) -> T,
) -> T {
    use diesel::Connection;
    match url.strip_prefix("sqlite://") {
        Some(path) => sqlite(&mut diesel::SqliteConnection::establish(path).unwrap()),
        None => pg(&mut diesel::PgConnection::establish(url).unwrap()),
    }
}

/// Deliveries still pending and leased (`claimed_until` set): what a worker was sending.
fn leased_deliveries(url: &str) -> BTreeSet<QueuedDelivery> {
    use diesel::RunQueryDsl;
    const SQL: &str = "SELECT activity_ap_id, inbox FROM deliveries \
                       WHERE state = 'pending' AND claimed_until IS NOT NULL";
    with_db(
        url,
        |c| diesel::sql_query(SQL).load::<QueuedDelivery>(c).unwrap(),
        |c| diesel::sql_query(SQL).load::<QueuedDelivery>(c).unwrap(),
    )
    .into_iter()
    .collect()
}

/// Ends every lease, as the clock would `LEASE_SECS` (120 s) after the claim. Only while no
/// process of the node runs: nobody holds these leases any more.
fn expire_leases(url: &str) -> usize {
    use diesel::RunQueryDsl;
    const SQL: &str = "UPDATE deliveries SET claimed_until = NULL WHERE claimed_until IS NOT NULL";
    with_db(
        url,
        |c| diesel::sql_query(SQL).execute(c).unwrap(),
        |c| diesel::sql_query(SQL).execute(c).unwrap(),
    )
}

/// Creates the public room `widgets`; returns its ActivityPub id.
async fn public_room(node: &Node, staff: &str) -> String {
    let (s, room) = node
        .post(
            "/api/v1/rooms",
            staff,
            json!({"name": "widgets", "title": "Widgets", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{room}");
    format!("http://{}/r/widgets", node.domain)
}

/// Submits an idea through `node`'s API; returns its ActivityPub id.
async fn submit_idea(node: &Node, token: &str, title: &str) -> String {
    let (s, idea) = node
        .post(
            "/api/v1/rooms/widgets/ideas",
            token,
            json!({"title": title, "body": format!("{title}, in detail.")}),
        )
        .await;
    assert_eq!(s, 201, "{idea}\n{}", node.log());
    idea["ap_id"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------------------------
// SIGKILL during a fan-out.

async fn sigkill_during_fan_out(backend: Backend) {
    const SERVERS: usize = 30;
    let mut node = Node::start("A", backend).await;
    let staff = node.add_user("alice", true);
    let room = public_room(&node, &staff).await;
    let fleet = Fleet::start(SERVERS, "f").await;
    fleet.follow(&room, &[node.base.clone()]).await;
    fleet.wait_accepted(60).await;
    assert_all_delivered(&node, &staff, 60).await;
    let accepts = delivery_counts(&node, &staff).await["delivered"];

    // Slow inboxes, answering one after the other in the order the worker sends: the fan-out
    // of one idea (an Announce of its Create and one of the Page per server, 60 deliveries)
    // takes several seconds, and the worker records outcomes while later ones are in flight.
    fleet.set_delays_by_rank(|rank| Duration::from_millis(300 + 100 * rank as u64));
    let first = submit_idea(&node, &staff, "Quieter fans").await;
    // Acknowledged too: queued behind the first, not yet claimed when the node dies.
    let second = submit_idea(&node, &staff, "Lighter casing").await;
    let ideas = [first, second];
    let total = 2 * 2 * SERVERS as i64;

    // Kill once some deliveries are recorded as done and others are still in flight.
    eventually(60, "the worker records the first deliveries", || async {
        let done = delivery_counts(&node, &staff).await["delivered"] - accepts;
        (done >= 8).then_some(())
    })
    .await;
    // std's Child::kill sends SIGKILL: no graceful shutdown, nothing flushed.
    assert_eq!(node.kill_signal(), Some(9), "the node dies of SIGKILL");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received_before: BTreeMap<(String, String), usize> = fleet.receipts();
    let leased = leased_deliveries(&node.database_url);
    let done_before = {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        const SQL: &str = "SELECT COUNT(*) AS n FROM deliveries WHERE state = 'delivered'";
        with_db(
            &node.database_url,
            |c| diesel::sql_query(SQL).get_result::<N>(c).unwrap().n,
            |c| diesel::sql_query(SQL).get_result::<N>(c).unwrap().n,
        ) - accepts
    };
    assert!(
        done_before < total && !leased.is_empty(),
        "the kill must come in the middle of the fan-out: {done_before} of {total} done, \
         {} leased\n{}",
        leased.len(),
        node.log()
    );
    let leased_hosts: BTreeSet<&str> = leased.iter().map(|d| d.inbox.as_str()).collect();
    assert!(
        leased_hosts.len() <= HOSTS_IN_FLIGHT
            && leased_hosts
                .iter()
                .all(|h| { leased.iter().filter(|d| d.inbox == *h).count() <= RUN_LENGTH }),
        "one worker leases at most {RUN_LENGTH} deliveries of each of {HOSTS_IN_FLIGHT} hosts: \
         {leased:?}"
    );
    let got_before = received_before
        .keys()
        .filter(|(_, id)| ids_of_fan_out(&fleet, &ideas).contains(id))
        .count();
    assert!(
        got_before > 0 && (got_before as i64) < total,
        "some but not all servers got the fan-out before the kill: {got_before} of {total}"
    );

    // The leases of the killed worker last 120 s (LEASE_SECS). An SQLite node is the only
    // process serving its database, so on restart it gives them back at once (else the
    // wait below, 60 s, would time out). A PostgreSQL node cannot know whether another process holds them and
    // waits them out; the test does not wait two minutes: it ends them in the database while
    // no process runs, which is the state the clock reaches (tests/outbox_claims.rs shows
    // that an expired lease is taken over).
    if backend == Backend::Postgres {
        expire_leases(&node.database_url);
    }
    fleet.set_delays(Duration::ZERO);
    node.launch().await;

    wait_for_all(&fleet, &ideas, 60, &[&node]).await;
    assert_all_delivered(&node, &staff, 60).await;
    let counts = delivery_counts(&node, &staff).await;
    assert_eq!(
        counts["delivered"] - accepts,
        total,
        "every delivery ends delivered: {counts:?}"
    );

    // Duplicates. The worker records an outcome only after the peer answered, so a delivery
    // that was sent (or answered) but not yet recorded when the process died is sent again
    // after the restart: a duplicate the receiver ignores by its activity id. Those are
    // among the deliveries leased at the kill, and a host's deliveries are sent one after
    // the other, so there is at most one duplicate per host leased at the kill, and never
    // more than one extra copy per delivery for one kill. A delivery recorded as done is
    // never sent again.
    let after = fleet.receipts();
    let mut duplicates = Vec::new();
    for ((inbox, id), n) in &after {
        if *n > 1 {
            assert_eq!(*n, 2, "{inbox} got {id} {n} times after one kill");
            let key = QueuedDelivery {
                activity_ap_id: id.clone(),
                inbox: inbox.clone(),
            };
            assert!(
                leased.contains(&key),
                "{inbox} got {id} twice, but that delivery was not in flight at the kill"
            );
            assert_eq!(
                received_before.get(&(inbox.clone(), id.clone())),
                Some(&1),
                "a duplicate is a delivery sent once before the kill and once after"
            );
            duplicates.push((inbox.clone(), id.clone()));
        }
    }
    let duplicate_hosts: BTreeSet<&str> = duplicates.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(
        duplicate_hosts.len(),
        duplicates.len(),
        "at most one duplicate per host: {duplicates:?}"
    );
    assert!(duplicates.len() <= leased_hosts.len());
    eprintln!(
        "SIGKILL during a fan-out ({backend:?}): {total} deliveries to {SERVERS} servers; at the \
         kill {done_before} recorded done, {} leased, {got_before} received by their servers; \
         after the restart {} duplicates (all of them leased at the kill)",
        leased.len(),
        duplicates.len()
    );
    let unverified = fleet.unverified();
    assert!(
        unverified.is_empty(),
        "every signature verifies: {unverified:?}"
    );
}

/// The ids of the announces of `ideas` the fleet received.
fn ids_of_fan_out(fleet: &Fleet, ideas: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in &fleet.servers {
        for p in s.posts() {
            if p.kind == "Announce"
                && ideas.iter().any(|i| {
                    p.body["object"]["id"] == i.as_str()
                        || p.body["object"]["object"]["id"] == i.as_str()
                })
            {
                out.insert(p.id);
            }
        }
    }
    out
}

backends!(sigkill => sigkill_during_fan_out);

// ---------------------------------------------------------------------------------------------
// Two processes on one PostgreSQL.

#[tokio::test]
async fn two_processes_on_one_postgresql() {
    if !backend_available(Backend::Postgres) {
        return;
    }
    const SERVERS: usize = 50;
    const IDEAS: usize = 10;
    let a = Node::start("A", Backend::Postgres).await;
    let b = a.start_beside("B").await;
    let both = [a.base.clone(), b.base.clone()];
    let staff = a.add_user("alice", true);

    // A token made through one process works on the other.
    let (s, carol) = b
        .post("/api/v1/users", &staff, json!({"name": "carol"}))
        .await;
    assert_eq!(s, 201, "staff's token from the CLI works on B: {carol}");
    let carol = carol["token"].as_str().unwrap().to_string();
    let (s, me) = a.get("/api/v1/me", &carol).await;
    assert_eq!((s, me["name"].clone()), (StatusCode::OK, json!("carol")));

    // Followers on 50 servers; their Follows spread over both processes.
    let room = public_room(&b, &staff).await;
    let mut fleet = Fleet::start(SERVERS, "g").await;
    fleet.follow(&room, &both).await;
    fleet.wait_accepted(90).await;
    let follows = r#"cocreate_inbox_activities_total{type="Follow",result="accepted"}"#;
    assert_eq!(
        (metric(&a, follows).await, metric(&b, follows).await),
        ((SERVERS / 2) as f64, (SERVERS / 2) as f64),
        "each process answered half of the Follows"
    );

    // Ten ideas, submitted through both processes, to 50 servers: 1000 deliveries.
    fleet.set_delays(Duration::from_millis(15));
    let mut ideas = Vec::new();
    for i in 0..IDEAS {
        let via = if i % 2 == 0 { &a } else { &b };
        ideas.push(submit_idea(via, &carol, &format!("Idea {i}")).await);
    }
    wait_for_all(&fleet, &ideas, 120, &[&a, &b]).await;
    assert_all_delivered(&a, &staff, 60).await;
    let counts = delivery_counts(&b, &staff).await;
    let rows = counts["delivered"];
    assert_eq!(
        rows,
        (SERVERS + 2 * IDEAS * SERVERS) as i64,
        "Accepts and announces, all delivered: {counts:?}"
    );

    // No server received anything twice; both workers took part, and together they made
    // exactly one successful attempt per delivery (a row sent by both would count twice).
    for s in &fleet.servers {
        let posts = s.posts();
        for i in &ideas {
            assert_eq!(
                announces_of_idea(&posts, i),
                (1, 1),
                "{} gets each announce of {i} once",
                s.inbox
            );
        }
    }
    let twice: Vec<_> = fleet
        .receipts()
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(twice.is_empty(), "POSTed twice: {twice:?}");
    let delivered = r#"cocreate_deliveries_total{result="delivered"}"#;
    let (by_a, by_b) = (metric(&a, delivered).await, metric(&b, delivered).await);
    eprintln!("two processes: A delivered {by_a}, B delivered {by_b} of {rows} deliveries");
    assert!(
        by_a > 0.0 && by_b > 0.0,
        "both delivery workers take part: A {by_a}, B {by_b}"
    );
    assert_eq!(by_a + by_b, rows as f64, "one attempt per delivery");
    for n in [&a, &b] {
        for result in ["retry", "failed"] {
            let series = format!(r#"cocreate_deliveries_total{{result="{result}"}}"#);
            assert_eq!(metric(n, &series).await, 0.0, "{} {result}", n.name);
        }
    }
    let unverified = fleet.unverified();
    assert!(unverified.is_empty(), "{unverified:?}");

    inbound_over_both(&a, &b, &fleet, &ideas[0], &carol).await;
    key_rotation_over_both(&a, &b, &mut fleet, &ideas[1]).await;
    web_session_over_both(&a, &b).await;
}

/// Likes and replies from the fleet, spread over both processes; the same activity sent to
/// both at once and one after the other is applied once.
async fn inbound_over_both(a: &Node, b: &Node, fleet: &Fleet, idea: &str, token: &str) {
    let public = format!("http://{}/inbox", a.domain);
    let entries = [a.base.clone(), b.base.clone()];
    let reply = |s: &common::fleet::FleetServer, n: usize| {
        json!({"@context": "https://www.w3.org/ns/activitystreams",
            "id": s.new_id("create"), "type": "Create", "actor": s.actor_id,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {"id": s.new_id("note"), "type": "Note", "attributedTo": s.actor_id,
                "inReplyTo": idea, "content": format!("<p>reply {n}</p>"),
                "to": ["https://www.w3.org/ns/activitystreams#Public"]}})
    };
    let like = |s: &common::fleet::FleetServer| {
        json!({"@context": "https://www.w3.org/ns/activitystreams",
            "id": s.new_id("like"), "type": "Like", "actor": s.actor_id, "object": idea})
    };
    let status_of = |text: &str| {
        serde_json::from_str::<Value>(text).unwrap_or(Value::Null)["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };

    // Servers 0..20: a Like to one process, a reply to the other, all at once.
    let mut sends = tokio::task::JoinSet::new();
    for (i, s) in fleet.servers.iter().take(20).enumerate() {
        for (activity, entry) in [
            (like(s), entries[i % 2].clone()),
            (reply(s, i), entries[(i + 1) % 2].clone()),
        ] {
            let (sender, public) = (s.sender(), public.clone());
            sends.spawn(async move { sender.post_via(&public, &entry, &activity).await });
        }
    }
    while let Some(r) = sends.join_next().await {
        let (status, text) = r.unwrap();
        assert_eq!(
            (status.as_u16(), status_of(&text)),
            (202, "accepted".to_string()),
            "{text}"
        );
    }

    // Servers 20..30: the same reply to both processes at once; one applies it, the other
    // answers that it is a duplicate.
    for (i, s) in fleet.servers.iter().enumerate().skip(20).take(10) {
        let activity = reply(s, i);
        let ((s1, t1), (s2, t2)) = tokio::join!(
            s.post_via(&public, &entries[0], &activity),
            s.post_via(&public, &entries[1], &activity)
        );
        assert_eq!(
            (s1.as_u16(), s2.as_u16()),
            (202, 202),
            "the same reply at both processes: {t1} / {t2}\n{}\n{}",
            a.log(),
            b.log()
        );
        let mut statuses = [status_of(&t1), status_of(&t2)];
        statuses.sort();
        assert_eq!(statuses, ["accepted", "duplicate"], "{t1} / {t2}");
    }

    // Servers 30..35: a Like to one process, then the same Like to the other.
    for (i, s) in fleet.servers.iter().enumerate().skip(30).take(5) {
        let activity = like(s);
        let (s1, t1) = s.post_via(&public, &entries[i % 2], &activity).await;
        let (s2, t2) = s.post_via(&public, &entries[(i + 1) % 2], &activity).await;
        assert_eq!(
            (s1.as_u16(), status_of(&t1), s2.as_u16(), status_of(&t2)),
            (202, "accepted".into(), 202, "duplicate".into()),
            "{t1} / {t2}"
        );
    }

    // Both processes show the same counts: 25 supports, 30 comments, each stored once.
    for n in [a, b] {
        let (s, shown) = n.get(&idea_path(idea), token).await;
        assert_eq!(s, 200, "{shown}");
        assert_eq!(
            (
                shown["support_count"].clone(),
                shown["comment_count"].clone()
            ),
            (json!(25), json!(30)),
            "{} shows {shown}",
            n.name
        );
    }
    let mut duplicates = 0.0;
    for n in [a, b] {
        for kind in ["Create", "Like"] {
            let series =
                format!(r#"cocreate_inbox_activities_total{{type="{kind}",result="duplicate"}}"#);
            duplicates += metric(n, &series).await;
        }
    }
    assert_eq!(duplicates, 15.0, "10 replies and 5 likes were sent twice");
}

/// The actor cache lives in the database: a key that one process fetched again after a
/// rotation is the key the other process checks with, with no fetch of its own.
async fn key_rotation_over_both(a: &Node, b: &Node, fleet: &mut Fleet, idea: &str) {
    let public = format!("http://{}/inbox", a.domain);
    let server = &mut fleet.servers[SERVERS_ROTATING];
    let like = |s: &common::fleet::FleetServer| {
        json!({"@context": "https://www.w3.org/ns/activitystreams",
            "id": s.new_id("like"), "type": "Like", "actor": s.actor_id, "object": idea})
    };
    server.rotate_key().await;
    let before = server.actor_fetches();
    let (s1, t1) = server.post_via(&public, &b.base, &like(server)).await;
    assert_eq!(s1, 202, "B fetches the rotated key once and accepts: {t1}");
    assert_eq!(
        server.actor_fetches(),
        before + 1,
        "B fetched the key again"
    );
    let reply = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": server.new_id("note"), "type": "Create", "actor": server.actor_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": server.new_id("note"), "type": "Note", "attributedTo": server.actor_id,
            "inReplyTo": idea, "content": "<p>new key</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"]}});
    let (s2, t2) = server.post_via(&public, &a.base, &reply).await;
    assert_eq!(s2, 202, "A checks with the key B stored: {t2}");
    assert_eq!(
        server.actor_fetches(),
        before + 1,
        "A used the key B refreshed, with no fetch of its own"
    );
}

/// Which fleet server rotates its key (one that sent nothing inbound before).
const SERVERS_ROTATING: usize = 40;

/// A web session made by signing in through one process works on the other, and signing out
/// through that one ends it on both.
async fn web_session_over_both(a: &Node, b: &Node) {
    const PASSWORD: &str = "a long password";
    a.add_user_with_password("dora", false, PASSWORD);
    let web = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = |resp: &reqwest::Response, name: &str| {
        resp.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .map(|rest| rest.split(';').next().unwrap().to_string())
    };
    let hidden = |page: &str, name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let at = page
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {page}"))
            + marker.len();
        page[at..].split('"').next().unwrap().to_string()
    };
    let page = |node: &Node, session: &str| {
        let req = web
            .get(format!("{}/me", node.base))
            .header("accept", "text/html")
            .header("cookie", format!("cocreate_session={session}"));
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };

    let resp = web
        .get(format!("{}/login", b.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let form = cookie(&resp, "cocreate_form").expect("the sign-in form's cookie");
    let csrf = hidden(&resp.text().await.unwrap(), "csrf");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("username", "dora"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .finish();
    let resp = web
        .post(format!("{}/login", b.base))
        .header("cookie", format!("cocreate_form={form}"))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "signed in through B");
    let session = cookie(&resp, "cocreate_session").expect("a session cookie");

    let (status, me) = page(a, &session).await;
    assert_eq!(status, 200, "B's session works on A: {me}");
    assert!(me.contains("dora"), "{me}");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("csrf", hidden(&me, "csrf"))])
        .finish();
    let resp = web
        .post(format!("{}/logout", a.base))
        .header("cookie", format!("cocreate_session={session}"))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "signed out through A");
    let (status, page_b) = page(b, &session).await;
    assert!(
        status != 200 || !page_b.contains("dora"),
        "the session ended on A is over on B too: {status}"
    );
}

// ---------------------------------------------------------------------------------------------
// Kept documents on two processes.

/// The `name` of the idea document at `url`, read anonymously as a remote server would.
async fn title_at(node: &Node, url: &str) -> String {
    let (s, doc) = node.get_ap(url).await;
    assert_eq!(s, 200, "{doc}");
    doc["name"].as_str().unwrap_or_default().to_string()
}

/// Ends the sessions listening for changes (src/store/changes.rs), as a database restart or a
/// network break would; returns how many there were.
fn end_listening_sessions(url: &str) -> usize {
    #[derive(diesel::QueryableByName)]
    struct Ended {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        #[allow(dead_code)]
        ended: bool,
    }
    use diesel::RunQueryDsl;
    const SQL: &str = "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity \
                       WHERE application_name = 'cocreate changes' AND datname = current_database()";
    with_db(
        url,
        |_| unreachable!("PostgreSQL only"),
        |c| diesel::sql_query(SQL).load::<Ended>(c).unwrap().len(),
    )
}

/// Each process keeps the documents it served to anonymous readers; a change committed by the
/// other process is served within milliseconds all the same (PostgreSQL tells it), well before
/// the second a kept document may otherwise live; also right after its listening session was
/// cut, and once it listens again.
#[tokio::test]
async fn kept_documents_follow_the_other_process() {
    if !backend_available(Backend::Postgres) {
        return;
    }
    let a = Node::start("A", Backend::Postgres).await;
    let b = a.start_beside("B").await;
    let staff = a.add_user("alice", true);
    public_room(&a, &staff).await;
    let (s, idea) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &staff,
            json!({"title": "Title 0", "body": "A body."}),
        )
        .await;
    assert_eq!(s, 201, "{idea}");
    let id = idea["id"].to_string();
    let ap_id = idea["ap_id"].as_str().unwrap();
    let on_b = ap_id.replace(&a.base, &b.base);
    assert_ne!(on_b, ap_id, "B is asked on its own port");
    let edit = |n: usize| {
        let (a, staff, id) = (&a, &staff, &id);
        async move {
            let (s, d) = a
                .patch(
                    &format!("/api/v1/ideas/{id}"),
                    staff,
                    json!({"title": format!("Title {n}")}),
                )
                .await;
            assert_eq!(s, 200, "{d}");
        }
    };
    // Both processes listen once they have started.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pg_listeners(&a.database_url) < 2 {
        assert!(std::time::Instant::now() < deadline, "A and B listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    for n in 1..=3 {
        // B serves the document twice (the second time from what it kept) ...
        assert_eq!(title_at(&b, &on_b).await, format!("Title {}", n - 1));
        assert_eq!(title_at(&b, &on_b).await, format!("Title {}", n - 1));
        // ... and A's change is seen as soon as B is told of it.
        edit(n).await;
        soon_titled(&b, &on_b, &format!("Title {n}")).await;
    }

    // B's listening session is cut: until it listens again, nothing kept is served.
    assert_eq!(title_at(&b, &on_b).await, "Title 3");
    assert_eq!(end_listening_sessions(&a.database_url), 2);
    tokio::time::sleep(Duration::from_millis(50)).await;
    edit(4).await;
    soon_titled(&b, &on_b, "Title 4").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pg_listeners(&a.database_url) < 2 {
        assert!(std::time::Instant::now() < deadline, "A and B listen again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(title_at(&b, &on_b).await, "Title 4");
    assert_eq!(title_at(&b, &on_b).await, "Title 4");
    edit(5).await;
    soon_titled(&b, &on_b, "Title 5").await;
}

/// Waits for `node` to serve the idea at `url` with `title`: at most half a second, well
/// within the second its kept document would live if nothing told it of the change.
async fn soon_titled(node: &Node, url: &str, title: &str) {
    let started = std::time::Instant::now();
    for reads in 1.. {
        let seen = title_at(node, url).await;
        if seen == title {
            eprintln!("{title} served by {} at read {reads}", node.name);
            return;
        }
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{} still serves {seen:?}, not {title:?}",
            node.name
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// How many sessions of the node's database listen for changes.
fn pg_listeners(url: &str) -> usize {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    const SQL: &str = "SELECT count(*) AS n FROM pg_stat_activity \
                       WHERE application_name = 'cocreate changes' AND datname = current_database() \
                       AND state = 'idle'";
    with_db(
        url,
        |_| unreachable!("PostgreSQL only"),
        |c| diesel::sql_query(SQL).get_result::<Count>(c).unwrap().n as usize,
    )
}
