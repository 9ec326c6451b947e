//! The outbox's guarantees at the database level, on both backends: a state change and its
//! deliveries commit together or not at all, a leased delivery cannot be claimed by a second
//! worker, and a lease left by a killed worker expires so the delivery is not lost.

mod common;

use cocreate::error::Error;
use cocreate::federation::outbox;
use cocreate::state::Urls;
use cocreate::store::{self, Db};
use common::*;
use diesel::prelude::*;
use serde_json::json;

fn open(backend: Backend, dir: &tempfile::TempDir) -> Db {
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("o.db").display()),
        Backend::Postgres => fresh_postgres_db(),
    };
    Db::open(&url).unwrap()
}

async fn outbox_claims(backend: Backend) {
    if !backend_available(backend) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = open(backend, &dir);
    let urls = Urls {
        base: "http://localhost:1".into(),
    };
    let (actor, _) =
        cocreate::service::accounts::create_user(&db, &urls, "localhost:1", "alice", false)
            .await
            .unwrap();
    let activity = |n: u32| json!({"id": format!("http://localhost:1/activities/{n}"), "type": "Like", "to": ["https://www.w3.org/ns/activitystreams#Public"]});

    // A failing transaction leaves neither the activity nor its deliveries behind.
    let (u, a) = (urls.clone(), actor.clone());
    let failed = db
        .write(move |c| {
            cocreate::service::Tx::new(c, &u).publish(
                &a,
                &activity(1),
                ["http://remote.localhost:2/inbox".to_string()],
            )?;
            Err::<(), _>(Error::Internal("crash before commit".into()))
        })
        .await;
    assert!(failed.is_err());
    let none = db
        .read(|c| store::activities::by_ap_id(c, "http://localhost:1/activities/1"))
        .await
        .unwrap();
    assert!(
        none.is_none(),
        "the activity must roll back with the change"
    );
    assert!(
        db.read(outbox::delivery_stats).await.unwrap().is_empty(),
        "no delivery may survive a rollback"
    );

    // One delivery per distinct remote inbox; local inboxes are skipped.
    let (u, a) = (urls.clone(), actor.clone());
    db.write(move |c| {
        cocreate::service::Tx::new(c, &u).publish(
            &a,
            &activity(2),
            [
                "http://b.localhost:2/inbox",
                "http://b.localhost:2/inbox",
                "http://c.localhost:3/inbox",
                "http://localhost:1/inbox",
            ]
            .map(String::from),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        db.read(outbox::delivery_stats).await.unwrap(),
        vec![("pending".to_string(), 2)]
    );

    // Worker 1 leases both; worker 2 (another connection, as another process would) gets none.
    let first = db.write(outbox::claim_batch).await.unwrap();
    assert_eq!(first.len(), 2);
    let second = db.write(outbox::claim_batch).await.unwrap();
    assert!(
        second.is_empty(),
        "a leased delivery must not be claimed twice"
    );

    // Worker 1 is killed; once its lease has expired, the deliveries are claimable again.
    db.write(|c| {
        use cocreate::store::schema::deliveries::dsl::*;
        diesel::update(deliveries)
            .set(claimed_until.eq(Some(cocreate::store::now() - chrono::Duration::seconds(1))))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let third = db.write(outbox::claim_batch).await.unwrap();
    assert_eq!(third.len(), 2, "expired leases are taken over");
}

#[tokio::test]
async fn outbox_claims_sqlite() {
    outbox_claims(Backend::Sqlite).await;
}

#[tokio::test]
async fn outbox_claims_postgres() {
    outbox_claims(Backend::Postgres).await;
}
