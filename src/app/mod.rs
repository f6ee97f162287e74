//! `warden serve`: the webhook endpoint, health and metrics routes, and the workers that run
//! queued jobs.
//!
//! A delivery is verified (HMAC over the raw body, before anything is parsed), typed, and
//! recorded with its job in the store in one transaction; only then is it acknowledged with 202.
//! Work happens in workers that lease jobs from the store, so an acknowledged delivery survives
//! a restart and a redelivered one is not run twice.

pub mod config;
pub mod intake;
pub mod metrics;
pub mod pipeline;
pub mod workers;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::{get, post};
use secrecy::SecretString;

use crate::store::Store;

/// The largest delivery accepted (GitHub caps payloads at 25 MB).
pub const MAX_BODY: usize = 25 * 1024 * 1024;

/// What the routes share.
pub struct AppState {
    pub store: Arc<Store>,
    pub webhook_secret: SecretString,
    pub metrics: Arc<metrics::Metrics>,
    /// Wakes idle workers when a job is queued.
    pub wake: Arc<tokio::sync::Notify>,
}

/// The HTTP routes: `POST /webhook`, `GET /healthz`, `GET /readyz`, `GET /metrics`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/webhook", post(intake::webhook))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(intake::readyz))
        .route("/metrics", get(metrics::render))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Milliseconds since the Unix epoch (the store's clock).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
