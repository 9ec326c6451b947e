//! End-to-end tests in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over chromedriver, against real `cocreate` processes: what a person sees and does.
//!
//! - [`sign_in_and_the_pages_of_a_node`]: the sign-in form (also with an error), home, a room
//!   and an idea; axe-core on each, in light and dark mode; screenshots at phone and desktop
//!   width written to `target/screenshots/`.
//! - [`security_end_to_end`]: a form posted without its CSRF token is refused, the session
//!   cookie's flags (`Secure` outside development mode), slowed sign-in after five failures.
//! - [`co_creation_in_the_browser`]: staff creates a room, submits an idea, a second account
//!   supports and comments, staff changes the stage with an answer; each page shows each step.
//! - [`an_idea_from_another_node`]: a node follows a room of another from its home page, and
//!   the idea renders with its remote author and a link to its origin.
//! - [`a_handoff_shows_its_path`]: a handed-off idea shows both organisations.
//!
//! Elements are found by their visible label or text (the pages' interface contract), through
//! the verbs of [`driver::Browser`]. Without Chromium and chromedriver each test says SKIPPED
//! and passes, unless `COCREATE_TEST_BROWSER=1` (set by `.ci/run`), where it fails. axe-core
//! comes from `tests/browser/node_modules` (`npm ci` in `tests/browser`).

mod common;
#[path = "browser/driver.rs"]
mod driver;

