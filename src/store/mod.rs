//! Durable state of `warden serve`: webhook deliveries seen (for de-duplication) and the job
//! queue (leases, per-PR order, superseding), and the ChatOps audit trail, holds and replies,
//! in SQLite under `WARDEN_DATA_DIR`.
//!
//! Time is passed in (Unix milliseconds), never read here, so the queue's behaviour is tested
//! with a controlled clock. One connection behind a mutex: SQLite serialises writers anyway, and
//! every operation is a short transaction.

mod chatops;

pub use chatops::{CommandRecord, Hold};

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("state database: job {0} has a payload that is not JSON: {1}")]
    Payload(i64, serde_json::Error),
}

/// A job's id in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub i64);

/// Work to queue.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewJob {
    /// What to do (`pull_request`, `push`, `reconcile`, …).
    pub kind: String,
    /// Jobs with the same key run one at a time, in order (`owner/repo#12` for a PR).
    pub key: Option<String>,
    /// The commit the job is about: a job with a newer SHA for the same key supersedes the
    /// pending ones with another SHA.
    pub sha: Option<String>,
    /// The delivery it came from, for logs.
    pub delivery: Option<String>,
    pub payload: Value,
    /// Work GitHub asks for on its own for every new commit (`check_suite` `requested`): not
    /// queued when the same key and SHA is already pending, running or done, so a push to a PR
    /// (which brings both `pull_request` `synchronize` and `check_suite` `requested`) is checked
    /// once. Asked-for work (`rerequested`) always runs.
    pub once_per_sha: bool,
}

/// A leased job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub key: Option<String>,
    pub sha: Option<String>,
    pub delivery: Option<String>,
    pub payload: Value,
    /// Earlier attempts (0 on the first run).
    pub attempts: u32,
}

/// Jobs by state, for `/metrics` and `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueCounts {
    pub pending: u64,
    pub running: u64,
    pub done: u64,
    pub failed: u64,
    pub superseded: u64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    received_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT,
    sha TEXT,
    delivery TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'superseded')),
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before_ms INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until_ms INTEGER,
    error TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, id);
CREATE INDEX IF NOT EXISTS jobs_by_key ON jobs (key, state);
";

/// The embedded store.
pub struct Store {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Open (creating it if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Store::init(conn)
    }

