//! The `blocked_hosts` table: hosts the node's staff blocked, with the reason and when.
//! Promises: hosts are stored as given (the service normalises them first); adding a host
//! twice keeps one row.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::blocked_hosts;
use super::DbConnection;
use crate::error::Result;

/// One blocked host.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, serde::Serialize)]
#[diesel(table_name = blocked_hosts)]
pub struct BlockedHost {
    /// Lower-case `name[:port]`.
    pub host: String,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Blocks `host`; when it is already blocked, only the reason is replaced (when one is given).
/// Returns the row and whether it is new.
pub fn put(
    conn: &mut DbConnection,
    host: &str,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<(BlockedHost, bool)> {
    if let Some(existing) = get(conn, host)? {
        if reason.is_none() || reason == existing.reason.as_deref() {
            return Ok((existing, false));
        }
        diesel::update(blocked_hosts::table.find(host))
            .set(blocked_hosts::reason.eq(reason))
            .execute(conn)?;
        let row = blocked_hosts::table.find(host).first(conn)?;
        return Ok((row, false));
    }
    diesel::insert_into(blocked_hosts::table)
        .values((
            blocked_hosts::host.eq(host),
            blocked_hosts::reason.eq(reason),
            blocked_hosts::created_at.eq(now),
        ))
        .execute(conn)?;
    let row = blocked_hosts::table.find(host).first(conn)?;
    Ok((row, true))
}

pub fn get(conn: &mut DbConnection, host: &str) -> Result<Option<BlockedHost>> {
    Ok(blocked_hosts::table.find(host).first(conn).optional()?)
}

/// Lifts the block of `host`; whether there was one.
pub fn delete(conn: &mut DbConnection, host: &str) -> Result<bool> {
    Ok(diesel::delete(blocked_hosts::table.find(host)).execute(conn)? > 0)
}

/// Every blocked host, by host.
pub fn all(conn: &mut DbConnection) -> Result<Vec<BlockedHost>> {
    Ok(blocked_hosts::table
        .order(blocked_hosts::host.asc())
        .load(conn)?)
}

/// The first of `hosts` (in host order) that is blocked, if any. On PostgreSQL one indexed
/// query (`= ANY`, prepared once); on SQLite one primary-key lookup per host, because diesel
/// writes a list of any length as `IN (?, ?, ...)`, which SQLite has to parse on every call
/// (the inbox asks this of every activity, and a lookup costs less than a parse).
pub fn any_of(conn: &mut DbConnection, hosts: &[String]) -> Result<Option<BlockedHost>> {
    if hosts.is_empty() {
        return Ok(None);
    }
    if let DbConnection::Sqlite(c) = conn {
        let mut first: Option<BlockedHost> = None;
        for host in hosts {
            if first.as_ref().is_some_and(|f| f.host <= *host) {
                continue;
            }
            if let Some(found) = blocked_hosts::table.find(host).first(c).optional()? {
                first = Some(found);
            }
        }
        return Ok(first);
    }
    let query = blocked_hosts::table
        .filter(blocked_hosts::host.eq_any(hosts))
        .order(blocked_hosts::host.asc());
    Ok(per_backend!(conn, |c| query.first(c).optional())?)
}

/// Every block among `hosts`, in host order: one statement for any number of hosts (on
/// PostgreSQL `= ANY` of an array, on SQLite `json_each` of a JSON list, so that the
/// statement is prepared once whatever the count). The delivery worker asks this once per
/// claim, for the hosts of every inbox it claimed.
pub fn among(conn: &mut DbConnection, hosts: &[String]) -> Result<Vec<BlockedHost>> {
    if hosts.is_empty() {
        return Ok(Vec::new());
    }
    match conn {
        DbConnection::Postgresql(_) => Ok(blocked_hosts::table
            .filter(blocked_hosts::host.eq_any(hosts))
            .order(blocked_hosts::host.asc())
            .load(conn)?),
        DbConnection::Sqlite(c) => {
            let list = serde_json::to_string(hosts)
                .map_err(|e| crate::error::Error::Internal(format!("host list: {e}")))?;
            Ok(diesel::sql_query(
                "SELECT host, reason, created_at FROM blocked_hosts \
                 WHERE host IN (SELECT value FROM json_each(?)) ORDER BY host",
            )
            .bind::<diesel::sql_types::Text, _>(list)
            .load(c)?)
        }
    }
}
