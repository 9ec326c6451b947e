//! Interop with a third-party implementation: a peer built on Fedify (npm `@fedify/fedify`,
//! tests/interop/fedify-peer) follows a room, receives ideas whose signatures Fedify verifies,
//! and sends replies that become comments, to the shared inbox and (as Mastodon does) to the
//! idea author's inbox.

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
/// machine that has Node.js and npm.
fn ensure_installed() {
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
    fn start() -> Peer {
        ensure_installed();
        let port = free_port();
        let mut child = Command::new("node")
            .arg(peer_dir().join("peer.mjs"))
            .arg(port.to_string())
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

    async fn inbox(&self) -> Vec<Value> {
        let r = self
            .http
            .get(format!("{}/control/inbox", self.base))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap_or_default()
    }
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
    let peer = Peer::start();
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
    tokio::time::sleep(Duration::from_millis(200)).await;
}

backends!(fedify_interop => fedify_peer_follows_receives_and_replies);
