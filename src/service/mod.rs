//! Use cases: the only place where product rules live. A REST call and an inbound activity that
//! mean the same thing end in the same function here; transport code only translates.
//!
//! A use case that changes state runs in [`commit`], which hands it a [`Tx`]: the transaction's
//! connection together with this node's URLs and the ways to send. What it publishes is stored
//! with its deliveries in the same transaction as the change (the transactional outbox), so a
//! crash between the two loses nothing; [`crate::federation::outbox`] delivers afterwards.
//! A change that reads first and then usually writes one statement (a received reply) may run
//! in [`commit_each`] instead, which saves PostgreSQL's `BEGIN` and `COMMIT` round trips and
//! keeps several writes together with [`Tx::atomically`].
//! Who may do what is decided in [`policy`], once for the API, the inbox and the pages.

pub mod accounts;
pub mod blocks;
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

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};

use diesel::Connection;
use serde_json::Value;

use crate::domain::peers::IdeaForm;
use crate::error::{Error, Result};
use crate::state::{Ctx, Urls};
use crate::store::follows::Recipient;
use crate::store::models::Actor;
use crate::store::{self, DbConnection};
use crate::vocab;

/// Runs a state change and the activities it sends in one transaction, then wakes the delivery
/// worker when the change queued deliveries (a change that sends nothing leaves it asleep:
/// waking it costs a claim transaction). Every use case that changes state goes through here.
pub async fn commit<T, F>(ctx: &Ctx, change: F) -> Result<T>
where
    F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let done = ctx.db.write(on_tx(ctx.urls.clone(), change)).await?;
    Ok(woken(ctx, done))
}

/// [`commit`] for a change that is usually one write statement: on PostgreSQL its statements
/// commit one by one ([`crate::store::Db::write_each`]), which saves the two round trips of
/// `BEGIN` and `COMMIT`; the change opens a transaction itself around writes that must commit
/// together ([`Tx::atomically`]). What it reads first must decide nothing that a transaction
/// would keep from changing (in a read-committed transaction, nothing it does not lock), and
/// a write must not be left half done by an error: its writes are either one statement or
/// inside [`Tx::atomically`]. On SQLite it is [`commit`].
pub async fn commit_each<T, F>(ctx: &Ctx, change: F) -> Result<T>
where
    F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let done = ctx.db.write_each(on_tx(ctx.urls.clone(), change)).await?;
    Ok(woken(ctx, done))
}

/// `change` as a database job: run on a [`Tx`] over the job's connection, it answers what the
/// change answered and whether it queued a delivery.
fn on_tx<T, F>(
    urls: Urls,
    change: F,
) -> impl FnOnce(&mut DbConnection) -> Result<(T, bool)> + Send + 'static
where
    F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    move |conn| {
        let mut tx = Tx::new(conn, &urls);
        let out = change(&mut tx)?;
        Ok((out, tx.queued))
    }
}

/// Wakes the delivery worker when a committed change queued deliveries (a change that sends
/// nothing leaves it asleep: waking it costs a claim transaction); answers the change's value.
fn woken<T>(ctx: &Ctx, (out, queued): (T, bool)) -> T {
    if queued {
        ctx.delivery_wake.notify_one();
    }
    out
}

/// One write transaction of a use case. It dereferences to the connection, so store functions
/// take it directly; [`Tx::publish`], [`Tx::distribute`] and [`Tx::announce`] queue what the
/// change sends, in the same transaction.
pub struct Tx<'a> {
    conn: &'a mut DbConnection,
    /// This node's URLs: ids for new activities and objects.
    pub urls: &'a Urls,
    /// Whether this transaction queued a delivery.
    queued: bool,
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
        Tx {
            conn,
            urls,
            queued: false,
        }
    }
}

