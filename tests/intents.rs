//! Acting from one's own server, across real nodes: a visitor on node A's pages types the
//! handle of their account on node B, is sent to the intent B's WebFinger advertises (FEP-3b86)
//! with the object filled in, signs in on B, confirms, and A sees the support, the reply and
//! the follow. And a server whose WebFinger offers only Mastodon's `subscribe` template gets
//! the visitor sent there.

mod common;

use std::process::{Command, Stdio};

use common::*;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// A browser: no redirects followed, cookies handed over by hand.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Adds a person with a web password to a running node; the API token.
fn add_user_with_password(node: &Node, name: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cocreate"))
        .args(["user", "add", name, "--password-stdin"])
        .env("COCREATE_DOMAIN", &node.domain)
        .env("COCREATE_LISTEN", format!("127.0.0.1:{}", node.port))
        .env("COCREATE_DATABASE_URL", &node.database_url)
        .env("COCREATE_DEV", "1")
        .env("COCREATE_CONFIG", node.dir.path().join("cocreate.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "user add: {}",
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

fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap().to_string())
}

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[at..].split('"').next().unwrap().to_string()
}

/// `application/x-www-form-urlencoded`, for a query or a form's body.
fn encoded(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// Posts a form.
fn post_form(
    web: &reqwest::Client,
    url: String,
    cookie: String,
    fields: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    web.post(url)
        .header("cookie", cookie)
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encoded(fields))
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_string()
}

