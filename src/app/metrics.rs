//! Prometheus metrics (`GET /metrics`, text exposition format).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub event: String,
    /// `queued`, `duplicate`, `ignored`, `rejected`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub kind: String,
    /// `done`, `retry`, `failed`, `superseded`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

/// The metrics Warden exports.
pub struct Metrics {
    registry: Registry,
    pub deliveries: Family<DeliveryLabels, Counter>,
    pub jobs: Family<JobLabels, Counter>,
    pub queue: Family<StateLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("warden");
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        let jobs = Family::<JobLabels, Counter>::default();
        let queue = Family::<StateLabels, Gauge>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries by event and outcome",
            deliveries.clone(),
        );
        registry.register(
            "jobs",
            "Finished job runs by kind and outcome",
            jobs.clone(),
        );
        registry.register("queue_jobs", "Jobs in the queue by state", queue.clone());
        Metrics {
            registry,
            deliveries,
            jobs,
            queue,
        }
    }
}

impl Metrics {
    /// Count a delivery.
    pub fn delivery(&self, event: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                event: event.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Count a job run.
    pub fn job(&self, kind: &str, outcome: &str) {
        self.jobs
            .get_or_create(&JobLabels {
                kind: kind.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }
}

/// `GET /metrics`.
pub async fn render(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let store = state.store.clone();
    if let Ok(Ok(c)) = tokio::task::spawn_blocking(move || store.counts()).await {
        for (name, n) in [
            ("pending", c.pending),
            ("running", c.running),
            ("done", c.done),
            ("failed", c.failed),
            ("superseded", c.superseded),
        ] {
            state
                .metrics
                .queue
                .get_or_create(&StateLabels {
                    state: name.to_string(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    let mut out = String::new();
    match prometheus_client::encoding::text::encode(&mut out, &state.metrics.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            out,
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "metrics encoding failed\n".to_string(),
        ),
    }
}
