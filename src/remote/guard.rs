//! The SSRF guard: outside development mode, this node never connects to an address that is
//! not public (loopback, private, link-local, CGNAT...: [`crate::domain::net::classify`]),
//! whether the URL names it as an IP literal, by a host name that resolves there, or in a
//! redirect.
//!
//! Two halves, one rule:
//! - [`GuardedResolver`] is the DNS resolver of the shared HTTP client ([`client`]): every name
//!   the client connects to is resolved here, and the non-public addresses are dropped before
//!   the client sees them. A name left with no address is refused with [`Refused`]. Since the
//!   check runs at the moment of connecting, a name that resolves to a public address when
//!   checked and to `127.0.0.1` a second later (DNS rebinding) gains nothing.
//! - [`check_url`] runs before each request (and each redirect hop): IP literals, which the
//!   client never resolves, are classified here; names are resolved once for a clear error
//!   up front ("refusing https://x/: x resolves to 127.0.0.1, a loopback address...").
//!
//! In development mode ([`Guard::Off`]) everything is allowed: tests run nodes on loopback.

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use thiserror::Error as ThisError;
use url::{Host, Url};

use crate::domain::net::{classify, NonPublic};

/// Whether the guard applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Production: only public addresses are contacted.
    On,
    /// Development mode: everything is allowed (loopback peers, plain http).
    Off,
}

impl Guard {
    /// The guard of a node in development mode (`dev`) or not.
    pub fn for_dev(dev: bool) -> Guard {
        if dev {
            Guard::Off
        } else {
            Guard::On
        }
    }
}

/// A refused address, and how the URL got there.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
pub enum Refused {
    /// The URL's host is an IP literal that is not public.
    #[error("{ip} is {kind}; private addresses are allowed only in development mode")]
    Literal { ip: IpAddr, kind: NonPublic },
    /// The host name resolves only to addresses that are not public (the first is named).
    #[error(
        "{host} resolves to {ip}, {kind}; private addresses are allowed only in development mode"
    )]
    Resolved {
        host: String,
        ip: IpAddr,
        kind: NonPublic,
    },
}

