//! Acting from one's own server (the rules are in [`crate::service::intents`]).
//!
//! For visitors who are not signed in here: `/interact?intent=follow|like|reply&object={URL}`
//! asks for their fediverse handle and sends them (303) to the page on their own server where
//! they follow the room, or support or answer the idea. The form carries a double-submit token
//! like the sign-in form, since there is no session.
//!
//! For people of this node, the pages its WebFinger advertises to other servers:
//! `/intents/{follow,like,create,object}` (FEP-3b86) and `/authorize_interaction?uri=`
//! (Mastodon). A GET only shows what is pointed at and the forms to act on it (a visitor who is
//! not signed in is sent to sign in and brought back); the forms post with the session's token,
//! and after acting the page shows what was done (post, redirect, get).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::i18n::Tr;
use super::session::{self, Visitor, FORM_COOKIE};
use super::{me_of, refused, render, set_cookie, Me};
use crate::domain::kinds::FollowState;
use crate::error::Error;
use crate::service::accounts;
use crate::service::intents::{self, Intent, Target};
use crate::state::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/interact", get(interact).post(send_home))
        .route("/authorize_interaction", get(authorize_interaction))
        .route("/intents/object", get(open_object))
        .route("/intents/follow", get(open_follow).post(follow))
        .route("/intents/like", get(open_like).post(like))
        .route("/intents/create", get(open_create).post(create))
}

// ---- visitors: from this node to their own server ----

#[derive(Template)]
#[template(path = "interact.html")]
struct InteractPage {
    tr: Tr,
    me: Option<Me>,
    title: String,
    intro: String,
    intent: Intent,
    object: String,
    handle: String,
    error: Option<String>,
    form_token: String,
}

#[derive(Deserialize)]
struct InteractQuery {
    #[serde(default)]
    intent: String,
    #[serde(default)]
    object: String,
}

/// The handle form for a room or an idea of this node.
async fn interact(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Query(q): Query<InteractQuery>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let intent = match parse_intent(&q.intent) {
        Ok(i) => i,
        Err(e) => return refused(&tr, e),
    };
    match intents::interactable(&ctx, intent, &q.object).await {
        Ok(title) => interact_page(
            &ctx,
            tr,
            &visitor,
            (intent, q.object, title),
            String::new(),
            None,
        ),
        Err(e) => refused(&tr, e),
    }
}

fn parse_intent(text: &str) -> Result<Intent, Error> {
    Intent::parse(text).ok_or_else(|| {
        Error::bad_request("intent must be follow, like or reply: open the link again")
    })
}

/// The form for `(intent, object, title)`, with a fresh token (also set as a short-lived
/// cookie), the handle as typed and what was wrong with it.
fn interact_page(
    ctx: &Ctx,
    tr: Tr,
    visitor: &Visitor,
    (intent, object, title): (Intent, String, String),
    handle: String,
    error: Option<(StatusCode, String)>,
) -> Response {
    let (form_token, _) = accounts::new_token();
    let status = error.as_ref().map(|(s, _)| *s).unwrap_or(StatusCode::OK);
    let mut resp = render(&InteractPage {
        title: tr.t(&format!("interact-title-{intent}")),
        intro: tr.t1(&format!("interact-intro-{intent}"), "title", &title),
        me: me_of(visitor),
        intent,
        object,
        handle,
        error: error.map(|(_, m)| m),
        form_token: form_token.clone(),
        tr,
    });
    *resp.status_mut() = status;
    set_cookie(
        &mut resp,
        &session::set_cookie(ctx, FORM_COOKIE, &form_token, 3600),
    );
    resp
}

#[derive(Deserialize)]
struct InteractForm {
    #[serde(default)]
    intent: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    csrf: String,
}

/// Sends the visitor to their own server (303), or gives the form again with the handle kept
/// and the reason next to it.
async fn send_home(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<InteractForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let token_ok = visitor
        .form_token
        .as_deref()
        .is_some_and(|t| !form.csrf.is_empty() && t == form.csrf);
    if !token_ok {
        let e = Error::Forbidden(
            "this form has expired or did not come from this node: open it again".into(),
        );
        return refused(&tr, e);
    }
    let intent = match parse_intent(&form.intent) {
        Ok(i) => i,
        Err(e) => return refused(&tr, e),
    };
    let title = match intents::interactable(&ctx, intent, &form.object).await {
        Ok(title) => title,
        Err(e) => return refused(&tr, e),
    };
    match intents::remote_url(&ctx, &form.handle, intent, &form.object).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => interact_page(
            &ctx,
            tr,
            &visitor,
            (intent, form.object, title),
            form.handle.trim().to_string(),
            Some((e.status(), words(&e))),
        ),
    }
}

