//! A fleet of many small remote servers inside the test process, to watch a node fan out to
//! dozens of hosts (tests/processes.rs).
//!
//! Each [`FleetServer`] listens on its own loopback port, so it is its own host to the node,
//! and serves one `Person` actor with a shared inbox. All actors share ONE RSA key (generating
//! a key per server would cost seconds), but each has its own key id under its own actor URL.
//! The inbox records every POST at the moment its body arrived (activity id, type, time,
//! whether the node's HTTP signature verified), then answers 202 after the server's delay, so
//! that a test can make a fan-out slow enough to kill the node in the middle of it.
//!
//! Signatures are checked as a peer server checks them (digest, coverage, freshness, then the
//! RSA signature itself), with AWS-LC: each key id's public key is fetched and parsed once for
//! the whole fleet (`RSA_PKCS1_2048_8192_SHA256` over its DER), and every POST is verified
//! against it, so that a fleet of 1,000 servers on the same cores as the node costs it as
//! little as a real check can ([`Fleet::check_verifier`] shows that a bad signature fails).
//!
//! Promises: a POST is recorded before it is answered, so a request the node sent before it
//! died is counted even if the node never saw the answer; nothing received is dropped.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};

use super::internals;

/// One POST an inbox of the fleet received.
#[derive(Debug, Clone)]
pub struct Post {
    /// The activity's `id` (empty when the body had none).
    pub id: String,
    /// The activity's `type`.
    pub kind: String,
    /// When its body had arrived.
    pub at: Instant,
    /// Whether the node's signature verified with the key its `keyId` names; `None` while the
    /// check runs.
    pub verified: Option<Result<(), String>>,
    pub body: Value,
}

impl Post {
    /// The `type` of the object, or of the object's object for an `Announce` of a `Create`.
    pub fn object_kind(&self) -> &str {
        self.body["object"]["type"].as_str().unwrap_or_default()
    }
}

/// The public keys of the node's actors, fetched and parsed once by key id for the whole
/// fleet.
type KeyCache = Arc<Mutex<HashMap<String, Arc<PublicKey>>>>;

/// A node actor's public key as the fleet verifies with it.
pub struct PublicKey {
    /// RSASSA-PKCS1-v1_5 SHA-256 (what cavage `rsa-sha256`/`hs2019` and RFC 9421
    /// `rsa-v1_5-sha256` carry), parsed once from the key's DER.
    pkcs1: aws_lc_rs::signature::ParsedPublicKey,
}

impl PublicKey {
    /// Reads a `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1) PEM.
    pub fn from_pem(pem: &str) -> Result<PublicKey, String> {
        let (label, der) =
            pem_rfc7468::decode_vec(pem.trim().as_bytes()).map_err(|e| e.to_string())?;
        if label != "PUBLIC KEY" && label != "RSA PUBLIC KEY" {
            return Err(format!("a '{label}' PEM block is not an RSA public key"));
        }
        let pkcs1 = aws_lc_rs::signature::ParsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            &der,
        )
        .map_err(|e| format!("public key: {e}"))?;
        Ok(PublicKey { pkcs1 })
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), String> {
        self.pkcs1
            .verify_sig(message, signature)
            .map_err(|_| "the signature does not verify".to_string())
    }
}

struct Inbox {
    posts: Mutex<Vec<Post>>,
    /// How long the inbox waits before it answers, in milliseconds.
    delay_ms: AtomicU64,
    actor: Mutex<Value>,
    /// How many times the actor document was fetched.
    actor_gets: AtomicUsize,
    keys: KeyCache,
    http: reqwest::Client,
}

/// One remote server of the fleet: one actor, its shared inbox.
pub struct FleetServer {
    pub base: String,
    pub domain: String,
    pub actor_id: String,
    pub key_id: String,
    /// The shared inbox, where the node delivers.
    pub inbox: String,
    key: Arc<RsaPrivateKey>,
    state: Arc<Inbox>,
    http: reqwest::Client,
}

/// The fleet: servers in the order they were started.
pub struct Fleet {
    pub servers: Vec<FleetServer>,
}

/// The one RSA key of every fleet actor in this test binary.
async fn shared_key() -> Arc<RsaPrivateKey> {
    static KEY: OnceLock<Arc<RsaPrivateKey>> = OnceLock::new();
    if let Some(k) = KEY.get() {
        return k.clone();
    }
    let key = tokio::task::spawn_blocking(|| {
        RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("generate an RSA key")
    })
    .await
    .unwrap();
    KEY.get_or_init(|| Arc::new(key)).clone()
}

