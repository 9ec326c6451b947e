//! Observability: the node's Prometheus metrics and the `/healthz`, `/readyz` and `/metrics`
//! endpoints.
//!
//! Crate: `prometheus-client`, the official Rust client of the Prometheus project. It keeps
//! metrics in an explicit [`Registry`] (no global state, so several nodes in one test process
//! do not mix their counts), has typed label sets and encodes the text exposition format
//! itself; `metrics` + `metrics-exporter-prometheus` would add a global recorder and an
//! exporter for no gain here.
//!
//! What it promises (other checks rely on these names; every one starts `cocreate_`):
//!
//! - `cocreate_inbox_activities_total{type,result}`: every activity the inbox answered. `type`
//!   is the activity's type when it is one this node knows (Follow, Like, Create, ...), else
//!   `other`, so the label set stays bounded. `result` is `accepted`, `duplicate`, `refused`
//!   (answered 202 with a reason) or `ignored` (202, about nothing this node acts on); a request
//!   turned away with a 4xx (malformed, bad signature) counts as `rejected`, and one that failed
//!   with a 5xx (the database is down, the signer's key server unreachable) as `error`.
//! - `cocreate_deliveries_total{result}`: delivery attempts of the outbox worker by outcome:
//!   `delivered`, `retry` (will be tried again) or `failed` (final: refused by the peer, or
//!   out of attempts).
//! - `cocreate_delivery_attempts_total{host}` and `cocreate_delivery_failures_total{host}`:
//!   the same attempts by the inbox's host (failures: every outcome but `delivered`).
//! - `cocreate_outbox_pending` and `cocreate_outbox_oldest_age_seconds`: deliveries not yet
//!   done and the age of the oldest of them, read from the database at each scrape.
//! - `cocreate_parked_hosts`: remote hosts whose deliveries are parked (they kept failing;
//!   only a probe is sent to them), and `cocreate_dead_deliveries`: dead letters waiting for an
//!   operator (`cocreate deliveries`); both read from the database at each scrape.
//! - `cocreate_http_request_duration_seconds{route}`: a histogram of request latency by the
//!   matched route template (`/r/{name}`, never the concrete path); requests that matched no
//!   route are labelled `other`.
//!
//! `/healthz` answers 200 `{"status":"ok"}` while the process serves; `/readyz` answers 200
//! `{"status":"ready"}` when the database answers a query and has every migration applied,
//! else 503 `{"status":"unavailable","reason":"..."}`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::state::Ctx;
use crate::vocab::ActivityKind;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InboxLabels {
    r#type: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabel {
    host: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

type LatencyFamily = Family<RouteLabel, Histogram, fn() -> Histogram>;

/// The node's metrics; one per node, shared through [`crate::state::AppState`].
pub struct Metrics {
    registry: Registry,
    inbox: Family<InboxLabels, Counter>,
    deliveries: Family<ResultLabel, Counter>,
    delivery_attempts: Family<HostLabel, Counter>,
    delivery_failures: Family<HostLabel, Counter>,
    outbox_pending: Gauge,
    outbox_oldest_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    parked_hosts: Gauge,
    dead_deliveries: Gauge,
    latency: LatencyFamily,
}

/// How an inbox request was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxResult {
    Accepted,
    Duplicate,
    Refused,
    Ignored,
    /// Turned away with a 4xx.
    Rejected,
    /// Failed with a 5xx; the sender retries.
    Error,
}

impl InboxResult {
    pub fn as_str(self) -> &'static str {
        match self {
            InboxResult::Accepted => "accepted",
            InboxResult::Duplicate => "duplicate",
            InboxResult::Refused => "refused",
            InboxResult::Ignored => "ignored",
            InboxResult::Rejected => "rejected",
            InboxResult::Error => "error",
        }
    }
}

/// Outcome of one delivery attempt, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryResult {
    Delivered,
    Retry,
    Failed,
}

