//! A node built in-process (`cocreate::build_state` on a temporary SQLite file, then
//! `cocreate::router`), driven request by request with `tower::ServiceExt::oneshot`: no process,
//! no socket, no delivery worker (what the node would send stays queued).
//!
//! The only internal call is the creation of the first staff user (`internals::create_user`);
//! everything else goes through the REST API, as a client would, or, for what has no API yet
//! (web sessions), through the node's [`Ctx`] ([`Fixture::ctx`]) and `internals`.
//!
//! Setup is memoised. Every local actor (the node's own two, each user, each room) gets a fresh
//! RSA key, about a quarter of a second each; so the setup steps a test takes before its first
//! own request (`user`, `room`, `partners_room_with_member`, `idea`, ...) run once per process
//! for each distinct sequence of steps, and the database they leave is copied for every test
//! that starts the same way. A test sees exactly what its steps created, whether they ran for
//! it or for an earlier test, and its own requests change only its own copy. Tests that share
//! their first steps share the most: start with the same rooms and users in the same order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use tower::ServiceExt;

use crate::common::internals;
pub use crate::common::{encode, idea_path};
use cocreate::state::Ctx;

/// The node's domain; nothing listens there, and nothing needs to.
pub const DOMAIN: &str = "localhost:8999";

/// A fresh node with one staff user, `alice`.
pub struct Fixture {
    /// API token of `alice`, staff of the node and so a steward of every room.
    pub staff: String,
    live: Mutex<Live>,
    dir: tempfile::TempDir,
}

struct Live {
    /// The node, once open: its router and its shared state.
    node: Option<(Router, Ctx)>,
    /// A memoised database to open (in place of the node) before the next request.
    pending: Option<Arc<Snapshot>>,
    /// The setup steps taken so far, while the test has made no request of its own.
    recipe: Option<String>,
    /// Database files so far; the node's is the last, `node-{files - 1}.db`.
    files: usize,
}

/// A partners room (`lab`) with one local member (`bob`, a supplier partner) who joined by
/// accepting an invitation.
pub struct PartnersRoom {
    /// API token of `bob`.
    pub member: String,
    pub member_handle: String,
}

/// One setup step; its `Debug` form is its part of the memo key.
#[derive(Debug, Clone)]
enum Step {
    User(String),
    Room(String, String),
    PartnersRoomWithMember,
    Invite(String, String, Value),
    Idea(String, String, String),
    Phases(String, Value),
    NextPhase(String),
    Stage(Value, String),
}

/// A database as a setup sequence left it, and what its last step returned.
struct Snapshot {
    db: Vec<u8>,
    output: Value,
}

type Memo = Mutex<HashMap<String, Arc<OnceCell<Arc<Snapshot>>>>>;

fn memo(key: &str) -> Arc<OnceCell<Arc<Snapshot>>> {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(key.to_string())
        .or_default()
        .clone()
}

fn database_url(path: &std::path::Path) -> String {
    format!("sqlite://{}", path.display())
}

