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
pub mod session;

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::error::Error;
use crate::service::ideas::{self, CommentView, IdeaDetail};
use crate::service::{accounts, follows, rooms, sessions};
use crate::state::Ctx;
use crate::store::models::Actor;
use i18n::Tr;
use session::{Visitor, FORM_COOKIE, SESSION_COOKIE};

/// The page routes.
pub fn router() -> Router<Ctx> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login).post(sign_in))
        .route("/logout", axum::routing::post(sign_out))
        .route("/follow", axum::routing::post(follow))
        .route("/static/{file}", get(asset))
}

/// The signed-in person as the page layout shows them, with the token their forms carry.
struct Me {
    name: String,
    csrf: String,
}

fn me_of(visitor: &Visitor) -> Option<Me> {
    visitor.me.as_ref().map(|(actor, session)| Me {
        name: actor.name.clone(),
        csrf: session.csrf_token.clone(),
    })
}

/// A form that changed nothing because its token was missing or wrong, or because the visitor
/// is not signed in: the error page says why.
fn refused(tr: &Tr, e: Error) -> Response {
    error_page(tr, e.status(), Some(&e.to_string()))
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
    me: Option<Me>,
    title: String,
    rooms: Vec<RoomItem>,
    followed: Vec<RemoteRoomItem>,
}

async fn home(State(ctx): State<Ctx>, headers: HeaderMap, visitor: Visitor) -> Response {
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
            me: me_of(&visitor),
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
    me: Option<Me>,
    username: String,
    error: Option<String>,
    form_token: String,
}

/// The sign-in page; its form carries a fresh token, also set as a short-lived cookie.
async fn login(State(ctx): State<Ctx>, headers: HeaderMap, visitor: Visitor) -> Response {
    login_page(
        &ctx,
        Tr::from_headers(&headers),
        &visitor,
        String::new(),
        None,
    )
}

fn login_page(
    ctx: &Ctx,
    tr: Tr,
    visitor: &Visitor,
    username: String,
    error: Option<(StatusCode, String)>,
) -> Response {
    let (form_token, _) = accounts::new_token();
    let status = error.as_ref().map(|(s, _)| *s).unwrap_or(StatusCode::OK);
    let mut resp = render(&LoginPage {
        tr,
        me: me_of(visitor),
        username,
        error: error.map(|(_, m)| m),
        form_token: form_token.clone(),
    });
    *resp.status_mut() = status;
    set_cookie(
        &mut resp,
        &session::set_cookie(ctx, FORM_COOKIE, &form_token, 3600),
    );
    resp
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// Signs in: a session cookie and back home; a wrong password or too many attempts give the
/// form again, the name kept and the reason said.
async fn sign_in(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<SignInForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let token_ok = visitor
        .form_token
        .as_deref()
        .is_some_and(|t| !form.csrf.is_empty() && t == form.csrf);
    if !token_ok {
        let e = Error::Forbidden(
            "the sign-in form has expired or did not come from this node: open it again".into(),
        );
        return refused(&tr, e);
    }
    match sessions::sign_in(&ctx, &form.username, &form.password).await {
        Ok(session) => {
            let max_age = (session.expires_at - crate::store::now()).num_seconds();
            let mut resp = Redirect::to("/").into_response();
            set_cookie(
                &mut resp,
                &session::set_cookie(&ctx, SESSION_COOKIE, &session.token, max_age),
            );
            set_cookie(&mut resp, &session::set_cookie(&ctx, FORM_COOKIE, "", 0));
            resp
        }
        Err(e @ (Error::Unauthorized(_) | Error::TooManyRequests(_) | Error::BadRequest(_))) => {
            let status = e.status();
            login_page(
                &ctx,
                tr,
                &visitor,
                form.username,
                Some((status, e.to_string())),
            )
        }
        Err(e) => refused(&tr, e),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// Signs out (a form with the session's token): the session ends and its cookie is cleared.
async fn sign_out(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<TokenForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    if let Err(e) = visitor.check_form(&form.csrf) {
        return refused(&tr, e);
    }
    if let Some(token) = &visitor.session_token {
        if let Err(e) = sessions::sign_out(&ctx, token).await {
            return refused(&tr, e);
        }
    }
    let mut resp = Redirect::to("/").into_response();
    set_cookie(&mut resp, &session::set_cookie(&ctx, SESSION_COOKIE, "", 0));
    resp
}

#[derive(Deserialize)]
struct FollowForm {
    #[serde(default)]
    handle: String,
    #[serde(default)]
    csrf: String,
}

/// Follows a room of another node by handle, for the signed-in person.
async fn follow(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<FollowForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = match visitor.check_form(&form.csrf) {
        Ok((actor, _)) => actor.clone(),
        Err(e) => return refused(&tr, e),
    };
    match follows::follow(&ctx, user, form.handle.trim()).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => refused(&tr, e),
    }
}

fn set_cookie(resp: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// What a link preview (OpenGraph, `twitter:` and `fediverse:creator` tags) shows of a page,
/// so that a Mastodon link card presents a room or an idea properly.
struct Preview {
    kind: &'static str,
    title: String,
    /// A plain-text pitch.
    description: String,
    /// The page's one canonical URL (its ActivityPub id).
    url: String,
    /// The organisation.
    site: String,
    /// `@name@host` of the author, when it is known here.
    creator: Option<String>,
}

/// Pitches in previews stay short, as Mastodon cards cut them anyway.
const PITCH_CHARS: usize = 200;

#[derive(Template)]
#[template(path = "actor.html")]
struct ActorPage<'a> {
    tr: Tr,
    me: Option<Me>,
    preview: Preview,
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
        me: None,
        preview: Preview {
            kind: "profile",
            title: actor.display_name.clone(),
            description: crate::domain::text::pitch(&actor.summary, PITCH_CHARS),
            url: actor.ap_id.clone(),
            site: ctx.settings.org_display_name.clone(),
            creator: (actor.kind == crate::domain::kinds::ActorKind::Person)
                .then(|| format!("@{}", actor.handle())),
        },
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
    me: Option<Me>,
    preview: Preview,
    idea: &'a IdeaDetail,
    comments: Vec<&'a CommentView>,
}

/// The page of an idea the reader may see, with its comments; `site` is the organisation
/// hosting it, named in its link preview.
pub fn idea_page(headers: &HeaderMap, site: &str, idea: &IdeaDetail) -> Response {
    let room = &idea.room.title;
    render(&IdeaPage {
        tr: Tr::from_headers(headers),
        me: None,
        preview: Preview {
            kind: "article",
            title: format!("{} · {room}", idea.title),
            description: crate::domain::text::pitch(&idea.content, PITCH_CHARS),
            url: idea.ap_id.clone(),
            site: site.to_string(),
            creator: None,
        },
        idea,
        comments: idea.comments.iter().filter(|c| !c.deleted).collect(),
    })
}

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
        me: None,
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