    /// A store that lives in memory (tests, `warden demo`).
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(chatops::SCHEMA)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remember a delivery; `false` when it was seen before (a redelivery or duplicate).
    pub fn record_delivery(&self, id: &str, event: &str, now_ms: i64) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO deliveries (id, event, received_ms) VALUES (?1, ?2, ?3)",
            params![id, event, now_ms],
        )?;
        Ok(n == 1)
    }

    /// Record a delivery and queue its job in one transaction: either both happen or neither,
    /// so an acknowledged delivery is never lost and never queued twice. `None` for a delivery
    /// seen before.
    pub fn accept(
        &self,
        delivery: &str,
        event: &str,
        job: Option<&NewJob>,
        now_ms: i64,
    ) -> Result<Option<Option<JobId>>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let fresh = tx.execute(
            "INSERT OR IGNORE INTO deliveries (id, event, received_ms) VALUES (?1, ?2, ?3)",
            params![delivery, event, now_ms],
        )? == 1;
        if !fresh {
            return Ok(None);
        }
        let id = match job {
            Some(job) => Some(insert_job(&tx, job, now_ms)?),
            None => None,
        };
        tx.commit()?;
        Ok(Some(id))
    }

    /// Queue a job. A job with a key and a SHA supersedes the pending jobs of that key for
    /// other SHAs (a newer push makes older pending work moot), and is folded into a pending
    /// job of the same kind, key and SHA (whose id is returned).
    pub fn enqueue(&self, job: &NewJob, now_ms: i64) -> Result<JobId, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = insert_job(&tx, job, now_ms)?;
        tx.commit()?;
        Ok(id)
    }

    /// Take the next runnable job for `worker` for `lease_ms`: the oldest pending job (or one
    /// whose lease expired: its worker died) whose key has no earlier unfinished job.
    pub fn lease(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<Job>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let row = tx
            .query_row(
                "SELECT j.id, j.kind, j.key, j.sha, j.delivery, j.payload, j.attempts FROM jobs j
                 WHERE (j.state = 'pending' AND j.not_before_ms <= ?1
                        OR j.state = 'running' AND j.lease_until_ms < ?1)
                   AND (j.key IS NULL OR NOT EXISTS (
                        SELECT 1 FROM jobs e WHERE e.key = j.key AND e.id < j.id
                          AND (e.state = 'pending' OR e.state = 'running')))
                 ORDER BY j.id LIMIT 1",
                params![now_ms],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, u32>(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, kind, key, sha, delivery, payload, attempts)) = row else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE jobs SET state = 'running', lease_owner = ?2, lease_until_ms = ?3,
             updated_ms = ?4 WHERE id = ?1",
            params![id, worker, now_ms + lease_ms, now_ms],
        )?;
        tx.commit()?;
        let payload = serde_json::from_str(&payload).map_err(|e| StoreError::Payload(id, e))?;
        Ok(Some(Job {
            id: JobId(id),
            kind,
            key,
            sha,
            delivery,
            payload,
            attempts,
        }))
    }

    /// At start-up of the one process that owns this embedded database: jobs left running by
    /// an earlier process (killed mid-job) are pending again at once, rather than after their
    /// lease runs out. Returns how many. Only for the single-replica SQLite store: with several
    /// replicas a running job may be another live replica's.
    pub fn recover(&self, now_ms: i64) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "UPDATE jobs SET state = 'pending', lease_owner = NULL, lease_until_ms = NULL,
             updated_ms = ?1 WHERE state = 'running'",
            params![now_ms],
        )?)
    }

    /// Extend a running job's lease (long renders).
    pub fn renew(
        &self,
        id: JobId,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE jobs SET lease_until_ms = ?3, updated_ms = ?4
             WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
            params![id.0, worker, now_ms + lease_ms, now_ms],
        )?;
        Ok(n == 1)
    }

    /// The job finished.
    pub fn complete(&self, id: JobId, now_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until_ms = NULL,
             updated_ms = ?2 WHERE id = ?1 AND state = 'running'",
            params![id.0, now_ms],
        )?;
        Ok(())
    }

    /// The job failed: run it again at `retry_at_ms`, or give up (`None`).
    pub fn fail(
        &self,
        id: JobId,
        error: &str,
        retry_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (state, not_before) = match retry_at_ms {
            Some(t) => ("pending", t),
            None => ("failed", 0),
        };
        self.conn().execute(
            "UPDATE jobs SET state = ?2, not_before_ms = ?3, attempts = attempts + 1,
             error = ?4, lease_owner = NULL, lease_until_ms = NULL, updated_ms = ?5
             WHERE id = ?1 AND state = 'running'",
            params![id.0, state, not_before, error, now_ms],
        )?;
        Ok(())
    }

    /// Whether a newer job for the same key and another SHA was queued after this one (its
    /// result would be stale).
    pub fn is_superseded(&self, job: &Job) -> Result<bool, StoreError> {
        let (Some(key), Some(sha)) = (&job.key, &job.sha) else {
            return Ok(false);
        };
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM jobs WHERE key = ?1 AND id > ?2 AND sha IS NOT NULL AND sha != ?3
             AND state != 'superseded'",
            params![key, job.id.0, sha],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Jobs by state.
    pub fn counts(&self) -> Result<QueueCounts, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state")?;
        let mut out = QueueCounts::default();
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (state, n) = row?;
            let n = u64::try_from(n).unwrap_or(0);
            match state.as_str() {
                "pending" => out.pending = n,
                "running" => out.running = n,
                "done" => out.done = n,
                "failed" => out.failed = n,
                "superseded" => out.superseded = n,
                _ => {}
            }
        }
        Ok(out)
    }

    /// The state and last error of a job.
    pub fn job_state(&self, id: JobId) -> Result<Option<(String, Option<String>)>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT state, error FROM jobs WHERE id = ?1",
                params![id.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}

fn insert_job(
    tx: &rusqlite::Transaction<'_>,
    job: &NewJob,
    now_ms: i64,
) -> Result<JobId, StoreError> {
    if let (Some(key), Some(sha)) = (&job.key, &job.sha) {
        // The same commit already waiting: a PR event and a check-suite request for one head
        // are one piece of work. The PR event knows more (the base), so its payload wins.
        let same: Option<(i64, String)> = tx
            .query_row(
                "SELECT id, kind FROM jobs WHERE key = ?1 AND sha = ?2 AND state = 'pending'
                 ORDER BY id LIMIT 1",
                params![key, sha],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, kind)) = same {
            if job.kind == "pull_request" && kind != "pull_request" {
                tx.execute(
                    "UPDATE jobs SET kind = ?2, payload = ?3, delivery = ?4, updated_ms = ?5
                     WHERE id = ?1",
                    params![id, job.kind, job.payload.to_string(), job.delivery, now_ms],
                )?;
            }
            return Ok(JobId(id));
        }
        if job.once_per_sha {
            let seen: Option<i64> = tx
                .query_row(
                    "SELECT id FROM jobs WHERE key = ?1 AND sha = ?2
                       AND state IN ('running', 'done') ORDER BY id DESC LIMIT 1",
                    params![key, sha],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = seen {
                return Ok(JobId(id));
            }
        }
        tx.execute(
            "UPDATE jobs SET state = 'superseded', updated_ms = ?3
             WHERE key = ?1 AND state = 'pending' AND sha IS NOT NULL AND sha != ?2",
            params![key, sha, now_ms],
        )?;
    }
    tx.execute(
        "INSERT INTO jobs (kind, key, sha, delivery, payload, state, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
        params![
            job.kind,
            job.key,
            job.sha,
            job.delivery,
            job.payload.to_string(),
            now_ms
        ],
    )?;
    Ok(JobId(tx.last_insert_rowid()))
}

#[cfg(test)]
mod tests;
