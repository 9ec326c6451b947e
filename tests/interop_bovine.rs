//! Interop with a second third-party implementation: bovine_herd (PyPI `bovine-herd`, a Python
//! fediverse server, tests/interop/bovine-peer). Its actor, driven through bovine's own
//! client-to-server API, resolves a room's handle with WebFinger and follows it; the room's
//! `Accept` lands in bovine's following collection; ideas and comments reach bovine's inbox as
//! the room's `Announce`s, whose signatures bovine_herd checks; and bovine's reply to an idea,
//! addressed the way bovine addresses replies (author and room), becomes a comment here, and is
//! not announced back to bovine's own server.
//!
//! The peer runs from the virtual environment `tests/interop/bovine-peer/.venv`, made from the
//! pinned `requirements.txt` (`.ci/run` makes it). Without it the test says SKIPPED and passes,
//! unless `COCREATE_TEST_INTEROP=1`, which makes its absence a failure.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

struct Peer {
    child: Child,
    base: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/bovine-peer")
}

fn python() -> PathBuf {
    peer_dir().join(".venv/bin/python")
}

/// Whether the peer's virtual environment has bovine_herd; says why not (SKIPPED), or fails
/// when `COCREATE_TEST_INTEROP=1` requires the interop tests to run.
fn peer_available() -> bool {
    // Finds the modules without importing them: importing bovine writes a cache file into
    // the current directory.
    let find = "import importlib.util as u, sys; \
                sys.exit(not all(u.find_spec(m) for m in ('bovine_herd', 'hypercorn')))";
    let ok = Command::new(python())
        .args(["-c", find])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    let why = format!(
        "{} cannot import bovine_herd; make the venv with: python3 -m venv {dir}/.venv && \
         {dir}/.venv/bin/pip install -r {dir}/requirements.txt",
        python().display(),
        dir = peer_dir().display()
    );
    assert!(
        std::env::var("COCREATE_TEST_INTEROP").as_deref() != Ok("1"),
        "COCREATE_TEST_INTEROP=1 but {why}"
    );
    eprintln!("SKIPPED: {why}");
    false
}

