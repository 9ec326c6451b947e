//! HTTP signatures, both schemes the fediverse uses in 2026, and the verification of a signed
//! request end to end ([`verify_request`]: the signer's key fetched, refetched once when it
//! fails, for rotated keys), which inboxes and signed GETs share.
//!
//! - draft-cavage-12 (this file), as Mastodon sends and checks it: we sign `rsa-sha256` over
//!   `(request-target) host date digest` (GETs omit `digest`), and accept `rsa-sha256` and
//!   `hs2019` over any header list that covers the request target, the host, a date and, for
//!   requests with a body, the digest.
//! - RFC 9421 HTTP Message Signatures with RFC 9530 `Content-Digest` ([`rfc9421`]), as Fedify
//!   and Mastodon 4.5 send them; a request with `Signature-Input` is checked this way.
//!
//! Which scheme this node sends to a host is decided by [`crate::federation::knock`]. A
//! signature that cannot be checked is answered 401 with `Accept-Signature`
//! ([`Error::BadSignature`]); a key server that is down for a moment 503 (retry later).
//! Both schemes sign and verify with aws-lc-rs ([`keys`]: blinded, constant-time signing and a
//! tenth of the `rsa` crate's verification time); the federation crate keeps its verifier
//! private and knows no RFC 9421.

pub mod keys;
pub mod rfc9421;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, Uri};
use sha2::{Digest, Sha256};
use thiserror::Error;
use url::Url;

pub use crate::domain::kinds::SignatureScheme;
use crate::error::{Error, Result as AppResult};
use crate::remote;
use crate::state::Ctx;
use crate::store::models::Actor;

/// How far in the past a signature's date may lie (Mastodon uses the same window).
pub const MAX_AGE_SECS: i64 = 12 * 3600;
/// How far in the future a date may lie, for clock skew.
pub const MAX_SKEW_SECS: i64 = 3600;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("request is not signed: no Signature header")]
    Missing,
    #[error("malformed Signature header: {0}")]
    Malformed(String),
    #[error("unsupported signature algorithm '{0}': use rsa-sha256 or hs2019 (draft-cavage), rsa-v1_5-sha256 or rsa-pss-sha512 (RFC 9421)")]
    Algorithm(String),
    #[error("signature does not cover '{0}'")]
    Uncovered(&'static str),
    #[error("signed header '{0}' is missing from the request")]
    MissingHeader(String),
    #[error("Digest header does not match the body")]
    DigestMismatch,
    #[error("signature date is too old or in the future: {0}")]
    Stale(String),
    #[error("signature does not verify with the key of {0}")]
    Invalid(String),
    #[error("unusable public key: {0}")]
    BadKey(String),
}

/// The parameters of a `Signature` header.
#[derive(Debug, Clone)]
pub struct SignatureHeader {
    pub key_id: String,
    pub algorithm: Option<String>,
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
}

/// Formats a time as an HTTP date (`Tue, 28 Mar 2023 21:03:44 GMT`).
pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// `SHA-256=<base64>` of a body.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", B64.encode(Sha256::digest(body)))
}

/// `host[:port]` as it appears in a Host header for this URL.
pub fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

pub use keys::{RsaAlgorithm, RsaSigner, SigningKey, VerifyingKey};

/// An actor's private key (PKCS#8 PEM, as stored), ready to sign.
pub fn parse_private_key(pem: &str) -> Result<SigningKey, SignatureError> {
    SigningKey::from_pem(pem)
}

/// A peer's public key (SubjectPublicKeyInfo or PKCS#1 PEM), ready to verify.
///
/// Parsed keys are remembered by their PEM (at most [`PARSED_KEYS`]; the memo starts over
/// when full): parsing costs about as much as verifying, and the same few keys sign most of
/// what arrives. A PEM is its key, so a remembered one is never stale; a rotated key is a
/// new PEM.
pub fn parse_public_key(pem: &str) -> Result<Arc<VerifyingKey>, SignatureError> {
    static PARSED: OnceLock<Mutex<HashMap<String, Arc<VerifyingKey>>>> = OnceLock::new();
    let memo = PARSED.get_or_init(Default::default);
    if let Some(key) = memo.lock().unwrap_or_else(|p| p.into_inner()).get(pem) {
        return Ok(key.clone());
    }
    let key = Arc::new(VerifyingKey::from_pem(pem)?);
    let mut memo = memo.lock().unwrap_or_else(|p| p.into_inner());
    if memo.len() >= PARSED_KEYS {
        memo.clear();
    }
    memo.insert(pem.to_string(), key.clone());
    Ok(key)
}

