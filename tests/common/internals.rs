//! Every use of the crate's internals by the tests, in one place.
//!
//! The tests drive nodes through HTTP, the command line, `cocreate::build_state`,
//! `cocreate::router` and `cocreate::config::Settings`. What they cannot reach that way (signing
//! requests as a remote server does, reading a node's own instance key, bootstrapping the first
//! user of an in-process node, and the outbox's database-level guarantees) goes through the
//! functions below, so that a refactoring of `src/` (renamed services, queries split by table)
//! is adapted here and nowhere else.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use rsa::RsaPrivateKey;
use serde_json::Value;

use cocreate::config::Settings;

// ---------------------------------------------------------------------------------------------
// HTTP signatures, as a remote server makes them.

/// Signature headers (`host`, `date`, `digest` when there is a body, `signature`) for a request.
pub fn sign(
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    key_id: &str,
    key: &RsaPrivateKey,
) -> Vec<(&'static str, String)> {
    sign_at(method, url, body, key_id, key, Utc::now())
}

/// [`sign`] with a given `Date` (for stale signatures).
pub fn sign_at(
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    key_id: &str,
    key: &RsaPrivateKey,
    at: DateTime<Utc>,
) -> Vec<(&'static str, String)> {
    let url = url::Url::parse(url).unwrap();
    cocreate::federation::signatures::sign_at(method, &url, body, key_id, key, at).unwrap()
}

/// [`sign`] with RFC 9421 (`content-digest`, `signature-input`, `signature`), as Fedify and
/// Mastodon 4.5 sign.
pub fn sign_rfc9421(
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    key_id: &str,
    key: &RsaPrivateKey,
) -> Vec<(&'static str, String)> {
    let url = url::Url::parse(url).unwrap();
    cocreate::federation::signatures::sign_request(
        cocreate::federation::signatures::SignatureScheme::Rfc9421,
        method,
        &url,
        body,
        key_id,
        key,
    )
    .unwrap()
}

/// The `keyId`/`keyid` of a received request's signature, of either scheme.
pub fn signature_key_id(headers: &http::HeaderMap) -> Option<String> {
    use cocreate::federation::signatures::{parse_header, rfc9421};
    if rfc9421::is_present(headers) {
        rfc9421::parse_headers(headers)
            .ok()
            .and_then(|s| s.into_iter().next())
            .map(|s| s.key_id)
    } else {
        parse_header(headers).ok().map(|s| s.key_id)
    }
}

/// Checks a received request's signature, of either scheme, as a peer server would: digest,
/// coverage, freshness and the signature itself with `public_key_pem`.
pub fn verify_signature(
    method: &str,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    body: &[u8],
    public_key_pem: &str,
) -> Result<(), String> {
    use cocreate::federation::signatures::{self as sig, rfc9421};
    let body = (!body.is_empty()).then_some(body);
    let now = Utc::now();
    if rfc9421::is_present(headers) {
        let target = rfc9421::Target::of_request("http", "unknown", uri, headers);
        let s = rfc9421::parse_headers(headers)
            .map_err(|e| e.to_string())?
            .remove(0);
        rfc9421::check_coverage_and_freshness(&s, &target, body.is_some(), now)
            .map_err(|e| e.to_string())?;
        if let Some(b) = body {
            rfc9421::check_content_digest(headers, b).map_err(|e| e.to_string())?;
        }
        rfc9421::verify(&s, method, &target, headers, public_key_pem).map_err(|e| e.to_string())
    } else {
        let s = sig::parse_header(headers).map_err(|e| e.to_string())?;
        if let Some(b) = body {
            sig::check_digest(headers, b).map_err(|e| e.to_string())?;
        }
        sig::check_coverage_and_freshness(&s, headers, body.is_some(), now)
            .map_err(|e| e.to_string())?;
        let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        sig::verify(&s, method, target, headers, public_key_pem).map_err(|e| e.to_string())
    }
}

