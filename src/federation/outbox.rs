//! The delivery worker of the transactional outbox: activities are stored with their
//! deliveries in the same transaction as the state change they announce
//! ([`crate::service::Tx::publish`], one delivery per distinct inbox, shared inboxes
//! preferred); this worker delivers them afterwards.
//!
//! Each delivery is signed by the activity's actor with the scheme its host accepts, and sent
//! again with the other scheme when that one is refused ([`knock`]); a `partners` room's
//! deliveries to its followers carry FEP-8fcf `Collection-Synchronization`
//! ([`followers_sync`]). Both the check of an inbox's URL (domain blocks, scheme, SSRF guard)
//! and that header are worked out once per host's run (for each inbox and each signer), not
//! once per delivery.
//!
//! What it promises:
//!
//! - **Per host, in order.** Work is claimed by host: the worker locks a host's row
//!   ([`store::delivery_hosts::lock_ready`], `FOR UPDATE SKIP LOCKED` on PostgreSQL) and
//!   leases that host's first pending deliveries in `id` order; it sends them one after the
//!   other, and different hosts at the same time. No other worker (or process) claims a host
//!   while one of its deliveries is leased, so no activity is POSTed twice at once, and a
//!   worker killed mid-send leaves leases that simply expire.
//! - **Retries per host.** A network error, 5xx, 408, 429 or 3xx stops the host's run: the
//!   whole host waits `retry_base × 2^(failures-1)` with jitter (half to all of it), at least
//!   the peer's `Retry-After`, at most `delivery_max_retry_delay`; the deliveries behind it
//!   are not attempted (and not counted). After `delivery_park_after` failures in a row the
//!   host is parked: only its oldest pending delivery is tried, as a probe, at that growing
//!   interval; the first answer unparks it and its queue drains in order.
//! - **Ends are never silent.** A 4xx other than 408/429 ends that delivery as `failed`,
//!   logged at warn with the status and the peer's answer (kept in `last_error`). A delivery
//!   whose attempts reach `delivery_max_attempts`, or older than `delivery_max_age` when its
//!   host fails again, becomes `dead` (logged at warn): a dead letter an operator lists,
//!   retries or purges ([`crate::service::deliveries`]).
//! - **Acknowledged means committed.** Outcomes are written by one recorder task per worker,
//!   which gathers them from all hosts' runs (up to 256, or what arrives within 2 ms) and
//!   writes each batch in one transaction (its successes in a few set-wise statements). A run
//!   waits for its outcome to be committed before it sends its host's next delivery, so a
//!   process killed at any point re-sends at most the one delivery each host had in flight
//!   (and the lease still covers a run whose outcome never reached the database).
//!
//! Each attempt is counted in `cocreate_deliveries_total` and by host ([`crate::metrics`]),
//! once its outcome is committed.
//!
//! Here: claiming hosts and sending their runs. The outcomes are written by [`recorder`];
//! the retry rules are pure, in [`crate::domain::retry`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::task::JoinSet;

use crate::domain::retry::parse_retry_after;
use crate::error::{Error, Result};
use crate::federation::{followers_sync, knock, signatures};
use crate::service::blocks;
use crate::state::Ctx;
use crate::store::blocked_hosts::BlockedHost;
use crate::store::models::{Actor, Delivery, DeliveryHost};
use crate::store::{self, now, DbConnection};

mod recorder;
use recorder::Recorder;

/// How long a claim holds a host's deliveries.
pub const LEASE_SECS: i64 = 120;
/// A run stops taking its next delivery when less than this is left of its lease (one send
/// knocking twice takes at most two 10 s timeouts).
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// Hosts served at the same time by one worker.
const HOSTS_IN_FLIGHT: usize = 64;
/// The worker claims more hosts once at least this many of its places are free, so that one
/// claim (a scan of the queue) serves several runs.
const CLAIM_AT_LEAST: usize = 8;
/// Deliveries one host's run takes at most.
const RUN_LENGTH: i64 = 16;

/// Outcome of one delivery attempt.
#[derive(Debug, Clone)]
enum Outcome {
    Delivered,
    /// The peer answered with a final refusal (4xx other than 408/429): the host is up.
    Refused(String),
    /// This node will not send it (invalid or forbidden inbox URL, no key): host unaffected.
    Final(String),
    /// Worth another try later: network error, 5xx, 408, 429, 3xx.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
}

