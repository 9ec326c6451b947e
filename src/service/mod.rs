//! Use cases: the only place where product rules live. A REST call and an inbound activity that
//! mean the same thing end in the same function here; transport code only translates.
//!
//! A use case that changes state runs in [`commit`], which hands it a [`Tx`]: the transaction's
//! connection together with this node's URLs and the ways to send. What it publishes is stored
//! with its deliveries in the same transaction as the change (the transactional outbox), so a
//! crash between the two loses nothing; [`crate::federation::outbox`] delivers afterwards.
//! Who may do what is decided in [`policy`], once for the API, the inbox and the pages.

pub mod accounts;
pub mod comments;
pub mod deliveries;
pub mod documents;
pub mod follows;
pub mod handoffs;
pub mod ideas;
pub mod inbound;
pub mod intents;
pub mod invitations;
pub mod members;
pub mod peers;
pub mod policy;
pub mod rooms;
pub mod sessions;
pub mod supports;

use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::state::{Ctx, Urls};
use crate::store::models::Actor;
use crate::store::{self, DbConnection};
use crate::vocab::{self, ActivityKind};

/// Runs a state change and the activities it sends in one transaction, then wakes the delivery
/// worker. Every use case that changes state goes through here.
pub async fn commit<T, F>(ctx: &Ctx, change: F) -> Result<T>
where
    F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let urls = ctx.urls.clone();
    let out = ctx
        .db
        .write(move |conn| change(&mut Tx::new(conn, &urls)))
        .await?;
    ctx.delivery_wake.notify_one();
    Ok(out)
}

/// One write transaction of a use case. It dereferences to the connection, so store functions
/// take it directly; [`Tx::publish`], [`Tx::distribute`] and [`Tx::announce`] queue what the
/// change sends, in the same transaction.
pub struct Tx<'a> {
    conn: &'a mut DbConnection,
    /// This node's URLs: ids for new activities and objects.
    pub urls: &'a Urls,
}

impl Deref for Tx<'_> {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        self.conn
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut DbConnection {
        self.conn
    }
}

impl<'a> Tx<'a> {
    /// A transaction context over an open transaction (for [`commit`], and for tests that
    /// drive the store directly).
    pub fn new(conn: &'a mut DbConnection, urls: &'a Urls) -> Tx<'a> {
        Tx { conn, urls }
    }
}

impl Tx<'_> {
    /// A fresh id for an activity this node publishes.
    pub fn new_activity_id(&self) -> String {
        self.urls.new_activity()
    }

    /// Stores an activity `signer` publishes and queues one delivery per distinct remote inbox
    /// (local inboxes need none: the change is already here).
    pub fn publish(
        &mut self,
        signer: &Actor,
        activity: &Value,
        inboxes: impl IntoIterator<Item = String>,
    ) -> Result<()> {
        let ap_id = activity["id"]
            .as_str()
            .ok_or_else(|| Error::Internal("activity without id".into()))?;
        let kind = activity["type"].as_str().unwrap_or("Activity");
        let public = vocab::audience_of(activity)
            .iter()
            .any(|a| vocab::is_public(a));
        let body = activity.to_string();
        store::activities::insert(self, ap_id, signer.id, kind, &body, public)?;
        let urls = self.urls;
        let targets: BTreeSet<String> = inboxes.into_iter().filter(|i| !urls.is_local(i)).collect();
        for inbox in targets {
            store::deliveries::enqueue(self, ap_id, signer.id, &inbox, &body)?;
        }
        Ok(())
    }

    /// Sends an activity about something in `room`: to the room's inbox when the room is
    /// remote; when the room is local, the room Announces it to its followers (FEP-1b12).
    /// `object_for_plain` is also announced on its own, for followers such as Mastodon that
    /// ignore announced activities (used for new ideas only, so comments do not flood their
    /// timelines).
    pub fn distribute(
        &mut self,
        actor: &Actor,
        room: &Actor,
        activity: &Value,
        object_for_plain: Option<Value>,
        extra_inboxes: Vec<String>,
    ) -> Result<()> {
        let mut inboxes = extra_inboxes;
        if !room.local {
            inboxes.push(room.delivery_inbox().to_string());
        }
        if actor.local {
            self.publish(actor, activity, inboxes)?;
        }
        if room.local {
            self.announce(room, vocab::embedded(activity.clone()))?;
            if let Some(obj) = object_for_plain {
                self.announce(room, obj)?;
            }
        }
        Ok(())
    }

    /// The room Announces `object` to its followers, one delivery per server.
    pub fn announce(&mut self, room: &Actor, object: Value) -> Result<()> {
        let followers = store::follows::followers_of(self, room.id)?;
        let inboxes: Vec<String> = followers
            .iter()
            .map(|f| f.delivery_inbox().to_string())
            .collect();
        let (to, _) = vocab::room_addressing(room);
        let mut activity = vocab::activity(
            ActivityKind::Announce,
            &self.new_activity_id(),
            &room.ap_id,
            object,
            &[],
            &[],
        );
        activity["to"] = serde_json::json!(to);
        activity["cc"] = serde_json::json!([room.followers]);
        self.publish(room, &activity, inboxes)
    }
}
