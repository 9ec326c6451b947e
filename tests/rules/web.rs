//! A browser for page tests: requests that ask for HTML, the response as status, headers and
//! text, cookies, the CSRF token of a page's forms, and signing in through the form.

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
