//! Scale benchmarks on a release build of the node (`cargo bench --bench scale`): a fan-out to
//! 1,000 follower servers against the rate at which this machine makes RSA signatures (each
//! delivery carries its own; the servers verify each one, with AWS-LC, on the same cores), and
//! the node's resident memory idle and with 100,000 ideas.
//! SQLite always, PostgreSQL when COCREATE_TEST_POSTGRES is set. BENCHMARKS.md has the method.
//!
//! For longer runs while profiling: COCREATE_BENCH_IDEAS sets the number of ideas fanned out
//! (default 5), and COCREATE_BENCH_FAN_OUT_ONLY=1 skips the memory figures.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use cocreate::federation::signatures::{RsaSigner, SigningKey};
use common::fleet::Fleet;
use common::*;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::json;

const SERVERS: usize = 1000;
/// Ideas fanned out when COCREATE_BENCH_IDEAS does not say.
const IDEAS: usize = 5;
const SEEDED_IDEAS: usize = 100_000;

/// RSA-2048 PKCS#1 v1.5 SHA-256 signatures a second with AWS-LC, on `threads` threads at once.
fn signing_rate(threads: usize) -> f64 {
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let key = SigningKey::from_pem(&key.to_pkcs8_pem(LineEnding::LF).unwrap()).unwrap();
    let per_thread = 1500;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let key = key.clone();
            s.spawn(move || {
                for i in 0..per_thread {
                    let msg = format!("(request-target): post /inbox\nhost: h{t}\ndate: {i}");
                    key.sign_pkcs1_sha256(msg.as_bytes()).unwrap();
                }
            });
        }
    });
    (threads * per_thread) as f64 / start.elapsed().as_secs_f64()
}

/// Deliveries a second of the Announces of `ideas` new ideas to SERVERS follower servers.
async fn fan_out(backend: Backend, fleet: &Fleet, ideas: usize) -> (f64, usize) {
    let node = Node::start("scale", backend).await;
    let staff = node.add_user("alice", true);
    node.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "lab", "title": "Lab"}),
    )
    .await;
    let room = format!("{}/r/lab", node.base);
    fleet.follow(&room, std::slice::from_ref(&node.base)).await;
    assert_all_delivered(&node, &staff, 300).await;
    let delivered = |c: &serde_json::Value| c["delivered"].as_i64().unwrap_or(0);
    let (_, before) = node.get("/api/v1/admin/deliveries", &staff).await;
    let received_before = fleet.post_count();
    let start = Instant::now();
    for n in 0..ideas {
        let (s, _) = node
            .post(
                "/api/v1/rooms/lab/ideas",
                &staff,
                json!({"title": format!("Scale {n}"), "body": "z"}),
            )
            .await;
        assert_eq!(s, 201);
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    // The fleet's count first: asking the node counts its deliveries table, work that would
    // take the cores from the fan-out being measured. Then the node, until nothing is pending.
    while fleet.post_count() - received_before < ideas * 2 * SERVERS {
        assert!(
            Instant::now() < deadline,
            "the fan-out did not reach every server"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = loop {
        let (_, c) = node.get("/api/v1/admin/deliveries", &staff).await;
        if c["pending"].as_i64().unwrap_or(0) == 0 {
            break c;
        }
        assert!(Instant::now() < deadline, "the fan-out did not finish: {c}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(after["failed"].as_i64().unwrap_or(0), 0, "{after}");
    let n = (delivered(&after) - delivered(&before)) as usize;
    (n as f64 / elapsed, n)
}

/// Resident memory idle, then after 100,000 ideas are in the database and the pages and
/// collections that list them have been read.
async fn memory(backend: Backend) -> (f64, f64, f64) {
    let node = Node::start("memory", backend).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = node.resident_mb();
    let staff = node.add_user("alice", true);
    node.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "lab", "title": "Lab", "visibility": "public"}),
    )
    .await;
    let (_, idea) = node
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "First", "body": "x"}),
        )
        .await;
    seed_ideas(&node.database_url, &node.base, idea["id"].as_i64()).await;
    // What lists ideas: the room page (board and list), the REST list, the outbox and the
    // room's collections, and one idea as JSON; each twice.
    for _ in 0..2 {
        for path in [
            "/r/lab",
            "/r/lab?view=list&sort=support",
            "/api/v1/rooms/lab/ideas?per_page=500",
            "/r/lab/outbox?page=1",
            "/api/v1/ideas/2",
        ] {
            let r = node
                .http
                .get(format!("{}{path}", node.base))
                .bearer_auth(&staff)
                .header(
                    "accept",
                    if path.starts_with("/r/lab/outbox") {
                        "application/activity+json"
                    } else {
                        "text/html"
                    },
                )
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.bytes().await.unwrap();
        }
    }
    let loaded = node.resident_mb();
    tokio::time::sleep(Duration::from_secs(2)).await;
    (idle, loaded, node.resident_mb())
}