/// Percent-encoded as URI templates are filled: all but RFC 3986's unreserved characters.
fn rfc3986(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A visitor who is not signed in on `node` asks to do `intent` with `object` from the account
/// `handle`: the form, then its post. Where the node sends them (a 303).
async fn visitor_goes_home(
    web: &reqwest::Client,
    node: &Node,
    intent: &str,
    object: &str,
    handle: &str,
) -> String {
    let resp = web
        .get(format!(
            "{}/interact?{}",
            node.base,
            encoded(&[("intent", intent), ("object", object)])
        ))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cookie = set_cookie(&resp, "cocreate_form").expect("the form's cookie");
    let page = resp.text().await.unwrap();
    assert!(page.contains("Your fediverse handle"), "{page}");
    let resp = post_form(
        web,
        format!("{}/interact", node.base),
        format!("cocreate_form={cookie}"),
        &[
            ("intent", intent),
            ("object", object),
            ("handle", handle),
            ("csrf", &hidden(&page, "csrf")),
        ],
    )
    .send()
    .await
    .unwrap();
    let status = resp.status();
    let to = resp.headers().get("location").cloned();
    assert_eq!(
        status,
        303,
        "{}\n{}",
        resp.text().await.unwrap_or_default(),
        node.log()
    );
    to.unwrap().to_str().unwrap().to_string()
}

/// Opens an intent page on `node` signed in with `session`; the page.
async fn intent_page(web: &reqwest::Client, node: &Node, url: &str, session: &str) -> String {
    let resp = web
        .get(url)
        .header("cookie", format!("cocreate_session={session}"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let page = resp.text().await.unwrap();
    assert_eq!(status, 200, "{page}\n{}", node.log());
    page
}

/// Posts an intent page's form with the session.
async fn confirm(
    web: &reqwest::Client,
    node: &Node,
    path: &str,
    session: &str,
    fields: &[(&str, &str)],
) {
    let resp = post_form(
        web,
        format!("{}{path}", node.base),
        format!("cocreate_session={session}"),
        fields,
    )
    .send()
    .await
    .unwrap();
    let status = resp.status();
    let page = resp.text().await.unwrap_or_default();
    assert_eq!(status, 303, "{path}: {page}\n{}", node.log());
}

async fn acting_from_ones_own_server(backend: Backend) {
    let a = Node::start("A", backend).await;
    let b = Node::start("B", backend).await;
    let a_staff = a.add_user("alice", true);
    let b_user = add_user_with_password(&b, "bea");
    let (s, room) = a
        .post(
            "/api/v1/rooms",
            &a_staff,
            json!({"name": "widgets", "title": "Widgets 2027", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{room}");
    let room_ap = room["ap_id"].as_str().unwrap().to_string();
    let (s, idea) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &a_staff,
            json!({"title": "Lighter casing", "body": "Use recycled aluminium"}),
        )
        .await;
    assert_eq!(s, 201, "{idea}");
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    let web = browser();

    // What B's WebFinger advertises for bea.
    let jrd: Value = web
        .get(format!(
            "{}/.well-known/webfinger?resource=acct:bea@{}",
            b.base, b.domain
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let template = |kind: &str| {
        jrd["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == format!("https://w3id.org/fep/3b86/{kind}"))
            .and_then(|l| l["template"].as_str())
            .unwrap_or_else(|| panic!("no {kind} intent: {jrd}"))
            .to_string()
    };

    // Support: on A's idea page the visitor types their handle on B, and goes to B's Like
    // intent with the idea filled in.
    let to = visitor_goes_home(&web, &a, "like", &idea_ap, &format!("@bea@{}", b.domain)).await;
    assert_eq!(to, template("Like").replace("{object}", &rfc3986(&idea_ap)));
    assert!(to.starts_with(&b.base), "{to}");

    // Not signed in on B yet: sign in, and come back to the intent.
    let resp = web.get(&to).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let login = location(&resp);
    assert!(login.starts_with("/login?next="), "{login}");
    let resp = web.get(format!("{}{login}", b.base)).send().await.unwrap();
    let form_cookie = set_cookie(&resp, "cocreate_form").unwrap();
    let page = resp.text().await.unwrap();
    let next = hidden(&page, "next").replace("&amp;", "&");
    let resp = post_form(
        &web,
        format!("{}/login", b.base),
        format!("cocreate_form={form_cookie}"),
        &[
            ("username", "bea"),
            ("password", PASSWORD),
            ("csrf", &hidden(&page, "csrf")),
            ("next", &next),
        ],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 303);
    let session = set_cookie(&resp, "cocreate_session").expect("signed in on B");
    let back = location(&resp);
    assert_eq!(format!("{}{back}", b.base), to, "back to the intent");

    // B shows the idea it fetched from A; confirming supports it on A.
    let page = intent_page(&web, &b, &to, &session).await;
    assert!(page.contains("Lighter casing"), "{page}");
    assert!(page.contains(">Support</button>"), "{page}");
    let csrf = hidden(&page, "csrf");
    confirm(
        &web,
        &b,
        "/intents/like",
        &session,
        &[("object", &idea_ap), ("csrf", &csrf)],
    )
    .await;
    let path = idea_path(&idea["id"]);
    a.get_until(&path, &a_staff, 20, "A counts bea's support", |s, v| {
        s == 200 && v["support_count"] == 1
    })
    .await;

    // Reply: B's Create intent, with the idea as inReplyTo; the answer reaches A.
    let to = visitor_goes_home(&web, &a, "reply", &idea_ap, &b.handle("bea")).await;
    assert_eq!(
        to,
        template("Create")
            .replace("{inReplyTo}", &rfc3986(&idea_ap))
            .replace("{content}", "")
    );
    let page = intent_page(&web, &b, &to, &session).await;
    assert!(page.contains("Your reply"), "{page}");
    confirm(
        &web,
        &b,
        "/intents/create",
        &session,
        &[
            ("inReplyTo", idea_ap.as_str()),
            ("content", "Ship it in **blue**"),
            ("csrf", &csrf),
        ],
    )
    .await;
    let bea_ap = format!("{}/u/bea", b.base);
    let answered = a
        .get_until(&path, &a_staff, 20, "A shows bea's reply", |s, v| {
            s == 200 && v["comment_count"] == 1
        })
        .await;
    assert_eq!(
        answered["comments"][0]["author"],
        bea_ap.as_str(),
        "{answered}"
    );
    assert!(answered["comments"][0]["content"]
        .as_str()
        .unwrap()
        .contains("<strong>blue</strong>"));

    // Follow: B's Follow intent with the room; A accepts, B knows it, A lists bea.
    let to = visitor_goes_home(&web, &a, "follow", &room_ap, &b.handle("bea")).await;
    assert_eq!(
        to,
        template("Follow").replace("{object}", &rfc3986(&room_ap))
    );
    let page = intent_page(&web, &b, &to, &session).await;
    assert!(page.contains("Follow Widgets 2027"), "{page}");
    confirm(
        &web,
        &b,
        "/intents/follow",
        &session,
        &[("object", &room_ap), ("csrf", &csrf)],
    )
    .await;
    b.get_until(
        "/api/v1/follows",
        &b_user,
        20,
        "A accepts bea's follow",
        |s, v| {
            s == 200
                && v.as_array().is_some_and(|l| {
                    l.iter().any(|f| {
                        f["target"]["ap_id"] == room_ap.as_str() && f["state"] == "accepted"
                    })
                })
        },
    )
    .await;
    let (s, followers) = a.get_ap(&format!("{room_ap}/followers")).await;
    assert_eq!(s, 200);
    assert!(
        followers["orderedItems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == bea_ap.as_str()),
        "{followers}"
    );
}

backends!(acting_from_ones_own_server);

/// A server whose WebFinger offers only Mastodon's `subscribe` template, on a loopback port;
/// its host.
async fn mastodon_like_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("localhost:{}", listener.local_addr().unwrap().port());
    let base = format!("http://{host}");
    let app = axum::Router::new().route(
        "/.well-known/webfinger",
        axum::routing::get(move || {
            let base = base.clone();
            async move {
                axum::Json(json!({
                    "subject": "acct:erin@localhost",
                    "links": [
                        {"rel": "self", "type": "application/activity+json",
                         "href": format!("{base}/users/erin")},
                        {"rel": "http://ostatus.org/schema/1.0/subscribe",
                         "template": format!("{base}/authorize_interaction?uri={{uri}}")},
                    ],
                }))
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    host
}

#[tokio::test]
async fn a_mastodon_account_goes_to_authorize_interaction() {
    let a = Node::start("A", Backend::Sqlite).await;
    let staff = a.add_user("alice", true);
    let (s, room) = a
        .post(
            "/api/v1/rooms",
            &staff,
            json!({"name": "widgets", "title": "Widgets"}),
        )
        .await;
    assert_eq!(s, 201, "{room}");
    let room_ap = room["ap_id"].as_str().unwrap();
    let host = mastodon_like_server().await;
    let to = visitor_goes_home(&browser(), &a, "follow", room_ap, &format!("erin@{host}")).await;
    assert_eq!(
        to,
        format!(
            "http://{host}/authorize_interaction?uri={}",
            rfc3986(room_ap)
        )
    );
}
