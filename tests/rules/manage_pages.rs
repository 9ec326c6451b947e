//! The management pages as a browser uses them: a room's management page for its stewards
//! (phases, terms, members, requests, invitations), the personal page (invitations, handoffs)
//! and the steward's page of an idea (credit, merge, offer). Forms post with the session's
//! CSRF token, go back with 303 when done, and come back with the fields marked, the input
//! kept and the reason in words when refused.

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::fixture::*;
use crate::web::*;

/// The id of the field labelled `text`.
fn labelled(page: &str, text: &str) -> String {
    let at = page.find(&format!(">{text}</label>")).unwrap();
    let label = &page[page[..at].rfind("<label").unwrap()..at];
    label
        .split("for=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

fn location(resp: &Response) -> String {
    resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// Posts `fields` with the session's CSRF token (read from `page`).
async fn submit(
    fx: &Fixture,
    session: &str,
    page: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    let csrf = hidden_csrf(page);
    let mut all = fields.to_vec();
    all.push(("csrf", &csrf));
    post_form(fx, session, path, &form(&all)).await
}

/// Posts `fields` and expects 303 to `to`.
async fn done(
    fx: &Fixture,
    session: &str,
    page: &str,
    path: &str,
    fields: &[(&str, &str)],
    to: &str,
) {
    let resp = submit(fx, session, page, path, fields).await;
    let status = resp.status();
    let target = resp.headers().get(header::LOCATION).cloned();
    let (_, _, text) = html(resp).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{path}: {text}");
    assert_eq!(target.unwrap().to_str().unwrap(), to, "{path}");
}

#[tokio::test]
async fn a_steward_sets_terms_and_phases_through_the_forms() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let alice = session_of(&fx, "alice").await;
    let (status, _, page) = open(&fx, &alice, "/r/widgets/manage").await;
    assert_eq!(status, 200, "{page}");
    assert_accessible_forms(&page);
    for text in [
        ">Phases</h2>",
        ">Terms</h2>",
        ">Members</h2>",
        ">Join requests</h2>",
        ">Invitations</h2>",
        "<label for=\"terms-spdx\">Licence (SPDX id)</label>",
        "<label for=\"terms-text\">Terms text</label>",
        "<label for=\"terms-version\">Version</label>",
        ">Save terms</button>",
        ">Next phase</button>",
        "<label for=\"phases-json\">Phases (JSON)</label>",
        "<section aria-labelledby=\"terms-heading\">",
    ] {
        assert!(page.contains(text), "{text} missing");
    }
    let back = "/r/widgets/manage";

    // Terms: recorded with the ideas submitted from now on.
    let fields = [("spdx", "CC-BY-4.0"), ("text", ""), ("version", "2")];
    done(&fx, &alice, &page, "/r/widgets/manage/terms", &fields, back).await;
    let (_, idea) = fx
        .post(
            "/api/v1/rooms/widgets/ideas",
            &fx.staff,
            json!({"title": "Lighter casing", "body": ""}),
        )
        .await;
    assert_eq!(idea["terms"], json!({"id": "CC-BY-4.0", "version": "2"}));

    // Phases: two, from the fieldsets (the second from the empty group).
    let (_, _, page) = open(&fx, &alice, back).await;
    assert!(
        page.contains("name=\"count\" value=\"1\""),
        "no phases yet: one empty group"
    );
    let fields = [
        ("count", "2"),
        ("p0-name", "Collect"),
        ("p0-submit", "customer"),
        ("p0-submit", "partner"),
        ("p0-see", "customer"),
        ("p0-see", "partner"),
        ("p1-name", "Build"),
        ("p1-comment", "partner"),
        ("p1-see", "partner"),
        ("p1-stages", "in_design"),
    ];
    done(
        &fx,
        &alice,
        &page,
        "/r/widgets/manage/phases",
        &fields,
        back,
    )
    .await;
    let (_, phases) = fx.get("/api/v1/rooms/widgets/phases", &fx.staff).await;
    assert_eq!(phases["current"], 0, "{phases}");
    assert_eq!(phases["phases"][0]["name"], "Collect");
    assert_eq!(
        phases["phases"][0]["submit"],
        json!(["partner", "customer"])
    );
    assert_eq!(phases["phases"][0]["comment"], json!([]));
    assert_eq!(phases["phases"][1]["see"], json!(["partner"]));
    assert_eq!(phases["phases"][1]["stages"], json!(["in_design"]));

    // The page lists them in order, the current one marked, and the form shows them again.
    let (_, _, page) = open(&fx, &alice, back).await;
    assert!(page.contains("<li aria-current=\"step\">Collect"), "{page}");
    assert!(tag(&page, "p1-name").contains("value=\"Build\""));
    assert!(tag(&page, "p1-stage-in_design").contains(" checked"));
    assert!(!tag(&page, "p1-submit-customer").contains(" checked"));

    // The next phase, and then no further: the refusal says why.
    done(
        &fx,
        &alice,
        &page,
        "/r/widgets/manage/phases/next",
        &[],
        back,
    )
    .await;
    let (_, phases) = fx.get("/api/v1/rooms/widgets/phases", &fx.staff).await;
    assert_eq!(phases["current"], 1);
    let resp = submit(&fx, &alice, &page, "/r/widgets/manage/phases/next", &[]).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 409);
    assert!(
        unescaped(&page).contains("Not done: 'Build' is the room's last phase"),
        "{page}"
    );
    assert!(page.contains("id=\"next-error\""));

    // The JSON form, with JSON that does not parse: marked, kept, explained.
    let resp = submit(
        &fx,
        &alice,
        &page,
        "/r/widgets/manage/phases/json",
        &[("phases", "[{\"name\": ")],
    )
    .await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 400);
    let field = tag(&page, "phases-json");
    assert!(field.contains("aria-invalid=\"true\""), "{field}");
    assert!(page.contains("The phases are not valid JSON"), "{page}");
    assert!(page.contains("<details open>"));
    assert_accessible_forms(&page);
}

