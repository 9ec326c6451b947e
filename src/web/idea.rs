//! An idea's page (served to browsers at its ActivityPub id, or at `/remote/ideas/{id}` for an
//! idea of another node held here): the official answer on top, coloured by stage; the stage
//! timeline with every answer; the description; contributors and their credit; the terms; the
//! path of handoffs between organisations; the threaded comments; and the forms to support, to
//! comment (with a preview that needs no JavaScript) and, for staff, to change the stage.
//!
//! Promises: what the page shows and offers is what [`ideas::read`] and [`board::extras`]
//! decide for this viewer; a refused action comes back with its input and the reason in words.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::forms::Problems;
use super::i18n::Tr;
use super::room::{host_of, idea_link};
use super::session::Visitor;
use super::{error_page, me_of, refused, render, Me, Preview, PITCH_CHARS};
use crate::domain::text;
use crate::error::Error;
use crate::service::ideas::board::{self, IdeaExtras, Person};
use crate::service::ideas::{self, CommentView, IdeaDetail};
use crate::service::{comments, supports};
use crate::state::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/remote/ideas/{id}", get(remote_idea))
        .route("/i/{id}/support", post(support))
        .route("/i/{id}/withdraw", post(withdraw))
        .route("/i/{id}/comments", post(comment))
        .route("/i/{id}/stage", post(change_stage))
}

/// Replies nest this deep on the page; deeper ones line up with the last level.
const MAX_DEPTH: usize = 5;

/// A comment in the thread, with how deep it sits.
struct ThreadItem<'a> {
    depth: usize,
    comment: &'a CommentView,
    author: Person,
}

/// One hop of the idea's path between organisations.
struct Hop {
    from: Person,
    to: Person,
    at: String,
    /// The idea on the node it came from.
    origin: Option<String>,
}

/// The forms of the page as posted, kept when they come back.
#[derive(Default)]
struct Drafts {
    comment: String,
    reply_to: String,
    comment_preview: Option<String>,
    stage: String,
    answer: String,
    problems: Problems,
    /// Which form the problems belong to: `support`, `comment` or `stage`.
    form: &'static str,
}

#[derive(Template)]
#[template(path = "idea.html")]
struct IdeaPage<'a> {
    tr: Tr,
    me: Option<Me>,
    preview: Preview,
    idea: &'a IdeaDetail,
    extras: IdeaExtras,
    author: Person,
    contributors: Vec<(Person, String)>,
    thread: Vec<ThreadItem<'a>>,
    hops: Vec<Hop>,
    drafts: Drafts,
    /// Where the idea lives when it is another node's.
    origin: Option<String>,
    /// Links for visitors who are not signed in: act from their own server.
    support_intent: String,
    reply_intent: String,
}

