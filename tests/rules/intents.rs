//! Acting from one's own server (FEP-3b86 Activity Intents, Mastodon's remote interaction).
//!
//! As the remote server: the handle form of `/interact` only for rooms and ideas this node
//! shows, its double-submit token, a bad handle marked with the input kept, and where a handle
//! leads: this node's own intents for its people, a server's FEP-3b86 intent, else its
//! Mastodon `subscribe` template, else `/authorize_interaction` (WebFinger answers served by a
//! small server on a loopback port). As the home server: the intents WebFinger advertises for
//! people, and the intent pages, which send visitors to sign in and back, and let a signed-in
//! person support, answer and follow with the session's token.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::common::internals;
use crate::fixture::*;

const PASSWORD: &str = "correct horse battery";

fn browser(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
}

fn form(path: &str, cookie: Option<String>, body: String) -> Request<Body> {
    let mut r =
        browser("POST", path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::from(body)).unwrap()
}

async fn html(resp: Response) -> (StatusCode, HeaderMap, String) {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
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

fn location(resp: &Response) -> String {
    resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

fn ap_id(v: &Value) -> String {
    v["ap_id"].as_str().unwrap().to_string()
}

/// Percent-encoded as the node fills URI templates: all but RFC 3986's unreserved characters.
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

/// The value of `name` in the query of a URL.
fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Opens `/interact` for `intent` and `object`: the page, its form cookie and its token.
async fn open_interact(fx: &Fixture, intent: &str, object: &str) -> (String, String, String) {
    let resp = fx
        .respond(
            browser(
                "GET",
                &format!("/interact?intent={intent}&object={}", encode(object)),
            )
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    let (status, headers, page) = html(resp).await;
    assert_eq!(status, 200, "{page}");
    let cookie = cookie_value(&headers, "cocreate_form").expect("a form cookie");
    let token = hidden(&page, "csrf");
    (page, cookie, token)
}

/// Posts the handle form as a browser that opened it.
async fn post_handle(fx: &Fixture, intent: &str, object: &str, handle: &str) -> Response {
    let (_, cookie, token) = open_interact(fx, intent, object).await;
    let body = format!(
        "intent={intent}&object={}&handle={}&csrf={token}",
        encode(object),
        encode(handle)
    );
    fx.respond(form(
        "/interact",
        Some(format!("cocreate_form={cookie}")),
        body,
    ))
    .await
}

/// Signs in through the form as `name` (password set first); the session cookie.
async fn sign_in(fx: &Fixture, name: &str) -> String {
    internals::set_password(&fx.ctx().await, name, PASSWORD)
        .await
        .unwrap();
    let (_, headers, page) = html(
        fx.respond(browser("GET", "/login").body(Body::empty()).unwrap())
            .await,
    )
    .await;
    let cookie = cookie_value(&headers, "cocreate_form").unwrap();
    let body = format!(
        "username={name}&password={}&csrf={}",
        encode(PASSWORD),
        hidden(&page, "csrf")
    );
    let resp = fx
        .respond(form(
            "/login",
            Some(format!("cocreate_form={cookie}")),
            body,
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    cookie_value(resp.headers(), "cocreate_session").expect("a session cookie")
}

async fn page_as(fx: &Fixture, session: &str, path: &str) -> (StatusCode, String) {
    let resp = fx
        .respond(
            browser("GET", path)
                .header(header::COOKIE, format!("cocreate_session={session}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let (status, _, page) = html(resp).await;
    (status, page)
}

/// A WebFinger server on a loopback port: `fep` advertises FEP-3b86 intents and the Mastodon
/// template, `masto` only the Mastodon template, `bare` no template; anyone else is unknown.
/// Its host (`localhost:{port}`).
async fn webfinger_server() -> String {
    use axum::extract::{Query, State};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("localhost:{}", listener.local_addr().unwrap().port());
    let base = format!("http://{host}");
    let app = axum::Router::new()
        .route(
            "/.well-known/webfinger",
            axum::routing::get(
                |State(base): State<String>,
                 Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    let resource = q.get("resource").cloned().unwrap_or_default();
                    let name = resource
                        .trim_start_matches("acct:")
                        .split('@')
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let subscribe = json!({"rel": "http://ostatus.org/schema/1.0/subscribe",
                        "template": format!("{base}/authorize_interaction?uri={{uri}}")});
                    let own = json!({"rel": "self", "type": "application/activity+json",
                        "href": format!("{base}/users/{name}")});
                    let links = match name.as_str() {
                        "fep" => json!([own, subscribe,
                            {"rel": "https://w3id.org/fep/3b86/Like",
                             "template": format!("{base}/like?id={{object}}&back={{on-success}}")},
                            {"rel": "https://w3id.org/fep/3b86/Follow",
                             "template": format!("{base}/follow/{{object}}")},
                            {"rel": "https://w3id.org/fep/3b86/Create",
                             "template": format!("{base}/share?text={{content}}")}]),
                        "masto" => json!([own, subscribe]),
                        "bare" => json!([own]),
                        _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
                    };
                    axum::Json(json!({"subject": resource, "links": links})).into_response()
                },
            ),
        )
        .with_state(base);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    host
}

#[tokio::test]
async fn the_handle_form_names_what_it_is_for_and_carries_a_token() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let (page, cookie, token) = open_interact(&fx, "like", &ap_id(&idea)).await;
    assert_eq!(cookie, token);
    assert!(
        page.contains("<h1>Support from your own server</h1>"),
        "{page}"
    );
    assert!(page.contains("“Lighter casing”"));
    assert!(page.contains("<label for=\"remote-handle\">Your fediverse handle</label>"));
    assert!(page.contains("id=\"remote-handle\" name=\"handle\""));
    assert!(page.contains(">Continue</button>"));
    assert_eq!(hidden(&page, "object"), ap_id(&idea));
    assert_eq!(hidden(&page, "intent"), "like");
    // In German too.
    let resp = fx
        .respond(
            browser(
                "GET",
                &format!("/interact?intent=reply&object={}", encode(&ap_id(&idea))),
            )
            .header(header::ACCEPT_LANGUAGE, "de")
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    let (_, _, page) = html(resp).await;
    assert!(page.contains("Vom eigenen Server aus antworten"), "{page}");
}

#[tokio::test]
async fn only_rooms_and_ideas_this_node_shows_are_taken() {
    let fx = Fixture::new().await;
    let room = fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    fx.room("vault", "private").await;
    let hidden_idea = fx.idea("vault", "Secret plan").await;
    let cases = [
        ("like", "https://evil.example/ideas/1".to_string(), 400),
        ("follow", "https://evil.example/r/x".to_string(), 400),
        ("boost", ap_id(&idea), 400),
        ("like", format!("http://{DOMAIN}/ideas/nope"), 404),
        ("like", ap_id(&hidden_idea), 404),
        ("follow", ap_id(&idea), 404),
        ("like", ap_id(&room), 404),
    ];
    for (intent, object, status) in cases {
        let resp = fx
            .respond(
                browser(
                    "GET",
                    &format!("/interact?intent={intent}&object={}", encode(&object)),
                )
                .body(Body::empty())
                .unwrap(),
            )
            .await;
        let (s, _, page) = html(resp).await;
        assert_eq!(s, status, "{intent} {object}: {page}");
        assert!(!page.contains("remote-handle"), "no form for {object}");
    }
    // Nor does posting the form straight away send anyone anywhere.
    let (_, cookie, token) = open_interact(&fx, "follow", &ap_id(&room)).await;
    let body = format!(
        "intent=like&object={}&handle=alice%40{DOMAIN}&csrf={token}",
        encode("https://evil.example/ideas/1")
    );
    let resp = fx
        .respond(form(
            "/interact",
            Some(format!("cocreate_form={cookie}")),
            body,
        ))
        .await;
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get(header::LOCATION).is_none());
}

#[tokio::test]
async fn the_handle_form_needs_its_token() {
    let fx = Fixture::new().await;
    let room = fx.public_room("widgets").await;
    let body = format!(
        "intent=follow&object={}&handle=alice%40{DOMAIN}",
        encode(&ap_id(&room))
    );
    for cookie in [None, Some("cocreate_form=abc".to_string())] {
        let with_token = format!("{body}&csrf=xyz");
        let resp = fx.respond(form("/interact", cookie, with_token)).await;
        let (status, headers, page) = html(resp).await;
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("open it again"), "{page}");
        assert!(headers.get(header::LOCATION).is_none());
    }
}

#[tokio::test]
async fn a_bad_handle_comes_back_marked_with_the_input_kept() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let resp = post_handle(&fx, "reply", &ap_id(&idea), "ana at home").await;
    let (status, headers, page) = html(resp).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("value=\"ana at home\""),
        "the input is kept: {page}"
    );
    assert!(page.contains("aria-invalid=\"true\""));
    assert!(page.contains("aria-describedby=\"remote-handle-error remote-handle-help\""));
    assert!(page.contains("id=\"remote-handle-error\""));
    assert!(page.contains("name@your.server"), "{page}");
    // A fresh token, so the visitor can correct and send again.
    assert_eq!(
        cookie_value(&headers, "cocreate_form").unwrap(),
        hidden(&page, "csrf")
    );
    // An account this node does not have.
    let resp = post_handle(&fx, "reply", &ap_id(&idea), &format!("@nobody@{DOMAIN}")).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 400);
    assert!(page.contains("there is no account nobody on"), "{page}");
}

#[tokio::test]
async fn a_server_that_cannot_be_reached_is_named() {
    let fx = Fixture::new().await;
    let room = fx.public_room("widgets").await;
    let resp = post_handle(&fx, "follow", &ap_id(&room), "ana@127.0.0.1:1").await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 502);
    assert!(
        page.contains("could not reach 127.0.0.1:1 to find your account"),
        "{page}"
    );
    assert!(page.contains("value=\"ana@127.0.0.1:1\""));
}

#[tokio::test]
async fn a_handle_of_this_node_leads_to_its_own_intents() {
    let fx = Fixture::new().await;
    let room = fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let base = format!("http://{DOMAIN}");
    let resp = post_handle(&fx, "like", &ap_id(&idea), &format!("@alice@{DOMAIN}")).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&resp),
        format!("{base}/intents/like?object={}", rfc3986(&ap_id(&idea)))
    );
    let resp = post_handle(&fx, "reply", &ap_id(&idea), &format!("alice@{DOMAIN}")).await;
    assert_eq!(
        location(&resp),
        format!(
            "{base}/intents/create?inReplyTo={}&content=",
            rfc3986(&ap_id(&idea))
        )
    );
    let resp = post_handle(&fx, "follow", &ap_id(&room), &format!("alice@{DOMAIN}")).await;
    assert_eq!(
        location(&resp),
        format!("{base}/intents/follow?object={}", rfc3986(&ap_id(&room)))
    );
}