impl Fleet {
    /// Starts `n` servers whose actors are named `{prefix}{i}`.
    pub async fn start(n: usize, prefix: &str) -> Fleet {
        let key = shared_key().await;
        let pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let keys: KeyCache = Arc::default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut servers = Vec::with_capacity(n);
        for i in 0..n {
            servers.push(
                FleetServer::start(
                    &format!("{prefix}{i}"),
                    key.clone(),
                    &pem,
                    keys.clone(),
                    http.clone(),
                )
                .await,
            );
        }
        Fleet { servers }
    }

    /// Every server follows `room` (its ActivityPub id) with a signed `Follow`, sent to
    /// `{room}/inbox` as reached at `entries[i % entries.len()]` (a base URL such as
    /// `http://127.0.0.1:PORT`: each entry is one process of the node, the way a load balancer
    /// spreads requests; the `Host` stays the room's). Checks that each is answered 202.
    pub async fn follow(&self, room: &str, entries: &[String]) {
        let mut sends = tokio::task::JoinSet::new();
        for (i, s) in self.servers.iter().enumerate() {
            let follow = json!({"@context": "https://www.w3.org/ns/activitystreams",
                "id": s.new_id("follow"), "type": "Follow", "actor": s.actor_id, "object": room});
            let public = format!("{room}/inbox");
            let entry = entries[i % entries.len()].clone();
            let sender = s.sender();
            sends.spawn(async move {
                let (status, text) = sender.post_via(&public, &entry, &follow).await;
                (sender.actor_id, status, text)
            });
        }
        while let Some(done) = sends.join_next().await {
            let (actor, status, text) = done.unwrap();
            assert_eq!(status, 202, "the Follow of {actor}: {text}");
        }
    }

    /// Waits until every server received an `Accept` (of its Follow).
    pub async fn wait_accepted(&self, secs: u64) {
        super::eventually(secs, "every fleet server receives its Accept", || async {
            self.servers
                .iter()
                .all(|s| s.posts().iter().any(|p| p.kind == "Accept"))
                .then_some(())
        })
        .await
    }

    /// Sets each server's answer delay from its rank in the order of inbox URLs (the order in
    /// which a node queues one activity's deliveries), e.g. `|rank| rank * 100ms`.
    pub fn set_delays_by_rank(&self, delay: impl Fn(usize) -> Duration) {
        let mut order: Vec<&FleetServer> = self.servers.iter().collect();
        order.sort_by(|a, b| a.inbox.cmp(&b.inbox));
        for (rank, s) in order.into_iter().enumerate() {
            s.set_delay(delay(rank));
        }
    }

    /// Sets every server's answer delay.
    pub fn set_delays(&self, delay: Duration) {
        for s in &self.servers {
            s.set_delay(delay);
        }
    }

    /// How many POSTs the servers received in all (cheap: nothing is copied).
    pub fn post_count(&self) -> usize {
        self.servers
            .iter()
            .map(|s| s.state.posts.lock().unwrap().len())
            .sum()
    }

    /// How many times each server received each activity id: `(inbox, id) -> count`.
    pub fn receipts(&self) -> BTreeMap<(String, String), usize> {
        let mut out = BTreeMap::new();
        for s in &self.servers {
            for p in s.posts() {
                *out.entry((s.inbox.clone(), p.id)).or_insert(0) += 1;
            }
        }
        out
    }

    /// Shows that the fleet's check refuses what it must: a request signed with a key the
    /// fleet knows verifies, and the same request with its body, a signed header or the
    /// signature changed does not. Panics otherwise.
    pub async fn check_verifier(&self) {
        let key = shared_key().await;
        let pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let public = PublicKey::from_pem(&pem).unwrap();
        let url = "http://localhost:1/inbox";
        let uri: axum::http::Uri = "/inbox".parse().unwrap();
        let body = br#"{"type":"Create"}"#;
        for rfc9421 in [false, true] {
            let mut signed = if rfc9421 {
                internals::sign_rfc9421("POST", url, Some(body), "k", &key)
            } else {
                internals::sign("POST", url, Some(body), "k", &key)
            };
            // What the HTTP client adds (RFC 9421 signs `@authority`, read from it).
            if !signed.iter().any(|(k, _)| *k == "host") {
                signed.push(("host", "localhost:1".into()));
            }
            let headers = |edit: &dyn Fn(&str, &str) -> String| {
                let mut h = axum::http::HeaderMap::new();
                for (k, v) in &signed {
                    h.insert(*k, edit(k, v).parse().unwrap());
                }
                h
            };
            let good = headers(&|_, v| v.to_string());
            assert_eq!(check_signature(&uri, &good, body, &public), Ok(()));
            let other_body = br#"{"type":"Delete"}"#;
            assert!(check_signature(&uri, &good, other_body, &public).is_err());
            let other_host = headers(&|k, v| {
                if k == "host" {
                    "localhost:2".into()
                } else {
                    v.to_string()
                }
            });
            assert!(check_signature(&uri, &other_host, body, &public).is_err());
            // One character of the base64 signature changed.
            let other_sig = headers(&|k, v| {
                if k == "signature" {
                    let i = v.len() - 6;
                    let c = if &v[i..i + 1] == "A" { "B" } else { "A" };
                    format!("{}{c}{}", &v[..i], &v[i + 1..])
                } else {
                    v.to_string()
                }
            });
            assert!(check_signature(&uri, &other_sig, body, &public).is_err());
        }
    }

