//! A write that panics (a bug in a use case) loses only itself, on both backends: nothing it
//! did is committed, its caller gets an error, and every write after it commits, whichever
//! connection it runs on.

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
