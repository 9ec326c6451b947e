//! A minimal remote fediverse server inside the test process: one actor (a `Person` unless
//! told otherwise) with an RSA key, an inbox that records what it receives, a store of objects
//! it serves, and, when given a software name, NodeInfo naming it (to stand in for Lemmy,
//! Mastodon, Discourse, ...). Tests use it to send signed (or deliberately broken) activities
//! to a node, signed with draft-cavage (as Mastodon does) or RFC 9421 (as Fedify does), and to
//! see what a node sends to such a server.
//!
//! Its inbox takes anything by default; [`RemoteActor::accept_only`] makes it a server that
//! checks signatures of one scheme only and answers 401 to the other (a cavage-only server, or
//! one that has moved to RFC 9421), to watch a node double-knock. [`RemoteActor::answer_with`]
//! makes it a server that is down or refusing (503, 429 with `Retry-After`, 410...), to watch
//! a node retry, park the host and give up; every POST is recorded with the time it came.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};

use super::internals;

/// Which signatures the inbox takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accepts {
    /// Anything, unchecked (the default).
    #[default]
    Anything,
    /// Verified draft-cavage signatures only; RFC 9421 is answered 401.
    Cavage,
    /// Verified RFC 9421 signatures only; cavage is answered 401.
    Rfc9421,
}

/// One POST the inbox answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// `cavage`, `rfc9421` or `none`.
    pub scheme: &'static str,
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Value,
    /// When the request came.
    pub at: std::time::Instant,
}

/// What the inbox answers instead of taking the activity (see [`RemoteActor::answer_with`]).
#[derive(Debug, Clone)]
struct Forced {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

#[derive(Default)]
struct Shared {
    received: Vec<Value>,
    requests: Vec<Received>,
    accepts: Accepts,
    objects: HashMap<String, Value>,
    actor: Value,
    /// NodeInfo's `software.name`; no NodeInfo at all when `None`.
    software: Option<String>,
    forced: Option<Forced>,
}

pub struct RemoteActor {
    pub base: String,
    pub domain: String,
    pub actor_id: String,
    pub key_id: String,
    pub key: RsaPrivateKey,
    shared: Arc<Mutex<Shared>>,
    pub http: reqwest::Client,
}

#[derive(Clone)]
struct ServerState {
    shared: Arc<Mutex<Shared>>,
    http: reqwest::Client,
}

impl RemoteActor {
    pub async fn start(name: &str) -> RemoteActor {
        RemoteActor::start_as(name, "Person", None).await
    }