/// The signature scheme each remote host accepted, as a node remembers it in its database.
pub async fn peer_schemes(database_url: &str) -> Vec<(String, String)> {
    let db_url = database_url.to_string();
    tokio::task::spawn_blocking(move || {
        let db = cocreate::store::Db::open(&db_url).unwrap();
        tokio::runtime::Handle::current()
            .block_on(db.read(cocreate::store::peers::all))
            .unwrap()
            .into_iter()
            .map(|(h, s)| (h, s.to_string()))
            .collect()
    })
    .await
    .unwrap()
}

/// The key id and private key of a node's instance actor, read from its database, so that a
/// test can fetch as the node itself does.
pub async fn instance_key(database_url: &str) -> (String, RsaPrivateKey) {
    let db_url = database_url.to_string();
    let instance = tokio::task::spawn_blocking(move || {
        let db = cocreate::store::Db::open(&db_url).unwrap();
        tokio::runtime::Handle::current()
            .block_on(db.read(|c| {
                cocreate::store::actors::local_of_kind(
                    c,
                    cocreate::domain::kinds::ActorKind::Application,
                )
            }))
            .unwrap()
            .expect("the node has an instance actor")
    })
    .await
    .unwrap();
    let key =
        rsa::pkcs8::DecodePrivateKey::from_pkcs8_pem(instance.private_key_pem.as_deref().unwrap())
            .unwrap();
    (instance.key_id, key)
}

// ---------------------------------------------------------------------------------------------
// In-process nodes.

/// Settings of a development-mode node on `domain` (nothing needs to listen there) with the
/// given database.
pub fn dev_settings(domain: &str, database_url: &str) -> Settings {
    Settings::load(&cocreate::config::ConfigArgs {
        domain: Some(domain.to_string()),
        database: Some(database_url.to_string()),
        dev: true,
        ..Default::default()
    })
    .expect("valid test settings")
}

/// Creates a local person directly (the first staff user of a node has nobody to create it
/// through the API); returns its API token.
pub async fn create_user(ctx: &cocreate::state::Ctx, name: &str, staff: bool) -> String {
    let (_, token) = cocreate::service::accounts::create_user(
        &ctx.db,
        &ctx.urls,
        &ctx.settings.domain,
        name,
        staff,
    )
    .await
    .unwrap_or_else(|e| panic!("create user {name}: {e}"));
    token
}

// ---------------------------------------------------------------------------------------------
// The outbox at the database level (tests/outbox_claims.rs).

/// A database with one local person, for publishing activities as a service would.
pub struct OutboxProbe {
    db: cocreate::store::Db,
    urls: cocreate::state::Urls,
    actor: cocreate::store::models::Actor,
}

impl OutboxProbe {
    /// Opens (and migrates) the database at `database_url`; the node is `http://localhost:1`.
    pub async fn open(database_url: &str) -> OutboxProbe {
        let db = cocreate::store::Db::open(database_url).unwrap();
        let urls = cocreate::state::Urls {
            base: "http://localhost:1".into(),
        };
        let (actor, _) =
            cocreate::service::accounts::create_user(&db, &urls, "localhost:1", "alice", false)
                .await
                .unwrap();
        OutboxProbe { db, urls, actor }
    }

    /// Publishes `activity` to `inboxes` in a transaction that commits.
    pub async fn publish(&self, activity: Value, inboxes: &[&str]) {
        self.publish_then(activity, inboxes, false).await.unwrap();
    }

    /// Publishes `activity` to `inboxes` in a transaction that then fails; returns the error.
    pub async fn publish_then_fail(&self, activity: Value, inboxes: &[&str]) -> String {
        self.publish_then(activity, inboxes, true)
            .await
            .unwrap_err()
    }

