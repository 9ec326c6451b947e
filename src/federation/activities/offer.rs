//! `Offer` of an idea to this node's organisation (a handoff), from the node hosting it.

use serde::Deserialize;
use serde_json::Value;

use super::{optional_id, optional_text, typed, ObjectId};
use crate::error::{Error, Result};
use crate::service::handoffs::{self, IncomingOffer};
use crate::service::inbound::{Applied, Inbound};
use crate::state::Ctx;
use crate::vocab::same_host;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    /// The offered idea (a `Page`, embedded or by id; it is fetched again from its origin).
    pub object: ObjectId,
    /// The organisation it is offered to.
    pub target: ObjectId,
    #[serde(default, deserialize_with = "optional_text")]
    pub content: Option<String>,
    /// The offering organisation.
    #[serde(default, deserialize_with = "optional_id")]
    pub attributed_to: Option<String>,
}

impl Offer {
    /// An idea is offered by the node that hosts it.
    pub fn verify(&self, inbound: &Inbound<Value>) -> Result<()> {
        let actor = &inbound.actor.ap_id;
        if !same_host(self.object.as_str(), actor) {
            return Err(Error::Forbidden(format!(
                "{actor} cannot offer {}: an idea is offered by the node that hosts it",
                self.object.as_str()
            )));
        }
        Ok(())
    }

    pub async fn receive(self, ctx: &Ctx, inbound: Inbound<Value>) -> Result<Applied> {
        self.verify(&inbound)?;
        let actor = inbound.actor.ap_id.clone();
        let offer = IncomingOffer {
            target: self.target.0,
            idea: self.object.0,
            message: self.content,
            from_org: self.attributed_to.filter(|org| same_host(org, &actor)),
        };
        handoffs::receive_offer(ctx, typed(inbound, offer)).await
    }
}
