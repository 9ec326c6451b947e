//! `Invite` from a room of another node into itself, for a local person or this node's
//! organisation, with a role (and a partner kind).

use serde::Deserialize;
use serde_json::Value;

use super::{optional_text, typed, ObjectId};
use crate::domain::membership::{PartnerKind, Role};
use crate::error::{Error, Result};
use crate::service::inbound::{Applied, Inbound};
use crate::service::invitations::{self, IncomingInvite};
use crate::state::Ctx;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    /// The room invited into: the room sending it.
    pub object: ObjectId,
    /// Who is invited.
    pub target: ObjectId,
    #[serde(default, deserialize_with = "optional_text")]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub partner_kind: Option<String>,
}

impl Invite {
    /// A room can only invite into itself.
    pub fn verify(&self, inbound: &Inbound<Value>) -> Result<()> {
        if self.object.as_str() != inbound.actor.ap_id {
            return Err(Error::Unsupported(
                "a room can only invite into itself".into(),
            ));
        }
        Ok(())
    }

    pub async fn receive(self, ctx: &Ctx, inbound: Inbound<Value>) -> Result<Applied> {
        self.verify(&inbound)?;
        let invite = IncomingInvite {
            invitee: self.target.0,
            role: self
                .role
                .as_deref()
                .and_then(Role::parse)
                .unwrap_or(Role::Partner),
            partner_kind: self.partner_kind.as_deref().and_then(PartnerKind::parse),
        };
        invitations::receive_invite(ctx, typed(inbound, invite)).await
    }
}
