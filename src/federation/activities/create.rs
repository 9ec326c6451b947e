//! `Create` of a post: a new idea (a `Page`, or any post addressed to a room of this node or
//! relayed by a followed room) or a comment (a reply to an idea or to a comment on it).

use serde::Deserialize;
use serde_json::Value;

use super::post::{self, addresses, Addressing, Change, Post};
use crate::error::Result;
use crate::service::inbound::{Applied, Inbound, ReadAhead};
use crate::state::Ctx;
use crate::store::models::Actor;

#[derive(Debug, Deserialize)]
pub struct Create {
    /// The post, embedded or by id (then fetched from its origin).
    #[serde(default)]
    pub object: Value,
    #[serde(default, deserialize_with = "addresses")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub cc: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub audience: Vec<String>,
}

impl Create {
    pub async fn receive(
        self,
        ctx: &Ctx,
        inbound: Inbound<Value>,
        via: Option<&Actor>,
        ahead: Option<ReadAhead>,
    ) -> Result<Applied> {
        let post = Post::of(ctx, &self.object).await?;
        let addressing = Addressing {
            to: self.to,
            cc: self.cc,
            audience: self.audience,
            ..Addressing::default()
        };
        post::receive(ctx, inbound, Change::Create, &addressing, post, via, ahead).await
    }
}
