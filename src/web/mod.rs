//! Pages for people: server-rendered HTML from askama templates (`templates/`, compiled into
//! the binary and checked at build time), one small stylesheet and one progressive script
//! (`static/`, embedded), and every text through the message catalogue ([`i18n`]).
//!
//! One file per page or group of forms: [`home`] (the organisation, its rooms, following a
//! room), [`account`] (sign-in and sign-out), [`actor`] (people and organisations), [`room`]
//! (a room's board, its forms), [`idea`] (an idea, its thread and its forms). [`headers`] adds
//! the security headers and turns errors into pages; [`forms`] carries a form's input and its
//! problems back to the page.
//!
//! Promises: pages only render what the services hand them (what a reader may see, and what
//! they may do, is decided there); HTML that came from users or other servers is shown only in
//! its sanitised stored form; every HTML response carries a Content-Security-Policy without
//! inline scripts, `nosniff`, a referrer policy and `frame-ancestors 'none'`; an error a
//! browser receives is a page a person understands, while API clients keep their JSON errors.

pub mod account;
pub mod actor;
pub mod forms;
pub mod headers;
pub mod home;
pub mod i18n;
pub mod idea;
pub mod intents;
pub mod manage;
pub mod me;
pub mod room;
pub mod session;
pub mod steward;

use askama::Template;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::Error;
use crate::state::Ctx;
use i18n::Tr;
use session::Visitor;

pub use actor::actor_page;
pub use headers::{error_pages, CONTENT_SECURITY_POLICY};
pub use idea::idea_page;

/// The page routes. Room, people and idea pages live at their ActivityPub ids, served by
/// [`crate::federation`] to browsers through [`actor_page`] and [`idea_page`].
pub fn router() -> Router<Ctx> {
    Router::new()
        .merge(home::routes())
        .merge(account::routes())
        .merge(room::routes())
        .merge(idea::routes())
        .merge(intents::routes())
        .merge(manage::routes())
        .merge(me::routes())
        .merge(steward::routes())
        .route("/static/{file}", get(asset))
}

/// Checks a post's token: the signed-in person, or (returned from the handler) the error page:
/// 403 for a missing or wrong token, 401 when signed out.
macro_rules! signed_form {
    ($visitor:expr, $csrf:expr, $tr:expr) => {
        match $visitor.check_form($csrf) {
            Ok((actor, _)) => actor.clone(),
            Err(e) => return $crate::web::refused(&$tr, e),
        }
    };
}
pub(crate) use signed_form;

/// The signed-in person as the page layout shows them, with the token their forms carry.
pub struct Me {
    pub name: String,
    pub csrf: String,
    pub staff: bool,
}

pub fn me_of(visitor: &Visitor) -> Option<Me> {
    visitor.me.as_ref().map(|(actor, session)| Me {
        name: actor.name.clone(),
        csrf: session.csrf_token.clone(),
        staff: crate::service::policy::is_staff(actor),
    })
}

/// A form that changed nothing because its token was missing or wrong, or because the visitor
/// is not signed in, or an action that was refused: the error page says why.
pub fn refused(tr: &Tr, e: Error) -> Response {
    error_page(tr, e.status(), Some(&e.to_string()))
}

pub fn set_cookie(resp: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// What a link preview (OpenGraph, `twitter:` and `fediverse:creator` tags) shows of a page,
/// so that a Mastodon link card presents a room or an idea properly.
pub struct Preview {
    pub kind: &'static str,
    pub title: String,
    /// A plain-text pitch.
    pub description: String,
    /// The page's one canonical URL (its ActivityPub id).
    pub url: String,
    /// The organisation.
    pub site: String,
    /// `@name@host` of the author, when it is known here.
    pub creator: Option<String>,
}

/// Pitches in previews stay short, as Mastodon cards cut them anyway.
pub const PITCH_CHARS: usize = 200;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    tr: Tr,
    me: Option<Me>,
    title: String,
    text: String,
}

/// An error as a page: the status's title, and what went wrong in words. Server errors say
/// nothing of internals.
pub fn error_page(tr: &Tr, status: StatusCode, reason: Option<&str>) -> Response {
    let code = status.as_u16();
    let title = match code {
        400 | 401 | 403 | 404 | 409 | 410 | 413 | 429 => tr.t(&format!("error-title-{code}")),
        _ => tr.t("error-title-other"),
    };
    let text = match (code, reason) {
        (404, _) => tr.t("error-text-404"),
        (410, _) => tr.t("error-text-410"),
        (500.., _) => tr.t("error-text-500"),
        (_, Some(reason)) => reason.to_string(),
        (_, None) => status.canonical_reason().unwrap_or_default().to_string(),
    };
    let mut resp = render(&ErrorPage {
        tr: tr.clone(),
        me: None,
        title,
        text,
    });
    *resp.status_mut() = status;
    resp
}

pub fn render(page: &impl Template) -> Response {
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
