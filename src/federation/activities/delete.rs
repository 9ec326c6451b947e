//! `Delete` of an idea or comment by its author (or, for ideas, by the room's node), or of
//! the sending account itself. Deleting what this node never held changes nothing.

use serde::Deserialize;
use serde_json::Value;

use super::{typed, ObjectId};
use crate::error::Result;
use crate::service::inbound::{self, Applied, Held, Inbound};
use crate::service::{accounts, comments, ideas};
use crate::state::Ctx;

#[derive(Debug, Deserialize)]
pub struct Delete {
    /// What is deleted (an id, or a `Tombstone` with one).
    pub object: ObjectId,
}

impl Delete {
    pub async fn receive(self, ctx: &Ctx, inbound: Inbound<Value>) -> Result<Applied> {
        let target = self.object.0;
        if target == inbound.actor.ap_id {
            return accounts::receive_account_deletion(ctx, typed(inbound, ())).await;
        }
        match inbound::held(ctx, &target).await? {
            Held::Comment => comments::receive_delete(ctx, typed(inbound, target)).await,
            Held::Idea(idea) => ideas::receive_delete(ctx, typed(inbound, *idea)).await,
            // Deleting what this node never held leaves it as it is: nothing to do, nothing lost.
            Held::Nothing => Ok(Applied::Done),
        }
    }
}
