//! Domain blocks: staff (or the operator at the command line) block a host, and everything
//! this node does with that host stops: its activities are refused at the inbox (403), URLs on
//! it are not fetched, deliveries to it are not made (the delivery worker records the refusal
//! as final), and local people cannot follow its actors.
//!
//! Promises:
//! - a block covers the host and every subdomain of it; a block written with a port
//!   (`host:port`) covers that port only;
//! - every check reads the `blocked_hosts` table (one indexed query, no cache), so a block or
//!   an unblock is seen at once by every process sharing the database;
//! - a block's reason is for staff: refusals name the blocked host, never the reason.

use url::Url;

use crate::error::{Error, Result};
use crate::service::policy;
use crate::state::Ctx;
use crate::store;
use crate::store::blocked_hosts::BlockedHost;
use crate::store::models::Actor;
use crate::store::DbConnection;

/// Longest reason kept with a block, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Who changes or reads the block list.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    /// The operator, at the command line (`cocreate block ...`): may do anything.
    Operator,
    /// A local account through the admin API: must be staff.
    User(&'a Actor),
}

fn authorize(by: By<'_>, what: &str) -> Result<()> {
    match by {
        By::Operator => Ok(()),
        By::User(user) => policy::require_staff(user, what),
    }
}

/// Blocks `host` (a host name, `host:port`, or a URL whose host is meant), with an optional
/// reason. Blocking a host already blocked replaces its reason when one is given. Returns the
/// block and whether it is new.
pub async fn add(
    ctx: &Ctx,
    by: By<'_>,
    host: &str,
    reason: Option<String>,
) -> Result<(BlockedHost, bool)> {
    authorize(by, "block hosts")?;
    let host = normalize_host(host)?;
    if covers(&host, &ctx.settings.domain) {
        return Err(Error::bad_request(format!(
            "refusing to block {host}: it covers this node's own domain {}",
            ctx.settings.domain
        )));
    }
    let reason = match reason.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) if r.chars().count() > MAX_REASON_CHARS => {
            return Err(Error::bad_request(format!(
                "reason: at most {MAX_REASON_CHARS} characters"
            )))
        }
        Some(r) => Some(r.to_string()),
    };
    let (block, new) = ctx
        .db
        .write(move |c| store::blocked_hosts::put(c, &host, reason.as_deref(), store::now()))
        .await?;
    if new {
        tracing::warn!(host = %block.host, "host blocked: its activities, fetches and deliveries are refused");
    }
    Ok((block, new))
}

/// Lifts the block of `host` (written as it was blocked); `NotFound` when it is not blocked.
pub async fn remove(ctx: &Ctx, by: By<'_>, host: &str) -> Result<()> {
    authorize(by, "unblock hosts")?;
    let host = normalize_host(host)?;
    let h = host.clone();
    if ctx
        .db
        .write(move |c| store::blocked_hosts::delete(c, &h))
        .await?
    {
        tracing::warn!(%host, "host unblocked");
        Ok(())
    } else {
        Err(Error::NotFound(format!(
            "{host} is not blocked (see the list of blocks for the exact host)"
        )))
    }
}

/// Every block, by host.
pub async fn list(ctx: &Ctx, by: By<'_>) -> Result<Vec<BlockedHost>> {
    authorize(by, "see blocked hosts")?;
    ctx.db.read(store::blocked_hosts::all).await
}

/// Refuses a URL on a blocked host (`403`, naming the block): called before every fetch (see
/// [`crate::remote::check_remote_url`]).
pub async fn refuse_blocked(ctx: &Ctx, url: &Url) -> Result<()> {
    let hosts = candidates(url);
    if hosts.is_empty() {
        return Ok(());
    }
    match ctx
        .db
        .read(move |c| store::blocked_hosts::any_of(c, &hosts))
        .await?
    {
        None => Ok(()),
        Some(block) => Err(url_refusal(url, &block)),
    }
}

/// The blocks that cover any of `urls` (see [`covering`]), read at once: what
/// [`refuse_blocked_among`] checks each of them against. The delivery worker reads them once
/// per claim, for every inbox it claimed, rather than once for each host's run.
pub fn read_covering(c: &mut DbConnection, urls: &[&str]) -> Result<Vec<BlockedHost>> {
    let mut hosts = covering(urls);
    hosts.sort_unstable();
    hosts.dedup();
    store::blocked_hosts::among(c, &hosts)
}

/// [`refuse_blocked`] against blocks read beforehand with [`read_covering`] (of a set of URLs
/// that holds `url`): the same refusal, naming the same block.
pub fn refuse_blocked_among(blocks: &[BlockedHost], url: &Url) -> Result<()> {
    let hosts = candidates(url);
    match blocks.iter().find(|b| hosts.contains(&b.host)) {
        None => Ok(()),
        Some(block) => Err(url_refusal(url, block)),
    }
}

fn url_refusal(url: &Url, block: &BlockedHost) -> Error {
    Error::Forbidden(format!(
        "refusing {url}: this node blocks {} (staff can lift it with `cocreate block remove {}`)",
        block.host, block.host
    ))
}

