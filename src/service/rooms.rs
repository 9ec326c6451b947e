//! Project rooms: local `Group` actors that people follow and submit ideas to.

use crate::domain::membership::Phase;
use crate::domain::membership::Role;
use crate::domain::{validate_local_name, Visibility};
use crate::error::{Error, Result};
use crate::service::accounts::{new_local_actor, LocalKind};
use crate::service::commit;
use crate::service::policy;
use crate::state::Ctx;
use crate::store;
use crate::store::models::Actor;

pub struct NewRoom {
    pub name: String,
    pub title: String,
    pub summary: String,
    pub visibility: String,
}

/// Creates a room; only staff of this node may.
pub async fn create(ctx: &Ctx, creator: &Actor, room: NewRoom) -> Result<Actor> {
    policy::require_staff(creator, "create rooms")?;
    validate_local_name(&room.name).map_err(Error::BadRequest)?;
    let visibility = Visibility::parse(&room.visibility).ok_or_else(|| {
        Error::bad_request(format!(
            "visibility '{}' is unknown: use public, partners or private",
            room.visibility
        ))
    })?;
    let title = room.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Error::bad_request("title must be 1-200 characters"));
    }
    let summary = crate::domain::text::markdown_to_html(&room.summary);
    let new = new_local_actor(
        &ctx.urls,
        &ctx.settings.domain,
        &room.name,
        title,
        &summary,
        LocalKind::Room {
            visibility: visibility.as_str().to_string(),
        },
    )
    .await?;
    let name = room.name.clone();
    let creator_id = creator.id;
    ctx.db
        .write(move |c| {
            if store::actors::local_by_name(c, &name)?.is_some() {
                return Err(Error::Conflict(format!(
                    "the name '{name}' is taken (people and rooms share names)"
                )));
            }
            let room = store::actors::insert(c, &new)?;
            // The creator stewards the room (staff of this node are stewards of every room).
            store::members::put(c, room.id, creator_id, Role::Steward, None)?;
            Ok(room)
        })
        .await
}

/// A room as the home page lists it.
#[derive(Debug, Clone)]
pub struct RoomCard {
    pub name: String,
    pub handle: String,
    pub url: String,
    pub title: String,
    /// Sanitised HTML.
    pub summary: String,
    pub visibility: crate::domain::Visibility,
    /// The current phase's name.
    pub phase: String,
    /// Ideas anyone may see (0 for rooms whose ideas are for members).
    pub ideas: i64,
    /// When its public ideas last changed (`None` for none, or for rooms whose ideas are for
    /// members).
    pub latest: Option<chrono::NaiveDateTime>,
}

/// The local rooms with their current phase, for the home page.
pub async fn overview(ctx: &Ctx) -> Result<Vec<RoomCard>> {
    ctx.db
        .read(|c| {
            let rooms = store::actors::local_rooms(c)?;
            let mut cards = Vec::with_capacity(rooms.len());
            for room in rooms {
                let phase = policy::current_phase(c, &room)?.name;
                let (ideas, latest) = if policy::is_public(&room) {
                    (
                        store::ideas::count_in_room(c, room.id)?,
                        store::ideas::latest_in_room(c, room.id)?,
                    )
                } else {
                    (0, None)
                };
                cards.push(RoomCard {
                    handle: room.handle(),
                    url: room.ap_id.clone(),
                    title: room.display_name.clone(),
                    summary: room.summary.clone(),
                    visibility: policy::visibility(&room),
                    name: room.name,
                    phase,
                    ideas,
                    latest,
                });
            }
            Ok(cards)
        })
        .await
}

/// Rooms of other nodes that people of this node follow.
pub async fn followed_remote(ctx: &Ctx) -> Result<Vec<Actor>> {
    ctx.db
        .read(store::follows::remote_rooms_followed_locally)
        .await
}

pub async fn list_local(ctx: &Ctx) -> Result<Vec<Actor>> {
    ctx.db.read(store::actors::local_rooms).await
}

