//! `warden serve`: the webhook endpoint, health and metrics routes, and the workers that run
//! queued jobs.
//!
//! A delivery is verified (HMAC over the raw body, before anything is parsed), typed, and
//! recorded with its job in the store in one transaction; only then is it acknowledged with 202.
//! Work happens in workers that lease jobs from the store, so an acknowledged delivery survives
//! a restart and a redelivered one is not run twice.

pub mod automerge;
pub mod chatops;
pub mod config;
pub mod intake;
pub mod metrics;
pub mod pipeline;
pub mod reconcile;
pub mod serve;
pub mod workers;

use std::future::Future;
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
    /// Starts a reconcile pass now (an installation or its repositories changed).
    pub reconcile_now: Arc<tokio::sync::Notify>,
}

/// What background tasks may wake.
#[derive(Clone, Default)]
pub struct Wakes {
    /// Idle workers (a job was queued).
    pub workers: Arc<tokio::sync::Notify>,
    /// The reconcile loop (run a pass now).
    pub reconcile: Arc<tokio::sync::Notify>,
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

/// Run the server until SIGTERM or Ctrl-C: the routes on `listener`, and `opts.workers` workers
/// running jobs through `handler`. Queued work stays in the store for the next start.
pub async fn run<H: workers::JobHandler>(
    listener: tokio::net::TcpListener,
    store: Arc<Store>,
    webhook_secret: SecretString,
    handler: Arc<H>,
    opts: workers::WorkerOptions,
) -> std::io::Result<()> {
    run_until(
        listener,
        store,
        webhook_secret,
        handler,
        opts,
        Vec::new(),
        shutdown_signal(),
    )
    .await
}

/// A background task started with the server and stopped with it (the reconcile loop): given
/// the store, what it may wake and the stop signal, it returns its task.
pub type Background = Box<
    dyn FnOnce(Arc<Store>, Wakes, tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()>
        + Send,
>;

/// [`run`], with background tasks, until `shutdown` completes.
pub async fn run_until<H: workers::JobHandler>(
    listener: tokio::net::TcpListener,
    store: Arc<Store>,
    webhook_secret: SecretString,
    handler: Arc<H>,
    opts: workers::WorkerOptions,
    background: Vec<Background>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = Arc::new(AppState {
        store: store.clone(),
        webhook_secret,
        metrics: Arc::default(),
        wake: Arc::default(),
        reconcile_now: Arc::default(),
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = workers::spawn(
        opts,
        store.clone(),
        state.wake.clone(),
        handler,
        state.metrics.clone(),
        stop_rx.clone(),
    );
    for b in background {
        let wakes = Wakes {
            workers: state.wake.clone(),
            reconcile: state.reconcile_now.clone(),
        };
        tasks.push(b(store.clone(), wakes, stop_rx.clone()));
    }
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("stopping: queued jobs stay queued for the next start");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// The reconcile loop as a [`Background`] task.
pub fn reconcile_task<I: reconcile::Inventory>(
    inventory: Arc<I>,
    interval: std::time::Duration,
) -> Background {
    Box::new(move |store, wakes, stop| reconcile::spawn(inventory, store, wakes, interval, stop))
}

/// SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