    /// A server whose one actor is of `kind` (`Person`, `Group`, ...) and whose NodeInfo names
    /// `software` (none when `None`).
    pub async fn start_as(name: &str, kind: &str, software: Option<&str>) -> RemoteActor {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let base = format!("http://localhost:{port}");
        let actor_id = format!("{base}/users/{name}");
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let key_id = format!("{actor_id}#main-key");
        let actor = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor_id, "type": kind, "preferredUsername": name, "name": name,
            "inbox": format!("{actor_id}/inbox"), "outbox": format!("{actor_id}/outbox"),
            "followers": format!("{actor_id}/followers"),
            "endpoints": {"sharedInbox": format!("{base}/inbox")},
            "publicKey": {"id": key_id, "owner": actor_id, "publicKeyPem": pem},
        });
        let shared = Arc::new(Mutex::new(Shared {
            actor,
            software: software.map(String::from),
            ..Default::default()
        }));
        let state = ServerState {
            shared: shared.clone(),
            http: reqwest::Client::new(),
        };
        let app = Router::new()
            .route("/users/{name}", get(serve_actor))
            .route("/users/{name}/inbox", post(record))
            .route("/inbox", post(record))
            .route("/objects/{id}", get(serve_object))
            .route("/.well-known/nodeinfo", get(nodeinfo_links))
            .route("/nodeinfo/2.1", get(nodeinfo))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        RemoteActor {
            domain: format!("localhost:{port}"),
            base,
            actor_id,
            key_id,
            key,
            shared,
            http: reqwest::Client::new(),
        }
    }

    /// Replaces the actor's key (same key id), as a server rotating its keys does.
    pub fn rotate_key(&mut self) {
        self.key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let pem = self
            .key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        self.shared.lock().unwrap().actor["publicKey"]["publicKeyPem"] = json!(pem);
    }

    /// A new id on this server, e.g. for an activity.
    pub fn new_id(&self, kind: &str) -> String {
        format!(
            "{}/objects/{kind}-{}",
            self.base,
            uuid::Uuid::new_v4().simple()
        )
    }

    /// Serves `doc` at its `id` (which must be under `/objects/`).
    pub fn serve(&self, doc: Value) {
        let id = doc["id"].as_str().unwrap().to_string();
        self.shared.lock().unwrap().objects.insert(id, doc);
    }

    pub fn received(&self) -> Vec<Value> {
        self.shared.lock().unwrap().received.clone()
    }

    /// Every POST the inbox answered, refused ones included, in order.
    pub fn requests(&self) -> Vec<Received> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// Makes the inbox answer every POST with `status`, `headers` and `body`, taking nothing
    /// (the request is still recorded in [`RemoteActor::requests`]): a server that is down
    /// (503), busy (429 with `Retry-After`) or refusing (410, 403).
    pub fn answer_with(&self, status: u16, headers: &[(&str, &str)], body: &str) {
        self.shared.lock().unwrap().forced = Some(Forced {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_string(),
        });
    }

    /// Back to taking activities (after [`RemoteActor::answer_with`]).
    pub fn answer_normally(&self) {
        self.shared.lock().unwrap().forced = None;
    }

    /// Makes the inbox check signatures and take only those of one scheme.
    pub fn accept_only(&self, accepts: Accepts) {
        self.shared.lock().unwrap().accepts = accepts;
    }

    /// POSTs `body` to `inbox` signed with RFC 9421; returns status, headers and text.
    pub async fn post_rfc9421(
        &self,
        inbox: &str,
        body: &[u8],
    ) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let headers = internals::sign_rfc9421("POST", inbox, Some(body), &self.key_id, &self.key);
        self.post_with_headers_full(inbox, body, &headers).await
    }

    /// POSTs with exactly the given headers; returns status, headers and text.
    pub async fn post_with_headers_full(
        &self,
        inbox: &str,
        body: &[u8],
        headers: &[(&str, String)],
    ) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let mut req = self
            .http
            .post(inbox)
            .header("content-type", "application/activity+json")
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.unwrap();
        let (status, h) = (resp.status(), resp.headers().clone());
        (status, h, resp.text().await.unwrap_or_default())
    }

    /// GETs `url` as ActivityPub JSON signed with RFC 9421; returns status, headers and body.
    pub async fn get_rfc9421(&self, url: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let headers = internals::sign_rfc9421("GET", url, None, &self.key_id, &self.key);
        let mut req = self
            .http
            .get(url)
            .header("accept", "application/activity+json");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        let (status, h) = (resp.status(), resp.headers().clone());
        (status, h, resp.json().await.unwrap_or(Value::Null))
    }

    /// POSTs `body` to `inbox`, signed by this actor; returns status and response text.
    pub async fn post_signed(&self, inbox: &str, body: &[u8]) -> (StatusCode, String) {
        let headers = internals::sign("POST", inbox, Some(body), &self.key_id, &self.key);
        let mut req = self
            .http
            .post(inbox)
            .header("content-type", "application/activity+json")
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        (resp.status(), resp.text().await.unwrap_or_default())
    }

    pub async fn post_activity(&self, inbox: &str, activity: &Value) -> (StatusCode, String) {
        self.post_signed(inbox, activity.to_string().as_bytes())
            .await
    }

    /// POSTs with exactly the given headers (for broken-signature tests).
    pub async fn post_with_headers(
        &self,
        inbox: &str,
        body: &[u8],
        headers: &[(&str, String)],
    ) -> (StatusCode, String) {
        let mut req = self
            .http
            .post(inbox)
            .header("content-type", "application/activity+json")
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.unwrap();
        (resp.status(), resp.text().await.unwrap_or_default())
    }

    /// GETs `url` as ActivityPub JSON with a signature by this actor (authorized fetch).
    pub async fn get_signed(&self, url: &str) -> (StatusCode, Value) {
        let headers = internals::sign("GET", url, None, &self.key_id, &self.key);
        let mut req = self
            .http
            .get(url)
            .header("accept", "application/activity+json");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Signature headers for `body` to `inbox`, to be altered by a test.
    pub fn signed_headers(&self, inbox: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        internals::sign("POST", inbox, Some(body), &self.key_id, &self.key)
    }
}

