//! The reconcile loop: at start-up and on an interval, what webhooks may have missed is made
//! good. Failed deliveries are redelivered through GitHub's deliveries API, and open pull
//! requests whose head has no `warden` check run get a job. The decisions ([`to_redeliver`],
//! [`needs_check`]) are pure; [`pass`] fetches the lists through an [`Inventory`] and acts.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::pipeline::{ForgeError, Subject};
use crate::github::ids::{InstallationId, PrNumber, RepoName, Sha};
use crate::store::{NewJob, Store};

/// What the reconcile loop reads from GitHub, and the one thing it asks of it.
pub trait Inventory: Send + Sync + 'static {
    /// The App's installations.
    fn installations(&self)
    -> impl Future<Output = Result<Vec<InstallationId>, ForgeError>> + Send;
    /// The repositories of an installation.
    fn repositories(
        &self,
        inst: InstallationId,
    ) -> impl Future<Output = Result<Vec<RepoName>, ForgeError>> + Send;
    /// Open pull requests: number, base tip, head.
    fn open_pulls(
        &self,
        inst: InstallationId,
        repo: &RepoName,
    ) -> impl Future<Output = Result<Vec<(PrNumber, Sha, Sha)>, ForgeError>> + Send;
    /// Whether this App's `warden` check run exists on a commit (completed or in progress).
    fn has_check_run(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        head: &Sha,
    ) -> impl Future<Output = Result<bool, ForgeError>> + Send;
    /// The App's recent webhook delivery attempts.
    fn deliveries(&self) -> impl Future<Output = Result<Vec<DeliveryAttempt>, ForgeError>> + Send;
    /// Ask GitHub to deliver an attempt again.
    fn redeliver(&self, attempt: u64) -> impl Future<Output = Result<(), ForgeError>> + Send;
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    pub redelivered: usize,
    pub queued: usize,
    /// Problems met (a repository that could not be listed, …); the pass goes on past them.
    pub errors: Vec<String>,
}

/// The job that checks a pull request found without a run.
pub fn job_for_pull(
    inst: InstallationId,
    repo: &RepoName,
    pr: PrNumber,
    base: &Sha,
    head: &Sha,
) -> NewJob {
    let subject = Subject {
        installation: inst,
        repo: repo.clone(),
        head: head.clone(),
        base: Some(base.clone()),
        pr: Some(pr),
        push: None,
    };
    NewJob {
        kind: "pull_request".into(),
        key: Some(format!("{repo}#{pr}")),
        sha: Some(head.to_string()),
        delivery: None,
        payload: json!({ "subject": subject }),
        // A job for that head already ran or waits: its run is on the way.
        once_per_sha: true,
    }
}

/// One pass: redeliver what failed since `since_ms`, and queue a check for every open pull
/// request without a run on its head. Returns how many of each, and the problems met.
pub async fn pass<I: Inventory>(inv: &I, store: &Store, since_ms: i64, now_ms: i64) -> PassReport {
    let mut report = PassReport::default();
    match inv.deliveries().await {
        Ok(attempts) => {
            for id in to_redeliver(&attempts, since_ms, now_ms) {
                match inv.redeliver(id).await {
                    Ok(()) => report.redelivered += 1,
                    Err(e) => report.errors.push(format!("redeliver {id}: {e}")),
                }
            }
        }
        Err(e) => report.errors.push(format!("webhook deliveries: {e}")),
    }
    let installations = match inv.installations().await {
        Ok(i) => i,
        Err(e) => {
            report.errors.push(format!("installations: {e}"));
            return report;
        }
    };
    for inst in installations {
        let repos = match inv.repositories(inst).await {
            Ok(r) => r,
            Err(e) => {
                report.errors.push(format!("installation {inst}: {e}"));
                continue;
            }
        };
        for repo in repos {
            let pulls = match inv.open_pulls(inst, &repo).await {
                Ok(p) => p,
                Err(e) => {
                    report.errors.push(format!("{repo}: {e}"));
                    continue;
                }
            };
            let mut open = Vec::new();
            for (number, base, head) in pulls {
                let has_run = match inv.has_check_run(inst, &repo, &head).await {
                    Ok(b) => b,
                    Err(e) => {
                        report.errors.push(format!("{repo}#{number}: {e}"));
                        continue;
                    }
                };
                open.push((
                    OpenPull {
                        number,
                        head: head.clone(),
                        has_run,
                    },
                    base,
                ));
            }
            let pulls: Vec<OpenPull> = open.iter().map(|(p, _)| p.clone()).collect();
            for number in needs_check(&pulls) {
                let Some((p, base)) = open.iter().find(|(p, _)| p.number == number) else {
                    continue;
                };
                match store.enqueue(&job_for_pull(inst, &repo, number, base, &p.head), now_ms) {
                    Ok(_) => report.queued += 1,
                    Err(e) => report.errors.push(format!("{repo}#{number}: {e}")),
                }
            }
        }
    }
    report
}

