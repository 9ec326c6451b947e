//! A room's page: the phase banner (what input is wanted now, and until when), the ideas as a
//! board by stage and as a list (sorted by support or recency, filtered by stage, searched),
//! the contribution terms, the members, the handle to follow it; and the forms to submit an idea
//! (with a preview that needs no JavaScript) and to create a room.
//!
//! Promises: the page shows only what [`rooms::view`] and [`board::board`] hand it for this
//! viewer; a refused submission comes back with its input and the reason in words; the page
//! stays small whatever the room's size (the board shows the first ideas of each stage, the list
//! is paged).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::forms::Problems;
use super::i18n::Tr;
use super::session::Visitor;
use super::{error_page, me_of, refused, render, Me, Preview, PITCH_CHARS};
use crate::domain::kinds::ActorKind;
use crate::domain::lifecycle::Stage;
use crate::domain::membership::{Phase, Role};
use crate::domain::{text, Visibility};
use crate::error::Error;
use crate::service::ideas::board::{self, IdeaCard};
use crate::service::rooms::{self, RoomView};
use crate::service::{documents, ideas};
use crate::state::Ctx;
use crate::store::models::Actor;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/r/{name}/ideas", post(submit))
        .route("/rooms/new", get(new_room).post(create_room))
        .route("/remote/rooms/{handle}", get(remote_room))
}

/// Ideas per stage on the board; the rest are a click away in the list.
const BOARD_PER_STAGE: usize = 8;
/// Ideas per page of the list.
const LIST_PAGE: usize = 25;

/// The board's columns, in the order ideas move; closed stages are in the list.
const BOARD_STAGES: [Stage; 6] = [
    Stage::Suggested,
    Stage::UnderReview,
    Stage::InDesign,
    Stage::InDevelopment,
    Stage::Beta,
    Stage::Launched,
];

/// How the visitor wants the ideas: `?view=board|list&sort=support|recent&stage=..&q=..&page=N`.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct IdeaQuery {
    #[serde(default)]
    view: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<usize>,
}

/// How the list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    Support,
    Recent,
}

impl IdeaQuery {
    fn sort(&self) -> Sort {
        if self.sort == "recent" {
            Sort::Recent
        } else {
            Sort::Support
        }
    }

    fn stage(&self) -> Option<Stage> {
        Stage::parse(&self.stage)
    }

    /// The list is shown when asked for, or when the visitor searches or filters.
    fn list(&self) -> bool {
        self.view == "list" || !self.q.trim().is_empty() || self.stage().is_some()
    }

    /// This query's link to another page of the list.
    fn page_link(&self, base: &str, page: usize) -> String {
        let mut url = url::Url::parse("http://x/").expect("a constant URL");
        url.query_pairs_mut()
            .append_pair("view", "list")
            .append_pair(
                "sort",
                if self.sort() == Sort::Recent {
                    "recent"
                } else {
                    "support"
                },
            )
            .append_pair("stage", &self.stage)
            .append_pair("q", &self.q)
            .append_pair("page", &page.to_string());
        format!("{base}?{}", url.query().unwrap_or_default())
    }
}

/// One column of the board.
struct Column {
    stage: Stage,
    total: usize,
    ideas: Vec<IdeaCard>,
}

/// The ideas of the list: the page shown, and links to the others.
struct Listing {
    ideas: Vec<IdeaCard>,
    total: usize,
    previous: Option<String>,
    next: Option<String>,
}

/// The submission form as posted, kept when it comes back.
#[derive(Default)]
struct Draft {
    title: String,
    body: String,
    /// The rendered description, when the visitor asked for a preview.
    preview: Option<String>,
    problems: Problems,
}