impl Fixture {
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node-0.db");
        let mut built = None;
        let base = memo("base")
            .get_or_init(|| async {
                let ctx =
                    cocreate::build_state(internals::dev_settings(DOMAIN, &database_url(&path)))
                        .await
                        .expect("build the in-process node");
                let token = internals::create_user(&ctx, "alice", true).await;
                built = Some((cocreate::router(ctx.clone()), ctx));
                Arc::new(Snapshot {
                    db: snapshot(&path, &dir.path().join("snapshot.db")),
                    output: json!(token),
                })
            })
            .await
            .clone();
        let files = usize::from(built.is_some());
        Fixture {
            staff: base.output.as_str().unwrap().to_string(),
            live: Mutex::new(Live {
                pending: built.is_none().then_some(base),
                node: built,
                recipe: Some("base".into()),
                files,
            }),
            dir,
        }
    }

    /// The node, opened first on the pending memoised database if there is one.
    async fn app(&self) -> Router {
        self.node().await.0
    }

    /// The node's shared state, for calling services that have no API yet. Like a request,
    /// this is the test's own doing: setup steps after it are no longer memoised.
    pub async fn ctx(&self) -> Ctx {
        self.live.lock().unwrap().recipe = None;
        self.node().await.1
    }

    async fn node(&self) -> (Router, Ctx) {
        let (snap, n) = {
            let mut live = self.live.lock().unwrap();
            if let Some(node) = &live.node {
                return node.clone();
            }
            (
                live.pending.take().expect("a node or a database"),
                live.files,
            )
        };
        let path = self.dir.path().join(format!("node-{n}.db"));
        std::fs::write(&path, &snap.db).unwrap();
        let ctx = cocreate::build_state(internals::dev_settings(DOMAIN, &database_url(&path)))
            .await
            .expect("open the in-process node");
        let node = (cocreate::router(ctx.clone()), ctx);
        let mut live = self.live.lock().unwrap();
        live.node = Some(node.clone());
        live.files = n + 1;
        node
    }

    /// Runs a setup step: from the memo when the same steps ran before, else for real.
    async fn setup(&self, step: Step) -> Value {
        let key = {
            let live = self.live.lock().unwrap();
            live.recipe.as_ref().map(|r| format!("{r} / {step:?}"))
        };
        let Some(key) = key else {
            return self.run(step).await;
        };
        let mut ran = false;
        let snap = memo(&key)
            .get_or_init(|| async {
                ran = true;
                let output = self.run(step).await;
                let n = self.live.lock().unwrap().files - 1;
                let live_file = self.dir.path().join(format!("node-{n}.db"));
                Arc::new(Snapshot {
                    db: snapshot(&live_file, &self.dir.path().join("snapshot.db")),
                    output,
                })
            })
            .await
            .clone();
        let mut live = self.live.lock().unwrap();
        if !ran {
            live.node = None;
            live.pending = Some(snap.clone());
        }
        live.recipe = Some(key);
        snap.output.clone()
    }

    async fn run(&self, step: Step) -> Value {
        match step {
            Step::User(name) => {
                let (s, v) = self
                    .request(
                        Method::POST,
                        "/api/v1/users",
                        Some(&self.staff),
                        json!({ "name": name }),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "create user {name}: {v}");
                v["token"].clone()
            }
            Step::Room(name, visibility) => {
                let (s, v) = self
                    .request(
                        Method::POST,
                        "/api/v1/rooms",
                        Some(&self.staff),
                        json!({"name": name, "title": name, "visibility": visibility}),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "create room {name}: {v}");
                v
            }
            Step::PartnersRoomWithMember => {
                Box::pin(self.run(Step::Room("lab".into(), "partners".into()))).await;
                let bob = Box::pin(self.run(Step::User("bob".into()))).await;
                let bob = bob.as_str().unwrap().to_string();
                let handle = Self::handle("bob");
                let role = json!({"role": "partner", "partner_kind": "supplier"});
                Box::pin(self.run(Step::Invite("lab".into(), handle.clone(), role))).await;
                let (_, invitations) = self
                    .request(Method::GET, "/api/v1/invitations", Some(&bob), Value::Null)
                    .await;
                let id = &invitations[0]["id"];
                let (s, v) = self
                    .request(
                        Method::POST,
                        &format!("/api/v1/invitations/{id}/accept"),
                        Some(&bob),
                        json!({}),
                    )
                    .await;
                assert_eq!(s, StatusCode::OK, "bob accepts: {v}");
                json!({"member": bob, "member_handle": handle})
            }
            Step::Invite(room, handle, role) => {
                let mut body = role;
                body["handle"] = json!(handle);
                let (s, v) = self
                    .request(
                        Method::POST,
                        &format!("/api/v1/rooms/{room}/invitations"),
                        Some(&self.staff),
                        body,
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "invite {handle}: {v}");
                v
            }
            Step::Idea(token, room, title) => {
                let (s, v) = self
                    .request(
                        Method::POST,
                        &format!("/api/v1/rooms/{room}/ideas"),
                        Some(&token),
                        json!({"title": title, "body": ""}),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "submit {title}: {v}");
                v
            }
            Step::Phases(room, phases) => {
                let (s, v) = self
                    .request(
                        Method::PUT,
                        &format!("/api/v1/rooms/{room}/phases"),
                        Some(&self.staff),
                        phases,
                    )
                    .await;
                assert_eq!(s, StatusCode::OK, "set phases: {v}");
                v
            }
            Step::NextPhase(room) => {
                let (s, v) = self
                    .request(
                        Method::POST,
                        &format!("/api/v1/rooms/{room}/phases/next"),
                        Some(&self.staff),
                        json!({}),
                    )
                    .await;
                assert_eq!(s, StatusCode::OK, "next phase: {v}");
                v
            }
            Step::Stage(id, stage) => {
                let (s, v) = self
                    .request(
                        Method::POST,
                        &format!("{}/stage", idea_path(&id)),
                        Some(&self.staff),
                        json!({"stage": stage, "answer": "because"}),
                    )
                    .await;
                assert_eq!(s, StatusCode::OK, "stage {stage}: {v}");
                v
            }
        }
    }

    /// `name@DOMAIN`.
    pub fn handle(name: &str) -> String {
        format!("{name}@{DOMAIN}")
    }

    /// Sends a request through the router; the whole response. This is the test's own
    /// request: setup steps after it are no longer memoised.
    pub async fn respond(&self, request: Request<Body>) -> Response {
        self.live.lock().unwrap().recipe = None;
        self.app().await.oneshot(request).await.unwrap()
    }

    /// Sends a request; its status and JSON body (`null` when empty, `{"raw": text}` when the
    /// body is not JSON).
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.respond(request).await;
        read(response).await
    }

    /// A setup step's request: it keeps the setup memoisable.
    async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let response = self
            .app()
            .await
            .oneshot(build(method, path, token, body))
            .await
            .unwrap();
        read(response).await
    }

    /// An API request with an optional bearer token and a raw body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: impl Into<Body>,
    ) -> (StatusCode, Value) {
        self.send(build(method, path, token, body)).await
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.raw(method, path, Some(token), body).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, token, None).await
    }

    /// A new local person who is not staff (created by staff through the API); its API token.
    pub async fn user(&self, name: &str) -> String {
        let v = self.setup(Step::User(name.into())).await;
        v.as_str().unwrap().to_string()
    }

    /// A room with the given visibility (`public`, `partners` or `private`), created by staff;
    /// the room as the API shows it.
    pub async fn room(&self, name: &str, visibility: &str) -> Value {
        self.setup(Step::Room(name.into(), visibility.into())).await
    }

    pub async fn public_room(&self, name: &str) -> Value {
        self.room(name, "public").await
    }

    /// The partners room `lab` with `bob` as a member (invited by staff as a supplier partner;
    /// he accepted).
    pub async fn partners_room_with_member(&self) -> PartnersRoom {
        let v = self.setup(Step::PartnersRoomWithMember).await;
        PartnersRoom {
            member: v["member"].as_str().unwrap().to_string(),
            member_handle: v["member_handle"].as_str().unwrap().to_string(),
        }
    }

    /// Staff invite `handle` into `room` with a role (`{"role": ..., "partner_kind": ...}`);
    /// the invitation.
    pub async fn invite(&self, room: &str, handle: &str, role: Value) -> Value {
        self.setup(Step::Invite(room.into(), handle.into(), role))
            .await
    }

    /// An idea submitted by staff to `room`.
    pub async fn idea(&self, room: &str, title: &str) -> Value {
        self.idea_by(&self.staff, room, title).await
    }

    /// An idea submitted to `room` by the user with `token`.
    pub async fn idea_by(&self, token: &str, room: &str, title: &str) -> Value {
        self.setup(Step::Idea(token.into(), room.into(), title.into()))
            .await
    }

    /// Staff set the room's phases (the room starts at the first); the phases view.
    pub async fn set_phases(&self, room: &str, phases: Value) -> Value {
        self.setup(Step::Phases(room.into(), phases)).await
    }

    /// Staff move the room on to its next phase; the phases view.
    pub async fn next_phase(&self, room: &str) -> Value {
        self.setup(Step::NextPhase(room.into())).await
    }

    /// Staff move an idea to `stage` (with an answer); the idea.
    pub async fn stage(&self, idea: &Value, stage: &str) -> Value {
        self.setup(Step::Stage(idea["id"].clone(), stage.into()))
            .await
    }
}

