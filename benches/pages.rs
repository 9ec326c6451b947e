//! Page benchmarks on a release build of the node: the server time of the room page with 1,000
//! ideas (board, list, search) and of the idea page with 500 comments, and their weight. Run
//! with `cargo bench --bench pages`; set COCREATE_TEST_POSTGRES to also measure PostgreSQL.
//!
//! Time is measured at the client over loopback, from sending the request to the last byte, so
//! it bounds the server's time from above (it includes the HTTP round trip, about 0.1 ms here).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;
use serde_json::json;

const IDEAS: usize = 1000;
const COMMENTS: usize = 500;
const REQUESTS: usize = 200;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Times `REQUESTS` sequential browser requests of `url`: median and p90 in ms, and the size
/// of the page in bytes.
async fn measure(client: &reqwest::Client, url: &str) -> (f64, f64, usize) {
    let get = || {
        client
            .get(url)
            .header("accept", "text/html")
            .header("accept-language", "en")
            .send()
    };
    // Warm-up.
    let warm = get().await.unwrap();
    assert_eq!(warm.status(), 200, "{url}");
    let size = warm.bytes().await.unwrap().len();
    let mut times = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let start = Instant::now();
        let resp = get().await.unwrap();
        let body = resp.bytes().await.unwrap();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        assert!(body.len() > 1000);
    }
    (median(times.clone()), percentile(times, 0.9), size)
}

async fn run(backend: Backend) {
    let node = Node::start("pages", backend).await;
    let staff = node.add_user("alice", true);
    node.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "lab", "title": "Lab", "summary": "A room with many ideas"}),
    )
    .await;
    let seeding = Instant::now();
    let mut last = json!(null);
    for n in 0..IDEAS {
        let (s, idea) = node
            .post(
                "/api/v1/rooms/lab/ideas",
                &staff,
                json!({"title": format!("Widget idea {n}"),
                       "body": format!("A description of idea {n}, with **some** markdown and a few words to make it realistic.")}),
            )
            .await;
        assert_eq!(s, 201, "{idea}");
        last = idea;
    }
    let id = last["id"].as_i64().unwrap();
    for n in 0..COMMENTS {
        let (s, c) = node
            .post(
                &format!("/api/v1/ideas/{id}/comments"),
                &staff,
                json!({"body": format!("Comment {n}: I would _really_ use this.")}),
            )
            .await;
        assert!(s.is_success(), "{c}");
    }
    eprintln!(
        "{backend:?}: seeded {IDEAS} ideas and {COMMENTS} comments in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::new();
    let base = &node.base;
    let idea_url = last["ap_id"].as_str().unwrap().to_string();
    println!("| page ({backend:?}) | median ms | p90 ms | bytes |");
    println!("|---|---|---|---|");
    for (name, url) in [
        ("room, board (1,000 ideas)", format!("{base}/r/lab")),
        (
            "room, list by support, page 1",
            format!("{base}/r/lab?view=list&sort=support"),
        ),
        ("room, search 'idea 99'", format!("{base}/r/lab?q=idea+99")),
        ("idea, 500 comments", idea_url),
    ] {
        let (med, p90, size) = measure(&client, &url).await;
        println!("| {name} | {med:.2} | {p90:.2} | {size} |");
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing: run only for bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    run(Backend::Sqlite).await;
    if postgres_server().is_some() {
        run(Backend::Postgres).await;
    }
}
