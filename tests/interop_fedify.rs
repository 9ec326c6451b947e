//! Interop with a third-party implementation: a peer built on Fedify (npm `@fedify/fedify`,
//! tests/interop/fedify-peer) follows a room, receives ideas whose signatures Fedify verifies,
//! and sends replies that become comments, to the shared inbox and (as Mastodon does) to the
//! idea author's inbox.
//!
//! Signatures both ways: Fedify signs with RFC 9421 first, and the node must take it at the
//! first knock (the peer logs every request it sent and the answer); the peer serves its actor
//! only to verified signed GETs (authorized fetch), so the node's key fetches must verify at
//! Fedify; and a peer that refuses draft-cavage gets the node's RFC 9421 signatures, which
//! Fedify verifies, after one refused knock that the node remembers.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

struct Peer {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/fedify-peer")
}

/// Installs the peer's pinned npm dependencies once, so that `cargo test` works on a fresh
/// machine that has Node.js and npm. The tests of this file run at the same time: one
/// installs while the others wait (two `npm ci` in one directory break each other).
fn ensure_installed() {
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    let dir = peer_dir();
    if dir.join("node_modules/@fedify/fedify").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .expect("the Fedify interop test needs Node.js 20+ and npm on PATH");
    assert!(status.success(), "npm ci in {} failed", dir.display());
}

impl Peer {
    /// Starts the peer with `flags` (`--rfc9421-only`, `--authorized-fetch`).
    fn start(flags: &[&str]) -> Peer {
        ensure_installed();
        let port = free_port();
        let mut child = Command::new("node")
            .arg(peer_dir().join("peer.mjs"))
            .arg(port.to_string())
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node (Node.js 20+ is needed for the Fedify interop test)");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.trim() == "ready" => break,
                Some(Ok(_)) => continue,
                _ => panic!("the Fedify peer exited before it was ready"),
            }
        }
        // Keep draining stdout so the peer never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Peer {
            child,
            base: format!("http://localhost:{port}"),
            http: reqwest::Client::new(),
        }
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "peer {path} failed: {v}");
        v
    }

    async fn log(&self, what: &str) -> Vec<Value> {
        let r = self
            .http
            .get(format!("{}/control/{what}", self.base))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap_or_default()
    }

    /// Verified activities received.
    async fn inbox(&self) -> Vec<Value> {
        self.log("inbox").await
    }

    /// Requests the peer sent: `{method, url, scheme, status}`.
    async fn outgoing(&self) -> Vec<Value> {
        self.log("outgoing").await
    }

    /// Requests the peer answered: `{method, path, scheme, status}`.
    async fn incoming(&self) -> Vec<Value> {
        self.log("incoming").await
    }

    fn host(&self) -> &str {
        self.base.trim_start_matches("http://")
    }
}

/// Fedify's requests to `node`: every one signed with RFC 9421 and taken at the first knock
/// (no 401 ever); returns them.
async fn assert_fedify_knocked_once(peer: &Peer, node: &Node) -> Vec<Value> {
    let out = peer.outgoing().await;
    let to_node: Vec<Value> = out
        .into_iter()
        .filter(|r| r["url"].as_str().unwrap_or("").starts_with(&node.base))
        .collect();
    assert!(
        to_node.iter().all(|r| r["status"] != 401),
        "the node refused a signature of Fedify's: {to_node:#?}"
    );
    let posts: Vec<Value> = to_node
        .into_iter()
        .filter(|r| r["method"] == "POST")
        .collect();
    assert!(!posts.is_empty());
    for r in &posts {
        assert_eq!(r["scheme"], "rfc9421", "Fedify signs RFC 9421 first: {r}");
        assert_eq!(r["status"], 202, "accepted at the first knock: {r}");
    }
    posts
}

async fn remembered(node: &Node, host: &str) -> Option<String> {
    internals::peer_schemes(&node.database_url)
        .await
        .into_iter()
        .find(|(h, _)| h == host)
        .map(|(_, s)| s)
}