#[derive(Template)]
#[template(path = "room.html")]
struct RoomPage<'a> {
    tr: Tr,
    me: Option<Me>,
    preview: Preview,
    room: &'a Actor,
    handle: String,
    /// Where the room lives when it is another node's.
    origin: Option<String>,
    /// Where this page is (the room's id here, `/remote/rooms/..` for others').
    here: String,
    view: RoomView,
    banner: Option<Banner>,
    query: IdeaQuery,
    columns: Vec<Column>,
    listing: Option<Listing>,
    total: usize,
    draft: Draft,
    stages: Vec<Stage>,
    /// Where ideas link to: their id here, or their page here for another node's ideas.
    local: bool,
    follow_intent: String,
}

impl RoomPage<'_> {
    fn idea_url(&self, card: &IdeaCard) -> String {
        idea_link(card.local, card.id, &card.ap_id)
    }

    fn pitch(&self, card: &IdeaCard) -> String {
        text::pitch(&card.content, 160)
    }

    fn role_name(&self, role: &str) -> String {
        self.tr.t(&format!("role-{role}"))
    }

    fn host_of(&self, actor: &str) -> String {
        host_of(actor)
    }
}

/// Where a page links to an idea: its id for this node's ideas, its page here for others'.
pub fn idea_link(local: bool, id: i32, ap_id: &str) -> String {
    if local {
        ap_id.to_string()
    } else {
        format!("/remote/ideas/{id}")
    }
}

/// The host of an actor's id: the organisation it belongs to, as people read it.
pub fn host_of(ap_id: &str) -> String {
    url::Url::parse(ap_id)
        .ok()
        .and_then(|u| u.host_str().map(String::from))
        .unwrap_or_default()
}

/// The phase banner: what input is wanted now, from whom, and until when.
struct Banner {
    name: String,
    number: usize,
    count: usize,
    description: Option<String>,
    until: Option<String>,
    /// "Ideas: partners, customers" and the like, one line per action.
    wanted: Vec<(String, String)>,
}

fn banner(tr: &Tr, view: &RoomView) -> Option<Banner> {
    let phase: &Phase = view.phase.as_ref()?;
    let roles = |rs: &[Role]| -> String {
        let names: Vec<String> = rs
            .iter()
            .filter(|r| **r != Role::Steward)
            .map(|r| tr.t(&format!("role-{}s", r.as_str())))
            .collect();
        if names.is_empty() {
            tr.t("phase-nobody")
        } else {
            names.join(", ")
        }
    };
    Some(Banner {
        name: phase.name.clone(),
        number: view.phase_number,
        count: view.phase_count,
        description: phase.description.clone().filter(|d| !d.trim().is_empty()),
        until: phase.until.map(|d| d.format("%Y-%m-%d").to_string()),
        wanted: vec![
            (tr.t("phase-submit"), roles(&phase.submit)),
            (tr.t("phase-comment"), roles(&phase.comment)),
            (tr.t("phase-support"), roles(&phase.support)),
        ],
    })
}