/// How many parsed public keys [`parse_public_key`] remembers.
pub const PARSED_KEYS: usize = 4096;

/// Headers to add to a request so that it carries a cavage-12 `rsa-sha256` signature.
/// Returns `(name, value)` pairs: `host`, `date`, `digest` (when there is a body), `signature`.
pub fn sign(
    method: &str,
    url: &Url,
    body: Option<&[u8]>,
    key_id: &str,
    key: &(impl RsaSigner + ?Sized),
) -> Result<Vec<(&'static str, String)>, SignatureError> {
    sign_at(method, url, body, key_id, key, Utc::now())
}

/// [`sign`] with a given `Date` (tests use it to make stale signatures).
pub fn sign_at(
    method: &str,
    url: &Url,
    body: Option<&[u8]>,
    key_id: &str,
    key: &(impl RsaSigner + ?Sized),
    at: DateTime<Utc>,
) -> Result<Vec<(&'static str, String)>, SignatureError> {
    let host = host_header(url);
    let date = http_date(at);
    let target = request_target(method, url.path(), url.query());
    let mut out = vec![("host", host.clone()), ("date", date.clone())];
    let (names, signing_string) = match body {
        Some(body) => {
            let digest = digest_header(body);
            let s =
                format!("(request-target): {target}\nhost: {host}\ndate: {date}\ndigest: {digest}");
            out.push(("digest", digest));
            ("(request-target) host date digest", s)
        }
        None => (
            "(request-target) host date",
            format!("(request-target): {target}\nhost: {host}\ndate: {date}"),
        ),
    };
    let sig = key.sign_pkcs1_sha256(signing_string.as_bytes())?;
    out.push((
        "signature",
        format!(
            "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{names}\",signature=\"{}\"",
            B64.encode(sig)
        ),
    ));
    Ok(out)
}

/// Headers that make a request carry a signature of `scheme` by `key_id`: for cavage `host`,
/// `date`, `digest` (with a body) and `signature`; for RFC 9421 `content-digest` (with a
/// body), `signature-input` and `signature`.
pub fn sign_request(
    scheme: SignatureScheme,
    method: &str,
    url: &Url,
    body: Option<&[u8]>,
    key_id: &str,
    key: &(impl RsaSigner + ?Sized),
) -> Result<Vec<(&'static str, String)>, SignatureError> {
    match scheme {
        SignatureScheme::Cavage => sign(method, url, body, key_id, key),
        SignatureScheme::Rfc9421 => rfc9421::sign(method, url, body, key_id, key, Utc::now()),
    }
}

fn request_target(method: &str, path: &str, query: Option<&str>) -> String {
    match query {
        Some(q) => format!("{} {path}?{q}", method.to_ascii_lowercase()),
        None => format!("{} {path}", method.to_ascii_lowercase()),
    }
}

/// Reads the `Signature` header (or `Authorization: Signature ...`).
pub fn parse_header(headers: &HeaderMap) -> Result<SignatureHeader, SignatureError> {
    let raw = match headers.get("signature") {
        Some(v) => v
            .to_str()
            .map_err(|_| SignatureError::Malformed("not ASCII".into()))?,
        None => headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Signature "))
            .ok_or(SignatureError::Missing)?,
    };
    let params = parse_params(raw)?;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let key_id = get("keyId").ok_or_else(|| SignatureError::Malformed("no keyId".into()))?;
    let signature = get("signature")
        .ok_or_else(|| SignatureError::Malformed("no signature".into()))
        .and_then(|s| {
            B64.decode(s.as_bytes())
                .map_err(|_| SignatureError::Malformed("signature is not base64".into()))
        })?;
    let headers = get("headers")
        .unwrap_or_else(|| "date".to_string())
        .split_ascii_whitespace()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let num = |k: &str| -> Result<Option<i64>, SignatureError> {
        get(k)
            .map(|v| {
                v.parse::<f64>()
                    .map(|f| f as i64)
                    .map_err(|_| SignatureError::Malformed(format!("{k} is not a number")))
            })
            .transpose()
    };
    Ok(SignatureHeader {
        key_id,
        algorithm: get("algorithm"),
        headers,
        signature,
        created: num("created")?,
        expires: num("expires")?,
    })
}

