//! RFC 9421 HTTP Message Signatures, with RFC 9530 `Content-Digest`, as Fedify and Mastodon
//! send and check them.
//!
//! A request carries `Signature-Input` (which components are covered, with `keyid`, `alg`,
//! `created`, `expires`) and `Signature` (the bytes), both RFC 8941 dictionaries keyed by a
//! label; the `sfv` crate parses and serializes them. The signature base is rebuilt here from
//! the request: one line per covered component, then `"@signature-params"` with the
//! re-serialized inner list. This module promises that:
//!
//! - a signature verifies only if its base, rebuilt from what was received, was signed with
//!   `rsa-v1_5-sha256` (also assumed when `alg` is absent, our keys being RSA) or
//!   `rsa-pss-sha512`; any other `alg` is refused;
//! - [`check_coverage_and_freshness`] holds a signature to the rules the cavage path applies:
//!   the method and the whole target (URI, or authority with path and query) are covered,
//!   `content-digest` too when there is a body, and `created` lies in the same window;
//! - [`sign`] produces what Mastodon 4.5 and Fedify 2 accept: label `sig1`, components
//!   `("@method" "@target-uri" "content-digest")` (without the digest for a GET), `created`,
//!   `keyid` and `alg="rsa-v1_5-sha256"`.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chrono::{DateTime, Utc};
use http::{HeaderMap, Uri};
use sfv::{
    BareItem, Dictionary, FieldType, InnerList, Integer, Item, Key, List, ListEntry, Parameters,
    Parser, StringRef,
};
use sha2::{Digest, Sha256, Sha512};
use url::Url;

use super::{
    parse_public_key, RsaAlgorithm, RsaSigner, SignatureError, MAX_AGE_SECS, MAX_SKEW_SECS,
};

/// The label of the signatures this node makes.
pub const LABEL: &str = "sig1";

/// Signature algorithms this node verifies (RFC 9421 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `rsa-v1_5-sha256`: RSASSA-PKCS1-v1_5 with SHA-256, what the fediverse's RSA keys sign.
    RsaV15Sha256,
    /// `rsa-pss-sha512`: RSASSA-PSS with SHA-512 (salt of 64 bytes).
    RsaPssSha512,
}

impl Algorithm {
    pub fn parse(s: &str) -> Result<Algorithm, SignatureError> {
        match s {
            "rsa-v1_5-sha256" => Ok(Algorithm::RsaV15Sha256),
            "rsa-pss-sha512" => Ok(Algorithm::RsaPssSha512),
            other => Err(SignatureError::Algorithm(other.to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RsaV15Sha256 => "rsa-v1_5-sha256",
            Algorithm::RsaPssSha512 => "rsa-pss-sha512",
        }
    }
}

/// A covered component (RFC 9421 §2.1, §2.2). Component parameters (`sf`, `key`, `bs`, `req`,
/// `tr`, `name`) are not supported: a signature using them is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    Method,
    TargetUri,
    Authority,
    Scheme,
    RequestTarget,
    Path,
    Query,
    /// An HTTP field, by its lowercase name.
    Field(String),
}

impl Component {
    fn parse(name: &str) -> Result<Component, SignatureError> {
        Ok(match name {
            "@method" => Component::Method,
            "@target-uri" => Component::TargetUri,
            "@authority" => Component::Authority,
            "@scheme" => Component::Scheme,
            "@request-target" => Component::RequestTarget,
            "@path" => Component::Path,
            "@query" => Component::Query,
            derived if derived.starts_with('@') => {
                return Err(SignatureError::Malformed(format!(
                    "unsupported derived component {derived}"
                )))
            }
            field => Component::Field(field.to_ascii_lowercase()),
        })
    }
}

/// Where a request went: what the derived components are computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http` or `https`, lowercase.
    pub scheme: String,
    /// `host[:port]`, lowercase, without the scheme's default port.
    pub authority: String,
    /// The path, `/` when empty.
    pub path: String,
    pub query: Option<String>,
}

impl Target {
    /// The target of a request about to be sent to `url`.
    pub fn of_url(url: &Url) -> Target {
        Target {
            scheme: url.scheme().to_ascii_lowercase(),
            authority: normalize_authority(url.scheme(), &super::host_header(url)),
            path: url.path().to_string(),
            query: url.query().map(String::from),
        }
    }

