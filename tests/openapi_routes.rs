//! The REST API's routes and `spec/openapi.yaml` describe the same set of (path, method):
//! every route the router serves is documented and every documented `/api/v1` operation is
//! served. `cocreate::api::route_table()` is built by the same `routes!` blocks that build the
//! router; the second test drives the real router to show the table is what it serves.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_norway::Value;
use tower::ServiceExt;

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/spec/openapi.yaml");

/// Methods an OpenAPI path item may hold; its other keys (`parameters`, `summary`, ...) are not
/// operations.
const OPENAPI_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

struct Operation {
    path: String,
    method: String,
    /// The operation overrides the document's bearer security with `security: []`.
    open: bool,
}

/// Every operation of `spec/openapi.yaml` under `/api/v1`.
fn spec_operations() -> Vec<Operation> {
    let text = std::fs::read_to_string(SPEC).expect("read spec/openapi.yaml");
    let doc: Value = serde_norway::from_str(&text).expect("spec/openapi.yaml is valid YAML");
    let paths = doc
        .get("paths")
        .and_then(Value::as_mapping)
        .expect("spec/openapi.yaml has paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        let path = path.as_str().expect("paths are strings");
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let item = item.as_mapping().expect("a path item is a mapping");
        for (key, op) in item {
            let key = key.as_str().expect("path item keys are strings");
            if !OPENAPI_METHODS.contains(&key) {
                continue;
            }
            let open = op
                .get("security")
                .and_then(Value::as_sequence)
                .is_some_and(|s| s.is_empty());
            out.push(Operation {
                path: path.to_string(),
                method: key.to_string(),
                open,
            });
        }
    }
    out
}

fn router_routes() -> BTreeSet<(String, String)> {
    let table = cocreate::api::route_table();
    let set: BTreeSet<(String, String)> = table
        .iter()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    assert_eq!(
        set.len(),
        table.len(),
        "the route table lists a route twice"
    );
    set
}

#[test]
fn every_route_is_in_openapi_and_the_reverse() {
    let served = router_routes();
    let documented: BTreeSet<(String, String)> = spec_operations()
        .into_iter()
        .map(|o| (o.path, o.method))
        .collect();
    assert!(
        served.iter().all(|(p, _)| p.starts_with("/api/v1/")),
        "every API route is under /api/v1/: {served:?}"
    );

    let undocumented: Vec<String> = served
        .difference(&documented)
        .map(|(p, m)| format!("{} {p}", m.to_uppercase()))
        .collect();
    let unserved: Vec<String> = documented
        .difference(&served)
        .map(|(p, m)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "the API router and spec/openapi.yaml disagree\n\
         served but not in spec/openapi.yaml ({}):\n  {}\n\
         in spec/openapi.yaml but not served ({}):\n  {}",
        undocumented.len(),
        undocumented.join("\n  "),
        unserved.len(),
        unserved.join("\n  "),
    );
}

/// A plausible value for each path parameter.
fn concrete(path: &str) -> String {
    path.replace("{name}", "lab")
        .replace("{id}", "1")
        .replace("{handle}", "sam@localhost")
        .replace("{host}", "spam.example")
}

async fn call(app: &axum::Router, method: &str, uri: &str) -> (StatusCode, serde_json::Value) {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Whether an answer is the router's own: an unknown path or a method the path does not serve.
fn is_routing_miss(status: StatusCode, body: &serde_json::Value) -> bool {
    status == StatusCode::METHOD_NOT_ALLOWED
        || (status == StatusCode::NOT_FOUND && body["error"] == "no such route")
}

#[tokio::test]
async fn the_router_serves_every_route_of_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let settings = cocreate::config::Settings {
        domain: "localhost:18099".into(),
        listen: "127.0.0.1:18099".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.path().join("node.db").display()),
        dev: true,
        signup: cocreate::config::Signup::Closed,
        org_name: "org".into(),
        org_display_name: "Test organisation".into(),
        retry_base: Duration::from_secs(1),
        delivery: Default::default(),
        max_body_bytes: 1 << 20,
        log_format: cocreate::config::LogFormat::Text,
        rate_limits: Default::default(),
    };
    let ctx = cocreate::build_state(settings).await.expect("build state");
    let app = cocreate::router(ctx);

    // The check below can tell a routing miss from a handler's answer.
    let (s, body) = call(&app, "get", "/api/v1/no-such-thing").await;
    assert!(is_routing_miss(s, &body), "{s} {body}");
    let (s, body) = call(&app, "put", "/api/v1/me").await;
    assert!(is_routing_miss(s, &body), "{s} {body}");

    let open: BTreeSet<(String, String)> = spec_operations()
        .into_iter()
        .filter(|o| o.open)
        .map(|o| (o.path, o.method))
        .collect();
    let mut failures = Vec::new();
    for (path, method) in cocreate::api::route_table() {
        let uri = concrete(path);
        let (s, body) = call(&app, method, &uri).await;
        let is_open = open.contains(&(path.to_string(), method.to_string()));
        let ok = if is_open {
            !is_routing_miss(s, &body) && s != StatusCode::UNAUTHORIZED
        } else {
            s == StatusCode::UNAUTHORIZED
        };
        if !ok {
            failures.push(format!(
                "{} {uri} ({}): {s} {body}",
                method.to_uppercase(),
                if is_open {
                    "open, expected an answer"
                } else {
                    "expected 401 without a token"
                }
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "routes of the table the router does not serve as expected ({}):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