#[tokio::test]
async fn the_json_form_sets_phases_and_the_fieldsets_keep_what_they_do_not_show() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let alice = session_of(&fx, "alice").await;
    let back = "/r/widgets/manage";
    let (_, _, page) = open(&fx, &alice, back).await;
    let json = r#"[{"name": "Review", "submit": ["steward"], "comment": ["steward", "partner"],
        "support": [], "see": ["partner"]}, {"name": "Later", "submit": [], "comment": [],
        "support": [], "see": []}]"#;
    let path = "/r/widgets/manage/phases/json";
    done(&fx, &alice, &page, path, &[("phases", json)], back).await;
    let (_, _, page) = open(&fx, &alice, back).await;
    assert!(
        unescaped(&page).contains("\"name\": \"Review\""),
        "the JSON form shows them: {page}"
    );
    // Renamed, the second removed, the switches changed: stewards stay where they were.
    let base = tag(&page, "p0-name");
    assert!(base.contains("value=\"Review\""));
    let needle = "name=\"p0-base\" value=\"";
    let at = page.find(needle).unwrap() + needle.len();
    let p0_base = unescaped(page[at..].split('"').next().unwrap());
    let fields = [
        ("count", "3"),
        ("p0-base", p0_base.as_str()),
        ("p0-name", "Review again"),
        ("p0-comment", "partner"),
        ("p0-see", "observer"),
        ("p1-name", ""),
    ];
    done(
        &fx,
        &alice,
        &page,
        "/r/widgets/manage/phases",
        &fields,
        back,
    )
    .await;
    let (_, phases) = fx.get("/api/v1/rooms/widgets/phases", &fx.staff).await;
    assert_eq!(phases["phases"].as_array().unwrap().len(), 1, "{phases}");
    let phase = &phases["phases"][0];
    assert_eq!(phase["name"], "Review again");
    assert_eq!(phase["submit"], json!(["steward"]));
    assert_eq!(phase["comment"], json!(["steward", "partner"]));
    assert_eq!(phase["see"], json!(["observer"]));
    // Every name cleared: refused in words, nothing changed.
    let fields = [("count", "2"), ("p0-name", " ")];
    let resp = submit(&fx, &alice, &page, "/r/widgets/manage/phases", &fields).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 400);
    assert!(page.contains("A room needs at least one phase"), "{page}");
    let (_, after) = fx.get("/api/v1/rooms/widgets/phases", &fx.staff).await;
    assert_eq!(after, phases);
}

