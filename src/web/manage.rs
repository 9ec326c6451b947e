//! A room's management page, for its stewards (and the node's staff, who steward every room):
//! the phases (listed, moved on, replaced), the contribution terms, the members (role changed,
//! removed), the requests to join waiting for an answer, and the invitations the room sent.
//!
//! Promises: every page and every form is decided by the services (`rooms`, `members`,
//! `invitations`): a visitor who is not a steward of the room gets the error page saying why,
//! and each post calls one service function. Each post carries the session's CSRF token (403
//! and nothing changed without it); on success it answers 303 back to `/r/{name}/manage`;
//! when refused, the page comes again with the refusing status (400, 403, 404, 409), the input
//! kept, and the reason in words next to the form (at the field when it is clear which).
//! Everything works without JavaScript.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::forms::Problems;
use super::i18n::Tr;
use super::session::Visitor;
use super::signed_form;
use super::{me_of, refused, render, Me};
use crate::domain::lifecycle::Stage;
use crate::domain::membership::{PartnerKind, Phase, Role};
use crate::error::Error;
use crate::service::{ideas, invitations, members, rooms};
use crate::state::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/r/{name}/manage", get(manage))
        .route("/r/{name}/manage/phases", post(save_phases))
        .route("/r/{name}/manage/phases/json", post(save_phases_json))
        .route("/r/{name}/manage/phases/next", post(next_phase))
        .route("/r/{name}/manage/terms", post(save_terms))
        .route("/r/{name}/manage/members/role", post(change_role))
        .route("/r/{name}/manage/members/remove", post(remove_member))
        .route(
            "/r/{name}/manage/requests/{id}/approve",
            post(approve_request),
        )
        .route(
            "/r/{name}/manage/requests/{id}/refuse",
            post(refuse_request),
        )
        .route("/r/{name}/manage/invitations", post(invite))
}

// ---- shared by the management pages (this one, `me` and `steward`) ----

/// One choice of a `<select>`, or one checkbox.
pub struct Choice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// The roles of a room, in the reader's language, `current` selected.
pub fn role_choices(tr: &Tr, current: &str) -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|r| Choice {
            value: r.as_str(),
            label: tr.t(&format!("manage-role-{}", r.as_str())),
            selected: r.as_str() == current,
        })
        .collect()
}

/// The kinds of partner, in the reader's language, `current` selected; first the choice of
/// none (for partners, the services read it as "other").
pub fn kind_choices(tr: &Tr, current: &str) -> Vec<Choice> {
    let unset = Choice {
        value: "",
        label: tr.t("manage-kind-unset"),
        selected: current.is_empty(),
    };
    std::iter::once(unset)
        .chain(PartnerKind::ALL.iter().map(|k| Choice {
            value: k.as_str(),
            label: tr.t(&format!("manage-kind-{}", k.as_str())),
            selected: k.as_str() == current,
        }))
        .collect()
}

/// The name of a state (of an invitation, a request, a handoff) in the reader's language.
pub fn state_label(tr: &Tr, state: &str) -> String {
    match state {
        "pending" | "accepted" | "rejected" | "withdrawn" | "approved" | "refused" => {
            tr.t(&format!("manage-state-{state}"))
        }
        other => other.to_string(),
    }
}

/// What a refused action says, in words, before the service's own reason.
pub fn refusal(tr: &Tr, e: &Error) -> String {
    tr.t1("manage-refused", "reason", &e.to_string())
}

/// Whether a refusal is the visitor's to read on the page again (their input, their role, the
/// phase, a conflict, a handle another server did not answer for), as opposed to an error of
/// this node, which gets the error page.
pub fn shown_on_page(e: &Error) -> bool {
    (e.status().is_client_error() && !matches!(e, Error::Unauthorized(_)))
        || matches!(e, Error::Remote(_))
}

