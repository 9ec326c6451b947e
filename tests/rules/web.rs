//! A browser for page tests: requests that ask for HTML, the response as status, headers and
//! text, cookies, the CSRF token of a page's forms, signing in through the form, and posting a
//! form with a session.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::Response;

use crate::fixture::Fixture;

pub const PASSWORD: &str = "correct horse battery";

pub fn browser(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
}

pub async fn html(resp: Response) -> (StatusCode, HeaderMap, String) {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

pub fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

pub fn cookie_value(set_cookie: &[String], name: &str) -> Option<String> {
    set_cookie
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap().to_string())
}

pub fn hidden_csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..].split('"').next().unwrap().to_string()
}

/// Opens the sign-in form: its cookie and the token in its hidden field.
pub async fn open_login(fx: &Fixture) -> (String, String) {
    let resp = fx
        .respond(browser("GET", "/login").body(Body::empty()).unwrap())
        .await;
    let (_, headers, page) = html(resp).await;
    let form_cookie = cookie_value(&cookies(&headers), "cocreate_form").unwrap();
    (form_cookie, hidden_csrf(&page))
}

/// Posts the sign-in form as a browser: with the form's cookie when given, and `body`.
pub async fn post_login(fx: &Fixture, form_cookie: Option<&str>, body: String) -> Response {
    let mut request =
        browser("POST", "/login").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = form_cookie {
        request = request.header(header::COOKIE, format!("cocreate_form={c}"));
    }
    fx.respond(request.body(Body::from(body)).unwrap()).await
}

/// Signs in through the form as `name`; the session cookie.
pub async fn sign_in(fx: &Fixture, name: &str) -> String {
    let (form_cookie, token) = open_login(fx).await;
    let body = format!("username={name}&password=correct+horse+battery&csrf={token}");
    let resp = post_login(fx, Some(&form_cookie), body).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    cookie_value(&cookies(resp.headers()), "cocreate_session").expect("a session cookie")
}

/// A request of a signed-in browser (its session cookie).
pub fn signed_in(session: &str, method: &str, path: &str) -> axum::http::request::Builder {
    browser(method, path).header(header::COOKIE, format!("cocreate_session={session}"))
}

/// Opens a page as a signed-in browser: status, headers and text.
pub async fn open(fx: &Fixture, session: &str, path: &str) -> (StatusCode, HeaderMap, String) {
    html(
        fx.respond(signed_in(session, "GET", path).body(Body::empty()).unwrap())
            .await,
    )
    .await
}

/// Posts a form (`application/x-www-form-urlencoded`, `body` already encoded) as a signed-in
/// browser; the whole response.
pub async fn post_form(fx: &Fixture, session: &str, path: &str, body: &str) -> Response {
    fx.respond(
        signed_in(session, "POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

/// Gives the local person `name` a password and signs in through the form; the session
/// cookie. This uses the node's state, which ends the fixture's memoised setup: take every
/// setup step before.
pub async fn session_of(fx: &Fixture, name: &str) -> String {
    crate::common::internals::set_password(&fx.ctx().await, name, PASSWORD)
        .await
        .unwrap();
    sign_in(fx, name).await
}

/// A form body from its fields, encoded.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::fixture::encode(k),
                crate::fixture::encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The opening tag of the element with `id` on `page`.
#[track_caller]
pub fn tag<'a>(page: &'a str, id: &str) -> &'a str {
    let at = page
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element #{id} in {page}"));
    let start = page[..at].rfind('<').unwrap();
    let end = at + page[at..].find('>').unwrap();
    &page[start..=end]
}

/// Checks what an accessibility checker would check first of a page's forms: every visible
/// field has a `<label for>`, ids are unique, and every `aria-describedby`, `aria-labelledby`
/// and link within the page names an element of the page.
#[track_caller]
pub fn assert_accessible_forms(page: &str) {
    let ids: Vec<&str> = page
        .match_indices(" id=\"")
        .map(|(i, m)| page[i + m.len()..].split('"').next().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "an id is used twice: {ids:?}");
    for kind in ["<input ", "<select ", "<textarea "] {
        for (i, _) in page.match_indices(kind) {
            let tag = &page[i..i + page[i..].find('>').unwrap()];
            if tag.contains("type=\"hidden\"") {
                continue;
            }
            let id = tag
                .split(" id=\"")
                .nth(1)
                .unwrap_or_else(|| panic!("a field without an id: {tag}"))
                .split('"')
                .next()
                .unwrap();
            assert!(
                page.contains(&format!("<label for=\"{id}\"")),
                "no label for #{id}"
            );
        }
    }
    for (i, m) in page.match_indices("href=\"#") {
        let target = page[i + m.len()..].split('"').next().unwrap();
        assert!(
            ids.contains(&target),
            "a link to #{target}, which is not on the page"
        );
    }
    for attribute in ["aria-describedby=\"", "aria-labelledby=\""] {
        for (i, m) in page.match_indices(attribute) {
            let names = page[i + m.len()..].split('"').next().unwrap();
            for name in names.split_whitespace() {
                assert!(ids.contains(&name), "{attribute}{names}\": no #{name}");
            }
        }
    }
}

/// A page's text with the HTML escapes of quotes and ampersands undone, to look for words.
pub fn unescaped(page: &str) -> String {
    page.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}