#[tokio::test]
async fn a_bad_form_comes_back_with_the_field_marked_and_the_input_kept() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let alice = session_of(&fx, "alice").await;
    let (_, _, page) = open(&fx, &alice, "/r/widgets/manage").await;
    let fields = [("spdx", "MIT"), ("text", "Be kind"), ("version", " ")];
    let resp = submit(&fx, &alice, &page, "/r/widgets/manage/terms", &fields).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 400);
    let version = tag(&page, "terms-version");
    assert!(version.contains("aria-invalid=\"true\""), "{version}");
    assert!(version.contains("aria-describedby=\"terms-version-error\""));
    assert!(
        page.contains("<p id=\"terms-version-error\" class=\"error\">Terms need a version.</p>")
    );
    assert!(
        tag(&page, "terms-spdx").contains("value=\"MIT\""),
        "the input is kept"
    );
    assert!(page.contains(">Be kind</textarea>"));
    assert!(!tag(&page, "terms-spdx").contains("aria-invalid"));
    // One alert at the top says it was not done and leads to the form.
    assert!(
        page.contains("<title>Not done: Manage widgets</title>"),
        "{page}"
    );
    assert!(page.contains("<p class=\"error\" role=\"alert\"><a href=\"#terms-heading\">"));
    assert_eq!(page.matches("role=\"alert\"").count(), 1);
    assert_accessible_forms(&page);

    // The service's refusal lands at the field it names.
    let fields = [("spdx", "not a licence!"), ("text", ""), ("version", "1")];
    let resp = submit(&fx, &alice, &page, "/r/widgets/manage/terms", &fields).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 400);
    assert!(tag(&page, "terms-spdx").contains("aria-invalid=\"true\""));
    assert!(page.contains("is not an SPDX licence id"), "{page}");
    assert!(tag(&page, "terms-version").contains("value=\"1\""));

    // In German, the page's own words are German.
    let resp = fx
        .respond(
            signed_in(&alice, "POST", "/r/widgets/manage/terms")
                .header(header::ACCEPT_LANGUAGE, "de")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form(&[
                    ("spdx", "MIT"),
                    ("csrf", &hidden_csrf(&page)),
                ])))
                .unwrap(),
        )
        .await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("Bedingungen brauchen eine Version."),
        "{page}"
    );
    assert!(page.contains("<label for=\"terms-spdx\">Lizenz (SPDX-Kennung)</label>"));
}

#[tokio::test]
async fn someone_who_is_not_a_steward_is_told_why() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    fx.user("bob").await;
    let idea = fx.idea("widgets", "Cup holder").await;
    let bob = session_of(&fx, "bob").await;
    let (status, _, page) = open(&fx, &bob, "/r/widgets/manage").await;
    assert_eq!(status, 403);
    assert!(
        unescaped(&page).contains("only stewards of 'widgets'"),
        "{page}"
    );
    assert!(!page.contains("Save terms"));
    let (status, _, page) = open(&fx, &bob, &format!("/steward/ideas/{}", idea["id"])).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("only stewards of"), "{page}");
    // A post with his own valid token changes nothing and says why.
    let (_, _, home) = open(&fx, &bob, "/").await;
    let fields = [("spdx", "MIT"), ("version", "1")];
    let resp = submit(&fx, &bob, &home, "/r/widgets/manage/terms", &fields).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 403);
    assert!(page.contains("only stewards of"), "{page}");
    // Signed out: asked to sign in.
    let resp = fx
        .respond(
            browser("GET", "/r/widgets/manage")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 401);
    assert!(page.contains("sign in"), "{page}");
}