/// The one field a service's refusal names, when exactly one of `fields` (field, word in the
/// message) matches.
pub fn field_named(message: &str, fields: &[(&'static str, &str)]) -> Option<&'static str> {
    let mut hits = fields
        .iter()
        .filter(|(_, word)| message.contains(word))
        .map(|(f, _)| *f);
    match (hits.next(), hits.next()) {
        (Some(f), None) => Some(f),
        _ => None,
    }
}

/// A rendered page with `status`.
pub fn with_status(mut resp: Response, status: StatusCode) -> Response {
    *resp.status_mut() = status;
    resp
}

/// A text field's value, blank as `None`.
pub fn non_blank(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_string())
}

// ---- the page ----

/// A checkbox of the phases form.
struct Check {
    id: String,
    name: String,
    value: &'static str,
    label: String,
    checked: bool,
}

/// One switch of a phase (who may submit, comment, support, see) as a group of checkboxes.
struct Switch {
    legend: String,
    roles: Vec<Check>,
}

/// A phase as the form shows it.
struct PhaseBox {
    index: usize,
    /// The phase as stored (JSON), carried along so that a save keeps what the form does
    /// not show; empty for the group that adds a phase.
    base: String,
    legend: String,
    name: String,
    /// What input the phase wants, and its last day (`YYYY-MM-DD`), as the banner shows them.
    description: String,
    until: String,
    switches: Vec<Switch>,
    stages: Vec<Check>,
}

/// A phase in the list of phases.
struct PhaseItem {
    name: String,
    current: bool,
}

struct MemberRow {
    /// Distinguishes the row's fields (`member-{n}-role`).
    n: usize,
    handle: String,
    actor: String,
    role: String,
    partner_kind: String,
    roles: Vec<Choice>,
    kinds: Vec<Choice>,
    /// The reason its form was refused.
    problem: Option<String>,
}

struct RequestRow {
    id: i32,
    handle: String,
    actor: String,
    kind: String,
    message: String,
    roles: Vec<Choice>,
    kinds: Vec<Choice>,
    reason: String,
    problem: Option<String>,
}

struct InvitationRow {
    invitee: String,
    role: String,
    partner_kind: String,
    state: String,
    reason: String,
}

struct IdeaLink {
    title: String,
    url: String,
    steward_url: String,
    stage: String,
}

#[derive(Template)]
#[template(path = "manage_room.html")]
struct ManagePage {
    tr: Tr,
    me: Option<Me>,
    csrf: String,
    name: String,
    title: String,
    room_url: String,
    phases: Vec<PhaseItem>,
    current_name: String,
    phase_boxes: Vec<PhaseBox>,
    phase_count: usize,
    phases_json: String,
    spdx: String,
    terms_text: String,
    version: String,
    members: Vec<MemberRow>,
    requests: Vec<RequestRow>,
    invitations: Vec<InvitationRow>,
    invite_handle: String,
    invite_roles: Vec<Choice>,
    invite_kinds: Vec<Choice>,
    ideas: Vec<IdeaLink>,
    /// The refused form's problems; `general` shows at the form named by `at`.
    problems: Problems,
    at: &'static str,
    /// Whether the general problem already shows in the row of the refused form.
    in_row: bool,
}

impl ManagePage {
    /// Where the refused form is, for the notice at the top of the page.
    fn problem_anchor(&self) -> Option<&'static str> {
        if self.problems.is_empty() {
            return None;
        }
        match self.at {
            "phases" | "next" | "phases-json" => Some("phases-heading"),
            "terms" => Some("terms-heading"),
            "members" => Some("members-heading"),
            "requests" => Some("requests-heading"),
            "invite" => Some("invite-heading"),
            _ => None,
        }
    }

    /// The general problem, if the form `form` was the one refused (and its row does not
    /// show it already).
    fn general(&self, form: &str) -> Option<&str> {
        (self.at == form && !self.in_row)
            .then_some(self.problems.general.as_deref())
            .flatten()
    }
}

/// What a refused form posted, to show it again.
#[derive(Default)]
struct Kept {
    phases: Option<Vec<Phase>>,
    phases_json: Option<String>,
    terms: TermsForm,
    invite: InviteForm,
    /// The member (handle) or request (id) whose row form was refused, with its input.
    row: Option<String>,
    row_role: String,
    row_kind: String,
    row_reason: String,
}

/// A refused form: which one, its problems and the status to answer with.
struct Refusal {
    at: &'static str,
    problems: Problems,
    status: StatusCode,
}

impl Refusal {
    /// A service's refusal, at `field` when given, else as the form's general problem.
    fn of(tr: &Tr, at: &'static str, field: Option<&'static str>, e: &Error) -> Refusal {
        let mut problems = Problems::default();
        match field {
            Some(f) => problems.field(f, refusal(tr, e)),
            None => problems.general = Some(refusal(tr, e)),
        }
        Refusal {
            at,
            problems,
            status: e.status(),
        }
    }
}

async fn manage(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(name): Path<String>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    show(&ctx, tr, &visitor, &name, Kept::default(), None).await
}

/// The page, with a refused form's input and problems when given.
async fn show(
    ctx: &Ctx,
    tr: Tr,
    visitor: &Visitor,
    name: &str,
    kept: Kept,
    refused_form: Option<Refusal>,
) -> Response {
    let status = refused_form
        .as_ref()
        .map(|r| r.status)
        .unwrap_or(StatusCode::OK);
    match load(ctx, &tr, visitor, name, kept, refused_form).await {
        Ok(page) => with_status(render(&page), status),
        Err(e) => refused(&tr, e),
    }
}

async fn load(
    ctx: &Ctx,
    tr: &Tr,
    visitor: &Visitor,
    name: &str,
    kept: Kept,
    refused_form: Option<Refusal>,
) -> Result<ManagePage, Error> {
    let (user, session) = visitor.require()?;
    // The phases first: they are for stewards only, so this answers who may see the page.
    let view = rooms::get_phases(ctx, user, name).await?;
    let room = rooms::local_by_name(ctx, name).await?;
    let member_list = members::list_members(ctx, user, name).await?;
    let request_list = members::list_requests(ctx, user, name).await?;
    let sent = invitations::sent(ctx, user, name).await?;
    let room_ideas = ideas::list_local_room(
        ctx,
        user,
        name,
        ideas::Paging::first(ideas::Paging::MAX_SIZE),
    )
    .await?;

    let phases = view
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| PhaseItem {
            name: p.name.clone(),
            current: i == view.current,
        })
        .collect();
    let mut editing = kept.phases.clone().unwrap_or_else(|| view.phases.clone());
    let stored_count = editing.len();
    editing.push(Phase::open());
    let phase_boxes = editing
        .iter()
        .enumerate()
        .map(|(i, p)| phase_box(tr, i, p, i == stored_count))
        .collect();
    let phases_json = kept.phases_json.clone().unwrap_or_else(|| {
        serde_json::to_string_pretty(&view.phases).unwrap_or_else(|_| "[]".into())
    });

    let row_of = |key: &str| kept.row.as_deref() == Some(key);
    let row_problem = |key: &str| {
        row_of(key)
            .then(|| {
                refused_form
                    .as_ref()
                    .and_then(|r| r.problems.general.clone())
            })
            .flatten()
    };
    let members: Vec<MemberRow> = member_list
        .into_iter()
        .enumerate()
        .map(|(n, m)| {
            let kept_row = row_of(&m.handle);
            let role = if kept_row {
                kept.row_role.clone()
            } else {
                m.role.clone()
            };
            let kind = if kept_row {
                kept.row_kind.clone()
            } else {
                m.partner_kind.clone().unwrap_or_default()
            };
            MemberRow {
                n,
                problem: row_problem(&m.handle),
                roles: role_choices(tr, &role),
                kinds: kind_choices(tr, &kind),
                role: tr.t(&format!("manage-role-{}", m.role)),
                partner_kind: m
                    .partner_kind
                    .as_deref()
                    .map(|k| tr.t(&format!("manage-kind-{k}")))
                    .unwrap_or_default(),
                handle: m.handle,
                actor: m.actor,
            }
        })
        .collect();
    let requests: Vec<RequestRow> = request_list
        .into_iter()
        .map(|r| {
            let key = format!("request-{}", r.id);
            let kept_row = row_of(&key);
            let (role, kind, reason) = if kept_row {
                (
                    kept.row_role.clone(),
                    kept.row_kind.clone(),
                    kept.row_reason.clone(),
                )
            } else {
                ("observer".to_string(), String::new(), String::new())
            };
            RequestRow {
                id: r.id,
                problem: row_problem(&key),
                kind: if r.kind == "Join" {
                    tr.t("manage-request-join")
                } else {
                    tr.t("manage-request-follow")
                },
                message: r
                    .message
                    .as_deref()
                    .map(crate::domain::text::html_to_text)
                    .unwrap_or_default(),
                roles: role_choices(tr, &role),
                kinds: kind_choices(tr, &kind),
                reason,
                handle: r.handle,
                actor: r.actor,
            }
        })
        .collect();
    let invitations = sent
        .into_iter()
        .map(|i| InvitationRow {
            role: tr.t(&format!("manage-role-{}", i.role)),
            partner_kind: i
                .partner_kind
                .as_deref()
                .map(|k| tr.t(&format!("manage-kind-{k}")))
                .unwrap_or_default(),
            state: state_label(tr, &i.state),
            reason: i.reason.unwrap_or_default(),
            invitee: i.invitee,
        })
        .collect();
    let ideas = room_ideas
        .into_iter()
        .filter(|i| !i.deleted)
        .map(|i| IdeaLink {
            steward_url: format!("/steward/ideas/{}", i.id),
            stage: tr.stage(&i.stage),
            title: i.title,
            url: i.ap_id,
        })
        .collect();

    let in_row = members.iter().any(|m: &MemberRow| m.problem.is_some())
        || requests.iter().any(|r: &RequestRow| r.problem.is_some());
    let (problems, at) = match refused_form {
        Some(r) => (r.problems, r.at),
        None => (Problems::default(), ""),
    };
    Ok(ManagePage {
        tr: tr.clone(),
        me: me_of(visitor),
        csrf: session.csrf_token.clone(),
        name: name.to_string(),
        title: room.display_name.clone(),
        room_url: room.ap_id.clone(),
        phases,
        current_name: view.current_name,
        phase_count: stored_count + 1,
        phase_boxes,
        phases_json,
        spdx: kept.terms.spdx,
        terms_text: kept.terms.text,
        version: kept.terms.version,
        members,
        requests,
        invitations,
        invite_handle: kept.invite.handle,
        invite_roles: role_choices(
            tr,
            non_blank(&kept.invite.role)
                .as_deref()
                .unwrap_or("observer"),
        ),
        invite_kinds: kind_choices(tr, &kept.invite.partner_kind),
        ideas,
        problems,
        at,
        in_row,
    })
}

