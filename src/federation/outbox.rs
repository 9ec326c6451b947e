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

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::config::DeliverySettings;
use crate::domain::kinds::DeliveryState;
use crate::error::{Error, Result};
use crate::federation::{followers_sync, knock, signatures};
use crate::metrics::DeliveryResult;
use crate::service::blocks;
use crate::state::Ctx;
use crate::store::blocked_hosts::BlockedHost;
use crate::store::models::{Actor, Delivery, DeliveryHost};
use crate::store::{self, now, Db, DbConnection};

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
/// Outcomes the recorder writes in one transaction at most.
const BATCH_MAX: usize = 256;
/// How long the recorder waits for more outcomes before it writes a batch that is not full.
const BATCH_WAIT: Duration = Duration::from_millis(2);

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

/// What became of one attempt, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Recorded {
    counted: DeliveryResult,
    /// Whether the host's run goes on.
    go_on: bool,
}

/// One attempt's outcome on its way to the database, with the acknowledgement its run waits
/// for.
struct Attempt {
    host: String,
    delivery: Delivery,
    outcome: Outcome,
    /// The randomness of the host's retry delay, in `[0, 1)`.
    unit: f64,
    ack: oneshot::Sender<Result<Recorded>>,
}

/// Where the hosts' runs of one worker record their outcomes: a task that gathers them (up
/// to [`BATCH_MAX`], waiting at most [`BATCH_WAIT`] for more) and writes each batch in one
/// transaction. [`Recorder::record`] returns once its outcome is committed, so a run sends
/// its next delivery only after the previous one's state is safe: a process killed at any
/// point re-sends at most the delivery each host had in flight.
#[derive(Clone)]
struct Recorder {
    tx: mpsc::Sender<Attempt>,
    /// Transactions written so far (batches, and single outcomes written after a batch failed);
    /// read by the tests, which check that outcomes are batched.
    #[cfg_attr(not(test), allow(dead_code))]
    writes: Arc<std::sync::atomic::AtomicUsize>,
}

impl Recorder {
    /// Starts the recording task; it ends when the last handle is dropped.
    fn spawn(db: Db, policy: DeliverySettings, base: Duration) -> Recorder {
        let (tx, rx) = mpsc::channel(BATCH_MAX);
        let writes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        tokio::spawn(record_batches(rx, db, policy, base, writes.clone()));
        Recorder { tx, writes }
    }

    /// Records the outcome of an attempt of `d` (to `host`) and waits until it is committed.
    async fn record(&self, host: &str, d: Delivery, outcome: Outcome) -> Result<Recorded> {
        let (ack, acked) = oneshot::channel();
        let unit: f64 = rand::thread_rng().gen();
        let attempt = Attempt {
            host: host.to_string(),
            delivery: d,
            outcome,
            unit,
            ack,
        };
        let stopped = || Error::Internal("the delivery recorder has stopped".into());
        self.tx.send(attempt).await.map_err(|_| stopped())?;
        acked.await.map_err(|_| stopped())?
    }
}

