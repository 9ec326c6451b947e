//! Local accounts, the node's own actors and API tokens.

use activitypub_federation::http_signatures::generate_actor_keypair;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64URL, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::kinds::ActorKind;
use crate::domain::validate_local_name;
use crate::error::{Error, Result};
use crate::service::inbound::{Applied, Inbound};
use crate::state::{Ctx, Urls};
use crate::store::models::{Actor, NewActor};
use crate::store::{self, now, Db};

/// Which local actor to create.
pub enum LocalKind {
    Person { staff: bool },
    Room { visibility: String },
    Organization,
    Instance,
}

/// Generates an RSA-2048 key pair off the async runtime.
pub async fn new_keypair() -> Result<(String, String)> {
    let kp = tokio::task::spawn_blocking(generate_actor_keypair)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(format!("key generation failed: {e}")))?;
    Ok((kp.public_key, kp.private_key))
}

/// Builds the row of a new local actor with fresh keys.
pub async fn new_local_actor(
    urls: &Urls,
    domain: &str,
    name: &str,
    display: &str,
    summary: &str,
    kind: LocalKind,
) -> Result<NewActor> {
    let (public_key_pem, private_key_pem) = new_keypair().await?;
    let (type_, ap_id, visibility, staff) = match kind {
        LocalKind::Person { staff } => (ActorKind::Person, urls.person(name), None, staff),
        LocalKind::Room { visibility } => {
            (ActorKind::Group, urls.room(name), Some(visibility), false)
        }
        LocalKind::Organization => (
            ActorKind::Organization,
            urls.organization(name),
            None,
            false,
        ),
        LocalKind::Instance => (ActorKind::Application, urls.instance_actor(), None, false),
    };
    let t = now();
    Ok(NewActor {
        inbox: format!("{ap_id}/inbox"),
        outbox: Some(format!("{ap_id}/outbox")),
        followers: Some(format!("{ap_id}/followers")),
        shared_inbox: Some(urls.shared_inbox()),
        key_id: format!("{ap_id}#main-key"),
        ap_id,
        kind: type_,
        local: true,
        name: name.to_string(),
        display_name: display.to_string(),
        summary: summary.to_string(),
        public_key_pem,
        private_key_pem: Some(private_key_pem),
        visibility,
        staff,
        host: domain.to_string(),
        fetched_at: t,
        created_at: t,
    })
}

/// Creates the node's Organization and instance actors on first start; returns both.
pub async fn ensure_node_actors(
    db: &Db,
    urls: &Urls,
    domain: &str,
    org_name: &str,
    org_display: &str,
) -> Result<(Actor, Actor)> {
    let instance = match db
        .read(|c| store::actors::local_of_kind(c, ActorKind::Application))
        .await?
    {
        Some(a) => a,
        None => {
            let new = new_local_actor(
                urls,
                domain,
                domain,
                domain,
                "The instance actor of this Cocreate node; it signs fetches.",
                LocalKind::Instance,
            )
            .await?;
            db.write(move |c| store::actors::insert(c, &new)).await?
        }
    };
    let org = match db
        .read(|c| store::actors::local_of_kind(c, ActorKind::Organization))
        .await?
    {
        Some(a) => a,
        None => {
            validate_local_name(org_name)
                .or_else(|e| if org_name == "org" { Ok(()) } else { Err(e) })
                .map_err(|e| Error::BadRequest(format!("org_name: {e}")))?;
            let new = new_local_actor(
                urls,
                domain,
                org_name,
                org_display,
                "",
                LocalKind::Organization,
            )
            .await?;
            db.write(move |c| store::actors::insert(c, &new)).await?
        }
    };
    Ok((instance, org))
}

/// The SHA-256 (hex) of a secret token: what is stored of API and session tokens.
pub(crate) fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new secret token, 32 random bytes in base64url, and its hash (see [`hash_token`]).
pub(crate) fn new_token() -> (String, String) {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = B64URL.encode(raw);
    let hash = hash_token(&token);
    (token, hash)
}

/// Creates a local person and an API token for it; returns the actor and the token (shown once;
/// only its hash is stored).
pub async fn create_user(
    db: &Db,
    urls: &Urls,
    domain: &str,
    name: &str,
    staff: bool,
) -> Result<(Actor, String)> {
    create_person(db, urls, domain, name, staff, None).await
}

/// [`create_user`], with the hash of a web sign-in password stored in the same transaction.
pub(crate) async fn create_person(
    db: &Db,
    urls: &Urls,
    domain: &str,
    name: &str,
    staff: bool,
    password_hash: Option<String>,
) -> Result<(Actor, String)> {
    validate_local_name(name).map_err(Error::BadRequest)?;
    let new = new_local_actor(urls, domain, name, name, "", LocalKind::Person { staff }).await?;
    let (token, hash) = new_token();
    let name = name.to_string();
    let actor = db
        .write(move |c| {
            if store::actors::local_by_name(c, &name)?.is_some() {
                return Err(Error::Conflict(format!(
                    "the name '{name}' is taken (people and rooms share names)"
                )));
            }
            let mut actor = store::actors::insert(c, &new)?;
            store::tokens::insert(c, &hash, actor.id)?;
            if let Some(password_hash) = password_hash {
                store::actors::set_password_hash(c, actor.id, Some(&password_hash))?;
                actor.password_hash = Some(password_hash).into();
            }
            Ok(actor)
        })
        .await?;
    Ok((actor, token))
}

/// Staff create an account for a person of their organisation; returns it with its API token
/// (shown once).
pub async fn create_account(
    ctx: &Ctx,
    creator: &Actor,
    name: &str,
    staff: bool,
) -> Result<(Actor, String)> {
    crate::service::policy::require_staff(creator, "create accounts")?;
    create_user(&ctx.db, &ctx.urls, &ctx.settings.domain, name, staff).await
}

/// This node's organisation.
pub async fn organization(ctx: &Ctx) -> Result<Actor> {
    ctx.db
        .read(|c| store::actors::local_of_kind(c, ActorKind::Organization))
        .await?
        .ok_or_else(|| Error::not_found("organization"))
}

/// The local person a bearer token belongs to.
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<Actor> {
    let hash = hash_token(token);
    ctx.db
        .read(move |c| store::tokens::actor_by_hash(c, &hash))
        .await?
        .ok_or_else(|| Error::Unauthorized("invalid API token".into()))
}

/// Another server deleted one of its accounts (a `Delete` whose object is the actor itself):
/// its supports and follows go, its comments are blanked (threads keep their shape).
pub async fn receive_account_deletion(ctx: &Ctx, deletion: Inbound<()>) -> Result<Applied> {
    crate::service::commit(ctx, move |c| {
        if !deletion.receipt.record(c)? {
            return Ok(Applied::Duplicate);
        }
        let actor = deletion.actor.id;
        store::supports::delete_all_of_actor(c, actor)?;
        store::follows::delete_all_of(c, actor)?;
        store::comments::mark_all_of_actor_deleted(c, actor)?;
        Ok(Applied::Done)
    })
    .await
}