/// The roles a phase's switches are set for; stewards may always do everything.
const SWITCHED_ROLES: [Role; 3] = [Role::Partner, Role::Customer, Role::Observer];

/// The switches of a phase, by form key.
const SWITCHES: [&str; 4] = ["submit", "comment", "support", "see"];

fn switch_of<'p>(phase: &'p Phase, key: &str) -> &'p [Role] {
    match key {
        "submit" => &phase.submit,
        "comment" => &phase.comment,
        "support" => &phase.support,
        _ => &phase.see,
    }
}

fn phase_box(tr: &Tr, i: usize, phase: &Phase, new: bool) -> PhaseBox {
    let switches = SWITCHES
        .iter()
        .map(|key| {
            let allowed = switch_of(phase, key);
            Switch {
                legend: tr.t(&format!("manage-may-{key}")),
                roles: SWITCHED_ROLES
                    .iter()
                    .map(|r| Check {
                        id: format!("p{i}-{key}-{}", r.as_str()),
                        name: format!("p{i}-{key}"),
                        value: r.as_str(),
                        label: tr.t(&format!("manage-role-{}", r.as_str())),
                        checked: allowed.contains(r),
                    })
                    .collect(),
            }
        })
        .collect();
    let stages = Stage::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| Check {
            id: format!("p{i}-stage-{}", s.as_str()),
            name: format!("p{i}-stages"),
            value: s.as_str(),
            label: tr.stage(s.as_str()),
            checked: phase.stages.contains(s),
        })
        .collect();
    PhaseBox {
        index: i,
        base: if new {
            String::new()
        } else {
            serde_json::to_string(phase).unwrap_or_default()
        },
        legend: if new {
            tr.t("manage-phase-new")
        } else {
            tr.t1("manage-phase-legend", "number", &(i + 1).to_string())
        },
        name: if new {
            String::new()
        } else {
            phase.name.clone()
        },
        description: phase.description.clone().unwrap_or_default(),
        until: phase
            .until
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        switches,
        stages,
    }
}