    /// The target of a received request: the node's own scheme (the request may have come
    /// through a TLS-terminating proxy), the authority of its `Host` header (else
    /// `default_authority`), and the path and query of its request line.
    pub fn of_request(
        scheme: &str,
        default_authority: &str,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Target {
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .or_else(|| {
                headers
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(String::from)
            })
            .unwrap_or_else(|| default_authority.to_string());
        let path = match uri.path() {
            "" => "/".to_string(),
            p => p.to_string(),
        };
        Target {
            scheme: scheme.to_ascii_lowercase(),
            authority: normalize_authority(scheme, &authority),
            path,
            query: uri.query().map(String::from),
        }
    }

    fn uri(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme,
            self.authority,
            self.request_target()
        )
    }

    fn request_target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

fn normalize_authority(scheme: &str, authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    let default_port = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return a,
    };
    a.strip_suffix(default_port).map(String::from).unwrap_or(a)
}

/// One signature of a request, as `Signature-Input` and `Signature` give it.
#[derive(Debug, Clone)]
pub struct Signature {
    pub label: String,
    pub components: Vec<Component>,
    /// How each component is named in the signature base: its serialized identifier.
    identifiers: Vec<String>,
    /// The serialized inner list with its parameters: the value of `@signature-params`.
    signature_params: String,
    pub key_id: String,
    pub algorithm: Option<String>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub signature: Vec<u8>,
}

impl Signature {
    pub fn covers(&self, c: &Component) -> bool {
        self.components.contains(c)
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, SignatureError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| SignatureError::Malformed(format!("{name} is not ASCII")))
        })
        .transpose()
}

fn dictionary(raw: &str, name: &str) -> Result<Dictionary, SignatureError> {
    Parser::new(raw).parse::<Dictionary>().map_err(|e| {
        SignatureError::Malformed(format!("{name} is not a structured dictionary: {e}"))
    })
}

/// Whether a request carries an RFC 9421 signature (a `Signature-Input` header).
pub fn is_present(headers: &HeaderMap) -> bool {
    headers.contains_key("signature-input")
}

/// Every signature of a request that has both a `Signature-Input` member and a `Signature`
/// member of the same label, in the order of `Signature-Input`.
pub fn parse_headers(headers: &HeaderMap) -> Result<Vec<Signature>, SignatureError> {
    let input = header_str(headers, "signature-input")?.ok_or(SignatureError::Missing)?;
    let values = header_str(headers, "signature")?
        .ok_or_else(|| SignatureError::Malformed("Signature-Input without Signature".into()))?;
    let inputs = dictionary(input, "Signature-Input")?;
    let values = dictionary(values, "Signature")?;
    let mut out = Vec::new();
    for (label, entry) in &inputs {
        let ListEntry::InnerList(list) = entry else {
            continue;
        };
        let Some(ListEntry::Item(value)) = values.get(label.as_str()) else {
            continue;
        };
        let signature = value
            .bare_item
            .as_byte_sequence()
            .ok_or_else(|| {
                SignatureError::Malformed(format!(
                    "Signature member {label} is not a byte sequence"
                ))
            })?
            .to_vec();
        out.push(signature_of(label.as_str(), list, signature)?);
    }
    if out.is_empty() {
        return Err(SignatureError::Malformed(
            "no label of Signature-Input has a Signature".into(),
        ));
    }
    Ok(out)
}

