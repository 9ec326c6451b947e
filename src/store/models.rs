//! Rows as read from and written to the tables in `schema`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use serde_json::Value;

use super::json::{Json, MaybeJson};
use super::schema::*;
use crate::domain::kinds::{
    ActorKind, DeliveryState, FollowState, HandoffState, InvitationState, RequestState,
};
use crate::domain::lifecycle::Stage;
use crate::domain::membership::{Phase, Role};
use crate::domain::Visibility;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = actors)]
pub struct Actor {
    pub id: i32,
    pub ap_id: String,
    #[diesel(deserialize_as = String)]
    pub kind: ActorKind,
    pub local: bool,
    pub name: String,
    pub display_name: String,
    pub summary: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub outbox: Option<String>,
    pub followers: Option<String>,
    pub public_key_pem: String,
    pub key_id: String,
    pub private_key_pem: Option<String>,
    pub visibility: Option<String>,
    pub staff: bool,
    pub host: String,
    pub fetched_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    /// The web sign-in password of a local person, as an Argon2id PHC string; never shown.
    #[diesel(deserialize_as = Option<String>)]
    pub password_hash: PasswordHash,
}

/// A stored password hash; its `Debug` form hides it, so that logging an actor leaks nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PasswordHash(pub Option<String>);

impl PasswordHash {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl From<Option<String>> for PasswordHash {
    fn from(hash: Option<String>) -> PasswordHash {
        PasswordHash(hash)
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(<hidden>)"
        } else {
            "None"
        })
    }
}

impl Actor {
    /// Where to deliver to this actor: the shared inbox when it has one (one POST per server).
    pub fn delivery_inbox(&self) -> &str {
        self.shared_inbox.as_deref().unwrap_or(&self.inbox)
    }

    /// `name@host`, the WebFinger handle.
    pub fn handle(&self) -> String {
        format!("{}@{}", self.name, self.host)
    }

    /// A room's visibility as stored; rooms of nodes that do not say are public.
    pub fn room_visibility(&self) -> Visibility {
        self.visibility
            .as_deref()
            .and_then(Visibility::parse)
            .unwrap_or(Visibility::Public)
    }

