//! A write that panics (a bug in a use case) loses only itself, on both backends: nothing it
//! did is committed, its caller gets an error, and every write after it commits, whichever
//! connection it runs on. A write that a concurrent one got in the way of (a unique key taken
//! meanwhile, a deadlock) answers 503 with `Retry-After`: a retry cures it. A reply whose
//! deliveries cannot be queued leaves nothing behind, so that the sender's retry applies it.

mod common;

use cocreate::store::{Db, DbConnection};
use common::*;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A fresh database of the backend, with a table `t(n)`.
async fn open(backend: Backend, dir: &tempfile::TempDir) -> Db {
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("w.db").display()),
        Backend::Postgres => fresh_postgres_db(),
    };
    let db = Db::open(&url).expect("open the database");
    db.write(|c| {
        diesel::sql_query("CREATE TABLE t (n BIGINT PRIMARY KEY)").execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    db
}

fn insert(c: &mut DbConnection, n: i64) -> cocreate::error::Result<()> {
    diesel::sql_query(format!("INSERT INTO t (n) VALUES ({n})")).execute(c)?;
    Ok(())
}

async fn committed(db: &Db) -> Vec<i64> {
    db.read(|c| {
        Ok(diesel::sql_query("SELECT n FROM t ORDER BY n")
            .load::<Row>(c)?
            .into_iter()
            .map(|r| r.n)
            .collect())
    })
    .await
    .unwrap()
}

async fn a_write_that_panics_loses_only_itself(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(backend, &dir).await;
    let panicked = db
        .write(|c| -> cocreate::error::Result<()> {
            insert(c, 1)?;
            panic!("a bug in a use case");
        })
        .await;
    assert!(panicked.is_err(), "{panicked:?}");
    // More writes than the pool has connections, so that one of them runs on the connection
    // the panic left; each is answered only once committed.
    for n in 2..=20 {
        db.write(move |c| insert(c, n)).await.unwrap();
    }
    assert_eq!(
        committed(&db).await,
        (2..=20).collect::<Vec<_>>(),
        "nothing of the write that panicked, everything after it"
    );
}
backends!(a_write_that_panics_loses_only_itself);

/// A write that loses to a concurrent one (here a unique key taken meanwhile) answers 503
/// with `Retry-After`, on both backends: a retry of the same request cures it.
async fn a_write_beaten_by_a_concurrent_one_asks_for_a_retry(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(backend, &dir).await;
    db.write(|c| insert(c, 1)).await.unwrap();
    let err = db.write(|c| insert(c, 1)).await.unwrap_err();
    assert_eq!(err.status(), http::StatusCode::SERVICE_UNAVAILABLE, "{err}");
    let resp = axum::response::IntoResponse::into_response(err);
    assert_eq!(resp.headers()["retry-after"], "1");
}
backends!(a_write_beaten_by_a_concurrent_one_asks_for_a_retry);

/// A deadlock, which PostgreSQL breaks by failing one of the two transactions, is transient
/// too: 503 with `Retry-After`, not a 500.
#[test]
fn a_deadlock_asks_for_a_retry() {
    use diesel::{Connection, PgConnection};
    if !backend_available(Backend::Postgres) {
        return;
    }
    let url = fresh_postgres_db();
    let mut setup = PgConnection::establish(&url).unwrap();
    diesel::sql_query("CREATE TABLE d (n BIGINT PRIMARY KEY, v BIGINT NOT NULL)")
        .execute(&mut setup)
        .unwrap();
    diesel::sql_query("INSERT INTO d VALUES (1, 0), (2, 0)")
        .execute(&mut setup)
        .unwrap();
    let both_hold_one = std::sync::Arc::new(std::sync::Barrier::new(2));
    let run = |first: i64, second: i64| {
        let (url, both_hold_one) = (url.clone(), both_hold_one.clone());
        std::thread::spawn(move || {
            let mut c = PgConnection::establish(&url).unwrap();
            c.transaction(|c| {
                let touch = |c: &mut PgConnection, n: i64| {
                    diesel::sql_query(format!("UPDATE d SET v = v + 1 WHERE n = {n}")).execute(c)
                };
                touch(c, first)?;
                both_hold_one.wait();
                touch(c, second)
            })
        })
    };
    let (a, b) = (run(1, 2), run(2, 1));
    let outcomes = [a.join().unwrap(), b.join().unwrap()];
    let failed: Vec<_> = outcomes.into_iter().filter_map(|o| o.err()).collect();
    assert_eq!(
        failed.len(),
        1,
        "PostgreSQL fails exactly one of the two: {failed:?}"
    );
    let err = cocreate::error::Error::from(failed.into_iter().next().unwrap());
    assert_eq!(err.status(), http::StatusCode::SERVICE_UNAVAILABLE, "{err}");
    assert_eq!(err.retry_after(), Some(1));
}

/// Runs the statements `sql` on the database at `url` (the node's own, from the test's side).
fn run_sql(url: &str, sql: &str) {
    use diesel::connection::SimpleConnection;
    match url.strip_prefix("sqlite://") {
        Some(path) => SqliteConnection::establish(path)
            .unwrap()
            .batch_execute(sql)
            .unwrap(),
        None => PgConnection::establish(url)
            .unwrap()
            .batch_execute(sql)
            .unwrap(),
    }
}

/// How many rows of `table` match `filter` in the database at `url`.
fn count(url: &str, table: &str, filter: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {filter}");
    let rows: Vec<Row> = match url.strip_prefix("sqlite://") {
        Some(path) => diesel::sql_query(sql)
            .load(&mut SqliteConnection::establish(path).unwrap())
            .unwrap(),
        None => diesel::sql_query(sql)
            .load(&mut PgConnection::establish(url).unwrap())
            .unwrap(),
    };
    rows[0].n
}

/// A reply in a followed room is stored with the room's `Announce` of it and that Announce's
/// deliveries, all or nothing: when its deliveries cannot be queued (a trigger fails them,
/// as a full disk would), the inbox answers an error and neither the comment nor the
/// `Announce` nor the receipt stays, so the sender's retry, once the fault is gone, is
/// stored and delivered like a first try. (On PostgreSQL the reply's statements otherwise
/// commit one by one: this is what its explicit transaction is for.)
async fn a_reply_whose_deliveries_cannot_be_queued_stores_nothing(backend: Backend) {
    let node = Node::start("maker", backend).await;
    let staff = node.add_user("alice", true);
    node.post(
        "/api/v1/rooms",
        &staff,
        serde_json::json!({"name": "lab", "title": "Lab"}),
    )
    .await;
    let (_, idea) = node
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            serde_json::json!({"title": "An idea", "body": "x"}),
        )
        .await;
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    let follower = common::remote::RemoteActor::start("follower").await;
    let follow = serde_json::json!({"id": follower.new_id("follow"), "type": "Follow",
        "actor": follower.actor_id, "object": format!("{}/r/lab", node.base)});
    let (s, t) = follower
        .post_activity(&format!("{}/r/lab/inbox", node.base), &follow)
        .await;
    assert_eq!(s, 202, "{t}");
    let author = common::remote::RemoteActor::start("author").await;
    let note = author.new_id("note");
    let reply = serde_json::json!({"id": author.new_id("create"), "type": "Create",
        "actor": author.actor_id,
        "object": {"id": note, "type": "Note", "attributedTo": author.actor_id,
                   "inReplyTo": idea_ap, "content": "<p>a reply</p>",
                   "to": ["https://www.w3.org/ns/activitystreams#Public"]}});
    let url = node.database_url.clone();
    let announces = "kind = 'Announce'";
    let announces_before = count(&url, "activities", announces);
    let fault = match backend {
        Backend::Sqlite => {
            "CREATE TRIGGER fault BEFORE INSERT ON deliveries \
             BEGIN SELECT RAISE(ABORT, 'no space left (test)'); END"
        }
        Backend::Postgres => {
            "CREATE FUNCTION fault() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'no space left (test)'; END $$; \
             CREATE TRIGGER fault BEFORE INSERT ON deliveries \
             FOR EACH ROW EXECUTE FUNCTION fault()"
        }
    };
    run_sql(&url, fault);

    let (s, t) = author
        .post_activity(&format!("{}/inbox", node.base), &reply)
        .await;
    assert!(s.is_server_error(), "{s} {t}");
    let this_note = format!("ap_id = '{note}'");
    assert_eq!(count(&url, "comments", &this_note), 0, "no comment stays");
    assert_eq!(
        count(&url, "activities", announces),
        announces_before,
        "no Announce stays"
    );
    let receipt = format!("ap_id = '{}'", reply["id"].as_str().unwrap());
    assert_eq!(
        count(&url, "inbox_receipts", &receipt),
        0,
        "no receipt stays"
    );

    run_sql(
        &url,
        match backend {
            Backend::Sqlite => "DROP TRIGGER fault",
            Backend::Postgres => "DROP TRIGGER fault ON deliveries",
        },
    );
    let (s, t) = author
        .post_activity(&format!("{}/inbox", node.base), &reply)
        .await;
    assert_eq!(s, 202, "the retry is stored: {t}");
    assert_eq!(count(&url, "comments", &this_note), 1);
    eventually(
        30,
        "the follower gets the room's Announce of the reply",
        || async {
            follower
                .received()
                .iter()
                .any(|a| a["type"] == "Announce" && a["object"]["object"]["id"] == note.as_str())
                .then_some(())
        },
    )
    .await;
}
backends!(a_reply_whose_deliveries_cannot_be_queued_stores_nothing);