/// What went wrong, in words, without the prefix of its kind.
fn words(e: &Error) -> String {
    match e {
        Error::Remote(m) => m.clone(),
        other => other.to_string(),
    }
}

// ---- people of this node: what other servers send them here to do ----

#[derive(Template)]
#[template(path = "intent.html")]
struct IntentPage {
    tr: Tr,
    me: Option<Me>,
    title: String,
    /// What was just done, said after the post.
    done: Option<String>,
    /// What the object is ("Room", "Idea", ...).
    kind: String,
    name: String,
    /// The object at its own address.
    link: String,
    detail: String,
    /// The object's id, posted back by the forms.
    object: String,
    csrf: String,
    can_follow: bool,
    follow_note: Option<String>,
    can_support: bool,
    can_reply: bool,
    in_reply_to: String,
    content: String,
    reply_error: Option<String>,
}

/// A reply as typed, and what was wrong with it.
#[derive(Default)]
struct Draft {
    content: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct ObjectQuery {
    #[serde(default)]
    object: String,
    /// What was just done (`follow`, `like`, `reply`), after a form posted.
    #[serde(default)]
    done: String,
}

#[derive(Deserialize)]
struct UriQuery {
    #[serde(default)]
    uri: String,
}

#[derive(Deserialize)]
struct CreateQuery {
    #[serde(default, rename = "inReplyTo")]
    in_reply_to: String,
    #[serde(default)]
    content: String,
}

/// Mastodon's remote interaction: `uri` is an actor, an idea or a handle.
async fn authorize_interaction(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    visitor: Visitor,
    Query(q): Query<UriQuery>,
) -> Response {
    let page = Opened {
        focus: None,
        reference: q.uri,
        done: None,
    };
    open_page(&ctx, &headers, &uri, &visitor, page, Draft::default()).await
}

/// FEP-3b86 `Object`: open it here, with whatever can be done with it.
async fn open_object(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    visitor: Visitor,
    Query(q): Query<ObjectQuery>,
) -> Response {
    let page = Opened {
        focus: None,
        reference: q.object,
        done: Intent::parse(&q.done),
    };
    open_page(&ctx, &headers, &uri, &visitor, page, Draft::default()).await
}

/// FEP-3b86 `Follow`.
async fn open_follow(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    visitor: Visitor,
    Query(q): Query<ObjectQuery>,
) -> Response {
    let page = Opened {
        focus: Some(Intent::Follow),
        reference: q.object,
        done: None,
    };
    open_page(&ctx, &headers, &uri, &visitor, page, Draft::default()).await
}

/// FEP-3b86 `Like`: support an idea.
async fn open_like(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    visitor: Visitor,
    Query(q): Query<ObjectQuery>,
) -> Response {
    let page = Opened {
        focus: Some(Intent::Like),
        reference: q.object,
        done: None,
    };
    open_page(&ctx, &headers, &uri, &visitor, page, Draft::default()).await
}

/// FEP-3b86 `Create` with `inReplyTo`: answer an idea, the text prefilled from `content`.
async fn open_create(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    visitor: Visitor,
    Query(q): Query<CreateQuery>,
) -> Response {
    let page = Opened {
        focus: Some(Intent::Reply),
        reference: q.in_reply_to,
        done: None,
    };
    let draft = Draft {
        content: q.content,
        error: None,
    };
    open_page(&ctx, &headers, &uri, &visitor, page, draft).await
}

/// What an intent page opens.
struct Opened {
    /// The intent the link came for; `None` when it came to open the object.
    focus: Option<Intent>,
    reference: String,
    done: Option<Intent>,
}

/// The page of what `opened` names, for the signed-in person; a visitor who is not signed in
/// is sent to sign in first and brought back to `uri`.
async fn open_page(
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    visitor: &Visitor,
    opened: Opened,
    draft: Draft,
) -> Response {
    let tr = Tr::from_headers(headers);
    let Some((user, _)) = &visitor.me else {
        let next = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        return Redirect::to(&format!("/login?{query}")).into_response();
    };
    let target = match intents::open(ctx, user, &opened.reference).await {
        Ok(t) => t,
        Err(e) => return refused(&tr, e),
    };
    let status = if draft.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let me = me_of(visitor);
    let csrf = me.as_ref().map(|m| m.csrf.clone()).unwrap_or_default();
    let done = opened.done.map(|d| tr.t(&format!("intent-done-{d}")));
    let page = match target {
        Target::Actor {
            actor,
            follow,
            followable,
        } => IntentPage {
            title: tr.t1("intent-title-follow", "name", &actor.display_name),
            kind: tr.t(&format!(
                "intent-kind-{}",
                actor.kind.as_str().to_lowercase()
            )),
            detail: format!("@{}", actor.handle()),
            can_follow: followable && follow != Some(FollowState::Accepted),
            follow_note: follow.map(|s| tr.t(&format!("intent-follow-{s}"))),
            can_support: false,
            can_reply: false,
            name: actor.display_name,
            link: actor.ap_id.clone(),
            object: actor.ap_id,
            in_reply_to: String::new(),
            content: String::new(),
            reply_error: None,
            done,
            csrf,
            me,
            tr,
        },
        Target::Idea { idea, reply_to } => {
            let title = match opened.focus {
                Some(Intent::Reply) => "intent-title-reply",
                _ => "intent-title-like",
            };
            IntentPage {
                title: tr.t1(title, "title", &idea.title),
                kind: tr.t(if reply_to.is_some() {
                    "intent-kind-comment"
                } else {
                    "intent-kind-idea"
                }),
                detail: format!(
                    "{} · {} {}",
                    tr.t1("intent-in-room", "room", &idea.room.title),
                    idea.support_count,
                    tr.count("idea-supports", idea.support_count)
                ),
                can_follow: false,
                follow_note: None,
                can_support: reply_to.is_none(),
                can_reply: true,
                link: reply_to.clone().unwrap_or_else(|| idea.ap_id.clone()),
                in_reply_to: reply_to.unwrap_or_else(|| idea.ap_id.clone()),
                name: idea.title,
                object: idea.ap_id,
                content: draft.content,
                reply_error: draft.error,
                done,
                csrf,
                me,
                tr,
            }
        }
    };
    let mut resp = render(&page);
    *resp.status_mut() = status;
    resp
}

#[derive(Deserialize)]
struct ActForm {
    #[serde(default)]
    object: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
struct ReplyForm {
    #[serde(default, rename = "inReplyTo")]
    in_reply_to: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    csrf: String,
}

/// After acting: the object's page saying what was done.
fn done(object: &str, intent: Intent) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("object", object)
        .append_pair("done", intent.as_str())
        .finish();
    Redirect::to(&format!("/intents/object?{query}")).into_response()
}

/// Follows the actor (the session's token required).
async fn follow(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<ActForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = super::signed_form!(visitor, &form.csrf, tr);
    match intents::follow(&ctx, user, &form.object).await {
        Ok((target, _)) => done(&target.ap_id, Intent::Follow),
        Err(e) => refused(&tr, e),
    }
}

/// Supports the idea (the session's token required).
async fn like(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<ActForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = super::signed_form!(visitor, &form.csrf, tr);
    match intents::support(&ctx, user, &form.object).await {
        Ok(idea) => done(&idea.ap_id, Intent::Like),
        Err(e) => refused(&tr, e),
    }
}

/// Answers the idea or comment (the session's token required); a reply that cannot be taken
/// as written comes back with the text kept and the reason next to it.
async fn create(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    visitor: Visitor,
    Form(form): Form<ReplyForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = super::signed_form!(visitor, &form.csrf, tr);
    match intents::reply(&ctx, user, &form.in_reply_to, form.content.clone()).await {
        Ok(_) => done(&form.in_reply_to, Intent::Reply),
        Err(Error::BadRequest(reason)) => {
            let opened = Opened {
                focus: Some(Intent::Reply),
                reference: form.in_reply_to,
                done: None,
            };
            let draft = Draft {
                content: form.content,
                error: Some(reason),
            };
            open_page(&ctx, &headers, &uri, &visitor, opened, draft).await
        }
        Err(e) => refused(&tr, e),
    }
}
