//! What a steward does with one idea (`/steward/ideas/{id}`, `{id}` the idea's local number):
//! credit a contributor, merge the idea into another open idea of the same room (a duplicate),
//! and offer it to another organisation (a handoff).
//!
//! Promises: the page opens for stewards of the idea's room (for a room of this node, the
//! room's steward check decides; everyone else gets the error page saying why), and whether
//! an action is allowed is decided by the services (`ideas`, `handoffs`), which refuse anyone
//! else. Each post carries the session's CSRF token (403 and nothing changed without it) and
//! calls one service function; on success it answers 303 to the idea's page (after a merge,
//! the page of the idea merged into); when refused, the page comes again with the refusing
//! status, the input kept and the reason in words at the form.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::forms::Problems;
use super::i18n::Tr;
use super::manage::{refusal, shown_on_page, with_status, Choice};
use super::session::Visitor;
use super::signed_form;
use super::{me_of, refused, render, Me};
use crate::domain::lifecycle::Stage;
use crate::error::Error;
use crate::service::ideas::{self, CREDIT_ROLES};
use crate::service::{handoffs, rooms};
use crate::state::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/steward/ideas/{id}", get(steward_page))
        .route("/steward/ideas/{id}/credit", post(credit))
        .route("/steward/ideas/{id}/merge", post(merge))
        .route("/steward/ideas/{id}/offer", post(offer))
}

/// Another open idea of the room, to merge into.
struct IdeaChoice {
    value: String,
    label: String,
    selected: bool,
}

struct Credit {
    actor: String,
    role: String,
}

#[derive(Template)]
#[template(path = "steward.html")]
struct StewardPage {
    tr: Tr,
    me: Option<Me>,
    csrf: String,
    id: String,
    title: String,
    url: String,
    stage: String,
    stage_key: String,
    open: bool,
    room_title: String,
    room_url: String,
    /// The room's management page, for a room of this node.
    manage_url: Option<String>,
    contributors: Vec<Credit>,
    credit_handle: String,
    credit_roles: Vec<Choice>,
    merge_into: Vec<IdeaChoice>,
    offer_to: String,
    offer_message: String,
    problems: Problems,
    /// The refused form (`credit`, `merge`, `offer`), whose general problem shows.
    at: &'static str,
}

impl StewardPage {
    /// Where the refused form is, for the notice at the top of the page.
    fn problem_anchor(&self) -> Option<&'static str> {
        if self.problems.is_empty() {
            return None;
        }
        match self.at {
            "credit" => Some("credit-heading"),
            "merge" => Some("merge-heading"),
            "offer" => Some("offer-heading"),
            _ => None,
        }
    }

    fn general(&self, form: &str) -> Option<&str> {
        (self.at == form)
            .then_some(self.problems.general.as_deref())
            .flatten()
    }
}

/// What a refused form posted.
#[derive(Default)]
struct Kept {
    handle: String,
    role: String,
    into: String,
    to: String,
    message: String,
}

async fn steward_page(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    show(&ctx, tr, &visitor, &id, Kept::default(), None).await
}

