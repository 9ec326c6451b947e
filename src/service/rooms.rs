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
}

/// The local rooms with their current phase, for the home page.
pub async fn overview(ctx: &Ctx) -> Result<Vec<RoomCard>> {
    ctx.db
        .read(|c| {
            let rooms = store::actors::local_rooms(c)?;
            let mut cards = Vec::with_capacity(rooms.len());
            for room in rooms {
                let phase = policy::current_phase(c, &room)?.name;
                let ideas = if policy::is_public(&room) {
                    store::ideas::count_in_room(c, room.id)?
                } else {
                    0
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
