//! Sign-in attempts by name, for rate limiting that holds across the node's processes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::*;
use super::DbConnection;
use crate::error::Result;

pub fn insert(conn: &mut DbConnection, name: &str, at: NaiveDateTime) -> Result<()> {
    diesel::insert_into(sign_in_attempts::table)
        .values((
            sign_in_attempts::name.eq(name),
            sign_in_attempts::attempted_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// How many attempts were made for `name` since `since`.
pub fn count_since(conn: &mut DbConnection, name: &str, since: NaiveDateTime) -> Result<i64> {
    Ok(sign_in_attempts::table
        .filter(sign_in_attempts::name.eq(name))
        .filter(sign_in_attempts::attempted_at.gt(since))
        .count()
        .get_result(conn)?)
}

/// Forgets the attempts for `name` (after a successful sign-in).
pub fn delete_for(conn: &mut DbConnection, name: &str) -> Result<()> {
    diesel::delete(sign_in_attempts::table.filter(sign_in_attempts::name.eq(name)))
        .execute(conn)?;
    Ok(())
}

/// Forgets the attempts made before `before` (outside every window).
pub fn delete_before(conn: &mut DbConnection, before: NaiveDateTime) -> Result<()> {
    diesel::delete(sign_in_attempts::table.filter(sign_in_attempts::attempted_at.le(before)))
        .execute(conn)?;
    Ok(())
}
