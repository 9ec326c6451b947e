//! SQLite's one writer, with group commit.
//!
//! SQLite lets one connection write at a time. Instead of each write taking a lock and a
//! pooled connection on a blocking thread of its own (which under load cost a thread wake-up
//! and a lock hand-over per write, and a commit each), every write of the process is sent to
//! one thread that owns the writing connection. It takes whatever writes are waiting (up to
//! [`MAX_BATCH`]), runs each in a savepoint of one transaction (which takes the file's write
//! lock at its start, [`write_transaction`]), commits once, and only then
//! answers them: a write that failed was rolled back to its savepoint alone, and every write
//! answered `Ok` is committed. When the commit itself fails, every write of the batch is
//! answered [`Error::Unavailable`] (nothing of it is kept; the caller may try again), and the
//! connection is replaced, as is a connection that a write left unusable (a failed rollback
//! breaks diesel's transaction manager). A write that panics takes its batch with it the same
//! way (the writes of the batch that had not run yet go on into the next one), so that a
//! fault in one use case never commits half of another.
//!
//! Nothing waits for company: a write that arrives at an idle writer runs and commits at
//! once, as a transaction of its own (no savepoint); batches form only while the writer is
//! busy, which is exactly when they save work.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use diesel::Connection;

use super::DbConnection;
use crate::error::{Error, Result};

/// The most writes one transaction holds: enough to absorb a burst, few enough that the
/// first of them is not kept waiting long for the last.
pub const MAX_BATCH: usize = 128;

/// A write, run on the writer's connection inside the batch's transaction. It gives back
/// what answers its caller once the batch's fate is known.
type Job = Box<dyn FnOnce(&mut DbConnection) -> Answer + Send>;

/// Answers a write's caller: with the write's own result once the batch committed (`None`),
/// or with the reason the batch was not committed.
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// The sending side of the writer thread (cheap to clone; the thread ends when the last
/// handle is dropped).
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread over connections made by `open` (a new one replaces a
    /// connection whose transaction failed). `changes` counts the writes committed.
    pub fn start(
        open: impl Fn() -> std::result::Result<DbConnection, String> + Send + 'static,
        changes: Arc<AtomicU64>,
    ) -> std::result::Result<Writer, String> {
        let conn = open()?;
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, open, queue, &changes))
            .map_err(|e| format!("cannot start the database writer thread: {e}"))?;
        Ok(Writer { jobs })
    }

    /// Runs `f` as one write (all of its changes or none) and answers once it is committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // Inside a batch, a savepoint (released on `Ok`, rolled back on `Err`); alone, a
            // transaction of its own.
            let out = if in_transaction(conn) {
                conn.transaction(f)
            } else {
                write_transaction(conn, f)
            };
            Box::new(move |failed: Option<&str>| {
                let out = match (out, failed) {
                    (Ok(_), Some(reason)) => Err(Error::Unavailable(format!(
                        "the change was not saved: {reason}; try again"
                    ))),
                    (out, _) => out,
                };
                // The caller may have gone (its request was cancelled): nothing to tell.
                let _ = reply.send(out);
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Internal("the database writer has stopped".into()))?;
        // Dropped unanswered: the write itself panicked (and its batch was rolled back).
        answer.await.map_err(|_| {
            Error::Unavailable("the change was not saved: it failed unexpectedly".into())
        })?
    }
}

