//! Room settings: the phases stewards configured, which one is current, and the contribution
//! terms. A room without a row has no phases (all switches open) and no terms.

use diesel::prelude::*;

use super::json::to_text;
use super::models::RoomSettings;
use super::schema::room_settings;
use super::DbConnection;
use crate::domain::membership::Phase;
use crate::error::Result;

pub fn settings(conn: &mut DbConnection, room: i32) -> Result<Option<RoomSettings>> {
    Ok(room_settings::table.find(room).first(conn).optional()?)
}

/// Replaces the room's phases and makes the first one current.
pub fn set_phases(conn: &mut DbConnection, room: i32, phases: &[Phase]) -> Result<()> {
    let json = to_text(&phases);
    let updated = diesel::update(room_settings::table.find(room))
        .set((
            room_settings::phases.eq(&json),
            room_settings::current_phase.eq(0),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(room_settings::table)
            .values((
                room_settings::room_id.eq(room),
                room_settings::phases.eq(&json),
                room_settings::current_phase.eq(0),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn set_current_phase(conn: &mut DbConnection, room: i32, index: usize) -> Result<()> {
    diesel::update(room_settings::table.find(room))
        .set(room_settings::current_phase.eq(index as i32))
        .execute(conn)?;
    Ok(())
}

/// The room's contribution terms: an SPDX id or a text, with a version.
pub struct Terms<'a> {
    pub spdx: Option<&'a str>,
    pub text: Option<&'a str>,
    pub version: &'a str,
}

pub fn set_terms(conn: &mut DbConnection, room: i32, terms: Terms<'_>) -> Result<()> {
    let updated = diesel::update(room_settings::table.find(room))
        .set((
            room_settings::terms_spdx.eq(terms.spdx),
            room_settings::terms_text.eq(terms.text),
            room_settings::terms_version.eq(Some(terms.version)),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(room_settings::table)
            .values((
                room_settings::room_id.eq(room),
                room_settings::phases.eq("[]"),
                room_settings::current_phase.eq(0),
                room_settings::terms_spdx.eq(terms.spdx),
                room_settings::terms_text.eq(terms.text),
                room_settings::terms_version.eq(Some(terms.version)),
            ))
            .execute(conn)?;
    }
    Ok(())
}