fn signature_of(
    label: &str,
    list: &InnerList,
    signature: Vec<u8>,
) -> Result<Signature, SignatureError> {
    let mut components = Vec::with_capacity(list.items.len());
    let mut identifiers = Vec::with_capacity(list.items.len());
    for item in &list.items {
        let name = item.bare_item.as_string().ok_or_else(|| {
            SignatureError::Malformed("a covered component is not a string".into())
        })?;
        if !item.params.is_empty() {
            return Err(SignatureError::Malformed(format!(
                "parameters of covered component \"{}\" are not supported",
                name.as_str()
            )));
        }
        components.push(Component::parse(name.as_str())?);
        identifiers.push(item.serialize());
    }
    let param = |k: &str| list.params.get(k);
    let string = |k: &str| -> Result<Option<String>, SignatureError> {
        param(k)
            .map(|v| {
                v.as_string()
                    .map(|s| s.as_str().to_string())
                    .ok_or_else(|| SignatureError::Malformed(format!("{k} is not a string")))
            })
            .transpose()
    };
    let integer = |k: &str| -> Result<Option<i64>, SignatureError> {
        param(k)
            .map(|v| {
                v.as_integer()
                    .map(i64::from)
                    .ok_or_else(|| SignatureError::Malformed(format!("{k} is not an integer")))
            })
            .transpose()
    };
    let key_id = string("keyid")?
        .ok_or_else(|| SignatureError::Malformed(format!("signature {label} has no keyid")))?;
    let signature_params = List::from(vec![ListEntry::InnerList(list.clone())])
        .serialize()
        .unwrap_or_default();
    Ok(Signature {
        label: label.to_string(),
        components,
        identifiers,
        signature_params,
        key_id,
        algorithm: string("alg")?,
        created: integer("created")?,
        expires: integer("expires")?,
        signature,
    })
}

/// Checks that `sig` covers the method, the target and (with a body) the content digest, names
/// an algorithm this node verifies, and was created within the window cavage signatures get.
pub fn check_coverage_and_freshness(
    sig: &Signature,
    target: &Target,
    has_body: bool,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    if let Some(alg) = &sig.algorithm {
        Algorithm::parse(alg)?;
    }
    if !sig.covers(&Component::Method) {
        return Err(SignatureError::Uncovered("@method"));
    }
    let authority =
        sig.covers(&Component::Authority) || sig.covers(&Component::Field("host".into()));
    let path_and_query = sig.covers(&Component::RequestTarget)
        || (sig.covers(&Component::Path)
            && (target.query.is_none() || sig.covers(&Component::Query)));
    if !(sig.covers(&Component::TargetUri) || (authority && path_and_query)) {
        return Err(SignatureError::Uncovered("@target-uri"));
    }
    if has_body && !sig.covers(&Component::Field("content-digest".into())) {
        return Err(SignatureError::Uncovered("content-digest"));
    }
    let created = sig
        .created
        .ok_or_else(|| SignatureError::Malformed("signature has no created parameter".into()))?;
    let age = now.timestamp() - created;
    if !(-MAX_SKEW_SECS..=MAX_AGE_SECS).contains(&age) {
        return Err(SignatureError::Stale(format!("created {age} seconds ago")));
    }
    if sig.expires.is_some_and(|e| e < now.timestamp()) {
        return Err(SignatureError::Stale("signature expired".into()));
    }
    Ok(())
}

/// `sha-256=:<base64>:`, the RFC 9530 `Content-Digest` of a body.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", B64.encode(Sha256::digest(body)))
}

/// Checks `Content-Digest` against the body: every `sha-256` or `sha-512` member must match,
/// and there must be one; other algorithms are ignored.
pub fn check_content_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
    let raw = header_str(headers, "content-digest")?
        .ok_or_else(|| SignatureError::MissingHeader("content-digest".into()))?;
    let digests = dictionary(raw, "Content-Digest")?;
    let mut checked = false;
    for (alg, entry) in &digests {
        let expected: Vec<u8> = match alg.as_str() {
            "sha-256" => Sha256::digest(body).to_vec(),
            "sha-512" => Sha512::digest(body).to_vec(),
            _ => continue,
        };
        let ListEntry::Item(Item { bare_item, .. }) = entry else {
            return Err(SignatureError::DigestMismatch);
        };
        if bare_item.as_byte_sequence() != Some(expected.as_slice()) {
            return Err(SignatureError::DigestMismatch);
        }
        checked = true;
    }
    if checked {
        Ok(())
    } else {
        Err(SignatureError::Malformed(
            "Content-Digest has neither sha-256 nor sha-512".into(),
        ))
    }
}

/// The signature base (RFC 9421 §2.5) of `sig` over a request with `method`, `target` and
/// `headers`. A component listed twice (as Fedify's answers to an `Accept-Signature` that asks
/// for `content-digest` do) gives its line twice.
pub fn signature_base(
    sig: &Signature,
    method: &str,
    target: &Target,
    headers: &HeaderMap,
) -> Result<String, SignatureError> {
    let mut base = String::new();
    for (component, identifier) in sig.components.iter().zip(&sig.identifiers) {
        let value = component_value(component, method, target, headers)?;
        base.push_str(identifier);
        base.push_str(": ");
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&sig.signature_params);
    Ok(base)
}