/// The writer thread: batches until every [`Writer`] handle is gone.
fn run(
    mut conn: DbConnection,
    open: impl Fn() -> std::result::Result<DbConnection, String>,
    queue: mpsc::Receiver<Job>,
    changes: &AtomicU64,
) {
    let mut waiting: Vec<Job> = Vec::new();
    loop {
        if waiting.is_empty() {
            match queue.recv() {
                Ok(job) => waiting.push(job),
                Err(_) => return,
            }
        }
        while waiting.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => waiting.push(job),
                Err(_) => break,
            }
        }
        let outcome = run_batch(&mut conn, &mut waiting);
        // A write whose commit and rollback both failed (its answer says so) leaves the
        // connection inside a transaction, or its transaction manager broken: every later
        // write on it would fail. A new one starts clean.
        let settled = outcome.failure.is_some() || settled(&mut conn);
        match outcome.failure {
            None => {
                // Counted before anyone is answered: a read that starts after an answer sees
                // the count moved (see `Db::changes`).
                changes.fetch_add(outcome.answers.len() as u64, Ordering::AcqRel);
                for answer in outcome.answers {
                    answer(None);
                }
            }
            Some(reason) => {
                tracing::error!(%reason, writes = outcome.answers.len(), "a batch of database writes was rolled back");
                for answer in outcome.answers {
                    answer(Some(&reason));
                }
                // Whatever state the connection is in, a new one starts clean (closing the
                // old one rolls back anything it still holds).
                conn = reopen(&open);
            }
        }
        if !settled {
            tracing::error!("a database write left its connection unusable; opening a new one");
            conn = reopen(&open);
        }
    }
}

/// Whether `conn` is outside any transaction and its transaction manager usable (diesel
/// marks it broken when a rollback fails).
fn settled(conn: &mut DbConnection) -> bool {
    use diesel::connection::TransactionManager;
    type Manager = <DbConnection as Connection>::TransactionManager;
    matches!(
        Manager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(None)
    )
}

/// What became of one batch: the answers of the writes that ran, and why the batch was not
/// committed, if it was not.
struct Outcome {
    answers: Vec<Answer>,
    failure: Option<String>,
}

/// Runs the writes of `waiting` in one transaction, taking them from the front. A write that
/// panics ends the batch there; the ones after it stay in `waiting` for the next batch.
fn run_batch(conn: &mut DbConnection, waiting: &mut Vec<Job>) -> Outcome {
    if waiting.len() == 1 {
        return run_alone(conn, waiting.remove(0));
    }
    let mut answers = Vec::with_capacity(waiting.len());
    let mut panicked = None;
    let jobs: Vec<Job> = std::mem::take(waiting);
    let mut jobs = jobs.into_iter();
    let committed = write_transaction::<(), diesel::result::Error, _>(conn, |conn| {
        for job in jobs.by_ref() {
            match catch_unwind(AssertUnwindSafe(|| job(conn))) {
                Ok(answer) => answers.push(answer),
                Err(panic) => {
                    panicked = Some(panic_message(&panic));
                    // Leave the transaction without committing (its state is unknown).
                    return Err(diesel::result::Error::RollbackTransaction);
                }
            }
        }
        Ok(())
    });
    waiting.extend(jobs);
    let failure = match (panicked, committed) {
        (Some(p), _) => Some(format!("a write in the same batch panicked ({p})")),
        (None, Err(e)) => Some(format!("the commit failed ({e})")),
        (None, Ok(())) => None,
    };
    Outcome { answers, failure }
}

/// A write that found the writer idle runs as a transaction of its own (its own commit, no
/// savepoint): a failed commit is its own error, which its answer carries.
fn run_alone(conn: &mut DbConnection, job: Job) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| job(conn))) {
        Ok(answer) => Outcome {
            answers: vec![answer],
            failure: None,
        },
        // The caller learns it from its dropped answer; the connection is replaced.
        Err(panic) => Outcome {
            answers: Vec::new(),
            failure: Some(format!("a write panicked ({})", panic_message(&panic))),
        },
    }
}

/// Runs `f` in a transaction that takes the database's write lock at its start (SQLite's
/// `BEGIN IMMEDIATE`), committed on `Ok` and rolled back on `Err`.
///
/// A plain (deferred) transaction takes the lock at its first write. When it has read before
/// (a use case reads, then writes) and another connection holds the lock at that moment,
/// SQLite fails the write at once with "database is locked", without waiting: waiting could
/// deadlock two transactions that both read and then want to write. This writer is the
/// process's only writer, but not the file's: a command-line tool (`cocreate block add`,
/// `cocreate deliveries retry`) writes to it while the node serves. Under load the inbox
/// also met such a lock held elsewhere (`cargo bench`: 500s in about one run of four, whose
/// holder was not pinned down). Taking the lock first, the transaction waits for it (the
/// connection's `busy_timeout`) instead of failing the writes of a whole batch.
fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> std::result::Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> std::result::Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConnection as Connection>::TransactionManager;
    match &mut *conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        other => Manager::begin_transaction(other)?,
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            // A failed rollback is the error returned: a batch then fails and the writer
            // opens a new connection; a write that ran alone gets it as its answer.
            Manager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Whether `conn` is inside a transaction (a write then runs in a savepoint of it).