/// The board and the list of the ideas, as the query asks.
fn arrange(
    mut cards: Vec<IdeaCard>,
    query: &IdeaQuery,
    base: &str,
) -> (Vec<Column>, Option<Listing>) {
    let by_support = |a: &IdeaCard, b: &IdeaCard| {
        b.supports
            .cmp(&a.supports)
            .then(b.published.cmp(&a.published))
    };
    if !query.list() {
        cards.sort_by(by_support);
        let columns = BOARD_STAGES
            .iter()
            .map(|stage| {
                let mut of_stage = cards.iter().filter(|c| c.stage == *stage);
                let ideas: Vec<IdeaCard> =
                    of_stage.by_ref().take(BOARD_PER_STAGE).cloned().collect();
                Column {
                    stage: *stage,
                    total: ideas.len() + of_stage.count(),
                    ideas,
                }
            })
            .collect();
        return (columns, None);
    }
    let needle = query.q.trim().to_lowercase();
    let stage = query.stage();
    cards.retain(|c| {
        stage.is_none_or(|s| c.stage == s)
            && (needle.is_empty()
                || c.title.to_lowercase().contains(&needle)
                || c.content.to_lowercase().contains(&needle))
    });
    match query.sort() {
        Sort::Support => cards.sort_by(by_support),
        Sort::Recent => cards.sort_by_key(|c| std::cmp::Reverse(c.published)),
    }
    let total = cards.len();
    let pages = total.div_ceil(LIST_PAGE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let ideas = cards
        .into_iter()
        .skip((page - 1) * LIST_PAGE)
        .take(LIST_PAGE)
        .collect();
    let listing = Listing {
        ideas,
        total,
        previous: (page > 1).then(|| query.page_link(base, page - 1)),
        next: (page < pages).then(|| query.page_link(base, page + 1)),
    };
    (Vec::new(), Some(listing))
}

/// Renders a room's page for this visitor.
async fn room_response(
    ctx: &Ctx,
    tr: Tr,
    visitor: &Visitor,
    room: &Actor,
    query: IdeaQuery,
    draft: Draft,
    status: StatusCode,
) -> Response {
    let viewer = visitor.actor();
    let view = match rooms::view(ctx, viewer, room).await {
        Ok(v) => v,
        Err(e) => return refused(&tr, e),
    };
    let cards = match board::board(ctx, viewer, room).await {
        Ok(c) => c,
        Err(e) => return refused(&tr, e),
    };
    let here = if room.local {
        room.ap_id.clone()
    } else {
        format!("/remote/rooms/{}", room.handle())
    };
    let total = cards.len();
    let (columns, listing) = arrange(cards, &query, &here);
    let mut resp = render(&RoomPage {
        preview: Preview {
            kind: "website",
            title: room.display_name.clone(),
            description: text::pitch(&room.summary, PITCH_CHARS),
            url: room.ap_id.clone(),
            site: ctx.settings.org_display_name.clone(),
            creator: None,
        },
        handle: room.handle(),
        origin: (!room.local).then(|| room.ap_id.clone()),
        banner: banner(&tr, &view),
        follow_intent: format!(
            "/interact?intent=follow&object={}",
            url::form_urlencoded::byte_serialize(room.ap_id.as_bytes()).collect::<String>()
        ),
        local: room.local,
        here,
        view,
        query,
        columns,
        listing,
        total,
        draft,
        stages: Stage::ALL.to_vec(),
        me: me_of(visitor),
        room,
        tr,
    });
    *resp.status_mut() = status;
    resp
}

/// The page of a local room, for browsers opening its ActivityPub id; `query` is the URL's
/// query string (how the ideas are shown).
pub async fn room_page(
    ctx: &Ctx,
    headers: &HeaderMap,
    query: Option<&str>,
    room: &Actor,
) -> Response {
    let tr = Tr::from_headers(headers);
    let visitor = match Visitor::from_headers(ctx, headers).await {
        Ok(v) => v,
        Err(e) => return refused(&tr, e),
    };
    let query = query
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    room_response(
        ctx,
        tr,
        &visitor,
        room,
        query,
        Draft::default(),
        StatusCode::OK,
    )
    .await
}

/// A room of another node that this node follows, as held here.
async fn remote_room(
    State(ctx): State<Ctx>,
    Path(handle): Path<String>,
    Query(query): Query<IdeaQuery>,
    headers: HeaderMap,
    visitor: Visitor,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let room = match rooms::known_remote(&ctx, &handle).await {
        Ok(r) => r,
        Err(e) => return refused(&tr, e),
    };
    room_response(
        &ctx,
        tr,
        &visitor,
        &room,
        query,
        Draft::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct SubmitForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    csrf: String,
    /// `preview` to see the description rendered, anything else submits.
    #[serde(default)]
    action: String,
}

/// Submits an idea to a local room (or previews it): on success, the idea's page.
async fn submit(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<SubmitForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = super::signed_form!(visitor, &form.csrf, tr);
    let room = match documents::local_actor(&ctx, &name, ActorKind::Group).await {
        Ok(r) => r,
        Err(e) => return refused(&tr, e),
    };
    let mut draft = Draft {
        title: form.title.clone(),
        body: form.body.clone(),
        ..Draft::default()
    };
    if form.action == "preview" {
        draft.preview = Some(text::markdown_to_html(&form.body));
        return room_response(
            &ctx,
            tr,
            &visitor,
            &room,
            IdeaQuery::default(),
            draft,
            StatusCode::OK,
        )
        .await;
    }
    draft
        .problems
        .require("title", &form.title, tr.t("problem-title-required"));
    if draft.problems.is_empty() {
        match ideas::submit(&ctx, user, &name, &form.title, &form.body).await {
            Ok(idea) => return Redirect::to(&idea.ap_id).into_response(),
            Err(e) => match &e {
                Error::BadRequest(m) if m.starts_with("title") => draft.problems.field("title", m),
                Error::BadRequest(m) if m.starts_with("body") => draft.problems.field("body", m),
                _ => draft.problems.general = Some(e.to_string()),
            },
        }
    }
    let status = if draft.problems.general.is_some() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::BAD_REQUEST
    };
    room_response(
        &ctx,
        tr,
        &visitor,
        &room,
        IdeaQuery::default(),
        draft,
        status,
    )
    .await
}

// ---- creating a room ----

/// The new-room form as posted, kept when it comes back.
#[derive(Default, Deserialize)]
struct NewRoomForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Template)]
#[template(path = "new_room.html")]
struct NewRoomPage {
    tr: Tr,
    me: Option<Me>,
    form: NewRoomForm,
    problems: Problems,
    visibilities: [Visibility; 3],
}