impl Peer {
    fn start() -> Peer {
        let port = free_port();
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(python())
            .arg(peer_dir().join("peer.py"))
            .arg(port.to_string())
            .arg(data.path())
            .current_dir(data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the bovine peer");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.trim() == "ready" => break,
                Some(Ok(_)) => continue,
                _ => panic!("the bovine peer exited before it was ready"),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Peer {
            child,
            base: format!("http://localhost:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            _data: data,
        }
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "peer GET {path} failed: {status} {v}");
        v
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
        assert!(status.is_success(), "peer {path} failed: {status} {v}");
        v
    }

    /// Polls bovine's inbox (read through its C2S API, objects resolved) until an item
    /// satisfies `found`, and returns it; fails with `what` and the inbox after `secs` seconds.
    async fn inbox_until(&self, secs: u64, what: &str, found: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let inbox = self.get("/control/inbox").await;
            if let Some(item) = inbox.as_array().and_then(|l| l.iter().find(|a| found(a))) {
                return item.clone();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for: {what}\nbovine's inbox: {inbox:#}"
            );
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    }
}

/// The id of an object as bovine shows it: a string, or an embedded object's `id`.
fn id_of(v: &Value) -> &str {
    v.as_str().or_else(|| v["id"].as_str()).unwrap_or_default()
}

/// An `Announce` by `room` of a `Create` of the object `id` of type `kind`.
fn announces_create(a: &Value, room: &str, kind: &str, id: &str) -> bool {
    a["type"] == "Announce"
        && id_of(&a["actor"]) == room
        && a["object"]["type"] == "Create"
        && a["object"]["object"]["type"] == kind
        && id_of(&a["object"]["object"]) == id
}

async fn bovine_peer_follows_receives_and_replies(backend: Backend) {
    if !peer_available() {
        return;
    }
    let node = Node::start("A", backend).await;
    let staff = node.add_user("alice", true);
    let member = node.add_user("amir", false);
    node.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "widgets", "title": "Widgets", "visibility": "public"}),
    )
    .await;
    let room = format!("{}/r/widgets", node.base);
    let peer = Peer::start();
    let actor = peer.get("/control/actor").await;
    let bovine_actor = actor["id"].as_str().unwrap().to_string();

    // WebFinger and Follow by bovine; the room accepts, and bovine records the Accept.
    let followed = peer
        .control("/control/follow", json!({"handle": node.handle("widgets")}))
        .await;
    assert_eq!(followed["followed"], room.as_str());
    eventually(
        30,
        "the room lists the bovine actor as a follower",
        || async {
            let (_, f) = node.get_ap(&format!("{room}/followers")).await;
            f["orderedItems"]
                .as_array()
                .is_some_and(|l| l.iter().any(|a| a == bovine_actor.as_str()))
                .then_some(())
        },
    )
    .await;
    eventually(30, "bovine's following collection has the room", || async {
        let following = peer.get("/control/following").await;
        following
            .as_array()
            .is_some_and(|l| l.iter().any(|a| a == room.as_str()))
            .then_some(())
    })
    .await;

    // An idea and a comment reach bovine's inbox as the room's Announces of their Create.
    let (_, idea) = node
        .post(
            "/api/v1/rooms/widgets/ideas",
            &member,
            json!({"title": "Fold-flat stand", "body": "Saves shelf space"}),
        )
        .await;
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    let (_, comment) = node
        .post(
            &format!("{}/comments", idea_path(&idea["id"])),
            &staff,
            json!({"body": "Hinges from stock"}),
        )
        .await;
    let comment_ap = comment["comments"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|c| c["content"].to_string().contains("Hinges"))
        })
        .and_then(|c| c["ap_id"].as_str())
        .unwrap_or_else(|| panic!("the comment is on the idea: {comment}"))
        .to_string();
    let announce = peer
        .inbox_until(30, "bovine received the idea", |a| {
            announces_create(a, &room, "Page", &idea_ap)
        })
        .await;
    assert_eq!(announce["object"]["object"]["name"], "Fold-flat stand");
    assert_eq!(
        id_of(&announce["object"]["object"]["attributedTo"]),
        format!("{}/u/amir", node.base)
    );
    let announce = peer
        .inbox_until(30, "bovine received the comment", |a| {
            announces_create(a, &room, "Note", &comment_ap)
        })
        .await;
    assert_eq!(id_of(&announce["object"]["object"]["inReplyTo"]), idea_ap);
    assert!(announce["object"]["object"]["content"]
        .to_string()
        .contains("Hinges from stock"));

    // bovine replies to the idea: it fetches the Page through its proxyUrl, then sends a Create
    // of a Note to the idea's author and room; the reply is a comment here.
    let reply = peer
        .control(
            "/control/reply",
            json!({"in_reply_to": idea_ap, "content": "<p>bovine likes it</p>"}),
        )
        .await;
    assert!(
        reply["to"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == room.as_str()),
        "bovine addressed its reply to the idea's room: {reply}"
    );
    let detail = node
        .get_until(
            &idea_path(&idea["id"]),
            &staff,
            30,
            "bovine's reply is a comment",
            |_, i| i["comments"].to_string().contains("bovine likes it"),
        )
        .await;
    let from_bovine: Vec<&Value> = detail["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["author"] == bovine_actor.as_str())
        .collect();
    assert_eq!(from_bovine.len(), 1, "one comment by bovine: {detail}");
    assert_eq!(from_bovine[0]["in_reply_to"], idea_ap.as_str());

    // The room passes bovine's reply on to its other followers, but not back to bovine's own
    // server, which applied it when it sent it: a comment made after the reply reaches bovine,
    // the reply's Announce never does.
    let create = reply["create"].as_str().unwrap();
    let (_, later) = node
        .post(
            &format!("{}/comments", idea_path(&idea["id"])),
            &staff,
            json!({"body": "Thanks for the stand"}),
        )
        .await;
    let later_ap = later["comments"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|c| c["content"].to_string().contains("Thanks for the stand"))
        })
        .and_then(|c| c["ap_id"].as_str())
        .unwrap_or_else(|| panic!("the later comment is on the idea: {later}"))
        .to_string();
    peer.inbox_until(30, "bovine received the later comment", |a| {
        announces_create(a, &room, "Note", &later_ap)
    })
    .await;
    let inbox = peer.get("/control/inbox").await;
    assert!(
        !inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "Announce"
                && id_of(&a["actor"]) == room
                && id_of(&a["object"]) == create),
        "the room announced bovine's own reply back to bovine: {inbox:#}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
}

backends!(bovine_interop => bovine_peer_follows_receives_and_replies);
