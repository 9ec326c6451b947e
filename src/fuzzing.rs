//! Entry points for the fuzzers in `fuzz/` (`cargo fuzz`): each takes arbitrary bytes, as a
//! remote server could send them, and runs the pure steps this node applies to such input
//! before anything reaches the database or the network. Not an API: hidden from the docs,
//! kept here so that the fuzz targets stay one line each and follow the code they exercise.
//!
//! Promise: none of these panics on any input (a panic from network input is a bug); each
//! target's findings get a regression test in the ordinary test suite.

use chrono::{TimeZone, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::kinds::ActorKind;
use crate::domain::{net, text, Handle};
use crate::federation::activities::post::Post;
use crate::federation::activities::{DirectActivity, RelayedActivity};
use crate::federation::signatures::{self, rfc9421};
use crate::remote::guard::{self, Guard};
use crate::service::inbound::{Inbound, Receipt};
use crate::store::models::Actor;
use crate::vocab;

/// Bytes as an inbox body: JSON, the inbox's own checks (object, type, id, actor, hosts), the
/// typed activity for a person and for a room (directly and relayed), the checks the typed
/// activities make without a database, the embedded post and what its text becomes, and the
/// same bytes read as an actor document.
pub fn activity(data: &[u8]) {
    let Ok(doc) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = crate::remote::actor_from_json(&doc);
    if !doc.is_object() || vocab::type_of(&doc).is_none() {
        return;
    }
    let id = doc["id"].as_str().unwrap_or_default();
    let actor_id = vocab::id_of(&doc["actor"]).unwrap_or_default();
    let _ = vocab::same_host(id, actor_id);
    let _ = vocab::host_of(actor_id);
    let _ = vocab::audience_of(&doc);
    for kind in [ActorKind::Person, ActorKind::Group] {
        let actor = actor(actor_id, kind);
        let inbound = Inbound {
            actor: actor.clone(),
            receipt: Receipt {
                id: id.to_string(),
                actor: actor.ap_id.clone(),
                kind: vocab::type_of(&doc).unwrap_or_default().to_string(),
            },
            content: Value::Null,
            original: doc.clone(),
        };
        if let Ok(parsed) = DirectActivity::parse(&doc, &actor) {
            direct(&parsed, &inbound);
        }
        let _ = RelayedActivity::parse(&doc, &actor);
    }
    post(&doc["object"]);
}

fn direct(parsed: &DirectActivity, inbound: &Inbound<Value>) {
    match parsed {
        DirectActivity::Undo(a) => {
            let _ = a.verify(inbound);
        }
        DirectActivity::Offer(a) => {
            let _ = a.verify(inbound);
        }
        DirectActivity::Invite(a) => {
            let _ = a.verify(inbound);
        }
        DirectActivity::Add(a) => {
            let _ = a.verify(inbound);
        }
        DirectActivity::Remove(a) => {
            let _ = a.verify(inbound);
        }
        DirectActivity::Accept(a) => {
            let _ = a.object.required_id();
        }
        DirectActivity::Reject(a) => {
            let _ = a.object.required_id();
        }
        _ => {}
    }
}

/// An embedded post as `Create`/`Update` read it, and its text as ideas and comments take it.
fn post(object: &Value) {
    let Ok(post) = Post::deserialize(object) else {
        return;
    };
    let content = post.content_or_summary();
    let _ = post.addressing().is_public();
    let plain = text::strip_leading_mentions(&text::html_to_text(&content));
    let _ = text::title_from_text(&plain);
    let _ = text::pitch(&content, 200);
    let _ = text::sanitize_html(&content);
    if let Some(source) = post.source.as_ref().and_then(|s| s.content.as_deref()) {
        let _ = text::markdown_to_html(source);
    }
}

fn actor(ap_id: &str, kind: ActorKind) -> Actor {
    let t = Utc
        .timestamp_opt(1_700_000_000, 0)
        .single()
        .unwrap_or_default()
        .naive_utc();
    Actor {
        id: 1,
        ap_id: ap_id.to_string(),
        kind,
        local: false,
        name: "fuzz".into(),
        display_name: "fuzz".into(),
        summary: String::new(),
        inbox: format!("{ap_id}/inbox"),
        shared_inbox: None,
        outbox: None,
        followers: None,
        public_key_pem: String::new(),
        key_id: format!("{ap_id}#main-key"),
        private_key_pem: None,
        visibility: None,
        staff: false,
        host: vocab::host_of(ap_id).unwrap_or_default(),
        fetched_at: t,
        created_at: t,
        password_hash: Default::default(),
    }
}

/// A public key to verify fuzzed signatures with (nothing will verify; the path to the
/// refusal must not panic).
const PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsOJbXTwkB3OBip3fguG0
awSbzAyjzj5GPke9ks9LnGVjB2ugX16kBJ49TGzDfk8s6cEMnRzqa2dgj1ww/gKd
1NkDElHN8lqTvIIy++F2TBaJGZcF8Q0cq6AJVZ/wKEGCkRQFNi6Pu7/KbZbAjqQq
3phz5TZyUP7jupbAbXKxlmRlIYLn5TKFhoR+mK9mohzohqPMDufpeWNHW8AmrRIp
0vdnJ6AMmITXEvoFz/zelQheebJfqSCSTiGkTYbeLaiPRngUXR1fc63KKAJwsxDk
ocmrHGScmUeVpjDdZ7YalgBzSG4v7FUUQiC0cf8p62ZTuNm2sChSAKUkQ4ZF25RD
GwIDAQAB
-----END PUBLIC KEY-----";

/// A moment inside the freshness window of the signatures the fuzzer finds in its corpus.
fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0)
        .single()
        .unwrap_or_default()
}