/// Run passes until `stop`: one at once, then every `interval` and whenever `wakes.reconcile`
/// is notified (an installation or its repositories changed). Each pass redelivers what
/// failed since the one before (the first looks back over GitHub's whole window).
pub fn spawn<I: Inventory>(
    inv: Arc<I>,
    store: Arc<Store>,
    wakes: super::Wakes,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut since = 0;
        loop {
            let started = super::now_ms();
            // A pass may be cut short by a stop: what it did is idempotent, what it did not
            // do the next start's pass does.
            let report = tokio::select! {
                r = pass(inv.as_ref(), &store, since, started) => r,
                _ = stop.changed() => break,
            };
            since = started;
            if report.queued > 0 {
                wakes.workers.notify_waiters();
            }
            for e in &report.errors {
                tracing::warn!(error = %e, "reconcile");
            }
            tracing::info!(
                redelivered = report.redelivered,
                queued = report.queued,
                "reconcile pass"
            );
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = wakes.reconcile.notified() => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
    })
}

/// GitHub keeps deliveries for redelivery this long (3 days).
pub const REDELIVERY_WINDOW_MS: i64 = 3 * 24 * 3600 * 1000;

/// Redeliveries asked for in one pass at most (each is a request against the App's budget).
pub const MAX_REDELIVERIES: usize = 50;

/// One attempt at a delivery, as `GET /app/hook/deliveries` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The attempt's id (what `POST /app/hook/deliveries/{id}/attempts` takes).
    pub id: u64,
    /// The delivery's GUID (`X-GitHub-Delivery`), shared by its redeliveries.
    pub guid: String,
    pub delivered_at_ms: i64,
    /// The HTTP status Warden answered, 0 when there was no answer (timeout, refused).
    pub status_code: u16,
    pub event: String,
}

/// The attempts to redeliver: for each delivery none of whose attempts succeeded (2xx), delivered
/// since `since_ms` and still inside GitHub's redelivery window, its latest attempt; oldest
/// first, at most [`MAX_REDELIVERIES`].
pub fn to_redeliver(attempts: &[DeliveryAttempt], since_ms: i64, now_ms: i64) -> Vec<u64> {
    let mut by_guid: BTreeMap<&str, Vec<&DeliveryAttempt>> = BTreeMap::new();
    for a in attempts {
        by_guid.entry(a.guid.as_str()).or_default().push(a);
    }
    let mut chosen: Vec<(i64, u64)> = by_guid
        .values()
        .filter(|tries| !tries.iter().any(|a| (200..300).contains(&a.status_code)))
        .filter_map(|tries| tries.iter().max_by_key(|a| (a.delivered_at_ms, a.id)))
        .filter(|a| a.delivered_at_ms >= since_ms)
        .filter(|a| now_ms - a.delivered_at_ms < REDELIVERY_WINDOW_MS)
        .map(|a| (a.delivered_at_ms, a.id))
        .collect();
    chosen.sort();
    chosen
        .into_iter()
        .take(MAX_REDELIVERIES)
        .map(|(_, id)| id)
        .collect()
}

/// An open pull request and what Warden has posted on its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPull {
    pub number: PrNumber,
    pub head: Sha,
    /// A `warden` check run on the head that is completed (or still in progress: a job has it).
    pub has_run: bool,
}