/// The phases a posted phases form describes, in order: each group with a name, its switches
/// as ticked (stewards kept where the phase had them), built on the phase the group showed
/// (its `base`) so that what this form does not show is kept.
fn posted_phases(pairs: &[(String, String)]) -> Result<Vec<Phase>, String> {
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let values = |key: String| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let count = value("count").parse::<usize>().unwrap_or(0).min(100);
    let mut phases = Vec::new();
    for i in 0..count {
        let name = value(&format!("p{i}-name")).trim().to_string();
        if name.is_empty() {
            continue;
        }
        let before: Option<Phase> = serde_json::from_str(value(&format!("p{i}-base"))).ok();
        let before = before.as_ref();
        let mut phase = before.cloned().unwrap_or_else(Phase::open);
        let roles = |key: &str, before: Option<&[Role]>| -> Vec<Role> {
            let ticked = values(format!("p{i}-{key}"));
            let mut roles: Vec<Role> = before
                .into_iter()
                .flatten()
                .copied()
                .filter(|r| *r == Role::Steward)
                .collect();
            roles.extend(
                SWITCHED_ROLES
                    .iter()
                    .copied()
                    .filter(|r| ticked.contains(&r.as_str())),
            );
            roles
        };
        phase.submit = roles("submit", before.map(|p| p.submit.as_slice()));
        phase.comment = roles("comment", before.map(|p| p.comment.as_slice()));
        phase.support = roles("support", before.map(|p| p.support.as_slice()));
        phase.see = roles("see", before.map(|p| p.see.as_slice()));
        let ticked = values(format!("p{i}-stages"));
        phase.stages = Stage::ALL
            .into_iter()
            .filter(|s| ticked.contains(&s.as_str()))
            .collect();
        phase.description =
            Some(value(&format!("p{i}-description")).trim().to_string()).filter(|d| !d.is_empty());
        let until = value(&format!("p{i}-until")).trim();
        phase.until = if until.is_empty() {
            None
        } else {
            Some(
                chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d").map_err(|_| {
                    format!("'{until}' (the last day of '{name}') is not a date such as 2027-01-31")
                })?,
            )
        };
        phase.name = name;
        phases.push(phase);
    }
    Ok(phases)
}