impl Tx<'_> {
    /// Runs `change` in a transaction of its own (a savepoint when one is open already): all of
    /// its writes commit or none. For the several writes of a change run by [`commit_each`].
    pub fn atomically<T>(&mut self, change: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let urls = self.urls;
        let (out, queued) = self.conn.transaction(|conn| {
            let mut tx = Tx::new(conn, urls);
            let out = change(&mut tx)?;
            Ok::<_, Error>((out, tx.queued))
        })?;
        self.queued |= queued;
        Ok(out)
    }

    /// A fresh id for an activity this node publishes.
    pub fn new_activity_id(&self) -> String {
        self.urls.new_activity()
    }

    /// Stores an activity `signer` publishes, listed in its outbox, and queues one delivery per
    /// distinct remote inbox (local inboxes need none: the change is already here). A server
    /// that cannot take a `Page` (see [`peers`]) gets the `Article` form of any idea in it.
    pub fn publish(
        &mut self,
        signer: &Actor,
        activity: &Value,
        inboxes: impl IntoIterator<Item = String>,
    ) -> Result<()> {
        self.publish_as(signer, activity, inboxes, Listed::Yes)
    }

    fn publish_as(
        &mut self,
        signer: &Actor,
        activity: &Value,
        inboxes: impl IntoIterator<Item = String>,
        listed: Listed,
    ) -> Result<()> {
        let outgoing = Outgoing::new(signer, Cow::Borrowed(activity), inboxes, listed)?;
        self.publish_outgoing(&outgoing)
    }

    /// Stores `outgoing` and queues its deliveries.
    fn publish_outgoing(&mut self, outgoing: &Outgoing<'_>) -> Result<()> {
        store::activities::insert(self, &outgoing.row())?;
        self.send(outgoing)
    }

    /// Whether [`Tx::send`] queues anything for `outgoing`: whether it goes to another server.
    pub fn sends(&self, outgoing: &Outgoing<'_>) -> bool {
        outgoing.inboxes.iter().any(|i| !self.urls.is_local(i))
    }

    /// Queues the deliveries of `outgoing`, which the transaction has stored (with
    /// [`Outgoing::row`]): one per distinct remote inbox, in the form its server takes.
    pub fn send(&mut self, outgoing: &Outgoing<'_>) -> Result<()> {
        let urls = self.urls;
        let targets: BTreeSet<&str> = outgoing
            .inboxes
            .iter()
            .map(String::as_str)
            .filter(|i| !urls.is_local(i))
            .collect();
        let hosts: Vec<String> = targets.iter().filter_map(|i| vocab::host_of(i)).collect();
        let families = peers::families(self, &hosts)?;
        let forms: Vec<IdeaForm> = targets
            .iter()
            .map(|inbox| {
                let family = vocab::host_of(inbox).and_then(|h| families.get(&h).copied());
                IdeaForm::for_family(family)
            })
            .collect();
        let article = forms
            .contains(&IdeaForm::Article)
            .then(|| vocab::as_article(&outgoing.activity).to_string());
        let queue: Vec<(&str, &str)> = targets
            .iter()
            .zip(&forms)
            .map(|(inbox, form)| {
                let body = match (form, &article) {
                    (IdeaForm::Article, Some(article)) => article.as_str(),
                    _ => outgoing.body.as_str(),
                };
                (*inbox, body)
            })
            .collect();
        if !queue.is_empty() {
            store::deliveries::enqueue_all(self, &outgoing.ap_id, outgoing.signer, &queue)?;
            self.queued = true;
        }
        Ok(())
    }

    /// Sends an activity about something in `room`: to the room's inbox when the room is
    /// remote; when the room is local, the room Announces it to its followers (FEP-1b12).
    /// `object_for_plain` is also announced on its own, to the followers whose servers show
    /// only announced objects (Mastodon-like; see [`Tx::announce`]); it is given for new ideas
    /// only, so comments do not flood their timelines.
    pub fn distribute(
        &mut self,
        actor: &Actor,
        room: &Actor,
        activity: &Value,
        object_for_plain: Option<Value>,
        extra_inboxes: Vec<String>,
    ) -> Result<()> {
        let followers = if room.local {
            store::follows::recipients_of(self, room.id)?
        } else {
            Vec::new()
        };
        self.distribute_among(
            actor,
            room,
            &followers,
            activity,
            object_for_plain,
            extra_inboxes,
        )
    }

    /// [`Tx::distribute`] when the change has read the room's `followers` already, together
    /// with what else it needed (one round trip fewer: the inbox stores many replies).
    pub fn distribute_among(
        &mut self,
        actor: &Actor,
        room: &Actor,
        followers: &[Recipient],
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
            // The server the activity came from has it already: it is not announced back.
            let origin = (!actor.local).then_some(actor.host.as_str());
            self.announce_among(
                room,
                followers,
                vocab::embedded(activity.clone()),
                object_for_plain,
                origin,
            )?;
        }
        Ok(())
    }

    /// The room Announces `activity` to its followers, one delivery per server, except the
    /// servers on `origin` (where the activity came from); this `Announce` is listed in the
    /// room's outbox. `object`, when given, is announced on its own (not listed in the outbox)
    /// to the followers that need it: those whose server is Mastodon-like, or, when its
    /// software is unknown, who are not `Group`s (see [`crate::domain::peers`]).
    pub fn announce(
        &mut self,
        room: &Actor,
        activity: Value,
        object: Option<Value>,
        origin: Option<&str>,
    ) -> Result<()> {
        let followers = store::follows::recipients_of(self, room.id)?;
        self.announce_among(room, &followers, activity, object, origin)
    }

    /// [`Tx::announce`] to the room's `followers` as read already.
    fn announce_among(
        &mut self,
        room: &Actor,
        followers: &[Recipient],
        activity: Value,
        object: Option<Value>,
        origin: Option<&str>,
    ) -> Result<()> {
        let announce = self.announcement(room, followers, activity, origin)?;
        self.publish_outgoing(&announce)?;
        let Some(object) = object else {
            return Ok(());
        };
        let hosts: Vec<String> = followers.iter().map(|f| f.host.clone()).collect();
        let families = peers::families(self, &hosts)?;
        let plain: Vec<String> = followers
            .iter()
            .filter(|f| {
                crate::domain::peers::wants_announced_objects(
                    families.get(&f.host).copied(),
                    f.kind,
                )
            })
            .map(|f| f.inbox.clone())
            .collect();
        if plain.is_empty() {
            return Ok(());
        }
        let announce = vocab::announce(&self.new_activity_id(), room, object);
        self.publish_as(room, &announce, plain, Listed::No)
    }

    /// The `Announce` of `activity` by `room` to its followers, one inbox per server, except
    /// the servers on `origin` (where the activity came from): listed in the room's outbox.
    fn announcement(
        &self,
        room: &Actor,
        followers: &[Recipient],
        activity: Value,
        origin: Option<&str>,
    ) -> Result<Outgoing<'static>> {
        let inboxes: Vec<String> = followers
            .iter()
            .filter(|f| origin != Some(f.host.as_str()))
            .map(|f| f.inbox.clone())
            .collect();
        let announce = vocab::announce(&self.new_activity_id(), room, activity);
        Outgoing::new(room, Cow::Owned(announce), inboxes, Listed::Yes)
    }

    /// What [`Tx::distribute_among`] sends about an `activity` of the remote `author` in
    /// `room`, built before the activity's change is stored so that both can be stored
    /// together (then queue it with [`Tx::send`]): a local room's `Announce` of it to its
    /// `followers`, except those on the author's server; nothing for a remote room (its own
    /// server relays).
    pub fn relay(
        &self,
        author: &Actor,
        room: &Actor,
        followers: &[Recipient],
        activity: &Value,
    ) -> Result<Option<Outgoing<'static>>> {
        if author.local {
            return Err(Error::Internal(format!(
                "{} is local: its activities are published, not relayed",
                author.ap_id
            )));
        }
        if !room.local {
            return Ok(None);
        }
        let embedded = vocab::embedded(activity.clone());
        self.announcement(room, followers, embedded, Some(&author.host))
            .map(Some)
    }
}

