//! The room and idea pages and their forms, as a browser uses them (cookies, CSRF tokens, form
//! posts): the phase banner, the board and the list, submitting with a preview, supporting,
//! threaded comments, stage changes with an answer, creating a room, and refusals in words.

use axum::body::Body;
use axum::http::{header, StatusCode};
use serde_json::json;

use crate::fixture::Fixture;
use crate::web;

const BASE: &str = "http://localhost:8999";

/// A signed-in browser: its session cookie and the CSRF token its forms carry.
struct Browser {
    session: String,
    csrf: String,
}

/// Signs `name` in through the form (giving them a password first).
async fn sign_in(fx: &Fixture, name: &str) -> Browser {
    let session = web::session_of(fx, name).await;
    let (_, _, home) = web::open(fx, &session, "/").await;
    Browser {
        csrf: web::hidden_csrf(&home),
        session,
    }
}

/// Opens a page as a browser that is not signed in.
async fn get_page(fx: &Fixture, path: &str) -> String {
    let resp = fx
        .respond(web::browser("GET", path).body(Body::empty()).unwrap())
        .await;
    web::html(resp).await.2
}

impl Browser {
    async fn get(&self, fx: &Fixture, path: &str) -> (StatusCode, String) {
        let (s, _, p) = web::open(fx, &self.session, path).await;
        (s, p)
    }

    /// Posts a form (the CSRF token added unless `with_token` is false): status, the redirect
    /// target, and the page.
    async fn post(
        &self,
        fx: &Fixture,
        path: &str,
        fields: &[(&str, &str)],
        with_token: bool,
    ) -> (StatusCode, Option<String>, String) {
        let mut fields = fields.to_vec();
        if with_token {
            fields.push(("csrf", &self.csrf));
        }
        let resp = web::post_form(fx, &self.session, path, &web::form(&fields)).await;
        let location = resp
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let (status, _, page) = web::html(resp).await;
        (status, location, page)
    }
}

/// The path of an idea's page from its ActivityPub id.
fn path_of(ap_id: &str) -> String {
    ap_id.trim_start_matches(BASE).to_string()
}

#[tokio::test]
async fn the_room_page_shows_the_phase_banner_board_terms_and_members() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    fx.set_phases(
        "widgets",
        json!([{"name": "ideation", "description": "Tell us what slows your workshop down.",
                "until": "2027-01-31", "submit": ["customer", "partner"], "comment": ["customer"],
                "support": ["customer"], "see": ["customer", "partner"]},
               {"name": "review", "submit": [], "comment": ["partner"], "support": [], "see": ["partner"]}]),
    )
    .await;
    let (s, _) = fx
        .put(
            "/api/v1/rooms/widgets/terms",
            &fx.staff,
            json!({"spdx": "CC-BY-4.0", "version": "2"}),
        )
        .await;
    assert_eq!(s, 204);
    let idea = fx.idea("widgets", "A quieter drill").await;
    fx.stage(&idea, "under_review").await;
    let me = sign_in(&fx, "alice").await;
    let (status, page) = me.get(&fx, "/r/widgets").await;
    assert_eq!(status, 200);
    for text in [
        "ideation",
        "(1/2)",
        "Tell us what slows your workshop down.",
        "2027-01-31",
        "New ideas from",
        "customers, partners",
        "CC-BY-4.0",
        "Version 2",
        "@alice@localhost:8999",
        "<caption>",
        ">Submit idea</button>",
        "<label for=\"idea-title\">Title</label>",
        "<label for=\"idea-body\">Description</label>",
        "A quieter drill",
        "id=\"col-under_review\"",
    ] {
        assert!(page.contains(text), "{text} missing from the room page");
    }
    // The home page gives the room's phase and when its ideas last changed.
    let (_, home) = me.get(&fx, "/").await;
    assert!(
        home.contains("Phase: ideation") && home.contains("latest activity <time"),
        "{home}"
    );
    // A visitor who is not signed in is offered to follow from their own server, and sees no
    // members.
    let anon = get_page(&fx, "/r/widgets").await;
    assert!(
        anon.contains(
            "/interact?intent=follow&#38;object=http%3A%2F%2Flocalhost%3A8999%2Fr%2Fwidgets"
        ),
        "{anon}"
    );
    assert!(!anon.contains("<caption>"));
    assert!(anon.contains("Sign in to submit an idea"));
}