    /// Every POST of the whole fleet whose signature did not verify (or is still being
    /// checked), as `inbox: id: problem`.
    pub fn unverified(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.servers {
            for p in s.posts() {
                match p.verified {
                    Some(Ok(())) => {}
                    Some(Err(e)) => out.push(format!("{}: {}: {e}", s.inbox, p.id)),
                    None => out.push(format!("{}: {}: not checked yet", s.inbox, p.id)),
                }
            }
        }
        out
    }
}

/// What sending a signed activity needs, detached from the server (for spawned tasks).
#[derive(Clone)]
pub struct Sender {
    pub actor_id: String,
    key_id: String,
    key: Arc<RsaPrivateKey>,
    http: reqwest::Client,
}

impl Sender {
    /// POSTs `activity` signed for `public_url` (so `Host` and `(request-target)` are the
    /// public ones) to the same path at `entry` (a base URL: the process that takes it, as a
    /// load balancer forwards a request); returns the status and the answer's text.
    pub async fn post_via(
        &self,
        public_url: &str,
        entry: &str,
        activity: &Value,
    ) -> (StatusCode, String) {
        let body = activity.to_string();
        let headers = internals::sign(
            "POST",
            public_url,
            Some(body.as_bytes()),
            &self.key_id,
            &self.key,
        );
        let public = url::Url::parse(public_url).unwrap();
        let mut target = url::Url::parse(entry).unwrap();
        target.set_path(public.path());
        let mut req = self
            .http
            .post(target)
            .header("content-type", "application/activity+json")
            .body(body);
        // The signed headers include `host`: reqwest keeps it, as a proxy passes it on.
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.expect("POST to the node");
        let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
        (status, resp.text().await.unwrap_or_default())
    }
}

impl FleetServer {
    async fn start(
        name: &str,
        key: Arc<RsaPrivateKey>,
        pem: &str,
        keys: KeyCache,
        http: reqwest::Client,
    ) -> FleetServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let base = format!("http://localhost:{port}");
        let actor_id = format!("{base}/users/{name}");
        let key_id = format!("{actor_id}#main-key");
        let inbox = format!("{base}/inbox");
        let actor = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor_id, "type": "Person", "preferredUsername": name, "name": name,
            "inbox": format!("{actor_id}/inbox"), "outbox": format!("{actor_id}/outbox"),
            "followers": format!("{actor_id}/followers"),
            "endpoints": {"sharedInbox": inbox},
            "publicKey": {"id": key_id, "owner": actor_id, "publicKeyPem": pem},
        });
        let state = Arc::new(Inbox {
            posts: Mutex::new(Vec::new()),
            delay_ms: AtomicU64::new(0),
            actor: Mutex::new(actor),
            actor_gets: AtomicUsize::new(0),
            keys,
            http: http.clone(),
        });
        let app = Router::new()
            .route("/users/{name}", get(serve_actor))
            .route("/users/{name}/inbox", post(record))
            .route("/inbox", post(record))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FleetServer {
            domain: format!("localhost:{port}"),
            base,
            actor_id,
            key_id,
            inbox,
            key,
            state,
            http,
        }
    }

    /// A new id on this server, e.g. for an activity.
    pub fn new_id(&self, kind: &str) -> String {
        format!(
            "{}/objects/{kind}-{}",
            self.base,
            uuid::Uuid::new_v4().simple()
        )
    }

    pub fn sender(&self) -> Sender {
        Sender {
            actor_id: self.actor_id.clone(),
            key_id: self.key_id.clone(),
            key: self.key.clone(),
            http: self.http.clone(),
        }
    }

    /// See [`Sender::post_via`].
    pub async fn post_via(
        &self,
        public_url: &str,
        entry: &str,
        activity: &Value,
    ) -> (StatusCode, String) {
        self.sender().post_via(public_url, entry, activity).await
    }

    /// Gives this server's actor a key of its own (same key id), as a server rotating its
    /// keys does; later activities are signed with it.
    pub async fn rotate_key(&mut self) {
        let key = tokio::task::spawn_blocking(|| {
            RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("generate an RSA key")
        })
        .await
        .unwrap();
        let pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        self.state.actor.lock().unwrap()["publicKey"]["publicKeyPem"] = json!(pem);
        self.key = Arc::new(key);
    }

    /// How many times the actor document (with its key) was fetched.
    pub fn actor_fetches(&self) -> usize {
        self.state.actor_gets.load(Ordering::SeqCst)
    }

    /// How long the inbox waits before answering.
    pub fn set_delay(&self, delay: Duration) {
        self.state
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Every POST received, in order of arrival.
    pub fn posts(&self) -> Vec<Post> {
        self.state.posts.lock().unwrap().clone()
    }
}

