//! What one request, one client and one remote server may cost this node.
//!
//! - [`JSON_LIMITS`]: the shape of a JSON body (nesting depth, longest string, most entries in
//!   one array or object), checked on the raw bytes of every inbox and API body before it is
//!   parsed; a body over a limit is refused with `400` naming the limit. (The size of a body is
//!   capped before that, by `max_body_bytes`: `413`.)
//! - [`RateLimiter`]: token buckets (GCRA, the `governor` crate) per client IP on the inbox,
//!   and on the API and page forms, and per remote host on the inbox. A request over a limit is
//!   answered `429` with `Retry-After` and a JSON error, and costs nothing more; other clients
//!   are served as before. Limits are per process (each process sharing a database keeps its
//!   own buckets).
//!
//! The client IP is the peer address of the connection, unless that peer is one of the
//! configured `trusted_proxies`: then it is the right-most address of `X-Forwarded-For` that
//! is not a trusted proxy. IPv6 clients are counted per /64 (one host usually holds a whole
//! /64). A request without a known peer address (the router driven in-process) is not
//! counted per IP.

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use thiserror::Error as ThisError;

use crate::config::RateLimits;
use crate::error::{Error, Result};
use crate::metrics::InboxResult;
use crate::state::Ctx;

// ---- JSON shape ----------------------------------------------------------------------------

/// Limits on the shape of a JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Most arrays and objects open inside each other.
    pub max_depth: usize,
    /// Longest string (a value or a key), in bytes of JSON text between its quotes.
    pub max_string_bytes: usize,
    /// Most entries in one array or object.
    pub max_items: usize,
}

/// The limits every inbox and API body is held to. The 169 real payloads of
/// `tests/fediverse_payloads.rs` nest at most 7 levels, hold strings of at most 35 KB and at
/// most 97 entries in one array or object; these limits leave a wide margin.
pub const JSON_LIMITS: JsonLimits = JsonLimits {
    max_depth: 32,
    max_string_bytes: 256 * 1024,
    max_items: 5_000,
};

/// Why a JSON document is refused; the message names the limit.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
pub enum JsonLimitError {
    #[error("JSON nested more than {limit} levels deep (at byte {at}); this node takes at most {limit} levels of arrays and objects")]
    TooDeep { limit: usize, at: usize },
    #[error("a JSON string longer than {limit} bytes (at byte {at}); this node takes strings of at most {limit} bytes")]
    StringTooLong { limit: usize, at: usize },
    #[error("a JSON {kind} with more than {limit} entries (at byte {at}); this node takes at most {limit} entries in one array or object")]
    TooManyItems {
        kind: &'static str,
        limit: usize,
        at: usize,
    },
}

/// One open array or object while scanning.
struct Frame {
    array: bool,
    /// Entries begun so far.
    entries: usize,
    /// Where it opened.
    at: usize,
}

impl JsonLimits {
    /// Checks `text` against the limits in one pass over its bytes, without parsing it (so a
    /// hostile document costs no allocation beyond `max_depth` frames). Invalid JSON that is
    /// within the limits passes: the parser refuses it afterwards.
    pub fn check(&self, text: &[u8]) -> std::result::Result<(), JsonLimitError> {
        let mut stack: Vec<Frame> = Vec::new();
        // A value (or key) begins in the innermost container.
        fn begin(stack: &mut [Frame]) {
            if let Some(f) = stack.last_mut() {
                if f.entries == 0 {
                    f.entries = 1;
                }
            }
        }
        let mut i = 0;
        while i < text.len() {
            match text[i] {
                b'"' => {
                    begin(&mut stack);
                    let start = i;
                    i += 1;
                    while i < text.len() && text[i] != b'"' {
                        // An escape takes the next byte with it (`\"` does not end the string).
                        i += if text[i] == b'\\' { 2 } else { 1 };
                        if i - start - 1 > self.max_string_bytes {
                            return Err(JsonLimitError::StringTooLong {
                                limit: self.max_string_bytes,
                                at: start,
                            });
                        }
                    }
                }
                b'[' | b'{' => {
                    begin(&mut stack);
                    if stack.len() >= self.max_depth {
                        return Err(JsonLimitError::TooDeep {
                            limit: self.max_depth,
                            at: i,
                        });
                    }
                    stack.push(Frame {
                        array: text[i] == b'[',
                        entries: 0,
                        at: i,
                    });
                }
                b']' | b'}' => {
                    stack.pop();
                }
                b',' => {
                    if let Some(f) = stack.last_mut() {
                        f.entries += 1;
                        if f.entries > self.max_items {
                            return Err(JsonLimitError::TooManyItems {
                                kind: if f.array { "array" } else { "object" },
                                limit: self.max_items,
                                at: f.at,
                            });
                        }
                    }
                }
                b' ' | b'\t' | b'\r' | b'\n' | b':' => {}
                _ => begin(&mut stack),
            }
            i += 1;
        }
        Ok(())
    }
}

