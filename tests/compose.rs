//! `docker-compose.yml` and the `Dockerfile` describe a deployment the binary accepts, checked
//! without Docker (none runs where the tests run).
//!
//! What this shows: the compose file parses; the three nodes (maker, supplier, community) are
//! built from the repository's `Dockerfile`; every environment variable they set is one the
//! binary reads (the `env = "COCREATE_..."` names in `src/config.rs`, read at test time, so a
//! renamed setting fails here); each node's settings pass the node's own validation
//! ([`Settings::load`]: domain, dev mode, database URL); each domain reaches its node both from
//! the laptop and from the other containers (port published as itself, listen port the same,
//! network alias equal to the domain's host); each database URL names the postgres service and
//! a database its init script creates; and the `Dockerfile` has a build and a runtime stage,
//! runs as a non-root user, starts the `serve` subcommand that `src/main.rs` defines, and copies
//! nothing that `.dockerignore` leaves out of the build context.
//!
//! What it cannot show: that the image builds, that the containers start, or that the names
//! resolve at run time; those need a Docker engine (`docker compose up --build`).

use cocreate::config::{ConfigArgs, Settings};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const NODES: [&str; 3] = ["maker", "supplier", "community"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn compose() -> Value {
    serde_norway::from_str(&read("docker-compose.yml"))
        .unwrap_or_else(|e| panic!("docker-compose.yml does not parse: {e}"))
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose["services"]
        .get(name)
        .unwrap_or_else(|| panic!("docker-compose.yml has no service '{name}'"))
}

/// Every `COCREATE_*` name that `src/config.rs` gives to clap as `env = "..."`.
fn variables_the_binary_reads() -> BTreeSet<String> {
    let source = read("src/config.rs");
    let mut names = BTreeSet::new();
    for (i, _) in source.match_indices("env = \"") {
        let rest = &source[i + "env = \"".len()..];
        let name = &rest[..rest.find('"').expect("closing quote")];
        if name.starts_with("COCREATE_")
            && name[9..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            names.insert(name.to_string());
        }
    }
    assert!(
        names.contains("COCREATE_DOMAIN") && names.contains("COCREATE_DATABASE_URL"),
        "found no env = \"COCREATE_...\" settings in src/config.rs: {names:?}"
    );
    names
}

/// A service's environment, from the map form (`KEY: value`) or the list form (`- KEY=value`,
/// or `- KEY` to pass the laptop's value through, kept as `None`).
fn environment(service: &Value) -> BTreeMap<String, Option<String>> {
    let scalar = |v: &Value| match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    match &service["environment"] {
        Value::Null => BTreeMap::new(),
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let item = item.as_str().expect("environment entries are strings");
                match item.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (item.to_string(), None),
                }
            })
            .collect(),
        other => panic!("environment is neither a map nor a list: {other}"),
    }
}

/// clap's `BoolishValueParser`, as `COCREATE_DEV` is read.
fn boolish(value: &str) -> bool {
    match value.to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => true,
        "n" | "no" | "f" | "false" | "off" | "0" => false,
        other => panic!("COCREATE_DEV={other} is not a boolean clap accepts"),
    }
}

fn port_of(addr: &str) -> &str {
    addr.rsplit_once(':')
        .unwrap_or_else(|| panic!("'{addr}' has no port"))
        .1
}

