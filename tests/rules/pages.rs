//! The pages a browser gets: HTML with the security headers, in the visitor's language, error
//! pages for browsers while the API keeps JSON, and the sign-in and sign-out forms with their
//! cookies and CSRF tokens.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use crate::common::internals;
use crate::fixture::Fixture;
use crate::web::*;

#[tokio::test]
async fn the_home_page_is_html_with_landmarks_and_the_security_headers() {
    let fx = Fixture::new().await;
    fx.public_room("widgets").await;
    let (status, headers, page) = html(
        fx.respond(browser("GET", "/").body(Body::empty()).unwrap())
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(headers.contains_key(header::REFERRER_POLICY));
    for landmark in ["<main", "<header", "<nav", "<footer", "lang=\"en\""] {
        assert!(page.contains(landmark), "{landmark} missing");
    }
    assert!(page.contains("widgets@"), "the room's handle is shown");
    assert!(page.contains("<label for=\"handle\">Room handle</label>"));
    assert!(page.contains(">Follow</button>"));
    assert!(!page.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn pages_speak_the_visitors_language() {
    let fx = Fixture::new().await;
    let resp = fx
        .respond(
            browser("GET", "/login")
                .header(header::ACCEPT_LANGUAGE, "de-DE,de;q=0.9,en;q=0.5")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let (_, _, page) = html(resp).await;
    assert!(page.contains("lang=\"de\""));
    assert!(page.contains(">Benutzername</label>"), "{page}");
}

#[tokio::test]
async fn browsers_get_error_pages_and_api_clients_keep_json() {
    let fx = Fixture::new().await;
    let (status, headers, page) = html(
        fx.respond(browser("GET", "/no/such/page").body(Body::empty()).unwrap())
            .await,
    )
    .await;
    assert_eq!(status, 404);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.contains("Not found"), "{page}");
    let api = fx
        .respond(
            Request::builder()
                .uri("/api/v1/ideas/999")
                .header(header::ACCEPT, "text/html")
                .header(header::AUTHORIZATION, format!("Bearer {}", fx.staff))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(api.status(), 404);
    assert!(api.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .contains("json"));
}

#[tokio::test]
async fn the_sign_in_form_has_the_labels_and_a_token() {
    let fx = Fixture::new().await;
    let (status, headers, page) = html(
        fx.respond(browser("GET", "/login").body(Body::empty()).unwrap())
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("<label for=\"username\">Username</label>"));
    assert!(page.contains("<label for=\"password\">Password</label>"));
    assert!(page.contains(">Sign in</button>"));
    let form_cookie = cookie_value(&cookies(&headers), "cocreate_form").unwrap();
    assert_eq!(form_cookie, hidden_csrf(&page));
}

#[tokio::test]
async fn signing_in_sets_a_session_cookie_with_the_right_flags() {
    let fx = Fixture::new().await;
    internals::set_password(&fx.ctx().await, "alice", PASSWORD)
        .await
        .unwrap();
    let (form_cookie, token) = open_login(&fx).await;
    let body = format!("username=alice&password=correct+horse+battery&csrf={token}");
    let resp = post_login(&fx, Some(&form_cookie), body).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let set = cookies(resp.headers());
    let session = set
        .iter()
        .find(|c| c.starts_with("cocreate_session="))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(flag), "{session}");
    }
    assert!(
        !session.contains("Secure"),
        "development mode serves plain http: {session}"
    );
    // Signed in, the layout shows the name and a sign-out button.
    let token = cookie_value(&set, "cocreate_session").unwrap();
    let (_, _, home) = html(
        fx.respond(
            browser("GET", "/")
                .header(header::COOKIE, format!("cocreate_session={token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(home.contains(">Sign out</button>"), "{home}");
    assert!(home.contains("alice"));
}

#[tokio::test]
async fn a_sign_in_without_its_token_is_refused() {
    let fx = Fixture::new().await;
    internals::set_password(&fx.ctx().await, "alice", PASSWORD)
        .await
        .unwrap();
    let body = "username=alice&password=correct+horse+battery".to_string();
    let resp = post_login(&fx, None, body).await;
    let (status, headers, page) = html(resp).await;
    assert_eq!(status, 403);
    assert!(page.contains("open it again"), "{page}");
    assert!(cookies(&headers)
        .iter()
        .all(|c| !c.starts_with("cocreate_session=")));
}

#[tokio::test]
async fn a_wrong_password_gives_the_form_again_with_the_name_kept_and_the_reason() {
    let fx = Fixture::new().await;
    internals::set_password(&fx.ctx().await, "alice", PASSWORD)
        .await
        .unwrap();
    let (form_cookie, token) = open_login(&fx).await;
    let body = format!("username=alice&password=nope-nope&csrf={token}");
    let resp = post_login(&fx, Some(&form_cookie), body).await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 401);
    assert!(page.contains("value=\"alice\""), "the name is kept");
    assert!(page.contains("aria-invalid=\"true\""));
    assert!(page.contains("wrong username or password"), "{page}");
}

#[tokio::test]
async fn signing_out_needs_the_sessions_token_and_ends_the_session() {
    let fx = Fixture::new().await;
    internals::set_password(&fx.ctx().await, "alice", PASSWORD)
        .await
        .unwrap();
    let session = sign_in(&fx, "alice").await;
    let with_session = |method: &str, path: &str| {
        browser(method, path).header(header::COOKIE, format!("cocreate_session={session}"))
    };
    // Without the form's token: refused, still signed in.
    let resp = fx
        .respond(
            with_session("POST", "/logout")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("csrf=forged"))
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status(), 403);
    let (_, _, home) = html(
        fx.respond(with_session("GET", "/").body(Body::empty()).unwrap())
            .await,
    )
    .await;
    assert!(home.contains(">Sign out</button>"));
    // With it: the session ends and the cookie is cleared.
    let resp = fx
        .respond(
            with_session("POST", "/logout")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={}", hidden_csrf(&home))))
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(cookies(resp.headers())
        .iter()
        .any(|c| c.starts_with("cocreate_session=;") && c.contains("Max-Age=0")));
    let (_, _, home) = html(
        fx.respond(with_session("GET", "/").body(Body::empty()).unwrap())
            .await,
    )
    .await;
    assert!(
        !home.contains(">Sign out</button>"),
        "the old cookie no longer signs in"
    );
}

#[tokio::test]
async fn following_from_the_home_page_needs_a_session_and_its_token() {
    let fx = Fixture::new().await;
    let resp = fx
        .respond(
            browser("POST", "/follow")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("handle=widgets@elsewhere.example&csrf=x"))
                .unwrap(),
        )
        .await;
    let (status, _, page) = html(resp).await;
    assert_eq!(status, 401);
    assert!(page.contains("sign in to do this"), "{page}");
}

#[tokio::test]
async fn room_and_idea_pages_carry_link_previews_and_one_canonical_url() {
    let fx = Fixture::new().await;
    let room = fx.public_room("widgets").await;
    let idea = fx.idea("widgets", "Lighter casing").await;
    let room_url = room["ap_id"].as_str().unwrap().to_string();
    let path = |url: &str| {
        url.split_once("localhost")
            .unwrap()
            .1
            .split_once('/')
            .map(|(_, p)| format!("/{p}"))
            .unwrap()
    };
    let (status, _, page) = html(
        fx.respond(
            browser("GET", &path(&room_url))
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("<link rel=\"canonical\" href=\"{room_url}\">")),
        "{page}"
    );
    assert!(page.contains("property=\"og:title\""));
    assert!(page.contains("name=\"twitter:card\" content=\"summary\""));
    let idea_url = idea["ap_id"].as_str().unwrap().to_string();
    let (status, _, page) = html(
        fx.respond(
            browser("GET", &path(&idea_url))
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("<link rel=\"canonical\" href=\"{idea_url}\">")));
    assert!(
        page.contains("property=\"og:title\" content=\"Lighter casing · "),
        "{page}"
    );
    assert!(page.contains("property=\"og:type\" content=\"article\""));
}
