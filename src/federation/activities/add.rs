//! `Add` from a room: a local person or this node's organisation is now a member (after an
//! accepted invitation, or with a changed role). This node follows the room, and fetches what
//! it already holds.

use serde::Deserialize;
use serde_json::Value;

use super::{typed, ObjectId};
use crate::error::{Error, Result};
use crate::federation::backfill;
use crate::service::inbound::{Applied, Inbound};
use crate::service::invitations;
use crate::state::Ctx;

#[derive(Debug, Deserialize)]
pub struct Add {
    /// The new member.
    pub object: ObjectId,
    /// The room: the one sending it.
    #[serde(default)]
    pub target: Option<ObjectId>,
}

impl Add {
    /// A room only adds members to itself.
    pub fn verify(&self, inbound: &Inbound<Value>) -> Result<()> {
        if self.target.as_ref().map(ObjectId::as_str) != Some(inbound.actor.ap_id.as_str()) {
            return Err(Error::Unsupported(
                "Add is only understood for members of the room sending it".into(),
            ));
        }
        Ok(())
    }

    pub async fn receive(self, ctx: &Ctx, inbound: Inbound<Value>) -> Result<Applied> {
        self.verify(&inbound)?;
        let room = inbound.actor.clone();
        let applied = invitations::receive_add(ctx, typed(inbound, self.object.0)).await?;
        if applied == Applied::Done {
            backfill::spawn(ctx, room);
        }
        Ok(applied)
    }
}
