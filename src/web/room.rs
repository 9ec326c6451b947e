//! A room's page: the phase banner, the ideas as a board by stage and as a list, the terms,
//! the members, and the forms to submit an idea and to create a room.

use axum::Router;

use crate::state::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
}