fn new_room_page(tr: Tr, visitor: &Visitor, form: NewRoomForm, problems: Problems) -> Response {
    let status = if problems.is_empty() {
        StatusCode::OK
    } else if problems.general.is_some() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut resp = render(&NewRoomPage {
        tr,
        me: me_of(visitor),
        form,
        problems,
        visibilities: [
            Visibility::Public,
            Visibility::Partners,
            Visibility::Private,
        ],
    });
    *resp.status_mut() = status;
    resp
}

/// The form to create a room: staff only, others are told why.
async fn new_room(headers: HeaderMap, visitor: Visitor) -> Response {
    let tr = Tr::from_headers(&headers);
    match visitor.require() {
        Ok((actor, _)) => {
            if let Err(e) = crate::service::policy::require_staff(actor, "create rooms") {
                return refused(&tr, e);
            }
        }
        Err(_) => return Redirect::to("/login").into_response(),
    }
    let form = NewRoomForm {
        visibility: "public".into(),
        ..NewRoomForm::default()
    };
    new_room_page(tr, &visitor, form, Problems::default())
}

/// Creates the room; its page on success, the form with its problems marked otherwise.
async fn create_room(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<NewRoomForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = super::signed_form!(visitor, &form.csrf, tr);
    let mut problems = Problems::default();
    if let Err(why) = crate::domain::validate_local_name(&form.name) {
        problems.field("name", why);
    }
    problems.require("title", &form.title, tr.t("problem-title-required"));
    if !problems.is_empty() {
        return new_room_page(tr, &visitor, form, problems);
    }
    let new = rooms::NewRoom {
        name: form.name.clone(),
        title: form.title.clone(),
        summary: form.summary.clone(),
        visibility: form.visibility.clone(),
    };
    match rooms::create(&ctx, &user, new).await {
        Ok(room) => Redirect::to(&room.ap_id).into_response(),
        Err(e) => {
            match &e {
                Error::Conflict(m) => problems.field("name", m),
                Error::BadRequest(m) if m.starts_with("title") => problems.field("title", m),
                Error::BadRequest(m) if m.starts_with("visibility") => {
                    problems.field("visibility", m)
                }
                Error::BadRequest(m) => problems.field("name", m),
                Error::Forbidden(_) => problems.general = Some(e.to_string()),
                _ => return error_page(&tr, e.status(), Some(&e.to_string())),
            }
            new_room_page(tr, &visitor, form, problems)
        }
    }
}
