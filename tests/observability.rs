//! Observability for operators: `/healthz`, `/readyz` (the database reachable, migrations
//! applied) and `/metrics` in the Prometheus text format with the names other checks rely on.

mod common;

use common::remote::RemoteActor;
use common::*;
use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};

async fn get_json(node: &Node, path: &str) -> (StatusCode, Value) {
    let r = node
        .http
        .get(format!("{}{path}", node.base))
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn metrics(node: &Node) -> String {
    let r = node
        .http
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// The value of one sample line (`name{labels} value`), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

async fn probes_and_metrics(backend: Backend) {
    let node = Node::start("A", backend).await;
    assert_eq!(
        get_json(&node, "/healthz").await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    assert_eq!(
        get_json(&node, "/readyz").await,
        (StatusCode::OK, json!({"status": "ready"}))
    );

    let staff = node.add_user("alice", true);
    node.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "lab", "title": "Lab"}),
    )
    .await;
    let (s, idea) = node
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "Counted", "body": "x"}),
        )
        .await;
    assert_eq!(s, 201, "{idea}");
    let remote = RemoteActor::start("rita").await;
    let inbox = format!("{}/inbox", node.base);
    let like = json!({"id": remote.new_id("like"), "type": "Like", "actor": remote.actor_id, "object": idea["ap_id"]});
    let (s, text) = remote.post_activity(&inbox, &like).await;
    assert_eq!(s, 202, "{text}");
    let (s, text) = remote.post_activity(&inbox, &like).await;
    assert_eq!(s, 202, "{text}");
    assert!(text.contains("duplicate"), "{text}");
    let moved = json!({"id": remote.new_id("move"), "type": "Move", "actor": remote.actor_id, "object": remote.actor_id, "target": format!("{}/elsewhere", remote.actor_id)});
    let (s, text) = remote.post_activity(&inbox, &moved).await;
    assert_eq!(s, 202, "{text}");
    assert!(text.contains("ignored"), "{text}");
    let (s, _) = remote.post_signed(&inbox, b"{\"type\": \"Like\",").await;
    assert_eq!(s, 400);

    let text = metrics(&node).await;
    for name in [
        "cocreate_inbox_activities_total",
        "cocreate_deliveries_total",
        "cocreate_outbox_pending",
        "cocreate_outbox_oldest_age_seconds",
        "cocreate_http_request_duration_seconds",
    ] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name}: {text}");
    }
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.starts_with("cocreate_"), "{line}");
    }
    let inbox_count = |ty: &str, result: &str| {
        sample(
            &text,
            &format!(r#"cocreate_inbox_activities_total{{type="{ty}",result="{result}"}}"#),
        )
    };
    assert_eq!(inbox_count("Like", "accepted"), Some(1.0), "{text}");
    assert_eq!(inbox_count("Like", "duplicate"), Some(1.0), "{text}");
    assert_eq!(inbox_count("other", "ignored"), Some(1.0), "{text}");
    assert_eq!(inbox_count("other", "rejected"), Some(1.0), "{text}");
    assert!(sample(&text, "cocreate_outbox_pending").is_some(), "{text}");
    // Latency is labelled by route template, never by a concrete path.
    assert!(
        text.contains(r#"cocreate_http_request_duration_seconds_count{route="/inbox"} 4"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/rooms/{room}/ideas""#)
            || text.contains(r#"route="/api/v1/rooms/{name}/ideas""#),
        "{text}"
    );
    assert!(
        !text.contains("route=\"/api/v1/rooms/lab/ideas\""),
        "{text}"
    );
}

backends!(observability => probes_and_metrics);

/// `/readyz` says 503 with the reason while a migration of this build is missing from the
/// database, and 200 again once it is there (SQLite: the file is at hand).
#[tokio::test]
async fn readyz_reports_pending_migrations() {
    let node = Node::start("A", Backend::Sqlite).await;
    let path = node.database_url.strip_prefix("sqlite://").unwrap();
    let mut c = diesel::SqliteConnection::establish(path).unwrap();
    #[derive(diesel::QueryableByName)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let latest = diesel::sql_query(
        "SELECT version FROM __diesel_schema_migrations ORDER BY version DESC LIMIT 1",
    )
    .get_result::<V>(&mut c)
    .unwrap()
    .version;
    diesel::sql_query(format!(
        "DELETE FROM __diesel_schema_migrations WHERE version = '{latest}'"
    ))
    .execute(&mut c)
    .unwrap();
    let (s, body) = get_json(&node, "/readyz").await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(body["status"], "unavailable", "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("pending"),
        "{body}"
    );
    assert_eq!(get_json(&node, "/healthz").await.0, 200);
    diesel::sql_query(format!(
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('{latest}')"
    ))
    .execute(&mut c)
    .unwrap();
    assert_eq!(
        get_json(&node, "/readyz").await,
        (StatusCode::OK, json!({"status": "ready"}))
    );
}

/// `/readyz` says 503 while the database refuses connections and 200 once it is back (as
/// `tests/database_down.rs` stops it: PostgreSQL only).
#[tokio::test]
async fn readyz_follows_the_database_postgres() {
    if !backend_available(Backend::Postgres) {
        return;
    }
    let node = Node::start("A", Backend::Postgres).await;
    let db_name = node.database_url.rsplit('/').next().unwrap().to_string();
    assert_eq!(get_json(&node, "/readyz").await.0, 200);
    set_reachable(&db_name, false);
    let (s, body) = get_json(&node, "/readyz").await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(body["status"], "unavailable", "{body}");
    assert!(
        body["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );
    assert_eq!(get_json(&node, "/healthz").await.0, 200);
    set_reachable(&db_name, true);
    let (s, body) = get_json(&node, "/readyz").await;
    assert_eq!(s, 200, "{body}");
}

fn set_reachable(db_name: &str, reachable: bool) {
    let mut c =
        diesel::PgConnection::establish(&format!("{}/postgres", postgres_server().unwrap()))
            .unwrap();
    diesel::sql_query(format!(
        "ALTER DATABASE {db_name} ALLOW_CONNECTIONS {reachable}"
    ))
    .execute(&mut c)
    .unwrap();
    if !reachable {
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db_name}'"
        ))
        .execute(&mut c)
        .unwrap();
    }
}
