//! Signed outbound requests, with double-knocking: every delivery and every GET this node sends
//! goes through [`send`], which signs it with the scheme the remote host accepts.
//!
//! The scheme a host last accepted is remembered per host (`host[:port]`) in the `peers` table
//! ([`crate::store::peers`]), cached in the process ([`SchemeMemory`]). A host with no memory
//! gets draft-cavage `rsa-sha256` first, what every fediverse server checks. When the answer is
//! a refusal of the signature (401, or 400 whose body mentions a signature), the request is
//! sent once more with the other scheme (RFC 9421 after cavage, cavage after RFC 9421), as
//! Fedify does; whichever scheme got an answer that is not such a refusal is remembered, so a
//! host that takes only RFC 9421 costs one extra request once, not on every send.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use http::{HeaderMap, Method, StatusCode};
use thiserror::Error;
use url::Url;

use crate::domain::kinds::SignatureScheme;
use crate::federation::signatures::{self, SignatureError};
use crate::state::Ctx;
use crate::store;

/// Answers larger than this are refused (the federation crate's limit, kept).
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// An actor's key, as it signs requests.
#[derive(Clone)]
pub struct Signer {
    pub key_id: String,
    pub key: signatures::SigningKey,
}

/// The remembered scheme of each host: the `peers` table with an in-process cache in front, so
/// that a send reads the database only the first time it meets a host.
#[derive(Default)]
pub struct SchemeMemory {
    cache: Mutex<HashMap<String, SignatureScheme>>,
}

impl SchemeMemory {
    fn cached(&self, host: &str) -> Option<SignatureScheme> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
            .copied()
    }

    fn cache(&self, host: &str, scheme: SignatureScheme) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.to_string(), scheme);
    }

    /// The scheme `host` last accepted, if any (a database failure counts as no memory).
    pub async fn get(&self, ctx: &Ctx, host: &str) -> Option<SignatureScheme> {
        if let Some(s) = self.cached(host) {
            return Some(s);
        }
        let h = host.to_string();
        match ctx.db.read(move |c| store::peers::scheme_of(c, &h)).await {
            Ok(Some(s)) => {
                self.cache(host, s);
                Some(s)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(%host, error = %e, "cannot read the signature scheme of a host");
                None
            }
        }
    }

    /// Remembers that `host` accepted `scheme` (written only when it changes).
    pub async fn remember(&self, ctx: &Ctx, host: &str, scheme: SignatureScheme) {
        if self.cached(host) == Some(scheme) {
            return;
        }
        let h = host.to_string();
        match ctx
            .db
            .write(move |c| store::peers::remember(c, &h, scheme))
            .await
        {
            Ok(()) => {
                tracing::info!(%host, %scheme, "remembered the signature scheme of a host");
                self.cache(host, scheme);
            }
            Err(e) => {
                tracing::warn!(%host, %scheme, error = %e, "cannot remember the signature scheme of a host")
            }
        }
    }
}

/// What a host answered to a signed request.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The scheme of the request that got this answer.
    pub scheme: SignatureScheme,
    /// Whether the first scheme was refused and this answer is to the second knock.
    pub knocked_twice: bool,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Debug, Error)]
pub enum KnockError {
    /// The host could not be reached, timed out or broke the connection.
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
    #[error("the answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
    #[error("cannot sign the request: {0}")]
    Sign(#[from] SignatureError),
}

/// A request to send signed.
pub struct Request<'a> {
    pub method: Method,
    pub url: &'a Url,
    pub body: Option<&'a [u8]>,
    /// Further headers (`content-type`, `accept`, `collection-synchronization`...).
    pub headers: &'a [(&'static str, String)],
}

/// Whether an answer refuses the request's signature, so that the other scheme is worth a try.
pub fn refuses_signature(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::UNAUTHORIZED
        || (status == StatusCode::BAD_REQUEST
            && String::from_utf8_lossy(body)
                .to_ascii_lowercase()
                .contains("signature"))
}

/// Sends `req` signed by `signer`: with the scheme remembered for its host (cavage when none),
/// and once more with the other scheme when that one is refused. Remembers the scheme that
/// got through.
pub async fn send(ctx: &Ctx, signer: &Signer, req: Request<'_>) -> Result<Answer, KnockError> {
    let host = signatures::host_header(req.url);
    let remembered = ctx.peer_schemes.get(ctx, &host).await;
    let first = remembered.unwrap_or(SignatureScheme::Cavage);
    let answer = send_once(ctx, signer, &req, first).await?;
    if !refuses_signature(answer.status, &answer.body) {
        if remembered != Some(first) {
            ctx.peer_schemes.remember(ctx, &host, first).await;
        }
        return Ok(answer);
    }
    let second = first.other();
    tracing::info!(%host, refused = %first, status = %answer.status, retry = %second, "signature refused; knocking again with the other scheme");
    let mut again = send_once(ctx, signer, &req, second).await?;
    again.knocked_twice = true;
    if !refuses_signature(again.status, &again.body) {
        ctx.peer_schemes.remember(ctx, &host, second).await;
    }
    Ok(again)
}

async fn send_once(
    ctx: &Ctx,
    signer: &Signer,
    req: &Request<'_>,
    scheme: SignatureScheme,
) -> Result<Answer, KnockError> {
    let signed = signatures::sign_request(
        scheme,
        req.method.as_str(),
        req.url,
        req.body,
        &signer.key_id,
        &signer.key,
    )?;
    let mut builder = ctx.http.request(req.method.clone(), req.url.clone());
    for (name, value) in req.headers.iter().chain(signed.iter()) {
        builder = builder.header(*name, value);
    }
    if let Some(body) = req.body {
        builder = builder.body(body.to_vec());
    }
    let mut resp = builder.send().await?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(KnockError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body: Bytes::from(body),
        scheme,
        knocked_twice: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_of_the_signature_are_told_apart_from_other_refusals() {
        assert!(refuses_signature(StatusCode::UNAUTHORIZED, b""));
        assert!(refuses_signature(
            StatusCode::BAD_REQUEST,
            b"{\"error\":\"Invalid Signature\"}"
        ));
        assert!(!refuses_signature(StatusCode::BAD_REQUEST, b"bad JSON"));
        assert!(!refuses_signature(StatusCode::FORBIDDEN, b"signature"));
        assert!(!refuses_signature(StatusCode::ACCEPTED, b""));
    }
}
