//! The command line: wrong settings are one-line errors naming the setting; `user add` prints
//! the token last; a database refuses settings that would mint different ids.

use std::process::Command;

fn cocreate(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cocreate"));
    cmd.args(args)
        .env_remove("COCREATE_DEV")
        .env_remove("COCREATE_DOMAIN")
        .env_remove("COCREATE_DATABASE_URL");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn wrong_settings_are_one_line_errors_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let cases = [
        (
            vec![
                ("COCREATE_DOMAIN", "cocreate.example.com"),
                ("COCREATE_DEV", "1"),
            ],
            "dev (--dev",
        ),
        (vec![("COCREATE_LISTEN", "everywhere")], "listen (--listen"),
        (
            vec![("COCREATE_DATABASE_URL", "mysql://x")],
            "database (--database",
        ),
        (vec![("COCREATE_DOMAIN", "bad domain")], "domain (--domain"),
    ];
    for (envs, want) in cases {
        let mut envs = envs.clone();
        if !envs.iter().any(|(k, _)| *k == "COCREATE_DATABASE_URL") {
            envs.push(("COCREATE_DATABASE_URL", &db));
        }
        let (ok, _, err) = cocreate(&["serve"], &envs);
        assert!(!ok, "{want} must be refused");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(want), "expected '{want}' in: {err}");
    }
}

#[test]
fn user_add_prints_the_token_last_and_ids_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("node.db").display());
    let env = [
        ("COCREATE_DATABASE_URL", db.as_str()),
        ("COCREATE_DOMAIN", "localhost:9999"),
        ("COCREATE_DEV", "1"),
    ];
    let (ok, out, err) = cocreate(&["user", "add", "alice", "--staff"], &env);
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap();
    assert!(
        token.len() >= 40 && !token.contains(' '),
        "token line: {out}"
    );
    let (ok, _, err) = cocreate(&["user", "add", "alice"], &env);
    assert!(!ok && err.contains("taken"), "{err}");
    // Without --dev the same database would mint https ids: refused with a clear message.
    let (ok, _, err) = cocreate(&["user", "add", "bob"], &env[..2]);
    assert!(
        !ok,
        "mixing dev and production settings on one database must fail"
    );
    assert!(
        err.contains("belongs to the node http://localhost:9999"),
        "{err}"
    );
}

/// `user add --password-stdin` sets a web sign-in password from the first line of standard
/// input (the token is still the last line); a password that is too short is refused in one
/// line, and no account is created.
#[tokio::test]
async fn user_add_takes_a_password_on_standard_input() {
    use std::io::Write;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("node.db").display());
    let add = |name: &str, stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cocreate"))
            .args(["user", "add", name, "--password-stdin"])
            .env("COCREATE_DATABASE_URL", &db)
            .env("COCREATE_DOMAIN", "localhost:9998")
            .env("COCREATE_DEV", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = add("bob", "a long password\n");
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap();
    assert!(
        token.len() >= 40 && !token.contains(' '),
        "token line: {out}"
    );
    for (name, short) in [("carol", "short\n"), ("dave", "\n"), ("erin", "")] {
        let (ok, out, err) = add(name, short);
        assert!(!ok, "{short:?} must be refused: {out}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains("--password-stdin: password"), "{err}");
    }

    let ctx = cocreate::build_state(common::internals::dev_settings("localhost:9998", &db))
        .await
        .unwrap();
    let signed_in = common::internals::sign_in(&ctx, "bob", "a long password")
        .await
        .unwrap();
    assert_eq!(signed_in.name, "bob");
    let wrong = common::internals::sign_in(&ctx, "bob", "a long password\n")
        .await
        .unwrap_err();
    assert_eq!(wrong.0, 401, "the line end is not part of the password");
    let refused = common::internals::sign_in(&ctx, "carol", "short")
        .await
        .unwrap_err();
    assert_eq!(refused.0, 401, "no account for a refused password");
}

mod common;

/// Stewards can run a room from the command line while the node runs: what they do federates
/// through the node's outbox.
#[tokio::test]
async fn stewards_run_rooms_from_the_command_line() {
    use common::*;
    use serde_json::{json, Value};
    let a = Node::start("A", Backend::Sqlite).await;
    let b = Node::start("B", Backend::Sqlite).await;
    a.add_user("alice", true);
    let bob = b.add_user("bob", false);
    let out: Value = serde_json::from_str(&a.cli(&[
        "room",
        "add",
        "lab",
        "--title",
        "Lab",
        "--visibility",
        "partners",
        "--as",
        "alice",
    ]))
    .unwrap();
    assert_eq!(out["handle"], a.handle("lab"));
    let phases = a.dir.path().join("phases.json");
    std::fs::write(&phases, r#"[{"name": "ideation", "submit": ["partner"], "comment": ["partner"], "support": ["partner"], "see": ["partner"]}]"#).unwrap();
    let out: Value = serde_json::from_str(&a.cli(&[
        "room",
        "phases",
        "lab",
        "--file",
        phases.to_str().unwrap(),
        "--as",
        "alice",
    ]))
    .unwrap();
    assert_eq!(out["current_name"], "ideation");
    a.cli(&[
        "room",
        "terms",
        "lab",
        "--spdx",
        "CC-BY-4.0",
        "--version",
        "2",
        "--as",
        "alice",
    ]);

    b.post(
        "/api/v1/joins",
        &bob,
        json!({"handle": a.handle("lab"), "message": "hi"}),
    )
    .await;
    let request = eventually(20, "the request is listed", || async {
        let list: Value =
            serde_json::from_str(&a.cli(&["room", "requests", "lab", "--as", "alice"])).ok()?;
        list.as_array()?.first().map(|r| r["id"].to_string())
    })
    .await;
    a.cli(&[
        "room",
        "approve",
        "lab",
        &request,
        "--role",
        "partner",
        "--partner-kind",
        "agency",
        "--as",
        "alice",
    ]);
    b.get_until(
        "/api/v1/follows",
        &bob,
        20,
        "B's follow is accepted",
        |_, list| list[0]["state"] == "accepted",
    )
    .await;
    let list: Value = serde_json::from_str(&a.cli(&["handoff", "list", "--as", "alice"])).unwrap();
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn an_sqlite_database_takes_one_serving_process() {
    let node = common::Node::start("one", common::Backend::Sqlite).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let (ok, _, err) = cocreate(
        &["serve", "--dev"],
        &[
            ("COCREATE_DATABASE_URL", &node.database_url),
            ("COCREATE_DOMAIN", &node.domain),
            ("COCREATE_LISTEN", &listen),
        ],
    );
    assert!(
        !ok,
        "a second serving process on the same SQLite file must stop"
    );
    assert!(
        err.contains("another `cocreate serve` is already using"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    // The first node serves on, and commands other than serve still work on its database.
    let (s, _) = node.get("/.well-known/nodeinfo", "").await;
    assert_eq!(s, 200);
    let (ok, _, err) = cocreate(
        &["user", "add", "bea"],
        &[
            ("COCREATE_DATABASE_URL", &node.database_url),
            ("COCREATE_DOMAIN", &node.domain),
            ("COCREATE_DEV", "1"),
        ],
    );
    assert!(ok, "{err}");
}