#[tokio::test]
async fn forms_without_the_sessions_token_are_refused_and_change_nothing() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Cup holder").await;
    let alice = session_of(&fx, "alice").await;
    let posts = [
        "/r/widgets/manage/terms".to_string(),
        "/r/widgets/manage/phases".into(),
        "/r/widgets/manage/phases/json".into(),
        "/r/widgets/manage/phases/next".into(),
        "/r/widgets/manage/members/role".into(),
        "/r/widgets/manage/members/remove".into(),
        "/r/widgets/manage/requests/1/approve".into(),
        "/r/widgets/manage/requests/1/refuse".into(),
        "/r/widgets/manage/invitations".into(),
        "/me/invitations/1/accept".into(),
        "/me/invitations/1/decline".into(),
        "/me/handoffs/1/accept".into(),
        "/me/handoffs/1/reject".into(),
        "/me/handoffs/1/withdraw".into(),
        format!("/steward/ideas/{}/credit", idea["id"]),
        format!("/steward/ideas/{}/merge", idea["id"]),
        format!("/steward/ideas/{}/offer", idea["id"]),
    ];
    for path in &posts {
        for body in ["spdx=MIT&version=1", "spdx=MIT&version=1&csrf=forged"] {
            let resp = post_form(&fx, &alice, path, body).await;
            let (status, headers, page) = html(resp).await;
            assert_eq!(status, 403, "{path} {body}: {page}");
            assert!(headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"));
        }
    }
    let (_, phases) = fx.get("/api/v1/rooms/widgets/phases", &fx.staff).await;
    assert_eq!(phases["phases"], json!([]), "nothing changed");
}

#[tokio::test]
async fn a_steward_changes_a_members_role_and_removes_the_member() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    let alice = session_of(&fx, "alice").await;
    let (status, _, page) = open(&fx, &alice, "/r/lab/manage").await;
    assert_eq!(status, 200);
    assert_accessible_forms(&page);
    assert!(page.contains("<caption>Members of lab</caption>"), "{page}");
    assert!(page.contains(&format!(">Role of {}</label>", lab.member_handle)));
    assert!(page.contains("<th scope=\"col\">Role</th>"));
    let back = "/r/lab/manage";
    let handle = lab.member_handle.as_str();

    // A role that does not exist: the row says so, its choice kept.
    let fields = [("handle", handle), ("role", "admin"), ("partner_kind", "")];
    let resp = submit(&fx, &alice, &page, "/r/lab/manage/members/role", &fields).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 400);
    assert!(unescaped(&page).contains("unknown role 'admin'"), "{page}");
    let select = tag(&page, &labelled(&page, &format!("Role of {handle}")));
    assert!(select.contains("aria-invalid=\"true\""), "{select}");
    assert_accessible_forms(&page);

    let fields = [
        ("handle", handle),
        ("role", "partner"),
        ("partner_kind", "agency"),
    ];
    done(
        &fx,
        &alice,
        &page,
        "/r/lab/manage/members/role",
        &fields,
        back,
    )
    .await;
    let (_, members) = fx.get("/api/v1/rooms/lab/members", &fx.staff).await;
    let bob = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["handle"] == handle)
        .unwrap();
    assert_eq!(bob["role"], "partner");
    assert_eq!(bob["partner_kind"], "agency");

    done(
        &fx,
        &alice,
        &page,
        "/r/lab/manage/members/remove",
        &[("handle", handle)],
        back,
    )
    .await;
    let (_, members) = fx.get("/api/v1/rooms/lab/members", &fx.staff).await;
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["handle"] != handle),
        "{members}"
    );
    let (_, _, page) = open(&fx, &alice, back).await;
    assert!(!page.contains(&format!(">Role of {handle}</label>")));
}