/// One host's share of a claim: the host as it was when claimed and its leased deliveries,
/// in `id` order.
#[derive(Debug)]
pub struct HostRun {
    pub host: DeliveryHost,
    pub deliveries: Vec<Delivery>,
    /// What the runs of the claim share.
    pub claim: Arc<Claimed>,
}

/// What one claim reads for all its runs, in the claim's transaction: one statement each,
/// where a run used to read them for itself.
#[derive(Debug, Default)]
pub struct Claimed {
    /// What the deliveries send, by `body_id`.
    pub bodies: HashMap<i32, Arc<str>>,
    /// The signing actors, by id.
    pub signers: HashMap<i32, Actor>,
    /// The blocks that cover any claimed inbox ([`blocks::read_covering`]).
    pub blocks: Vec<BlockedHost>,
}

/// Signers by actor id, shared by the runs of one worker.
type Signers = Arc<Mutex<HashMap<i32, knock::Signer>>>;

/// Runs the delivery loop until the process ends: claims hosts while at least
/// [`CLAIM_AT_LEAST`] of its [`HOSTS_IN_FLIGHT`] places are free, and waits for a commit, a
/// finished run or 0.5 s.
pub async fn run_worker(ctx: Ctx) {
    match ctx
        .db
        .write(store::delivery_hosts::ensure_all_pending)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(hosts = n, "delivery worker: added the missing host rows"),
        Err(e) => tracing::warn!(error = %e, "delivery worker: cannot check the host rows"),
    }
    let signers: Signers = Arc::default();
    let recorder = Recorder::spawn(
        ctx.db.clone(),
        ctx.settings.delivery.clone(),
        ctx.settings.retry_base,
    );
    let mut running: JoinSet<()> = JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        let room = HOSTS_IN_FLIGHT.saturating_sub(running.len());
        let mut claimed = 0;
        if room >= CLAIM_AT_LEAST {
            match ctx.db.write(move |c| claim_runs(c, room as i64)).await {
                Ok(runs) => {
                    claimed = runs.len();
                    for run in runs {
                        running.spawn(serve_host(
                            ctx.clone(),
                            signers.clone(),
                            recorder.clone(),
                            run,
                        ));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "delivery worker: database problem, retrying shortly");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        if claimed == 0 {
            tokio::select! {
                _ = ctx.delivery_wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
}

/// Claims up to `max_hosts` hosts that have due deliveries and are not waiting, each with
/// its first deliveries (one, the probe, for a parked host), leased for [`LEASE_SECS`].
pub fn claim_runs(conn: &mut DbConnection, max_hosts: i64) -> Result<Vec<HostRun>> {
    let t = now();
    let lease = t + chrono::Duration::seconds(LEASE_SECS);
    let hosts = store::delivery_hosts::lock_ready(conn, max_hosts, t)?;
    let wanted: Vec<(&str, i64)> = hosts
        .iter()
        .map(|h| {
            let limit = if h.parked_since.is_some() {
                1
            } else {
                RUN_LENGTH
            };
            (h.host.as_str(), limit)
        })
        .collect();
    let leased = store::deliveries::claim_for_hosts(conn, &wanted, lease, t)?;
    let claim = Arc::new(read_claimed(conn, &leased)?);
    let mut claimed: HashMap<String, Vec<Delivery>> = HashMap::new();
    for d in leased {
        claimed.entry(d.host.clone()).or_default().push(d);
    }
    let names: Vec<&str> = wanted.iter().map(|(h, _)| *h).collect();
    store::delivery_hosts::touch(conn, &names, t)?;
    Ok(hosts
        .into_iter()
        .filter_map(|host| {
            let deliveries = claimed.remove(&host.host)?;
            Some(HostRun {
                host,
                deliveries,
                claim: claim.clone(),
            })
        })
        .collect())
}

/// What the runs of the claim of `leased` share: their bodies, signers and blocks.
fn read_claimed(conn: &mut DbConnection, leased: &[Delivery]) -> Result<Claimed> {
    if leased.is_empty() {
        return Ok(Claimed::default());
    }
    let bodies = store::deliveries::bodies(conn, leased)?;
    let mut signer_ids: Vec<i32> = leased.iter().map(|d| d.signer_id).collect();
    signer_ids.sort_unstable();
    signer_ids.dedup();
    let signers = store::actors::by_ids(conn, &signer_ids)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut inboxes: Vec<&str> = leased.iter().map(|d| d.inbox.as_str()).collect();
    inboxes.sort_unstable();
    inboxes.dedup();
    let blocks = blocks::read_covering(conn, &inboxes)?;
    Ok(Claimed {
        bodies,
        signers,
        blocks,
    })
}

/// Leases a batch of due deliveries, as [`run_worker`] does; returns them all.
pub fn claim_batch(conn: &mut DbConnection) -> Result<Vec<Delivery>> {
    Ok(claim_runs(conn, HOSTS_IN_FLIGHT as i64)?
        .into_iter()
        .flat_map(|r| r.deliveries)
        .collect())
}

/// Sends one host's run in order; stops at the first retryable failure (the rest are given
/// back unattempted) or when the lease runs short.
async fn serve_host(ctx: Ctx, signers: Signers, recorder: Recorder, run: HostRun) {
    let started = Instant::now();
    let lease = Duration::from_secs(LEASE_SECS as u64);
    let host = run.host.host.clone();
    let mut queue = run.deliveries.into_iter();
    let parked = run.host.parked_since.is_some();
    let mut checks = RunChecks::default();
    while let Some(d) = queue.next() {
        if started.elapsed() + LEASE_MARGIN > lease {
            give_back(&ctx, &host, std::iter::once(d).chain(queue).collect()).await;
            return;
        }
        let outcome = match signer_for(&signers, &run.claim, d.signer_id).await {
            Ok(Some(signer)) => match run.claim.bodies.get(&d.body_id) {
                Some(body) => send(&ctx, &run.claim, &d, body, &signer, &mut checks).await,
                None => Outcome::Final(format!("the body {} of the delivery is gone", d.body_id)),
            },
            Ok(None) => Outcome::Final(format!(
                "the signing actor {} has no private key",
                d.signer_id
            )),
            Err(e) => {
                tracing::warn!(%host, error = %e, "delivery worker: cannot load a signing key; trying again shortly");
                give_back(&ctx, &host, std::iter::once(d).chain(queue).collect()).await;
                return;
            }
        };
        let id = d.id;
        let go_on = match recorder.record(&host, d, outcome).await {
            Ok(rec) => {
                ctx.metrics.delivery(&host, rec.counted);
                rec.go_on
            }
            Err(e) => {
                // The lease expires and the delivery is tried again: nothing is lost.
                tracing::warn!(%host, delivery = id, error = %e, "delivery worker: cannot record an attempt");
                false
            }
        };
        if !go_on {
            give_back(&ctx, &host, queue.collect()).await;
            return;
        }
        if parked {
            // The probe got an answer: the host is unparked, and its queue is claimed again
            // with a full run at once.
            give_back(&ctx, &host, queue.collect()).await;
            ctx.delivery_wake.notify_one();
            return;
        }
    }
}

/// Releases the leases of deliveries a run did not attempt.
async fn give_back(ctx: &Ctx, host: &str, rest: Vec<Delivery>) {
    let ids: Vec<i32> = rest.iter().map(|d| d.id).collect();
    if ids.is_empty() {
        return;
    }
    if let Err(e) = ctx
        .db
        .write(move |c| store::deliveries::release(c, &ids))
        .await
    {
        tracing::warn!(%host, error = %e, "delivery worker: cannot release leases; they expire on their own");
    }
}

/// The signer of `actor_id` (cached by the worker; the claim read the actor), `None` when the
/// actor has no private key.
async fn signer_for(
    signers: &Signers,
    claim: &Claimed,
    actor_id: i32,
) -> Result<Option<knock::Signer>> {
    if let Some(s) = signers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&actor_id)
    {
        return Ok(Some(s.clone()));
    }
    let Some(actor) = claim.signers.get(&actor_id) else {
        return Ok(None);
    };
    let Some(pem) = actor.private_key_pem.clone() else {
        return Ok(None);
    };
    let key = tokio::task::spawn_blocking(move || signatures::parse_private_key(&pem))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(format!("the key of {} does not parse: {e}", actor.ap_id)))?;
    let signer = knock::Signer {
        key_id: actor.key_id.clone(),
        key,
    };
    signers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(actor_id, signer.clone());
    Ok(Some(signer))
}

/// What one host's run checks once and then uses for each of its deliveries: whether each
/// inbox may be contacted (domain blocks, read by the claim; scheme; SSRF guard) and the
/// FEP-8fcf header of each signer (the host is the run's). A block an operator adds during a
/// run applies from the host's next claim, a few seconds later at most.
#[derive(Default)]
struct RunChecks {
    /// Inbox → its URL when it may be contacted, or why it will not be.
    inboxes: HashMap<String, std::result::Result<url::Url, String>>,
    /// Signer's actor id → its `Collection-Synchronization` value, if any.
    sync: HashMap<i32, Option<String>>,
}

impl RunChecks {
    /// The inbox's URL once checked, or the outcome that ends the delivery without a send.
    async fn inbox(
        &mut self,
        ctx: &Ctx,
        claim: &Claimed,
        inbox: &str,
    ) -> std::result::Result<url::Url, Outcome> {
        if let Some(checked) = self.inboxes.get(inbox) {
            return checked.clone().map_err(Outcome::Final);
        }
        let checked = match url::Url::parse(inbox) {
            Err(e) => Err(format!("invalid inbox URL: {e}")),
            Ok(url) => match blocks::refuse_blocked_among(&claim.blocks, &url) {
                // Refused: blocked host.
                Err(refused) => Err(refused.to_string()),
                Ok(()) => match crate::remote::check_contactable(ctx, &url).await {
                    Ok(()) => Ok(url),
                    // Refused: plain http outside development mode, private address.
                    Err(refused) => Err(refused.to_string()),
                },
            },
        };
        self.inboxes.insert(inbox.to_string(), checked.clone());
        checked.map_err(Outcome::Final)
    }

    /// The `Collection-Synchronization` value of deliveries signed by `signer_id` to `host`
    /// (read from the database only for a room that synchronizes its followers).
    async fn sync_header(
        &mut self,
        ctx: &Ctx,
        claim: &Claimed,
        signer_id: i32,
        host: &str,
    ) -> std::result::Result<Option<String>, Outcome> {
        if let Some(v) = self.sync.get(&signer_id) {
            return Ok(v.clone());
        }
        let value = match claim.signers.get(&signer_id) {
            Some(signer) if followers_sync::synchronizes(signer) => {
                let (signer, h) = (signer.clone(), host.to_string());
                ctx.db
                    .read(move |c| followers_sync::header_for(c, &signer, &h))
                    .await
                    .map_err(|e| Outcome::Retry {
                        error: format!("this node's database: {e}"),
                        retry_after: None,
                    })?
            }
            _ => None,
        };
        self.sync.insert(signer_id, value.clone());
        Ok(value)
    }
}

async fn send(
    ctx: &Ctx,
    claim: &Claimed,
    d: &Delivery,
    body: &str,
    signer: &knock::Signer,
    checks: &mut RunChecks,
) -> Outcome {
    let url = match checks.inbox(ctx, claim, &d.inbox).await {
        Ok(url) => url,
        Err(outcome) => return outcome,
    };
    let sync = match checks.sync_header(ctx, claim, d.signer_id, &d.host).await {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    let mut headers = vec![("content-type", "application/activity+json".to_string())];
    if let Some(sync) = sync {
        headers.push((followers_sync::HEADER, sync));
    }
    let answer = knock::send(
        ctx,
        signer,
        knock::Request {
            method: http::Method::POST,
            url: &url,
            body: Some(body.as_bytes()),
            headers: &headers,
        },
    )
    .await;
    match answer {
        Ok(a) if a.status.is_success() => Outcome::Delivered,
        Ok(a) => {
            let status = a.status;
            let text: String = a.text().chars().take(300).collect();
            let msg = format!("{status}: {text}");
            if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
                Outcome::Refused(msg)
            } else {
                let retry_after = a
                    .headers
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, Utc::now()));
                Outcome::Retry {
                    error: msg,
                    retry_after,
                }
            }
        }
        Err(knock::KnockError::Sign(e)) => Outcome::Final(e.to_string()),
        Err(e) => Outcome::Retry {
            error: e.to_string(),
            retry_after: None,
        },
    }
}
