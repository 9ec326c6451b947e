//! Pages for people: server-rendered HTML from askama templates (`templates/`, compiled into
//! the binary and checked at build time), one small stylesheet and one progressive script
//! (`static/`, embedded), and every text through the message catalogue ([`i18n`]).
//!
//! Promises: pages only render what the services hand them (what a reader may see is decided
//! there); HTML that came from users or other servers is shown only in its sanitised stored
//! form; every HTML response carries a Content-Security-Policy without inline scripts,
//! `nosniff`, a referrer policy and `frame-ancestors 'none'`; an error a browser receives is a
//! page a person understands ([`error_pages`]), while API clients keep their JSON errors.

pub mod i18n;

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::service::ideas::{self, CommentView, IdeaDetail};
use crate::service::{accounts, rooms};
use crate::state::Ctx;
use crate::store::models::Actor;
use i18n::Tr;

/// The page routes.
pub fn router() -> Router<Ctx> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/static/{file}", get(asset))
}

// ---- pages ----

/// A room of this node on the home page.
struct RoomItem {
    url: String,
    title: String,
    summary: String,
    handle: String,
    phase: String,
    ideas: i64,
    visibility_key: &'static str,
}

/// A followed room of another node on the home page.
struct RemoteRoomItem {
    url: String,
    title: String,
    handle: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    tr: Tr,
    title: String,
    rooms: Vec<RoomItem>,
    followed: Vec<RemoteRoomItem>,
}

async fn home(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    let tr = Tr::from_headers(&headers);
    let page = async {
        let org = accounts::organization(&ctx).await?;
        let rooms = rooms::overview(&ctx).await?;
        let followed = rooms::followed_remote(&ctx).await?;
        Ok::<_, crate::error::Error>(HomePage {
            title: tr.t1("home-title", "org", &org.display_name),
            rooms: rooms
                .into_iter()
                .map(|r| RoomItem {
                    visibility_key: match r.visibility {
                        crate::domain::Visibility::Public => "visibility-public",
                        crate::domain::Visibility::Partners => "visibility-partners",
                        crate::domain::Visibility::Private => "visibility-private",
                    },
                    url: r.url,
                    title: r.title,
                    summary: r.summary,
                    handle: r.handle,
                    phase: r.phase,
                    ideas: r.ideas,
                })
                .collect(),
            followed: followed
                .into_iter()
                .map(|a| RemoteRoomItem {
                    handle: a.handle(),
                    url: a.ap_id,
                    title: a.display_name,
                })
                .collect(),
            tr: tr.clone(),
        })
    }
    .await;
    match page {
        Ok(p) => render(&p),
        Err(e) => error_page(&tr, e.status(), Some(&e.to_string())),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    username: String,
    error: Option<String>,
}

async fn login(headers: HeaderMap) -> Response {
    render(&LoginPage {
        tr: Tr::from_headers(&headers),
        username: String::new(),
        error: None,
    })
}

#[derive(Template)]
#[template(path = "actor.html")]
struct ActorPage<'a> {
    tr: Tr,
    actor: &'a Actor,
    handle: String,
    is_room: bool,
    ideas: Vec<IdeaDetail>,
}

/// The page of a local actor (a person, a room with its ideas, the organisation), for
/// browsers that open its ActivityPub id.
pub async fn actor_page(ctx: &Ctx, headers: &HeaderMap, actor: &Actor) -> Response {
    let ideas = if actor.is_room() {
        ideas::list_room(ctx, None, actor).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    render(&ActorPage {
        tr: Tr::from_headers(headers),
        actor,
        handle: actor.handle(),
        is_room: actor.is_room(),
        ideas,
    })
}

#[derive(Template)]
#[template(path = "idea.html")]
struct IdeaPage<'a> {
    tr: Tr,
    idea: &'a IdeaDetail,
    comments: Vec<&'a CommentView>,
}

/// The page of an idea the reader may see, with its comments.
pub fn idea_page(headers: &HeaderMap, idea: &IdeaDetail) -> Response {
    render(&IdeaPage {
        tr: Tr::from_headers(headers),
        idea,
        comments: idea.comments.iter().filter(|c| !c.deleted).collect(),
    })
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    tr: Tr,
    title: String,
    text: String,
}

/// An error as a page: the status's title, and what went wrong in words. Server errors say
/// nothing of internals.
fn error_page(tr: &Tr, status: StatusCode, reason: Option<&str>) -> Response {
    let code = status.as_u16();
    let title = match code {
        400 | 401 | 403 | 404 | 409 | 413 | 429 => tr.t(&format!("error-title-{code}")),
        _ => tr.t("error-title-other"),
    };
    let text = match (code, reason) {
        (404, _) => tr.t("error-text-404"),
        (500.., _) => tr.t("error-text-500"),
        (_, Some(reason)) => reason.to_string(),
        (_, None) => status.canonical_reason().unwrap_or_default().to_string(),
    };
    let mut resp = render(&ErrorPage {
        tr: tr.clone(),
        title,
        text,
    });
    *resp.status_mut() = status;
    resp
}

fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

// ---- static assets ----

const APP_CSS: &str = include_str!("../../static/app.css");
const APP_JS: &str = include_str!("../../static/app.js");

async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

// ---- headers and error pages for every response ----

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