    async fn publish_then(
        &self,
        activity: Value,
        inboxes: &[&str],
        fail: bool,
    ) -> Result<(), String> {
        use cocreate::error::Error;
        let (urls, actor) = (self.urls.clone(), self.actor.clone());
        let inboxes: Vec<String> = inboxes.iter().map(|s| s.to_string()).collect();
        self.db
            .write(move |c| {
                cocreate::service::Tx::new(c, &urls).publish(&actor, &activity, inboxes)?;
                if fail {
                    return Err(Error::Internal("crash before commit".into()));
                }
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())
    }

    /// Whether the activity `ap_id` is stored.
    pub async fn has_activity(&self, ap_id: &str) -> bool {
        let ap_id = ap_id.to_string();
        self.db
            .read(move |c| cocreate::store::activities::by_ap_id(c, &ap_id))
            .await
            .unwrap()
            .is_some()
    }

    /// Deliveries by state, e.g. `[("pending", 2)]`.
    pub async fn delivery_stats(&self) -> Vec<(String, i64)> {
        self.db
            .read(cocreate::store::deliveries::count_by_state)
            .await
            .unwrap()
    }

    /// Leases a batch of due deliveries, as a delivery worker does; returns how many.
    pub async fn claim_batch(&self) -> usize {
        self.db
            .write(cocreate::federation::outbox::claim_batch)
            .await
            .unwrap()
            .len()
    }

    /// Leases a batch of due deliveries and records them all delivered, as a worker does when
    /// every host answers; returns how many.
    pub async fn claim_and_deliver(&self) -> usize {
        self.db
            .write(|c| {
                let claimed = cocreate::federation::outbox::claim_batch(c)?;
                let ids: Vec<i32> = claimed.iter().map(|d| d.id).collect();
                cocreate::store::deliveries::record_delivered(c, &ids, 1)?;
                Ok(ids.len())
            })
            .await
            .unwrap()
    }

    /// Publishes `activity` to `inboxes` in a transaction that stays open until the returned
    /// sender is used (or dropped); the second value is the publication's outcome.
    pub async fn publish_held(
        &self,
        activity: Value,
        inboxes: &[&str],
    ) -> (
        std::sync::mpsc::Sender<()>,
        tokio::task::JoinHandle<Result<(), String>>,
    ) {
        let (urls, actor) = (self.urls.clone(), self.actor.clone());
        let inboxes: Vec<String> = inboxes.iter().map(|s| s.to_string()).collect();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let db = self.db.clone();
        let done = tokio::spawn(async move {
            db.write(move |c| {
                cocreate::service::Tx::new(c, &urls).publish(&actor, &activity, inboxes)?;
                let _ = ready_tx.send(());
                let _ = go_rx.recv();
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())
        });
        tokio::task::spawn_blocking(move || ready_rx.recv())
            .await
            .unwrap()
            .expect("the publication reached its end before commit");
        (go_tx, done)
    }

    /// How many delivery bodies are stored.
    pub async fn body_count(&self) -> i64 {
        self.db
            .read(|c| {
                use cocreate::store::schema::delivery_bodies::dsl::*;
                use diesel::prelude::*;
                Ok(delivery_bodies.count().get_result(c)?)
            })
            .await
            .unwrap()
    }

    /// Turns the pending deliveries to `host` into dead letters and purges every dead letter,
    /// as an operator does; returns how many were purged.
    pub async fn expire_and_purge(&self, host: &str) -> usize {
        let host = host.to_string();
        self.db
            .write(move |c| {
                let far = cocreate::store::now() + chrono::Duration::days(1);
                cocreate::store::deliveries::expire_queued_before(c, &host, far, "test")?;
                cocreate::store::deliveries::purge_dead(c)
            })
            .await
            .unwrap()
    }

    /// Makes every lease expire, as when the worker holding it was killed.
    pub async fn expire_leases(&self) {
        self.db
            .write(|c| {
                use cocreate::store::schema::deliveries::dsl::*;
                use diesel::prelude::*;
                diesel::update(deliveries)
                    .set(
                        claimed_until
                            .eq(Some(cocreate::store::now() - chrono::Duration::seconds(1))),
                    )
                    .execute(c)?;
                Ok(())
            })
            .await
            .unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// Web accounts and sessions (tests/rules/sessions.rs, tests/cli.rs): the services the pages
// will call, with errors as `(status, message)`.

/// An error as an HTTP edge would answer it: its status and message.
pub type Refusal = (u16, String);

fn refusal(e: cocreate::error::Error) -> Refusal {
    (e.status().as_u16(), e.to_string())
}

/// A successful sign-in: the cookie's token, the session's CSRF token, who signed in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub csrf_token: String,
    pub name: String,
}

/// The same node with web sign-up open (the settings of `ctx` otherwise).
pub fn with_signup_open(ctx: &cocreate::state::Ctx) -> cocreate::state::Ctx {
    let mut settings = ctx.settings.clone();
    settings.signup = cocreate::config::Signup::Open;
    std::sync::Arc::new(cocreate::state::AppState {
        settings,
        db: ctx.db.clone(),
        urls: ctx.urls.clone(),
        fed: ctx.fed.clone(),
        http: ctx.http.clone(),
        fetch_signer: ctx.fetch_signer.clone(),
        peer_schemes: ctx.peer_schemes.clone(),
        delivery_wake: ctx.delivery_wake.clone(),
        metrics: ctx.metrics.clone(),
        documents: cocreate::federation::cache::DocumentCache::default(),
    })
}

pub async fn set_password(
    ctx: &cocreate::state::Ctx,
    name: &str,
    password: &str,
) -> Result<(), Refusal> {
    cocreate::service::sessions::set_password(ctx, name, password)
        .await
        .map_err(refusal)
}

/// Signs up on the web; the new person's name and whether they are staff.
pub async fn sign_up(
    ctx: &cocreate::state::Ctx,
    name: &str,
    password: &str,
) -> Result<(String, bool), Refusal> {
    cocreate::service::sessions::sign_up(ctx, name, password)
        .await
        .map(|actor| (actor.name, actor.staff))
        .map_err(refusal)
}

pub async fn sign_in(
    ctx: &cocreate::state::Ctx,
    name: &str,
    password: &str,
) -> Result<SignedIn, Refusal> {
    cocreate::service::sessions::sign_in(ctx, name, password)
        .await
        .map(|s| SignedIn {
            token: s.token,
            csrf_token: s.csrf_token,
            name: s.actor.name,
        })
        .map_err(refusal)
}

/// The name of the person signed in with the session token, if the session is live.
pub async fn session_user(ctx: &cocreate::state::Ctx, token: &str) -> Option<String> {
    cocreate::service::sessions::session_user(ctx, token)
        .await
        .unwrap()
        .map(|(actor, _)| actor.name)
}

pub async fn sign_out(ctx: &cocreate::state::Ctx, token: &str) {
    cocreate::service::sessions::sign_out(ctx, token)
        .await
        .unwrap()
}

/// Checks a submitted CSRF token against the live session of `token`.
pub async fn check_csrf(
    ctx: &cocreate::state::Ctx,
    token: &str,
    submitted: &str,
) -> Result<(), Refusal> {
    let (_, session) = cocreate::service::sessions::session_user(ctx, token)
        .await
        .unwrap()
        .expect("a live session");
    cocreate::service::sessions::check_csrf(&session, submitted).map_err(refusal)
}

/// Makes the live session of `token` expire a second ago.
pub async fn expire_session(ctx: &cocreate::state::Ctx, token: &str) {
    let (_, session) = cocreate::service::sessions::session_user(ctx, token)
        .await
        .unwrap()
        .expect("a live session");
    ctx.db
        .write(move |c| {
            cocreate::store::sessions::set_expires_at(
                c,
                &session.id,
                cocreate::store::now() - chrono::Duration::seconds(1),
            )
        })
        .await
        .unwrap()
}
