//! API tokens: stored as hashes, each naming the local person it authenticates.

use diesel::prelude::*;

use super::models::*;
use super::schema::*;
use super::{now, DbConnection};
use crate::error::Result;

pub fn insert(conn: &mut DbConnection, token_hash: &str, actor_id: i32) -> Result<()> {
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::token_hash.eq(token_hash),
            api_tokens::actor_id.eq(actor_id),
            api_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn actor_by_hash(conn: &mut DbConnection, token_hash: &str) -> Result<Option<Actor>> {
    Ok(api_tokens::table
        .inner_join(actors::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .select(actors::all_columns)
        .first(conn)
        .optional()?)
}
