//! `Accept` of something this node sent: a Follow or Join (the room now delivers to us, and we
//! fetch what it already holds), an Invite (a member is made), or an Offer (the idea was
//! handed off). What is answered is read from the embedded activity, or from what this node
//! published under that id.

use serde::Deserialize;
use serde_json::Value;

use super::{optional_id, optional_text, typed, ActivityRef, Answered};
use crate::error::{Error, Result};
use crate::federation::backfill;
use crate::service::follows::{self, FollowAnswer};
use crate::service::handoffs::{self, OfferAnswer};
use crate::service::inbound::{Applied, Inbound};
use crate::service::invitations::{self, InviteAnswer};
use crate::state::Ctx;

#[derive(Debug, Deserialize)]
pub struct Accept {
    #[serde(default)]
    pub object: ActivityRef,
    /// The receiver's copy of a handed-off idea.
    #[serde(default, deserialize_with = "optional_id")]
    pub result: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub content: Option<String>,
}

impl Accept {
    pub async fn receive(self, ctx: &Ctx, inbound: Inbound<Value>) -> Result<Applied> {
        match self.object.answered(ctx).await? {
            Some(Answered::Offer) => {
                let answer = OfferAnswer {
                    offer_id: self.object.required_id()?,
                    result: self.result,
                    reason: None,
                };
                handoffs::receive_acceptance(ctx, typed(inbound, answer)).await
            }
            Some(Answered::Invite) => {
                let answer = InviteAnswer {
                    invite_id: self.object.required_id()?,
                    reason: None,
                };
                invitations::receive_acceptance(ctx, typed(inbound, answer)).await
            }
            Some(Answered::FollowOrJoin) | None => {
                let answer = FollowAnswer {
                    follow_id: self.object.id,
                    follower: self.object.actor,
                    reason: None,
                };
                let (applied, followed) =
                    follows::receive_acceptance(ctx, typed(inbound, answer)).await?;
                if let Some(room) = followed.filter(|a| a.is_room()) {
                    backfill::spawn(ctx, room);
                }
                Ok(applied)
            }
            Some(Answered::Other(other)) => Err(Error::Unsupported(format!(
                "an Accept of a {other} means nothing here"
            ))),
        }
    }
}