fn component_value(
    component: &Component,
    method: &str,
    target: &Target,
    headers: &HeaderMap,
) -> Result<String, SignatureError> {
    Ok(match component {
        Component::Method => method.to_string(),
        Component::TargetUri => target.uri(),
        Component::Authority => target.authority.clone(),
        Component::Scheme => target.scheme.clone(),
        Component::RequestTarget => target.request_target(),
        Component::Path => target.path.clone(),
        Component::Query => format!("?{}", target.query.as_deref().unwrap_or("")),
        Component::Field(name) => {
            let mut values = Vec::new();
            for v in headers.get_all(name.as_str()) {
                let v = v
                    .to_str()
                    .map_err(|_| SignatureError::Malformed(format!("{name} is not ASCII")))?;
                values.push(v.trim());
            }
            if values.is_empty() {
                return Err(SignatureError::MissingHeader(name.clone()));
            }
            values.join(", ")
        }
    })
}

/// Checks `sig` against the request with the public key `public_key_pem`.
pub fn verify(
    sig: &Signature,
    method: &str,
    target: &Target,
    headers: &HeaderMap,
    public_key_pem: &str,
) -> Result<(), SignatureError> {
    let algorithm = match &sig.algorithm {
        Some(a) => Algorithm::parse(a)?,
        None => Algorithm::RsaV15Sha256,
    };
    let base = signature_base(sig, method, target, headers)?;
    let key = parse_public_key(public_key_pem)?;
    let algorithm = match algorithm {
        Algorithm::RsaV15Sha256 => RsaAlgorithm::Pkcs1Sha256,
        Algorithm::RsaPssSha512 => RsaAlgorithm::PssSha512,
    };
    if key.verify(algorithm, base.as_bytes(), &sig.signature) {
        Ok(())
    } else {
        Err(SignatureError::Invalid(sig.key_id.clone()))
    }
}

fn sf_string(s: &str) -> Result<BareItem, SignatureError> {
    StringRef::from_str(s)
        .map(BareItem::from)
        .map_err(|e| SignatureError::Malformed(format!("'{s}' cannot be a structured string: {e}")))
}

fn sf_key(s: &'static str) -> Key {
    Key::from_string(s.to_string()).expect("a valid structured-field key")
}

/// The components this node signs: `@method`, `@target-uri`, and `content-digest` with a body.
pub fn signed_components(has_body: bool) -> Vec<&'static str> {
    let mut c = vec!["@method", "@target-uri"];
    if has_body {
        c.push("content-digest");
    }
    c
}

/// Headers that make a request carry an RFC 9421 signature: `content-digest` (with a body),
/// `signature-input` and `signature`.
pub fn sign(
    method: &str,
    url: &Url,
    body: Option<&[u8]>,
    key_id: &str,
    key: &(impl RsaSigner + ?Sized),
    at: DateTime<Utc>,
) -> Result<Vec<(&'static str, String)>, SignatureError> {
    let mut headers = HeaderMap::new();
    let mut out = Vec::new();
    if let Some(body) = body {
        let digest = content_digest(body);
        headers.insert(
            "content-digest",
            http::HeaderValue::from_str(&digest).expect("a digest is ASCII"),
        );
        out.push(("content-digest", digest));
    }
    let items = signed_components(body.is_some())
        .into_iter()
        .map(|c| sf_string(c).map(Item::new))
        .collect::<Result<Vec<_>, _>>()?;
    let created = Integer::try_from(at.timestamp())
        .map_err(|e| SignatureError::Malformed(format!("created: {e}")))?;
    let mut params = Parameters::new();
    params.insert(sf_key("created"), BareItem::from(created));
    params.insert(sf_key("keyid"), sf_string(key_id)?);
    params.insert(sf_key("alg"), sf_string(Algorithm::RsaV15Sha256.as_str())?);
    let list = InnerList::with_params(items, params);
    let sig = signature_of(LABEL, &list, Vec::new())?;
    let base = signature_base(
        &sig,
        &method.to_ascii_uppercase(),
        &Target::of_url(url),
        &headers,
    )?;
    let bytes = key.sign_pkcs1_sha256(base.as_bytes())?;
    let mut input = Dictionary::new();
    input.insert(sf_key(LABEL), ListEntry::InnerList(list));
    let mut value = Dictionary::new();
    value.insert(
        sf_key(LABEL),
        ListEntry::Item(Item::new(BareItem::from(bytes))),
    );
    out.push(("signature-input", input.serialize().expect("one member")));
    out.push(("signature", value.serialize().expect("one member")));
    Ok(out)
}

