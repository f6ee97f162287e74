//! The worker pool over the durable queue: jobs run, failures retry with backoff up to a bound,
//! stale work is skipped, and work accepted before a restart is done after it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use warden::app::metrics::Metrics;
use warden::app::workers::{JobHandler, Outcome, WorkerOptions, spawn};
use warden::store::{Job, NewJob, Store};

/// Records the jobs it runs; fails the first `fail` runs of each job.
struct Recorder {
    ran: Mutex<Vec<(i64, u32)>>,
    fail: u32,
}

impl JobHandler for Recorder {
    async fn handle(&self, job: &Job) -> Outcome {
        self.ran
            .lock()
            .expect("lock")
            .push((job.id.0, job.attempts));
        if job.attempts < self.fail {
            Outcome::Retry("GitHub answered 502".into())
        } else {
            Outcome::Done
        }
    }
}

fn job(key: &str, sha: &str) -> NewJob {
    NewJob {
        kind: "pull_request".into(),
        key: Some(key.into()),
        sha: Some(sha.into()),
        delivery: None,
        payload: json!({}),
        once_per_sha: false,
    }
}

fn fast() -> WorkerOptions {
    WorkerOptions {
        workers: 2,
        lease: Duration::from_secs(60),
        max_attempts: 3,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        poll: Duration::from_millis(10),
    }
}

fn in_state(store: &Store, id: warden::store::JobId, state: &str) -> bool {
    store
        .job_state(id)
        .ok()
        .flatten()
        .is_some_and(|(s, _)| s == state)
}

async fn until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_then_give_up() {
    let store = Arc::new(Store::in_memory().expect("store"));
    let ok = store.enqueue(&job("o/r#1", "a"), 0).expect("enqueue");
    let handler = Arc::new(Recorder {
        ran: Mutex::new(Vec::new()),
        fail: 2,
    });
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let metrics = Arc::new(Metrics::default());
    let workers = spawn(
        fast(),
        store.clone(),
        Arc::default(),
        handler.clone(),
        metrics,
        stop,
    );
    until("the job to finish", || in_state(&store, ok, "done")).await;
    let attempts: Vec<u32> = handler
        .ran
        .lock()
        .expect("lock")
        .iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(attempts, [0, 1, 2]);

    // A job that always fails stops after max_attempts runs.
    let handler2 = Arc::new(Recorder {
        ran: Mutex::new(Vec::new()),
        fail: u32::MAX,
    });
    let store2 = Arc::new(Store::in_memory().expect("store"));
    let bad = store2.enqueue(&job("o/r#2", "b"), 0).expect("enqueue");
    let (_tx2, stop2) = tokio::sync::watch::channel(false);
    let w2 = spawn(
        fast(),
        store2.clone(),
        Arc::default(),
        handler2.clone(),
        Arc::default(),
        stop2,
    );
    until("the job to fail", || in_state(&store2, bad, "failed")).await;
    assert_eq!(handler2.ran.lock().expect("lock").len(), 3);
    let _ = stop_tx.send(true);
    for w in workers.into_iter().chain(w2) {
        w.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_accepted_before_a_restart_is_done_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("warden.db");
    let id = {
        let store = Store::open(&path).expect("open");
        let id = store
            .accept("delivery-1", "pull_request", Some(&job("o/r#1", "a")), 0)
            .expect("accept")
            .flatten()
            .expect("queued");
        // A worker took it and the process died.
        assert!(store.lease("old-process", 0, 1).expect("lease").is_some());
        id
    };
    let store = Arc::new(Store::open(&path).expect("reopen"));
    let handler = Arc::new(Recorder {
        ran: Mutex::new(Vec::new()),
        fail: 0,
    });
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let workers = spawn(
        fast(),
        store.clone(),
        Arc::default(),
        handler.clone(),
        Arc::default(),
        stop,
    );
    until("the job to finish after the restart", || {
        in_state(&store, id, "done")
    })
    .await;
    assert_eq!(handler.ran.lock().expect("lock").len(), 1);
    for w in workers {
        w.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_work_is_skipped() {
    let store = Arc::new(Store::in_memory().expect("store"));
    let old = store.enqueue(&job("o/r#1", "old"), 0).expect("enqueue");
    // Leased, then a newer head arrives before the handler runs: the lease expires and the
    // next worker sees the job is stale.
    let leased = store.lease("w", 0, 1).expect("lease").expect("job");
    assert_eq!(leased.id, old);
    let new = store.enqueue(&job("o/r#1", "new"), 1).expect("enqueue");
    let handler = Arc::new(Recorder {
        ran: Mutex::new(Vec::new()),
        fail: 0,
    });
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let workers = spawn(
        fast(),
        store.clone(),
        Arc::default(),
        handler.clone(),
        Arc::default(),
        stop,
    );
    until("the new head to be done", || in_state(&store, new, "done")).await;
    let ran: Vec<i64> = handler
        .ran
        .lock()
        .expect("lock")
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(ran, [new.0], "the stale job was not run");
    for w in workers {
        w.abort();
    }
}
