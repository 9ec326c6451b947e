//! Cocreate: a self-hosted node for federated, cross-company co-creation over ActivityPub.
//!
//! # Layout
//!
//! Requests enter at an edge, which only translates; rules live in the services; SQL lives
//! in the store. Data flows one way, top to bottom:
//!
//! ```text
//!  api (REST, one file per resource)   web (pages)   federation (routes, inbox, activities)
//!                     \                    |                    /
//!                      service: use cases, policy (who may do what), Tx (transaction
//!                               + transactional outbox), inbound (what the inbox hands over)
//!                     /            |                |                 \
//!        remote (signed fetches,   vocab (AS2 JSON,  store (SQL, one   domain (pure rules:
//!        WebFinger, actor cache)   builders; pure)   file per table)   life cycle, phases)
//! ```
//!
//! - [`api`], [`web`], [`federation`]: the HTTP edges. Each handler extracts, authenticates
//!   and calls one service function; inbound activities are typed, one file per activity, in
//!   [`federation::activities`]. The delivery worker ([`federation::outbox`]) is the other
//!   half of the transactional outbox: it leases rows of the delivery queue in [`store`] and
//!   sends them; its recorder writes each outcome with the retry rules of [`domain::retry`].
//! - [`service`]: use cases, the only place where rules are applied to data;
//!   [`service::policy`] names every permission rule once.
//! - [`remote`]: outbound lookups on other servers, used by services and the inbox.
//! - [`vocab`]: the ActivityStreams vocabulary: documents served and activities sent.
//! - [`store`]: diesel over SQLite and PostgreSQL, migrations, the pool; the only home of SQL.
//! - [`domain`]: pure rules (idea life cycle, membership and phases, names, kinds, text,
//!   delivery retries).
//! - Shared by all: [`config`] (settings, validated), [`error`] (the library error and its one
//!   mapping to an HTTP response), [`state`] (what handlers, services and workers share).
//! - [`limits`]: what one request and one client may cost: JSON shape limits, rate limits per
//!   client IP and per remote host (domain blocks are a use case: [`service::blocks`]).
//! - [`metrics`]: observability for operators: Prometheus metrics (`/metrics`, counted by the
//!   inbox, the delivery worker and a latency middleware) and the `/healthz` and `/readyz`
//!   probes.

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod federation;
#[doc(hidden)]
pub mod fuzzing;
pub mod limits;
pub mod metrics;
pub mod remote;
pub mod service;
pub mod state;
pub mod store;
pub mod vocab;
pub mod web;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::Router;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::state::{AppState, Ctx, Urls};
use crate::store::Db;

/// Opens the database (running migrations), makes sure the node's own actors exist and builds
/// the shared state.
pub async fn build_state(settings: Settings) -> anyhow::Result<Ctx> {
    let url = settings.database_url.clone();
    let db = tokio::task::spawn_blocking(move || Db::open(&url))
        .await?
        .map_err(anyhow::Error::msg)?;
    let urls = Urls {
        base: settings.base_url(),
    };
    let (instance, _org) = service::accounts::ensure_node_actors(
        &db,
        &urls,
        &settings.domain,
        &settings.org_name,
        &settings.org_display_name,
    )
    .await?;
    if instance.ap_id != urls.instance_actor() {
        anyhow::bail!(
            "domain/dev: this database belongs to the node {}, but the settings give {} (check --domain and --dev)",
            instance.ap_id.trim_end_matches("/actor"),
            urls.base
        );
    }
    // Redirects are followed by the callers, each hop checked; outside development mode the
    // resolver drops addresses that are not public (the SSRF guard, `remote::guard`).
    let http = remote::guard::client(
        remote::guard::Guard::for_dev(settings.dev),
        format!("Cocreate/{} (+{})", env!("CARGO_PKG_VERSION"), urls.base),
    )?;
    let fed = federation::federation_config(&settings.domain, settings.dev, http.clone()).await?;
    let pem = instance
        .private_key_pem
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the instance actor has no private key"))?;
    let key = tokio::task::spawn_blocking(move || federation::signatures::parse_private_key(&pem))
        .await??;
    // Kept documents are checked against the database's count of changes; on PostgreSQL it
    // counts the changes of other processes once a serving process listens ([`serve`]).
    let documents = federation::cache::DocumentCache::default();
    Ok(Arc::new(AppState {
        settings,
        db,
        documents,
        urls,
        fed,
        http,
        fetch_signer: Arc::new(federation::knock::Signer {
            key_id: instance.key_id.clone(),
            key,
        }),
        peer_schemes: Arc::new(federation::knock::SchemeMemory::default()),
        delivery_wake: Arc::new(Notify::new()),
        metrics: Arc::new(metrics::Metrics::new()),
    }))
}

/// The HTTP application: federation routes, the REST API and pages.
pub fn router(ctx: Ctx) -> Router {
    let limit = ctx.settings.max_body_bytes;
    let rate_limiter = Arc::new(limits::RateLimiter::new(&ctx.settings.rate_limits));
    Router::new()
        .merge(federation::routes::router())
        .merge(federation::followers_sync::router())
        .merge(api::router())
        .merge(web::router())
        .merge(metrics::router())
        .layer(DefaultBodyLimit::max(limit))
        // The inbox counts requests per remote host; per-IP limits apply before the body is read.
        .layer(axum::Extension(rate_limiter.clone()))
        .layer(axum::middleware::from_fn_with_state(
            (ctx.clone(), rate_limiter),
            limits::per_ip,
        ))
        // A bug must cost one request, never the process or a silent connection reset.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::from_fn(web::error_pages))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        // Router::layer wraps each route, so the matched route template is known here.
        .layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            metrics::track_latency,
        ))
        .with_state(ctx)
}

/// Rewrites the plain-text or empty error bodies that axum's extractors and method routing
/// produce (413, 405, a bad query string) into the API's JSON error shape.
async fn json_errors(resp: axum::response::Response) -> axum::response::Response {
    use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // Pages carry their own error text for people (see `web::error_pages`).
        .is_some_and(|ct| ct.contains("json") || ct.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut out = (
        status,
        axum::Json(serde_json::json!({ "error": message, "status": status.as_u16() })),
    )
        .into_response();
    for (name, value) in parts.headers.iter() {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!("a request handler panicked");
    error::Error::Internal("unexpected failure; the request was not applied".into()).into_response()
}

/// Runs a node until the process is stopped: HTTP server plus the delivery worker.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listen = settings.listen;
    let serving = store::ServeLock::take(&settings.database_url).map_err(anyhow::Error::msg)?;
    let ctx = build_state(settings).await?;
    // Other processes sharing a PostgreSQL database change what this one serves.
    ctx.db.follow_changes();
    if serving.is_sole_server() {
        // An SQLite node that was killed left its leases behind; nobody else can hold them.
        let released = ctx.db.write(store::deliveries::release_all).await?;
        if released > 0 {
            tracing::info!(
                deliveries = released,
                "released the delivery leases of a previous run that did not stop cleanly"
            );
        }
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    tokio::spawn(federation::outbox::run_worker(ctx.clone()));
    tracing::info!(%listen, base = %ctx.urls.base, dev = ctx.settings.dev, "Cocreate node ready");
    // The peer address is what per-IP rate limits count by.
    let app = router(ctx).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM (what `docker stop` and systemd send). Everything acknowledged is already
/// committed, so stopping at any point loses nothing; this only lets open requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