fn back(name: &str) -> Response {
    Redirect::to(&format!("/r/{}/manage", name)).into_response()
}

// ---- phases ----

async fn save_phases(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(name): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let user = signed_form!(visitor, csrf, tr);
    let phases = posted_phases(&pairs);
    if let Err(why) = &phases {
        let mut problems = Problems::default();
        problems.general = Some(why.clone());
        let r = Refusal {
            at: "phases",
            problems,
            status: StatusCode::BAD_REQUEST,
        };
        return show(&ctx, tr, &visitor, &name, Kept::default(), Some(r)).await;
    }
    let phases = phases.unwrap_or_default();
    if phases.is_empty() {
        let mut problems = Problems::default();
        problems.general = Some(tr.t("manage-phases-empty"));
        let r = Refusal {
            at: "phases",
            problems,
            status: StatusCode::BAD_REQUEST,
        };
        return show(&ctx, tr, &visitor, &name, Kept::default(), Some(r)).await;
    }
    match rooms::set_phases(&ctx, &user, &name, phases.clone()).await {
        Ok(_) => back(&name),
        Err(e) if shown_on_page(&e) => {
            let r = Refusal::of(&tr, "phases", None, &e);
            let kept = Kept {
                phases: Some(phases),
                ..Kept::default()
            };
            show(&ctx, tr, &visitor, &name, kept, Some(r)).await
        }
        Err(e) => refused(&tr, e),
    }
}