#[tokio::test]
async fn a_steward_answers_join_requests() {
    let fx = Fixture::new().await;
    fx.partners_room_with_member().await;
    let carol = fx.user("carol").await;
    let dave = fx.user("dave").await;
    for (who, message) in [(&carol, "We make casings"), (&dave, "Let me in")] {
        let (s, v) = fx
            .post(
                "/api/v1/joins",
                who,
                json!({"handle": Fixture::handle("lab"), "message": message}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let (_, requests) = fx.get("/api/v1/rooms/lab/requests", &fx.staff).await;
    let id_of = |name: &str| -> i64 {
        requests
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["handle"] == Fixture::handle(name))
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (carol_request, dave_request) = (id_of("carol"), id_of("dave"));
    let alice = session_of(&fx, "alice").await;
    let (_, _, page) = open(&fx, &alice, "/r/lab/manage").await;
    assert_accessible_forms(&page);
    assert!(page.contains("We make casings"), "{page}");
    assert!(page.contains("asks to join the room"));
    assert!(page.contains(">Approve<"));
    let back = "/r/lab/manage";
    let fields = [("role", "partner"), ("partner_kind", "supplier")];
    let path = format!("/r/lab/manage/requests/{carol_request}/approve");
    done(&fx, &alice, &page, &path, &fields, back).await;
    let path = format!("/r/lab/manage/requests/{dave_request}/refuse");
    done(&fx, &alice, &page, &path, &[("reason", "not now")], back).await;
    let (_, members) = fx.get("/api/v1/rooms/lab/members", &fx.staff).await;
    let list = members.as_array().unwrap();
    let member = |name: &str| list.iter().find(|m| m["handle"] == Fixture::handle(name));
    assert_eq!(member("carol").unwrap()["role"], "partner");
    assert_eq!(member("carol").unwrap()["partner_kind"], "supplier");
    assert!(member("dave").is_none());
    let (_, requests) = fx.get("/api/v1/rooms/lab/requests", &fx.staff).await;
    assert_eq!(requests, json!([]));
    // Answering again: the request is gone from the page, and the refusal says why.
    let path = format!("/r/lab/manage/requests/{carol_request}/approve");
    let resp = submit(&fx, &alice, &page, &path, &fields).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 409);
    assert!(page.contains("was already answered"), "{page}");
    assert!(page.contains("id=\"requests-error\""));
}

#[tokio::test]
async fn a_steward_invites_and_sees_the_invitations_sent() {
    let fx = Fixture::new().await;
    fx.room("lab", "partners").await;
    fx.user("carol").await;
    let alice = session_of(&fx, "alice").await;
    let (_, _, page) = open(&fx, &alice, "/r/lab/manage").await;
    let carol = Fixture::handle("carol");
    // No handle: marked and explained; then an unknown one: the reason at the field.
    let fields = [
        ("handle", ""),
        ("role", "partner"),
        ("partner_kind", "agency"),
    ];
    let resp = submit(&fx, &alice, &page, "/r/lab/manage/invitations", &fields).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 400);
    assert!(tag(&page, "invite-handle").contains("aria-invalid=\"true\""));
    assert!(tag(&page, "invite-kind").contains("aria-describedby=\"invite-kind-help\""));
    assert!(
        page.contains("<option value=\"agency\" selected>"),
        "the choice is kept"
    );
    let fields = [
        ("handle", "nobody@localhost:8999"),
        ("role", "observer"),
        ("partner_kind", ""),
    ];
    let resp = submit(&fx, &alice, &page, "/r/lab/manage/invitations", &fields).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 404, "{page}");
    assert!(tag(&page, "invite-handle").contains("value=\"nobody@localhost:8999\""));
    assert!(page.contains("id=\"invite-handle-error\""), "{page}");

    let fields = [
        ("handle", carol.as_str()),
        ("role", "partner"),
        ("partner_kind", "agency"),
    ];
    done(
        &fx,
        &alice,
        &page,
        "/r/lab/manage/invitations",
        &fields,
        "/r/lab/manage",
    )
    .await;
    let (_, _, page) = open(&fx, &alice, "/r/lab/manage").await;
    assert!(page.contains("<caption>Invitations sent by lab</caption>"));
    assert!(page.contains("<td>waiting for an answer</td>"), "{page}");
    assert!(page.contains("<td>agency</td>"));
    assert_accessible_forms(&page);
}