fn in_transaction(conn: &mut DbConnection) -> bool {
    use diesel::connection::TransactionManager;
    type Manager = <DbConnection as Connection>::TransactionManager;
    matches!(
        Manager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(Some(_))
    )
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// A new connection, retried until the database opens again (the file may be on a disk that
/// came back); writes keep queueing meanwhile.
fn reopen(open: &impl Fn() -> std::result::Result<DbConnection, String>) -> DbConnection {
    let mut wait = std::time::Duration::from_millis(10);
    loop {
        match open() {
            Ok(conn) => return conn,
            Err(e) => {
                tracing::error!(error = %e, "cannot reopen the database for writing; retrying");
                std::thread::sleep(wait);
                wait = (wait * 2).min(std::time::Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    /// A writer over a fresh SQLite file with one table `t(n)`.
    fn writer(dir: &tempfile::TempDir) -> (Writer, Arc<AtomicU64>, String) {
        let path = dir.path().join("w.db").to_string_lossy().into_owned();
        let p = path.clone();
        let open = move || {
            let mut c = diesel::SqliteConnection::establish(&p).map_err(|e| e.to_string())?;
            c.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                 CREATE TABLE IF NOT EXISTS t (n BIGINT PRIMARY KEY)",
            )
            .map_err(|e| e.to_string())?;
            Ok(DbConnection::Sqlite(c))
        };
        let changes = Arc::new(AtomicU64::new(0));
        (Writer::start(open, changes.clone()).unwrap(), changes, path)
    }

    fn insert(n: i64) -> impl FnOnce(&mut DbConnection) -> Result<i64> + Send + 'static {
        move |c| {
            diesel::sql_query("INSERT INTO t (n) VALUES (?)")
                .bind::<BigInt, _>(n)
                .execute(c)
                .map_err(|e| Error::Internal(e.to_string()))?;
            Ok(n)
        }
    }

    /// The rows committed, read on a connection of its own.
    fn committed(path: &str) -> Vec<i64> {
        let mut c = diesel::SqliteConnection::establish(path).unwrap();
        diesel::sql_query("SELECT n FROM t ORDER BY n")
            .load::<Row>(&mut c)
            .unwrap()
            .into_iter()
            .map(|r| r.n)
            .collect()
    }

    /// Keeps the writer busy for a moment, so that the writes sent meanwhile form one batch.
    async fn busy(w: &Writer) -> tokio::task::JoinHandle<Result<()>> {
        let w = w.clone();
        let h = tokio::spawn(async move {
            w.write(|_| {
                std::thread::sleep(Duration::from_millis(200));
                Ok(())
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        h
    }

    #[tokio::test]
    async fn a_failed_write_is_rolled_back_alone_and_the_rest_of_its_batch_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (w, changes, path) = writer(&dir);
        let first = busy(&w).await;
        let (a, dup, b) = tokio::join!(w.write(insert(1)), w.write(insert(1)), w.write(insert(2)));
        first.await.unwrap().unwrap();
        assert_eq!(a.unwrap(), 1);
        assert!(dup.is_err(), "the second insert of 1 breaks the key");
        assert_eq!(b.unwrap(), 2);
        assert_eq!(committed(&path), vec![1, 2]);
        // Every write of a committed batch moves the count (a failed one too: the count only
        // has to move whenever something may have changed).
        assert_eq!(changes.load(Ordering::Acquire), 4);
    }

    #[tokio::test]
    async fn a_panic_fails_its_batch_without_committing_it_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let (w, _, path) = writer(&dir);
        let first = busy(&w).await;
        let panicking = w.write(|c| -> Result<()> {
            insert(3)(c)?;
            panic!("a bug in a use case");
        });
        let (a, p) = tokio::join!(w.write(insert(1)), panicking);
        first.await.unwrap().unwrap();
        assert!(matches!(a, Err(Error::Unavailable(_))), "{a:?}");
        assert!(matches!(p, Err(Error::Unavailable(_))), "{p:?}");
        assert_eq!(
            committed(&path),
            Vec::<i64>::new(),
            "nothing of the batch is kept"
        );
        assert_eq!(w.write(insert(2)).await.unwrap(), 2);
        assert_eq!(committed(&path), vec![2]);
    }

    #[tokio::test]
    async fn a_write_that_panics_alone_is_not_committed_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let (w, _, path) = writer(&dir);
        let p = w
            .write(|c| -> Result<()> {
                insert(3)(c)?;
                panic!("a bug in a use case");
            })
            .await;
        assert!(matches!(p, Err(Error::Unavailable(_))), "{p:?}");
        assert_eq!(w.write(insert(2)).await.unwrap(), 2);
        assert_eq!(committed(&path), vec![2]);
    }

    /// A write whose rollback failed leaves diesel's transaction manager broken (diesel
    /// marks it so, [`diesel::connection::TransactionManagerStatus::set_in_error`], when a
    /// `ROLLBACK` fails: a disk that went away, say); its caller gets an error, and the writer
    /// goes on with a new connection. Without one, every later write failed
    /// (`BrokenTransactionManager`).
    #[tokio::test]
    async fn a_write_whose_rollback_failed_leaves_the_writer_usable() {
        use diesel::connection::TransactionManager;
        type Manager = <DbConnection as Connection>::TransactionManager;
        let dir = tempfile::tempdir().unwrap();
        let (w, _, path) = writer(&dir);
        let broken = w
            .write(|c| -> Result<()> {
                insert(3)(c)?;
                Manager::transaction_manager_status_mut(c).set_in_error();
                Ok(())
            })
            .await;
        assert!(broken.is_err(), "{broken:?}");
        assert_eq!(w.write(insert(2)).await.unwrap(), 2);
        assert_eq!(w.write(insert(4)).await.unwrap(), 4);
        assert_eq!(committed(&path), vec![2, 4]);
    }

    /// Another connection to the file (a command-line tool, say) holds the write lock for a
    /// moment while writes that read before they write arrive, alone and in a batch: they
    /// wait for the lock and commit, instead of failing with "database is locked" (which a
    /// transaction that takes the lock at its first write gets at once).
    #[tokio::test]
    async fn writes_that_read_first_wait_for_another_connections_write_lock() {
        let dir = tempfile::tempdir().unwrap();
        let (w, _, path) = writer(&dir);
        w.write(insert(1)).await.unwrap();
        let read_then_insert = |n: i64| {
            move |c: &mut DbConnection| -> Result<i64> {
                // A read first: the transaction holds a snapshot when it comes to write.
                diesel::sql_query("SELECT n FROM t")
                    .load::<Row>(c)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                insert(n)(c)
            }
        };
        let (locked, release) = std::sync::mpsc::channel::<()>();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let file = path.clone();
        let other = std::thread::spawn(move || {
            let mut c = diesel::SqliteConnection::establish(&file).unwrap();
            c.batch_execute("BEGIN IMMEDIATE; INSERT INTO t (n) VALUES (100)")
                .unwrap();
            go.send(()).unwrap();
            // Held until the writes below have started and run into it.
            release.recv().unwrap();
            c.batch_execute("COMMIT").unwrap();
        });
        wait.recv().unwrap();
        let writes = tokio::spawn({
            let w = w.clone();
            async move {
                tokio::join!(
                    w.write(read_then_insert(2)),
                    w.write(read_then_insert(3)),
                    w.write(read_then_insert(4)),
                )
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        locked.send(()).unwrap();
        other.join().unwrap();
        let (a, b, c) = writes.await.unwrap();
        assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (2, 3, 4));
        assert_eq!(committed(&path), vec![1, 2, 3, 4, 100]);
    }

    #[tokio::test]
    async fn an_answer_comes_after_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (w, _, path) = writer(&dir);
        for n in 0..20 {
            w.write(insert(n)).await.unwrap();
            assert_eq!(committed(&path).len() as i64, n + 1);
        }
    }
}