#[tokio::test]
async fn other_servers_intents_then_their_subscribe_template_then_authorize_interaction() {
    let fx = Fixture::new().await;
    let room = fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let host = webfinger_server().await;
    let base = format!("http://{host}");
    let (room_id, idea_id) = (rfc3986(&ap_id(&room)), rfc3986(&ap_id(&idea)));
    let cases = [
        // FEP-3b86, unknown parameters left empty.
        (
            "fep",
            "like",
            ap_id(&idea),
            format!("{base}/like?id={idea_id}&back="),
        ),
        (
            "fep",
            "follow",
            ap_id(&room),
            format!("{base}/follow/{room_id}"),
        ),
        // Its Create intent cannot carry the idea answered: Mastodon's template instead.
        (
            "fep",
            "reply",
            ap_id(&idea),
            format!("{base}/authorize_interaction?uri={idea_id}"),
        ),
        (
            "masto",
            "like",
            ap_id(&idea),
            format!("{base}/authorize_interaction?uri={idea_id}"),
        ),
        (
            "bare",
            "follow",
            ap_id(&room),
            format!("{base}/authorize_interaction?uri={room_id}"),
        ),
    ];
    for (name, intent, object, expected) in cases {
        let resp = post_handle(&fx, intent, &object, &format!("@{name}@{host}")).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{name} {intent}");
        assert_eq!(location(&resp), expected, "{name} {intent}");
    }
    let resp = post_handle(&fx, "like", &ap_id(&idea), &format!("nobody@{host}")).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 400);
    assert!(
        page.contains(&format!("{host} does not know the account nobody@{host}")),
        "{page}"
    );
}