/// Bytes as signature headers: the input's lines are, in order, `Signature` (draft-cavage,
/// also tried as `Authorization: Signature ...`), `Signature-Input` and RFC 9421 `Signature`,
/// `Date`, `Digest`, `Content-Digest`, `Host`, and the request target; the rest is the body.
/// Every parser and check the inbox runs before it fetches a key, then verification.
pub fn signature_header(data: &[u8]) {
    let mut lines = data.splitn(9, |b| *b == b'\n');
    let mut next = || lines.next().unwrap_or_default();
    let (cavage, input, sig9421, date, digest, content_digest, host, target, body) = (
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
    );
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &[u8]| {
        if let Ok(v) = HeaderValue::from_bytes(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set("date", date);
    set("digest", digest);
    set("content-digest", content_digest);
    set("host", host);
    let has_body = !body.is_empty();
    let uri = std::str::from_utf8(target)
        .ok()
        .and_then(|t| t.parse::<Uri>().ok())
        .unwrap_or_else(|| Uri::from_static("/inbox"));
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let key = PUBLIC_KEY_PEM;

    // draft-cavage, from `Signature` and from `Authorization`.
    let mut cavage_headers = headers.clone();
    if let Ok(v) = HeaderValue::from_bytes(cavage) {
        cavage_headers.insert("signature", v);
    }
    let mut authorization = b"Signature ".to_vec();
    authorization.extend_from_slice(cavage);
    let mut auth_headers = headers.clone();
    if let Ok(v) = HeaderValue::from_bytes(&authorization) {
        auth_headers.insert(http::header::AUTHORIZATION, v);
    }
    for h in [&cavage_headers, &auth_headers] {
        let _ = signatures::check_digest(h, body);
        if let Ok(sig) = signatures::parse_header(h) {
            let _ = signatures::check_coverage_and_freshness(&sig, h, has_body, now());
            let _ = signatures::check_coverage_and_freshness(&sig, h, has_body, Utc::now());
            let _ = signatures::verify(&sig, "POST", path, h, key);
        }
    }

    // RFC 9421.
    let mut headers = headers;
    if let Ok(v) = HeaderValue::from_bytes(input) {
        headers.insert("signature-input", v);
    }
    if let Ok(v) = HeaderValue::from_bytes(sig9421) {
        headers.insert("signature", v);
    }
    let _ = rfc9421::is_present(&headers);
    let _ = rfc9421::check_content_digest(&headers, body);
    let request_target = rfc9421::Target::of_request("https", "node.example", &uri, &headers);
    if let Ok(sigs) = rfc9421::parse_headers(&headers) {
        for sig in sigs {
            let _ = rfc9421::check_coverage_and_freshness(&sig, &request_target, has_body, now());
            let _ =
                rfc9421::check_coverage_and_freshness(&sig, &request_target, has_body, Utc::now());
            let _ = rfc9421::signature_base(&sig, "POST", &request_target, &headers);
            let _ = rfc9421::verify(&sig, "POST", &request_target, &headers, key);
        }
    }
}

/// Bytes as a handle typed into a follow form or found in a mention: the handle parser, the
/// WebFinger URL made of it and the SSRF guard's verdict on its host.
pub fn handle(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::domain::validate_local_name(input);
    let Ok(h) = Handle::parse(input) else {
        return;
    };
    let url = format!(
        "https://{}/.well-known/webfinger?resource=acct:{}@{}",
        h.host, h.name, h.host
    );
    if let Ok(url) = url::Url::parse(&url) {
        let _ = guard::check_literal(Guard::On, &url);
        let _ = signatures::host_header(&url);
        let _ = rfc9421::Target::of_url(&url);
    }
    if let Ok(ip) = h.host.trim_matches(['[', ']']).parse() {
        let _ = net::classify(ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_points_take_ordinary_input() {
        assert!(signatures::parse_public_key(PUBLIC_KEY_PEM).is_ok());
        activity(br#"{"id":"https://a.example/f","type":"Follow","actor":"https://a.example/u","object":"https://b.example/r"}"#);
        signature_header(b"keyId=\"https://a.example/u#k\",headers=\"(request-target) host date\",signature=\"AAAA\"\nsig=(\"@method\");keyid=\"k\";created=1700000000\nsig=:AAAA:\nTue, 14 Nov 2023 22:13:20 GMT\n\n\nnode.example\n/inbox\n{}");
        handle(b"alice@[::1]");
        handle(b"alice@10.0.0.1");
    }

    // Findings of the fuzzers, each kept as a regression test.

    /// `signature_header`: a draft-cavage `created` far in the past (`-1e30` reads as
    /// `i64::MIN`) overflowed the age computation (a panic in debug builds, a wrapped age in
    /// release ones). It is now a stale signature.
    #[test]
    fn a_cavage_created_far_out_of_range_is_stale_not_a_panic() {
        let input = b"keyId=\"k\",headers=\"(request-target) host (created)\",created=-1e30,signature=\"AAAA\"\n";
        signature_header(input);
        let mut headers = HeaderMap::new();
        headers.insert(
            "signature",
            HeaderValue::from_static(
                "keyId=\"k\",headers=\"(request-target) host (created)\",created=-1e30,signature=\"AAAA\"",
            ),
        );
        let sig = signatures::parse_header(&headers).unwrap();
        assert_eq!(sig.created, Some(i64::MIN));
        let e = signatures::check_coverage_and_freshness(&sig, &headers, false, Utc::now())
            .unwrap_err();
        assert!(matches!(e, signatures::SignatureError::Stale(_)), "{e}");
    }
}