fn parse_params(raw: &str) -> Result<Vec<(String, String)>, SignatureError> {
    let mut out = Vec::new();
    let mut rest = raw.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').ok_or_else(|| {
            SignatureError::Malformed(format!("expected key=value near '{rest}'"))
        })?;
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| SignatureError::Malformed(format!("unterminated value of {key}")))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        out.push((key, value.to_string()));
        rest = remainder.trim_start().trim_start_matches(',').trim_start();
    }
    Ok(out)
}

/// Checks that the signature covers what it must and that its date is fresh.
pub fn check_coverage_and_freshness(
    sig: &SignatureHeader,
    headers: &HeaderMap,
    has_body: bool,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    match sig.algorithm.as_deref() {
        None | Some("rsa-sha256") | Some("hs2019") => {}
        Some(other) => return Err(SignatureError::Algorithm(other.to_string())),
    }
    let covers = |h: &str| sig.headers.iter().any(|x| x == h);
    if !covers("(request-target)") {
        return Err(SignatureError::Uncovered("(request-target)"));
    }
    if !covers("host") {
        return Err(SignatureError::Uncovered("host"));
    }
    if has_body && !covers("digest") {
        return Err(SignatureError::Uncovered("digest"));
    }
    let signed_at = if covers("(created)") {
        sig.created
            .ok_or_else(|| SignatureError::Malformed("(created) is signed but absent".into()))?
    } else if covers("date") {
        let raw = headers
            .get("date")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| SignatureError::MissingHeader("date".into()))?;
        DateTime::parse_from_rfc2822(raw)
            .map_err(|_| SignatureError::Stale(format!("unreadable date '{raw}'")))?
            .timestamp()
    } else {
        return Err(SignatureError::Uncovered("date"));
    };
    let age = now.timestamp().saturating_sub(signed_at);
    if !(-MAX_SKEW_SECS..=MAX_AGE_SECS).contains(&age) {
        return Err(SignatureError::Stale(format!("signed {age} seconds ago")));
    }
    if let Some(expires) = sig.expires {
        if covers("(expires)") && expires < now.timestamp() {
            return Err(SignatureError::Stale("signature expired".into()));
        }
    }
    Ok(())
}

/// Checks the `Digest` header against the body.
pub fn check_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
    let raw = headers
        .get("digest")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| SignatureError::MissingHeader("digest".into()))?;
    let want = B64.encode(Sha256::digest(body));
    let matches = raw.split(',').any(|part| {
        part.trim()
            .split_once('=')
            .is_some_and(|(alg, value)| alg.eq_ignore_ascii_case("SHA-256") && value == want)
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::DigestMismatch)
    }
}

/// Rebuilds the signing string from the request and checks the signature with `public_key_pem`.
pub fn verify(
    sig: &SignatureHeader,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    public_key_pem: &str,
) -> Result<(), SignatureError> {
    let mut lines = Vec::with_capacity(sig.headers.len());
    for name in &sig.headers {
        let value = match name.as_str() {
            "(request-target)" => format!("{} {path_and_query}", method.to_ascii_lowercase()),
            "(created)" => sig
                .created
                .ok_or_else(|| SignatureError::MissingHeader(name.clone()))?
                .to_string(),
            "(expires)" => sig
                .expires
                .ok_or_else(|| SignatureError::MissingHeader(name.clone()))?
                .to_string(),
            header => {
                let values: Vec<&str> = headers
                    .get_all(header)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .map(str::trim)
                    .collect();
                if values.is_empty() {
                    return Err(SignatureError::MissingHeader(header.to_string()));
                }
                values.join(", ")
            }
        };
        lines.push(format!("{name}: {value}"));
    }
    let signing_string = lines.join("\n");
    let key = parse_public_key(public_key_pem)?;
    if key.verify(
        RsaAlgorithm::Pkcs1Sha256,
        signing_string.as_bytes(),
        &sig.signature,
    ) {
        Ok(())
    } else {
        Err(SignatureError::Invalid(sig.key_id.clone()))
    }
}

// ---- verifying a request end to end ----

/// A 401 for a signature that cannot be checked, with the `Accept-Signature` that tells a
/// double-knocking sender what to sign instead.
pub fn bad_signature(message: impl Into<String>, has_body: bool) -> Error {
    Error::BadSignature {
        message: message.into(),
        accept_signature: rfc9421::accept_signature(has_body),
    }
}

