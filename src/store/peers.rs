//! Remote hosts this node sends signed requests to, and the HTTP signature scheme each one last
//! accepted (the memory behind double-knocking, [`crate::federation::knock`]).

use diesel::prelude::*;

use super::schema::peers;
use super::{now, DbConnection};
use crate::domain::kinds::SignatureScheme;
use crate::error::{Error, Result};

/// The scheme `host` last accepted, if this node remembers one.
pub fn scheme_of(conn: &mut DbConnection, host: &str) -> Result<Option<SignatureScheme>> {
    let stored: Option<String> = peers::table
        .filter(peers::host.eq(host))
        .select(peers::signature_scheme)
        .first(conn)
        .optional()?;
    stored
        .map(|s| SignatureScheme::try_from(s).map_err(|e| Error::Internal(e.to_string())))
        .transpose()
}

/// Remembers that `host` accepted `scheme`.
pub fn remember(conn: &mut DbConnection, host: &str, scheme: SignatureScheme) -> Result<()> {
    let t = now();
    let updated = diesel::update(peers::table.filter(peers::host.eq(host)))
        .set((
            peers::signature_scheme.eq(scheme.as_str()),
            peers::updated_at.eq(t),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(peers::table)
            .values((
                peers::host.eq(host),
                peers::signature_scheme.eq(scheme.as_str()),
                peers::updated_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Every remembered host with its scheme, by host.
pub fn all(conn: &mut DbConnection) -> Result<Vec<(String, SignatureScheme)>> {
    let rows: Vec<(String, String)> = peers::table
        .select((peers::host, peers::signature_scheme))
        .order(peers::host.asc())
        .load(conn)?;
    rows.into_iter()
        .map(|(h, s)| {
            SignatureScheme::try_from(s)
                .map(|s| (h, s))
                .map_err(|e| Error::Internal(e.to_string()))
        })
        .collect()
}
