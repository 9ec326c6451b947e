//! Federation benchmarks on a release build of the node: inbox latency and throughput for
//! signed activities, and outbox fan-out to many follower servers. Run with `cargo bench`;
//! set COCREATE_TEST_POSTGRES to also measure PostgreSQL. Prints medians of 5 runs.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::remote::RemoteActor;
use common::*;
use serde_json::json;

const RUNS: usize = 5;
const SEQUENTIAL: usize = 200;
const CONCURRENT: usize = 400;
const CONCURRENCY: usize = 16;
const FOLLOWER_SERVERS: usize = 20;
const FANOUT_IDEAS: usize = 25;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

struct Figures {
    latency_median_ms: f64,
    latency_p90_ms: f64,
    inbox_per_sec: f64,
    deliveries_per_sec: f64,
}

async fn one_run(backend: Backend) -> Figures {
    let node = Node::start("bench", backend).await;
    let staff = node.add_user("alice", true);
    node.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "lab", "title": "Lab"}),
    )
    .await;
    let (_, idea) = node
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "Bench idea", "body": "x"}),
        )
        .await;
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    let inbox = format!("{}/inbox", node.base);
    let remote = RemoteActor::start("bencher").await;
    let comment = |remote: &RemoteActor| {
        let note = remote.new_id("note");
        json!({"id": remote.new_id("create"), "type": "Create", "actor": remote.actor_id,
            "object": {"id": note, "type": "Note", "attributedTo": remote.actor_id, "inReplyTo": idea_ap,
                       "content": "<p>benchmark comment</p>", "to": ["https://www.w3.org/ns/activitystreams#Public"]}})
    };
    // Warm-up: the node fetches and caches the remote actor's key.
    let (s, t) = remote.post_activity(&inbox, &comment(&remote)).await;
    assert_eq!(s, 202, "{t}");

    // Sequential: latency of one signed Create(Note) from send to 202 (signing included).
    let mut latencies = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        let body = comment(&remote).to_string();
        let start = Instant::now();
        let (s, _) = remote.post_signed(&inbox, body.as_bytes()).await;
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(s, 202);
    }

    // Concurrent: throughput with CONCURRENCY requests in flight (bodies signed beforehand).
    let url = url::Url::parse(&inbox).unwrap();
    let signed: Vec<(String, Vec<(&'static str, String)>)> = (0..CONCURRENT)
        .map(|_| {
            let body = comment(&remote).to_string();
            let h = cocreate::federation::signatures::sign(
                "POST",
                &url,
                Some(body.as_bytes()),
                &remote.key_id,
                &remote.key,
            )
            .unwrap();
            (body, h)
        })
        .collect();
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut chunks = signed
        .chunks(CONCURRENT / CONCURRENCY)
        .map(|c| c.to_vec())
        .collect::<Vec<_>>();
    let mut tasks = Vec::new();
    for chunk in chunks.drain(..) {
        let (client, inbox) = (client.clone(), inbox.clone());
        tasks.push(tokio::spawn(async move {
            for (body, headers) in chunk {
                let mut req = client
                    .post(&inbox)
                    .header("content-type", "application/activity+json")
                    .body(body);
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                assert_eq!(req.send().await.unwrap().status().as_u16(), 202);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let inbox_per_sec = CONCURRENT as f64 / start.elapsed().as_secs_f64();

    // Fan-out: FOLLOWER_SERVERS servers follow the room; each idea is announced to all of them.
    let mut followers = Vec::new();
    for i in 0..FOLLOWER_SERVERS {
        let f = RemoteActor::start(&format!("f{i}")).await;
        let follow = json!({"id": f.new_id("follow"), "type": "Follow", "actor": f.actor_id, "object": format!("{}/r/lab", node.base)});
        let (s, t) = f
            .post_activity(&format!("{}/r/lab/inbox", node.base), &follow)
            .await;
        assert_eq!(s, 202, "{t}");
        followers.push(f);
    }
    eventually(60, "every follower got its Accept", || async {
        followers
            .iter()
            .all(|f| !f.received().is_empty())
            .then_some(())
    })
    .await;
    let before: Vec<usize> = followers.iter().map(|f| f.received().len()).collect();
    // Each idea sends the Announce of its Create and the Announce of the Page to every server.
    let expected = FANOUT_IDEAS * 2;
    let start = Instant::now();
    for n in 0..FANOUT_IDEAS {
        let (s, _) = node
            .post(
                "/api/v1/rooms/lab/ideas",
                &staff,
                json!({"title": format!("Fan-out {n}"), "body": "y"}),
            )
            .await;
        assert_eq!(s, 201);
    }
    eventually(120, "all announces delivered", || async {
        followers
            .iter()
            .zip(&before)
            .all(|(f, b)| f.received().len() - b >= expected)
            .then_some(())
    })
    .await;
    let deliveries_per_sec = (expected * FOLLOWER_SERVERS) as f64 / start.elapsed().as_secs_f64();

    Figures {
        latency_median_ms: median(latencies.clone()),
        latency_p90_ms: percentile(latencies, 0.9),
        inbox_per_sec,
        deliveries_per_sec,
    }
}

async fn measure(backend: Backend) -> Option<[f64; 4]> {
    if !backend_available(backend) {
        return None;
    }
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(one_run(backend).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Some([
        median(runs.iter().map(|r| r.latency_median_ms).collect()),
        median(runs.iter().map(|r| r.latency_p90_ms).collect()),
        median(runs.iter().map(|r| r.inbox_per_sec).collect()),
        median(runs.iter().map(|r| r.deliveries_per_sec).collect()),
    ])
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing: run only for bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sqlite = measure(Backend::Sqlite).await.unwrap();
    let postgres = measure(Backend::Postgres).await;
    println!("\n| figure (median of {RUNS} runs) | SQLite | PostgreSQL | PostgreSQL / SQLite |");
    println!("|---|---|---|---|");
    let names = [
        "inbox latency, sequential signed Create(Note), median ms",
        "inbox latency, p90 ms",
        &format!("inbox throughput, {CONCURRENCY} in flight, activities/s"),
        &format!("outbox fan-out to {FOLLOWER_SERVERS} servers, deliveries/s"),
    ];
    for (i, name) in names.iter().enumerate() {
        match &postgres {
            Some(p) => println!(
                "| {name} | {:.2} | {:.2} | {:.2} |",
                sqlite[i],
                p[i],
                p[i] / sqlite[i]
            ),
            None => println!("| {name} | {:.2} | not run | |", sqlite[i]),
        }
    }
}
