//! Workers: lease a job from the store, run it, record how it went. A failed job is retried
//! with backoff a bounded number of times; a job made stale by a newer push is skipped.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::metrics::Metrics;
use super::now_ms;
use crate::store::{Job, Store};

/// How a job run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Try again later (GitHub unavailable, rate limited).
    Retry(String),
    /// Do not try again (the message says why).
    Failed(String),
}

/// What runs jobs.
pub trait JobHandler: Send + Sync + 'static {
    fn handle(&self, job: &Job) -> impl Future<Output = Outcome> + Send;
}

/// Tuning of the worker pool.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub workers: usize,
    /// How long a leased job is a worker's before another may take it over.
    pub lease: Duration,
    /// Runs of one job at most.
    pub max_attempts: u32,
    /// The first retry delay; doubled each time, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// How often idle workers look for work without being woken.
    pub poll: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            workers: 4,
            lease: Duration::from_secs(600),
            max_attempts: 5,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(120),
            poll: Duration::from_secs(1),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Start the workers; they run until `stop` is notified.
pub fn spawn<H: JobHandler>(
    opts: WorkerOptions,
    store: Arc<Store>,
    wake: Arc<Notify>,
    handler: Arc<H>,
    metrics: Arc<Metrics>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    (0..opts.workers.max(1))
        .map(|i| {
            let (opts, store, wake, handler, metrics) = (
                opts.clone(),
                store.clone(),
                wake.clone(),
                handler.clone(),
                metrics.clone(),
            );
            let mut stop = stop.clone();
            let name = format!("worker-{}-{i}", std::process::id());
            tokio::spawn(async move {
                loop {
                    if *stop.borrow() {
                        break;
                    }
                    let s = store.clone();
                    let (n, lease) = (name.clone(), ms(opts.lease));
                    let leased =
                        tokio::task::spawn_blocking(move || s.lease(&n, now_ms(), lease)).await;
                    let job = match leased {
                        Ok(Ok(Some(job))) => job,
                        Ok(Ok(None)) => {
                            tokio::select! {
                                _ = wake.notified() => {}
                                _ = tokio::time::sleep(opts.poll) => {}
                                _ = stop.changed() => {}
                            }
                            continue;
                        }
                        Ok(Err(e)) => {
                            tracing::error!(error = %e, "cannot lease a job");
                            tokio::time::sleep(opts.poll).await;
                            continue;
                        }
                        Err(_) => continue,
                    };
                    run_one(&opts, &store, handler.as_ref(), &metrics, job).await;
                }
            })
        })
        .collect()
}

async fn run_one<H: JobHandler>(
    opts: &WorkerOptions,
    store: &Arc<Store>,
    handler: &H,
    metrics: &Metrics,
    job: Job,
) {
    let span = tracing::info_span!(
        "job",
        id = job.id.0,
        kind = %job.kind,
        key = job.key.as_deref().unwrap_or(""),
        delivery = job.delivery.as_deref().unwrap_or("")
    );
    run_traced(opts, store, handler, metrics, job)
        .instrument(span)
        .await;
}

async fn run_traced<H: JobHandler>(
    opts: &WorkerOptions,
    store: &Arc<Store>,
    handler: &H,
    metrics: &Metrics,
    job: Job,
) {
    let s = store.clone();
    let j = job.clone();
    if let Ok(Ok(true)) = tokio::task::spawn_blocking(move || s.is_superseded(&j)).await {
        metrics.job(&job.kind, "superseded");
        let s = store.clone();
        let _ = tokio::task::spawn_blocking(move || s.complete(job.id, now_ms())).await;
        tracing::info!("superseded by a newer push");
        return;
    }
    let outcome = handler.handle(&job).await;
    let s = store.clone();
    let id = job.id;
    let (label, result) = match outcome {
        Outcome::Done => (
            "done",
            tokio::task::spawn_blocking(move || s.complete(id, now_ms())).await,
        ),
        Outcome::Retry(msg) if job.attempts + 1 < opts.max_attempts => {
            let delay = opts
                .backoff
                .saturating_mul(1 << job.attempts.min(16))
                .min(opts.max_backoff);
            tracing::warn!(error = %msg, attempt = job.attempts + 1, "job will be retried");
            (
                "retry",
                tokio::task::spawn_blocking(move || {
                    s.fail(id, &msg, Some(now_ms() + ms(delay)), now_ms())
                })
                .await,
            )
        }
        Outcome::Retry(msg) | Outcome::Failed(msg) => {
            tracing::error!(error = %msg, "job failed");
            (
                "failed",
                tokio::task::spawn_blocking(move || s.fail(id, &msg, None, now_ms())).await,
            )
        }
    };
    metrics.job(&job.kind, label);
    if !matches!(result, Ok(Ok(()))) {
        tracing::error!("could not record the job's outcome");
    }
}