#[test]
fn node_services_build_from_the_dockerfile_and_set_only_variables_the_binary_reads() {
    let compose = compose();
    let known = variables_the_binary_reads();
    let mut domains = BTreeSet::new();
    for name in NODES {
        let node = service(&compose, name);
        let (context, dockerfile) = match &node["build"] {
            Value::String(context) => (context.as_str(), "Dockerfile"),
            Value::Object(build) => (
                build.get("context").and_then(Value::as_str).unwrap_or("."),
                build
                    .get("dockerfile")
                    .and_then(Value::as_str)
                    .unwrap_or("Dockerfile"),
            ),
            other => panic!("service '{name}' is not built from the Dockerfile: build = {other}"),
        };
        assert_eq!(
            root()
                .join(context)
                .join(dockerfile)
                .canonicalize()
                .unwrap(),
            root().join("Dockerfile").canonicalize().unwrap(),
            "service '{name}' builds from another file"
        );

        let env = environment(node);
        let unknown: Vec<&String> = env.keys().filter(|k| !known.contains(*k)).collect();
        assert!(
            unknown.is_empty(),
            "service '{name}' sets {unknown:?}, which the binary does not read (it reads {known:?})"
        );
        let get = |key: &str| -> String {
            env.get(key)
                .cloned()
                .flatten()
                .unwrap_or_else(|| panic!("service '{name}' does not set {key}"))
        };

        // The settings the binary would load from this environment pass its own validation.
        let args = ConfigArgs {
            config: None,
            domain: Some(get("COCREATE_DOMAIN")),
            listen: Some(get("COCREATE_LISTEN")),
            database: Some(get("COCREATE_DATABASE_URL")),
            dev: env
                .get("COCREATE_DEV")
                .cloned()
                .flatten()
                .is_some_and(|v| boolish(&v)),
            signup: env.get("COCREATE_SIGNUP").cloned().flatten(),
            log_format: env.get("COCREATE_LOG_FORMAT").cloned().flatten(),
        };
        assert!(
            !env.contains_key("COCREATE_CONFIG"),
            "service '{name}': a config file would need a volume; set variables instead"
        );
        let settings = Settings::load(&args)
            .unwrap_or_else(|e| panic!("service '{name}': the node would refuse to start: {e}"));
        assert!(
            domains.insert(settings.domain.clone()),
            "two nodes share the domain {}",
            settings.domain
        );

        // The domain reaches the node from the laptop and from the other containers: the
        // listen port is the domain's port, published as itself, and the domain's host is a
        // network alias of the container.
        assert!(
            settings.listen.ip().is_unspecified(),
            "service '{name}' must listen on all interfaces inside its container, not {}",
            settings.listen
        );
        let port = port_of(&settings.domain);
        assert_eq!(
            settings.listen.port().to_string(),
            port,
            "service '{name}': the listen port differs from the domain's port"
        );
        let published: Vec<&str> = node["ports"]
            .as_array()
            .unwrap_or_else(|| panic!("service '{name}' publishes no ports"))
            .iter()
            .map(|p| p.as_str().expect("ports in short form"))
            .collect();
        assert!(
            published
                .iter()
                .any(|p| p.ends_with(&format!(":{port}:{port}")) || *p == format!("{port}:{port}")),
            "service '{name}' must publish port {port} as {port}: {published:?}"
        );
        let host = settings.domain.rsplit_once(':').unwrap().0;
        let aliases = &node["networks"]["default"]["aliases"];
        assert!(
            aliases
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(host))),
            "service '{name}': other containers cannot resolve {host} (no network alias)"
        );
    }
}

#[test]
fn each_database_url_names_the_postgres_service_and_a_database_the_init_script_creates() {
    let compose = compose();
    let postgres = service(&compose, "postgres");
    assert!(
        postgres["healthcheck"]["test"]
            .to_string()
            .contains("pg_isready"),
        "postgres needs a pg_isready healthcheck for the nodes to wait on"
    );
    let init_dir = postgres["volumes"]
        .as_array()
        .expect("postgres volumes")
        .iter()
        .filter_map(Value::as_str)
        .find_map(|v| {
            let mut parts = v.split(':');
            let (host, container) = (parts.next()?, parts.next()?);
            (container == "/docker-entrypoint-initdb.d").then(|| host.to_string())
        })
        .expect("postgres mounts an init directory at /docker-entrypoint-initdb.d");
    let mut created = BTreeSet::new();
    for entry in std::fs::read_dir(root().join(&init_dir)).expect("init directory exists") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("sql") {
            continue;
        }
        let sql = std::fs::read_to_string(&path).unwrap();
        for line in sql.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("CREATE DATABASE ") {
                created.insert(rest.trim_end_matches(';').trim().to_string());
            }
        }
    }
    for name in NODES {
        let node = service(&compose, name);
        assert_eq!(
            node["depends_on"]["postgres"]["condition"], "service_healthy",
            "service '{name}' must wait for postgres to be healthy"
        );
        let url = environment(node)["COCREATE_DATABASE_URL"].clone().unwrap();
        let url = url::Url::parse(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(
            matches!(url.scheme(), "postgres" | "postgresql"),
            "{name}: {url}"
        );
        assert_eq!(
            url.host_str(),
            Some("postgres"),
            "{name}: the URL must name the postgres service"
        );
        let db = url.path().trim_start_matches('/');
        assert!(
            created.contains(db),
            "{name}: database '{db}' is not created by {init_dir} (it creates {created:?})"
        );
    }
}

