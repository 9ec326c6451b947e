//! Test harness: real `cocreate` processes on loopback ports, real databases (an SQLite file, or
//! a fresh PostgreSQL database when `COCREATE_TEST_POSTGRES` names a server), real HTTP.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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

/// Runs `f` for the backend, or explains loudly why the PostgreSQL variant did not run.
pub fn backend_available(b: Backend) -> bool {
    if b == Backend::Postgres && postgres_server().is_none() {
        eprintln!("SKIPPED: set COCREATE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432 to run the PostgreSQL variant");
        return false;
    }
    true
}

pub fn fresh_postgres_db() -> String {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let server = postgres_server().expect("COCREATE_TEST_POSTGRES");
    let name = format!("cocreate_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::establish(&format!("{server}/postgres"))
        .expect("connect to test PostgreSQL server");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("create test database");
    format!("{server}/{name}")
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
}

impl Node {
    pub async fn start(name: &str, backend: Backend) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("node.db").display()),
            Backend::Postgres => fresh_postgres_db(),
        };
        std::fs::write(dir.path().join("cocreate.toml"), "retry_base_secs = 0.3\n").unwrap();
        let mut node = Node {
            name: name.to_string(),
            port,
            domain: format!("localhost:{port}"),
            base: format!("http://localhost:{port}"),
            database_url,
            dir,
            child: None,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        node.launch().await;
        node
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cocreate"));
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

    pub async fn restart(&mut self) {
        self.kill();
        self.launch().await;
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

    pub fn handle(&self, name: &str) -> String {
        format!("{name}@{}", self.domain)
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("API request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(json!({ "raw": text })),
        )
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// GETs `url` signed with this node's own instance actor key (read from its database), as
    /// the node itself fetches.
    pub async fn signed_get_as_node(&self, url: &str) -> (u16, Value) {
        let db_url = self.database_url.clone();
        let instance = tokio::task::spawn_blocking(move || {
            let db = cocreate::store::Db::open(&db_url).unwrap();
            tokio::runtime::Handle::current()
                .block_on(db.read(|c| {
                    cocreate::store::actors::local_of_kind(
                        c,
                        cocreate::domain::kinds::ActorKind::Application,
                    )
                }))
                .unwrap()
                .unwrap()
        })
        .await
        .unwrap();
        let key = cocreate::federation::signatures::parse_private_key(
            instance.private_key_pem.as_deref().unwrap(),
        )
        .unwrap();
        let parsed = url::Url::parse(url).unwrap();
        let headers =
            cocreate::federation::signatures::sign("GET", &parsed, None, &instance.key_id, &key)
                .unwrap();
        let mut req = self
            .http
            .get(url)
            .header("accept", "application/activity+json");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// GETs an ActivityPub document without a signature.
    pub async fn get_ap(&self, url: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(url)
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
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
            d.get("failed").is_none(),
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

pub fn encode(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}
pub mod remote;
