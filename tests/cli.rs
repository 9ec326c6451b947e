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