/// The dependency layer builds against stub sources; cargo refuses a manifest whose named
/// bench has no file, so each `[[bench]]` of `Cargo.toml` needs its stub.
#[test]
fn the_dependency_stage_stubs_every_bench_that_cargo_toml_names() {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let dockerfile = read("Dockerfile");
    let benches = manifest["bench"]
        .as_array()
        .expect("Cargo.toml names benches");
    assert!(!benches.is_empty());
    for bench in benches {
        let name = bench["name"].as_str().unwrap();
        assert!(
            dockerfile.contains(&format!("> benches/{name}.rs")),
            "the Dockerfile's dependency stage has no stub for the bench '{name}', so its `cargo build` fails"
        );
    }
}

/// `(instruction, arguments)` of each Dockerfile line, continuation lines joined.
fn dockerfile_instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if current.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                let (op, args) = current
                    .split_once(char::is_whitespace)
                    .unwrap_or((&current, ""));
                out.push((op.to_ascii_uppercase(), args.trim().to_string()));
                current.clear();
            }
        }
    }
    out
}

#[test]
fn the_dockerfile_builds_in_one_stage_and_serves_as_a_non_root_user_in_another() {
    let instructions = dockerfile_instructions(&read("Dockerfile"));
    let stages: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, (op, _))| op == "FROM")
        .map(|(i, _)| i)
        .collect();
    assert!(stages.len() >= 2, "the Dockerfile is not multi-stage");
    let runtime = &instructions[*stages.last().unwrap()..];
    assert!(
        runtime
            .iter()
            .any(|(op, args)| op == "COPY" && args.contains("--from=")),
        "the runtime stage does not copy the binary from the build stage"
    );

    let user = runtime
        .iter()
        .rev()
        .find(|(op, _)| op == "USER")
        .map(|(_, args)| args.clone())
        .expect("the runtime stage sets no USER, so it runs as root");
    let who = user.split(':').next().unwrap();
    assert!(
        who != "root" && who != "0",
        "the runtime stage runs as {user}"
    );

    let json_args = |op: &str| -> Vec<String> {
        runtime
            .iter()
            .rev()
            .find(|(o, _)| o == op)
            .map(|(_, args)| {
                serde_json::from_str(args)
                    .unwrap_or_else(|e| panic!("{op} is not in exec (JSON) form: {args}: {e}"))
            })
            .unwrap_or_default()
    };
    let command: Vec<String> = json_args("ENTRYPOINT")
        .into_iter()
        .chain(json_args("CMD"))
        .collect();
    assert_eq!(command.first().map(String::as_str), Some("cocreate"));
    let subcommand = command.get(1).expect("no subcommand after cocreate");
    assert_eq!(subcommand, "serve");
    // clap names the `Serve` variant of `enum Command` in src/main.rs `serve`.
    let main = read("src/main.rs");
    let commands = &main[main
        .find("enum Command {")
        .expect("enum Command in src/main.rs")..];
    let commands = &commands[..commands.find("\n}").unwrap()];
    assert!(
        commands.lines().any(|l| l.trim() == "Serve,"),
        "src/main.rs defines no `serve` subcommand"
    );
}

#[test]
fn the_dockerfile_copies_only_what_the_build_context_contains() {
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.trim_start_matches("**/")
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    for (op, args) in dockerfile_instructions(&read("Dockerfile")) {
        if op != "COPY" || args.contains("--from=") {
            continue;
        }
        let words: Vec<&str> = args.split_whitespace().collect();
        for source in &words[..words.len() - 1] {
            let source = source.trim_end_matches('/');
            assert!(
                root().join(source).exists(),
                "the Dockerfile copies {source}, which is not in the repository"
            );
            assert!(
                !ignored.iter().any(|i| i == source),
                "the Dockerfile copies {source}, which .dockerignore leaves out"
            );
        }
    }
}
