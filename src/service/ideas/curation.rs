//! What stewards and staff do with ideas: move them along the life cycle with an answer,
//! credit contributors, merge duplicates. Each change is announced as an `Update` of the idea.

use crate::domain::lifecycle::Stage;
use crate::error::{Error, Result};
use crate::service::{commit, policy};
use crate::state::Ctx;
use crate::store::models::Actor;
use crate::store::{self, now};

use super::{announce_update, find, IdeaDetail};

/// A steward merges a duplicate into another idea of the same room: supports and credit carry
/// over without double counting, and the duplicate moves to `merged`, pointing to the survivor.
pub async fn merge(ctx: &Ctx, steward: Actor, key: String, into: String) -> Result<IdeaDetail> {
    commit(ctx, move |c| {
        let dup = find(c, &key)?;
        let survivor = find(c, &into)?;
        let room = store::actors::by_id(c, dup.room_id)?;
        policy::require_steward(c, &room, &steward, "merge ideas")?;
        if dup.id == survivor.id || survivor.room_id != dup.room_id {
            return Err(Error::bad_request(
                "an idea merges into another idea of the same room",
            ));
        }
        if !policy::is_open(&dup) || !policy::is_open(&survivor) {
            return Err(Error::Conflict("both ideas must be open to merge".into()));
        }
        store::supports::merge_with_credit(c, dup.id, survivor.id)?;
        store::ideas::update_stage(
            c,
            dup.id,
            Stage::Merged,
            Some(&format!("Merged into \"{}\"", survivor.title)),
            now(),
        )?;
        store::ideas::update_links(
            c,
            dup.id,
            dup.terms.to_text().as_deref(),
            dup.provenance.to_text().as_deref(),
            None,
            Some(&survivor.ap_id),
        )?;
        store::ideas::touch(c, survivor.id)?;
        announce_update(c, &steward, dup.id)?;
        announce_update(c, &steward, survivor.id)
    })
    .await
}

/// Credit roles stewards can give.
pub const CREDIT_ROLES: [&str; 4] = ["author", "co-author", "improver", "tester"];

/// A steward of the idea's room credits a contributor (a commenter whose improvement was taken,
/// a tester, a co-author); the credit travels with the idea.
pub async fn add_contributor(
    ctx: &Ctx,
    steward: Actor,
    key: String,
    handle: &str,
    role: String,
) -> Result<IdeaDetail> {
    if !CREDIT_ROLES.contains(&role.as_str()) {
        return Err(Error::bad_request(format!(
            "unknown credit role '{role}': one of {}",
            CREDIT_ROLES.join(", ")
        )));
    }
    let contributor = crate::remote::known_or_resolve(ctx, handle).await?;
    commit(ctx, move |c| {
        let idea = find(c, &key)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        policy::require_steward(c, &room, &steward, "credit contributors")?;
        policy::require_live_idea(&idea)?;
        store::ideas::add_contributor(c, idea.id, contributor.id, &role)?;
        store::ideas::touch(c, idea.id)?;
        announce_update(c, &steward, idea.id)
    })
    .await
}

/// Staff of the room's node move an idea along its life cycle, with an answer saying why.
pub async fn change_stage(
    ctx: &Ctx,
    actor: Actor,
    key: String,
    stage: &str,
    answer: &str,
) -> Result<IdeaDetail> {
    let to = Stage::parse(stage).ok_or_else(|| {
        Error::bad_request(format!(
            "unknown stage '{stage}': one of {}",
            Stage::ALL.map(|s| s.as_str()).join(", ")
        ))
    })?;
    if matches!(to, Stage::Merged | Stage::HandedOff) {
        return Err(Error::bad_request(format!(
            "'{to}' is set by the merge and handoff flows, not by a stage change"
        )));
    }
    if answer.trim().is_empty() {
        return Err(Error::bad_request(
            "a stage change needs an answer text saying why",
        ));
    }
    policy::require_staff(&actor, "change the stage of an idea")?;
    let answer = answer.trim().to_string();
    commit(ctx, move |c| {
        let idea = find(c, &key)?;
        let room = store::actors::by_id(c, idea.room_id)?;
        if !room.local {
            return Err(Error::Forbidden(
                "stages are changed by the node hosting the room".into(),
            ));
        }
        policy::require_live_idea(&idea)?;
        let from = idea.stage;
        if !policy::may_move_stage(&actor, &room, from, to) {
            return Err(Error::Conflict(format!(
                "an idea cannot move from {from} to {to}"
            )));
        }
        store::ideas::update_stage(c, idea.id, to, Some(&answer), now())?;
        announce_update(c, &actor, idea.id)
    })
    .await
}
