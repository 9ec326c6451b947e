//! ActivityPub transport: actors and objects served as JSON, WebFinger and NodeInfo
//! ([`routes`]), the inbox ([`inbox`]) and the typed activities it accepts ([`activities`],
//! one file per activity), backfill of followed rooms ([`backfill`]), the delivery worker
//! ([`outbox`]), HTTP signatures of both schemes ([`signatures`]), signed sending with
//! double-knocking ([`knock`]), followers synchronization (FEP-8fcf, [`followers_sync`]), and
//! the documents last served to anonymous readers ([`cache`]).
//! Rules live in `service`; this module translates.

pub mod activities;
pub mod backfill;
pub mod cache;
pub mod followers_sync;
pub mod inbox;
pub mod knock;
pub mod outbox;
pub mod routes;
pub mod signatures;

use activitypub_federation::config::FederationConfig;

use crate::error::Error;

/// Builds the federation crate's config, which this node uses to decide which remote URLs it
/// may contact: debug mode (http, loopback) only in development mode. Signing, fetching and
/// verifying are this module's own ([`signatures`], [`knock`], [`crate::remote`]).
pub async fn federation_config(
    domain: &str,
    dev: bool,
    http: reqwest::Client,
) -> Result<FederationConfig<()>, Error> {
    FederationConfig::builder()
        .domain(domain)
        .app_data(())
        .client(reqwest_middleware::ClientWithMiddleware::from(http))
        .debug(dev)
        .build()
        .await
        .map_err(|e| Error::Internal(format!("federation config: {e}")))
}
