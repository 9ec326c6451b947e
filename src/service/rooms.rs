//! Project rooms: local `Group` actors that people follow and submit ideas to.

use diesel::prelude::*;

use crate::domain::{validate_local_name, Visibility};
use crate::error::{Error, Result};
use crate::service::accounts::{new_local_actor, LocalKind};
use crate::state::Ctx;
use crate::store::models::Actor;
use crate::store::queries;
use crate::store::schema::room_members;

pub struct NewRoom {
    pub name: String,
    pub title: String,
    pub summary: String,
    pub visibility: String,
}

/// Creates a room; only staff of this node may.
pub async fn create(ctx: &Ctx, creator: &Actor, room: NewRoom) -> Result<Actor> {
    if !creator.staff {
        return Err(Error::Forbidden("only staff can create rooms".into()));
    }
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
            if queries::local_actor_by_name(c, &name)?.is_some() {
                return Err(Error::Conflict(format!(
                    "the name '{name}' is taken (people and rooms share names)"
                )));
            }
            let room = queries::insert_actor(c, &new)?;
            // The creator stewards the room (staff of this node are stewards of every room).
            diesel::insert_into(room_members::table)
                .values((
                    room_members::room_id.eq(room.id),
                    room_members::actor_id.eq(creator_id),
                    room_members::role.eq("steward"),
                    room_members::created_at.eq(crate::store::now()),
                ))
                .execute(c)?;
            Ok(room)
        })
        .await
}

pub async fn list_local(ctx: &Ctx) -> Result<Vec<Actor>> {
    ctx.db.read(queries::local_rooms).await
}

/// A local room by name.
pub async fn local_by_name(ctx: &Ctx, name: &str) -> Result<Actor> {
    let n = name.to_string();
    match ctx
        .db
        .read(move |c| queries::local_actor_by_name(c, &n))
        .await?
    {
        Some(a) if a.is_room() => Ok(a),
        _ => Err(Error::not_found(format!("room '{name}'"))),
    }
}
