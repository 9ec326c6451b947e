//! Changes committed by other processes sharing a PostgreSQL database, so that what this
//! process keeps of the database ([`crate::federation::cache`]) is dropped when another
//! process changes it.
//!
//! Triggers on the tables that served documents are built from (migration
//! `2026-12-02-000008_change_notifications`) send `NOTIFY cocreate_changes` in every
//! transaction that changes what a kept document may have read (a new reply or a new remote
//! actor cannot, and does not notify), whichever process or tool commits it; PostgreSQL delivers it
//! when that transaction commits, to every session listening. [`follow`] keeps one such
//! session for this process (a `tokio-postgres` connection: diesel's connections can only poll
//! for notifications, this one is woken by them) and moves [`Db::changes`](super::Db::changes)
//! on each.
//!
//! What it promises: while it listens, a change committed anywhere moves this process's count
//! within the time the notification takes: before the next request on an idle machine
//! (`tests/processes.rs`), a few milliseconds when the machine is busy. While it
//! does not (not yet connected, or the connection broke), `Db::changes` is `None`: nothing
//! kept may be served, and everything is read from the database. Reconnecting moves the count
//! before anything is kept again, so nothing kept before the break survives it.
//!
//! A table that a kept document is built from must have the trigger (the migration lists them).

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::AsyncMessage;

/// The channel the triggers notify.
pub const CHANNEL: &str = "cocreate_changes";

/// The longest wait between two attempts to connect again.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What [`follow`] moves: the count of changes seen, and whether every change is seen.
#[derive(Clone)]
pub struct Seen {
    pub changes: Arc<AtomicU64>,
    pub complete: Arc<AtomicBool>,
}

/// Listens on [`CHANNEL`] of the PostgreSQL database `url` for as long as the process runs,
/// connecting again after a break; runs on the current tokio runtime.
pub fn follow(url: String, seen: Seen) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let result = listen(&url, &seen).await;
            let was_complete = seen.complete.swap(false, Ordering::AcqRel);
            seen.changes.fetch_add(1, Ordering::AcqRel);
            match result {
                Ok(()) => tracing::warn!("the database closed the connection that listens for changes; kept documents are not served until it is back"),
                Err(e) => tracing::warn!(error = %e, "cannot listen for changes made by other processes; kept documents are not served until this works"),
            }
            if was_complete {
                backoff = Duration::from_millis(100);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
}

/// One listening session: returns when its connection ends.
async fn listen(url: &str, seen: &Seen) -> Result<(), tokio_postgres::Error> {
    let mut config: tokio_postgres::Config = url.parse()?;
    // A peer that vanishes without closing the connection is found out within a minute.
    config
        .application_name("cocreate changes")
        .keepalives_idle(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5));
    let (client, mut connection) = config.connect(tokio_postgres::NoTls).await?;
    let listen = format!("LISTEN {CHANNEL}");
    let subscribe = client.batch_execute(&listen);
    let mut subscribe = std::pin::pin!(subscribe);
    let mut listening = false;
    loop {
        tokio::select! {
            done = &mut subscribe, if !listening => {
                done?;
                listening = true;
                // Whatever was kept before this session began may be stale.
                seen.changes.fetch_add(1, Ordering::AcqRel);
                seen.complete.store(true, Ordering::Release);
                tracing::debug!("listening for changes made by other processes");
            }
            message = poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(_))) => {
                    seen.changes.fetch_add(1, Ordering::AcqRel);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    }
}
