//! Followers collection synchronization (FEP-8fcf), as Mastodon implements it, for the
//! followers of `partners` rooms: who follows such a room decides who receives its content, so
//! both ends must agree on it.
//!
//! - A delivery signed by a local `partners` room to a host where the room has accepted
//!   followers carries `Collection-Synchronization: collectionId="{room}/followers",
//!   url="{room}/followers_synchronization", digest="{hex}"`, where the digest is the XOR of the
//!   SHA-256 of the ids of the room's followers on the receiving host ([`header_for`]).
//! - `GET {room}/followers_synchronization` ([`router`]) answers a signed request only: an
//!   `OrderedCollection` of the room's followers that live on the signer's host, so a server
//!   learns about its own users and nobody else's.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::kinds::ActorKind;
use crate::domain::Visibility;
use crate::error::{Error, Result};
use crate::federation::routes::ap_json;
use crate::federation::signatures::verify_request;
use crate::state::Ctx;
use crate::store::models::Actor;
use crate::store::{self, DbConnection};

/// The header name.
pub const HEADER: &str = "collection-synchronization";

pub fn router() -> Router<Ctx> {
    Router::new().route(
        "/r/{name}/followers_synchronization",
        get(partial_followers),
    )
}

/// The URL of a room's partial followers collection.
pub fn sync_url(room: &Actor) -> String {
    format!("{}/followers_synchronization", room.ap_id)
}

/// The FEP-8fcf digest of a set of actor ids: the XOR of their SHA-256 digests, in hex (64
/// zeros for none).
pub fn digest<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut acc = [0u8; 32];
    for id in ids {
        for (a, b) in acc.iter_mut().zip(Sha256::digest(id.as_bytes())) {
            *a ^= b;
        }
    }
    acc.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether deliveries signed by `signer` may carry `Collection-Synchronization` (a local
/// `partners` room with a followers collection): when not, [`header_for`] reads nothing.
pub fn synchronizes(signer: &Actor) -> bool {
    signer.local
        && signer.kind == ActorKind::Group
        && signer.room_visibility() == Visibility::Partners
        && signer.followers.is_some()
}

/// The `Collection-Synchronization` value for a delivery signed by `signer` to an inbox on
/// `inbox_host`: only for a local `partners` room with accepted followers on that host.
pub fn header_for(
    conn: &mut DbConnection,
    signer: &Actor,
    inbox_host: &str,
) -> Result<Option<String>> {
    if !synchronizes(signer) {
        return Ok(None);
    }
    let Some(followers) = signer.followers.as_deref() else {
        return Ok(None);
    };
    let ids = store::follows::follower_ids_on_host(conn, signer.id, inbox_host)?;
    if ids.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "collectionId=\"{followers}\", url=\"{}\", digest=\"{}\"",
        sync_url(signer),
        digest(ids.iter().map(String::as_str))
    )))
}

/// `GET /r/{name}/followers_synchronization`: the room's followers on the signer's host.
async fn partial_followers(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let n = name.clone();
        let room = ctx
            .db
            .read(move |c| store::actors::local_by_name(c, &n))
            .await?
            .filter(|a| a.kind == ActorKind::Group)
            .ok_or_else(|| Error::not_found(format!("room {name}")))?;
        let signer = verify_request(&ctx, &method, &uri, &headers, None).await?;
        let (room_id, host) = (room.id, signer.host.clone());
        let items = ctx
            .db
            .read(move |c| store::follows::follower_ids_on_host(c, room_id, &host))
            .await?;
        Ok::<_, Error>(json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": sync_url(&room),
            "type": "OrderedCollection",
            "totalItems": items.len(),
            "orderedItems": items,
        }))
    }
    .await;
    match result {
        Ok(doc) => ap_json(StatusCode::OK, &doc),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_the_xor_of_sha256_and_ignores_order() {
        assert_eq!(digest([]), "0".repeat(64));
        let one = digest(["https://b.example/users/x"]);
        assert_eq!(
            one,
            Sha256::digest(b"https://b.example/users/x")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        assert_eq!(
            digest(["https://b.example/u/1", "https://b.example/u/2"]),
            digest(["https://b.example/u/2", "https://b.example/u/1"])
        );
        // x XOR x = 0.
        assert_eq!(digest(["a", "a"]), "0".repeat(64));
    }
}