/// A signature as received, checked for coverage and freshness, waiting for its key.
enum Presented {
    Cavage(SignatureHeader),
    Rfc9421(Box<rfc9421::Signature>, rfc9421::Target),
}

impl Presented {
    /// Parses the request's signature (RFC 9421 when it has `Signature-Input`, else cavage)
    /// and checks its digest, coverage and freshness.
    fn check(
        ctx: &Ctx,
        uri: &Uri,
        headers: &HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<Presented, SignatureError> {
        let now = Utc::now();
        if !rfc9421::is_present(headers) {
            let sig = parse_header(headers)?;
            if let Some(body) = body {
                check_digest(headers, body)?;
            }
            check_coverage_and_freshness(&sig, headers, body.is_some(), now)?;
            return Ok(Presented::Cavage(sig));
        }
        let target =
            rfc9421::Target::of_request(ctx.settings.scheme(), &ctx.settings.domain, uri, headers);
        // Of several signatures (a proxy may add its own), the first one that meets our rules.
        let mut refusal = None;
        for sig in rfc9421::parse_headers(headers)? {
            match rfc9421::check_coverage_and_freshness(&sig, &target, body.is_some(), now) {
                Ok(()) => {
                    if let Some(body) = body {
                        rfc9421::check_content_digest(headers, body)?;
                    }
                    return Ok(Presented::Rfc9421(Box::new(sig), target));
                }
                Err(e) => {
                    refusal.get_or_insert(e);
                }
            }
        }
        Err(refusal.unwrap_or(SignatureError::Missing))
    }

    fn key_id(&self) -> &str {
        match self {
            Presented::Cavage(sig) => &sig.key_id,
            Presented::Rfc9421(sig, _) => &sig.key_id,
        }
    }

    fn scheme(&self) -> SignatureScheme {
        match self {
            Presented::Cavage(_) => SignatureScheme::Cavage,
            Presented::Rfc9421(..) => SignatureScheme::Rfc9421,
        }
    }

    fn verify(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        public_key_pem: &str,
    ) -> Result<(), SignatureError> {
        match self {
            Presented::Cavage(sig) => {
                let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                verify(sig, method.as_str(), target, headers, public_key_pem)
            }
            Presented::Rfc9421(sig, target) => {
                rfc9421::verify(sig, method.as_str(), target, headers, public_key_pem)
            }
        }
    }
}

/// Verifies the signature of a request, of either scheme, and returns the signing actor.
///
/// A signature that is missing, malformed, stale, uncovered or wrong, and a key that does not
/// exist, are [`Error::BadSignature`] (401 with `Accept-Signature`); a key server that cannot
/// be reached right now is [`Error::RemoteUnavailable`] (503 with `Retry-After`).
pub async fn verify_request(
    ctx: &Ctx,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> AppResult<Actor> {
    verify_request_by(ctx, method, uri, headers, body, None).await
}

/// [`verify_request`], for a caller that has already read the owner of the claimed key from
/// this node's database (`known`, used only if it owns the key id the signature names; the
/// inbox reads it together with its other checks).
pub async fn verify_request_by(
    ctx: &Ctx,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    known: Option<Actor>,
) -> AppResult<Actor> {
    let has_body = body.is_some();
    let bad = |e: SignatureError| bad_signature(e.to_string(), has_body);
    let presented = Presented::check(ctx, uri, headers, body).map_err(bad)?;
    let key_id = presented.key_id().to_string();
    let owner = |refresh| {
        let key_id = key_id.clone();
        async move {
            remote::key_owner(ctx, &key_id, refresh)
                .await
                .map_err(|e| match e {
                    Error::Unavailable(_) | Error::RemoteUnavailable(_) => e,
                    Error::Unauthorized(m) => bad_signature(m, has_body),
                    other => bad_signature(format!("cannot get key {key_id}: {other}"), has_body),
                })
        }
    };
    let signer = match known.filter(|a| a.key_id == key_id) {
        Some(a) => a,
        None => owner(false).await?,
    };
    if presented
        .verify(method, uri, headers, &signer.public_key_pem)
        .is_ok()
    {
        tracing::debug!(scheme = %presented.scheme(), signer = %signer.ap_id, "signature verified");
        return Ok(signer);
    }
    if signer.local {
        return Err(bad_signature(
            format!("signature does not verify with the key of {}", signer.ap_id),
            has_body,
        ));
    }
    // Keys rotate: fetch the key once more before refusing.
    let signer = owner(true).await?;
    presented
        .verify(method, uri, headers, &signer.public_key_pem)
        .map_err(bad)?;
    tracing::debug!(scheme = %presented.scheme(), signer = %signer.ap_id, "signature verified with a refetched key");
    Ok(signer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    use rsa::RsaPrivateKey;

    fn key() -> (RsaPrivateKey, String) {
        // 1024 bits keeps the unit test fast; production keys are 2048.
        let k = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let pem = k.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
        (k, pem)
    }

    fn to_map(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn signed_post_verifies_and_tampering_fails() {
        let (k, pem) = key();
        let url = Url::parse("http://localhost:8080/inbox?x=1").unwrap();
        let body = br#"{"type":"Follow"}"#;
        let h = to_map(&sign("POST", &url, Some(body), "http://a/u#main-key", &k).unwrap());
        let sig = parse_header(&h).unwrap();
        assert_eq!(sig.algorithm.as_deref(), Some("rsa-sha256"));
        assert_eq!(sig.headers, ["(request-target)", "host", "date", "digest"]);
        check_coverage_and_freshness(&sig, &h, true, Utc::now()).unwrap();
        check_digest(&h, body).unwrap();
        verify(&sig, "POST", "/inbox?x=1", &h, &pem).unwrap();
        assert_eq!(check_digest(&h, b"{}"), Err(SignatureError::DigestMismatch));
        assert!(verify(&sig, "POST", "/other", &h, &pem).is_err());
        let (_, other_pem) = key();
        assert!(verify(&sig, "POST", "/inbox?x=1", &h, &other_pem).is_err());
    }

    #[test]
    fn hs2019_and_a_missing_algorithm_verify_like_rsa_sha256() {
        let (k, pem) = key();
        let url = Url::parse("http://localhost:8080/inbox").unwrap();
        let mut h = to_map(&sign("POST", &url, Some(b"{}"), "k", &k).unwrap());
        let raw = h["signature"].to_str().unwrap().to_string();
        for replacement in ["algorithm=\"hs2019\"", ""] {
            let changed = raw.replace("algorithm=\"rsa-sha256\"", replacement);
            h.insert("signature", HeaderValue::from_str(&changed).unwrap());
            let sig = parse_header(&h).unwrap();
            check_coverage_and_freshness(&sig, &h, true, Utc::now()).unwrap();
            verify(&sig, "POST", "/inbox", &h, &pem).unwrap();
        }
        let changed = raw.replace("rsa-sha256", "ed25519");
        h.insert("signature", HeaderValue::from_str(&changed).unwrap());
        let sig = parse_header(&h).unwrap();
        assert!(matches!(
            check_coverage_and_freshness(&sig, &h, true, Utc::now()),
            Err(SignatureError::Algorithm(_))
        ));
    }

    #[test]
    fn stale_and_uncovered_signatures_are_refused() {
        let (k, _) = key();
        let url = Url::parse("http://localhost:8080/inbox").unwrap();
        let h = to_map(&sign("POST", &url, Some(b"{}"), "k", &k).unwrap());
        let sig = parse_header(&h).unwrap();
        let later = Utc::now() + chrono::Duration::hours(13);
        assert!(matches!(
            check_coverage_and_freshness(&sig, &h, true, later),
            Err(SignatureError::Stale(_))
        ));
        let get = to_map(&sign("GET", &url, None, "k", &k).unwrap());
        let sig = parse_header(&get).unwrap();
        assert_eq!(
            check_coverage_and_freshness(&sig, &get, true, Utc::now()),
            Err(SignatureError::Uncovered("digest"))
        );
    }

    #[test]
    fn header_parameters_parse_in_any_order_with_spaces() {
        let mut h = HeaderMap::new();
        h.insert(
            "signature",
            HeaderValue::from_static(
                r#"algorithm="hs2019", keyId="https://x/a#k", created=1700000000, headers="(request-target) (created) host digest", signature="AAAA""#,
            ),
        );
        let s = parse_header(&h).unwrap();
        assert_eq!(s.key_id, "https://x/a#k");
        assert_eq!(s.created, Some(1_700_000_000));
        assert_eq!(s.headers.len(), 4);
        assert_eq!(
            parse_header(&HeaderMap::new()).unwrap_err(),
            SignatureError::Missing
        );
    }
}
