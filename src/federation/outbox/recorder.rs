//! The recorder of delivery outcomes: one task per worker gathers the outcomes of all its
//! hosts' runs (up to [`BATCH_MAX`], or what arrives within [`BATCH_WAIT`]) and writes each
//! batch in one transaction (its successes in a few set-wise statements), applying the retry
//! rules of [`crate::domain::retry`] to the failures.
//!
//! What it promises: [`Recorder::record`] returns only once its outcome is committed, so a run
//! sends its host's next delivery only after the previous one's state is safe, and a process
//! killed at any point re-sends at most the delivery each host had in flight. A batch that
//! cannot be written is written outcome by outcome, so that one bad outcome does not hold up
//! the others; a delivery an operator purged while it was being sent stays purged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{mpsc, oneshot};

use super::Outcome;
use crate::config::DeliverySettings;
use crate::domain::kinds::DeliveryState;
use crate::domain::retry::{self, human};
use crate::error::{Error, Result};
use crate::metrics::DeliveryResult;
use crate::store::models::{Delivery, DeliveryHost};
use crate::store::{self, now, Db, DbConnection};

/// Outcomes the recorder writes in one transaction at most.
const BATCH_MAX: usize = 256;
/// How long the recorder waits for more outcomes before it writes a batch that is not full.
const BATCH_WAIT: Duration = Duration::from_millis(2);

/// What became of one attempt, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Recorded {
    pub(super) counted: DeliveryResult,
    /// Whether the host's run goes on.
    pub(super) go_on: bool,
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
pub(super) struct Recorder {
    tx: mpsc::Sender<Attempt>,
    /// Transactions written so far (batches, and single outcomes written after a batch failed);
    /// read by the tests, which check that outcomes are batched.
    #[cfg_attr(not(test), allow(dead_code))]
    writes: Arc<std::sync::atomic::AtomicUsize>,
}

impl Recorder {
    /// Starts the recording task; it ends when the last handle is dropped.
    pub(super) fn spawn(db: Db, policy: DeliverySettings, base: Duration) -> Recorder {
        let (tx, rx) = mpsc::channel(BATCH_MAX);
        let writes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        tokio::spawn(record_batches(rx, db, policy, base, writes.clone()));
        Recorder { tx, writes }
    }

    /// Records the outcome of an attempt of `d` (to `host`) and waits until it is committed.
    pub(super) async fn record(
        &self,
        host: &str,
        d: Delivery,
        outcome: Outcome,
    ) -> Result<Recorded> {
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
    // Every outcome but a retry ends the delivery; the host is up when it answered.
    let (state, error, answered) = match outcome {
        Outcome::Retry { error, retry_after } => {
            return record_retry(conn, host, d, error, retry_after, base, policy, unit)
        }
        Outcome::Delivered => (DeliveryState::Delivered, None, true),
        Outcome::Refused(answer) => {
            tracing::warn!(%host, inbox = %d.inbox, activity = %d.activity_ap_id, answer = %answer, "delivery refused by the peer; it will not be retried");
            (DeliveryState::Failed, Some(answer), true)
        }
        Outcome::Final(reason) => {
            tracing::warn!(%host, inbox = %d.inbox, activity = %d.activity_ap_id, error = %reason, "delivery not sent; it will not be retried");
            (DeliveryState::Failed, Some(reason), false)
        }
    };
    store::deliveries::record_attempt(conn, d.id, state, d.attempts + 1, None, error.as_deref())?;
    if answered {
        host_answered(conn, host)?;
    }
    Ok(Recorded {
        counted: if state == DeliveryState::Delivered {
            DeliveryResult::Delivered
        } else {
            DeliveryResult::Failed
        },
        go_on: true,
    })
}

/// Records a retryable failure: the host waits (and is parked after enough of them in a
/// row); the delivery waits with it, or becomes a dead letter when it is out of attempts or
/// too old.
#[allow(clippy::too_many_arguments)]
fn record_retry(
    conn: &mut DbConnection,
    host: &str,
    d: &Delivery,
    error: String,
    retry_after: Option<Duration>,
    base: Duration,
    policy: &DeliverySettings,
    unit: f64,
) -> Result<Recorded> {
    let t = now();
    let before = store::delivery_hosts::get(conn, host)?;
    let failure = retry::Failure {
        host_failures: before.as_ref().map_or(0, |h| h.failures),
        parked_since: before.as_ref().and_then(|h| h.parked_since),
        attempts: d.attempts,
        queued_at: d.created_at,
        retry_after,
    };
    let limits = retry::Limits {
        base,
        max_delay: policy.max_retry_delay,
        park_after: policy.park_after,
        max_attempts: policy.max_attempts,
        max_age: policy.max_age,
    };
    let verdict = retry::after_failure(failure, &limits, t, unit);
    let (failures, delay, attempts) = (verdict.host_failures, verdict.delay, verdict.attempts);
    let retry_at = t + chrono::Duration::from_std(delay).unwrap_or_default();
    store::delivery_hosts::record_failure(
        conn,
        host,
        failures,
        retry_at,
        verdict.parked_since,
        &error,
    )?;
    if verdict.parks {
        tracing::warn!(%host, failures, next_probe_in = ?delay, error = %error, "host parked: it keeps failing, so only its oldest delivery is tried, as a probe");
    }
    let dead = verdict.gives_up;
    let state = if dead {
        DeliveryState::Dead
    } else {
        DeliveryState::Pending
    };
    store::deliveries::record_attempt(conn, d.id, state, attempts, Some(retry_at), Some(&error))?;
    if dead {
        tracing::warn!(%host, inbox = %d.inbox, activity = %d.activity_ap_id, attempts, error = %error, "delivery gave up: it is a dead letter now (`cocreate deliveries list --state dead`, then `retry` or `purge`)");
    } else {
        tracing::info!(%host, inbox = %d.inbox, attempts, failures, retry_in = ?delay, error = %error, "delivery failed; its host is tried again later");
    }
    let max_age = chrono::Duration::from_std(policy.max_age).unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::super::{claim_runs, HostRun};
    use super::*;
    use tokio::task::JoinSet;

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
