//! When the database goes away, the node answers 503 with a clear message (so senders retry),
//! keeps running, and works again when the database is back; nothing acknowledged is lost.

mod common;

use common::remote::RemoteActor;
use common::*;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::json;

fn admin() -> PgConnection {
    PgConnection::establish(&format!("{}/postgres", postgres_server().unwrap())).unwrap()
}

fn set_reachable(db_name: &str, reachable: bool) {
    let mut c = admin();
    // ALLOW_CONNECTIONS binds superusers too (a connection limit would not).
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

#[tokio::test]
async fn database_down_gives_503_and_recovers_postgres() {
    if !backend_available(Backend::Postgres) {
        return;
    }
    let node = Node::start("A", Backend::Postgres).await;
    let db_name = node.database_url.rsplit('/').next().unwrap().to_string();
    let staff = node.add_user("alice", true);
    node.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "lab", "title": "Lab"}),
    )
    .await;
    let (_, idea) = node
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "Kept", "body": "x"}),
        )
        .await;
    let remote = RemoteActor::start("rita").await;
    let like = json!({"id": remote.new_id("like"), "type": "Like", "actor": remote.actor_id, "object": idea["ap_id"]});
    // The key is fetched and cached while the database is up.
    let warm = json!({"id": remote.new_id("follow"), "type": "Follow", "actor": remote.actor_id, "object": format!("{}/r/lab", node.base)});
    assert_eq!(
        remote
            .post_activity(&format!("{}/inbox", node.base), &warm)
            .await
            .0,
        202
    );

    set_reachable(&db_name, false);
    let (s, body) = node.get(&idea_path(&idea["id"]), &staff).await;
    assert_eq!(s, 503, "{body}");
    let resp = node
        .http
        .get(format!("{}{}", node.base, idea_path(&idea["id"])))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(
        resp.headers()["retry-after"],
        "10",
        "the client is told when to retry"
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("database is unavailable"),
        "{body}"
    );
    let (s, text) = remote
        .post_activity(&format!("{}/inbox", node.base), &like)
        .await;
    assert_eq!(s, 503, "the sender must retry, not lose the Like: {text}");

    set_reachable(&db_name, true);
    let (s, _) = remote
        .post_activity(&format!("{}/inbox", node.base), &like)
        .await;
    assert_eq!(
        s, 202,
        "the retried Like is applied once the database is back"
    );
    let (s, i) = node.get(&idea_path(&idea["id"]), &staff).await;
    assert_eq!(s, 200);
    assert_eq!(i["support_count"], 1);
    assert_eq!(i["title"], "Kept");
}