#[derive(Deserialize)]
struct PhasesJsonForm {
    #[serde(default)]
    phases: String,
    #[serde(default)]
    csrf: String,
}

async fn save_phases_json(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(name): Path<String>,
    Form(form): Form<PhasesJsonForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let kept = || Kept {
        phases_json: Some(form.phases.clone()),
        ..Kept::default()
    };
    let phases: Vec<Phase> = match serde_json::from_str(&form.phases) {
        Ok(p) => p,
        Err(e) => {
            let mut problems = Problems::default();
            problems.field(
                "phases-json",
                tr.t1("manage-phases-json-invalid", "error", &e.to_string()),
            );
            let r = Refusal {
                at: "phases-json",
                problems,
                status: StatusCode::BAD_REQUEST,
            };
            return show(&ctx, tr, &visitor, &name, kept(), Some(r)).await;
        }
    };
    match rooms::set_phases(&ctx, &user, &name, phases).await {
        Ok(_) => back(&name),
        Err(e) if shown_on_page(&e) => {
            let field = (e.status() == StatusCode::BAD_REQUEST).then_some("phases-json");
            let r = Refusal::of(&tr, "phases-json", field, &e);
            show(&ctx, tr, &visitor, &name, kept(), Some(r)).await
        }
        Err(e) => refused(&tr, e),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
}

async fn next_phase(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(name): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    match rooms::next_phase(&ctx, &user, &name).await {
        Ok(_) => back(&name),
        Err(e) if shown_on_page(&e) => {
            let r = Refusal::of(&tr, "next", None, &e);
            show(&ctx, tr, &visitor, &name, Kept::default(), Some(r)).await
        }
        Err(e) => refused(&tr, e),
    }
}

// ---- terms ----

#[derive(Deserialize, Default, Clone)]
struct TermsForm {
    #[serde(default)]
    spdx: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    csrf: String,
}

async fn save_terms(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(name): Path<String>,
    Form(form): Form<TermsForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let mut problems = Problems::default();
    problems.require(
        "terms-version",
        &form.version,
        tr.t("manage-terms-version-required"),
    );
    let refusal = if !problems.is_empty() {
        Refusal {
            at: "terms",
            problems,
            status: StatusCode::BAD_REQUEST,
        }
    } else {
        let (spdx, text) = (non_blank(&form.spdx), non_blank(&form.text));
        let version = form.version.trim().to_string();
        match rooms::set_terms(&ctx, &user, &name, spdx, text, version).await {
            Ok(()) => return back(&name),
            Err(e) if !shown_on_page(&e) => return refused(&tr, e),
            Err(e) => {
                let fields = [("terms-version", "version"), ("terms-spdx", "SPDX")];
                Refusal::of(&tr, "terms", field_named(&e.to_string(), &fields), &e)
            }
        }
    };
    let kept = Kept {
        terms: form,
        ..Kept::default()
    };
    show(&ctx, tr, &visitor, &name, kept, Some(refusal)).await
}

// ---- members and requests ----

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    handle: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    partner_kind: String,
    #[serde(default)]
    csrf: String,
}

async fn change_role(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(name): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let result = match members::parse_role(&form.role, non_blank(&form.partner_kind).as_deref()) {
        Ok((role, kind)) => members::change_role(&ctx, &user, &name, &form.handle, role, kind)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => back(&name),
        Err(e) if shown_on_page(&e) => {
            let r = Refusal::of(&tr, "members", None, &e);
            let kept = Kept {
                row: Some(form.handle),
                row_role: form.role,
                row_kind: form.partner_kind,
                ..Kept::default()
            };
            show(&ctx, tr, &visitor, &name, kept, Some(r)).await
        }
        Err(e) => refused(&tr, e),
    }
}

