//! The outbox's guarantees at the database level, on both backends: a state change and its
//! deliveries commit together or not at all, a leased delivery cannot be claimed by a second
//! worker, and a lease left by a killed worker expires so the delivery is not lost.

mod common;

use common::internals::OutboxProbe;
use common::*;
use serde_json::json;

async fn outbox_claims(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("o.db").display()),
        Backend::Postgres => fresh_postgres_db(),
    };
    let db = OutboxProbe::open(&url).await;
    let activity = |n: u32| json!({"id": format!("http://localhost:1/activities/{n}"), "type": "Like", "to": ["https://www.w3.org/ns/activitystreams#Public"]});

    // A failing transaction leaves neither the activity nor its deliveries behind.
    db.publish_then_fail(activity(1), &["http://remote.localhost:2/inbox"])
        .await;
    assert!(
        !db.has_activity("http://localhost:1/activities/1").await,
        "the activity must roll back with the change"
    );
    assert!(
        db.delivery_stats().await.is_empty(),
        "no delivery may survive a rollback"
    );

    // One delivery per distinct remote inbox; local inboxes are skipped.
    db.publish(
        activity(2),
        &[
            "http://b.localhost:2/inbox",
            "http://b.localhost:2/inbox",
            "http://c.localhost:3/inbox",
            "http://localhost:1/inbox",
        ],
    )
    .await;
    assert_eq!(db.delivery_stats().await, vec![("pending".to_string(), 2)]);

    // Worker 1 leases both; worker 2 (another connection, as another process would) gets none.
    assert_eq!(db.claim_batch().await, 2);
    assert_eq!(
        db.claim_batch().await,
        0,
        "a leased delivery must not be claimed twice"
    );

    // Worker 1 is killed; once its lease has expired, the deliveries are claimable again.
    db.expire_leases().await;
    assert_eq!(db.claim_batch().await, 2, "expired leases are taken over");

    // Both are delivered; with nothing left, a claim finds nothing (and on PostgreSQL unmarks
    // the hosts it walked). A later delivery to those hosts is claimed all the same.
    db.expire_leases().await;
    assert_eq!(db.claim_and_deliver().await, 2);
    assert_eq!(db.claim_batch().await, 0);
    assert_eq!(db.claim_batch().await, 0);
    db.publish(activity(3), &["http://b.localhost:2/inbox"])
        .await;
    assert_eq!(
        db.claim_and_deliver().await,
        1,
        "a host whose queue was empty is taken again when a delivery to it is queued"
    );
    assert_eq!(db.claim_batch().await, 0);

    // While a transaction that queues a delivery to a host is open, a claim on another
    // connection neither takes the host nor forgets it: once the transaction commits, the
    // delivery is claimed. (SQLite has one writer: there the claim would wait for the commit.)
    if backend == Backend::Postgres {
        let (commit, published) = db
            .publish_held(activity(4), &["http://b.localhost:2/inbox"])
            .await;
        assert_eq!(
            db.claim_batch().await,
            0,
            "the delivery is not committed yet"
        );
        commit.send(()).unwrap();
        published.await.unwrap().unwrap();
        assert_eq!(
            db.claim_batch().await,
            1,
            "a delivery queued while a claim ran is not lost"
        );
    }

    // A body is stored once per activity, however many inboxes it goes to, and goes when the
    // last delivery using it is purged.
    let bodies = db.body_count().await;
    db.publish(
        activity(5),
        &[
            "http://d.localhost:4/a/inbox",
            "http://d.localhost:4/b/inbox",
        ],
    )
    .await;
    assert_eq!(db.body_count().await, bodies + 1);
    assert_eq!(db.expire_and_purge("d.localhost:4").await, 2);
    assert_eq!(db.body_count().await, bodies);
}

backends!(outbox_claims);