async fn serve_actor(State(s): State<Arc<Inbox>>) -> impl IntoResponse {
    s.actor_gets.fetch_add(1, Ordering::SeqCst);
    let doc = s.actor.lock().unwrap().to_string();
    ([("content-type", "application/activity+json")], doc)
}

/// Records the POST, checks its signature, waits the delay, answers 202.
async fn record(
    State(s): State<Arc<Inbox>>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, &'static str) {
    let value = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let index = {
        let mut posts = s.posts.lock().unwrap();
        posts.push(Post {
            id: value["id"].as_str().unwrap_or_default().to_string(),
            kind: value["type"].as_str().unwrap_or_default().to_string(),
            at: Instant::now(),
            verified: None,
            body: value,
        });
        posts.len() - 1
    };
    let verified = verify(&s, &uri, &headers, &body).await;
    s.posts.lock().unwrap()[index].verified = Some(verified);
    let delay = s.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    (StatusCode::ACCEPTED, "")
}

/// Checks the node's signature with the key its `keyId` names (fetched once, unsigned, as
/// the node serves actors and keys).
async fn verify(
    s: &Inbox,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let key_id = internals::signature_key_id(headers).ok_or("no readable signature")?;
    let known = s.keys.lock().unwrap().get(&key_id).cloned();
    let key = match known {
        Some(key) => key,
        None => {
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
            let key = Arc::new(PublicKey::from_pem(pem)?);
            s.keys.lock().unwrap().insert(key_id, key.clone());
            key
        }
    };
    check_signature(uri, headers, body, &key)
}

/// Checks a POST's signature, of either scheme, as a peer server does: digest, coverage and
/// freshness (the node's parsers), then the signing string, rebuilt here, against `key`.
fn check_signature(
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
    body: &[u8],
    key: &PublicKey,
) -> Result<(), String> {
    use cocreate::federation::signatures::{self as sig, rfc9421};
    let has_body = !body.is_empty();
    let now = chrono::Utc::now();
    let e = |e: sig::SignatureError| e.to_string();
    if rfc9421::is_present(headers) {
        let target = rfc9421::Target::of_request("http", "unknown", uri, headers);
        let s = rfc9421::parse_headers(headers)
            .map_err(e)?
            .into_iter()
            .next()
            .ok_or("no signature")?;
        rfc9421::check_coverage_and_freshness(&s, &target, has_body, now).map_err(e)?;
        if has_body {
            rfc9421::check_content_digest(headers, body).map_err(e)?;
        }
        match s.algorithm.as_deref() {
            None | Some("rsa-v1_5-sha256") => {}
            Some(other) => return Err(format!("the fleet verifies no {other} signature")),
        }
        let base = rfc9421::signature_base(&s, "POST", &target, headers).map_err(e)?;
        key.verify(base.as_bytes(), &s.signature)
    } else {
        let s = sig::parse_header(headers).map_err(e)?;
        if has_body {
            sig::check_digest(headers, body).map_err(e)?;
        }
        sig::check_coverage_and_freshness(&s, headers, has_body, now).map_err(e)?;
        let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut lines = Vec::with_capacity(s.headers.len());
        for name in &s.headers {
            let value = match name.as_str() {
                "(request-target)" => format!("post {target}"),
                "(created)" => s
                    .created
                    .ok_or("(created) is signed but absent")?
                    .to_string(),
                "(expires)" => s
                    .expires
                    .ok_or("(expires) is signed but absent")?
                    .to_string(),
                header => {
                    let values: Vec<&str> = headers
                        .get_all(header)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .map(str::trim)
                        .collect();
                    if values.is_empty() {
                        return Err(format!("{header} is signed but absent"));
                    }
                    values.join(", ")
                }
            };
            lines.push(format!("{name}: {value}"));
        }
        key.verify(lines.join("\n").as_bytes(), &s.signature)
    }
}
