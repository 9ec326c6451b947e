//! What this node knows of the servers it talks to: their software, read from NodeInfo and
//! kept per host, so that what a follower is sent fits how its server reads a room (see
//! [`crate::domain::peers`]).
//!
//! [`learn`] asks a host when it is not known or was last asked more than a day ago; it is
//! called before a follow is recorded (the follower's host, or the followed actor's) and
//! before an idea is sent to a room of another server. It never fails its caller: a host whose
//! NodeInfo cannot be read is recorded as unknown, and its actors' types decide. Inside a
//! transaction, [`family_of`] and [`families`] read what was learned.

use std::collections::HashMap;

use chrono::Duration;

use crate::domain::peers::Family;
use crate::error::Result;
use crate::remote;
use crate::state::Ctx;
use crate::store::{self, now, DbConnection};

/// How long what a host said of its software is trusted before it is asked again.
const FRESH_FOR: Duration = Duration::hours(24);

/// Makes sure this node knows (or has recently tried to know) the software of `host`.
pub async fn learn(ctx: &Ctx, host: &str) {
    if host.is_empty() || host.eq_ignore_ascii_case(&ctx.settings.domain) {
        return;
    }
    let h = host.to_string();
    let known = ctx.db.read(move |c| store::peer_software::get(c, &h)).await;
    if let Ok(Some(k)) = &known {
        if now() - k.checked_at < FRESH_FOR {
            return;
        }
    }
    let software = match remote::nodeinfo(ctx, host).await {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(%host, error = %e, "could not read the NodeInfo of a peer");
            None
        }
    };
    let h = host.to_string();
    if let Err(e) = ctx
        .db
        .write(move |c| store::peer_software::put(c, &h, software.as_ref()))
        .await
    {
        tracing::warn!(%host, error = %e, "could not record the software of a peer");
    }
}

/// The family of `host`'s software, when known.
pub fn family_of(c: &mut DbConnection, host: &str) -> Result<Option<Family>> {
    Ok(store::peer_software::get(c, host)?
        .and_then(|k| k.software)
        .map(|s| s.family()))
}

/// The families of the software of `hosts`, for those whose software is known.
pub fn families(c: &mut DbConnection, hosts: &[String]) -> Result<HashMap<String, Family>> {
    Ok(store::peer_software::of_hosts(c, hosts)?
        .into_iter()
        .map(|(host, s)| (host, s.family()))
        .collect())
}
