//! Storage: diesel over SQLite (the embedded default) or PostgreSQL, with one query code.
//!
//! The backend is chosen by the database URL. Migrations for both backends are embedded and run
//! at start. Queries are synchronous, so [`Db::read`] runs them on tokio's blocking pool, and
//! [`Db::write`] runs its closure as one transaction: on a pooled connection of the blocking
//! pool on PostgreSQL, and on SQLite in a savepoint of a batch of the process's one writer
//! thread ([`writer`]), which commits many writes at once under load.
//!
//! Pooled connections are not tested on every checkout (a `SELECT 1` before each use was a
//! round trip per database hop on PostgreSQL). Instead, as HikariCP does, a connection idle
//! for longer than [`IDLE_CHECK_AFTER`] is pinged before it is handed out, and a connection
//! whose work failed is pinged after it: one that does not answer is discarded, and every
//! other pooled connection is pinged at its next checkout. A database that went away costs at
//! most the one request that found out, and none after an idle period.

/// Runs `$body` with `$c` bound to the backend's own connection (a `PgConnection` or a
/// `SqliteConnection`): the same query code, type-checked once per backend. For the queries of
/// the hot paths (the inbox's): through [`DbConnection`], diesel builds a query's SQL text on
/// every execution (twice: to collect its binds and to ask whether it may be cached), even
/// though the prepared statement is found by the query's type; on the backend's own connection
/// a prepared query's text is built once, when it is prepared.
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::DbConnection::Postgresql($c) => $body,
            $crate::store::DbConnection::Sqlite($c) => $body,
        }
    };
}

pub mod activities;
pub mod actors;
pub mod blocked_hosts;
pub mod changes;
pub mod comments;
pub mod deliveries;
pub mod delivery_hosts;
pub mod follows;
pub mod handoffs;
pub mod ideas;
pub mod inbound;
pub mod invitations;
pub mod json;
pub mod members;
pub mod models;
pub mod peer_software;
pub mod peers;
pub mod receipts;
pub mod requests;
pub mod rooms;
pub mod schema;
pub mod sessions;
pub mod sign_in_attempts;
pub mod supports;
pub mod tokens;
pub mod writer;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend; query code is written once against this type.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite { path: String },
    Postgres { url: String },
}

impl Backend {
    /// Parses `sqlite://PATH` or `postgres://...` (also `postgresql://`).
    pub fn from_url(url: &str) -> std::result::Result<Backend, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite URL needs a file path, e.g. sqlite://cocreate.db".into());
            }
            Ok(Backend::Sqlite {
                path: path.to_string(),
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres {
                url: url.to_string(),
            })
        } else {
            Err(format!(
                "unsupported database URL '{url}': use sqlite://PATH or postgres://USER@HOST/DB"
            ))
        }
    }
}

/// What keeps a second serving process off an SQLite database: an exclusive lock on
/// `{path}.lock`, held while the node serves (released when the process ends, even by a
/// kill). PostgreSQL needs none: several processes share it.
pub struct ServeLock {
    _file: Option<std::fs::File>,
}

impl ServeLock {
    /// Takes the lock for serving from `url`; a clear error when another process holds it.
    pub fn take(url: &str) -> std::result::Result<ServeLock, String> {
        let Backend::Sqlite { path } = Backend::from_url(url)? else {
            return Ok(ServeLock { _file: None });
        };
        let lock_path = format!("{path}.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("database: cannot open the lock file {lock_path}: {e}"))?;
        // Called through the trait: recent std has an inherent `File::try_lock` of its own.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(ServeLock { _file: Some(file) }),
            Err(fs4::TryLockError::WouldBlock) => Err(format!(
                "database: another `cocreate serve` is already using {path} (an SQLite database takes one serving process; stop the other one, or use PostgreSQL to run several)"
            )),
            Err(fs4::TryLockError::Error(e)) => {
                Err(format!("database: cannot lock {lock_path}: {e}"))
            }
        }
    }