impl IdeaPage<'_> {
    fn host_of(&self, url: &str) -> String {
        host_of(url)
    }

    fn stage_of(&self, stage: &crate::domain::lifecycle::Stage) -> String {
        self.tr.stage(stage.as_str())
    }

    fn credit_name(&self, role: &str) -> String {
        self.tr.t(&format!("credit-{role}"))
    }

    fn terms_id(&self) -> Option<String> {
        self.idea.terms.as_ref()?["id"].as_str().map(String::from)
    }

    fn terms_version(&self) -> String {
        self.idea
            .terms
            .as_ref()
            .and_then(|t| t["version"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

/// The comments in thread order (each reply after its parent), with their depth; deleted
/// comments stay only where replies hang from them.
fn thread<'a>(idea: &'a IdeaDetail, extras: &IdeaExtras) -> Vec<ThreadItem<'a>> {
    let mut children: HashMap<&str, Vec<&CommentView>> = HashMap::new();
    for c in &idea.comments {
        children.entry(c.in_reply_to.as_str()).or_default().push(c);
    }
    let known: std::collections::HashSet<&str> =
        idea.comments.iter().map(|c| c.ap_id.as_str()).collect();
    // Replies to comments this node never received hang from the idea.
    let mut roots: Vec<&CommentView> = idea
        .comments
        .iter()
        .filter(|c| c.in_reply_to == idea.ap_id || !known.contains(c.in_reply_to.as_str()))
        .collect();
    roots.sort_by_key(|c| c.id);
    let mut out = Vec::with_capacity(idea.comments.len());
    let mut stack: Vec<(usize, &CommentView)> = roots.into_iter().rev().map(|c| (0, c)).collect();
    while let Some((depth, c)) = stack.pop() {
        let replies = children.get(c.ap_id.as_str());
        if !c.deleted || replies.is_some() {
            out.push(ThreadItem {
                depth: depth.min(MAX_DEPTH),
                comment: c,
                author: extras.person(&c.author),
            });
        }
        if let Some(replies) = replies {
            let mut replies = replies.clone();
            replies.sort_by_key(|r| r.id);
            stack.extend(replies.into_iter().rev().map(|r| (depth + 1, r)));
        }
    }
    out
}

fn hops(idea: &IdeaDetail, extras: &IdeaExtras) -> Vec<Hop> {
    idea.provenance
        .iter()
        .map(|step| Hop {
            from: extras.person(step["from"].as_str().unwrap_or_default()),
            to: extras.person(step["to"].as_str().unwrap_or_default()),
            at: step["at"]
                .as_str()
                .map(|t| t.chars().take(10).collect())
                .unwrap_or_default(),
            origin: step["origin"].as_str().map(String::from),
        })
        .collect()
}

fn intent(kind: &str, object: &str) -> String {
    format!(
        "/interact?intent={kind}&object={}",
        url::form_urlencoded::byte_serialize(object.as_bytes()).collect::<String>()
    )
}

/// Renders the page of `key` (a local id or an ActivityPub id) for this visitor.
async fn idea_response(
    ctx: &Ctx,
    tr: Tr,
    visitor: &Visitor,
    key: &str,
    drafts: Drafts,
    status: StatusCode,
) -> Response {
    let viewer = visitor.actor();
    let idea = match ideas::read(ctx, viewer, key).await {
        Ok(Some(idea)) => idea,
        Ok(None) => return error_page(&tr, StatusCode::GONE, None),
        Err(e) => return refused(&tr, e),
    };
    let extras = match board::extras(ctx, viewer, &idea).await {
        Ok(x) => x,
        Err(e) => return refused(&tr, e),
    };
    let author = extras.person(&idea.author);
    let page = IdeaPage {
        preview: Preview {
            kind: "article",
            title: format!("{} · {}", idea.title, idea.room.title),
            description: text::pitch(&idea.content, PITCH_CHARS),
            url: idea.ap_id.clone(),
            site: ctx.settings.org_display_name.clone(),
            creator: (!author.handle.is_empty()).then(|| format!("@{}", author.handle)),
        },
        contributors: idea
            .contributors
            .iter()
            .map(|c| (extras.person(&c.actor), c.role.clone()))
            .collect(),
        thread: thread(&idea, &extras),
        hops: hops(&idea, &extras),
        origin: (!idea.local).then(|| idea.ap_id.clone()),
        support_intent: intent("like", &idea.ap_id),
        reply_intent: intent("reply", &idea.ap_id),
        author,
        extras,
        drafts,
        idea: &idea,
        me: me_of(visitor),
        tr,
    };
    let mut resp = render(&page);
    *resp.status_mut() = status;
    resp
}

/// The page of a local idea, for browsers opening its ActivityPub id; `query` is the URL's
/// query string (`reply_to` opens the comment form as a reply).
pub async fn idea_page(
    ctx: &Ctx,
    headers: &HeaderMap,
    query: Option<&str>,
    ap_id: &str,
) -> Response {
    let tr = Tr::from_headers(headers);
    let visitor = match Visitor::from_headers(ctx, headers).await {
        Ok(v) => v,
        Err(e) => return refused(&tr, e),
    };
    let q: ReplyQuery = query
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let drafts = Drafts {
        reply_to: q.reply_to,
        ..Drafts::default()
    };
    idea_response(ctx, tr, &visitor, ap_id, drafts, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
struct ReplyQuery {
    #[serde(default)]
    reply_to: String,
}

/// The page of another node's idea held here (its origin is linked).
async fn remote_idea(
    State(ctx): State<Ctx>,
    Path(id): Path<i32>,
    Query(q): Query<ReplyQuery>,
    headers: HeaderMap,
    visitor: Visitor,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let drafts = Drafts {
        reply_to: q.reply_to,
        ..Drafts::default()
    };
    idea_response(&ctx, tr, &visitor, &id.to_string(), drafts, StatusCode::OK).await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// Where the page of idea `id` is, for redirects after a form.
async fn page_of(ctx: &Ctx, visitor: &Visitor, id: i32) -> String {
    match ideas::read(ctx, visitor.actor(), &id.to_string()).await {
        Ok(Some(i)) => idea_link(i.local, i.id, &i.ap_id),
        _ => "/".to_string(),
    }
}

/// After a form: back to the idea's page on success, the page with the reason otherwise.
async fn answer<T>(
    ctx: &Ctx,
    tr: Tr,
    visitor: &Visitor,
    id: i32,
    outcome: crate::error::Result<T>,
    mut drafts: Drafts,
    anchor: &str,
) -> Response {
    match outcome {
        Ok(_) => {
            let to = format!("{}#{anchor}", page_of(ctx, visitor, id).await);
            Redirect::to(&to).into_response()
        }
        Err(e @ (Error::NotFound(_) | Error::Unavailable(_) | Error::Database(_))) => {
            refused(&tr, e)
        }
        Err(e) => {
            let status = e.status();
            if drafts.problems.is_empty() {
                drafts.problems.general = Some(e.to_string());
            }
            idea_response(ctx, tr, visitor, &id.to_string(), drafts, status).await
        }
    }
}

/// Supports the idea.
async fn support(
    State(ctx): State<Ctx>,
    Path(id): Path<i32>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<TokenForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = super::signed_form!(visitor, &form.csrf, tr);
    let outcome = supports::give(&ctx, user, id.to_string()).await;
    let drafts = Drafts {
        form: "support",
        ..Drafts::default()
    };
    answer(&ctx, tr, &visitor, id, outcome, drafts, "support").await
}

/// Withdraws the visitor's support.
async fn withdraw(
    State(ctx): State<Ctx>,
    Path(id): Path<i32>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<TokenForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = super::signed_form!(visitor, &form.csrf, tr);
    let outcome = supports::withdraw(&ctx, user, id.to_string()).await;
    let drafts = Drafts {
        form: "support",
        ..Drafts::default()
    };
    answer(&ctx, tr, &visitor, id, outcome, drafts, "support").await
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
    /// The comment replied to; empty for a comment on the idea.
    #[serde(default)]
    in_reply_to: String,
    #[serde(default)]
    csrf: String,
    /// `preview` to see the comment rendered, anything else posts it.
    #[serde(default)]
    action: String,
}

/// Comments on the idea or replies to a comment (or previews it).
async fn comment(
    State(ctx): State<Ctx>,
    Path(id): Path<i32>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<CommentForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = super::signed_form!(visitor, &form.csrf, tr);
    let mut drafts = Drafts {
        comment: form.body.clone(),
        reply_to: form.in_reply_to.clone(),
        form: "comment",
        ..Drafts::default()
    };
    if form.action == "preview" {
        drafts.comment_preview = Some(text::markdown_to_html(&form.body));
        return idea_response(&ctx, tr, &visitor, &id.to_string(), drafts, StatusCode::OK).await;
    }
    drafts
        .problems
        .require("comment", &form.body, tr.t("problem-comment-required"));
    if !drafts.problems.is_empty() {
        return idea_response(
            &ctx,
            tr,
            &visitor,
            &id.to_string(),
            drafts,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let parent = Some(form.in_reply_to).filter(|p| !p.is_empty());
    let outcome = comments::add(&ctx, user, id.to_string(), form.body, parent).await;
    if let Err(Error::BadRequest(m)) = &outcome {
        drafts.problems.field("comment", m);
    }
    answer(&ctx, tr, &visitor, id, outcome, drafts, "comments").await
}

#[derive(Deserialize)]
struct StageForm {
    #[serde(default)]
    stage: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    csrf: String,
}

/// Staff move the idea to another stage, with an answer saying why.
async fn change_stage(
    State(ctx): State<Ctx>,
    Path(id): Path<i32>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<StageForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = super::signed_form!(visitor, &form.csrf, tr);
    let mut drafts = Drafts {
        stage: form.stage.clone(),
        answer: form.answer.clone(),
        form: "stage",
        ..Drafts::default()
    };
    drafts
        .problems
        .require("answer", &form.answer, tr.t("problem-answer-required"));
    if !drafts.problems.is_empty() {
        return idea_response(
            &ctx,
            tr,
            &visitor,
            &id.to_string(),
            drafts,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let outcome = ideas::change_stage(&ctx, user, id.to_string(), &form.stage, &form.answer).await;
    if let Err(Error::BadRequest(m)) = &outcome {
        drafts.problems.field("stage", m);
    }
    answer(&ctx, tr, &visitor, id, outcome, drafts, "answer").await
}
