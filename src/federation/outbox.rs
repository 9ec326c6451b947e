//! The delivery worker of the transactional outbox: activities are stored with their
//! deliveries in the same transaction as the state change they announce
//! ([`crate::service::Tx::publish`]); this worker delivers them afterwards.
//!
//! Each delivery is signed by the activity's actor with the scheme its host accepts, and sent
//! again with the other scheme when that one is refused ([`knock`]); a `partners` room's
//! deliveries to its followers carry FEP-8fcf `Collection-Synchronization`
//! ([`followers_sync`]).
//!
//! A delivery is claimed with a conditional UPDATE (a lease in `claimed_until`), so several node
//! processes sharing one PostgreSQL never send the same row twice at once, and a process killed
//! mid-send leaves a lease that simply expires. Failures are retried with exponential backoff;
//! a 4xx other than 408/429 is final and recorded as `failed` with the peer's answer. Each
//! attempt is counted in `cocreate_deliveries_total` and by host ([`crate::metrics`]).

use std::collections::HashMap;
use std::time::Duration;

use crate::domain::kinds::DeliveryState;
use crate::error::{Error, Result};
use crate::federation::{followers_sync, knock, signatures};
use crate::metrics::DeliveryResult;
use crate::state::Ctx;
use crate::store::models::Delivery;
use crate::store::{self, now, DbConnection};

/// Deliveries are abandoned after this many attempts (about two days with a 30 s base).
pub const MAX_ATTEMPTS: i32 = 14;
const LEASE_SECS: i64 = 120;
const BATCH: i64 = 32;

/// Outcome of one delivery attempt.
enum Outcome {
    Delivered,
    Retry(String),
    Final(String),
}

/// Runs the delivery loop until the process ends.
pub async fn run_worker(ctx: Ctx) {
    let mut keys: HashMap<i32, signatures::SigningKey> = HashMap::new();
    loop {
        match deliver_due(&ctx, &mut keys).await {
            Ok(0) => {
                let _ =
                    tokio::time::timeout(Duration::from_millis(500), ctx.delivery_wake.notified())
                        .await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "delivery worker: database problem, retrying shortly");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Claims and sends one batch of due deliveries; returns how many were attempted.
pub async fn deliver_due(
    ctx: &Ctx,
    keys: &mut HashMap<i32, signatures::SigningKey>,
) -> Result<usize> {
    let claimed = ctx.db.write(claim_batch).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    for d in &claimed {
        if let std::collections::hash_map::Entry::Vacant(e) = keys.entry(d.signer_id) {
            let signer_id = d.signer_id;
            let signer = ctx
                .db
                .read(move |c| store::actors::by_id(c, signer_id))
                .await?;
            let pem = signer.private_key_pem.ok_or_else(|| {
                Error::Internal(format!("actor {} has no private key", signer.ap_id))
            })?;
            let key = tokio::task::spawn_blocking(move || signatures::parse_private_key(&pem))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(|e| Error::Internal(e.to_string()))?;
            e.insert(key);
        }
    }
    let n = claimed.len();
    let mut sends = Vec::with_capacity(n);
    for d in claimed {
        let key = keys.get(&d.signer_id).cloned();
        let ctx2 = ctx.clone();
        sends.push(tokio::spawn(async move {
            let outcome = match key {
                Some(key) => send(&ctx2, &d, &key).await,
                None => Outcome::Final("no signing key".into()),
            };
            (d, outcome)
        }));
    }
    for handle in sends {
        let Ok((d, outcome)) = handle.await else {
            continue;
        };
        let base = ctx.settings.retry_base;
        let host = crate::vocab::host_of(&d.inbox).unwrap_or_default();
        let counted = match &outcome {
            Outcome::Delivered => DeliveryResult::Delivered,
            Outcome::Retry(_) if d.attempts + 1 < MAX_ATTEMPTS => DeliveryResult::Retry,
            Outcome::Retry(_) | Outcome::Final(_) => DeliveryResult::Failed,
        };
        ctx.db
            .write(move |c| record_outcome(c, &d, outcome, base))
            .await?;
        ctx.metrics.delivery(&host, counted);
    }
    Ok(n)
}

/// Leases up to one batch of due deliveries to this worker; rows leased by another worker are
/// skipped, so two processes never send the same delivery at once.
pub fn claim_batch(conn: &mut DbConnection) -> Result<Vec<Delivery>> {
    let lease = now() + chrono::Duration::seconds(LEASE_SECS);
    store::deliveries::claim_due(conn, BATCH, lease)
}

fn record_outcome(
    conn: &mut DbConnection,
    d: &Delivery,
    outcome: Outcome,
    base: Duration,
) -> Result<()> {
    let attempts = d.attempts + 1;
    match outcome {
        Outcome::Delivered => store::deliveries::record_attempt(
            conn,
            d.id,
            DeliveryState::Delivered,
            attempts,
            None,
            None,
        ),
        Outcome::Final(err) => {
            tracing::warn!(inbox = %d.inbox, activity = %d.activity_ap_id, error = %err, "delivery refused");
            store::deliveries::record_attempt(
                conn,
                d.id,
                DeliveryState::Failed,
                attempts,
                None,
                Some(&err),
            )
        }
        Outcome::Retry(err) => {
            let state = if attempts >= MAX_ATTEMPTS {
                DeliveryState::Failed
            } else {
                DeliveryState::Pending
            };
            let delay = backoff(base, attempts);
            tracing::info!(inbox = %d.inbox, attempts, error = %err, "delivery failed, will retry");
            let next = now() + chrono::Duration::from_std(delay).unwrap_or_default();
            store::deliveries::record_attempt(conn, d.id, state, attempts, Some(next), Some(&err))
        }
    }
}

/// `base * 2^(attempts-1)`, capped at 12 hours.
pub fn backoff(base: Duration, attempts: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).clamp(0, 20) as u32);
    base.saturating_mul(factor)
        .min(Duration::from_secs(12 * 3600))
}

async fn send(ctx: &Ctx, d: &Delivery, key: &signatures::SigningKey) -> Outcome {
    let url = match url::Url::parse(&d.inbox) {
        Ok(u) => u,
        Err(e) => return Outcome::Final(format!("invalid inbox URL: {e}")),
    };
    if let Err(e) = crate::remote::check_remote_url(ctx, &url).await {
        return Outcome::Final(e.to_string());
    }
    let inbox_host = crate::vocab::host_of(&d.inbox).unwrap_or_default();
    let signer_id = d.signer_id;
    let (key_id, sync) = match ctx
        .db
        .read(move |c| {
            let signer = store::actors::by_id(c, signer_id)?;
            let sync = followers_sync::header_for(c, &signer, &inbox_host)?;
            Ok((signer.key_id, sync))
        })
        .await
    {
        Ok(v) => v,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let mut headers = vec![("content-type", "application/activity+json".to_string())];
    if let Some(sync) = sync {
        headers.push((followers_sync::HEADER, sync));
    }
    let signer = knock::Signer {
        key_id,
        key: key.clone(),
    };
    let answer = knock::send(
        ctx,
        &signer,
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
                Outcome::Final(msg)
            } else {
                Outcome::Retry(msg)
            }
        }
        Err(knock::KnockError::Sign(e)) => Outcome::Final(e.to_string()),
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Duration::from_secs(30);
        assert_eq!(backoff(b, 1), Duration::from_secs(30));
        assert_eq!(backoff(b, 2), Duration::from_secs(60));
        assert_eq!(backoff(b, 5), Duration::from_secs(480));
        assert_eq!(backoff(b, 40), Duration::from_secs(12 * 3600));
    }
}
