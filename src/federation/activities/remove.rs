//! `Remove` from a room: a local person or this node's organisation is no longer a member,
//! so this node stops following the room for them.

use serde::Deserialize;
use serde_json::Value;

use super::{typed, ObjectId};
use crate::error::{Error, Result};
use crate::service::inbound::{Applied, Inbound};
use crate::service::members;
use crate::state::Ctx;

#[derive(Debug, Deserialize)]
pub struct Remove {
    /// The former member.
    pub object: ObjectId,
    /// The room: the one sending it.
    #[serde(default)]
    pub target: Option<ObjectId>,
}

impl Remove {
    /// A room only removes members from itself.
    pub fn verify(&self, inbound: &Inbound<Value>) -> Result<()> {
        if self.target.as_ref().map(ObjectId::as_str) != Some(inbound.actor.ap_id.as_str()) {
            return Err(Error::Unsupported(
                "Remove is only understood for members of the room sending it".into(),
            ));
        }
        Ok(())
    }

    pub async fn receive(self, ctx: &Ctx, inbound: Inbound<Value>) -> Result<Applied> {
        self.verify(&inbound)?;
        members::receive_remove(ctx, typed(inbound, self.object.0)).await
    }
}