/// Inserts SEEDED_IDEAS ideas (and their stage rows) into the room of `first_idea` with one
/// SQL statement each, the way a room that grew for years looks to the node.
async fn seed_ideas(url: &str, base: &str, first_idea: Option<i64>) {
    let url = url.to_string();
    let base = base.to_string();
    let first = first_idea.expect("the first idea's id");
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let db = cocreate::store::Db::open(&url).unwrap();
        let sqlite = url.starts_with("sqlite:");
        let series = if sqlite {
            format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {SEEDED_IDEAS}) ")
        } else {
            String::new()
        };
        let from = if sqlite {
            "FROM n, ideas f".to_string()
        } else {
            format!("FROM generate_series(1, {SEEDED_IDEAS}) AS n(i), ideas f")
        };
        let concat = |parts: &[&str]| parts.join(" || ");
        let insert = format!(
            "{series}INSERT INTO ideas (ap_id, room_id, author_id, title, source, content, stage, \
             stage_answer, local, deleted, published, updated) \
             SELECT {}, f.room_id, f.author_id, {}, {}, {}, 'suggested', NULL, f.local, f.deleted, \
             f.published, f.updated {from} WHERE f.id = {first}",
            concat(&[&format!("'{base}/ideas/seed-'"), "CAST(n.i AS TEXT)"]),
            concat(&["'Seeded idea '", "CAST(n.i AS TEXT)"]),
            concat(&["'A description of seeded idea '", "CAST(n.i AS TEXT)"]),
            concat(&["'<p>A description of seeded idea '", "CAST(n.i AS TEXT)", "'</p>'"]),
        );
        let stages = format!(
            "INSERT INTO idea_stages (idea_id, stage, answer, changed_at) \
             SELECT id, stage, NULL, published FROM ideas WHERE ap_id LIKE '{base}/ideas/seed-%'"
        );
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(db.write(move |c| {
            diesel::sql_query(insert).execute(c)?;
            diesel::sql_query(stages).execute(c)?;
            Ok(())
        }))
        .unwrap();
    })
    .await
    .unwrap();
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let ideas = match std::env::var("COCREATE_BENCH_IDEAS") {
        Ok(v) => v
            .parse()
            .expect("COCREATE_BENCH_IDEAS: a number of ideas, such as 30"),
        Err(_) => IDEAS,
    };
    let fan_out_only = std::env::var("COCREATE_BENCH_FAN_OUT_ONLY").is_ok_and(|v| v == "1");
    let two = signing_rate(2);
    println!("\nRSA-2048 signatures/s with AWS-LC on this machine: {two:.0} on two cores");
    let fleet = Fleet::start(SERVERS, "s").await;
    // The fleet's servers verify every signature for real: a bad one fails.
    fleet.check_verifier().await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if !backend_available(backend) {
            println!("\n{backend:?}: not run (set COCREATE_TEST_POSTGRES)");
            continue;
        }
        // This machine's speed drifts by a quarter from minute to minute: the signing rate is
        // measured right before and right after the fan-out, and the higher of the two is
        // the one the fan-out is held to.
        let before = signing_rate(1);
        let (rate, n) = fan_out(backend, &fleet, ideas).await;
        let after = signing_rate(1);
        let one = before.max(after);
        println!("\n{backend:?}");
        println!("| figure | value |");
        println!("|---|---|");
        println!(
            "| fan-out of {ideas} ideas to {SERVERS} servers ({n} signed deliveries), deliveries/s | {rate:.0} |"
        );
        println!(
            "| RSA-2048 signatures/s on one core, before / after the fan-out | {before:.0} / {after:.0} |"
        );
        println!(
            "| fan-out / signatures a second on one core (the higher) | {:.2} |",
            rate / one
        );
        println!(
            "| fan-out / signatures a second on two cores | {:.2} |",
            rate / two
        );
        if fan_out_only {
            continue;
        }
        let (idle, loaded, settled) = memory(backend).await;
        println!("| resident memory idle after start, MB | {idle:.1} |");
        println!(
            "| resident memory after reading a room of {SEEDED_IDEAS} ideas, MB | {loaded:.1} |"
        );
        println!("| the same, 2 s later, MB | {settled:.1} |");
    }
}