impl DeliveryResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryResult::Delivered => "delivered",
            DeliveryResult::Retry => "retry",
            DeliveryResult::Failed => "failed",
        }
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("cocreate");
        let inbox = Family::<InboxLabels, Counter>::default();
        registry.register(
            "inbox_activities",
            "Activities the inbox answered, by activity type and result",
            inbox.clone(),
        );
        let deliveries = Family::<ResultLabel, Counter>::default();
        // Known outcomes are shown from the start, at 0, so that a rate is defined at once.
        for result in [
            DeliveryResult::Delivered,
            DeliveryResult::Retry,
            DeliveryResult::Failed,
        ] {
            let _ = deliveries.get_or_create_owned(&ResultLabel {
                result: result.as_str().to_string(),
            });
        }
        registry.register(
            "deliveries",
            "Delivery attempts of the outbox worker, by result",
            deliveries.clone(),
        );
        let delivery_attempts = Family::<HostLabel, Counter>::default();
        registry.register(
            "delivery_attempts",
            "Delivery attempts by the host of the receiving inbox",
            delivery_attempts.clone(),
        );
        let delivery_failures = Family::<HostLabel, Counter>::default();
        registry.register(
            "delivery_failures",
            "Delivery attempts that did not deliver, by the host of the receiving inbox",
            delivery_failures.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_pending",
            "Deliveries not yet done (pending, including those waiting for a retry)",
            outbox_pending.clone(),
        );
        let outbox_oldest_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "outbox_oldest_age_seconds",
            "Age of the oldest delivery not yet done, 0 when none",
            outbox_oldest_age.clone(),
        );
        let parked_hosts = Gauge::default();
        registry.register(
            "parked_hosts",
            "Remote hosts parked after failing deliveries again and again (probed, not hammered)",
            parked_hosts.clone(),
        );
        let dead_deliveries = Gauge::default();
        registry.register(
            "dead_deliveries",
            "Deliveries that ran out of attempts, waiting for an operator to retry or purge them",
            dead_deliveries.clone(),
        );
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Latency of HTTP requests by matched route",
            latency.clone(),
        );
        Metrics {
            registry,
            inbox,
            deliveries,
            delivery_attempts,
            delivery_failures,
            outbox_pending,
            outbox_oldest_age,
            parked_hosts,
            dead_deliveries,
            latency,
        }
    }

    /// Counts one answered inbox request; `kind` is the activity's `type` as sent, if any.
    pub fn inbox(&self, kind: Option<&str>, result: InboxResult) {
        let kind = kind
            .and_then(ActivityKind::parse)
            .map(ActivityKind::as_str)
            .unwrap_or("other");
        self.inbox
            .get_or_create(&InboxLabels {
                r#type: kind.to_string(),
                result: result.as_str().to_string(),
            })
            .inc();
    }

    /// Counts one delivery attempt to `host`.
    pub fn delivery(&self, host: &str, result: DeliveryResult) {
        self.deliveries
            .get_or_create(&ResultLabel {
                result: result.as_str().to_string(),
            })
            .inc();
        let host = HostLabel {
            host: host.to_string(),
        };
        self.delivery_attempts.get_or_create(&host).inc();
        if result != DeliveryResult::Delivered {
            self.delivery_failures.get_or_create(&host).inc();
        }
    }

    fn observe(&self, route: &str, seconds: f64) {
        self.latency
            .get_or_create(&RouteLabel {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// The text exposition (OpenMetrics text, which Prometheus reads).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// `/healthz`, `/readyz` and `/metrics`: outside `/api`, for operators and their probes.
pub fn router() -> Router<Ctx> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

async fn readyz(State(ctx): State<Ctx>) -> Response {
    match ctx.db.readiness().await {
        Ok(()) => axum::Json(json!({ "status": "ready" })).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "unavailable", "reason": reason })),
        )
            .into_response(),
    }
}

async fn metrics(State(ctx): State<Ctx>) -> Response {
    // Outbox gauges come from the database at scrape time; while it is down they keep their
    // last values (and `/readyz` says why).
    match ctx.db.read(crate::store::deliveries::pending_summary).await {
        Ok((pending, oldest)) => {
            ctx.metrics.outbox_pending.set(pending);
            let age = oldest
                .map(|t| (crate::store::now() - t).num_milliseconds().max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            ctx.metrics.outbox_oldest_age.set(age);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the outbox"),
    }
    let troubles = ctx
        .db
        .read(|c| {
            Ok((
                crate::store::delivery_hosts::count_parked(c)?,
                crate::store::deliveries::count_in_state(
                    c,
                    crate::domain::kinds::DeliveryState::Dead,
                )?,
            ))
        })
        .await;
    match troubles {
        Ok((parked, dead)) => {
            ctx.metrics.parked_hosts.set(parked);
            ctx.metrics.dead_deliveries.set(dead);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read parked hosts and dead letters"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        ctx.metrics.encode(),
    )
        .into_response()
}

/// Middleware: observes each request's latency under its matched route template.
pub async fn track_latency(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "other".to_string());
    let start = Instant::now();
    let resp = next.run(req).await;
    ctx.metrics.observe(&route, start.elapsed().as_secs_f64());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract_and_types_are_bounded() {
        let m = Metrics::new();
        m.inbox(Some("Like"), InboxResult::Accepted);
        m.inbox(Some("Move"), InboxResult::Ignored);
        m.inbox(Some("Zzz-made-up"), InboxResult::Ignored);
        m.delivery("b.example", DeliveryResult::Retry);
        m.observe("/inbox", 0.01);
        let text = m.encode();
        assert!(
            text.contains(r#"cocreate_inbox_activities_total{type="Like",result="accepted"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"cocreate_inbox_activities_total{type="other",result="ignored"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"cocreate_deliveries_total{result="retry"} 1"#),
            "{text}"
        );
        assert!(text.contains("cocreate_outbox_pending 0"), "{text}");
        assert!(text.contains("cocreate_parked_hosts 0"), "{text}");
        assert!(text.contains("cocreate_dead_deliveries 0"), "{text}");
        assert!(
            text.contains(
                r#"cocreate_http_request_duration_seconds_bucket{le="+Inf",route="/inbox"} 1"#
            ) || text.contains(r#"cocreate_http_request_duration_seconds_count{route="/inbox"} 1"#),
            "{text}"
        );
    }
}