/// The `Accept-Signature` (RFC 9421 §5.1) this node answers a refused signature with: the
/// components it signs itself, `created`, and `alg="rsa-v1_5-sha256"`; no `keyid`, since any
/// actor's key will do.
pub fn accept_signature(has_body: bool) -> String {
    let components: Vec<String> = signed_components(has_body)
        .into_iter()
        .map(|c| format!("\"{c}\""))
        .collect();
    format!(
        "{LABEL}=({});created;alg=\"{}\"",
        components.join(" "),
        Algorithm::RsaV15Sha256.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};

    /// RFC 9421 Appendix B.1.1, `test-key-rsa`.
    const TEST_KEY_RSA: &str = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----";

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    /// RFC 9421 §4.3: the `proxy_sig` a reverse proxy adds with `test-key-rsa` and
    /// `rsa-v1_5-sha256` (deterministic, so the exact base and bytes can be checked).
    fn rfc_request() -> (HeaderMap, Target) {
        let headers = map(&[
            ("host", "origin.host.internal.example"),
            ("date", "Tue, 20 Apr 2021 02:07:56 GMT"),
            ("content-type", "application/json"),
            ("content-length", "18"),
            ("forwarded", "for=192.0.2.123;host=example.com;proto=https"),
            ("content-digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"),
            ("signature-input", "sig1=(\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-type\" \"content-length\");created=1618884475;keyid=\"test-key-ecc-p256\", proxy_sig=(\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-type\" \"content-length\" \"forwarded\");created=1618884480;keyid=\"test-key-rsa\";alg=\"rsa-v1_5-sha256\";expires=1618884540"),
            ("signature", "sig1=:X5spyd6CFnAG5QnDyHfqoSNICd+BUP4LYMz2Q0JXlb//4Ijpzp+kve2w4NIyqeAuM7jTDX+sNalzA8ESSaHD3A==:, proxy_sig=:S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZxP+JH+8XY1I6+8Cy+CM5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49GwiyUpZ10KHgOEe11sx3G2gxI8S0jnxQB+Pu68U9vVcasqOWAEObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQfi8NMaZaA8i2ZHwpBdg7a6CMfwnnrtflzvZdXAsD3LH2TwevU+/PBPv0B6NMNk93wUs/vfJvye+YuI87HU38lZHowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w5o0LV/g==:"),
        ]);
        let target = Target::of_request(
            "https",
            "unused.example",
            &"/foo".parse::<Uri>().unwrap(),
            &headers,
        );
        (headers, target)
    }

    #[test]
    fn rfc9421_proxy_signature_test_vector_verifies() {
        let (headers, target) = rfc_request();
        let sigs = parse_headers(&headers).unwrap();
        assert_eq!(sigs.len(), 2);
        let proxy = &sigs[1];
        assert_eq!(proxy.label, "proxy_sig");
        assert_eq!(proxy.key_id, "test-key-rsa");
        assert_eq!(proxy.created, Some(1_618_884_480));
        assert_eq!(proxy.expires, Some(1_618_884_540));
        let base = signature_base(proxy, "POST", &target, &headers).unwrap();
        assert_eq!(
            base,
            "\"@method\": POST\n\
             \"@authority\": origin.host.internal.example\n\
             \"@path\": /foo\n\
             \"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n\
             \"content-type\": application/json\n\
             \"content-length\": 18\n\
             \"forwarded\": for=192.0.2.123;host=example.com;proto=https\n\
             \"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-type\" \"content-length\" \"forwarded\");created=1618884480;keyid=\"test-key-rsa\";alg=\"rsa-v1_5-sha256\";expires=1618884540"
        );
        verify(proxy, "POST", &target, &headers, TEST_KEY_RSA).unwrap();
        check_content_digest(&headers, br#"{"hello": "world"}"#).unwrap();
        assert_eq!(
            check_content_digest(&headers, br#"{"hello": "there"}"#),
            Err(SignatureError::DigestMismatch)
        );
        // Any change to a covered value breaks it.
        assert!(verify(proxy, "PUT", &target, &headers, TEST_KEY_RSA).is_err());
        let mut other = headers.clone();
        other.insert("content-length", HeaderValue::from_static("19"));
        assert!(verify(proxy, "POST", &target, &other, TEST_KEY_RSA).is_err());
        // The proxy signature covers no @target-uri but authority and path (no query): enough.
        let at = DateTime::from_timestamp(1_618_884_500, 0).unwrap();
        check_coverage_and_freshness(proxy, &target, true, at).unwrap();
        let later = DateTime::from_timestamp(1_618_884_600, 0).unwrap();
        assert!(matches!(
            check_coverage_and_freshness(proxy, &target, true, later),
            Err(SignatureError::Stale(_))
        ));
    }

    fn key() -> (RsaPrivateKey, String) {
        key_of(1024)
    }

    fn key_of(bits: usize) -> (RsaPrivateKey, String) {
        let k = RsaPrivateKey::new(&mut rand::thread_rng(), bits).unwrap();
        let pem = k.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
        (k, pem)
    }

    fn signed(
        method: &str,
        url: &str,
        body: Option<&[u8]>,
        k: &RsaPrivateKey,
    ) -> (HeaderMap, Target) {
        let url = Url::parse(url).unwrap();
        let pairs = sign(
            method,
            &url,
            body,
            "https://a.example/u/x#main-key",
            k,
            Utc::now(),
        )
        .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "host",
            HeaderValue::from_str(&super::super::host_header(&url)).unwrap(),
        );
        for (k, v) in pairs {
            headers.insert(k, HeaderValue::from_str(&v).unwrap());
        }
        let uri: Uri = url[url::Position::BeforePath..].parse().unwrap();
        (
            headers.clone(),
            Target::of_request(url.scheme(), "x", &uri, &headers),
        )
    }

    #[test]
    fn what_we_sign_verifies_and_tampering_fails() {
        let (k, pem) = key();
        let body = br#"{"type":"Follow"}"#;
        let (h, target) = signed("POST", "http://localhost:8080/inbox?x=1", Some(body), &k);
        assert_eq!(
            h["signature-input"]
                .to_str()
                .unwrap()
                .split(";created")
                .next(),
            Some("sig1=(\"@method\" \"@target-uri\" \"content-digest\")")
        );
        assert!(h["signature-input"]
            .to_str()
            .unwrap()
            .ends_with(";keyid=\"https://a.example/u/x#main-key\";alg=\"rsa-v1_5-sha256\""));
        let sig = parse_headers(&h).unwrap().remove(0);
        check_coverage_and_freshness(&sig, &target, true, Utc::now()).unwrap();
        check_content_digest(&h, body).unwrap();
        verify(&sig, "POST", &target, &h, &pem).unwrap();
        assert_eq!(
            check_content_digest(&h, b"{}"),
            Err(SignatureError::DigestMismatch)
        );
        let elsewhere = Target {
            query: Some("x=2".into()),
            ..target.clone()
        };
        assert!(verify(&sig, "POST", &elsewhere, &h, &pem).is_err());
        let (_, other_pem) = key();
        assert!(verify(&sig, "POST", &target, &h, &other_pem).is_err());
        // A GET signs no digest; a body needs one.
        let (g, gt) = signed("GET", "https://b.example/users/y", None, &k);
        let gsig = parse_headers(&g).unwrap().remove(0);
        verify(&gsig, "GET", &gt, &g, &pem).unwrap();
        assert_eq!(
            check_coverage_and_freshness(&gsig, &gt, true, Utc::now()),
            Err(SignatureError::Uncovered("content-digest"))
        );
    }

    #[test]
    fn rsa_pss_sha512_verifies_and_unknown_algorithms_are_refused() {
        // PSS with SHA-512 and a 64-byte salt needs more than 1024 bits.
        let (k, pem) = key_of(2048);
        let (mut h, target) = signed("GET", "https://b.example/users/y", None, &k);
        let input = h["signature-input"]
            .to_str()
            .unwrap()
            .replace("rsa-v1_5-sha256", "rsa-pss-sha512");
        h.insert("signature-input", HeaderValue::from_str(&input).unwrap());
        let sig = parse_headers(&h).unwrap().remove(0);
        let base = signature_base(&sig, "GET", &target, &h).unwrap();
        let bytes = k
            .sign_with_rng(
                &mut rand::thread_rng(),
                Pss::new::<Sha512>(),
                &Sha512::digest(base.as_bytes()),
            )
            .unwrap();
        h.insert(
            "signature",
            HeaderValue::from_str(&format!("sig1=:{}:", B64.encode(bytes))).unwrap(),
        );
        let sig = parse_headers(&h).unwrap().remove(0);
        verify(&sig, "GET", &target, &h, &pem).unwrap();
        let input = input.replace("rsa-pss-sha512", "ed25519");
        h.insert("signature-input", HeaderValue::from_str(&input).unwrap());
        let sig = parse_headers(&h).unwrap().remove(0);
        assert!(matches!(
            check_coverage_and_freshness(&sig, &target, false, Utc::now()),
            Err(SignatureError::Algorithm(_))
        ));
    }

    /// Fedify answers an `Accept-Signature` that asks for `content-digest` by listing it twice
    /// (it always adds it for a body); such a signature verifies, its line given twice.
    #[test]
    fn a_component_listed_twice_gives_its_line_twice() {
        let (k, pem) = key();
        let body = b"{}";
        let (mut h, target) = signed("POST", "http://localhost:8080/inbox", Some(body), &k);
        let input = h["signature-input"].to_str().unwrap().replace(
            "\"content-digest\")",
            "\"content-digest\" \"content-digest\")",
        );
        h.insert("signature-input", HeaderValue::from_str(&input).unwrap());
        let sig = parse_headers(&h).unwrap().remove(0);
        let base = signature_base(&sig, "POST", &target, &h).unwrap();
        assert_eq!(base.matches("\"content-digest\": sha-256=").count(), 2);
        let bytes = k
            .sign(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(base.as_bytes()),
            )
            .unwrap();
        h.insert(
            "signature",
            HeaderValue::from_str(&format!("sig1=:{}:", B64.encode(bytes))).unwrap(),
        );
        let sig = parse_headers(&h).unwrap().remove(0);
        check_coverage_and_freshness(&sig, &target, true, Utc::now()).unwrap();
        verify(&sig, "POST", &target, &h, &pem).unwrap();
    }

    #[test]
    fn derived_components_follow_the_rfc() {
        let headers = map(&[
            ("host", "Example.COM:443"),
            ("x-a", " one "),
            ("x-a", "two"),
        ]);
        let t = Target::of_request(
            "https",
            "d",
            &"/path/to?param=value&foo=bar".parse::<Uri>().unwrap(),
            &headers,
        );
        assert_eq!(t.authority, "example.com");
        assert_eq!(t.uri(), "https://example.com/path/to?param=value&foo=bar");
        assert_eq!(
            component_value(&Component::Query, "GET", &t, &headers).unwrap(),
            "?param=value&foo=bar"
        );
        assert_eq!(
            component_value(&Component::RequestTarget, "GET", &t, &headers).unwrap(),
            "/path/to?param=value&foo=bar"
        );
        assert_eq!(
            component_value(&Component::Field("x-a".into()), "GET", &t, &headers).unwrap(),
            "one, two"
        );
        let bare = Target::of_request("http", "d", &"/".parse::<Uri>().unwrap(), &HeaderMap::new());
        assert_eq!(bare.authority, "d");
        assert_eq!(
            component_value(&Component::Query, "GET", &bare, &headers).unwrap(),
            "?"
        );
        assert!(matches!(
            component_value(&Component::Field("date".into()), "GET", &bare, &headers),
            Err(SignatureError::MissingHeader(_))
        ));
        assert!(Component::parse("@query-param").is_err());
        assert_eq!(
            accept_signature(true),
            "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created;alg=\"rsa-v1_5-sha256\""
        );
    }
}