pub fn build(
    method: Method,
    path: &str,
    token: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    request
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&bytes) }))
    };
    (status, body)
}

/// The bytes of a consistent copy of the SQLite database at `live` (which the node keeps
/// open, in WAL mode), made with `VACUUM INTO` through the file `scratch`.
fn snapshot(live: &std::path::Path, scratch: &std::path::Path) -> Vec<u8> {
    use diesel::{Connection, RunQueryDsl, SqliteConnection};
    let _ = std::fs::remove_file(scratch);
    let mut c = SqliteConnection::establish(live.to_str().unwrap()).unwrap();
    diesel::sql_query(format!("VACUUM INTO '{}'", scratch.display()))
        .execute(&mut c)
        .unwrap();
    let bytes = std::fs::read(scratch).unwrap();
    std::fs::remove_file(scratch).unwrap();
    bytes
}

/// Asserts an API error: its status, a JSON body `{"error": message, "status": code}`, and that
/// the message contains `words`.
#[track_caller]
pub fn assert_refused(reply: &(StatusCode, Value), status: u16, words: &str) {
    let (s, body) = reply;
    assert_eq!(*s, status, "{body}");
    assert_eq!(body["status"], status, "{body}");
    let message = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {body}"));
    assert!(message.contains(words), "expected '{words}' in: {message}");
}