#[tokio::test]
async fn an_idea_is_submitted_through_the_form_with_a_preview_and_marked_errors() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let me = sign_in(&fx, "alice").await;
    // Preview: the description rendered, the input kept, nothing submitted.
    let (status, _, page) = me
        .post(
            &fx,
            "/r/widgets/ideas",
            &[
                ("title", "Cordless glue gun"),
                ("body", "It **must** be cordless"),
                ("action", "preview"),
            ],
            true,
        )
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("<strong>must</strong>"), "{page}");
    assert!(page.contains("value=\"Cordless glue gun\""));
    assert!(page.contains(">It **must** be cordless</textarea>"));
    let (_, list) = fx.get("/api/v1/rooms/widgets/ideas", &fx.staff).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        0,
        "a preview submits nothing"
    );
    // No title: the field is marked, the description kept.
    let (status, _, page) = me
        .post(
            &fx,
            "/r/widgets/ideas",
            &[("title", " "), ("body", "kept text")],
            true,
        )
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("aria-invalid=\"true\" aria-describedby=\"idea-title-error\""));
    assert!(page.contains(">kept text</textarea>"));
    // Submitted: to the idea's page, which the board and a search find.
    let (status, location, _) = me
        .post(
            &fx,
            "/r/widgets/ideas",
            &[
                ("title", "Cordless glue gun"),
                ("body", "It must be cordless"),
                ("action", "submit"),
            ],
            true,
        )
        .await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(
        location.starts_with(&format!("{BASE}/ideas/")),
        "{location}"
    );
    let (_, board) = me.get(&fx, "/r/widgets").await;
    assert!(board.contains("Cordless glue gun"));
    let (_, found) = me.get(&fx, "/r/widgets?q=CORDLESS").await;
    assert!(
        found.contains("1 ideas found") && found.contains("Cordless glue gun"),
        "{found}"
    );
    let (_, none) = me.get(&fx, "/r/widgets?q=hammer").await;
    assert!(none.contains("0 ideas found") && !none.contains("Cordless glue gun"));
    let (_, filtered) = me.get(&fx, "/r/widgets?stage=launched").await;
    assert!(!filtered.contains("Cordless glue gun"));
    // Without the form's token nothing is submitted.
    let (status, _, _) = me
        .post(&fx, "/r/widgets/ideas", &[("title", "Forged")], false)
        .await;
    assert_eq!(status, 403);
    let (_, list) = fx.get("/api/v1/rooms/widgets/ideas", &fx.staff).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_list_sorts_by_support_or_recency_and_pages() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    for n in 0..27 {
        fx.idea("widgets", &format!("Idea number {n:02}")).await;
    }
    let popular = fx.idea("widgets", "The popular one").await;
    let bob = fx.user("bob").await;
    let (s, _) = fx
        .post(
            &format!("/api/v1/ideas/{}/support", popular["id"]),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let me = sign_in(&fx, "alice").await;
    let (_, by_support) = me.get(&fx, "/r/widgets?view=list&sort=support").await;
    let first = by_support.find("<ol class=\"idea-list\">").unwrap();
    let first_title = &by_support[first..first + 400];
    assert!(first_title.contains("The popular one"), "{first_title}");
    assert!(by_support.contains("28 ideas found"));
    assert!(by_support.contains("rel=\"next\""));
    let (_, recent) = me.get(&fx, "/r/widgets?view=list&sort=recent").await;
    let at = recent.find("<ol class=\"idea-list\">").unwrap();
    assert!(
        recent[at..at + 400].contains("The popular one"),
        "the newest first"
    );
    let (_, page2) = me.get(&fx, "/r/widgets?view=list&sort=recent&page=2").await;
    assert_eq!(
        page2.matches("<li class=\"card\">").count(),
        3,
        "25 per page"
    );
    assert!(page2.contains("rel=\"prev\""));
}

