//! ActivityPub transport: actors and objects served as JSON, WebFinger and NodeInfo
//! ([`routes`]), the inbox ([`inbox`]) and the typed activities it accepts ([`activities`],
//! one file per activity), backfill of followed rooms ([`backfill`]), the delivery worker
//! ([`outbox`]), and HTTP signatures ([`signatures`]). Rules live
//! in `service`; this module translates.

pub mod activities;
pub mod backfill;
pub mod inbox;
pub mod outbox;
pub mod routes;
pub mod signatures;

use activitypub_federation::config::FederationConfig;
use activitypub_federation::traits::{Actor as ApActor, Object};
use url::Url;

use crate::error::Error;
use crate::store::models::Actor;

/// The instance actor as the federation crate sees it: the key that signs outbound GETs.
#[derive(Debug, Clone)]
pub struct InstanceActor {
    id: Url,
    public_key_pem: String,
    private_key_pem: String,
    inbox: Url,
}

impl InstanceActor {
    pub fn from_row(a: &Actor) -> Result<InstanceActor, Error> {
        let parse =
            |u: &str| Url::parse(u).map_err(|e| Error::Internal(format!("bad URL {u}: {e}")));
        Ok(InstanceActor {
            id: parse(&a.ap_id)?,
            public_key_pem: a.public_key_pem.clone(),
            private_key_pem: a
                .private_key_pem
                .clone()
                .ok_or_else(|| Error::Internal("instance actor has no private key".into()))?,
            inbox: parse(&a.inbox)?,
        })
    }
}

#[async_trait::async_trait]
impl Object for InstanceActor {
    type DataType = ();
    type Kind = serde_json::Value;
    type Error = activitypub_federation::error::Error;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(
        _id: Url,
        _data: &activitypub_federation::config::Data<()>,
    ) -> Result<Option<Self>, Self::Error> {
        // Only used for signing; the node serves its actors through its own routes.
        Ok(None)
    }

    async fn into_json(
        self,
        _data: &activitypub_federation::config::Data<()>,
    ) -> Result<Self::Kind, Self::Error> {
        Ok(serde_json::json!({"id": self.id, "type": "Application", "inbox": self.inbox}))
    }

    async fn verify(
        _json: &Self::Kind,
        _expected_domain: &Url,
        _data: &activitypub_federation::config::Data<()>,
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn from_json(
        _json: Self::Kind,
        _data: &activitypub_federation::config::Data<()>,
    ) -> Result<Self, Self::Error> {
        Err(activitypub_federation::error::Error::Other(
            "remote instance actors are not stored this way".into(),
        ))
    }
}

impl ApActor for InstanceActor {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        Some(self.private_key_pem.clone())
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }
}

/// Builds the federation crate's config: debug mode (http, loopback) only in development
/// mode, outbound GETs signed by the instance actor, and our HTTP client (timeouts, no
/// automatic redirects, a User-Agent naming the node).
pub async fn federation_config(
    domain: &str,
    dev: bool,
    instance: &Actor,
    http: reqwest::Client,
) -> Result<FederationConfig<()>, Error> {
    let signer = InstanceActor::from_row(instance)?;
    FederationConfig::builder()
        .domain(domain)
        .app_data(())
        .client(reqwest_middleware::ClientWithMiddleware::from(http))
        .debug(dev)
        .http_signature_compat(true)
        .signed_fetch_actor(&signer)
        .build()
        .await
        .map_err(|e| Error::Internal(format!("federation config: {e}")))
}