/// Refuses an actor (by its id) on a blocked host, as [`refuse_blocked`] refuses its URLs: for
/// a follow of an actor already known, which fetches nothing.
pub async fn refuse_blocked_actor(ctx: &Ctx, ap_id: &str) -> Result<()> {
    match Url::parse(ap_id) {
        Ok(url) => refuse_blocked(ctx, &url).await,
        Err(_) => Ok(()),
    }
}

/// The inbox's refusal of an activity from a blocked host.
pub fn inbox_refusal(block: &BlockedHost) -> Error {
    Error::Forbidden(format!(
        "activities from {} are refused: this node blocks that host",
        block.host
    ))
}

/// The lower-case `host[:port]` an operator means by `input`: a host name, `host:port`, or a
/// URL (its host and explicit port). Refuses anything else with a message saying what to give.
pub fn normalize_host(input: &str) -> Result<String> {
    let input = input.trim();
    let bad = |why: &str| {
        Error::bad_request(format!(
            "'{input}' is not a host to block ({why}); give a host name such as spam.example, optionally with :PORT"
        ))
    };
    let url = if input.contains("://") {
        Url::parse(input).map_err(|e| bad(&e.to_string()))?
    } else {
        if input.is_empty() {
            return Err(bad("it is empty"));
        }
        if input.contains(['/', '@', '?', '#', ' ']) {
            return Err(bad("a host has no /, @, ?, # or spaces"));
        }
        Url::parse(&format!("https://{}/", input.trim_end_matches('.')))
            .map_err(|e| bad(&e.to_string()))?
    };
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        None => return Err(bad("it has no host")),
    };
    if host.is_empty() {
        return Err(bad("it has no host"));
    }
    Ok(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

/// The rows of `blocked_hosts` that would cover any of `urls` (see [`candidates`]), for a
/// caller that reads them in a transaction of its own with [`store::blocked_hosts::any_of`].
/// URLs that do not parse are skipped.
pub fn covering(urls: &[&str]) -> Vec<String> {
    urls.iter()
        .filter_map(|u| Url::parse(u).ok())
        .flat_map(|u| candidates(&u))
        .collect()
}

/// The rows of `blocked_hosts` that would cover `url`: its host and each parent domain, each
/// bare and with the URL's explicit port. An IP address covers only itself.
fn candidates(url: &Url) -> Vec<String> {
    let hosts: Vec<String> = match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            let mut out = vec![d.clone()];
            let mut rest = d.as_str();
            while let Some((_, parent)) = rest.split_once('.') {
                if !parent.is_empty() {
                    out.push(parent.to_string());
                }
                rest = parent;
            }
            out
        }
        Some(url::Host::Ipv4(ip)) => vec![ip.to_string()],
        Some(url::Host::Ipv6(ip)) => vec![format!("[{ip}]")],
        None => return Vec::new(),
    };
    match url.port() {
        Some(p) => hosts
            .iter()
            .flat_map(|h| [h.clone(), format!("{h}:{p}")])
            .collect(),
        None => hosts,
    }
}

/// Whether a block of `block` (normalised) covers the node domain `domain` (`host[:port]`).
fn covers(block: &str, domain: &str) -> bool {
    Url::parse(&format!("https://{domain}/"))
        .map(|u| candidates(&u).iter().any(|c| c == block))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands(url: &str) -> Vec<String> {
        candidates(&Url::parse(url).unwrap())
    }

    #[test]
    fn hosts_are_normalised_from_names_ports_and_urls() {
        assert_eq!(normalize_host("Spam.Example").unwrap(), "spam.example");
        assert_eq!(normalize_host(" spam.example. ").unwrap(), "spam.example");
        assert_eq!(normalize_host("localhost:8443").unwrap(), "localhost:8443");
        assert_eq!(
            normalize_host("https://Spam.Example/users/eve").unwrap(),
            "spam.example"
        );
        assert_eq!(
            normalize_host("http://localhost:9000/x").unwrap(),
            "localhost:9000"
        );
        assert_eq!(normalize_host("10.0.0.1").unwrap(), "10.0.0.1");
        for bad in ["", "eve@spam.example", "spam.example/path", "a b"] {
            let e = normalize_host(bad).unwrap_err();
            assert!(e.to_string().contains("host name such as"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_url_is_covered_by_its_host_its_parents_and_its_port() {
        assert_eq!(
            cands("https://a.spam.example/users/x"),
            ["a.spam.example", "spam.example", "example"]
        );
        assert_eq!(
            cands("http://localhost:9000/inbox"),
            ["localhost", "localhost:9000"]
        );
        assert_eq!(cands("https://10.0.0.1/x"), ["10.0.0.1"]);
        // A look-alike is not a subdomain.
        assert!(!cands("https://notspam.example/").contains(&"spam.example".to_string()));
    }

    #[test]
    fn a_block_of_the_own_domain_is_recognised() {
        assert!(covers("localhost", "localhost:8080"));
        assert!(covers("localhost:8080", "localhost:8080"));
        assert!(!covers("localhost:9000", "localhost:8080"));
        assert!(covers("example.com", "co.example.com"));
        assert!(!covers("other.com", "co.example.com"));
    }
}