async fn fedify_peer_follows_receives_and_replies(backend: Backend) {
    let node = Node::start("A", backend).await;
    let staff = node.add_user("alice", true);
    let member = node.add_user("amir", false);
    node.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "widgets", "title": "Widgets"}),
    )
    .await;
    let peer = Peer::start(&["--authorized-fetch"]);
    let peer_actor = format!("{}/users/tester", peer.base);

    let followed = peer
        .control("/control/follow", json!({"handle": node.handle("widgets")}))
        .await;
    assert_eq!(followed["followed"], format!("{}/r/widgets", node.base));
    eventually(
        30,
        "the room lists the Fedify actor as a follower",
        || async {
            let (_, f) = node
                .get_ap(&format!("{}/r/widgets/followers", node.base))
                .await;
            f["orderedItems"]
                .as_array()
                .is_some_and(|l| l.iter().any(|a| a == peer_actor.as_str()))
                .then_some(())
        },
    )
    .await;
    eventually(30, "Fedify verified the room's Accept", || async {
        peer.inbox()
            .await
            .iter()
            .any(|a| a["type"] == "Accept" && a["actor"] == format!("{}/r/widgets", node.base))
            .then_some(())
    })
    .await;

    // A new idea reaches the peer through the room, signed so that Fedify accepts it.
    let (_, idea) = node
        .post(
            "/api/v1/rooms/widgets/ideas",
            &member,
            json!({"title": "Fold-flat stand", "body": "Saves shelf space"}),
        )
        .await;
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    let announce = eventually(30, "the peer received the idea", || async {
        peer.inbox().await.into_iter().find(|a| {
            a["type"] == "Announce"
                && a["json"].to_string().contains(&idea_ap)
                && a["json"].to_string().contains("Fold-flat stand")
        })
    })
    .await;
    assert_eq!(announce["actor"], format!("{}/r/widgets", node.base));
    // Followers that do not unwrap announced activities (Mastodon) get the idea itself too.
    eventually(
        30,
        "the peer received the Page as a plain Announce",
        || async {
            peer.inbox()
                .await
                .iter()
                .any(|a| {
                    a["type"] == "Announce"
                        && a["json"]["object"]["type"] == "Page"
                        && a["json"]["object"]["id"] == idea_ap.as_str()
                })
                .then_some(())
        },
    )
    .await;

    // A reply to the shared inbox and one to the author's inbox both become comments.
    peer.control(
        "/control/reply",
        json!({"in_reply_to": idea_ap, "content": "<p>Fedify likes it</p>", "to": [format!("{}/r/widgets", node.base)], "inbox": format!("{}/inbox", node.base)}),
    )
    .await;
    peer.control(
        "/control/reply",
        json!({"in_reply_to": idea_ap, "content": "<p>Sent to the author</p>", "to": [format!("{}/u/amir", node.base)], "inbox": format!("{}/u/amir/inbox", node.base)}),
    )
    .await;
    let detail = node
        .get_until(
            &idea_path(&idea["id"]),
            &staff,
            30,
            "both Fedify replies are comments",
            |_, i| {
                let text = i["comments"].to_string();
                text.contains("Fedify likes it") && text.contains("Sent to the author")
            },
        )
        .await;
    assert!(detail["comments"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["author"] == peer_actor.as_str()));

    // Fedify's Follow and replies were taken at the first knock, signed with RFC 9421.
    let posts = assert_fedify_knocked_once(&peer, &node).await;
    assert_eq!(
        posts
            .iter()
            .filter(|r| r["url"] == format!("{}/r/widgets/inbox", node.base))
            .count(),
        1,
        "one request for the Follow: {posts:#?}"
    );
    // The node's requests verified at Fedify: its key fetch (authorized fetch) and its
    // deliveries, signed with draft-cavage, which this host took at once and is remembered for.
    let incoming = peer.incoming().await;
    assert!(
        incoming.iter().any(|r| r["method"] == "GET"
            && r["path"] == "/users/tester"
            && r["scheme"] == "cavage"
            && r["status"] == 200),
        "the node's signed GET of the actor verified: {incoming:#?}"
    );
    for r in incoming.iter().filter(|r| r["method"] == "POST") {
        assert_eq!(r["scheme"], "cavage", "{r}");
        assert_eq!(r["status"], 202, "{r}");
    }
    assert_eq!(
        remembered(&node, peer.host()).await.as_deref(),
        Some("cavage")
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
}