use common::*;
use driver::Browser;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// A node with a public room "Widgets 2027" (by staff `alice`) holding an idea by `bob`;
/// both can sign in with [`PASSWORD`]. The staff token and the idea.
async fn node_with_a_room(name: &str, config: &str) -> (Node, String, Value) {
    let node = Node::start_with_config(name, Backend::Sqlite, config).await;
    let staff = node.add_user_with_password("alice", true, PASSWORD);
    let member = node.add_user_with_password("bob", false, PASSWORD);
    let (s, room) = node
        .post(
            "/api/v1/rooms",
            &staff,
            json!({"name": "widgets", "title": "Widgets 2027",
                "summary": "Next-gen widgets", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{room}");
    let (s, idea) = node
        .post(
            "/api/v1/rooms/widgets/ideas",
            &member,
            json!({"title": "Lighter casing", "body": "Use **recycled** aluminium"}),
        )
        .await;
    assert_eq!(s, 201, "{idea}");
    (node, staff, idea)
}

/// Sign-in (with a wrong password first), home, room and idea: each passes axe-core in light
/// and dark mode, and is photographed at phone and desktop width.
#[tokio::test]
async fn sign_in_and_the_pages_of_a_node() {
    if !driver::available() {
        return;
    }
    let (node, _, idea) = node_with_a_room("A", "").await;
    let b = Browser::start().await;
    let base = &node.base;

    b.step("the sign-in page");
    b.goto(&format!("{base}/login")).await;
    b.expect_text("Sign in").await;
    b.check_accessibility("sign-in").await;
    b.screenshots("sign-in").await;

    b.step("a wrong password gives the form again with the reason and the name kept");
    b.fill("Username", "alice").await;
    b.fill("Password", "not the password").await;
    b.press("Sign in").await;
    b.expect_text("wrong username or password").await;
    let kept = b.field("Username").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("alice"), "the name is kept");
    assert!(
        !b.has_button("Sign out").await,
        "not signed in by a wrong password"
    );
    b.check_accessibility("sign-in with an error").await;
    b.screenshots("sign-in-error").await;

    b.step("signing in");
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    assert!(b.has_button("Sign out").await, "signed in");
    b.expect_text("alice").await;
    let session = b
        .cookie("cocreate_session")
        .await
        .expect("a session cookie");
    assert_eq!(session.http_only(), Some(true), "{session}");
    assert_eq!(
        format!("{:?}", session.same_site()),
        "Some(Lax)",
        "{session}"
    );
    assert_ne!(
        session.secure(),
        Some(true),
        "development mode serves plain http: {session}"
    );

    b.step("the home page");
    b.goto(&format!("{base}/")).await;
    b.expect_text("Widgets 2027").await;
    b.expect_text(&format!("@{}", node.handle("widgets"))).await;
    b.check_accessibility("home").await;
    b.screenshots("home").await;

    b.step("the room page");
    b.click_link("Widgets 2027").await;
    assert_eq!(b.url().await, format!("{base}/r/widgets"));
    b.expect_text("Lighter casing").await;
    b.check_accessibility("room").await;
    b.screenshots("room").await;

    b.step("the idea page");
    b.click_link("Lighter casing").await;
    assert_eq!(b.url().await, idea["ap_id"].as_str().unwrap());
    b.expect_text("recycled aluminium").await;
    b.check_accessibility("idea").await;
    b.screenshots("idea").await;

    b.step("the accessibility check finds a violation when there is one");
    if let Some(audit) = b.axe().await {
        assert!(
            audit.passed > 10,
            "axe-core ran its rules: {}",
            audit.passed
        );
        b.client
            .execute(
                "document.querySelector('main').insertAdjacentHTML('beforeend', \
                 '<input id=\"unlabelled\" type=\"text\">')",
                vec![],
            )
            .await
            .unwrap();
        let audit = b.axe().await.unwrap();
        assert!(
            audit
                .violations
                .iter()
                .any(|v| v["id"] == "label" && v["impact"] == "critical"),
            "an input without a label is a critical violation: {:?}",
            audit.violations
        );
    }

    b.step("dark mode");
    b.dark_mode(true).await;
    for (page, path) in [
        ("idea", idea["ap_id"].as_str().unwrap().replace(base, "")),
        ("room", "/r/widgets".to_string()),
        ("sign-in", "/login".to_string()),
        ("home", "/".to_string()),
    ] {
        b.goto(&format!("{base}{path}")).await;
        b.check_accessibility(&format!("{page} (dark)")).await;
    }
    b.screenshots("home-dark").await;
    b.dark_mode(false).await;

    b.step("signing out");
    b.sign_out().await;
    b.expect_no_text("Sign out").await;
    b.expect_text("Sign in").await;
    b.quit().await;
}

/// The sign-in form of `node` opened without a browser: its cookie and its token.
async fn open_login(http: &reqwest::Client, base: &str) -> (String, String) {
    let resp = http.get(format!("{base}/login")).send().await.unwrap();
    let cookie = set_cookies(&resp)
        .iter()
        .find_map(|c| c.strip_prefix("cocreate_form="))
        .map(|rest| rest.split(';').next().unwrap().to_string())
        .expect("the sign-in form sets its cookie");
    let page = resp.text().await.unwrap();
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    (cookie, page[at..].split('"').next().unwrap().to_string())
}

fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// Posts the sign-in form without a browser; the answer.
async fn post_login(
    http: &reqwest::Client,
    base: &str,
    form_cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = http
        .post(format!("{base}/login"))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body);
    if let Some(c) = form_cookie {
        req = req.header(reqwest::header::COOKIE, format!("cocreate_form={c}"));
    }
    req.send().await.unwrap()
}

/// A node outside development mode on a loopback port (its ids say `https://`; it is reached
/// here over plain http); killed on drop.
struct ProductionNode {
    child: std::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl ProductionNode {
    async fn start() -> ProductionNode {
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let env = [
            ("COCREATE_DOMAIN", format!("localhost:{port}")),
            ("COCREATE_LISTEN", format!("127.0.0.1:{port}")),
            (
                "COCREATE_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("node.db").display()),
            ),
        ];
        let mut add = Command::new(env!("CARGO_BIN_EXE_cocreate"))
            .args(["user", "add", "alice", "--password-stdin"])
            .envs(env.clone())
            .env_remove("COCREATE_DEV")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = add.stdin.take().unwrap();
            writeln!(stdin, "{PASSWORD}").unwrap();
        }
        let out = add.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "user add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let child = Command::new(env!("CARGO_BIN_EXE_cocreate"))
            .arg("serve")
            .envs(env)
            .env_remove("COCREATE_DEV")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let node = ProductionNode {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        eventually(30, "the production-mode node answers", || async {
            reqwest::get(format!("{}/login", node.base)).await.ok()
        })
        .await;
        node
    }
}

impl Drop for ProductionNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Through the real process: a form posted without its CSRF token is refused; the session
/// cookie is `HttpOnly`, `SameSite=Lax`, and `Secure` outside development mode; a wrong
/// password is refused, and after five failures in 15 minutes the sixth attempt gets 429.
#[tokio::test]
async fn security_end_to_end() {
    if !driver::available() {
        return;
    }
    let (node, _, _) = node_with_a_room("A", "").await;
    let base = &node.base;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Without a browser: the sign-in form without its token is refused, and no session made.
    let resp = post_login(
        &http,
        base,
        None,
        &[("username", "alice"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert!(set_cookies(&resp)
        .iter()
        .all(|c| !c.starts_with("cocreate_session=")));
    assert!(resp.text().await.unwrap().contains("open it again"));

    // The session cookie's flags in development mode.
    let (cookie, token) = open_login(&http, base).await;
    let resp = post_login(
        &http,
        base,
        Some(&cookie),
        &[
            ("username", "alice"),
            ("password", PASSWORD),
            ("csrf", &token),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let session = set_cookies(&resp)
        .into_iter()
        .find(|c| c.starts_with("cocreate_session="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(flag), "{flag}: {session}");
    }
    assert!(!session.contains("Secure"), "development mode: {session}");

    // Outside development mode the cookie is also Secure.
    let prod = ProductionNode::start().await;
    let (cookie, token) = open_login(&http, &prod.base).await;
    let resp = post_login(
        &http,
        &prod.base,
        Some(&cookie),
        &[
            ("username", "alice"),
            ("password", PASSWORD),
            ("csrf", &token),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let session = set_cookies(&resp)
        .into_iter()
        .find(|c| c.starts_with("cocreate_session="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(session.contains(flag), "{flag} outside dev mode: {session}");
    }
    drop(prod);

    let b = Browser::start().await;
    b.step("a signed-in form posted without its CSRF token is refused");
    b.sign_in(base, "alice", PASSWORD).await;
    b.goto(&format!("{base}/")).await;
    b.client
        .execute(
            "document.querySelectorAll('form[action=\"/follow\"] input[name=csrf]')\
               .forEach(i => i.remove())",
            vec![],
        )
        .await
        .unwrap();
    b.fill("Room handle", "widgets@localhost:1").await;
    b.press("Follow").await;
    b.expect_text("Not allowed").await;
    b.goto(&format!("{base}/")).await;
    assert!(b.has_button("Sign out").await, "still signed in");
    b.expect_text("This node follows no rooms of other nodes yet.")
        .await;
    b.sign_out().await;

    b.step("five wrong passwords, then every attempt is refused for a while");
    for attempt in 1..=5 {
        b.goto(&format!("{base}/login")).await;
        b.fill("Username", "bob").await;
        b.fill("Password", &format!("wrong password {attempt}"))
            .await;
        b.press("Sign in").await;
        b.expect_text("wrong username or password").await;
    }
    b.goto(&format!("{base}/login")).await;
    b.fill("Username", "bob").await;
    b.fill("Password", "wrong password 6").await;
    b.press("Sign in").await;
    b.expect_text("too many failed sign-ins").await;
    let kept = b.field("Username").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("bob"), "the name is kept");
    b.check_accessibility("sign-in, too many attempts").await;
    b.step("the right password is refused too, with 429");
    let (cookie, token) = open_login(&http, base).await;
    let resp = post_login(
        &http,
        base,
        Some(&cookie),
        &[
            ("username", "bob"),
            ("password", PASSWORD),
            ("csrf", &token),
        ],
    )
    .await;
    assert_eq!(resp.status(), 429);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("too many failed sign-ins"));
    b.quit().await;
}

/// The whole co-creation loop in the browser, against the pages' interface contract: staff
/// creates a room and submits an idea, a second account supports and comments, staff changes
/// the stage with an answer; the room and idea pages show each step.
#[tokio::test]
async fn co_creation_in_the_browser() {
    if !driver::available() {
        return;
    }
    let node = Node::start("A", Backend::Sqlite).await;
    node.add_user_with_password("alice", true, PASSWORD);
    node.add_user_with_password("bob", false, PASSWORD);
    let base = &node.base;
    let b = Browser::start().await;

    b.step("staff signs in and creates a room");
    b.sign_in(base, "alice", PASSWORD).await;
    b.goto(&format!("{base}/rooms/new")).await;
    b.fill("Name", "widgets").await;
    b.fill("Title", "Widgets 2027").await;
    b.fill("Summary", "Next-gen widgets").await;
    b.select("Visibility", "public").await;
    b.press("Create room").await;
    b.expect_text("Widgets 2027").await;

    b.step("the home page lists the new room");
    b.goto(&format!("{base}/")).await;
    b.expect_text("Widgets 2027").await;

    b.step("staff submits an idea on the room page");
    b.goto(&format!("{base}/r/widgets")).await;
    b.fill("Title", "Lighter casing").await;
    b.fill("Description", "Use **recycled** aluminium").await;
    b.press("Submit idea").await;
    b.expect_text("Lighter casing").await;
    b.expect_text("recycled aluminium").await;
    let idea_url = b.url().await;
    let uuid = idea_url
        .strip_prefix(&format!("{base}/ideas/"))
        .unwrap_or_else(|| panic!("the idea's page is at /ideas/{{uuid}}, not {idea_url}"));
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{idea_url}");

    b.step("the room page lists the idea");
    b.goto(&format!("{base}/r/widgets")).await;
    b.expect_text("Lighter casing").await;
    b.check_accessibility("room, signed in, with its form")
        .await;
    b.sign_out().await;

    b.step("a second account supports the idea");
    b.sign_in(base, "bob", PASSWORD).await;
    b.goto(&idea_url).await;
    b.press("Support").await;
    assert!(
        b.has_button("Withdraw support").await,
        "after supporting, the button withdraws"
    );
    b.expect_text("1 support").await;

    b.step("the second account comments");
    b.fill("Comment", "We can supply the aluminium").await;
    b.press("Post comment").await;
    b.expect_text("We can supply the aluminium").await;
    b.expect_text("bob").await;
    b.check_accessibility("idea, signed in, with its forms")
        .await;
    b.sign_out().await;

    b.step("staff changes the stage with an answer");
    b.sign_in(base, "alice", PASSWORD).await;
    b.goto(&idea_url).await;
    b.select("Stage", "under_review").await;
    b.fill("Answer", "Engineering will check the alloy").await;
    b.press("Change stage").await;
    b.expect_text("Engineering will check the alloy").await;
    b.expect_text("under review").await;
    b.expect_text("We can supply the aluminium").await;
    b.expect_text("1 support").await;
    b.check_accessibility("idea, as staff").await;
    b.screenshots("idea-staff").await;

    b.step("the room page shows the idea's new stage");
    b.goto(&format!("{base}/r/widgets")).await;
    b.expect_text("Lighter casing").await;
    b.expect_text("under review").await;
    b.screenshots("room-signed-in").await;
    b.quit().await;
}

/// Node A follows, from its home page, a room of node B that holds an idea by a person of B;
/// A's home lists the room, and the idea renders with its remote author and a link to its
/// origin.
#[tokio::test]
async fn an_idea_from_another_node() {
    if !driver::available() {
        return;
    }
    let (remote, _, idea) = node_with_a_room("B", "org_display_name = \"Bolt Supplies\"").await;
    let node =
        Node::start_with_config("A", Backend::Sqlite, "org_display_name = \"Acme Makers\"").await;
    node.add_user_with_password("amir", false, PASSWORD);
    let base = &node.base;
    let b = Browser::start().await;

    b.step("A follows B's room from its home page");
    b.sign_in(base, "amir", PASSWORD).await;
    b.goto(&format!("{base}/")).await;
    b.fill("Room handle", &remote.handle("widgets")).await;
    b.press("Follow").await;
    b.expect_text_eventually(&format!("{base}/"), "Widgets 2027", 20)
        .await;
    b.expect_text(&format!("@{}", remote.handle("widgets")))
        .await;
    b.check_accessibility("home, following a room").await;

    b.step("the followed room has its page here, with B's idea and a link to B");
    b.click_link("Widgets 2027").await;
    let here = format!("{base}/remote/rooms/{}", remote.handle("widgets"));
    assert_eq!(b.url().await, here);
    b.expect_text_eventually(&here, "Lighter casing", 20).await;
    b.expect_link_to(&format!("{}/r/widgets", remote.base))
        .await;
    b.check_accessibility("a followed room of another node")
        .await;

    b.step("the idea renders with its remote author and a link to its origin");
    b.click_link("Lighter casing").await;
    assert!(b.url().await.starts_with(&format!("{base}/remote/ideas/")));
    b.expect_text(&remote.handle("bob")).await;
    b.expect_link_to(idea["ap_id"].as_str().unwrap()).await;
    b.check_accessibility("an idea of another node").await;
    b.quit().await;
}

/// A hands an idea to X, which accepts it into its room: the copy's page shows the path from
/// one organisation to the other, and the original links to the copy.
#[tokio::test]
async fn a_handoff_shows_its_path() {
    if !driver::available() {
        return;
    }
    let (a, alice, idea) = node_with_a_room("A", "org_display_name = \"Acme Makers\"").await;
    let x =
        Node::start_with_config("X", Backend::Sqlite, "org_display_name = \"Xeno Retail\"").await;
    let xena = x.add_user("xena", true);
    let (s, e) = x
        .post(
            "/api/v1/rooms",
            &xena,
            json!({"name": "intake", "title": "Intake", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    let x_org = x.organization(&xena).await;
    let a_org = a.organization(&alice).await;
    assert_eq!(x_org["name"], "Xeno Retail");
    let (s, offer) = a
        .post(
            &format!("{}/handoffs", idea_path(&idea["id"])),
            &alice,
            json!({"to": x_org["handle"], "message": "You have the stores"}),
        )
        .await;
    assert_eq!(s, 201, "{offer}");
    let received = eventually(20, "the offer reaches X", || async {
        let (_, list) = x.get("/api/v1/handoffs?direction=incoming", &xena).await;
        list.as_array()?
            .iter()
            .find(|h| h["state"] == "pending")
            .cloned()
    })
    .await;
    let (s, accepted) = x
        .post(
            &format!("/api/v1/handoffs/{}/accept", received["id"]),
            &xena,
            json!({"room": "intake"}),
        )
        .await;
    assert_eq!(s, 200, "{accepted}");
    let copy = accepted["result"].as_str().unwrap().to_string();
    a.get_until(
        &idea_path(&idea["id"]),
        &alice,
        20,
        "A's idea is handed off",
        |_, i| i["handed_off_to"] == copy.as_str(),
    )
    .await;
    let b = Browser::start().await;

    b.step("the original idea is handed off and links to its copy");
    b.goto(idea["ap_id"].as_str().unwrap()).await;
    b.expect_text("handed off").await;
    b.expect_link_to(&copy).await;

    b.step("the copy shows its path from one organisation to the other");
    b.goto(&copy).await;
    b.expect_text("Lighter casing").await;
    b.expect_any_text(&["Acme Makers", a_org["handle"].as_str().unwrap()])
        .await;
    b.expect_any_text(&["Xeno Retail", x_org["handle"].as_str().unwrap()])
        .await;
    b.expect_link_to(idea["ap_id"].as_str().unwrap()).await;
    b.check_accessibility("handed-off idea").await;
    b.quit().await;
}