/// [`JSON_LIMITS`] applied to a request body: `400` naming the limit.
pub fn check_json(body: &[u8]) -> Result<()> {
    JSON_LIMITS
        .check(body)
        .map_err(|e| Error::bad_request(format!("refused before parsing: {e}")))
}

// ---- Rate limits ---------------------------------------------------------------------------

type Keyed<K> = DefaultKeyedRateLimiter<K>;

/// The buckets of one node (one process). Built once by [`crate::router`]; the inbox reaches
/// it as a request extension.
pub struct RateLimiter {
    settings: RateLimits,
    inbox_ip: Option<Keyed<IpAddr>>,
    inbox_host: Option<Keyed<String>>,
    client_ip: Option<Keyed<IpAddr>>,
    /// Checks made, to forget idle keys now and then.
    checks: AtomicU64,
}

/// Idle keys are forgotten every this many checks, so that memory follows the clients of the
/// last minutes, not every client ever seen.
const HOUSEKEEPING_EVERY: u64 = 4096;

/// A request over a limit: `429` with `Retry-After` and a JSON error saying which limit.
#[derive(Debug, Clone)]
pub struct Throttled {
    /// Whose requests: `client 192.0.2.7`, `host spam.example`.
    pub who: String,
    /// What is limited: `inbox requests`, `API and form requests`.
    pub what: &'static str,
    pub per_minute: u32,
    pub retry_after: Duration,
}

impl Throttled {
    /// Whole seconds to wait, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }
}

impl IntoResponse for Throttled {
    fn into_response(self) -> Response {
        let secs = self.retry_after_secs();
        let mut resp = Error::TooManyRequests(format!(
            "too many requests: this node takes at most {} {} a minute from one {}; retry after {secs} s",
            self.per_minute, self.what, self.who
        ))
        .into_response();
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
        resp
    }
}

fn keyed<K: Hash + Eq + Clone>(per_minute: u32) -> Option<Keyed<K>> {
    NonZeroU32::new(per_minute).map(|n| governor::RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimiter {
    pub fn new(settings: &RateLimits) -> RateLimiter {
        RateLimiter {
            inbox_ip: keyed(settings.inbox_per_ip),
            inbox_host: keyed(settings.inbox_per_host),
            client_ip: keyed(settings.api_per_ip),
            settings: settings.clone(),
            checks: AtomicU64::new(0),
        }
    }

    fn check<K: Hash + Eq + Clone>(
        &self,
        limiter: &Option<Keyed<K>>,
        key: &K,
    ) -> std::result::Result<(), Duration> {
        let Some(limiter) = limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % HOUSEKEEPING_EVERY
            == HOUSEKEEPING_EVERY - 1
        {
            self.forget_idle();
        }
        limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }

    fn forget_idle(&self) {
        if let Some(l) = &self.inbox_ip {
            l.retain_recent();
        }
        if let Some(l) = &self.inbox_host {
            l.retain_recent();
        }
        if let Some(l) = &self.client_ip {
            l.retain_recent();
        }
    }

    /// Counts one inbox request from remote `host` (`name[:port]`).
    pub fn check_host(&self, host: &str) -> std::result::Result<(), Throttled> {
        let host = host.to_ascii_lowercase();
        self.check(&self.inbox_host, &host)
            .map_err(|retry_after| Throttled {
                who: format!("host ({host})"),
                what: "inbox requests",
                per_minute: self.settings.inbox_per_host,
                retry_after,
            })
    }

    /// Counts one request of `kind` from client `ip`.
    fn check_ip(&self, kind: Limited, ip: IpAddr) -> std::result::Result<(), Throttled> {
        let (limiter, what, per_minute) = match kind {
            Limited::Inbox => (&self.inbox_ip, "inbox requests", self.settings.inbox_per_ip),
            Limited::Client => (
                &self.client_ip,
                "API and form requests",
                self.settings.api_per_ip,
            ),
        };
        let key = bucket_of(ip);
        self.check(limiter, &key).map_err(|retry_after| Throttled {
            who: format!("client address ({ip})"),
            what,
            per_minute,
            retry_after,
        })
    }

    /// The client a request comes from (see the module documentation).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        client_ip(&self.settings.trusted_proxies, peer, headers)
    }
}

/// Which bucket a request draws on, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limited {
    /// A POST to an inbox.
    Inbox,
    /// The API, and pages' forms (anything that is not a read of a page or a document).
    Client,
}