#[derive(Deserialize)]
struct RemoveForm {
    #[serde(default)]
    handle: String,
    #[serde(default)]
    csrf: String,
}

async fn remove_member(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(name): Path<String>,
    Form(form): Form<RemoveForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    match members::remove_member(&ctx, &user, &name, &form.handle).await {
        Ok(()) => back(&name),
        Err(e) if shown_on_page(&e) => {
            let r = Refusal::of(&tr, "members", None, &e);
            let kept = Kept {
                row: Some(form.handle),
                ..Kept::default()
            };
            show(&ctx, tr, &visitor, &name, kept, Some(r)).await
        }
        Err(e) => refused(&tr, e),
    }
}

#[derive(Deserialize)]
struct ApproveForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    partner_kind: String,
    #[serde(default)]
    csrf: String,
}

async fn approve_request(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path((name, id)): Path<(String, i32)>,
    Form(form): Form<ApproveForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let result = match members::parse_role(&form.role, non_blank(&form.partner_kind).as_deref()) {
        Ok((role, kind)) => {
            members::approve_request(&ctx, user, name.clone(), id, role, kind).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => back(&name),
        Err(e) if shown_on_page(&e) => {
            let r = Refusal::of(&tr, "requests", None, &e);
            let kept = Kept {
                row: Some(format!("request-{id}")),
                row_role: form.role,
                row_kind: form.partner_kind,
                ..Kept::default()
            };
            show(&ctx, tr, &visitor, &name, kept, Some(r)).await
        }
        Err(e) => refused(&tr, e),
    }
}

#[derive(Deserialize)]
struct ReasonForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

async fn refuse_request(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path((name, id)): Path<(String, i32)>,
    Form(form): Form<ReasonForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let reason = non_blank(&form.reason);
    match members::refuse_request(&ctx, user, name.clone(), id, reason).await {
        Ok(()) => back(&name),
        Err(e) if shown_on_page(&e) => {
            let r = Refusal::of(&tr, "requests", None, &e);
            let kept = Kept {
                row: Some(format!("request-{id}")),
                row_reason: form.reason,
                ..Kept::default()
            };
            show(&ctx, tr, &visitor, &name, kept, Some(r)).await
        }
        Err(e) => refused(&tr, e),
    }
}

// ---- invitations ----

#[derive(Deserialize, Default)]
struct InviteForm {
    #[serde(default)]
    handle: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    partner_kind: String,
    #[serde(default)]
    csrf: String,
}

async fn invite(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(name): Path<String>,
    Form(form): Form<InviteForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = signed_form!(visitor, &form.csrf, tr);
    let mut problems = Problems::default();
    problems.require(
        "invite-handle",
        &form.handle,
        tr.t("manage-invite-handle-required"),
    );
    let refusal = if !problems.is_empty() {
        Refusal {
            at: "invite",
            problems,
            status: StatusCode::BAD_REQUEST,
        }
    } else {
        let kind = non_blank(&form.partner_kind);
        let outcome = match members::parse_role(&form.role, kind.as_deref()) {
            Err(e) => {
                let fields = [
                    ("invite-role", "unknown role"),
                    ("invite-kind", "partner_kind"),
                ];
                let field = field_named(&e.to_string(), &fields);
                Err((e, field))
            }
            Ok((role, kind)) => {
                let handle = form.handle.trim();
                match invitations::invite(&ctx, user, name.clone(), handle, role, kind).await {
                    Ok(_) => Ok(()),
                    // The handle is the one thing typed: a refusal that is not about the
                    // visitor's rights is about it.
                    Err(e) => {
                        let field = (!matches!(e, Error::Forbidden(_))).then_some("invite-handle");
                        Err((e, field))
                    }
                }
            }
        };
        match outcome {
            Ok(()) => return back(&name),
            Err((e, _)) if !shown_on_page(&e) => return refused(&tr, e),
            Err((e, field)) => Refusal::of(&tr, "invite", field, &e),
        }
    };
    let kept = Kept {
        invite: form,
        ..Kept::default()
    };
    show(&ctx, tr, &visitor, &name, kept, Some(refusal)).await
}