/// A local room by name.
pub async fn local_by_name(ctx: &Ctx, name: &str) -> Result<Actor> {
    let n = name.to_string();
    match ctx
        .db
        .read(move |c| store::actors::local_by_name(c, &n))
        .await?
    {
        Some(a) if a.is_room() => Ok(a),
        _ => Err(Error::not_found(format!("room '{name}'"))),
    }
}

/// A room of another node that this node already knows, by handle (`room@host`); nothing is
/// fetched.
pub async fn known_remote(ctx: &Ctx, handle: &str) -> Result<Actor> {
    let h = handle.trim_start_matches('@').to_string();
    let (name, host) = h
        .split_once('@')
        .ok_or_else(|| Error::not_found(format!("room {handle}")))?;
    let (name, host) = (name.to_string(), host.to_string());
    match ctx
        .db
        .read(move |c| store::actors::by_handle(c, &name, &host))
        .await?
    {
        Some(a) if a.is_room() && !a.local => Ok(a),
        _ => Err(Error::not_found(format!("room {handle}"))),
    }
}

/// A room's phases as stewards configure them, and which one is current.
#[derive(Debug, serde::Serialize)]
pub struct PhasesView {
    pub phases: Vec<Phase>,
    pub current: usize,
    pub current_name: String,
}

fn phases_view(c: &mut crate::store::DbConnection, room: &Actor) -> Result<PhasesView> {
    let (phases, current) = match store::rooms::settings(c, room.id)? {
        Some(s) => (s.phases.0, s.current_phase.max(0) as usize),
        None => (vec![], 0),
    };
    let current_name = phases
        .get(current)
        .map(|p| p.name.clone())
        .unwrap_or_else(|| Phase::open().name);
    Ok(PhasesView {
        phases,
        current,
        current_name,
    })
}

pub async fn get_phases(ctx: &Ctx, user: &Actor, room_name: &str) -> Result<PhasesView> {
    let (user, room_name) = (user.clone(), room_name.to_string());
    ctx.db
        .read(move |c| {
            let room = policy::steward_room(c, &user, &room_name)?;
            phases_view(c, &room)
        })
        .await
}

/// Stewards replace the ordered list of phases; the room starts (again) at the first one.
pub async fn set_phases(
    ctx: &Ctx,
    steward: &Actor,
    room_name: &str,
    phases: Vec<Phase>,
) -> Result<PhasesView> {
    if phases.is_empty() {
        return Err(Error::bad_request("a room needs at least one phase"));
    }
    if phases.iter().any(|p| p.name.trim().is_empty()) {
        return Err(Error::bad_request("every phase needs a name"));
    }
    let (steward, room_name) = (steward.clone(), room_name.to_string());
    commit(ctx, move |c| {
        let room = policy::steward_room(c, &steward, &room_name)?;
        store::rooms::set_phases(c, room.id, &phases)?;
        phases_view(c, &room)
    })
    .await
}

/// Stewards move the room on to its next phase.
pub async fn next_phase(ctx: &Ctx, steward: &Actor, room_name: &str) -> Result<PhasesView> {
    let (steward, room_name) = (steward.clone(), room_name.to_string());
    commit(ctx, move |c| {
        let room = policy::steward_room(c, &steward, &room_name)?;
        let view = phases_view(c, &room)?;
        if view.current + 1 >= view.phases.len() {
            return Err(Error::Conflict(format!(
                "'{}' is the room's last phase",
                view.current_name
            )));
        }
        store::rooms::set_current_phase(c, room.id, view.current + 1)?;
        phases_view(c, &room)
    })
    .await
}