async fn show(
    ctx: &Ctx,
    tr: Tr,
    visitor: &Visitor,
    id: &str,
    kept: Kept,
    refused_form: Option<(&'static str, Problems, StatusCode)>,
) -> Response {
    let status = refused_form.as_ref().map(|r| r.2).unwrap_or(StatusCode::OK);
    match load(ctx, &tr, visitor, id, kept, refused_form).await {
        Ok(page) => with_status(render(&page), status),
        Err(e) => refused(&tr, e),
    }
}

async fn load(
    ctx: &Ctx,
    tr: &Tr,
    visitor: &Visitor,
    id: &str,
    kept: Kept,
    refused_form: Option<(&'static str, Problems, StatusCode)>,
) -> Result<StewardPage, Error> {
    let (user, session) = visitor.require()?;
    if id.parse::<i32>().is_err() {
        return Err(Error::not_found(format!("idea {id}")));
    }
    let idea = ideas::get(ctx, user, id).await?;
    // A room of this node: its stewards' check decides who opens this page. A room of another
    // node is stewarded there; the services refuse what this node may not do with its ideas.
    let local_room = ctx.urls.is_local(&idea.room.ap_id).then(|| {
        idea.room
            .handle
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string()
    });
    if let Some(name) = &local_room {
        rooms::get_phases(ctx, user, name).await?;
    }
    // The newest ideas are the likely duplicates; a room's whole history is not one list.
    let others = ideas::list_room_by_ref(
        ctx,
        user,
        &idea.room.ap_id,
        ideas::Paging::first(ideas::Paging::MAX_SIZE),
    )
    .await?;
    let merge_into = others
        .into_iter()
        .filter(|o| o.id != idea.id && !o.deleted)
        .filter(|o| Stage::parse(&o.stage).is_some_and(Stage::is_open))
        .map(|o| IdeaChoice {
            selected: o.id.to_string() == kept.into,
            value: o.id.to_string(),
            label: format!("{} ({})", o.title, tr.stage(&o.stage)),
        })
        .collect();
    let kept_role = if kept.role.is_empty() {
        "improver".to_string()
    } else {
        kept.role.clone()
    };
    let credit_roles = CREDIT_ROLES
        .iter()
        .map(|r| Choice {
            value: r,
            label: tr.t(&format!("steward-credit-role-{r}")),
            selected: *r == kept_role,
        })
        .collect();
    let contributors = idea
        .contributors
        .iter()
        .map(|c| Credit {
            actor: c.actor.clone(),
            role: if CREDIT_ROLES.contains(&c.role.as_str()) {
                tr.t(&format!("steward-credit-role-{}", c.role))
            } else {
                c.role.clone()
            },
        })
        .collect();
    let (problems, at) = match refused_form {
        Some((at, problems, _)) => (problems, at),
        None => (Problems::default(), ""),
    };
    let stage = Stage::parse(&idea.stage);
    Ok(StewardPage {
        tr: tr.clone(),
        me: me_of(visitor),
        csrf: session.csrf_token.clone(),
        id: idea.id.to_string(),
        title: idea.title.clone(),
        url: idea.ap_id.clone(),
        stage: tr.stage(&idea.stage),
        stage_key: idea.stage.clone(),
        open: !idea.deleted && stage.is_some_and(Stage::is_open),
        room_title: idea.room.title.clone(),
        room_url: idea.room.ap_id.clone(),
        manage_url: local_room.map(|n| format!("/r/{n}/manage")),
        contributors,
        credit_handle: kept.handle,
        credit_roles,
        merge_into,
        offer_to: kept.to,
        offer_message: kept.message,
        problems,
        at,
    })
}

/// A refusal of `form`: at `field` when given, else general.
fn refusal_of(
    tr: &Tr,
    form: &'static str,
    field: Option<&'static str>,
    e: &Error,
) -> (&'static str, Problems, StatusCode) {
    let mut problems = Problems::default();
    match field {
        Some(f) => problems.field(f, refusal(tr, e)),
        None => problems.general = Some(refusal(tr, e)),
    }
    (form, problems, e.status())
}

/// Whether a refusal is about the visitor's rights or the idea's state rather than what was
/// typed.
fn about_rights_or_state(e: &Error) -> bool {
    matches!(e, Error::Forbidden(_) | Error::Conflict(_))
}

#[derive(Deserialize)]
struct CreditForm {
    #[serde(default)]
    handle: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    csrf: String,
}

async fn credit(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<CreditForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let mut problems = Problems::default();
    problems.require(
        "credit-handle",
        &form.handle,
        tr.t("steward-handle-required"),
    );
    let refusal = if !problems.is_empty() {
        ("credit", problems, StatusCode::BAD_REQUEST)
    } else {
        let handle = form.handle.trim();
        match ideas::add_contributor(&ctx, user, id.clone(), handle, form.role.clone()).await {
            Ok(idea) => return Redirect::to(&idea.ap_id).into_response(),
            Err(e) if !shown_on_page(&e) => return refused(&tr, e),
            Err(e) => {
                let field = if about_rights_or_state(&e) {
                    None
                } else if e.to_string().contains("credit role") {
                    Some("credit-role")
                } else {
                    Some("credit-handle")
                };
                refusal_of(&tr, "credit", field, &e)
            }
        }
    };
    let kept = Kept {
        handle: form.handle,
        role: form.role,
        ..Kept::default()
    };
    show(&ctx, tr, &visitor, &id, kept, Some(refusal)).await
}

#[derive(Deserialize)]
struct MergeForm {
    #[serde(default)]
    into: String,
    #[serde(default)]
    csrf: String,
}

async fn merge(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<MergeForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let mut problems = Problems::default();
    problems.require("merge-into", &form.into, tr.t("steward-into-required"));
    let refusal = if !problems.is_empty() {
        ("merge", problems, StatusCode::BAD_REQUEST)
    } else {
        match ideas::merge(&ctx, user, id.clone(), form.into.trim().to_string()).await {
            Ok(survivor) => return Redirect::to(&survivor.ap_id).into_response(),
            Err(e) if !shown_on_page(&e) => return refused(&tr, e),
            Err(e) => {
                let field = (!about_rights_or_state(&e)).then_some("merge-into");
                refusal_of(&tr, "merge", field, &e)
            }
        }
    };
    let kept = Kept {
        into: form.into,
        ..Kept::default()
    };
    show(&ctx, tr, &visitor, &id, kept, Some(refusal)).await
}

#[derive(Deserialize)]
struct OfferForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    csrf: String,
}

async fn offer(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<OfferForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let mut problems = Problems::default();
    problems.require("offer-to", &form.to, tr.t("steward-to-required"));
    let refusal = if !problems.is_empty() {
        ("offer", problems, StatusCode::BAD_REQUEST)
    } else {
        let to = form.to.trim();
        match handoffs::offer(&ctx, user, id.clone(), to, form.message.trim().to_string()).await {
            Ok(handoff) => return Redirect::to(&handoff.idea).into_response(),
            Err(e) if !shown_on_page(&e) => return refused(&tr, e),
            Err(e) => {
                let field = (!about_rights_or_state(&e)).then_some("offer-to");
                refusal_of(&tr, "offer", field, &e)
            }
        }
    };
    let kept = Kept {
        to: form.to,
        message: form.message,
        ..Kept::default()
    };
    show(&ctx, tr, &visitor, &id, kept, Some(refusal)).await
}
