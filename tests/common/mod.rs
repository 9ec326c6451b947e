//! Test harness: real `cocreate` processes on loopback ports, real databases (an SQLite file, or
//! a fresh PostgreSQL database when `COCREATE_TEST_POSTGRES` names a server), real HTTP.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use reqwest::StatusCode;
use serde_json::{json, Value};

pub mod fleet;
pub mod internals;
pub mod remote;

/// Which database a test node uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests, e.g. `postgres://postgres@127.0.0.1:5432`; `None` skips
/// the PostgreSQL variants (CI always sets it).
pub fn postgres_server() -> Option<String> {
    std::env::var("COCREATE_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Whether the backend can be tested here; explains loudly why the PostgreSQL variant did not
/// run.
pub fn backend_available(b: Backend) -> bool {
    if b == Backend::Postgres && postgres_server().is_none() {
        eprintln!("SKIPPED: set COCREATE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432 to run the PostgreSQL variant");
        return false;
    }
    true
}

/// Generates the `sqlite` and `postgres` tests of a scenario `async fn(Backend)`, in a module
/// named after the scenario (or the given name): `backends!(merge);` gives `merge::sqlite` and
/// `merge::postgres`; `backends!(federation => rooms_cross_nodes);` gives `federation::sqlite`
/// and `federation::postgres`. The PostgreSQL test says SKIPPED and passes when
/// `COCREATE_TEST_POSTGRES` is unset.
#[allow(unused_macros)]
macro_rules! backends {
    ($scenario:ident) => {
        backends!($scenario => $scenario);
    };
    ($name:ident => $scenario:ident) => {
        mod $name {
            use $crate::common::{backend_available, Backend};

            #[tokio::test]
            async fn sqlite() {
                super::$scenario(Backend::Sqlite).await
            }

            #[tokio::test]
            async fn postgres() {
                if !backend_available(Backend::Postgres) {
                    return;
                }
                super::$scenario(Backend::Postgres).await
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use backends;

/// A new, empty database on the test PostgreSQL server; returns its URL. The database is
/// dropped when the test process exits (see [`drop_made_databases`]), so that test runs do
/// not pile databases up on the developer's server; a failing test's node keeps its own.
pub fn fresh_postgres_db() -> String {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let server = postgres_server().expect("COCREATE_TEST_POSTGRES");
    let name = format!("cocreate_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::establish(&format!("{server}/postgres"))
        .expect("connect to test PostgreSQL server");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("create test database");
    MADE_DATABASES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(name.clone());
    DROP_AT_EXIT.call_once(|| {
        // SAFETY: registers a plain `extern "C"` function that takes nothing; libc calls it
        // once, when the process exits normally (the test harness's `main` returns or calls
        // `exit`, whether the tests passed or failed).
        unsafe { libc::atexit(drop_made_databases) };
    });
    format!("{server}/{name}")
}

/// Takes the PostgreSQL database at `url` off the list [`drop_made_databases`] drops: the
/// database of a node in a failing test outlives the run. Returns the URL when it was on it.
fn keep_database(url: &str) -> Option<&str> {
    let name = url.rsplit('/').next()?;
    let mut made = MADE_DATABASES.lock().unwrap_or_else(|e| e.into_inner());
    let at = made.iter().position(|n| n == name)?;
    made.swap_remove(at);
    Some(url)
}

/// The databases [`fresh_postgres_db`] made in this process.
static MADE_DATABASES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
static DROP_AT_EXIT: std::sync::Once = std::sync::Once::new();

/// Drops the databases this process made, with the connections still open to them (a pool
/// of the test's own), but for those of nodes in failing tests ([`keep_database`]);
/// `COCREATE_TEST_KEEP_DATABASES=1` keeps them all. Runs at exit, so it never panics: a
/// database it cannot drop is named on stderr.
extern "C" fn drop_made_databases() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let names = std::mem::take(&mut *MADE_DATABASES.lock().unwrap_or_else(|e| e.into_inner()));
    if names.is_empty() || std::env::var_os("COCREATE_TEST_KEEP_DATABASES").is_some() {
        return;
    }
    let Some(server) = postgres_server() else {
        return;
    };
    let mut conn = match PgConnection::establish(&format!("{server}/postgres")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "could not drop this run's {} test databases (cocreate_test_*): {e}",
                names.len()
            );
            return;
        }
    };
    for name in names {
        if let Err(e) = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
        {
            eprintln!("could not drop the test database {name}: {e}");
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Node {
    pub name: String,
    pub port: u16,
    pub domain: String,
    pub base: String,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    pub http: reqwest::Client,
    /// The `cocreate` executable this node runs (this build's unless told otherwise).
    pub binary: PathBuf,
}

impl Node {
    pub async fn start(name: &str, backend: Backend) -> Node {
        Node::start_with_config(name, backend, "").await
    }

    /// [`Node::start`] with more lines for its TOML configuration file, e.g.
    /// `org_display_name = "Acme"`.
    pub async fn start_with_config(name: &str, backend: Backend, config: &str) -> Node {
        let binary = PathBuf::from(env!("CARGO_BIN_EXE_cocreate"));
        Node::start_binary(name, backend, config, &binary).await
    }

    /// [`Node::start_with_config`] running another `cocreate` executable (the benchmarks run
    /// a previous release beside this build).
    pub async fn start_binary(
        name: &str,
        backend: Backend,
        config: &str,
        binary: &std::path::Path,
    ) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("node.db").display()),
            Backend::Postgres => fresh_postgres_db(),
        };
        // Tests and benchmarks send bursts from loopback: no rate limits unless a test sets them.
        let no_limits = "rate_limit_inbox_per_ip = 0\nrate_limit_inbox_per_host = 0\nrate_limit_api_per_ip = 0\n";
        // (A release from before rate limits refuses the keys it does not know: its --help
        // lists the keys it reads.)
        let knows_limits = || {
            binary == std::path::Path::new(env!("CARGO_BIN_EXE_cocreate"))
                || Command::new(binary)
                    .arg("--help")
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).contains("rate_limit_inbox_per_ip"))
                    .unwrap_or(false)
        };
        let limits = if config.contains("rate_limit_") || !knows_limits() {
            ""
        } else {
            no_limits
        };
        std::fs::write(
            dir.path().join("cocreate.toml"),
            format!("retry_base_secs = 0.3\n{limits}{config}\n"),
        )
        .unwrap();
        let mut node = Node {
            name: name.to_string(),
            port,
            domain: format!("localhost:{port}"),
            base: format!("http://localhost:{port}"),
            database_url,
            dir,
            child: None,
            binary: binary.to_path_buf(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        node.launch().await;
        node
    }

    /// Another `cocreate serve` process of the same node, as behind a load balancer: the same
    /// database, domain and settings, listening on its own port (`base` is that port; ids stay
    /// on `domain`). Only PostgreSQL takes several processes (an SQLite file refuses a second).
    pub async fn start_beside(&self, name: &str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            self.dir.path().join("cocreate.toml"),
            dir.path().join("cocreate.toml"),
        )
        .unwrap();
        let port = free_port();
        let mut node = Node {
            name: name.to_string(),
            port,
            domain: self.domain.clone(),
            base: format!("http://localhost:{port}"),
            database_url: self.database_url.clone(),
            dir,
            child: None,
            binary: self.binary.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        node.launch().await;
        node
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.env("COCREATE_DOMAIN", &self.domain)
            .env("COCREATE_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("COCREATE_DATABASE_URL", &self.database_url)
            .env("COCREATE_DEV", "1")
            .env("COCREATE_CONFIG", self.dir.path().join("cocreate.toml"))
            .env(
                "RUST_LOG",
                std::env::var("TEST_NODE_LOG").unwrap_or_else(|_| "warn".into()),
            );
        cmd
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("node.log")
    }

    /// Starts the process and waits until it answers.
    pub async fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = self
            .command()
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start cocreate");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self
                .http
                .get(format!("{}/.well-known/nodeinfo", self.base))
                .send()
                .await
            {
                if r.status().is_success() {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("node {} exited with {status}: {}", self.name, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "node {} did not start: {}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the process at once (SIGKILL): no graceful shutdown.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// [`Node::kill`], returning the signal that ended the process (9 for SIGKILL; `None`
    /// when it had already exited on its own, or had not been started).
    #[cfg(unix)]
    pub fn kill_signal(&mut self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        let mut c = self.child.take()?;
        let _ = c.kill();
        c.wait().ok()?.signal()
    }

    pub async fn restart(&mut self) {
        self.kill();
        self.launch().await;
    }

    /// The process id while the node runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The process's resident memory (`VmRSS`) in MB; NaN when it cannot be read.
    pub fn resident_mb(&self) -> f64 {
        let Some(pid) = self.pid() else {
            return f64::NAN;
        };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Runs a `cocreate` command against this node's database and settings; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().expect("run cocreate");
        assert!(
            out.status.success(),
            "cocreate {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `cocreate user add` and returns the token (the last line of its output).
    pub fn add_user(&self, name: &str, staff: bool) -> String {
        let mut cmd = self.command();
        cmd.args(["user", "add", name]);
        if staff {
            cmd.arg("--staff");
        }
        let out = cmd.output().expect("run cocreate user add");
        assert!(
            out.status.success(),
            "user add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_string()
    }

    /// Runs `cocreate user add NAME --password-stdin`: the person can also sign in on the web
    /// with `password`; returns the API token.
    pub fn add_user_with_password(&self, name: &str, staff: bool, password: &str) -> String {
        use std::io::Write;
        let mut cmd = self.command();
        cmd.args(["user", "add", name, "--password-stdin"]);
        if staff {
            cmd.arg("--staff");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run cocreate user add");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{password}\n").as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "user add --password-stdin failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_string()
    }

    pub fn handle(&self, name: &str) -> String {
        format!("{name}@{}", self.domain)
    }

    /// A request to this node's API with a bearer token and an optional JSON body; the answer's
    /// status and JSON body (`{"raw": text}` when the body is not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("API request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(json!({ "raw": text })),
        )
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PUT, path, token, Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PATCH, path, token, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, token, None).await
    }

    /// GETs `path` until `done(status, body)` holds and returns that body; after `secs` seconds
    /// fails with `what`, the last answer and this node's log.
    pub async fn get_until(
        &self,
        path: &str,
        token: &str,
        secs: u64,
        what: &str,
        done: impl Fn(StatusCode, &Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (status, body) = self.get(path, token).await;
            if done(status, &body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for: {what}\nlast answer of {} to GET {path}: {status} {body}\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The node's organisation as `GET /api/v1/organization` shows it.
    pub async fn organization(&self, token: &str) -> Value {
        self.get("/api/v1/organization", token).await.1
    }

    /// GETs `url` signed with this node's own instance actor key (read from its database), as
    /// the node itself fetches.
    pub async fn signed_get_as_node(&self, url: &str) -> (StatusCode, Value) {
        let (key_id, key) = internals::instance_key(&self.database_url).await;
        let mut req = self
            .http
            .get(url)
            .header("accept", "application/activity+json");
        for (k, v) in internals::sign("GET", url, None, &key_id, &key) {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// GETs an ActivityPub document without a signature.
    pub async fn get_ap(&self, url: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(url)
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for Node {
    /// Stops the process. When a test or benchmark is failing (a panic), the end of the
    /// node's log is printed first: its log file goes with its temporary directory, and the
    /// node's side of a failure (a 500's cause, say) is often what explains it.
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            eprintln!(
                "--- the last lines of node {}'s log ---\n{tail}\n---",
                self.name
            );
            if let Some(kept) = keep_database(&self.database_url) {
                eprintln!(
                    "(node {}'s database is kept for inspection: {kept})",
                    self.name
                );
            }
        }
    }
}

/// Polls `f` until it returns `Some`, or fails with `what` after `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Waits until `node` has no delivery pending, failing at once (with the node's log) if any
/// delivery was refused.
pub async fn assert_all_delivered(node: &Node, staff_token: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (_, d) = node.get("/api/v1/admin/deliveries", staff_token).await;
        assert!(
            d.get("failed").is_none() && d.get("dead").is_none(),
            "{} refused deliveries: {d}\n{}",
            node.name,
            node.log()
        );
        if d.get("pending").is_none() && d.get("delivered").is_some() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} still has pending deliveries after {secs}s: {d}\n{}",
            node.name,
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Percent-encodes an ActivityPub id or a handle for use as one path segment or query value.
pub fn encode(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// What names an idea in the API: its local id (a JSON number) or its ActivityPub id.
pub trait IdeaKey {
    fn segment(&self) -> String;
}

impl IdeaKey for str {
    fn segment(&self) -> String {
        encode(self)
    }
}

impl IdeaKey for String {
    fn segment(&self) -> String {
        encode(self)
    }
}

impl IdeaKey for i64 {
    fn segment(&self) -> String {
        self.to_string()
    }
}

impl IdeaKey for Value {
    fn segment(&self) -> String {
        match self {
            Value::String(s) => encode(s),
            Value::Number(n) => n.to_string(),
            other => panic!("{other} names no idea"),
        }
    }
}

/// `/api/v1/ideas/{key}`, with an ActivityPub id percent-encoded.
pub fn idea_path(key: &(impl IdeaKey + ?Sized)) -> String {
    format!("/api/v1/ideas/{}", key.segment())
}
