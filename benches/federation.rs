//! Federation benchmarks on a release build of the node: inbox latency and throughput for
//! signed activities from 20 remote actors, outbox fan-out to many follower servers, reads of
//! an idea as ActivityPub JSON, and the node's resident memory. Run with `cargo bench`; set
//! COCREATE_TEST_POSTGRES to also measure PostgreSQL, and COCREATE_BENCH_BASELINE to the
//! `cocreate` executable of another version (`benches/compare.sh REV` builds one) to measure
//! both side by side, interleaved run by run. Prints medians of 5 runs; BENCHMARKS.md has the
//! method.
//!
//! For longer runs while profiling: COCREATE_BENCH_RUNS sets the number of runs (default 5),
//! COCREATE_BENCH_REPLIES the replies sent at each concurrency level (default 800; a quarter
//! of it, at least 200, in the last phase, to a room that 20 servers follow), and
//! COCREATE_BENCH_BACKENDS=postgres (or sqlite) measures one backend only.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cocreate::federation::signatures::{self, SigningKey};
use common::remote::RemoteActor;
use common::*;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{json, Value};

/// Runs per version when COCREATE_BENCH_RUNS does not say.
const RUNS: usize = 5;
/// Remote actors sending replies (the Lemmy comparison used 20).
const ACTORS: usize = 20;
const SEQUENTIAL: usize = 200;
/// Activities sent at each concurrency level when COCREATE_BENCH_REPLIES does not say.
const CONCURRENT: usize = 800;
const LEVELS: [usize; 2] = [8, 16];
const FANOUT_IDEAS: usize = 25;
const READ_SECS: u64 = 3;
const READ_CONCURRENCY: usize = 16;

/// Lemmy 0.19.20 on this machine with the same load (issue 9): one at a time, 8 and 16 in flight.
const LEMMY_PER_SEC: [f64; 3] = [23.0, 80.0, 80.0];