/// The recorder's loop: a batch is what has arrived by the time the previous one is written,
/// plus what arrives within [`BATCH_WAIT`], up to [`BATCH_MAX`].
async fn record_batches(
    mut rx: mpsc::Receiver<Attempt>,
    db: Db,
    policy: DeliverySettings,
    base: Duration,
    writes: Arc<std::sync::atomic::AtomicUsize>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let until = tokio::time::Instant::now() + BATCH_WAIT;
        while batch.len() < BATCH_MAX {
            match rx.try_recv() {
                Ok(a) => batch.push(a),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(until, rx.recv()).await {
                        Ok(Some(a)) => batch.push(a),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
        let n = write_batch(&db, &policy, base, batch).await;
        writes.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// An attempt as [`record_all`] writes it: host, delivery, outcome, randomness.
type Item = (String, Delivery, Outcome, f64);

/// Writes a batch in one transaction and acknowledges each attempt. When that transaction
/// fails (other than for want of a connection), each outcome is written in a transaction of
/// its own, so that one that cannot be written does not hold up the others. Returns how many transactions that took.
async fn write_batch(
    db: &Db,
    policy: &DeliverySettings,
    base: Duration,
    batch: Vec<Attempt>,
) -> usize {
    let mut writes = 1;
    let (items, acks): (Vec<Item>, Vec<_>) = batch
        .into_iter()
        .map(|a| ((a.host, a.delivery, a.outcome, a.unit), a.ack))
        .unzip();
    let items = Arc::new(items);
    let (all, p) = (items.clone(), policy.clone());
    let results: Vec<Result<Recorded>> = match db
        .write(move |c| record_all(c, &all, base, &p))
        .await
    {
        Ok(recorded) => recorded.into_iter().map(Ok).collect(),
        Err(e) if items.len() == 1 => vec![Err(e)],
        // No connection: one by one would only wait for the pool that many more times.
        Err(Error::Unavailable(why)) => items
            .iter()
            .map(|_| Err(Error::Unavailable(why.clone())))
            .collect(),
        Err(e) => {
            tracing::warn!(outcomes = items.len(), error = %e, "delivery recorder: a batch could not be written; writing its outcomes one by one");
            let mut out = Vec::with_capacity(items.len());
            for i in 0..items.len() {
                writes += 1;
                let (all, p) = (items.clone(), policy.clone());
                out.push(
                    db.write(move |c| record_all(c, &all[i..=i], base, &p))
                        .await
                        .map(|r| r[0]),
                );
            }
            out
        }
    };
    for (ack, result) in acks.into_iter().zip(results) {
        // A run that is gone no longer waits: its outcome is committed all the same.
        let _ = ack.send(result);
    }
    writes
}

/// Records the outcomes of `items` (at most one per host: a host's run waits for each of its
/// outcomes), in order of the items. Successes are written together: one query for which
/// deliveries still exist, one update per attempt count, two statements for their hosts.
fn record_all(
    conn: &mut DbConnection,
    items: &[Item],
    base: Duration,
    policy: &DeliverySettings,
) -> Result<Vec<Recorded>> {
    let ids: Vec<i32> = items.iter().map(|(_, d, _, _)| d.id).collect();
    let existing = store::deliveries::existing(conn, &ids)?;
    let mut delivered: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    let mut answered: Vec<&str> = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    for (host, d, outcome, unit) in items {
        // A delivery an operator purged while it was being sent stays purged.
        if !existing.contains(&d.id) {
            out.push(Recorded {
                counted: DeliveryResult::Failed,
                go_on: true,
            });
            continue;
        }
        match outcome {
            Outcome::Delivered => {
                delivered.entry(d.attempts + 1).or_default().push(d.id);
                answered.push(host);
                out.push(Recorded {
                    counted: DeliveryResult::Delivered,
                    go_on: true,
                });
            }
            other => out.push(record_outcome(
                conn,
                host,
                d,
                other.clone(),
                base,
                policy,
                *unit,
            )?),
        }
    }
    for (attempts, ids) in delivered {
        store::deliveries::record_delivered(conn, &ids, attempts)?;
    }
    for before in store::delivery_hosts::record_answers(conn, &answered)? {
        log_unparked(&before);
    }
    Ok(out)
}

/// Records an outcome other than a success, for the delivery and its host.
fn record_outcome(
    conn: &mut DbConnection,
    host: &str,
    d: &Delivery,
    outcome: Outcome,
    base: Duration,
    policy: &DeliverySettings,
    unit: f64,
) -> Result<Recorded> {
    let attempts = d.attempts + 1;
    match outcome {
        Outcome::Delivered => {
            store::deliveries::record_attempt(
                conn,
                d.id,
                DeliveryState::Delivered,
                attempts,
                None,
                None,
            )?;
            host_answered(conn, host)?;
            Ok(Recorded {
                counted: DeliveryResult::Delivered,
                go_on: true,
            })
        }
        Outcome::Refused(answer) => {
            tracing::warn!(%host, inbox = %d.inbox, activity = %d.activity_ap_id, answer = %answer, "delivery refused by the peer; it will not be retried");
            store::deliveries::record_attempt(
                conn,
                d.id,
                DeliveryState::Failed,
                attempts,
                None,
                Some(&answer),
            )?;
            host_answered(conn, host)?;
            Ok(Recorded {
                counted: DeliveryResult::Failed,
                go_on: true,
            })
        }
        Outcome::Final(reason) => {
            tracing::warn!(%host, inbox = %d.inbox, activity = %d.activity_ap_id, error = %reason, "delivery not sent; it will not be retried");
            store::deliveries::record_attempt(
                conn,
                d.id,
                DeliveryState::Failed,
                attempts,
                None,
                Some(&reason),
            )?;
            Ok(Recorded {
                counted: DeliveryResult::Failed,
                go_on: true,
            })
        }
        Outcome::Retry { error, retry_after } => {
            let t = now();
            let before = store::delivery_hosts::get(conn, host)?;
            let failures = before.as_ref().map_or(0, |h| h.failures) + 1;
            let delay = host_delay(base, policy.max_retry_delay, failures, retry_after, unit);
            let retry_at = t + chrono::Duration::from_std(delay).unwrap_or_default();
            let was_parked = before.as_ref().and_then(|h| h.parked_since);
            let parked_since = was_parked.or((failures >= policy.park_after).then_some(t));
            store::delivery_hosts::record_failure(
                conn,
                host,
                failures,
                retry_at,
                parked_since,
                &error,
            )?;
            if was_parked.is_none() && parked_since.is_some() {
                tracing::warn!(%host, failures, next_probe_in = ?delay, error = %error, "host parked: it keeps failing, so only its oldest delivery is tried, as a probe");
            }
            let max_age = chrono::Duration::from_std(policy.max_age).unwrap_or_default();
            let too_old = t - d.created_at > max_age;
            let dead = attempts >= policy.max_attempts || too_old;
            let state = if dead {
                DeliveryState::Dead
            } else {
                DeliveryState::Pending
            };
            store::deliveries::record_attempt(
                conn,
                d.id,
                state,
                attempts,
                Some(retry_at),
                Some(&error),
            )?;
            if dead {
                tracing::warn!(%host, inbox = %d.inbox, activity = %d.activity_ap_id, attempts, error = %error, "delivery gave up: it is a dead letter now (`cocreate deliveries list --state dead`, then `retry` or `purge`)");
            } else {
                tracing::info!(%host, inbox = %d.inbox, attempts, failures, retry_in = ?delay, error = %error, "delivery failed; its host is tried again later");
            }
            let expired = store::deliveries::expire_queued_before(
                conn,
                host,
                t - max_age,
                &format!("undelivered after {}: {error}", human(policy.max_age)),
            )?;
            if expired > 0 {
                tracing::warn!(%host, deliveries = expired, "deliveries too old for another try are dead letters now");
            }
            Ok(Recorded {
                counted: if dead {
                    DeliveryResult::Failed
                } else {
                    DeliveryResult::Retry
                },
                go_on: false,
            })
        }
    }
}

/// The host answered: its failures are forgotten and a parked host is unparked.
fn host_answered(conn: &mut DbConnection, host: &str) -> Result<()> {
    if let Some(before) = store::delivery_hosts::record_answer(conn, host)? {
        log_unparked(&before);
    }
    Ok(())
}

/// Says so when a host that answered was parked (`before` is its row before the answer).
fn log_unparked(before: &DeliveryHost) {
    if let Some(since) = before.parked_since {
        let parked_for = (now() - since).to_std().unwrap_or_default();
        tracing::warn!(host = %before.host, failures = before.failures, parked_for = %human(parked_for), "host answers again: unparked, its queue is sent in order");
    }
}

/// `2h 5m`-style duration for log lines and messages.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{:.1}s", d.as_secs_f64()),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86400, (s % 86400) / 3600),
    }
}

/// `base * 2^(failures-1)`, capped at `max`.
pub fn backoff(base: Duration, failures: i32, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).clamp(0, 30) as u32);
    base.saturating_mul(factor).min(max)
}