    /// Whether this process is the only one serving from the database (SQLite): then nothing
    /// another process leased can still be in flight.
    pub fn is_sole_server(&self) -> bool {
        self._file.is_some()
    }
}

/// A pooled connection is pinged before use when it has been idle this long.
pub const IDLE_CHECK_AFTER: Duration = Duration::from_secs(2);

/// Opens connections for the r2d2 pool and applies the per-connection SQLite settings.
struct Manager {
    backend: Backend,
    /// Bumped whenever a connection is found broken: every pooled connection that has not
    /// been checked since is pinged at its next checkout.
    breaks: Arc<AtomicU64>,
}

/// A connection with what the pool knows of its health.
pub struct Pooled {
    conn: DbConnection,
    /// When it last answered (a query that succeeded, or a ping).
    last_ok: Instant,
    /// The value of [`Manager::breaks`] when it last answered.
    seen_breaks: u64,
    /// Found not answering: the pool drops it instead of handing it out again.
    broken: bool,
}

impl Pooled {
    fn ping(&mut self) -> bool {
        self.conn.batch_execute("SELECT 1").is_ok()
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> std::result::Result<Pooled, r2d2::Error> {
        let conn = self.open()?;
        Ok(Pooled {
            conn,
            last_ok: Instant::now(),
            seen_breaks: self.breaks.load(Ordering::Acquire),
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Pooled) -> std::result::Result<(), r2d2::Error> {
        conn.conn
            .batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// Broken: found not answering, or left by a panic (its transaction may still be open:
    /// reused, the next write would run inside it, as a savepoint, and the half-done work
    /// of the panicked write would be committed with it).
    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.broken || std::thread::panicking() || r2d2::R2D2Connection::is_broken(&mut conn.conn)
    }
}

impl Manager {
    fn open(&self) -> std::result::Result<DbConnection, r2d2::Error> {
        match &self.backend {
            Backend::Postgres { url } => diesel::PgConnection::establish(url)
                .map(DbConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite { path } => {
                sqlite_plan_stability();
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(r2d2::Error::ConnectionError)?;
                // busy_timeout first, so that switching a new file to WAL waits for the other
                // pool connections instead of failing; WAL lets readers proceed during a write;
                // foreign keys are off by default in SQLite.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// Turns on SQLite's query planner stability guarantee (QPSG) for every SQLite connection this
/// process opens from now on (once; an automatic extension runs on each new connection).
///
/// Without it, SQLite (3.47 and later) plans `LIMIT ?` with the value bound to it, and so
/// marks every statement with a bound `LIMIT` to be compiled again whenever its parameters
/// are bound anew; diesel writes `.first()` as `LIMIT ?`. A cached statement was thus parsed
/// and planned on every use: over a third of the inbox's writing time went to it
/// (BENCHMARKS.md, 2026-12-02). With QPSG, plans do not depend on bound values, which suits
/// this node's queries (lookups by key, the same plan for every value).
fn sqlite_plan_stability() {
    use libsqlite3_sys as ffi;
    use std::ffi::{c_char, c_int};

    unsafe extern "C" fn on_open(
        db: *mut ffi::sqlite3,
        _error: *mut *mut c_char,
        _api: *const ffi::sqlite3_api_routines,
    ) -> c_int {
        // SAFETY: SQLite calls this with the connection it is opening; the option takes an
        // int (1: on) and an optional int pointer for the new setting (none wanted).
        unsafe {
            ffi::sqlite3_db_config(
                db,
                ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as c_int,
                std::ptr::null_mut::<c_int>(),
            );
        }
        ffi::SQLITE_OK
    }

    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers a function with the signature SQLite expects; SQLite keeps the
        // pointer (a plain function, valid for the whole process).
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(on_open)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(rc, "cannot turn on SQLite's query plan stability; statements with a LIMIT are compiled on each use");
        }
    });
}

/// The database handle shared by services and workers.
#[derive(Clone)]
pub struct Db {
    backend: Arc<Backend>,
    pool: r2d2::Pool<Manager>,
    /// Shared with the pool's [`Manager`].
    breaks: Arc<AtomicU64>,
    /// Write transactions this process committed, and on PostgreSQL also those of other
    /// processes it was told about ([`changes`]); see [`Db::changes`].
    changes: Arc<AtomicU64>,
    /// Whether `changes` counts every change: always on SQLite, where this process is the
    /// only server of the file; on PostgreSQL while [`Db::follow_changes`] listens.
    complete: Arc<AtomicBool>,
    /// SQLite allows one writer: this process's writes go to one thread, which commits them
    /// in batches ([`writer`]). PostgreSQL takes writes on every pooled connection.
    writer: Option<writer::Writer>,
    /// SQLite connections for [`Db::read_point`].
    point_readers: Option<Arc<PointReaders>>,
}

/// The connections of [`Db::read_point`]: one per thread reading at the same moment, kept
/// up to [`MAX_POINT_READERS`].
struct PointReaders {
    idle: Mutex<Vec<DbConnection>>,
    manager: Manager,
}

/// More point readers than the async runtime has threads are never needed at once.
const MAX_POINT_READERS: usize = 8;

impl Db {
    /// Connects, creating the SQLite file (and its directory) if needed, and runs migrations.
    pub fn open(url: &str) -> std::result::Result<Db, String> {
        let backend = Backend::from_url(url)?;
        let is_sqlite = matches!(backend, Backend::Sqlite { .. });
        if let Backend::Sqlite { path } = &backend {
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        format!("cannot create the directory of database file {path}: {e}")
                    })?;
                }
            }
        }
        if let Backend::Sqlite { path } = &backend {
            sqlite_plan_stability();
            // Switch a new file to WAL once, before the pool opens several connections at the
            // same time (WAL is persistent; doing it in each connection races on first start).
            let mut conn = diesel::SqliteConnection::establish(path)
                .map_err(|e| format!("cannot open the database file {path}: {e}"))?;
            conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
                .map_err(|e| format!("cannot switch {path} to WAL mode: {e}"))?;
        }
        let breaks = Arc::new(AtomicU64::new(0));
        let changes = Arc::new(AtomicU64::new(0));
        // The pool, the writer and the point readers open connections the same way.
        let manager = || Manager {
            backend: backend.clone(),
            breaks: breaks.clone(),
        };
        let (writer, point_readers) = if is_sqlite {
            let writing = manager();
            let open = move || {
                writing
                    .open()
                    .map_err(|e| format!("cannot open the database for writing: {e}"))
            };
            let readers = PointReaders {
                idle: Mutex::default(),
                manager: manager(),
            };
            (
                Some(writer::Writer::start(open, changes.clone())?),
                Some(Arc::new(readers)),
            )
        } else {
            (None, None)
        };
        let pool = r2d2::Pool::builder()
            .max_size(if is_sqlite { 4 } else { 8 })
            .connection_timeout(Duration::from_secs(5))
            .test_on_check_out(false)
            .build(manager())
            .map_err(|e| format!("cannot connect to the database {}: {e}", redact(url)))?;
        let db = Db {
            backend: Arc::new(backend),
            pool,
            breaks,
            changes,
            complete: Arc::new(AtomicBool::new(is_sqlite)),
            writer,
            point_readers,
        };
        db.migrate()?;
        Ok(db)
    }

    fn migrate(&self) -> std::result::Result<(), String> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| format!("cannot connect to the database: {e}"))?;
        let applied = match &mut conn.conn {
            DbConnection::Postgresql(c) => c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len()),
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        }
        .map_err(|e| format!("database migration failed: {e}"))?;
        if applied > 0 {
            tracing::info!(applied, "database migrations applied");
        }
        Ok(())
    }

    /// Whether the node can serve: the database answers a query and has every migration of
    /// this build applied. The reason is a one-line message for `/readyz`.
    pub async fn readiness(&self) -> std::result::Result<(), String> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            // A connection that answers a ping (dead ones are discarded on the way), so that
            // the first check after the database came back does not trip on a connection
            // it cut.
            let mut conn = db.checkout().map_err(|e| e.to_string())?;
            if let Err(e) = conn.conn.batch_execute("SELECT 1") {
                db.found_broken(&mut conn);
                return Err(format!("database query failed: {e}"));
            }
            let pending = match &mut conn.conn {
                DbConnection::Postgresql(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
                DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
            }
            .map_err(|e| format!("cannot read the applied migrations: {e}"))?;
            if pending {
                return Err("database migrations are pending (run `cocreate migrate`)".into());
            }
            Ok(())
        })
        .await
        .map_err(|e| format!("readiness check failed: {e}"))?
    }

    /// Runs read-only queries off the async runtime.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.with_connection(f))
            .await
            .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// Runs a point read: a few rows found by index, which take microseconds. On SQLite it
    /// runs on the calling thread, on a connection kept for such reads, instead of hopping to
    /// a blocking thread and back (the two thread wake-ups cost more than the read; the inbox
    /// makes one for every activity). Anything that may scan or wait belongs in [`Db::read`],
    /// which this is on PostgreSQL (a network round trip).
    pub async fn read_point<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let Some(readers) = &self.point_readers else {
            return self.read(f).await;
        };
        let kept = readers.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match kept {
            Some(conn) => conn,
            None => readers
                .manager
                .open()
                .map_err(|e| Error::Unavailable(format!("cannot open the database: {e}")))?,
        };
        let out = f(&mut conn);
        // A connection whose read failed is not kept: the next read opens a fresh one.
        if out.is_ok() {
            let mut idle = readers.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_POINT_READERS {
                idle.push(conn);
            }
        }
        out
    }

    /// Runs `f` in one transaction off the async runtime: all of its writes commit or none,
    /// and `Ok` is answered only once they are committed. On SQLite the transaction is a
    /// savepoint in a batch of the process's one writer ([`writer`]).
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        if let Some(writer) = &self.writer {
            return writer.write(f).await;
        }
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let out = db.with_connection(|conn| conn.transaction(f));
            if out.is_ok() {
                db.changes.fetch_add(1, Ordering::AcqRel);
            }
            out
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// Runs `f` off the async runtime with each of its statements committing on its own, for a
    /// change whose reads decide nothing that a transaction would hold still and whose writes
    /// are usually one statement: `f` opens a transaction itself around writes that must
    /// commit together ([`diesel::Connection::transaction`]). On PostgreSQL this saves the
    /// `BEGIN` and `COMMIT` round trips of [`Db::write`] (a lone statement is atomic, and a
    /// read-committed transaction reads each statement's own snapshot anyway, so reading
    /// before it changes nothing). On SQLite it is [`Db::write`]: `f` runs in the writer's
    /// transaction (a transaction `f` opens is a savepoint in it), which holds still what `f`
    /// read.
    pub async fn write_each<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        if self.writer.is_some() {
            return self.write(f).await;
        }
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let out = db.with_connection(f);
            // Moved whatever the outcome: an error may follow a statement that committed.
            db.changes.fetch_add(1, Ordering::AcqRel);
            out
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// A count that moves after every change to the database: read it before a read to tell
    /// later whether what was read may have changed since. On SQLite it counts this process's
    /// write transactions (this process is the file's only server; a command-line tool writing
    /// to the file is not counted). On PostgreSQL it also counts the changes of other processes
    /// while [`Db::follow_changes`] listens for them, and is `None` while it does not: then
    /// nothing read earlier may be taken as current.
    pub fn changes(&self) -> Option<u64> {
        let changes = self.changes.load(Ordering::Acquire);
        self.complete.load(Ordering::Acquire).then_some(changes)
    }

    /// On PostgreSQL, starts listening for the changes other processes commit
    /// ([`changes::follow`]), so that [`Db::changes`] counts them; on SQLite there is nothing
    /// to follow. Needs a tokio runtime; the listening lasts as long as the process.
    pub fn follow_changes(&self) {
        if let Backend::Postgres { url } = &*self.backend {
            changes::follow(
                url.clone(),
                changes::Seen {
                    changes: self.changes.clone(),
                    complete: self.complete.clone(),
                },
            );
        }
    }

    /// Whether the database is an SQLite file (one serving process, see [`ServeLock`]).
    pub fn is_sqlite(&self) -> bool {
        self.writer.is_some()
    }

    /// Runs `f` on a pooled connection that is known to answer: pinged first when it was idle
    /// for [`IDLE_CHECK_AFTER`] or another connection broke since it last answered, and
    /// pinged after `f` failed, so that a dead connection leaves the pool and its failure is
    /// reported as [`Error::Unavailable`] (503: try again) rather than as a query error.
    fn with_connection<T>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T>) -> Result<T> {
        let mut conn = self.checkout()?;
        match f(&mut conn.conn) {
            Ok(v) => {
                conn.last_ok = Instant::now();
                Ok(v)
            }
            Err(e) if conn.ping() => {
                conn.last_ok = Instant::now();
                Err(e)
            }
            // The connection died under the work: the database went away (or the
            // connection was cut), which the caller reports as unavailable, not as a fault
            // of its own.
            Err(e) => {
                self.found_broken(&mut conn);
                Err(Error::Unavailable(format!("the connection was lost: {e}")))
            }
        }
    }

    /// A pooled connection that answers (or the error that says the database does not).
    fn checkout(&self) -> Result<r2d2::PooledConnection<Manager>> {
        // Each broken connection found is discarded; a pool's worth of them means the
        // database itself is gone, which the last error says.
        let mut last_error = None;
        for _ in 0..=self.pool.max_size() {
            let mut conn = self
                .pool
                .get()
                .map_err(|e| Error::Unavailable(format!("database unreachable: {e}")))?;
            let breaks = self.breaks.load(Ordering::Acquire);
            if conn.last_ok.elapsed() < IDLE_CHECK_AFTER && conn.seen_breaks == breaks {
                return Ok(conn);
            }
            match conn.conn.batch_execute("SELECT 1") {
                Ok(()) => {
                    conn.last_ok = Instant::now();
                    conn.seen_breaks = breaks;
                    return Ok(conn);
                }
                Err(e) => {
                    self.found_broken(&mut conn);
                    last_error = Some(e);
                }
            }
        }
        Err(Error::Unavailable(format!(
            "database unreachable: {}",
            last_error.map_or_else(|| "no connection answers".to_string(), |e| e.to_string())
        )))
    }

    /// Marks a connection broken (the pool drops it) and has every other one checked.
    fn found_broken(&self, conn: &mut Pooled) {
        conn.broken = true;
        self.breaks.fetch_add(1, Ordering::AcqRel);
        tracing::warn!("a database connection stopped answering; it is replaced");
    }
}

/// Hides a password in a database URL before it reaches a log or an error message.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Current time as stored: naive UTC, the common ground of both backends.
pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every SQLite connection opened after a database was opened has QPSG on (read back
    /// from SQLite itself, on a connection opened without diesel).
    #[test]
    fn sqlite_connections_plan_without_looking_at_bound_values() {
        use libsqlite3_sys as ffi;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qpsg.db");
        let _db = Db::open(&format!("sqlite://{}", path.display())).unwrap();
        let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        let mut raw: *mut ffi::sqlite3 = std::ptr::null_mut();
        let mut on: std::ffi::c_int = -7;
        // SAFETY: a connection opened and closed here; -1 asks for the current setting.
        unsafe {
            assert_eq!(ffi::sqlite3_open(name.as_ptr(), &mut raw), ffi::SQLITE_OK);
            ffi::sqlite3_db_config(raw, ffi::SQLITE_DBCONFIG_ENABLE_QPSG, -1, &mut on);
            ffi::sqlite3_close(raw);
        }
        assert_eq!(on, 1);
    }
}