#[tokio::test]
async fn the_personal_page_shows_invitations_and_accepting_one_makes_a_member() {
    let fx = Fixture::new().await;
    fx.room("lab", "partners").await;
    fx.public_room("widgets").await;
    fx.user("carol").await;
    let carol = Fixture::handle("carol");
    let lab_invitation = fx.invite("lab", &carol, json!({"role": "observer"})).await["id"].clone();
    let declined = fx
        .invite(
            "widgets",
            &carol,
            json!({"role": "partner", "partner_kind": "agency"}),
        )
        .await;
    // Signed out, the page sends to the sign-in form.
    let resp = fx
        .respond(browser("GET", "/me").body(Body::empty()).unwrap())
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/login");

    let session = session_of(&fx, "carol").await;
    let (status, _, page) = open(&fx, &session, "/me").await;
    assert_eq!(status, 200);
    assert_accessible_forms(&page);
    assert!(page.contains(">Invitations waiting for you</h2>"));
    assert!(
        page.contains(&format!(">{}</a></h3>", Fixture::handle("lab"))),
        "{page}"
    );
    assert!(page.contains("Role: observer"));
    assert!(page.contains("Ideas offered between organisations are answered by the staff"));
    let path = format!("/me/invitations/{lab_invitation}/accept");
    done(&fx, &session, &page, &path, &[], "/me").await;
    let path = format!("/me/invitations/{}/decline", declined["id"]);
    done(
        &fx,
        &session,
        &page,
        &path,
        &[("reason", "too busy")],
        "/me",
    )
    .await;
    let (_, members) = fx.get("/api/v1/rooms/lab/members", &fx.staff).await;
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["handle"] == carol && m["role"] == "observer"),
        "{members}"
    );
    let (_, sent) = fx.get("/api/v1/rooms/widgets/invitations", &fx.staff).await;
    assert_eq!(sent[0]["state"], "rejected");
    assert_eq!(sent[0]["reason"], "too busy");

    let (_, _, page) = open(&fx, &session, "/me").await;
    assert!(
        page.contains("No invitations are waiting for you."),
        "{page}"
    );
    assert!(page.contains("<caption>Invitations you answered</caption>"));
    assert!(page.contains("<td>accepted</td>") && page.contains("<td>too busy</td>"));
    // Answering again: the refusal says why.
    let path = format!("/me/invitations/{lab_invitation}/accept");
    let resp = submit(&fx, &session, &page, &path, &[]).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 409);
    assert!(page.contains("was already answered"), "{page}");
}

#[tokio::test]
async fn staff_see_the_rooms_they_steward_and_the_handoffs_on_their_page() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let alice = session_of(&fx, "alice").await;
    let (status, _, page) = open(&fx, &alice, "/me").await;
    assert_eq!(status, 200);
    assert_accessible_forms(&page);
    assert!(
        page.contains("<a href=\"/r/widgets/manage\">Manage"),
        "{page}"
    );
    assert!(page.contains(">Ideas offered to your organisation</h2>"));
    assert!(page.contains("No offers are waiting for an answer."));
    assert!(page.contains(">Ideas your organisation offered</h2>"));
    // An offer that does not exist: the reason in words.
    let resp = submit(
        &fx,
        &alice,
        &page,
        "/me/handoffs/999/reject",
        &[("reason", "no")],
    )
    .await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 404);
    assert!(page.contains("handoff 999 not found"), "{page}");
}

