//! Headers and error pages for every response: the security headers on everything, and the
//! errors a browser would see (it asks for HTML, outside the API and the inboxes) as pages.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::error_page;
use super::i18n::Tr;

/// The policy every HTML page is served with: no inline scripts, nothing framed, forms only
/// to this node (and, for following from one's own server, to https servers).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' https: data:; object-src 'none'; base-uri 'self'; \
     form-action 'self' https:; frame-ancestors 'none'";

/// Adds the security headers to every response, and turns the errors a browser would see
/// (it asks for HTML, outside the API and the inboxes) into pages.
pub async fn error_pages(request: Request, next: Next) -> Response {
    let tr = Tr::from_headers(request.headers());
    let path = request.uri().path().to_string();
    let browser = wants_html(request.headers())
        && !path.starts_with("/api/")
        && !path.ends_with("/inbox")
        && !path.starts_with("/.well-known/");
    let mut resp = next.run(request).await;
    let status = resp.status();
    if browser && (status.is_client_error() || status.is_server_error()) && !is_html(&resp) {
        let body = std::mem::replace(resp.body_mut(), axum::body::Body::empty());
        let reason = axum::body::to_bytes(body, 64 * 1024)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["error"].as_str().map(String::from));
        let mut page = error_page(&tr, status, reason.as_deref());
        for name in [header::WWW_AUTHENTICATE, header::RETRY_AFTER, header::ALLOW] {
            if let Some(v) = resp.headers().get(&name) {
                page.headers_mut().insert(name, v.clone());
            }
        }
        resp = page;
    }
    let headers = resp.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if is_html_headers(headers) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    resp
}

/// Whether a request prefers HTML (a browser), not JSON or ActivityPub.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn is_html(resp: &Response) -> bool {
    is_html_headers(resp.headers())
}

fn is_html_headers(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}
