//! What this node learned of other servers' software, per host (from their NodeInfo).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::peer_software;
use super::{now, DbConnection};
use crate::domain::peers::PeerSoftware;
use crate::error::Result;

/// What is known of one host: its software (`None` when its NodeInfo could not be read) and
/// when it was last asked.
#[derive(Debug, Clone)]
pub struct Known {
    pub software: Option<PeerSoftware>,
    pub checked_at: NaiveDateTime,
}

type Row = (String, Option<String>, Option<String>, NaiveDateTime);

fn known((_, software, version, checked_at): Row) -> Known {
    Known {
        software: software.map(|s| PeerSoftware::new(&s, version.as_deref())),
        checked_at,
    }
}

pub fn get(conn: &mut DbConnection, host: &str) -> Result<Option<Known>> {
    Ok(peer_software::table
        .find(host)
        .first::<Row>(conn)
        .optional()?
        .map(known))
}

/// The known software of each of `hosts` that has any.
pub fn of_hosts(
    conn: &mut DbConnection,
    hosts: &[String],
) -> Result<HashMap<String, PeerSoftware>> {
    if hosts.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Row> = peer_software::table
        .filter(peer_software::host.eq_any(hosts))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let host = r.0.clone();
            known(r).software.map(|s| (host, s))
        })
        .collect())
}

/// Records what `host` answered now (`None`: no readable NodeInfo).
pub fn put(conn: &mut DbConnection, host: &str, software: Option<&PeerSoftware>) -> Result<()> {
    let (name, version) = match software {
        Some(s) => (Some(s.name.clone()), s.version.clone()),
        None => (None, None),
    };
    let t = now();
    let updated = diesel::update(peer_software::table.find(host))
        .set((
            peer_software::software.eq(&name),
            peer_software::version.eq(&version),
            peer_software::checked_at.eq(t),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(peer_software::table)
            .values((
                peer_software::host.eq(host),
                peer_software::software.eq(&name),
                peer_software::version.eq(&version),
                peer_software::checked_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
}
