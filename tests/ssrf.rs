//! The SSRF guard (spec/README.md, "Addresses never fetched"): a node outside development mode
//! contacts no loopback, private, link-local or otherwise non-public address, whether a handle
//! names it as an IP literal, by a host name that resolves there, or a redirect leads there.
//!
//! The nodes here are in-process (`cocreate::build_state` and `cocreate::router`), one of them
//! with `dev` off. No test sends a packet to a private or link-local address: the guard refuses
//! before connecting, and the only listener is on 127.0.0.1 (it counts what reaches it).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use cocreate::config::{ConfigArgs, Settings};
use cocreate::remote::guard::{refusal_in, Refused};
use cocreate::remote::{self, FetchError};
use cocreate::state::Ctx;
use common::remote::RemoteActor;
use common::{backends, fresh_postgres_db, internals, Backend};

/// An in-process node on a fresh database, in development mode or not.
struct InProcess {
    ctx: Ctx,
    app: axum::Router,
    token: String,
    _dir: tempfile::TempDir,
}

impl InProcess {
    async fn start(backend: Backend, domain: &str, dev: bool) -> InProcess {
        let dir = tempfile::tempdir().unwrap();
        let database = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("node.db").display()),
            Backend::Postgres => fresh_postgres_db(),
        };
        let settings = Settings::load(&ConfigArgs {
            domain: Some(domain.to_string()),
            database: Some(database),
            dev,
            ..Default::default()
        })
        .expect("valid settings");
        let ctx = cocreate::build_state(settings)
            .await
            .expect("build the node");
        let token = internals::create_user(&ctx, "alice", true).await;
        InProcess {
            app: cocreate::router(ctx.clone()),
            ctx,
            token,
            _dir: dir,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, body)
    }
}

/// A TCP listener on 127.0.0.1 that answers `200 ok` to anything and counts the connections
/// it accepts.
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (port, count)
}

/// Follows of handles whose host is, or resolves to, a non-public address are refused with
/// the reason, and leave nothing behind.
async fn follows_of_private_hosts_are_refused(backend: Backend) {
    let node = InProcess::start(backend, "ssrf.example", false).await;
    let cases = [
        (
            "alice@localhost",
            "https://localhost/",
            "localhost resolves to ",
        ),
        (
            "alice@127.0.0.1",
            "https://127.0.0.1/",
            "127.0.0.1 is a loopback address",
        ),
        ("alice@[::1]", "https://[::1]/", "::1 is a loopback address"),
        (
            "alice@10.0.0.1",
            "https://10.0.0.1/",
            "10.0.0.1 is a private (RFC 1918) address",
        ),
        (
            "alice@169.254.169.254",
            "https://169.254.169.254/",
            "169.254.169.254 is a link-local address",
        ),
    ];
    for (handle, url, why) in cases {
        let (status, body) = node
            .call(
                Method::POST,
                "/api/v1/follows",
                Some(json!({ "handle": handle })),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{handle}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with(&format!("refusing {url}.well-known/webfinger")),
            "{handle}: {error}"
        );
        assert!(error.contains(why), "{handle}: {error}");
        assert!(
            error.ends_with("private addresses are allowed only in development mode"),
            "{handle}: {error}"
        );
    }
    let (status, follows) = node.call(Method::GET, "/api/v1/follows", None).await;
    assert_eq!(status, StatusCode::OK, "{follows}");
    assert_eq!(follows, json!([]), "nothing is stored");
}

backends!(follows_of_private_hosts_are_refused);

/// The shared client of a node outside development mode refuses a name that resolves to
/// loopback at the moment of connecting (the guarded resolver), while a development node's
/// client reaches the same listener.
#[tokio::test]
async fn the_guarded_client_does_not_connect_to_loopback_by_name() {
    let (port, connections) = counting_listener().await;
    let url = format!("http://localhost:{port}/");
    let node = InProcess::start(Backend::Sqlite, "ssrf.example", false).await;
    let err = node.ctx.http.get(&url).send().await.unwrap_err();
    match refusal_in(&err) {
        Some(Refused::Resolved { host, ip, .. }) => {
            assert_eq!(host, "localhost");
            assert!(ip.is_loopback(), "{ip}");
        }
        other => panic!("expected the guard's refusal, got {other:?} ({err:?})"),
    }
    assert!(
        err.to_string().contains("localhost") || format!("{err:?}").contains("loopback"),
        "{err:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 0, "nothing connected");

    let dev = InProcess::start(Backend::Sqlite, "localhost:1", true).await;
    let answer = dev
        .ctx
        .http
        .get(&url)
        .send()
        .await
        .expect("dev mode connects");
    assert_eq!(answer.text().await.unwrap(), "ok");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

/// A redirect is checked like the URL it replaces: to a private address, to a name that
/// resolves to loopback, or to plain http, it is refused outside development mode.
#[tokio::test]
async fn redirects_to_private_addresses_are_refused() {
    let node = InProcess::start(Backend::Sqlite, "ssrf.example", false).await;
    let from = url::Url::parse("https://social.example/users/mallory").unwrap();
    let cases = [
        (
            "https://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a link-local address",
        ),
        (
            "https://10.1.2.3/actor",
            "10.1.2.3 is a private (RFC 1918) address",
        ),
        ("https://[fd00::1]/actor", "fd00::1 is a unique-local"),
        (
            "https://[::ffff:127.0.0.1]/",
            "127.0.0.1 is a loopback address",
        ),
        ("https://localhost/users/x", "localhost resolves to "),
        (
            "http://8.8.8.8/actor",
            "only https is allowed outside development mode",
        ),
    ];
    for (location, why) in cases {
        let mut headers = http::HeaderMap::new();
        headers.insert(header::LOCATION, location.parse().unwrap());
        let err = remote::redirect_target(&node.ctx, &from, StatusCode::FOUND, &headers)
            .await
            .expect_err(location);
        assert!(
            matches!(err, FetchError::NotAllowed(_)),
            "{location}: {err}"
        );
        assert!(err.to_string().contains(why), "{location}: {err}");
    }
}

/// In development mode a real redirect between loopback servers is followed and the
/// document it leads to is read.
#[tokio::test]
async fn redirects_are_followed_in_development_mode() {
    let remote = RemoteActor::start("carol").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = remote.actor_id.clone();
    let app = axum::Router::new().route(
        "/@carol",
        axum::routing::get(move || {
            let target = target.clone();
            async move { axum::response::Redirect::temporary(&target) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let node = InProcess::start(Backend::Sqlite, "localhost:1", true).await;
    let doc = remote::fetch_json(&node.ctx, &format!("http://127.0.0.1:{port}/@carol"))
        .await
        .expect("the redirect is followed");
    assert_eq!(doc["id"], json!(remote.actor_id));
}