/// An activity this node publishes, ready to be stored ([`Outgoing::row`]) and sent
/// ([`Tx::send`]) in the same transaction.
pub struct Outgoing<'a> {
    signer: i32,
    ap_id: String,
    kind: String,
    activity: Cow<'a, Value>,
    body: String,
    public: bool,
    listed: Listed,
    inboxes: Vec<String>,
}

impl<'a> Outgoing<'a> {
    fn new(
        signer: &Actor,
        activity: Cow<'a, Value>,
        inboxes: impl IntoIterator<Item = String>,
        listed: Listed,
    ) -> Result<Outgoing<'a>> {
        let ap_id = activity["id"]
            .as_str()
            .ok_or_else(|| Error::Internal("activity without id".into()))?
            .to_string();
        let kind = activity["type"].as_str().unwrap_or("Activity").to_string();
        let public = vocab::audience_of(&activity)
            .iter()
            .any(|a| vocab::is_public(a));
        Ok(Outgoing {
            signer: signer.id,
            ap_id,
            kind,
            body: activity.to_string(),
            activity,
            public,
            listed,
            inboxes: inboxes.into_iter().collect(),
        })
    }

    /// Its row in the store.
    pub fn row(&self) -> store::activities::NewActivity<'_> {
        store::activities::NewActivity {
            ap_id: &self.ap_id,
            actor_id: self.signer,
            kind: &self.kind,
            body: &self.body,
            public: self.public,
            listed: self.listed == Listed::Yes,
        }
    }
}

/// Whether a published activity is listed in its actor's outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    Yes,
    No,
}