backends!(fedify_interop => fedify_peer_follows_receives_and_replies);

/// A Fedify peer that refuses draft-cavage: the node's first signed GET is refused, the second
/// knock with RFC 9421 verifies at Fedify, and from then on everything the node sends that host
/// is RFC 9421 at the first knock.
async fn rfc9421_only_fedify_peer(backend: Backend) {
    let node = Node::start("A", backend).await;
    let staff = node.add_user("alice", true);
    node.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "widgets", "title": "Widgets"}),
    )
    .await;
    let peer = Peer::start(&["--rfc9421-only", "--authorized-fetch"]);
    let peer_actor = format!("{}/users/tester", peer.base);
    peer.control("/control/follow", json!({"handle": node.handle("widgets")}))
        .await;
    eventually(30, "Fedify verified the room's RFC 9421 Accept", || async {
        peer.inbox()
            .await
            .iter()
            .any(|a| a["type"] == "Accept" && a["actor"] == format!("{}/r/widgets", node.base))
            .then_some(())
    })
    .await;
    let (_, idea) = node
        .post(
            "/api/v1/rooms/widgets/ideas",
            &staff,
            json!({"title": "Stackable crates", "body": ""}),
        )
        .await;
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    eventually(30, "the peer received the idea", || async {
        peer.inbox()
            .await
            .iter()
            .any(|a| a["type"] == "Announce" && a["json"].to_string().contains(&idea_ap))
            .then_some(())
    })
    .await;
    peer.control(
        "/control/reply",
        json!({"in_reply_to": idea_ap, "content": "<p>RFC 9421 all the way</p>", "to": [format!("{}/r/widgets", node.base)], "inbox": format!("{}/inbox", node.base)}),
    )
    .await;
    node.get_until(
        &idea_path(&idea["id"]),
        &staff,
        30,
        "the Fedify reply is a comment",
        |_, i| i["comments"].to_string().contains("RFC 9421 all the way"),
    )
    .await;
    assert_all_delivered(&node, &staff, 30).await;

    assert_fedify_knocked_once(&peer, &node).await;
    let incoming = peer.incoming().await;
    let refused: Vec<&Value> = incoming.iter().filter(|r| r["status"] == 401).collect();
    assert_eq!(
        refused.len(),
        1,
        "one refused cavage knock, then remembered: {incoming:#?}"
    );
    assert_eq!(refused[0]["scheme"], "cavage");
    assert_eq!(refused[0]["path"], "/users/tester");
    for r in incoming.iter().filter(|r| r["status"] != 401) {
        assert_eq!(r["scheme"], "rfc9421", "{r}");
        assert!(
            r["status"] == 200 || r["status"] == 202,
            "verified by Fedify: {r}"
        );
    }
    assert!(incoming
        .iter()
        .any(|r| r["method"] == "POST" && r["status"] == 202));
    assert_eq!(
        remembered(&node, peer.host()).await.as_deref(),
        Some("rfc9421")
    );
    let (_, f) = node
        .get_ap(&format!("{}/r/widgets/followers", node.base))
        .await;
    assert_eq!(f["orderedItems"], json!([peer_actor]));
    tokio::time::sleep(Duration::from_millis(200)).await;
}

backends!(fedify_rfc9421_only => rfc9421_only_fedify_peer);
