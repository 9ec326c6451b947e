//! `Reject` of something this node sent: a Follow or Join (refused, with the reason kept), an
//! Invite (declined), an Offer (the idea stays), or a submission, comment or like the room's
//! phase or visibility refused (the author sees why).

use serde::Deserialize;
use serde_json::Value;

use super::{optional_text, typed, ActivityRef, Answered};
use crate::error::Result;
use crate::service::follows::{self, FollowAnswer};
use crate::service::handoffs::{self, OfferAnswer};
use crate::service::ideas::{self, RejectedActivity};
use crate::service::inbound::{Applied, Inbound};
use crate::service::invitations::{self, InviteAnswer};
use crate::state::Ctx;

#[derive(Debug, Deserialize)]
pub struct Reject {
    #[serde(default)]
    pub object: ActivityRef,
    #[serde(default, deserialize_with = "optional_text")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub content: Option<String>,
}

impl Reject {
    pub async fn receive(self, ctx: &Ctx, inbound: Inbound<Value>) -> Result<Applied> {
        // The reason: its `summary`, or else its `content`.
        let reason = self.summary.or(self.content);
        match self.object.answered(ctx).await? {
            Some(Answered::Offer) => {
                let answer = OfferAnswer {
                    offer_id: self.object.required_id()?,
                    result: None,
                    reason,
                };
                handoffs::receive_rejection(ctx, typed(inbound, answer)).await
            }
            Some(Answered::Invite) => {
                let answer = InviteAnswer {
                    invite_id: self.object.required_id()?,
                    reason,
                };
                invitations::receive_decline(ctx, typed(inbound, answer)).await
            }
            Some(Answered::FollowOrJoin) | None => {
                let answer = FollowAnswer {
                    follow_id: self.object.id,
                    follower: self.object.actor,
                    reason,
                };
                follows::receive_rejection(ctx, typed(inbound, answer)).await
            }
            Some(_) => {
                let refusal = RejectedActivity {
                    refused: self.object.required_id()?,
                    reason: reason.unwrap_or_else(|| "refused without a reason".into()),
                };
                ideas::receive_refusal(ctx, typed(inbound, refusal)).await
            }
        }
    }
}
