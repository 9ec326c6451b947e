//! `Like` (and Misskey's `EmojiReact`) of an idea: support, one per actor.

use serde::Deserialize;
use serde_json::Value;

use super::{typed, ObjectId};
use crate::error::Result;
use crate::service::inbound::{Applied, Inbound};
use crate::service::supports::{self, Like as Support};
use crate::state::Ctx;

#[derive(Debug, Deserialize)]
pub struct Like {
    /// What is liked: ideas count; comments are refused with a reason.
    pub object: ObjectId,
}

impl Like {
    pub async fn receive(self, ctx: &Ctx, inbound: Inbound<Value>) -> Result<Applied> {
        let support = Support {
            object: self.object.0,
        };
        supports::receive_like(ctx, typed(inbound, support)).await
    }
}