/// A count from the environment variable `name`, else `default`.
fn env_count(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: give a whole number, such as 3")),
        Err(_) => default,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// One row of the results: a name and how to read it.
struct Figure {
    name: String,
    /// Whether more is better (throughput) or less (latency, memory).
    higher_is_better: bool,
}

fn figures() -> Vec<Figure> {
    let f = |name: &str, higher_is_better| Figure {
        name: name.to_string(),
        higher_is_better,
    };
    let mut v = vec![
        f("inbox, one at a time, activities/s", true),
        f("inbox latency, one at a time, median ms", false),
        f("inbox latency, one at a time, p99 ms", false),
    ];
    for level in LEVELS {
        v.push(f(&format!("inbox, {level} in flight, activities/s"), true));
    }
    v.push(f(
        &format!("inbox latency, {} in flight, p99 ms", LEVELS[1]),
        false,
    ));
    v.push(f(
        &format!("outbox fan-out to {ACTORS} servers, deliveries/s"),
        true,
    ));
    v.push(f(
        &format!("idea as activity+json, {READ_CONCURRENCY} in flight, reads/s"),
        true,
    ));
    v.push(f("resident memory idle after start, MB", false));
    v.push(f("resident memory after the run, MB", false));
    v.push(f(
        &format!(
            "inbox, room followed by {ACTORS} servers, {} in flight, activities/s",
            LEVELS[1]
        ),
        true,
    ));
    v
}

/// The remote side, made once per backend: 20 actors, each on its own server, with its key
/// also loaded into AWS-LC so that the load generator signs fast.
struct Senders {
    actors: Vec<RemoteActor>,
    keys: Vec<SigningKey>,
}

impl Senders {
    async fn start() -> Senders {
        let mut actors = Vec::new();
        let mut keys = Vec::new();
        for i in 0..ACTORS {
            let a = RemoteActor::start(&format!("a{i}")).await;
            let pem = a.key.to_pkcs8_pem(LineEnding::LF).unwrap();
            keys.push(SigningKey::from_pem(&pem).unwrap());
            actors.push(a);
        }
        Senders { actors, keys }
    }

    /// A reply to `idea` by actor `i`, signed for `inbox`: (body, headers).
    fn signed_reply(&self, i: usize, idea: &str, inbox: &url::Url) -> SignedPost {
        let a = &self.actors[i % ACTORS];
        let note = a.new_id("note");
        let body = json!({"id": a.new_id("create"), "type": "Create", "actor": a.actor_id,
            "object": {"id": note, "type": "Note", "attributedTo": a.actor_id, "inReplyTo": idea,
                       "content": "<p>benchmark comment</p>",
                       "to": ["https://www.w3.org/ns/activitystreams#Public"]}})
        .to_string();
        let headers = signatures::sign(
            "POST",
            inbox,
            Some(body.as_bytes()),
            &a.key_id,
            &self.keys[i % ACTORS],
        )
        .unwrap();
        SignedPost { body, headers }
    }
}

#[derive(Clone)]
struct SignedPost {
    body: String,
    headers: Vec<(&'static str, String)>,
}

async fn post(client: &reqwest::Client, inbox: &str, p: SignedPost) -> u16 {
    let mut req = client
        .post(inbox)
        .header("content-type", "application/activity+json")
        .body(p.body);
    for (k, v) in p.headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    if status != 202 {
        // What the node said, for the failed assertion that follows.
        eprintln!(
            "inbox answered {status}: {}",
            resp.text().await.unwrap_or_default()
        );
    }
    status
}

async fn one_run(backend: Backend, binary: &std::path::Path, senders: &Senders) -> Vec<f64> {
    let node = Node::start_binary("bench", backend, "", binary).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = node.resident_mb();
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
    let inbox_url = url::Url::parse(&inbox).unwrap();
    let client = reqwest::Client::new();
    // Warm-up: the node fetches and keeps each remote actor's key.
    for i in 0..ACTORS {
        let s = post(
            &client,
            &inbox,
            senders.signed_reply(i, &idea_ap, &inbox_url),
        )
        .await;
        assert_eq!(s, 202);
    }
    let mut out = Vec::new();

    // One at a time: time from sending to the 202 (signature check, idempotency record,
    // comment insert and the room's Announce queued, all committed); signed beforehand.
    let signed: Vec<SignedPost> = (0..SEQUENTIAL)
        .map(|i| senders.signed_reply(i, &idea_ap, &inbox_url))
        .collect();
    let mut latencies = Vec::with_capacity(SEQUENTIAL);
    let start = Instant::now();
    for p in signed {
        let t = Instant::now();
        assert_eq!(post(&client, &inbox, p).await, 202);
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    out.push(SEQUENTIAL as f64 / start.elapsed().as_secs_f64());
    out.push(median(latencies.clone()));
    out.push(percentile(latencies, 0.99));

    // Concurrent: LEVEL senders in flight, each taking the next signed activity.
    let mut p99_last = 0.0;
    let concurrent = env_count("COCREATE_BENCH_REPLIES", CONCURRENT);
    for level in LEVELS {
        let signed = (0..concurrent)
            .map(|i| senders.signed_reply(i, &idea_ap, &inbox_url))
            .collect();
        let (rate, lat) = in_flight(&client, &inbox, signed, level).await;
        out.push(rate);
        p99_last = percentile(lat, 0.99);
    }
    out.push(p99_last);

    // Fan-out: the 20 actors' servers follow the room; each idea is announced to all of them.
    for a in &senders.actors {
        let follow = json!({"id": a.new_id("follow"), "type": "Follow", "actor": a.actor_id, "object": format!("{}/r/lab", node.base)});
        let (s, t) = a
            .post_activity(&format!("{}/r/lab/inbox", node.base), &follow)
            .await;
        assert_eq!(s, 202, "{t}");
    }
    let accepted = |a: &RemoteActor| {
        a.received()
            .iter()
            .filter(|r| {
                r["type"] == "Accept"
                    && r["object"]["object"]
                        .as_str()
                        .is_some_and(|o| o.starts_with(&node.base))
            })
            .count()
    };
    eventually(60, "every follower got its Accept", || async {
        senders.actors.iter().all(|a| accepted(a) > 0).then_some(())
    })
    .await;
    let announces = |a: &RemoteActor| {
        a.received()
            .iter()
            .filter(|r| {
                r["type"] == "Announce"
                    && r["actor"]
                        .as_str()
                        .is_some_and(|o| o.starts_with(&node.base))
            })
            .filter(|r| !announce_of_comment(r))
            .count()
    };
    let before: Vec<usize> = senders.actors.iter().map(announces).collect();
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
    // Each idea makes the Announce of its Create and, for servers that show only announced
    // objects, the Announce of the Page: done when the node has nothing left to deliver.
    // Polled every 20 ms, so the time is at most that much late.
    let deadline = Instant::now() + Duration::from_secs(120);
    let per_idea = loop {
        let got: Vec<usize> = senders
            .actors
            .iter()
            .zip(&before)
            .map(|(a, b)| announces(a) - b)
            .collect();
        if got[0] >= FANOUT_IDEAS && got.iter().all(|g| *g == got[0]) {
            let (_, counts) = node.get("/api/v1/admin/deliveries", &staff).await;
            if counts["pending"].as_i64().unwrap_or(0) == 0 {
                break got[0];
            }
        }
        assert!(Instant::now() < deadline, "the fan-out did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = start.elapsed().as_secs_f64();
    out.push((per_idea * ACTORS) as f64 / elapsed);

    // Reads: the idea as ActivityPub JSON, READ_CONCURRENCY readers for READ_SECS.
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..READ_CONCURRENCY {
        let (client, url, stop) = (client.clone(), idea_ap.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .get(&url)
                    .header("accept", "application/activity+json")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let _: Value = r.json().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(READ_SECS)).await;
    stop.store(true, Ordering::Relaxed);
    let mut reads = 0;
    for t in tasks {
        reads += t.await.unwrap();
    }
    out.push(reads as f64 / start.elapsed().as_secs_f64());
    out.push(rss_idle);
    out.push(node.resident_mb());

    // Replies in the room the 20 servers now follow, the realistic case: each reply is
    // stored with the room's Announce of it and that Announce's deliveries to the 19 other
    // servers, which the delivery worker sends while the replies keep coming. Last, so that
    // its deliveries (left unsent when the node stops) weigh on no other figure.
    let followed = (concurrent / 4).max(200);
    let signed = (0..followed)
        .map(|i| senders.signed_reply(i, &idea_ap, &inbox_url))
        .collect();
    let (rate, _) = in_flight(&client, &inbox, signed, LEVELS[1]).await;
    out.push(rate);
    retire(node);
    out
}

/// Stops `node` so that its run leaves no work behind for the next one: on PostgreSQL its
/// database is dropped (else autovacuum would work through the run's dead rows during the
/// next run) and a checkpoint writes out what the run changed (else it would come due during
/// the next run). Without this the first phase of a run was slowed by the run before it.
fn retire(mut node: Node) {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    node.kill();
    let Some((server, name)) = node.database_url.rsplit_once('/') else {
        return;
    };
    if !server.starts_with("postgres") {
        return;
    }
    let mut c = PgConnection::establish(&format!("{server}/postgres"))
        .expect("connect to the PostgreSQL server to drop the run's database");
    diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut c)
        .expect("drop the run's database");
    diesel::sql_query("CHECKPOINT")
        .execute(&mut c)
        .expect("checkpoint after the run");
}

/// Posts `signed` to `inbox` with `level` requests in flight, each sender taking the next
/// activity: the activities acknowledged per second, and each one's latency in ms.
async fn in_flight(
    client: &reqwest::Client,
    inbox: &str,
    signed: Vec<SignedPost>,
    level: usize,
) -> (f64, Vec<f64>) {
    let count = signed.len();
    let signed = Arc::new(signed);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..level {
        let (client, inbox, signed, next) = (
            client.clone(),
            inbox.to_string(),
            signed.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = signed.get(i) else { break };
                let t = Instant::now();
                assert_eq!(post(&client, &inbox, p.clone()).await, 202);
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    (count as f64 / start.elapsed().as_secs_f64(), lat)
}

/// Whether an Announce carries a comment (the inbox phase's replies are announced too).
fn announce_of_comment(r: &Value) -> bool {
    let inner = &r["object"];
    let obj = if inner["type"] == "Create" {
        &inner["object"]
    } else {
        inner
    };
    obj["type"] == "Note"
}

/// The medians of each figure over `runs` runs, per version, the versions interleaved run by
/// run.
async fn measure(
    backend: Backend,
    versions: &[(String, PathBuf)],
    count: usize,
) -> Option<Vec<Vec<f64>>> {
    if !backend_available(backend) {
        return None;
    }
    let senders = Senders::start().await;
    let mut runs: Vec<Vec<Vec<f64>>> = vec![Vec::new(); versions.len()];
    for run in 0..count {
        for (v, (label, binary)) in versions.iter().enumerate() {
            eprintln!("{backend:?} run {}/{count}: {label}", run + 1);
            runs[v].push(one_run(backend, binary, &senders).await);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Some(
        runs.iter()
            .map(|r| {
                (0..r[0].len())
                    .map(|i| median(r.iter().map(|x| x[i]).collect()))
                    .collect()
            })
            .collect(),
    )
}

fn print_table(
    backend: Backend,
    versions: &[(String, PathBuf)],
    medians: &[Vec<f64>],
    runs: usize,
) {
    let names = figures();
    println!("\n{backend:?}, median of {runs} runs");
    match versions.len() {
        1 => {
            println!("| figure | {} |", versions[0].0);
            println!("|---|---|");
            for (i, f) in names.iter().enumerate() {
                println!("| {} | {:.2} |", f.name, medians[0][i]);
            }
        }
        _ => {
            println!(
                "| figure | {} | {} | {} / {} |",
                versions[0].0, versions[1].0, versions[0].0, versions[1].0
            );
            println!("|---|---|---|---|");
            for (i, f) in names.iter().enumerate() {
                let ratio = medians[0][i] / medians[1][i];
                let arrow = if (ratio > 1.0) == f.higher_is_better {
                    "better"
                } else {
                    "worse"
                };
                println!(
                    "| {} | {:.2} | {:.2} | {:.2} ({arrow}) |",
                    f.name, medians[0][i], medians[1][i], ratio
                );
            }
        }
    }
    let m = &medians[0];
    let inbound = [m[0], m[3], m[4]];
    println!(
        "\nThis build against Lemmy 0.19.20 (23, 80 and 80 activities/s, measured by issue 9): \
         one at a time {:.1}x, {} in flight {:.1}x, {} in flight {:.1}x",
        inbound[0] / LEMMY_PER_SEC[0],
        LEVELS[0],
        inbound[1] / LEMMY_PER_SEC[1],
        LEVELS[1],
        inbound[2] / LEMMY_PER_SEC[2]
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing: run only for bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mut versions = vec![(
        "this build".to_string(),
        PathBuf::from(env!("CARGO_BIN_EXE_cocreate")),
    )];
    if let Ok(base) = std::env::var("COCREATE_BENCH_BASELINE") {
        let path = PathBuf::from(&base);
        assert!(
            path.is_file(),
            "COCREATE_BENCH_BASELINE={base} is not a file: give the path of another cocreate executable (benches/compare.sh REV builds one)"
        );
        let label = std::env::var("COCREATE_BENCH_BASELINE_LABEL").unwrap_or("baseline".into());
        versions.push((label, path));
    }
    let runs = env_count("COCREATE_BENCH_RUNS", RUNS);
    let only = std::env::var("COCREATE_BENCH_BACKENDS").ok();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let name = format!("{backend:?}").to_lowercase();
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|b| b.trim() == name))
        {
            println!(
                "\n{backend:?}: not run (COCREATE_BENCH_BACKENDS={})",
                only.as_deref().unwrap_or("")
            );
            continue;
        }
        if let Some(m) = measure(backend, &versions, runs).await {
            print_table(backend, &versions, &m, runs);
        } else {
            println!("\n{backend:?}: not run (set COCREATE_TEST_POSTGRES)");
        }
    }
}