/// The IP literal of a URL's host, if it has one.
fn literal(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

/// Refuses a URL whose host is a non-public IP literal (the resolver never sees those).
/// Names pass: [`check_url`] and the resolver deal with them.
pub fn check_literal(guard: Guard, url: &Url) -> Result<(), Refused> {
    if guard == Guard::Off {
        return Ok(());
    }
    match literal(url) {
        Some(ip) => match classify(ip) {
            Some(kind) => Err(Refused::Literal { ip, kind }),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

/// The public addresses among those `host` resolved to; [`Refused`] (naming the first
/// refused address) when none is left. Dropped addresses are logged.
pub fn screen(
    host: &str,
    addrs: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, Refused> {
    let mut kept = Vec::new();
    let mut first_refused = None;
    for addr in addrs {
        match classify(addr.ip()) {
            None => kept.push(addr),
            Some(kind) => {
                tracing::warn!(%host, ip = %addr.ip(), %kind, "dropped a non-public address of a remote host (SSRF guard)");
                first_refused.get_or_insert((addr.ip(), kind));
            }
        }
    }
    match (kept.is_empty(), first_refused) {
        (true, Some((ip, kind))) => Err(Refused::Resolved {
            host: host.to_string(),
            ip,
            kind,
        }),
        _ => Ok(kept),
    }
}

/// How long the check up front waits for DNS before leaving the verdict to the resolver.
const PREFLIGHT_DNS_TIMEOUT: Duration = Duration::from_secs(5);

/// Refuses a URL that leads to a non-public address: an IP literal, or a name that resolves
/// only to such addresses. A name that does not resolve now passes: the request itself will
/// fail to connect, as "unreachable", and the resolver checks again at that moment.
pub async fn check_url(guard: Guard, url: &Url) -> Result<(), Refused> {
    check_literal(guard, url)?;
    if guard == Guard::Off {
        return Ok(());
    }
    let Some(Host::Domain(name)) = url.host() else {
        return Ok(());
    };
    let name = name.trim_end_matches('.').to_string();
    let lookup = tokio::time::timeout(
        PREFLIGHT_DNS_TIMEOUT,
        tokio::net::lookup_host((name.as_str(), 0)),
    )
    .await;
    match lookup {
        Ok(Ok(addrs)) => screen(&name, addrs).map(|_| ()),
        Ok(Err(e)) => {
            tracing::debug!(host = %name, error = %e, "pre-flight DNS lookup failed; the request will tell");
            Ok(())
        }
        Err(_) => Ok(()),
    }
}

/// The DNS resolver of the shared HTTP client: the system's resolver, with non-public
/// addresses dropped while the guard is on.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    guard: Guard,
}

impl GuardedResolver {
    pub fn new(guard: Guard) -> GuardedResolver {
        GuardedResolver { guard }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard;
        let host = name.as_str().trim_end_matches('.').to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs = match guard {
                Guard::Off => addrs,
                Guard::On => screen(&host, addrs)?,
            };
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The shared HTTP client: no redirects followed (callers follow them, checking each hop),
/// the guarded resolver, and the node's user agent.
pub fn client(guard: Guard, user_agent: String) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver::new(guard)))
        .user_agent(user_agent)
        .build()
}

/// The guard's refusal inside an error of the HTTP client (the resolver refused the name at
/// the moment of connecting), if that is what the error is.
pub fn refusal_in<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a Refused> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<Refused>() {
            return Some(r);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn literals_are_refused_with_their_kind_and_only_when_the_guard_is_on() {
        let e = check_literal(Guard::On, &url("https://127.0.0.1/x")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "127.0.0.1 is a loopback address; private addresses are allowed only in development mode"
        );
        let e = check_literal(Guard::On, &url("https://[::ffff:169.254.169.254]/")).unwrap_err();
        assert!(e.to_string().contains("a link-local address"), "{e}");
        assert!(check_literal(Guard::On, &url("https://[fd00::1]:8443/")).is_err());
        assert!(check_literal(Guard::On, &url("https://8.8.8.8/")).is_ok());
        assert!(check_literal(Guard::On, &url("https://example.com/")).is_ok());
        assert!(check_literal(Guard::Off, &url("http://127.0.0.1/")).is_ok());
    }

    #[test]
    fn screening_keeps_the_public_addresses_and_refuses_a_name_with_none() {
        let a = |s: &str| SocketAddr::new(s.parse().unwrap(), 0);
        assert_eq!(
            screen("x.example", [a("10.0.0.1"), a("93.184.215.14")]).unwrap(),
            vec![a("93.184.215.14")]
        );
        let e = screen("x.example", [a("127.0.0.1"), a("::1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.example resolves to 127.0.0.1, a loopback address; private addresses are allowed only in development mode"
        );
        assert_eq!(screen("x.example", []).unwrap(), vec![]);
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_up_front() {
        let e = check_url(Guard::On, &url("https://localhost/.well-known/webfinger"))
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("localhost resolves to 127.0.0.1, a loopback address")
                || e.to_string()
                    .starts_with("localhost resolves to ::1, a loopback address"),
            "{e}"
        );
        assert!(check_url(Guard::Off, &url("http://localhost:1/"))
            .await
            .is_ok());
    }

    #[test]
    fn a_refusal_is_found_inside_a_wrapping_error() {
        #[derive(Debug, ThisError)]
        #[error("connect failed")]
        struct Wrapper(#[source] Refused);
        let inner = Refused::Literal {
            ip: "10.0.0.1".parse().unwrap(),
            kind: NonPublic::Private,
        };
        let outer = Wrapper(inner.clone());
        assert_eq!(refusal_in(&outer), Some(&inner));
        let plain = std::io::Error::other("nope");
        assert_eq!(refusal_in(&plain), None);
    }
}
