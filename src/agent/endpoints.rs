//! The agent's HTTP endpoints and its loop: `GET /healthz` (the process is up), `GET /readyz`
//! (the last pass succeeded recently), `GET /metrics` (Prometheus text format).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::{Agent, AgentMetrics, Deployer, PassOutcome};
use crate::github::client::now_unix;

#[derive(Clone)]
struct Shared {
    metrics: Arc<AgentMetrics>,
    /// Ready while the last successful pass is at most this old.
    stale_after: Duration,
}

/// The routes, over the agent's metrics.
pub fn router(metrics: Arc<AgentMetrics>, interval: Duration) -> Router {
    let shared = Shared {
        metrics,
        stale_after: interval * 3 + Duration::from_secs(30),
    };
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics_text))
        .with_state(shared)
}

async fn ready(State(s): State<Shared>) -> impl IntoResponse {
    let last = s.metrics.last_pass_ok.get();
    let age = now_unix().saturating_sub(last.max(0) as u64);
    if last > 0 && age <= s.stale_after.as_secs() {
        (StatusCode::OK, "ready\n".to_string())
    } else if last == 0 {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "no pass has succeeded yet\n".to_string(),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the last successful pass was {age} s ago\n"),
        )
    }
}

async fn metrics_text(State(s): State<Shared>) -> impl IntoResponse {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &s.metrics.registry).is_err() {
        return (StatusCode::INTERNAL_SERVER_ERROR, String::new()).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// Pass after pass, `interval` apart, until `stop` turns true. A failed pass is logged; the
/// next one tries again.
pub async fn run_loop<D: Deployer>(
    agent: Arc<Agent<D>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match agent.pass().await {
            Ok(PassOutcome::Deployed(sha)) => tracing::info!(sha = %sha, "pass: deployed"),
            Ok(PassOutcome::Unchanged { deployed }) => tracing::debug!(
                deployed = deployed.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                "pass: nothing new approved"
            ),
            Ok(PassOutcome::Failed { sha, reason }) => {
                tracing::error!(sha = %sha, reason = %reason, "pass: deployment failed")
            }
            Err(e) => tracing::warn!(error = %e, "pass failed; trying again next interval"),
        }
        tokio::select! {
            _ = tokio::time::sleep(agent.config.interval) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}