#[tokio::test]
async fn webfinger_advertises_the_intents_of_people_only() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let webfinger = |name: &str| {
        Request::builder()
            .uri(format!(
                "/.well-known/webfinger?resource=acct:{name}@{DOMAIN}"
            ))
            .body(Body::empty())
            .unwrap()
    };
    let (s, jrd) = fx.send(webfinger("alice")).await;
    assert_eq!(s, 200, "{jrd}");
    let template = |rel: &str| {
        jrd["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == rel)
            .and_then(|l| l["template"].as_str())
            .map(String::from)
    };
    let base = format!("http://{DOMAIN}");
    let fep = "https://w3id.org/fep/3b86/";
    let expected = [
        ("Follow", format!("{base}/intents/follow?object={{object}}")),
        ("Like", format!("{base}/intents/like?object={{object}}")),
        (
            "Create",
            format!("{base}/intents/create?inReplyTo={{inReplyTo}}&content={{content}}"),
        ),
        ("Object", format!("{base}/intents/object?object={{object}}")),
    ];
    for (kind, url) in expected {
        assert_eq!(template(&format!("{fep}{kind}")), Some(url), "{kind}");
    }
    assert_eq!(
        template("http://ostatus.org/schema/1.0/subscribe"),
        Some(format!("{base}/authorize_interaction?uri={{uri}}"))
    );
    assert!(jrd["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "self"));
    let (s, room) = fx.send(webfinger("widgets")).await;
    assert_eq!(s, 200);
    assert!(
        room["links"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l.get("template").is_none()),
        "rooms do not act: {room}"
    );
}

#[tokio::test]
async fn intent_pages_send_visitors_to_sign_in_and_back() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let path = format!("/intents/like?object={}", encode(&ap_id(&idea)));
    let resp = fx
        .respond(browser("GET", &path).body(Body::empty()).unwrap())
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let login = location(&resp);
    assert!(login.starts_with("/login?"), "{login}");
    assert_eq!(query_value(&login, "next").as_deref(), Some(path.as_str()));
    internals::set_password(&fx.ctx().await, "bob", PASSWORD)
        .await
        .unwrap();
    let (_, headers, page) = html(
        fx.respond(browser("GET", &login).body(Body::empty()).unwrap())
            .await,
    )
    .await;
    assert_eq!(hidden(&page, "next"), path.replace('&', "&amp;"));
    let cookie = cookie_value(&headers, "cocreate_form").unwrap();
    let body = format!(
        "username=bob&password={}&csrf={}&next={}",
        encode(PASSWORD),
        hidden(&page, "csrf"),
        encode(&path)
    );
    let resp = fx
        .respond(form(
            "/login",
            Some(format!("cocreate_form={cookie}")),
            body,
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), path, "back to the intent");
    // Another server is never a place to come back to.
    let (_, headers, page) = html(
        fx.respond(
            browser("GET", "/login?next=%2F%2Fevil.example%2F")
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(!page.contains("name=\"next\""), "{page}");
    let cookie = cookie_value(&headers, "cocreate_form").unwrap();
    let body = format!(
        "username=bob&password={}&csrf={}&next=%2F%2Fevil.example%2F",
        encode(PASSWORD),
        hidden(&page, "csrf")
    );
    let resp = fx
        .respond(form(
            "/login",
            Some(format!("cocreate_form={cookie}")),
            body,
        ))
        .await;
    assert_eq!(location(&resp), "/");
}

#[tokio::test]
async fn a_signed_in_person_supports_and_answers_through_the_intent_pages() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let session = sign_in(&fx, "bob").await;
    let cookie = Some(format!("cocreate_session={session}"));
    let (status, page) = page_as(
        &fx,
        &session,
        &format!("/intents/like?object={}", encode(&ap_id(&idea))),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Support “Lighter casing”"), "{page}");
    assert!(page.contains(">Support</button>"));
    let csrf = hidden(&page, "csrf");
    // Without the session's token nothing happens.
    let resp = fx
        .respond(form(
            "/intents/like",
            cookie.clone(),
            format!("object={}&csrf=forged", encode(&ap_id(&idea))),
        ))
        .await;
    assert_eq!(resp.status(), 403);
    let resp = fx
        .respond(form(
            "/intents/like",
            None,
            format!("object={}&csrf={csrf}", encode(&ap_id(&idea))),
        ))
        .await;
    assert_eq!(resp.status(), 401);
    let (_, after) = fx.get(&idea_path(&idea["id"]), &bob).await;
    assert_eq!(after["support_count"], 0);
    // With it: supported, and the page says so.
    let resp = fx
        .respond(form(
            "/intents/like",
            cookie.clone(),
            format!("object={}&csrf={csrf}", encode(&ap_id(&idea))),
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let done = location(&resp);
    assert!(done.starts_with("/intents/object?"), "{done}");
    assert_eq!(query_value(&done, "object"), Some(ap_id(&idea)));
    assert_eq!(query_value(&done, "done").as_deref(), Some("like"));
    let (_, after) = fx.get(&idea_path(&idea["id"]), &bob).await;
    assert_eq!(after["support_count"], 1);
    let (_, page) = page_as(&fx, &session, &done).await;
    assert!(page.contains("Done: you support this idea."), "{page}");

    // Answering: the text prefilled from the link; an empty answer comes back marked.
    let create = format!(
        "/intents/create?inReplyTo={}&content=Nice%20idea",
        encode(&ap_id(&idea))
    );
    let (status, page) = page_as(&fx, &session, &create).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(">Nice idea</textarea>"), "{page}");
    assert!(page.contains("<label for=\"reply-content\">Your reply</label>"));
    let resp = fx
        .respond(form(
            "/intents/create",
            cookie.clone(),
            format!("inReplyTo={}&content=+&csrf={csrf}", encode(&ap_id(&idea))),
        ))
        .await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("aria-invalid=\"true\" aria-describedby=\"reply-content-error\""));
    assert!(page.contains("id=\"reply-content-error\""));
    let resp = fx
        .respond(form(
            "/intents/create",
            cookie,
            format!(
                "inReplyTo={}&content=Use+**recycled**+aluminium&csrf={csrf}",
                encode(&ap_id(&idea))
            ),
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, after) = fx.get(&idea_path(&idea["id"]), &bob).await;
    assert_eq!(after["comment_count"], 1, "{after}");
    assert!(after["comments"][0]["content"]
        .as_str()
        .unwrap()
        .contains("<strong>recycled</strong>"));
}

#[tokio::test]
async fn a_signed_in_person_follows_through_authorize_interaction() {
    let fx = Fixture::new().await;
    let room = fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let session = sign_in(&fx, "bob").await;
    // By the room's id, or by its handle as Mastodon's links may give it.
    for uri in [ap_id(&room), format!("acct:widgets@{DOMAIN}")] {
        let (status, page) = page_as(
            &fx,
            &session,
            &format!("/authorize_interaction?uri={}", encode(&uri)),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Follow widgets"), "{page}");
        assert!(page.contains(">Follow</button>"));
        assert_eq!(hidden(&page, "object"), ap_id(&room));
    }
    let authorize = format!("/authorize_interaction?uri={}", encode(&ap_id(&room)));
    let (_, page) = page_as(&fx, &session, &authorize).await;
    let resp = fx
        .respond(form(
            "/intents/follow",
            Some(format!("cocreate_session={session}")),
            format!(
                "object={}&csrf={}",
                encode(&ap_id(&room)),
                hidden(&page, "csrf")
            ),
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, follows) = fx.get("/api/v1/follows", &bob).await;
    assert_eq!(
        follows[0]["target"]["ap_id"],
        ap_id(&room).as_str(),
        "{follows}"
    );
    assert_eq!(follows[0]["state"], "accepted");
    let (_, page) = page_as(&fx, &session, &location(&resp)).await;
    assert!(page.contains("You follow this."), "{page}");
    assert!(!page.contains(">Follow</button>"), "nothing left to do");
    // Nothing at an address of this node, and no page for what is not there.
    let (status, _) = page_as(
        &fx,
        &session,
        &format!(
            "/intents/object?object={}",
            encode(&format!("http://{DOMAIN}/r/nope"))
        ),
    )
    .await;
    assert_eq!(status, 404);
}