async fn nodeinfo_links(State(s): State<ServerState>) -> axum::response::Response {
    let shared = s.shared.lock().unwrap();
    if shared.software.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let base = shared.actor["id"]
        .as_str()
        .unwrap()
        .split("/users/")
        .next()
        .unwrap()
        .to_string();
    axum::Json(json!({"links": [{
        "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
        "href": format!("{base}/nodeinfo/2.1"),
    }]}))
    .into_response()
}

async fn nodeinfo(State(s): State<ServerState>) -> axum::response::Response {
    let shared = s.shared.lock().unwrap();
    let Some(software) = &shared.software else {
        return StatusCode::NOT_FOUND.into_response();
    };
    axum::Json(json!({
        "version": "2.1",
        "software": {"name": software, "version": "1.0.0"},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": false,
        "usage": {"users": {"total": 1}},
        "metadata": {},
    }))
    .into_response()
}

async fn serve_actor(State(s): State<ServerState>, Path(_name): Path<String>) -> impl IntoResponse {
    let doc = s.shared.lock().unwrap().actor.to_string();
    ([("content-type", "application/activity+json")], doc)
}

async fn serve_object(
    State(s): State<ServerState>,
    Path(id): Path<String>,
) -> axum::response::Response {
    let shared = s.shared.lock().unwrap();
    let base = shared.actor["id"]
        .as_str()
        .unwrap()
        .split("/users/")
        .next()
        .unwrap()
        .to_string();
    let full = format!("{base}/objects/{id}");
    match shared.objects.get(&full) {
        Some(doc) => (
            [("content-type", "application/activity+json")],
            doc.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Checks a request's signature with the key its `keyId` names (fetched unsigned).
async fn check_signature(
    s: &ServerState,
    method: &str,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let key_id = internals::signature_key_id(headers).ok_or("no readable signature")?;
    let doc: Value = s
        .http
        .get(key_id.split('#').next().unwrap_or_default())
        .header("accept", "application/activity+json")
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let pem = doc["publicKey"]["publicKeyPem"]
        .as_str()
        .ok_or("the key has no publicKeyPem")?;
    internals::verify_signature(method, uri, headers, body, pem)
}

async fn record(
    State(s): State<ServerState>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let at = std::time::Instant::now();
    let scheme = if headers.contains_key("signature-input") {
        "rfc9421"
    } else if headers.contains_key("signature") {
        "cavage"
    } else {
        "none"
    };
    let (accepts, forced) = {
        let shared = s.shared.lock().unwrap();
        (shared.accepts, shared.forced.clone())
    };
    let refusal = match (accepts, scheme) {
        (Accepts::Anything, _) => None,
        (Accepts::Cavage, "cavage") | (Accepts::Rfc9421, "rfc9421") => {
            check_signature(&s, "POST", &uri, &headers, &body)
                .await
                .err()
        }
        _ => Some(format!("signature scheme {scheme} is not accepted here")),
    };
    let status = match (&forced, &refusal) {
        (Some(f), _) => StatusCode::from_u16(f.status).unwrap(),
        (None, Some(_)) => StatusCode::UNAUTHORIZED,
        (None, None) => StatusCode::ACCEPTED,
    };
    let value = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let mut shared = s.shared.lock().unwrap();
    shared.requests.push(Received {
        path: uri.path().to_string(),
        scheme,
        status: status.as_u16(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
        body: value.clone(),
        at,
    });
    if let Some(f) = forced {
        let mut resp = (status, f.body).into_response();
        for (k, v) in f.headers {
            resp.headers_mut().insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                axum::http::HeaderValue::from_str(&v).unwrap(),
            );
        }
        return resp;
    }
    if refusal.is_none() && !value.is_null() {
        shared.received.push(value);
    }
    (status, refusal.unwrap_or_default()).into_response()
}
