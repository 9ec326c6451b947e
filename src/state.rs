//! The shared state of a running node: settings, database, HTTP client, federation config.

use std::sync::Arc;

use activitypub_federation::config::{Data, FederationConfig};
use tokio::sync::Notify;

use crate::config::Settings;
use crate::federation::cache::DocumentCache;
use crate::federation::knock::{SchemeMemory, Signer};
use crate::metrics::Metrics;
use crate::store::Db;

/// Everything a request handler, service or worker needs; cheap to clone.
pub type Ctx = Arc<AppState>;

pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    pub urls: Urls,
    /// The federation crate's config: which remote URLs may be contacted.
    pub fed: FederationConfig<()>,
    /// Client for deliveries, fetches and WebFinger look-ups.
    pub http: reqwest::Client,
    /// The instance actor's key, which signs every outbound GET.
    pub fetch_signer: Arc<Signer>,
    /// The signature scheme each remote host accepted (double-knocking's memory).
    pub peer_schemes: Arc<SchemeMemory>,
    /// Wakes the delivery worker after a transaction queued deliveries.
    pub delivery_wake: Arc<Notify>,
    /// Counters and histograms served at `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The documents last served to anonymous ActivityPub readers.
    pub documents: DocumentCache,
}

impl AppState {
    pub fn fed_data(&self) -> Data<()> {
        self.fed.to_request_data()
    }
}

/// Mints and recognises this node's URLs.
#[derive(Debug, Clone)]
pub struct Urls {
    pub base: String,
}

impl Urls {
    pub fn person(&self, name: &str) -> String {
        format!("{}/u/{name}", self.base)
    }
    pub fn room(&self, name: &str) -> String {
        format!("{}/r/{name}", self.base)
    }
    pub fn organization(&self, name: &str) -> String {
        format!("{}/o/{name}", self.base)
    }
    pub fn instance_actor(&self) -> String {
        format!("{}/actor", self.base)
    }
    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }
    pub fn idea(&self, uuid: &str) -> String {
        format!("{}/ideas/{uuid}", self.base)
    }
    pub fn comment(&self, uuid: &str) -> String {
        format!("{}/comments/{uuid}", self.base)
    }
    pub fn activity(&self, uuid: &str) -> String {
        format!("{}/activities/{uuid}", self.base)
    }
    pub fn new_activity(&self) -> String {
        self.activity(&uuid::Uuid::new_v4().to_string())
    }
    pub fn is_local(&self, url: &str) -> bool {
        url.strip_prefix(&self.base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}
