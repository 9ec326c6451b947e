//! `Undo` of an activity the same actor sent earlier: a Follow (unfollow), a Like or
//! EmojiReact (support withdrawn), or an Offer (withdrawn before an answer). Peers embed the
//! undone activity or only name it; by id alone, this node looks up what it holds under it.

use serde::Deserialize;
use serde_json::Value;

use super::{typed, ActivityRef};
use crate::error::{Error, Result};
use crate::service::follows::{self, Unfollow};
use crate::service::handoffs;
use crate::service::inbound::{self, Applied, Inbound};
use crate::service::supports::{self, Unlike};
use crate::state::Ctx;
use crate::vocab::ActivityKind;

#[derive(Debug, Deserialize)]
pub struct Undo {
    #[serde(default)]
    pub object: ActivityRef,
}

impl Undo {
    /// An actor can only undo its own activities.
    pub fn verify(&self, inbound: &Inbound<Value>) -> Result<()> {
        match &self.object.actor {
            Some(inner) if *inner != inbound.actor.ap_id => Err(Error::Forbidden(
                "an actor can only undo its own activities".into(),
            )),
            _ => Ok(()),
        }
    }

    pub async fn receive(self, ctx: &Ctx, inbound: Inbound<Value>) -> Result<Applied> {
        self.verify(&inbound)?;
        let inner = self.object;
        let kind = match &inner.kind {
            Some(k) => k.clone(),
            None => {
                let id = inner
                    .id
                    .as_deref()
                    .ok_or_else(|| Error::bad_request("Undo has no object"))?;
                inbound::undone_kind(ctx, id)
                    .await?
                    .ok_or_else(|| {
                        Error::Unsupported(format!("Undo of {id}, which this node does not hold"))
                    })?
                    .to_string()
            }
        };
        match ActivityKind::parse(&kind) {
            Some(ActivityKind::Offer) => {
                let offer = inner
                    .id
                    .ok_or_else(|| Error::bad_request("Undo has no object"))?;
                handoffs::receive_withdrawal(ctx, typed(inbound, offer)).await
            }
            Some(ActivityKind::Follow) => {
                let unfollow = Unfollow {
                    follow_id: inner.id,
                    target: inner.object,
                };
                follows::receive_unfollow(ctx, typed(inbound, unfollow)).await
            }
            Some(ActivityKind::Like | ActivityKind::EmojiReact) => {
                let unlike = Unlike {
                    like_id: inner.id,
                    idea: inner.object,
                };
                supports::receive_unlike(ctx, typed(inbound, unlike)).await
            }
            _ => Err(Error::Unsupported(format!(
                "Undo of {kind} is not supported here"
            ))),
        }
    }
}
