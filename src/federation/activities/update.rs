//! `Update` of a post this node holds: an edit by its author, or, for an idea, a change the
//! room's node made (stage and answer, credit, terms, handoff and merge links).

use serde::Deserialize;
use serde_json::Value;

use super::post::{self, addresses, Addressing, Change, Post};
use crate::error::Result;
use crate::service::inbound::{Applied, Inbound};
use crate::state::Ctx;
use crate::store::models::Actor;

#[derive(Debug, Deserialize)]
pub struct Update {
    /// The post as it now is, embedded or by id (then fetched from its origin).
    #[serde(default)]
    pub object: Value,
    #[serde(default, deserialize_with = "addresses")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub cc: Vec<String>,
    #[serde(default, deserialize_with = "addresses")]
    pub audience: Vec<String>,
}

impl Update {
    pub async fn receive(
        self,
        ctx: &Ctx,
        inbound: Inbound<Value>,
        via: Option<&Actor>,
    ) -> Result<Applied> {
        let post = Post::of(ctx, &self.object).await?;
        let addressing = Addressing {
            to: self.to,
            cc: self.cc,
            audience: self.audience,
            ..Addressing::default()
        };
        post::receive(ctx, inbound, Change::Update, &addressing, post, via, None).await
    }
}