/// "Equal jitter": half of `d`, plus `unit` (in `[0, 1)`) of the other half, so hosts that
/// failed together do not come back together, and the wait still grows.
pub fn jittered(d: Duration, unit: f64) -> Duration {
    let half = d / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

/// How long a host waits after its `failures`-th retryable failure in a row: the jittered
/// backoff, at least `retry_after`, at most `max`.
pub fn host_delay(
    base: Duration,
    max: Duration,
    failures: i32,
    retry_after: Option<Duration>,
    unit: f64,
) -> Duration {
    let d = jittered(backoff(base, failures, max), unit);
    retry_after.map_or(d, |r| d.max(r)).min(max)
}

/// A `Retry-After` value: delay-seconds or an HTTP-date (IMF-fixdate, as RFC 9110 requires
/// senders to use), relative to `now`; a date in the past is no wait. `None` when unreadable.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurd numbers saturate; the cap applies later.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Duration::from_secs(30);
        assert_eq!(backoff(b, 1, 12 * HOUR), Duration::from_secs(30));
        assert_eq!(backoff(b, 2, 12 * HOUR), Duration::from_secs(60));
        assert_eq!(backoff(b, 5, 12 * HOUR), Duration::from_secs(480));
        assert_eq!(backoff(b, 40, 12 * HOUR), 12 * HOUR);
        assert_eq!(backoff(b, 0, HOUR), Duration::from_secs(30));
        assert_eq!(backoff(b, i32::MAX, HOUR), HOUR);
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_delay() {
        let d = Duration::from_secs(100);
        assert_eq!(jittered(d, 0.0), Duration::from_secs(50));
        assert_eq!(jittered(d, 0.5), Duration::from_secs(75));
        assert!(jittered(d, 0.999_999) <= d);
        assert_eq!(jittered(d, 7.0), d, "out-of-range randomness is clamped");
        let mut rng = rand::thread_rng();
        for _ in 0..1000 {
            let j = jittered(d, rng.gen());
            assert!(j >= d / 2 && j <= d, "{j:?}");
        }
    }

    #[test]
    fn retry_after_is_a_floor_and_the_cap_wins() {
        let base = Duration::from_secs(30);
        // Backoff of the 1st failure is 15..30 s; the peer asks for 120 s.
        let d = host_delay(base, HOUR, 1, Some(Duration::from_secs(120)), 0.3);
        assert_eq!(d, Duration::from_secs(120));
        // A shorter Retry-After does not shorten the backoff.
        let d = host_delay(base, HOUR, 4, Some(Duration::from_secs(1)), 0.0);
        assert_eq!(d, Duration::from_secs(120));
        // Neither waits beyond the cap.
        let d = host_delay(base, HOUR, 3, Some(Duration::from_secs(86_400)), 0.0);
        assert_eq!(d, HOUR);
        let d = host_delay(base, HOUR, 30, None, 0.99);
        assert!(d <= HOUR && d >= HOUR / 2, "{d:?}");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 08:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }

    #[test]
    fn durations_read_well_in_logs() {
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human(Duration::from_secs(600)), "10m");
        assert_eq!(human(Duration::from_secs(3 * 3600 + 300)), "3h 5m");
        assert_eq!(human(Duration::from_secs(7 * 86400)), "7d 0h");
    }

    /// A database with one local signer and, for each of `hosts` hosts, `per_host`
    /// deliveries; returns the database (its directory must outlive it) and the claimed runs.
    async fn queued(dir: &std::path::Path, hosts: usize, per_host: usize) -> (Db, Vec<HostRun>) {
        let url = format!("sqlite://{}", dir.join("recorder.db").display());
        let db = tokio::task::spawn_blocking(move || Db::open(&url))
            .await
            .unwrap()
            .unwrap();
        let runs = db
            .write(move |c| {
                let t = now();
                let signer = store::actors::insert(
                    c,
                    &store::models::NewActor {
                        ap_id: "https://here.example/u/a".into(),
                        kind: crate::domain::kinds::ActorKind::Person,
                        local: true,
                        name: "a".into(),
                        display_name: "A".into(),
                        summary: String::new(),
                        inbox: "https://here.example/u/a/inbox".into(),
                        shared_inbox: None,
                        outbox: None,
                        followers: None,
                        public_key_pem: String::new(),
                        key_id: "https://here.example/u/a#main-key".into(),
                        private_key_pem: None,
                        visibility: None,
                        staff: false,
                        host: "here.example".into(),
                        fetched_at: t,
                        created_at: t,
                    },
                )?;
                for n in 0..per_host {
                    for h in 0..hosts {
                        store::deliveries::enqueue(
                            c,
                            &format!("https://here.example/activities/{n}"),
                            signer.id,
                            &format!("https://h{h}.example/inbox"),
                            "{}",
                        )?;
                    }
                }
                claim_runs(c, hosts as i64)
            })
            .await
            .unwrap();
        (db, runs)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_recorder_commits_outcomes_in_batches_before_it_acknowledges_them() {
        let dir = tempfile::tempdir().unwrap();
        let (hosts, per_host) = (40, 3);
        let (db, runs) = queued(dir.path(), hosts, per_host).await;
        assert_eq!(runs.len(), hosts);
        let policy = DeliverySettings::default();
        // h0 had failed and was parked: a success unparks it. h1's first delivery fails with
        // a 503: its run stops. h2's second delivery is purged while it is "being sent".
        db.write(|c| {
            let t = now();
            store::delivery_hosts::record_failure(c, "h0.example", 7, t, Some(t), "down")
        })
        .await
        .unwrap();
        // (Purging dead letters takes its later ones too.)
        let purged: Vec<i32> = runs
            .iter()
            .find(|r| r.host.host == "h2.example")
            .unwrap()
            .deliveries[1..]
            .iter()
            .map(|d| d.id)
            .collect();
        let recorder = Recorder::spawn(db.clone(), policy, Duration::from_secs(30));
        let mut sends = JoinSet::new();
        for run in runs {
            let (recorder, db, purged) = (recorder.clone(), db.clone(), purged.clone());
            sends.spawn(async move {
                let host = run.host.host.clone();
                let mut seen = Vec::new();
                for d in run.deliveries {
                    let id = d.id;
                    if id == purged[0] {
                        db.write(move |c| {
                            let far = now() + chrono::Duration::days(1);
                            store::deliveries::expire_queued_before(c, "h2.example", far, "x")?;
                            store::deliveries::purge_dead(c)
                        })
                        .await
                        .unwrap();
                    }
                    let outcome = if host == "h1.example" {
                        Outcome::Retry {
                            error: "503".into(),
                            retry_after: None,
                        }
                    } else {
                        Outcome::Delivered
                    };
                    let rec = recorder.record(&host, d, outcome).await.unwrap();
                    // Acknowledged means committed: another connection sees it at once.
                    let row = db
                        .read(move |c| store::deliveries::by_id(c, id))
                        .await
                        .unwrap();
                    seen.push((id, rec, row));
                    if !rec.go_on {
                        break;
                    }
                }
                (host, seen)
            });
        }
        let mut outcomes = 0;
        while let Some(done) = sends.join_next().await {
            let (host, seen) = done.unwrap();
            outcomes += seen.len();
            for (id, rec, row) in seen {
                if purged.contains(&id) {
                    assert_eq!(rec.counted, DeliveryResult::Failed);
                    assert!(rec.go_on);
                    assert!(row.is_none(), "a purged delivery stays purged");
                    continue;
                }
                let row = row.unwrap();
                assert_eq!(row.attempts, 1);
                assert_eq!(row.claimed_until, None);
                if host == "h1.example" {
                    assert_eq!(rec.counted, DeliveryResult::Retry);
                    assert!(!rec.go_on);
                    assert_eq!(row.state, DeliveryState::Pending);
                    assert_eq!(row.last_error.as_deref(), Some("503"));
                } else {
                    assert_eq!(rec.counted, DeliveryResult::Delivered);
                    assert!(rec.go_on);
                    assert_eq!(row.state, DeliveryState::Delivered);
                    assert_eq!(row.last_error, None);
                }
            }
        }
        assert_eq!(outcomes, (hosts - 1) * per_host + 1);
        let writes = recorder.writes.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            writes * 4 <= outcomes,
            "{outcomes} outcomes took {writes} transactions"
        );
        let (h0, h1) = db
            .read(|c| {
                Ok((
                    store::delivery_hosts::get(c, "h0.example")?.unwrap(),
                    store::delivery_hosts::get(c, "h1.example")?.unwrap(),
                ))
            })
            .await
            .unwrap();
        assert_eq!((h0.failures, h0.parked_since, h0.retry_at), (0, None, None));
        assert_eq!(h1.failures, 1);
        assert!(h1.retry_at.is_some());
    }
}
