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
//!
//! Each attempt is counted in `cocreate_deliveries_total` and by host ([`crate::metrics`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::task::JoinSet;

use crate::config::DeliverySettings;
use crate::domain::kinds::DeliveryState;
use crate::error::{Error, Result};
use crate::federation::{followers_sync, knock, signatures};
use crate::metrics::DeliveryResult;
use crate::state::Ctx;
use crate::store::models::{Delivery, DeliveryHost};
use crate::store::{self, now, DbConnection};

/// How long a claim holds a host's deliveries.
pub const LEASE_SECS: i64 = 120;
/// A run stops taking its next delivery when less than this is left of its lease (one send
/// knocking twice takes at most two 10 s timeouts).
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// Hosts served at the same time by one worker.
const HOSTS_IN_FLIGHT: usize = 32;
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
}

/// Signers by actor id, shared by the runs of one worker.
type Signers = Arc<Mutex<HashMap<i32, knock::Signer>>>;

/// Runs the delivery loop until the process ends: claims hosts while fewer than
/// [`HOSTS_IN_FLIGHT`] are being served, and waits for a commit, a finished run or 0.5 s.
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
    let mut running: JoinSet<()> = JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        let room = HOSTS_IN_FLIGHT.saturating_sub(running.len());
        let mut claimed = 0;
        if room > 0 {
            match ctx.db.write(move |c| claim_runs(c, room as i64)).await {
                Ok(runs) => {
                    claimed = runs.len();
                    for run in runs {
                        running.spawn(serve_host(ctx.clone(), signers.clone(), run));
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
    let mut runs = Vec::with_capacity(hosts.len());
    for host in hosts {
        let limit = if host.parked_since.is_some() {
            1
        } else {
            RUN_LENGTH
        };
        let deliveries = store::deliveries::claim_for_host(conn, &host.host, limit, lease, t)?;
        store::delivery_hosts::touch(conn, &host.host, t)?;
        if !deliveries.is_empty() {
            runs.push(HostRun { host, deliveries });
        }
    }
    Ok(runs)
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
async fn serve_host(ctx: Ctx, signers: Signers, run: HostRun) {
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
        let outcome = match signer_for(&ctx, &signers, d.signer_id).await {
            Ok(Some(signer)) => send(&ctx, &d, &signer, &mut checks).await,
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
        let go_on = match record(&ctx, &host, &d, outcome).await {
            Ok(go_on) => go_on,
            Err(e) => {
                // The lease expires and the delivery is tried again: nothing is lost.
                tracing::warn!(%host, delivery = d.id, error = %e, "delivery worker: cannot record an attempt");
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

/// The signer of `actor_id` (cached), `None` when the actor has no private key.
async fn signer_for(ctx: &Ctx, signers: &Signers, actor_id: i32) -> Result<Option<knock::Signer>> {
    if let Some(s) = signers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&actor_id)
    {
        return Ok(Some(s.clone()));
    }
    let actor = ctx
        .db
        .read(move |c| store::actors::by_id(c, actor_id))
        .await?;
    let Some(pem) = actor.private_key_pem else {
        return Ok(None);
    };
    let key = tokio::task::spawn_blocking(move || signatures::parse_private_key(&pem))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(format!("the key of {} does not parse: {e}", actor.ap_id)))?;
    let signer = knock::Signer {
        key_id: actor.key_id,
        key,
    };
    signers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(actor_id, signer.clone());
    Ok(Some(signer))
}

/// What became of one attempt, as recorded.
struct Recorded {
    counted: DeliveryResult,
    /// Whether the host's run goes on.
    go_on: bool,
}

/// Records an attempt's outcome for the delivery and its host; returns whether the host's run
/// goes on.
async fn record(ctx: &Ctx, host: &str, d: &Delivery, outcome: Outcome) -> Result<bool> {
    let policy = ctx.settings.delivery.clone();
    let base = ctx.settings.retry_base;
    let unit: f64 = rand::thread_rng().gen();
    let h = host.to_string();
    let d2 = d.clone();
    let rec = ctx
        .db
        .write(move |c| record_outcome(c, &h, &d2, outcome, base, &policy, unit))
        .await?;
    ctx.metrics.delivery(host, rec.counted);
    Ok(rec.go_on)
}

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
    // A delivery an operator purged while it was being sent stays purged.
    if store::deliveries::by_id(conn, d.id)?.is_none() {
        return Ok(Recorded {
            counted: DeliveryResult::Failed,
            go_on: true,
        });
    }
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
        if let Some(since) = before.parked_since {
            let parked_for = (now() - since).to_std().unwrap_or_default();
            tracing::warn!(%host, failures = before.failures, parked_for = %human(parked_for), "host answers again: unparked, its queue is sent in order");
        }
    }
    Ok(())
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
/// inbox may be contacted (domain blocks, scheme, SSRF guard) and the FEP-8fcf header of each
/// signer (the host is the run's). A block an operator adds during a run applies from the
/// host's next run, a few seconds later at most.
#[derive(Default)]
struct RunChecks {
    /// Inbox → its URL when it may be contacted, or why it will not be.
    inboxes: HashMap<String, std::result::Result<url::Url, String>>,
    /// Signer's actor id → its `Collection-Synchronization` value, if any.
    sync: HashMap<i32, Option<String>>,
}

impl RunChecks {
    /// The inbox's URL once checked, or the outcome that ends the delivery without a send.
    async fn inbox(&mut self, ctx: &Ctx, inbox: &str) -> std::result::Result<url::Url, Outcome> {
        if let Some(checked) = self.inboxes.get(inbox) {
            return checked.clone().map_err(Outcome::Final);
        }
        let checked = match url::Url::parse(inbox) {
            Err(e) => Err(format!("invalid inbox URL: {e}")),
            Ok(url) => match crate::remote::check_remote_url(ctx, &url).await {
                Ok(()) => Ok(url),
                // This node's database could not say whether the host is blocked: try again
                // later (not remembered).
                Err(e @ (Error::Database(_) | Error::Unavailable(_) | Error::Internal(_))) => {
                    return Err(Outcome::Retry {
                        error: format!("checking {url}: {e}"),
                        retry_after: None,
                    })
                }
                // Refused: blocked host, plain http outside development mode, private address.
                Err(refused) => Err(refused.to_string()),
            },
        };
        self.inboxes.insert(inbox.to_string(), checked.clone());
        checked.map_err(Outcome::Final)
    }

    /// The `Collection-Synchronization` value of deliveries signed by `signer_id` to `host`.
    async fn sync_header(
        &mut self,
        ctx: &Ctx,
        signer_id: i32,
        host: &str,
    ) -> std::result::Result<Option<String>, Outcome> {
        if let Some(v) = self.sync.get(&signer_id) {
            return Ok(v.clone());
        }
        let h = host.to_string();
        let value = ctx
            .db
            .read(move |c| {
                let signer = store::actors::by_id(c, signer_id)?;
                followers_sync::header_for(c, &signer, &h)
            })
            .await
            .map_err(|e| Outcome::Retry {
                error: format!("this node's database: {e}"),
                retry_after: None,
            })?;
        self.sync.insert(signer_id, value.clone());
        Ok(value)
    }
}

async fn send(ctx: &Ctx, d: &Delivery, signer: &knock::Signer, checks: &mut RunChecks) -> Outcome {
    let url = match checks.inbox(ctx, &d.inbox).await {
        Ok(url) => url,
        Err(outcome) => return outcome,
    };
    let sync = match checks.sync_header(ctx, d.signer_id, &d.host).await {
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
            body: Some(d.body.as_bytes()),
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
}
