//! `Follow` and `Join` of a local actor (a room, usually; people and the organisation too).

use serde::Deserialize;
use serde_json::Value;

use super::{optional_text, typed, ObjectId};
use crate::error::Result;
use crate::service::follows::{self, FollowRequest};
use crate::service::inbound::{Applied, Inbound};
use crate::state::Ctx;

#[derive(Debug, Deserialize)]
pub struct Follow {
    /// The actor to follow.
    pub object: ObjectId,
    /// A `Join`'s message to the room's stewards (some servers put it in `summary`).
    #[serde(default, deserialize_with = "optional_text")]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub summary: Option<String>,
}

impl Follow {
    pub async fn receive(self, ctx: &Ctx, inbound: Inbound<Value>) -> Result<Applied> {
        let request = FollowRequest {
            target: self.object.0,
            message: self.content.or(self.summary),
        };
        follows::receive_follow(ctx, typed(inbound, request)).await
    }
}