#[tokio::test]
async fn support_comments_and_a_stage_change_through_the_idea_page() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "A quieter drill").await;
    let id = idea["id"].as_i64().unwrap();
    let page_path = path_of(idea["ap_id"].as_str().unwrap());
    fx.user("bob").await;
    let bob = sign_in(&fx, "bob").await;
    let (_, page) = bob.get(&fx, &page_path).await;
    assert!(page.contains(">Support</button>"), "{page}");
    assert!(!page.contains(">Change stage</button>"), "bob is not staff");
    // Support, then withdraw.
    let (s, to, _) = bob.post(&fx, &format!("/i/{id}/support"), &[], true).await;
    assert_eq!(s, 303);
    assert!(to.unwrap().ends_with("#support"));
    let (_, page) = bob.get(&fx, &page_path).await;
    assert!(page.contains(">Withdraw support</button>"));
    assert!(page.contains("<strong class=\"count\">1</strong>"));
    bob.post(&fx, &format!("/i/{id}/withdraw"), &[], true).await;
    let (_, page) = bob.get(&fx, &page_path).await;
    assert!(
        page.contains(">Support</button>") && page.contains("<strong class=\"count\">0</strong>")
    );
    // A comment and a reply to it, threaded, by name.
    let (s, _, _) = bob
        .post(
            &fx,
            &format!("/i/{id}/comments"),
            &[("body", "Make it **quiet**")],
            true,
        )
        .await;
    assert_eq!(s, 303);
    let (_, ideas) = fx.get(&format!("/api/v1/ideas/{id}"), &fx.staff).await;
    let first = ideas["comments"][0]["ap_id"].as_str().unwrap().to_string();
    let alice = sign_in(&fx, "alice").await;
    let (s, _, _) = alice
        .post(
            &fx,
            &format!("/i/{id}/comments"),
            &[("body", "Agreed"), ("in_reply_to", &first)],
            true,
        )
        .await;
    assert_eq!(s, 303);
    let (_, page) = alice.get(&fx, &page_path).await;
    let bob_at = page.find("<strong>quiet</strong>").unwrap();
    let reply_at = page.find("class=\"depth-1\"").expect("the reply nests");
    assert!(bob_at < reply_at);
    assert!(
        page.contains("@bob@localhost:8999"),
        "authors by handle, not by URL"
    );
    // An empty comment is marked; a preview shows it rendered.
    let (s, _, page) = alice
        .post(&fx, &format!("/i/{id}/comments"), &[("body", "")], true)
        .await;
    assert_eq!(s, 400);
    assert!(page.contains("aria-invalid=\"true\""));
    let (_, _, page) = alice
        .post(
            &fx,
            &format!("/i/{id}/comments"),
            &[("body", "_soft_"), ("action", "preview")],
            true,
        )
        .await;
    assert!(page.contains("<em>soft</em>") && page.contains(">_soft_</textarea>"));
    // Staff change the stage with an answer; it is shown on top and in the timeline.
    let (_, page) = alice.get(&fx, &page_path).await;
    assert!(
        page.contains("<label for=\"stage\">Stage</label>")
            && page.contains("<label for=\"stage-answer\">Answer</label>")
    );
    let (s, _, page) = alice
        .post(
            &fx,
            &format!("/i/{id}/stage"),
            &[("stage", "under_review"), ("answer", " ")],
            true,
        )
        .await;
    assert_eq!(s, 400, "an answer is required");
    assert!(page.contains("stage-answer-error"));
    let (s, _, _) = alice
        .post(
            &fx,
            &format!("/i/{id}/stage"),
            &[
                ("stage", "under_review"),
                ("answer", "We are measuring the noise."),
            ],
            true,
        )
        .await;
    assert_eq!(s, 303);
    let (_, page) = bob.get(&fx, &page_path).await;
    let answer = page.find("Official answer").expect("the answer on top");
    assert!(answer < page.find("class=\"prose\"").unwrap());
    assert!(page.contains("We are measuring the noise."));
    let timeline = &page[page.find("class=\"timeline\"").unwrap()..];
    assert!(timeline.contains("suggested") && timeline.contains("under review"));
}