/// Stewards declare the room's contribution terms: an SPDX licence id or a terms text, with a
/// version. Contributions record the terms in force when they were made.
pub async fn set_terms(
    ctx: &Ctx,
    steward: &Actor,
    room_name: &str,
    spdx: Option<String>,
    text: Option<String>,
    version: String,
) -> Result<()> {
    if version.trim().is_empty() {
        return Err(Error::bad_request("terms need a version"));
    }
    if spdx.is_none() && text.is_none() {
        return Err(Error::bad_request(
            "terms need an spdx licence id or a text",
        ));
    }
    if let Some(id) = &spdx {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c))
        {
            return Err(Error::bad_request(format!(
                "'{id}' is not an SPDX licence id such as CC-BY-4.0"
            )));
        }
    }
    let (steward, room_name) = (steward.clone(), room_name.to_string());
    commit(ctx, move |c| {
        let room = policy::steward_room(c, &steward, &room_name)?;
        let terms = store::rooms::Terms {
            spdx: spdx.as_deref(),
            text: text.as_deref(),
            version: &version,
        };
        store::rooms::set_terms(c, room.id, terms)
    })
    .await
}

/// A room's contribution terms as its page shows them.
#[derive(Debug, Clone)]
pub struct TermsView {
    pub spdx: Option<String>,
    /// Sanitised HTML of the terms text.
    pub text: Option<String>,
    pub version: String,
}

/// What a room's page shows besides its ideas, for one viewer (`None`: not signed in).
#[derive(Debug)]
pub struct RoomView {
    /// The current phase; `None` for rooms of other nodes, whose phases are theirs to tell.
    pub phase: Option<Phase>,
    /// The current phase's number (from 1) and how many phases the room has.
    pub phase_number: usize,
    pub phase_count: usize,
    pub terms: Option<TermsView>,
    /// The members, for members (and staff); `None` for everyone else.
    pub members: Option<Vec<crate::service::members::MemberView>>,
    /// Whether the viewer may submit an idea now, or why not.
    pub may_submit: std::result::Result<(), String>,
    /// Whether the viewer stewards the room.
    pub stewards: bool,
}

/// The page view of a room the viewer may see (others get a 404).
pub async fn view(ctx: &Ctx, viewer: Option<&Actor>, room: &Actor) -> Result<RoomView> {
    let (room, viewer) = (room.clone(), viewer.cloned());
    ctx.db
        .read(move |c| {
            let visible = match &viewer {
                Some(v) => policy::may_see(c, &room, v)?,
                None => policy::is_public(&room),
            };
            if !visible {
                return Err(Error::not_found(format!("room {}", room.handle())));
            }
            let settings = if room.local {
                store::rooms::settings(c, room.id)?
            } else {
                None
            };
            let (phase, phase_number, phase_count) = match (&settings, room.local) {
                (_, false) => (None, 0, 0),
                (Some(s), true) if !s.phases.0.is_empty() => {
                    let current = (s.current_phase.max(0) as usize).min(s.phases.0.len() - 1);
                    (
                        Some(s.phases.0[current].clone()),
                        current + 1,
                        s.phases.0.len(),
                    )
                }
                _ => (Some(Phase::open()), 1, 1),
            };
            let terms = settings.as_ref().and_then(|s| {
                let version = s.terms_version.clone()?;
                Some(TermsView {
                    spdx: s.terms_spdx.clone(),
                    text: s
                        .terms_text
                        .as_deref()
                        .map(crate::domain::text::markdown_to_html),
                    version,
                })
            });
            let (members, may_submit, stewards) = match &viewer {
                None => (None, Err("sign in to take part".to_string()), false),
                Some(v) => {
                    let member = policy::role_in(c, &room, v)?.is_some();
                    let members = if member || policy::is_staff(v) {
                        Some(crate::service::members::member_views(c, &room)?)
                    } else {
                        None
                    };
                    let may_submit = if room.local {
                        policy::authorize(c, &room, v, crate::domain::membership::Action::Submit)?
                    } else {
                        Ok(())
                    };
                    (members, may_submit, policy::is_steward(c, &room, v)?)
                }
            };
            Ok(RoomView {
                phase,
                phase_number,
                phase_count,
                terms,
                members,
                may_submit,
                stewards,
            })
        })
        .await
}