/// The pull requests whose head has no `warden` check run yet (a delivery was lost while
/// Warden was down), lowest number first.
pub fn needs_check(pulls: &[OpenPull]) -> Vec<PrNumber> {
    let mut out: Vec<PrNumber> = pulls
        .iter()
        .filter(|p| !p.has_run)
        .map(|p| p.number)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(id: u64, guid: &str, at: i64, status: u16) -> DeliveryAttempt {
        DeliveryAttempt {
            id,
            guid: guid.into(),
            delivered_at_ms: at,
            status_code: status,
            event: "pull_request".into(),
        }
    }

    #[test]
    fn only_deliveries_that_never_succeeded_are_redelivered_once() {
        let now = REDELIVERY_WINDOW_MS + 10_000;
        let attempts = [
            attempt(1, "a", now - 100, 500),
            attempt(2, "a", now - 50, 0), // retried, still failing: redeliver the latest
            attempt(3, "b", now - 90, 503),
            attempt(4, "b", now - 40, 202), // a later attempt succeeded
            attempt(5, "c", now - 80, 200),
            attempt(6, "d", 5_000, 500),    // outside GitHub's window
            attempt(7, "e", now - 70, 401), // a signature problem is a failure too
        ];
        assert_eq!(to_redeliver(&attempts, 0, now), [7, 2]);
        // Only what failed since the last pass.
        assert_eq!(to_redeliver(&attempts, now - 60, now), [2]);
    }

    #[test]
    fn a_pass_is_bounded() {
        let attempts: Vec<DeliveryAttempt> = (0..200)
            .map(|i| attempt(i, &format!("g{i}"), 1_000 + i as i64, 502))
            .collect();
        let chosen = to_redeliver(&attempts, 0, 2_000);
        assert_eq!(chosen.len(), MAX_REDELIVERIES);
        assert_eq!(chosen[0], 0, "oldest first");
    }

    #[test]
    fn pulls_without_a_run_on_their_head_need_one() {
        let sha = |c: char| Sha::parse(&c.to_string().repeat(40)).unwrap();
        let pulls = [
            OpenPull {
                number: PrNumber(9),
                head: sha('a'),
                has_run: false,
            },
            OpenPull {
                number: PrNumber(3),
                head: sha('b'),
                has_run: true,
            },
            OpenPull {
                number: PrNumber(4),
                head: sha('c'),
                has_run: false,
            },
        ];
        assert_eq!(needs_check(&pulls), [PrNumber(4), PrNumber(9)]);
    }

    struct Fake {
        attempts: Vec<DeliveryAttempt>,
        redelivered: std::sync::Mutex<Vec<u64>>,
        /// (pr, base, head, has_run)
        pulls: Vec<(u64, char, char, bool)>,
        broken_repo: bool,
    }

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).unwrap()
    }

    impl Inventory for Fake {
        async fn installations(&self) -> Result<Vec<InstallationId>, ForgeError> {
            Ok(vec![InstallationId(1)])
        }
        async fn repositories(&self, _: InstallationId) -> Result<Vec<RepoName>, ForgeError> {
            let mut r = vec![RepoName::parse("acme/gitops").unwrap()];
            if self.broken_repo {
                r.insert(0, RepoName::parse("acme/broken").unwrap());
            }
            Ok(r)
        }
        async fn open_pulls(
            &self,
            _: InstallationId,
            repo: &RepoName,
        ) -> Result<Vec<(PrNumber, Sha, Sha)>, ForgeError> {
            if repo.name() == "broken" {
                return Err(ForgeError {
                    message: "GitHub answered 502".into(),
                    transient: true,
                });
            }
            Ok(self
                .pulls
                .iter()
                .map(|(n, b, h, _)| (PrNumber(*n), sha(*b), sha(*h)))
                .collect())
        }
        async fn has_check_run(
            &self,
            _: InstallationId,
            _: &RepoName,
            head: &Sha,
        ) -> Result<bool, ForgeError> {
            Ok(self
                .pulls
                .iter()
                .any(|(_, _, h, run)| *run && sha(*h) == *head))
        }
        async fn deliveries(&self) -> Result<Vec<DeliveryAttempt>, ForgeError> {
            Ok(self.attempts.clone())
        }
        async fn redeliver(&self, attempt: u64) -> Result<(), ForgeError> {
            self.redelivered.lock().unwrap().push(attempt);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_pass_redelivers_failures_and_queues_pulls_without_a_run() {
        let now = REDELIVERY_WINDOW_MS;
        let fake = Fake {
            attempts: vec![
                attempt(1, "a", now - 10, 502),
                attempt(2, "b", now - 5, 202),
            ],
            redelivered: Default::default(),
            pulls: vec![
                (1, 'a', 'b', true),
                (2, 'a', 'c', false),
                (3, 'a', 'd', false),
            ],
            broken_repo: true,
        };
        let store = Store::in_memory().unwrap();
        let report = pass(&fake, &store, 0, now).await;
        assert_eq!((report.redelivered, report.queued), (1, 2), "{report:?}");
        assert_eq!(*fake.redelivered.lock().unwrap(), [1]);
        assert_eq!(
            report.errors.len(),
            1,
            "the broken repo is reported, the rest done"
        );
        assert!(
            report.errors[0].contains("acme/broken"),
            "{:?}",
            report.errors
        );
        let job = store.lease("w", now, 1000).unwrap().unwrap();
        assert_eq!(job.key.as_deref(), Some("acme/gitops#2"));
        let subject: Subject = serde_json::from_value(job.payload["subject"].clone()).unwrap();
        assert_eq!((subject.head, subject.base), (sha('c'), Some(sha('a'))));
        // Running the pass again while that job runs queues nothing new for it.
        let again = pass(&fake, &store, now, now + 1).await;
        let next = store.lease("w", now + 2, 1000).unwrap().unwrap();
        assert_eq!(next.key.as_deref(), Some("acme/gitops#3"));
        assert!(
            store.lease("w", now + 3, 1000).unwrap().is_none(),
            "{again:?}"
        );
    }
}