#[tokio::test]
async fn a_steward_credits_merges_and_offers_from_the_ideas_steward_page() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let bob = fx.user("bob").await;
    let dup = fx.idea_by(&bob, "widgets", "Cup holder").await;
    let keep = fx.idea("widgets", "Holder for cups").await;
    let alice = session_of(&fx, "alice").await;
    let path = format!("/steward/ideas/{}", dup["id"]);
    let (status, _, page) = open(&fx, &alice, &path).await;
    assert_eq!(status, 200, "{page}");
    assert_accessible_forms(&page);
    for text in [
        ">Credit a contributor</h2>",
        "<label for=\"merge-into\">Merge into</label>",
        ">Merge</button>",
        ">Offer</button>",
        "<option value=\"improver\" selected>improver</option>",
    ] {
        assert!(page.contains(text), "{text} missing");
    }
    assert!(
        page.contains(&format!("<option value=\"{}\"", keep["id"])),
        "{page}"
    );
    assert!(
        !page.contains(&format!("<option value=\"{}\"", dup["id"])),
        "not into itself"
    );
    let dup_url = dup["ap_id"].as_str().unwrap();

    // Credit.
    let bob_handle = Fixture::handle("bob");
    let fields = [("handle", bob_handle.as_str()), ("role", "tester")];
    done(
        &fx,
        &alice,
        &page,
        &format!("{path}/credit"),
        &fields,
        dup_url,
    )
    .await;
    let (_, idea) = fx.get(&idea_path(&dup["id"]), &fx.staff).await;
    assert!(
        idea["contributors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["role"] == "tester"),
        "{idea}"
    );

    // An offer to someone who is not another node's organisation: refused at the field.
    let fields = [("to", bob_handle.as_str()), ("message", "Yours?")];
    let resp = submit(&fx, &alice, &page, &format!("{path}/offer"), &fields).await;
    let (status, _, refused) = html(resp).await;
    assert_eq!(status, 400, "{refused}");
    assert!(tag(&refused, "offer-to").contains("aria-invalid=\"true\""));
    assert!(
        unescaped(&refused).contains("is not another node's organisation"),
        "{refused}"
    );
    assert!(
        refused.contains(">Yours?</textarea>"),
        "the message is kept"
    );
    assert_accessible_forms(&refused);

    // Merge: to the idea merged into.
    let keep_id = keep["id"].to_string();
    let keep_url = keep["ap_id"].as_str().unwrap();
    done(
        &fx,
        &alice,
        &page,
        &format!("{path}/merge"),
        &[("into", &keep_id)],
        keep_url,
    )
    .await;
    let (_, idea) = fx.get(&idea_path(&dup["id"]), &fx.staff).await;
    assert_eq!(idea["stage"], "merged");
    assert_eq!(idea["merged_into"], keep["ap_id"]);
    // Merging a merged idea: the reason in words.
    let resp = submit(
        &fx,
        &alice,
        &page,
        &format!("{path}/merge"),
        &[("into", &keep_id)],
    )
    .await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 409);
    assert!(page.contains("both ideas must be open to merge"), "{page}");
    assert!(page.contains("This idea is no longer open"));
}

#[tokio::test]
async fn the_management_pages_speak_german() {
    let fx = Fixture::new().await;
    let lab = fx.partners_room_with_member().await;
    let idea = fx.idea("lab", "Leichteres Gehäuse").await;
    let alice = session_of(&fx, "alice").await;
    for (path, words) in [
        (
            "/r/lab/manage".to_string(),
            vec![
                "Phasen",
                "Lizenz (SPDX-Kennung)",
                "Nächste Phase",
                "Zulieferer",
                "Entfernen",
            ],
        ),
        (
            "/me".to_string(),
            vec!["Ihre Seite", "Räume, für die Sie verantwortlich sind"],
        ),
        (
            format!("/steward/ideas/{}", idea["id"]),
            vec!["Einen Beitrag würdigen", "Zusammenführen", "Anbieten"],
        ),
    ] {
        let resp = fx
            .respond(
                signed_in(&alice, "GET", &path)
                    .header(header::ACCEPT_LANGUAGE, "de-DE,de;q=0.9")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let (status, _, page) = html(resp).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.contains("lang=\"de\""));
        for word in words {
            assert!(page.contains(word), "{path}: {word} missing");
        }
        assert!(!page.contains("Unknown localization"), "{path}");
    }
    let _ = lab;
}