#[tokio::test]
async fn a_phase_that_refuses_says_why_in_words() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "A quieter drill").await;
    fx.set_phases(
        "widgets",
        json!([{"name": "review", "submit": [], "comment": ["partner"], "support": [], "see": ["customer"]}]),
    )
    .await;
    fx.user("bob").await;
    let bob = sign_in(&fx, "bob").await;
    let (_, page) = bob
        .get(&fx, &path_of(idea["ap_id"].as_str().unwrap()))
        .await;
    assert!(
        page.contains("in the phase &#39;review&#39; a customer may not support ideas")
            || page.contains("in the phase 'review' a customer may not support ideas"),
        "{page}"
    );
    let (_, room) = bob.get(&fx, "/r/widgets").await;
    assert!(room.contains("You cannot submit ideas here now:"));
    // Posting anyway: refused with the reason, nothing changed.
    let id = idea["id"].as_i64().unwrap();
    let (s, _, page) = bob.post(&fx, &format!("/i/{id}/support"), &[], true).await;
    assert_eq!(s, 403);
    assert!(page.contains("may not support ideas"));
}

#[tokio::test]
async fn staff_create_a_room_through_the_form_and_others_are_told_why_not() {
    let fx = Fixture::new().await;
    fx.user("bob").await;
    let alice = sign_in(&fx, "alice").await;
    let (s, page) = alice.get(&fx, "/rooms/new").await;
    assert_eq!(s, 200);
    for label in ["Name", "Title", "Summary", "Visibility"] {
        assert!(page.contains(&format!("\">{label}</label>")), "{label}");
    }
    assert!(page.contains(">Create room</button>"));
    let (s, _, page) = alice
        .post(
            &fx,
            "/rooms/new",
            &[
                ("name", "Bad Name!"),
                ("title", "Gadgets"),
                ("visibility", "public"),
            ],
            true,
        )
        .await;
    assert_eq!(s, 400);
    assert!(page.contains("id=\"room-name-error\""));
    assert!(page.contains("value=\"Gadgets\""), "input kept");
    let (s, to, _) = alice
        .post(
            &fx,
            "/rooms/new",
            &[
                ("name", "gadgets"),
                ("title", "Gadgets"),
                ("summary", "All *gadgets*"),
                ("visibility", "partners"),
            ],
            true,
        )
        .await;
    assert_eq!(s, 303);
    assert_eq!(to, Some(format!("{BASE}/r/gadgets")));
    let (_, room) = alice.get(&fx, "/r/gadgets").await;
    assert!(room.contains("<em>gadgets</em>"));
    // A name taken is marked on its field.
    let (s, _, page) = alice
        .post(
            &fx,
            "/rooms/new",
            &[
                ("name", "gadgets"),
                ("title", "Again"),
                ("visibility", "public"),
            ],
            true,
        )
        .await;
    assert_eq!(s, 400);
    assert!(page.contains("is taken"));
    let bob = sign_in(&fx, "bob").await;
    let (s, page) = bob.get(&fx, "/rooms/new").await;
    assert_eq!(s, 403);
    assert!(page.contains("only staff can create rooms"));
}

#[tokio::test]
async fn stewards_say_what_a_phase_wants_and_until_when_and_the_banner_shows_it() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let alice = sign_in(&fx, "alice").await;
    let phase = [
        ("count", "1"),
        ("p0-name", "ideation"),
        ("p0-description", "Tell us about noise."),
        ("p0-until", "2027-02-28"),
        ("p0-submit", "customer"),
        ("p0-see", "customer"),
    ];
    let (s, to, _) = alice
        .post(&fx, "/r/widgets/manage/phases", &phase, true)
        .await;
    assert_eq!(s, 303, "{to:?}");
    let (_, room) = alice.get(&fx, "/r/widgets").await;
    assert!(room.contains("Tell us about noise.") && room.contains("2027-02-28"));
    // A date that is not one is refused in words, and the phases stay as they were.
    let mut bad = phase.to_vec();
    bad[3] = ("p0-until", "end of March");
    let (s, _, page) = alice
        .post(&fx, "/r/widgets/manage/phases", &bad, true)
        .await;
    assert_eq!(s, 400);
    assert!(page.contains("is not a date such as 2027-01-31"), "{page}");
    let (_, room) = alice.get(&fx, "/r/widgets").await;
    assert!(room.contains("2027-02-28"));
}