fn classify(method: &Method, path: &str) -> Option<Limited> {
    if method == Method::POST && (path == "/inbox" || path.ends_with("/inbox")) {
        Some(Limited::Inbox)
    } else if path.starts_with("/api/")
        || !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
    {
        Some(Limited::Client)
    } else {
        None
    }
}

/// The key of a client address: IPv4 as is, IPv6 by its /64.
fn bucket_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The peer, or the right-most `X-Forwarded-For` address that is not a trusted proxy when the
/// peer is one.
fn client_ip(trusted: &[ipnet::IpNet], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// The host of the key that signed a request (see [`claimed_key_id`]), unverified: good
/// enough to count requests by.
pub fn signer_host(headers: &HeaderMap) -> Option<String> {
    claimed_key_id(headers).and_then(|k| crate::vocab::host_of(&k))
}

/// The id of the key that claims to have signed a request, from `Signature` (draft-cavage
/// `keyId`) or `Signature-Input` (RFC 9421 `keyid`): the first that names a host. Unverified.
pub fn claimed_key_id(headers: &HeaderMap) -> Option<String> {
    for name in ["signature", "signature-input"] {
        for value in headers.get_all(name) {
            let Ok(v) = value.to_str() else { continue };
            // ASCII lower-casing keeps byte offsets.
            let Some(i) = v.to_ascii_lowercase().find("keyid=\"") else {
                continue;
            };
            let rest = &v[i + 7..];
            if let Some(end) = rest.find('"') {
                let key_id = &rest[..end];
                if crate::vocab::host_of(key_id).is_some() {
                    return Some(key_id.to_string());
                }
            }
        }
    }
    None
}

/// Middleware: the per-IP limits, before the body is read.
pub async fn per_ip(
    State((ctx, limiter)): State<(Ctx, Arc<RateLimiter>)>,
    req: Request,
    next: Next,
) -> Response {
    let Some(kind) = classify(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return next.run(req).await;
    };
    let ip = limiter.client_ip(peer, req.headers());
    match limiter.check_ip(kind, ip) {
        Ok(()) => next.run(req).await,
        Err(throttled) => {
            tracing::info!(%ip, path = %req.uri().path(), retry_after = throttled.retry_after_secs(), "rate limit: request refused");
            if kind == Limited::Inbox {
                ctx.metrics.inbox(None, InboxResult::Rejected);
            }
            throttled.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: JsonLimits = JsonLimits {
        max_depth: 4,
        max_string_bytes: 10,
        max_items: 3,
    };

    #[test]
    fn documents_within_the_limits_pass() {
        for ok in [
            r#"{"a": [1, 2, 3], "b": {"c": [true]}}"#,
            r#"[[[{}]]]"#,
            r#""0123456789""#,
            r#"{"s": "with \"quotes\" and [brackets] {}, , ,"}"#,
            r#"[]"#,
            r#"{"a":1,"b":2,"c":3}"#,
            "",
        ] {
            let roomy = JsonLimits {
                max_string_bytes: 100,
                ..SMALL
            };
            assert_eq!(roomy.check(ok.as_bytes()), Ok(()), "{ok}");
        }
    }

    #[test]
    fn depth_is_refused_past_the_limit() {
        let e = SMALL.check(b"[[[[[1]]]]]").unwrap_err();
        assert_eq!(e, JsonLimitError::TooDeep { limit: 4, at: 4 });
        assert!(e.to_string().contains("at most 4 levels"), "{e}");
        assert!(SMALL.check(br#"{"a":{"b":{"c":{"d":{}}}}}"#).is_err());
        // Brackets inside strings do not count.
        assert!(SMALL.check(br#"["[[[[[[[[[["]"#).is_ok());
    }

    #[test]
    fn long_strings_are_refused_escapes_included() {
        let e = SMALL.check(br#"{"k": "01234567890"}"#).unwrap_err();
        assert_eq!(e, JsonLimitError::StringTooLong { limit: 10, at: 6 });
        assert!(e.to_string().contains("at most 10 bytes"), "{e}");
        // Keys are strings too; an escaped quote does not end a string.
        assert!(SMALL.check(br#"{"0123456789a": 1}"#).is_err());
        assert!(SMALL.check(br#"["\"\"\"\"\"\""]"#).is_err());
        assert!(SMALL.check(br#"["\"\"\"\"\""]"#).is_ok());
    }

    #[test]
    fn arrays_and_objects_with_too_many_entries_are_refused() {
        let e = SMALL.check(b"[1, 2, 3, 4]").unwrap_err();
        assert_eq!(
            e,
            JsonLimitError::TooManyItems {
                kind: "array",
                limit: 3,
                at: 0
            }
        );
        assert!(e.to_string().contains("at most 3 entries"), "{e}");
        let e = SMALL.check(br#"{"a":1,"b":2,"c":3,"d":4}"#).unwrap_err();
        assert!(matches!(
            e,
            JsonLimitError::TooManyItems { kind: "object", .. }
        ));
        // Entries are counted per container.
        assert!(SMALL.check(b"[[1,2,3],[1,2,3],[1,2,3]]").is_ok());
    }

    #[test]
    fn the_node_limits_take_a_large_real_shaped_document() {
        let tags: Vec<String> = (0..500)
            .map(|i| format!(r#"{{"type":"Mention","href":"https://x.example/u/{i}"}}"#))
            .collect();
        let doc = format!(
            r#"{{"@context":["https://www.w3.org/ns/activitystreams",{{"sensitive":"as:sensitive"}}],"type":"Create","object":{{"content":"{}","tag":[{}]}}}}"#,
            "p".repeat(100_000),
            tags.join(",")
        );
        assert_eq!(JSON_LIMITS.check(doc.as_bytes()), Ok(()));
    }

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_proxy_names_it() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = vec!["10.0.0.0/8".parse::<ipnet::IpNet>().unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.4, 10.0.0.7".parse().unwrap(),
        );
        // Untrusted peers cannot choose their key.
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(client_ip(&trusted, peer, &h), peer);
        assert_eq!(client_ip(&[], proxy, &h), proxy);
        // Behind trusted proxies: the right-most untrusted address.
        assert_eq!(
            client_ip(&trusted, proxy, &h),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(&trusted, proxy, &HeaderMap::new()), proxy);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket_of(a), bucket_of(b));
        assert_ne!(bucket_of(a), bucket_of(c));
    }

    #[test]
    fn requests_are_classified_by_method_and_path() {
        assert_eq!(classify(&Method::POST, "/inbox"), Some(Limited::Inbox));
        assert_eq!(
            classify(&Method::POST, "/r/lab/inbox"),
            Some(Limited::Inbox)
        );
        assert_eq!(
            classify(&Method::GET, "/api/v1/rooms"),
            Some(Limited::Client)
        );
        assert_eq!(classify(&Method::POST, "/login"), Some(Limited::Client));
        assert_eq!(classify(&Method::GET, "/r/lab"), None);
        assert_eq!(classify(&Method::GET, "/static/app.css"), None);
    }

    #[test]
    fn a_burst_past_the_limit_is_throttled_per_key() {
        let limiter = RateLimiter::new(&RateLimits {
            inbox_per_host: 3,
            ..RateLimits::default()
        });
        for _ in 0..3 {
            limiter.check_host("spam.example").unwrap();
        }
        let t = limiter.check_host("spam.example").unwrap_err();
        assert!(t.retry_after_secs() >= 1);
        assert!(t.retry_after <= Duration::from_secs(20));
        // Another host is still served.
        limiter.check_host("good.example").unwrap();
    }

    #[test]
    fn the_signer_host_is_read_from_either_signature_scheme() {
        let mut h = HeaderMap::new();
        h.insert(
            "signature",
            r#"keyId="https://Spam.example/users/e#main-key",algorithm="rsa-sha256""#
                .parse()
                .unwrap(),
        );
        assert_eq!(signer_host(&h).as_deref(), Some("spam.example"));
        let mut h = HeaderMap::new();
        h.insert(
            "signature-input",
            r#"sig1=("@method");created=1;keyid="http://localhost:9000/u/a#k""#
                .parse()
                .unwrap(),
        );
        assert_eq!(signer_host(&h).as_deref(), Some("localhost:9000"));
        assert_eq!(signer_host(&HeaderMap::new()), None);
    }
}