    pub fn is_room(&self) -> bool {
        self.kind == ActorKind::Group
    }
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = actors, treat_none_as_default_value = false)]
pub struct NewActor {
    pub ap_id: String,
    #[diesel(serialize_as = String)]
    pub kind: ActorKind,
    pub local: bool,
    pub name: String,
    pub display_name: String,
    pub summary: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub outbox: Option<String>,
    pub followers: Option<String>,
    pub public_key_pem: String,
    pub key_id: String,
    pub private_key_pem: Option<String>,
    pub visibility: Option<String>,
    pub staff: bool,
    pub host: String,
    pub fetched_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
#[diesel(table_name = follows)]
pub struct Follow {
    pub id: i32,
    pub follower_id: i32,
    pub target_id: i32,
    #[diesel(deserialize_as = String)]
    pub state: FollowState,
    pub activity_ap_id: String,
    pub created_at: NaiveDateTime,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
#[diesel(table_name = room_members)]
pub struct RoomMember {
    pub id: i32,
    pub room_id: i32,
    pub actor_id: i32,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub partner_kind: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
#[diesel(table_name = handoffs)]
pub struct Handoff {
    pub id: i32,
    pub ap_id: String,
    pub idea_ap_id: String,
    pub from_org: String,
    pub to_org: String,
    pub message: String,
    pub incoming: bool,
    #[diesel(deserialize_as = String)]
    pub state: HandoffState,
    pub reason: Option<String>,
    pub result: Option<String>,
    #[diesel(deserialize_as = String)]
    pub offer: Json<Value>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: i32,
    pub ap_id: String,
    pub room_id: i32,
    pub invitee_id: i32,
    pub role: String,
    pub partner_kind: Option<String>,
    pub incoming: bool,
    #[diesel(deserialize_as = String)]
    pub state: InvitationState,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
#[diesel(table_name = room_settings)]
pub struct RoomSettings {
    pub room_id: i32,
    #[diesel(deserialize_as = String)]
    pub phases: Json<Vec<Phase>>,
    pub current_phase: i32,
    pub terms_spdx: Option<String>,
    pub terms_text: Option<String>,
    pub terms_version: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
#[diesel(table_name = room_requests)]
pub struct RoomRequest {
    pub id: i32,
    pub room_id: i32,
    pub actor_id: i32,
    #[diesel(deserialize_as = String)]
    pub activity: Json<Value>,
    pub message: Option<String>,
    #[diesel(deserialize_as = String)]
    pub state: RequestState,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
#[diesel(table_name = ideas)]
pub struct Idea {
    pub id: i32,
    pub ap_id: String,
    pub room_id: i32,
    pub author_id: i32,
    pub title: String,
    pub source: String,
    pub content: String,
    #[diesel(deserialize_as = String)]
    pub stage: Stage,
    pub stage_answer: Option<String>,
    pub local: bool,
    pub deleted: bool,
    pub published: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub refused_reason: Option<String>,
    #[diesel(deserialize_as = Option<String>)]
    pub terms: MaybeJson<Value>,
    #[diesel(deserialize_as = Option<String>)]
    pub provenance: MaybeJson<Vec<Value>>,
    pub origin: Option<String>,
    pub handed_off_to: Option<String>,
    pub merged_into: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ideas, treat_none_as_default_value = false)]
pub struct NewIdea {
    pub ap_id: String,
    pub room_id: i32,
    pub author_id: i32,
    pub title: String,
    pub source: String,
    pub content: String,
    #[diesel(serialize_as = String)]
    pub stage: Stage,
    pub stage_answer: Option<String>,
    pub local: bool,
    pub deleted: bool,
    pub published: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub terms: Option<String>,
    pub provenance: Option<String>,
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
#[diesel(table_name = comments)]
pub struct Comment {
    pub id: i32,
    pub ap_id: String,
    pub idea_id: i32,
    pub author_id: i32,
    pub in_reply_to: String,
    pub content: String,
    pub source: Option<String>,
    pub local: bool,
    pub deleted: bool,
    pub published: NaiveDateTime,
    pub updated: NaiveDateTime,
    #[diesel(deserialize_as = Option<String>)]
    pub terms: MaybeJson<Value>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = comments, treat_none_as_default_value = false)]
pub struct NewComment {
    pub ap_id: String,
    pub idea_id: i32,
    pub author_id: i32,
    pub in_reply_to: String,
    pub content: String,
    pub source: Option<String>,
    pub local: bool,
    pub deleted: bool,
    pub published: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub terms: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
#[diesel(table_name = activities)]
pub struct StoredActivity {
    pub id: i32,
    pub ap_id: String,
    pub actor_id: i32,
    pub kind: String,
    pub body: String,
    pub public: bool,
    pub published: NaiveDateTime,
    /// Listed in the actor's outbox (a room's Announce of a bare object is not).
    pub listed: bool,
}

#[derive(Debug, Clone, Queryable)]
#[diesel(table_name = deliveries)]
pub struct Delivery {
    pub id: i32,
    pub activity_ap_id: String,
    pub signer_id: i32,
    pub inbox: String,
    #[diesel(deserialize_as = String)]
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    /// `host[:port]` of `inbox`: deliveries to one host are sent in `id` order.
    pub host: String,
    /// What is sent: a row of `delivery_bodies`, shared by the deliveries of one activity
    /// that take the same form ([`crate::store::deliveries::bodies`]).
    pub body_id: i32,
}

/// How deliveries to one remote host are going ([`crate::store::delivery_hosts`]).
#[derive(Debug, Clone, Queryable, QueryableByName, serde::Serialize)]
#[diesel(table_name = delivery_hosts)]
pub struct DeliveryHost {
    pub host: String,
    /// Retryable failures in a row (network errors, 5xx, 408, 429); 0 after any answer that
    /// is not one of those.
    pub failures: i32,
    /// No delivery to this host is tried before this time.
    pub retry_at: Option<NaiveDateTime>,
    /// Set while the host is parked: only its oldest pending delivery is tried, as a probe.
    pub parked_since: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    /// May have pending deliveries: what the delivery claim walks (not shown to operators).
    #[serde(skip)]
    pub queued: bool,
}

/// A signed-in browser: `id` is the hash of the token in its cookie.
#[derive(Debug, Clone, Queryable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: String,
    pub actor_id: i32,
    /// Sent back with every form the session submits.
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// An actor row for unit tests of rules that read actors.
#[cfg(test)]
pub(crate) fn test_actor(ap_id: &str, kind: ActorKind, local: bool, staff: bool) -> Actor {
    let now = super::now();
    Actor {
        id: 1,
        ap_id: ap_id.into(),
        kind,
        local,
        name: "x".into(),
        display_name: "x".into(),
        summary: String::new(),
        inbox: format!("{ap_id}/inbox"),
        shared_inbox: None,
        outbox: None,
        followers: None,
        public_key_pem: String::new(),
        key_id: String::new(),
        private_key_pem: None,
        visibility: None,
        staff,
        host: crate::vocab::host_of(ap_id).unwrap_or_default(),
        fetched_at: now,
        created_at: now,
        password_hash: Default::default(),
    }
}
